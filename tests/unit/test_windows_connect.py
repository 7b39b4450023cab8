"""The Windows branch of the connect probe, through a fake socket layer (this machine runs Linux).

The fake answers the way Microsoft documents Winsock to: with SIO_TCP_INITIAL_RTO set to no SYN retransmission a
reset fails the connect at once (ERROR_CONNECTION_REFUSED through asyncio's Proactor loop); with
TCP_FAIL_CONNECT_ON_ICMP_ERROR set, an ICMP error fails it with a host-unreachable error and TCP_ICMP_ERROR_INFO
returns an ICMP_ERROR_INFO; silence never completes. An older build refuses what it does not know.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import struct
from collections.abc import Callable
from typing import Any

import pytest

from netcheck.model.kinds import State
from netcheck.model.observations import Reply, TcpReply
from netcheck.observe.probes import tcp
from netcheck.observe.probes.tcp import (
    SIO_TCP_INITIAL_RTO,
    TCP_FAIL_CONNECT_ON_ICMP_ERROR,
    TCP_ICMP_ERROR_INFO,
    TCP_MAXRT,
    Winsock,
    connect_once_windows,
)
from netcheck.parse.windows import ICMP_ERROR_INFO_SIZE, WINDOWS_AF_INET, WINDOWS_AF_INET6, parse_icmp_error_info
from netcheck.report.json import tcp_reply_to_dict

WSAENOPROTOOPT = 10042
WSAEOPNOTSUPP = 10045


def build_icmp_error_info(version: int, icmp_type: int, code: int, sender: str) -> bytes:
    """The inverse of parse_icmp_error_info: what Windows' TCP_ICMP_ERROR_INFO holds (the fake sockets speak it)."""
    ip = ipaddress.ip_address(sender)
    if ip.version == 4:
        address = struct.pack("<HH4s", WINDOWS_AF_INET, 0, ip.packed).ljust(28, b"\0")
    else:
        address = struct.pack("<HHI16sI", WINDOWS_AF_INET6, 0, 0, ip.packed, 0)
    info = struct.pack("<28sIBB", address, 58 if version == 6 else 1, icmp_type, code)
    return info.ljust(ICMP_ERROR_INFO_SIZE, b"\0")


def winerror(exc_type: type[OSError], code: int, message: str) -> OSError:
    """An OSError as the Proactor loop raises it (errno EINVAL, the Win32 error in winerror)."""
    exc = exc_type(22, message)
    exc.winerror = code  # type: ignore[attr-defined]  # only Windows' OSError has it
    return exc


class FakeSocket:
    def __init__(self, build: int) -> None:
        self.build = build
        self.options: dict[tuple[int, int], int] = {}
        self.icmp_info = b""
        self.closed = False

    def setblocking(self, flag: bool) -> None:
        assert flag is False

    def setsockopt(self, level: int, option: int, value: int) -> None:
        if option == TCP_FAIL_CONNECT_ON_ICMP_ERROR and self.build < 19041:
            raise OSError(WSAENOPROTOOPT, "An unknown, invalid, or unsupported option or level was specified")
        self.options[(level, option)] = value

    def getsockopt(self, level: int, option: int, buflen: int) -> bytes:
        assert (level, option) == (socket.IPPROTO_TCP, TCP_ICMP_ERROR_INFO) and buflen >= 36
        if not self.options.get((socket.IPPROTO_TCP, TCP_FAIL_CONNECT_ON_ICMP_ERROR)):
            raise OSError(22, "Invalid argument")
        return self.icmp_info

    def getsockname(self) -> tuple[str, int]:
        return ("198.18.0.20", 50123)

    def close(self) -> None:
        self.closed = True


