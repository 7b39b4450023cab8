"""The product's connection matrices as data: Acronis Backup Advanced 11.5/11.7 and Acronis Cyber Protect 15.

Backup Advanced: its Network Connections sheet, page 1 (remote installation of agents) and page 2
(communication between components), and its licensing topic. The arrows show who initiates; the text is the
destination port. The management server, when present, installs the agents and acquires their licences; when it
is absent the management console does (page 1's two diagrams). Cyber Protect 15: its network connection
diagram. Every link names the document and section it comes from; no port is guessed where no document states
one (Backup 12.5, Cyber Protect 16).

This module is the one registry of ports and links: everything else asks it. A port is a `PortKey`; its number
(overridable by a plan file's `[ports]`), what answers there and how it is encrypted come from `port_spec`,
whose `match` makes mypy name every place a new key must be handled.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import assert_never

from netcheck.model.kinds import AgentOS, Product, Role
from netcheck.model.record import record


class PortKey(StrEnum):
    """A port of the matrix, by what it is for (its number may be configured otherwise)."""

    SMB = "smb"
    INSTALL = "install"
    SSH = "ssh"
    PRODUCT = "product"
    WEB = "web"
    """Backup Advanced 11: the management server's web page and installation packages (HTTP 8080)."""
    VSPHERE_HTTPS = "vsphere_https"
    VSPHERE_902 = "vsphere_902"
    CLOUD_HTTPS = "cloud_https"
    CLOUD_44445 = "cloud_44445"
    CLOUD_55556 = "cloud_55556"
    CP_MANAGEMENT = "cp_management"
    """Cyber Protect 15: the management server's ZeroMQ port (7780)."""
    CP_WEB = "cp_web"
    """Cyber Protect 15: the management server's REST API and web console (TLS, 9877)."""
    STORAGE_DATA = "storage_data"
    """Cyber Protect 15: the storage node's backup data port (TLS with mutual authentication, 9876)."""
    CATALOG_INDEX = "catalog_index"
    """Cyber Protect 15: the catalog's index (9200)."""


class Protocol(StrEnum):
    """What speaks on a port, as far as netcheck identifies it."""

    SMB = "smb"
    SSH = "ssh"
    TLS = "tls"
    OTHER = "other"
    """Unencrypted or the product's own protocol: only a netcheck responder is identified there."""


@record
class PortSpec:
    key: PortKey
    default: int
    encryption: str
    os_service: bool
    """Served before the product is installed (an OS service, vSphere, the cloud storage); otherwise the product
    listens there once installed."""
    protocol: Protocol = Protocol.OTHER


_ENCRYPTED_9876 = "By default, traffic is encrypted (configured through the Acronis administrative template)."
_NOT_ENCRYPTED = "Traffic is not encrypted."


def port_spec(key: PortKey) -> PortSpec:  # noqa: PLR0911, PLR0912 - one case a port
    """Everything the matrix says about one port."""
    match key:
        case PortKey.SMB:
            return PortSpec(
                key, 445, "Traffic encryption depends on the File and Printer Sharing options in Windows.", True, Protocol.SMB
            )
        case PortKey.INSTALL:
            return PortSpec(
                key, 25001, "Traffic itself isn't encrypted, but all user names and passwords are sent encrypted.", False
            )
        case PortKey.SSH:
            return PortSpec(key, 22, "Traffic is encrypted by using the SSH protocol.", True, Protocol.SSH)
        case PortKey.PRODUCT:
            return PortSpec(key, 9876, _ENCRYPTED_9876, False, Protocol.TLS)
        case PortKey.WEB:
            return PortSpec(key, 8080, _NOT_ENCRYPTED, False)
        case PortKey.VSPHERE_HTTPS:
            return PortSpec(key, 443, "Traffic is encrypted by the HTTPS protocol.", True, Protocol.TLS)
        case PortKey.VSPHERE_902:
            return PortSpec(key, 902, "Not stated by the product's documentation.", True)
        case PortKey.CLOUD_HTTPS:
            return PortSpec(key, 443, "Traffic is encrypted by the HTTPS protocol.", True, Protocol.TLS)
        case PortKey.CLOUD_44445:
            return PortSpec(key, 44445, "Traffic is encrypted.", True)
        case PortKey.CLOUD_55556:
            return PortSpec(key, 55556, "Traffic is encrypted.", True)
        case PortKey.CP_MANAGEMENT:
            return PortSpec(key, 7780, "ZeroMQ with ZMTP CURVE authentication and encryption.", False)
        case PortKey.CP_WEB:
            return PortSpec(key, 9877, "TLS (REST API authenticated with JWT tokens, and the web console).", False, Protocol.TLS)
        case PortKey.STORAGE_DATA:
            return PortSpec(key, 9876, "TLS, with mutual TLS authentication.", False, Protocol.TLS)
        case PortKey.CATALOG_INDEX:
            return PortSpec(key, 9200, "Not stated by the product's documentation.", False)
        case _:
            assert_never(key)


