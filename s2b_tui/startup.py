"""Start-up: the first screen as soon as possible.

The console imports a few hundred modules before it can draw. Python's cyclic
garbage collector would walk that growing heap again and again while they
load (about a tenth of start-up) and find nothing to free. So the collector
is paused for start-up, and what start-up built is then frozen (kept out of
every later collection, which also keeps the live table's collections short)
before collection resumes.
"""

from __future__ import annotations

import gc

_paused = False


def pause_gc() -> None:
    """Pause cyclic garbage collection, if it is on, until `resume_gc()`."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume_gc() -> None:
    """Freeze what exists and resume collection; does nothing unless paused
    by `pause_gc()`, so it is safe to call from anywhere, any number of times."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()
