"""The API's operations, one coroutine each, grouped by the resource they act on:

- `integrations`: the accounting packages one can connect;
- `companies`: the companies (create, list and search, count by state, read,
  edit, rotate the company link, delete, a company's timeline);
- `connections`: a company's connections (create, list, read, unlink,
  reauthorize, delete);
- `authorizations`: the pending hand-offs that create or reconnect one
  (read one, list them across companies, cancel one);
- `events`: the events feed across the portfolio;
- `sandbox`: the sandbox's own QA calls under /v1/sandbox (info, faults,
  simulated status changes, completing or expiring an authorization,
  seeding, reset).

A handler gets the request, the path's parameters in order (strings), then
`query=` and `body=` (validated models) when its operation has them, and
returns the reply's fields (a dict, validated by the operation's reply
model), a model, or None for 204. `operations.OPERATIONS` says which handler
serves which method and path; a new handler is added there too.
"""
