"""The error hierarchy drawn in errors.py's docstring is the real one."""

from __future__ import annotations

import re

from s2b_tui.api import errors
from s2b_tui.api.errors import Sync2BooksError, error_class_for


def test_the_drawn_tree_names_every_error_class_once():
    drawn = re.findall(r"[├└]── (\w+)", errors.__doc__ or "")

    def descendants(cls: type[Sync2BooksError]) -> list[str]:
        names: list[str] = []
        for sub in cls.__subclasses__():
            names += [sub.__name__, *descendants(sub)]
        return names

    assert sorted(drawn) == sorted(descendants(Sync2BooksError))
    assert len(drawn) == len(set(drawn))


def test_the_statuses_drawn_are_the_ones_mapped():
    drawn = dict(re.findall(r"[├└]── (\w+) +(\d{3})\b", errors.__doc__ or ""))
    assert drawn, "no status in the drawing"
    for name, status in drawn.items():
        assert error_class_for(int(status)).__name__ == name
