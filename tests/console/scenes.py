"""Every screen of the console, and the states it can be in, fully deterministic.

The same scenes make `screenshots/*.svg` (run this file) and are compared
against those files by `test_screenshots.py`, so the README never shows a
screen the app no longer draws.

    python tests/console/scenes.py        # rewrite screenshots/*.svg

Determinism: a fixed clock for the sandbox and a fixed wall clock for the
screens, seeded ids and tokens, fixed API keys, UTC, the sandbox served
in-process over ASGI on a fixed origin (no port numbers that change),
notifications hidden (Textual's test mode) and no cursor blink.

Each state is reached as a user or the environment would reach it: keys
pressed, a fault set through the sandbox's own QA endpoint, the server
stopped, a key or a terminal size chosen before the console starts.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import pkgutil
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any
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
#: Where the authorization screen's QR code does not fit.
SMALL_SIZE = (80, 24)
ORIGIN = "http://127.0.0.1:8787"
FIXED_KEY = "sk_test_" + "Demo" * 7 + "wxyz"
LIVE_KEY = "sk_live_" + "Demo" * 7 + "wxyz"
EPOCH = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
#: What the screens' wall clock reads during every scene.
WALL_CLOCK = EPOCH + timedelta(hours=2)


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


class Server(httpx.AsyncBaseTransport):
    """The sandbox as a server on ORIGIN that can be stopped: once stopped,
    every request is refused as a closed port refuses it."""

    def __init__(self, app: Any) -> None:
        self._asgi = httpx.ASGITransport(app=app)
        self.running = True

    def stop(self) -> None:
        self.running = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self.running:
            # What httpx's own transport says when nothing listens on the port.
            raise httpx.ConnectError("All connection attempts failed", request=request)
        return await self._asgi.handle_async_request(request)


def live_gateway(app: Any) -> Any:
    """What the console sees of a production API, made from the sandbox: an
    API that takes the live key (the sandbox itself refuses every live key)
    and is not a sandbox to a live client, which never asks."""
    live, sandbox_key = f"Bearer {LIVE_KEY}".encode(), f"Bearer {FIXED_KEY}".encode()

    async def gateway(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = [
                (name, sandbox_key if name == b"authorization" and value == live else value)
                for name, value in scope["headers"]
            ]
            scope = {**scope, "headers": headers}
        await app(scope, receive, send)

    return gateway


@dataclass
class World:
    """What a scene can act on besides the console: the server and a client of it."""

    server: Server
    client: Sync2BooksClient
    ids: dict[str, str]


@dataclass(frozen=True)
class Scene:
    """How to reach one state: the world it starts from, and what is done to it."""

    drive: Callable[[Pilot, World], Awaitable[None]]
    size: tuple[int, int] = SIZE
    seeded: bool = True  # the companies of `seed_world`, or none at all
    live: bool = False  # a live key, against `live_gateway`
    read_only: bool = False  # as `--read-only`
    api_up: bool = True  # False: the server is stopped before the console starts


def build_console(data_dir: Path, scene: Scene) -> tuple[ConsoleApp, World]:
    clock = Clock()
    store = make_store(data_dir, clock)
    ids = seed_world(store) if scene.seeded else {}
    clock.frozen = True
    api = create_app(store)
    server = Server(live_gateway(api) if scene.live else api)
    if not scene.api_up:
        server.stop()
    client = Sync2BooksClient(
        LIVE_KEY if scene.live else FIXED_KEY,
        f"{ORIGIN}/v1",
        transport=server,
        retry=RetryPolicy(max_retries=0),
        read_only=scene.read_only,
    )
    app = ConsoleApp(
        ClientBackend(client),
        refresh_seconds=2.0,  # polls find nothing new: the data only moves when told
        copy_to_system=lambda text: Outcome(False, "no clipboard"),
    )
    return app, World(server, client, ids)


class _WallClock(datetime):
    """`datetime` as the screens see it in a scene: `now()` is WALL_CLOCK."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
        if tz is None:
            return WALL_CLOCK.astimezone().replace(tzinfo=None)
        return WALL_CLOCK.astimezone(tz)


@contextmanager
def fixed_wall_clock() -> Iterator[None]:
    """Every screen module's `datetime` reads WALL_CLOCK (the time of the last
    good refresh, how long a link has left), whatever module a screen is in."""
    import s2b_tui.screens

    with ExitStack() as stack:
        for info in pkgutil.iter_modules(s2b_tui.screens.__path__, "s2b_tui.screens."):
            module = importlib.import_module(info.name)
            if getattr(module, "datetime", None) is datetime:
                stack.enter_context(mock.patch.object(module, "datetime", _WallClock))
        yield


