"""Topology + vantage → checks, straight from the product's connection matrix."""

from __future__ import annotations

import pytest

from netcheck.model.checks import Target, Topology
from netcheck.model.kinds import AgentOS, Kind, Role
from netcheck.model.matrix import LINKS, source_port_note
from netcheck.plan.planner import NothingToCheck, plan_checks, plan_local

WIN = Target("198.18.0.31", Role.AGENT, AgentOS.WINDOWS)
LIN = Target("198.18.0.41", Role.AGENT, AgentOS.LINUX)
ANY = Target("198.18.0.51", Role.AGENT, None)
MS = Target("ms.example", Role.MANAGEMENT_SERVER)
LS = Target("198.18.0.25", Role.LICENSE_SERVER)


DISCOVERY = ["discovery:network-discovery", "discovery:file-and-printer-sharing", "discovery:network-profile"]


def ids(checks: list) -> list[str]:  # type: ignore[type-arg]
    """The probed checks, host readiness aside (test_host_checks covers it)."""
    return [c.id for c in checks if not c.skip_reason and c.kind is not Kind.HOST]


def test_console_installs_when_there_is_no_management_server() -> None:
    checks = plan_checks(Topology(agents=(WIN, LIN), license_server=LS), Role.CONSOLE)
    assert ids(checks) == [
        "tcp:console->198.18.0.31:445",
        "tcp:console->198.18.0.31:25001",
        "tcp:console->198.18.0.41:22",
        "tcp:console->198.18.0.25:9876",
        "tcp:console->198.18.0.31:9876",  # page 2: managing agents
        "tcp:console->198.18.0.41:9876",
        "access:console->198.18.0.31:445",
        "access:console->198.18.0.41:22",
        *DISCOVERY,
    ]
    served = {c.port: c.must_be_served for c in checks if c.port}
    assert served == {445: True, 25001: False, 22: True, 9876: False}


def test_console_with_a_management_server_asks_it_to_install() -> None:
    checks = plan_checks(Topology(management_server=MS, agents=(WIN,)), Role.CONSOLE)
    assert ids(checks) == [  # the console installs nothing: no discovery
        "name:ms.example",
        "tcp:console->ms.example:9876",
        "tcp:console->198.18.0.31:9876",  # page 2: managing agents
        "tcp:console->ms.example:8080",  # page 2: the browser on the console's machine
    ]
    skipped = [c for c in checks if c.skip_reason]
    assert [c.id for c in skipped] == [
        "tcp:console->198.18.0.31:445",
        "tcp:console->198.18.0.31:25001",
        "access:console->198.18.0.31:445",
    ]
    assert "--from management-server" in skipped[0].skip_reason


def test_management_server_installs_agents() -> None:
    checks = plan_checks(Topology(agents=(WIN, LIN, ANY)), Role.MANAGEMENT_SERVER)
    assert ids(checks) == [
        "tcp:management-server->198.18.0.31:445",
        "tcp:management-server->198.18.0.51:445",
        "tcp:management-server->198.18.0.31:25001",
        "tcp:management-server->198.18.0.51:25001",
        "tcp:management-server->198.18.0.41:22",
        "tcp:management-server->198.18.0.51:22",
        "tcp:management-server->198.18.0.31:9876",  # page 2: registering, managing agents
        "tcp:management-server->198.18.0.41:9876",
        "tcp:management-server->198.18.0.51:9876",
        "access:management-server->198.18.0.31:445",
        "access:management-server->198.18.0.51:445",
        "access:management-server->198.18.0.41:22",
        "access:management-server->198.18.0.51:22",
        *DISCOVERY,
    ]


def test_agent_registers_and_licenses() -> None:
    checks = plan_checks(Topology(management_server=MS, license_server=LS), Role.AGENT)
    assert ids(checks) == ["name:ms.example", "tcp:agent->ms.example:9876", "tcp:agent->198.18.0.25:9876"]
    assert [c.kind for c in checks if c.kind is not Kind.HOST] == [Kind.NAME, Kind.TCP, Kind.TCP]


def test_one_host_as_both_servers_is_one_probe_with_both_purposes() -> None:
    both = Target("ms.example", Role.LICENSE_SERVER)
    checks = plan_checks(Topology(management_server=MS, license_server=both), Role.AGENT)
    assert ids(checks) == ["name:ms.example", "tcp:agent->ms.example:9876"]
    assert checks[1].purpose.startswith("Registration on the management server; Checking licenses")
    assert "integrated license server: same machine, same port" in checks[1].purpose


def test_port_overrides_from_the_plan() -> None:
    checks = plan_checks(Topology(agents=(WIN,), ports={"install": 25002}), Role.CONSOLE)
    assert [c.port for c in checks if c.kind is Kind.TCP] == [445, 25002, 9876]


@pytest.mark.parametrize(
    ("topology", "role", "message"),
    [
        (Topology(agents=(WIN,)), Role.LICENSE_SERVER, "initiates no connection"),
        (Topology(agents=(WIN,)), Role.AGENT, "give --management-server"),
        (Topology(), Role.CONSOLE, "nothing to check from the console"),
        (Topology(), Role.MANAGEMENT_SERVER, "give --agent"),
    ],
)
def test_nothing_to_check_says_what_to_give(topology: Topology, role: Role, message: str) -> None:
    with pytest.raises(NothingToCheck, match=message):
        plan_checks(topology, role)


def test_matrix_covers_the_network_connections_sheet() -> None:
    arrows = {(link.source, link.dest, link.port_key, link.agent_os) for link in LINKS}
    for source in (Role.CONSOLE, Role.MANAGEMENT_SERVER):
        assert (source, Role.AGENT, "smb", AgentOS.WINDOWS) in arrows
        assert (source, Role.AGENT, "install", AgentOS.WINDOWS) in arrows
        assert (source, Role.AGENT, "ssh", AgentOS.LINUX) in arrows
    assert (Role.AGENT, Role.MANAGEMENT_SERVER, "product", None) in arrows
    assert (Role.CONSOLE, Role.LICENSE_SERVER, "product", None) in arrows
    assert (Role.AGENT, Role.LICENSE_SERVER, "product", None) in arrows


@pytest.mark.parametrize(
    ("os_name", "expected"),
    [
        ("Linux 6.1", "32768-61000 (Linux and the virtual appliance)"),
        ("Windows 10", "49152-65535 (Windows Vista and later); 1025-5000 (Windows before Vista)"),
        (
            None,
            "1025-5000 (Windows before Vista); 49152-65535 (Windows Vista and later); "
            "32768-61000 (Linux and the virtual appliance)",
        ),
    ],
)
def test_source_port_note(os_name: str | None, expected: str) -> None:
    assert source_port_note(os_name) == expected


def test_host_checks() -> None:
    checks = plan_checks(Topology(management_server=MS, ports={"install": 25002}), Role.AGENT)
    host = [c.id for c in checks if c.kind is Kind.HOST]
    assert host == [
        "host:interfaces",
        "host:port-9876",
        "host:port-25002",
        "host:source-ports",
        "host:firewall",
        "host:privileges",
        "host:subnet",
    ]
    console = plan_checks(Topology(agents=(WIN,)), Role.CONSOLE)
    assert "host:subnet" not in [c.id for c in console]  # the subnet advice is the agent's


def test_bare_netcheck_plan_probes_loopback_and_the_host() -> None:
    checks = plan_local(Role.CONSOLE)
    assert [c.id for c in checks[:2]] == ["tcp:console->127.0.0.1:25001", "tcp:console->127.0.0.1:9876"]
    assert all(c.kind is Kind.HOST for c in checks[2:]) and len(checks) == 8
