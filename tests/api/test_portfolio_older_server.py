"""The client against a real sandbox serving API.md's first revision only
(`portfolio=False`), as a server of that revision would answer: the client
says which [P] features it lacks, every [P] call raises `NotOfferedError`
naming its feature, and everything of the first revision still works.

Every test runs twice: with httpx's default transport and with the loopback
transport the console uses for its embedded sandbox."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from s2b_tui.api import (
    UNSET,
    CompanyOrder,
    ConnectionStatus,
    Feature,
    NotOfferedError,
    PortfolioFeatures,
    ReadOnlyError,
    RetryPolicy,
    Sync2BooksClient,
    Sync2BooksError,
)
from s2b_tui.sandbox import EmbeddedSandbox
from s2b_tui.session import sandbox_client

FAST = RetryPolicy(max_retries=3, backoff_base=0.01, backoff_max=0.05)
NIL = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def first_revision(tmp_path: Path) -> Iterator[EmbeddedSandbox]:
    with EmbeddedSandbox(tmp_path / "sandbox", portfolio=False) as running:
        yield running


@pytest.fixture(params=["default transport", "loopback transport"])
def client_of(request, first_revision) -> Callable[..., Sync2BooksClient]:
    make = Sync2BooksClient if request.param == "default transport" else sandbox_client
    return lambda **options: make(
        first_revision.api_key, first_revision.base_url, retry=FAST, **options
    )


@pytest.fixture
async def client(client_of):
    async with client_of() as c:
        yield c


async def test_it_says_which_features_it_lacks(client):
    features = await client.portfolio_features()
    assert features == PortfolioFeatures(False, False, False, False, False)
    assert features.first_revision
    note = features.note(sandbox=True)
    assert note and note.startswith("This API does not offer") and "\n" not in note


# Each [P] call, with the feature it needs. `company` is an existing company's
# id and `auth` a pending authorization's, so a 404 is never about the id.
P_CALLS: dict[str, tuple[Feature, Callable]] = {
    "stats": (Feature.STATES, lambda c, co, a: c.company_stats()),
    "state filter": (Feature.STATES, lambda c, co, a: c.list_companies(states=["ERROR"])),
    "name filter": (Feature.STATES, lambda c, co, a: c.list_companies(name="Acme Ltd")),
    "state order": (
        Feature.STATES,
        lambda c, co, a: c.list_companies(order_by=CompanyOrder.STATE_CHANGED_DESC),
    ),
    "pending links": (Feature.AUTHORIZATIONS, lambda c, co, a: c.list_authorizations()),
    "cancel a link": (Feature.AUTHORIZATIONS, lambda c, co, a: c.cancel_authorization(co, a)),
    "link lifetime": (
        Feature.AUTHORIZATIONS,
        lambda c, co, a: c.create_connection(co, "SAGE", expires_in_minutes=60),
    ),
    "events": (Feature.EVENTS, lambda c, co, a: c.list_events()),
    "timeline": (Feature.EVENTS, lambda c, co, a: c.company_events(co)),
    "follow": (Feature.EVENTS, lambda c, co, a: c.follow_events(interval=0).__anext__()),
    "edit": (Feature.COMPANY_EDIT, lambda c, co, a: c.update_company(co, name="New")),
    "rotate": (Feature.COMPANY_EDIT, lambda c, co, a: c.rotate_company_link(co)),
    "contact email": (
        Feature.COMPANY_EDIT,
        lambda c, co, a: c.create_company("Acme", contact_email="ap@acme.example"),
    ),
    "faults read-back": (Feature.SANDBOX_CONTROLS, lambda c, co, a: c.sandbox.faults()),
    "reset": (Feature.SANDBOX_CONTROLS, lambda c, co, a: c.sandbox.reset()),
    "expire": (Feature.SANDBOX_CONTROLS, lambda c, co, a: c.sandbox.expire_authorization(a)),
    "seed states": (
        Feature.SANDBOX_CONTROLS,
        lambda c, co, a: c.sandbox.seed(3, states={"ERROR": 0.5}),
    ),
}


@pytest.mark.parametrize("name", list(P_CALLS))
async def test_each_portfolio_call_is_not_offered_and_changes_nothing(client_of, name):
    feature, call = P_CALLS[name]
    async with client_of() as setup:
        company = await setup.create_company("Acme Ltd", "Pilot")
        auth = await setup.create_connection(company.id, "XERO")
    async with client_of() as fresh:  # knows nothing of the server yet
        with pytest.raises(NotOfferedError) as caught:
            await call(fresh, company.id, auth.id)
    assert caught.value.feature == feature
    async with client_of() as check:
        assert [c.id for c in (await check.list_companies()).results] == [company.id]
        assert (await check.get_company(company.id)).name == "Acme Ltd"
        assert (await check.get_authorization(company.id, auth.id)).status == "PENDING"


async def test_a_missing_company_is_still_not_found_not_not_offered(client):
    """First-revision endpoints keep their own errors."""
    with pytest.raises(Sync2BooksError) as caught:
        await client.get_company(NIL)
    assert caught.value.status_code == 404 and not isinstance(caught.value, NotOfferedError)


async def test_the_first_revision_flow_still_works(client):
    """API.md's "The flow, by hand", by a client built for the portfolio revision."""
    company = await client.create_company("Acme Ltd", "Expenses pilot")
    assert company.connection_state is None and company.contact_email is None
    auth = await client.create_connection(company.id, "QUICKBOOKS")
    assert auth.company_name is None
    async with httpx.AsyncClient() as browser:
        assert (await browser.post(auth.auth_url, data={"decision": "allow"})).status_code == 200
    (connection,) = (await client.list_connections(company.id)).results
    assert connection.status == ConnectionStatus.CONNECTED
    await client.unlink_connection(company.id, connection.id)
    again = await client.reauthorize_connection(company.id, connection.id)
    assert again.status == "PENDING"
    found = await client.list_companies(query="acme", order_by=CompanyOrder.NAME)
    assert [c.id for c in found.results] == [company.id] and not found.total_is_lower_bound
    assert [c.id async for c in client.iter_companies()] == [company.id]
    assert await client.sandbox.seed(3, seed=2) == 3
    await client.delete_company(company.id)


async def test_a_read_only_client_is_refused_before_anything_is_asked(client_of):
    async with client_of(read_only=True) as reader:
        events: list = []
        reader.on_request = events.append
        with pytest.raises(ReadOnlyError):
            await reader.update_company(NIL, name="X", description=UNSET)
        assert events == []
        assert (await reader.portfolio_features()).first_revision
