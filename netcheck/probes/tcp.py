"""TCP connect probe, and the one place where OS errors and ICMP errors become states.

The connect probe works without privileges. On Linux it also asks the kernel for the ICMP error behind a
failed connect (IP_RECVERR / MSG_ERRQUEUE), which is what tells a firewall's admin-prohibited reject
(filtered) from a router's host-unreachable (unreachable): both surface as plain EHOSTUNREACH otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import socket
import struct
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netcheck.model import Observation, State
from netcheck.probes.timing import Timing

# Linux <linux/in.h>, <linux/in6.h>, <linux/errqueue.h>; Python's socket module does not export them.
IP_RECVERR = 11
IPV6_RECVERR = 25
SO_EE_ORIGIN_ICMP = 2
SO_EE_ORIGIN_ICMP6 = 3
_EXTENDED_ERR = struct.Struct("=IBBBBII")

ICMP_DEST_UNREACH = 3
ICMP_TIME_EXCEEDED = 11
ICMP6_DEST_UNREACH = 1
# ICMPv4 destination-unreachable codes that mean "no route to that host or network" rather than
# "a device refused it": net/host unreachable, unknown, isolated, for TOS.
_ICMP4_UNREACHABLE_CODES = {0, 1, 5, 6, 7, 8, 11, 12}
# ICMPv6 destination-unreachable: 0 no route, 2 beyond scope, 3 address unreachable.
_ICMP6_UNREACHABLE_CODES = {0, 2, 3}

ICMP4_CODE_NAMES = {
    0: "net-unreachable",
    1: "host-unreachable",
    2: "protocol-unreachable",
    3: "port-unreachable",
    9: "net-admin-prohibited",
    10: "host-admin-prohibited",
    13: "admin-prohibited",
}


@dataclass(frozen=True, slots=True)
class IcmpError:
    """An ICMP error the kernel tied to our socket (or saw for our SYN)."""

    version: int
    type: int
    code: int
    sender: str | None

    def describe(self) -> str:
        name = ICMP4_CODE_NAMES.get(self.code, f"code {self.code}") if self.version == 4 else f"code {self.code}"
        where = f" from {self.sender}" if self.sender else ""
        return f"ICMP{'' if self.version == 4 else 'v6'} {self.type}/{self.code} {name}{where}"

    def as_evidence(self) -> dict[str, Any]:
        return {"icmp_type": self.type, "icmp_code": self.code, "icmp_from": self.sender, "icmp_version": self.version}


def state_from_icmp(icmp: IcmpError) -> State:
    """ICMP error → state: no route is `unreachable`, everything else (admin-prohibited, …) is `filtered`."""
    if icmp.version == 4:
        if icmp.type == ICMP_TIME_EXCEEDED:
            return State.UNREACHABLE
        if icmp.type == ICMP_DEST_UNREACH and icmp.code in _ICMP4_UNREACHABLE_CODES:
            return State.UNREACHABLE
        return State.FILTERED
    if icmp.type == ICMP6_DEST_UNREACH and icmp.code in _ICMP6_UNREACHABLE_CODES:
        return State.UNREACHABLE
    return State.FILTERED


# Windows reports WSA codes in OSError.errno; listing them keeps the one mapping portable.
_REFUSED = {errno.ECONNREFUSED, 10061}
_TIMED_OUT = {errno.ETIMEDOUT, 10060}
_NO_ROUTE = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN, errno.ENETDOWN, 10065, 10051, 10064, 10050}
_LOCAL_REFUSAL = {errno.EPERM, errno.EACCES, 10013}


def state_from_error(err: int | None, icmp: IcmpError | None = None) -> State:
    """The one mapping from a connect() outcome to a state.

    err None means connect succeeded. A timeout is silence: `filtered`. EHOSTUNREACH is `unreachable`
    unless the ICMP error behind it was an admin-prohibited reject, which is a firewall: `filtered`.
    EPERM/EACCES on connect is this machine's own firewall refusing to send.
    """
    if err is None:
        return State.OPEN
    if err in _REFUSED:
        return State.CLOSED
    if err in _TIMED_OUT:
        return State.FILTERED
    if err in _LOCAL_REFUSAL:
        return State.BLOCKED_LOCALLY
    if err in _NO_ROUTE:
        if icmp is not None and icmp.sender is not None:
            return state_from_icmp(icmp)
        return State.UNREACHABLE
    return State.ERROR


def parse_extended_err(data: bytes, *, version: int) -> IcmpError | None:
    """Decode a `struct sock_extended_err` (+ offender sockaddr) from an IP_RECVERR control message."""
    if len(data) < _EXTENDED_ERR.size:
        return None
    _err, origin, icmp_type, icmp_code, _pad, _info, _data = _EXTENDED_ERR.unpack_from(data)
    if origin not in (SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6):
        return None  # a locally raised error (SO_EE_ORIGIN_LOCAL, …) carries no ICMP type or code
    offender = data[_EXTENDED_ERR.size :]
    sender = None
    # SO_EE_OFFENDER: a sockaddr_in (family, port, 4-byte address) or sockaddr_in6 (address at offset 8).
    if len(offender) >= 8 and int.from_bytes(offender[:2], sys.byteorder) == socket.AF_INET:
        sender = socket.inet_ntop(socket.AF_INET, offender[4:8])
    elif len(offender) >= 24 and int.from_bytes(offender[:2], sys.byteorder) == socket.AF_INET6:
        sender = socket.inet_ntop(socket.AF_INET6, offender[8:24])
    return IcmpError(version, icmp_type, icmp_code, sender)


def _read_icmp_error(sock: socket.socket, version: int) -> IcmpError | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        _data, ancdata, _flags, _addr = sock.recvmsg(1, 512, socket.MSG_ERRQUEUE | socket.MSG_DONTWAIT)
    except OSError:
        return None
    for level, kind, payload in ancdata:
        if (level, kind) in ((socket.IPPROTO_IP, IP_RECVERR), (socket.IPPROTO_IPV6, IPV6_RECVERR)):
            return parse_extended_err(payload, version=version)
    return None


def _describe_error(err: int | None) -> str:
    return errno.errorcode.get(err, str(err)) if err is not None else "timeout"


async def _connect_once(address: str, port: int, timeout_s: float) -> tuple[State, dict[str, Any], bool]:
    """One connect attempt → (state, evidence, silent). `silent` marks a timeout, the only thing retried."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    version = 6 if family == socket.AF_INET6 else 4
    loop = asyncio.get_running_loop()
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        if sys.platform.startswith("linux"):
            level, option = (socket.IPPROTO_IPV6, IPV6_RECVERR) if version == 6 else (socket.IPPROTO_IP, IP_RECVERR)
            sock.setsockopt(level, option, 1)
        evidence: dict[str, Any] = {}
        try:
            await asyncio.wait_for(loop.sock_connect(sock, (address, port)), timeout_s)
        except TimeoutError:
            return State.FILTERED, {"reply": "none", "error": "timeout"}, True
        except OSError as exc:
            icmp = _read_icmp_error(sock, version) if exc.errno in _NO_ROUTE else None
            message = os.strerror(exc.errno) if exc.errno is not None else str(exc)
            evidence = {"reply": "error", "error": _describe_error(exc.errno), "message": message}
            if icmp is not None:
                evidence.update(icmp.as_evidence())
                # The kernel reports a failed ARP lookup as host-unreachable sent by our own address.
                with contextlib.suppress(OSError):
                    if icmp.sender is None or icmp.sender == sock.getsockname()[0]:
                        evidence["arp"] = "no answer"
            state = state_from_error(exc.errno, icmp)
            if state is State.ERROR:
                evidence["errno"] = exc.errno
            return state, evidence, False
        with contextlib.suppress(OSError):
            evidence["source_port"] = sock.getsockname()[1]
        return State.OPEN, {"reply": "connected", **evidence}, False
    finally:
        sock.close()


