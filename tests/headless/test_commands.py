"""The headless commands in-process, against a sandbox on loopback, signed in
with a profile whose key is in the (in-memory) keyring."""

from __future__ import annotations

import csv
import io
import json
import uuid

import httpx
import keyring
import pytest

from s2b_tui.sandbox import EmbeddedSandbox
from tests.headless.conftest import login


def http(api: EmbeddedSandbox) -> httpx.Client:
    return httpx.Client(
        base_url=api.base_url, headers={"Authorization": f"Bearer {api.api_key}"}, timeout=10
    )


def create(api: EmbeddedSandbox, name: str, **extra) -> dict:
    with http(api) as client:
        reply = client.post("/companies", json={"name": name, **extra})
        assert reply.status_code == 201, reply.text
        return reply.json()


def connect(api: EmbeddedSandbox, company_id: str, key: str) -> str:
    """The customer's Allow on a new link; the connection's id."""
    with http(api) as client:
        auth = client.post(f"/companies/{company_id}/connections", json={"integrationKey": key})
        assert auth.status_code == 201, auth.text
        allowed = httpx.post(auth.json()["authUrl"], data={"decision": "allow"}, timeout=10)
        assert allowed.status_code == 200
        done = client.get(f"/companies/{company_id}/authorizations/{auth.json()['id']}")
        return done.json()["connectionId"]


def count(api: EmbeddedSandbox, query: str) -> int:
    with http(api) as client:
        return client.get("/companies", params={"query": query}).json()["totalResults"]


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:10]}"


@pytest.fixture
def signed_in(cli, api):
    login(cli, api)
    return cli


def test_login_names_the_environment_and_where_the_key_went(cli, api, config_dir):
    result = login(cli, api)
    assert "the SANDBOX, a TEST key (sk_test_…" in result.err
    assert "the key is stored in the system keyring" in result.err
    assert "'qa' is the default profile" in result.err
    assert result.out == ""
    assert api.api_key not in result.err
    assert keyring.get_password("s2b-tui", "qa") == api.api_key
    assert api.api_key not in (config_dir / "config.toml").read_text()


def test_a_refused_key_stores_nothing(cli, api, config_dir):
    unknown = "sk_test_" + "Z" * 30
    result = cli("login", "--with-key", "--base-url", api.base_url, stdin=f" {unknown}\n")
    assert result.code == 4
    assert "refused the TEST key sk_test_…ZZZZ" in result.err and "Nothing was stored" in result.err
    assert not (config_dir / "config.toml").exists()
    live = "sk_live_" + "L" * 30
    result = cli("login", "--with-key", "--base-url", api.base_url, stdin=live)
    assert result.code == 4 and "the LIVE key sk_live_…LLLL" in result.err
    assert "Live keys cannot be used against a sandbox" in result.err
    result = cli("login", "--with-key", "--base-url", api.base_url, stdin="hello world")
    assert result.code == 4 and "spaces or line breaks" in result.err


def test_login_asks_only_at_a_terminal(cli, api):
    result = cli("login", "--base-url", api.base_url)
    assert result.code == 2 and "--with-key" in result.err


def test_companies_create_show_list_delete(signed_in, api):
    cli = signed_in
    name = unique("Acme Ltd")
    created = cli("companies", "create", name, "--description", "pilot")
    assert created.code == 0
    company_id, link = created.out.splitlines()
    assert uuid.UUID(company_id) and link.startswith(api.origin + "/link/")

    shown = cli("companies", "show", company_id, "--json")
    assert json.loads(shown.out)["description"] == "pilot"
    by_name = cli("companies", "show", name)
    assert f"id             {company_id}" in by_name.out

    listed = json.loads(cli("companies", "list", "--query", name, "--json").out)
    assert [c["id"] for c in listed] == [company_id]
    table = cli("companies", "list", "--query", name, "--csv").out
    rows = list(csv.DictReader(io.StringIO(table)))
    assert rows[0]["name"] == name and rows[0]["link"] == link

    refused = cli("companies", "delete", company_id)
    assert refused.code == 2 and "no terminal to ask; add --yes" in refused.err
    assert count(api, name) == 1
    assert cli("companies", "delete", company_id, "--yes").code == 0
    assert count(api, name) == 0
    assert cli("companies", "show", company_id).code == 3


def test_lists_page_and_say_so(signed_in, api):
    prefix = unique("Paged")
    for i in range(7):
        create(api, f"{prefix} {i}")
    page = signed_in("companies", "list", "--query", prefix, "--page-size", "5")
    assert page.code == 0 and len(page.out.splitlines()) == 6  # header and 5
    assert "5 of 7 companies shown" in page.err and "--all" in page.err
    everything = signed_in("companies", "list", "--query", prefix, "--all", "--page-size", "5")
    assert len(everything.out.splitlines()) == 8 and everything.err == ""


def test_untrusted_names_reach_the_terminal_only_as_plain_text(signed_in, api):
    name = unique("[bold]Evil[/bold] \u202e")
    create(api, name, description="line one\nline two")
    table = signed_in("companies", "list", "--query", "Evil").out
    assert "[bold]Evil[/bold]" in table and "\x1b" not in table
    shown = signed_in("companies", "show", name).out
    assert "line one line two" in shown


