"""netcheck's data: roles, targets, checks, observations, results and the report, all immutable."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    """A component of the deployment."""

    CONSOLE = "console"
    MANAGEMENT_SERVER = "management-server"
    AGENT = "agent"
    LICENSE_SERVER = "license-server"


class AgentOS(StrEnum):
    WINDOWS = "windows"
    LINUX = "linux"


class Phase(StrEnum):
    PRE_INSTALL = "pre-install"
    POST_INSTALL = "post-install"


class Method(StrEnum):
    AUTO = "auto"
    SYN = "syn"
    CONNECT = "connect"


class Kind(StrEnum):
    TCP = "tcp"
    NAME = "name"
    SERVICE = "service"
    HOST = "host"
    DISCOVERY = "discovery"
    ACCESS = "access"


class State(StrEnum):
    """What the network (or the resolver) did."""

    OPEN = "open"
    CLOSED = "closed"
    FILTERED = "filtered"
    UNREACHABLE = "unreachable"
    BLOCKED_LOCALLY = "blocked-locally"
    NOT_PROBED = "not-probed"
    ENABLED = "enabled"
    DISABLED = "disabled"
    NOT_APPLICABLE = "not-applicable"
    RESOLVED = "resolved"
    UNRESOLVED = "unresolved"
    ERROR = "error"


class Verdict(StrEnum):
    """What the state means for the deployment."""

    PASS = "pass"  # noqa: S105 - a verdict, not a password
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Target:
    """A machine of the topology: the name as the user gave it, its role, and (agents) its OS if known."""

    name: str
    role: Role
    os: AgentOS | None = None


@dataclass(frozen=True)
class Topology:
    """The deployment as the user described it."""

    management_server: Target | None = None
    license_server: Target | None = None
    agents: tuple[Target, ...] = ()
    ports: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Check:
    """One thing to find out: a TCP link from this machine, or whether a name resolves."""

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


@dataclass(frozen=True, slots=True)
class Observation:
    """What a probe saw, before any judgement."""

    state: State
    address: str | None
    evidence: Mapping[str, Any] = field(default_factory=dict)
    elapsed_ms: float = 0.0
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Result:
    """A check's outcome: what was seen (state, evidence) and what it means (verdict, remediation)."""

    check: Check
    state: State
    verdict: Verdict
    detail: str
    remediation: str = ""
    address: str | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)
    elapsed_ms: float = 0.0
    source_host: str = ""
    """The machine that ran the check, when it is not the report's vantage (merged reports)."""

    @property
    def protocol(self) -> str | None:
        return "tcp" if self.check.kind is Kind.TCP else None


@dataclass(frozen=True, slots=True)
class Vantage:
    """The machine netcheck ran on."""

    hostname: str
    role: Role
    os: str
    addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
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

    def count(self, verdict: Verdict) -> int:
        return sum(1 for r in self.results if r.verdict is verdict)

    @property
    def verdict(self) -> Verdict:
        """fail when any check failed, error when a check could not be run, otherwise pass."""
        if self.count(Verdict.FAIL):
            return Verdict.FAIL
        if self.count(Verdict.ERROR):
            return Verdict.ERROR
        return Verdict.PASS