async def connect_probe(address: str, port: int, *, timeout_s: float, retries: int, timing: Timing | None = None) -> Observation:
    """Probe address:port with connect(); silence is retried up to `retries` more times.

    With `timing` (one per run, shared by its connect probes) each attempt waits the RTT-adapted timeout of the
    address's network instead of `timeout_s`, the retries follow the network's losses, and what this probe
    measured feeds the estimate."""
    started = time.perf_counter()
    attempts = 0
    while True:
        attempts += 1
        attempt_started = time.perf_counter()
        wait = timing.timeout(address) if timing else timeout_s
        state, evidence, silent = await _connect_once(address, port, wait)
        if not silent or attempts > (timing.retries(address) if timing else retries):
            break
    evidence = {"method": "connect", **evidence, "attempts": attempts}
    if silent and timing:
        evidence["timeout_ms"] = round(wait * 1000, 1)
        if _no_arp_answer(address):
            # Adapted waits are shorter than the kernel's ARP resolution (about 3 s): ask the neighbour table,
            # as the SYN engine does.
            state, evidence["arp"] = State.UNREACHABLE, "no answer"
    if state is State.OPEN or state is State.CLOSED:
        rtt = time.perf_counter() - attempt_started
        evidence["rtt_ms"] = round(rtt * 1000, 3)
        if timing:
            timing.observe(address, rtt, attempt=attempts)
    return Observation(state, address, evidence, elapsed_ms=round((time.perf_counter() - started) * 1000, 3))


def _no_arp_answer(address: str) -> bool:
    """True when the next hop towards IPv4 `address` never answered ARP (Linux's neighbour table)."""
    if ":" in address or not sys.platform.startswith("linux"):
        return False
    from netcheck.probes.syn import incomplete_neighbours, next_hop  # noqa: PLC0415 - syn imports this module

    try:
        stale = incomplete_neighbours(Path("/proc/net/arp").read_text())
        return bool(stale) and next_hop(Path("/proc/net/route").read_text(), address) in stale
    except OSError:
        return False
