"""The table drawn without tabulate is the table tabulate draws ("simple" format), for any text."""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tabulate import tabulate

from netcheck.report.table import fill, simple_table

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


def test_a_str_subclass_and_a_table_without_columns_go_to_tabulate() -> None:
    """A str subclass may format otherwise than its length says (a str-mixin Enum formats as its name on some
    Pythons); a table of no columns is tabulate's to draw."""

    class Shown(str):
        def __format__(self, spec: str) -> str:
            return format("shown otherwise", spec)

    for rows, headers in [([[Shown("xyzw"), "b"]], ["h", "i"]), ([[]], []), ([[], []], [])]:
        assert simple_table(rows, headers) == tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True)