class FakeWinsock:
    """What the network does to the SYN: 'reset', 'admin-prohibited', 'host-unreachable', 'no-arp', 'silence',
    'accept', 'blocked-locally', or 'retried-reset' (an old build's SYN retransmissions outlast the probe)."""

    def __init__(self, network: str, build: int = 22631, ioctl_error: int | None = None, wsa: bool = False) -> None:
        self.network, self.build, self.ioctl_error, self.wsa = network, build, ioctl_error, wsa
        self.sockets: list[FakeSocket] = []
        self.ioctls: list[tuple[int, bytes]] = []

    def layer(self) -> Winsock:
        return Winsock(self.build, self.new_socket, self.ioctl, self.connect)

    def new_socket(self, family: int) -> FakeSocket:
        assert family == socket.AF_INET
        sock = FakeSocket(self.build)
        self.sockets.append(sock)
        return sock

    def ioctl(self, sock: Any, code: int, payload: bytes) -> None:
        if self.ioctl_error is not None:
            raise OSError(self.ioctl_error, "The attempted operation is not supported for the type of object referenced")
        self.ioctls.append((code, payload))

    def _icmp(self, sock: FakeSocket, code: int) -> None:
        if not sock.options.get((socket.IPPROTO_TCP, TCP_FAIL_CONNECT_ON_ICMP_ERROR)):
            # Without the option Windows ignores the ICMP error and keeps resending the SYN: silence.
            return
        sock.icmp_info = build_icmp_error_info(4, 3, code, "198.18.0.1")
        raise winerror(OSError, 1232, "The remote system is not reachable by the transport")

    async def connect(self, sock: FakeSocket, address: tuple[str, int]) -> None:
        assert address == ("198.18.0.31", 25001)
        if self.network == "reset" or (self.network == "retried-reset" and self.no_retransmission()):
            if self.wsa:
                raise ConnectionRefusedError(10061, "No connection could be made because the target machine actively refused it")
            raise winerror(ConnectionRefusedError, 1225, "The remote computer refused the network connection")
        if self.network == "admin-prohibited":
            self._icmp(sock, 13)
        if self.network == "host-unreachable":
            self._icmp(sock, 1)
        if self.network == "no-arp":
            raise winerror(OSError, 1232, "The remote system is not reachable by the transport")
        if self.network == "blocked-locally":
            raise PermissionError(10013, "An attempt was made to access a socket in a way forbidden by its access permissions")
        if self.network == "accept":
            return
        if self.network == "invalid":
            raise winerror(OSError, 10022, "An invalid argument was supplied")
        await asyncio.sleep(3600)  # silence (and a reset the old stack keeps retrying past our timeout)

    def no_retransmission(self) -> bool:
        return any(
            code == SIO_TCP_INITIAL_RTO and struct.unpack("<HBx", payload)[1] == tcp.TCP_INITIAL_RTO_NO_SYN_RETRANSMISSIONS
            for code, payload in self.ioctls
        )


def probe(fake: FakeWinsock, timeout_s: float = 0.2) -> tuple[State, TcpReply, bool]:
    return asyncio.run(connect_once_windows("198.18.0.31", 25001, timeout_s, fake.layer()))


def test_a_reset_is_closed_at_once_without_syn_retransmission() -> None:
    fake = FakeWinsock("reset")
    state, evidence, silent = probe(fake, timeout_s=5)
    assert (state, silent) == (State.CLOSED, False)
    assert evidence.error == "ERROR_CONNECTION_REFUSED" and evidence.os_limits == ()
    assert fake.ioctls == [(SIO_TCP_INITIAL_RTO, struct.pack("<HBx", 0xFFFF, 0xFE))]
    assert fake.sockets[0].options[(socket.IPPROTO_TCP, TCP_MAXRT)] == 5
    assert fake.sockets[0].closed


def test_a_reset_through_a_selector_loop_is_closed_too() -> None:
    state, evidence, _silent = probe(FakeWinsock("reset", wsa=True))
    assert state is State.CLOSED and evidence.error == "WSAECONNREFUSED"


def test_admin_prohibited_is_filtered_with_the_icmp_evidence() -> None:
    state, evidence, silent = probe(FakeWinsock("admin-prohibited"))
    assert (state, silent) == (State.FILTERED, False)
    assert evidence.icmp is not None and (evidence.icmp.type, evidence.icmp.code, evidence.icmp.sender) == (3, 13, "198.18.0.1")


def test_host_unreachable_is_unreachable_with_the_icmp_evidence() -> None:
    state, evidence, silent = probe(FakeWinsock("host-unreachable"))
    assert (state, silent) == (State.UNREACHABLE, False)
    assert evidence.icmp is not None
    assert (evidence.icmp.code, evidence.icmp.sender, evidence.error) == (1, "198.18.0.1", "ERROR_HOST_UNREACHABLE")


