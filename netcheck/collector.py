"""The cyclic garbage collector, kept out of the way of a large run."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """A run makes a few objects per check and frees them by reference counting; the cyclic collector would
    walk the plan's (tens of thousands of) checks again and again for nothing. So the objects alive at the
    start are set aside (gc.freeze) and the youngest generation is collected less often, both undone after.
    Nested uses are harmless: the innermost end unfreezes everything, the outermost restores the threshold."""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(threshold[0], 100_000), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()
