"""Host readiness: parsers for what the OS says about the machine netcheck runs on (pure); the verdicts are
netcheck.classify.host's.

Parsers for what the OS prints (ip_local_port_range, `netsh int ipv4 show dynamicport tcp`,
`netsh advfirewall show allprofiles`, `nft list ruleset`, `iptables -S`) are pure text → data functions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from netcheck.model.matrix import SOURCE_PORT_RANGES
from netcheck.parse import windows

LINUX_RANGE = SOURCE_PORT_RANGES["Linux and the virtual appliance"]
WINDOWS_RANGE = SOURCE_PORT_RANGES["Windows Vista and later"]
# firewall_summary's line when Windows reports only GPO-only notes with every profile off.
WINDOWS_FIREWALL_OFF = "Windows Defender Firewall (all profiles off)"


def parse_port_range(text: str) -> tuple[int, int] | None:
    """/proc/sys/net/ipv4/ip_local_port_range: "32768\\t60999"."""
    numbers = re.findall(r"\d+", text)
    return (int(numbers[0]), int(numbers[1])) if len(numbers) >= 2 else None


def parse_dynamicport(text: str) -> tuple[int, int] | None:
    """`netsh int ipv4 show dynamicport tcp` in English: Start Port and Number of Ports → (first, last). The host
    check reads netsh in any language with windows.parse_dynamicport instead."""
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
            active.append("; ".join([summary or WINDOWS_FIREWALL_OFF, *notes]))
    return active
