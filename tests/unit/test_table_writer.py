"""The table drawn without tabulate is the table tabulate draws ("simple" format), for any text."""

from __future__ import annotations

import textwrap
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tabulate import tabulate

from netcheck.model import Report, Result, Verdict
from netcheck.report.table import Prepared, _plain, fill, render_table, shape, simple_table
from tests.unit.test_json_writer import worked_ahead
from tests.unit.test_report import RESULTS, report

words = st.text(st.sampled_from("abcdefgh XYZ.:->1234567890,_"), max_size=30)
cells = (
    words.map(lambda text: textwrap.fill(text, 12))
    | words
    | st.text(max_size=8)
    | st.sampled_from(["12", "1,000", "0x1f", "nan", "1e5", "é", ""])
)


@settings(max_examples=400, deadline=None)
@given(
    st.integers(min_value=1, max_value=4).flatmap(
        lambda n: st.tuples(
            st.lists(st.text(st.sampled_from("abcxyz"), min_size=1, max_size=9), min_size=n, max_size=n),
            st.lists(st.lists(cells, min_size=n, max_size=n), max_size=6),
        )
    )
)
def test_simple_table_is_tabulates_simple_format(table: tuple[list[str], list[list[str]]]) -> None:
    headers, rows = table
    assert simple_table(rows, headers) == tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True)


def test_the_fast_path_is_taken_for_a_report_like_table() -> None:
    rows = [
        [
            "FAIL",
            "console -> 198.18.0.32:445",
            "198.18.0.32",
            "filtered",
            "filtered (no answer after 2 attempts)",
            "Sending files (installation\npackages)",
        ]
    ] * 3
    headers = ["verdict", "link", "address", "state", "detail", "purpose"]
    assert _plain(rows, headers)
    assert simple_table(rows, headers) == tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True)


@pytest.mark.parametrize(
    "rows",
    [
        [["é", "a"]],
        [[" pad", "a"]],
        [["tab\there", "a"]],
        [["\n", "a"]],
        [["a\n", "b"]],
        [["a", "\nb"]],
        [["a \nb", "c"]],
        [["a\n b", "c"]],
        [["\na", "b"]],  # a line break at the row's edges (the first cell's start, the last cell's end)
        [["a", "b\n"]],
        [["a\n"]],
        [["\n"]],
    ],
)
def test_unusual_tables_go_to_tabulate(rows: list[list[str]]) -> None:
    assert not _plain(rows, ["h1", "h2"])
    assert simple_table(rows, ["h1", "h2"]) == tabulate(rows, headers=["h1", "h2"], tablefmt="simple", disable_numparse=True)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=80), st.sampled_from([34, 50, 60]))
def test_fill_is_textwrap_fill(text: str, width: int) -> None:
    assert fill(text, width) == textwrap.fill(text, width)


report_words = st.text(st.sampled_from("abcXYZ019 -->():.,_"), max_size=140)


@settings(max_examples=1500, deadline=None)
@given(
    report_words
    | st.lists(st.sampled_from(["pre-install", "a", "SYN-ACK", "console->198.18.0.1:22", "x" * 40, "--"])).map(" ".join),
    st.sampled_from([5, 34, 60, 95]),
)
def test_fill_of_report_like_text_is_textwrap_fill(text: str, width: int) -> None:
    """Spaces, hyphens before letters or not, em-dashes, words longer than the width: the greedy split is
    taken only where textwrap would do the same."""
    assert fill(text, width) == textwrap.fill(text, width)


def test_the_greedy_split_is_taken_for_report_details() -> None:
    from netcheck.report.table import _greedy_is_textwrap  # noqa: PLC0415

    detail = "not checked: TCP 22 to 198.19.0.1 is open (see tcp:console->198.19.0.1:22)"
    assert _greedy_is_textwrap(detail, 60) and fill(detail, 60) == textwrap.fill(detail, 60)
    assert not _greedy_is_textwrap("reachable before pre-install checks ran", 20)  # textwrap may break at "pre-"


@settings(max_examples=800, deadline=None)
@given(report_words | st.text(max_size=120))
def test_indented_fill_is_textwrap_with_indents(text: str) -> None:
    from netcheck.report.table import INDENT, indented  # noqa: PLC0415

    expected = textwrap.fill(text, 100, initial_indent=INDENT, subsequent_indent=INDENT)
    assert indented(fill(text, 100 - len(INDENT))) == expected


# Rows made ahead (table.Prepared): while a SYN run waits for its probes, each result's row is made as it is
# decided; the table is then what render_table draws of the report alone, byte for byte.


