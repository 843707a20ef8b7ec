"""Every screenshot in screenshots/ is what the app draws today.

When a screen changes on purpose, rewrite them with
`python tests/console/scenes.py` and look at the result before committing.
"""

from __future__ import annotations

import difflib

import pytest

from tests.console.scenes import ALL_SCENES, LIVE_KEY, LIVE_SCENES, SCREENSHOTS, render_scene


@pytest.mark.parametrize("name", list(ALL_SCENES))
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


def test_every_screenshot_is_a_scene():
    """No picture in screenshots/ outlives the scene that made it."""
    assert sorted(path.stem for path in SCREENSHOTS.glob("*.svg")) == sorted(ALL_SCENES)


@pytest.mark.parametrize("name", list(LIVE_SCENES))
async def test_a_live_scene_says_live_and_shows_the_key_only_masked(name):
    svg = (await render_scene(name)).replace("&#160;", " ")
    assert LIVE_KEY not in svg
    assert LIVE_KEY[8:] not in svg  # not even without its prefix
    assert "● LIVE" in svg and "sk_live_…wxyz" in svg