def test_no_arp_answer_is_unreachable_without_icmp() -> None:
    state, evidence, _silent = probe(FakeWinsock("no-arp"))
    assert state is State.UNREACHABLE and evidence.no_arp_answer and evidence.icmp is None


def test_silence_is_filtered_and_retried() -> None:
    state, evidence, silent = probe(FakeWinsock("silence"), timeout_s=0.05)
    assert (state, silent, evidence.reply) == (State.FILTERED, True, Reply.NONE)


def test_open_and_blocked_locally() -> None:
    state, evidence, _silent = probe(FakeWinsock("accept"))
    assert state is State.OPEN and evidence.source_port == 50123
    state, evidence, _silent = probe(FakeWinsock("blocked-locally"))
    assert state is State.BLOCKED_LOCALLY and evidence.error == "WSAEACCES"


def test_windows_server_2019_says_it_cannot_report_icmp_errors() -> None:
    # Build 17763 has no-SYN-retransmission but not TCP_FAIL_CONNECT_ON_ICMP_ERROR: the reject is silence.
    fake = FakeWinsock("admin-prohibited", build=17763)
    state, evidence, silent = probe(fake, timeout_s=0.05)
    assert (state, silent) == (State.FILTERED, True)
    assert any("older than 19041" in note for note in evidence.os_limits)
    assert (socket.IPPROTO_TCP, TCP_FAIL_CONNECT_ON_ICMP_ERROR) not in fake.sockets[0].options
    reset_state, _evidence, _silent = probe(FakeWinsock("reset", build=17763))
    assert reset_state is State.CLOSED


def test_an_old_build_gets_one_retransmission_and_says_so() -> None:
    fake = FakeWinsock("retried-reset", build=15063)
    state, evidence, _silent = probe(fake, timeout_s=0.05)
    assert fake.ioctls == [(SIO_TCP_INITIAL_RTO, struct.pack("<HBx", 0xFFFF, 1))]
    assert state is State.FILTERED  # the retransmission outlasted this (short) timeout ...
    assert any("older than 16299" in note for note in evidence.os_limits)  # ... and the evidence says why


def test_a_refused_ioctl_is_named_in_the_evidence() -> None:
    state, evidence, _silent = probe(FakeWinsock("retried-reset", ioctl_error=WSAEOPNOTSUPP), timeout_s=0.05)
    assert state is State.FILTERED
    assert any(note.startswith("SIO_TCP_INITIAL_RTO was refused") for note in evidence.os_limits)


def test_an_error_without_a_state_keeps_its_code_and_the_json_report_says_what_windows_could_not_do() -> None:
    state, reply, silent = probe(FakeWinsock("invalid"))
    assert (state, silent, reply.winerror, reply.error) == (State.ERROR, False, 10022, "10022")
    assert tcp_reply_to_dict(reply)["winerror"] == 10022
    _state, old, _silent = probe(FakeWinsock("admin-prohibited", build=17763), timeout_s=0.05)
    data = tcp_reply_to_dict(old)
    assert data["os_limits"] == list(old.os_limits) and any("older than 19041" in note for note in data["os_limits"])
    assert "os_limits" not in tcp_reply_to_dict(probe(FakeWinsock("reset"))[1])


def test_icmp_error_info_round_trip() -> None:
    assert parse_icmp_error_info(build_icmp_error_info(4, 3, 10, "198.18.0.254")) == (4, 3, 10, "198.18.0.254")
    assert parse_icmp_error_info(build_icmp_error_info(6, 1, 3, "2001:db8::1")) == (6, 1, 3, "2001:db8::1")
    assert parse_icmp_error_info(b"") is None  # optlen 0: no ICMP error since connect


def test_connect_probe_takes_the_windows_branch_on_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeWinsock("reset")
    make: Callable[[], Winsock] = fake.layer
    monkeypatch.setattr(tcp, "winsock", make)
    monkeypatch.setattr(tcp.sys, "platform", "win32")
    observation = asyncio.run(tcp.connect_probe("198.18.0.31", 25001, timeout_s=5, retries=2))
    assert observation.state is State.CLOSED
    assert observation.reply.attempts == 1 and observation.reply.method == "connect"
