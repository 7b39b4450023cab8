"""The terminal report: the headline, the diagnosis (what is wrong, on how many machines, what to do), then the
failing and warning links; passing links are counted (`show_all` lists every check).

It fits the terminal's width: tabulate wraps text inside its cells (maxcolwidths), and the diagnosis is wrapped
to the same width. Colour only when asked (`terminal()` says whether stdout is a terminal and NO_COLOR is unset).
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import zip_longest
from typing import TextIO

from tabulate import tabulate

from netcheck.model import Kind, Report, Result, Verdict
from netcheck.report.base import ORDER, compact_link_matrix, heading, link_label, summary_line
from netcheck.report.diagnosis import Diagnosis, Group, diagnose, first_machines, plural, state_words
from netcheck.report.text import visible

DEFAULT_WIDTH = 80
MIN_WIDTH = 40
ROWS_PER_GROUP = 10
"""Failing or warning links shown for each group (the rest are counted; show_all lists them)."""
MAX_ROWS = 60
"""Failing or warning links shown in all (a 10,000-agent report stays a few screens)."""
SHOWN_MACHINES = 5
MAX_GROUPS = 20
"""Groups shown (the most blocking first; show_all shows every one)."""

_COLOURS = {Verdict.FAIL: "\x1b[1;31m", Verdict.ERROR: "\x1b[1;35m", Verdict.WARN: "\x1b[33m", Verdict.PASS: "\x1b[32m"}
_RESET = "\x1b[0m"


@dataclass(frozen=True)
class Terminal:
    """Where the table goes: its width in columns, and whether it may be coloured."""

    width: int = DEFAULT_WIDTH
    colour: bool = False


def terminal(stream: TextIO | None = None, env: Mapping[str, str] | None = None) -> Terminal:
    """The width (COLUMNS, else the terminal's, else 80 when `stream` is no terminal) and whether to colour
    (only on a terminal, and never with NO_COLOR set or TERM=dumb)."""
    stream = sys.stdout if stream is None else stream
    env = os.environ if env is None else env
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    columns = env.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        width = int(columns)
    elif tty:
        width = shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns
    else:
        width = DEFAULT_WIDTH
    colour = tty and not env.get("NO_COLOR") and env.get("TERM") != "dumb"
    return Terminal(max(width, MIN_WIDTH), colour)


def render_table(
    report: Report, *, verbose: bool = False, show_all: bool = False, width: int = DEFAULT_WIDTH, colour: bool = False
) -> str:
    """Every string passes through `visible`: a banner's escape sequences must not drive the terminal."""
    width = max(width, MIN_WIDTH)
    diagnosis = diagnose(report)
    paint = _Paint(colour=colour)
    lines = [*_wrap(visible(heading(report)), width), ""]
    lines += _wrap(paint(diagnosis.verdict, visible(diagnosis.headline)), width)
    if diagnosis.groups:
        lines += ["", *_wrap("What to fix, most blocking first:", width)]
        shown = diagnosis.groups if show_all else diagnosis.groups[:MAX_GROUPS]
        for number, group in enumerate(shown, start=1):
            lines += _group_lines(number, group, width, paint)
        if len(shown) < len(diagnosis.groups):
            more = len(diagnosis.groups) - len(shown)
            lines += _wrap(f"... and {plural(more, 'more group')}: --all lists them (so does the JSON report).", width)
    rows, left = attention_rows(report, diagnosis, show_all=show_all)
    if rows:
        title = "Every check:" if show_all else "Failing and warning checks (passing ones are counted below):"
        lines += ["", *_wrap(title, width), _rows_table(rows, width, paint, verbose=verbose)]
    if left:
        lines += _wrap(f"... and {left:,} more failing or warning checks: --all lists them (so does the JSON report).", width)
    if not show_all:
        lines += ["", *_wrap(_passing_line(diagnosis), width)]
    if report.merged_from:
        matrix = compact_link_matrix(report)
        if matrix[1]:
            lines += ["", *_wrap("Link matrix (worst verdict per source and destination; n/m: n of m links):", width)]
            lines.append(_matrix_table(*matrix, width))
    lines += ["", *_wrap(visible(summary_line(report)), width)]
    return "\n".join(lines) + "\n"


def table_chunks(report: Report, *, verbose: bool, show_all: bool = False, terminal_: Terminal | None = None) -> list[str]:
    """The table for `terminal_` (by default what stdout is: see `terminal`)."""
    where = terminal_ or terminal()
    return [render_table(report, verbose=verbose, show_all=show_all, width=where.width, colour=where.colour)]


class _Paint:
    def __init__(self, *, colour: bool) -> None:
        self.colour = colour

    def __call__(self, verdict: Verdict, text: str) -> str:
        code = _COLOURS.get(verdict)
        return f"{code}{text}{_RESET}" if self.colour and code else text


def _wrap(text: str, width: int, indent: str = "", first: str = "") -> list[str]:
    return textwrap.wrap(text, width, initial_indent=first or indent, subsequent_indent=indent) or [first.rstrip()]


def _group_lines(number: int, group: Group, width: int, paint: _Paint) -> list[str]:
    label = f"{number:>2}. {group.verdict.upper():<5} "
    indent = " " * len(label)
    blocks = " [stops every agent: fix first]" if group.blocks_all else ""
    # the label's colour goes on after wrapping: textwrap counts the escape codes as text
    cause = _wrap(visible(group.cause) + blocks, width, indent, label)
    cause[0] = cause[0].replace(label, paint(group.verdict, label.rstrip()) + " ", 1)
    machines = visible(first_machines(group.machines, SHOWN_MACHINES))
    out = [
        *cause,
        *_wrap(f"{plural(group.count, 'machine')}: {machines}", width, indent),
        *_wrap(f"Fix: {visible(group.fix)}", width, indent),
    ]
    if group.note:
        out += _wrap(f"Note: {visible(group.note)}", width, indent)
    return out


def _passing_line(diagnosis: Diagnosis) -> str:
    suspect = f" ({len(diagnosis.suspect):,} of them suspect: see above)" if diagnosis.suspect else ""
    skipped = f"; {plural(diagnosis.skipped, 'check')} not needed here" if diagnosis.skipped else ""
    return f"Passing: {plural(diagnosis.passed, 'check')}{suspect}{skipped}. --all lists every check."


def found_text(result: Result, note: str, *, verbose: bool) -> str:
    """What was found: for host, discovery and name checks the finding itself, for links the state in words."""
    kind = result.check.kind
    if kind in (Kind.HOST, Kind.DISCOVERY, Kind.NAME, Kind.SERVICE):
        text = result.detail
    elif kind is Kind.ACCESS:  # its detail starts with the named cause: "bad-password-1326: win1 refused ..."
        text = f"{state_words(result, causes=False)}; {result.detail}" if result.detail else state_words(result)
    else:
        text = state_words(result)
        if verbose and result.detail:
            text = f"{text}: {result.detail}"
    if note:  # Diagnosis.row_note: a suspect pass, a link a stale name misled
        text = f"{text}; {note}"
    return visible(text)


def check_label(result: Result) -> str:
    """The check as a person names it: "console -> win1:445", "access console -> win1:445", "name ms@lin1"."""
    check = result.check
    if check.kind in (Kind.TCP, Kind.SERVICE, Kind.ACCESS):
        source = f"{check.source}@{result.source_host}" if result.source_host else str(check.source)
        prefix = "" if check.kind is Kind.TCP else f"{check.kind} "
        label = f"{prefix}{source} -> {check.target.name}:{check.port}"
    else:
        label = link_label(result)
    if result.address and result.address != check.target.name and check.kind is not Kind.HOST:
        label = f"{label} ({result.address})"
    return visible(label)


def attention_rows(report: Report, diagnosis: Diagnosis, *, show_all: bool) -> tuple[list[tuple[int, Result, str]], int]:
    """(group number or 0, result, note beside it) rows, and how many failing or warning rows were left out."""
    last = len(diagnosis.groups) + 1

    def number(result: Result) -> int:
        return diagnosis.group_number(result) or 0

    if show_all:
        ordered = sorted(report.results, key=lambda r: (r.verdict not in _ATTENTION, number(r) or last, ORDER[r.verdict]))
        return [(number(r), r, diagnosis.row_note(r)) for r in ordered], 0
    shown: list[tuple[int, Result, str]] = []
    per_group: dict[int, int] = {}
    left = 0
    for result in sorted((r for r in report.results if r.verdict in _ATTENTION), key=lambda r: number(r) or last):
        group = number(result)
        if len(shown) >= MAX_ROWS or per_group.get(group, 0) >= ROWS_PER_GROUP:
            left += 1
            continue
        per_group[group] = per_group.get(group, 0) + 1
        shown.append((group, result, diagnosis.row_note(result)))
    suspect = [r for r in report.results if r.check.id in diagnosis.suspect and r.verdict not in _ATTENTION]
    shown += [(number(r), r, diagnosis.row_note(r)) for r in suspect[:ROWS_PER_GROUP]]
    return shown, left + max(0, len(suspect) - ROWS_PER_GROUP)


_ATTENTION = frozenset((Verdict.FAIL, Verdict.ERROR, Verdict.WARN))


def _fit(natural: Sequence[int], headers: Sequence[str], width: int, flexible: Sequence[int]) -> list[int | None]:
    """Each column's most width (tabulate's maxcolwidths), so the table's lines fit `width`: fixed columns keep
    their natural width; the flexible ones share the rest in proportion to their natural widths."""
    drawn = [max(n, len(h) + 2) for n, h in zip(natural, headers, strict=True)]
    room = width - 2 * (len(natural) - 1) - sum(d for i, d in enumerate(drawn) if i not in flexible)
    wanted = sum(drawn[i] for i in flexible)
    limits: list[int | None] = [None] * len(natural)
    if wanted <= room:
        return limits
    for i in flexible:
        limits[i] = max(len(headers[i]) + 2, room * drawn[i] // wanted)
    return limits


def _rows_table(rows: Sequence[tuple[int, Result, str]], width: int, paint: _Paint, *, verbose: bool) -> str:
    """One row a check: its verdict and group number ("FAIL #2"), the check, and what was found."""
    headers = ["result", "check", "found"]
    cells = [
        [
            f"{result.verdict.upper()} #{number}" if number else result.verdict.upper(),
            check_label(result),
            found_text(result, note, verbose=verbose),
        ]
        for number, result, note in rows
    ]
    natural = [max(len(headers[i]) + 2, *(len(row[i]) for row in cells)) for i in range(len(headers))]
    room = width - natural[0] - 4
    # the check's name gets at most 40 % of the room (at least 24 columns): the finding is what a person reads
    share = min(natural[1], max(min(24, room // 2), room * 40 // 100))
    check = max(share, min(natural[1], room - natural[2]))  # all the room the finding leaves
    limits: list[int | None] = [None, check if natural[1] > check else None, None]
    if check + natural[2] > room:
        limits[2] = room - check
    for row, (_number, result, _note) in zip(cells, rows, strict=True):
        row[0] = paint(result.verdict, row[0])
    return _tabulate(cells, headers, limits)


def _matrix_table(sources: Sequence[str], targets: Sequence[str], cells: Mapping[tuple[str, str], str], width: int) -> str:
    # "ms.example\n9876", "console1\n(console)": two short lines fit more columns than one long
    headers = ["from", *(visible(target).rpartition(":")[0] + "\n" + target.rpartition(":")[2] for target in targets)]
    rows = [
        [visible(source).replace(" (", "\n(", 1), *(cells.get((source, target), "") for target in targets)] for source in sources
    ]
    natural = [max(_longest(h), *(_longest(row[i]) for row in rows)) for i, h in enumerate(headers)]
    flexible = range(len(headers))
    limits = _fit(natural, ["" for _ in headers], width, flexible)
    return _tabulate(rows, headers, limits, header_limits=limits)


def _longest(cell: str) -> int:
    return max(map(len, cell.split("\n")))


def _tabulate(
    rows: Sequence[Sequence[str]], headers: Sequence[str], limits: Sequence[int | None], header_limits: Sequence[int | None] = ()
) -> str:
    """tabulate's "simple" table, each cell wrapped to its column's limit first (what maxcolwidths does, done
    here: tabulate wraps every cell of every row itself, 0.4 ms a row, where most cells fit as they are)."""
    lines: list[Sequence[str]] = []  # a row of several lines as that many rows of one: tabulate's fast path
    for row in rows:
        cells = [_fitted(cell, limit) for cell, limit in zip(row, limits, strict=True)]
        if any("\n" in cell for cell in cells):
            lines += zip_longest(*(cell.split("\n") for cell in cells), fillvalue="")
        else:
            lines.append(cells)
    shown = [_fitted(header, limit) for header, limit in zip(headers, list(header_limits) or limits, strict=True)]
    return tabulate(lines, headers=shown, tablefmt="simple", disable_numparse=True)


@functools.lru_cache(maxsize=4096)
def _fitted(cell: str, limit: int | None) -> str:
    """`cell` wrapped to `limit` columns (thousands of rows share a few findings: each is wrapped once)."""
    if limit is None or all(len(line) <= limit for line in cell.split("\n")):
        return cell
    return "\n".join(textwrap.fill(line, limit) or line for line in cell.split("\n"))
