"""The rules `netcheck ports` prints load into real nftables and iptables, in a lab namespace."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.lab.netns import Lab

pytestmark = pytest.mark.lab
TOPOLOGY = [
    "--management-server",
    "198.18.0.20",
    "--license-server",
    "198.18.0.25",
    "--agent",
    "198.18.0.31:windows",
    "--agent",
    "198.18.0.41:linux",
]


def ports(fmt: str, topology: list[str] = TOPOLOGY) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-m", "netcheck", "ports", "--format", fmt, *topology], capture_output=True, text=True, check=True
    ).stdout
    return [line for line in out.splitlines() if line and not line.startswith("#")]


def test_nftables_rules_load(small_lab: Lab) -> None:
    host = small_lab.add_host("fw", "198.18.0.20/24")
    rules = ports("nftables")
    assert len(rules) == 14  # page 2 included: the management server and the console manage the agents on 9876
    host.nft(
        "add table inet filter\nadd chain inet filter input { type filter hook input priority 0; }\n" + "\n".join(rules) + "\n"
    )
    listing = host.run(["nft", "list", "chain", "inet", "filter", "input"]).stdout
    assert listing.count(" accept comment ") == 14
    assert "ip saddr 198.18.0.41 tcp sport 32768-61000 tcp dport 9876 accept" in listing


def test_iptables_rules_load(small_lab: Lab) -> None:
    host = small_lab.add_host("fw", "198.18.0.20/24")
    rules = ports("iptables")
    for rule in rules:
        host.run(["sh", "-c", rule])
    listing = host.run(["iptables", "-S", "INPUT"]).stdout
    assert listing.count("-j ACCEPT") == len(rules) == 14
    assert "--dport 445 -m multiport --sports 1025:5000,32768:65535" in listing


IPV6_TOPOLOGY = [
    "--management-server",
    "2001:db8::20",
    "--license-server",
    "198.18.0.25",
    "--agent",
    "[2001:db8::31]:windows",
    "--agent",
    "198.18.0.41:linux",
]


def test_ipv6_sources_load_into_nftables_as_ip6_saddr(small_lab: Lab) -> None:
    host = small_lab.add_host("fw6", "198.18.0.20/24")
    rules = ports("nftables", IPV6_TOPOLOGY)
    assert any("ip6 saddr 2001:db8::31 " in rule for rule in rules)  # the agent registers over IPv6
    host.nft(
        "add table inet filter\nadd chain inet filter input { type filter hook input priority 0; }\n" + "\n".join(rules) + "\n"
    )
    listing = host.run(["nft", "list", "chain", "inet", "filter", "input"]).stdout
    assert listing.count(" accept comment ") == len(rules)
    assert "ip6 saddr 2001:db8::31 tcp sport" in listing
    assert "ip saddr 198.18.0.41 tcp sport 32768-61000 tcp dport 9876 accept" in listing


def test_ipv6_sources_load_into_ip6tables(small_lab: Lab) -> None:
    host = small_lab.add_host("fw6", "198.18.0.20/24")
    rules = ports("iptables", IPV6_TOPOLOGY)
    v6 = [rule for rule in rules if rule.startswith("ip6tables ")]
    v4 = [rule for rule in rules if rule.startswith("iptables ")]
    assert v6 and v4 and len(v6) + len(v4) == len(rules)
    for rule in rules:
        host.run(["sh", "-c", rule])
    listing6 = host.run(["ip6tables", "-S", "INPUT"]).stdout
    listing4 = host.run(["iptables", "-S", "INPUT"]).stdout
    assert listing6.count("-j ACCEPT") == len(v6)
    assert listing4.count("-j ACCEPT") == len(v4)
    assert "-s 2001:db8::31/128" in listing6
