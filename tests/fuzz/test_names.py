"""Company names, per API.md: "trimmed, 1–100 characters, no control
characters (C0, C1, DEL; so no ESC); any other Unicode is allowed".

- every class of awkward name against a real sandbox over HTTP: refused with
  a 422 field error on `name`, or stored exactly (after trimming) and shown
  HTML-escaped on the company's Link page;
- `name_problem` against an oracle written here from API.md's wording, over
  arbitrary text (controls, every kind of space, surrogates, long strings);
- the sandbox against `name_problem` on a generated sample.

API.md does not say which characters "trimmed" removes; the oracle takes
Unicode's White_Space property (what JavaScript's trim() and most JSON APIs
remove). Lengths are counted in code points.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from s2b_tui.api.validation import NAME_MAX, name_problem, normalize_name
from s2b_tui.sandbox import EmbeddedSandbox
from tests.fuzz import counts

EMPTY = "must not be empty"
CONTROL = "must not contain control characters"
NOT_TEXT = "must be valid Unicode text (it has an unpaired UTF-16 surrogate)"


def too_long(length: int) -> str:
    return f"must be at most {NAME_MAX} characters (it is {length:,})"


# ------------------------------------------------------------------- oracle

# Unicode PropList.txt, White_Space.
WHITE_SPACE = frozenset(
    [
        *(0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680),
        *range(0x2000, 0x200B),
        *(0x2028, 0x2029, 0x202F, 0x205F, 0x3000),
    ]
)


def is_control(char: str) -> bool:
    """C0, DEL or C1."""
    code = ord(char)
    return code <= 0x1F or 0x7F <= code <= 0x9F


def is_surrogate(char: str) -> bool:
    return 0xD800 <= ord(char) <= 0xDFFF


def trimmed(name: str) -> str:
    start, end = 0, len(name)
    while start < end and ord(name[start]) in WHITE_SPACE:
        start += 1
    while end > start and ord(name[end - 1]) in WHITE_SPACE:
        end -= 1
    return name[start:end]


def broken_rules(name: str) -> set[str]:
    """Which of API.md's rules the name breaks: none means it is accepted."""
    value = trimmed(name)
    if not value:
        return {"empty"}
    rules = set()
    if any(is_control(c) for c in value):
        rules.add("control")
    if any(is_surrogate(c) for c in value):
        rules.add("not text")  # JSON bodies are UTF-8; half a pair is not text
    if len(value) > 100:
        rules.add("length")
    return rules


def rule_of(message: str, name: str) -> str:
    """The rule a `name_problem` message reports."""
    if message == too_long(len(trimmed(name))):
        return "length"
    return {EMPTY: "empty", CONTROL: "control", NOT_TEXT: "not text"}[message]


# -------------------------------------------------------- the table, over HTTP


@dataclass(frozen=True)
class Case:
    label: str
    name: str
    stored: str | None = None  # what the sandbox keeps; None: refused
    problem: str | None = None  # the field error when refused

    def __post_init__(self) -> None:
        assert (self.stored is None) != (self.problem is None), self.label


def accepted(label: str, name: str, stored: str | None = None) -> Case:
    return Case(label, name, stored=name if stored is None else stored)


def refused(label: str, name: str, problem: str) -> Case:
    return Case(label, name, problem=problem)


CONTROLS = [chr(c) for c in [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)]]

