"""The report formats behind one interface: `render(report, format)` yields the text in chunks.

Renderer modules are imported only when their format is asked for, so the CLI starts fast.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from importlib import import_module
from typing import Protocol

from netcheck.model import Report


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"
    JUNIT = "junit"
    HTML = "html"


class Renderer(Protocol):
    """A pure function of the report: its text in chunks (a large JSON report is never one string).

    `show_all`: list every check, not only the failing and warning ones (the table; formats that always list
    every check, or never can, ignore it)."""

    def __call__(self, report: Report, *, verbose: bool, show_all: bool = False) -> Iterable[str]: ...


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


def render(report: Report, fmt: Format, *, verbose: bool = False, show_all: bool = False) -> Iterable[str]:
    if show_all:
        return renderer(fmt)(report, verbose=verbose, show_all=True)
    return renderer(fmt)(report, verbose=verbose)
