"""A snapshot of this machine (psutil): who is asking, from which addresses."""

from __future__ import annotations

import contextlib
import ipaddress
import platform
import shutil
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import psutil

from netcheck.model.checks import Vantage
from netcheck.model.kinds import Role
from netcheck.model.observations import HostFacts, Interface
from netcheck.parse.windows import FIREWALL_PROFILES_COMMAND, decode_output, netsh_english, powershell


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


def port_holders(ports: Sequence[int], bind: str = "") -> dict[int, str]:
    """Which of `ports` some process already listens on (TCP), as 'name (pid N)'; with `bind`, only listeners
    that keep a socket bound to that address from listening (on it, or on every address: either side's wildcard)."""

    wanted = set(ports)
    holders: dict[int, str] = {}
    try:
        connections = psutil.net_connections(kind="tcp")
    except (psutil.AccessDenied, OSError):
        return holders
    for conn in connections:
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port in wanted and _clashes(conn.laddr.ip, bind):
            name = "unknown process"
            if conn.pid:
                with contextlib.suppress(psutil.Error):
                    name = f"{psutil.Process(conn.pid).name()} (pid {conn.pid})"
            holders.setdefault(conn.laddr.port, name)
    return holders


_WILDCARDS = ("", "0.0.0.0", "::")  # noqa: S104 - compared with, never bound


def _clashes(held: str, bind: str) -> bool:
    """Whether a listener on `held` keeps a socket bound to `bind` (same port) from listening."""
    if held in _WILDCARDS or bind in _WILDCARDS:
        return True
    return held.split("%", 1)[0] == bind.split("%", 1)[0]


def interfaces() -> tuple[Interface, ...]:
    """IPv4 addresses of this machine's interfaces, with prefix length, state and broadcast address."""

    stats = psutil.net_if_stats()
    found = []
    for name, entries in psutil.net_if_addrs().items():
        for entry in entries:
            if entry.family == socket.AF_INET and entry.netmask:
                prefix = ipaddress.IPv4Network(f"0.0.0.0/{entry.netmask}").prefixlen
                up = bool(stats.get(name) and stats[name].isup)
                found.append(Interface(name, entry.address, prefix, up, entry.broadcast))
    return tuple(found)


def console_codepage() -> int | None:
    """The code page a Windows console program (netsh) prints in when run_command starts it: the OEM code page,
    which a new console starts with (850 in France, 866 in Russia, 932 in Japan)."""
    if not sys.platform.startswith("win"):
        return None
    import ctypes  # noqa: PLC0415 - Windows only

    return int(getattr(ctypes, "windll").kernel32.GetOEMCP())  # noqa: B009 - ctypes.windll exists only on Windows


# On Windows each command gets its own hidden console: no window flashes, and `chcp 437` (netsh_english) changes
# that console's code page, not the user's.
_NO_WINDOW = getattr(subprocess, "CREATE_NO_WINDOW", 0)


def run_command(argv: list[str], timeout_s: float = 60) -> tuple[str, str]:
    """(stdout, error): error is empty when the command ran and exited 0, else says what went wrong.

    Output is bytes until decoded by windows.decode_output (BOMs, UTF-16, the console's code page): a localized
    Windows writes in its OEM code page, and no byte sequence may crash the run."""
    try:
        proc = subprocess.run(argv, capture_output=True, timeout=timeout_s, check=False, creationflags=_NO_WINDOW)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return "", f"{argv[0]}: {exc}"
    codepage = console_codepage()
    stdout = decode_output(proc.stdout or b"", codepage)
    if proc.returncode != 0:
        stderr = decode_output(proc.stderr or b"", codepage)
        return stdout, f"{' '.join(argv[:3])} exited {proc.returncode}: {stderr.strip()[:200]}"
    return stdout, ""


def _output(argv: list[str]) -> str | None:
    """A command's output, or None when it could not run or failed (the tool is absent or not allowed)."""
    out, error = run_command(argv, timeout_s=20)
    return None if error else out


def host_facts(ports: Sequence[int], privileged: bool) -> HostFacts:
    """Read what the host checks need: listeners, interfaces, the ephemeral range, local firewall state."""
    if sys.platform.startswith("win"):
        # Read in any language (windows.parse_dynamicport takes the two numbers, not the labels).
        ephemeral = _output(["netsh", "int", "ipv4", "show", "dynamicport", "tcp"])
        firewall = {
            "windows-profiles": _output(powershell(FIREWALL_PROFILES_COMMAND)),
            "netsh": _output(netsh_english("advfirewall", "show", "allprofiles")),
        }
    else:
        try:
            ephemeral = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text()
        except OSError:
            ephemeral = None
        firewall = {
            "nftables": _output(["nft", "list", "ruleset"]) if shutil.which("nft") else None,
            "iptables": _output(["iptables", "-S"]) if shutil.which("iptables") else None,
            "firewalld": _output(["firewall-cmd", "--state"]) if shutil.which("firewall-cmd") else None,
            "ufw": _output(["ufw", "status"]) if shutil.which("ufw") else None,
        }
    return HostFacts(sys.platform, os_description(), privileged, interfaces(), port_holders(ports), ephemeral, firewall)
