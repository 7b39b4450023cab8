"""Observation + expectation → Result: the verdict rules of DESIGN.md, as pure functions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from netcheck.matrix import PORTS, source_port_note
from netcheck.model import AgentOS, Check, Kind, Observation, Phase, Result, Role, State, Verdict
from netcheck.probes.tcp import IcmpError

_SERVICE_FIX = {
    "smb": (
        "Nothing answers SMB on TCP {port} of {target}: start the Server service (LanmanServer) and enable "
        "File and Printer Sharing there; if its firewall forges this reset, allow TCP {port} instead."
    ),
    "ssh": (
        "Nothing answers SSH on TCP {port} of {target}: install and start the SSH server (openssh-server / sshd) "
        "there; if a firewall forges this reset, allow TCP {port} instead."
    ),
}


def _port_key(port: int | None, ports: Mapping[str, int]) -> str | None:
    for key, spec in PORTS.items():
        if ports.get(key, spec.default) == port:
            return key
    return None


def describe_evidence(evidence: Mapping[str, Any]) -> str:
    """One line of what was seen on the wire (or from the OS), for tables and tickets."""
    reply = evidence.get("reply")
    attempts = evidence.get("attempts", 1)
    ttl = f", ttl {evidence['ttl']}" if "ttl" in evidence else ""
    rtt = f", {evidence['rtt_ms']} ms" if "rtt_ms" in evidence else ""
    if reply == "syn-ack":
        return f"SYN-ACK{ttl}{rtt}"
    if reply == "rst":
        return f"RST{ttl}{rtt}"
    if reply == "connected":
        return f"connected{rtt}"
    if "icmp_type" in evidence:
        icmp = IcmpError(evidence.get("icmp_version", 4), evidence["icmp_type"], evidence["icmp_code"], evidence.get("icmp_from"))
        prefix = f"{evidence['error']}: " if evidence.get("error") else ""
        return f"{prefix}{icmp.describe()}{ttl}"
    if evidence.get("arp") == "no answer":
        return "no ARP answer from the next hop"
    if evidence.get("error") == "ECONNREFUSED":
        return "connection refused: RST"
    if reply == "none":
        return f"no answer after {attempts} attempt{'s' if attempts != 1 else ''}"
    if evidence.get("error"):
        return f"{evidence['error']}: {evidence.get('message', '')}".rstrip(": ")
    return str(reply or "")


def _where(check: Check, address: str | None) -> str:
    return f"{check.target.name} ({address})" if address and address != check.target.name else check.target.name


def _unblock_fix(check: Check, address: str | None, source_os: str | None, evidence: Mapping[str, Any]) -> str:
    where = _where(check, address)
    sender = evidence.get("icmp_from")
    culprit = f" The reject came from {sender}: start with that device's rules." if sender and sender != address else ""
    local = (
        " (this machine's outbound rules included: a connect probe cannot tell them apart)"
        if evidence.get("method") == "connect"
        else ""
    )
    return (
        f"Allow TCP {check.port} from this {check.source} to {where} on every firewall between them{local} and on "
        f"{check.target.name}'s own firewall, for source ports {source_port_note(source_os)}.{culprit}"
    )


def classify_tcp(
    check: Check,
    observation: Observation,
    *,
    phase: Phase,
    source_os: str | None = None,
    ports: Mapping[str, int] | None = None,
) -> Result:
    """Judge one TCP link (DESIGN.md 'States and verdicts')."""
    state, evidence, address = observation.state, observation.evidence, observation.address
    seen = describe_evidence(evidence)
    key = _port_key(check.port, ports or {})

    def result(verdict: Verdict, detail: str, remediation: str = "") -> Result:
        return Result(check, state, verdict, detail, remediation, address, evidence, observation.elapsed_ms)

    if state is State.OPEN:
        return result(Verdict.PASS, f"open ({seen})")
    if state is State.CLOSED:
        if phase is Phase.POST_INSTALL:
            component = "agent" if check.target.role is Role.AGENT else str(check.target.role).replace("-", " ")
            return result(
                Verdict.FAIL,
                f"closed ({seen}): nothing listens on {check.port}",
                f"Start the Acronis {component} service on {check.target.name}, or install it if it is missing.",
            )
        if check.must_be_served:
            fix = _SERVICE_FIX.get(key or "", "Start the service that should answer on TCP {port} of {target}.")
            return result(
                Verdict.FAIL, f"closed ({seen}): service not running", fix.format(port=check.port, target=check.target.name)
            )
        return result(Verdict.PASS, f"reachable; nothing listens yet (expected before installation) ({seen})")
    if state is State.FILTERED:
        return result(Verdict.FAIL, f"filtered ({seen})", _unblock_fix(check, address, source_os, evidence))
    if state is State.UNREACHABLE:
        if evidence.get("arp") == "no answer":
            fix = (
                f"{_where(check, address)} does not answer ARP: check that it is powered on, that the address is right "
                "and that it is on this subnet (or that the gateway is)."
            )
        else:
            fix = f"No route to {_where(check, address)}: check the address and the routing between this {check.source} and it."
        return result(Verdict.FAIL, f"unreachable ({seen})", fix)
    if state is State.BLOCKED_LOCALLY:
        return result(
            Verdict.FAIL,
            f"blocked by this machine's own firewall ({seen})",
            f"Allow outbound TCP {check.port} on this machine's firewall (nft list ruleset / iptables -S OUTPUT / "
            "Windows Defender Firewall outbound rules).",
        )
    return result(Verdict.ERROR, f"probe failed: {observation.error or seen}")


def classify_name(check: Check, observation: Observation) -> Result:
    """A name check as the system resolver sees it (the product resolves the same way)."""
    evidence = observation.evidence

    def result(verdict: Verdict, detail: str, remediation: str = "") -> Result:
        return Result(
            check, observation.state, verdict, detail, remediation, observation.address, evidence, observation.elapsed_ms
        )

    if observation.state is State.RESOLVED:
        addresses = ", ".join(evidence.get("addresses", []))
        return result(Verdict.PASS, f"{check.target.name} resolves to {addresses} (system resolver)")
    return result(
        Verdict.FAIL,
        f"{check.target.name} does not resolve: {evidence.get('error', 'no address')}",
        f"Add {check.target.name} to DNS, or add a line '<address> {check.target.name}' to the hosts file "
        "(/etc/hosts on Linux, %SystemRoot%\\system32\\drivers\\etc\\hosts on Windows) of every machine that uses it.",
    )


def unresolved_link(check: Check, name_check_id: str) -> Result:
    """A link whose name did not resolve: not probed; the name check carries the failure, once."""
    return Result(check, State.UNRESOLVED, Verdict.SKIP, f"not probed: {check.target.name} did not resolve (see {name_check_id})")


def skipped_link(check: Check) -> Result:
    return Result(check, State.NOT_PROBED, Verdict.SKIP, f"not probed from here: {check.skip_reason}")


def error_result(check: Check, message: str) -> Result:
    """netcheck itself could not run the check: never a guess, always `error` with the reason."""
    return Result(check, State.ERROR, Verdict.ERROR, f"netcheck could not run this check: {message}")


def settle_unknown_os(results: Iterable[Result], ports: Mapping[str, int] | None = None) -> list[Result]:
    """For agents given without an OS: SMB answering means Windows, SSH answering means Linux.

    The links of the other OS become `skip`. When neither answers, both stay failed and the remediation
    asks for the OS, since netcheck cannot tell which service should be running.
    """
    results = list(results)
    ports = ports or {}
    smb = ports.get("smb", PORTS["smb"].default)
    ssh = ports.get("ssh", PORTS["ssh"].default)
    by_agent: dict[str, dict[int, Result]] = {}
    for r in results:
        if r.check.kind is Kind.TCP and r.check.target.role is Role.AGENT and r.check.target.os is None:
            by_agent.setdefault(r.check.target.name, {})[r.check.port or 0] = r
    replaced: dict[str, Result] = {}
    for name, links in by_agent.items():
        smb_open = links.get(smb) is not None and links[smb].state is State.OPEN
        ssh_open = links.get(ssh) is not None and links[ssh].state is State.OPEN
        if smb_open != ssh_open:
            looks = AgentOS.WINDOWS if smb_open else AgentOS.LINUX
            evidence_port = smb if smb_open else ssh
            for port, r in links.items():
                applies = port != ssh if looks is AgentOS.WINDOWS else port == ssh
                if not applies:
                    replaced[r.check.id] = replace(
                        r,
                        verdict=Verdict.SKIP,
                        detail=f"{r.detail}; not needed: {name} looks like a {looks} agent (TCP {evidence_port} answers)",
                        remediation="",
                    )
        else:
            for r in links.values():
                if r.verdict is Verdict.FAIL and r.check.must_be_served:
                    replaced[r.check.id] = replace(
                        r,
                        remediation=f"{r.remediation} Neither SMB nor SSH answers on {name}: give its OS "
                        f"(--agent {name}:windows or :linux) so netcheck knows which one must.",
                    )
    return [replaced.get(r.check.id, r) for r in results]
