"""The portfolio revision's calls against scripted transports: what is sent,
how replies parse (lenient where a newer server may send more, strict where
the console needs a value), and how a server without a [P] feature is told
apart from a [P] server answering 404 or 400."""

from __future__ import annotations

import json
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from s2b_tui.api import (
    UNSET,
    Actor,
    AuthorizationOrder,
    AuthorizationStatus,
    BadRequestError,
    CompanyOrder,
    CompanyState,
    ConflictError,
    EventType,
    Feature,
    FeedGoneError,
    IntegrationKey,
    InvalidResponseError,
    NotFoundError,
    NotOfferedError,
    PortfolioFeatures,
    ReadOnlyError,
    RetryPolicy,
    ServerError,
    Sync2BooksClient,
    Sync2BooksError,
    UnprocessableEntityError,
)
from tests.api.fake_api import (
    AUTHORIZATION,
    BASE_URL,
    COMPANY,
    ID,
    ID2,
    KEY,
    FirstRevisionApi,
    error,
    event_body,
)

Handler = Callable[[httpx.Request], httpx.Response]


def make_client(handler: Handler, **kwargs) -> Sync2BooksClient:
    async def no_wait(seconds: float) -> None:
        pass

    return Sync2BooksClient(
        KEY,
        BASE_URL,
        transport=httpx.MockTransport(handler),
        sleep=no_wait,
        rng=random.Random(3),
        retry=RetryPolicy(max_retries=0),
        **kwargs,
    )


async def returned(call: Awaitable[object]) -> object:
    """What a call gives back, as a value a test can check even where the
    call is typed to return None (mypy rejects comparing such a call's result)."""
    return await call


def page(results: list, **extra) -> dict:
    return {"results": results, "pageNumber": 1, "pageSize": 50, "totalResults": len(results)} | {
        k: v for k, v in extra.items()
    }


STATS: dict[str, Any] = {
    "totalResults": 10,
    "byState": {"ERROR": 1, "CONNECTED": 4, "PENDING": 2, "DISCONNECTED": 1, "NOT_CONNECTED": 2},
}


class Portfolio:
    """A [P] server for the calls under test: routes answer from `answers`
    by (method, path); the feature probes answer 200; records requests."""

    def __init__(self, answers: dict[tuple[str, str], httpx.Response | dict | list] | None = None):
        self.answers = answers or {}
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        key = (request.method, request.url.path.removeprefix("/v1/"))
        answer = self.answers.get(key)
        if isinstance(answer, httpx.Response):
            return answer
        if answer is not None:
            return httpx.Response(200, json=answer)
        if key == ("GET", "companies/stats"):
            return httpx.Response(200, json=STATS)
        if key in (("GET", "events"), ("GET", "authorizations"), ("GET", "sandbox/faults")):
            body = {"results": [], "hasMore": False, "lastSequence": 0} | page([])
            return httpx.Response(200, json=body)
        raise AssertionError(f"unexpected request {key}")

    def sent(self, method: str, path: str) -> list[httpx.Request]:
        return [
            r
            for r in self.requests
            if r.method == method and r.url.path.removeprefix("/v1/") == path
        ]


# ------------------------------------------------------------------ parsing


async def test_a_company_of_the_portfolio_revision_parses_its_new_fields():
    body = COMPANY | {
        "contactEmail": "ap@acme.example",
        "connectionState": "PENDING",
        "stateChangedAt": "2026-11-24T08:00:00Z",
    }
    client = make_client(Portfolio({("GET", f"companies/{ID}"): body}))
    company = await client.get_company(ID)
    assert company.contact_email == "ap@acme.example"
    assert company.connection_state is CompanyState.PENDING
    assert company.state_changed_at == datetime(2026, 11, 24, 8, tzinfo=UTC)


async def test_a_first_revision_company_parses_with_the_new_fields_absent():
    client = make_client(Portfolio({("GET", f"companies/{ID}"): COMPANY}))
    company = await client.get_company(ID)
    assert (company.contact_email, company.connection_state, company.state_changed_at) == (
        None,
        None,
        None,
    )


async def test_a_state_from_a_newer_server_is_kept_as_text():
    body = COMPANY | {"connectionState": "PAUSED", "stateChangedAt": None}
    client = make_client(Portfolio({("GET", f"companies/{ID}"): body}))
    company = await client.get_company(ID)
    assert company.connection_state == "PAUSED"
    assert not isinstance(company.connection_state, CompanyState)


