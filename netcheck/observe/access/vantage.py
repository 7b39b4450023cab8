"""This machine's side of a Windows push installation (I/O): on a Windows vantage, the SMB connections it already
holds, which Windows will not let the installer duplicate under another account (1219). Read only: nothing is
disconnected. Elsewhere (Linux, macOS) the installer does not run here, so nothing is looked at."""

from __future__ import annotations

import sys

from netcheck.model.observations import SmbSession
from netcheck.observe.host import run_command
from netcheck.parse.smb_sessions import NET_USE_COMMAND, SMB_CONNECTIONS_COMMAND, parse_net_use, parse_smb_connections
from netcheck.parse.windows import powershell


def observe_smb_sessions(timeout_s: float = 20.0, *, platform: str = sys.platform) -> tuple[SmbSession, ...] | None:
    """The SMB client's connections (Get-SmbConnection, which names each one's account; `net use` where PowerShell
    or its SMB module is missing); None when this is no Windows machine or neither command could be read."""
    if platform != "win32":
        return None
    out, error = run_command(powershell(SMB_CONNECTIONS_COMMAND), timeout_s=timeout_s)
    sessions = None if error else parse_smb_connections(out)
    if sessions is not None:
        return tuple(sessions)
    out, error = run_command(list(NET_USE_COMMAND), timeout_s=timeout_s)
    return None if error else tuple(parse_net_use(out))
