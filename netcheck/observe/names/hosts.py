"""The hosts file: a parser for both platforms' dialects, and where to find it.

Both /etc/hosts and %SystemRoot%\\system32\\drivers\\etc\\hosts are "address name [alias...]" lines with `#`
comments, separated by spaces or tabs. Windows files are often UTF-16 or carry a BOM and CRLF line ends;
Notepad users leave stray text. Bad lines are kept as problems with their line numbers, never fatal.
"""

from __future__ import annotations

import ipaddress
import os
import re
import sys
from pathlib import Path

from netcheck.model.observations import HostsEntry, HostsProblem
from netcheck.model.record import record

__all__ = ["HostsEntry", "HostsFile", "HostsProblem", "decode_hosts", "default_hosts_path", "parse_hosts"]

_NAME = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9_-]{1,63}(?<!-))*\.?$")


@record
class HostsFile:
    entries: tuple[HostsEntry, ...]
    problems: tuple[HostsProblem, ...]

    def lookup(self, name: str) -> list[HostsEntry]:
        """Entries naming `name` (case-insensitive, trailing dot ignored), in file order."""
        wanted = name.rstrip(".").lower()
        return [e for e in self.entries if wanted in (n.rstrip(".").lower() for n in e.names)]


def default_hosts_path() -> Path:
    if sys.platform.startswith("win"):
        return Path(os.environ.get("SYSTEMROOT", r"C:\Windows")) / "System32" / "drivers" / "etc" / "hosts"
    return Path("/etc/hosts")


def decode_hosts(data: bytes) -> str:
    """Bytes of a hosts file → text: UTF-16 (with BOM), UTF-8 (with or without BOM), else Latin-1."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # An odd byte count or a lone surrogate becomes U+FFFD: that line is then reported as bad, not fatal.
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _address(token: str) -> str | None:
    bare = token.split("%", 1)[0]  # fe80::1%eth0: a zone index is allowed on link-local addresses
    try:
        return str(ipaddress.ip_address(bare))
    except ValueError:
        return None


SHOWN_LINES = 5
"""Line numbers listed for a line repeated many times (the rest are counted)."""


def parse_hosts(text: str) -> HostsFile:
    """Parse a hosts file. Duplicates are problems too: one name with several addresses of one family, and a
    name given again with the same address (reported once per first line, however often it is repeated)."""
    entries: list[HostsEntry] = []
    problems: list[HostsProblem] = []
    first_seen: dict[tuple[str, bool], HostsEntry] = {}
    repeats: dict[tuple[int, str], list[int]] = {}  # (first line, name) → the lines that repeat it
    for number, raw in enumerate(text.splitlines(), start=1):
        content = raw.split("#", 1)[0].strip()
        if not content:
            continue
        tokens = content.split()
        address = _address(tokens[0])
        if address is None:
            problems.append(HostsProblem(number, raw.strip(), f"{tokens[0]!r} is not an IP address"))
            continue
        names = tuple(t for t in tokens[1:] if _NAME.match(t))
        for bad in (t for t in tokens[1:] if not _NAME.match(t)):
            problems.append(HostsProblem(number, raw.strip(), f"{bad!r} is not a valid host name"))
        if not tokens[1:]:
            problems.append(HostsProblem(number, raw.strip(), "address without a host name"))
            continue
        if not names:
            continue
        entry = HostsEntry(number, address, names)
        new_names = False
        for name in names:
            key = (name.rstrip(".").lower(), ":" in address)  # an IPv4 and an IPv6 address for one name is normal
            earlier = first_seen.get(key)
            if earlier is None:
                first_seen[key] = entry
                new_names = True
            elif earlier.address != address:
                new_names = True
                problems.append(
                    HostsProblem(number, raw.strip(), f"{name} is also on line {earlier.line} with {earlier.address}")
                )
            else:
                repeats.setdefault((earlier.line, name), []).append(number)
        if new_names:  # a line that only repeats earlier ones adds nothing to look up
            entries.append(entry)
    for (line, name), lines in repeats.items():
        shown = ", ".join(map(str, lines[:SHOWN_LINES])) + (
            f" and {len(lines) - SHOWN_LINES} more" if len(lines) > SHOWN_LINES else ""
        )
        many = "a duplicate line" if len(lines) == 1 else f"{len(lines)} duplicate lines"
        problems.append(HostsProblem(line, "", f"{name} is repeated with the same address: {many} ({shown})"))
    problems.sort(key=lambda problem: problem.line)
    return HostsFile(tuple(entries), tuple(problems))
