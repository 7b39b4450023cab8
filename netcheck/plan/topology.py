"""Reading the deployment's topology from what the user gave: --agent specs, an agents file, a plan file.

Text → data functions, pure but for load_topology, which reads the files; every problem is an InputError whose
message names the offending value.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import field
from pathlib import Path
from typing import Any

from netcheck.errors import InputError
from netcheck.files import read_text_limited
from netcheck.model.checks import Target, Topology
from netcheck.model.kinds import AgentOS, Method, Phase, Product, Role
from netcheck.model.matrix import PortKey, PortOverrides
from netcheck.model.record import record

__all__ = [
    "InputError",
    "PlanFile",
    "build_topology",
    "load_topology",
    "merge_agents",
    "parse_agent_spec",
    "parse_agents_file",
    "parse_plan",
]


_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")
_NUMERIC_LABEL = re.compile(r"^(?:[0-9]+|0[xX][0-9A-Fa-f]*)$")
_HOST_CHARACTERS = re.compile(r"^[A-Za-z0-9_.:-]+$")
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_DOTTED_QUAD = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")
"""An IPv4 address exactly as ipaddress writes it (no leading zeros): kept as is, without parsing it."""


def validate_host(host: str, *, what: str = "host", named: bool = False) -> str:
    """Return `host` if it is an IP address or a well-formed host name, else raise InputError.

    The grammar is strict because names reach firewall rules and shell commands (`netcheck ports`): only
    [A-Za-z0-9_.:-], so no IPv6 zone id (`fe80::1%eth0`) and no whitespace. One rule for numbers: a name whose
    last label is a number (decimal, octal or 0x hex: `127.1`, `0127.0.0.1`, `0x7f.0.0.1`) is an IPv4 address
    to every resolver, so it must be one in dotted-quad form (top-level domains are never numeric, RFC 3696).
    `named`: `what` already shows the value ("host in agent '0x7f.0.0.1'"), so the message does not repeat it.
    """
    candidate = host.strip()
    shown = what if named else f"{what} {host!r}"
    if not candidate:
        raise InputError(f"empty {what}")
    if "%" in candidate:
        raise InputError(f"malformed {shown}: IPv6 zone ids (%...) are not supported")
    if _DOTTED_QUAD.fullmatch(candidate):
        return candidate  # the common case of a large agents file
    if not _HOST_CHARACTERS.match(candidate):
        raise InputError(f"malformed {shown}: not an IP address or a valid host name")
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        pass
    name = candidate[:-1] if candidate.endswith(".") else candidate
    labels = name.split(".")
    if len(name) > 253 or not all(_LABEL.match(label) for label in labels):
        raise InputError(f"malformed {shown}: not an IP address or a valid host name")
    if _NUMERIC_LABEL.match(labels[-1]):
        raise InputError(f"malformed {shown}: not a valid IPv4 address (write it as four decimal numbers)")
    return name


def parse_address(text: str, *, what: str) -> str:
    """An option that must be an IP address (--dns-server, --bind), as ipaddress writes it; InputError for anything
    else, a zone id, a space or a control character included (they would reach reports and terminals)."""
    if "%" in text or not _HOST_CHARACTERS.match(text):
        raise InputError(f"{what} {text!r} is not an IP address (IPv6 zone ids are not supported)")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise InputError(f"{what} {text!r} is not an IP address") from None


def parse_os(value: str, *, context: str) -> AgentOS:
    try:
        return AgentOS(value.strip().lower())
    except ValueError:
        choices = "|".join(o.value for o in AgentOS)
        raise InputError(f"unknown OS {value.strip()!r} in {context}: use {choices}") from None


def parse_agent_spec(spec: str, *, context: str | None = None) -> Target:
    """Parse `HOST`, `HOST:windows|linux`, `[IPv6]:os` or a bare IPv6 address into an agent target."""
    where = context or f"agent {spec!r}"
    text = spec.strip()
    host, os_text = text, None
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise InputError(f"malformed host in {where}: missing ']'")
        host, rest = text[1:end], text[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise InputError(f"malformed host in {where}: unexpected {rest!r} after ']'")
            os_text = rest[1:]
    elif text.count(":") == 1:
        host, os_text = text.split(":")
    agent_os = parse_os(os_text, context=where) if os_text is not None else None
    return Target(validate_host(host, what=f"host in {where}", named=context is None), Role.AGENT, agent_os)


def parse_agents_file(text: str, *, filename: str) -> list[Target]:
    """One agent a line: `host`, `host,os` or `host:os`; `#` starts a comment; blank lines are ignored."""
    agents = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if _DOTTED_QUAD.fullmatch(line):  # what parse_agent_spec makes of it, at a third of the cost (10,000 lines)
            agents.append(Target(line, Role.AGENT))
            continue
        if "," in line:
            host, _, os_text = line.partition(",")
            line = f"{host.strip()}:{os_text.strip()}" if ":" not in host else f"[{host.strip()}]:{os_text.strip()}"
        agents.append(parse_agent_spec(line, context=f"{filename} line {number}"))
    return agents


@record
class PlanFile:
    """What a plan file (TOML) says; every field optional so command-line options can fill the rest."""

    vantage: Role | None = None
    phase: Phase | None = None
    method: Method | None = None
    management_server: str | None = None
    license_server: str | None = None
    agents: tuple[Target, ...] = ()
    ports: PortOverrides = field(default_factory=dict)
    credentials: Mapping[str, str] = field(default_factory=dict)
    """[credentials]: user names and paths for the access checks (never a password)."""
    product: Product | None = None
    components: Mapping[Role, tuple[str, ...]] = field(default_factory=dict)
    """storage_nodes, vcenters, cloud_storage, catalogs: host names by role, validated."""


COMPONENT_KEYS = {
    "storage_nodes": Role.STORAGE_NODE,
    "vcenters": Role.VCENTER,
    "cloud_storage": Role.CLOUD_STORAGE,
    "catalogs": Role.CATALOG,
}
"""The plan file's keys for the machines other than the servers and agents (a host or a list of hosts each)."""
_PLAN_KEYS = {
    "from",
    "phase",
    "method",
    "product",
    "management_server",
    "license_server",
    "agents",
    "ports",
    "credentials",
    *COMPONENT_KEYS,
}


