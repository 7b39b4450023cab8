"""The one answer to "is this text an IP address, and of which version?"."""

from __future__ import annotations

import functools
import ipaddress
import socket


@functools.lru_cache(maxsize=1 << 16)  # a run asks about each target several times (one link per port, the split)
def parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address `text` names (an IPv6 zone id is allowed), or None for anything else (a host name).

    ipaddress decides; IPv4 in its one accepted form (dotted decimal, no leading zeros: what inet_ntop writes)
    and host names take a C shortcut first, as ipaddress's own parse costs ten times more."""
    if ":" not in text:  # IPv6 has colons; IPv4 and host names have none
        try:
            packed = socket.inet_pton(socket.AF_INET, text)
        except (OSError, ValueError):  # ValueError: an embedded NUL
            packed = b""
        if packed and socket.inet_ntop(socket.AF_INET, packed) == text:
            return ipaddress.IPv4Address(packed)
        if not _DOTTED.issuperset(text):
            return None  # letters, spaces and the like: a host name (or nothing), never an address
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


_DOTTED = frozenset("0123456789.")


def ip_version(text: str) -> int | None:
    """4 or 6 for an IP address, None for anything else (a host name)."""
    ip = parse_ip(text)
    return ip.version if ip is not None else None


def is_address(text: str) -> bool:
    """True for an IPv4 or IPv6 address, False for a host name."""
    return parse_ip(text) is not None
