"""`s2b-tui import`: rows, outcomes, twins never made, bad rows reported."""

from __future__ import annotations

import csv
import io
import uuid
from pathlib import Path

import httpx
import pytest

from s2b_tui.api.client import RetryPolicy
from s2b_tui.headless.import_rows import CsvFileError, read_csv
from tests.headless.conftest import login


def results(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def total(api, query: str) -> int:
    reply = httpx.get(
        f"{api.base_url}/companies",
        params={"query": query},
        headers={"Authorization": f"Bearer {api.api_key}"},
        timeout=10,
    )
    return reply.json()["totalResults"]


@pytest.fixture
def signed_in(cli, api):
    login(cli, api)
    return cli


def messy_file(tag: str) -> bytes:
    """A spreadsheet's export: BOM, CRLF, quoted commas and line breaks, a
    byte that is not UTF-8, missing and extra fields, a blank line, a twin."""
    lines = [
        b"\xef\xbb\xbfCompany Name,NOTES,Contact-Email,Owner",
        f'"{tag} Acme, Ltd","pilot\r\nsecond line",ap@acme.example,ann'.encode(),
        b",no name here,x@y.z,bob",
        f"{tag} Caf\xe9".encode("latin-1") + b",latin-1 bytes,,",
        f"{tag} Too,many,fields,a@b.c,extra".encode(),
        f"{tag} Short".encode(),
        b"",
        f"{tag} Bad Mail,,not an email,".encode(),
        f"{tag} Twin,,,".encode(),
        f"{tag} Twin,,,".encode(),
    ]
    return b"\r\n".join(lines) + b"\r\n"


def test_reading_a_messy_file_keeps_every_row_with_its_line():
    parsed = read_csv(messy_file("T"))
    assert parsed.ignored_columns == ["Owner"]
    assert [(r.line, r.valid) for r in parsed.rows] == [
        (2, True),  # spans lines 2-3: the quoted line break
        (4, False),
        (5, False),
        (6, False),
        (7, True),
        (9, False),
        (10, True),
        (11, True),
    ]
    acme, no_name, cafe, too_many, short, bad_mail, twin1, twin2 = parsed.rows
    assert (acme.name, acme.description, acme.contact_email) == (
        "T Acme, Ltd",
        "pilot\nsecond line",
        "ap@acme.example",
    )
    assert acme.lines == "lines 2–3"
    assert no_name.problems == ("name: must not be empty",)
    assert "not UTF-8 text (byte 0xE9)" in cafe.problems[0] and cafe.name == "T Caf\ufffd"
    assert "has 5 fields but the header has 4" in too_many.problems[0]
    assert (short.name, short.description) == ("T Short", None)
    assert "contact email: must not contain spaces" in bad_mail.problems[0]
    assert twin1.idempotency_key != twin2.idempotency_key  # two rows: two companies
    assert read_csv(messy_file("T")).rows[0].idempotency_key == acme.idempotency_key
    assert read_csv(messy_file("U")).rows[0].idempotency_key != acme.idempotency_key


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"\n\n", "empty"),
        (b"description,email\nx,y@z\n", "no name column"),
        (b"Name,company\nA,B\n", "are both the name"),
        (b"name,e-mail,Email\nA,a@b,c@d\n", "are both the contact email"),
    ],
)
def test_files_that_cannot_be_imported_say_why(content: bytes, message: str):
    with pytest.raises(CsvFileError, match=message):
        read_csv(content)


def test_utf16_with_its_bom_is_read():
    parsed = read_csv("name\r\nZoë\r\n".encode("utf-16"))
    assert parsed.rows[0].name == "Zoë"


def test_import_then_again_makes_no_twin(signed_in, api, tmp_path: Path):
    tag = uuid.uuid4().hex[:8]
    source = tmp_path / "customers.csv"
    source.write_bytes(messy_file(tag))
    first = signed_in("import", str(source))
    assert first.code == 2  # some rows invalid, the rest imported
    rows = results(first.out)
    assert [(r["row"], r["outcome"]) for r in rows] == [
        ("2", "created"),
        ("4", "invalid"),
        ("5", "invalid"),
        ("6", "invalid"),
        ("7", "created"),
        ("9", "invalid"),
        ("10", "created"),
        ("11", "created"),
    ]
    assert rows[0]["link"].startswith(api.origin + "/link/") and rows[0]["company_id"]
    assert "line 4: skipped: name: must not be empty" in first.err
    assert "4 created" in first.err
    assert total(api, tag) == 4

    second = signed_in("import", str(source))
    assert [r["outcome"] for r in results(second.out) if r["company_id"]] == [
        "already imported"
    ] * 4
    assert [r["company_id"] for r in results(second.out)] == [r["company_id"] for r in rows]
    assert total(api, tag) == 4


