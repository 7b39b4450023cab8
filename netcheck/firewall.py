"""`netcheck ports`: the firewall rules the topology needs, derived from the connection matrix (pure).

Every rule is inbound on the destination: who may connect (source), to which TCP port, from which source
ports (the documented ranges for the source's OS; their union when it is not known), and why.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from enum import StrEnum

from netcheck.matrix import links_for, merge_ranges, port_number, source_ranges
from netcheck.model import Role, Target, Topology

__all__ = ["Rule", "RuleFormat", "firewall_rules", "merge_ranges", "render_rules", "source_ranges"]


class RuleFormat(StrEnum):
    CSV = "csv"
    NETSH = "netsh"
    IPTABLES = "iptables"
    NFTABLES = "nftables"


@dataclass(frozen=True)
class Rule:
    source: str | None
    """A host name or address; None when the topology does not name it (any host of that role)."""
    source_role: Role
    destination: str | None
    destination_role: Role
    port: int
    source_ports: tuple[tuple[int, int], ...]
    purpose: str


def firewall_rules(topology: Topology) -> list[Rule]:
    """One rule per (link, source, destination) the topology names; unnamed sources stay None (any host of the role).

    An empty topology gives the generic rules of a deployment with a management server and a license server.
    """
    generic = not (topology.agents or topology.management_server or topology.license_server)
    has_ms = generic or topology.management_server is not None
    rules = []
    for applicable in links_for(None, management_server=has_ms):
        link = applicable.link
        if applicable.superseded:
            continue
        if not generic and not topology.targets(link.dest):
            continue  # the topology has no such destination (no license server, say): no rule for it
        port = port_number(link.port_key, topology.ports)
        sources: tuple[Target | None, ...] = topology.targets(link.source) or (None,)
        destinations: tuple[Target | None, ...] = topology.targets(link.dest) or (None,)
        for destination in destinations:
            if link.agent_os and destination is not None and destination.os not in (None, link.agent_os):
                continue
            for source in sources:
                rules.append(
                    Rule(
                        source.name if source else None,
                        link.source,
                        destination.name if destination else None,
                        link.dest,
                        port,
                        source_ranges(source.os if source else None),
                        link.purpose,
                    )
                )
    return rules


def _who(name: str | None, role: Role) -> str:
    return name or f"any {role}"


def _comment(rule: Rule) -> str:
    return f"Acronis {rule.purpose} ({rule.source_role} -> {rule.destination_role})".replace('"', "'")


def render_rules(rules: list[Rule], fmt: RuleFormat) -> str:
    if fmt is RuleFormat.CSV:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["direction", "source", "destination", "protocol", "port", "source_ports", "purpose"])
        for r in rules:
            ports = " ".join(f"{lo}-{hi}" for lo, hi in r.source_ports)
            writer.writerow(
                [
                    "inbound",
                    _who(r.source, r.source_role),
                    _who(r.destination, r.destination_role),
                    "tcp",
                    r.port,
                    ports,
                    r.purpose,
                ]
            )
        return out.getvalue()
    lines = []
    for r in rules:
        on = f"# on {_who(r.destination, r.destination_role)}"
        if fmt is RuleFormat.NETSH:
            remote = f" remoteip={r.source}" if r.source else ""
            ports = ",".join(f"{lo}-{hi}" for lo, hi in r.source_ports)
            lines += [
                on,
                f'netsh advfirewall firewall add rule name="{_comment(r)}" dir=in action=allow protocol=TCP '
                f"localport={r.port}{remote} remoteport={ports}",
            ]
        elif fmt is RuleFormat.IPTABLES:
            source = f" -s {r.source}" if r.source else ""
            ports = ",".join(f"{lo}:{hi}" for lo, hi in r.source_ports)
            lines += [
                on,
                f"iptables -A INPUT -p tcp{source} --dport {r.port} -m multiport --sports {ports} "
                f'-m comment --comment "{_comment(r)}" -j ACCEPT',
            ]
        else:
            source = f"ip saddr {r.source} " if r.source else ""
            ports = ", ".join(f"{lo}-{hi}" for lo, hi in r.source_ports)
            lines += [
                on,
                f'add rule inet filter input {source}tcp sport {{ {ports} }} tcp dport {r.port} accept comment "{_comment(r)}"',
            ]
    return "\n".join(lines) + "\n"
