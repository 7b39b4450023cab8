"""The report formats behind one interface: `render(report, format)` yields the text in chunks.

Renderer modules are imported only when their format is asked for, so the CLI starts fast.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from enum import StrEnum
from importlib import import_module
from typing import Generic, Protocol, TypeVar

from netcheck.model import Report, Result


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"
    JUNIT = "junit"
    HTML = "html"


class Renderer(Protocol):
    """A pure function of the report: its text in chunks (a large JSON report is never one string)."""

    def __call__(self, report: Report, *, verbose: bool) -> Iterable[str]: ...


class Ahead(Protocol):
    """A format's work done before its report exists, while a run waits for its SYN probes: given each result
    as the run decides it (`add`), it renders a few whenever the run has nothing else to do (`work`: True when
    it did some), then renders the report with them (`chunks`: the text `render` gives, byte for byte)."""

    def add(self, result: Result) -> None: ...

    def work(self) -> bool: ...

    def chunks(self, report: Report) -> Iterable[str]: ...


Made = TypeVar("Made")


class MadeAhead(Generic[Made]):
    """The bookkeeping of an Ahead (report.json.Prerendered, report.table.Prepared): the results waiting, and
    what was made of each, kept by id(result) with the result itself (it stays alive, so its id is never
    another's; a result replaced later, such as by settling an agent of unknown OS, is made again with the
    report). A format says how to make a batch (`make_batch`) and how to render (`chunks`)."""

    BATCH = 100
    """Results made a call: a millisecond or so, so an outcome that arrives meanwhile waits no longer."""

    def __init__(self) -> None:
        self.waiting: deque[Result] = deque()
        self.made: dict[int, tuple[Result, Made]] = {}
        self.broken = False

    def add(self, result: Result) -> None:
        self.waiting.append(result)

    def work(self) -> bool:
        """Make up to BATCH of the results waiting; False when none was. It never raises into the run: a batch
        that cannot be made stops the work for good, and the report makes those results itself (and fails as it
        would have without this)."""
        if self.broken or not self.waiting:
            return False
        batch = [self.waiting.popleft() for _ in range(min(self.BATCH, len(self.waiting)))]
        try:
            made = self.make_batch(batch)
        except Exception:  # noqa: BLE001 - see the docstring
            self.broken = True
            return False
        for result, one in zip(batch, made, strict=True):
            self.made[id(result)] = (result, one)
        return True

    def made_for(self, result: Result) -> Made | None:
        """What was made ahead of this very result, if anything."""
        made = self.made.get(id(result))
        return made[1] if made is not None and made[0] is result else None

    def make_batch(self, results: Sequence[Result]) -> list[Made]:
        raise NotImplementedError


_RENDERERS: dict[Format, str] = {
    Format.TABLE: "netcheck.report.table:table_chunks",
    Format.JSON: "netcheck.report.json:json_chunks",
    Format.MARKDOWN: "netcheck.report.markdown:markdown_chunks",
    Format.JUNIT: "netcheck.report.junit:junit_chunks",
    Format.HTML: "netcheck.report.html:html_chunks",
}


def renderer(fmt: Format) -> Renderer:
    """The renderer of one format."""
    module, _, name = _RENDERERS[fmt].partition(":")
    found: Renderer = getattr(import_module(module), name)
    return found


def render(report: Report, fmt: Format, *, verbose: bool = False) -> Iterable[str]:
    return renderer(fmt)(report, verbose=verbose)
