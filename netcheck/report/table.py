"""The terminal report: a table, failing links first, then what to fix for each.

The table is the one tabulate's "simple" format draws; for plain text (printable ASCII, no column of
numbers) it is drawn here instead, because tabulate needs most of a minute for 30,000 rows. A unit test
holds the two to the same output.
"""

from __future__ import annotations

import re
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
    purposes: dict[str, str] = {}  # a few purposes, on thousands of rows
    for result in ordered(report.results):
        purpose = purposes.get(result.check.purpose)
        if purpose is None:
            purpose = purposes[result.check.purpose] = fill(visible(result.check.purpose), 34)
        row = [
            result.verdict.upper(),
            visible(link_label(result)),
            visible(result.address or ""),
            visible(result.state),
            fill(visible(result.detail), 60),
            purpose,
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
            wrapped = indented(fill(visible(result.remediation), 100 - len(INDENT)))
            lines.append(f"{number:>3}. {visible(link_label(result))}\n{wrapped}")
    lines += ["", visible(summary_line(report))]
    return "\n".join(lines) + "\n"


INDENT = "     "


def indented(text: str) -> str:
    """textwrap.fill(text, width, initial_indent=INDENT, subsequent_indent=INDENT) is fill(text, width -
    len(INDENT)) with each line indented (the same width for every line); an empty text stays empty."""
    return "\n".join(INDENT + line for line in text.split("\n")) if text else ""


def table_chunks(report: Report, *, verbose: bool) -> list[str]:
    return [render_table(report, verbose=verbose)]


def fill(text: str, width: int) -> str:
    """textwrap.fill(text, width), without its cost for the common short line (kept as is), for plain words
    (split here at spaces, as textwrap would) or for a text seen before."""
    if len(text) <= width and text.isprintable() and not text.endswith(" ") and (not text or not text.isspace()):
        return text
    if _greedy_is_textwrap(text, width):
        lines = []
        while len(text) > width:
            cut = text.rfind(" ", 0, width + 1)
            lines.append(text[:cut])
            text = text[cut + 1 :]
        lines.append(text)
        return "\n".join(lines)
    return _fill(text, width)


_HYPHEN_BREAK = re.compile(r"[^\d\W]-[^\d\W]|[\w!\"'&.,?]--", re.ASCII)  # used on ASCII text only
"""Where textwrap might break a word (TextWrapper.wordsep_re): a hyphen between letters, or an em-dash ("--")
after a word. A looser test than textwrap's own, so a text it passes has no break but its spaces."""


def _greedy_is_textwrap(text: str, width: int) -> bool:
    """True when textwrap.fill(text, width) is the greedy split at single spaces: printable ASCII words, one
    space apart, none longer than the width (textwrap would break it), no hyphen textwrap could break at."""
    return (
        text.isascii()
        and text.isprintable()
        and text == text.strip(" ")
        and "  " not in text
        and ("-" not in text or _HYPHEN_BREAK.search(text) is None)
        and max(map(len, text.split(" "))) <= width
    )


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
    widths = _widths(rows, headers)
    layout = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [
        "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip(),
        "  ".join("-" * w for w in widths),
    ]
    if not any("\n" in cell for row in rows for cell in row):
        out += [layout.format(*row).rstrip() for row in rows]
        return "\n".join(out)
    # Like tabulate: in a table with a multi-line cell, every cell is its splitlines() (an empty row draws
    # no line at all).
    for row in rows:
        split = [cell.splitlines() if "\n" in cell else [cell] if cell else [] for cell in row]
        height = max(map(len, split))
        if height == 1:
            out.append(layout.format(*row).rstrip())
            continue
        padded = [cell + [""] * (height - len(cell)) if len(cell) < height else cell for cell in split]
        out += [layout.format(*parts).rstrip() for parts in zip(*padded, strict=True)]
    return "\n".join(out)


def _widths(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> list[int]:
    """Each column as wide as its widest line, at least its header + 2."""
    widths = [len(h) + MIN_PADDING for h in headers]
    for index in range(len(headers)):
        column = [cell for row in rows if (cell := row[index])]
        if not column:
            continue
        if any("\n" in cell for cell in column):
            longest = max(len(line) for cell in column for line in cell.split("\n"))
        else:
            longest = max(map(len, column))
        widths[index] = max(widths[index], longest)
    return widths


def _plain(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> bool:
    """True when every cell and header is printable ASCII text (lines without padding blanks): then simple_table
    draws what tabulate draws with disable_numparse (every cell is text, as the report wants). Checked on all
    cells at once: joined by newlines, a line's edges are a cell's edges or its own line breaks."""
    if not rows or any(len(row) != len(headers) for row in rows):
        return False
    if not all(_plain_line(header) and header for header in headers):
        return False
    if not all(type(cell) is str and cell[:1] != "\n" and cell[-1:] != "\n" for row in rows for cell in row):
        return False  # a cell's own edges: no blank line around it
    text = "\n".join("\n".join(row) for row in rows)
    return (
        text.isascii()
        and text.replace("\n", "").isprintable()
        and text == text.strip(" ")
        and " \n" not in text
        and "\n " not in text
    )


def _plain_line(line: str) -> bool:
    return line.isascii() and line.isprintable() and line == line.strip()
