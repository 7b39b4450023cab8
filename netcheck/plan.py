"""Topology + vantage role → the checks this machine can run (pure)."""

from __future__ import annotations

import ipaddress
from dataclasses import replace

from netcheck.access.verdicts import access_checks
from netcheck.matrix import LINKS, Link, Presence, port_number
from netcheck.model import Check, Kind, Role, Target, Topology


class NothingToCheck(ValueError):
    """The topology gives this vantage role no link to test."""


def is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _targets_for(link: Link, topology: Topology) -> tuple[Target, ...]:
    if link.dest is Role.AGENT:
        return topology.agents
    if link.dest is Role.MANAGEMENT_SERVER:
        return (topology.management_server,) if topology.management_server else ()
    if link.dest is Role.LICENSE_SERVER:
        return (topology.license_server,) if topology.license_server else ()
    return ()


def _skip_reason(link: Link, topology: Topology, vantage: Role) -> str | None:
    """None when the link is probed from here; otherwise why it is shown but not probed."""
    has_ms = topology.management_server is not None or vantage is Role.MANAGEMENT_SERVER
    if link.presence is Presence.MS_ABSENT and has_ms:
        return "the management server installs agents (run netcheck --from management-server there)"
    return None


def _applies(link: Link, topology: Topology, vantage: Role) -> bool:
    has_ms = topology.management_server is not None or vantage is Role.MANAGEMENT_SERVER
    # MS_ABSENT links still apply when a management server exists: they are shown as skipped, with the reason.
    return link.source is vantage and not (link.presence is Presence.MS_PRESENT and not has_ms)


def check_id(kind: str, source: Role, target: str, port: int | None = None) -> str:
    suffix = f":{port}" if port is not None else ""
    return f"{kind}:{source}->{target}{suffix}"


def plan_checks(topology: Topology, vantage: Role) -> list[Check]:
    """The TCP links of the matrix that start at `vantage`, and a name check for every host name they use.

    An agent of unknown OS gets the links of both OSes; the runner settles which apply once it has seen
    which of SMB (Windows) and SSH (Linux) answers.
    """
    checks: list[Check] = []
    named: dict[str, Target] = {}
    for link in LINKS:
        if not _applies(link, topology, vantage):
            continue
        port = port_number(link.port_key, dict(topology.ports))
        for target in _targets_for(link, topology):
            if link.agent_os is not None and target.os not in (None, link.agent_os):
                continue
            skip_reason = _skip_reason(link, topology, vantage) or ""
            if not skip_reason and not is_address(target.name):
                named.setdefault(target.name.lower(), target)
            checks.append(
                Check(
                    id=check_id("tcp", vantage, target.name, port),
                    kind=Kind.TCP,
                    source=vantage,
                    target=target,
                    port=port,
                    purpose=link.purpose,
                    must_be_served=link.must_be_served,
                    skip_reason=skip_reason,
                )
            )
    if all(check.skip_reason for check in checks):
        raise NothingToCheck(_why_nothing(topology, vantage))
    name_checks = [
        Check(id=f"name:{target.name}", kind=Kind.NAME, source=vantage, target=target, purpose="Name resolution")
        for target in named.values()
    ]
    links = _dedupe(checks)
    return name_checks + links + access_checks(links) + _discovery_checks(checks, vantage) + host_checks(topology, vantage)


THIS_MACHINE = "this machine"
DISCOVERY_ASPECTS = (
    ("network-discovery", "Network Discovery on the installing machine (non-DNS environments)"),
    ("file-and-printer-sharing", "File and Printer Sharing on the installing machine (non-DNS environments)"),
    ("network-profile", "Network profile that allows Network Discovery (non-DNS environments)"),
)


def _discovery_checks(checks: list[Check], vantage: Role) -> list[Check]:
    """The installing machine (the one probing agents) needs these in a non-DNS environment."""
    installs = any(c.target.role is Role.AGENT and not c.skip_reason for c in checks)
    if not installs:
        return []
    target = Target(THIS_MACHINE, vantage)
    return [
        Check(f"discovery:{aspect}", Kind.DISCOVERY, vantage, target, purpose=purpose) for aspect, purpose in DISCOVERY_ASPECTS
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


HOST_ASPECTS = (
    ("interfaces", "This machine's network interfaces"),
    ("source-ports", "Source ports this machine uses (firewall rules must allow them)"),
    ("firewall", "This machine's own firewall"),
    ("privileges", "Raw SYN probes need root (packet evidence)"),
)


def host_checks(topology: Topology, vantage: Role) -> list[Check]:
    """Readiness of the machine netcheck runs on: its interfaces, the product's ports, source ports, firewall."""
    me = Target(THIS_MACHINE, vantage)
    ports = [port_number(key, dict(topology.ports)) for key in ("product", "install")]
    checks = [Check(f"host:{aspect}", Kind.HOST, vantage, me, purpose=purpose) for aspect, purpose in HOST_ASPECTS[:1]]
    checks += [
        Check(f"host:port-{port}", Kind.HOST, vantage, me, port=port, purpose=f"TCP {port} must be free for the product")
        for port in ports
    ]
    checks += [Check(f"host:{aspect}", Kind.HOST, vantage, me, purpose=purpose) for aspect, purpose in HOST_ASPECTS[1:]]
    if vantage is Role.AGENT and topology.management_server is not None:
        checks.append(
            Check(
                "host:subnet",
                Kind.HOST,
                vantage,
                topology.management_server,
                purpose="Management server on another subnet: the hosts file entry the product's documentation recommends",
            )
        )
    return checks


LOOPBACK = "127.0.0.1"


def plan_local(vantage: Role, ports: dict[str, int] | None = None) -> list[Check]:
    """What bare `netcheck` runs: host readiness, and the product's ports probed on loopback."""
    me = Target(LOOPBACK, Role.AGENT)
    links = [
        Check(
            check_id("tcp", vantage, LOOPBACK, port_number(key, ports)),
            Kind.TCP,
            vantage,
            me,
            port_number(key, ports),
            purpose=f"Loopback: can this machine reach its own TCP {port_number(key, ports)}?",
        )
        for key in ("install", "product")
    ]
    return links + host_checks(Topology(ports=ports or {}), vantage)
