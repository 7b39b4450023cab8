"""The one answer to "is this text an IP address, and of which version?"."""

from __future__ import annotations

import ipaddress


def ip_version(text: str) -> int | None:
    """4 or 6 for an IP address (an IPv6 zone id is allowed), None for anything else (a host name)."""
    try:
        return ipaddress.ip_address(text).version
    except ValueError:
        return None


def is_address(text: str) -> bool:
    """True for an IPv4 or IPv6 address, False for a host name."""
    return ip_version(text) is not None
