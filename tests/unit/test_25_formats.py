"""The table fits the terminal (COLUMNS, 80 off a terminal), colours only on a terminal without NO_COLOR, lists
every check with --all; the ticket's Markdown stays within 30,000 characters at 10,000 agents."""

from __future__ import annotations

import io
import re
from functools import cache
from pathlib import Path

import pytest

from benchmarks.report_size import synthetic_report
from netcheck.model.checks import Report
from netcheck.model.kinds import Verdict
from netcheck.report.diagnosis import diagnose
from netcheck.report.formats import Format, render
from netcheck.report.json import parse_report
from netcheck.report.markdown import LIMIT, render_markdown
from netcheck.report.output import Output, emit
from netcheck.report.table import Terminal, render_table, table_chunks, terminal

FIXTURES = Path(__file__).parent / "fixtures"
GOLDEN = Path(__file__).parent / "golden"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@cache
def fleet() -> Report:
    return synthetic_report(10_000)


def fixture(name: str) -> Report:
    return parse_report((FIXTURES / name).read_text())


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_width_is_columns_else_80_off_a_terminal() -> None:
    assert terminal(io.StringIO(), {"COLUMNS": "80"}) == Terminal(80, colour=False)
    assert terminal(io.StringIO(), {}) == Terminal(80, colour=False)
    assert terminal(io.StringIO(), {"COLUMNS": "132"}).width == 132


def test_colour_only_on_a_terminal_and_never_with_no_color() -> None:
    assert terminal(_Tty(), {"COLUMNS": "100"}) == Terminal(100, colour=True)
    assert not terminal(_Tty(), {"COLUMNS": "100", "NO_COLOR": "1"}).colour
    assert not terminal(io.StringIO(), {"COLUMNS": "100"}).colour
    report = fixture("report_console.json")
    coloured = table_chunks(report, verbose=False, terminal_=Terminal(80, colour=True))[0]
    plain = table_chunks(report, verbose=False, terminal_=Terminal(80, colour=False))[0]
    assert "\x1b[1;31m" in coloured and "\x1b" not in plain
    assert ANSI.sub("", coloured).splitlines()[:3] == plain.splitlines()[:3]


@pytest.mark.parametrize("name", ["report_console.json", "report_access.json", "report_agent_win.json"])
@pytest.mark.parametrize("width", [40, 80, 120])
def test_no_line_is_wider_than_the_terminal(name: str, width: int) -> None:
    for show_all in (False, True):
        for verbose in (False, True):
            text = render_table(fixture(name), width=width, show_all=show_all, verbose=verbose, colour=True)
            assert max(len(ANSI.sub("", line)) for line in text.splitlines()) <= width


def test_golden_tables_fit_80_columns() -> None:
    for name in ("console.table.txt", "merged.table.txt", "access.table.txt", "access-live.table.txt"):
        assert max(map(len, (GOLDEN / name).read_text().splitlines())) <= 80, name