async def test_an_authorization_parses_company_name_created_at_and_cancelled():
    body = AUTHORIZATION | {
        "companyName": "Acme Ltd",
        "createdAt": "2026-11-28T09:00:00Z",
        "status": "CANCELLED",
    }
    client = make_client(Portfolio({("GET", f"companies/{ID}/authorizations/{ID2}"): body}))
    auth = await client.get_authorization(ID, ID2)
    assert (auth.company_name, auth.status) == ("Acme Ltd", AuthorizationStatus.CANCELLED)
    assert auth.created_at == datetime(2026, 11, 28, 9, tzinfo=UTC)
    old = make_client(Portfolio({("GET", f"companies/{ID}/authorizations/{ID2}"): AUTHORIZATION}))
    first = await old.get_authorization(ID, ID2)
    assert (first.company_name, first.created_at) == (None, None)


async def test_a_lower_bound_page_says_so_and_an_exact_one_does_not():
    server = Portfolio(
        {("GET", "companies"): page([COMPANY], totalResults=1000, totalIsLowerBound=True)}
    )
    client = make_client(server)
    lower = await client.list_companies(query="acme")
    assert (lower.total_results, lower.total_is_lower_bound) == (1000, True)
    server.answers[("GET", "companies")] = page([COMPANY])
    assert (await client.list_companies(query="acme")).total_is_lower_bound is False


async def test_stats_parse_with_every_state_and_keep_an_unknown_one():
    server = Portfolio()
    client = make_client(server)
    stats = await client.company_stats()
    assert stats.total_results == 10 and stats.total_is_lower_bound is False
    assert stats.count(CompanyState.CONNECTED) == 4 and stats.count("PAUSED") == 0
    server.answers[("GET", "companies/stats")] = {
        "totalResults": 1000,
        "byState": {**STATS["byState"], "PAUSED": 3},
        "totalIsLowerBound": True,
    }
    stats = await client.company_stats("son")
    assert stats.by_state["PAUSED"] == 3 and stats.total_is_lower_bound
    assert server.sent("GET", "companies/stats")[-1].url.params["query"] == "son"


@pytest.mark.parametrize(
    "body",
    [
        {"byState": STATS["byState"]},
        {"totalResults": 3},
        {"totalResults": "many", "byState": {}},
        {"totalResults": 3, "byState": {"ERROR": "x"}},
        [],
    ],
    ids=["no total", "no byState", "total not a number", "count not a number", "not an object"],
)
async def test_stats_without_what_the_console_needs_are_an_invalid_response(body):
    client = make_client(Portfolio({("GET", "companies/stats"): body}))
    with pytest.raises(InvalidResponseError):
        await client.company_stats()


async def test_an_event_parses_every_field_of_api_md():
    body = event_body(
        48213,
        "connection.failed",
        actor="PLATFORM",
        connectionId=ID2,
        integrationKey="XERO",
        fromStatus="CONNECTED",
        toStatus="ERROR",
        detail="TOKEN_EXPIRED: The Xero access token expired",
    )
    feed = {"results": [body], "hasMore": False, "lastSequence": 48213}
    client = make_client(Portfolio({("GET", "events"): feed}))
    (event,) = (await client.list_events()).results
    assert event.sequence == 48213 and event.type is EventType.CONNECTION_FAILED
    assert event.actor is Actor.PLATFORM and event.integration_key is IntegrationKey.XERO
    assert (event.company_id, event.company_name, event.connection_id) == (ID, "Acme Ltd", ID2)
    assert (event.authorization_id, event.from_status, event.to_status) == (
        None,
        "CONNECTED",
        "ERROR",
    )
    assert event.detail is not None
    assert event.detail.startswith("TOKEN_EXPIRED") and event.is_known
    assert event.occurred_at == datetime(2026, 11, 28, 9, 14, 3, tzinfo=UTC)


async def test_an_event_of_a_newer_server_keeps_its_type_and_actor_as_text():
    body = {"id": "e1", "sequence": 5, "type": "key.rotated", "occurredAt": "2026-11-28T09:00:00Z"}
    body |= {"actor": "SCHEDULER", "newField": {"a": 1}}
    feed = {"results": [body], "hasMore": False, "lastSequence": 5}
    client = make_client(Portfolio({("GET", "events"): feed}))
    (event,) = (await client.list_events()).results
    assert (event.type, event.actor, event.company_id) == ("key.rotated", "SCHEDULER", None)
    assert not event.is_known


