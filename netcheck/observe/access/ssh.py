"""Linux agents through SSH (asyncssh): the host key, the login, and what the installer needs on the agent.

Only fixed command strings run on the agent; the only values put into them are IP addresses parsed by
`ipaddress`, port numbers, and host names already validated by the topology (and shell-quoted anyway). Every
step has a timeout and every command's output is capped, so a hanging or hostile server cannot stall the run
or grow memory. The one file written (/tmp's exec test) is deleted by the same command that made it.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import ipaddress
import shlex
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from netcheck.files import read_text_limited
from netcheck.model.address import is_address, parse_ip
from netcheck.model.observations import CommandOutput, NameOnAgent, SshObservation, TcpFromAgent
from netcheck.model.record import record
from netcheck.observe.access.credentials import KNOWN_HOSTS_LIMIT, Account, Credentials, default_known_hosts

INSTALL_HINT = "install netcheck with its extra from a checkout: pip install '.[install-check]' (README, Set up)"
OUTPUT_CAP = 64 * 1024
"""Bytes read from one command's stdout (and stderr) at most."""

ID = "id -u"
SUDO = "sudo -n true"
TMP = (
    "f=$(mktemp /tmp/.netcheck.XXXXXXXX 2>/dev/null) || { echo writable=no; exit 0; }; echo writable=yes; "
    'printf \'#!/bin/sh\\necho exec=yes\\n\' > "$f" && chmod 700 "$f" && "$f" 2>/dev/null || echo exec=no; '
    'rm -f "$f"'
)
"""Make a unique file in /tmp, try to run it, delete it: the installer copies its packages there and runs them."""
MOUNTS = "cat /proc/mounts"
DF = "df -Pk /tmp /usr /var 2>/dev/null"
PACKAGES = "command -v rpm; command -v dpkg; true"
HOSTS = "cat /etc/hosts"
PROBE_PYTHON = (
    "import socket,sys,time\n"
    "s=socket.socket(socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET);s.settimeout(float(sys.argv[3]))\n"
    "try:\n s.connect((sys.argv[1],int(sys.argv[2])));print('connected')\n"
    "except socket.timeout:\n print('timeout')\n"
    "except OSError as e:\n print('error',e.strerror)\n"
)

ARP_FAILURE_S = 3
"""Linux gives up on a neighbour that answers no ARP after about 3 s (three probes a second apart) and then says
"No route to host": the connect tried on the agent waits longer, so a stale address is `unreachable`, not silence."""
NEIGHBOURS = "cat /proc/net/route; echo --; cat /proc/net/arp"


def available() -> bool:
    """Whether the optional SSH library is installed."""
    return importlib.util.find_spec("asyncssh") is not None


@record
class AgentSideTarget:
    """A server the agent must reach (the management server, the license server), as the topology names it."""

    name: str
    port: int


async def _run(conn: Any, command: str, timeout_s: float) -> CommandOutput:
    """Run one fixed command; read at most OUTPUT_CAP bytes of each stream; kill it at the timeout."""
    process = await asyncio.wait_for(conn.create_process(command, encoding=None), timeout_s)
    try:
        out, err = await asyncio.wait_for(asyncio.gather(_read_capped(process.stdout), _read_capped(process.stderr)), timeout_s)
        await asyncio.wait_for(process.wait_closed(), timeout_s)
        status = process.exit_status
        return CommandOutput(status, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))
    except TimeoutError:
        return CommandOutput(None, "", "", timed_out=True)
    finally:
        process.close()


async def _read_capped(stream: Any) -> bytes:
    """Read to the end of the stream, keeping at most OUTPUT_CAP bytes (the rest is read and dropped)."""
    kept = bytearray()
    while True:
        data = await stream.read(8192)
        if not data:
            return bytes(kept)
        kept += data[: max(0, OUTPUT_CAP - len(kept))]


@functools.lru_cache(maxsize=4)
def _parsed_known_hosts(text: str) -> Any:
    import asyncssh  # noqa: PLC0415

    return asyncssh.import_known_hosts(text)


def _known_hosts_match(credentials: Credentials, path: Path, name: str, address: str, port: int) -> tuple[list[Any], ...]:
    """(trusted host keys, trusted CA keys, revoked keys) that known_hosts holds for this host, by its name or its
    address (an entry under either counts, as with OpenSSH's default CheckHostIP=no). The file as read before
    the probes (bounded); read here only when the caller did not (a bare Credentials)."""
    text = credentials.known_hosts_text
    if text is None:
        if not path.is_file():
            return [], [], []
        text = read_text_limited(path, "known_hosts", KNOWN_HOSTS_LIMIT)
    trusted, ca, revoked, *_rest = _parsed_known_hosts(text).match(name, address, port)
    return list(trusted), list(ca), list(revoked)


