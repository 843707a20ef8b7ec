"""The API's operations, one coroutine each, grouped by the resource they act on:

- `integrations`: the accounting packages one can connect;
- `companies`: the companies (create, list and search, read, delete);
- `connections`: a company's connections (create, list, read, unlink,
  reauthorize, delete);
- `authorizations`: the pending hand-offs that create or reconnect one;
- `sandbox`: the sandbox's own QA calls under /v1/sandbox (info, faults,
  simulated status changes, completing an authorization, seeding).

A handler gets the request, the path's parameters in order (strings), then
`query=` and `body=` (validated models) when its operation has them, and
returns the reply's model, or None for 204. `operations.OPERATIONS` says which
handler serves which method and path; a new handler is added there too.
"""
