"""The cyclic garbage collector, kept out of the way of a large run."""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

_depth = 0
_lock = threading.Lock()


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """A run makes a few objects per check and frees them by reference counting; the cyclic collector would
    walk the plan's (tens of thousands of) checks again and again for nothing. So the objects alive at the
    start are set aside (gc.freeze) and the youngest generation is collected less often, both undone after.
    Nested uses (`check` around `runner.run`) each set aside what is alive when they start (the plan, for the
    runner's), and only the outermost undoes it all: an inner one ending must not release what the outer one
    set aside. Automatic collection switched off (a threshold of 0) stays off."""
    global _depth  # noqa: PLW0603 - one collector a process, one count of its users
    with _lock:
        _depth += 1
        outermost = _depth == 1
        threshold = gc.get_threshold()
        gc.freeze()
        if outermost and threshold[0]:
            gc.set_threshold(max(threshold[0], 100_000), *threshold[1:])
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if outermost:
                gc.set_threshold(*threshold)
                gc.unfreeze()
