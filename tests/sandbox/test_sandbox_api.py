"""The sandbox API over real HTTP: every endpoint, the API.md flow, the errors."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from datetime import datetime, timedelta

import httpx
import pytest

from s2b_tui.api.models import Authorization, Company, Connection, IntegrationList, Page
from s2b_tui.sandbox import EmbeddedSandbox
from tests.sandbox.helpers import (
    FakeClock,
    api_http,
    assert_error,
    click,
    connect,
    create_company,
    fields,
)

# ------------------------------------------------------------- the flow


async def test_api_md_flow_by_hand(sandbox_http: httpx.AsyncClient):
    """The curl lines of API.md, then reconnect and delete."""
    http = sandbox_http
    company = await create_company(http, "Acme Ltd")
    cid = company["id"]

    created = await http.post(
        f"/companies/{cid}/connections", json={"integrationKey": "QUICKBOOKS"}
    )
    assert created.status_code == 201
    auth = Authorization.model_validate(created.json())
    assert (auth.status, auth.connection_id, auth.platform_name) == (
        "PENDING",
        None,
        "QuickBooks Online",
    )
    assert auth.auth_url.startswith(http.base_url.scheme + "://" + http.base_url.host)

    allowed = await click(auth.auth_url, decision="allow")
    assert allowed.status_code == 200
    assert "connected to QuickBooks Online" in allowed.text

    listed = await http.get(f"/companies/{cid}/connections")
    page = Page[Connection].model_validate(listed.json())
    assert page.total_results == 1
    (connection,) = page.results
    assert connection.status == "CONNECTED"
    assert connection.integration_key == "QUICKBOOKS"
    finished = await http.get(f"/companies/{cid}/authorizations/{auth.id}")
    assert finished.json()["status"] == "COMPLETED"
    assert finished.json()["connectionId"] == connection.id

    unlinked = await http.patch(
        f"/companies/{cid}/connections/{connection.id}", json={"status": "DISCONNECTED"}
    )
    assert unlinked.status_code == 200
    assert unlinked.json()["status"] == "DISCONNECTED"

    reauth = await http.post(f"/companies/{cid}/connections/{connection.id}/authorize")
    assert reauth.status_code == 201
    assert reauth.json()["connectionId"] == connection.id
    assert (await click(reauth.json()["authUrl"], decision="allow")).status_code == 200

    again = (await http.get(f"/companies/{cid}")).json()
    assert [(c["id"], c["status"]) for c in again["connections"]] == [(connection.id, "CONNECTED")]

    assert (await http.delete(f"/companies/{cid}")).status_code == 204
    assert_error(await http.get(f"/companies/{cid}"), 404, fragment="Company not found")


# --------------------------------------------------------- integrations


async def test_integrations_lists_the_four(sandbox_http: httpx.AsyncClient):
    response = await sandbox_http.get("/integrations")
    assert response.status_code == 200
    listed = IntegrationList.model_validate(response.json())
    assert [(i.key, i.name) for i in listed.results] == [
        ("QUICKBOOKS", "QuickBooks Online"),
        ("QUICKBOOKS_DESKTOP", "QuickBooks Desktop"),
        ("XERO", "Xero"),
        ("SAGE", "Sage"),
    ]


# ------------------------------------------------------------ companies


async def test_create_company_trims_and_echoes(sandbox: EmbeddedSandbox, sandbox_http):
    response = await sandbox_http.post(
        "/companies", json={"name": "  Blue Fern Dental \t", "description": "Two\nlines"}
    )
    assert response.status_code == 201
    company = Company.model_validate(response.json())
    assert company.name == "Blue Fern Dental"
    assert company.description == "Two\nlines"
    assert uuid.UUID(company.id).version == 4
    assert company.connections == []
    assert company.created_at.tzinfo is not None
    assert response.json()["createdAt"].endswith("Z")
    assert company.auth_url is not None
    assert company.auth_url.startswith(f"{sandbox.origin}/link/")
    token = company.auth_url.rsplit("/", 1)[1]
    assert len(token) >= 43  # 32 bytes, base64url

    fetched = await sandbox_http.get(f"/companies/{company.id}")
    assert fetched.json() == response.json()


@pytest.mark.parametrize(
    "name",
    ["<script>alert(1)</script>", 'Café 🚀 "quoted" & [brackets]', "x" * 100, "  " + "y" * 100],
)
async def test_any_printable_name_is_accepted(sandbox_http, name):
    company = await create_company(sandbox_http, name)
    assert company["name"] == name.strip()


async def test_duplicate_names_are_allowed(sandbox_http):
    first = await create_company(sandbox_http, "Same Name")
    second = await create_company(sandbox_http, "Same Name")
    assert first["id"] != second["id"]


async def test_empty_description_is_no_description(sandbox_http):
    company = await create_company(sandbox_http, "Acme", description="")
    assert company["description"] is None


async def test_list_companies_pages_orders_and_searches(sandbox_http):
    http = sandbox_http
    names = ["Delta Bakery", "alpha Plumbing", "Charlie Dental", "Bravo Bakery", "Echo Roofing"]
    ids = [(await create_company(http, name))["id"] for name in names]

    newest_first = (await http.get("/companies")).json()
    assert [c["id"] for c in newest_first["results"]] == ids[::-1]
    assert (newest_first["pageNumber"], newest_first["pageSize"]) == (1, 50)
    assert newest_first["totalResults"] == 5

    by_name = (await http.get("/companies", params={"orderBy": "name"})).json()
    assert [c["name"] for c in by_name["results"]] == sorted(names, key=str.lower)
    by_name_desc = (await http.get("/companies", params={"orderBy": "-name"})).json()
    assert [c["name"] for c in by_name_desc["results"]] == sorted(names, key=str.lower)[::-1]
    oldest = (await http.get("/companies", params={"orderBy": "createdAt"})).json()
    assert [c["id"] for c in oldest["results"]] == ids

    second = (await http.get("/companies", params={"page": 2, "pageSize": 2})).json()
    assert [c["id"] for c in second["results"]] == [ids[2], ids[1]]
    assert (second["pageNumber"], second["pageSize"], second["totalResults"]) == (2, 2, 5)
    beyond = (await http.get("/companies", params={"page": 99, "pageSize": 2})).json()
    assert (beyond["results"], beyond["totalResults"]) == ([], 5)

    async def search(query: str) -> list[str]:
        reply = await http.get("/companies", params={"query": query, "orderBy": "name"})
        assert reply.status_code == 200
        assert reply.json()["totalResults"] == len(reply.json()["results"])
        return [c["name"] for c in reply.json()["results"]]

    assert await search("BAKERY") == ["Bravo Bakery", "Delta Bakery"]  # trigram search
    assert await search("akery") == ["Bravo Bakery", "Delta Bakery"]
    assert await search("ALPHA") == ["alpha Plumbing"]
    assert await search("ha") == ["alpha Plumbing", "Charlie Dental"]  # short: LIKE
    assert await search("o") == ["Bravo Bakery", "Echo Roofing"]
    assert await search("nothing like it") == []
    assert await search("100%") == []
    assert await search("  bravo ") == ["Bravo Bakery"]
    assert await search(ids[3]) == ["Bravo Bakery"]  # an exact id
    assert await search(ids[3].upper()) == ["Bravo Bakery"]


async def test_search_treats_quotes_and_operators_as_text(sandbox_http):
    await create_company(sandbox_http, 'The "Quote" Shop')
    await create_company(sandbox_http, "50% Off_Store")
    await create_company(sandbox_http, "A OR B NOT C*")
    for query, expected in [
        ('"quote"', 'The "Quote" Shop'),
        ("0%", "50% Off_Store"),
        ("f_s", "50% Off_Store"),
        ("OR B NOT C*", "A OR B NOT C*"),
        ("C*", "A OR B NOT C*"),
    ]:
        reply = (await sandbox_http.get("/companies", params={"query": query})).json()
        assert [c["name"] for c in reply["results"]] == [expected], query


async def test_list_includes_each_company_connections(sandbox_http):
    acme = await create_company(sandbox_http, "Acme")
    other = await create_company(sandbox_http, "Other")
    await connect(sandbox_http, acme["id"], "XERO")
    await connect(sandbox_http, acme["id"], "SAGE")
    listed = (await sandbox_http.get("/companies")).json()["results"]
    by_id = {c["id"]: c for c in listed}
    assert sorted(c["integrationKey"] for c in by_id[acme["id"]]["connections"]) == [
        "SAGE",
        "XERO",
    ]
    assert by_id[other["id"]]["connections"] == []


async def test_delete_company_removes_connections_authorizations_and_link(sandbox_http):
    company = await create_company(sandbox_http)
    connection = await connect(sandbox_http, company["id"])
    pending = await sandbox_http.post(
        f"/companies/{company['id']}/connections", json={"integrationKey": "XERO"}
    )
    assert (await sandbox_http.delete(f"/companies/{company['id']}")).status_code == 204

    base = f"/companies/{company['id']}"
    assert_error(await sandbox_http.get(f"{base}/connections/{connection['id']}"), 404)
    assert_error(await sandbox_http.get(f"{base}/authorizations/{pending.json()['id']}"), 404)
    assert_error(await sandbox_http.delete(base), 404, fragment="Company not found")
    async with httpx.AsyncClient() as browser:
        assert (await browser.get(company["authUrl"])).status_code == 404
        assert (await browser.get(pending.json()["authUrl"])).status_code == 404


# ---------------------------------------------------------- connections


async def test_second_active_connection_is_a_conflict(sandbox_http):
    company = await create_company(sandbox_http)
    await connect(sandbox_http, company["id"], "XERO")
    response = await sandbox_http.post(
        f"/companies/{company['id']}/connections", json={"integrationKey": "XERO"}
    )
    assert_error(response, 409, fragment="Xero")
    # Another integration is fine.
    other = await sandbox_http.post(
        f"/companies/{company['id']}/connections", json={"integrationKey": "SAGE"}
    )
    assert other.status_code == 201


async def test_error_connection_also_blocks_a_new_one(sandbox_http):
    company = await create_company(sandbox_http)
    connection = await connect(sandbox_http, company["id"])
    await sandbox_http.post(
        f"/sandbox/companies/{company['id']}/connections/{connection['id']}/simulate",
        json={"status": "ERROR"},
    )
    response = await sandbox_http.post(
        f"/companies/{company['id']}/connections", json={"integrationKey": "QUICKBOOKS"}
    )
    assert_error(response, 409)


async def test_new_connection_reconnects_the_disconnected_one(sandbox_http):
    company = await create_company(sandbox_http)
    first = await connect(sandbox_http, company["id"])
    await sandbox_http.patch(
        f"/companies/{company['id']}/connections/{first['id']}", json={"status": "DISCONNECTED"}
    )
    again = await connect(sandbox_http, company["id"])
    assert again["id"] == first["id"]
    assert again["status"] == "CONNECTED"
    listed = (await sandbox_http.get(f"/companies/{company['id']}/connections")).json()
    assert listed["totalResults"] == 1


async def test_connection_pages(sandbox_http):
    company = await create_company(sandbox_http)
    for key in ("QUICKBOOKS", "QUICKBOOKS_DESKTOP", "XERO"):
        await connect(sandbox_http, company["id"], key)
    base = f"/companies/{company['id']}/connections"
    page = (await sandbox_http.get(base, params={"page": 2, "pageSize": 2})).json()
    assert [c["integrationKey"] for c in page["results"]] == ["XERO"]
    assert (page["pageNumber"], page["pageSize"], page["totalResults"]) == (2, 2, 3)
    far = (await sandbox_http.get(base, params={"page": 10**12})).json()
    assert (far["results"], far["totalResults"]) == ([], 3)


async def test_unlink_is_idempotent_and_only_unlinks(sandbox_http):
    company = await create_company(sandbox_http)
    connection = await connect(sandbox_http, company["id"])
    url = f"/companies/{company['id']}/connections/{connection['id']}"
    first = await sandbox_http.patch(url, json={"status": "DISCONNECTED"})
    second = await sandbox_http.patch(url, json={"status": "DISCONNECTED"})
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert (
        Connection.model_validate(first.json()).updated_at
        >= Connection.model_validate(connection).updated_at
    )

    body: object  # bodies of several shapes
    for body in ({"status": "CONNECTED"}, {}, {"status": "DISCONNECTED", "name": "x"}, []):
        assert_error(await sandbox_http.patch(url, json=body), 422)
    bad = await sandbox_http.patch(url, json={"status": "ERROR"})
    assert fields(assert_error(bad, 422)) == {"status": "must be 'DISCONNECTED'"}


async def test_authorize_refuses_a_connected_connection(sandbox_http):
    company = await create_company(sandbox_http)
    connection = await connect(sandbox_http, company["id"])
    response = await sandbox_http.post(
        f"/companies/{company['id']}/connections/{connection['id']}/authorize"
    )
    assert_error(response, 409, fragment="already connected")


async def test_authorize_fixes_an_error_connection(sandbox_http):
    company = await create_company(sandbox_http)
    connection = await connect(sandbox_http, company["id"], "SAGE")
    base = f"/companies/{company['id']}/connections/{connection['id']}"
    await sandbox_http.post(f"/sandbox{base}/simulate", json={"status": "ERROR"})
    auth = await sandbox_http.post(f"{base}/authorize")
    assert auth.status_code == 201
    assert auth.json()["connectionId"] == connection["id"]
    await click(auth.json()["authUrl"], decision="allow")
    fixed = (await sandbox_http.get(base)).json()
    assert (fixed["status"], fixed["error"]) == ("CONNECTED", None)


async def test_delete_connection_is_permanent(sandbox_http):
    company = await create_company(sandbox_http)
    connection = await connect(sandbox_http, company["id"])
    url = f"/companies/{company['id']}/connections/{connection['id']}"
    assert (await sandbox_http.delete(url)).status_code == 204
    assert_error(await sandbox_http.get(url), 404, fragment="Connection not found")
    assert_error(await sandbox_http.delete(url), 404)


async def test_connection_of_another_company_is_not_found(sandbox_http):
    acme = await create_company(sandbox_http, "Acme")
    other = await create_company(sandbox_http, "Other")
    connection = await connect(sandbox_http, acme["id"])
    url = f"/companies/{other['id']}/connections/{connection['id']}"
    assert_error(await sandbox_http.get(url), 404, fragment="Connection not found")
    assert_error(await sandbox_http.patch(url, json={"status": "DISCONNECTED"}), 404)
    assert_error(await sandbox_http.post(f"{url}/authorize"), 404)


async def test_unknown_ids_are_404(sandbox_http):
    company = await create_company(sandbox_http)
    missing = str(uuid.uuid4())
    base = f"/companies/{company['id']}"
    for method, url, body in [
        ("GET", f"/companies/{missing}", None),
        ("DELETE", f"/companies/{missing}", None),
        ("GET", f"/companies/{missing}/connections", None),
        ("POST", f"/companies/{missing}/connections", {"integrationKey": "XERO"}),
        ("GET", f"{base}/connections/{missing}", None),
        ("PATCH", f"{base}/connections/{missing}", {"status": "DISCONNECTED"}),
        ("POST", f"{base}/connections/{missing}/authorize", None),
        ("DELETE", f"{base}/connections/{missing}", None),
        ("GET", f"{base}/authorizations/{missing}", None),
        ("GET", "/companies/not-a-uuid", None),
        ("POST", f"/sandbox/authorizations/{missing}/complete", {"decision": "allow"}),
        ("POST", f"/sandbox{base}/connections/{missing}/simulate", {"status": "ERROR"}),
    ]:
        response = await sandbox_http.request(method, url, json=body)
        assert_error(response, 404, fragment="not found")


async def test_authorization_expires(tmp_path):
    clock = FakeClock()
    with EmbeddedSandbox(tmp_path, clock=clock) as sandbox:
        async with api_http(sandbox) as http:
            company = await create_company(http)
            created = (
                await http.post(
                    f"/companies/{company['id']}/connections", json={"integrationKey": "XERO"}
                )
            ).json()
            # API.md: 7 days unless the request says otherwise.
            assert datetime.fromisoformat(created["expiresAt"]) == clock.now + timedelta(days=7)
            url = f"/companies/{company['id']}/authorizations/{created['id']}"
            clock.advance(days=6, hours=23, minutes=59, seconds=59)
            assert (await http.get(url)).json()["status"] == "PENDING"
            clock.advance(seconds=1)
            assert (await http.get(url)).json()["status"] == "EXPIRED"
            completed = await http.post(
                f"/sandbox/authorizations/{created['id']}/complete", json={"decision": "allow"}
            )
            assert_error(completed, 410, fragment="expired")
            assert (await http.get(f"/companies/{company['id']}/connections")).json()[
                "totalResults"
            ] == 0


async def test_link_ttl_is_configurable(tmp_path):
    clock = FakeClock()
    with EmbeddedSandbox(tmp_path, clock=clock, link_ttl=timedelta(seconds=90)) as sandbox:
        async with api_http(sandbox) as http:
            assert (await http.get("/sandbox")).json()["linkTtlSeconds"] == 90
            company = await create_company(http)
            created = await http.post(
                f"/companies/{company['id']}/connections", json={"integrationKey": "XERO"}
            )
            expires = datetime.fromisoformat(created.json()["expiresAt"])
            assert (expires - clock.now).total_seconds() == 90


# ---------------------------------------------------------- sandbox QA


async def test_sandbox_info(sandbox_http):
    info = (await sandbox_http.get("/sandbox")).json()
    assert info["sandbox"] is True
    assert info["version"]
    assert info["linkTtlSeconds"] == 7 * 86400
    assert info["faults"]["errorRate"] == 0


async def test_simulate_each_status(sandbox_http):
    company = await create_company(sandbox_http)
    connection = await connect(sandbox_http, company["id"], "XERO")
    url = f"/sandbox/companies/{company['id']}/connections/{connection['id']}/simulate"

    expired = await sandbox_http.post(url, json={"status": "ERROR"})
    assert expired.status_code == 200
    error = Connection.model_validate(expired.json()).error
    assert error is not None
    assert error.code == "TOKEN_EXPIRED"
    assert "Xero" in error.message and "Reconnect" in error.message
    assert error.occurred_at is not None

    custom = await sandbox_http.post(
        url, json={"status": "ERROR", "errorCode": "MFA_REQUIRED", "message": "Sign in again"}
    )
    assert custom.json()["error"]["code"] == "MFA_REQUIRED"
    assert custom.json()["error"]["message"] == "Sign in again"

    revoked = await sandbox_http.post(url, json={"status": "DISCONNECTED"})
    assert (revoked.json()["status"], revoked.json()["error"]) == ("DISCONNECTED", None)
    recovered = await sandbox_http.post(url, json={"status": "CONNECTED"})
    assert recovered.json()["status"] == "CONNECTED"

    bad = await sandbox_http.post(url, json={"status": "DISCONNECTED", "errorCode": "X"})
    assert fields(assert_error(bad, 422)) == {"errorCode": "applies only to status ERROR"}
    assert_error(await sandbox_http.post(url, json={"status": "BROKEN"}), 422)
    assert_error(await sandbox_http.post(url, json={"status": "ERROR", "errorCode": "x y"}), 422)


async def test_reconnecting_keeps_one_row_per_integration(sandbox_http):
    company = await create_company(sandbox_http)
    first = await connect(sandbox_http, company["id"])
    simulate = f"/sandbox/companies/{company['id']}/connections/{first['id']}/simulate"
    for _ in range(3):
        await sandbox_http.post(simulate, json={"status": "DISCONNECTED"})
        pending = await sandbox_http.post(
            f"/companies/{company['id']}/connections", json={"integrationKey": "QUICKBOOKS"}
        )
        assert pending.json()["connectionId"] == first["id"]
        await click(pending.json()["authUrl"], decision="allow")
    listed = (await sandbox_http.get(f"/companies/{company['id']}/connections")).json()
    assert [(c["id"], c["status"]) for c in listed["results"]] == [(first["id"], "CONNECTED")]


async def test_complete_allow_deny_and_used(sandbox_http):
    company = await create_company(sandbox_http)
    base = f"/companies/{company['id']}/connections"
    denied = (await sandbox_http.post(base, json={"integrationKey": "SAGE"})).json()
    reply = await sandbox_http.post(
        f"/sandbox/authorizations/{denied['id']}/complete", json={"decision": "deny"}
    )
    assert reply.status_code == 200
    assert (reply.json()["status"], reply.json()["connectionId"]) == ("DECLINED", None)
    assert (await sandbox_http.get(base)).json()["totalResults"] == 0

    allowed = (await sandbox_http.post(base, json={"integrationKey": "SAGE"})).json()
    reply = await sandbox_http.post(
        f"/sandbox/authorizations/{allowed['id']}/complete", json={"decision": "allow"}
    )
    assert reply.json()["status"] == "COMPLETED"
    connection_id = reply.json()["connectionId"]
    assert (await sandbox_http.get(f"{base}/{connection_id}")).json()["status"] == "CONNECTED"

    again = await sandbox_http.post(
        f"/sandbox/authorizations/{allowed['id']}/complete", json={"decision": "deny"}
    )
    assert_error(again, 410, fragment="already been used")
    bad = await sandbox_http.post(
        f"/sandbox/authorizations/{allowed['id']}/complete", json={"decision": "maybe"}
    )
    assert fields(assert_error(bad, 422)) == {"decision": "must be 'allow' or 'deny'"}


async def test_a_new_link_cancels_the_older_pending_one(sandbox_http):
    company = await create_company(sandbox_http)
    base = f"/companies/{company['id']}/connections"
    first = (await sandbox_http.post(base, json={"integrationKey": "XERO"})).json()
    second = (await sandbox_http.post(base, json={"integrationKey": "XERO"})).json()
    older = await sandbox_http.get(f"/companies/{company['id']}/authorizations/{first['id']}")
    assert older.json()["status"] == "CANCELLED"
    assert (await click(first["authUrl"], decision="allow")).status_code == 410
    assert (await click(second["authUrl"], decision="allow")).status_code == 200
    assert (await sandbox_http.get(base)).json()["totalResults"] == 1


async def test_seed_endpoint(sandbox_http):
    reply = await sandbox_http.post(
        "/sandbox/seed", json={"companies": 120, "connectionsPerCompany": 3, "seed": 5}
    )
    assert reply.status_code == 200
    assert reply.json() == {"created": 120}
    page = (await sandbox_http.get("/companies", params={"pageSize": 500})).json()
    assert page["totalResults"] == 120
    assert all(len(c["connections"]) == 3 for c in page["results"])
    statuses = {conn["status"] for c in page["results"] for conn in c["connections"]}
    assert statuses == {"CONNECTED", "ERROR", "DISCONNECTED"}
    for body in ({"companies": 0}, {"companies": 1_000_001}, {"companies": 1, "seed": "x"}):
        assert_error(await sandbox_http.post("/sandbox/seed", json=body), 422)
    too_many = await sandbox_http.post(
        "/sandbox/seed", json={"companies": 1, "connectionsPerCompany": 5}
    )
    assert fields(assert_error(too_many, 422)) == {"connectionsPerCompany": "must be at most 4"}


# ------------------------------------------------------------------ auth


def _bare(sandbox: EmbeddedSandbox, authorization: str | None) -> httpx.AsyncClient:
    headers = {} if authorization is None else {"Authorization": authorization}
    return httpx.AsyncClient(base_url=sandbox.base_url, headers=headers)


@pytest.mark.parametrize(
    ("authorization", "fragment"),
    [
        (None, "Missing API key"),
        ("", "Missing API key"),
        ("Bearer", "Malformed API key"),
        ("Basic dXNlcjpwYXNz", "Malformed API key"),
        ("Bearer sk_test_short", "Malformed API key"),
        ("Bearer sk_prod_" + "a" * 20, "Malformed API key"),
        ("Bearer sk_test_" + "a" * 20 + " extra", "Malformed API key"),
        ("Bearer sk_test_" + "A" * 32, "Unknown or revoked"),
        ("Bearer sk_live_" + "A" * 32, "Live keys"),
    ],
)
async def test_bad_keys_are_refused(shared_sandbox, authorization, fragment):
    async with _bare(shared_sandbox, authorization) as http:
        for method, url in [("GET", "/companies"), ("POST", "/companies"), ("GET", "/sandbox")]:
            response = await http.request(method, url, json={"name": "x"})
            body = assert_error(response, 401, fragment=fragment)
            assert response.headers["www-authenticate"] == "Bearer"
            assert "A" * 20 not in body["error"] and "a" * 20 not in body["error"]


async def test_live_key_message_says_why(sandbox):
    async with _bare(sandbox, "Bearer sk_live_" + "Z" * 24) as http:
        body = assert_error(await http.get("/companies"), 401)
    assert "live keys cannot be used against a sandbox" in body["error"].lower()


async def test_bearer_scheme_is_case_insensitive(sandbox):
    async with _bare(sandbox, f"bearer {sandbox.api_key}") as http:
        assert (await http.get("/integrations")).status_code == 200


async def test_revoked_and_extra_keys(sandbox: EmbeddedSandbox, sandbox_http):
    extra = sandbox.store.issue_key()
    async with _bare(sandbox, f"Bearer {extra}") as http:
        assert (await http.get("/companies")).status_code == 200
        assert sandbox.store.revoke_key(extra) is True
        assert_error(await http.get("/companies"), 401, fragment="revoked")
    assert sandbox.store.revoke_key(extra) is False
    assert (await sandbox_http.get("/companies")).status_code == 200


async def test_auth_is_checked_before_the_body(sandbox):
    async with _bare(sandbox, None) as http:
        response = await http.post(
            "/companies", content=b"{not json", headers={"Content-Type": "application/json"}
        )
    assert_error(response, 401)


# ------------------------------------------------------------ validation


@pytest.mark.parametrize(
    ("body", "expected", "sentence"),
    [
        ({"name": ""}, {"name": "must not be empty"}, "Company name must not be empty"),
        ({"name": "   "}, {"name": "must not be empty"}, "Company name must not be empty"),
        (
            {"name": "x" * 101},
            {"name": "must be at most 100 characters (it is 101)"},
            "Company name must be at most 100",
        ),
        (
            {"name": "Acme\x1b[31m"},
            {"name": "must not contain control characters"},
            "Company name must not contain control characters",
        ),
        ({"name": "A\x85B"}, {"name": "must not contain control characters"}, "Company name"),
        ({"name": "A\x7fB"}, {"name": "must not contain control characters"}, "Company name"),
        (
            {"name": "Acme", "description": "d" * 501},
            {"description": "must be at most 500 characters (it is 501)"},
            "Company description must be at most 500",
        ),
        (
            {"name": "Acme", "description": "tab\there"},
            {"description": "must not contain control characters other than line breaks"},
            "Company description",
        ),
        ({}, {"name": "is required"}, "Company name is required"),
        ({"name": 42}, {"name": "must be a string"}, "Company name must be a string"),
        ({"name": None}, {"name": "must be a string"}, "Company name must be a string"),
        ({"name": ["Acme"]}, {"name": "must be a string"}, "Company name must be a string"),
        ({"name": "Acme", "description": 7}, {"description": "must be a string"}, "description"),
        ({"name": "Acme", "owner": "me"}, {"owner": "is not a known field"}, "Invalid request"),
        (
            {"name": "", "description": 5},
            {"name": "must not be empty", "description": "must be a string"},
            "Invalid request: name must not be empty; description must be a string",
        ),
    ],
)
async def test_company_validation(refused_http, body, expected, sentence):
    response = await refused_http.post("/companies", json=body)
    error = assert_error(response, 422, fragment=sentence)
    assert fields(error) == expected


async def test_description_may_have_line_breaks(sandbox_http):
    company = await create_company(sandbox_http, "Acme", description="a\nb")
    assert company["description"] == "a\nb"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"page": 0}, {"page": "must be at least 1"}),
        ({"page": -3}, {"page": "must be at least 1"}),
        ({"page": "abc"}, {"page": "must be an integer"}),
        ({"page": "1.5"}, {"page": "must be an integer"}),
        ({"pageSize": 0}, {"pageSize": "must be at least 1"}),
        ({"pageSize": 501}, {"pageSize": "must be at most 500"}),
        (
            {"orderBy": "bogus"},
            {
                "orderBy": "must be 'name', '-name', 'createdAt', '-createdAt', "
                "'stateChangedAt' or '-stateChangedAt'"
            },
        ),
        ({"query": "a\x00b"}, {"query": "must not contain control characters"}),
        ({"query": "q" * 201}, {"query": "must be at most 200 characters"}),
    ],
)
async def test_bad_list_parameters(refused_http, params, expected):
    assert (
        fields(assert_error(await refused_http.get("/companies", params=params), 422)) == expected
    )


async def test_bad_connection_bodies(sandbox_http):
    company = await create_company(sandbox_http)
    url = f"/companies/{company['id']}/connections"
    unknown = await sandbox_http.post(url, json={"integrationKey": "FRESHBOOKS"})
    assert fields(assert_error(unknown, 422, fragment="Integration key must be")) == {
        "integrationKey": "must be 'QUICKBOOKS', 'QUICKBOOKS_DESKTOP', 'XERO' or 'SAGE'"
    }
    snake = await sandbox_http.post(url, json={"integration_key": "XERO"})
    assert fields(assert_error(snake, 422)) == {
        "integrationKey": "is required",
        "integration_key": "is not a known field",
    }
    assert_error(await sandbox_http.get(url, params={"pageSize": 1000}), 422)


async def test_malformed_json_is_400(refused_http):
    for raw in (b"{bad", b'{"name": "Acme"', b"\xff\xfe"):
        response = await refused_http.post(
            "/companies", content=raw, headers={"Content-Type": "application/json"}
        )
        assert_error(response, 400, fragment="Request body is not valid JSON")


async def test_json_without_content_type_is_read_as_json(sandbox_http):
    response = await sandbox_http.post("/companies", content=b'{"name": "Curl Co"}')
    assert response.status_code == 201
    assert response.json()["name"] == "Curl Co"


async def test_form_body_on_the_api_is_400(refused_http):
    response = await refused_http.post("/companies", data={"name": "Acme"})
    assert_error(response, 400, fragment="must be JSON")


async def test_non_object_json_is_422(refused_http):
    for raw in (b"[]", b'"Acme"', b"null", b"42"):
        response = await refused_http.post(
            "/companies", content=raw, headers={"Content-Type": "application/json"}
        )
        assert fields(assert_error(response, 422)) == {"body": "must be a JSON object"}


async def test_huge_bodies_are_413(sandbox: EmbeddedSandbox, sandbox_http):
    big = b'{"name": "' + b"x" * (1024 * 1024) + b'"}'
    declared = await sandbox_http.post(
        "/companies", content=big, headers={"Content-Type": "application/json"}
    )
    assert_error(declared, 413, fragment="larger than")

    async def chunks():
        for _ in range(40):
            yield b"x" * 65536

    streamed = await sandbox_http.post(
        "/companies", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert_error(streamed, 413)
    async with httpx.AsyncClient() as browser:
        page = await browser.post(f"{sandbox.origin}/link/whatever", content=big)
    assert page.status_code == 413
    assert (await sandbox_http.get("/companies")).json()["totalResults"] == 0


# ------------------------------------------------------- correlation ids


async def test_every_response_has_a_correlation_id(sandbox: EmbeddedSandbox, sandbox_http):
    company = await create_company(sandbox_http)
    responses = [
        await sandbox_http.get("/integrations"),
        await sandbox_http.get("/nowhere"),
        await sandbox_http.put("/companies"),
        await sandbox_http.delete(f"/companies/{company['id']}"),
    ]
    async with httpx.AsyncClient() as browser:
        responses += [
            await browser.get(f"{sandbox.origin}/v1/companies"),
            await browser.get(f"{sandbox.origin}/link/nothing"),
            await browser.get(f"{sandbox.origin}/"),
            await browser.get(f"{sandbox.origin}/openapi.json"),
        ]
    ids = [r.headers["x-correlation-id"] for r in responses]
    assert all(uuid.UUID(hex=i).version == 4 for i in ids)
    assert len(set(ids)) == len(ids)
    assert [r.status_code for r in responses] == [200, 404, 405, 204, 401, 404, 404, 200]
    assert_error(responses[1], 404, fragment="No such endpoint")
    assert_error(responses[2], 405, fragment="Method not allowed")
    assert responses[2].headers["allow"]
    assert_error(responses[6], 404)


async def test_concurrent_requests_are_all_answered(sandbox_http):
    replies = await asyncio.gather(
        *(sandbox_http.post("/companies", json={"name": f"Co {i}"}) for i in range(30))
    )
    assert {r.status_code for r in replies} == {201}
    assert (await sandbox_http.get("/companies")).json()["totalResults"] == 30


# --------------------------------------------------------------- openapi


async def test_openapi_documents_the_api(sandbox: EmbeddedSandbox):
    async with httpx.AsyncClient() as http:
        spec = (await http.get(f"{sandbox.origin}/openapi.json")).json()
    paths = spec["paths"]
    for path in (
        "/integrations",
        "/companies",
        "/companies/{companyId}",
        "/companies/{companyId}/connections",
        "/companies/{companyId}/connections/{connectionId}",
        "/companies/{companyId}/connections/{connectionId}/authorize",
        "/companies/{companyId}/authorizations/{authorizationId}",
        "/sandbox",
        "/sandbox/faults",
        "/sandbox/seed",
        "/sandbox/authorizations/{authorizationId}/complete",
        "/sandbox/companies/{companyId}/connections/{connectionId}/simulate",
    ):
        assert path in paths, path
    assert not any(p.startswith(("/link", "/v1")) for p in paths)
    # Paths are relative to /v1, itself relative to the document's origin.
    assert [server["url"] for server in spec["servers"]] == ["/v1"]
    assert spec["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"
    create = paths["/companies"]["post"]
    assert create["security"] == [{"ApiKey": []}]
    assert "Idempotency-Key" in [p["name"] for p in create["parameters"]]
    schemas = spec["components"]["schemas"]
    assert schemas["CreateCompanyRequest"]["additionalProperties"] is False
    assert schemas["CreateCompanyRequest"]["properties"]["name"]["maxLength"] == 100
    always = {"statusCode", "error", "correlationId", "canBeRetried"}
    assert set(schemas["ErrorBody"]["required"]) == always
    assert set(schemas["ValidationErrorBody"]["required"]) == always | {"validation"}
    assert create["responses"]["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ValidationErrorBody"
    }
    assert "HTTPValidationError" not in schemas  # 422s are documented as ValidationErrorBody


# ------------------------------------------------------ server troubles


async def test_a_crash_is_a_json_500_and_is_logged(sandbox: EmbeddedSandbox, sandbox_http, caplog):
    def broken(**_):
        raise RuntimeError("disk on fire")

    sandbox.store.company_page = broken  # type: ignore[method-assign]
    response = await sandbox_http.get("/companies")
    body = assert_error(response, 500, fragment="internal error")
    assert "disk on fire" not in response.text
    logged = [r for r in caplog.records if r.name == "s2b_tui.sandbox"]
    assert len(logged) == 1
    assert body["correlationId"] in logged[0].getMessage()
    assert sandbox.api_key not in caplog.text


async def test_a_locked_database_is_a_retryable_503(tmp_path, monkeypatch):
    monkeypatch.setattr("s2b_tui.sandbox.store.base._BUSY_TIMEOUT_MS", 100)
    with EmbeddedSandbox(tmp_path) as sandbox:
        async with api_http(sandbox) as http:
            holder = sqlite3.connect(sandbox.store.db_path, isolation_level=None)
            holder.execute("BEGIN IMMEDIATE")  # another process writing for a long time
            try:
                plain = await http.post("/companies", json={"name": "Acme"})
                keyed = await http.post(
                    "/companies", json={"name": "Acme"}, headers={"Idempotency-Key": "busy"}
                )
                listed = await http.get("/companies")  # readers are not blocked
            finally:
                holder.execute("ROLLBACK")
                holder.close()
            for response in (plain, keyed):
                assert_error(response, 503, fragment="busy")
                assert response.headers["retry-after"] == "1"
            assert listed.status_code == 200
            retried = await http.post(
                "/companies", json={"name": "Acme"}, headers={"Idempotency-Key": "busy"}
            )
            assert retried.status_code == 201
