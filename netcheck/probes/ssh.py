"""SSH on TCP 22: the server's identification string (RFC 4253 §4.2), product and version."""

from __future__ import annotations

import asyncio
import re

from netcheck.observations import SshBanner

__all__ = ["SshBanner", "parse_banner", "read_banner"]

MAX_BANNER_BYTES = 8192  # RFC 4253 lets a server send other lines first; bound what we read
_IDENT = re.compile(r"^SSH-(?P<proto>[0-9.]+)-(?P<software>[^\s-][^\s]*)(?:\s+(?P<comments>.*))?$")


def parse_banner(data: bytes) -> SshBanner | None:
    """The identification line among the first lines a server sends; None if there is none."""
    for raw in data.split(b"\n"):
        line = raw.rstrip(b"\r").decode("utf-8", errors="replace")
        match = _IDENT.match(line)
        if match:
            return SshBanner(match["proto"], match["software"], match["comments"] or "")
    return None


async def read_banner(address: str, port: int, timeout_s: float) -> tuple[SshBanner | None, bytes]:
    """Connect and read until the identification line (or the byte bound, or the timeout)."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection(address, port), timeout_s)
    data = b""
    try:
        while len(data) < MAX_BANNER_BYTES:
            chunk = await asyncio.wait_for(reader.read(MAX_BANNER_BYTES - len(data)), timeout_s)
            if not chunk:
                break
            data += chunk
            if b"\n" in data and parse_banner(data):
                break
    except TimeoutError:
        pass
    finally:
        writer.close()
    return parse_banner(data), data[:200]
