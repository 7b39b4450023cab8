"""merge semantics: a vantage point is host name + role + start time; duplicates merge once, shared names warn."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from netcheck import cli
from netcheck.model.checks import Report
from netcheck.model.kinds import Role, State, Verdict
from netcheck.report.json import ReportError, parse_report, render_json, report_from_dict, report_to_dict
from netcheck.report.merge import Unreachable, merge_with_notes, parse_unreachable
from netcheck.report.redact import redact
from tests.cli_runner import CliRunner
from tests.report_helpers import merge_reports
from tests.schema import validate_report

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> Report:
    return parse_report((FIXTURES / name).read_text())


def ids(report: Report) -> list[str]:
    return [r.check.id for r in report.results]


def test_the_same_run_twice_is_merged_once_with_a_note() -> None:
    console, agent = load("report_console.json"), load("report_agent_win.json")
    once = merge_with_notes([console, agent], tool_version="0.1.0")
    twice = merge_with_notes([console, agent, console], tool_version="0.1.0")
    assert twice.report.results == once.report.results
    assert [v.hostname for v in twice.report.merged_from] == ["console1", "win-agent1"]
    assert twice.report.duration_s == once.report.duration_s
    assert once.notes == ()
    assert twice.notes == ("console1 as console started 2026-11-25T05:15:48+00:00: given twice, merged once",)


def test_a_run_inside_a_merged_report_and_alone_is_merged_once() -> None:
    console, win, lin = (load(n) for n in ("report_console.json", "report_agent_win.json", "report_agent_lin.json"))
    first = report_from_dict(report_to_dict(merge_reports([console, win], tool_version="0.1.0")))  # through JSON
    again = merge_with_notes([first, win, lin], tool_version="0.1.0")
    direct = merge_reports([console, win, lin], tool_version="0.1.0")
    assert ids(again.report) == ids(direct)
    assert [v.hostname for v in again.report.merged_from] == ["console1", "win-agent1", "lin-agent1"]
    assert len(again.notes) == 1 and "win-agent1" in again.notes[0]


def test_one_machine_in_two_roles_is_kept_with_a_warning_and_unique_ids() -> None:
    console = load("report_console.json")
    as_ms = replace(
        console,
        vantage=replace(console.vantage, role=Role.MANAGEMENT_SERVER),
        results=tuple(replace(r, check=replace(r.check, source=Role.MANAGEMENT_SERVER)) for r in console.results),
    )
    merged = merge_with_notes([console, as_ms], tool_version="0.1.0")
    assert len(merged.report.results) == 2 * len(console.results)
    assert len(set(ids(merged.report))) == len(merged.report.results)
    # one label for the machine: its role-less checks carry the role, as its links do (tcp:console@console1->...)
    assert {"host:firewall@console@console1", "host:firewall@management-server@console1"} <= set(ids(merged.report))
    assert not any("#" in i for i in ids(merged.report))
    assert {r.source_host for r in merged.report.results} == {"console1"}
    assert merged.notes == ("console1 reported as console, management-server: one machine in several roles, all kept",)
    validate_report(report_to_dict(merged.report))


def test_clones_that_share_a_host_name_are_kept_apart() -> None:
    agent = load("report_agent_lin.json")
    clone = replace(agent, started_at="2026-11-25T06:00:00+00:00")
    merged = merge_with_notes([agent, clone], tool_version="0.1.0")
    hosts = [r.source_host for r in merged.report.results]
    assert hosts.count("lin-agent1") == hosts.count("lin-agent1#2") == len(agent.results)
    assert len(set(ids(merged.report))) == len(merged.report.results)
    assert [(v.hostname, v.started_at) for v in merged.report.merged_from] == [
        ("lin-agent1", agent.started_at),
        ("lin-agent1", "2026-11-25T06:00:00+00:00"),
    ]
    assert len(merged.notes) == 1 and "shown as lin-agent1#2" in merged.notes[0]
    # the merged report keeps them apart when merged again, and a re-merge of itself adds nothing
    again = merge_with_notes([report_from_dict(report_to_dict(merged.report)), clone], tool_version="0.1.0")
    assert ids(again.report) == ids(merged.report)


def test_an_unreachable_host_is_an_error_row_never_missing() -> None:
    agent = load("report_agent_lin.json")
    merged = merge_with_notes(
        [agent], tool_version="0.1.0", unreachable=[Unreachable("agent-5", "ssh: connect to host 198.18.1.5 port 22: No route")]
    )
    row = merged.report.results[-1]
    assert row.check.id == "host:reachable@agent-5" and row.source_host == "agent-5"
    assert (row.state, row.verdict) == (State.UNREACHABLE, Verdict.ERROR)
    assert "No route" in row.detail and "agent-5" in row.detail
    data = report_to_dict(merged.report)
    assert data["summary"]["error"] == 1 and data["summary"]["verdict"] == "fail"
    validate_report(data)
    # it survives a round trip and a second merge, once
    again = merge_with_notes([report_from_dict(data), load("report_agent_win.json")], tool_version="0.1.0")
    assert ids(again.report).count("host:reachable@agent-5") == 1
    assert "198.18.1.5" not in render_json(redact(merged.report))


def test_an_unreachable_host_that_did_report_keeps_its_report() -> None:
    agent = load("report_agent_lin.json")
    merged = merge_with_notes([agent], tool_version="0.1.0", unreachable=[Unreachable("lin-agent1"), Unreachable("x")])
    assert "host:reachable@lin-agent1" not in ids(merged.report) and "host:reachable@x" in ids(merged.report)
    assert merged.notes == ("lin-agent1 is listed as unreachable but a report from it was given: its report is kept",)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("agent-5", Unreachable("agent-5")),
        ("a=b=c", Unreachable("a", "b=c")),
        (" w1 = timed out ", Unreachable("w1", "timed out")),
    ],
)
def test_parse_unreachable(spec: str, expected: Unreachable) -> None:
    assert parse_unreachable(spec) == expected


@pytest.mark.parametrize("spec", ["", "=reason", "two words=x"])
def test_parse_unreachable_rejects(spec: str) -> None:
    with pytest.raises(ReportError):
        parse_unreachable(spec)


def test_merge_command_warns_on_stderr_and_adds_unreachable_rows(tmp_path: Path) -> None:
    console = str(FIXTURES / "report_console.json")
    out = tmp_path / "site.json"
    result = CliRunner().invoke(
        cli.main, ["merge", console, console, "--unreachable", "agent-5=powered off", "--format", "json", "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "warning: console1 as console started" in result.output  # CliRunner mixes stderr in
    data = parse_report(out.read_text())
    assert [r.check.id for r in data.results].count("host:reachable@agent-5") == 1
    assert len(data.results) == len(load("report_console.json").results) + 1
    bad = CliRunner().invoke(cli.main, ["merge", console, "--unreachable", "two words"])
    assert bad.exit_code == 2 and "HOST or HOST=REASON" in bad.output and "Traceback" not in bad.output
    alone = CliRunner().invoke(cli.main, ["merge", console])
    assert alone.exit_code == 0  # one report renders as itself


def test_merge_refuses_mixed_phases_and_nothing_to_merge() -> None:
    console = load("report_console.json")
    with pytest.raises(ReportError, match="different phases"):
        merge_reports([console, replace(load("report_agent_lin.json"), phase="post-install")], tool_version="0.1.0")  # type: ignore[arg-type]
    with pytest.raises(ReportError, match="at least two"):
        merge_with_notes([], tool_version="0.1.0", unreachable=[Unreachable("a"), Unreachable("b")])


def test_a_merged_report_merged_again_gets_the_ids_of_a_direct_merge() -> None:
    """Relabelled checks get located_id's id for their new label: the same as merging the runs directly."""
    console, agent = load("report_console.json"), load("report_agent_lin.json")
    clone = replace(agent, started_at="2026-11-25T06:00:00+00:00")
    later = replace(agent, started_at="2026-11-25T07:00:00+00:00")
    first = report_from_dict(report_to_dict(merge_reports([agent, clone], tool_version="0.1.0")))  # lin-agent1, #2
    second = report_from_dict(report_to_dict(merge_reports([later, console], tool_version="0.1.0")))
    again = merge_reports([second, first], tool_version="0.1.0")  # agent → lin-agent1#2, clone → lin-agent1#3
    direct = merge_reports([later, console, agent, clone], tool_version="0.1.0")
    assert ids(again) == ids(direct)
    assert [r.source_host for r in again.results] == [r.source_host for r in direct.results]
    assert "host:firewall@lin-agent1#3" in ids(again) and not any("#2#" in i or "#3#" in i for i in ids(again))


