"""Issue 23: the words an admin reads (24), and a stale address seen through SSH named as a local run names it (22)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from netcheck.classify import classify_discovery, misdirected
from netcheck.classify.access import _tcp_on_agent
from netcheck.errors import InputError
from netcheck.model.checks import Check, Target
from netcheck.model.kinds import DiscoveryAspect, Kind, Phase, Role, State, Verdict
from netcheck.model.matrix import PortKey
from netcheck.model.observations import CommandOutput, DiscoveryFacts, TcpFromAgent
from netcheck.observe.access import ssh
from netcheck.plan.topology import parse_agent_spec

# /proc/net/route and /proc/net/arp of an agent on 198.18.0.0/22 whose stale address 198.18.0.29 answered no ARP
ROUTE = (
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
    "eth0\t000012C6\t00000000\t0001\t0\t0\t0\t00FCFFFF\t0\t0\t0\n"
)
ARP = (
    "IP address       HW type     Flags       HW address            Mask     Device\n"
    "198.18.0.29      0x1         0x0         00:00:00:00:00:00     *        eth0\n"
    "198.18.0.20      0x1         0x2         02:00:00:00:00:14     *        eth0\n"
)
MS = Target("ms.lab.test", Role.MANAGEMENT_SERVER)
LINK = Check("tcp:agent@a1->ms.lab.test:9876", Kind.TCP, Role.AGENT, MS, 9876, port_key=PortKey.PRODUCT)


@pytest.mark.parametrize("spec", ["0x7f.0.0.1", "0x7f.0.0.1:linux", "198.18.0.300"])
def test_a_malformed_agent_names_its_value_once(spec: str) -> None:
    with pytest.raises(InputError) as raised:
        parse_agent_spec(spec)
    host = spec.split(":", maxsplit=1)[0]
    assert str(raised.value).count(host) == 1, raised.value


def test_the_unspecified_address_is_not_said_twice() -> None:
    target = Target("0.0.0.0", Role.MANAGEMENT_SERVER)
    result = misdirected(Check("tcp:agent->0.0.0.0:9876", Kind.TCP, Role.AGENT, target, 9876), "0.0.0.0")
    assert result is not None and result.verdict is Verdict.FAIL
    assert "0.0.0.0 is 0.0.0.0" not in result.detail and "no machine's address" in result.detail
    named = Target("ms.lab.test", Role.MANAGEMENT_SERVER)
    by_name = misdirected(Check("tcp:agent->ms.lab.test:9876", Kind.TCP, Role.AGENT, named, 9876), "0.0.0.0")
    assert by_name is not None and "ms.lab.test resolves to 0.0.0.0" in by_name.detail


def test_discovery_does_not_speak_of_dns_when_only_addresses_were_given() -> None:
    check = Check(
        "discovery:network-discovery",
        Kind.DISCOVERY,
        Role.CONSOLE,
        Target("this machine", Role.CONSOLE),
        aspect=DiscoveryAspect.NETWORK_DISCOVERY,
    )
    only_addresses = classify_discovery(check, DiscoveryFacts("linux"), None, names_given=False)
    assert only_addresses.verdict is Verdict.SKIP and "DNS" not in only_addresses.detail
    assert "given by its address" in only_addresses.detail
    assert "names resolve through DNS" in classify_discovery(check, DiscoveryFacts("linux"), None).detail


def test_the_agents_neighbour_table_tells_no_arp_answer() -> None:
    assert ssh._no_arp_answer(ROUTE, ARP, "198.18.0.29")
    assert not ssh._no_arp_answer(ROUTE, ARP, "198.18.0.20")
    assert not ssh._no_arp_answer("garbage\nx y z 0xzz", "garbage\n1 2 zz", "198.18.0.29")  # a hostile agent's text


def test_the_probe_on_the_agent_outwaits_linux_arp_failure_and_reads_the_neighbour_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    commands: list[tuple[str, float]] = []

    async def fake_run(conn: Any, command: str, timeout_s: float) -> CommandOutput:
        commands.append((command, timeout_s))
        if command == ssh.NEIGHBOURS:
            return CommandOutput(0, f"{ROUTE}--\n{ARP}", "")
        return CommandOutput(1, "rc=1\n", "bash: connect: No route to host\n")

    monkeypatch.setattr(ssh, "_run", fake_run)
    probe = asyncio.run(ssh._probe(object(), "198.18.0.29", 9876, "bash /dev/tcp", 5.0))
    assert commands[0][0].startswith(f"timeout {ssh.ARP_FAILURE_S + 1} ")  # longer than the kernel's ~3 s
    assert probe.outcome == "no-arp"
    result = _tcp_on_agent(LINK, Target("a1", Role.AGENT), probe, Phase.PRE_INSTALL)
    assert (result.state, result.verdict) == (State.UNREACHABLE, Verdict.FAIL)
    assert "no ARP answer" in result.detail and "firewall" not in result.detail
    assert "does not answer ARP" in result.remediation


def test_a_refused_or_routed_failure_on_the_agent_keeps_its_name() -> None:
    routed = TcpFromAgent("198.18.0.29", 9876, "unreachable", "No route to host", "bash /dev/tcp", 12.0)
    result = _tcp_on_agent(LINK, Target("a1", Role.AGENT), routed, Phase.PRE_INSTALL)
    assert result.state is State.UNREACHABLE and "no route" in result.remediation.lower()
