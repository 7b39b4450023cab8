"""The product's connection matrix (Acronis Backup Advanced, remote installation of agents) as data.

Source: the product's Network Connections sheet. Its arrows show who initiates; the text is the destination
port. The management server, when present, installs the agents; when it is absent the management console does
(the sheet's two diagrams).

This module is the one registry of ports and links: everything else asks it. A port is a `PortKey`; its number
(overridable by a plan file's `[ports]`), what answers there and how it is encrypted come from `port_spec`,
whose `match` makes mypy name every place a new key must be handled.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import assert_never

from netcheck.model.kinds import AgentOS, Role
from netcheck.model.record import record


class PortKey(StrEnum):
    """A port of the matrix, by what it is for (its number may be configured otherwise)."""

    SMB = "smb"
    INSTALL = "install"
    SSH = "ssh"
    PRODUCT = "product"


@record
class PortSpec:
    key: PortKey
    default: int
    encryption: str
    os_service: bool
    """An OS service (SMB, SSH) answers before installation; otherwise the product listens there after it."""


def port_spec(key: PortKey) -> PortSpec:
    """Everything the matrix says about one port."""
    match key:
        case PortKey.SMB:
            return PortSpec(key, 445, "Traffic encryption depends on the File and Printer Sharing options in Windows.", True)
        case PortKey.INSTALL:
            return PortSpec(
                key, 25001, "Traffic itself isn't encrypted, but all user names and passwords are sent encrypted.", False
            )
        case PortKey.SSH:
            return PortSpec(key, 22, "Traffic is encrypted by using the SSH protocol.", True)
        case PortKey.PRODUCT:
            return PortSpec(
                key, 9876, "By default, traffic is encrypted (configured through the Acronis administrative template).", False
            )
        case _:
            assert_never(key)


PORTS: dict[PortKey, PortSpec] = {key: port_spec(key) for key in PortKey}
PRODUCT_PORT_KEYS: tuple[PortKey, ...] = tuple(key for key in PortKey if not PORTS[key].os_service)
"""The ports the product itself listens on once installed (25001 on agents, 9876 on the servers)."""

PortOverrides = Mapping[PortKey, int]


def port_number(key: PortKey, overrides: PortOverrides | None = None) -> int:
    """The port for a matrix key, honouring the plan file's [ports] overrides."""
    if overrides and key in overrides:
        return overrides[key]
    return PORTS[key].default


def product_ports(overrides: PortOverrides | None = None) -> list[int]:
    """The numbers of the ports the product will listen on (9876, 25001 unless configured otherwise)."""
    return [port_number(key, overrides) for key in (PortKey.PRODUCT, PortKey.INSTALL)]


class Presence(StrEnum):
    """When a link exists, depending on whether the topology has a management server."""

    ALWAYS = "always"
    MS_PRESENT = "management server present"
    MS_ABSENT = "management server absent"


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

    @property
    def must_be_served(self) -> bool:
        """The port must already answer before installation (an OS service, not the product)."""
        return PORTS[self.port_key].os_service


_INSTALLERS = ((Role.CONSOLE, Presence.MS_ABSENT), (Role.MANAGEMENT_SERVER, Presence.MS_PRESENT))

LINKS: tuple[Link, ...] = (
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
    Link(Role.CONSOLE, Role.LICENSE_SERVER, PortKey.PRODUCT, "Acquiring a license"),
    Link(Role.AGENT, Role.LICENSE_SERVER, PortKey.PRODUCT, "Acquiring a license"),
)

SUPERSEDED_REASON = "the management server installs agents (run netcheck --from management-server there)"


@record
class ApplicableLink:
    link: Link
    superseded: bool
    """The console's installer links in a deployment whose management server installs the agents."""


def links_for(source: Role | None, *, management_server: bool) -> list[ApplicableLink]:
    """The links of a deployment with (or without) a management server that start at `source` (None: any).

    Links that exist only without a management server are kept, marked superseded, when there is one: the
    plan shows them as skipped with the reason, the firewall rules leave them out.
    """
    applicable = []
    for link in LINKS:
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