async def _fingerprint(address: str, port: int, timeout_s: float, algs: Sequence[str] = ()) -> tuple[str, str]:
    import asyncssh  # noqa: PLC0415

    kwargs: dict[str, Any] = {"server_host_key_algs": list(algs)} if algs else {}
    key = await asyncio.wait_for(asyncssh.get_server_host_key(address, port, config=None, **kwargs), timeout_s)
    if key is None:
        return "", ""
    return key.get_fingerprint("sha256"), key.get_algorithm()


async def observe_ssh(
    name: str,
    address: str,
    port: int,
    *,
    account: Account,
    credentials: Credentials,
    targets: Sequence[AgentSideTarget],
    timeout_s: float,
) -> SshObservation:
    """Log in to one agent and look at what the installer needs; the whole visit is bounded by the caller."""
    import asyncssh  # noqa: PLC0415

    started = time.monotonic()
    known_path = credentials.known_hosts or default_known_hosts()
    base = SshObservation(address, port, account.text, known_hosts=str(known_path))
    step = max(timeout_s, 5.0)

    def done(**changes: Any) -> SshObservation:
        return _replace(base, elapsed_ms=round((time.monotonic() - started) * 1000, 1), **changes)

    def said(text: str) -> str:  # the server's words: the password masked before they are cut to one short line
        return _first_line(credentials.scrub(text or ""))

    try:
        trusted, ca, revoked = _known_hosts_match(credentials, known_path, name, address, port)
    except (OSError, ValueError) as exc:
        return done(login="error", error=f"cannot read known_hosts {known_path}: {exc}")
    try:
        if not (trusted or ca):
            # Never trusted silently: without a known key nothing is sent, the password least of all.
            fingerprint, key_type = await _fingerprint(address, port, step)
            state = "revoked" if revoked else "unknown"
            return done(fingerprint=fingerprint, key_type=key_type, host_key=state)
        options: dict[str, Any] = {
            "username": account.text,  # as typed: a domain user on Linux (SSSD, winbind) logs in with its domain
            "known_hosts": (trusted, ca, revoked),  # what matched the name or the address, not a second lookup by address
            "config": None,
            "connect_timeout": step,
            "login_timeout": step,
            "client_keys": _client_keys(credentials) or None,
            "agent_path": () if credentials.ssh_agent else None,
            "password": credentials.password.reveal() if credentials.password else None,
            "kbdint_auth": False,
            "keepalive_interval": 0,
        }
        if credentials.ssh_keys or credentials.ssh_agent:
            options["client_keys"] = _client_keys(credentials) if credentials.ssh_keys else ()
        try:
            conn = await asyncio.wait_for(asyncssh.connect(address, port, **options), step * 2)
        except asyncssh.HostKeyNotVerifiable:
            algs = sorted({k.get_algorithm() for k in trusted})
            fingerprint, key_type = await _fingerprint(address, port, step, algs)
            return done(fingerprint=fingerprint, key_type=key_type, host_key="changed")
    except asyncssh.PermissionDenied as exc:
        return done(host_key="known", login="refused", error=said(exc.reason))
    except TimeoutError:
        return done(login="timeout", error=f"no answer within {step * 2:g} s")
    except asyncssh.DisconnectError as exc:
        return done(login="closed", error=said(exc.reason))
    except (OSError, asyncssh.Error) as exc:
        return done(login="error", error=said(str(exc)) or type(exc).__name__)
    try:
        async with conn:
            key = conn.get_server_host_key()
            fingerprint = key.get_fingerprint("sha256") if key else ""
            key_type = key.get_algorithm() if key else ""
            offered = [
                m
                for m, on in (("publickey", credentials.ssh_keys or credentials.ssh_agent), ("password", credentials.password))
                if on
            ]
            auth = "+".join(offered)
            facts = await _facts(conn, targets, step)
    except TimeoutError:
        return done(login="ok", error="a command did not finish in time")
    except (OSError, asyncssh.Error) as exc:
        return done(login="ok", error=said(str(exc)) or type(exc).__name__)
    return done(fingerprint=fingerprint, key_type=key_type, host_key="known", login="ok", auth=auth, **facts)


async def _facts(conn: Any, targets: Sequence[AgentSideTarget], step: float) -> dict[str, Any]:
    ident = await _run(conn, ID, step)
    uid = int(ident.stdout.strip()) if ident.exit_status == 0 and ident.stdout.strip().isdigit() else None
    sudo = await _run(conn, SUDO, step) if uid != 0 else None
    tmp = await _run(conn, TMP, step)
    mounts = await _run(conn, MOUNTS, step)
    df = await _run(conn, DF, step)
    packages = await _run(conn, PACKAGES, step)
    names, probes = await _agent_side(conn, targets, step)
    return {
        "uid": uid,
        "sudo": sudo,
        "tmp": tmp,
        "mounts": mounts.stdout if mounts.exit_status == 0 else None,
        "df": df.stdout,
        "packages": tuple(Path(line.strip()).name for line in packages.stdout.splitlines() if line.strip()),
        "names": names,
        "probes": probes,
    }


def _addresses(getent_output: str) -> tuple[str, ...]:
    found = []
    for line in getent_output.splitlines():
        fields = line.split()
        if fields:
            try:
                found.append(str(ipaddress.ip_address(fields[0])))
            except ValueError:
                continue
    return tuple(dict.fromkeys(found))


