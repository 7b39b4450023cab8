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
    STORAGE_NODE = "storage-node"
    VCENTER = "vcenter"
    """A VMware vCenter Server or ESX(i) host the Agent for VMware reaches."""
    CLOUD_STORAGE = "cloud-storage"
    """The cloud storage agents back up to (its host as the user gives it)."""
    CATALOG = "catalog"
    """Cyber Protect 15's catalog, which indexes the storage node's data."""
    BROWSER = "browser"
    """A web browser opening the management server's web page (the console's machine, or any machine)."""


class Product(StrEnum):
    """The product generation whose connection sheet the matrix follows (its profile)."""

    BACKUP_ADVANCED_11 = "backup-advanced-11"
    CYBER_PROTECT_15 = "cyber-protect-15"

    @property
    def full_name(self) -> str:
        """The product's name as its documentation writes it."""
        return _PRODUCT_TITLES[self]


_PRODUCT_TITLES = {
    Product.BACKUP_ADVANCED_11: "Acronis Backup Advanced 11.5/11.7",
    Product.CYBER_PROTECT_15: "Acronis Cyber Protect 15",
}


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
