"""TCP links: the state the probe saw, judged by the phase and by what must already answer (DESIGN.md)."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import assert_never

from netcheck.classify.common import where
from netcheck.model.address import parse_ip
from netcheck.model.checks import Check, Result
from netcheck.model.kinds import AgentOS, Kind, Phase, Role, State, Verdict
from netcheck.model.matrix import PortKey, source_port_note
from netcheck.model.observations import Observation, TcpReply


def _service_fix(check: Check) -> str:
    """What to do when the OS service a link needs before installation does not answer."""
    key, port, target = check.port_key, check.port, check.target.name
    match key:
        case PortKey.SMB:
            return (
                f"Nothing answers SMB on TCP {port} of {target}: start the Server service (LanmanServer) and enable "
                f"File and Printer Sharing there; if its firewall forges this reset, allow TCP {port} instead."
            )
        case PortKey.SSH:
            return (
                f"Nothing answers SSH on TCP {port} of {target}: install and start the SSH server (openssh-server / sshd) "
                f"there; if a firewall forges this reset, allow TCP {port} instead."
            )
        case PortKey.VSPHERE_HTTPS | PortKey.VSPHERE_902:
            return (
                f"Nothing answers on TCP {port} of {target}: check that it is the vCenter Server or ESX(i) host and that "
                f"its services run; if a firewall forges this reset, allow TCP {port} instead."
            )
        case PortKey.CLOUD_HTTPS | PortKey.CLOUD_44445 | PortKey.CLOUD_55556:
            return (
                f"Nothing answers on TCP {port} of {target}: check that {target} is the cloud storage's address the product "
                f"uses; if a firewall forges this reset, allow TCP {port} outbound instead."
            )
        case (
            PortKey.INSTALL
            | PortKey.PRODUCT
            | PortKey.WEB
            | PortKey.CP_MANAGEMENT
            | PortKey.CP_WEB
            | PortKey.STORAGE_DATA
            | PortKey.CATALOG_INDEX
            | None
        ):
            return f"Start the service that should answer on TCP {port} of {target}."
        case _:
            assert_never(key)


def _unblock_fix(check: Check, address: str | None, source_os: str | None, reply: TcpReply) -> str:
    sender = reply.icmp.sender if reply.icmp else None
    culprit = f" The reject came from {sender}: start with that device's rules." if sender and sender != address else ""
    local = (
        " (this machine's outbound rules included: a connect probe cannot tell them apart)" if reply.method == "connect" else ""
    )
    return (
        f"Allow TCP {check.port} from this {check.source} to {where(check, address)} on every firewall between them{local} "
        f"and on {check.target.name}'s own firewall, for source ports {source_port_note(source_os)}.{culprit}"
    )


@functools.lru_cache(maxsize=1 << 16)  # each address has a link a port
def _special(address: str) -> tuple[bool, bool]:
    """Whether a probed address is no machine's (0.0.0.0, ::) and whether it is this machine's loopback."""
    ip = parse_ip(address.split("%", 1)[0])
    return (False, False) if ip is None else (ip.is_unspecified, ip.is_loopback)


def misdirected(check: Check, address: str) -> Result | None:
    """A link whose address is no remote machine: 0.0.0.0 / :: (no machine), or a name that resolves to this
    machine's loopback. Probing it would judge this machine's own ports, so it fails before any probe.

    A loopback address the user typed is taken as meant (bare `netcheck` and tests probe 127.0.0.1 on purpose).
    """
    unspecified, loopback = _special(address)
    if not unspecified and not loopback:
        return None
    role = str(check.target.role).replace("-", " ")
    if unspecified:
        return Result(
            check,
            State.NOT_PROBED,
            Verdict.FAIL,
            f"not probed: {address} is no machine's address (to a server it means every address it has)"
            if address == check.target.name
            else f"not probed: {check.target.name} resolves to {address}, which is no machine's address",
            f"Give the {role}'s real address or name instead of {check.target.name}.",
            address,
        )
    if loopback and address != check.target.name:
        return Result(
            check,
            State.NOT_PROBED,
            Verdict.FAIL,
            f"not probed: {check.target.name} resolves to {address}, this machine itself, not the {role}",
            f"Make {check.target.name} resolve to the {role}'s real address: fix its DNS record, or the hosts-file line "
            f"that maps it to {address} (a Debian-style '127.0.1.1 {check.target.name}' line does this).",
            address,
        )
    return None


def classify_tcp(
    check: Check,
    observation: Observation,
    *,
    phase: Phase,
    source_os: str | None = None,
    expect_responder: bool = False,
) -> Result:
    """Judge one TCP link (DESIGN.md 'States and verdicts').

    With `expect_responder` (a `netcheck listen` runs on the target), a reset on a product port is no longer
    the best a probe can see: the responder would have answered, so the reset is flagged as possibly forged.
    """
    state, reply, address = observation.state, observation.reply, observation.address
    seen = reply.describe()

    def result(verdict: Verdict, detail: str, remediation: str = "") -> Result:
        return Result(check, state, verdict, detail, remediation, address, reply, observation.elapsed_ms)

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
            return result(Verdict.FAIL, f"closed ({seen}): service not running", _service_fix(check))
        if expect_responder:
            return result(
                Verdict.FAIL,
                f"reset ({seen}) although a netcheck responder was expected: possibly a forged reset",
                f"Check that 'netcheck listen' runs on {check.target.name} and holds port {check.port} (it says so when it "
                f"starts). If it does, a firewall on the way forges this reset: allow TCP {check.port} from this "
                f"{check.source}.",
            )
        return result(Verdict.PASS, f"reachable; nothing listens yet (expected before installation) ({seen})")
    if state is State.FILTERED:
        return result(Verdict.FAIL, f"filtered ({seen})", _unblock_fix(check, address, source_os, reply))
    if state is State.UNREACHABLE:
        if reply.no_arp_answer:
            fix = (
                f"{where(check, address)} does not answer ARP: check that it is powered on, that the address is right "
                "and that it is on this subnet (or that the gateway is)."
            )
        else:
            fix = f"No route to {where(check, address)}: check the address and the routing between this {check.source} and it."
        return result(Verdict.FAIL, f"unreachable ({seen})", fix)
    if state is State.BLOCKED_LOCALLY:
        return result(
            Verdict.FAIL,
            f"blocked by this machine's own firewall ({seen})",
            f"Allow outbound TCP {check.port} on this machine's firewall (nft list ruleset / iptables -S OUTPUT / "
            "Windows Defender Firewall outbound rules).",
        )
    return result(Verdict.ERROR, f"probe failed: {observation.error or seen}")


def settles_by_service(check: Check) -> bool:
    """A link to an agent given without an OS: which service answers there settles which links it needs."""
    return check.kind is Kind.TCP and check.target.role is Role.AGENT and check.target.os is None and check.port_key is not None


def settle_agent(name: str, links: Mapping[PortKey, Result]) -> list[Result]:
    """settle_unknown_os for one agent (its links by port key): the results it replaces, and nothing else."""
    replaced: list[Result] = []
    smb, ssh = links.get(PortKey.SMB), links.get(PortKey.SSH)
    smb_open = smb is not None and smb.state is State.OPEN
    ssh_open = ssh is not None and ssh.state is State.OPEN
    if smb_open != ssh_open:
        looks = AgentOS.WINDOWS if smb_open else AgentOS.LINUX
        answering = smb if smb_open else ssh
        for key, r in links.items():
            applies = key is not PortKey.SSH if looks is AgentOS.WINDOWS else key is PortKey.SSH
            if not applies:
                replaced.append(
                    replace(
                        r,
                        verdict=Verdict.SKIP,
                        detail=f"{r.detail}; not needed: {name} looks like a {looks} agent "
                        f"(TCP {answering.check.port if answering else '?'} answers)",
                        remediation="",
                    )
                )
    else:
        for r in links.values():
            if r.verdict is Verdict.FAIL and r.check.must_be_served:
                replaced.append(
                    replace(
                        r,
                        remediation=f"{r.remediation} Neither SMB nor SSH answers on {name}: give its OS "
                        f"(--agent {name}:windows or :linux) so netcheck knows which one must.",
                    )
                )
    return replaced


def settle_unknown_os(results: Iterable[Result]) -> list[Result]:
    """For agents given without an OS: SMB answering means Windows, SSH answering means Linux.

    The links of the other OS become `skip`. When neither answers, both stay failed and the remediation
    asks for the OS, since netcheck cannot tell which service should be running.
    """
    results = list(results)
    by_agent: dict[str, dict[PortKey, Result]] = {}
    for r in results:
        check = r.check
        if settles_by_service(check) and check.port_key is not None:
            by_agent.setdefault(check.target.name, {})[check.port_key] = r
    replaced = {r.check.id: r for name, links in by_agent.items() for r in settle_agent(name, links)}
    if not replaced:
        return results
    return [replaced.get(r.check.id, r) for r in results]
