"""Every report format on fixed reports (golden files), the JSON round trip, merge and redaction.

The fixtures are real reports taken in the namespace lab from three vantage points (console1, win-agent1,
lin-agent1). To refresh the golden files after an intended change: NETCHECK_UPDATE_GOLDEN=1 pytest tests/unit.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from netcheck import cli
from netcheck.model.checks import Report
from netcheck.report.base import compact_link_matrix
from netcheck.report.formats import Format, render
from netcheck.report.html import render_html
from netcheck.report.json import ReportError, parse_report, render_json, report_from_dict, report_to_dict
from netcheck.report.junit import render_junit
from netcheck.report.markdown import render_markdown
from netcheck.report.redact import redact
from netcheck.report.table import render_table
from tests.cli_runner import CliRunner
from tests.report_helpers import merge_reports, redact_dict
from tests.schema import validate_report

FIXTURES = Path(__file__).parent / "fixtures"
GOLDEN = Path(__file__).parent / "golden"
VANTAGES = ("report_console.json", "report_agent_win.json", "report_agent_lin.json")
FORMATS: dict[str, Callable[[Report], str]] = {
    "table.txt": render_table,
    "report.json": render_json,
    "report.md": render_markdown,
    "junit.xml": render_junit,
    "report.html": render_html,
}


def load(name: str) -> Report:
    return parse_report((FIXTURES / name).read_text())


def merged() -> Report:
    return merge_reports([load(name) for name in VANTAGES], tool_version="0.1.0")


def golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("NETCHECK_UPDATE_GOLDEN"):
        path.write_text(text)
    assert path.exists(), f"no golden file {path}: run with NETCHECK_UPDATE_GOLDEN=1 once"
    assert text == path.read_text()


@pytest.mark.parametrize("name", FORMATS)
def test_console_report_in_every_format(name: str) -> None:
    golden(f"console.{name}", FORMATS[name](load("report_console.json")))


@pytest.mark.parametrize("name", FORMATS)
def test_merged_report_in_every_format(name: str) -> None:
    golden(f"merged.{name}", FORMATS[name](merged()))


@pytest.mark.parametrize("name", VANTAGES)
def test_json_round_trips(name: str) -> None:
    original = json.loads((FIXTURES / name).read_text())
    validate_report(original)
    assert report_to_dict(report_from_dict(original)) == original


def test_a_merged_report_round_trips_through_its_json_text_with_each_checks_source_host() -> None:
    report = merged()
    assert {r.source_host for r in report.results} >= {"console1", "win-agent1", "lin-agent1"}
    again = parse_report("".join(render(report, Format.JSON)))
    assert [(r.check.id, r.source_host) for r in again.results] == [(r.check.id, r.source_host) for r in report.results]
    assert again.merged_from == report.merged_from
    assert again == report


def test_report_command_re_renders_a_saved_report_unchanged(tmp_path: Path) -> None:
    source = FIXTURES / "report_console.json"
    result = CliRunner().invoke(cli.main, ["report", str(source), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == json.loads(source.read_text())
    markdown = tmp_path / "ticket.md"
    result = CliRunner().invoke(cli.main, ["report", str(source), "--format", "markdown", "--output", str(markdown)])
    assert result.exit_code == 0 and markdown.read_text() == render_markdown(load("report_console.json"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not JSON"),
        ('{"tool": {"name": "other"}}', "not a netcheck report"),
        ('{"tool": {"name": "netcheck"}, "schema_version": 9}', "schema_version 9 is not supported"),
        ('{"tool": {"name": "netcheck", "version": "1"}, "schema_version": 1}', "malformed report: 'started_at' is missing"),
    ],
)
def test_report_command_refuses_what_is_not_a_report(tmp_path: Path, text: str, message: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(text)
    with pytest.raises(ReportError, match=message):
        parse_report(text)
    result = CliRunner().invoke(cli.main, ["report", str(bad)])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_merge_of_three_vantage_points_is_one_matrix() -> None:
    report = merged()
    data = report_to_dict(report)
    validate_report(data)
    assert [v.hostname for v in report.merged_from] == ["console1", "win-agent1", "lin-agent1"]
    ids = [c["id"] for c in data["checks"]]
    assert len(ids) == len(set(ids))
    assert "tcp:agent@win-agent1->198.18.0.20:9876" in ids and "tcp:agent@lin-agent1->198.18.0.20:9876" in ids
    rows, columns, cells = compact_link_matrix(report, most_rows=100, most_columns=100)
    assert "198.18.0.20:9876" in columns and "198.18.0.32:445" in columns
    assert rows == ["console1 (console)", "win-agent1 (agent)", "lin-agent1 (agent)"]
    assert cells[("win-agent1 (agent)", "198.18.0.20:9876")] == "PASS"
    assert cells[("console1 (console)", "198.18.0.32:445")] == "FAIL"
    assert data["summary"]["fail"] == 6
    assert report_to_dict(report_from_dict(data)) == data  # a merged report round-trips too


def sensitive(report: Report) -> set[str]:
    """Every name and address in the fixtures that must not survive redaction."""
    text = render_json(report)
    found = set(re.findall(r"(?:\d{1,3}\.){3}\d{1,3}", text))
    found |= set(re.findall(r"[a-z0-9-]+(?:\.[a-z0-9-]+)*\.lab\.test", text))
    found |= {"console1", "win-agent1", "lin-agent1", "lab.test"}
    return found


@pytest.mark.parametrize("name", FORMATS)
def test_redaction_leaves_no_name_or_address_in_any_format(name: str) -> None:
    report = merged()
    secrets = sensitive(report)
    assert len(secrets) > 20  # the fixtures carry plenty to hide
    text = FORMATS[name](redact(report))
    leaked = sorted(s for s in secrets if s in text)
    assert leaked == []
    assert "host-1" in text and "ip-1" in text


def test_redaction_is_stable_and_keeps_the_verdicts() -> None:
    report = merged()
    once, twice = redact(report), redact(report)
    assert render_json(once) == render_json(twice)
    assert [r.verdict for r in once.results] == [r.verdict for r in report.results]
    data = redact_dict(report_to_dict(report))
    validate_report(data)
    addresses = {c["address"] for c in data["checks"] if c["address"]}
    assert all(a.startswith("ip-") for a in addresses)


def test_redact_flag_on_the_commands() -> None:
    result = CliRunner().invoke(cli.main, ["report", str(FIXTURES / "report_console.json"), "--format", "markdown", "--redact"])
    assert result.exit_code == 0
    assert not [s for s in sensitive(load("report_console.json")) if s in result.output]
