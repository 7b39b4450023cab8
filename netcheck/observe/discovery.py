"""Non-DNS environments: what the installing machine then needs (Network Discovery, File and Printer Sharing).

The product's Network Connections sheet: in a non-DNS environment, Network Discovery and File and Printer Sharing
must be enabled on the machine the installation runs from (management server or console), which needs extra TCP
and UDP ports.
On Windows the rule groups (by their world-ready ids), the network profile and the firewall profiles are read as
PowerShell JSON (netcheck/parse/windows.py); `netsh` is the fallback when PowerShell cannot run, parsed by the
English parsers below (netsh runs under code page 437, which makes it print English). The other OSes have no
such features, and their checks are `skip` with the reason.
"""

from __future__ import annotations

import sys

from netcheck.model.observations import DiscoveryFacts, WindowsReads
from netcheck.observe.host import run_command
from netcheck.parse import windows


def observe_discovery() -> DiscoveryFacts:
    """Read the firewall rules and the network profile (only on Windows; elsewhere there is nothing to read)."""
    if not sys.platform.startswith("win"):
        return DiscoveryFacts(sys.platform)
    outputs = {
        name: run_command(windows.powershell(command))
        for name, command in (
            ("rules", windows.FIREWALL_RULES_COMMAND),
            ("connections", windows.CONNECTION_PROFILES_COMMAND),
            ("firewall", windows.FIREWALL_PROFILES_COMMAND),
            ("domain", windows.DOMAIN_MEMBER_COMMAND),
        )
    }
    ps_errors = tuple(error for _out, error in outputs.values() if error)
    reads = WindowsReads(
        *(None if outputs[name][1] else outputs[name][0] for name in ("rules", "connections", "firewall")),
        part_of_domain=None if outputs["domain"][1] else windows.parse_bool(outputs["domain"][0]),
        errors=ps_errors,
    )
    if reads.rules_json is not None and reads.connections_json is not None:
        return DiscoveryFacts(sys.platform, reads=reads)
    # PowerShell (or its NetSecurity module) is not usable: netsh, in English.
    rules, rules_error = run_command(windows.netsh_english("advfirewall", "firewall", "show", "rule", "name=all"))
    profile, profile_error = run_command(windows.netsh_english("advfirewall", "show", "currentprofile"))
    errors = tuple(e for e in (rules_error, profile_error) if e)
    return DiscoveryFacts(sys.platform, rules, profile, "", errors, reads=reads)
