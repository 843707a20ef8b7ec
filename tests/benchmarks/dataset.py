"""The data every console measure runs on: a sandbox data dir seeded with
100,000 companies, plus one company with a 500-connection live table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from s2b_tui.api.models import INTEGRATION_NAMES, IntegrationKey
from s2b_tui.sandbox.store import SandboxStore

LIVE_COMPANY_NAME = "Benchmark Live Table Co"
#: What is typed to find it: not the whole name, so the search box's echo of
#: the query is never mistaken for the result row.
LIVE_COMPANY_QUERY = "Benchmark Live"
LIVE_CONNECTIONS = 500
LIVE_COMPANY_AGE = timedelta(days=4 * 365)  # seeded companies are at most 3 years old
PAGE_SIZE = 50  # the console's page


@dataclass(frozen=True)
class Dataset:
    #: The console's `--data-dir`; the sandbox keeps its data in `root / "sandbox"`.
    root: Path
    companies: int
    live_company_id: str
    #: Its QuickBooks Online connection: active, so the top row of the table.
    live_connection_id: str

    @property
    def sandbox_dir(self) -> Path:
        return self.root / "sandbox"

    def store(self) -> SandboxStore:
        """A store on the same data (the sandbox allows several processes)."""
        return SandboxStore(self.sandbox_dir)

    def first_names(self, *, pages: int = 1, query: str | None = None) -> list[str]:
        """The first company name of each of the first `pages` pages, as the
        console lists them (newest first)."""
        store = self.store()
        try:
            names = []
            for page in range(1, pages + 1):
                records, _ = store.list_companies(page=page, page_size=PAGE_SIZE, query=query)
                names.append(records[0].name if records else "")
            return names
        finally:
            store.close()

    def page_names(self, page: int = 1) -> set[str]:
        store = self.store()
        try:
            records, _ = store.list_companies(page=page, page_size=PAGE_SIZE)
            return {r.name for r in records}
        finally:
            store.close()


def add_live_company(root: Path, companies: int) -> Dataset:
    """Add the live-table company: one active connection per integration (the
    most the API allows) and a DISCONNECTED history making 500 in all.

    It is made older than every seeded company, so it sits on the last page,
    not on the first one that start-up, the list and throughput measure: a
    page with 500 extra connections in it is not the usual page."""
    created = datetime.now(UTC) - LIVE_COMPANY_AGE
    store = SandboxStore(root / "sandbox", clock=lambda: created)
    try:
        company = store.create_company(
            LIVE_COMPANY_NAME, "A long-standing customer: 500 connections, most of them history"
        )
        active: dict[str, str] = {}
        for key in INTEGRATION_NAMES:
            authorization = store.start_authorization(company.id, key)
            completed = store.complete_authorization(authorization.id, allow=True)
            assert completed.connection_id is not None
            active[key] = completed.connection_id
    finally:
        store.close()
    store = SandboxStore(root / "sandbox")  # history from then until now
    try:
        store.seed_connection_history(company.id, LIVE_CONNECTIONS - len(active), seed=1)
    finally:
        store.close()
    return Dataset(
        root=root,
        companies=companies + 1,
        live_company_id=company.id,
        live_connection_id=active[IntegrationKey.QUICKBOOKS],
    )
