"""Every screenshot in screenshots/ is what the app draws today.

When a screen changes on purpose, rewrite them with
`python tests/console/scenes.py` and look at the result before committing.
"""

from __future__ import annotations

import difflib

import pytest

from tests.console.scenes import SCENES, SCREENSHOTS, render_scene


@pytest.mark.parametrize("name", list(SCENES))
async def test_screenshot_matches_the_app(name):
    expected = (SCREENSHOTS / f"{name}.svg").read_text(encoding="utf-8")
    actual = await render_scene(name)
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True)[:400],
                actual.splitlines(keepends=True)[:400],
                "screenshots/" + name + ".svg",
                "the app now",
                n=1,
            )
        )
        pytest.fail(
            f"screenshots/{name}.svg is out of date; run `python tests/console/scenes.py`.\n"
            + diff[:3000]
        )
