"""The access stage's SMB visits: blocking impacket calls in capped daemon threads of the stage's own, never in
asyncio's default pool, so a hung call can neither keep the interpreter from exiting nor starve the pool."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from netcheck.model.checks import Check, Result, Target, check_id
from netcheck.model.kinds import AgentOS, Kind, Phase, Role, State, Verdict
from netcheck.model.matrix import PortKey
from netcheck.model.observations import Reply, SmbObservation, TcpReply
from netcheck.observe.access import stage
from netcheck.observe.access.credentials import Credentials, Secret, parse_user
from netcheck.report.json import evidence_to_dict
from tests.unit.test_access import CREDS, fake_ssh, run_with

CANARY = "Canary-stage-9Zr4"


def test_a_hung_smb_call_holds_neither_the_run_nor_the_default_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    ran_in: list[threading.Thread] = []

    def hung(*_a: Any, **_k: Any) -> SmbObservation:
        ran_in.append(threading.current_thread())
        release.wait(20)  # an impacket call that never returns (within this test)
        raise AssertionError("released")

    monkeypatch.setattr(stage, "VISIT_BUDGET_S", 0.3)
    started = time.monotonic()
    try:
        results = {r.check.id: r for r in run_with(fake_ssh, hung, CREDS)}
        elapsed = time.monotonic() - started
    finally:
        release.set()
    windows = results["access:management-server->198.18.0.31:445"]
    assert windows.verdict is Verdict.FAIL and evidence_to_dict(windows.evidence)["causes"] == ["smb-timeout"]
    # asyncio.run ends by joining its default executor: a call left there would have held the run for 20 s
    assert elapsed < 10
    assert len(ran_in) == 1 and ran_in[0].daemon and not ran_in[0].name.startswith("asyncio")


def _windows(n: int) -> tuple[list[Check], dict[str, Result]]:
    checks, links = [], {}
    for i in range(n):
        target = Target(f"198.18.0.{50 + i}", Role.AGENT, AgentOS.WINDOWS)
        link = Check(check_id(Kind.TCP, Role.CONSOLE, target.name, 445), Kind.TCP, Role.CONSOLE, target, 445, "SMB", True,
                     port_key=PortKey.SMB)  # fmt: skip
        links[link.id] = Result(
            link, State.OPEN, Verdict.PASS, "open", address=target.name, evidence=TcpReply("connect", Reply.CONNECTED)
        )
        checks.append(Check(check_id(Kind.ACCESS, Role.CONSOLE, target.name, 445), Kind.ACCESS, Role.CONSOLE, target, 445,
                            "access", True, port_key=PortKey.SMB))  # fmt: skip
    return checks, links


def test_lingering_smb_calls_cap_the_visits_that_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """With one slot, a call that outlives its visit's budget keeps the slot: the next agent's visit waits for it
    (and times out) instead of starting another thread; every agent still gets its result."""
    release = threading.Event()
    calls: list[str] = []

    def hung(address: str, *_a: Any, **_k: Any) -> SmbObservation:
        calls.append(address)
        release.wait(20)
        raise AssertionError("released")

    monkeypatch.setattr(stage, "VISIT_BUDGET_S", 0.3)
    checks, links = _windows(3)
    credentials = Credentials(windows=parse_user("admin"), password=Secret(CANARY))
    setup = stage.AccessSetup(credentials, (), Phase.PRE_INSTALL, 1.0, concurrency=1)

    visits = [(c, AgentOS.WINDOWS, links[check_id(Kind.TCP, Role.CONSOLE, c.target.name, 445)]) for c in checks]

    async def main() -> list[stage.Visit]:
        return await stage.visit_agents(visits, setup, observe_ssh=fake_ssh, observe_smb=hung)

    try:
        seen = asyncio.run(main())
    finally:
        release.set()
    assert [(v.check, v.timed_out, v.seen) for v in seen] == [(c, True, None) for c in checks]
    assert calls == ["198.18.0.50"]  # the one slot stayed with the lingering call
