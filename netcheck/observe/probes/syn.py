"""Raw SYN probes: what the far end sent back to a bare SYN, with TTL and RTT, for one or 40,000 targets.

A SYN probe sees the packet itself: SYN-ACK (open), RST (closed), an ICMP error with its type, code and
sender, or silence. It needs raw sockets (root or CAP_NET_RAW); `syn_available()` says whether we have them.

The engine: one fixed SYN header (what scapy builds; a test checks); each target's copy is patched (addresses,
ports, sequence cookie, checksum) and sent through one IP_HDRINCL raw socket, so the kernel still routes and
ARPs. The same thread reads raw TCP and ICMP between bursts of sends (with the kernel's arrival stamps, so an
RTT is not the read's delay) and matches every answer to its probe by (address, port) and the sequence
cookie, which also says which attempt it answers. Timing adapts as nmap's does
(netcheck.observe.probes.timing): each attempt waits its network's srtt + 4·rttvar (at most --timeout); silent probes
are re-sent with that wait; a congestion window bounds what is in flight and halves when answers come only to
retries; --rate caps the send rate. Memory is one small record per probe, no thread or socket per target.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import heapq
import math
import random
import select
import socket
import struct
import sys
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from netcheck.model.observations import IcmpError
from netcheck.observe.probes.syn_evidence import Outcome, SynReply, deliver
from netcheck.observe.probes.timing import Congestion, Timing, policy_for

if TYPE_CHECKING:
    from netcheck.model.observations import Observation

SOURCE_PORTS = (40000, 60999)
"""Where the probe source port is drawn from: inside Linux's ephemeral range, so the far side's
firewall treats it like the product's own connections."""

DEFAULT_RATE_PPS = 100000
"""A ceiling: the congestion window decides how fast probes actually go."""
WINDOW_LOW, WINDOW_HIGH = 256, 20000
"""Probes in flight at least (even on a lossy link) and at most."""
ATTEMPT_STRIDE = 1 << 24
"""Attempt n of a probe carries sequence cookie + (n - 1)·stride, so an answer says which attempt it answers
(an answer to a retry means a loss; its RTT is then measured from the right send)."""
MAX_EXTRA_RETRIES = 3
"""Retries at most that bare ACKs may add to a probe's budget: the far end is alive, but never forever."""
RECEIVE_BUFFER = 64 * 1024 * 1024  # answers to 40,000 probes arrive in bursts; the kernel must not drop them


def incomplete_neighbours(proc_net_arp: str) -> set[str]:
    """Addresses whose ARP entry never completed (flags 0x0 in /proc/net/arp): nobody answered ARP."""
    stale = set()
    for line in proc_net_arp.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 3 and int(fields[2], 16) & 0x2 == 0:
            stale.add(fields[0])
    return stale


