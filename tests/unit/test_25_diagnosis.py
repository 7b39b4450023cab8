"""The diagnosis: each correlation rule, the order of the groups, merged reports and the JSON round trip."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from netcheck.model.checks import Check, Report, Result, Target, Vantage
from netcheck.model.kinds import Kind, Phase, Role, State, Verdict
from netcheck.model.observations import AgentNameEvidence, NameOnAgent
from netcheck.report.diagnosis import Diagnosis, diagnose, first_machines, state_words
from netcheck.report.json import parse_report, render_json, report_to_dict
from netcheck.report.merge import merge_with_notes

FIXTURES = Path(__file__).parent / "fixtures"


def link(  # noqa: PLR0917 - a test's builder, read like the table of a link
    source: Role,
    target: str,
    role: Role,
    port: int,
    state: State,
    verdict: Verdict,
    *,
    host: str = "",
    address: str | None = None,
    kind: Kind = Kind.TCP,
    remediation: str = "",
) -> Result:
    origin = f"{source}@{host}" if host else str(source)
    check = Check(f"{kind}:{origin}->{target}:{port}", kind, source, Target(target, role), port)
    return Result(check, state, verdict, str(state), remediation, address or target, source_host=host)


def host_check(role: Role, port: int, holder: str | None, *, host: str = "") -> Result:
    check = Check(f"host:port-{port}" + (f"@{host}" if host else ""), Kind.HOST, role, Target("local", role), port)
    if holder is None:
        return Result(check, State.NOT_APPLICABLE, Verdict.PASS, f"TCP {port} is free", evidence={"listening": None})
    return Result(
        check,
        State.OPEN,
        Verdict.FAIL,
        f"TCP {port} is already taken by {holder}",
        f"Stop or reconfigure {holder} before installing.",
        evidence={"listening": holder},
        source_host=host,
    )


def report(*results: Result, role: Role = Role.CONSOLE, hostname: str = "console1", merged: tuple[Vantage, ...] = ()) -> Report:
    return Report("1.0", "2026-12-07T12:00:00Z", 1.0, Vantage(hostname, role, "linux"), Phase.PRE_INSTALL, "syn", results, merged)


def agent_name(agent: str, name: str, hosts: tuple[str, ...], dns: tuple[str, ...]) -> Result:
    check = Check(f"name:{name}@{agent}", Kind.NAME, Role.AGENT, Target(name, Role.MANAGEMENT_SERVER))
    seen = NameOnAgent(name, hosts or dns, hosts, dns)
    return Result(
        check,
        State.RESOLVED,
        Verdict.FAIL,
        "stale hosts entry",
        "fix it",
        (hosts or dns)[0],
        AgentNameEvidence(seen),
        source_host=agent,
    )


def by_cause(diagnosis: Diagnosis, words: str) -> list[Any]:
    return [g for g in diagnosis.groups if words in g.cause]


def test_an_agent_whose_every_link_is_silent_is_one_group_not_a_group_a_port() -> None:
    results = []
    for agent in ("198.18.1.1", "198.18.1.2", "198.18.1.3"):
        results.append(link(Role.CONSOLE, agent, Role.AGENT, 445, State.FILTERED, Verdict.FAIL))
        results.append(link(Role.CONSOLE, agent, Role.AGENT, 25001, State.FILTERED, Verdict.FAIL))
    # this agent answers on 445: its 25001 is that port's problem, not a silent machine
    results.append(link(Role.CONSOLE, "198.18.1.4", Role.AGENT, 445, State.OPEN, Verdict.PASS))
    results.append(link(Role.CONSOLE, "198.18.1.4", Role.AGENT, 25001, State.FILTERED, Verdict.FAIL))
    diagnosis = diagnose(report(*results))
    silent = by_cause(diagnosis, "drop everything or are down")
    assert len(silent) == 1
    assert silent[0].machines == ("198.18.1.1", "198.18.1.2", "198.18.1.3")
    assert silent[0].count == 3
    assert len(silent[0].checks) == 6
    port = [g for g in diagnosis.groups if "25001" in g.link]
    assert len(port) == 1 and port[0].machines == ("198.18.1.4",)
    assert "Allow TCP 25001" in port[0].fix
    assert len(diagnosis.groups) == 2


def test_a_port_failing_from_every_agent_to_one_server_is_that_servers_firewall() -> None:
    agents = ("a1", "a2", "a3")
    results = [link(Role.AGENT, "ms.example", Role.MANAGEMENT_SERVER, 9876, State.FILTERED, Verdict.FAIL, host=a) for a in agents]
    diagnosis = diagnose(
        report(*results, hostname="merged from 3 vantage points", merged=tuple(Vantage(a, Role.AGENT, "linux") for a in agents))
    )
    (group,) = diagnosis.groups
    assert "from every machine that tried" in group.cause
    assert group.fix.startswith("On ms.example, allow inbound TCP 9876")
    assert group.machines == agents
    assert group.blocks_all  # the management server stops every agent


def test_a_port_failing_from_some_agents_points_at_those_agents() -> None:
    results = [
        link(Role.AGENT, "ms.example", Role.MANAGEMENT_SERVER, 9876, State.FILTERED, Verdict.FAIL, host="a1"),
        link(Role.AGENT, "ms.example", Role.MANAGEMENT_SERVER, 9876, State.OPEN, Verdict.PASS, host="a2"),
        link(Role.AGENT, "ms.example", Role.MANAGEMENT_SERVER, 9876, State.OPEN, Verdict.PASS, host="a3"),
    ]
    (group,) = diagnose(report(*results)).groups
    assert "from 1 machine of 3: those machines or their network path" in group.cause
    assert "each agent listed" in group.fix and "own firewall (outbound)" in group.fix
    assert group.machines == ("a1",)
    assert not group.blocks_all


def test_a_stale_name_on_n_agents_is_one_group_and_the_links_it_misled_join_it() -> None:
    results = [
        agent_name("a1", "ms.example", ("198.18.0.99",), ("198.18.0.20",)),
        link(
            Role.AGENT, "ms.example", Role.MANAGEMENT_SERVER, 9876, State.FILTERED, Verdict.FAIL, host="a1", address="198.18.0.99"
        ),
        # a1 tried the right address too, and it answers: fixing the name is enough
        link(Role.AGENT, "198.18.0.20", Role.MANAGEMENT_SERVER, 9876, State.OPEN, Verdict.PASS, host="a1"),
        agent_name("a2", "ms.example", ("198.18.0.99",), ("198.18.0.20",)),
        link(
            Role.AGENT, "ms.example", Role.MANAGEMENT_SERVER, 9876, State.FILTERED, Verdict.FAIL, host="a2", address="198.18.0.99"
        ),
    ]
    diagnosis = diagnose(report(*results))
    (group,) = diagnosis.groups  # no firewall group: the links failed because of the name
    assert group.machines == ("a1", "a2")
    assert "'198.18.0.20 ms.example'" in group.fix
    assert len(group.checks) == 4
    assert "fixing the name is enough on a1" in group.note
    assert "whether fixing the name is enough on a2 is not known" in group.note
    assert "firewall" not in group.fix


def test_a_stale_name_in_a_loaded_report_is_found_the_same() -> None:
    console = parse_report((FIXTURES / "report_console.json").read_text())
    (stale,) = by_cause(diagnose(console), "Stale hosts-file line")
    assert stale.checks == ("name:stale.lab.test", "tcp:console->stale.lab.test:9876")
    assert "'198.18.0.26 stale.lab.test'" in stale.fix


def test_a_held_product_port_makes_the_passes_to_it_suspect_and_comes_first() -> None:
    ms = Vantage("ms1", Role.MANAGEMENT_SERVER, "linux", ("198.18.0.20",))
    agents = tuple(Vantage(a, Role.AGENT, "linux") for a in ("a1", "a2"))
    results = [
        host_check(Role.MANAGEMENT_SERVER, 9876, "nginx", host="ms1"),
        *(
            link(Role.AGENT, "198.18.0.20", Role.MANAGEMENT_SERVER, 9876, State.OPEN, Verdict.PASS, host=v.hostname)
            for v in agents
        ),
        # more machines, but an agent's own problem: after the one that blocks every agent
        *(link(Role.CONSOLE, f"198.18.2.{n}", Role.AGENT, 445, State.FILTERED, Verdict.FAIL, host="c1") for n in range(4)),
        link(Role.CONSOLE, "198.18.2.9", Role.AGENT, 445, State.OPEN, Verdict.PASS, host="c1"),
        *(link(Role.CONSOLE, f"198.18.2.{n}", Role.AGENT, 25001, State.CLOSED, Verdict.PASS, host="c1") for n in range(5)),
    ]
    merged = (ms, *agents, Vantage("c1", Role.CONSOLE, "linux"))
    diagnosis = diagnose(report(*results, hostname="merged from 4 vantage points", merged=merged))
    first = diagnosis.groups[0]
    assert first.blocks_all and "held by nginx" in first.cause and "may have reached nginx" in first.cause
    assert set(diagnosis.suspect) == {"tcp:agent@a1->198.18.0.20:9876", "tcp:agent@a2->198.18.0.20:9876"}
    assert "nginx" in diagnosis.suspect["tcp:agent@a1->198.18.0.20:9876"]
    assert diagnosis.groups[1].count == 4
    assert first.machines == ("ms1", "a1", "a2")
    assert first.count < diagnosis.groups[1].count
    assert "fix it first" in diagnosis.headline


def test_order_fails_before_warns_then_more_machines_first() -> None:
    results = [
        link(Role.CONSOLE, "198.18.3.1", Role.AGENT, 22, State.OPEN, Verdict.WARN, kind=Kind.SERVICE, remediation="w"),
        link(Role.CONSOLE, "198.18.3.2", Role.AGENT, 22, State.OPEN, Verdict.WARN, kind=Kind.SERVICE, remediation="w"),
        link(Role.CONSOLE, "198.18.3.3", Role.AGENT, 22, State.OPEN, Verdict.WARN, kind=Kind.SERVICE, remediation="w"),
        link(Role.CONSOLE, "198.18.3.1", Role.AGENT, 445, State.CLOSED, Verdict.FAIL, remediation="start SMB"),
        link(Role.CONSOLE, "198.18.3.1", Role.AGENT, 25001, State.OPEN, Verdict.PASS),
        link(Role.CONSOLE, "198.18.3.2", Role.AGENT, 25001, State.FILTERED, Verdict.FAIL),
        link(Role.CONSOLE, "198.18.3.2", Role.AGENT, 445, State.OPEN, Verdict.PASS),
        link(Role.CONSOLE, "198.18.3.3", Role.AGENT, 25001, State.FILTERED, Verdict.FAIL),
        link(Role.CONSOLE, "198.18.3.3", Role.AGENT, 445, State.OPEN, Verdict.PASS),
    ]
    diagnosis = diagnose(report(*results))
    assert [(g.verdict, g.count) for g in diagnosis.groups] == [(Verdict.FAIL, 2), (Verdict.FAIL, 1), (Verdict.WARN, 3)]
    assert diagnosis.headline.startswith("FAIL: 2 problems and 1 warning on 3 machines")


def test_every_problem_is_in_exactly_one_group_and_counts_are_machines() -> None:
    for name in ("report_console.json", "report_access.json", "report_agent_win.json"):
        loaded = parse_report((FIXTURES / name).read_text())
        diagnosis = diagnose(loaded)
        covered = [check for group in diagnosis.groups for check in group.checks]
        problems = [r.check.id for r in loaded.results if r.verdict in (Verdict.FAIL, Verdict.WARN, Verdict.ERROR)]
        assert sorted(set(covered)) == sorted(set(problems))
        assert len(covered) == len(set(covered))
        for group in diagnosis.groups:
            assert group.count == len(group.machines) == len(set(group.machines)) > 0


def _merged() -> Report:
    reports = [parse_report((FIXTURES / f"report_{n}.json").read_text()) for n in ("console", "agent_win", "agent_lin")]
    return merge_with_notes(reports, tool_version="1.0").report


def test_merged_report_one_machine_in_two_groups_across_vantage_points() -> None:
    # win-agent1 (198.18.0.31) fails 9876 to the management server, and the console fails 445 to it
    agent = Vantage("win-agent1", Role.AGENT, "windows", ("198.18.0.31",))
    console = Vantage("console1", Role.CONSOLE, "linux", ("198.18.0.10",))
    results = [
        link(Role.CONSOLE, "198.18.0.31", Role.AGENT, 445, State.FILTERED, Verdict.FAIL, host="console1"),
        link(Role.CONSOLE, "198.18.0.31", Role.AGENT, 25001, State.CLOSED, Verdict.PASS, host="console1"),
        link(Role.AGENT, "198.18.0.20", Role.MANAGEMENT_SERVER, 9876, State.FILTERED, Verdict.FAIL, host="win-agent1"),
    ]
    diagnosis = diagnose(report(*results, hostname="merged from 2 vantage points", merged=(console, agent)))
    holding = [g for g in diagnosis.groups if "win-agent1" in g.machines]
    assert len(holding) == 2
    assert {g.link for g in holding} == {"console -> agent:445", "agent -> management-server 198.18.0.20:9876"}


def test_merged_fixtures_diagnosis_says_which_vantage_ran_each_check() -> None:
    merged = _merged()
    diagnosis = diagnose(merged)
    service = by_cause(diagnosis, "speaks neither TLS")
    assert len(service) == 1
    assert service[0].machines == ("win-agent1", "lin-agent1")
    assert "from every machine that tried" in service[0].cause


def test_json_round_trip_keeps_diagnosis_and_source_host() -> None:
    merged = _merged()
    text = render_json(merged)
    data = json.loads(text)
    assert data["diagnosis"] == diagnose(merged).group_dicts() == report_to_dict(merged)["diagnosis"]
    assert all(set(g) >= {"cause", "verdict", "count", "machines", "fix", "checks"} for g in data["diagnosis"])
    again = parse_report(text)
    assert render_json(again) == text
    assert {r.source_host for r in again.results} == {"console1", "win-agent1", "lin-agent1"}
    assert diagnose(again).group_dicts() == data["diagnosis"]


def test_diagnosis_is_computed_once_a_report() -> None:
    loaded = parse_report((FIXTURES / "report_console.json").read_text())
    assert diagnose(loaded) is diagnose(loaded)


def test_helpdesk_words_for_states() -> None:
    closed = link(Role.CONSOLE, "a", Role.AGENT, 25001, State.CLOSED, Verdict.PASS)
    assert state_words(closed) == "reachable, nothing listens yet (expected before installation)"
    check = Check("access:console->a:445", Kind.ACCESS, Role.CONSOLE, Target("a", Role.AGENT), 445)
    refused = Result(check, State.DISABLED, Verdict.FAIL, "x", evidence={"causes": ["bad-password-1326"]})
    assert state_words(refused) == "login refused: bad-password-1326"
    assert first_machines([f"m{n}" for n in range(8)], 3) == "m0, m1, m2 and 5 more"


def test_merged_hosts_without_a_report_are_one_group() -> None:
    from netcheck.report.merge import Unreachable  # noqa: PLC0415

    reports = [parse_report((FIXTURES / f"report_{n}.json").read_text()) for n in ("console", "agent_win")]
    hosts = [Unreachable("win-9", "ssh timeout"), Unreachable("win-10", "refused")]
    merged = merge_with_notes(reports, tool_version="1.0", unreachable=hosts).report
    (group,) = by_cause(diagnose(merged), "netcheck did not run on these machines")
    assert group.machines == ("win-9", "win-10") and group.verdict is Verdict.ERROR
    assert diagnose(merged).groups.index(group) < len(diagnose(merged).groups) - 1  # errors before the warning


def test_a_refused_login_on_n_agents_is_one_group_with_one_fix() -> None:
    results = []
    for agent in ("198.18.4.1", "198.18.4.2", "198.18.4.3"):
        check = Check(f"access:console->{agent}:445", Kind.ACCESS, Role.CONSOLE, Target(agent, Role.AGENT), 445)
        fix = f"[bad-password-1326] Check the user name and password of CORP\\x on {agent}"
        evidence = {"causes": ["bad-password-1326"]}
        results.append(Result(check, State.DISABLED, Verdict.FAIL, "bad-password-1326: refused", fix, agent, evidence))
    (group,) = diagnose(report(*results)).groups
    assert group.cause == "Installation access over TCP 445: login refused (bad-password-1326)"
    assert group.fix == "[bad-password-1326] Check the user name and password of CORP\\x on each machine listed"
    assert group.count == 3


def test_ten_thousand_agents_in_one_group_are_two_groups() -> None:
    """The time this takes is benchmarks/report_size.py's to measure; here, what it gives."""
    results = []
    for n in range(10_000):
        agent = f"198.19.{n // 256}.{n % 256}"
        fix = f"Nothing answers SMB on TCP 445 of {agent}: start the Server service"
        results.append(link(Role.CONSOLE, agent, Role.AGENT, 445, State.CLOSED, Verdict.FAIL, remediation=fix))
        check = Check(f"access:console->{agent}:445", Kind.ACCESS, Role.CONSOLE, Target(agent, Role.AGENT), 445)
        evidence = {"causes": ["bad-password-1326"]}
        results.append(Result(check, State.DISABLED, Verdict.FAIL, "refused", f"Check the password on {agent}", agent, evidence))
    groups = diagnose(report(*results)).groups
    assert [g.count for g in groups] == [10_000, 10_000]
    assert all("each machine listed" in group.fix for group in groups)


def test_every_role_has_its_words() -> None:
    from netcheck.report.diagnosis import ROLE_WORDS  # noqa: PLC0415

    assert set(ROLE_WORDS) == set(Role)
