"""Host readiness: the machine netcheck runs on, judged from one HostFacts snapshot (pure).

Parsers for what the OS prints (ip_local_port_range, `netsh int ipv4 show dynamicport tcp`,
`netsh advfirewall show allprofiles`, `nft list ruleset`, `iptables -S`) are pure text → data functions.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from netcheck.host import windows
from netcheck.host.facts import HostFacts
from netcheck.host.windows import parse_dynamicport as windows_dynamicport
from netcheck.matrix import SOURCE_PORT_RANGES
from netcheck.model import Check, Phase, Result, State, Verdict

LINUX_RANGE = SOURCE_PORT_RANGES["Linux and the virtual appliance"]
WINDOWS_RANGE = SOURCE_PORT_RANGES["Windows Vista and later"]


def parse_port_range(text: str) -> tuple[int, int] | None:
    """/proc/sys/net/ipv4/ip_local_port_range: "32768\\t60999"."""
    numbers = re.findall(r"\d+", text)
    return (int(numbers[0]), int(numbers[1])) if len(numbers) >= 2 else None


def parse_dynamicport(text: str) -> tuple[int, int] | None:
    """`netsh int ipv4 show dynamicport tcp`: Start Port and Number of Ports → (first, last)."""
    start = re.search(r"Start Port\s*:\s*(\d+)", text)
    count = re.search(r"Number of Ports\s*:\s*(\d+)", text)
    if not start or not count:
        return None
    first = int(start.group(1))
    return first, first + int(count.group(1)) - 1


def parse_allprofiles(text: str) -> dict[str, str]:
    """`netsh advfirewall show allprofiles` → {"Domain": "ON", "Private": "ON", "Public": "OFF"}."""
    states: dict[str, str] = {}
    profile = None
    for line in text.splitlines():
        header = re.match(r"^\s*(Domain|Private|Public) Profile Settings", line)
        if header:
            profile = header.group(1)
            continue
        state = re.match(r"^\s*State\s+(\S+)", line)
        if state and profile and profile not in states:
            states[profile] = state.group(1).upper()
    return states


def nft_rule_count(text: str) -> int:
    """Rules in `nft list ruleset` output (chain headers, policies and braces are not rules)."""
    count = 0
    depth_in_chain = False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("chain "):
            depth_in_chain = True
            continue
        if not depth_in_chain or not line or line.startswith(("#", "type ", "policy ")):
            continue
        if line == "}":
            depth_in_chain = False
            continue
        count += 1
    return count


def iptables_rule_count(text: str) -> int:
    """Appended rules and restrictive policies in `iptables -S` output."""
    rules = sum(1 for line in text.splitlines() if line.startswith("-A "))
    policies = sum(1 for line in text.splitlines() if re.match(r"-P \S+ (DROP|REJECT)", line))
    return rules + policies


def _rules(count: int) -> str:
    return f"{count} rule{'' if count == 1 else 's'}"


def firewall_summary(outputs: Mapping[str, str | None]) -> list[str]:
    """Which local firewalls are active, each with a short description (empty: none)."""
    active = []
    if outputs.get("nftables") and (count := nft_rule_count(outputs["nftables"] or "")):
        active.append(f"nftables ({_rules(count)})")
    if outputs.get("iptables") and (count := iptables_rule_count(outputs["iptables"] or "")):
        active.append(f"iptables ({_rules(count)})")
    if (outputs.get("firewalld") or "").strip() == "running":
        active.append("firewalld")
    if (outputs.get("ufw") or "").lower().startswith("status: active"):
        active.append("ufw")
    if outputs.get("windows-profiles") or outputs.get("netsh"):
        # Get-NetFirewallProfile's JSON first; netsh (any language) only when PowerShell gave nothing.
        read = windows.windows_firewall(outputs)
        if read is not None and (read[0] or read[1]):
            summary, notes = read
            active.append("; ".join([summary or "Windows Defender Firewall (all profiles off)", *notes]))
    return active


def _result(
    check: Check, state: State, verdict: Verdict, detail: str, remediation: str = "", *, evidence: dict[str, Any] | None = None
) -> Result:
    return Result(check, state, verdict, detail, remediation, None, evidence or {})


def classify_host(check: Check, facts: HostFacts, *, phase: Phase) -> Result:
    """One host check (its id says which) judged on the snapshot."""
    aspect = check.id.split(":", 1)[1]
    if aspect == "interfaces":
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
    if aspect.startswith("port-"):
        port = int(aspect.removeprefix("port-"))
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
    if aspect == "source-ports":
        return _classify_source_ports(check, facts)
    if aspect == "firewall":
        active = firewall_summary(facts.firewall_outputs)
        seen = sorted(name for name, output in facts.firewall_outputs.items() if output is not None)
        if not active or active == ["Windows Defender Firewall (all profiles off)"]:
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
    if aspect == "privileges":
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
    """Is the management server on this machine's subnet? If not, the seed recommends a hosts-file entry."""
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