def syn_available() -> bool:
    """True when this process may open the raw sockets the engine sends and reads with (Linux, root or
    CAP_NET_RAW). Tried with the engine's own kind of socket: a packet socket (AF_PACKET) needs the same
    privilege, but closing one waits for the kernel's RCU grace period, 5-15 ms, and a run asks three times."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW).close()
    except (PermissionError, OSError, AttributeError):
        return False
    return True


SYN_TEMPLATE = bytes.fromhex("4500002800004000400600000000000000000000" + "00000000000000000000000050020400" + "00000000")
"""IPv4 (DF, TTL 64) + TCP (SYN, window 1024) with zero addresses, ports, sequence and checksums: what scapy's
IP(id=0, flags="DF", ttl=64) / TCP(flags="S", window=1024) builds (a unit test compares), without importing
scapy (most of a second) on every SYN run. build_syn patches the per-probe fields in."""


def _syn_template() -> bytes:
    return SYN_TEMPLATE


_SYN_LAYOUT = struct.Struct("!12s4s4sHHIIHHHH")
"""IPv4 header up to the addresses, the addresses, then TCP: ports, seq, ack, offset+flags, window, checksum, urgent."""


@functools.cache
def _template_parts(template: bytes) -> tuple[bytes, int, int, int, int, int]:
    """The template's fixed fields, and their share of the TCP checksum (with the pseudo header's protocol and
    length), computed once per template."""
    ip_prefix, _src, _dst, _sport, _dport, _seq, ack, offset_flags, window, _sum, urgent = _SYN_LAYOUT.unpack(template[:40])
    fixed = socket.IPPROTO_TCP + 20 + (ack >> 16) + (ack & 0xFFFF) + offset_flags + window + urgent
    return ip_prefix, ack, offset_flags, window, urgent, fixed


def build_syn(template: bytes, source: bytes, destination: bytes, *, sport: int, dport: int, seq: int) -> bytes:
    """The template with this probe's addresses, ports and sequence number, and a correct TCP checksum, built
    in one struct call: the checksum is the template's precomputed share plus this probe's words (RFC 1071
    sums commute). (The kernel fills the IP id and checksum of an IP_HDRINCL packet.)"""
    return _syn_packet(_template_parts(template), source, destination, _address_sum(source, destination), sport, dport, seq)


def _address_sum(source: bytes, destination: bytes) -> int:
    """The addresses' share of the TCP checksum (a target's probes share it)."""
    src, dst = int.from_bytes(source, "big"), int.from_bytes(destination, "big")
    return (src >> 16) + (src & 0xFFFF) + (dst >> 16) + (dst & 0xFFFF)


def _syn_packet(  # noqa: PLR0917 - the engine's setup calls it once a probe: no tuple built to pass the target
    parts: tuple[bytes, int, int, int, int, int],
    source: bytes,
    destination: bytes,
    address_sum: int,
    sport: int,
    dport: int,
    seq: int,
) -> bytes:
    """build_syn with the template's parts and the target's _address_sum computed already."""
    ip_prefix, ack, offset_flags, window, urgent, fixed = parts
    total = fixed + address_sum + sport + dport + (seq >> 16) + (seq & 0xFFFF)
    total = (total & 0xFFFF) + (total >> 16)
    total = (total & 0xFFFF) + (total >> 16)
    checksum = ~total & 0xFFFF
    return _SYN_LAYOUT.pack(ip_prefix, source, destination, sport, dport, seq, ack, offset_flags, window, checksum, urgent)


def cookie(secret: int, destination: bytes, dport: int) -> int:
    """The probe's sequence number: an answer must acknowledge cookie + 1 to count as ours. The CRC runs on
    from the destination's (cookie_start) to the port's two bytes: a target's probes share the start."""
    return zlib.crc32(dport.to_bytes(2, "big"), cookie_start(secret, destination))


def cookie_start(secret: int, destination: bytes) -> int:
    """The part of a cookie its destination makes: computed once a target by the engine."""
    return zlib.crc32(destination, secret)


_FLAG_NAMES = "FSRPAUEC"
_FLAGS = tuple("".join(name for bit, name in enumerate(_FLAG_NAMES) if value & (1 << bit)) for value in range(256))
"""Every flags byte spelled out once: the receiver looks each answer's up instead of building it."""


def tcp_flags(value: int) -> str:
    """TCP flag bits as scapy writes them ('SA', 'RA', ...)."""
    return _FLAGS[value & 0xFF]


def parse_reply(packet: bytes, sport: int) -> tuple[tuple[str, int], int | None, SynReply] | None:
    """An IPv4 packet read from a raw socket → ((probed address, probed port), acknowledged seq, reply),
    or None when it is not an answer to one of our probes (our source port `sport`)."""
    if len(packet) < 20 or packet[0] >> 4 != 4:
        return None
    ihl = (packet[0] & 0x0F) * 4
    ttl, proto = packet[8], packet[9]
    sender = socket.inet_ntoa(packet[12:16])
    if proto == socket.IPPROTO_TCP and len(packet) >= ihl + 14:
        their_port, our_port, _seq, ack = struct.unpack_from("!HHII", packet, ihl)
        if our_port != sport:
            return None
        flags = tcp_flags(packet[ihl + 13])
        return (sender, their_port), (ack - 1) & 0xFFFFFFFF if "A" in flags else None, SynReply(flags, None, ttl, sender, 0.0)
    if proto == socket.IPPROTO_ICMP and len(packet) >= ihl + 8 + 20 + 4:
        icmp_type, icmp_code = packet[ihl], packet[ihl + 1]
        inner = packet[ihl + 8 :]
        inner_ihl = (inner[0] & 0x0F) * 4
        if icmp_type not in (3, 11) or inner[9] != socket.IPPROTO_TCP or len(inner) < inner_ihl + 8:
            return None
        our_port, their_port, seq = struct.unpack_from("!HHI", inner, inner_ihl)
        if our_port != sport:
            return None
        probed = socket.inet_ntoa(inner[16:20])
        return (probed, their_port), seq, SynReply(None, IcmpError(4, icmp_type, icmp_code, sender), ttl, sender, 0.0)
    return None