PORTS: dict[PortKey, PortSpec] = {key: port_spec(key) for key in PortKey}

PortOverrides = Mapping[PortKey, int]

RPC_ENDPOINT_MAPPER_PORT = 135
"""Not a link of the product: Windows' RPC endpoint mapper, which Windows tools try before falling back to the
service control manager's named pipe on 445; the access check of a Windows agent only notes whether it answers."""


def port_number(key: PortKey, overrides: PortOverrides | None = None) -> int:
    """The port for a matrix key, honouring the plan file's [ports] overrides."""
    if overrides and key in overrides:
        return overrides[key]
    return PORTS[key].default


def product_ports(overrides: PortOverrides | None = None) -> list[int]:
    """The numbers of the ports Backup Advanced 11 will listen on (9876, 25001 unless configured otherwise)."""
    return [port_number(key, overrides) for key in (PortKey.PRODUCT, PortKey.INSTALL)]


class Presence(StrEnum):
    """When a link exists, depending on whether the topology has a management server."""

    ALWAYS = "always"
    MS_PRESENT = "management server present"
    MS_ABSENT = "management server absent"


# The documents (and sections) the links come from: each link names its own.
ABA_SHEET_INSTALL = "Acronis Backup Advanced 11.5 Network Connections, 1. Remote installation of Agents"
ABA_SHEET_COMPONENTS = "Acronis Backup Advanced 11.5 Network Connections, 2. Communication between components"
ABA_LICENSING = (
    "Acronis Backup Advanced 11.5 documentation, Licensing of Acronis Backup Advanced (topic 13688), Checking licenses"
)
CP15_DIAGRAM = "Acronis Cyber Protect 15 documentation, Network connection diagram"


@record
class Link:
    """One arrow of the matrix."""

    source: Role
    dest: Role
    port_key: PortKey
    purpose: str
    presence: Presence = Presence.ALWAYS
    agent_os: AgentOS | None = None
    """For links to agents: the agent OS the link applies to."""
    documented_in: str = ABA_SHEET_INSTALL
    """The document and section that state this link."""

    @property
    def must_be_served(self) -> bool:
        """The port must already answer before installation (a service outside the product, not the product)."""
        return PORTS[self.port_key].os_service


_INSTALLERS = ((Role.CONSOLE, Presence.MS_ABSENT), (Role.MANAGEMENT_SERVER, Presence.MS_PRESENT))
_VMWARE = "Accessing VMware vSphere (Agent for VMware)"
_CLOUD = "Accessing the cloud storage"
_P2 = ABA_SHEET_COMPONENTS

