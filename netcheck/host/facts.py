"""A snapshot of this machine (psutil): who is asking, from which addresses."""

from __future__ import annotations

import platform
import socket

import psutil

from netcheck.model import Role, Vantage


def local_addresses() -> tuple[str, ...]:
    """Non-loopback IPv4/IPv6 addresses of this machine's interfaces."""
    addresses = []
    for entries in psutil.net_if_addrs().values():
        for entry in entries:
            if entry.family in (socket.AF_INET, socket.AF_INET6):
                address = entry.address.split("%")[0]
                if not (address.startswith("127.") or address == "::1" or address.startswith("fe80:")):
                    addresses.append(address)
    return tuple(addresses)


def os_description() -> str:
    return f"{platform.system()} {platform.release()}".strip()


def vantage(role: Role) -> Vantage:
    return Vantage(hostname=socket.gethostname(), role=role, os=os_description(), addresses=local_addresses())


def ipv4_interfaces() -> tuple[tuple[str, str | None], ...]:
    """(address, broadcast) of every non-loopback IPv4 interface that is up."""
    stats = psutil.net_if_stats()
    found = []
    for interface, entries in psutil.net_if_addrs().items():
        if interface in stats and not stats[interface].isup:
            continue
        for entry in entries:
            if entry.family == socket.AF_INET and not entry.address.startswith("127."):
                found.append((entry.address, entry.broadcast))
    return tuple(found)
