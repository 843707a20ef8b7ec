"""Generated input for the portfolio revision's parameters and body fields,
against oracles written here from API.md's wording:

- contact emails: `email_problem` against the rule ("at most 254
  characters, one @ with text on both sides, no spaces or control
  characters") over arbitrary text; the published JSON Schema pattern
  against the same rule; the sandbox against `email_problem`;
- comma lists (`state`, `status`, `type`): any list of known values, with
  repeats, filters by exactly those; anything else in it is a 422 naming
  the parameter;
- `after`: any integer or text; 200, 410 past the feed's end, or a 422
  naming `after`, as the value says;
- `expiresInMinutes`: any JSON value; 201 with that lifetime exactly when it
  is an integer from 5 to 43,200, else a 422 naming it.

Never a 5xx; each input is counted (tests/fuzz/counts.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from s2b_tui.api.validation import EMAIL_MAX, email_problem
from s2b_tui.sandbox import EmbeddedSandbox
from s2b_tui.sandbox.server.bodies import CreateCompanyRequest
from tests.fuzz import counts
from tests.fuzz.test_names import WHITE_SPACE, is_control, is_surrogate

STATES = ["ERROR", "CONNECTED", "PENDING", "DISCONNECTED", "NOT_CONNECTED"]
STATUSES = ["PENDING", "COMPLETED", "DECLINED", "EXPIRED", "CANCELLED"]
TYPES = [
    "company.created",
    "company.updated",
    "company.deleted",
    "authorization.created",
    "authorization.completed",
    "authorization.declined",
    "authorization.expired",
    "authorization.cancelled",
    "connection.connected",
    "connection.reconnected",
    "connection.recovered",
    "connection.disconnected",
    "connection.failed",
    "connection.deleted",
]
#: The settings every generated test here starts from; each sets its own max_examples.
GENERATED = settings(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def tried(area: str, response: httpx.Response) -> None:
    counts.tried(area)
    if response.status_code >= 500:
        counts.server_error(area)
    assert response.status_code < 500, response.text


def as_json(body: dict) -> bytes:
    """JSON with non-ASCII escaped, so even a lone surrogate can be sent."""
    return json.dumps(body).encode()


def problems(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 422, response.text
    return {item["field"]: item["message"] for item in response.json()["validation"]}


@pytest.fixture
def http(sandbox: EmbeddedSandbox) -> Iterator[httpx.Client]:
    """A blocking client of the sandbox, shared by a property test's examples."""
    with httpx.Client(
        base_url=sandbox.base_url,
        headers={"Authorization": f"Bearer {sandbox.api_key}"},
        timeout=10.0,
    ) as client:
        yield client


# ------------------------------------------------------------------ emails


def email_breaks(email: str) -> set[str]:
    """Which of API.md's rules the email breaks: none means it is accepted."""
    rules = set()
    if len(email) > EMAIL_MAX:
        rules.add("length")
    if any(is_control(c) for c in email):
        rules.add("control")
    if any(is_surrogate(c) for c in email):
        rules.add("surrogate")
    if any(ord(c) in WHITE_SPACE for c in email):
        rules.add("space")
    local, at, domain = email.partition("@")
    if not at or not local or not domain or "@" in domain:
        rules.add("shape")
    return rules


RULE_OF_MESSAGE = {
    "must be at most": "length",
    "must not contain control": "control",
    "must be valid Unicode": "surrogate",
    "must not contain spaces": "space",
    "must be an email address": "shape",
}

# The characters the rule is about; "@" three times, for weight.
SPECIAL = [
    *sorted(chr(c) for c in WHITE_SPACE),
    *("@", "@", "@", ".", "+", '"', "\x00", "\x1b", "\x7f", "\x85", "\x9f"),
    *("\u200b", "\ufeff", "ü", "株", "🚀", "\u0301"),
]


@st.composite
def emails(draw: st.DrawFn, *, surrogates: bool = True) -> str:
    """Text shaped like an email more often than not: parts around an @,
    special characters, lengths around 254."""
    alphabet = st.one_of(
        st.sampled_from(SPECIAL),
        st.characters(codec="ascii"),
        st.characters(),
        *([st.sampled_from(["\ud800", "\udfff"])] if surrogates else []),
    )
    local = draw(st.text(alphabet, max_size=8))
    domain = draw(st.text(alphabet, max_size=8))
    filler = draw(st.sampled_from([0, 0, 0, 1, 230, 240, 241, 242, 300]))
    at = draw(st.sampled_from(["@", "@", "@", "", "@@"]))
    return local + "x" * filler + at + domain


