"""Every screen of the console in a realistic, fully deterministic state.

The same scenes make `screenshots/*.svg` (run this file) and are compared
against those files by `test_screenshots.py`, so the README never shows a
screen the app no longer draws.

    python tests/console/scenes.py        # rewrite screenshots/*.svg

Determinism: a fixed clock, seeded ids and tokens, a fixed API key, UTC,
the sandbox served in-process over ASGI on a fixed origin (no port numbers
that change), notifications hidden and no cursor blink.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

import httpx
from textual.pilot import Pilot
from textual.widgets import Input

from s2b_tui.api import RetryPolicy, Sync2BooksClient
from s2b_tui.app import ConsoleApp
from s2b_tui.desktop import Outcome
from s2b_tui.sandbox import SandboxStore, create_app
from s2b_tui.session import ClientBackend

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "screenshots"
SIZE = (120, 36)
ORIGIN = "http://127.0.0.1:8787"
FIXED_KEY = "sk_test_" + "Demo" * 7 + "wxyz"
EPOCH = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


class Clock:
    """While the world is built, moves 7 minutes on every reading (distinct,
    reproducible timestamps); then stands still, so nothing expires mid-scene."""

    def __init__(self) -> None:
        self.now = EPOCH
        self.frozen = False

    def __call__(self) -> datetime:
        if not self.frozen:
            self.now += timedelta(minutes=7)
        return self.now


def make_store(data_dir: Path, clock: Clock) -> SandboxStore:
    rng = random.Random(2026)
    store = SandboxStore(
        data_dir,
        clock=clock,
        new_id=lambda: str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        new_token=lambda: "".join(rng.choices("abcdefghijkmnpqrstuvwxyz23456789", k=43)),
    )
    store.add_key(FIXED_KEY)
    return store


def seed_world(store: SandboxStore) -> dict[str, str]:
    """The companies the scenes show; returns the ids they need."""
    store.seed(57, connections_per_company=2, seed=7)
    acme = store.create_company("Acme Ltd", "Expenses pilot, 40 cards")
    for key in ("QUICKBOOKS", "XERO", "SAGE"):
        auth = store.start_authorization(acme.id, key)
        store.complete_authorization(auth.id, allow=True)
    by_key = {c.integration_key: c for c in store.list_connections(acme.id)[0]}
    store.simulate(acme.id, by_key["XERO"].id, "ERROR")
    store.disconnect(acme.id, by_key["SAGE"].id)
    store.create_company("[bold red]Harbour & Finch[/] 🚢", "Names show exactly as typed")
    return {"acme": acme.id, "quickbooks": by_key["QUICKBOOKS"].id}


def build_console(data_dir: Path) -> tuple[ConsoleApp, dict[str, str]]:
    clock = Clock()
    store = make_store(data_dir, clock)
    ids = seed_world(store)
    clock.frozen = True
    api = create_app(store)
    client = Sync2BooksClient(
        FIXED_KEY,
        f"{ORIGIN}/v1",
        transport=httpx.ASGITransport(app=api),
        retry=RetryPolicy(max_retries=0),
    )
    app = ConsoleApp(
        ClientBackend(client),
        refresh_seconds=2.0,  # polls find nothing new: the data only moves when told
        copy_to_system=lambda text: Outcome(False, "no clipboard"),
    )
    return app, ids


async def settle(pilot: Pilot, predicate: Callable[[], object] = lambda: True) -> None:
    deadline = time.monotonic() + 10
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("scene did not settle")
        await pilot.pause(0.02)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    for widget in pilot.app.screen.query(Input):
        widget.cursor_blink = False
    await pilot.pause()


async def ready(pilot: Pilot) -> None:
    await settle(pilot, lambda: pilot.app.session_state == "ready")
    await settle(
        pilot, lambda: "companies ·" in str(pilot.app.screen.query_one("#page-info").render())
    )


async def open_acme(pilot: Pilot) -> None:
    await ready(pilot)
    await pilot.press("slash", *"Acme", "enter")
    await settle(
        pilot, lambda: "1 company" in str(pilot.app.screen.query_one("#page-info").render())
    )
    await pilot.press("enter")
    await settle(pilot, lambda: getattr(pilot.app.screen, "loaded", False))


async def companies(pilot: Pilot) -> None:
    await ready(pilot)


async def create_form_error(pilot: Pilot) -> None:
    await ready(pilot)
    await pilot.press("n")
    await settle(pilot)
    await pilot.press(*"Northwind Traders" * 6)
    await settle(pilot)


async def connections(pilot: Pilot) -> None:
    await open_acme(pilot)


async def picker(pilot: Pilot) -> None:
    await open_acme(pilot)
    await pilot.press("c")
    await settle(pilot)


async def authorization(pilot: Pilot) -> None:
    await open_acme(pilot)
    await pilot.press("c", "4")
    await settle(pilot, lambda: hasattr(pilot.app.screen, "authorization"))


async def unlink_dialog(pilot: Pilot) -> None:
    await open_acme(pilot)
    await pilot.press("u")
    await settle(pilot)


async def help_screen(pilot: Pilot) -> None:
    await open_acme(pilot)
    await pilot.press("question_mark")
    await settle(pilot)


SCENES: dict[str, Callable[[Pilot], Awaitable[None]]] = {
    "companies": companies,
    "create-company-validation": create_form_error,
    "connections-live": connections,
    "integration-picker": picker,
    "authorization-qr": authorization,
    "unlink-dialog": unlink_dialog,
    "help": help_screen,
}


def _fixed_environment() -> None:
    os.environ["TZ"] = "UTC"
    time.tzset()


async def render_scene(name: str) -> str:
    """The SVG of one scene, as the app draws it now."""
    _fixed_environment()
    with tempfile.TemporaryDirectory() as tmp:
        app, _ = build_console(Path(tmp))
        now = EPOCH + timedelta(hours=2)
        with mock.patch("s2b_tui.screens.authorization.now", lambda: now):
            async with app.run_test(size=SIZE) as pilot:
                await SCENES[name](pilot)
                svg = app.export_screenshot(title=f"s2b-tui · {name}")
                await app.shutdown()
    return svg


async def write_all() -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    for name in SCENES:
        svg = await render_scene(name)
        (SCREENSHOTS / f"{name}.svg").write_text(svg, encoding="utf-8")
        print(f"wrote screenshots/{name}.svg")


if __name__ == "__main__":
    sys.exit(asyncio.run(write_all()))