CASES = [
    refused("empty", "", EMPTY),
    refused("spaces only", "     ", EMPTY),
    refused("every kind of space only", " \t\n\r\x0b\x0c\x85\xa0\u2003\u2028\u3000 ", EMPTY),
    refused("101 characters", "x" * 101, too_long(101)),
    refused("101 characters after trimming", "  " + "x" * 101 + "  ", too_long(101)),
    refused("10,000 characters", "n" * 10_000, too_long(10_000)),
    refused("101 emoji", "🚀" * 101, too_long(101)),
    refused("NUL inside", "Acme\x00Ltd", CONTROL),
    refused("NUL alone", "\x00", CONTROL),
    refused("ESC clear screen", "\x1b[2J", CONTROL),
    refused("ESC colours", "Acme \x1b[31mRed\x1b[0m", CONTROL),
    refused(
        "OSC 8 terminal hyperlink", "\x1b]8;;https://evil.example\x1b\\Click\x1b]8;;\x1b\\", CONTROL
    ),
    refused("BEL", "Acme\x07", CONTROL),
    refused("backspaces over text", "Acme\x08\x08\x08\x08Evil", CONTROL),
    refused("tab inside", "Acme\tLtd", CONTROL),
    refused("line break inside", "Acme\nLtd", CONTROL),
    refused("carriage return inside", "Acme\rEvil Corp", CONTROL),
    refused("C0 separator at the start (a control, not a space)", "\x1fAcme", CONTROL),
    refused("C0 separator at the end", "Acme\x1c", CONTROL),
    refused("DEL", "Acme\x7f", CONTROL),
    refused("C1 NEL inside", "Acme\x85Ltd", CONTROL),
    refused("C1 CSI clear screen", "\x9b2J", CONTROL),
    refused("C1 OSC window title", "\x9d0;pwned\x9c", CONTROL),
    *(refused(f"control U+{ord(c):04X} inside", f"A{c}B", CONTROL) for c in CONTROLS),
    refused("unpaired high surrogate", "Acme \ud83d", NOT_TEXT),
    refused("unpaired low surrogate", "\udc00Acme", NOT_TEXT),
    accepted("one character", "A"),
    accepted("exactly 100 characters", "x" * 100),
    accepted("100 characters after trimming", "  " + "y" * 100 + " \t\n", "y" * 100),
    accepted("Unicode spaces trimmed", "\xa0\u3000 Acme Ltd \u2029\x85", "Acme Ltd"),
    accepted("100 emoji", "🚀" * 100),
    accepted("100 code points, 1 letter and 99 accents", "e" + "\u0301" * 99),
    accepted("Rich markup", "[bold red]Acme[/bold red]"),
    accepted("closing markup tag", "[/]"),
    accepted("link markup", "[link=https://evil.example]Click me[/link]"),
    accepted("Textual action markup", "[@click=app.quit]Quit[/]"),
    accepted("escaped markup", "\\[not markup]"),
    accepted("HTML script", "<script>alert(1)</script>"),
    accepted("HTML attribute breakout", '"><img src=x onerror=alert(1)>'),
    accepted("HTML entities", "Tom &amp; Jerry's &lt;Co&gt;"),
    accepted("quotes and backslashes", 'O\'Brien "Quoted" \\ Co'),
    accepted("format strings", "100% {name} %s ${HOME} {{x}}"),
    accepted("SQL", "Robert'); DROP TABLE companies;--"),
    accepted("emoji", "Acme 🚀 Ltd"),
    accepted("ZWJ emoji sequence", "👩‍👩‍👧‍👦 Family Bakery"),
    accepted("flags", "🇬🇧🇫🇷 Imports"),
    accepted("right-to-left Arabic", "شركة الأمل للتجارة"),
    accepted("right-to-left Hebrew", "חברת אקמה בע״מ"),
    accepted("mixed directions", "Acme שלום Ltd 123"),
    accepted("bidi override", "\u202eLTD EMCA\u202c"),
    accepted("combining accents (not normalised)", "Cafe\u0301 Ame\u0301lie"),
    accepted("zalgo", "Z\u0334\u0321\u031ba\u0337\u0322\u035dl\u0336\u0328\u031bg\u0335\u0347o"),
    accepted("zero-width characters", "Ac\u200bme\u200d Ltd"),
    accepted("byte order mark inside", "\ufeffAcme"),
    accepted("line separator inside (not a control)", "Acme\u2028Ltd"),
    accepted("astral letters", "𝔄𝔠𝔪𝔢 𝕃𝕥𝕕"),
    accepted("CJK", "株式会社アクメ"),
]


def as_json(body: dict) -> bytes:
    """JSON with non-ASCII escaped, so even a lone surrogate can be sent."""
    return json.dumps(body).encode()


async def test_every_name_class_is_accepted_or_refused_as_api_md_says(
    sandbox: EmbeddedSandbox, sandbox_http: httpx.AsyncClient
):
    created = 0
    async with httpx.AsyncClient(timeout=10.0) as browser:
        for case in CASES:
            assert broken_rules(case.name) == (
                set() if case.problem is None else {rule_of(case.problem, case.name)}
            ), case.label  # the table agrees with the oracle
            counts.tried("names: table of classes, sandbox over HTTP")
            response = await sandbox_http.post(
                "/companies",
                content=as_json({"name": case.name}),
                headers={"Content-Type": "application/json"},
            )
            if response.status_code >= 500:
                counts.server_error("names: table of classes, sandbox over HTTP")
            if case.problem is not None:
                assert response.status_code == 422, (case.label, response.text)
                body = response.json()
                assert body["statusCode"] == 422
                assert body["correlationId"] == response.headers["x-correlation-id"]
                assert body["validation"] == [{"field": "name", "message": case.problem}]
                assert body["error"] == f"Company name {case.problem}", case.label
                continue
            assert case.stored is not None  # a Case is refused or stored

            assert response.status_code == 201, (case.label, response.text)
            created += 1
            company = response.json()
            assert company["name"].encode() == case.stored.encode(), case.label
            fetched = (await sandbox_http.get(f"/companies/{company['id']}")).json()
            assert fetched["name"].encode() == case.stored.encode(), case.label
            listed = await sandbox_http.get("/companies", params={"query": company["id"]})
            assert [c["name"] for c in listed.json()["results"]] == [case.stored], case.label

            page = await browser.get(company["authUrl"])
            assert page.status_code == 200, case.label
            escaped = html.escape(case.stored, quote=True)
            assert f"<h1>Connect {escaped} to Sync2Books</h1>" in page.text, case.label
            assert f"<title>Connect {escaped} · Sync2Books sandbox</title>" in page.text
            if escaped != case.stored:
                assert case.stored not in page.text, case.label
            assert "<script" not in page.text and "<img" not in page.text, case.label

    total = (await sandbox_http.get("/companies")).json()["totalResults"]
    assert total == created == sum(c.problem is None for c in CASES)
    assert sandbox.store.count_companies() == created


