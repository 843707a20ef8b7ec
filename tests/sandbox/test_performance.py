"""100,000 companies over real HTTP: seeding, deep pages, sorts and searches
give the right rows at scale.

Speed is measured by the benchmark harness (`python -m tests.benchmarks`),
beside its targets, not asserted here: the times are only printed (run with
`-s` to see them).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import httpx
import pytest

from s2b_tui.sandbox import EmbeddedSandbox

COMPANIES = 100_000


def timed(http: httpx.Client, params: dict, runs: int = 10) -> tuple[float, float, dict]:
    """p50 and max (ms) of `runs` GET /companies, and the last reply."""
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        reply = http.get("/companies", params=params)
        samples.append((time.perf_counter() - started) * 1000)
        assert reply.status_code == 200, reply.text
    return statistics.median(samples), max(samples), reply.json()


@pytest.mark.exclusive  # its printed times are only meaningful with the CPUs to itself
def test_seed_100k_then_list_search_and_jump(tmp_path: Path, capsys: pytest.CaptureFixture):
    with (
        EmbeddedSandbox(tmp_path) as sandbox,
        httpx.Client(
            base_url=sandbox.base_url,
            headers={"Authorization": f"Bearer {sandbox.api_key}"},
            timeout=120,
        ) as http,
    ):
        started = time.perf_counter()
        seeded = http.post(
            "/sandbox/seed", json={"companies": COMPANIES, "connectionsPerCompany": 2, "seed": 1}
        )
        seed_seconds = time.perf_counter() - started
        assert seeded.json() == {"created": COMPANIES}

        some_id = http.get("/companies", params={"page": 777}).json()["results"][0]["id"]
        scenarios: dict[str, dict[str, object]] = {
            "first page": {},
            "page 1000": {"page": 1000},
            "page 1000 by name": {"page": 1000, "orderBy": "name"},
            "last page by -name": {"page": 2000, "orderBy": "-name"},
            "500 per page": {"pageSize": 500},
            "search 'plumb'": {"query": "plumb"},
            "search 'son', page 100": {"query": "son", "page": 100},
            "search 'Golden Fern' by name": {"query": "Golden Fern", "orderBy": "name"},
            "search 'ab' (short)": {"query": "ab"},
            "search by id": {"query": some_id},
        }
        results = {label: timed(http, params) for label, params in scenarios.items()}

    with capsys.disabled():
        print(f"\n  seed {COMPANIES:,} companies (2 connections each): {seed_seconds:.2f} s")
        for label, (p50, worst, _) in results.items():
            print(f"  GET /companies {label:30s} p50 {p50:6.2f} ms   max {worst:6.2f} ms")

    assert results["first page"][2]["totalResults"] == COMPANIES
    assert len(results["page 1000"][2]["results"]) == 50
    assert len(results["last page by -name"][2]["results"]) == 50
    assert [c["id"] for c in results["search by id"][2]["results"]] == [some_id]
    son = results["search 'son', page 100"][2]
    # Past 1,000 matches a search's total is a lower bound (API.md), never
    # less than the pages it has shown.
    assert son["totalIsLowerBound"] is True
    assert son["totalResults"] >= 5000
    assert all("son" in c["name"].lower() for c in results["search 'son', page 100"][2]["results"])
