"""The SYN engine's packet codec: what it sends is a valid SYN, and what it reads is matched to its probe."""

from __future__ import annotations

import os
import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scapy.layers.inet import ICMP, IP, TCP, IPerror, TCPerror

from netcheck.observe.probes.syn import _syn_template, build_syn, cookie, next_hop, parse_reply, tcp_flags

SRC, DST = socket.inet_aton("198.18.0.10"), socket.inet_aton("198.18.0.31")


def test_built_syn_is_valid_and_carries_the_cookie() -> None:
    seq = cookie(1234, DST, 445)
    packet = IP(build_syn(_syn_template(), SRC, DST, sport=45000, dport=445, seq=seq))
    tcp = packet[TCP]
    assert (packet.src, packet.dst, tcp.sport, tcp.dport, tcp.seq, str(tcp.flags)) == (
        "198.18.0.10",
        "198.18.0.31",
        45000,
        445,
        seq,
        "S",
    )
    claimed = tcp.chksum
    del tcp.chksum
    assert IP(bytes(packet))[TCP].chksum == claimed  # scapy recomputes the same checksum
    assert cookie(1234, DST, 445) != cookie(1234, DST, 25001) != cookie(99, DST, 25001)


def test_parse_answers() -> None:
    seq = cookie(7, DST, 445)
    synack = bytes(IP(src="198.18.0.31", dst="198.18.0.10", ttl=63) / TCP(sport=445, dport=45000, flags="SA", ack=seq + 1))
    assert parse_reply(synack, 45000)[:2] == (("198.18.0.31", 445), seq)  # type: ignore[index]
    reply = parse_reply(synack, 45000)[2]  # type: ignore[index]
    assert (reply.tcp_flags, reply.ttl, reply.sender) == ("SA", 63, "198.18.0.31")
    rst = bytes(IP(src="198.18.0.31", dst="198.18.0.10") / TCP(sport=25001, dport=45000, flags="RA", ack=5))
    assert parse_reply(rst, 45000)[2].tcp_flags == "RA"  # type: ignore[index]
    assert parse_reply(synack, 45001) is None  # not our source port: someone else's traffic
    probe = IP(src="198.18.0.10", dst="198.19.1.41") / TCP(sport=45000, dport=22, seq=99, flags="S")
    icmp = bytes(IP(src="198.18.0.1", dst="198.18.0.10") / ICMP(type=3, code=13) / IPerror(bytes(probe)[:28]))
    key, acked, answer = parse_reply(icmp, 45000)  # type: ignore[misc]
    assert (key, acked) == (("198.19.1.41", 22), 99)
    assert answer.icmp is not None and (answer.icmp.type, answer.icmp.code, answer.icmp.sender) == (3, 13, "198.18.0.1")
    assert parse_reply(b"\x45garbage", 45000) is None
    assert parse_reply(bytes(IP() / ICMP(type=8)), 45000) is None
    # A router's ICMP error quoting only the IP header and the first 8 bytes of TCP (RFC 792) still names the probe.
    quoted = IP(src="198.18.0.1", dst="198.18.0.10") / ICMP(type=3, code=1)
    quoted /= IPerror(src="198.18.0.10", dst="198.19.0.41") / TCPerror(sport=45000, dport=445, seq=7)
    key, acked, answer = parse_reply(bytes(quoted), 45000)  # type: ignore[misc]
    assert (key, acked, answer.icmp.code, answer.sender) == (("198.19.0.41", 445), 7, 1, "198.18.0.1")


def test_tcp_flags() -> None:
    assert tcp_flags(0x12) == "SA" and tcp_flags(0x14) == "RA" and tcp_flags(0x04) == "R"


ROUTES = (
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
    "eth0\t00000000\t010012C6\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"  # default via 198.18.0.1
    "eth0\t000012C6\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"  # 198.18.0.0/24 on link
)


def test_next_hop() -> None:
    assert next_hop(ROUTES, "198.18.0.99") == "198.18.0.99"
    assert next_hop(ROUTES, "198.19.0.41") == "198.18.0.1"


