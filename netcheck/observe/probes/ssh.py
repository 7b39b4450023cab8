"""SSH on TCP 22: the server's identification string (RFC 4253 §4.2), product and version."""

from __future__ import annotations

import asyncio
import re

from netcheck.model.observations import SshBanner

__all__ = ["SshBanner", "parse_banner", "read_banner"]

MAX_IDENT_BYTES = 255
"""RFC 4253 §4.2: the identification line, CR LF included, is at most 255 bytes."""
MAX_BANNER_BYTES = 8192
"""A server may send other lines before the identification line; bound all it may send before it."""
_IDENT = re.compile(r"^SSH-(?P<proto>[0-9.]+)-(?P<software>[^\s-][^\s]*)(?:\s+(?P<comments>.*))?$")


def parse_banner(data: bytes) -> SshBanner | None:
    """The identification line among the first complete lines a server sends; None if there is none.

    An identification line must end with a line feed and be at most 255 bytes (RFC 4253): an endless or
    unterminated 'SSH-...' is not SSH, whatever it starts with.
    """
    lines = data.split(b"\n")
    for raw in lines[:-1]:  # the last piece has no line feed yet: not a line
        if len(raw) + 1 > MAX_IDENT_BYTES and raw.startswith(b"SSH-"):
            return None
        line = raw.rstrip(b"\r").decode("utf-8", errors="replace")
        match = _IDENT.match(line)
        if match:
            return SshBanner(match["proto"], match["software"], match["comments"] or "")
    return None


def _overlong(data: bytes) -> bool:
    """An 'SSH-' line (ended or not) longer than RFC 4253 allows."""
    lines = data.split(b"\n")
    ended = any(len(line) + 1 > MAX_IDENT_BYTES for line in lines[:-1] if line.startswith(b"SSH-"))
    return ended or (lines[-1].startswith(b"SSH-") and len(lines[-1]) + 1 > MAX_IDENT_BYTES)


def banner_problem(data: bytes) -> str:
    """Why `data` holds no identification line, for the evidence ('' when it has one or says nothing SSH-like)."""
    if parse_banner(data) is not None:
        return ""
    if _overlong(data):
        return f"identification line longer than {MAX_IDENT_BYTES} bytes (RFC 4253)"
    if data.rsplit(b"\n", 1)[-1].startswith(b"SSH-"):
        return "identification line never ended (no line feed in time)"
    if len(data) >= MAX_BANNER_BYTES:
        return f"no identification line in the first {MAX_BANNER_BYTES} bytes"
    return ""


def _done(data: bytes) -> bool:
    """Enough read: a complete identification line, an overlong one, or the byte bound."""
    return len(data) >= MAX_BANNER_BYTES or parse_banner(data) is not None or _overlong(data)


async def read_banner(address: str, port: int, timeout_s: float) -> tuple[SshBanner | None, bytes, str]:
    """Connect and read until the identification line, within one deadline for the whole exchange.

    A server that drips one byte at a time cannot stretch it: `timeout_s` bounds connect and reads together.
    Returns the banner (None when it is not SSH), the first 200 bytes, and why it is not SSH (banner_problem).
    Raises TimeoutError/OSError only when the connection itself could not be made.
    """
    data = b""
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout_s):
            reader, writer = await asyncio.open_connection(address, port)
            while not _done(data):
                chunk = await reader.read(MAX_BANNER_BYTES - len(data))
                if not chunk:
                    break
                data += chunk
    except OSError:  # TimeoutError included: after connecting, what arrived in time is the answer
        if writer is None:
            raise
    finally:
        if writer is not None:
            writer.close()
    return parse_banner(data), data[:200], banner_problem(data)
