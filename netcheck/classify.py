"""Observation + expectation → Result: the verdict rules of DESIGN.md, as pure functions."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, replace
from datetime import datetime
from typing import Any

from netcheck.discovery import (
    FILE_AND_PRINTER_SHARING,
    NETWORK_DISCOVERY,
    DiscoveryFacts,
    group_state,
    parse_connection_profiles,
    parse_netsh_current_profile,
    parse_netsh_rules,
    ports_text,
)
from netcheck.host import windows
from netcheck.matrix import PORTS, port_key_of, source_port_note
from netcheck.model import AgentOS, Check, Kind, Observation, Phase, Result, Role, State, Verdict
from netcheck.names.observe import NameObservation
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


def describe_evidence(evidence: Mapping[str, Any]) -> str:
    """One line of what was seen on the wire (or from the OS), for tables and tickets."""
    reply = evidence.get("reply")
    attempts = evidence.get("attempts", 1)
    ttl = f", ttl {evidence['ttl']}" if "ttl" in evidence else ""
    rtt = f", {evidence['rtt_ms']}ms" if "rtt_ms" in evidence else ""
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
    expect_responder: bool = False,
) -> Result:
    """Judge one TCP link (DESIGN.md 'States and verdicts').

    With `expect_responder` (a `netcheck listen` runs on the target), a reset on a product port is no longer
    the best a probe can see: the responder would have answered, so the reset is flagged as possibly forged.
    """
    state, evidence, address = observation.state, observation.evidence, observation.address
    seen = describe_evidence(evidence)
    key = port_key_of(check.port, ports)

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


def _paths_summary(obs: NameObservation) -> str:
    parts = []
    for answer in obs.dns:
        said = ", ".join(answer.addresses) or answer.rcode
        ttl = f" ttl {answer.ttl}" if answer.ttl is not None else ""
        parts.append(f"DNS {answer.server}: {said}{ttl}")
    if not obs.dns:
        parts.append("DNS: no name server configured")
    if obs.hosts:
        parts.append("hosts: " + ", ".join(f"{e.address} (line {e.line})" for e in obs.hosts))
    else:
        parts.append("hosts: -")
    parts.append(f"system: {', '.join(obs.system) or obs.system_error or '-'}")
    for label, found in (("NetBIOS", obs.netbios), ("LLMNR", obs.llmnr)):
        if found is not None:
            parts.append(f"{label}: {', '.join(found) or 'no answer'}")
    return "; ".join(parts)


def _hosts_line_fix(obs: NameObservation, address: str) -> str:
    return f"add the line '{address} {obs.name}' to the hosts file ({obs.hosts_path or 'the hosts file'})"


def classify_name(check: Check, obs: NameObservation) -> Result:
    """The name check: pass when a path resolves and all agree; fail on a stale hosts entry or when nothing
    (that the product uses: DNS, hosts file, system resolver) resolves; warn when only the hosts file does."""
    name = obs.name
    dns_addresses, hosts_addresses, system = set(obs.dns_addresses), set(obs.hosts_addresses), set(obs.system)
    fallback = tuple(obs.netbios or ()) + tuple(obs.llmnr or ())
    summary = _paths_summary(obs)
    state = State.RESOLVED if obs.system else State.UNRESOLVED
    address = obs.system[0] if obs.system else None

    def result(verdict: Verdict, detail: str, remediation: str = "") -> Result:
        return Result(check, state, verdict, f"{detail} [{summary}]", remediation, address, name_evidence(obs), obs.elapsed_ms)

    if not (dns_addresses or hosts_addresses or system):
        if fallback:
            via = "NetBIOS" if obs.netbios else "LLMNR"
            return result(
                Verdict.FAIL,
                f"{name} resolves only through {via} ({fallback[0]}), which the product does not use",
                f"Add an A record {name} -> {fallback[0]} in DNS, or {_hosts_line_fix(obs, fallback[0])} of every machine "
                "that connects to it.",
            )
        servers = ", ".join(obs.dns_config.nameservers) or "none configured"
        return result(
            Verdict.FAIL,
            f"{name} does not resolve through DNS (servers: {servers}), the hosts file or the system resolver",
            f"Add an A record for {name} in DNS, or {_hosts_line_fix(obs, f'<address of {name}>')} of every machine "
            "that connects to it.",
        )
    if hosts_addresses and dns_addresses and not hosts_addresses & dns_addresses:
        entry = obs.hosts[0]
        right = obs.dns_addresses[0]
        return result(
            Verdict.FAIL,
            f"stale hosts entry: line {entry.line} of {obs.hosts_path} maps {name} to {entry.address}, DNS says {right}",
            f"Change line {entry.line} of {obs.hosts_path} to '{right} {name}', or delete it so that DNS is used.",
        )
    if not system:
        known = (obs.dns_addresses or obs.hosts_addresses)[0]
        path = "DNS" if dns_addresses else "the hosts file"
        return result(
            Verdict.FAIL,
            f"the system resolver cannot resolve {name} ({obs.system_error or 'no address'}), though {path} gives {known}",
            f"Point this machine at a name server that knows {name}, or {_hosts_line_fix(obs, known)}.",
        )
    warnings, fixes = [], []
    if system and not system & (dns_addresses | hosts_addresses):
        warnings.append(f"the system resolver says {', '.join(obs.system)}, which neither DNS nor the hosts file gives")
        fixes.append("Check nsswitch/resolver caches (nscd, systemd-resolved; ipconfig /flushdns on Windows).")
    if hosts_addresses and not dns_addresses:
        line = obs.hosts[0]
        warnings.append(f"{name} resolves only through the hosts file (line {line.line})")
        fixes.append(
            f"Add an A record {name} -> {line.address} in DNS, or keep the line '{line.address} {name}' in the hosts file "
            "of every machine that connects to it (agents on another subnet need it most)."
        )
    said = {a.server: (", ".join(sorted(a.addresses)) or a.rcode) for a in obs.dns}
    if len(set(said.values())) > 1:
        warnings.append("the name servers disagree: " + "; ".join(f"{server} says {value}" for server, value in said.items()))
        fixes.append("Fix or remove the name server that differs: agents configured with it will resolve differently.")
    for ip, names in obs.ptr:
        if names and not any(n.lower() == name.lower() or n.lower().split(".")[0] == name.lower().split(".")[0] for n in names):
            warnings.append(f"reverse lookup of {ip} names {', '.join(names)}, not {name}")
            fixes.append(f"Correct the PTR record of {ip}.")
    for problem in obs.hosts_problems:
        warnings.append(f"hosts file {problem.describe()}")
        fixes.append(f"Fix line {problem.line} of {obs.hosts_path}.")
    if warnings:
        return result(Verdict.WARN, "; ".join(warnings), " ".join(dict.fromkeys(fixes)))
    ptr = next((names for _ip, names in obs.ptr if names), ())
    reverse = f", PTR {ptr[0]}" if ptr else ""
    return result(Verdict.PASS, f"{name} resolves to {', '.join(obs.system)}; every path agrees{reverse}")


def name_evidence(obs: NameObservation) -> dict[str, Any]:
    """The observation as JSON-ready evidence."""
    evidence = asdict(obs)
    evidence.pop("name")
    evidence["ptr"] = {ip: list(names) for ip, names in obs.ptr}
    return evidence


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


DISCOVERY_GROUPS = {"network-discovery": NETWORK_DISCOVERY, "file-and-printer-sharing": FILE_AND_PRINTER_SHARING}


def classify_discovery(check: Check, facts: DiscoveryFacts, non_dns: str | None) -> Result:
    """Network Discovery / File and Printer Sharing / network profile on the installing machine."""
    aspect = check.id.split(":", 1)[1]
    group = DISCOVERY_GROUPS.get(aspect)
    feature = group or "Network Discovery"
    evidence: dict[str, Any] = {"non_dns": non_dns, "platform": facts.platform, "ports": ports_text(group)}

    def result(state: State, verdict: Verdict, detail: str, remediation: str = "") -> Result:
        return Result(check, state, verdict, detail, remediation, None, evidence)

    if non_dns is None:
        return result(State.NOT_APPLICABLE, Verdict.SKIP, f"names resolve through DNS: {feature} is not needed for installation")
    if not facts.windows:
        return result(
            State.NOT_APPLICABLE,
            Verdict.SKIP,
            f"non-DNS environment ({non_dns}); {feature} is a Windows feature and this machine runs {facts.platform}: "
            "give the agents by address or in the hosts file instead",
        )
    reads = facts.reads
    if reads is not None and reads.rules_json is not None and reads.connections_json is not None:
        judged = windows.discovery_judgement(
            group,
            ports=ports_text(group),
            rules_json=reads.rules_json,
            connections_json=reads.connections_json,
            firewall_json=reads.firewall_json,
            part_of_domain=reads.part_of_domain,
            non_dns=non_dns,
        )
        evidence.update(judged.evidence, source="PowerShell (Get-NetFirewallRule, Get-NetConnectionProfile)")
        return result(judged.state, judged.verdict, judged.detail, judged.remediation)
    if reads is not None:
        evidence["powershell_errors"] = list(reads.errors)
    if facts.errors:
        return result(State.ERROR, Verdict.ERROR, "could not read the Windows firewall: " + "; ".join(facts.errors))
    profile = parse_netsh_current_profile(facts.profile_text)
    if profile is None:
        return result(State.ERROR, Verdict.ERROR, "could not tell the current firewall profile from netsh output")
    evidence["profile"] = profile
    if group is None:
        connections = parse_connection_profiles(facts.connection_profiles_text)
        evidence["connections"] = dict(connections)
        public = [alias for alias, category in connections if category.lower() == "public"] or (
            ["the current network"] if profile == "Public" and not connections else []
        )
        if public:
            return result(
                State.DISABLED,
                Verdict.FAIL,
                f"non-DNS environment ({non_dns}); {', '.join(public)} is a Public network, where Windows keeps "
                "Network Discovery off",
                " ".join(f"Set-NetConnectionProfile -InterfaceAlias '{alias}' -NetworkCategory Private" for alias in public)
                if connections
                else "Mark this network as Private (Settings > Network > Properties > Private).",
            )
        return result(State.ENABLED, Verdict.PASS, f"network profile {profile}: Network Discovery can be enabled")
    enabled, disabled = group_state(parse_netsh_rules(facts.rules_text), group, profile)
    evidence.update(enabled_rules=enabled, disabled_rules=disabled)
    fix = f'As Administrator: Enable-NetFirewallRule -Group "{windows.GROUP_IDS[group]}"  (opens {ports_text(group)})'
    if not enabled and not disabled:
        # netsh prints translated group names; finding none is no proof that the group is missing.
        return result(
            State.ERROR,
            Verdict.ERROR,
            f"netsh listed no inbound '{group}' rule for the {profile} profile (on a non-English Windows it may print "
            "the group under a translated name)",
            fix,
        )
    if disabled:
        return result(
            State.DISABLED,
            Verdict.FAIL,
            f"non-DNS environment ({non_dns}); {len(disabled)} of {len(enabled) + len(disabled)} inbound '{group}' rules "
            f"are disabled for the {profile} profile: {', '.join(disabled)}",
            fix,
        )
    return result(
        State.ENABLED, Verdict.PASS, f"all {len(enabled)} inbound '{group}' rules are enabled for the {profile} profile"
    )


def classify_service(check: Check, evidence: Mapping[str, Any], *, expect_responder: bool, now: datetime) -> Result:
    """What answered on an open port, judged against what the matrix expects there."""
    protocol = evidence.get("protocol")
    target, port = check.target.name, check.port

    def result(verdict: Verdict, detail: str, remediation: str = "") -> Result:
        state = State.ERROR if protocol == "error" else State.OPEN
        return Result(check, state, verdict, detail, remediation, None, dict(evidence))

    if protocol == "error":
        return result(Verdict.ERROR, f"netcheck could not identify the service: {evidence.get('error')}")
    if protocol == "netcheck-responder":
        if evidence.get("verified") is True:
            return result(Verdict.PASS, "netcheck responder answered: link verified end to end (shared token checked)")
        if evidence.get("verified") is False:
            return result(
                Verdict.WARN,
                "a netcheck responder answered, but not with the token given (--token)",
                f"Start 'netcheck listen --token ...' on {target} with the same token, or drop --token here.",
            )
        return result(Verdict.PASS, "netcheck responder answered: link verified end to end (no token to authenticate it)")
    if protocol == "ssh":
        return result(Verdict.PASS, f"SSH {evidence.get('ssh_version')}: {evidence.get('product')}")
    if protocol == "smb" or port_key_of(port) == "smb":
        return _classify_smb(result, evidence, target)
    if protocol == "tls":
        subject, not_after = evidence.get("subject"), evidence.get("not_after")
        expires = datetime.fromisoformat(not_after) if not_after else None
        detail = f"{evidence.get('tls_version')} ({evidence.get('cipher')}); certificate {subject or 'unreadable'}"
        if expires and expires < now:
            return result(
                Verdict.WARN, f"{detail}, expired {expires:%Y-%m-%d}", f"Renew the certificate of the service on {target}:{port}."
            )
        return result(Verdict.PASS, f"{detail}{f', expires {expires:%Y-%m-%d}' if expires else ''}")
    if expect_responder:
        return result(
            Verdict.WARN,
            f"port {port} is open but the netcheck responder did not answer: another program listens there",
            f"Find what listens on {target}:{port} (it would keep the product from binding it), or run 'netcheck listen' there.",
        )
    if port_key_of(port) == "ssh":
        return result(
            Verdict.WARN,
            f"port {port} answers, but not with an SSH identification string",
            f"Make sure sshd, not another program, listens on {target}:{port}.",
        )
    return result(
        Verdict.WARN,
        f"something listens on {port} but speaks neither TLS nor the netcheck handshake (the product encrypts it by default)",
        f"Find what listens on {target}:{port}.",
    )


def _classify_smb(result: Callable[..., Result], evidence: Mapping[str, Any], target: str) -> Result:
    dialects, smb1 = list(evidence.get("dialects", [])), bool(evidence.get("smb1"))
    if not dialects and not smb1:
        return result(
            Verdict.FAIL,
            "port 445 answers, but no SMB dialect could be negotiated",
            f"Make sure the Server service (LanmanServer) answers on {target}:445, not another program.",
        )
    if not dialects:
        return result(
            Verdict.FAIL,
            "SMB1 only: no SMB2/3 dialect; current Windows does not speak SMB1 by default",
            f"Enable SMB2/3 on {target} (Set-SmbServerConfiguration -EnableSMB2Protocol $true).",
        )
    signing = {True: "signing required", False: "signing not required", None: "signing unknown"}[evidence.get("signing_required")]
    ciphers = evidence.get("ciphers") or []
    if ciphers:
        encryption = f"encryption capable ({', '.join(ciphers)})"
    else:
        encryption = "encryption capable" if evidence.get("encryption") else "no encryption"
    detail = f"SMB {dialects[-1]} (dialects {', '.join(dialects)}); {signing}; {encryption}"
    if smb1:
        return result(Verdict.WARN, f"{detail}; SMB1 is enabled too", f"Disable SMB1 on {target}: it is insecure and not needed.")
    return result(Verdict.PASS, detail)
