"""The headless commands of the portfolio revision, in-process, against a
sandbox on loopback: state filters, contact emails, `companies edit`, link
lifetimes, `links`, `events`; and the same commands against a sandbox that
serves the first revision only."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from s2b_tui.sandbox import EmbeddedSandbox
from tests.headless.conftest import login
from tests.headless.test_commands import connect, create, http, unique


@pytest.fixture
def signed_in(cli, api):
    login(cli, api)
    return cli


def simulate(api: EmbeddedSandbox, company_id: str, connection_id: str, status: str) -> None:
    with http(api) as client:
        reply = client.post(
            f"/sandbox/companies/{company_id}/connections/{connection_id}/simulate",
            json={"status": status},
        )
        assert reply.status_code == 200, reply.text


def pending_link(api: EmbeddedSandbox, company_id: str, key: str) -> dict:
    with http(api) as client:
        reply = client.post(f"/companies/{company_id}/connections", json={"integrationKey": key})
        assert reply.status_code == 201, reply.text
        return reply.json()


def authorization(api: EmbeddedSandbox, company_id: str, authorization_id: str) -> dict:
    with http(api) as client:
        return client.get(f"/companies/{company_id}/authorizations/{authorization_id}").json()


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def portfolio(api) -> dict[str, str]:
    """Four companies of one prefix, in four states: name → id."""
    prefix = unique("States")
    made = {}
    for state in ("ERROR", "CONNECTED", "DISCONNECTED", "NOT_CONNECTED"):
        made[state] = create(api, f"{prefix} {state}")["id"]
    for state in ("ERROR", "CONNECTED", "DISCONNECTED"):
        connection_id = connect(api, made[state], "XERO")
        if state != "CONNECTED":
            simulate(api, made[state], connection_id, state)
    made["prefix"] = prefix
    return made


# -- state filters --------------------------------------------------------


def test_list_by_state_shows_only_those(signed_in, portfolio):
    prefix = portfolio["prefix"]
    errors = signed_in("companies", "list", "--query", prefix, "--state", "ERROR", "--csv")
    assert errors.code == 0, errors.err
    listed = rows(errors.out)
    assert [(r["id"], r["connectionState"]) for r in listed] == [(portfolio["ERROR"], "ERROR")]
    assert listed[0]["stateChangedAt"].endswith("Z")

    two = signed_in(
        "companies", "list", "-q", prefix, "--state", "error,disconnected", "--all", "--json"
    )
    states = sorted(c["connectionState"] for c in json.loads(two.out))
    assert states == ["DISCONNECTED", "ERROR"]
    repeated = signed_in("companies", "list", "-q", prefix, "--state", "not-connected",
                         "--state", "CONNECTED", "--json")  # fmt: skip
    assert sorted(c["connectionState"] for c in json.loads(repeated.out)) == [
        "CONNECTED",
        "NOT_CONNECTED",
    ]

    table = signed_in("companies", "list", "--query", prefix)
    header = table.out.splitlines()[0].split()
    assert header[:4] == ["ID", "CREATED", "STATE", "CONN"] and "CONTACT" in header
    assert "NOT_CONNECTED" in table.out and "DISCONNECTED" in table.out


def test_an_unknown_state_is_a_usage_error_naming_the_valid_ones(signed_in, api):
    with pytest.raises(SystemExit) as exit_:
        signed_in("companies", "list", "--state", "ERROR,BROKEN")
    assert exit_.value.code == 2
    with pytest.raises(SystemExit) as exit_:
        signed_in("export", "--state", "")
    assert exit_.value.code == 2


def test_an_unknown_state_names_the_valid_ones(run_s2b, api):
    result = run_s2b("companies", "list", "--state", "ERROR,BROKEN",
                     env={"S2B_API_KEY": api.api_key, "S2B_BASE_URL": api.base_url})  # fmt: skip
    assert result.returncode == 2 and result.stdout == b""
    err = result.stderr.decode()
    assert "'BROKEN' is not a connection state" in err
    assert "ERROR, CONNECTED, PENDING, DISCONNECTED, NOT_CONNECTED" in err


def test_export_by_state_streams_only_those(signed_in, portfolio):
    result = signed_in("export", "--query", portfolio["prefix"], "--state", "CONNECTED")
    assert [r["id"] for r in rows(result.out)] == [portfolio["CONNECTED"]]
    lines = signed_in("export", "-q", portfolio["prefix"], "--state", "ERROR", "--json").out
    assert [json.loads(line)["id"] for line in lines.splitlines()] == [portfolio["ERROR"]]


def test_a_lower_bound_total_is_shown_as_such(cli, tmp_path):
    with EmbeddedSandbox(tmp_path / "big") as big:
        with http(big) as client:
            for i in range(1_001):  # a search counts up to 1,000 matches
                made = client.post("/companies", json={"name": f"Bulk Counted {i}"})
                assert made.status_code == 201, made.text
            page = client.get("/companies", params={"query": "Counted", "pageSize": 1}).json()
        assert page.get("totalIsLowerBound") is True, page
        login(cli, big, "big")
        result = cli("--profile", "big", "companies", "list", "-q", "Counted", "--page-size", "5")
        assert result.code == 0
        assert "5 of 1,000+ companies shown (page 1 of 200+)" in result.err
        exact = cli("--profile", "big", "companies", "list", "--page-size", "5")
        assert "5 of 1,001 companies shown (page 1 of 201)" in exact.err


# -- contact emails and edits ---------------------------------------------


def test_create_and_edit_with_a_contact_email(signed_in, api):
    cli = signed_in
    name = unique("Mailed")
    made = cli("companies", "create", name, "--contact-email", "ap@example.com", "--json")
    assert made.code == 0, made.err
    company = json.loads(made.out)
    assert company["contactEmail"] == "ap@example.com"
    assert company["connectionState"] == "NOT_CONNECTED"
    listed = rows(cli("companies", "list", "--query", name, "--csv").out)
    assert listed[0]["contactEmail"] == "ap@example.com"
    assert "ap@example.com" in cli("companies", "list", "--query", name).out
    shown = cli("companies", "show", company["id"]).out
    assert "contact email  ap@example.com" in shown and "NOT_CONNECTED since" in shown

    renamed = unique("Renamed")
    edited = cli("companies", "edit", company["id"], "--name", f"  {renamed} ",
                 "--description", "pilot", "--contact-email", "books@example.com")  # fmt: skip
    assert edited.code == 0, edited.err
    assert f"name           {renamed}" in edited.out
    after = json.loads(cli("companies", "show", company["id"], "--json").out)
    assert (after["name"], after["description"], after["contactEmail"]) == (
        renamed,
        "pilot",
        "books@example.com",
    )
    cleared = cli("companies", "edit", renamed, "--clear-description", "--clear-contact-email",
                  "--json")  # fmt: skip
    body = json.loads(cleared.out)
    assert body["description"] is None and body["contactEmail"] is None and body["name"] == renamed


def test_edits_are_checked_before_any_request(signed_in, api):
    company = create(api, unique("Unedited"))
    nothing = signed_in("companies", "edit", company["id"])
    assert nothing.code == 2 and "nothing to change" in nothing.err
    bad = signed_in("companies", "edit", company["id"], "--contact-email", "no at sign")
    assert bad.code == 2 and "contact email:" in bad.err
    bad = signed_in("companies", "create", unique("Bad Mail"), "--contact-email", "a@b@c")
    assert bad.code == 2 and "contact email:" in bad.err
    with pytest.raises(SystemExit):
        signed_in("companies", "edit", company["id"], "--description", "x", "--clear-description")
    with http(api) as client:
        assert client.get(f"/companies/{company['id']}").json()["name"] == company["name"]


def test_import_sends_the_contact_email(signed_in, api, tmp_path):
    prefix = unique("Imported")
    source = tmp_path / "customers.csv"
    source.write_text(f"Company,E-mail\n{prefix} one,one@example.com\n{prefix} two,\n")
    result = signed_in("import", str(source))
    assert result.code == 0, result.err
    listed = json.loads(signed_in("companies", "list", "-q", prefix, "--json").out)
    assert sorted((c["name"], c["contactEmail"]) for c in listed) == [
        (f"{prefix} one", "one@example.com"),
        (f"{prefix} two", None),
    ]


# -- link lifetimes and links ---------------------------------------------


def test_connect_and_reauthorize_with_a_lifetime(signed_in, api):
    company = create(api, unique("Timed"))
    before = datetime.now(UTC)
    made = signed_in("connect", company["id"], "xero", "--expires-in", "30m", "--json")
    assert made.code == 0, made.err
    expires = datetime.fromisoformat(json.loads(made.out)["expiresAt"].replace("Z", "+00:00"))
    assert before + timedelta(minutes=29) < expires < before + timedelta(minutes=31)

    connection_id = connect(api, company["id"], "SAGE")
    simulate(api, company["id"], connection_id, "ERROR")
    again = signed_in("reauthorize", company["id"], "sage", "--expires-in", "7d", "--json")
    expires = datetime.fromisoformat(json.loads(again.out)["expiresAt"].replace("Z", "+00:00"))
    assert abs(expires - (before + timedelta(days=7))) < timedelta(minutes=2)


@pytest.mark.parametrize("duration", ["4m", "31d", "7", "1y", "0h"])
def test_a_lifetime_out_of_range_is_a_usage_error(signed_in, api, duration):
    with pytest.raises(SystemExit) as exit_:
        signed_in("connect", "Anyone", "XERO", "--expires-in", duration)
    assert exit_.value.code == 2


def test_links_list_and_cancel(signed_in, api):
    cli = signed_in
    one = create(api, unique("Linked One"))
    two = create(api, unique("Linked Two"))
    xero = pending_link(api, one["id"], "XERO")
    sage = pending_link(api, one["id"], "SAGE")
    other = pending_link(api, two["id"], "QUICKBOOKS")
    connect(api, two["id"], "XERO")  # a completed link

    mine = rows(cli("links", "list", "--company", one["id"], "--csv").out)
    assert sorted(r["id"] for r in mine) == sorted([xero["id"], sage["id"]])
    assert {r["companyName"] for r in mine} == {one["name"]}
    theirs = json.loads(cli("links", "list", "--company", two["name"], "--json").out)
    assert sorted(a["status"] for a in theirs) == ["COMPLETED", "PENDING"]
    pending = json.loads(cli("links", "list", "--pending", "--json").out)
    assert {xero["id"], sage["id"], other["id"]} <= {a["id"] for a in pending}
    assert {a["status"] for a in pending} == {"PENDING"}
    table = cli("links", "list", "--pending", "--company", one["id"])
    assert table.out.splitlines()[0].split()[:3] == ["ID", "STATUS", "INTEGRATION"]
    assert one["name"] in table.out

    by_integration = cli("links", "cancel", one["name"], "xero")
    assert by_integration.code == 0, by_integration.err
    assert by_integration.out == f"cancelled {xero['id']}\n"
    assert authorization(api, one["id"], xero["id"])["status"] == "CANCELLED"
    assert httpx.get(xero["authUrl"], timeout=10).status_code == 410

    by_prefix = cli("links", "cancel", sage["id"][:8], "--json")
    assert by_prefix.code == 0, by_prefix.err
    assert json.loads(by_prefix.out)["status"] == "CANCELLED"
    assert authorization(api, one["id"], sage["id"])["status"] == "CANCELLED"
    by_url = cli("links", "cancel", other["authUrl"])
    assert by_url.code == 0 and authorization(api, two["id"], other["id"])["status"] == "CANCELLED"

    again = cli("links", "cancel", one["id"], xero["id"])
    assert again.code == 1 and "CANCELLED, not pending" in again.err
    assert cli("links", "cancel", sage["id"]).code == 3
    assert cli("links", "cancel", one["id"], "QUICKBOOKS").code == 3
    assert cli("links", "cancel", "Xero").code == 2


# -- events ---------------------------------------------------------------


def latest_sequence(api: EmbeddedSandbox) -> int:
    with http(api) as client:
        return client.get("/events", params={"pageSize": 1}).json()["lastSequence"]


def test_events_after_a_sequence_filtered(signed_in, api):
    start = latest_sequence(api)
    company = create(api, unique("Evented"))
    connection_id = connect(api, company["id"], "XERO")
    simulate(api, company["id"], connection_id, "ERROR")

    lines = signed_in("events", "--after", str(start), "--json").out.splitlines()
    events = [json.loads(line) for line in lines]
    assert [e["type"] for e in events] == [
        "company.created",
        "authorization.created",
        "authorization.completed",
        "connection.connected",
        "connection.failed",
    ]
    assert [e["sequence"] for e in events] == sorted(e["sequence"] for e in events)
    assert events[2]["actor"] == "CUSTOMER" and events[4]["actor"] == "PLATFORM"

    failed = signed_in("events", "--after", str(start), "--type", "connection.failed")
    assert failed.code == 0 and len(failed.out.splitlines()) == 1
    line = failed.out
    for part in ("connection.failed", "PLATFORM", company["name"], "XERO", "CONNECTED→ERROR"):
        assert part in line
    group = signed_in("events", "--after", str(start), "--type", "authorization", "--json")
    assert [json.loads(x)["type"] for x in group.out.splitlines()] == [
        "authorization.created",
        "authorization.completed",
    ]
    other = create(api, unique("Other"))
    only = signed_in("events", "--after", str(start), "--company", other["name"], "--json")
    assert [json.loads(x)["companyId"] for x in only.out.splitlines()] == [other["id"]]
    latest = signed_in("events", "--limit", "2", "--json").out.splitlines()
    assert [json.loads(x)["companyId"] for x in latest][-1] == other["id"]
    with pytest.raises(SystemExit) as exit_:
        signed_in("events", "--type", "connection.exploded")
    assert exit_.value.code == 2


def test_untrusted_text_in_an_event_line_is_plain(signed_in, api):
    start = latest_sequence(api)
    company = create(api, unique("[red]Evil[/red]"))
    connection_id = connect(api, company["id"], "XERO")
    with http(api) as client:
        reply = client.post(
            f"/sandbox/companies/{company['id']}/connections/{connection_id}/simulate",
            json={"status": "ERROR", "errorCode": "X", "message": "line one\nline two"},
        )
        assert reply.status_code == 200, reply.text
    out = signed_in("events", "--after", str(start), "--type", "company.created,connection.failed")
    lines = out.out.splitlines()
    assert len(lines) == 2 and "\x1b" not in out.out
    assert "[red]Evil[/red]" in lines[0] and "line one line two" in lines[1]


# -- an API of the first revision -----------------------------------------


@pytest.fixture(scope="module")
def older(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedSandbox]:
    with EmbeddedSandbox(tmp_path_factory.mktemp("older"), portfolio=False) as running:
        yield running


@pytest.mark.parametrize(
    ("argv", "what"),
    [
        (("companies", "list", "--state", "ERROR"), "state filters"),
        (("companies", "list", "--state", "ERROR", "--all"), "state filters"),
        (("export", "--state", "PENDING"), "state filters"),
        (("events",), "the events feed"),
        (("events", "--follow"), "the events feed"),
        (("links", "list", "--pending"), "listing or cancelling links"),
        (("connect", "{id}", "XERO", "--expires-in", "7d"), "link lifetimes"),
        (("companies", "edit", "{id}", "--name", "New"), "editing companies"),
        (("companies", "create", "Mailed", "--contact-email", "a@b.c"), "contact emails"),
    ],
)
def test_an_older_api_says_what_it_lacks_in_one_line(cli, older, argv, what):
    login(cli, older, "old")
    company = create(older, unique("Old"))
    argv = tuple(arg.replace("{id}", company["id"]) for arg in argv)
    result = cli("--profile", "old", *argv)
    assert result.code == 1
    assert result.out == ""
    assert len(result.err.splitlines()) == 1
    assert "this API does not offer" in result.err and "(portfolio revision)" in result.err
    assert what in result.err
    with http(older) as client:
        companies = client.get("/companies", params={"query": "Mailed"}).json()["results"]
        assert companies == []
        assert client.get(f"/companies/{company['id']}").json()["name"] == company["name"]
        connections = client.get(f"/companies/{company['id']}/connections").json()
        assert connections["results"] == []


def test_an_older_api_still_lists_and_imports_without_emails(cli, older, tmp_path):
    login(cli, older, "old")
    name = unique("Plain Old")
    create(older, name)
    listed = rows(cli("--profile", "old", "companies", "list", "-q", name, "--csv").out)
    assert [(r["name"], r["connectionState"], r["contactEmail"]) for r in listed] == [
        (name, "", "")
    ]
    source = tmp_path / "with-email.csv"
    source.write_text(f"name,email\n{name} 2,x@example.com\n")
    refused = cli("--profile", "old", "import", str(source))
    assert refused.code == 1 and "this API does not offer" in refused.err
    assert "remove the contact email column" in refused.err
    plain = tmp_path / "plain.csv"
    plain.write_text(f"name\n{name} 3\n")
    assert cli("--profile", "old", "import", str(plain)).code == 0
    assert [r["name"] for r in rows(cli("--profile", "old", "export", "-q", name).out)] == [
        name,
        f"{name} 3",
    ]
