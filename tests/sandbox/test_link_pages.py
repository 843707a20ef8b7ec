"""The hosted Link pages, as a browser without an API key sees them."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from s2b_tui.sandbox import EmbeddedSandbox
from tests.sandbox.helpers import FakeClock, api_http, click, connect, create_company


@pytest.fixture
async def browser() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10.0) as client:
        yield client


def assert_page(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert uuid.UUID(hex=response.headers["x-correlation-id"]).version == 4
    text = response.text
    assert text.startswith("<!doctype html>")
    assert "<script" not in text.lower()
    assert not re.search(r"""(src|href)=["']?https?:""", text)  # self-contained
    return text


async def start(http: httpx.AsyncClient, company_id: str, key: str = "XERO") -> dict:
    response = await http.post(f"/companies/{company_id}/connections", json={"integrationKey": key})
    assert response.status_code == 201
    return response.json()


async def test_company_page_names_the_company_and_lists_integrations(sandbox_http, browser):
    company = await create_company(
        sandbox_http,
        "Hartley & Sons Plumbing",
        description="Pilot: churn risk",
        contactEmail="owner@hartley.example",
    )
    text = assert_page(await browser.get(company["authUrl"]), 200)
    assert "Connect Hartley &amp; Sons Plumbing to Sync2Books" in text
    # The name and nothing else of the company: its description and contact
    # email are the account manager's, and no id shows either.
    for private in ("Pilot", "churn risk", "owner@hartley", "hartley.example", company["id"]):
        assert private not in text, private
    assert company["id"].split("-")[0] not in text
    for platform in ("QuickBooks Online", "QuickBooks Desktop", "Xero", "Sage"):
        assert f"<strong>{platform}</strong>" in text
    forms = re.findall(r'<form method="post">.*?</form>', text)
    assert len(forms) == 4
    keys = re.findall(r'name="integrationKey" value="([A-Z_]+)"', text)
    assert keys == ["QUICKBOOKS", "QUICKBOOKS_DESKTOP", "XERO", "SAGE"]


async def test_company_page_shows_each_integration_state(
    sandbox: EmbeddedSandbox, sandbox_http, browser
):
    company = await create_company(sandbox_http)
    xero = await connect(sandbox_http, company["id"], "XERO")
    sage = await connect(sandbox_http, company["id"], "SAGE")
    books = await connect(sandbox_http, company["id"], "QUICKBOOKS")
    sandbox.store.simulate(company["id"], sage["id"], "ERROR")
    sandbox.store.disconnect(company["id"], books["id"])
    assert xero["status"] == "CONNECTED"
    text = assert_page(await browser.get(company["authUrl"]), 200)
    rows = dict(re.findall(r"<strong>([^<]+)</strong><span class=\"state\">([^<]+)</span>", text))
    assert rows == {
        "QuickBooks Online": "Disconnected",
        "QuickBooks Desktop": "Not connected",
        "Xero": "Connected",
        "Sage": "Needs attention: reconnect to resume syncing",
    }
    assert '<button type="submit" disabled>Connected</button>' in text


@pytest.mark.parametrize(
    "name", ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "Tom & Jerry's"]
)
async def test_every_value_is_escaped(sandbox_http, browser, name):
    company = await create_company(sandbox_http, name, description="<b>bold</b> & 'quoted'")
    pages = [assert_page(await browser.get(company["authUrl"]), 200)]
    auth = await start(sandbox_http, company["id"])
    pages.append(assert_page(await browser.get(auth["authUrl"]), 200))
    pages.append(assert_page(await browser.post(auth["authUrl"], data={"decision": "allow"}), 200))
    escaped = name.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    escaped = escaped.replace('"', "&quot;").replace("'", "&#x27;")
    for text in pages:
        assert name not in text or name == escaped
        assert escaped in text
    assert "bold" not in "".join(pages)  # the description is never shown
    assert "<img" not in "".join(pages)


async def test_consent_page_asks_allow_or_deny(sandbox_http, browser):
    company = await create_company(sandbox_http, "Acme Ltd")
    auth = await start(sandbox_http, company["id"], "QUICKBOOKS")
    text = assert_page(await browser.get(auth["authUrl"]), 200)
    assert "Acme Ltd wants to connect to QuickBooks Online (sandbox)" in text
    assert '<button type="submit" name="decision" value="allow"' in text
    assert '<button type="submit" name="decision" value="deny"' in text
    assert "expires at 2" in text  # a date follows


