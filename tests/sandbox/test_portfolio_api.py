"""The portfolio revision of API.md ([P]) over HTTP: every new endpoint and
parameter, every refusal (a 4xx naming the field, nothing changed), and the
issue's flow end to end.

"Nothing changed" is checked with `snapshot`: the companies, the links and
the newest event sequence, before and after a refused request.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from s2b_tui.sandbox import EmbeddedSandbox
from s2b_tui.sandbox.server.handlers import companies as company_handlers
from tests.sandbox.helpers import (
    assert_error,
    click,
    connect,
    create_company,
    fields,
)

STATES = ("ERROR", "CONNECTED", "PENDING", "DISCONNECTED", "NOT_CONNECTED")


def when(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def snapshot(http: httpx.AsyncClient) -> Any:
    """What a refused request must leave as it was."""
    companies = (await http.get("/companies", params={"pageSize": 500})).json()
    links = (await http.get("/authorizations", params={"pageSize": 500})).json()
    last = (await http.get("/events", params={"pageSize": 1})).json()["lastSequence"]
    return companies, links, last


async def last_sequence(http: httpx.AsyncClient) -> int:
    return (await http.get("/events", params={"pageSize": 1})).json()["lastSequence"]


async def events_after(http: httpx.AsyncClient, after: int, **params: Any) -> list[dict]:
    reply = await http.get("/events", params={"after": after, **params})
    assert reply.status_code == 200, reply.text
    return reply.json()["results"]


async def start(http: httpx.AsyncClient, company_id: str, key: str = "XERO", **extra) -> dict:
    reply = await http.post(
        f"/companies/{company_id}/connections", json={"integrationKey": key, **extra}
    )
    assert reply.status_code == 201, reply.text
    return reply.json()


def ids(page: dict) -> list[str]:
    return [item["id"] for item in page["results"]]


# ------------------------------------------------------------ companies


async def test_a_company_carries_contact_email_state_and_state_changed_at(sandbox_http):
    company = await create_company(
        sandbox_http, "Acme Ltd", description="Pilot", contactEmail="owner@acme.example"
    )
    assert company["contactEmail"] == "owner@acme.example"
    assert company["connectionState"] == "NOT_CONNECTED"
    assert company["stateChangedAt"] == company["createdAt"]
    read = (await sandbox_http.get(f"/companies/{company['id']}")).json()
    assert read == company
    plain = await create_company(sandbox_http, "Plain Ltd")
    assert plain["contactEmail"] is None
    listed = (await sandbox_http.get("/companies")).json()
    assert {c["id"]: c["contactEmail"] for c in listed["results"]} == {
        company["id"]: "owner@acme.example",
        plain["id"]: None,
    }
    assert listed["totalIsLowerBound"] is False


@pytest.mark.parametrize(
    "email",
    [
        "a@b",
        "owner@acme.example",
        "first.last+tag@sub.example.co.uk",
        "ünïcödé@exämple.test",
        '"quoted"@example.test',
        "x" * 240 + "@example.test",  # 253 characters
        "x" * 241 + "@example.test",  # 254: the most
    ],
)
async def test_well_formed_contact_emails_are_kept_as_sent(sandbox_http, email):
    company = await create_company(sandbox_http, "Acme", contactEmail=email)
    assert company["contactEmail"] == email


MALFORMED_EMAILS = [
    ("", "must be an email address: one @ with text on both sides"),
    ("acme.example", "must be an email address: one @ with text on both sides"),
    ("@acme.example", "must be an email address: one @ with text on both sides"),
    ("owner@", "must be an email address: one @ with text on both sides"),
    ("a@b@c", "must be an email address: one @ with text on both sides"),
    ("@", "must be an email address: one @ with text on both sides"),
    ("own er@acme.example", "must not contain spaces"),
    (" owner@acme.example", "must not contain spaces"),
    ("owner@acme.example ", "must not contain spaces"),
    ("owner@acme\u00a0example", "must not contain spaces"),
    ("owner@acme\u2003example", "must not contain spaces"),
    ("owner@acme.example\n", "must not contain control characters"),
    ("owner\x1b[31m@acme.example", "must not contain control characters"),
    ("owner\x85@acme.example", "must not contain control characters"),
    (
        "owner\ud800@acme.example",
        "must be valid Unicode text (it has an unpaired UTF-16 surrogate)",
    ),
    ("x" * 242 + "@example.test", "must be at most 254 characters (it is 255)"),
    (5, "must be a string"),
    (["a@b"], "must be a string"),
    ({"email": "a@b"}, "must be a string"),
    (True, "must be a string"),
]


@pytest.mark.parametrize(("email", "message"), MALFORMED_EMAILS)
async def test_malformed_contact_emails_are_refused_by_name(refused_http, email, message):
    body = json.dumps({"name": "Acme", "contactEmail": email}).encode()  # surrogates escaped
    reply = await refused_http.post(
        "/companies", content=body, headers={"Content-Type": "application/json"}
    )
    assert fields(assert_error(reply, 422)) == {"contactEmail": message}


async def test_patch_changes_what_it_names_and_records_it(sandbox_http):
    company = await create_company(
        sandbox_http, "Acme", description="Pilot", contactEmail="old@acme.example"
    )
    url = f"/companies/{company['id']}"
    before = await last_sequence(sandbox_http)

    renamed = await sandbox_http.patch(url, json={"name": "  Acme Holdings  "})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "Acme Holdings"  # trimmed, as on create
    assert renamed.json()["description"] == "Pilot"
    assert renamed.json()["contactEmail"] == "old@acme.example"

    both = await sandbox_http.patch(
        url, json={"contactEmail": "new@acme.example", "description": "x"}
    )
    assert (both.json()["contactEmail"], both.json()["description"]) == ("new@acme.example", "x")

    cleared = await sandbox_http.patch(url, json={"description": None, "contactEmail": None})
    assert (cleared.json()["description"], cleared.json()["contactEmail"]) == (None, None)
    assert cleared.json()["name"] == "Acme Holdings"
    assert (await sandbox_http.get(url)).json() == cleared.json()

    same = await sandbox_http.patch(url, json={"name": "Acme Holdings"})
    assert same.status_code == 200  # nothing to change: no event
    events = await events_after(sandbox_http, before)
    assert [(e["type"], e["actor"], e["detail"]) for e in events] == [
        ("company.updated", "API", "Changed name"),
        ("company.updated", "API", "Changed description, contactEmail"),
        ("company.updated", "API", "Changed description, contactEmail"),
    ]
    # A search finds the new name, not the old one.
    found = (await sandbox_http.get("/companies", params={"query": "Holdings"})).json()
    assert ids(found) == [company["id"]]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, {"body": "must set at least one of name, description, contactEmail"}),
        ({"name": None}, {"name": "must be a string"}),
        ({"name": ""}, {"name": "must not be empty"}),
        ({"name": "   "}, {"name": "must not be empty"}),
        ({"name": "x" * 101}, {"name": "must be at most 100 characters (it is 101)"}),
        ({"name": "Acme\x1b[2J"}, {"name": "must not contain control characters"}),
        ({"name": 7}, {"name": "must be a string"}),
        ({"description": 7}, {"description": "must be a string"}),
        (
            {"description": "tab\there"},
            {"description": "must not contain control characters other than line breaks"},
        ),
        ({"contactEmail": "nobody"}, {"contactEmail": MALFORMED_EMAILS[1][1]}),
        ({"contactEmail": ["a@b"]}, {"contactEmail": "must be a string"}),
        ({"owner": "me"}, {"owner": "is not a known field"}),
        ({"contact_email": "a@b"}, {"contact_email": "is not a known field"}),
        (
            {"name": "Fine", "contactEmail": "a b@c"},
            {"contactEmail": "must not contain spaces"},
        ),
    ],
)
async def test_bad_patches_name_the_field_and_change_nothing(sandbox_http, body, expected):
    company = await create_company(sandbox_http, "Acme", contactEmail="a@b")
    before = await snapshot(sandbox_http)
    reply = await sandbox_http.patch(f"/companies/{company['id']}", json=body)
    assert fields(assert_error(reply, 422)) == expected
    assert await snapshot(sandbox_http) == before


async def test_patch_and_link_rotation_of_an_unknown_company_are_404(refused_http):
    missing = "/companies/00000000-0000-4000-8000-000000000000"
    assert_error(await refused_http.patch(missing, json={"name": "X"}), 404)
    assert_error(await refused_http.post(missing + "/link"), 404)


async def test_rotating_the_company_link_gives_a_new_one(sandbox_http):
    company = await create_company(sandbox_http, "Acme")
    before = await last_sequence(sandbox_http)
    rotated = await sandbox_http.post(f"/companies/{company['id']}/link")
    assert rotated.status_code == 200
    assert rotated.json()["authUrl"] != company["authUrl"]
    assert {k: v for k, v in rotated.json().items() if k != "authUrl"} == {
        k: v for k, v in company.items() if k != "authUrl"
    }
    (event,) = await events_after(sandbox_http, before)
    assert (event["type"], event["actor"]) == ("company.updated", "API")
    async with httpx.AsyncClient() as browser:
        assert (await browser.get(company["authUrl"])).status_code == 410
        assert (await browser.get(rotated.json()["authUrl"])).status_code == 200


# ------------------------------------------------------ state, name, order


async def companies_in_every_state(sandbox: EmbeddedSandbox, http: httpx.AsyncClient) -> dict:
    """One company per connectionState, made in this order: NOT_CONNECTED,
    PENDING, CONNECTED, DISCONNECTED, ERROR."""
    made = {}
    made["NOT_CONNECTED"] = await create_company(http, "Nobody Ltd")
    made["PENDING"] = await create_company(http, "Waiting Ltd")
    await start(http, made["PENDING"]["id"])
    made["CONNECTED"] = await create_company(http, "Happy Ltd")
    await connect(http, made["CONNECTED"]["id"])
    made["DISCONNECTED"] = await create_company(http, "Gone Ltd")
    gone = await connect(http, made["DISCONNECTED"]["id"])
    await http.patch(
        f"/companies/{gone['companyId']}/connections/{gone['id']}", json={"status": "DISCONNECTED"}
    )
    made["ERROR"] = await create_company(http, "Broken Ltd")
    broken = await connect(http, made["ERROR"]["id"])
    sandbox.store.simulate(made["ERROR"]["id"], broken["id"], "ERROR")
    return {state: company["id"] for state, company in made.items()}


async def test_state_filter_lists_only_those_states(sandbox: EmbeddedSandbox, sandbox_http):
    by_state = await companies_in_every_state(sandbox, sandbox_http)
    for state, company_id in by_state.items():
        page = (await sandbox_http.get("/companies", params={"state": state})).json()
        assert ids(page) == [company_id], state
        assert page["totalResults"] == 1 and page["totalIsLowerBound"] is False
        assert page["results"][0]["connectionState"] == state
    two = (await sandbox_http.get("/companies", params={"state": "ERROR,PENDING"})).json()
    assert set(ids(two)) == {by_state["ERROR"], by_state["PENDING"]}
    assert two["totalResults"] == 2
    folded = await sandbox_http.get("/companies", params={"state": "ERROR,PENDING,ERROR,ERROR"})
    assert folded.json() == two
    everyone = (await sandbox_http.get("/companies", params={"state": ",".join(STATES)})).json()
    assert everyone["totalResults"] == 5
    # With a search too.
    searched = await sandbox_http.get("/companies", params={"state": "ERROR", "query": "Ltd"})
    assert ids(searched.json()) == [by_state["ERROR"]]


@pytest.mark.parametrize(
    "state",
    ["", ",", "error", "ERROR,", ",ERROR", "ERROR,,PENDING", "ERROR, PENDING", "BOGUS", "ERROR,X"],
)
async def test_a_state_list_with_junk_is_refused_naming_state(refused_http, state):
    reply = await refused_http.get("/companies", params={"state": state})
    message = fields(assert_error(reply, 422))["state"]
    assert message.startswith(
        "must be one or more of ERROR, CONNECTED, PENDING, DISCONNECTED, NOT_CONNECTED"
    )


async def test_name_filter_finds_twins_ignoring_case_and_spaces(sandbox_http):
    twins = [await create_company(sandbox_http, name) for name in ("Acme Ltd", "ACME LTD")]
    await create_company(sandbox_http, "Acme Ltd Holdings")
    await create_company(sandbox_http, "Acme")
    for name in ("acme ltd", "  Acme Ltd  ", "ACME LTD"):
        page = (await sandbox_http.get("/companies", params={"name": name})).json()
        assert set(ids(page)) == {t["id"] for t in twins}, name
        assert page["totalResults"] == 2
    short = (await sandbox_http.get("/companies", params={"name": "acme"})).json()
    assert [c["name"] for c in short["results"]] == ["Acme"]
    none = (await sandbox_http.get("/companies", params={"name": "Acme Lt"})).json()
    assert none["totalResults"] == 0
    bad = await sandbox_http.get("/companies", params={"name": "Acme\x00"})
    assert fields(assert_error(bad, 422)) == {"name": "must not contain control characters"}


async def test_order_by_state_changed_at(sandbox: EmbeddedSandbox, sandbox_http):
    first = await create_company(sandbox_http, "First")
    second = await create_company(sandbox_http, "Second")
    third = await create_company(sandbox_http, "Third")
    await start(sandbox_http, first["id"])  # first's state changes last
    oldest = (await sandbox_http.get("/companies", params={"orderBy": "stateChangedAt"})).json()
    assert ids(oldest) == [second["id"], third["id"], first["id"]]
    newest = (await sandbox_http.get("/companies", params={"orderBy": "-stateChangedAt"})).json()
    assert ids(newest) == [first["id"], third["id"], second["id"]]
    stamps = [when(c["stateChangedAt"]) for c in newest["results"]]
    assert stamps == sorted(stamps, reverse=True)


async def test_query_matches_an_id_prefix_of_8_or_more_hex_digits(sandbox_http):
    companies = [await create_company(sandbox_http, f"Co {i}") for i in range(5)]
    target = companies[3]
    for length in (8, 13, 20, 36):
        prefix = target["id"][:length]
        page = (await sandbox_http.get("/companies", params={"query": prefix})).json()
        assert ids(page) == [target["id"]], prefix
        upper = (await sandbox_http.get("/companies", params={"query": prefix.upper()})).json()
        assert ids(upper) == [target["id"]], prefix
    too_short = target["id"][:7]  # a name search then, and no name has it
    assert ids((await sandbox_http.get("/companies", params={"query": too_short})).json()) == []


async def test_counts_of_a_search_stop_at_the_cap_lists_without_one_are_exact(
    sandbox_http, monkeypatch
):
    """The cap (1,000 in production) is lowered here so that a few dozen
    companies reach it."""
    monkeypatch.setattr(company_handlers, "COUNT_CAP", 20)
    for i in range(30):
        await create_company(sandbox_http, f"Acme {i:02d}")
    await create_company(sandbox_http, "Other")
    searched = (await sandbox_http.get("/companies", params={"query": "Acme"})).json()
    assert searched["totalIsLowerBound"] is True
    assert 20 <= searched["totalResults"] <= 30
    small = (await sandbox_http.get("/companies", params={"query": "Acme 1"})).json()
    assert (small["totalResults"], small["totalIsLowerBound"]) == (10, False)
    listed = (await sandbox_http.get("/companies", params={"pageSize": 1})).json()
    assert (listed["totalResults"], listed["totalIsLowerBound"]) == (31, False)
    by_state = (await sandbox_http.get("/companies", params={"state": "NOT_CONNECTED"})).json()
    assert (by_state["totalResults"], by_state["totalIsLowerBound"]) == (31, False)
    by_name = (await sandbox_http.get("/companies", params={"name": "Acme 05"})).json()
    assert (by_name["totalResults"], by_name["totalIsLowerBound"]) == (1, False)


# ------------------------------------------------------------------ stats


async def test_stats_count_every_state_and_add_up(sandbox: EmbeddedSandbox, sandbox_http):
    empty = (await sandbox_http.get("/companies/stats")).json()
    assert empty == {
        "totalResults": 0,
        "byState": dict.fromkeys(STATES, 0),
        "totalIsLowerBound": False,
    }
    by_state = await companies_in_every_state(sandbox, sandbox_http)
    await create_company(sandbox_http, "Nobody Else")
    stats = (await sandbox_http.get("/companies/stats")).json()
    assert stats["byState"] == {**dict.fromkeys(STATES, 1), "NOT_CONNECTED": 2}
    assert stats["totalResults"] == 6 == sum(stats["byState"].values())
    assert list(stats["byState"]) == list(STATES)
    nobody = (await sandbox_http.get("/companies/stats", params={"query": "Nobody"})).json()
    assert nobody["byState"] == {**dict.fromkeys(STATES, 0), "NOT_CONNECTED": 2}
    assert (nobody["totalResults"], nobody["totalIsLowerBound"]) == (2, False)
    by_id = await sandbox_http.get("/companies/stats", params={"query": by_state["ERROR"][:8]})
    assert by_id.json()["byState"]["ERROR"] == 1 and by_id.json()["totalResults"] == 1
    # "stats" is a route, not a company id; company ids still are.
    assert (await sandbox_http.get(f"/companies/{by_state['ERROR']}")).status_code == 200
    bad = await sandbox_http.get("/companies/stats", params={"query": "a\x1bb"})
    assert fields(assert_error(bad, 422)) == {"query": "must not contain control characters"}


async def test_stats_of_a_large_search_are_lower_bounds(sandbox_http, monkeypatch):
    monkeypatch.setattr(company_handlers, "COUNT_CAP", 20)
    for i in range(25):
        await create_company(sandbox_http, f"Acme {i:02d}")
    searched = (await sandbox_http.get("/companies/stats", params={"query": "Acme"})).json()
    assert searched["totalIsLowerBound"] is True
    assert 20 <= searched["totalResults"] <= 25
    assert sum(searched["byState"].values()) == searched["totalResults"]
    everyone = (await sandbox_http.get("/companies/stats")).json()
    assert (everyone["totalResults"], everyone["totalIsLowerBound"]) == (25, False)


# --------------------------------------------------------- authorizations


async def test_authorizations_carry_company_name_and_created_at(sandbox_http):
    company = await create_company(sandbox_http, "Acme Ltd")
    auth = await start(sandbox_http, company["id"])
    assert auth["companyName"] == "Acme Ltd"
    assert when(auth["expiresAt"]) - when(auth["createdAt"]) == timedelta(days=7)
    read = await sandbox_http.get(f"/companies/{company['id']}/authorizations/{auth['id']}")
    assert read.json() == auth


@pytest.mark.parametrize("minutes", [5, 60, 10_080, 43_200])
async def test_expires_in_minutes_sets_the_lifetime(sandbox_http, minutes):
    company = await create_company(sandbox_http, "Acme")
    auth = await start(sandbox_http, company["id"], expiresInMinutes=minutes)
    assert when(auth["expiresAt"]) - when(auth["createdAt"]) == timedelta(minutes=minutes)
    connection = await connect(sandbox_http, company["id"], "SAGE")
    await sandbox_http.patch(
        f"/companies/{company['id']}/connections/{connection['id']}",
        json={"status": "DISCONNECTED"},
    )
    url = f"/companies/{company['id']}/connections/{connection['id']}/authorize"
    again = await sandbox_http.post(url, json={"expiresInMinutes": minutes})
    assert again.status_code == 201, again.text
    body = again.json()
    assert when(body["expiresAt"]) - when(body["createdAt"]) == timedelta(minutes=minutes)
    assert body["connectionId"] == connection["id"]


async def test_authorize_takes_no_body_an_empty_object_or_a_lifetime(sandbox_http):
    company = await create_company(sandbox_http, "Acme")
    connection = await connect(sandbox_http, company["id"], "XERO")
    await sandbox_http.patch(
        f"/companies/{company['id']}/connections/{connection['id']}",
        json={"status": "DISCONNECTED"},
    )
    url = f"/companies/{company['id']}/connections/{connection['id']}/authorize"
    for request in (
        sandbox_http.post(url),
        sandbox_http.post(url, content=b"", headers={"Content-Type": "application/json"}),
        sandbox_http.post(url, json={}),
    ):
        reply = await request
        assert reply.status_code == 201, reply.text
        lifetime = when(reply.json()["expiresAt"]) - when(reply.json()["createdAt"])
        assert lifetime == timedelta(days=7)


BAD_LIFETIMES = [
    (4, "must be at least 5"),
    (0, "must be at least 5"),
    (-60, "must be at least 5"),
    (43_201, "must be at most 43200"),
    (10**30, "must be at most 43200"),
    ("60", "must be an integer"),
    (60.5, "must be an integer"),
    (None, "must be an integer"),
    (True, "must be an integer"),
    ([60], "must be an integer"),
]


@pytest.mark.parametrize(("minutes", "message"), BAD_LIFETIMES)
async def test_bad_lifetimes_are_refused_naming_the_field(sandbox_http, minutes, message):
    company = await create_company(sandbox_http, "Acme")
    connection = await connect(sandbox_http, company["id"], "XERO")
    await sandbox_http.patch(
        f"/companies/{company['id']}/connections/{connection['id']}",
        json={"status": "DISCONNECTED"},
    )
    before = await snapshot(sandbox_http)
    for url, body in (
        (f"/companies/{company['id']}/connections", {"integrationKey": "SAGE"}),
        (f"/companies/{company['id']}/connections/{connection['id']}/authorize", {}),
    ):
        reply = await sandbox_http.post(url, json={**body, "expiresInMinutes": minutes})
        assert fields(assert_error(reply, 422)) == {"expiresInMinutes": message}, url
    assert await snapshot(sandbox_http) == before


async def test_authorize_refuses_unknown_fields_and_unreadable_bodies(sandbox_http):
    company = await create_company(sandbox_http, "Acme")
    connection = await connect(sandbox_http, company["id"], "XERO")
    sandbox_url = f"/companies/{company['id']}/connections/{connection['id']}"
    await sandbox_http.patch(sandbox_url, json={"status": "DISCONNECTED"})
    before = await snapshot(sandbox_http)
    url = sandbox_url + "/authorize"
    unknown = await sandbox_http.post(url, json={"integrationKey": "XERO"})
    assert fields(assert_error(unknown, 422)) == {"integrationKey": "is not a known field"}
    assert_error(await sandbox_http.post(url, content=b"{bad"), 400)
    array = await sandbox_http.post(url, json=[])
    assert fields(assert_error(array, 422)) == {"body": "must be a JSON object"}
    assert await snapshot(sandbox_http) == before


async def test_a_newer_link_cancels_the_older_one(sandbox_http):
    company = await create_company(sandbox_http, "Acme")
    old = await start(sandbox_http, company["id"], "XERO")
    sage = await start(sandbox_http, company["id"], "SAGE")
    new = await start(sandbox_http, company["id"], "XERO")
    url = f"/companies/{company['id']}/authorizations"
    assert (await sandbox_http.get(f"{url}/{old['id']}")).json()["status"] == "CANCELLED"
    assert (await sandbox_http.get(f"{url}/{sage['id']}")).json()["status"] == "PENDING"
    pending = await sandbox_http.get("/authorizations", params={"status": "PENDING"})
    assert set(ids(pending.json())) == {sage["id"], new["id"]}


async def test_cancelling_a_link(sandbox_http):
    company = await create_company(sandbox_http, "Acme")
    auth = await start(sandbox_http, company["id"])
    assert (await sandbox_http.get(f"/companies/{company['id']}")).json()[
        "connectionState"
    ] == "PENDING"
    before = await last_sequence(sandbox_http)
    url = f"/companies/{company['id']}/authorizations/{auth['id']}"
    cancelled = await sandbox_http.delete(url)
    assert (cancelled.status_code, cancelled.content) == (204, b"")
    read = (await sandbox_http.get(url)).json()
    assert read["status"] == "CANCELLED"
    company_now = (await sandbox_http.get(f"/companies/{company['id']}")).json()
    assert company_now["connectionState"] == "NOT_CONNECTED"
    (event,) = await events_after(sandbox_http, before)
    assert (event["type"], event["actor"], event["fromStatus"], event["toStatus"]) == (
        "authorization.cancelled",
        "API",
        "PENDING",
        "CANCELLED",
    )
    again = await sandbox_http.delete(url)
    assert_error(again, 409, fragment="not PENDING")
    done = await start(sandbox_http, company["id"], "SAGE")
    assert (await click(done["authUrl"], decision="allow")).status_code == 200
    completed = await sandbox_http.delete(f"/companies/{company['id']}/authorizations/{done['id']}")
    assert_error(completed, 409)
    other = await create_company(sandbox_http, "Other")
    wrong_company = await sandbox_http.delete(
        f"/companies/{other['id']}/authorizations/{done['id']}"
    )
    assert_error(wrong_company, 404)
    missing = f"/companies/{company['id']}/authorizations/00000000-0000-4000-8000-000000000000"
    assert_error(await sandbox_http.delete(missing), 404)


async def test_listing_authorizations_across_companies(sandbox_http):
    acme = await create_company(sandbox_http, "Acme")
    bravo = await create_company(sandbox_http, "Bravo")
    long_lived = await start(sandbox_http, acme["id"], "XERO", expiresInMinutes=600)
    short_lived = await start(sandbox_http, bravo["id"], "SAGE", expiresInMinutes=10)
    used = await start(sandbox_http, bravo["id"], "XERO")
    await click(used["authUrl"], decision="allow")
    declined = await start(sandbox_http, acme["id"], "SAGE")
    await click(declined["authUrl"], decision="deny")

    newest = (await sandbox_http.get("/authorizations")).json()
    assert ids(newest) == [declined["id"], used["id"], short_lived["id"], long_lived["id"]]
    assert newest["totalResults"] == 4 and newest["pageSize"] == 50
    assert {a["companyName"] for a in newest["results"]} == {"Acme", "Bravo"}
    pending = (await sandbox_http.get("/authorizations", params={"status": "PENDING"})).json()
    assert ids(pending) == [short_lived["id"], long_lived["id"]]
    soonest = await sandbox_http.get(
        "/authorizations", params={"status": "PENDING", "orderBy": "expiresAt"}
    )
    assert ids(soonest.json()) == [short_lived["id"], long_lived["id"]]
    two = await sandbox_http.get(
        "/authorizations", params={"status": "COMPLETED,DECLINED,COMPLETED"}
    )
    assert set(ids(two.json())) == {used["id"], declined["id"]}
    mine = await sandbox_http.get("/authorizations", params={"companyId": acme["id"]})
    assert ids(mine.json()) == [declined["id"], long_lived["id"]]
    nobody = await sandbox_http.get("/authorizations", params={"companyId": "nobody"})
    assert nobody.json()["totalResults"] == 0
    paged = await sandbox_http.get("/authorizations", params={"page": 2, "pageSize": 3})
    assert ids(paged.json()) == [long_lived["id"]]
    assert (paged.json()["pageNumber"], paged.json()["totalResults"]) == (2, 4)


@pytest.mark.parametrize(
    ("params", "field", "fragment"),
    [
        ({"status": "pending"}, "status", "must be one or more of PENDING, COMPLETED"),
        ({"status": "PENDING,"}, "status", "unknown statuses: ''"),
        ({"status": "ACTIVE"}, "status", "unknown statuses: 'ACTIVE'"),
        ({"orderBy": "createdAt"}, "orderBy", "must be 'expiresAt' or '-createdAt'"),
        ({"page": 0}, "page", "must be at least 1"),
        ({"pageSize": 501}, "pageSize", "must be at most 500"),
        ({"companyId": "x" * 201}, "companyId", "must be at most 200 characters"),
    ],
)
async def test_bad_authorization_list_parameters(refused_http, params, field, fragment):
    reply = await refused_http.get("/authorizations", params=params)
    problems = fields(assert_error(reply, 422))
    assert list(problems) == [field] and fragment in problems[field]


async def test_expire_makes_a_link_read_as_expired(sandbox_http):
    company = await create_company(sandbox_http, "Acme")
    auth = await start(sandbox_http, company["id"])
    before = await last_sequence(sandbox_http)
    expired = await sandbox_http.post(f"/sandbox/authorizations/{auth['id']}/expire")
    assert expired.status_code == 200, expired.text
    assert expired.json()["status"] == "EXPIRED"
    assert when(expired.json()["expiresAt"]) <= datetime.now(when(auth["createdAt"]).tzinfo)
    read = await sandbox_http.get(f"/companies/{company['id']}/authorizations/{auth['id']}")
    assert read.json()["status"] == "EXPIRED"
    assert (await sandbox_http.get(f"/companies/{company['id']}")).json()[
        "connectionState"
    ] == "NOT_CONNECTED"
    (event,) = await events_after(sandbox_http, before)
    assert (event["type"], event["actor"]) == ("authorization.expired", "PLATFORM")
    assert (await click(auth["authUrl"], decision="allow")).status_code == 410
    assert_error(await sandbox_http.post(f"/sandbox/authorizations/{auth['id']}/expire"), 409)
    missing = "/sandbox/authorizations/00000000-0000-4000-8000-000000000000/expire"
    assert_error(await sandbox_http.post(missing), 404)


# ------------------------------------------------------------------ events


async def test_the_events_feed(sandbox_http):
    start_at = await last_sequence(sandbox_http)
    acme = await create_company(sandbox_http, "Acme")
    bravo = await create_company(sandbox_http, "Bravo")
    await start(sandbox_http, acme["id"])
    await sandbox_http.delete(f"/companies/{bravo['id']}")

    newest = (await sandbox_http.get("/events")).json()
    assert [e["type"] for e in newest["results"]] == [
        "company.deleted",
        "authorization.created",
        "company.created",
        "company.created",
    ]
    sequences = [e["sequence"] for e in newest["results"]]
    assert sequences == sorted(sequences, reverse=True)
    assert newest["lastSequence"] == sequences[0] and newest["hasMore"] is False

    oldest = (await sandbox_http.get("/events", params={"after": start_at})).json()
    assert [e["sequence"] for e in oldest["results"]] == sorted(sequences)
    assert oldest["lastSequence"] == sequences[0] and oldest["hasMore"] is False

    first_two = (
        await sandbox_http.get("/events", params={"after": start_at, "pageSize": 2})
    ).json()
    assert first_two["hasMore"] is True and len(first_two["results"]) == 2
    rest = await sandbox_http.get(
        "/events", params={"after": first_two["results"][-1]["sequence"], "pageSize": 2}
    )
    assert rest.json()["hasMore"] is False
    followed = first_two["results"] + rest.json()["results"]
    assert followed == oldest["results"]  # each once, none missed

    at_end = (await sandbox_http.get("/events", params={"after": sequences[0]})).json()
    assert (at_end["results"], at_end["hasMore"]) == ([], False)

    only_acme = await sandbox_http.get("/events", params={"companyId": acme["id"]})
    assert [e["type"] for e in only_acme.json()["results"]] == [
        "authorization.created",
        "company.created",
    ]
    typed = await sandbox_http.get(
        "/events", params={"type": "company.deleted,company.created", "after": start_at}
    )
    assert [e["type"] for e in typed.json()["results"]] == [
        "company.created",
        "company.created",
        "company.deleted",
    ]
    # A deleted company's events stay in the feed.
    deleted = await sandbox_http.get("/events", params={"companyId": bravo["id"]})
    assert [e["type"] for e in deleted.json()["results"]] == ["company.deleted", "company.created"]
    assert deleted.json()["results"][0]["companyName"] == "Bravo"


async def test_an_event_has_every_field(sandbox: EmbeddedSandbox, sandbox_http):
    company = await create_company(sandbox_http, "Acme Ltd")
    connection = await connect(sandbox_http, company["id"], "XERO")
    before = await last_sequence(sandbox_http)
    sandbox.store.simulate(company["id"], connection["id"], "ERROR", error_code="TOKEN_EXPIRED")
    (event,) = await events_after(sandbox_http, before)
    assert set(event) == {
        "id",
        "sequence",
        "type",
        "occurredAt",
        "actor",
        "companyId",
        "companyName",
        "connectionId",
        "authorizationId",
        "integrationKey",
        "fromStatus",
        "toStatus",
        "detail",
    }
    assert {k: event[k] for k in ("type", "actor", "companyId", "companyName", "connectionId")} == {
        "type": "connection.failed",
        "actor": "PLATFORM",
        "companyId": company["id"],
        "companyName": "Acme Ltd",
        "connectionId": connection["id"],
    }
    assert (event["integrationKey"], event["fromStatus"], event["toStatus"]) == (
        "XERO",
        "CONNECTED",
        "ERROR",
    )
    assert event["authorizationId"] is None
    assert event["detail"].startswith("TOKEN_EXPIRED: ")
    assert event["occurredAt"].endswith("Z")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"after": -1}, "must be at least 0"),
        ({"after": "-0.5"}, "must be an integer"),
        ({"after": 2**63}, "must be at most 9223372036854775807"),
        ({"after": 10**40}, "must be at most 9223372036854775807"),
        ({"after": "abc"}, "must be an integer"),
        ({"after": ""}, "must be an integer"),
        ({"after": "1e3"}, "must be an integer"),
        ({"after": "0x10"}, "must be an integer"),
        ({"after": "nan"}, "must be an integer"),
    ],
)
async def test_a_bad_after_is_refused_naming_after(refused_http, params, message):
    reply = await refused_http.get("/events", params=params)
    assert fields(assert_error(reply, 422)) == {"after": message}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"pageSize": 0}, {"pageSize": "must be at least 1"}),
        ({"pageSize": 501}, {"pageSize": "must be at most 500"}),
        ({"pageSize": "x"}, {"pageSize": "must be an integer"}),
        ({"companyId": "c" * 201}, {"companyId": "must be at most 200 characters"}),
    ],
)
async def test_bad_feed_parameters(refused_http, params, expected):
    assert fields(assert_error(await refused_http.get("/events", params=params), 422)) == expected


@pytest.mark.parametrize(
    "types", ["", "company", "Company.Created", "company.created,", "company.created,nope"]
)
async def test_a_type_list_with_junk_is_refused_naming_type(refused_http, types):
    for path in ("/events", "/companies/00000000-0000-4000-8000-000000000000/events"):
        reply = await refused_http.get(path, params={"type": types})
        message = fields(assert_error(reply, 422))["type"]
        assert message.startswith("must be one or more of company.created, company.updated")


async def test_an_after_past_what_is_kept_is_gone(sandbox_http):
    await create_company(sandbox_http, "Acme")
    last = await last_sequence(sandbox_http)
    assert_error(await sandbox_http.get("/events", params={"after": last + 1}), 410)
    reset = await sandbox_http.post("/sandbox/reset", json={"confirm": "RESET"})
    assert reset.status_code == 204
    gone = await sandbox_http.get("/events", params={"after": 0})
    assert_error(gone, 410, fragment="no longer kept")
    # A watcher that was caught up is told too: what it shows was deleted.
    assert_error(await sandbox_http.get("/events", params={"after": last}), 410)
    # Following on from the feed's new end works.
    fresh = await last_sequence(sandbox_http)
    assert (await sandbox_http.get("/events", params={"after": fresh})).status_code == 200


async def test_a_company_timeline(sandbox: EmbeddedSandbox, sandbox_http):
    company = await create_company(sandbox_http, "Acme")
    other = await create_company(sandbox_http, "Other")
    connection = await connect(sandbox_http, company["id"], "XERO")
    sandbox.store.simulate(company["id"], connection["id"], "ERROR")
    await start(sandbox_http, other["id"])
    url = f"/companies/{company['id']}/events"
    timeline = (await sandbox_http.get(url)).json()
    assert [e["type"] for e in timeline["results"]] == [
        "connection.failed",
        "connection.connected",
        "authorization.completed",
        "authorization.created",
        "company.created",
    ]
    assert (timeline["totalResults"], timeline["pageNumber"], timeline["pageSize"]) == (5, 1, 50)
    assert {e["companyId"] for e in timeline["results"]} == {company["id"]}
    page_two = (await sandbox_http.get(url, params={"page": 2, "pageSize": 2})).json()
    assert page_two["results"] == timeline["results"][2:4]
    typed = await sandbox_http.get(url, params={"type": "company.created,connection.failed"})
    assert [e["type"] for e in typed.json()["results"]] == ["connection.failed", "company.created"]
    assert typed.json()["totalResults"] == 2
    bad = await sandbox_http.get(url, params={"pageSize": 501})
    assert fields(assert_error(bad, 422)) == {"pageSize": "must be at most 500"}
    await sandbox_http.delete(f"/companies/{company['id']}")
    assert_error(await sandbox_http.get(url), 404)
    unknown = "/companies/00000000-0000-4000-8000-000000000000/events"
    assert_error(await sandbox_http.get(unknown), 404)


# ------------------------------------------------------------- sandbox QA


async def test_faults_read_back(sandbox_http):
    assert (await sandbox_http.get("/sandbox/faults")).json() == {}
    await sandbox_http.put("/sandbox/faults", json={"latencyMs": 1, "pathPrefix": "/companies"})
    shown = (await sandbox_http.get("/sandbox/faults")).json()
    assert (shown["latencyMs"], shown["pathPrefix"], shown["errorRate"]) == (1, "/companies", 0)
    await sandbox_http.put("/sandbox/faults", json={"errorRate": 1, "errorCount": 1})
    assert (await sandbox_http.get("/sandbox/faults")).json()["errorCount"] == 1
    assert (await sandbox_http.get("/integrations")).status_code == 503  # the one error
    assert (await sandbox_http.get("/sandbox/faults")).json() == {}  # none left in force
    await sandbox_http.put("/sandbox/faults", json={"errorStatus": 500})  # rate 0: nothing
    assert (await sandbox_http.get("/sandbox/faults")).json() == {}
    await sandbox_http.put("/sandbox/faults", json={"errorRate": 0.5})
    assert (await sandbox_http.get("/sandbox/faults")).json()["errorRate"] == 0.5
    await sandbox_http.put("/sandbox/faults", json={})
    assert (await sandbox_http.get("/sandbox/faults")).json() == {}


async def test_reset_empties_everything_but_keeps_the_key(sandbox: EmbeddedSandbox, sandbox_http):
    company = await create_company(sandbox_http, "Acme")
    await connect(sandbox_http, company["id"])
    await start(sandbox_http, company["id"], "SAGE")
    before = await snapshot(sandbox_http)
    for body in ({}, {"confirm": "reset"}, {"confirm": "yes"}, {"confirm": True}):
        refused = await sandbox_http.post("/sandbox/reset", json=body)
        problems = fields(assert_error(refused, 422))
        assert list(problems) == ["confirm"], body
    extra = await sandbox_http.post("/sandbox/reset", json={"confirm": "RESET", "all": True})
    assert fields(assert_error(extra, 422)) == {"all": "is not a known field"}
    assert_error(await sandbox_http.post("/sandbox/reset"), 422)
    assert await snapshot(sandbox_http) == before

    done = await sandbox_http.post("/sandbox/reset", json={"confirm": "RESET"})
    assert (done.status_code, done.content) == (204, b"")
    companies, links, _ = await snapshot(sandbox_http)
    assert companies["totalResults"] == 0 and links["totalResults"] == 0
    assert (await sandbox_http.get("/events")).json()["results"] == []
    stats = (await sandbox_http.get("/companies/stats")).json()
    assert stats["totalResults"] == 0
    assert_error(await sandbox_http.get(f"/companies/{company['id']}"), 404)
    assert sandbox.store.check_key(sandbox.api_key)
    assert (await sandbox_http.post("/companies", json={"name": "After"})).status_code == 201


async def test_seed_with_a_seed_is_reproducible_and_recorded(tmp_path):
    seen = []
    for run in ("one", "two"):
        with EmbeddedSandbox(tmp_path / run) as sandbox:
            async with httpx.AsyncClient(
                base_url=sandbox.base_url,
                headers={"Authorization": f"Bearer {sandbox.api_key}"},
                timeout=60,
            ) as http:
                seeded = await http.post("/sandbox/seed", json={"companies": 60, "seed": 7})
                assert seeded.json() == {"created": 60}
                page = (
                    await http.get("/companies", params={"pageSize": 500, "orderBy": "name"})
                ).json()
                seen.append(
                    sorted(
                        (c["name"], c["contactEmail"], c["connectionState"])
                        for c in page["results"]
                    )
                )
                stats = (await http.get("/companies/stats")).json()
                assert stats["totalResults"] == 60
                assert sum(1 for n in stats["byState"].values() if n) >= 2  # a mix
                events = (await http.get("/events", params={"pageSize": 500})).json()
                assert {"company.created"} < {e["type"] for e in events["results"]}
    assert seen[0] == seen[1]


@pytest.mark.parametrize("state", STATES)
async def test_seed_states_gives_those_shares(sandbox_http, state):
    reply = await sandbox_http.post(
        "/sandbox/seed", json={"companies": 20, "seed": 1, "states": {state: 1}}
    )
    assert reply.status_code == 200, reply.text
    stats = (await sandbox_http.get("/companies/stats")).json()
    assert stats["byState"][state] == 20 == stats["totalResults"]


async def test_seed_states_split(sandbox_http):
    reply = await sandbox_http.post(
        "/sandbox/seed", json={"companies": 40, "seed": 3, "states": {"ERROR": 0.5, "PENDING": 0.5}}
    )
    assert reply.status_code == 200, reply.text
    by_state = (await sandbox_http.get("/companies/stats")).json()["byState"]
    assert by_state["ERROR"] + by_state["PENDING"] == 40
    assert by_state["ERROR"] > 5 and by_state["PENDING"] > 5


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"states": {"BOGUS": 0.1}}, {"states.BOGUS": "is not a known field"}),
        ({"states": {"error": 0.1}}, {"states.error": "is not a known field"}),
        ({"states": {"ERROR": 1.5}}, {"states.ERROR": "must be at most 1"}),
        ({"states": {"ERROR": -0.1}}, {"states.ERROR": "must be at least 0"}),
        ({"states": {"ERROR": "0.1"}}, {"states.ERROR": "must be a number"}),
        ({"states": {"ERROR": None}}, {"states.ERROR": "must be a number"}),
        (
            {"states": {"ERROR": 0.6, "CONNECTED": 0.6}},
            {"states": "must add up to at most 1 (they add up to 1.2)"},
        ),
        ({"states": ["ERROR"]}, {"states": "must be a JSON object"}),
        ({"states": "ERROR"}, {"states": "must be a JSON object"}),
        (
            {"states": dict.fromkeys(STATES, 0)},
            {"states": "the shares add up to 0"},
        ),
        (
            {"states": {"ERROR": 0.5}, "connectionsPerCompany": 0},
            {"states": "states ERROR, CONNECTED, DISCONNECTED need connectionsPerCompany >= 1"},
        ),
        ({"seed": "7"}, {"seed": "must be an integer"}),
        ({"seed": 1.5}, {"seed": "must be an integer"}),
    ],
)
async def test_bad_seed_bodies_name_the_field(refused_http, body, expected):
    reply = await refused_http.post("/sandbox/seed", json={"companies": 5, **body})
    assert fields(assert_error(reply, 422)) == expected


# ------------------------------------------------------------------ openapi


async def test_openapi_documents_every_portfolio_operation(sandbox: EmbeddedSandbox):
    async with httpx.AsyncClient() as http:
        spec = (await http.get(f"{sandbox.origin}/openapi.json")).json()
    paths = spec["paths"]
    operations = {
        ("get", "/companies/stats"): ({"200", "422"}, ["query"]),
        ("patch", "/companies/{companyId}"): ({"200", "404", "422"}, ["companyId"]),
        ("post", "/companies/{companyId}/link"): ({"200", "404"}, ["companyId"]),
        ("get", "/companies/{companyId}/events"): (
            {"200", "404", "422"},
            ["companyId", "type", "page", "pageSize"],
        ),
        ("get", "/authorizations"): (
            {"200", "422"},
            ["page", "pageSize", "status", "companyId", "orderBy"],
        ),
        ("delete", "/companies/{companyId}/authorizations/{authorizationId}"): (
            {"204", "404", "409"},
            ["companyId", "authorizationId"],
        ),
        ("get", "/events"): ({"200", "410", "422"}, ["type", "after", "companyId", "pageSize"]),
        ("get", "/sandbox/faults"): ({"200"}, []),
        ("post", "/sandbox/authorizations/{authorizationId}/expire"): (
            {"200", "404", "409"},
            ["authorizationId"],
        ),
        ("post", "/sandbox/reset"): ({"204", "422"}, []),
    }
    for (method, path), (statuses, parameters) in operations.items():
        operation = paths[path][method]
        assert statuses <= set(operation["responses"]), (method, path)
        names = [p["name"] for p in operation.get("parameters", []) if p["in"] != "header"]
        assert names == parameters, (method, path)
    schemas = spec["components"]["schemas"]
    company = schemas["Company"]
    assert {"contactEmail", "connectionState", "stateChangedAt"} <= set(company["required"])
    assert schemas["CompanyState"]["enum"] == list(STATES)
    assert {"companyName", "createdAt"} <= set(schemas["Authorization"]["required"])
    assert "CANCELLED" in schemas["AuthorizationStatus"]["enum"]
    assert schemas["CompanyPage"]["properties"]["totalIsLowerBound"]["type"] == "boolean"
    assert set(schemas["StateCounts"]["required"]) == set(STATES)
    assert "after" in str(paths["/events"]["get"]["parameters"])
    after = next(p for p in paths["/events"]["get"]["parameters"] if p["name"] == "after")
    assert after["schema"]["type"] == "integer"
    assert (after["schema"]["minimum"], after["schema"]["maximum"]) == (0, 2**63 - 1)
    state = next(p for p in paths["/companies"]["get"]["parameters"] if p["name"] == "state")
    assert re.fullmatch(state["schema"]["pattern"], "ERROR,PENDING")
    assert not re.fullmatch(state["schema"]["pattern"], "ERROR,")
    patch = schemas["UpdateCompanyRequest"]
    assert patch["minProperties"] == 1 and patch["properties"]["name"]["type"] == "string"
    lifetime = schemas["CreateConnectionRequest"]["properties"]["expiresInMinutes"]
    assert (lifetime["minimum"], lifetime["maximum"]) == (5, 43_200)
    authorize = paths["/companies/{companyId}/connections/{connectionId}/authorize"]["post"]
    assert authorize["requestBody"]["required"] is False
    email = schemas["CreateCompanyRequest"]["properties"]["contactEmail"]
    assert email["maxLength"] == 254
    assert re.fullmatch(email["pattern"], "owner@acme.example")
    for bad in ("owner", "a b@c", "a@b@c", "@b", "a@", "a\x1b@b", "a\u00a0b@c"):
        assert not re.fullmatch(email["pattern"], bad), bad


# ------------------------------------------------------- the issue's flow


async def test_the_issue_flow_end_to_end(sandbox: EmbeddedSandbox, sandbox_http):
    """Create a company with a contact email; start a XERO authorization;
    state=PENDING lists it and stats count it; the customer allows it; it is
    CONNECTED; simulate ERROR; state=ERROR lists it; the feed after the
    sequence before all this lists each change once, oldest first, with the
    right actors; the company Link page shows neither description nor email."""
    http = sandbox_http
    await create_company(http, "Bystander Ltd")
    before = await last_sequence(http)

    company = await create_company(
        http, "Acme Ltd", description="Pilot: churn risk", contactEmail="owner@acme.example"
    )
    company_id = company["id"]
    assert (company["contactEmail"], company["connectionState"]) == (
        "owner@acme.example",
        "NOT_CONNECTED",
    )

    auth = await start(http, company_id, "XERO")
    assert (auth["status"], auth["companyName"]) == ("PENDING", "Acme Ltd")
    pending = (await http.get("/companies", params={"state": "PENDING"})).json()
    assert ids(pending) == [company_id]
    stats = (await http.get("/companies/stats")).json()
    assert stats["byState"]["PENDING"] == 1 and stats["totalResults"] == 2
    links = (await http.get("/authorizations", params={"status": "PENDING"})).json()
    assert ids(links) == [auth["id"]]

    allowed = await click(auth["authUrl"], decision="allow")
    assert allowed.status_code == 200
    connected = (await http.get(f"/companies/{company_id}")).json()
    assert connected["connectionState"] == "CONNECTED"
    assert when(connected["stateChangedAt"]) > when(company["stateChangedAt"])
    (connection,) = connected["connections"]
    assert (connection["integrationKey"], connection["status"]) == ("XERO", "CONNECTED")

    failed = await http.post(
        f"/sandbox/companies/{company_id}/connections/{connection['id']}/simulate",
        json={"status": "ERROR", "errorCode": "TOKEN_EXPIRED"},
    )
    assert failed.status_code == 200 and failed.json()["status"] == "ERROR"
    in_error = (await http.get("/companies", params={"state": "ERROR"})).json()
    assert ids(in_error) == [company_id]
    assert in_error["results"][0]["connectionState"] == "ERROR"
    assert (await http.get("/companies", params={"state": "PENDING,CONNECTED"})).json()[
        "totalResults"
    ] == 0
    stats = (await http.get("/companies/stats")).json()
    assert stats["byState"] == {**dict.fromkeys(STATES, 0), "ERROR": 1, "NOT_CONNECTED": 1}

    feed = (await http.get("/events", params={"after": before})).json()
    changes = [(e["type"], e["actor"], e["fromStatus"], e["toStatus"]) for e in feed["results"]]
    assert changes == [
        ("company.created", "API", None, None),
        ("authorization.created", "API", None, "PENDING"),
        ("authorization.completed", "CUSTOMER", "PENDING", "COMPLETED"),
        ("connection.connected", "CUSTOMER", None, "CONNECTED"),
        ("connection.failed", "PLATFORM", "CONNECTED", "ERROR"),
    ]
    sequences = [e["sequence"] for e in feed["results"]]
    assert sequences == sorted(set(sequences)) and sequences[0] > before
    assert len({e["id"] for e in feed["results"]}) == 5
    assert {e["companyId"] for e in feed["results"]} == {company_id}
    assert feed["hasMore"] is False and feed["lastSequence"] == sequences[-1]
    assert feed["results"][-1]["connectionId"] == connection["id"]
    assert feed["results"][1]["authorizationId"] == auth["id"]

    async with httpx.AsyncClient() as browser:
        page = await browser.get(company["authUrl"])
    assert page.status_code == 200 and "Acme Ltd" in page.text
    for private in ("Pilot", "churn risk", "owner@acme.example", "acme.example", company_id):
        assert private not in page.text, private


async def test_every_change_names_its_actor(sandbox_http):
    """API for calls made with the key; CUSTOMER for Link page decisions and
    for /sandbox/authorizations/{id}/complete; PLATFORM for simulate and expiry."""
    http = sandbox_http
    before = await last_sequence(http)
    company = await create_company(http, "Acme")
    cid = company["id"]
    await http.patch(f"/companies/{cid}", json={"contactEmail": "a@b"})
    await http.post(f"/companies/{cid}/link")
    allowed = await start(http, cid, "XERO")
    await http.post(f"/sandbox/authorizations/{allowed['id']}/complete", json={"decision": "allow"})
    denied = await start(http, cid, "SAGE")
    await http.post(f"/sandbox/authorizations/{denied['id']}/complete", json={"decision": "deny"})
    connection_id = (await http.get(f"/companies/{cid}/authorizations/{allowed['id']}")).json()[
        "connectionId"
    ]
    connection_url = f"/companies/{cid}/connections/{connection_id}"
    simulate_url = f"/sandbox{connection_url}/simulate"
    await http.post(simulate_url, json={"status": "ERROR"})
    await http.post(simulate_url, json={"status": "CONNECTED"})
    await http.post(simulate_url, json={"status": "DISCONNECTED"})
    again = await http.post(connection_url + "/authorize")
    picked = await click(
        (await http.get(f"/companies/{cid}")).json()["authUrl"], integrationKey="SAGE"
    )
    assert picked.status_code == 303
    await click(picked.headers["location"], decision="allow")
    await http.post(f"/sandbox/authorizations/{again.json()['id']}/expire")
    cancelled = await start(http, cid, "QUICKBOOKS")
    await http.delete(f"/companies/{cid}/authorizations/{cancelled['id']}")
    sage = next(
        c
        for c in (await http.get(f"/companies/{cid}/connections")).json()["results"]
        if c["integrationKey"] == "SAGE"
    )
    await http.patch(f"/companies/{cid}/connections/{sage['id']}", json={"status": "DISCONNECTED"})
    await http.delete(f"/companies/{cid}/connections/{sage['id']}")
    await http.delete(f"/companies/{cid}")

    events = await events_after(http, before, pageSize=500)
    assert [(e["type"], e["actor"]) for e in events] == [
        ("company.created", "API"),
        ("company.updated", "API"),
        ("company.updated", "API"),
        ("authorization.created", "API"),
        ("authorization.completed", "CUSTOMER"),
        ("connection.connected", "CUSTOMER"),
        ("authorization.created", "API"),
        ("authorization.declined", "CUSTOMER"),
        ("connection.failed", "PLATFORM"),
        ("connection.recovered", "PLATFORM"),
        ("connection.disconnected", "PLATFORM"),
        ("authorization.created", "API"),
        ("authorization.created", "CUSTOMER"),
        ("authorization.completed", "CUSTOMER"),
        ("connection.connected", "CUSTOMER"),
        ("authorization.expired", "PLATFORM"),
        ("authorization.created", "API"),
        ("authorization.cancelled", "API"),
        ("connection.disconnected", "API"),
        ("connection.deleted", "API"),
        ("company.deleted", "API"),
    ]