def test_dry_run_calls_no_api(cli, tmp_path: Path, monkeypatch):
    # Pointed at a port where nothing listens: any request would fail the run.
    monkeypatch.setenv("S2B_API_KEY", "sk_test_" + "n" * 24)
    monkeypatch.setenv("S2B_BASE_URL", "http://127.0.0.1:9/v1")
    source = tmp_path / "c.csv"
    source.write_bytes(b"name,email\nGood,a@b.c\nAlso Good,\n")
    result = cli("import", str(source), "--dry-run")
    assert result.code == 0
    assert [r["outcome"] for r in results(result.out)] == ["valid", "valid"]
    assert "nothing was sent" in result.err


def test_connect_gives_each_row_its_link_and_output_goes_to_a_file(signed_in, api, tmp_path):
    tag = uuid.uuid4().hex[:8]
    source = tmp_path / "c.csv"
    source.write_text(f"name\n{tag} One\n{tag} Two\n")
    result = signed_in("import", str(source), "--connect", "xero", "-o", str(tmp_path / "r.csv"))
    assert result.code == 0 and result.out == ""
    rows = results((tmp_path / "r.csv").read_text())
    assert [r["outcome"] for r in rows] == ["created", "created"]
    with httpx.Client(headers={"Authorization": f"Bearer {api.api_key}"}) as client:
        for row in rows:
            company = client.get(f"{api.base_url}/companies/{row['company_id']}").json()
            assert row["link"] != company["authUrl"]  # the Xero link, not the company's
            page = httpx.get(row["link"], timeout=10)
            assert page.status_code == 200 and "Xero" in page.text


def test_rate_limits_are_waited_out(signed_in, api, tmp_path):
    tag = uuid.uuid4().hex[:8]
    source = tmp_path / "c.csv"
    source.write_text("name\n" + "".join(f"{tag} {i}\n" for i in range(12)))
    headers = {"Authorization": f"Bearer {api.api_key}"}
    faults = {"errorRate": 1.0, "errorStatus": 429, "retryAfter": 0, "errorCount": 40}
    assert httpx.put(f"{api.base_url}/sandbox/faults", json=faults, headers=headers).is_success
    try:
        result = signed_in("import", str(source), "--concurrency", "4")
        remaining = httpx.get(f"{api.base_url}/sandbox", headers=headers).json()["faults"]
    finally:
        httpx.put(f"{api.base_url}/sandbox/faults", json={}, headers=headers)
    assert remaining["errorCount"] == 0  # every one of the 40 429s was answered
    assert result.code == 0, result.err
    assert [r["outcome"] for r in results(result.out)] == ["created"] * 12
    assert total(api, tag) == 12


def test_an_unreachable_api_stops_the_import_and_loses_no_row(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("S2B_API_KEY", "sk_test_" + "n" * 24)
    monkeypatch.setenv("S2B_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setattr("s2b_tui.headless.importer.UNREACHABLE_LIMIT", 3)
    monkeypatch.setattr(RetryPolicy, "delay", lambda *args: 0.0)  # no backoff to wait
    source = tmp_path / "c.csv"
    source.write_text("name\n" + "".join(f"Row {i}\n" for i in range(40)))
    result = cli("import", str(source), "--concurrency", "2")
    assert result.code == 1
    outcomes = [r["outcome"] for r in results(result.out)]
    assert len(outcomes) == 40 and set(outcomes) == {"failed", "not attempted"}
    assert outcomes.count("failed") <= 4
    assert "run the same command again" in result.err


def test_fifty_thousand_rows_are_all_accounted_for(cli, tmp_path: Path):
    """A large export with a few bad rows scattered in it: every row gets its
    outcome, in order, and only the bad ones are skipped."""
    bad = {7, 12_345, 49_999}
    lines = [b"Name,Notes,Email"]
    for i in range(50_000):
        name = b"" if i in bad else b'"Customer %d, Ltd"' % i
        lines.append(name + b',"line one\r\nline two",ap%d@example.com' % i)
    source = tmp_path / "big.csv"
    source.write_bytes(b"\r\n".join(lines) + b"\r\n")
    result = cli("import", str(source), "--dry-run")
    assert result.code == 2
    rows = results(result.out)
    assert len(rows) == 50_000
    assert [int(r["row"]) for r in rows] == [2 + 2 * i for i in range(50_000)]
    assert {i for i, r in enumerate(rows) if r["outcome"] == "invalid"} == bad
    assert result.err.count("skipped") == 3 and "\r" not in result.err
