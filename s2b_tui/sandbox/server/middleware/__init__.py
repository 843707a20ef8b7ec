"""The sandbox API's middleware, each a plain ASGI middleware in its own module.

`create_app` stacks them, outermost first:

1. `correlation`: correlation ids on every response, and a JSON 500 for any crash;
2. `body_limit`: the 1 MiB body limit (413), enforced while the body streams in;
3. `auth`: API key check for everything under /v1 (401);
4. `faults`: injected faults (errors before the handler, latency after it);
5. `idempotency`: replays and conflicts of POST and PATCH, stored in SQLite.
"""
