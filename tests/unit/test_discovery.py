"""Non-DNS detection, and the Windows parsers on output in netsh's and PowerShell's layout (CRLF, padded
keys, the 'Ok.' trailer), as saved in tests/unit/fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from netcheck.classify import classify_discovery
from netcheck.model.checks import Check, Target
from netcheck.model.kinds import DiscoveryAspect, Kind, Role, State, Verdict
from netcheck.model.observations import DiscoveryFacts
from netcheck.observe.names.dns import DnsAnswer, DnsConfig
from netcheck.observe.names.observe import NameObservation
from netcheck.parse.discovery import (
    FEATURE_PORTS,
    group_state,
    non_dns_reason,
    parse_connection_profiles,
    parse_netsh_current_profile,
    parse_netsh_rules,
)

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_bytes().decode()


def test_netsh_rules() -> None:
    rules = parse_netsh_rules(fixture("netsh_show_rule_all.txt"))
    assert len(rules) == 18
    smb = next(r for r in rules if r.name == "File and Printer Sharing (SMB-In)")
    assert (smb.enabled, smb.direction, smb.profiles, smb.protocol, smb.local_port) == (False, "In", ("Private",), "TCP", "445")
    assert rules[1].profiles == ("Domain", "Public")


def test_group_state_per_profile() -> None:
    rules = parse_netsh_rules(fixture("netsh_show_rule_all.txt"))
    enabled, disabled = group_state(rules, "Network Discovery", "Private")
    assert len(enabled) == 9 and disabled == []
    enabled, disabled = group_state(rules, "Network Discovery", "Public")
    assert (enabled, disabled) == ([], ["Network Discovery (NB-Name-In)"])
    enabled, disabled = group_state(rules, "File and Printer Sharing", "Private")
    assert disabled == ["File and Printer Sharing (SMB-In)", "File and Printer Sharing (NB-Session-In)"]
    assert len(enabled) == 3


def test_profiles() -> None:
    assert parse_netsh_current_profile(fixture("netsh_currentprofile_private.txt")) == "Private"
    assert parse_netsh_current_profile(fixture("netsh_currentprofile_public.txt")) == "Public"
    assert parse_netsh_current_profile("garbage") is None
    assert parse_connection_profiles(fixture("get_netconnectionprofile.txt")) == [
        ("Ethernet0", "DomainAuthenticated"),
        ("Ethernet1", "Public"),
    ]


def test_feature_ports_cover_the_issue_list() -> None:
    assert {(p.protocol, p.port) for p in FEATURE_PORTS} == {
        ("udp", 137), ("udp", 138), ("tcp", 139), ("tcp", 445), ("udp", 5355),
        ("udp", 1900), ("udp", 3702), ("tcp", 2869), ("tcp", 5357), ("tcp", 5358),
    }  # fmt: skip


def obs(name: str, *, dns: tuple[DnsAnswer, ...] = (), netbios: tuple[str, ...] | None = None) -> NameObservation:
    return NameObservation(name, DnsConfig(("198.18.0.53",)), dns, netbios=netbios)


@pytest.mark.parametrize(
    ("servers", "observations", "reason"),
    [
        ((), [], "no name server is configured"),
        (("198.18.0.53",), [obs("ms", dns=(DnsAnswer("198.18.0.53", "ms", "TIMEOUT"),))], "no configured name server answers"),
        (
            ("198.18.0.53",),
            [obs("ms", dns=(DnsAnswer("198.18.0.53", "ms", "NXDOMAIN"),), netbios=("198.18.0.20",))],
            "names resolve only through the hosts file, NetBIOS or LLMNR (ms)",
        ),
        (("198.18.0.53",), [obs("ms", dns=(DnsAnswer("198.18.0.53", "ms", "NOERROR", ("198.18.0.20",)),))], None),
        (("198.18.0.53",), [obs("gone", dns=(DnsAnswer("198.18.0.53", "gone", "NXDOMAIN"),))], None),
        (("198.18.0.53",), [], None),
    ],
)
def test_non_dns_reason(servers: tuple[str, ...], observations: list[NameObservation], reason: str | None) -> None:
    assert non_dns_reason(servers, observations) == reason


def check(aspect: str) -> Check:
    return Check(
        f"discovery:{aspect}", Kind.DISCOVERY, Role.CONSOLE, Target("this machine", Role.CONSOLE), aspect=DiscoveryAspect(aspect)
    )


WINDOWS = DiscoveryFacts(
    "win32",
    fixture("netsh_show_rule_all.txt"),
    fixture("netsh_currentprofile_private.txt"),
    fixture("get_netconnectionprofile.txt"),
)


def test_windows_verdicts_in_a_non_dns_environment() -> None:
    nd = classify_discovery(check("network-discovery"), WINDOWS, "no name server is configured")
    assert (nd.state, nd.verdict) == (State.ENABLED, Verdict.PASS)
    fps = classify_discovery(check("file-and-printer-sharing"), WINDOWS, "no name server is configured")
    assert (fps.state, fps.verdict) == (State.DISABLED, Verdict.FAIL)
    assert "2 of 5 inbound 'File and Printer Sharing' rules are disabled for the Private profile" in fps.detail
    assert 'Enable-NetFirewallRule -Group "@FirewallAPI.dll,-28502"' in fps.remediation
    assert "TCP 445 (SMB)" in fps.remediation
    profile = classify_discovery(check("network-profile"), WINDOWS, "no name server is configured")
    assert profile.verdict is Verdict.FAIL and "Ethernet1 is a Public network" in profile.detail
    assert "Set-NetConnectionProfile -InterfaceAlias 'Ethernet1' -NetworkCategory Private" in profile.remediation


def test_windows_with_dns_and_linux_are_skipped_with_the_reason() -> None:
    with_dns = classify_discovery(check("network-discovery"), WINDOWS, None)
    assert (with_dns.state, with_dns.verdict) == (State.NOT_APPLICABLE, Verdict.SKIP)
    linux = classify_discovery(check("file-and-printer-sharing"), DiscoveryFacts("linux"), "no name server is configured")
    assert linux.verdict is Verdict.SKIP and "Windows feature" in linux.detail and "linux" in linux.detail


def test_unreadable_firewall_is_an_error() -> None:
    broken = DiscoveryFacts("win32", errors=("netsh exited 1: access denied",))
    result = classify_discovery(check("network-discovery"), broken, "no name server is configured")
    assert (result.state, result.verdict) == (State.ERROR, Verdict.ERROR) and "access denied" in result.detail