def _enum_value(enum: Any, value: Any, *, key: str, filename: str) -> Any:
    try:
        return enum(str(value))
    except ValueError:
        choices = "|".join(member.value for member in enum)
        raise InputError(f"{filename}: {key} = {value!r} is not one of {choices}") from None


def parse_ports(table: Any, *, filename: str) -> dict[PortKey, int]:
    if not isinstance(table, dict):
        raise InputError(f"{filename}: [ports] must be a table like install = 25001")
    ports = {}
    for key, value in table.items():
        if key not in set(PortKey):
            raise InputError(f"{filename}: unknown port name {key!r} in [ports]: use {', '.join(PortKey)}")
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
            raise InputError(f"{filename}: port {value!r} for {key!r} is out of range 1-65535")
        ports[PortKey(key)] = value
    return ports


def _toml(text: str, filename: str) -> dict[str, Any]:
    import tomllib  # noqa: PLC0415 - plan files only (a large agents file alone never needs it)

    try:
        return tomllib.loads(text)
    except RecursionError:
        raise InputError(f"{filename}: not valid TOML: values nest too deep") from None
    except ValueError as exc:  # TOMLDecodeError, or an integer of more digits than Python converts
        raise InputError(f"{filename}: not valid TOML: {str(exc).split(';')[0]}") from None


def parse_plan(text: str, *, filename: str) -> PlanFile:
    """Parse a plan file: `from`, `phase`, `method`, `product`, `management_server`, `license_server`, `agents`,
    `storage_nodes`, `vcenters`, `cloud_storage`, `catalogs`, `[ports]`, `[credentials]`."""
    data = _toml(text, filename)
    unknown = sorted(set(data) - _PLAN_KEYS)
    if unknown:
        raise InputError(f"{filename}: unknown key {unknown[0]!r}; known keys: {', '.join(sorted(_PLAN_KEYS))}")
    agents: list[Target] = []
    raw_agents = data.get("agents", [])
    if not isinstance(raw_agents, list):
        raise InputError(f"{filename}: agents must be a list")
    for index, item in enumerate(raw_agents, start=1):
        where = f"{filename} agents[{index}]"
        if isinstance(item, str):
            agents.append(parse_agent_spec(item, context=where))
        elif isinstance(item, dict) and isinstance(item.get("host"), str):
            extra = sorted(set(item) - {"host", "os"})
            if extra:
                raise InputError(f"{where}: unknown key {extra[0]!r} (use host and os)")
            agent_os = parse_os(str(item["os"]), context=where) if "os" in item else None
            agents.append(Target(validate_host(item["host"], what=f"host in {where}"), Role.AGENT, agent_os))
        else:
            raise InputError(f'{where}: expected "host[:os]" or {{host = "...", os = "windows|linux"}}')
    names = {}
    for key in ("management_server", "license_server"):
        if key in data:
            if not isinstance(data[key], str):
                raise InputError(f"{filename}: {key} must be a string")
            names[key] = validate_host(data[key], what=f"{key} in {filename}")
    return PlanFile(
        product=_enum_value(Product, data["product"], key="product", filename=filename) if "product" in data else None,
        components=_plan_components(data, filename=filename),
        vantage=_enum_value(Role, data["from"], key="from", filename=filename) if "from" in data else None,
        phase=_enum_value(Phase, data["phase"], key="phase", filename=filename) if "phase" in data else None,
        method=_enum_value(Method, data["method"], key="method", filename=filename) if "method" in data else None,
        management_server=names.get("management_server"),
        license_server=names.get("license_server"),
        agents=tuple(agents),
        ports=parse_ports(data.get("ports", {}), filename=filename),
        credentials=_plan_credentials(data["credentials"], filename=filename) if "credentials" in data else {},
    )