async def _agent_side(
    conn: Any, targets: Sequence[AgentSideTarget], step: float
) -> tuple[tuple[NameOnAgent, ...], tuple[TcpFromAgent, ...]]:
    """Resolve each server's name on the agent and try TCP to the address the agent got."""
    from netcheck.observe.names.hosts import parse_hosts  # noqa: PLC0415

    if not targets:
        return (), ()
    hosts_text = (await _run(conn, HOSTS, step)).stdout
    hosts = parse_hosts(hosts_text)
    names: list[NameOnAgent] = []
    probes: list[TcpFromAgent] = []
    tool = await _probe_tool(conn, step)
    for target in targets:
        if is_address(target.name):
            addresses: tuple[str, ...] = (str(parse_ip(target.name)),)
        else:
            quoted = shlex.quote(target.name)  # a name validated by the topology; quoted all the same
            addresses = _addresses((await _run(conn, f"getent hosts {quoted}", step)).stdout)
            dns = _addresses((await _run(conn, f"getent -s dns hosts {quoted}", step)).stdout)
            in_file = tuple(dict.fromkeys(e.address for e in hosts.lookup(target.name)))
            names.append(NameOnAgent(target.name, addresses, in_file, dns))
        if addresses:
            probes.append(await _probe(conn, addresses[0], target.port, tool, step))
    return tuple(names), tuple(probes)


async def _probe_tool(conn: Any, step: float) -> str:
    found = await _run(conn, "command -v bash; command -v timeout; command -v python3; true", step)
    tools = {Path(line.strip()).name for line in found.stdout.splitlines() if line.strip()}
    if {"bash", "timeout"} <= tools:
        return "bash /dev/tcp"
    if "python3" in tools:
        return "python3"
    return ""


async def _probe(conn: Any, address: str, port: int, tool: str, step: float) -> TcpFromAgent:
    """One connect from the agent; the command holds only a parsed IP address (no zone id: it could carry any
    character) and a port number, quoted all the same."""
    parsed = parse_ip(address)
    if parsed is None or getattr(parsed, "scope_id", None):
        return TcpFromAgent(address, port, "error", "the agent's resolver gave something that is not a plain IP address", "", 0.0)
    ip = str(parsed)
    wait = max(ARP_FAILURE_S + 1, int(step / 2))
    started = time.monotonic()
    if tool == "bash /dev/tcp":
        script = shlex.quote(f"exec 3<>/dev/tcp/{ip}/{int(port)} && echo connected")
        command = f"timeout {wait} bash -c {script}; echo rc=$?"
    elif tool == "python3":
        command = f"python3 -c {shlex.quote(PROBE_PYTHON)} {shlex.quote(ip)} {int(port)} {wait}"
    else:
        return TcpFromAgent(ip, port, "error", "neither bash with timeout nor python3 on the agent", "", 0.0)
    out = await _run(conn, command, step + wait)
    elapsed = round((time.monotonic() - started) * 1000, 1)
    text = f"{out.stdout}\n{out.stderr}"
    if "connected" in out.stdout.split():
        outcome = "connected"
    elif "rc=124" in out.stdout or out.stdout.strip() == "timeout" or out.timed_out:
        outcome = "timeout"
    elif "refused" in text.lower():
        outcome = "refused"
    elif "unreachable" in text.lower() or "no route" in text.lower():
        outcome = "unreachable"
    else:
        outcome = "error"
    if outcome in ("unreachable", "timeout") and parsed.version == 4:
        route, _, arp = (await _run(conn, NEIGHBOURS, step)).stdout.partition("--\n")
        outcome = "no-arp" if _no_arp_answer(route, arp, ip) else outcome
    message = next((line.split(": ")[-1].strip() for line in text.splitlines() if "rc=" not in line and line.strip()), "")
    return TcpFromAgent(ip, port, outcome, message[:200], tool, elapsed)


def _client_keys(credentials: Credentials) -> list[Any]:
    """The keys loaded before the run; their paths when a caller built Credentials without loading them."""
    return list(credentials.client_keys) or [str(k) for k in credentials.ssh_keys]


def _no_arp_answer(proc_net_route: str, proc_net_arp: str, address: str) -> bool:
    """True when the agent's next hop towards `address` never answered ARP (its neighbour table), as a local run
    finds it (probes/tcp.py)."""
    from netcheck.observe.probes.syn import incomplete_neighbours, next_hop  # noqa: PLC0415 - only a failed connect needs it

    try:
        stale = incomplete_neighbours(proc_net_arp)
        return bool(stale) and next_hop(proc_net_route, address) in stale
    except (ValueError, IndexError, OSError):  # the agent's tables, as it printed them
        return False


def _first_line(text: str) -> str:
    return (text or "").strip().splitlines()[0][:200] if (text or "").strip() else ""


def _replace(obs: SshObservation, **changes: Any) -> SshObservation:
    return replace(obs, **changes)
