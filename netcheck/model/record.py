"""`record`: the one decorator of netcheck's value types (checks, results, observations, options, facts).

`@record` is a frozen, slotted dataclass to mypy (`dataclass_transform(frozen_default=True)`), which rejects any
assignment to a field, and a plain slotted dataclass at run time, with a frozen one's equality and hash. Python
builds a frozen dataclass through `object.__setattr__`, one call a field, several times slower than plain
assignment, and a large run builds hundreds of thousands of these values (docs/benchmarks.md: what it saves).
mypy strict runs in CI, so no code that assigns to a field lands; `tests/unit/test_record.py` holds mypy to
that and the run-time classes to the frozen ones' equality, hash and `replace`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar, dataclass_transform

T = TypeVar("T")


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def record(cls: type[T], /) -> type[T]:
    """A slotted dataclass, hashed like a frozen one (see the module's text)."""
    return dataclass(cls, slots=True, unsafe_hash=True)


__all__ = ["record"]