def _plan_components(data: Mapping[str, Any], *, filename: str) -> dict[Role, tuple[str, ...]]:
    components = {}
    for key, role in COMPONENT_KEYS.items():
        value = data.get(key, [])
        hosts = [value] if isinstance(value, str) else value
        if not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts):
            raise InputError(f"{filename}: {key} must be a host name or a list of host names")
        if hosts:
            components[role] = tuple(validate_host(h, what=f"{key} entry in {filename}") for h in hosts)
    return components


def _plan_credentials(table: Any, *, filename: str) -> dict[str, str]:
    from netcheck.observe.access.credentials import parse_plan_credentials  # noqa: PLC0415 - only for plans that have the table

    return parse_plan_credentials(table, filename=filename)


def merge_agents(groups: Iterable[Iterable[Target]]) -> tuple[Target, ...]:
    """Concatenate agent lists, dropping repeats; the same host given two different OSes is an error."""
    seen: dict[str, Target] = {}
    for group in groups:
        for agent in group:
            key = agent.name.lower()
            known = seen.get(key)
            if known is not None and known.os and agent.os and known.os is not agent.os:
                raise InputError(f"agent {agent.name!r} is given as both {known.os} and {agent.os}")
            if known is None or (known.os is None and agent.os is not None):
                seen[key] = agent
    return tuple(seen.values())


def build_topology(
    *,
    management_server: str | None,
    license_server: str | None,
    agents: Iterable[Iterable[Target]],
    ports: PortOverrides | None = None,
    components: Mapping[Role, Iterable[str]] | None = None,
    product: Product | None = None,
) -> Topology:
    """Assemble the topology; names are validated here so every entry point gets the same errors.

    `components`: the storage nodes, vCenter/ESX(i) hosts, cloud storage hosts and catalogs, by role (each
    once). `product`: whose connection sheet applies (Backup Advanced 11 when None)."""
    machines = {
        role: tuple(
            Target(name, role) for name in dict.fromkeys(validate_host(host, what=str(role).replace("-", " ")) for host in hosts)
        )
        for role, hosts in (components or {}).items()
    }
    return Topology(
        components={role: targets for role, targets in machines.items() if targets},
        product=product or Product.BACKUP_ADVANCED_11,
        management_server=Target(validate_host(management_server, what="management server"), Role.MANAGEMENT_SERVER)
        if management_server
        else None,
        license_server=Target(validate_host(license_server, what="license server"), Role.LICENSE_SERVER)
        if license_server
        else None,
        agents=merge_agents(agents),
        ports=dict(ports or {}),
    )


def load_topology(
    *,
    plan: Path | None = None,
    agents: Sequence[str] = (),
    agents_file: Path | None = None,
    management_server: str | None = None,
    license_server: str | None = None,
    product: Product | None = None,
    storage_nodes: Sequence[str] = (),
    vcenters: Sequence[str] = (),
    cloud_storage: Sequence[str] = (),
    catalogs: Sequence[str] = (),
) -> tuple[Topology, PlanFile]:
    """The topology from a plan file, an agents file and the command line's options (an option wins over the
    plan file's key; agents from all three are merged), with the plan file itself (its other keys)."""
    plan_file = parse_plan(read_text_limited(plan, "plan file"), filename=str(plan)) if plan else PlanFile()
    agent_groups = [plan_file.agents, [parse_agent_spec(spec) for spec in agents]]
    if agents_file:
        agent_groups.append(parse_agents_file(read_text_limited(agents_file, "agents file"), filename=str(agents_file)))
    topology = build_topology(
        management_server=management_server or plan_file.management_server,
        license_server=license_server or plan_file.license_server,
        agents=agent_groups,
        ports=plan_file.ports,
        components=component_hosts(
            plan_file, storage_node=storage_nodes, vcenter=vcenters, cloud_storage=cloud_storage, catalog=catalogs
        ),
        product=product or plan_file.product,
    )
    return topology, plan_file


def component_hosts(
    plan_file: PlanFile,
    *,
    storage_node: Iterable[str] | None = None,
    vcenter: Iterable[str] | None = None,
    cloud_storage: Iterable[str] | None = None,
    catalog: Iterable[str] | None = None,
) -> dict[Role, list[str]]:
    """The plan file's machines of each component role, then those given on the command line."""
    given = {Role.STORAGE_NODE: storage_node, Role.VCENTER: vcenter, Role.CLOUD_STORAGE: cloud_storage, Role.CATALOG: catalog}
    return {role: [*plan_file.components.get(role, ()), *(hosts or ())] for role, hosts in given.items()}
