"""This Windows machine's own SMB connections, as `Get-SmbConnection` (JSON) or `net use` (any language) print them
(pure: text in, `SmbSession`s out). Windows refuses a second connection to a server under another account (1219), so
a session the installing machine already holds to an agent can break the product's push installation.

`net use` is read without its labels, which Windows translates ("Status", "Состояние", "Nicht verfügbar"): a
connection is the line's `\\\\server\\share` token; the account is not printed there, so it stays unknown.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from netcheck.model.observations import SmbSession
from netcheck.parse.windows import json_objects

SMB_CONNECTIONS_COMMAND = (
    "[Console]::OutputEncoding = [Text.Encoding]::UTF8; Get-SmbConnection -ErrorAction Stop"
    " | Select-Object ServerName, ShareName, UserName, Credential, Dialect, NumOpens | ConvertTo-Json"
)
"""The SMB client's connections (MSFT_SmbConnection): ServerName, ShareName, and Credential, the account the
connection was made with (UserName is the local user who made it)."""
NET_USE_COMMAND = ("net.exe", "use")

_UNC = re.compile(r"(?:^|\s)\\\\([^\\\s]+)\\([^\r\n]*?)(?=\s{2,}|\s*$)")


def parse_smb_connections(text: str) -> list[SmbSession] | None:
    """Get-SmbConnection's objects (ConvertTo-Json: one object or an array); None when the text is not JSON."""
    objects = json_objects(text)
    if objects is None:
        return None
    sessions = []
    for item in objects:
        server = str(item.get("ServerName") or "").strip()
        if server:
            share = str(item.get("ShareName") or "").strip()
            credential = str(item.get("Credential") or "").strip()
            sessions.append(SmbSession(server, share, credential, "Get-SmbConnection"))
    return sessions


def parse_net_use(text: str) -> list[SmbSession]:
    """Every `\\\\server\\share` of `net use`'s table, in any language (a share name may hold single spaces; a long
    one pushes the network name to the next line). No account: net use does not print it."""
    sessions: list[SmbSession] = []
    for line in text.splitlines():
        found = _UNC.search(line)
        if found:
            sessions.append(SmbSession(found.group(1), found.group(2).strip(), "", "net use"))
    return sessions


def sessions_to(sessions: Sequence[SmbSession], names: Sequence[str]) -> tuple[SmbSession, ...]:
    """The sessions to one of `names` (the agent's name as given, its address), compared without case; a short name
    (no dot) also matches a full name that starts with it, either way round."""
    wanted = {n.lower() for n in names if n}

    def same(server: str) -> bool:
        server = server.lower()
        if server in wanted:
            return True
        return any(_short_of(server, name) or _short_of(name, server) for name in wanted)

    return tuple(s for s in sessions if same(s.server))


def _short_of(short: str, full: str) -> bool:
    """Whether `short` is a host name without a dot and `full` a DNS name whose first label it is (no address)."""
    if "." in short or ":" in short or full.replace(".", "").isdigit():
        return False
    return full.split(".", maxsplit=1)[0] == short
