"""The words of netcheck's data: roles, operating systems, phases, probe methods, kinds of check, link states
and verdicts. Enumerations only; every other model module builds on these."""

from __future__ import annotations

from enum import StrEnum


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


class HostAspect(StrEnum):
    """What a `host` check looks at on the machine netcheck runs on."""

    INTERFACES = "interfaces"
    PORT_FREE = "port"
    """A port the product will listen on is free (the check's port says which)."""
    SOURCE_PORTS = "source-ports"
    FIREWALL = "firewall"
    PRIVILEGES = "privileges"
    SUBNET = "subnet"


class DiscoveryAspect(StrEnum):
    """What a `discovery` check looks at (non-DNS environments, on the installing machine)."""

    NETWORK_DISCOVERY = "network-discovery"
    FILE_AND_PRINTER_SHARING = "file-and-printer-sharing"
    NETWORK_PROFILE = "network-profile"


Aspect = HostAspect | DiscoveryAspect


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