@settings(GENERATED, max_examples=1500)
@given(st.one_of(emails(), st.text(max_size=30)))
def test_email_problem_agrees_with_api_md(email):
    counts.tried("portfolio inputs: email_problem vs the API.md oracle")
    rules = email_breaks(email)
    problem = email_problem(email)
    if not rules:
        assert problem is None, (email, problem)
    else:
        assert problem is not None, (email, rules)
        rule = next(r for prefix, r in RULE_OF_MESSAGE.items() if problem.startswith(prefix))
        assert rule in rules, (email, problem, rules)


_EMAIL_SCHEMA = CreateCompanyRequest.model_json_schema()["properties"]["contactEmail"]


@settings(GENERATED, max_examples=1500)
@given(emails())
def test_the_published_email_schema_says_what_the_rule_says(email):
    """schemathesis and generated clients go by the schema: it must accept
    exactly what the sandbox accepts."""
    counts.tried("portfolio inputs: email schema vs email_problem")
    by_schema = len(email) <= _EMAIL_SCHEMA["maxLength"] and bool(
        re.fullmatch(_EMAIL_SCHEMA["pattern"], email)
    )
    assert by_schema == (email_problem(email) is None), email


@settings(GENERATED, max_examples=150)
@given(email=emails())
def test_the_sandbox_agrees_with_email_problem(http: httpx.Client, email: str):
    response = http.post(
        "/companies",
        content=as_json({"name": "Mail Co", "contactEmail": email}),
        headers={"Content-Type": "application/json"},
    )
    tried("portfolio inputs: sandbox vs email_problem (generated)", response)
    problem = email_problem(email)
    if problem is None:
        assert response.status_code == 201, response.text
        assert response.json()["contactEmail"] == email
    else:
        assert problems(response) == {"contactEmail": problem}


# ------------------------------------------------------------- comma lists


@pytest.fixture
def portfolio(sandbox: EmbeddedSandbox, http: httpx.Client) -> dict[str, str]:
    """A company in each connectionState, with a link in several statuses:
    {state: company id}."""
    made: dict[str, str] = {}
    for state in STATES:
        made[state] = http.post("/companies", json={"name": f"{state} Ltd"}).json()["id"]
    store = sandbox.store
    store.start_authorization(made["PENDING"], "XERO")
    for state in ("CONNECTED", "DISCONNECTED", "ERROR"):
        auth = store.start_authorization(made[state], "SAGE")
        store.complete_authorization(auth.id, allow=True)
    connections = {
        state: store.list_connections(made[state])[0][0].id for state in ("DISCONNECTED", "ERROR")
    }
    store.disconnect(made["DISCONNECTED"], connections["DISCONNECTED"])
    store.simulate(made["ERROR"], connections["ERROR"], "ERROR")
    declined = store.start_authorization(made["NOT_CONNECTED"], "XERO")
    store.complete_authorization(declined.id, allow=False)
    cancelled = store.start_authorization(made["NOT_CONNECTED"], "SAGE")
    store.cancel_authorization(made["NOT_CONNECTED"], cancelled.id)
    expired = store.start_authorization(made["NOT_CONNECTED"], "QUICKBOOKS")
    store.expire_authorization(expired.id)
    return made


JUNK = ["", " ", "error", "Pending", "ERROR ", "*", "%", "NOT CONNECTED", "null", "é", "\u200b"]


@st.composite
def comma_lists(draw: st.DrawFn, known: list[str]) -> tuple[str, bool]:
    """A comma list and whether every item in it is known."""
    items = draw(st.lists(st.sampled_from(known), max_size=6))
    if draw(st.booleans()) or not items:
        junk = draw(st.one_of(st.sampled_from(JUNK), st.text(max_size=4)))
        items.insert(draw(st.integers(0, len(items))), junk)
    return ",".join(items), all(item in known for item in items)


