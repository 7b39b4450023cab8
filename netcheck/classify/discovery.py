"""Non-DNS environments: Network Discovery, File and Printer Sharing and the network profile of the installing
machine, judged from what its firewall says: PowerShell's JSON reads (netcheck/parse/windows.py) first, netsh's
English text when PowerShell could not be used."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import field
from typing import Any

from netcheck.model.checks import Check, Result
from netcheck.model.kinds import DiscoveryAspect, State, Verdict
from netcheck.model.observations import DiscoveryFacts
from netcheck.model.record import record
from netcheck.parse import windows
from netcheck.parse.discovery import (
    FILE_AND_PRINTER_SHARING,
    NETWORK_DISCOVERY,
    group_state,
    parse_connection_profiles,
    parse_netsh_current_profile,
    parse_netsh_rules,
    ports_text,
)

DISCOVERY_GROUPS = {
    DiscoveryAspect.NETWORK_DISCOVERY: NETWORK_DISCOVERY,
    DiscoveryAspect.FILE_AND_PRINTER_SHARING: FILE_AND_PRINTER_SHARING,
}


def classify_discovery(check: Check, facts: DiscoveryFacts, non_dns: str | None, *, names_given: bool = True) -> Result:
    """Network Discovery / File and Printer Sharing / network profile on the installing machine. `names_given`:
    whether the topology names any machine (when every machine is given by address, no name is resolved)."""
    group = DISCOVERY_GROUPS.get(check.aspect) if isinstance(check.aspect, DiscoveryAspect) else None
    feature = group or "Network Discovery"
    evidence: dict[str, Any] = {"non_dns": non_dns, "platform": facts.platform, "ports": ports_text(group)}

    def result(state: State, verdict: Verdict, detail: str, remediation: str = "") -> Result:
        return Result(check, state, verdict, detail, remediation, None, evidence)

    if non_dns is None:
        how = "names resolve through DNS" if names_given else "every machine is given by its address"
        return result(State.NOT_APPLICABLE, Verdict.SKIP, f"{how}: {feature} is not needed for installation")
    if not facts.windows:
        return result(
            State.NOT_APPLICABLE,
            Verdict.SKIP,
            f"non-DNS environment ({non_dns}); {feature} is a Windows feature and this machine runs {facts.platform}: "
            "give the agents by address or in the hosts file instead",
        )
    reads = facts.reads
    if reads is not None and reads.rules_json is not None and reads.connections_json is not None:
        judged = discovery_judgement(
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


# ---- Windows, on PowerShell's JSON reads (any language) ------------------------------------------------


@record
class Judgement:
    """A verdict on the PowerShell reads, before it becomes the check's Result."""

    state: State
    verdict: Verdict
    detail: str
    remediation: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)


def _gpo_note(profiles: Iterable[str], firewall: Sequence[windows.FirewallProfile]) -> str:
    gpo_only = [p.name for p in firewall if not p.local_rules and p.name in set(profiles)]
    if not gpo_only:
        return ""
    return (
        f" LocalFirewallRules is GPO-only on the {', '.join(gpo_only)} profile{'s' if len(gpo_only) > 1 else ''}: "
        "a local change will not take effect; enable the rules in the Group Policy Object that manages this "
        "machine's firewall (Windows Defender Firewall with Advanced Security > Inbound Rules > New Rule > Predefined)."
    )


