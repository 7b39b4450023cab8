"""The verdict table of DESIGN.md, row by row, and the unknown-OS settlement."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from netcheck.classify import classify_service, classify_tcp, error_result, settle_unknown_os
from netcheck.classify.services import service_check
from netcheck.model.checks import Check, Target, Topology
from netcheck.model.kinds import AgentOS, Kind, Phase, Role, State, Verdict
from netcheck.model.matrix import PortKey
from netcheck.model.observations import IcmpError, Observation, Reply, SmbIdentity, TcpReply, UnknownService
from netcheck.plan.planner import plan_checks

SMB = Check(
    "tcp:console->w:445",
    Kind.TCP,
    Role.CONSOLE,
    Target("w", Role.AGENT, AgentOS.WINDOWS),
    445,
    "files",
    must_be_served=True,
    port_key=PortKey.SMB,
)
INSTALL = Check(
    "tcp:console->w:25001",
    Kind.TCP,
    Role.CONSOLE,
    Target("w", Role.AGENT, AgentOS.WINDOWS),
    25001,
    "params",
    port_key=PortKey.INSTALL,
)
SSH = Check(
    "tcp:console->l:22",
    Kind.TCP,
    Role.CONSOLE,
    Target("l", Role.AGENT, AgentOS.LINUX),
    22,
    "ssh",
    must_be_served=True,
    port_key=PortKey.SSH,
)
REGISTER = Check(
    "tcp:agent->ms:9876", Kind.TCP, Role.AGENT, Target("ms", Role.MANAGEMENT_SERVER), 9876, "register", port_key=PortKey.PRODUCT
)

SILENCE = TcpReply("syn", Reply.NONE, attempts=2)
EVIDENCE: dict[State, TcpReply] = {
    State.OPEN: TcpReply("syn", Reply.SYN_ACK, ttl=64, rtt_ms=0.2),
    State.CLOSED: TcpReply("syn", Reply.RST, ttl=64),
    State.FILTERED: SILENCE,
    State.UNREACHABLE: TcpReply("syn", Reply.ICMP, icmp=IcmpError(4, 3, 1, "198.18.0.1")),
    State.BLOCKED_LOCALLY: TcpReply("syn", Reply.ERROR, attempts=2, error="EPERM"),
}


def judge(check: Check, state: State, phase: Phase = Phase.PRE_INSTALL) -> Verdict:
    return classify_tcp(check, Observation(state, "198.18.0.31", EVIDENCE[state]), phase=phase).verdict


@pytest.mark.parametrize(
    ("check", "state", "verdict"),
    [
        # product ports: a reset before installation is a pass
        (INSTALL, State.OPEN, Verdict.PASS),
        (INSTALL, State.CLOSED, Verdict.PASS),
        (INSTALL, State.FILTERED, Verdict.FAIL),
        (INSTALL, State.UNREACHABLE, Verdict.FAIL),
        (INSTALL, State.BLOCKED_LOCALLY, Verdict.FAIL),
        (REGISTER, State.CLOSED, Verdict.PASS),
        (REGISTER, State.FILTERED, Verdict.FAIL),
        # ports that must already be served
        (SMB, State.OPEN, Verdict.PASS),
        (SMB, State.CLOSED, Verdict.FAIL),
        (SMB, State.FILTERED, Verdict.FAIL),
        (SSH, State.CLOSED, Verdict.FAIL),
        (SSH, State.UNREACHABLE, Verdict.FAIL),
    ],
)
def test_pre_install_verdicts(check: Check, state: State, verdict: Verdict) -> None:
    assert judge(check, state) is verdict


@pytest.mark.parametrize("state", [State.CLOSED, State.FILTERED, State.UNREACHABLE, State.BLOCKED_LOCALLY])
@pytest.mark.parametrize("check", [INSTALL, REGISTER, SMB])
def test_post_install_needs_every_port_open(check: Check, state: State) -> None:
    assert judge(check, state, Phase.POST_INSTALL) is Verdict.FAIL
    assert judge(check, State.OPEN, Phase.POST_INSTALL) is Verdict.PASS


def test_details_and_remediations_carry_the_evidence() -> None:
    closed = classify_tcp(INSTALL, Observation(State.CLOSED, "198.18.0.31", EVIDENCE[State.CLOSED]), phase=Phase.PRE_INSTALL)
    assert closed.detail == "reachable; nothing listens yet (expected before installation) (RST, ttl 64)"
    smb = classify_tcp(SMB, Observation(State.CLOSED, "198.18.0.31", EVIDENCE[State.CLOSED]), phase=Phase.PRE_INSTALL)
    assert "LanmanServer" in smb.remediation and "File and Printer Sharing" in smb.remediation
    ssh = classify_tcp(SSH, Observation(State.CLOSED, "198.18.0.41", EVIDENCE[State.CLOSED]), phase=Phase.PRE_INSTALL)
    assert "sshd" in ssh.remediation
    prohibited = TcpReply("connect", Reply.ERROR, error="EHOSTUNREACH", icmp=IcmpError(4, 3, 13, "198.18.0.1"))
    filtered = classify_tcp(
        INSTALL, Observation(State.FILTERED, "198.18.0.31", prohibited), phase=Phase.PRE_INSTALL, source_os="Linux 6"
    )
    assert filtered.detail == "filtered (EHOSTUNREACH: ICMP 3/13 admin-prohibited from 198.18.0.1)"
    assert "The reject came from 198.18.0.1" in filtered.remediation
    assert "32768-61000" in filtered.remediation
    assert "outbound rules included" in filtered.remediation
    arp = classify_tcp(
        SSH,
        Observation(State.UNREACHABLE, "198.18.0.99", TcpReply("syn", Reply.NONE, no_arp_answer=True)),
        phase=Phase.PRE_INSTALL,
    )
    assert arp.detail == "unreachable (no ARP answer from the next hop)" and "does not answer ARP" in arp.remediation


@pytest.mark.parametrize(
    ("evidence", "text"),
    [
        (TcpReply("syn", Reply.SYN_ACK, ttl=128, rtt_ms=1.5), "SYN-ACK, ttl 128, 1.5ms"),
        (TcpReply("connect", Reply.CONNECTED, rtt_ms=0.4), "connected, 0.4ms"),
        (TcpReply("syn", Reply.NONE, attempts=1), "no answer after 1 attempt"),
        (TcpReply("connect", Reply.NONE, attempts=3, error="timeout"), "no answer after 3 attempts"),
        (TcpReply("connect", Reply.ERROR, error="ECONNREFUSED"), "connection refused: RST"),
        (TcpReply("syn", Reply.ICMP, ttl=63, icmp=IcmpError(4, 3, 1, "r")), "ICMP 3/1 host-unreachable from r, ttl 63"),
    ],
)
def test_describe_evidence(evidence: TcpReply, text: str) -> None:
    assert evidence.describe() == text


def test_error_state_is_an_error_verdict_not_a_guess() -> None:
    result = classify_tcp(
        INSTALL,
        Observation(State.ERROR, "198.18.0.31", TcpReply("connect", Reply.ERROR), error="EINVAL"),
        phase=Phase.PRE_INSTALL,
    )
    assert result.verdict is Verdict.ERROR and "EINVAL" in result.detail
    assert error_result(INSTALL, "boom").verdict is Verdict.ERROR


def _agent_results(name: str, states: dict[int, State]) -> list:  # type: ignore[type-arg]
    target = Target(name, Role.AGENT, None)
    out = []
    for port, state in states.items():
        key = {445: PortKey.SMB, 22: PortKey.SSH, 25001: PortKey.INSTALL}[port]
        check = Check(f"tcp:console->{name}:{port}", Kind.TCP, Role.CONSOLE, target, port, "", port in (22, 445), port_key=key)
        out.append(classify_tcp(check, Observation(state, name, EVIDENCE[state]), phase=Phase.PRE_INSTALL))
    return out


def test_unknown_os_settles_on_the_service_that_answers() -> None:
    windows = _agent_results("w", {445: State.OPEN, 25001: State.CLOSED, 22: State.CLOSED})
    linux = _agent_results("l", {445: State.CLOSED, 25001: State.CLOSED, 22: State.OPEN})
    neither = _agent_results("n", {445: State.CLOSED, 25001: State.CLOSED, 22: State.FILTERED})
    settled = {r.check.id: r for r in settle_unknown_os(windows + linux + neither)}
    verdicts = {key: r.verdict for key, r in settled.items()}
    assert verdicts == {
        "tcp:console->w:445": Verdict.PASS,
        "tcp:console->w:25001": Verdict.PASS,
        "tcp:console->w:22": Verdict.SKIP,
        "tcp:console->l:445": Verdict.SKIP,
        "tcp:console->l:25001": Verdict.SKIP,
        "tcp:console->l:22": Verdict.PASS,
        "tcp:console->n:445": Verdict.FAIL,
        "tcp:console->n:25001": Verdict.PASS,
        "tcp:console->n:22": Verdict.FAIL,
    }
    assert "looks like a windows agent" in settled["tcp:console->w:22"].detail
    assert "--agent n:windows or :linux" in settled["tcp:console->n:22"].remediation


def test_configured_ports_keep_their_service_advice() -> None:
    """[ports] ssh = 2222 / smb = 39301 in a plan: the checks still know which port of the matrix they are."""
    topology = Topology(
        agents=(Target("l", Role.AGENT, AgentOS.LINUX), Target("w", Role.AGENT, AgentOS.WINDOWS)),
        ports={PortKey.SSH: 2222, PortKey.SMB: 39301},
    )
    links = {c.port: c for c in plan_checks(topology, Role.CONSOLE) if c.kind is Kind.TCP}
    assert (links[2222].port_key, links[39301].port_key) == (PortKey.SSH, PortKey.SMB)
    closed = classify_tcp(links[2222], Observation(State.CLOSED, "198.18.0.41", EVIDENCE[State.CLOSED]), phase=Phase.PRE_INSTALL)
    assert closed.verdict is Verdict.FAIL and "sshd" in closed.remediation and "TCP 2222" in closed.remediation
    now = datetime(2026, 11, 25, tzinfo=UTC)
    ssh = classify_service(service_check(links[2222]), UnknownService(first_bytes="HTTP/1.0"), expect_responder=False, now=now)
    assert ssh.verdict is Verdict.WARN and "not with an SSH identification string" in ssh.detail
    smb = classify_service(
        service_check(links[39301]), SmbIdentity(False, (), False, None, False, ()), expect_responder=False, now=now
    )
    assert smb.verdict is Verdict.FAIL and "port 39301 answers, but no SMB dialect" in smb.detail
