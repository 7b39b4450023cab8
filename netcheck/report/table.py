"""The terminal report: a table, failing links first, then what to fix for each.

The table is the one tabulate's "simple" format draws; for plain text (printable ASCII, no column of
numbers) it is drawn here instead, because tabulate needs most of a minute for 30,000 rows. A unit test
holds the two to the same output.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from functools import lru_cache

from netcheck.model import Report
from netcheck.report.base import heading, link_label, link_matrix, needs_attention, ordered, summary_line
from netcheck.report.json import evidence_to_dict
from netcheck.report.text import visible

MIN_PADDING = 2
"""tabulate's: a column is at least its header plus two."""


def render_table(report: Report, *, verbose: bool = False) -> str:
    """Every string passes through `visible`: a banner's escape sequences must not drive the terminal."""
    rows = []
    for result in ordered(report.results):
        row = [
            result.verdict.upper(),
            visible(link_label(result)),
            visible(result.address or ""),
            visible(result.state),
            fill(visible(result.detail), 60),
            fill(visible(result.check.purpose), 34),
        ]
        if verbose:
            evidence = ", ".join(f"{k}={v}" for k, v in evidence_to_dict(result.evidence).items())
            row.append(fill(visible(evidence), 50))
        rows.append(row)
    headers = ["verdict", "link", "address", "state", "detail", "purpose"] + (["evidence"] if verbose else [])
    lines = [visible(heading(report)), "", simple_table(rows, headers)]
    if report.merged_from:
        sources, targets, cells = link_matrix(report)
        matrix = [[visible(source), *(str(cells.get((source, t), "")).upper() for t in targets)] for source in sources]
        lines += [
            "",
            "Link matrix (worst verdict per source and target port):",
            simple_table(matrix, ["from", *map(visible, targets)]),
        ]
    fixes = [r for r in needs_attention(report) if r.remediation]
    if fixes:
        lines += ["", "What to fix:"]
        for number, result in enumerate(fixes, start=1):
            wrapped = textwrap.fill(visible(result.remediation), 100, initial_indent="     ", subsequent_indent="     ")
            lines.append(f"{number:>3}. {visible(link_label(result))}\n{wrapped}")
    lines += ["", visible(summary_line(report))]
    return "\n".join(lines) + "\n"


def table_chunks(report: Report, *, verbose: bool) -> list[str]:
    return [render_table(report, verbose=verbose)]


def fill(text: str, width: int) -> str:
    """textwrap.fill(text, width), without its cost for the common short line (kept as is) or a text seen before."""
    if len(text) <= width and text.isprintable() and not text.endswith(" ") and (not text or not text.isspace()):
        return text
    return _fill(text, width)


@lru_cache(maxsize=4096)
def _fill(text: str, width: int) -> str:
    return textwrap.fill(text, width)


def simple_table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> str:
    """tabulate(rows, headers, tablefmt="simple") for text columns: each column as wide as its widest line
    (at least its header + 2), cells left-aligned and top-aligned, two spaces between columns, no trailing
    blanks. Anything tabulate would treat differently (non-ASCII or control characters, padding blanks, a
    column of numbers) goes to tabulate itself."""
    if not _plain(rows, headers):
        from tabulate import tabulate  # noqa: PLC0415 - only the unusual table needs it

        return tabulate(rows, headers=list(headers), tablefmt="simple", disable_numparse=True)
    multiline = any("\n" in cell for row in rows for cell in row)
    # Like tabulate: in a table with a multi-line cell, every cell is its splitlines() (an empty row draws
    # no line at all); otherwise every row is one line.
    split = [[cell.splitlines() if multiline else [cell] for cell in row] for row in rows]
    widths = [len(h) + MIN_PADDING for h in headers]
    for row in split:
        for index, cell in enumerate(row):
            for line in cell:
                widths[index] = max(widths[index], len(line))
    out = [
        "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip(),
        "  ".join("-" * w for w in widths),
    ]
    for row in split:
        height = max(len(cell) for cell in row)
        if height == 1 and not multiline:
            out.append("  ".join(cell[0].ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
            continue
        for number in range(height):
            parts = (cell[number] if number < len(cell) else "" for cell in row)
            out.append("  ".join(part.ljust(w) for part, w in zip(parts, widths, strict=True)).rstrip())
    return "\n".join(out)


def _plain(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> bool:
    """True when every cell and header is printable ASCII text (lines without padding blanks): then simple_table
    draws what tabulate draws with disable_numparse (every cell is text, as the report wants)."""
    if not rows or any(len(row) != len(headers) for row in rows):
        return False
    for header in headers:
        if not _plain_line(header) or not header:
            return False
    for row in rows:
        for cell in row:
            if type(cell) is not str or cell != cell.strip():
                return False
            for line in cell.split("\n"):
                if not _plain_line(line):
                    return False
    return True


def _plain_line(line: str) -> bool:
    return line.isascii() and line.isprintable() and line == line.strip()
