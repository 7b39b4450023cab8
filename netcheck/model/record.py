"""`record`: the dataclass decorator of the values a run makes per check (checks, results, observations).

`@record(frozen=True, slots=True)` is `@dataclass(frozen=True, slots=True)` to mypy, which rejects any
assignment to a field, and a plain slotted dataclass at run time, with the same equality and hash. Python
builds a frozen dataclass through `object.__setattr__`, one call a field, several times slower than plain
assignment, and a large run builds hundreds of thousands of these values (docs/benchmarks.md: what it saves).
mypy strict runs in CI, so no code that assigns to a field lands; `tests/unit/test_record.py` holds mypy to
that and the run-time classes to the frozen ones' equality, hash and `replace`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dataclasses import dataclass as record
else:

    def record(cls: Any = None, /, *, frozen: bool = False, slots: bool = False) -> Any:
        """dataclass(cls, slots=slots), hashed like a frozen one when `frozen` (see the module's text)."""

        def wrap(klass: Any) -> Any:
            return dataclass(klass, slots=slots, unsafe_hash=frozen)

        return wrap if cls is None else wrap(cls)


__all__ = ["record"]
