"""merge, issue 23: linear in the checks and the vantage points, labels stable across merges, machines told
apart by everything that differs, one label for a machine in two roles, and a fleet's unreadable report as a row.

The linearity tests count the set look-ups merge makes (`_Allocator.probes`), not seconds: the timing figure
is benchmarks/merge_one_link.py's."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from netcheck import cli
from netcheck.model.checks import Report, Vantage
from netcheck.model.kinds import Role, State, Verdict
from netcheck.report import merge as merge_module
from netcheck.report.json import parse_report, render_json, report_from_dict, report_to_dict
from netcheck.report.merge import Unreachable, merge_with_notes, readable_reports, unreachable_result
from netcheck.report.output import load_report
from tests.cli_runner import CliRunner
from tests.report_helpers import merge_reports
from tests.schema import validate_report

FIXTURES = Path(__file__).parent / "fixtures"
START = "2026-11-25T06:00:00+00:00"


def load(name: str) -> Report:
    return parse_report((FIXTURES / name).read_text())


def ids(report: Report) -> list[str]:
    return [r.check.id for r in report.results]


def agent(hostname: str, *, started_at: str = START, addresses: tuple[str, ...] = ("198.18.1.1",)) -> Report:
    """The Linux agent fixture as run on another machine (its own name, addresses and start)."""
    base = load("report_agent_lin.json")
    vantage = Vantage(hostname, Role.AGENT, base.vantage.os, addresses, started_at)
    return replace(base, vantage=vantage, started_at=started_at)


def through_json(report: Report) -> Report:
    return report_from_dict(report_to_dict(report))


@pytest.fixture
def allocators(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[merge_module._Allocator]]:
    """Every _Allocator a merge makes, to read how many set look-ups it did."""
    made: list[merge_module._Allocator] = []

    class Counted(merge_module._Allocator):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            made.append(self)

    monkeypatch.setattr(merge_module, "_Allocator", Counted)
    yield made


@pytest.mark.parametrize("checks", [500, 2000])
def test_many_checks_of_one_link_cost_look_ups_in_proportion(allocators: list[merge_module._Allocator], checks: int) -> None:
    """A report of N checks of one link (one id N times): probing from #2 each time costs N²/2 look-ups."""
    base = agent("a")
    one_link = replace(base, results=(base.results[0],) * checks)
    merged = merge_reports([one_link, agent("b")], tool_version="0.1.0")
    assert len(merged.results) == checks + len(base.results)
    assert len(set(ids(merged))) == len(merged.results)
    assert sum(a.probes for a in allocators) <= 3 * len(merged.results)


def test_many_clones_and_a_host_really_called_like_a_label_cost_look_ups_in_proportion(
    allocators: list[merge_module._Allocator],
) -> None:
    clones = [agent("vm", started_at=f"2026-11-25T06:{n // 60:02d}:{n % 60:02d}+00:00") for n in range(300)]
    real = [agent(f"vm#{n}", addresses=(f"198.18.2.{n}",)) for n in range(2, 40)]  # taken before the clones need them
    merged = merge_with_notes([*real, *clones], tool_version="0.1.0")
    labels = {r.source_host for r in merged.report.results}
    assert len(labels) == len(real) + len(clones)
    assert len(set(ids(merged.report))) == len(merged.report.results)
    looked_up = sum(a.probes for a in allocators)
    assert looked_up <= 3 * (len(merged.report.results) + len(real) + len(clones))


def test_a_host_called_like_a_made_label_keeps_its_name_and_a_re_merge_adds_nothing() -> None:
    """Defect 7: a, a (later), a#2 gave two vantage points labelled a#2, and a re-merge 90 checks instead of 60."""
    first, later, real = agent("a"), agent("a", started_at="2026-11-25T07:00:00+00:00"), agent("a#2")
    merged = through_json(merge_reports([first, later, real], tool_version="0.1.0"))
    labels = [r.source_host for r in merged.results]
    size = len(first.results)
    assert (labels.count("a"), labels.count("a#2"), labels.count("a#3")) == (size, size, size)
    other = agent("b", addresses=("198.18.1.2",))
    again = merge_reports([merged, other], tool_version="0.1.0")
    assert len(again.results) == 4 * size
    assert [v.hostname for v in again.merged_from] == ["a", "a", "a#2", "b"]
    twice = merge_with_notes([through_json(again), merged, other, first], tool_version="0.1.0")
    assert ids(twice.report) == ids(again) and len(twice.report.results) == 4 * size
    assert [r.source_host for r in twice.report.results] == [r.source_host for r in again.results]
    assert sum("given twice, merged once" in note for note in twice.notes) == 5
    validate_report(report_to_dict(twice.report))