def test_syn_template_is_what_scapy_builds_with_the_per_probe_fields_zeroed() -> None:
    built = bytearray(bytes(IP(id=0, flags="DF", ttl=64) / TCP(flags="S", window=1024)))
    built[10:12] = bytes(2)  # IP checksum: the kernel fills it in
    built[12:20] = bytes(8)  # source and destination
    built[20:28] = bytes(8)  # ports and sequence
    built[36:38] = bytes(2)  # TCP checksum: build_syn computes it
    assert _syn_template() == bytes(built)


def _checksum_by_words(data: bytes) -> int:
    """RFC 1071 word by word: the reference for build_syn's precomputed checksum."""
    if len(data) % 2:
        data += b"\0"
    total = sum(int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _build_syn_by_bytes(template: bytes, source: bytes, destination: bytes, *, sport: int, dport: int, seq: int) -> bytes:
    """The straightforward way: patch the template, then checksum the pseudo header and the TCP header."""
    ip = bytearray(template[:20])
    ip[12:16], ip[16:20] = source, destination
    tcp = bytearray(template[20:40])
    tcp[0:8] = sport.to_bytes(2, "big") + dport.to_bytes(2, "big") + seq.to_bytes(4, "big")
    tcp[16:18] = bytes(2)
    pseudo = source + destination + bytes([0, socket.IPPROTO_TCP]) + len(tcp).to_bytes(2, "big")
    tcp[16:18] = _checksum_by_words(pseudo + bytes(tcp)).to_bytes(2, "big")
    return bytes(ip + tcp)


@given(
    st.binary(min_size=4, max_size=4),
    st.binary(min_size=4, max_size=4),
    st.integers(0, 65535),
    st.integers(0, 65535),
    st.integers(0, 2**32 - 1),
)
def test_build_syn_equals_patching_and_checksumming(source: bytes, destination: bytes, sport: int, dport: int, seq: int) -> None:
    """build_syn adds the probe's words to the template's precomputed share: the same bytes as the long way."""
    template = _syn_template()
    assert build_syn(template, source, destination, sport=sport, dport=dport, seq=seq) == _build_syn_by_bytes(
        template, source, destination, sport=sport, dport=dport, seq=seq
    )


class _Flood:
    """A raw socket on a busy machine: there is always another packet, none of them an answer to us."""

    def __init__(self) -> None:
        self.reads = 0
        self.packet = bytes(IP(src="198.18.0.99", dst="198.18.0.10") / TCP(sport=80, dport=12345, flags="A"))

    def recvmsg(self, _size: int, _ancillary: int) -> tuple[bytes, list[tuple[int, int, bytes]], int, None]:
        self.reads += 1
        return self.packet, [], 0, None


def test_reading_answers_stops_on_a_busy_machine() -> None:
    """The raw TCP socket sees every TCP packet the machine receives: a read must end even if they never stop."""
    from netcheck.observe.probes import syn  # noqa: PLC0415

    answers = syn._Answers.__new__(syn._Answers)
    flood = _Flood()
    answers.sockets = [flood, flood]  # type: ignore[list-item]
    assert list(answers.read(45000)) == []
    assert flood.reads == 2 * syn.READ_LIMIT


def test_arrival_is_the_stamp_s_age_on_the_monotonic_clock() -> None:
    import struct  # noqa: PLC0415
    import time  # noqa: PLC0415

    from netcheck.observe.probes.syn import SO_TIMESTAMPNS, _arrival  # noqa: PLC0415

    def stamp(wall: float) -> list[tuple[int, int, bytes]]:
        return [(socket.SOL_SOCKET, SO_TIMESTAMPNS, struct.pack("qq", int(wall), int((wall % 1) * 1e9)))]

    before = time.monotonic()
    assert before - 0.25 < _arrival(stamp(time.time() - 0.2)) < time.monotonic() - 0.15
    # The wall clock stepped back after the packet came (its stamp is "in the future"): it arrived just now,
    # never later than now and never seconds off.
    assert before <= _arrival(stamp(time.time() + 5)) <= time.monotonic()
    assert before <= _arrival([]) <= time.monotonic()  # no stamp: when it was read


def test_syn_evidence_keeps_the_source_port_in_its_place() -> None:
    from netcheck.observe.probes.syn import SynReply  # noqa: PLC0415
    from netcheck.observe.probes.syn_evidence import reply_evidence  # noqa: PLC0415
    from netcheck.report.json import tcp_reply_to_dict  # noqa: PLC0415

    data = tcp_reply_to_dict(reply_evidence(SynReply("RA", None, 64, "198.18.0.31", 0.4), source_port=45000))
    assert data["source_port"] == 45000 and "timeout_ms" not in data and data["tcp_flags"] == "RA"


@pytest.mark.skipif(os.geteuid() != 0, reason="raw sockets need root")
def test_the_socket_filter_keeps_only_answers_to_our_source_port() -> None:
    """On loopback: a SYN from our port and one from another port to a closed port; the filtered raw socket
    reads the reset to ours only (the unfiltered one sees both)."""
    import time  # noqa: PLC0415

    from netcheck.observe.probes import syn  # noqa: PLC0415

    with socket.socket() as probe:  # a port nothing listens on: its answer is a reset
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    ours, other = 45123, 45124
    answers = syn._Answers(ours)
    plain = syn._Answers()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW) as sender:
            sender.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
            lo = socket.inet_aton("127.0.0.1")
            for sport in (other, ours):
                sender.sendto(syn.build_syn(syn.SYN_TEMPLATE, lo, lo, sport=sport, dport=closed, seq=7), ("127.0.0.1", 0))
        time.sleep(0.2)
        seen = [sock.recv(256) for sock in answers.sockets[:1] for _ in range(2) if _readable(sock)]
        everything = [plain.sockets[0].recv(256) for _ in range(8) if _readable(plain.sockets[0])]
    finally:
        answers.close()
        plain.close()
    to = {int.from_bytes(packet[22:24], "big") for packet in seen}
    assert to == {ours}, to
    assert {other, ours} <= {int.from_bytes(packet[22:24], "big") for packet in everything}


