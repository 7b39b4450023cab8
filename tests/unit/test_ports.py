"""`netcheck ports`: rules derived from the matrix, in four syntaxes."""

from __future__ import annotations

import csv
import io

from netcheck import cli
from netcheck.model.checks import Target, Topology
from netcheck.model.kinds import AgentOS, Role
from netcheck.plan.firewall import RuleFormat, firewall_rules, merge_ranges, render_rules, source_ranges
from tests.cli_runner import CliRunner

WIN = Target("198.18.0.31", Role.AGENT, AgentOS.WINDOWS)
LIN = Target("198.18.0.41", Role.AGENT, AgentOS.LINUX)
MS = Target("198.18.0.20", Role.MANAGEMENT_SERVER)
LS = Target("198.18.0.25", Role.LICENSE_SERVER)


def test_ranges() -> None:
    assert merge_ranges([(49152, 65535), (1025, 5000), (32768, 61000)]) == ((1025, 5000), (32768, 65535))
    assert source_ranges(AgentOS.LINUX) == ((32768, 61000),)
    assert source_ranges(AgentOS.WINDOWS) == ((1025, 5000), (49152, 65535))


def test_rules_follow_the_matrix() -> None:
    rules = firewall_rules(Topology(management_server=MS, license_server=LS, agents=(WIN, LIN)))
    table = {(r.source, r.destination, r.port) for r in rules}
    assert table == {
        ("198.18.0.20", "198.18.0.31", 445),  # the management server installs
        ("198.18.0.20", "198.18.0.31", 25001),
        ("198.18.0.20", "198.18.0.41", 22),
        (None, "198.18.0.20", 9876),  # the console (not named: any console) asks the management server to install
        ("198.18.0.31", "198.18.0.20", 9876),
        ("198.18.0.41", "198.18.0.20", 9876),
        ("198.18.0.31", "198.18.0.25", 9876),
        ("198.18.0.41", "198.18.0.25", 9876),
        ("198.18.0.20", "198.18.0.25", 9876),  # the management server acquires (page 1) and manages (page 2) licences
        ("198.18.0.20", "198.18.0.41", 9876),  # page 2: the management server manages agents
        ("198.18.0.20", "198.18.0.31", 9876),
        (None, "198.18.0.41", 9876),  # page 2: the console manages agents
        (None, "198.18.0.31", 9876),
        (None, "198.18.0.20", 8080),  # page 2: a web browser opens the management server's page
    }
    installer = next(r for r in rules if r.port == 445)
    assert installer.source_role is Role.MANAGEMENT_SERVER
    linux_agent = next(r for r in rules if r.source == "198.18.0.41" and r.destination == "198.18.0.20")
    assert linux_agent.source_ports == ((32768, 61000),)


def test_without_a_management_server_the_console_installs_and_nothing_registers() -> None:
    rules = firewall_rules(Topology(agents=(WIN,)))
    assert {(r.source_role, r.port) for r in rules} == {(Role.CONSOLE, 445), (Role.CONSOLE, 25001), (Role.CONSOLE, 9876)}


def test_formats() -> None:
    rules = firewall_rules(Topology(management_server=MS, agents=(LIN,)))
    rows = list(csv.DictReader(io.StringIO(render_rules(rules, RuleFormat.CSV))))
    assert rows[0] == {
        "direction": "inbound",
        "source": "198.18.0.20",
        "destination": "198.18.0.41",
        "protocol": "tcp",
        "port": "22",
        "source_ports": "1025-5000 32768-65535",
        "purpose": "Sending files (installation packages) and starting installation (SSH)",
        "documented_in": "Acronis Backup Advanced 11.5 Network Connections, 1. Remote installation of Agents",
    }
    nft = render_rules(rules, RuleFormat.NFTABLES)
    assert "add rule inet filter input ip saddr 198.18.0.41 tcp sport { 32768-61000 } tcp dport 9876 accept" in nft
    ipt = render_rules(rules, RuleFormat.IPTABLES)
    assert "iptables -A INPUT -p tcp -s 198.18.0.41 --dport 9876 -m multiport --sports 32768:61000" in ipt
    netsh = render_rules(rules, RuleFormat.NETSH)
    assert "dir=in action=allow protocol=TCP localport=9876 remoteip=198.18.0.41 remoteport=32768-61000" in netsh


def test_ports_command() -> None:
    result = CliRunner().invoke(cli.main, ["ports", "--agent", "198.18.0.31:windows", "--format", "iptables"])
    assert result.exit_code == 0 and result.output.count("iptables -A INPUT") == 3  # 445, 25001; 9876 (managing agents)
    bad = CliRunner().invoke(cli.main, ["ports", "--agent", "198.18.0.31:beos"])
    assert bad.exit_code == 2 and "unknown OS 'beos'" in bad.output
