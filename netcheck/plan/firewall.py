"""`netcheck ports`: the firewall rules the topology needs, derived from the connection matrix (pure).

Every rule is inbound on the destination: who may connect (source), to which TCP port, from which source
ports (the documented ranges for the source's OS; their union when it is not known), and why.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import re
import shlex
from dataclasses import replace
from enum import StrEnum

from netcheck.model.checks import Target, Topology
from netcheck.model.kinds import Role
from netcheck.model.matrix import EXPOSED, links_for, merge_ranges, port_number, source_ranges
from netcheck.model.record import record

__all__ = ["Rule", "RuleFormat", "firewall_rules", "merge_ranges", "render_rules", "source_ranges"]


class RuleFormat(StrEnum):
    CSV = "csv"
    NETSH = "netsh"
    IPTABLES = "iptables"
    NFTABLES = "nftables"


@record
class Rule:
    source: str | None
    """A host name or address; None when the topology does not name it (any host of that role)."""
    source_role: Role | None
    """None: any host (a port whose clients the product's documentation does not name)."""
    destination: str | None
    destination_role: Role
    port: int
    source_ports: tuple[tuple[int, int], ...]
    purpose: str
    documented_in: str = ""
    """The product document and section that state the link."""


def firewall_rules(topology: Topology) -> list[Rule]:
    """One rule per (link, source, destination) the topology names, for the topology's product; unnamed
    sources stay None (any host of the role). Links that share a rule join their purposes and documents.

    An empty topology gives the generic rules of a deployment with a management server and a license server
    (and, for Backup Advanced 11, every other component of its sheet). A license server given as the management
    server's own name is the same machine: no rule from it to itself.
    """
    product = topology.product
    generic = not (topology.agents or topology.management_server or topology.license_server or topology.components)
    has_ms = generic or topology.management_server is not None
    rules: dict[tuple[str | None, Role | None, str | None, int], Rule] = {}

    def add(rule: Rule) -> None:
        key = (rule.source, rule.source_role, rule.destination, rule.port)
        known = rules.get(key)
        if known is None:
            rules[key] = rule
            return
        purpose = known.purpose if rule.purpose in known.purpose else f"{known.purpose}; {rule.purpose}"
        documents = list(dict.fromkeys([*known.documented_in.split("; "), *rule.documented_in.split("; ")]))
        rules[key] = replace(known, purpose=purpose, documented_in="; ".join(documents))

    for applicable in links_for(None, management_server=has_ms, product=product):
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
                if source is not None and destination is not None and source.name.lower() == destination.name.lower():
                    continue  # one machine in two roles (the integrated license server): no network between them
                add(
                    Rule(
                        source.name if source else None,
                        link.source,
                        destination.name if destination else None,
                        link.dest,
                        port,
                        source_ranges(source.os if source else None),
                        link.purpose,
                        link.documented_in,
                    )
                )
    for exposed in EXPOSED[product]:
        hosts: tuple[Target | None, ...] = topology.targets(exposed.role) or ((None,) if generic else ())
        for host in hosts:
            port = port_number(exposed.port_key, topology.ports)
            name = host.name if host else None
            add(Rule(None, None, name, exposed.role, port, source_ranges(None), exposed.purpose, exposed.documented_in))
    return list(rules.values())


_RULE_VALUE = re.compile(r"^[A-Za-z0-9_.:-]+$")
_COMMENT_UNSAFE = re.compile(r"[^A-Za-z0-9 _.,()/>:-]")


def _value(text: str) -> str:
    """A host name or address as it goes into a rule. topology.validate_host already allows nothing else;
    this second check keeps a rule from ever carrying a quote, a space or a newline into a shell."""
    if not _RULE_VALUE.match(text):
        raise ValueError(f"refusing to put {text!r} into a firewall rule")
    return text


def _is_ipv6(source: str) -> bool:
    try:
        return ipaddress.ip_address(source).version == 6
    except ValueError:
        return False


def _who(name: str | None, role: Role | None) -> str:
    return _value(name) if name else f"any {role or 'host'}"


COMMENT_MAX = 128
"""The longest rule comment: nftables refuses more (iptables takes 256)."""


def _comment(rule: Rule) -> str:
    """The rule's description, reduced to characters that need no escaping in netsh, sh or nft quotes, and to
    COMMENT_MAX characters (the purposes of links that share a rule are shortened, never the roles)."""
    roles = f" ({rule.source_role or 'any'} -> {rule.destination_role})"
    text = f"Acronis {rule.purpose}"
    if len(text) + len(roles) > COMMENT_MAX:
        text = text[: COMMENT_MAX - len(roles) - 3].rstrip() + "..."
    return _COMMENT_UNSAFE.sub(" ", text + roles)


def render_rules(rules: list[Rule], fmt: RuleFormat) -> str:
    if fmt is RuleFormat.CSV:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["direction", "source", "destination", "protocol", "port", "source_ports", "purpose", "documented_in"])
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
                    r.documented_in,
                ]
            )
        return out.getvalue()
    lines = []
    for r in rules:
        on = f"# on {_who(r.destination, r.destination_role)}" + (f" - {r.documented_in}" if r.documented_in else "")
        source = _value(r.source) if r.source else None
        if fmt is RuleFormat.NETSH:
            remote = f" remoteip={source}" if source else ""
            ports = ",".join(f"{lo}-{hi}" for lo, hi in r.source_ports)
            lines += [
                on,
                f'netsh advfirewall firewall add rule name="{_comment(r)}" dir=in action=allow protocol=TCP '
                f"localport={r.port}{remote} remoteport={ports}",
            ]
        elif fmt is RuleFormat.IPTABLES:
            # the family of the connection: the source's, or the destination's when any source may connect
            ipv6 = _is_ipv6(source) if source else bool(r.destination and _is_ipv6(r.destination))
            command = "ip6tables" if ipv6 else "iptables"
            from_source = f" -s {shlex.quote(source)}" if source else ""
            ports = ",".join(f"{lo}:{hi}" for lo, hi in r.source_ports)
            lines += [
                on,
                f"{command} -A INPUT -p tcp{from_source} --dport {r.port} -m multiport --sports {ports} "
                f"-m comment --comment {shlex.quote(_comment(r))} -j ACCEPT",
            ]
        else:
            family = "ip6" if source and _is_ipv6(source) else "ip"
            from_source = f"{family} saddr {source} " if source else ""
            ports = ", ".join(f"{lo}-{hi}" for lo, hi in r.source_ports)
            lines += [
                on,
                f"add rule inet filter input {from_source}tcp sport {{ {ports} }} tcp dport {r.port} "
                f'accept comment "{_comment(r)}"',
            ]
    return "\n".join(lines) + "\n"