@pytest.mark.parametrize(
    "feed",
    [
        {"results": [], "hasMore": False},
        {"results": [{"id": "e", "type": "company.created", "occurredAt": "2026-11-28T09:00:00Z"}]}
        | {"lastSequence": 1},
        {"results": [event_body(1) | {"occurredAt": "yesterday"}], "lastSequence": 1},
        {"results": [event_body(1) | {"sequence": "one"}], "lastSequence": 1},
        {"results": "none", "lastSequence": 1},
    ],
    ids=["no lastSequence", "event without sequence", "bad time", "bad sequence", "no list"],
)
async def test_a_feed_without_what_following_needs_is_an_invalid_response(feed):
    client = make_client(Portfolio({("GET", "events"): feed}))
    with pytest.raises(InvalidResponseError):
        await client.list_events(after=0)


# ------------------------------------------------------------ what is sent


async def test_update_company_sends_only_what_is_given_and_none_clears():
    server = Portfolio({("PATCH", f"companies/{ID}"): COMPANY})
    client = make_client(server)
    await client.update_company(ID, name="Acme Group")
    await client.update_company(ID, description=None, contact_email="ap@acme.example")
    await client.update_company(ID, contact_email=None, idempotency_key="edit-1")
    sent = server.sent("PATCH", f"companies/{ID}")
    assert [json.loads(r.content) for r in sent] == [
        {"name": "Acme Group"},
        {"description": None, "contactEmail": "ap@acme.example"},
        {"contactEmail": None},
    ]
    keys = [r.headers["Idempotency-Key"] for r in sent]
    assert len(set(keys)) == 3 and keys[2] == "edit-1"
    assert repr(UNSET) == "UNSET"


async def test_an_empty_update_is_sent_for_the_server_to_refuse():
    answer = httpx.Response(
        422, json={"statusCode": 422, "error": "Nothing to change", "validation": []}
    )
    server = Portfolio({("PATCH", f"companies/{ID}"): answer})
    client = make_client(server)
    with pytest.raises(UnprocessableEntityError):
        await client.update_company(ID)
    assert json.loads(server.sent("PATCH", f"companies/{ID}")[0].content) == {}


async def test_create_company_carries_a_contact_email_once_the_server_offers_it():
    server = Portfolio({("POST", "companies"): httpx.Response(201, json=COMPANY)})
    client = make_client(server)
    await client.create_company("Acme", "Pilot", contact_email="ap@acme.example")
    await client.create_company("Acme")
    bodies = [json.loads(r.content) for r in server.sent("POST", "companies")]
    assert bodies == [
        {"name": "Acme", "description": "Pilot", "contactEmail": "ap@acme.example"},
        {"name": "Acme"},
    ]
    # Learnt from the first read that only a portfolio server answers; asked once.
    assert len(server.sent("GET", "companies/stats")) == 1


async def test_list_companies_sends_states_as_a_comma_list_with_name_and_order():
    server = Portfolio({("GET", "companies"): page([COMPANY])})
    client = make_client(server)
    await client.list_companies(
        states=[CompanyState.ERROR, "PENDING"],
        name="Acme Ltd",
        order_by=CompanyOrder.STATE_CHANGED_DESC,
        query="acm",
        page=2,
        page_size=20,
    )
    await client.list_companies(states="CONNECTED")
    await client.list_companies()
    params = [dict(r.url.params) for r in server.sent("GET", "companies")]
    assert params == [
        {
            "page": "2",
            "pageSize": "20",
            "query": "acm",
            "orderBy": "-stateChangedAt",
            "state": "ERROR,PENDING",
            "name": "Acme Ltd",
        },
        {"page": "1", "pageSize": "50", "state": "CONNECTED"},
        {"page": "1", "pageSize": "50"},
    ]
    assert len(server.sent("GET", "companies/stats")) == 1