def _source_for(destination: str, probe: socket.socket | None = None) -> str:
    """The address the kernel would send from to reach `destination` (a UDP connect sends nothing). A UDP
    socket may be connected again and again: pass one to reuse it for many destinations."""
    if probe is None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as own:
            return _source_for(destination, own)
    probe.connect((destination, 9))
    return str(probe.getsockname()[0])


def next_hop(proc_net_route: str, address: str) -> str:
    """The neighbour a packet to `address` goes to (the longest-prefix route's gateway, or the address itself)."""
    routes = [line.split() for line in proc_net_route.splitlines()[1:]]
    target = struct.unpack("<I", socket.inet_aton(address))[0]
    best: tuple[int, str] | None = None
    for fields in routes:
        if len(fields) < 8:
            continue
        network, gateway, mask = (int(fields[i], 16) for i in (1, 2, 7))
        if target & mask == network and (best is None or mask.bit_count() > best[0]):
            best = (mask.bit_count(), socket.inet_ntoa(struct.pack("<I", gateway)) if gateway else address)
    return best[1] if best else address


@dataclass(slots=True)
class _Probe:
    index: int
    """Its place among the batch's distinct targets."""
    source: bytes
    destination: bytes
    packet: bytes
    cookie: int = 0
    """Its sequence number (see cookie): an answer acknowledges cookie + 1 (+ the attempt's stride)."""
    sent: list[float] = field(default_factory=list)
    """When each attempt left (attempt n has sequence cookie + (n - 1)·ATTEMPT_STRIDE)."""
    reply: SynReply | None = None
    rtt_ms: float = 0.0
    """The reply's round-trip time (the reply as read carries none)."""
    blocked: bool = False
    in_flight: bool = False
    done: bool = False
    """Answered and handed to finish (outside the lock, so the sender never waits on classification)."""
    extra: int = 0
    """Retries granted beyond the budget: each bare ACK showed the far end holds an earlier attempt half-open."""

    @property
    def attempts(self) -> int:
        return len(self.sent)


BURST = 64
"""Sends between two reads of the answers: a read per burst, not per packet, and never long without one."""
READ_LIMIT = 4 * BURST
"""Packets read from a socket at most before the engine goes round its loop again (see _Answers.read)."""
SO_TIMESTAMPNS = 35
"""Linux: the kernel stamps each received packet (CLOCK_REALTIME, nanoseconds) as it arrives."""
_STAMP_SPACE = socket.CMSG_SPACE(16) if hasattr(socket, "CMSG_SPACE") else 0


SO_ATTACH_FILTER = 26


def tcp_to_port_filter(port: int) -> list[tuple[int, int, int, int]]:
    """A classic BPF program for a raw IPv4 TCP socket (its packets start at the IP header): keep only TCP
    segments to `port`, our probes' source port, so other traffic never reaches Python."""
    return [
        (0xB1, 0, 0, 0),  # ldxb 4*([0]&0xf): X = the IP header's length
        (0x48, 0, 0, 2),  # ldh [x+2]: the TCP destination port
        (0x15, 0, 1, port),  # jeq #port
        (0x06, 0, 0, 0xFFFF),  # ret: keep
        (0x06, 0, 0, 0),  # ret: drop
    ]


ICMP_ERRORS_FILTER = [
    (0xB1, 0, 0, 0),  # ldxb 4*([0]&0xf)
    (0x50, 0, 0, 0),  # ldb [x+0]: the ICMP type
    (0x15, 1, 0, 3),  # jeq #3 (destination unreachable): keep
    (0x15, 0, 1, 11),  # jeq #11 (time exceeded): keep, else drop
    (0x06, 0, 0, 0xFFFF),
    (0x06, 0, 0, 0),
]
"""Only the ICMP errors an answer to a SYN can be (parse_reply reads no other)."""


