"""Cell updates of the live table, counted inside the real console app
(`KeyedTable.last_sync_updates`), on the embedded sandbox.

The app runs headless: what is measured is how much of the table each
refresh changes, which no terminal shows directly.
"""

from __future__ import annotations

import asyncio
import time

from s2b_tui.app import ConsoleApp
from s2b_tui.desktop import Outcome
from s2b_tui.screens.company import CompanyScreen
from s2b_tui.session import EmbeddedSandboxBackend
from s2b_tui.widgets.keyed_table import KeyedTable
from tests.benchmarks.dataset import LIVE_CONNECTIONS, Dataset
from tests.benchmarks.report import Figure

TIMEOUT = 60.0


async def _until(condition, pilot, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await pilot.pause(0.01)


async def _measure(dataset: Dataset, refreshes: int) -> dict[str, list[int]]:
    app = ConsoleApp(
        EmbeddedSandboxBackend(dataset.sandbox_dir),
        # Refreshes are made one at a time below, none on a timer.
        refresh_seconds=3600,
        copy_to_system=lambda text: Outcome(False, "not in a benchmark"),
    )
    counts: dict[str, list[int]] = {"first": [], "unchanged": [], "one change": []}
    async with app.run_test(size=(120, 36)) as pilot:
        await _until(lambda: app.session_state == "ready", pilot, "the session")
        company = await app.client.get_company(dataset.live_company_id)
        screen = CompanyScreen(company)
        await app.push_screen(screen)
        table = screen.query_one("#connections", KeyedTable)
        await _until(lambda: table.row_count == LIVE_CONNECTIONS, pilot, "the table")
        counts["first"].append(table.last_sync_updates)

        async def refresh() -> int:
            before = screen.last_good
            screen.refresh_now()
            await _until(lambda: screen.last_good != before, pilot, "a refresh")
            await pilot.pause()
            return table.last_sync_updates

        for _ in range(refreshes):
            counts["unchanged"].append(await refresh())
        store = dataset.store()
        try:
            for status in ("ERROR", "CONNECTED"):
                store.simulate(dataset.live_company_id, dataset.live_connection_id, status)
                counts["one change"].append(await refresh())
        finally:
            store.close()
        await app.shutdown()
    return counts


def cell_updates(dataset: Dataset, refreshes: int) -> list[Figure]:
    counts = asyncio.run(_measure(dataset, refreshes))
    unchanged, changed = counts["unchanged"], counts["one change"]
    return [
        Figure(
            "Live table",
            f"cell updates by a refresh with no change (most of {len(unchanged)} refreshes)",
            max(unchanged),
            "cells",
            target=0,
            better="equal",
            note=f"the first fill: {counts['first'][0]:,} cells",
            samples=unchanged,
        ),
        Figure(
            "Live table",
            "cell updates by a refresh with one status change",
            max(changed),
            "cells",
            note="to ERROR and back: " + ", ".join(str(c) for c in changed),
            samples=changed,
        ),
    ]
