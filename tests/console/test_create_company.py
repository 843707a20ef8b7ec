"""The create-company form: validation as you type, server field errors,
twin names, and exactly one company per submission."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from s2b_tui.screens.company import CompanyScreen
from s2b_tui.screens.create_company import CreateCompanyScreen


async def open_form(console) -> CreateCompanyScreen:
    await console.press("n")
    await console.wait_for(lambda: isinstance(console.screen, CreateCompanyScreen))
    return console.screen


def field_error(form: CreateCompanyScreen, field: str) -> str:
    widget = form.query_one(f"#{field}-error")
    return str(widget.render()) if widget.display else ""


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("   ", "must not be empty"),
        ("x" * 101, "at most 100 characters"),
    ],
)
async def test_inline_validation_as_you_type(open_console, typed, problem):
    async with open_console() as console:
        form = await open_form(console)
        await console.type(typed)
        await console.wait_for(lambda: problem in field_error(form, "name"))
        await console.press("enter")
        await console.pilot.pause(0.2)
        assert console.screen is form  # nothing sent
        assert (await console.app.client.list_companies()).total_results == 0


async def test_control_characters_are_refused_inline(open_console):
    async with open_console() as console:
        form = await open_form(console)
        form.query_one("#name", Input).value = "Evil\x1b[2J Ltd"
        await console.wait_for(lambda: "control characters" in field_error(form, "name"))
        form.query_one("#description", Input).value = "line one\nline two"
        await console.pilot.pause()
        assert field_error(form, "description") == ""


async def test_server_field_errors_show_beside_their_field(open_console, monkeypatch):
    """Were the console's own check to let a bad name through, the API's 422
    field error still lands next to the Name field."""
    monkeypatch.setattr("s2b_tui.screens.create_company.name_problem", lambda name: None)
    async with open_console() as console:
        form = await open_form(console)
        await console.type("   ")
        await console.press("enter")
        await console.wait_for(lambda: "must not be empty" in field_error(form, "name"))
        assert console.screen is form


async def test_escape_cancels(open_console):
    async with open_console() as console:
        await open_form(console)
        await console.type("Never Mind Ltd")
        await console.press("escape")
        await console.wait_for(lambda: not isinstance(console.screen, CreateCompanyScreen))
        assert (await console.app.client.list_companies()).total_results == 0


async def test_ctrl_s_creates_and_opens_the_company_with_its_link(open_console):
    async with open_console() as console:
        form = await open_form(console)
        await console.type("Blue Fern Dental")
        form.query_one("#description", Input).value = "Two clinics"
        await console.press("ctrl+s")
        await console.wait_for(lambda: isinstance(console.screen, CompanyScreen))
        company = console.screen.company
        assert (company.name, company.description) == ("Blue Fern Dental", "Two clinics")
        assert company.auth_url in console.widget_text("#company-link")


async def test_a_twin_name_asks_first(open_console):
    async with open_console() as console:
        await console.app.client.create_company("Acme Ltd")
        await open_form(console)
        await console.type("ACME LTD")
        await console.press("enter")
        await console.wait_for(lambda: "already exists" in console.widget_text("#form-message"))
        assert (await console.app.client.list_companies()).total_results == 1
        await console.press("enter")  # yes, another one
        await console.wait_for(lambda: isinstance(console.screen, CompanyScreen))
        assert (await console.app.client.list_companies()).total_results == 2


async def test_submitting_twice_makes_one_company(open_console):
    async with open_console() as console:
        form = await open_form(console)
        await console.type("Twice Pressed Ltd")
        form.action_submit()
        form._busy = False  # as if the first reply never came back
        form.action_submit()
        await console.wait_for(lambda: isinstance(console.screen, CompanyScreen))
        await console.app.workers.wait_for_complete()
        page = await console.app.client.list_companies()
        assert [c.name for c in page.results] == ["Twice Pressed Ltd"]


async def test_a_reply_lost_after_commit_makes_one_company(open_console, sandbox):
    """The server commits, the reply comes too late for the client; pressing
    enter again sends the same Idempotency-Key and gets the stored reply."""
    from tests.console.helpers import make_client

    client = make_client(sandbox, timeout=0.5)
    async with open_console(client=client) as console:
        form = await open_form(console)
        await console.type("Slow Reply Ltd")
        form._twin_confirmed_for = "slow reply ltd"  # go straight to the POST
        await client.sandbox.set_faults(latency_ms=900, path_prefix="/companies")
        await console.press("enter")
        await console.wait_for(
            lambda: "Not created" in console.widget_text("#form-message"), timeout=15
        )
        await client.sandbox.clear_faults()
        await console.press("enter")  # again: the stored reply comes back
        await console.wait_for(lambda: isinstance(console.screen, CompanyScreen))
        posts = [e for e in console.app.request_log if e.method == "POST"]
        assert posts[-1].status == 201 and posts[-1].replayed
        page = await client.list_companies()
        assert [c.name for c in page.results] == ["Slow Reply Ltd"]