def attach_filter(sock: socket.socket, program: list[tuple[int, int, int, int]]) -> bool:
    """Attach a classic BPF program (SO_ATTACH_FILTER); False where the kernel refuses it (then every packet
    reaches parse_reply, which filters the same way, only slower)."""
    import ctypes  # noqa: PLC0415 - only SYN runs need it

    code = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *instruction) for instruction in program))
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, struct.pack("HL", len(program), ctypes.addressof(code)))
    except OSError:
        return False
    return True


class _Answers:
    """The raw TCP and ICMP sockets the answers are read from, non-blocking, with the kernel's arrival stamps:
    the engine reads them between bursts of sends, and an answer's RTT is still measured to when it arrived.
    A socket filter keeps other traffic out of them (the raw TCP socket would see all of it)."""

    def __init__(self, sport: int | None = None) -> None:
        self.sockets = [
            socket.socket(socket.AF_INET, socket.SOCK_RAW, proto) for proto in (socket.IPPROTO_TCP, socket.IPPROTO_ICMP)
        ]
        self.poller = select.poll()
        if sport is not None:
            attach_filter(self.sockets[0], tcp_to_port_filter(sport))
            attach_filter(self.sockets[1], ICMP_ERRORS_FILTER)
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, 33, RECEIVE_BUFFER)  # SO_RCVBUFFORCE (root)
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            sock.setblocking(False)
            self.poller.register(sock, select.POLLIN)

    def read(self, sport: int) -> Iterator[tuple[tuple[str, int], int | None, SynReply, float]]:
        """The answers to our probes waiting in the sockets now, with when each arrived (monotonic). At most
        READ_LIMIT packets a socket per call: the raw TCP socket sees every TCP packet this machine receives, and
        a busy machine's traffic must not keep the engine reading instead of sending and giving up."""
        for sock in self.sockets:
            for _ in range(READ_LIMIT):
                try:
                    packet, ancillary, _flags, _peer = sock.recvmsg(256, _STAMP_SPACE)
                except (BlockingIOError, InterruptedError):
                    break
                parsed = parse_reply(packet, sport)
                if parsed:
                    yield (*parsed, _arrival(ancillary))

    def wait(self, seconds: float) -> None:
        """Until an answer arrives or `seconds` pass."""
        self.poller.poll(max(0, math.ceil(seconds * 1000)))

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


def _arrival(ancillary: list[tuple[int, int, bytes]]) -> float:
    """When a packet arrived, on the monotonic clock: the kernel's stamp is wall-clock time, so its age (now
    minus the stamp, both wall-clock) is taken from the monotonic now; a clock step during the run moves only
    the packets read across it, by the milliseconds between arrival and reading."""
    now, wall = time.monotonic(), time.time()
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= 16:
            seconds, nanoseconds = struct.unpack_from("qq", data)
            return now - max(0.0, wall - float(seconds + nanoseconds / 1e9))
    return now


def syn_probe_batch(
    targets: Sequence[tuple[str, int]],
    *,
    timeout_s: float,
    retries: int,
    on_observation: Callable[[tuple[str, int], Observation], None] | None = None,
    rate_pps: int = DEFAULT_RATE_PPS,
) -> dict[tuple[str, int], Observation]:
    """SYN-probe IPv4 (address, port) pairs. Each probe waits the RTT-adapted timeout of its network (at most
    `timeout_s`); silent ones are re-sent (`retries` times, more where the network loses packets); no more than
    the congestion window is in flight and no more than `rate_pps` leave per second. Each probe's outcome
    becomes an Observation as it finishes, handed to `on_observation` at once."""
    keys = list(dict.fromkeys(targets))
    results: dict[tuple[str, int], Observation] = {}

    def delivered(index: int, outcome: Outcome) -> None:
        deliver(keys[index], outcome, results, on_observation)

    engine_outcomes(keys, timeout_s=timeout_s, retries=retries, rate_pps=rate_pps, started=time.perf_counter(), emit=delivered)
    return results