BACKUP_ADVANCED_LINKS: tuple[Link, ...] = (
    *(
        link
        for source, presence in _INSTALLERS
        for link in (
            Link(
                source,
                Role.AGENT,
                PortKey.SMB,
                "Sending files (installation packages, Acroinst.exe, Msi_setup.exe)",
                presence,
                AgentOS.WINDOWS,
            ),
            Link(source, Role.AGENT, PortKey.INSTALL, "Sending installation parameters", presence, AgentOS.WINDOWS),
            Link(
                source,
                Role.AGENT,
                PortKey.SSH,
                "Sending files (installation packages) and starting installation (SSH)",
                presence,
                AgentOS.LINUX,
            ),
        )
    ),
    Link(Role.CONSOLE, Role.MANAGEMENT_SERVER, PortKey.PRODUCT, "Requesting to install components", Presence.MS_PRESENT),
    Link(Role.AGENT, Role.MANAGEMENT_SERVER, PortKey.PRODUCT, "Registration on the management server"),
    # Page 1: the machine that installs acquires the licence.
    Link(Role.MANAGEMENT_SERVER, Role.LICENSE_SERVER, PortKey.PRODUCT, "Acquiring a license", Presence.MS_PRESENT),
    Link(Role.CONSOLE, Role.LICENSE_SERVER, PortKey.PRODUCT, "Acquiring a license", Presence.MS_ABSENT),
    Link(
        Role.AGENT,
        Role.LICENSE_SERVER,
        PortKey.PRODUCT,
        "Checking licenses (every start of the agent service, the first included, then every 1-5 days)",
        documented_in=f"{ABA_LICENSING}; {_P2}",
    ),
    # Page 2: after installation.
    Link(
        Role.MANAGEMENT_SERVER,
        Role.AGENT,
        PortKey.PRODUCT,
        "Registering, managing agents (backup plans, logs)",
        Presence.MS_PRESENT,
        documented_in=_P2,
    ),
    Link(
        Role.AGENT,
        Role.MANAGEMENT_SERVER,
        PortKey.PRODUCT,
        "Registering; notifying that the machine is online or its IP address changed",
        documented_in=_P2,
    ),
    Link(Role.CONSOLE, Role.MANAGEMENT_SERVER, PortKey.PRODUCT, "Communicating with the management server", documented_in=_P2),
    Link(Role.CONSOLE, Role.AGENT, PortKey.PRODUCT, "Managing agents", documented_in=_P2),
    Link(
        Role.MANAGEMENT_SERVER, Role.LICENSE_SERVER, PortKey.PRODUCT, "Managing licenses", Presence.MS_PRESENT, documented_in=_P2
    ),
    Link(
        Role.MANAGEMENT_SERVER,
        Role.STORAGE_NODE,
        PortKey.PRODUCT,
        "Managing storage nodes and centralized catalog",
        Presence.MS_PRESENT,
        documented_in=_P2,
    ),
    Link(Role.AGENT, Role.STORAGE_NODE, PortKey.PRODUCT, "Accessing managed vaults", documented_in=_P2),
    Link(
        Role.BROWSER,
        Role.MANAGEMENT_SERVER,
        PortKey.WEB,
        "Accessing the management server web page; downloading installation packages",
        documented_in=_P2,
    ),
    Link(Role.AGENT, Role.VCENTER, PortKey.VSPHERE_HTTPS, _VMWARE, documented_in=_P2),
    Link(Role.AGENT, Role.VCENTER, PortKey.VSPHERE_902, _VMWARE, documented_in=_P2),
    Link(Role.AGENT, Role.CLOUD_STORAGE, PortKey.CLOUD_HTTPS, _CLOUD, documented_in=_P2),
    Link(Role.AGENT, Role.CLOUD_STORAGE, PortKey.CLOUD_44445, _CLOUD, documented_in=_P2),
    Link(Role.AGENT, Role.CLOUD_STORAGE, PortKey.CLOUD_55556, _CLOUD, documented_in=_P2),
)
"""Backup Advanced 11.5/11.7: the Network Connections sheet's two pages and the licensing topic."""

_MESSAGES = "Exchanging management messages with the management server (ZeroMQ, ZMTP CURVE)"
_DATA = "Sending and receiving backup data (TLS, mutual authentication)"

CYBER_PROTECT_LINKS: tuple[Link, ...] = (
    Link(Role.AGENT, Role.MANAGEMENT_SERVER, PortKey.CP_MANAGEMENT, _MESSAGES, documented_in=CP15_DIAGRAM),
    Link(Role.STORAGE_NODE, Role.MANAGEMENT_SERVER, PortKey.CP_MANAGEMENT, _MESSAGES, documented_in=CP15_DIAGRAM),
    Link(
        Role.BROWSER, Role.MANAGEMENT_SERVER, PortKey.CP_WEB, "The web console and the REST API (TLS)", documented_in=CP15_DIAGRAM
    ),
    Link(Role.AGENT, Role.STORAGE_NODE, PortKey.STORAGE_DATA, _DATA, documented_in=CP15_DIAGRAM),
    Link(
        Role.CATALOG, Role.STORAGE_NODE, PortKey.STORAGE_DATA, "Indexing the data on the storage node", documented_in=CP15_DIAGRAM
    ),
)
"""Cyber Protect 15: its network connection diagram. It names no remote-installation or licence ports."""

MATRICES: dict[Product, tuple[Link, ...]] = {
    Product.BACKUP_ADVANCED_11: BACKUP_ADVANCED_LINKS,
    Product.CYBER_PROTECT_15: CYBER_PROTECT_LINKS,
}
LINKS = BACKUP_ADVANCED_LINKS