@settings(GENERATED, max_examples=120)
@given(case=comma_lists(STATES))
def test_any_state_list_filters_by_exactly_those(
    http: httpx.Client, portfolio: dict[str, str], case: tuple[str, bool]
):
    value, valid = case
    response = http.get("/companies", params={"state": value})
    tried("portfolio inputs: state, status and type lists", response)
    if not valid:
        assert list(problems(response)) == ["state"], value
        return
    wanted = set(value.split(","))
    page = response.json()
    assert {c["id"] for c in page["results"]} == {portfolio[s] for s in wanted}
    assert page["totalResults"] == len(wanted)
    stats = http.get("/companies/stats").json()
    assert sum(stats["byState"][s] for s in wanted) == len(wanted)


@settings(GENERATED, max_examples=120)
@given(case=comma_lists(STATUSES))
def test_any_status_list_filters_by_exactly_those(
    http: httpx.Client, portfolio: dict[str, str], case: tuple[str, bool]
):
    value, valid = case
    response = http.get("/authorizations", params={"status": value, "pageSize": 500})
    tried("portfolio inputs: state, status and type lists", response)
    if not valid:
        assert list(problems(response)) == ["status"], value
        return
    wanted = set(value.split(","))
    everything = http.get("/authorizations", params={"pageSize": 500}).json()["results"]
    expected = {a["id"] for a in everything if a["status"] in wanted}
    assert {a["id"] for a in response.json()["results"]} == expected


@settings(GENERATED, max_examples=120)
@given(case=comma_lists(TYPES), timeline=st.booleans())
def test_any_type_list_filters_by_exactly_those(
    http: httpx.Client, portfolio: dict[str, str], case: tuple[str, bool], timeline: bool
):
    value, valid = case
    path = f"/companies/{portfolio['NOT_CONNECTED']}/events" if timeline else "/events"
    response = http.get(path, params={"type": value, "pageSize": 500})
    tried("portfolio inputs: state, status and type lists", response)
    if not valid:
        assert list(problems(response)) == ["type"], value
        return
    wanted = set(value.split(","))
    everything = http.get(path, params={"pageSize": 500}).json()["results"]
    assert response.json()["results"] == [e for e in everything if e["type"] in wanted]


# ------------------------------------------------------------------- after

INT64_MAX = 2**63 - 1


NOT_A_NUMBER = st.text(max_size=8).filter(lambda t: re.search(r"[^0-9\s+\-._]", t) is not None)


@settings(GENERATED, max_examples=300)
@given(
    after=st.one_of(
        st.integers(-(2**70), 2**70),
        st.integers(-3, 60),
        st.sampled_from([INT64_MAX, INT64_MAX + 1, -(2**63)]),
        NOT_A_NUMBER,
    )
)
def test_any_after_is_answered_as_its_value_says(
    http: httpx.Client, portfolio: dict[str, str], after: int | str
):
    last = http.get("/events", params={"pageSize": 1}).json()["lastSequence"]
    response = http.get("/events", params={"after": after})
    tried("portfolio inputs: after", response)
    if isinstance(after, str) or not 0 <= after <= INT64_MAX:
        assert list(problems(response)) == ["after"], after
    elif after > last:
        assert response.status_code == 410, response.text
    else:
        assert response.status_code == 200, response.text
        page = response.json()
        expected = list(range(after + 1, last + 1))
        assert [e["sequence"] for e in page["results"]] == expected[:100]
        assert page["hasMore"] is (len(expected) > 100)


# ------------------------------------------------------- expiresInMinutes


@settings(GENERATED, max_examples=150)
@given(
    minutes=st.one_of(
        st.integers(-(2**64), 2**64),
        st.integers(0, 50),
        st.integers(43_190, 43_210),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=5),
        st.none(),
        st.booleans(),
        st.lists(st.integers(), max_size=2),
    )
)
def test_any_lifetime_is_taken_exactly_when_api_md_allows_it(
    http: httpx.Client, portfolio: dict[str, str], minutes: Any
):
    company = portfolio["PENDING"]
    response = http.post(
        f"/companies/{company}/connections",
        json={"integrationKey": "XERO", "expiresInMinutes": minutes},
    )
    tried("portfolio inputs: expiresInMinutes", response)
    if type(minutes) is int and 5 <= minutes <= 43_200:
        assert response.status_code == 201, response.text
        auth = response.json()
        lifetime = datetime.fromisoformat(auth["expiresAt"]) - datetime.fromisoformat(
            auth["createdAt"]
        )
        assert lifetime == timedelta(minutes=minutes)
    else:
        assert list(problems(response)) == ["expiresInMinutes"], minutes
