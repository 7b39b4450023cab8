"""The product's connection matrix (Acronis Backup Advanced, remote installation of agents) as data.

Source: shared/seed/network-connections.txt. The arrow direction there is who initiates; the text is the
destination port. The management server, when present, installs the agents; when it is absent the
management console does (the seed's two diagrams).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from netcheck.model import AgentOS, Role


class Presence(StrEnum):
    """When a link exists, depending on whether the topology has a management server."""

    ALWAYS = "always"
    MS_PRESENT = "management server present"
    MS_ABSENT = "management server absent"


@dataclass(frozen=True)
class PortSpec:
    key: str
    default: int
    encryption: str


PORTS: dict[str, PortSpec] = {
    spec.key: spec
    for spec in (
        PortSpec("smb", 445, "Traffic encryption depends on the File and Printer Sharing options in Windows."),
        PortSpec("install", 25001, "Traffic itself isn't encrypted, but all user names and passwords are sent encrypted."),
        PortSpec("ssh", 22, "Traffic is encrypted by using the SSH protocol."),
        PortSpec("product", 9876, "By default, traffic is encrypted (configured through the Acronis administrative template)."),
    )
}


@dataclass(frozen=True)
class Link:
    """One arrow of the matrix."""

    source: Role
    dest: Role
    port_key: str
    purpose: str
    presence: Presence = Presence.ALWAYS
    agent_os: AgentOS | None = None
    """For links to agents: the agent OS the link applies to."""
    must_be_served: bool = False
    """The port must already answer before installation (an OS service, not the product)."""


_INSTALLERS = ((Role.CONSOLE, Presence.MS_ABSENT), (Role.MANAGEMENT_SERVER, Presence.MS_PRESENT))

LINKS: tuple[Link, ...] = (
    *(
        link
        for source, presence in _INSTALLERS
        for link in (
            Link(
                source,
                Role.AGENT,
                "smb",
                "Sending files (installation packages, Acroinst.exe, Msi_setup.exe)",
                presence,
                AgentOS.WINDOWS,
                must_be_served=True,
            ),
            Link(source, Role.AGENT, "install", "Sending installation parameters", presence, AgentOS.WINDOWS),
            Link(
                source,
                Role.AGENT,
                "ssh",
                "Sending files (installation packages) and starting installation (SSH)",
                presence,
                AgentOS.LINUX,
                must_be_served=True,
            ),
        )
    ),
    Link(Role.CONSOLE, Role.MANAGEMENT_SERVER, "product", "Requesting to install components", Presence.MS_PRESENT),
    Link(Role.AGENT, Role.MANAGEMENT_SERVER, "product", "Registration on the management server"),
    Link(Role.CONSOLE, Role.LICENSE_SERVER, "product", "Acquiring a license"),
    Link(Role.AGENT, Role.LICENSE_SERVER, "product", "Acquiring a license"),
)

SOURCE_PORT_RANGES: dict[str, tuple[int, int]] = {
    "Windows before Vista": (1025, 5000),
    "Windows Vista and later": (49152, 65535),
    "Linux and the virtual appliance": (32768, 61000),
}


@functools.cache  # once per run, not once per link
def source_port_note(os_name: str | None) -> str:
    """The source-port range(s) a firewall must allow from a machine running `os_name` (None: all)."""
    lowered = (os_name or "").lower()
    if lowered.startswith("linux"):
        keys = ["Linux and the virtual appliance"]
    elif lowered.startswith("windows"):
        keys = ["Windows Vista and later", "Windows before Vista"]
    else:
        keys = list(SOURCE_PORT_RANGES)
    return "; ".join(f"{lo}-{hi} ({key})" for key in keys for lo, hi in [SOURCE_PORT_RANGES[key]])


def port_key_of(port: int | None, overrides: Mapping[str, int] | None = None) -> str | None:
    """The matrix key ('smb', 'install', 'ssh', 'product') of a port number, honouring overrides."""
    for key, spec in PORTS.items():
        if (overrides or {}).get(key, spec.default) == port:
            return key
    return None


def port_number(key: str, overrides: dict[str, int] | None = None) -> int:
    """The port for a matrix key, honouring the plan file's [ports] overrides."""
    if overrides and key in overrides:
        return overrides[key]
    return PORTS[key].default


def source_port_ranges_of(port: int) -> list[str]:
    """The seed's source-port ranges that contain `port` (empty: outside all of them)."""
    return [name for name, (low, high) in SOURCE_PORT_RANGES.items() if low <= port <= high]