def judge_group(
    group: str,
    *,
    ports: str,
    rules: Sequence[windows.Rule],
    profiles: Sequence[str],
    firewall: Sequence[windows.FirewallProfile],
    non_dns: str,
) -> Judgement:
    """Are the inbound allow rules of `group` (a feature name of GROUP_IDS) enabled for every profile in force?"""
    group_id = windows.GROUP_IDS[group]
    label = f"'{group}' ({group_id})"
    off = [p.name for p in firewall if not p.enabled and p.name in profiles]
    evidence: dict[str, Any] = {"group": group_id, "profiles": list(profiles)}
    inbound = [r for r in rules if r.group.lower() == group_id.lower() and r.inbound and r.allow]
    enabled: list[windows.Rule] = []
    disabled: list[windows.Rule] = []
    for rule in inbound:
        if rule.profiles & set(profiles):
            (enabled if rule.enabled else disabled).append(rule)
    evidence.update(
        enabled_rules=[r.name for r in enabled],
        disabled_rules=[f"{r.name} ({r.ports})" if r.ports else r.name for r in disabled],
    )
    where = f"the {', '.join(profiles)} profile{'s' if len(profiles) > 1 else ''}"
    if off and set(off) == set(profiles):
        return Judgement(
            State.ENABLED,
            Verdict.PASS,
            f"Windows Defender Firewall is off for {where}: nothing blocks {group} ({ports})",
            evidence=evidence,
        )
    fix = (
        f'As Administrator: Enable-NetFirewallRule -Group "{group_id}"  (opens {ports})'
        + (
            f"; or only these rules: Enable-NetFirewallRule -Name {','.join(windows.ps_quote(r.name) for r in disabled)}"
            if disabled
            else ""
        )
        + "."
        + _gpo_note(profiles, firewall)
    )
    if not enabled and not disabled:
        return Judgement(State.DISABLED, Verdict.FAIL, f"no inbound {label} firewall rules apply to {where}", fix, evidence)
    if disabled:
        names = ", ".join(f"{r.display_name} ({r.ports})" if r.ports else r.display_name for r in disabled)
        return Judgement(
            State.DISABLED,
            Verdict.FAIL,
            f"non-DNS environment ({non_dns}); {len(disabled)} of {len(enabled) + len(disabled)} inbound {label} rules "
            f"are disabled for {where}: {names}",
            fix,
            evidence,
        )
    return Judgement(
        State.ENABLED, Verdict.PASS, f"all {len(enabled)} inbound {label} rules are enabled for {where}", evidence=evidence
    )


def judge_network_profile(
    connections: Sequence[windows.ConnectionProfile],
    part_of_domain: bool | None,
    firewall: Sequence[windows.FirewallProfile],
    non_dns: str,
) -> Judgement:
    """A Public network keeps Network Discovery off; a domain member on Public means network location detection
    did not recognise the domain."""
    evidence: dict[str, Any] = {
        "connections": {c.alias: c.category for c in connections},
        "part_of_domain": part_of_domain,
    }
    if not connections:
        return Judgement(
            State.ERROR, Verdict.ERROR, "Windows reports no connected network (Get-NetConnectionProfile)", evidence=evidence
        )
    public = [c for c in connections if c.category == "Public"]
    if not public:
        listing = ", ".join(f"{c.alias}: {c.category}" for c in connections)
        return Judgement(
            State.ENABLED, Verdict.PASS, f"network profile {listing}: Network Discovery can be enabled", evidence=evidence
        )
    aliases = ", ".join(c.alias for c in public)
    fix = "; ".join(
        f"Set-NetConnectionProfile -InterfaceAlias {windows.ps_quote(c.alias)} -NetworkCategory Private" for c in public
    )
    are = "is a Public network" if len(public) == 1 else "are Public networks"
    detail = f"non-DNS environment ({non_dns}); {aliases} {are}, where Windows keeps Network Discovery off"
    if part_of_domain:
        detail += "; this machine is domain-joined, so network location detection did not recognise the domain network"
        fix = (
            "This machine is a domain member on the Public profile: network location detection did not identify the "
            "domain network (it must reach a domain controller for that). Make sure a domain controller is reachable "
            f"through {aliases}; meanwhile, as Administrator: {fix}"
        )
    else:
        fix = f"As Administrator: {fix}"
    return Judgement(State.DISABLED, Verdict.FAIL, detail, fix + "." + _gpo_note(["Public"], firewall), evidence)


def discovery_judgement(
    group: str | None,
    *,
    ports: str,
    rules_json: str,
    connections_json: str,
    firewall_json: str | None,
    part_of_domain: bool | None,
    non_dns: str,
) -> Judgement:
    """One discovery check (a rule group, or the network profile when `group` is None) on the PowerShell reads."""
    connections = windows.parse_connection_profiles(connections_json)
    firewall = windows.parse_firewall_profiles(firewall_json or "") or []
    if connections is None:
        return Judgement(State.ERROR, Verdict.ERROR, "Get-NetConnectionProfile printed no JSON netcheck can read")
    if group is None:
        return judge_network_profile(connections, part_of_domain, firewall, non_dns)
    rules = windows.parse_firewall_rules(rules_json)
    if rules is None:
        return Judgement(State.ERROR, Verdict.ERROR, "Get-NetFirewallRule printed no JSON netcheck can read")
    profiles = windows.active_profiles(connections)
    if not profiles:
        return Judgement(State.ERROR, Verdict.ERROR, "no connected network: no firewall profile is in force")
    return judge_group(group, ports=ports, rules=rules, profiles=profiles, firewall=firewall, non_dns=non_dns)