async def test_connections_carry_a_link_lifetime():
    server = Portfolio(
        {
            ("POST", f"companies/{ID}/connections"): httpx.Response(201, json=AUTHORIZATION),
            ("POST", f"companies/{ID}/connections/{ID2}/authorize"): httpx.Response(
                201, json=AUTHORIZATION
            ),
        }
    )
    client = make_client(server)
    await client.create_connection(ID, "XERO", expires_in_minutes=60)
    await client.create_connection(ID, "XERO")
    await client.reauthorize_connection(ID, ID2, expires_in_minutes=43_200)
    await client.reauthorize_connection(ID, ID2)
    assert [json.loads(r.content) for r in server.sent("POST", f"companies/{ID}/connections")] == [
        {"integrationKey": "XERO", "expiresInMinutes": 60},
        {"integrationKey": "XERO"},
    ]
    reauth = server.sent("POST", f"companies/{ID}/connections/{ID2}/authorize")
    assert [r.content for r in reauth] == [b'{"expiresInMinutes": 43200}', b""]
    assert all("Idempotency-Key" in r.headers for r in reauth)


async def test_authorizations_are_listed_with_filters_and_cancelled():
    server = Portfolio(
        {
            ("GET", "authorizations"): page([AUTHORIZATION | {"companyName": "Acme Ltd"}]),
            ("DELETE", f"companies/{ID}/authorizations/{ID2}"): httpx.Response(204),
        }
    )
    client = make_client(server)
    found = await client.list_authorizations(
        statuses=[AuthorizationStatus.PENDING, "EXPIRED"],
        company_id=ID,
        order_by=AuthorizationOrder.EXPIRES,
        page=3,
        page_size=10,
    )
    assert found.results[0].company_name == "Acme Ltd"
    assert await returned(client.cancel_authorization(ID, ID2)) is None
    assert dict(server.sent("GET", "authorizations")[0].url.params) == {
        "page": "3",
        "pageSize": "10",
        "status": "PENDING,EXPIRED",
        "companyId": ID,
        "orderBy": "expiresAt",
    }


async def test_cancelling_a_link_that_is_not_pending_is_a_conflict():
    answer = error(409, "The authorization is not pending")
    client = make_client(Portfolio({("DELETE", f"companies/{ID}/authorizations/{ID2}"): answer}))
    with pytest.raises(ConflictError):
        await client.cancel_authorization(ID, ID2)


async def test_rotating_the_company_link_posts_to_it():
    server = Portfolio({("POST", f"companies/{ID}/link"): COMPANY | {"authUrl": "http://x/l/n"}})
    client = make_client(server)
    company = await client.rotate_company_link(ID)
    assert company.auth_url == "http://x/l/n"
    assert "Idempotency-Key" in server.sent("POST", f"companies/{ID}/link")[0].headers


async def test_events_and_timelines_send_their_filters():
    feed = {"results": [], "hasMore": False, "lastSequence": 9}
    timeline = page([event_body(3), event_body(2)])
    server = Portfolio({("GET", "events"): feed, ("GET", f"companies/{ID}/events"): timeline})
    client = make_client(server)
    await client.list_events(
        after=4, company_id=ID, types=["company.created", EventType.COMPANY_DELETED]
    )
    await client.list_events(page_size=1)
    assert await client.latest_event_sequence() == 9
    events = await client.company_events(ID, page=2, page_size=2, types="connection.failed")
    assert [e.sequence for e in events.results] == [3, 2]
    assert [dict(r.url.params) for r in server.sent("GET", "events")] == [
        {"after": "4", "companyId": ID, "type": "company.created,company.deleted"},
        {"pageSize": "1"},
        {"pageSize": "1"},
    ]
    assert dict(server.sent("GET", f"companies/{ID}/events")[0].url.params) == {
        "page": "2",
        "pageSize": "2",
        "type": "connection.failed",
    }


async def test_an_after_older_than_the_feed_keeps_is_feed_gone():
    answer = error(410, "Events after 3 are no longer kept")
    client = make_client(Portfolio({("GET", "events"): answer}))
    with pytest.raises(FeedGoneError) as caught:
        await client.list_events(after=3)
    assert caught.value.status_code == 410 and "Reload" in str(caught.value)


