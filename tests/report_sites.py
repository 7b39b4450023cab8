"""Reports the HTML tests share: the repo's three-vantage merge with an unreachable agent and a console whose
product port is held by another program, and a report with hostile host names."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from netcheck.model.checks import Check, Report, Result, Target
from netcheck.model.kinds import Kind, Role, State, Verdict
from netcheck.report.json import parse_report
from netcheck.report.merge import Unreachable, merge_with_notes

FIXTURES = Path(__file__).parent / "unit" / "fixtures"
VANTAGES = ("report_console.json", "report_agent_win.json", "report_agent_lin.json")
HOSTILE = "</script><script>alert(1)</script><!--<img src=x onerror=alert(2)>\"'&amp;\u2028"


def load(name: str) -> Report:
    return parse_report((FIXTURES / name).read_text())


def console_port_held(report: Report) -> Report:
    """The console's report with its TCP 9876 held by another program (its own host check fails)."""
    results = tuple(
        replace(r, state=State.OPEN, verdict=Verdict.FAIL, detail="TCP 9876 is held by nginx (pid 812)",
                remediation="Stop nginx or move it off TCP 9876 before installing.", evidence={"listening": "nginx"})
        if r.check.kind is Kind.HOST and r.check.port == 9876 else r
        for r in report.results
    )  # fmt: skip
    return replace(report, results=results)


def site() -> Report:
    """Three vantage points (console1, win-agent1, lin-agent1), an agent that could not be reached (lin-agent9),
    and a console whose own check fails."""
    reports = [console_port_held(load(VANTAGES[0])), load(VANTAGES[1]), load(VANTAGES[2])]
    unreachable = [Unreachable("lin-agent9", "ssh: connection timed out")]
    return merge_with_notes(reports, tool_version="0.1.0", unreachable=unreachable).report


def hostile() -> Report:
    """The console fixture with a host name and a banner that try to end the page's script and add elements."""
    report = load(VANTAGES[0])
    evil = Target(f"evil{HOSTILE}", Role.AGENT)
    check = Check(f"tcp:console->{evil.name}:445", Kind.TCP, Role.CONSOLE, evil, 445, "Sending files")
    extra = Result(check, State.FILTERED, Verdict.FAIL, f"filtered {HOSTILE}", f"Allow TCP 445 to {evil.name}", "198.18.0.66")
    return replace(report, results=(*report.results, extra))