def screen_text(pilot: Pilot) -> str:
    """What the terminal shows, as text (spaces decoded)."""
    return pilot.app.export_screenshot().replace("&#160;", " ")


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


async def shows(pilot: Pilot, text: str) -> None:
    """Settle once the terminal shows `text`."""
    await settle(pilot, lambda: text in screen_text(pilot))


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


# -- the screens ------------------------------------------------------------------


async def companies(pilot: Pilot, world: World) -> None:
    await ready(pilot)


async def create_form_error(pilot: Pilot, world: World) -> None:
    await ready(pilot)
    await pilot.press("n")
    await settle(pilot)
    await pilot.press(*"Northwind Traders" * 6)
    await settle(pilot)


async def connections(pilot: Pilot, world: World) -> None:
    await open_acme(pilot)


async def picker(pilot: Pilot, world: World) -> None:
    await open_acme(pilot)
    await pilot.press("c")
    await settle(pilot)


async def authorization(pilot: Pilot, world: World) -> None:
    await open_acme(pilot)
    await pilot.press("c", "4")
    await settle(pilot, lambda: hasattr(pilot.app.screen, "authorization"))


async def unlink_dialog(pilot: Pilot, world: World) -> None:
    await open_acme(pilot)
    await pilot.press("u")
    await settle(pilot)


async def help_screen(pilot: Pilot, world: World) -> None:
    await open_acme(pilot)
    await pilot.press("question_mark")
    await settle(pilot)


# -- the states -------------------------------------------------------------------


async def stale(pilot: Pilot, world: World) -> None:
    """The API dies mid-session: the next live refresh finds the server gone."""
    await open_acme(pilot)
    world.server.stop()
    await shows(pilot, "⚠ stale")


async def paused(pilot: Pilot, world: World) -> None:
    await open_acme(pilot)
    await pilot.press("p")
    await shows(pilot, "paused")


async def load_failed(pilot: Pilot, world: World) -> None:
    """Every request fails (a sandbox fault) when the user reloads the page."""
    await ready(pilot)
    await world.client.sandbox.set_faults(error_rate=1.0, error_status=500)
    await pilot.press("r")
    await shows(pilot, "load failed")


async def api_unreachable(pilot: Pilot, world: World) -> None:
    """Nothing answers at the API's address when the console starts."""
    await settle(pilot, lambda: pilot.app.session_state == "failed")
    await shows(pilot, "Could not connect")


async def empty(pilot: Pilot, world: World) -> None:
    await ready(pilot)
    await shows(pilot, "No companies yet")


async def qr_too_small(pilot: Pilot, world: World) -> None:
    await authorization(pilot, world)
    await shows(pilot, "Enlarge the terminal")


#: Scenes under the test key FIXED_KEY, which none of them may show.
SCENES: dict[str, Scene] = {
    "companies": Scene(companies),
    "create-company-validation": Scene(create_form_error),
    "connections-live": Scene(connections),
    "integration-picker": Scene(picker),
    "authorization-qr": Scene(authorization),
    "unlink-dialog": Scene(unlink_dialog),
    "help": Scene(help_screen),
    "connections-stale": Scene(stale),
    "connections-paused": Scene(paused),
    "connections-read-only": Scene(connections, read_only=True),
    "authorization-qr-too-small": Scene(qr_too_small, size=SMALL_SIZE),
    "companies-load-failed": Scene(load_failed),
    "companies-api-unreachable": Scene(api_unreachable, api_up=False),
    "companies-empty": Scene(empty, seeded=False),
}
#: Scenes under the live key LIVE_KEY, which none of them may show.
LIVE_SCENES: dict[str, Scene] = {
    "connections-live-key": Scene(connections, live=True),
}
ALL_SCENES: dict[str, Scene] = SCENES | LIVE_SCENES


def _fixed_environment() -> None:
    os.environ["TZ"] = "UTC"
    time.tzset()


async def render_scene(name: str) -> str:
    """The SVG of one scene, as the app draws it now."""
    _fixed_environment()
    scene = ALL_SCENES[name]
    with tempfile.TemporaryDirectory() as tmp:
        app, world = build_console(Path(tmp), scene)
        with fixed_wall_clock():
            async with app.run_test(size=scene.size) as pilot:
                await scene.drive(pilot, world)
                svg = app.export_screenshot(title=f"s2b-tui · {name}")
                await app.shutdown()
    return svg


async def write_all() -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    for name in ALL_SCENES:
        svg = await render_scene(name)
        (SCREENSHOTS / f"{name}.svg").write_text(svg, encoding="utf-8")
        print(f"wrote screenshots/{name}.svg")


if __name__ == "__main__":
    sys.exit(asyncio.run(write_all()))
