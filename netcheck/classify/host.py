"""Host readiness: the machine netcheck runs on, judged from one HostFacts snapshot (pure)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from netcheck.model.address import is_address
from netcheck.model.checks import Check, Result
from netcheck.model.kinds import HostAspect, Phase, State, Verdict
from netcheck.model.observations import HostFacts, NameObservation
from netcheck.parse.host import LINUX_RANGE, WINDOWS_FIREWALL_OFF, WINDOWS_RANGE, firewall_summary, parse_port_range
from netcheck.parse.windows import parse_dynamicport as windows_dynamicport


def judge_host(check: Check, facts: HostFacts, resolved: Mapping[str, Result], phase: Phase) -> Result:
    """A host check; the subnet check also needs what the management server's name resolved to."""
    if check.aspect is not HostAspect.SUBNET:
        return classify_host(check, facts, phase=phase)
    name = resolved.get(check.target.name.lower())
    address = check.target.name if is_address(check.target.name) else (name.address if name else None)
    in_hosts_file = bool(name and isinstance(name.evidence, NameObservation) and name.evidence.hosts)
    return classify_subnet(check, facts, address, in_hosts_file)


def _result(
    check: Check, state: State, verdict: Verdict, detail: str, remediation: str = "", *, evidence: dict[str, Any] | None = None
) -> Result:
    return Result(check, state, verdict, detail, remediation, None, evidence or {})


def classify_host(check: Check, facts: HostFacts, *, phase: Phase) -> Result:
    """One host check (its aspect says which) judged on the snapshot."""
    aspect = check.aspect
    if aspect is HostAspect.INTERFACES:
        up = [i for i in facts.interfaces if i.usable]
        listing = [f"{i.name} {i.address}/{i.prefix}" for i in up]
        if not up:
            return _result(
                check,
                State.DISABLED,
                Verdict.FAIL,
                "no network interface with an IPv4 address is up",
                "Bring up the network interface.",
            )
        return _result(check, State.ENABLED, Verdict.PASS, "interfaces: " + ", ".join(listing), evidence={"interfaces": listing})
    if aspect is HostAspect.PORT_FREE and check.port is not None:
        port = check.port
        holder = facts.holders.get(port)
        if holder is None:
            return _result(
                check, State.NOT_APPLICABLE, Verdict.PASS, f"TCP {port} is free on this machine", evidence={"listening": None}
            )
        if phase is Phase.POST_INSTALL:
            return _result(
                check,
                State.OPEN,
                Verdict.PASS,
                f"TCP {port} is held by {holder} (the product, after installation)",
                evidence={"listening": holder},
            )
        return _result(
            check,
            State.OPEN,
            Verdict.FAIL,
            f"TCP {port} is already taken by {holder}: the product cannot listen there",
            f"Stop or reconfigure {holder} (or remove an earlier installation) before installing.",
            evidence={"listening": holder},
        )
    if aspect is HostAspect.SOURCE_PORTS:
        return _classify_source_ports(check, facts)
    if aspect is HostAspect.FIREWALL:
        return _classify_firewall(check, facts)
    if aspect is HostAspect.PRIVILEGES:
        if facts.platform.startswith("win") and not facts.privileged:
            return _result(
                check,
                State.NOT_APPLICABLE,
                Verdict.PASS,
                "Windows: connect probes (netcheck's SYN engine needs Linux raw sockets, Administrator or not); they "
                "still tell a reset from silence, and ICMP rejects apart where Windows reports them (build 19041 on)",
            )
        if facts.privileged:
            return _result(check, State.ENABLED, Verdict.PASS, "privileged: raw SYN probes with packet evidence are available")
        return _result(
            check,
            State.DISABLED,
            Verdict.WARN,
            "not privileged: connect probes only, which cannot tell this machine's own DROP rules from a remote one",
            "Run netcheck as root (or with CAP_NET_RAW) for SYN probes and packet evidence.",
        )
    return _result(check, State.ERROR, Verdict.ERROR, f"unknown host check {aspect!r}")