@record
class Exposed:
    """A port a component exposes whose clients the product's documentation does not name."""

    role: Role
    port_key: PortKey
    purpose: str
    documented_in: str


EXPOSED: dict[Product, tuple[Exposed, ...]] = {
    Product.BACKUP_ADVANCED_11: (),
    Product.CYBER_PROTECT_15: (Exposed(Role.CATALOG, PortKey.CATALOG_INDEX, "The catalog's index", CP15_DIAGRAM),),
}


def listening_keys(product: Product, role: Role | None = None) -> tuple[PortKey, ...]:
    """The product's own ports (not an OS's or a third party's) that `role` (None: any component) listens on
    once installed, in PortKey order."""
    used = {link.port_key for link in MATRICES[product] if role is None or link.dest is role}
    used |= {e.port_key for e in EXPOSED[product] if role is None or e.role is role}
    return tuple(key for key in PortKey if key in used and not PORTS[key].os_service)


def listening_ports(product: Product, overrides: PortOverrides | None = None) -> list[int]:
    """What `netcheck listen` answers on by default: every port the product listens on, once each."""
    return list(dict.fromkeys(port_number(key, overrides) for key in listening_keys(product)))


SUPERSEDED_REASON = "the management server installs agents and acquires the licence (run netcheck --from management-server there)"


@record
class ApplicableLink:
    link: Link
    superseded: bool
    """The console's installer links in a deployment whose management server installs the agents."""


def links_for(
    source: Role | None, *, management_server: bool, product: Product = Product.BACKUP_ADVANCED_11
) -> list[ApplicableLink]:
    """The links of a deployment with (or without) a management server that start at `source` (None: any).

    Links that exist only without a management server are kept, marked superseded, when there is one: the
    plan shows them as skipped with the reason, the firewall rules leave them out.
    """
    applicable = []
    for link in MATRICES[product]:
        if source is not None and link.source is not source:
            continue
        if link.presence is Presence.MS_PRESENT and not management_server:
            continue
        applicable.append(ApplicableLink(link, link.presence is Presence.MS_ABSENT and management_server))
    return applicable


# ---- source ports --------------------------------------------------------------------------------------

SOURCE_PORT_RANGES: dict[str, tuple[int, int]] = {
    "Windows before Vista": (1025, 5000),
    "Windows Vista and later": (49152, 65535),
    "Linux and the virtual appliance": (32768, 61000),
}


def os_family(description: str | None) -> AgentOS | None:
    """'Linux-6.1-…' → linux, 'Windows-10-…' → windows, anything else → None (unknown)."""
    lowered = (description or "").lower()
    if lowered.startswith("linux"):
        return AgentOS.LINUX
    if lowered.startswith("windows"):
        return AgentOS.WINDOWS
    return None


def source_range_labels(os: AgentOS | None) -> list[str]:
    """The documented source-port ranges of an OS (None: every range), newest Windows first."""
    if os is AgentOS.LINUX:
        return ["Linux and the virtual appliance"]
    if os is AgentOS.WINDOWS:
        return ["Windows Vista and later", "Windows before Vista"]
    return list(SOURCE_PORT_RANGES)


def merge_ranges(ranges: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Overlapping or touching ranges joined (nftables refuses overlapping intervals in one set)."""
    merged: list[tuple[int, int]] = []
    for low, high in sorted(ranges):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return tuple(merged)


def source_ranges(os: AgentOS | None) -> tuple[tuple[int, int], ...]:
    """The source ports a firewall must allow from a machine of OS `os`, as merged (low, high) ranges."""
    return merge_ranges(SOURCE_PORT_RANGES[label] for label in source_range_labels(os))


@functools.cache  # once per run, not once per link
def source_port_note(os_name: str | None) -> str:
    """The source-port range(s) a firewall must allow from a machine running `os_name` (None: all)."""
    labels = source_range_labels(os_family(os_name))
    return "; ".join(f"{lo}-{hi} ({label})" for label in labels for lo, hi in [SOURCE_PORT_RANGES[label]])


def source_port_ranges_of(port: int) -> list[str]:
    """The documented source-port ranges that contain `port` (empty: outside all of them)."""
    return [name for name, (low, high) in SOURCE_PORT_RANGES.items() if low <= port <= high]
