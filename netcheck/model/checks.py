"""netcheck's checks and what they give: targets, the topology, checks, results, vantage points and the report."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Mapping
from dataclasses import field
from typing import TYPE_CHECKING, Any, TypeAlias

from netcheck.model.kinds import AgentOS, Aspect, Kind, Phase, Product, Role, State, Verdict
from netcheck.model.record import record

if TYPE_CHECKING:
    from netcheck.model.matrix import PortKey
    from netcheck.model.observations import AccessEvidence, AgentNameEvidence, NameObservation, ServiceAnswer, TcpReply


THIS_MACHINE = "this machine"
"""The target of a host check: the machine netcheck runs on."""


@record
class Target:
    """A machine of the topology: the name as the user gave it, its role, and (agents) its OS if known."""

    name: str
    role: Role
    os: AgentOS | None = None


@record
class Topology:
    """The deployment as the user described it."""

    management_server: Target | None = None
    license_server: Target | None = None
    agents: tuple[Target, ...] = ()
    ports: Mapping[PortKey, int] = field(default_factory=dict)
    """The plan file's [ports]: ports the product was configured with instead of the defaults."""
    components: Mapping[Role, tuple[Target, ...]] = field(default_factory=dict)
    """The other machines, by role: storage nodes, vCenter/ESX(i) hosts, cloud storage, catalogs."""
    product: Product = Product.BACKUP_ADVANCED_11

    def targets(self, role: Role) -> tuple[Target, ...]:
        """The machines of the topology that have `role`."""
        if role is Role.AGENT:
            return self.agents
        named = {Role.MANAGEMENT_SERVER: self.management_server, Role.LICENSE_SERVER: self.license_server}.get(role)
        if named:
            return (named,)
        return self.components.get(role, ())


def check_id(kind: Kind, source: Role, target: str, port: int | None = None, *, aspect: str | None = None, host: str = "") -> str:
    """The id a check is shown and saved under: 'tcp:console->win1:445', 'name:ms', 'host:firewall'.

    Ids are for people and the JSON report; nothing decides behaviour by reading one. `host` is the machine
    that ran the check, for the ids of merged reports ('tcp:agent@win1->ms:9876', 'host:firewall@win1').
    """
    if aspect is not None:
        where = f"@{host}" if host else ""
        suffix = f"-{port}" if port is not None else ""
        return f"{kind}:{aspect}{suffix}{where}"
    if kind is Kind.NAME:
        return f"{kind}:{target}" + (f"@{host}" if host else "")
    return _link_prefix(kind, source, host) + (target if port is None else f"{target}:{port}")


@functools.cache
def _link_prefix(kind: Kind, source: Role, host: str) -> str:
    """'tcp:console->', 'tcp:agent@win1->': formatting two enums costs more than the rest of an id (50,000 a plan)."""
    origin = f"{source}@{host}" if host else str(source)
    return f"{kind}:{origin}->"


def link_key(check: Check) -> tuple[str, PortKey | None]:
    """What an access check and the TCP link it needs have in common: the target as given and the port key."""
    return (check.target.name, check.port_key)


def located_id(check: Check, host: str) -> str:
    """The id of `check` as run on `host`, for merged reports: 'tcp:agent@win1->ms:9876', 'host:firewall@win1'."""
    if check.kind in (Kind.TCP, Kind.SERVICE):
        return check_id(check.kind, check.source, check.target.name, check.port, host=host)
    return f"{check.id}@{host}"


@record
class Check:
    """One thing to find out: a TCP link from this machine, whether a name resolves, or a fact of a machine."""

    id: str
    kind: Kind
    source: Role
    target: Target
    port: int | None = None
    purpose: str = ""
    must_be_served: bool = False
    """True when the port must already answer before installation (445 on Windows, 22 on Linux)."""
    skip_reason: str = ""
    """Set when the link exists in the matrix but not from here; the check is reported, not probed."""
    port_key: PortKey | None = None
    """For links and services: which port of the matrix this is (its number may be configured otherwise)."""
    aspect: Aspect | None = None
    """For host and discovery checks: what is looked at."""
    documented_in: str = ""
    """For links: the product document and section that state the link (joined when links share a check)."""


Evidence: TypeAlias = "TcpReply | NameObservation | ServiceAnswer | AccessEvidence | AgentNameEvidence | Mapping[str, Any]"
"""Typed observations from a run; plain JSON-ready mappings from host checks and from loaded reports."""


@record
class Result:
    """A check's outcome: what was seen (state, evidence) and what it means (verdict, remediation)."""

    check: Check
    state: State
    verdict: Verdict
    detail: str
    remediation: str = ""
    address: str | None = None
    evidence: Evidence = field(default_factory=dict)
    elapsed_ms: float = 0.0
    source_host: str = ""
    """The machine that ran the check, when it is not the report's vantage (merged reports)."""

    @property
    def protocol(self) -> str | None:
        return "tcp" if self.check.kind is Kind.TCP else None


@record
class Vantage:
    """The machine netcheck ran on."""

    hostname: str
    role: Role
    os: str
    addresses: tuple[str, ...] = ()
    started_at: str = ""
    """When its run started; set on the vantage points of a merged report (host + role + start identify a run)."""


@record
class Report:
    """One run: where it ran from, when, and every result."""

    tool_version: str
    started_at: str
    duration_s: float
    vantage: Vantage
    phase: Phase
    method: str
    results: tuple[Result, ...]
    merged_from: tuple[Vantage, ...] = ()
    """The vantage points of the reports a merged report was made from."""
    product: Product = Product.BACKUP_ADVANCED_11
    """Whose connection sheet the checks follow (the profile)."""

    _counts: Counter[Verdict] = field(init=False, repr=False, compare=False, hash=False)
    """Results by verdict, counted once: the summary, the exit code and the last line each ask."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "_counts", Counter(r.verdict for r in self.results))

    def count(self, verdict: Verdict) -> int:
        return self._counts[verdict]

    @property
    def verdict(self) -> Verdict:
        """fail when any check failed, error when a check could not be run, otherwise pass."""
        if self.count(Verdict.FAIL):
            return Verdict.FAIL
        if self.count(Verdict.ERROR):
            return Verdict.ERROR
        return Verdict.PASS
