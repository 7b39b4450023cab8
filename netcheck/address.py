"""The one answer to "is this text an IP address, and of which version?"."""

from __future__ import annotations

import functools
import ipaddress


@functools.lru_cache(maxsize=1 << 16)  # a run asks about each target several times (one link per port, the split)
def parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address `text` names (an IPv6 zone id is allowed), or None for anything else (a host name)."""
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def ip_version(text: str) -> int | None:
    """4 or 6 for an IP address, None for anything else (a host name)."""
    ip = parse_ip(text)
    return ip.version if ip is not None else None


def is_address(text: str) -> bool:
    """True for an IPv4 or IPv6 address, False for a host name."""
    return parse_ip(text) is not None
