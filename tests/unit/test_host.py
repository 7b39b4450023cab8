"""Host readiness: parsers on captured output (nft, iptables from the lab; netsh in its layout) and verdicts."""

from __future__ import annotations

from pathlib import Path

import pytest

from netcheck import cli
from netcheck.classify import classify_host, classify_subnet
from netcheck.host.checks import (
    firewall_summary,
    iptables_rule_count,
    nft_rule_count,
    parse_allprofiles,
    parse_dynamicport,
    parse_port_range,
)
from netcheck.host.facts import HostFacts, Interface
from netcheck.model import Check, HostAspect, Kind, Phase, Role, State, Target, Verdict
from tests.cli_runner import CliRunner

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_bytes().decode()


def test_port_range_parsers() -> None:
    assert parse_port_range("32768\t60999\n") == (32768, 60999)
    assert parse_port_range("garbage") is None
    assert parse_dynamicport(fixture("netsh_dynamicport_tcp.txt")) == (49152, 65535)
    assert parse_dynamicport(fixture("netsh_dynamicport_tcp_wide.txt")) == (1025, 65535)
    assert parse_dynamicport("") is None


def test_firewall_parsers() -> None:
    assert nft_rule_count(fixture("nft_list_ruleset.txt")) == 2
    assert nft_rule_count(fixture("nft_list_ruleset_empty.txt")) == 0
    assert iptables_rule_count(fixture("iptables_S.txt")) == 1
    assert iptables_rule_count(fixture("iptables_S_empty.txt")) == 0
    assert iptables_rule_count("-P INPUT DROP\n-P OUTPUT ACCEPT\n") == 1
    assert parse_allprofiles(fixture("netsh_allprofiles.txt")) == {"Domain": "ON", "Private": "ON", "Public": "OFF"}
    assert firewall_summary({"nftables": fixture("nft_list_ruleset.txt"), "iptables": fixture("iptables_S_empty.txt")}) == [
        "nftables (2 rules)"
    ]
    assert firewall_summary({"netsh": fixture("netsh_allprofiles.txt")}) == [
        "Windows Defender Firewall (Domain, Private profiles on)"
    ]
    assert firewall_summary({"firewalld": "running\n", "ufw": "Status: active\n", "nftables": None}) == ["firewalld", "ufw"]
    assert firewall_summary({"ufw": "Status: inactive\n"}) == []


ME = Target("this machine", Role.AGENT)
LAN = Interface("eth0", "198.18.0.31", 24, True)


def facts(**changes: object) -> HostFacts:
    base = {
        "platform": "linux",
        "os": "Linux 6.1",
        "privileged": True,
        "interfaces": (Interface("lo", "127.0.0.1", 8, True), LAN),
        "holders": {},
        "ephemeral_text": "32768\t60999\n",
        "firewall_outputs": {"nftables": fixture("nft_list_ruleset_empty.txt"), "iptables": fixture("iptables_S_empty.txt")},
    }
    return HostFacts(**{**base, **changes})  # type: ignore[arg-type]


def judge(aspect: str, phase: Phase = Phase.PRE_INSTALL, **changes: object) -> tuple[State, Verdict, str, str]:
    port = int(aspect.removeprefix("port-")) if aspect.startswith("port-") else None
    kind = HostAspect.PORT_FREE if port else HostAspect(aspect)
    result = classify_host(Check(f"host:{aspect}", Kind.HOST, Role.AGENT, ME, port, aspect=kind), facts(**changes), phase=phase)
    return result.state, result.verdict, result.detail, result.remediation


