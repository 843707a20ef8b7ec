"""The API key is a secret: it appears on no screen, in no SVG export, log
line, request log or error message. Bad keys get a clear, masked message."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest

from s2b_tui.api import Sync2BooksClient
from s2b_tui.screens.request_log import RequestLogScreen
from tests.console.helpers import FAST_RETRY, connect
from tests.console.scenes import FIXED_KEY, SCENES, render_scene


@pytest.mark.parametrize("name", list(SCENES))
async def test_no_screen_shows_the_key(name):
    svg = await render_scene(name)
    assert FIXED_KEY not in svg
    assert FIXED_KEY[8:] not in svg  # not even without its prefix
    assert "sk_test_…wxyz" in svg.replace("&#160;", " ")  # the masked form is there


async def test_request_log_logs_and_errors_never_hold_the_key(open_console, sandbox, caplog):
    key = sandbox.api_key
    caplog.set_level(logging.DEBUG)
    async with open_console() as console:
        client = console.app.client
        company = await client.create_company("Secretive Ltd")
        await client.create_connection(company.id, "XERO")
        await client.sandbox.set_faults(error_rate=1.0, error_status=500)
        await console.press("r")
        await console.wait_for(lambda: console.notified("Could not load companies"))
        await client.sandbox.clear_faults()
        console.app.push_screen(RequestLogScreen())
        await console.pilot.pause()
        texts = [
            console.screen_text(),
            repr(list(console.app.request_log)),
            *console.notifications,
            repr(client),
            repr(console.app.session),
            caplog.text,
        ]
        for text in texts:
            assert key not in text and key[8:] not in text


async def test_a_revoked_key_is_named_and_masked(open_console, sandbox):
    other = sandbox.store.issue_key()
    sandbox.store.revoke_key(other)
    client = Sync2BooksClient(other, sandbox.base_url, retry=FAST_RETRY)
    async with open_console(client=client, ready=False) as console:
        await console.wait_for(lambda: console.app.session_state == "failed")
        message = console.widget_text("#message")
        assert "revoked" in message.lower() and "S2B_API_KEY" in message
        screen = console.screen_text()
        assert other not in screen and f"sk_test_…{other[-4:]}" in screen.replace("&#160;", " ")


async def test_a_live_key_against_a_sandbox_is_refused_and_shown_live(open_console, sandbox):
    live = "sk_live_" + "L" * 28 + "9876"
    client = Sync2BooksClient(live, sandbox.base_url, retry=FAST_RETRY)
    async with open_console(client=client, ready=False) as console:
        await console.wait_for(lambda: console.app.session_state == "failed")
        assert "Live keys cannot be used against a sandbox" in console.widget_text("#message")
        screen = console.screen_text().replace("&#160;", " ")
        assert "LIVE" in screen and "sk_live_…9876" in screen and live not in screen


@pytest.mark.parametrize(
    "bad_key",
    ["sk_test_short", "sk_test_" + "a" * 20 + "!", "pk_live_" + "b" * 24, "sk_prod_" + "c" * 24],
)
def test_a_malformed_key_stops_the_command_with_a_masked_message(bad_key, tmp_path):
    env = {
        **os.environ,
        "S2B_API_KEY": bad_key,
        "S2B_DATA_DIR": str(tmp_path),
        "HOME": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-m", "s2b_tui"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2
    assert "malformed" in result.stderr and "S2B_API_KEY" in result.stderr
    assert bad_key not in result.stderr + result.stdout


async def test_live_badge_on_every_screen_and_typed_names_for_destruction(open_console):
    from s2b_tui.screens.authorization import AuthorizationScreen
    from s2b_tui.screens.company import CompanyScreen
    from s2b_tui.screens.confirm import ConfirmScreen
    from s2b_tui.session import Environment, EnvironmentKind
    from s2b_tui.widgets.environment_bar import EnvironmentBar

    def badge_is_live() -> bool:
        # The active screen's own header (a dialog's is the screen's below it).
        screens = [s for s in console.app.screen_stack if s.query(EnvironmentBar)]
        badge = screens[-1].query_one(EnvironmentBar).query_one("#badge")
        return badge.has_class("-live") and "LIVE" in str(badge.render())

    async with open_console() as console:
        client = console.app.client
        company = await client.create_company("Production Co")
        await connect(client, company.id, "XERO")
        console.app.environment = Environment(EnvironmentKind.LIVE, "api", "sk_live_…abcd")
        await console.pilot.pause()
        assert badge_is_live()
        await console.press("r")
        await console.wait_for(lambda: company.id in console.screen.companies)
        await console.press("enter")
        await console.wait_for(lambda: isinstance(console.screen, CompanyScreen))
        assert badge_is_live()
        await console.wait_for(lambda: console.screen.connections)
        await console.press("x")  # delete connection: LIVE asks for the name
        await console.wait_for(lambda: isinstance(console.screen, ConfirmScreen))
        assert console.screen.type_to_confirm == "Production Co" and badge_is_live()
        await console.press("escape")
        await console.press("c", "1")
        await console.wait_for(lambda: isinstance(console.screen, AuthorizationScreen))
        assert badge_is_live()