def test_two_machines_that_share_a_name_and_a_start_second_are_both_kept() -> None:
    """Defect 19: forks start agents in the same second; a default host name (vm) is common."""
    one, two = agent("vm", addresses=("198.18.1.1",)), agent("vm", addresses=("198.18.1.2",))
    merged = merge_with_notes([one, two], tool_version="0.1.0")
    assert [v.addresses for v in merged.report.merged_from] == [("198.18.1.1",), ("198.18.1.2",)]
    hosts = [r.source_host for r in merged.report.results]
    assert hosts.count("vm") == hosts.count("vm#2") == len(one.results)
    assert merged.notes == (
        "two vantage points are called vm (agent; different addresses: two runs, or clones or containers that share "
        "a name): the later one is shown as vm#2",
    )
    again = merge_with_notes([through_json(merged.report), two, one], tool_version="0.1.0")
    assert ids(again.report) == ids(merged.report) and sum("given twice" in n for n in again.notes) == 2
    same = merge_with_notes([one, replace(one)], tool_version="0.1.0")
    assert len(same.report.results) == len(one.results) and "given twice, merged once" in same.notes[0]


def test_a_machine_in_two_roles_has_one_label_through_merges() -> None:
    """Defect 23: its agent-role host checks said host:port-9876@vm#2 while its links said agent@vm."""
    as_agent = agent("vm")
    as_ms = replace(
        as_agent,
        vantage=replace(as_agent.vantage, role=Role.MANAGEMENT_SERVER),
        results=tuple(replace(r, check=replace(r.check, source=Role.MANAGEMENT_SERVER)) for r in as_agent.results),
    )
    merged = merge_reports([as_ms, as_agent], tool_version="0.1.0")
    assert {r.source_host for r in merged.results} == {"vm"}
    assert not any("#" in i for i in ids(merged))
    assert {"host:port-9876@agent@vm", "host:port-9876@management-server@vm", "tcp:agent@vm->198.18.0.20:9876"} <= set(
        ids(merged)
    )
    again = merge_reports([through_json(merged), agent("b", addresses=("198.18.1.9",))], tool_version="0.1.0")
    assert ids(again)[: len(merged.results)] == ids(merged)


def test_an_unreachable_row_speaks_of_logging_in_not_of_a_fleet_engine() -> None:
    row = unreachable_result(Unreachable("agent-5", "ssh: No route to host"))
    assert "fleet engine" not in row.remediation and "log in to it" in row.remediation
    assert row.state is State.UNREACHABLE and row.verdict is Verdict.ERROR


def hostile_files(folder: Path) -> list[Path]:
    """What a hostile or broken agent can send back instead of its report."""
    files = {
        "random": os.urandom(4096),
        "digits": b'{"schema_version": ' + b"9" * 5000 + b"}",
        "deep": b"[" * 100_000 + b"]" * 100_000,
        "other-phase": b"",  # replaced below: a real report of the other phase
    }
    paths = []
    for name, data in files.items():
        path = folder / f"{name}.json"
        path.write_bytes(data)
        paths.append(path)
    other = agent("other-phase")
    (folder / "other-phase.json").write_text(render_json(replace(other, phase="post-install")))  # type: ignore[arg-type]
    huge = folder / "huge.json"
    with huge.open("wb") as sparse:
        sparse.truncate(257 * 1024 * 1024)
    return [*paths, huge]


def test_unreadable_agent_files_become_rows_naming_the_agent(tmp_path: Path) -> None:
    good = tmp_path / "agent-1.json"
    good.write_text(render_json(agent("agent-1")))
    bad = hostile_files(tmp_path)
    reports, rows = readable_reports([good, *bad], load_report)
    assert [r.vantage.hostname for r in reports] == ["agent-1"]
    assert [r.hostname for r in rows] == ["random", "digits", "deep", "huge", "other-phase"]
    assert all(r.unreadable and r.reason for r in rows)
    assert "256 MiB" in rows[3].reason
    assert "post-install phase, the others are pre-install" in rows[4].reason


def test_merge_keep_going_writes_the_site_report_with_a_row_per_unreadable_agent(tmp_path: Path) -> None:
    good, other = tmp_path / "agent-1.json", tmp_path / "agent-2.json"
    good.write_text(render_json(agent("agent-1")))
    other.write_text(render_json(agent("agent-2", addresses=("198.18.1.2",))))
    bad = hostile_files(tmp_path)
    site = tmp_path / "site.json"
    files = [str(good), *map(str, bad), str(other)]
    stopped = CliRunner().invoke(cli.main, ["merge", *files, "--format", "json", "--output", str(site)])
    assert stopped.exit_code in (2, 3) and not site.exists()  # without --keep-going one bad file stops the merge
    run = CliRunner().invoke(cli.main, ["merge", *files, "--keep-going", "--format", "json", "--output", str(site)])
    assert run.exit_code == 0, run.output
    merged = parse_report(site.read_text())
    assert [v.hostname for v in merged.merged_from] == ["agent-1", "agent-2"]
    rows = {r.source_host: r for r in merged.results if r.check.id.startswith("host:report@")}
    assert sorted(rows) == ["deep", "digits", "huge", "other-phase", "random"]
    for host, row in rows.items():
        assert row.verdict is Verdict.ERROR and host in row.detail and "could not be used" in row.detail
    validate_report(report_to_dict(merged))
    unreadable = [str(p) for p in bad if p.name != "other-phase.json"]
    nothing = CliRunner().invoke(cli.main, ["merge", *unreadable, "--keep-going", "--output", str(tmp_path / "x")])
    assert nothing.exit_code == 2 and "no file is a readable report" in nothing.output
