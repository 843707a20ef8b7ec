"""The sandbox's HTTP API: API.md implemented with Starlette over `SandboxStore`.

Requests pass a stack of plain ASGI middleware (`middleware/`: correlation
ids and crash replies, the body limit, the API key, injected faults,
idempotency), then reach one route per API operation. `OPERATIONS`
(`operations.py`) is the one table of operations: it makes the routes and
/openapi.json (`openapi.py`). It is of API.md's portfolio revision; an app
made with `create_app(store, portfolio=False)` serves the first revision
only, as a server of that revision answered. Modules:

- `app`: `create_app` and `SandboxApp`, the Starlette app;
- `urls`: the /v1 and /v1/sandbox prefixes;
- `errors`: `ApiError`, the API.md error body, the exception handler;
- `middleware/`: one module per middleware, in the order they run;
- `bodies`, `queries`: the JSON bodies and query parameters operations read;
- `handlers/`: the operations' coroutines, one module per resource;
- `converters`: store records as reply fields; `replies`: the reply models
  that validate them; `context`: a request's store, faults and origin;
- `operations`: the `Operation` table; `openapi`: the document made from it.

The Link pages a customer opens are `s2b_tui.sandbox.link_pages`.
"""

from __future__ import annotations

from s2b_tui.sandbox.server.app import SandboxApp, create_app

__all__ = ["SandboxApp", "create_app"]