class SynInBackground:
    """syn_probe_batch of `keys` in a thread of its own, started at once, so that a run probes its links to
    addresses while it plans the rest and sets up (docs/benchmarks.md: what that saves). `collect` is the runner's
    syn_batch: the observations of the keys it asks for, from this batch where it probed them (or probed again
    when the options differ or the batch failed), and from a batch of their own for the others."""

    def __init__(self, keys: Sequence[tuple[str, int]], *, timeout_s: float, retries: int, rate_pps: int) -> None:
        self.keys = list(dict.fromkeys(keys))
        self.options = (timeout_s, retries, rate_pps)
        self.seen: dict[tuple[str, int], Observation] = {}
        self.failed = False
        self.thread = threading.Thread(target=self._probe, name="netcheck-syn", daemon=True)
        self.thread.start()

    def _probe(self) -> None:
        timeout_s, retries, rate_pps = self.options
        try:
            syn_probe_batch(
                self.keys, timeout_s=timeout_s, retries=retries, rate_pps=rate_pps, on_observation=self.seen.__setitem__
            )
        except Exception:  # noqa: BLE001 - collect probes again, and meets the error where the run handles it
            self.failed = True

    def collect(
        self,
        targets: Sequence[tuple[str, int]],
        *,
        timeout_s: float,
        retries: int,
        on_observation: Callable[[tuple[str, int], Observation], None] | None = None,
        rate_pps: int = DEFAULT_RATE_PPS,
    ) -> dict[tuple[str, int], Observation]:
        self.thread.join()
        wanted = list(dict.fromkeys(targets))
        usable = not self.failed and self.options == (timeout_s, retries, rate_pps)
        results: dict[tuple[str, int], Observation] = {}
        for key in wanted:
            observation = self.seen.get(key) if usable else None
            if observation is not None:
                results[key] = observation
                if on_observation is not None:
                    on_observation(key, observation)
        missing = [key for key in wanted if key not in results]
        if missing:
            more = syn_probe_batch(
                missing, timeout_s=timeout_s, retries=retries, on_observation=on_observation, rate_pps=rate_pps
            )
            results.update(more)
        return results


def engine_outcomes(
    keys: list[tuple[str, int]],
    *,
    timeout_s: float,
    retries: int,
    rate_pps: int,
    started: float,
    emit: Callable[[int, Outcome], None],
) -> None:
    """Probe `keys` (distinct) and emit each one's outcome, by its index, as it finishes."""
    sport = random.randint(*SOURCE_PORTS)
    secret = random.getrandbits(32)
    template = _syn_template()
    parts = _template_parts(template)
    targets: dict[str, tuple[bytes, bytes, int, int]] = {}  # address → source, destination, _address_sum, cookie_start
    port_bytes = {port: port.to_bytes(2, "big") for port in {port for _address, port in keys}}
    probes: dict[tuple[str, int], _Probe] = {}
    crc32 = zlib.crc32
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as route:
        for index, key in enumerate(keys):
            address, port = key
            target = targets.get(address)
            if target is None:
                destination, source = socket.inet_aton(address), socket.inet_aton(_source_for(address, route))
                target = (source, destination, _address_sum(source, destination), cookie_start(secret, destination))
                targets[address] = target
            source, destination, address_sum, start = target
            seq = crc32(port_bytes[port], start)  # cookie(secret, destination, port), the target's start computed once
            probes[key] = _Probe(
                index, source, destination, _syn_packet(parts, source, destination, address_sum, sport, port, seq), seq
            )
    engine = _Engine(probes, sport, template, Timing(policy_for(timeout_s, retries)), rate_pps)

    def finish(key: tuple[str, int], probe: _Probe, *, no_arp: bool = False) -> None:
        reply = probe.reply
        fields = None
        timeout_ms = None
        if reply is not None:
            icmp = reply.icmp
            icmp_fields = (icmp.version, icmp.type, icmp.code, icmp.sender) if icmp is not None else None
            fields = (reply.tcp_flags, icmp_fields, reply.ttl, reply.sender, probe.rtt_ms)
            # A failed ARP lookup comes back as a host-unreachable that this machine sent itself.
            no_arp = no_arp or (icmp is not None and reply.sender == socket.inet_ntoa(probe.source))
        elif not probe.blocked:
            timeout_ms = round(engine.timing.timeout(key[0]) * 1000, 1)
        finished_ms = round((time.perf_counter() - started) * 1000, 3)
        emit(probe.index, (fields, probe.attempts, probe.blocked, timeout_ms, no_arp, finished_ms, sport))

    engine.run(finish)
    neighbours = _Neighbours()  # the tables as they are now, read when a silent probe first asks
    for key, probe in probes.items():
        if not probe.done:
            probe.done = True
            finish(key, probe, no_arp=probe.reply is None and not probe.blocked and neighbours.unanswered(key[0]))


