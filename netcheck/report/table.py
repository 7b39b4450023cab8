"""The terminal report: a table, failing links first, then what to fix for each.

The table is the one tabulate's "simple" format draws; for plain text (printable ASCII, no column of
numbers) it is drawn here instead, because tabulate needs most of a minute for 30,000 rows. A unit test
holds the two to the same output.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import starmap, zip_longest
from typing import NamedTuple

from netcheck.model.checks import Report, Result
from netcheck.model.kinds import State, Verdict
from netcheck.report.base import heading, link_label, link_matrix, ordered, summary_line
from netcheck.report.json import evidence_to_dict
from netcheck.report.text import visible

MIN_PADDING = 2
"""tabulate's: a column is at least its header plus two."""


def render_table(report: Report, *, verbose: bool = False) -> str:
    """Every string passes through `visible`: a banner's escape sequences must not drive the terminal."""
    rows = list(map(_Rows(verbose=verbose).make, ordered(report.results)))
    headers = ["verdict", "link", "address", "state", "detail", "purpose"] + (["evidence"] if verbose else [])
    lines = [visible(heading(report)), "", _table([row.cells for row in rows], [row.shape for row in rows], headers)]
    if report.merged_from:
        sources, targets, cells = link_matrix(report)
        matrix = [[visible(source), *(str(cells.get((source, t), "")).upper() for t in targets)] for source in sources]
        lines += [
            "",
            "Link matrix (worst verdict per source and target port):",
            simple_table(matrix, ["from", *map(visible, targets)]),
        ]
    fixes = [row for row in rows if row.fix is not None]  # needs_attention's, in its order
    if fixes:
        lines += ["", "What to fix:"]
        lines += [f"{number:>3}. {row.label}\n{row.fix}" for number, row in enumerate(fixes, start=1)]
    lines += ["", visible(summary_line(report))]
    return "\n".join(lines) + "\n"


class Row(NamedTuple):
    """One result's row of the table, ready to be laid out, and its entry under "What to fix"."""

    cells: tuple[str, ...]
    shape: Shape
    label: str
    fix: str | None
    """The remediation, wrapped and indented, when the result needs attention and says what to do."""


class _Rows:
    """Makes each result's row, finding each purpose's cell once (thousands of rows share a few purposes)."""

    def __init__(self, *, verbose: bool = False) -> None:
        self.verbose = verbose
        self.purposes: dict[str, _Purpose] = {}

    def make(self, result: Result) -> Row:
        purpose = self.purposes.get(result.check.purpose)
        if purpose is None:
            purpose = self.purposes[result.check.purpose] = _purpose(result.check.purpose)
        label = visible(link_label(result))
        address = visible(result.address or "")
        verdict = _VERDICTS.get(result.verdict) or result.verdict.upper()
        state = _STATES.get(result.state) or visible(result.state)
        detail = fill(visible(result.detail), 60)
        fix = None
        if result.remediation and result.verdict in ATTENTION:
            fix = indented(fill(visible(result.remediation), 100 - len(INDENT)))
        if self.verbose:
            evidence = ", ".join(f"{k}={v}" for k, v in evidence_to_dict(result.evidence).items())
            with_evidence = (verdict, label, address, state, detail, purpose.text, fill(visible(evidence), 50))
            return Row(with_evidence, shape(with_evidence), label, fix)
        cells = (verdict, label, address, state, detail, purpose.text)
        return Row(cells, _report_row_shape(cells, purpose), label, fix)


class _Purpose(NamedTuple):
    """A purpose as its cell shows it, found once a purpose (thousands of rows share a few)."""

    text: str
    """Filled to the column's width."""
    plain: bool
    lines: list[str]
    width: int
    tail: tuple[tuple[str, ...], ...]
    """The printed lines after a row's first, where the purpose is its only cell of more lines than one."""


def _purpose(purpose: str) -> _Purpose:
    text = fill(visible(purpose), 34)
    lines = text.split("\n")
    tail = tuple(("", "", "", "", "", line) for line in lines[1:])
    return _Purpose(text, _plain_text(text) and text[:1] != "\n" and text[-1:] != "\n", lines, max(map(len, lines)), tail)


def _report_row_shape(cells: tuple[str, ...], purpose: _Purpose) -> Shape:
    """shape(cells) for a report's row (verdict, label, address, state, detail, purpose: made by _Rows.make),
    knowing what make knows: the first four cells are one line each (visible escapes line breaks, and a verdict
    has none), and the purpose's plainness and lines. A unit test holds it to shape."""
    verdict, label, address, state, detail, _ = cells
    if not verdict:  # never made (a verdict has a name): the general case
        return shape(cells)
    text = f"{verdict}\n{label}\n{address}\n{state}\n{detail}"
    if not (purpose.plain and _plain_text(text) and detail[:1] != "\n" and detail[-1:] != "\n"):
        return shape(cells)  # tabulate's table, or an odd verdict or state: the general case decides
    first = len(verdict), len(label), len(address), len(state)
    if "\n" not in detail:
        widths = (*first, len(detail), purpose.width)
        if not purpose.tail:
            return Shape(True, widths, False, None)
        # Rows of one-line details share their purpose's later lines (memory: 50,000 rows are held)
        return Shape(True, widths, True, ((verdict, label, address, state, detail, purpose.lines[0]), *purpose.tail))
    detail_lines = detail.split("\n")
    lines = zip_longest((verdict,), (label,), (address,), (state,), detail_lines, purpose.lines, fillvalue="")
    return Shape(True, (*first, max(map(len, detail_lines)), purpose.width), True, tuple(lines))