def _readable(sock: socket.socket) -> bool:
    import select  # noqa: PLC0415

    return bool(select.select([sock], [], [], 0)[0])


def test_an_answer_after_a_silent_probe_was_reported_teaches_the_timing_only() -> None:
    """--retries 0: a probe given up on is reported silent during the run; an answer that comes later still
    tells the timing how long that network takes now (so later probes wait longer), and changes nothing else."""
    from netcheck.observe.probes.syn import SynReply, _Engine, _Probe  # noqa: PLC0415
    from netcheck.observe.probes.timing import Timing, policy_for  # noqa: PLC0415

    key, seq = ("198.18.0.31", 445), cookie(7, DST, 445)
    probe = _Probe(0, SRC, DST, b"", seq, sent=[10.0], done=True)  # reported silent already
    engine = _Engine({key: probe}, 41000, _syn_template(), Timing(policy_for(2.0, 0)), 1000)
    finished: list[object] = []
    engine._record(key, seq, SynReply("SA", None, 63, key[0], 0.0), 10.9, lambda *a, **k: finished.append(a))
    assert engine.timing.timeout(key[0]) == 2.0  # learnt from the late answer (0.9 s): the ceiling, not the 1 s initial wait
    assert engine.timing.networks["198.18.0"].samples == 1
    assert probe.reply is None and finished == []  # the link stays as reported
    engine._record(key, (seq + 5) & 0xFFFFFFFF, SynReply("SA", None, 63, key[0], 0.0), 11.0, lambda *a, **k: None)
    assert engine.timing.networks["198.18.0"].samples == 1  # not ours: ignored


@given(st.integers(0, 2**32 - 1), st.binary(min_size=4, max_size=4), st.integers(1, 65535))
def test_a_cookie_is_the_crc_of_destination_and_port(secret: int, destination: bytes, port: int) -> None:
    """cookie runs the CRC on from cookie_start (the engine computes that once a target): the same value as the
    CRC of the destination and the port together."""
    import zlib  # noqa: PLC0415

    from netcheck.observe.probes.syn import cookie_start  # noqa: PLC0415

    assert cookie(secret, destination, port) == zlib.crc32(destination + port.to_bytes(2, "big"), secret)
    assert cookie(secret, destination, port) == zlib.crc32(port.to_bytes(2, "big"), cookie_start(secret, destination))