async def test_allow_connects_and_the_link_is_then_used(sandbox_http, browser):
    company = await create_company(sandbox_http, "Acme Ltd")
    auth = await start(sandbox_http, company["id"])
    done = assert_page(await browser.post(auth["authUrl"], data={"decision": "allow"}), 200)
    assert "Acme Ltd is now connected to Xero (sandbox)." in done
    connections = (await sandbox_http.get(f"/companies/{company['id']}/connections")).json()
    assert [c["status"] for c in connections["results"]] == ["CONNECTED"]

    for again in (
        await browser.get(auth["authUrl"]),
        await browser.post(auth["authUrl"], data={"decision": "deny"}),
    ):
        assert "This link has already been used." in assert_page(again, 410)
    status = await sandbox_http.get(f"/companies/{company['id']}/authorizations/{auth['id']}")
    assert status.json()["status"] == "COMPLETED"


async def test_deny_declines_and_connects_nothing(sandbox_http, browser):
    company = await create_company(sandbox_http, "Acme Ltd")
    auth = await start(sandbox_http, company["id"])
    text = assert_page(await browser.post(auth["authUrl"], data={"decision": "deny"}), 200)
    assert "Declined" in text and "was not connected to Xero" in text
    status = await sandbox_http.get(f"/companies/{company['id']}/authorizations/{auth['id']}")
    assert (status.json()["status"], status.json()["connectionId"]) == ("DECLINED", None)
    connections = (await sandbox_http.get(f"/companies/{company['id']}/connections")).json()
    assert connections["totalResults"] == 0
    assert_page(await browser.post(auth["authUrl"], data={"decision": "allow"}), 410)


async def test_expired_link_is_gone_and_changes_nothing(tmp_path, browser):
    clock = FakeClock()
    with EmbeddedSandbox(tmp_path, clock=clock) as sandbox:
        async with api_http(sandbox) as http:
            company = await create_company(http)
            auth = await start(http, company["id"])
            clock.advance(days=7)
            for response in (
                await browser.get(auth["authUrl"]),
                await browser.post(auth["authUrl"], data={"decision": "allow"}),
            ):
                assert "This link has expired." in assert_page(response, 410)
            status = await http.get(f"/companies/{company['id']}/authorizations/{auth['id']}")
            assert status.json()["status"] == "EXPIRED"
            connections = (await http.get(f"/companies/{company['id']}/connections")).json()
            assert connections["totalResults"] == 0
            # The company link never expires.
            assert_page(await browser.get(company["authUrl"]), 200)


async def test_unknown_token_is_not_found(sandbox: EmbeddedSandbox, browser):
    for response in (
        await browser.get(f"{sandbox.origin}/link/nope"),
        await browser.post(f"{sandbox.origin}/link/nope", data={"decision": "allow"}),
    ):
        assert "Link not found" in assert_page(response, 404)


async def test_company_link_redirects_to_a_consent_page(sandbox_http, browser):
    company = await create_company(sandbox_http, "Acme Ltd")
    picked = await browser.post(company["authUrl"], data={"integrationKey": "SAGE"})
    assert picked.status_code == 303
    assert picked.headers["cache-control"] == "no-store"
    consent_url = picked.headers["location"]
    assert consent_url.startswith(company["authUrl"].rsplit("/", 1)[0] + "/")
    assert consent_url != company["authUrl"]
    text = assert_page(await browser.get(consent_url), 200)
    assert "Acme Ltd wants to connect to Sage (sandbox)" in text
    assert_page(await browser.post(consent_url, data={"decision": "allow"}), 200)
    connections = (await sandbox_http.get(f"/companies/{company['id']}/connections")).json()
    assert [(c["integrationKey"], c["status"]) for c in connections["results"]] == [
        ("SAGE", "CONNECTED")
    ]


@pytest.mark.parametrize("decision", ["allow", "deny", "", "maybe"])
async def test_a_decision_posted_to_a_company_link_is_refused_and_changes_nothing(
    sandbox_http, decision
):
    """One cross-site form must never connect an integration: a company link
    only starts an authorization, and the decision is the consent page's."""
    company = await create_company(sandbox_http)
    before = (await sandbox_http.get("/events", params={"pageSize": 1})).json()["lastSequence"]
    refused = await click(company["authUrl"], integrationKey="XERO", decision=decision)
    assert "does not take a decision" in assert_page(refused, 400)
    assert "Location" not in refused.headers
    connections = (await sandbox_http.get(f"/companies/{company['id']}/connections")).json()
    assert connections["totalResults"] == 0
    links = await sandbox_http.get("/authorizations", params={"companyId": company["id"]})
    assert links.json()["totalResults"] == 0
    after = await sandbox_http.get("/events", params={"after": before})
    assert after.json()["results"] == []


