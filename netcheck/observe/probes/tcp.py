"""TCP connect probe, and the one place where OS errors and ICMP errors become states.

The connect probe works without privileges. On Linux it also asks the kernel for the ICMP error behind a
failed connect (IP_RECVERR / MSG_ERRQUEUE), which is what tells a firewall's admin-prohibited reject
(filtered) from a router's host-unreachable (unreachable): both surface as plain EHOSTUNREACH otherwise.

Windows answers a reset to its SYN by sending the SYN again (about 2 s of retries before connect fails), so a
plain connect with a short timeout sees a closed port as silence (nmap/nmap#2113), and it ignores ICMP errors
during connect unless asked. Its branch therefore sets, per socket: SIO_TCP_INITIAL_RTO with no SYN
retransmission (a reset fails the connect at once; build 16299 and later, one retransmission before),
TCP_MAXRT (the OS gives up with us), and TCP_FAIL_CONNECT_ON_ICMP_ERROR, after which TCP_ICMP_ERROR_INFO holds
the ICMP type, code and sender (build 19041 and later). What an older Windows cannot do is said in the evidence.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import math
import os
import socket
import struct
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from netcheck.model.kinds import State
from netcheck.model.observations import IcmpError, Observation, Reply, TcpReply, state_from_icmp
from netcheck.model.record import record
from netcheck.observe.probes.timing import Timing
from netcheck.parse.windows import parse_icmp_error_info

__all__ = ["IcmpError", "connect_probe", "parse_extended_err", "state_from_error", "state_from_icmp"]

# Linux <linux/in.h>, <linux/in6.h>, <linux/errqueue.h>; Python's socket module does not export them.
IP_RECVERR = 11
IPV6_RECVERR = 25
SO_EE_ORIGIN_ICMP = 2
SO_EE_ORIGIN_ICMP6 = 3
_EXTENDED_ERR = struct.Struct("=IBBBBII")

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


async def _connect_once(address: str, port: int, timeout_s: float) -> tuple[State, TcpReply, bool]:
    """One connect attempt → (state, evidence, silent). `silent` marks a timeout, the only thing retried."""
    if sys.platform == "win32":
        return await connect_once_windows(address, port, timeout_s, winsock())
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    version = 6 if family == socket.AF_INET6 else 4
    loop = asyncio.get_running_loop()
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        if sys.platform.startswith("linux"):
            level, option = (socket.IPPROTO_IPV6, IPV6_RECVERR) if version == 6 else (socket.IPPROTO_IP, IP_RECVERR)
            sock.setsockopt(level, option, 1)
        try:
            await asyncio.wait_for(loop.sock_connect(sock, (address, port)), timeout_s)
        except TimeoutError:
            return State.FILTERED, TcpReply("connect", Reply.NONE, error="timeout"), True
        except OSError as exc:
            icmp = _read_icmp_error(sock, version) if exc.errno in _NO_ROUTE else None
            no_arp = False
            if icmp is not None:
                # The kernel reports a failed ARP lookup as host-unreachable sent by our own address.
                with contextlib.suppress(OSError):
                    no_arp = icmp.sender is None or icmp.sender == sock.getsockname()[0]
            state = state_from_error(exc.errno, icmp)
            reply = TcpReply(
                "connect",
                Reply.ERROR,
                icmp=icmp,
                no_arp_answer=no_arp,
                error=_describe_error(exc.errno),
                message=os.strerror(exc.errno) if exc.errno is not None else str(exc),
                errno=exc.errno if state is State.ERROR else None,
            )
            return state, reply, False
        source_port = None
        with contextlib.suppress(OSError):
            source_port = sock.getsockname()[1]
        return State.OPEN, TcpReply("connect", Reply.CONNECTED, source_port=source_port), False
    finally:
        sock.close()


# ---- Windows ----------------------------------------------------------------------------------------------

# <ws2ipdef.h>, <mstcpip.h>: not exported by Python's socket module.
TCP_MAXRT = 5
TCP_FAIL_CONNECT_ON_ICMP_ERROR = 18
TCP_ICMP_ERROR_INFO = 19
SIO_TCP_INITIAL_RTO = 0x98000011
TCP_INITIAL_RTO_UNSPECIFIED_RTT = 0xFFFF
TCP_INITIAL_RTO_NO_SYN_RETRANSMISSIONS = 0xFE
# TCP_INITIAL_RTO_PARAMETERS {USHORT Rtt; UCHAR MaxSynRetransmissions;} with its padding byte.
_INITIAL_RTO = struct.Struct("<HBx")
# Go's net package: no-SYN-retransmission makes a refused connect fail at once from build 16299; before it the
# minimum is one retransmission. TCP_FAIL_CONNECT_ON_ICMP_ERROR / TCP_ICMP_ERROR_INFO: build 19041 (Microsoft).
WIN_BUILD_NO_SYN_RETRANSMISSIONS = 16299
WIN_BUILD_ICMP_ERRORS = 19041

# asyncio's Proactor loop reports ConnectEx failures as Win32 errors (OSError.winerror, errno then EINVAL), a
# selector loop as WSA errors; both are listed.
WIN_ERRORS = {
    1225: "ERROR_CONNECTION_REFUSED",
    10061: "WSAECONNREFUSED",
    121: "ERROR_SEM_TIMEOUT",
    10060: "WSAETIMEDOUT",
    1232: "ERROR_HOST_UNREACHABLE",
    10065: "WSAEHOSTUNREACH",
    1231: "ERROR_NETWORK_UNREACHABLE",
    10051: "WSAENETUNREACH",
    10050: "WSAENETDOWN",
    5: "ERROR_ACCESS_DENIED",
    10013: "WSAEACCES",
}
_WIN_REFUSED = {1225, 10061}
_WIN_TIMED_OUT = {121, 10060}
_WIN_HOST_UNREACHABLE = {1232, 10065}
_WIN_UNREACHABLE = {*_WIN_HOST_UNREACHABLE, 1231, 10051, 10050}
_WIN_LOCAL_REFUSAL = {5, 10013}


@record
class Winsock:
    """The Windows socket calls the probe makes, swappable for a fake socket layer in tests."""

    build: int
    new_socket: Callable[[int], Any]
    ioctl: Callable[[Any, int, bytes], None]
    connect: Callable[[Any, tuple[str, int]], Awaitable[None]]


def _wsa_ioctl(sock: Any, code: int, payload: bytes) -> None:
    """WSAIoctl through ctypes: socket.ioctl knows only three control codes."""
    import ctypes  # noqa: PLC0415 - Windows only

    ws2 = getattr(ctypes, "WinDLL")("ws2_32")  # noqa: B009 - ctypes.WinDLL exists only on Windows
    returned = ctypes.c_ulong(0)
    buffer = ctypes.create_string_buffer(payload, len(payload))
    result = ws2.WSAIoctl(
        ctypes.c_size_t(sock.fileno()), ctypes.c_ulong(code), buffer, ctypes.c_ulong(len(payload)),
        None, ctypes.c_ulong(0), ctypes.byref(returned), None, None,
    )  # fmt: skip
    if result != 0:
        raise OSError(ws2.WSAGetLastError(), f"WSAIoctl 0x{code:08X} failed")


def winsock() -> Winsock:
    """The real layer (Windows only)."""
    build = getattr(sys.getwindowsversion(), "build", 0) if hasattr(sys, "getwindowsversion") else 0

    async def connect(sock: Any, address: tuple[str, int]) -> None:
        await asyncio.get_running_loop().sock_connect(sock, address)

    return Winsock(build, lambda family: socket.socket(family, socket.SOCK_STREAM), _wsa_ioctl, connect)


def windows_error(exc: OSError) -> int | None:
    """The Windows error code of a failed connect: winerror (Proactor loop) or the WSA errno."""
    winerror = getattr(exc, "winerror", None)
    return winerror if isinstance(winerror, int) else exc.errno


def state_from_windows_error(code: int | None, icmp: IcmpError | None) -> State:
    """A Windows connect outcome → state, like state_from_error for POSIX errnos."""
    if code in _WIN_REFUSED:
        return State.CLOSED
    if code in _WIN_TIMED_OUT:
        return State.FILTERED
    if code in _WIN_LOCAL_REFUSAL:
        return State.BLOCKED_LOCALLY
    if code in _WIN_UNREACHABLE:
        return state_from_icmp(icmp) if icmp is not None and icmp.sender is not None else State.UNREACHABLE
    return state_from_error(code)


def _windows_options(sock: Any, layer: Winsock, timeout_s: float) -> tuple[bool, list[str]]:
    """Set the per-socket options; (ICMP errors enabled, what this Windows could not do)."""
    limits: list[str] = []
    build = layer.build
    no_retransmission = build >= WIN_BUILD_NO_SYN_RETRANSMISSIONS
    retransmissions = TCP_INITIAL_RTO_NO_SYN_RETRANSMISSIONS if no_retransmission else 1
    try:
        layer.ioctl(sock, SIO_TCP_INITIAL_RTO, _INITIAL_RTO.pack(TCP_INITIAL_RTO_UNSPECIFIED_RTT, retransmissions))
        if not no_retransmission:
            limits.append(
                f"Windows build {build} is older than {WIN_BUILD_NO_SYN_RETRANSMISSIONS}: a SYN answered by a reset is "
                "sent once more before connect fails, so a closed port shows only after one retransmission timeout"
            )
    except OSError as exc:
        limits.append(
            f"SIO_TCP_INITIAL_RTO was refused ({exc}): Windows resends a SYN answered by a reset for about 2 s, so "
            f"a closed port can look filtered within {timeout_s:g} s"
        )
    with contextlib.suppress(OSError):  # a bound only: our own timeout governs
        sock.setsockopt(socket.IPPROTO_TCP, TCP_MAXRT, max(1, math.ceil(timeout_s)))
    if build < WIN_BUILD_ICMP_ERRORS:
        limits.append(
            f"Windows build {build} is older than {WIN_BUILD_ICMP_ERRORS} (Windows 10 2004): it does not report ICMP "
            "errors during connect, so a firewall's reject and an unreachable host both look like silence (filtered)"
        )
        return False, limits
    try:
        sock.setsockopt(socket.IPPROTO_TCP, TCP_FAIL_CONNECT_ON_ICMP_ERROR, 1)
    except OSError as exc:
        limits.append(f"TCP_FAIL_CONNECT_ON_ICMP_ERROR was refused ({exc}): ICMP errors look like silence (filtered)")
        return False, limits
    return True, limits


def _read_icmp_error_info(sock: Any) -> IcmpError | None:
    try:
        info = parse_icmp_error_info(sock.getsockopt(socket.IPPROTO_TCP, TCP_ICMP_ERROR_INFO, 64))
    except OSError:
        return None
    if info is None:
        return None
    version, icmp_type, code, sender = info
    return IcmpError(version, icmp_type, code, sender)


async def connect_once_windows(address: str, port: int, timeout_s: float, layer: Winsock) -> tuple[State, TcpReply, bool]:
    """_connect_once on Windows: a reset is `closed` at once, an ICMP error says what it was, silence is retried."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = layer.new_socket(family)
    try:
        sock.setblocking(False)
        icmp_errors, limits = _windows_options(sock, layer, timeout_s)
        os_limits = tuple(limits)
        try:
            await asyncio.wait_for(layer.connect(sock, (address, port)), timeout_s)
        except TimeoutError:
            return State.FILTERED, TcpReply("connect", Reply.NONE, error="timeout", os_limits=os_limits), True
        except OSError as exc:
            code = windows_error(exc)
            icmp = _read_icmp_error_info(sock) if icmp_errors and code in _WIN_UNREACHABLE else None
            state = state_from_windows_error(code, icmp)
            reply = TcpReply(
                "connect",
                Reply.ERROR,
                icmp=icmp,
                # No ICMP error behind a host-unreachable: Windows itself gave up on the neighbour (ARP) lookup.
                no_arp_answer=icmp is None and code in _WIN_HOST_UNREACHABLE,
                error=WIN_ERRORS.get(code, str(code)) if code is not None else "error",
                message=exc.strerror or str(exc),
                winerror=code if state is State.ERROR else None,
                os_limits=os_limits,
            )
            # The OS's own connect timeout (TCP_MAXRT) is silence too, and retried like ours.
            return state, reply, code in _WIN_TIMED_OUT
        source_port = None
        with contextlib.suppress(OSError):
            source_port = sock.getsockname()[1]
        return State.OPEN, TcpReply("connect", Reply.CONNECTED, source_port=source_port, os_limits=os_limits), False
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
        state, reply, silent = await _connect_once(address, port, wait)
        if not silent or attempts > (timing.retries(address) if timing else retries):
            break
    reply = replace(reply, attempts=attempts)
    if silent and timing:
        reply = replace(reply, timeout_ms=round(wait * 1000, 1))
        if _no_arp_answer(address):
            # Adapted waits are shorter than the kernel's ARP resolution (about 3 s): ask the neighbour table,
            # as the SYN engine does.
            state, reply = State.UNREACHABLE, replace(reply, no_arp_answer=True)
    if state is State.OPEN or state is State.CLOSED:
        rtt = time.perf_counter() - attempt_started
        reply = replace(reply, rtt_ms=round(rtt * 1000, 3))
        if timing:
            timing.observe(address, rtt, attempt=attempts)
    return Observation(state, address, reply, elapsed_ms=round((time.perf_counter() - started) * 1000, 3))


def _no_arp_answer(address: str) -> bool:
    """True when the next hop towards IPv4 `address` never answered ARP (Linux's neighbour table)."""
    if ":" in address or not sys.platform.startswith("linux"):
        return False
    from netcheck.observe.probes.syn import incomplete_neighbours, next_hop  # noqa: PLC0415 - only connect probes that met silence need it

    try:
        stale = incomplete_neighbours(Path("/proc/net/arp").read_text())
        return bool(stale) and next_hop(Path("/proc/net/route").read_text(), address) in stale
    except OSError:
        return False
