"""The hosted Link pages: what the customer opens from an `authUrl`.

A company link lists the four integrations, each with a connect form; an
authorization link is the consent page standing in for the accounting
software's OAuth screen. No API key here: the unguessable token in the URL
is the credential. Pages are self-contained (inline CSS, no scripts) and
every value shown is HTML-escaped.

What a customer sees of a company is its name, nothing else (never the
description, contact email or ids: they are the account manager's). A
company link only ever starts an authorization and sends the browser on to
its consent page: no single request connects an integration without it.

The pages are plain Starlette endpoints; `PAGES` lists them for
`server.create_app`, which serves them outside the OpenAPI document.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from s2b_tui.api.models import INTEGRATION_NAMES, AuthorizationStatus, ConnectionStatus
from s2b_tui.sandbox.records import (
    AuthorizationRecord,
    CompanyRecord,
    Conflict,
    Gone,
    LinkTarget,
    NotFound,
)
from s2b_tui.sandbox.store import SandboxStore

_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}
_MAX_FORM_FIELDS = 10

_CSS = """
:root { color-scheme: light dark; --accent: #1f6feb; --muted: #6e7781; --line: #d0d7de; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       background: Canvas; color: CanvasText; }
main { max-width: 34rem; margin: 3rem auto; padding: 0 1.25rem; }
.badge { display: inline-block; font-size: .75rem; font-weight: 600; letter-spacing: .04em;
         text-transform: uppercase; color: #9a6700; border: 1px solid #d4a72c;
         border-radius: 999px; padding: .05rem .6rem; }
h1 { font-size: 1.45rem; line-height: 1.3; margin: .75rem 0 .5rem; overflow-wrap: anywhere; }
p { margin: .5rem 0; overflow-wrap: anywhere; }
.muted { color: var(--muted); font-size: .9rem; }
ul { list-style: none; padding: 0; margin: 1.25rem 0; border: 1px solid var(--line);
     border-radius: .5rem; }
li { display: flex; align-items: center; justify-content: space-between; gap: 1rem;
     padding: .75rem 1rem; border-top: 1px solid var(--line); }
li:first-child { border-top: none; }
.state { display: block; font-size: .85rem; color: var(--muted); }
form { margin: 0; }
.actions { display: flex; gap: .75rem; margin-top: 1.5rem; }
button { font: inherit; font-weight: 600; padding: .45rem 1.1rem; border-radius: .4rem;
         border: 1px solid var(--line); background: Canvas; color: CanvasText; cursor: pointer; }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
button:disabled { opacity: .55; cursor: default; }
.result { font-size: 2.2rem; margin: 0; }
"""


def _document(title: str, body: str) -> str:
    """A whole page; `title` is escaped here, `body` must already be safe."""
    return (
        "<!doctype html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="robots" content="noindex">\n'
        f"<title>{escape(title)} · Sync2Books sandbox</title>\n"
        f"<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
        '<span class="badge">Sync2Books sandbox</span>\n'
        f"{body}\n</main>\n</body>\n</html>\n"
    )


def _page(status: int, title: str, body: str) -> HTMLResponse:
    return HTMLResponse(_document(title, body), status_code=status, headers=_HEADERS)


def _message_page(status: int, title: str, *lines: str) -> HTMLResponse:
    paragraphs = "\n".join(f"<p>{escape(line)}</p>" for line in lines)
    return _page(status, title, f"<h1>{escape(title)}</h1>\n{paragraphs}")


def _platform(key: str) -> str:
    return INTEGRATION_NAMES.get(key, key)


def _utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


# ---------------------------------------------------------------- pages


def company_page(company: CompanyRecord) -> str:
    """The company link: each integration with its state and a connect form."""
    rows = []
    for key, platform in INTEGRATION_NAMES.items():
        mine = [c for c in company.connections if c.integration_key == key]
        statuses = {c.status for c in mine}
        if ConnectionStatus.CONNECTED in statuses:
            state, button = "Connected", '<button type="submit" disabled>Connected</button>'
        else:
            if ConnectionStatus.ERROR in statuses:
                state, label = "Needs attention: reconnect to resume syncing", "Reconnect"
            elif ConnectionStatus.DISCONNECTED in statuses:
                state, label = "Disconnected", "Reconnect"
            else:
                state, label = "Not connected", "Connect"
            button = f'<button type="submit" class="primary">{label}</button>'
        rows.append(
            "<li><span>"
            f"<strong>{escape(platform)}</strong>"
            f'<span class="state">{escape(state)}</span></span>'
            '<form method="post">'
            f'<input type="hidden" name="integrationKey" value="{escape(key)}">'
            f"{button}</form></li>"
        )
    body = (
        f"<h1>Connect {escape(company.name)} to Sync2Books</h1>\n"
        "<p>Choose the accounting software this business uses. You will be asked "
        "to allow access on the next page.</p>\n"
        f"<ul>{''.join(rows)}</ul>\n"
        '<p class="muted">This is a sandbox: no real accounting software is contacted.</p>'
    )
    return _document(f"Connect {company.name}", body)


def consent_page(company: CompanyRecord, authorization: AuthorizationRecord) -> str:
    """The stand-in for the accounting software's own OAuth consent screen."""
    platform = _platform(authorization.integration_key)
    body = (
        f"<h1>{escape(company.name)} wants to connect to {escape(platform)} (sandbox)</h1>\n"
        f"<p>Allowing lets Sync2Books read and write this business's {escape(platform)} "
        "books. In the sandbox nothing real is shared.</p>\n"
        f'<p class="muted">This link works once and expires at '
        f"{escape(_utc(authorization.expires_at))}.</p>\n"
        '<form method="post" class="actions">'
        '<button type="submit" name="decision" value="allow" class="primary">Allow</button>'
        '<button type="submit" name="decision" value="deny">Deny</button>'
        "</form>"
    )
    return _document(f"Connect to {platform}", body)


def _result_page(company: CompanyRecord, authorization: AuthorizationRecord) -> HTMLResponse:
    platform = _platform(authorization.integration_key)
    if authorization.status == AuthorizationStatus.COMPLETED:
        title = "Connected"
        line = f"{company.name} is now connected to {platform} (sandbox)."
    else:
        title = "Declined"
        line = f"{company.name} was not connected to {platform}. Nothing was shared."
    body = (
        f'<h1>{escape(title)}</h1>\n<p class="result">{"✓" if title == "Connected" else "✕"}'
        f'</p>\n<p>{escape(line)}</p>\n<p class="muted">You can close this window.</p>'
    )
    return _page(200, title, body)


_GONE_REASONS: dict[str, str] = {
    AuthorizationStatus.EXPIRED: "This link has expired.",
    AuthorizationStatus.CANCELLED: "This link was cancelled, or replaced by a newer one.",
}


def _gone(authorization: AuthorizationRecord | None = None, reason: str = "") -> HTMLResponse:
    if not reason and authorization is not None:
        reason = _GONE_REASONS.get(authorization.status, "This link has already been used.")
    return _message_page(
        410, "This link is no longer valid", reason, "Ask for a new link to connect again."
    )


def _not_found() -> HTMLResponse:
    return _message_page(
        404,
        "Link not found",
        "This link does not exist, or the company it belonged to was deleted.",
        "Check the address, or ask for a new link.",
    )


def _conflict(message: str) -> HTMLResponse:
    return _message_page(409, "Already connected", f"{message}.", "There is nothing to do here.")


def _bad_form(message: str) -> HTMLResponse:
    return _message_page(400, "Something is missing", message)


# --------------------------------------------------------------- routes


def _store(request: Request) -> SandboxStore:
    return request.app.state.store


def _resolve(request: Request) -> LinkTarget | Response:
    """What the page's token opens, or the page saying it opens nothing."""
    try:
        target = _store(request).resolve_link(request.path_params["token"])
    except Gone as exc:  # a company link that was rotated
        return _gone(reason=f"{exc}.")
    return _not_found() if target is None else target


async def show_link(request: Request) -> Response:
    target = _resolve(request)
    if isinstance(target, Response):
        return target
    authorization = target.authorization
    if authorization is None:
        return HTMLResponse(company_page(target.company), headers=_HEADERS)
    if authorization.status != AuthorizationStatus.PENDING:
        return _gone(authorization)
    return HTMLResponse(consent_page(target.company, authorization), headers=_HEADERS)


async def submit_link(request: Request) -> Response:
    """A company link takes `integrationKey` only, and answers with the way
    to the consent page; an authorization link takes `decision=allow|deny`."""
    form = await _read_form(request)
    if isinstance(form, Response):
        return form
    target = _resolve(request)
    if isinstance(target, Response):
        return target
    authorization = target.authorization
    if authorization is None:
        return _start_authorization(request, target.company, form)
    if authorization.status != AuthorizationStatus.PENDING:
        return _gone(authorization)  # used, expired or cancelled, whatever the form says
    decision = form.get("decision")
    if decision not in ("allow", "deny"):
        return _bad_form("Choose Allow or Deny.")
    store = _store(request)
    try:
        completed = store.complete_authorization(authorization.id, allow=decision == "allow")
    except Gone as exc:
        return _gone(reason=f"{exc}.")
    except Conflict as exc:
        return _conflict(str(exc))
    except NotFound:
        return _not_found()
    return _result_page(target.company, completed)


def _start_authorization(
    request: Request, company: CompanyRecord, form: dict[str, str]
) -> Response:
    """A company link's form: a new authorization for the integration
    picked, then (303) its consent page. Never a decision: that is made on
    the consent page alone, so a forged cross-site form connects nothing."""
    if "decision" in form:
        return _bad_form(
            "A company link does not take a decision: pick the accounting package, "
            "then Allow or Deny on the page that follows."
        )
    key = form.get("integrationKey")
    if key not in INTEGRATION_NAMES:
        return _bad_form("Choose one of the accounting packages on the company's page.")
    try:
        authorization = _store(request).authorize_from_link(company.id, key)
    except Conflict as exc:
        return _conflict(str(exc))
    except NotFound:
        return _not_found()
    consent = f"{str(request.base_url).rstrip('/')}/link/{authorization.token}"
    return RedirectResponse(consent, status_code=303, headers=_HEADERS)


async def _read_form(request: Request) -> dict[str, str] | Response:
    """The urlencoded form's fields (first value of each), or a 400 page."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("", "application/x-www-form-urlencoded"):
        return _bad_form("Send the form as application/x-www-form-urlencoded.")
    body = await request.body()  # at most 1 MiB: BodyLimitMiddleware
    try:
        fields = parse_qs(
            body.decode("utf-8"), keep_blank_values=True, max_num_fields=_MAX_FORM_FIELDS
        )
    except (UnicodeDecodeError, ValueError):
        return _bad_form("The form could not be read.")
    return {name: values[0] for name, values in fields.items()}


#: (method, path, endpoint) of every page.
PAGES = (
    ("GET", "/link/{token}", show_link),
    ("POST", "/link/{token}", submit_link),
)