def _classify_firewall(check: Check, facts: HostFacts) -> Result:
    active = firewall_summary(facts.firewall_outputs)
    seen = sorted(name for name, output in facts.firewall_outputs.items() if output is not None)
    if not active or active == [WINDOWS_FIREWALL_OFF]:
        return _result(check, State.DISABLED, Verdict.PASS, "no local firewall rules", evidence={"inspected": seen})
    fix = (
        "Make sure it lets the product's connections through: 'netcheck ports --format nftables' (or iptables, "
        "netsh) prints the rules this deployment needs."
    )
    if facts.platform.startswith("win"):
        fix = (
            "Make sure it lets the product's connections through: as Administrator, add the rules "
            "'netcheck ports --format netsh' prints."
        )
        if any("GPO-only" in line for line in active):
            fix += (
                " LocalFirewallRules is GPO-only here: a local rule will not take effect; add them to the Group "
                "Policy Object instead."
            )
    return _result(
        check,
        State.ENABLED,
        Verdict.WARN,
        "a local firewall is active: " + ", ".join(active),
        fix,
        evidence={"active": active, "inspected": seen},
    )


def _classify_source_ports(check: Check, facts: HostFacts) -> Result:
    windows = facts.platform.startswith("win")
    text = facts.ephemeral_text
    # Windows: the two numbers of netsh's output in any language (windows.parse_dynamicport), never its labels.
    current = (windows_dynamicport(text) if windows else parse_port_range(text)) if text else None
    expected, label = (WINDOWS_RANGE, "Windows Vista and later") if windows else (LINUX_RANGE, "Linux")
    if current is None:
        return _result(check, State.ERROR, Verdict.SKIP, "could not read this machine's ephemeral port range")
    low, high = current
    evidence: dict[str, Any] = {"range": [low, high], "expected": list(expected)}
    if expected[0] <= low and high <= expected[1]:
        return _result(
            check,
            State.ENABLED,
            Verdict.PASS,
            f"source ports {low}-{high}, within the documented {label} range {expected[0]}-{expected[1]}",
            evidence=evidence,
        )
    setting = (
        f"as Administrator: netsh int ipv4 set dynamicport tcp start={expected[0]} num={expected[1] - expected[0] + 1}"
        if windows
        else f'sysctl -w net.ipv4.ip_local_port_range="{expected[0]} {min(expected[1], 60999)}"'
    )
    return _result(
        check,
        State.ENABLED,
        Verdict.WARN,
        f"source ports {low}-{high} go beyond the documented {label} range {expected[0]}-{expected[1]}: "
        "firewall rules written from the product's documentation would drop some connections",
        f"Allow source ports {low}-{high} in the firewall rules, or narrow the range ({setting}).",
        evidence=evidence,
    )


def classify_subnet(check: Check, facts: HostFacts, address: str | None, in_hosts_file: bool) -> Result:
    """Is the management server on this machine's subnet? If not, the product's documentation recommends a
    hosts-file entry."""
    name = check.target.name
    if address is None:
        return _result(check, State.UNRESOLVED, Verdict.SKIP, f"{name} did not resolve (see its name check)")
    ip = ipaddress.ip_address(address)
    local = [f"{i.address}/{i.prefix}" for i in facts.interfaces if i.up]
    if any(ip in ipaddress.ip_interface(net).network for net in local):
        return _result(
            check, State.RESOLVED, Verdict.PASS, f"{name} ({address}) is on this machine's subnet", evidence={"subnets": local}
        )
    if in_hosts_file or name == address:
        return _result(
            check,
            State.RESOLVED,
            Verdict.PASS,
            f"{name} ({address}) is on another subnet, and reached by address or hosts file",
            evidence={"subnets": local},
        )
    return _result(
        check,
        State.RESOLVED,
        Verdict.WARN,
        f"{name} ({address}) is on another subnet than this machine ({', '.join(local) or 'no subnet'})",
        f"Add the line '{address} {name}' to this machine's hosts file: the product's documentation recommends it when "
        "the agent and the management server are on different subnets.",
        evidence={"subnets": local},
    )
