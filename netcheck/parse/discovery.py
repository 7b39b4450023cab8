"""Pure parsers for the non-DNS needs of the installing machine: the firewall groups Network Discovery and File
and Printer Sharing (netsh's rules and profiles), and whether this is a non-DNS environment."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from netcheck.model.observations import NameObservation
from netcheck.model.record import record

NETWORK_DISCOVERY = "Network Discovery"
FILE_AND_PRINTER_SHARING = "File and Printer Sharing"


@record
class FeaturePort:
    protocol: str
    port: int
    purpose: str
    groups: tuple[str, ...]


# Inbound rules of Windows' two rule groups (netsh advfirewall firewall show rule, group by "Grouping").
FEATURE_PORTS: tuple[FeaturePort, ...] = (
    FeaturePort("udp", 137, "NetBIOS name service", (NETWORK_DISCOVERY, FILE_AND_PRINTER_SHARING)),
    FeaturePort("udp", 138, "NetBIOS datagram service", (NETWORK_DISCOVERY, FILE_AND_PRINTER_SHARING)),
    FeaturePort("tcp", 139, "NetBIOS session service", (FILE_AND_PRINTER_SHARING,)),
    FeaturePort("tcp", 445, "SMB", (FILE_AND_PRINTER_SHARING,)),
    FeaturePort("udp", 5355, "LLMNR", (NETWORK_DISCOVERY, FILE_AND_PRINTER_SHARING)),
    FeaturePort("udp", 1900, "SSDP", (NETWORK_DISCOVERY,)),
    FeaturePort("tcp", 2869, "UPnP host", (NETWORK_DISCOVERY,)),
    FeaturePort("udp", 3702, "WS-Discovery (FDResPub, fdPHost)", (NETWORK_DISCOVERY,)),
    FeaturePort("tcp", 5357, "WSD events (FDResPub, HTTP)", (NETWORK_DISCOVERY,)),
    FeaturePort("tcp", 5358, "WSD secure events (FDResPub, HTTPS)", (NETWORK_DISCOVERY,)),
)


def ports_text(group: str | None = None) -> str:
    chosen = [p for p in FEATURE_PORTS if group is None or group in p.groups]
    return ", ".join(f"{p.protocol.upper()} {p.port} ({p.purpose})" for p in chosen)


def non_dns_reason(nameservers: Sequence[str], observations: Iterable[NameObservation]) -> str | None:
    """Why this looks like a non-DNS environment, or None when DNS is in use."""
    if not nameservers:
        return "no name server is configured"
    observed = list(observations)
    answers = [answer for obs in observed for answer in obs.dns]
    if answers and not any(answer.answered for answer in answers):
        return "no configured name server answers"
    if observed and not any(obs.dns_addresses for obs in observed):
        resolved_elsewhere = [obs.name for obs in observed if obs.hosts or obs.netbios or obs.llmnr]
        if resolved_elsewhere:
            return f"names resolve only through the hosts file, NetBIOS or LLMNR ({', '.join(resolved_elsewhere)})"
    return None


# ---- Windows output parsers (pure) -------------------------------------------------------------------


@record
class FirewallRule:
    name: str
    enabled: bool
    direction: str
    profiles: tuple[str, ...]
    grouping: str
    protocol: str
    local_port: str
    action: str


def parse_netsh_rules(text: str) -> list[FirewallRule]:
    """`netsh advfirewall firewall show rule name=all` → rules (blocks of 'Key: value' lines)."""
    rules = []
    for block in re.split(r"\r?\n\s*\r?\n", text):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            key, sep, value = line.partition(":")
            if sep and not key.startswith("-"):
                fields[key.strip().lower()] = value.strip()
        if "rule name" not in fields:
            continue
        rules.append(
            FirewallRule(
                name=fields["rule name"],
                enabled=fields.get("enabled", "").lower() == "yes",
                direction=fields.get("direction", ""),
                profiles=tuple(p.strip() for p in fields.get("profiles", "").split(",") if p.strip()),
                grouping=fields.get("grouping", ""),
                protocol=fields.get("protocol", ""),
                local_port=fields.get("localport", ""),
                action=fields.get("action", ""),
            )
        )
    return rules


def parse_netsh_current_profile(text: str) -> str | None:
    """`netsh advfirewall show currentprofile` → 'Domain' | 'Private' | 'Public' (None if not found)."""
    match = re.search(r"^\s*(Domain|Private|Public) Profile Settings", text, re.MULTILINE | re.IGNORECASE)
    return match.group(1).capitalize() if match else None


def parse_connection_profiles(text: str) -> list[tuple[str, str]]:
    """`Get-NetConnectionProfile | Format-List` → [(InterfaceAlias, NetworkCategory)]."""
    profiles = []
    for block in re.split(r"\r?\n\s*\r?\n", text):
        fields = {}
        for line in block.splitlines():
            key, sep, value = line.partition(":")
            if sep:
                fields[key.strip()] = value.strip()
        if "NetworkCategory" in fields:
            profiles.append((fields.get("InterfaceAlias", fields.get("Name", "?")), fields["NetworkCategory"]))
    return profiles


def _applies_to(rule: FirewallRule, profile: str) -> bool:
    return "All" in rule.profiles or any(p.lower() == profile.lower() for p in rule.profiles)


def group_state(rules: Sequence[FirewallRule], group: str, profile: str) -> tuple[list[str], list[str]]:
    """(enabled, disabled) inbound allow rules of `group` that apply to `profile`."""
    enabled: list[str] = []
    disabled: list[str] = []
    for rule in rules:
        if rule.grouping.lower() != group.lower() or rule.direction.lower() != "in" or rule.action.lower() != "allow":
            continue
        if not _applies_to(rule, profile):
            continue
        (enabled if rule.enabled else disabled).append(rule.name)
    return enabled, disabled


# ---- observation (edge) ------------------------------------------------------------------------------