def test_an_agent_s_links_seen_through_ssh_keep_their_machine_through_merges() -> None:
    """A console's report holds the agent's own links (source_host = the agent, via ssh): merging keeps that
    machine and those ids, and merging the merged report again keeps every one of them."""
    from tests.unit.test_access_evidence import access_report  # noqa: PLC0415

    live = access_report()
    first_of_each = {r.check.id: r for r in reversed(live.results)}  # the fixture visits lin1 twice: once is enough
    console = parse_report(render_json(replace(live, results=tuple(r for r in live.results if first_of_each[r.check.id] is r))))
    agent = load("report_agent_lin.json")
    seen_on_agent = [r for r in console.results if r.source_host]
    assert seen_on_agent and {r.source_host for r in seen_on_agent} == {"lin1.corp.example"}
    merged = merge_reports([console, agent], tool_version="0.1.0")
    kept = [r for r in merged.results if r.source_host == "lin1.corp.example"]
    assert [(r.check.id, r.source_host) for r in kept] == [(r.check.id, r.source_host) for r in seen_on_agent]
    assert len(merged.results) == len(console.results) + len(agent.results)
    again = merge_reports([report_from_dict(report_to_dict(merged)), agent, console], tool_version="0.1.0")
    assert ids(again) == ids(merged) and [r.source_host for r in again.results] == [r.source_host for r in merged.results]
    clone = replace(console, started_at="2026-11-25T17:00:00+00:00")
    relabelled = merge_reports([clone, report_from_dict(report_to_dict(merged))], tool_version="0.1.0")
    assert len(relabelled.results) == len(merged.results) + len(clone.results)
    assert len(set(ids(relabelled))) == len(relabelled.results)
    assert sum(r.source_host == "lin1.corp.example" for r in relabelled.results) == 2 * len(seen_on_agent)
    validate_report(report_to_dict(relabelled))


def test_runs_made_both_ways_merge_into_a_readable_report() -> None:
    """A SYN run and a connect run: the merged method is connect+syn, whatever the order, and it reads back."""
    syn = replace(load("report_agent_lin.json"), method="syn")
    connect = replace(load("report_console.json"), method="connect")
    for pair in ([syn, connect], [connect, syn]):
        merged = merge_reports(pair, tool_version="0.1.0")
        assert merged.method == "connect+syn"
        validate_report(report_to_dict(merged))
        again = merge_reports([parse_report(render_json(merged)), connect], tool_version="0.1.0")
        assert again.method == "connect+syn"