async def test_sandbox_controls_of_the_portfolio_revision():
    server = Portfolio(
        {
            ("GET", "sandbox/faults"): {"latencyMs": 200},
            ("POST", f"sandbox/authorizations/{ID2}/expire"): AUTHORIZATION | {"status": "EXPIRED"},
            ("POST", "sandbox/reset"): httpx.Response(204),
            ("POST", "sandbox/seed"): {"created": 40},
        }
    )
    client = make_client(server)
    assert await client.sandbox.faults() == {"latencyMs": 200}
    assert (await client.sandbox.expire_authorization(ID2)).status == AuthorizationStatus.EXPIRED
    assert await returned(client.sandbox.reset()) is None
    created = await client.sandbox.seed(
        40, seed=7, states={CompanyState.ERROR: 0.05, "PENDING": 0.2}
    )
    assert created == 40
    assert json.loads(server.sent("POST", "sandbox/reset")[0].content) == {"confirm": "RESET"}
    assert json.loads(server.sent("POST", "sandbox/seed")[0].content) == {
        "companies": 40,
        "seed": 7,
        "states": {"ERROR": 0.05, "PENDING": 0.2},
    }
    for path in ("sandbox/reset", f"sandbox/authorizations/{ID2}/expire", "sandbox/seed"):
        assert "Idempotency-Key" in server.sent("POST", path)[0].headers


async def test_faults_that_are_not_an_object_are_an_invalid_response():
    client = make_client(Portfolio({("GET", "sandbox/faults"): [1, 2]}))
    with pytest.raises(InvalidResponseError):
        await client.sandbox.faults()


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.update_company(ID, name="X"),
        lambda c: c.rotate_company_link(ID),
        lambda c: c.cancel_authorization(ID, ID2),
        lambda c: c.create_company("Acme", contact_email="ap@acme.example"),
        lambda c: c.create_connection(ID, "XERO", expires_in_minutes=60),
        lambda c: c.reauthorize_connection(ID, ID2, expires_in_minutes=60),
        lambda c: c.sandbox.reset(),
        lambda c: c.sandbox.expire_authorization(ID2),
        lambda c: c.sandbox.seed(5, states={"ERROR": 0.5}),
    ],
    ids=[
        "update",
        "rotate",
        "cancel",
        "create with email",
        "connect with lifetime",
        "reauthorize with lifetime",
        "reset",
        "expire",
        "seed with states",
    ],
)
async def test_a_read_only_client_refuses_portfolio_changes_without_sending_anything(call):
    server = Portfolio()
    client = make_client(server, read_only=True)
    with pytest.raises(ReadOnlyError):
        await call(client)
    assert server.requests == []


# ------------------------------------------------------------------ paging


async def test_authorizations_and_timelines_are_walked_page_by_page():
    def handler(request: httpx.Request) -> httpx.Response:
        number = int(request.url.params["page"])
        size = int(request.url.params["pageSize"])
        if request.url.path.endswith("/authorizations"):
            items = [AUTHORIZATION | {"id": f"a{i}"} for i in range(5)]
        else:
            items = [event_body(100 - i) for i in range(5)]
        chunk = items[(number - 1) * size : number * size]
        body = {"results": chunk, "pageNumber": number, "pageSize": size, "totalResults": 5}
        return httpx.Response(200, json=body)

    client = make_client(handler)
    ids = [a.id async for a in client.iter_authorizations(statuses="PENDING", page_size=2)]
    assert ids == ["a0", "a1", "a2", "a3", "a4"]
    sequences = [e.sequence async for e in client.iter_company_events(ID, page_size=2)]
    assert sequences == [100, 99, 98, 97, 96]


async def test_a_lower_bound_total_does_not_end_the_walk_early():
    """A search counted only up to 4 matches: the walk goes on while pages come full."""
    matches = [COMPANY | {"id": f"c{i}"} for i in range(7)]

    def handler(request: httpx.Request) -> httpx.Response:
        number = int(request.url.params["page"])
        chunk = matches[(number - 1) * 2 : number * 2]
        body = {"results": chunk, "pageNumber": number, "pageSize": 2, "totalResults": 4}
        return httpx.Response(200, json=body | {"totalIsLowerBound": True})

    client = make_client(handler)
    ids = [c.id async for c in client.iter_companies(query="c", page_size=2)]
    assert ids == [f"c{i}" for i in range(7)]


# ------------------------------------------------------ servers without [P]