_VERDICTS = {verdict: verdict.upper() for verdict in Verdict}
_STATES = {state: visible(state) for state in State}
ATTENTION = frozenset((Verdict.FAIL, Verdict.ERROR, Verdict.WARN))
"""The verdicts of needs_attention: their remediations are listed under "What to fix"."""


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


_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_BEFORE_DASH = _LETTERS | frozenset("0123456789!\"'&.,?")


def _hyphen_break(text: str) -> bool:
    """Whether textwrap might break an ASCII `text` at a hyphen (TextWrapper.wordsep_re): a hyphen between
    letters, or an em-dash ("--") after a word. Looser than textwrap's own test, so a text without one has no
    break but its spaces. Each hyphen is looked at where it is (a regular expression over the whole text
    took 20 µs a remediation)."""
    at = text.find("-")
    while at != -1:
        before, after = text[at - 1 : at], text[at + 1 : at + 2]
        if before and after and ((before in _LETTERS and after in _LETTERS) or (after == "-" and before in _BEFORE_DASH)):
            return True
        at = text.find("-", at + 1)
    return False


def _greedy_is_textwrap(text: str, width: int) -> bool:
    """True when textwrap.fill(text, width) is the greedy split at single spaces: printable ASCII words, one
    space apart, none longer than the width (textwrap would break it), no hyphen textwrap could break at."""
    return (
        text.isascii()
        and text.isprintable()
        and text == text.strip(" ")
        and "  " not in text
        and not _hyphen_break(text)
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
    return _table(rows, [shape(row) for row in rows], headers)


class Shape(NamedTuple):
    """What laying out one row needs to know of it, found once a row (see shape)."""

    plain: bool
    """Every cell is printable ASCII text whose lines have no padding blanks (see _plain)."""
    widths: tuple[int, ...]
    """Each cell's longest line."""
    newline: bool
    """A cell has more than one line."""
    lines: tuple[tuple[str, ...], ...] | None
    """Where a cell has more lines: the row's printed lines, each cell's line (or "") per line; None for a
    row of one line. (tabulate: in a table with a multi-line cell, every cell is its splitlines(), so a row
    of empty cells draws no line at all.)"""


def shape(row: Sequence[str]) -> Shape:
    if not all(type(cell) is str for cell in row):  # no text, or a str subclass (its format may differ): tabulate's
        return _UNUSUAL
    text = "\n".join(row)
    # A cell that starts or ends with a line break shows as two in a row, or at the row's edge.
    edges = "\n\n" in text or text[:1] == "\n" or text[-1:] == "\n"
    if not _plain_text(text) or (edges and not all(cell[:1] != "\n" and cell[-1:] != "\n" for cell in row)):
        return _UNUSUAL
    if text.count("\n") == len(row) - 1:  # the join's own line breaks: every cell is one line
        return Shape(True, tuple(map(len, row)), False, None if text.strip("\n") else ())
    parts = [cell.split("\n") for cell in row]  # an empty cell is one empty line: zip_longest pads with those
    widths = tuple([max(map(len, lines)) for lines in parts])
    return Shape(True, widths, True, tuple(zip_longest(*parts, fillvalue="")))


_UNUSUAL = Shape(False, (), False, None)


def _plain_text(text: str) -> bool:
    """A row's cells joined by line breaks (its lines are the cells' lines): printable ASCII, no line that
    starts or ends with a blank. (A cell must not start or end with a line break either: see shape.)"""
    return (
        text.isascii()
        and text.replace("\n", "").isprintable()
        and text == text.strip(" ")
        and " \n" not in text
        and "\n " not in text
    )


def _table(rows: Sequence[Sequence[str]], shapes: Sequence[Shape], headers: Sequence[str]) -> str:
    """simple_table, with each row's shape found already."""
    if not _plain_shapes(rows, shapes, headers):
        from tabulate import tabulate  # noqa: PLC0415 - only the unusual table needs it

        return tabulate(rows, headers=list(headers), tablefmt="simple", disable_numparse=True)
    columns = zip(*(row.widths for row in shapes), strict=True)  # each cell's longest line, by column
    widths = [max(len(h) + MIN_PADDING, *column) for h, column in zip(headers, columns, strict=True)]
    layout = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [
        "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip(),
        "  ".join("-" * w for w in widths),
    ]
    printed: Iterable[Sequence[str]] = rows  # each printed line's cells
    if any(row.newline for row in shapes):
        printed = []
        for row, found in zip(rows, shapes, strict=True):
            if found.lines is None:
                printed.append(row)
            else:
                printed += found.lines
    # 135,000 lines for 10,000 agents: formatted and stripped in C, a line at a time
    out += map(str.rstrip, starmap(layout.format, printed))
    return "\n".join(out)


def _plain(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> bool:
    """True when every cell and header is printable ASCII text (lines without padding blanks): then simple_table
    draws what tabulate draws with disable_numparse (every cell is text, as the report wants)."""
    return _plain_shapes(rows, [shape(row) for row in rows], headers)


def _plain_shapes(rows: Sequence[Sequence[str]], shapes: Sequence[Shape], headers: Sequence[str]) -> bool:
    if not rows or not headers or any(len(row) != len(headers) for row in rows):
        return False
    if not all(_plain_line(header) and header for header in headers):
        return False
    return all(row.plain for row in shapes)


def _plain_line(line: str) -> bool:
    return line.isascii() and line.isprintable() and line == line.strip()