async def test_company_link_for_a_connected_integration_says_so(sandbox_http):
    company = await create_company(sandbox_http)
    await connect(sandbox_http, company["id"], "XERO")
    again = await click(company["authUrl"], integrationKey="XERO")
    assert "already connected to Xero" in assert_page(again, 409)
    connections = (await sandbox_http.get(f"/companies/{company['id']}/connections")).json()
    assert connections["totalResults"] == 1


async def test_company_link_reconnects_an_error_connection(
    sandbox: EmbeddedSandbox, sandbox_http, browser
):
    company = await create_company(sandbox_http)
    broken = await connect(sandbox_http, company["id"], "SAGE")
    sandbox.store.simulate(company["id"], broken["id"], "ERROR")
    picked = await browser.post(company["authUrl"], data={"integrationKey": "SAGE"})
    assert picked.status_code == 303
    fixed = await browser.post(picked.headers["location"], data={"decision": "allow"})
    assert_page(fixed, 200)
    connection = await sandbox_http.get(f"/companies/{company['id']}/connections/{broken['id']}")
    assert (connection.json()["status"], connection.json()["error"]) == ("CONNECTED", None)


async def test_a_rotated_company_link_is_gone_and_the_new_one_opens(sandbox_http, browser):
    company = await create_company(sandbox_http, "Acme Ltd")
    rotated = await sandbox_http.post(f"/companies/{company['id']}/link")
    assert rotated.status_code == 200
    new_url = rotated.json()["authUrl"]
    assert new_url != company["authUrl"]
    for response in (
        await browser.get(company["authUrl"]),
        await browser.post(company["authUrl"], data={"integrationKey": "XERO"}),
    ):
        assert "replaced by a newer one" in assert_page(response, 410)
    connections = (await sandbox_http.get(f"/companies/{company['id']}/connections")).json()
    assert connections["totalResults"] == 0
    links = await sandbox_http.get("/authorizations", params={"companyId": company["id"]})
    assert links.json()["totalResults"] == 0
    assert "Connect Acme Ltd to Sync2Books" in assert_page(await browser.get(new_url), 200)


@pytest.mark.parametrize("cancel", ["replaced", "deleted"])
async def test_a_cancelled_authorization_link_is_gone_and_says_why(sandbox_http, browser, cancel):
    company = await create_company(sandbox_http, "Acme Ltd")
    old = await start(sandbox_http, company["id"], "XERO")
    if cancel == "replaced":  # a new link for the same integration cancels the older one
        newer = await start(sandbox_http, company["id"], "XERO")
        assert newer["status"] == "PENDING"
    else:
        reply = await sandbox_http.delete(f"/companies/{company['id']}/authorizations/{old['id']}")
        assert reply.status_code == 204
    for response in (
        await browser.get(old["authUrl"]),
        await browser.post(old["authUrl"], data={"decision": "allow"}),
    ):
        assert "This link was cancelled, or replaced by a newer one." in assert_page(response, 410)
    status = await sandbox_http.get(f"/companies/{company['id']}/authorizations/{old['id']}")
    assert (status.json()["status"], status.json()["connectionId"]) == ("CANCELLED", None)
    connections = (await sandbox_http.get(f"/companies/{company['id']}/connections")).json()
    assert connections["totalResults"] == 0


@pytest.mark.parametrize(
    "form",
    [{}, {"integrationKey": "FRESHBOOKS"}, {"integrationKey": "XERO", "decision": "maybe"}],
)
async def test_bad_company_link_forms(sandbox_http, form):
    company = await create_company(sandbox_http)
    assert_page(await click(company["authUrl"], **form), 400)
    connections = (await sandbox_http.get(f"/companies/{company['id']}/connections")).json()
    assert connections["totalResults"] == 0


@pytest.mark.parametrize("form", [{}, {"decision": "ALLOW"}, {"decision": ""}])
async def test_bad_consent_forms(sandbox_http, form):
    company = await create_company(sandbox_http)
    auth = await start(sandbox_http, company["id"])
    assert_page(await click(auth["authUrl"], **form), 400)
    status = await sandbox_http.get(f"/companies/{company['id']}/authorizations/{auth['id']}")
    assert status.json()["status"] == "PENDING"


async def test_a_json_post_to_a_link_is_refused(sandbox_http, browser):
    company = await create_company(sandbox_http)
    auth = await start(sandbox_http, company["id"])
    response = await browser.post(auth["authUrl"], json={"decision": "allow"})
    assert "application/x-www-form-urlencoded" in assert_page(response, 400)


async def test_link_pages_need_no_key_and_ignore_faults(sandbox_http, browser):
    company = await create_company(sandbox_http)
    await sandbox_http.put("/sandbox/faults", json={"errorRate": 1, "errorStatus": 500})
    assert_page(await browser.get(company["authUrl"]), 200)
    assert (await sandbox_http.get("/companies")).status_code == 500
