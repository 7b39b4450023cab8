"""Topology + vantage role → the checks this machine can run (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace

from netcheck.model.address import is_address
from netcheck.model.checks import THIS_MACHINE, Check, Target, Topology, check_id
from netcheck.model.kinds import DiscoveryAspect, HostAspect, Kind, Role
from netcheck.model.matrix import SUPERSEDED_REASON, Link, PortKey, links_for, port_number, product_ports


class NothingToCheck(ValueError):
    """The topology gives this vantage role no link to test."""


def link_groups(topology: Topology, vantage: Role) -> Iterator[tuple[Link, int, str, list[Target]]]:
    """Each TCP link of the matrix from `vantage`, in plan order, with its port, its skip reason and the machines
    of `topology` it goes to. An agent of unknown OS gets the links of both OSes."""
    has_ms = topology.management_server is not None or vantage is Role.MANAGEMENT_SERVER
    for applicable in links_for(vantage, management_server=has_ms):
        link = applicable.link
        port = port_number(link.port_key, topology.ports)
        skip_reason = SUPERSEDED_REASON if applicable.superseded else ""
        wanted = link.agent_os
        targets = [t for t in topology.targets(link.dest) if wanted is None or t.os is None or t.os is wanted]
        yield link, port, skip_reason, targets


def tcp_links(topology: Topology, vantage: Role) -> Iterator[tuple[Link, Target, int, str]]:
    """link_groups a link and a machine at a time: (link, target, port, skip reason), in plan order."""
    for link, port, skip_reason, targets in link_groups(topology, vantage):
        for target in targets:
            yield link, target, port, skip_reason


def plan_checks(topology: Topology, vantage: Role) -> list[Check]:
    """The TCP links of the matrix that start at `vantage`, and a name check for every host name they use.

    An agent of unknown OS gets the links of both OSes; the runner settles which apply once it has seen
    which of SMB (Windows) and SSH (Linux) answers.
    """
    checks: list[Check] = []
    named: dict[str, Target] = {}
    for link, target, port, skip_reason in tcp_links(topology, vantage):
        if not skip_reason and not is_address(target.name):
            named.setdefault(target.name.lower(), target)
        checks.append(
            Check(
                id=check_id(Kind.TCP, vantage, target.name, port),
                kind=Kind.TCP,
                source=vantage,
                target=target,
                port=port,
                purpose=link.purpose,
                must_be_served=link.must_be_served,
                skip_reason=skip_reason,
                port_key=link.port_key,
            )
        )
    if all(check.skip_reason for check in checks):
        raise NothingToCheck(_why_nothing(topology, vantage))
    name_checks = [
        Check(
            id=check_id(Kind.NAME, vantage, target.name), kind=Kind.NAME, source=vantage, target=target, purpose="Name resolution"
        )
        for target in named.values()
    ]
    links = _dedupe(checks)
    return name_checks + links + access_checks(links) + _discovery_checks(checks, vantage) + host_checks(topology, vantage)


SSH_PURPOSE = "Remote installation over SSH: login, root or sudo, /tmp, free space, rpm/dpkg"
SMB_PURPOSE = "Remote installation over SMB: login, ADMIN$, service control manager, UAC and sharing model"


def access_checks(link_checks: Iterable[Check]) -> list[Check]:
    """One `access` check per agent service link (SMB 445, SSH 22) this machine installs through.

    It carries the link's target and port key: the runner finds the link's result by them, never by id.
    """
    checks = []
    for link in link_checks:
        if link.kind is not Kind.TCP or link.target.role is not Role.AGENT or not link.must_be_served:
            continue
        purpose = SSH_PURPOSE if link.port_key is PortKey.SSH else SMB_PURPOSE
        access_id = check_id(Kind.ACCESS, link.source, link.target.name, link.port)
        checks.append(  # the link's fields but these (dataclasses.replace costs twice as much)
            Check(
                id=access_id, kind=Kind.ACCESS, source=link.source, target=link.target, port=link.port, purpose=purpose,
                must_be_served=link.must_be_served, skip_reason=link.skip_reason, port_key=link.port_key, aspect=link.aspect,
            )
        )  # fmt: skip
    return checks


DISCOVERY_ASPECTS = (
    (DiscoveryAspect.NETWORK_DISCOVERY, "Network Discovery on the installing machine (non-DNS environments)"),
    (DiscoveryAspect.FILE_AND_PRINTER_SHARING, "File and Printer Sharing on the installing machine (non-DNS environments)"),
    (DiscoveryAspect.NETWORK_PROFILE, "Network profile that allows Network Discovery (non-DNS environments)"),
)


def _discovery_checks(checks: list[Check], vantage: Role) -> list[Check]:
    """The installing machine (the one probing agents) needs these in a non-DNS environment."""
    installs = any(c.target.role is Role.AGENT and not c.skip_reason for c in checks)
    if not installs:
        return []
    target = Target(THIS_MACHINE, vantage)
    return [
        Check(
            check_id(Kind.DISCOVERY, vantage, "", aspect=aspect), Kind.DISCOVERY, vantage, target, purpose=purpose, aspect=aspect
        )
        for aspect, purpose in DISCOVERY_ASPECTS
    ]


def _dedupe(checks: list[Check]) -> list[Check]:
    """One check per (source, target, port); purposes of links that share it are joined."""
    unique: dict[str, Check] = {}
    for check in checks:
        known = unique.get(check.id)
        if known is None:
            unique[check.id] = check
        elif check.purpose not in known.purpose:
            unique[check.id] = replace(known, purpose=f"{known.purpose}; {check.purpose}")
    return list(unique.values())


def _why_nothing(topology: Topology, vantage: Role) -> str:
    if vantage is Role.LICENSE_SERVER:
        return (
            "the license server initiates no connection in the matrix; "
            "run netcheck from the console, the management server or an agent"
        )
    if vantage is Role.AGENT:
        return (
            "an agent connects only to the management server and the license server: "
            "give --management-server and/or --license-server"
        )
    if vantage is Role.CONSOLE:
        return "nothing to check from the console: give --agent/--agents-file, --management-server or --license-server"
    return f"nothing to check from the {vantage}: give --agent or --agents-file"


def _host_check(vantage: Role, target: Target, aspect: HostAspect, purpose: str, port: int | None = None) -> Check:
    return Check(
        check_id(Kind.HOST, vantage, target.name, port, aspect=aspect), Kind.HOST, vantage, target, port, purpose, aspect=aspect
    )


def host_checks(topology: Topology, vantage: Role) -> list[Check]:
    """Readiness of the machine netcheck runs on: its interfaces, the product's ports, source ports, firewall."""
    me = Target(THIS_MACHINE, vantage)
    checks = [_host_check(vantage, me, HostAspect.INTERFACES, "This machine's network interfaces")]
    checks += [
        _host_check(vantage, me, HostAspect.PORT_FREE, f"TCP {port} must be free for the product", port)
        for port in product_ports(topology.ports)
    ]
    checks += [
        _host_check(vantage, me, HostAspect.SOURCE_PORTS, "Source ports this machine uses (firewall rules must allow them)"),
        _host_check(vantage, me, HostAspect.FIREWALL, "This machine's own firewall"),
        _host_check(vantage, me, HostAspect.PRIVILEGES, "Raw SYN probes need root (packet evidence)"),
    ]
    if vantage is Role.AGENT and topology.management_server is not None:
        checks.append(
            _host_check(
                vantage,
                topology.management_server,
                HostAspect.SUBNET,
                "Management server on another subnet: the hosts file entry the product's documentation recommends",
            )
        )
    return checks


LOOPBACK = "127.0.0.1"


def plan_local(vantage: Role) -> list[Check]:
    """What bare `netcheck` runs: host readiness, and the product's ports probed on loopback."""
    me = Target(LOOPBACK, Role.AGENT)
    links = [
        Check(
            check_id(Kind.TCP, vantage, LOOPBACK, port_number(key)),
            Kind.TCP,
            vantage,
            me,
            port_number(key),
            purpose=f"Loopback: can this machine reach its own TCP {port_number(key)}?",
            port_key=key,
        )
        for key in (PortKey.INSTALL, PortKey.PRODUCT)
    ]
    return links + host_checks(Topology(), vantage)