class _Finish(Protocol):
    """Hands a finished probe's outcome over (engine_outcomes' finish)."""

    def __call__(self, key: tuple[str, int], probe: _Probe, *, no_arp: bool = False) -> None: ...


class _Neighbours:
    """Whether a silent probe's next hop never answered ARP (an incomplete neighbour entry), during a run and at
    its end: the routing table is read once, the neighbour table at most every 50 ms, and neither before a
    silent probe asks."""

    def __init__(self) -> None:
        self.routes: str | None = None
        self.hops: dict[str, str] = {}
        self.stale: set[str] = set()
        self.read_at = -math.inf

    def unanswered(self, address: str) -> bool:
        now = time.monotonic()
        if now - self.read_at > 0.05:
            self.stale, self.read_at = _incomplete_arp(), now
        if not self.stale:
            return False
        if self.routes is None:
            try:
                self.routes = Path("/proc/net/route").read_text()
            except OSError:
                self.routes = ""
        if address not in self.hops:
            self.hops[address] = next_hop(self.routes, address) if self.routes else address
        return self.hops[address] in self.stale


@dataclass
class _Engine:
    """The send-read-give-up loop of one batch (see syn_probe_batch)."""

    probes: dict[tuple[str, int], _Probe]
    sport: int
    template: bytes
    timing: Timing
    rate_pps: int
    window: Congestion = field(default_factory=lambda: Congestion(low=WINDOW_LOW, high=WINDOW_HIGH))
    flight: int = 0
    """Attempts in flight: sent, neither answered nor given up."""

    def run(self, finish: _Finish) -> None:
        """Send every first attempt and every retry the timing asks for, within the window and the rate, reading
        answers as they come; returns when nothing is in flight and nothing is left to send. Retries go out
        before new probes (nmap's order). Answered probes are handed to `finish` at once."""
        answers = _Answers(self.sport)
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW) as sender:
                sender.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
                self._loop(sender, answers, finish)
            for answer in answers.read(self.sport):  # the last answers already waiting
                self._record(*answer, finish)
        finally:
            answers.close()

    def _loop(
        self,
        sender: socket.socket,
        answers: _Answers,
        finish: _Finish,
    ) -> None:
        probes, timing = self.probes, self.timing
        fresh = deque(probes)
        again: deque[tuple[str, int]] = deque()
        outstanding: deque[tuple[float, tuple[str, int]]] = deque()  # (sent at, key), in sending order
        spent: list[tuple[str, int]] = []  # silent after every retry they were allowed
        # With --retries 0 a probe given up on is never sent again (a network that shows losses gets no retries
        # either): once it has waited its timeout once more (an answer that late still counts; a later one only
        # teaches the timing, see _record), its outcome goes out during the run. With retries, such a probe may
        # still earn more, so it waits for the end.
        never_again = timing.policy.retries == 0
        final: list[tuple[float, tuple[str, int]]] = []  # a heap of (outcome due at, key)
        neighbours = _Neighbours()
        interval = 1.0 / max(1, self.rate_pps)
        next_send = time.monotonic()
        while True:
            for answer in answers.read(self.sport):
                self._record(*answer, finish)
            now = time.monotonic()
            while outstanding:  # give up on attempts whose wait is over (send order ≈ expiry order)
                sent_at, key = outstanding[0]
                probe = probes[key]
                if not probe.in_flight or probe.sent[-1] != sent_at:
                    outstanding.popleft()
                    continue
                if now < sent_at + timing.timeout(key[0]):
                    break
                outstanding.popleft()
                probe.in_flight = False
                self.flight -= 1
                self.window.on_silence()
                if probe.attempts <= timing.retries(key[0]) + probe.extra:
                    again.append(key)
                elif never_again:
                    heapq.heappush(final, (now + timing.timeout(key[0]), key))
                else:
                    spent.append(key)
            while final and final[0][0] <= now:
                key = heapq.heappop(final)[1]
                probe = probes[key]
                if not probe.done:  # no answer came, however late
                    probe.done = True
                    finish(key, probe, no_arp=neighbours.unanswered(key[0]))
            if not (fresh or again or self.flight):
                # Before giving up, look again: a network may have shown its losses (answers to retries)
                # only after some of its probes had used the retries they were allowed then.
                again.extend(k for k in spent if probes[k].reply is None and probes[k].attempts <= timing.retries(k[0]))
                spent.clear()
                if not again:
                    return
            budget = min(BURST, self.window.limit - self.flight)
            sent = 0
            while sent < budget and (fresh or again) and now >= next_send:
                key = again.popleft() if again else fresh.popleft()
                probe = probes[key]
                if probe.reply is not None:
                    continue  # a late answer came while the retry waited its turn
                if probe.sent:
                    seq = (probe.cookie + probe.attempts * ATTEMPT_STRIDE) & 0xFFFFFFFF
                    probe.packet = build_syn(
                        self.template, probe.source, probe.destination, sport=self.sport, dport=key[1], seq=seq
                    )
                now = time.monotonic()
                probe.sent.append(now)
                if _send(sender, probe.packet, key[0]):
                    probe.in_flight = True
                    self.flight += 1
                    outstanding.append((now, key))
                else:
                    probe.blocked = True
                sent += 1
                next_send = max(next_send + interval, now - 0.005)  # catch up after a wait, in bursts of 5 ms at most
            if sent:
                continue
            # Nothing could be sent: wait for an answer, the next expiry, or the rate's next slot.
            wake = outstanding[0][0] + timing.timeout(outstanding[0][1][0]) if outstanding else now + 0.002
            if final:
                wake = min(wake, final[0][0])
            if (fresh or again) and self.window.limit > self.flight:
                wake = min(wake, next_send)
            answers.wait(min(0.05, max(0.0, wake - time.monotonic())))

    def _record(
        self,
        key: tuple[str, int],
        acked: int | None,
        reply: SynReply,
        at: float,
        finish: _Finish,
    ) -> None:
        probe = self.probes.get(key)
        if probe is None or not probe.sent:
            return
        attempt = answered_attempt(acked, probe.cookie, probe.attempts)
        flags = reply.tcp_flags or ""
        if probe.done:
            if probe.reply is None and attempt is not None and ("S" in flags or "R" in flags):
                # Too late for its link (given up on and reported: --retries 0), not for the timing, which must
                # learn that its network's answers take longer now.
                self.timing.observe(key[0], max(0.0, at - probe.sent[attempt - 1]), attempt=attempt)
            return
        if attempt is None:
            if reply.icmp is None and "A" in flags:
                return  # acknowledges some other sequence: not an answer to this probe
            attempt = probe.attempts
        if reply.icmp is None and "S" not in flags and "R" not in flags:
            # A bare ACK: the far end still holds an earlier attempt half-open (its SYN-ACK was lost) and
            # challenges the retry (RFC 5961). Not a state; this machine resets that half-open connection,
            # so the probe is allowed one more retry, which gets a fresh answer: one per such ACK, as a lossy
            # link may lose that answer too (a WAN run once ended `filtered` on an open port after one).
            probe.extra = min(probe.extra + 1, MAX_EXTRA_RETRIES)
            return
        rtt = max(0.0, at - probe.sent[attempt - 1])
        probe.reply, probe.rtt_ms = reply, round(rtt * 1000, 3)
        self.timing.observe(key[0], rtt, attempt=attempt)
        if attempt > 1:
            self.window.on_drop(probe.sent[0], at)
        else:
            self.window.on_answer()
        if probe.in_flight:
            probe.in_flight = False
            self.flight -= 1
        probe.done = True
        finish(key, probe)


def answered_attempt(acked: int | None, base: int, attempts: int) -> int | None:
    """Which attempt (1-based) a reply acknowledging sequence `acked` answers, or None when it is none of ours."""
    if acked is None:
        return None
    offset = (acked - base) & 0xFFFFFFFF
    if offset % ATTEMPT_STRIDE or offset // ATTEMPT_STRIDE >= attempts:
        return None
    return offset // ATTEMPT_STRIDE + 1


def _send(sender: socket.socket, packet: bytes, address: str) -> bool:
    """Send one SYN; False when this machine's firewall refused it (EPERM)."""
    try:
        sender.sendto(packet, (address, 0))
    except PermissionError:
        return False
    except OSError as exc:
        if exc.errno == errno.ENOBUFS:  # the NIC queue is full: give it a moment, then this probe again
            time.sleep(0.005)
            with contextlib.suppress(OSError):
                sender.sendto(packet, (address, 0))
    return True


def _incomplete_arp() -> set[str]:
    try:
        return incomplete_neighbours(Path("/proc/net/arp").read_text())
    except OSError:
        return set()
