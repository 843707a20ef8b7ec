"""Start-up: the first page is asked for alongside the session's own
requests, and a failure before the session is confirmed is explained once."""

from __future__ import annotations

import asyncio
import gc
import time

import httpx

from s2b_tui.api import ApiKey
from s2b_tui.app import ConsoleApp
from s2b_tui.screens import companies
from s2b_tui.screens.companies import CompaniesScreen
from s2b_tui.session import RemoteBackend
from s2b_tui.startup import pause_gc, resume_gc
from tests.console.helpers import make_client


class RecordingTransport(httpx.AsyncBaseTransport):
    """The real transport, noting when each request started and ended."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.spans: dict[str, tuple[float, float]] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        response = await self.inner.handle_async_request(request)
        await response.aread()
        self.spans.setdefault(request.url.path.rsplit("/v1/", 1)[1], (started, time.perf_counter()))
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_first_page_is_asked_for_with_the_session_not_after_it(open_console, sandbox):
    transport = RecordingTransport()
    client = make_client(sandbox, transport=transport)
    async with open_console(client=client) as console:
        await console.wait_for(lambda: "companies" in transport.spans, what="the first page")
        spans = transport.spans
        # All three were in flight together: none waited for another to finish.
        starts = [spans[p][0] for p in ("sandbox", "integrations", "companies")]
        ends = [spans[p][1] for p in ("sandbox", "integrations", "companies")]
        assert max(starts) < min(ends), spans
        assert console.app.session_state == "ready"


async def test_the_companies_list_is_the_first_and_only_screen(open_console):
    """No empty default screen is composed and drawn under it first."""
    async with open_console() as console:
        assert [type(screen) for screen in console.app.screen_stack] == [CompaniesScreen]


async def test_a_refused_key_is_explained_once(open_console, sandbox):
    other = sandbox.store.issue_key()
    sandbox.store.revoke_key(other)
    client = make_client(sandbox)
    client = type(client)(other, sandbox.base_url)
    async with open_console(client=client, ready=False) as console:
        await console.wait_for(lambda: console.app.session_state == "failed")
        await console.pilot.pause(0.3)  # the first page's request has failed too by now
        assert "revoked" in console.widget_text("#message").lower()
        assert console.notifications == []  # the message says it; no notice repeats it


def spy_on_first_pages(monkeypatch) -> list[asyncio.Task]:
    """Each page the companies screen asks for, as a task of its own to watch."""
    tasks: list[asyncio.Task] = []
    original = companies.fetch_page

    def spying_fetch_page(client, view) -> asyncio.Task:
        tasks.append(asyncio.ensure_future(original(client, view)))
        return tasks[-1]

    monkeypatch.setattr(companies, "fetch_page", spying_fetch_page)
    return tasks


def test_garbage_collection_resumes_only_if_start_up_paused_it():
    assert gc.isenabled()
    resume_gc()  # not paused: nothing to do
    assert gc.isenabled()
    pause_gc()
    try:
        assert not gc.isenabled()
        pause_gc()  # twice: still one pause
    finally:
        resume_gc()
    assert gc.isenabled()
    gc.disable()  # paused by someone else: not ours to resume
    try:
        resume_gc()
        assert not gc.isenabled()
    finally:
        gc.enable()


async def test_quitting_while_the_first_page_is_on_its_way_leaves_nothing_running(
    open_console, sandbox, monkeypatch
):
    """A slow API and an early ctrl+q: the first page's request is cancelled,
    not left pending (asyncio would complain on the terminal at exit)."""
    tasks = spy_on_first_pages(monkeypatch)
    client = make_client(sandbox)
    await client.sandbox.set_faults(latency_ms=3_000, path_prefix="/companies")
    async with open_console(client=client, ready=False) as console:
        await console.wait_for(lambda: tasks, what="the prefetch")
        await console.pilot.pause(0.2)
        assert not tasks[0].done()  # still waiting for the slow API
        await console.app.shutdown()
        await asyncio.wait(tasks, timeout=5)
        assert tasks[0].cancelled()


async def test_a_prefetch_no_load_took_is_cancelled_on_quitting(sandbox, monkeypatch):
    """The home screen is not mounted yet when its first page is asked for
    (against a remote API, say: its client exists at once): quitting then
    cancels that request too."""
    tasks = spy_on_first_pages(monkeypatch)
    client = make_client(sandbox)
    await client.sandbox.set_faults(latency_ms=3_000, path_prefix="/companies")
    app = ConsoleApp(RemoteBackend(ApiKey(sandbox.api_key), sandbox.base_url))
    try:
        async with app.run_test():
            async with asyncio.timeout(5):
                while not tasks:
                    await asyncio.sleep(0.01)
            task = tasks[0]
            await asyncio.sleep(0.1)
            assert not task.done()
            await app.shutdown()
            await asyncio.wait([task], timeout=5)
            assert task.cancelled()
    finally:
        await client.sandbox.clear_faults()
        await client.aclose()
