"""Non-DNS environments: Network Discovery, File and Printer Sharing and the network profile of the installing
machine, judged from what its firewall says."""

from __future__ import annotations

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
from netcheck.model import Check, DiscoveryAspect, Result, State, Verdict

DISCOVERY_GROUPS = {
    DiscoveryAspect.NETWORK_DISCOVERY: NETWORK_DISCOVERY,
    DiscoveryAspect.FILE_AND_PRINTER_SHARING: FILE_AND_PRINTER_SHARING,
}


def classify_discovery(check: Check, facts: DiscoveryFacts, non_dns: str | None) -> Result:
    """Network Discovery / File and Printer Sharing / network profile on the installing machine."""
    group = DISCOVERY_GROUPS.get(check.aspect) if isinstance(check.aspect, DiscoveryAspect) else None
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
    fix = f'netsh advfirewall firewall set rule group="{group}" new enable=Yes  (opens {ports_text(group)})'
    if not enabled and not disabled:
        return result(State.DISABLED, Verdict.FAIL, f"no inbound '{group}' firewall rules for the {profile} profile", fix)
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