def test_columns_80_through_emit(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    emit(fixture("report_access.json"), Output(), print)
    out = capsys.readouterr().out
    assert max(map(len, out.splitlines())) <= 80
    assert "\x1b" not in out  # captured stdout is no terminal


def test_a_table_written_to_a_file_is_never_coloured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdout", _Tty())
    monkeypatch.delenv("NO_COLOR", raising=False)
    path = tmp_path / "table.txt"
    emit(fixture("report_console.json"), Output(path=path, quiet=True), print)
    assert "\x1b" not in path.read_text()


def test_default_lists_problems_and_counts_passes_all_lists_every_check() -> None:
    report = fixture("report_console.json")
    short = render_table(report)
    every = render_table(report, show_all=True)
    assert "Passing: 16 checks" in short
    assert "host:interfaces" not in short and "interfaces: eth0" not in short
    assert "interfaces: eth0 198.18.0.10/24" in every  # a host check shows what was found
    assert "not-applicable" not in every and "enabled" not in every.split("Every check:")[1]
    wide = render_table(report, show_all=True, width=200)
    assert "reachable, nothing listens yet (expected before installation)" in wide
    assert "".join(render(report, Format.TABLE, show_all=True)).count("\nPASS") >= 16


def test_passes_made_suspect_are_shown_beside_them() -> None:
    from netcheck.model.checks import Vantage  # noqa: PLC0415
    from netcheck.model.kinds import Role, State  # noqa: PLC0415
    from tests.unit.test_25_diagnosis import host_check, link, report  # noqa: PLC0415

    results = (
        host_check(Role.MANAGEMENT_SERVER, 9876, "nginx", host="ms1"),
        link(Role.AGENT, "198.18.0.20", Role.MANAGEMENT_SERVER, 9876, State.OPEN, Verdict.PASS, host="a1"),
    )
    merged = (Vantage("ms1", Role.MANAGEMENT_SERVER, "linux", ("198.18.0.20",)), Vantage("a1", Role.AGENT, "linux"))
    text = render_table(report(*results, hostname="merged from 2 vantage points", merged=merged))
    row = text.split("found")[1]
    assert "PASS" in row and "suspect: may have reached nginx" in " ".join(row.split())
    assert "may have reached nginx" in render_markdown(report(*results, merged=merged))


def test_ten_thousand_agents_table_is_a_few_hundred_lines() -> None:
    """Its render time is benchmarks/report_size.py's to measure (docs/benchmarks.md)."""
    report = fleet()
    text = render_table(report, width=80)
    lines = text.splitlines()
    assert len(lines) <= 300
    assert max(map(len, lines)) <= 80
    assert "2,500 machines" in text and "and 2,495 more" in text


def test_ten_thousand_agents_markdown_fits_a_ticket() -> None:
    text = render_markdown(fleet())
    assert len(text) <= LIMIT
    assert "2,500 machines" in text and "Attachment:" in text
    assert text.count("| FAIL") <= 60


def test_markdown_of_many_groups_stays_within_the_limit() -> None:
    from netcheck.model.kinds import Role, State  # noqa: PLC0415
    from tests.unit.test_25_diagnosis import link, report  # noqa: PLC0415

    # 2,000 distinct server links failing from one agent each: many groups, long causes
    results = [
        link(Role.AGENT, f"server{n}.example", Role.LICENSE_SERVER, 9876, State.FILTERED, Verdict.FAIL, host=f"a{n}")
        for n in range(2_000)
    ]
    text = render_markdown(report(*results))
    assert len(text) <= LIMIT
    assert "more groups in the attachment" in text
    assert text.rstrip().endswith("page to open in a browser.")


def test_every_groups_count_matches_its_machines_at_ten_thousand() -> None:
    diagnosis = diagnose(fleet())
    (group,) = diagnosis.groups
    assert group.count == len(group.machines) == 2_500
    assert len(group.checks) == fleet().count(Verdict.FAIL) == 7_500
    assert diagnosis.passed + diagnosis.skipped + sum(len(g.checks) for g in diagnosis.groups) == len(fleet().results)


def test_the_diagnosis_and_its_formats_do_not_import_the_plan() -> None:
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    code = (
        "import sys, netcheck.report.diagnosis, netcheck.report.table, netcheck.report.markdown, netcheck.report.json;"
        "print('netcheck.plan' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_many_groups_are_capped_in_the_table_but_not_with_all() -> None:
    from netcheck.model.kinds import Role, State  # noqa: PLC0415
    from netcheck.report.table import MAX_GROUPS  # noqa: PLC0415
    from tests.unit.test_25_diagnosis import link, report  # noqa: PLC0415

    results = [
        link(Role.AGENT, f"server{n}.example", Role.LICENSE_SERVER, 9876, State.FILTERED, Verdict.FAIL, host=f"a{n}")
        for n in range(50)
    ]
    many = report(*results)
    assert len(diagnose(many).groups) == 50
    short, every = render_table(many), render_table(many, show_all=True)
    assert f"{MAX_GROUPS}. FAIL" in short and f"{MAX_GROUPS + 1}. FAIL" not in short
    assert f"... and {50 - MAX_GROUPS} more groups" in short
    assert "50. FAIL" in every


def test_a_link_misled_by_a_stale_name_says_so_in_its_row() -> None:
    text = render_table(fixture("report_console.json"), width=200)
    row = next(line for line in text.splitlines() if "console -> stale.lab.test:9876" in line)
    assert "the stale hosts line for stale.lab.test sent it to 198.18.0.99, not 198.18.0.26" in row


def test_junit_carries_the_diagnosis() -> None:
    import xml.etree.ElementTree as ET  # noqa: PLC0415

    from netcheck.report.junit import render_junit  # noqa: PLC0415

    root = ET.fromstring(render_junit(fixture("report_console.json")))  # noqa: S314 - our own output
    suite = root.find("testsuite")
    assert suite is not None
    prop = suite.find("properties/property")
    assert prop is not None and prop.get("value") == "FAIL: 3 problems on 4 machines."
    out = suite.find("system-out")
    assert out is not None and "1. FAIL: Agents that drop everything or are down" in (out.text or "")
    failures = [case.find("failure") for case in suite.iter("testcase") if case.find("failure") is not None]
    assert all("Diagnosis #" in (f.text or "") for f in failures if f is not None)