P_CALLS: dict[str, tuple[Feature, Callable]] = {
    "company_stats": (Feature.STATES, lambda c: c.company_stats()),
    "list_companies(states)": (Feature.STATES, lambda c: c.list_companies(states=["ERROR"])),
    "list_companies(name)": (Feature.STATES, lambda c: c.list_companies(name="Acme")),
    "list_companies(stateChangedAt)": (
        Feature.STATES,
        lambda c: c.list_companies(order_by=CompanyOrder.STATE_CHANGED),
    ),
    "iter_companies(states)": (
        Feature.STATES,
        lambda c: c.iter_companies(states="ERROR").__anext__(),
    ),
    "list_authorizations": (Feature.AUTHORIZATIONS, lambda c: c.list_authorizations()),
    "iter_authorizations": (
        Feature.AUTHORIZATIONS,
        lambda c: c.iter_authorizations().__anext__(),
    ),
    "cancel_authorization": (Feature.AUTHORIZATIONS, lambda c: c.cancel_authorization(ID, ID2)),
    "create_connection(lifetime)": (
        Feature.AUTHORIZATIONS,
        lambda c: c.create_connection(ID, "XERO", expires_in_minutes=60),
    ),
    "reauthorize_connection(lifetime)": (
        Feature.AUTHORIZATIONS,
        lambda c: c.reauthorize_connection(ID, ID2, expires_in_minutes=60),
    ),
    "list_events": (Feature.EVENTS, lambda c: c.list_events()),
    "latest_event_sequence": (Feature.EVENTS, lambda c: c.latest_event_sequence()),
    "company_events": (Feature.EVENTS, lambda c: c.company_events(ID)),
    "follow_events": (Feature.EVENTS, lambda c: c.follow_events().__anext__()),
    "update_company": (Feature.COMPANY_EDIT, lambda c: c.update_company(ID, name="X")),
    "rotate_company_link": (Feature.COMPANY_EDIT, lambda c: c.rotate_company_link(ID)),
    "create_company(contact email)": (
        Feature.COMPANY_EDIT,
        lambda c: c.create_company("Acme", contact_email="ap@acme.example"),
    ),
    "sandbox.faults": (Feature.SANDBOX_CONTROLS, lambda c: c.sandbox.faults()),
    "sandbox.reset": (Feature.SANDBOX_CONTROLS, lambda c: c.sandbox.reset()),
    "sandbox.expire_authorization": (
        Feature.SANDBOX_CONTROLS,
        lambda c: c.sandbox.expire_authorization(ID2),
    ),
    "sandbox.seed(states)": (
        Feature.SANDBOX_CONTROLS,
        lambda c: c.sandbox.seed(5, states={"ERROR": 0.5}),
    ),
}


@pytest.mark.parametrize("name", list(P_CALLS))
async def test_each_portfolio_call_on_a_first_revision_server_is_not_offered(name):
    feature, call = P_CALLS[name]
    server = FirstRevisionApi()
    client = make_client(server)
    with pytest.raises(NotOfferedError) as caught:
        await call(client)
    assert caught.value.feature == feature
    assert isinstance(caught.value, Sync2BooksError)
    assert "does not offer" in str(caught.value)
    # Asked again, the client already knows: nothing more reaches the server
    # but what it could not know without asking.
    before = len(server.requests)
    with pytest.raises(NotOfferedError):
        await call(client)
    assert len(server.requests) == before


async def test_a_first_revision_server_never_gets_a_parameter_it_would_ignore():
    server = FirstRevisionApi()
    client = make_client(server)
    with pytest.raises(NotOfferedError):
        await client.list_companies(states=["ERROR"])
    with pytest.raises(NotOfferedError):
        await client.create_company("Acme", contact_email="ap@acme.example")
    sent = [(r.method, r.url.path) for r in server.requests]
    assert ("GET", "/v1/companies") not in sent and ("POST", "/v1/companies") not in sent


async def test_the_first_revision_calls_still_work_on_a_first_revision_server():
    client = make_client(FirstRevisionApi())
    assert (await client.create_company("Acme", "Pilot")).name == "Acme Ltd"
    (company,) = (await client.list_companies(query="acme", order_by="name")).results
    assert company.connection_state is None
    auth = await client.create_connection(ID, "XERO")
    assert auth.company_name is None and auth.created_at is None
    assert (await client.reauthorize_connection(ID, ID2)).id == ID2
    assert await client.sandbox.seed(1, seed=3) == 1