@pytest.mark.parametrize(
    ("aspect", "phase", "changes", "verdict", "text"),
    [
        ("interfaces", Phase.PRE_INSTALL, {}, Verdict.PASS, "eth0 198.18.0.31/24"),
        ("interfaces", Phase.PRE_INSTALL, {"interfaces": (Interface("lo", "127.0.0.1", 8, True),)}, Verdict.FAIL, "no network interface"),
        ("port-25001", Phase.PRE_INSTALL, {}, Verdict.PASS, "TCP 25001 is free"),
        ("port-25001", Phase.PRE_INSTALL, {"holders": {25001: "python3 (pid 42)"}}, Verdict.FAIL, "already taken by python3 (pid 42)"),
        ("port-9876", Phase.POST_INSTALL, {"holders": {9876: "mms (pid 7)"}}, Verdict.PASS, "held by mms (pid 7)"),
        ("source-ports", Phase.PRE_INSTALL, {}, Verdict.PASS, "source ports 32768-60999, within the documented Linux range 32768-61000"),
        ("source-ports", Phase.PRE_INSTALL, {"ephemeral_text": "1024 65000"}, Verdict.WARN, "go beyond the documented Linux range"),
        ("source-ports", Phase.PRE_INSTALL, {"platform": "win32", "ephemeral_text": fixture("netsh_dynamicport_tcp.txt")}, Verdict.PASS, "49152-65535"),
        ("source-ports", Phase.PRE_INSTALL, {"platform": "win32", "ephemeral_text": fixture("netsh_dynamicport_tcp_wide.txt")}, Verdict.WARN, "1025-65535 go beyond"),
        ("source-ports", Phase.PRE_INSTALL, {"ephemeral_text": None}, Verdict.SKIP, "could not read"),
        ("firewall", Phase.PRE_INSTALL, {}, Verdict.PASS, "no local firewall rules"),
        ("firewall", Phase.PRE_INSTALL, {"firewall_outputs": {"nftables": fixture("nft_list_ruleset.txt")}}, Verdict.WARN, "nftables (2 rules)"),
        ("privileges", Phase.PRE_INSTALL, {}, Verdict.PASS, "raw SYN probes"),
        ("privileges", Phase.PRE_INSTALL, {"privileged": False}, Verdict.WARN, "connect probes only"),
    ],
)  # fmt: skip
def test_host_verdicts(aspect: str, phase: Phase, changes: dict[str, object], verdict: Verdict, text: str) -> None:
    _state, got, detail, remediation = judge(aspect, phase, **changes)
    assert got is verdict and text in detail
    if verdict in (Verdict.FAIL, Verdict.WARN):
        assert remediation


def test_wide_windows_range_gives_the_netsh_fix() -> None:
    _s, _v, _d, remediation = judge("source-ports", platform="win32", ephemeral_text=fixture("netsh_dynamicport_tcp_wide.txt"))
    assert "netsh int ipv4 set dynamicport tcp start=49152 num=16384" in remediation


@pytest.mark.parametrize(
    ("address", "in_hosts", "verdict", "text"),
    [
        ("198.18.0.20", False, Verdict.PASS, "on this machine's subnet"),
        ("198.18.1.20", False, Verdict.WARN, "on another subnet"),
        ("198.18.1.20", True, Verdict.PASS, "reached by address or hosts file"),
        (None, False, Verdict.SKIP, "did not resolve"),
    ],
)
def test_subnet(address: str | None, in_hosts: bool, verdict: Verdict, text: str) -> None:
    check = Check(
        "host:subnet", Kind.HOST, Role.AGENT, Target("ms.corp.example", Role.MANAGEMENT_SERVER), aspect=HostAspect.SUBNET
    )
    result = classify_subnet(check, facts(), address, in_hosts)
    assert result.verdict is verdict and text in result.detail
    if verdict is Verdict.WARN:
        assert "'198.18.1.20 ms.corp.example'" in result.remediation


def test_bare_netcheck_prints_a_report_of_this_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    result = CliRunner().invoke(cli.main, [])
    assert result.exit_code in (0, 1), result.output
    assert "Passing: " in result.output  # passing checks are counted; failing ones are listed with their finding
    table = result.output.split("\nCheck a deployment's links")[0]  # the CLI's own hint follows the report
    assert max(map(len, table.splitlines())) <= 80  # not a terminal: 80 columns
    assert "netcheck PASS" in result.output or "netcheck FAIL" in result.output
