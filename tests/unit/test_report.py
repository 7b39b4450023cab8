"""Renderers on a fixed report: JSON against the schema, the table's order and fixes."""

from __future__ import annotations

import json

import jsonschema
import pytest

from netcheck.classify import classify_tcp, skipped_link
from netcheck.cli import exit_code
from netcheck.matrix import PortKey
from netcheck.model import AgentOS, Check, Kind, Phase, Report, Result, Role, State, Target, Vantage, Verdict
from netcheck.observations import Observation, Reply, TcpReply
from netcheck.report.json import render_json
from netcheck.report.table import render_table
from tests.schema import validate_report

WIN = Target("win1", Role.AGENT, AgentOS.WINDOWS)


def result(port: int, state: State, served: bool, evidence: TcpReply) -> Result:
    key = PortKey.SMB if port == 445 else PortKey.INSTALL
    check = Check(f"tcp:console->win1:{port}", Kind.TCP, Role.CONSOLE, WIN, port, f"purpose {port}", served, port_key=key)
    return classify_tcp(check, Observation(state, "198.18.0.31", evidence, 1.5), phase=Phase.PRE_INSTALL, source_os="Linux")


RESULTS = (
    result(25001, State.CLOSED, False, TcpReply("syn", Reply.RST, ttl=64, rtt_ms=0.1)),
    result(445, State.FILTERED, True, TcpReply("syn", Reply.NONE, attempts=2)),
    skipped_link(
        Check("tcp:console->lin1:22", Kind.TCP, Role.CONSOLE, Target("lin1", Role.AGENT, AgentOS.LINUX), 22, "ssh", True, "why")
    ),
)


def report(results: tuple[Result, ...] = RESULTS) -> Report:
    return Report(
        "0.1.0",
        "2026-11-25T04:00:00+00:00",
        2.5,
        Vantage("console1", Role.CONSOLE, "Linux 6", ("198.18.0.10",)),
        Phase.PRE_INSTALL,
        "syn",
        results,
    )


def test_json_report_matches_the_contract() -> None:
    data = json.loads(render_json(report()))
    validate_report(data)
    assert data["summary"] == {"pass": 1, "warn": 0, "fail": 1, "skip": 1, "error": 0, "verdict": "fail"}
    first = data["checks"][0]
    assert first["id"] == "tcp:console->win1:25001" and first["address"] == "198.18.0.31" and first["protocol"] == "tcp"
    assert first["evidence"] == {"method": "syn", "reply": "rst", "ttl": 64, "rtt_ms": 0.1, "attempts": 1}


def test_schema_rejects_a_fail_without_remediation() -> None:
    data = json.loads(render_json(report()))
    data["checks"][1]["remediation"] = ""
    with pytest.raises(jsonschema.ValidationError):
        validate_report(data)


def test_table_puts_failures_first_and_lists_fixes() -> None:
    text = render_table(report(), show_all=True)
    listed = text.split("Every check:")[1].splitlines()
    rows = [line.split()[0] for line in listed if line.startswith(("PASS", "FAIL", "SKIP"))]
    assert rows == ["FAIL", "PASS", "SKIP"]
    assert "What to fix, most blocking first:" in text and "console -> win1:445" in text
    assert text.rstrip().endswith("netcheck FAIL: 1 fail, 1 pass, 1 skip (3 checks in 2.5 s)")
    assert "PASS" not in render_table(report()).split("Passing:")[0].split("found")[1]  # passes are counted


@pytest.mark.parametrize(
    ("verdicts", "code"),
    [
        ((Verdict.PASS, Verdict.SKIP), 0),
        ((Verdict.PASS, Verdict.WARN), 0),
        ((Verdict.FAIL, Verdict.ERROR), 1),
        ((Verdict.PASS, Verdict.ERROR), 3),
    ],
)
def test_exit_codes(verdicts: tuple[Verdict, ...], code: int) -> None:
    base = RESULTS[0]
    results = tuple(Result(base.check, base.state, v, "d", "fix") for v in verdicts)
    assert exit_code(report(results)) == code