async def test_portfolio_features_of_a_first_revision_server_and_its_note():
    server = FirstRevisionApi()
    client = make_client(server)
    features = await client.portfolio_features()
    assert features == PortfolioFeatures(
        states=False, authorizations=False, events=False, company_edit=False, sandbox_controls=False
    )
    assert features.first_revision and set(features.missing) == set(Feature)
    note = features.note()
    assert note is not None
    assert note.startswith("This API does not offer connection states")
    assert "sandbox" not in note and "\n" not in note
    sandbox_note = features.note(sandbox=True)
    assert sandbox_note is not None
    assert "sandbox reset" in sandbox_note
    probes = len(server.requests)
    assert probes == 4  # stats, authorizations, events, sandbox faults: once each
    await client.portfolio_features()
    assert len(server.requests) == probes
    await client.portfolio_features(refresh=True)
    assert len(server.requests) == 2 * probes


async def test_portfolio_features_of_a_portfolio_server():
    server = Portfolio()
    client = make_client(server)
    features = await client.portfolio_features()
    assert features == PortfolioFeatures(True, True, True, True, True)
    assert features.note(sandbox=True) is None and not features.first_revision
    assert await client.offers("events") and await client.offers(Feature.COMPANY_EDIT)
    paths = sorted(r.url.path for r in server.requests)
    assert paths == [
        "/v1/authorizations",
        "/v1/companies/stats",
        "/v1/events",
        "/v1/sandbox/faults",
    ]
    assert all(r.method == "GET" for r in server.requests)


async def test_a_production_api_offers_everything_but_sandbox_controls():
    def production(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/v1/sandbox"):
            return error(404, "No such endpoint")
        return Portfolio()(request)

    features = await make_client(production).portfolio_features()
    assert features.missing == (Feature.SANDBOX_CONTROLS,)
    assert features.note() is None


async def test_a_probe_that_fails_is_not_remembered():
    replies = [error(503, "Maintenance"), httpx.Response(200, json=STATS)]

    def flaky(request: httpx.Request) -> httpx.Response:
        return replies.pop(0)

    client = make_client(flaky)
    with pytest.raises(ServerError):
        await client.offers(Feature.STATES)
    assert await client.offers(Feature.STATES) is True


async def test_a_portfolio_server_answering_404_or_400_keeps_its_own_error():
    """An unknown id or a bad value on a server that has the feature: the
    probe says it is offered, so the 404 or 400 is what the caller gets."""
    server = Portfolio(
        {
            ("PATCH", f"companies/{ID}"): error(404, "Company not found"),
            ("GET", f"companies/{ID}/events"): error(404, "Company not found"),
            ("DELETE", f"companies/{ID}/authorizations/{ID2}"): error(404, "Not found"),
            ("POST", f"sandbox/authorizations/{ID2}/expire"): error(404, "Not found"),
        }
    )

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("after") == "-1":
            return error(400, "after must not be negative")
        return server(request)

    client = make_client(handler)
    with pytest.raises(NotFoundError):
        await client.update_company(ID, name="X")
    with pytest.raises(NotFoundError):
        await client.company_events(ID)
    with pytest.raises(NotFoundError):
        await client.cancel_authorization(ID, ID2)
    with pytest.raises(NotFoundError):
        await client.sandbox.expire_authorization(ID2)
    with pytest.raises(BadRequestError):
        await client.list_events(after=-1)


async def test_a_405_from_a_portfolio_endpoint_is_not_offered_without_a_probe():
    server = Portfolio({("PATCH", f"companies/{ID}"): error(405, "Method not allowed")})
    client = make_client(server)
    with pytest.raises(NotOfferedError) as caught:
        await client.update_company(ID, name="X")
    assert caught.value.status_code == 405 and caught.value.correlation_id == "corr-405"
    assert len(server.requests) == 1
    assert await client.offers(Feature.COMPANY_EDIT) is False


async def test_a_call_that_works_teaches_the_client_the_feature():
    server = Portfolio({("GET", f"companies/{ID}/events"): page([])})
    client = make_client(server)
    await client.company_events(ID)
    assert await client.offers(Feature.EVENTS)
    assert len(server.requests) == 1


async def test_when_the_probe_cannot_answer_the_call_keeps_its_own_error():
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/events":
            return error(503, "Maintenance")
        return error(404, "No such endpoint")

    client = make_client(handler)
    with pytest.raises(NotFoundError):
        await client.company_events(ID)  # the events probe fails too: no verdict