async def test_a_surrogate_in_raw_bytes_is_refused_too(sandbox_http: httpx.AsyncClient):
    """Not only as a JSON escape: the (invalid) UTF-8 bytes of a surrogate,
    which Python's JSON reader lets through, are refused the same way."""
    for raw in (b'{"name": "Acme \xed\xa0\x80"}', b'{"name": "\xed\xbf\xbfAcme"}'):
        response = await sandbox_http.post(
            "/companies", content=raw, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 422, response.text
        assert response.json()["validation"] == [{"field": "name", "message": NOT_TEXT}]
    assert (await sandbox_http.get("/companies")).json()["totalResults"] == 0


# ------------------------------------------------------ properties: the rule

SPECIAL = sorted(
    {chr(c) for c in WHITE_SPACE}
    | set(CONTROLS)
    | {"\x1b", "[", "]", "/", "<", ">", "&", '"', "'", "\\", "\u200b", "\ufeff", "\u202e"}
    | {"\u0301", "🚀", "\U0001f469", "\u200d", "ش", "א", "株"}
)
SURROGATES = [chr(c) for c in (0xD800, 0xD83D, 0xDBFF, 0xDC00, 0xDE80, 0xDFFF)]


@st.composite
def names(draw: st.DrawFn, *, surrogates: bool = True) -> str:
    """Arbitrary text, weighted towards what the rules are about: spaces and
    controls at the edges and inside, lengths around 100, and long strings."""
    alphabet = st.one_of(
        st.sampled_from(SPECIAL),
        st.characters(),  # any code point but a surrogate
        *([st.sampled_from(SURROGATES)] if surrogates else []),
    )
    core = draw(st.text(alphabet, max_size=12))
    filler = draw(st.sampled_from([0, 0, 1, 50, 95, 98, 99, 100, 101, 102, 1000]))
    padding = draw(st.text(st.sampled_from(sorted(chr(c) for c in WHITE_SPACE)), max_size=3))
    tail = draw(st.text(alphabet, max_size=3))
    return padding + core + "n" * filler + tail + padding


def check_against_oracle(name: str) -> None:
    rules = broken_rules(name)
    problem = name_problem(name)
    if not rules:
        assert problem is None, (name, problem)
        assert normalize_name(name) == trimmed(name)
    else:
        assert problem is not None, (name, rules)
        assert rule_of(problem, name) in rules, (name, problem, rules)


@settings(max_examples=1000, deadline=None, database=None)
@given(names())
def test_name_problem_agrees_with_api_md(name):
    counts.tried("names: name_problem vs the API.md oracle")
    check_against_oracle(name)


@settings(max_examples=500, deadline=None, database=None)
@given(st.text(st.characters(exclude_categories=()), max_size=120))
def test_name_problem_agrees_with_api_md_on_any_text(name):
    counts.tried("names: name_problem vs the API.md oracle")
    check_against_oracle(name)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.label)
def test_the_table_agrees_with_name_problem(case: Case):
    assert name_problem(case.name) == case.problem
    if case.stored is not None:
        assert normalize_name(case.name) == case.stored


def test_the_oracle_spaces_are_unicode_white_space():
    # Python's str.isspace() also counts the C0 separators \x1c-\x1f.
    python_spaces = {c for c in range(0x110000) if chr(c).isspace()}
    assert python_spaces - WHITE_SPACE == {0x1C, 0x1D, 0x1E, 0x1F}
    assert python_spaces >= WHITE_SPACE


# ------------------------------------------- properties: the server agrees


@pytest.fixture
def http(sandbox: EmbeddedSandbox) -> Iterator[httpx.Client]:
    """A blocking client of the sandbox, shared by a property test's examples."""
    with httpx.Client(
        base_url=sandbox.base_url,
        headers={"Authorization": f"Bearer {sandbox.api_key}"},
        timeout=10.0,
    ) as client:
        yield client


@settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(name=names())
def test_the_sandbox_agrees_with_name_problem(http: httpx.Client, name: str):
    area = "names: sandbox vs name_problem (generated)"
    counts.tried(area)
    response = http.post(
        "/companies",
        content=as_json({"name": name}),
        headers={"Content-Type": "application/json"},
    )
    if response.status_code >= 500:
        counts.server_error(area)
    problem = name_problem(name)
    if problem is None:
        assert response.status_code == 201, response.text
        assert response.json()["name"] == normalize_name(name)
    else:
        assert response.status_code == 422, response.text
        assert response.json()["validation"] == [{"field": "name", "message": problem}]
