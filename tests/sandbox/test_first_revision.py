"""A sandbox switched to API.md's first revision (`portfolio=False`), as the
client's older-server tests use it: it answers as a server of that revision
did. No [P] routes (404, or 405 where the path has other methods), [P] body
fields refused as unknown, [P] query parameters ignored like any unknown
one (orderBy=stateChangedAt refused), no [P] reply fields."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from s2b_tui.sandbox import EmbeddedSandbox
from tests.sandbox.helpers import api_http, assert_error, click, connect, create_company, fields

MISSING = "00000000-0000-4000-8000-000000000000"
PORTFOLIO_COMPANY_FIELDS = {"contactEmail", "connectionState", "stateChangedAt"}
PORTFOLIO_AUTHORIZATION_FIELDS = {"companyName", "createdAt"}


@pytest.fixture
def older(tmp_path: Path) -> Iterator[EmbeddedSandbox]:
    with EmbeddedSandbox(tmp_path / "older", portfolio=False) as running:
        yield running


@pytest.fixture
async def http(older: EmbeddedSandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with api_http(older) as client:
        yield client


async def test_portfolio_routes_are_not_there(http):
    company = await create_company(http, "Acme")
    auth = (
        await http.post(f"/companies/{company['id']}/connections", json={"integrationKey": "XERO"})
    ).json()
    cases = [
        ("GET", "/companies/stats", 404, "Company not found"),  # read as a company id
        ("PATCH", f"/companies/{company['id']}", 405, "Method not allowed"),
        ("POST", f"/companies/{company['id']}/link", 404, "No such endpoint"),
        ("GET", f"/companies/{company['id']}/events", 404, "No such endpoint"),
        ("GET", "/authorizations", 404, "No such endpoint"),
        ("DELETE", f"/companies/{company['id']}/authorizations/{auth['id']}", 405, "Method"),
        ("GET", "/events", 404, "No such endpoint"),
        ("GET", "/sandbox/faults", 405, "Method not allowed"),
        ("POST", f"/sandbox/authorizations/{auth['id']}/expire", 404, "No such endpoint"),
        ("POST", "/sandbox/reset", 404, "No such endpoint"),
    ]
    for method, path, status, fragment in cases:
        body = {"name": "X"} if method == "PATCH" else None
        if path.endswith("/reset"):
            body = {"confirm": "RESET"}
        reply = await http.request(method, path, json=body)
        assert_error(reply, status, fragment=fragment)
    # Nothing of it happened.
    read = await http.get(f"/companies/{company['id']}/authorizations/{auth['id']}")
    assert read.json()["status"] == "PENDING"
    assert (await http.get("/companies")).json()["totalResults"] == 1


async def test_portfolio_body_fields_are_unknown_fields(http):
    refused = await http.post("/companies", json={"name": "Acme", "contactEmail": "a@b"})
    assert fields(assert_error(refused, 422)) == {"contactEmail": "is not a known field"}
    company = await create_company(http, "Acme")
    url = f"/companies/{company['id']}/connections"
    lifetime = await http.post(url, json={"integrationKey": "XERO", "expiresInMinutes": 60})
    assert fields(assert_error(lifetime, 422)) == {"expiresInMinutes": "is not a known field"}
    states = await http.post("/sandbox/seed", json={"companies": 1, "states": {"ERROR": 1}})
    assert fields(assert_error(states, 422)) == {"states": "is not a known field"}
    assert (await http.get("/companies")).json()["totalResults"] == 1
    assert (await http.get(url)).json()["totalResults"] == 0


async def test_portfolio_query_parameters_are_ignored_or_refused(http):
    acme = await create_company(http, "Acme")
    other = await create_company(http, "Other")
    await connect(http, acme["id"])
    everyone = (await http.get("/companies")).json()
    assert {c["id"] for c in everyone["results"]} == {acme["id"], other["id"]}
    for params in ({"state": "ERROR"}, {"state": "junk,,"}, {"name": "Other"}):
        reply = await http.get("/companies", params=params)
        assert reply.status_code == 200
        assert reply.json() == everyone, params  # unknown parameters change nothing
    order = await http.get("/companies", params={"orderBy": "stateChangedAt"})
    assert fields(assert_error(order, 422)) == {
        "orderBy": "must be 'name', '-name', 'createdAt' or '-createdAt'"
    }
    # A search is matched and counted exactly, as before; no id prefixes.
    searched = (await http.get("/companies", params={"query": "Acme"})).json()
    assert [c["id"] for c in searched["results"]] == [acme["id"]]
    assert "totalIsLowerBound" not in searched


async def test_replies_have_no_portfolio_fields(older: EmbeddedSandbox, http):
    company = await create_company(http, "Acme", description="Pilot")
    assert set(company) == {"id", "name", "description", "createdAt", "authUrl", "connections"}
    assert not PORTFOLIO_COMPANY_FIELDS & set(
        (await http.get(f"/companies/{company['id']}")).json()
    )
    page = (await http.get("/companies")).json()
    assert set(page) == {"results", "pageNumber", "pageSize", "totalResults"}
    assert not PORTFOLIO_COMPANY_FIELDS & set(page["results"][0])

    auth = await http.post(
        f"/companies/{company['id']}/connections", json={"integrationKey": "SAGE"}
    )
    assert set(auth.json()) == {
        "id",
        "companyId",
        "integrationKey",
        "platformName",
        "authUrl",
        "status",
        "expiresAt",
        "connectionId",
    }
    read = await http.get(f"/companies/{company['id']}/authorizations/{auth.json()['id']}")
    assert not PORTFOLIO_AUTHORIZATION_FIELDS & set(read.json())
    completed = await http.post(
        f"/sandbox/authorizations/{auth.json()['id']}/complete", json={"decision": "allow"}
    )
    assert completed.json()["status"] == "COMPLETED"
    assert not PORTFOLIO_AUTHORIZATION_FIELDS & set(completed.json())
    seeded = await http.post("/sandbox/seed", json={"companies": 3, "seed": 1})
    assert seeded.json() == {"created": 3}


async def test_authorize_reads_no_body(http):
    company = await create_company(http, "Acme")
    connection = await connect(http, company["id"], "XERO")
    base = f"/companies/{company['id']}/connections/{connection['id']}"
    await http.patch(base, json={"status": "DISCONNECTED"})
    # A first-revision server never read this body: even a lifetime out of
    # range, or no JSON at all, changes nothing about the call.
    for content in (b'{"expiresInMinutes": 1}', b"{bad", b""):
        reply = await http.post(base + "/authorize", content=content)
        assert reply.status_code == 201, reply.text
        assert not PORTFOLIO_AUTHORIZATION_FIELDS & set(reply.json())
    latest = reply.json()
    assert (await click(latest["authUrl"], decision="allow")).status_code == 200
    assert (await http.get(base)).json()["status"] == "CONNECTED"


async def test_its_openapi_document_is_of_the_first_revision(older: EmbeddedSandbox):
    async with httpx.AsyncClient() as browser:
        spec = (await browser.get(f"{older.origin}/openapi.json")).json()
    assert sorted(spec["paths"]) == [
        "/companies",
        "/companies/{companyId}",
        "/companies/{companyId}/authorizations/{authorizationId}",
        "/companies/{companyId}/connections",
        "/companies/{companyId}/connections/{connectionId}",
        "/companies/{companyId}/connections/{connectionId}/authorize",
        "/integrations",
        "/sandbox",
        "/sandbox/authorizations/{authorizationId}/complete",
        "/sandbox/companies/{companyId}/connections/{connectionId}/simulate",
        "/sandbox/faults",
        "/sandbox/seed",
    ]
    assert set(spec["paths"]["/sandbox/faults"]) == {"put"}
    assert set(spec["paths"]["/companies/{companyId}"]) == {"get", "delete"}
    schemas = spec["components"]["schemas"]
    company = schemas["CompanyV1"]["properties"]
    assert not PORTFOLIO_COMPANY_FIELDS & set(company)
    assert "contactEmail" not in schemas["CreateCompanyRequestV1"]["properties"]
    list_parameters = [p["name"] for p in spec["paths"]["/companies"]["get"]["parameters"]]
    assert list_parameters == ["page", "pageSize", "query", "orderBy"]
    authorize = spec["paths"]["/companies/{companyId}/connections/{connectionId}/authorize"]
    assert "requestBody" not in authorize["post"]


async def test_link_pages_keep_the_customer_s_privacy_on_an_older_server_too(http):
    """The Link pages are the same: the private fix is not switched off."""
    company = await create_company(http, "Acme Ltd", description="Pilot: churn risk")
    async with httpx.AsyncClient() as browser:
        page = await browser.get(company["authUrl"])
        assert "Acme Ltd" in page.text and "churn risk" not in page.text
        refused = await browser.post(
            company["authUrl"], data={"integrationKey": "XERO", "decision": "allow"}
        )
    assert refused.status_code == 400
    assert (await http.get(f"/companies/{company['id']}/connections")).json()["totalResults"] == 0


async def test_the_same_data_dir_serves_both_revisions(tmp_path: Path):
    with (
        EmbeddedSandbox(tmp_path, portfolio=False) as older,
        EmbeddedSandbox(tmp_path) as newer,
    ):
        async with api_http(older) as old_http, api_http(newer) as new_http:
            made = await create_company(old_http, "Acme")
            seen = (await new_http.get(f"/companies/{made['id']}")).json()
            assert seen["connectionState"] == "NOT_CONNECTED" and seen["contactEmail"] is None
            stats = (await new_http.get("/companies/stats")).json()
            assert stats["totalResults"] == 1
            assert_error(await old_http.get("/events"), 404)
            events = (await new_http.get("/events")).json()["results"]
            assert [e["type"] for e in events] == ["company.created"]
            assert (await old_http.get(f"/companies/{MISSING}")).status_code == 404