def _lab_like_results() -> tuple[Result, ...]:
    """Results as a run makes them: FAIL/WARN/PASS/SKIP, remediations or none, details that wrap, a hostile
    banner (escaped), and one cell that only tabulate may draw (non-ASCII)."""
    base = RESULTS[0]
    details = [
        "filtered (no answer after 2 attempts)",
        "not checked: TCP 22 to 198.19.0.1 is open (see tcp:console->198.19.0.1:22), so SSH is what it needs",
        "\x1b[31mred\x1b[0m banner",
        "",
    ]
    verdicts = [Verdict.FAIL, Verdict.WARN, Verdict.PASS, Verdict.SKIP, Verdict.ERROR]
    results = []
    for index in range(40):
        results.append(
            replace(
                base,
                verdict=verdicts[index % 5],
                detail=details[index % 4],
                remediation=""
                if index % 3 == 0
                else f"Open TCP 445 on 198.19.0.{index}'s own firewall, for source ports 49152-65535.",
                address=f"198.19.0.{index}",
                elapsed_ms=index / 7,
            )
        )
    return (*results, *RESULTS)


def _prepared(whole: Report, ahead_of: set[int], *, batch: int = 3, verbose: bool = False) -> Prepared:
    return worked_ahead(Prepared(verbose=verbose), whole, ahead_of, batch=batch)


@settings(max_examples=60, deadline=None)
@given(st.sets(st.integers(min_value=0, max_value=42)), st.integers(min_value=1, max_value=5), st.booleans(), st.booleans())
def test_rows_made_ahead_draw_the_same_table(ahead_of: set[int], batch: int, verbose: bool, unusual: bool) -> None:
    results = _lab_like_results()
    if unusual:  # a non-ASCII detail: the whole table goes to tabulate, rows made ahead or not
        results = (*results[:5], replace(results[5], detail="Überwachung"), *results[6:])
    whole = report(results)
    prepared = _prepared(whole, ahead_of, batch=batch, verbose=verbose)
    assert len(prepared.made) == len(ahead_of)
    assert "".join(prepared.chunks(whole)) == render_table(whole, verbose=verbose)


def test_a_row_replaced_after_it_was_made_is_made_again() -> None:
    """Settling an agent of unknown OS replaces its results after the run made their rows: the table shows the
    report's own result (rows go by identity, not equality)."""
    whole = report(_lab_like_results())
    prepared = _prepared(whole, set(range(len(whole.results))))
    settled = replace(
        whole, results=(replace(whole.results[0], remediation="Give its OS (--agent 198.19.0.0:windows)."), *whole.results[1:])
    )
    text = render_table(settled, prepared=prepared)
    assert text == render_table(settled)
    assert "Give its OS" in text


def test_rows_made_for_the_other_verbosity_are_not_used() -> None:
    whole = report(_lab_like_results())
    assert render_table(whole, verbose=True, prepared=_prepared(whole, {0, 1, 2})) == render_table(whole, verbose=True)


def test_a_row_that_cannot_be_made_never_fails_the_run() -> None:
    """Making rows during the run never raises into it: the work stops, and the report meets the error itself."""

    class Unprintable:
        def __str__(self) -> str:
            raise ValueError("no text")

    whole = report((RESULTS[0], replace(RESULTS[1], detail=Unprintable()), RESULTS[2]))  # type: ignore[arg-type]
    prepared = Prepared()
    for result in whole.results:
        prepared.add(result)
    assert prepared.work() is False
    assert prepared.work() is False  # stopped for good
    with pytest.raises(ValueError, match="no text"):
        render_table(whole, prepared=prepared)


_ODD_TEXT = st.sampled_from(["", " lead", "trail ", "é", "\x1b[1m", "two\nlines", "a" * 70, "pre-install -- x", "\ttab"])


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(_lab_like_results()),
    st.one_of(st.none(), _ODD_TEXT, st.text(max_size=90)),
    st.one_of(st.none(), _ODD_TEXT, st.text(max_size=12)),
    st.one_of(st.none(), _ODD_TEXT, st.text(max_size=40)),
    st.one_of(st.none(), _ODD_TEXT, st.text(max_size=20)),
)
def test_a_report_rows_shape_is_the_general_one(
    base: Result, detail: str | None, address: str | None, purpose: str | None, name: str | None
) -> None:
    """Prepared.make finds a row's shape knowing what it made (_report_row_shape); that is what shape finds."""
    result = base
    if detail is not None:
        result = replace(result, detail=detail)
    if address is not None:
        result = replace(result, address=address)
    if purpose is not None:
        result = replace(result, check=replace(result.check, purpose=purpose))
    if name is not None:
        result = replace(result, check=replace(result.check, target=replace(result.check.target, name=name)))
    row = Prepared().make(result)
    assert row.shape == shape(row.cells)


def test_a_str_subclass_and_a_table_without_columns_go_to_tabulate() -> None:
    """A str subclass may format otherwise than its length says (a str-mixin Enum formats as its name on some
    Pythons); a table of no columns is tabulate's to draw."""

    class Shown(str):
        def __format__(self, spec: str) -> str:
            return format("shown otherwise", spec)

    for rows, headers in [([[Shown("xyzw"), "b"]], ["h", "i"]), ([[]], []), ([[], []], [])]:
        assert simple_table(rows, headers) == tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True)