def test_an_invalid_name_is_refused_before_any_request(signed_in, api):
    result = signed_in("companies", "create", "  ")
    assert result.code == 2 and "name: must not be empty" in result.err


def test_a_read_only_profile_changes_nothing(cli, api):
    login(cli, api, "viewer", "--read-only")
    name = unique("Never Made")
    result = cli("--profile", "viewer", "companies", "create", name)
    assert result.code == 1 and "read-only" in result.err
    assert count(api, name) == 0
    made = create(api, name)
    refused = cli("--profile", "viewer", "companies", "delete", made["id"], "--yes")
    assert refused.code == 1 and count(api, name) == 1
    # A command may say otherwise.
    allowed = cli("--profile", "viewer", "companies", "delete", made["id"], "--yes",
                  "--no-read-only")  # fmt: skip
    assert allowed.code == 0 and count(api, name) == 0


def test_connections_connect_unlink_reauthorize(signed_in, api):
    cli = signed_in
    company = create(api, unique("Linked"))
    connection_id = connect(api, company["id"], "XERO")

    listed = cli("connections", "list", company["id"], "--csv").out
    rows = list(csv.DictReader(io.StringIO(listed)))
    assert [(r["id"], r["status"], r["integrationKey"]) for r in rows] == [
        (connection_id, "CONNECTED", "XERO")
    ]
    conflict = cli("connect", company["id"], "xero")
    assert conflict.code == 1 and conflict.out == ""

    link = cli("connect", company["id"], "quickbooks")
    assert link.code == 0 and link.out.startswith(api.origin + "/link/")
    assert "send it to the customer" in link.err

    assert cli("unlink", company["id"], "xero").code == 2  # no terminal, no --yes
    unlinked = cli("unlink", company["id"], "xero", "--yes", "--json")
    assert json.loads(unlinked.out)["status"] == "DISCONNECTED"
    again = cli("unlink", company["id"], connection_id, "--yes")
    assert again.code == 0 and "already disconnected" in again.err

    relink = cli("reauthorize", company["id"], "XERO", "--json")
    body = json.loads(relink.out)
    assert body["status"] == "PENDING" and body["integrationKey"] == "XERO"
    assert cli("reauthorize", company["id"], "SAGE").code == 3


def test_status_says_what_won(cli, api, monkeypatch):
    embedded = cli("status")
    assert (
        "the embedded sandbox" in embedded.out and "no S2B_API_KEY and no profile" in embedded.out
    )
    login(cli, api)
    status = cli("status", "--json")
    report = json.loads(status.out)
    assert report["profile"] == "qa" and report["api"] == api.base_url
    assert report["keyFrom"].startswith("the system keyring")
    assert report["maskedKey"].startswith("sk_test_…") and api.api_key not in status.out
    monkeypatch.setenv("S2B_API_KEY", api.api_key)
    monkeypatch.setenv("S2B_BASE_URL", api.base_url)
    from_env = cli("status")
    assert "profile    none" in from_env.out and "from S2B_API_KEY" in from_env.out
    checked = cli("status", "--check", "--profile", "qa")
    assert checked.code == 0 and "ok: SANDBOX" in checked.out


def test_profiles_list_use_set_and_logout(cli, api, config_dir):
    login(cli, api, "one")
    login(cli, api, "two", "--default")
    listed = json.loads(cli("profiles", "--json").out)
    assert [(p["name"], p["default"], p["keyStore"]) for p in listed] == [
        ("one", False, "keyring"),
        ("two", True, "keyring"),
    ]
    assert cli("profiles", "use", "one").code == 0
    assert cli("profiles", "set", "one", "--theme", "nord", "--read-only").code == 0
    table = cli("profiles").out
    assert "*  one" in table and "yes" in table
    bad = cli("profiles", "set", "one", "--link-message", "{oops}")
    assert bad.code == 2 and "{oops}" in bad.err

    out = cli("logout", "--profile", "one")
    assert out.code == 0 and "removed from the system keyring" in out.err
    assert keyring.get_password("s2b-tui", "one") is None
    assert cli("--profile", "one", "companies", "list").code == 4
    gone = cli("logout", "--profile", "two", "--forget")
    assert gone.code == 0
    assert [p["name"] for p in json.loads(cli("profiles", "--json").out)] == ["one"]


def test_export_streams_every_company_once(signed_in, api):
    prefix = unique("Exported")
    for i in range(12):
        create(api, f"{prefix} {i:02d}", description="multi\nline")
    result = signed_in("export", "--query", prefix)
    rows = list(csv.DictReader(io.StringIO(result.out)))
    assert [r["name"] for r in rows] == [f"{prefix} {i:02d}" for i in range(12)]  # oldest first
    assert rows[0]["description"] == "multi\nline"
    lines = signed_in("export", "--query", prefix, "--json").out.splitlines()
    assert len(lines) == 12 and json.loads(lines[0])["name"] == f"{prefix} 00"


def test_an_empty_list_is_still_a_list(signed_in):
    nothing = unique("Nothing Like This")
    assert signed_in("companies", "list", "--query", nothing, "--json").out == "[]\n"
    assert signed_in("export", "--query", nothing).out.startswith("id,createdAt,")
