"""Probe codecs and state mappings (pure), plus the connect probe against loopback."""

from __future__ import annotations

import asyncio
import errno
import socket
import struct

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from netcheck.model.kinds import State
from netcheck.observe.probes.syn import incomplete_neighbours
from netcheck.observe.probes.syn_evidence import SynReply, reply_evidence, state_from_syn_reply
from netcheck.observe.probes.tcp import IcmpError, connect_probe, parse_extended_err, state_from_error, state_from_icmp


@pytest.mark.parametrize(
    ("err", "icmp", "state"),
    [
        (None, None, State.OPEN),
        (errno.ECONNREFUSED, None, State.CLOSED),
        (10061, None, State.CLOSED),  # WSAECONNREFUSED
        (errno.ETIMEDOUT, None, State.FILTERED),
        (errno.EHOSTUNREACH, None, State.UNREACHABLE),
        (errno.ENETUNREACH, None, State.UNREACHABLE),
        (errno.EHOSTUNREACH, IcmpError(4, 3, 13, "198.18.0.1"), State.FILTERED),
        (errno.EHOSTUNREACH, IcmpError(4, 3, 10, "198.18.0.1"), State.FILTERED),
        (errno.EHOSTUNREACH, IcmpError(4, 3, 1, "198.18.0.1"), State.UNREACHABLE),
        (errno.EPERM, None, State.BLOCKED_LOCALLY),
        (errno.EACCES, None, State.BLOCKED_LOCALLY),
        (errno.EINVAL, None, State.ERROR),
    ],
)
def test_state_from_error(err: int | None, icmp: IcmpError | None, state: State) -> None:
    assert state_from_error(err, icmp) is state


@pytest.mark.parametrize(
    ("icmp", "state"),
    [
        (IcmpError(4, 3, 0, "r"), State.UNREACHABLE),
        (IcmpError(4, 3, 1, "r"), State.UNREACHABLE),
        (IcmpError(4, 3, 9, "r"), State.FILTERED),
        (IcmpError(4, 3, 10, "r"), State.FILTERED),
        (IcmpError(4, 3, 13, "r"), State.FILTERED),
        (IcmpError(4, 3, 3, "r"), State.FILTERED),
        (IcmpError(4, 11, 0, "r"), State.UNREACHABLE),
        (IcmpError(6, 1, 0, "r"), State.UNREACHABLE),
        (IcmpError(6, 1, 1, "r"), State.FILTERED),  # ICMPv6 administratively prohibited
    ],
)
def test_state_from_icmp(icmp: IcmpError, state: State) -> None:
    assert state_from_icmp(icmp) is state


def _extended_err(origin: int, icmp_type: int, icmp_code: int, offender: str) -> bytes:
    head = struct.pack("=IBBBBII", errno.EHOSTUNREACH, origin, icmp_type, icmp_code, 0, 0, 0)
    sockaddr = socket.AF_INET.to_bytes(2, "little") + b"\x00\x00" + socket.inet_aton(offender) + b"\x00" * 8
    return head + sockaddr


def test_parse_extended_err_reads_type_code_and_offender() -> None:
    # Captured shape of the IP_RECVERR control message the lab's router produced for a 'prohibit' route.
    assert parse_extended_err(_extended_err(2, 3, 13, "198.18.0.1"), version=4) == IcmpError(4, 3, 13, "198.18.0.1")


def test_parse_extended_err_ignores_local_errors_and_short_data() -> None:
    assert parse_extended_err(_extended_err(1, 0, 0, "0.0.0.0"), version=4) is None
    assert parse_extended_err(b"\x00" * 8, version=4) is None


@given(st.binary(max_size=64))
@example(b"\x00" * 4 + b"\x02\x03\x0d" + b"\x00" * 9)  # an ICMP origin, no offender: the checks below run
def test_parse_extended_err_never_raises(data: bytes) -> None:
    """Any bytes decode without raising; an error is returned only for an ICMP origin, with the bytes' type and code."""
    result = parse_extended_err(data, version=4)
    if result is None:
        return
    assert len(data) >= 16 and data[4] in (2, 3)  # SO_EE_ORIGIN_ICMP / ICMP6
    assert (result.version, result.type, result.code) == (4, data[5], data[6])


@pytest.mark.parametrize(
    ("reply", "arp", "state", "name"),
    [
        (SynReply("SA", None, 64, "a", 0.1), False, State.OPEN, "syn-ack"),
        (SynReply("RA", None, 64, "a", 0.1), False, State.CLOSED, "rst"),
        (SynReply("R", None, 64, "a", 0.1), False, State.CLOSED, "rst"),
        (SynReply(None, IcmpError(4, 3, 13, "a"), 64, "a", 0.1), False, State.FILTERED, "icmp"),
        (SynReply(None, IcmpError(4, 3, 1, "r"), 63, "r", 0.1), False, State.UNREACHABLE, "icmp"),
        (SynReply("A", None, 64, "a", 0.1), False, State.FILTERED, "tcp"),
        (None, False, State.FILTERED, "none"),
        (None, True, State.UNREACHABLE, "none"),
    ],
)
def test_syn_replies(reply: SynReply | None, arp: bool, state: State, name: str) -> None:
    assert state_from_syn_reply(reply, no_arp_answer=arp) is state
    assert reply_evidence(reply).reply == name


PROC_NET_ARP = """IP address       HW type     Flags       HW address            Mask     Device
198.18.0.1       0x1         0x2         fe:40:06:c6:e4:51     *        eth0
198.18.0.99      0x1         0x0         00:00:00:00:00:00     *        eth0
198.18.0.31      0x1         0x6         fe:40:06:c6:e4:52     *        eth0
"""


def test_incomplete_neighbours() -> None:
    assert incomplete_neighbours(PROC_NET_ARP) == {"198.18.0.99"}


def test_connect_probe_on_loopback_open_and_closed() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        opened = asyncio.run(connect_probe("127.0.0.1", port, timeout_s=1, retries=0))
    closed = asyncio.run(connect_probe("127.0.0.1", port, timeout_s=1, retries=2))
    assert opened.state is State.OPEN and opened.reply.reply == "connected"
    assert closed.state is State.CLOSED and closed.reply.error == "ECONNREFUSED"
    assert closed.reply.attempts == 1  # a reset is an answer: never retried
