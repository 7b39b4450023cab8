"""Raw SYN probes: what the far end sent back to a bare SYN, with TTL and RTT, for one or 40,000 targets.

A SYN probe sees the packet itself: SYN-ACK (open), RST (closed), an ICMP error with its type, code and
sender, or silence. It needs raw sockets (root or CAP_NET_RAW); `syn_available()` says whether we have them.

The engine: scapy builds the SYN once; each target's copy is patched (addresses, ports, sequence cookie,
checksum) and sent through one IP_HDRINCL raw socket at a bounded rate, so the kernel still routes and ARPs.
One receiver thread reads raw TCP and ICMP and matches every answer to its probe by (address, port) and the
sequence cookie; silent probes get `retries` more rounds; nothing else is re-sent. Memory is one small
record per probe, no thread or socket per target.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import random
import select
import socket
import struct
import sys
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from netcheck.model import State
from netcheck.observations import IcmpError, Observation, Reply, TcpReply
from netcheck.probes.tcp import state_from_icmp

SOURCE_PORTS = (40000, 60999)
"""Where the probe source port is drawn from: inside Linux's ephemeral range, so the far side's
firewall treats it like the product's own connections."""

DEFAULT_RATE_PPS = 20000
RECEIVE_BUFFER = 64 * 1024 * 1024  # answers to 40,000 probes arrive in bursts; the kernel must not drop them


@dataclass(frozen=True, slots=True)
class SynReply:
    """The answer to one SYN, reduced to what decides its state."""

    tcp_flags: str | None
    icmp: IcmpError | None
    ttl: int
    sender: str
    rtt_ms: float


def state_from_syn_reply(reply: SynReply | None, *, no_arp_answer: bool = False) -> State:
    """SYN-ACK → open, RST → closed, ICMP error → by its code, silence → filtered (unreachable without ARP)."""
    if reply is None:
        return State.UNREACHABLE if no_arp_answer else State.FILTERED
    if reply.icmp is not None:
        return state_from_icmp(reply.icmp)
    flags = reply.tcp_flags or ""
    if "R" in flags:
        return State.CLOSED
    if "S" in flags and "A" in flags:
        return State.OPEN
    return State.FILTERED


def reply_evidence(reply: SynReply | None, *, attempts: int = 1, source_port: int | None = None) -> TcpReply:
    """What came back for a SYN, as packet evidence."""
    if reply is None:
        return TcpReply("syn", Reply.NONE, attempts, source_port=source_port)
    if reply.icmp is not None:
        return TcpReply("syn", Reply.ICMP, attempts, reply.ttl, reply.rtt_ms, source_port=source_port, icmp=reply.icmp)
    flags = reply.tcp_flags or ""
    name = Reply.SYN_ACK if "S" in flags and "A" in flags else Reply.RST if "R" in flags else Reply.TCP
    return TcpReply("syn", name, attempts, reply.ttl, reply.rtt_ms, flags, source_port)


def incomplete_neighbours(proc_net_arp: str) -> set[str]:
    """Addresses whose ARP entry never completed (flags 0x0 in /proc/net/arp): nobody answered ARP."""
    stale = set()
    for line in proc_net_arp.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 3 and int(fields[2], 16) & 0x2 == 0:
            stale.add(fields[0])
    return stale


def syn_available() -> bool:
    """True when this process may open raw packet sockets (Linux, root or CAP_NET_RAW)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        socket.socket(socket.AF_PACKET, socket.SOCK_RAW).close()
    except (PermissionError, OSError, AttributeError):
        return False
    return True


def _syn_template() -> bytes:
    """A 40-byte IPv4+TCP SYN built by scapy; per-target fields are patched in by build_syn."""
    logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
    from scapy.layers.inet import IP, TCP  # noqa: PLC0415 - scapy is slow to import; only SYN probes need it

    return bytes(IP(id=0, flags="DF", ttl=64) / TCP(flags="S", window=1024))


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def build_syn(template: bytes, source: bytes, destination: bytes, *, sport: int, dport: int, seq: int) -> bytes:
    """The template with this probe's addresses, ports and sequence number, and a correct TCP checksum.
    (The kernel fills the IP id and checksum of an IP_HDRINCL packet.)"""
    ip = bytearray(template[:20])
    ip[12:16], ip[16:20] = source, destination
    tcp = bytearray(template[20:40])
    struct.pack_into("!HHI", tcp, 0, sport, dport, seq)
    struct.pack_into("!H", tcp, 16, 0)
    pseudo = source + destination + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(tcp))
    struct.pack_into("!H", tcp, 16, _checksum(pseudo + bytes(tcp)))
    return bytes(ip + tcp)


def cookie(secret: int, destination: bytes, dport: int) -> int:
    """The probe's sequence number: an answer must acknowledge cookie + 1 to count as ours."""
    return zlib.crc32(destination + dport.to_bytes(2, "big"), secret) & 0xFFFFFFFF


_FLAG_NAMES = "FSRPAUEC"


def tcp_flags(value: int) -> str:
    """TCP flag bits as scapy writes them ('SA', 'RA', ...)."""
    return "".join(name for bit, name in enumerate(_FLAG_NAMES) if value & (1 << bit))


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


def _source_for(destination: str) -> str:
    """The address the kernel would send from to reach `destination` (a UDP connect sends nothing)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect((destination, 9))
        return str(probe.getsockname()[0])


def _next_hop(address: str) -> str:
    try:
        return next_hop(Path("/proc/net/route").read_text(), address)
    except OSError:
        return address


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
    packet: bytes
    sent_at: float = 0.0
    attempts: int = 0
    reply: SynReply | None = None
    blocked: bool = False


class _Receiver(threading.Thread):
    """Reads raw TCP and ICMP until stopped, and hands each answer to one of our probes to `record`."""

    def __init__(self, sport: int, record: Callable[[tuple[str, int], int | None, SynReply, float], None]) -> None:
        super().__init__(daemon=True)
        self.sport, self.record = sport, record
        self.stopping = threading.Event()
        self.sockets = [
            socket.socket(socket.AF_INET, socket.SOCK_RAW, proto) for proto in (socket.IPPROTO_TCP, socket.IPPROTO_ICMP)
        ]
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, 33, RECEIVE_BUFFER)  # SO_RCVBUFFORCE (root)
            sock.setblocking(False)

    def run(self) -> None:
        poller = select.poll()
        for sock in self.sockets:
            poller.register(sock, select.POLLIN)
        while not self.stopping.is_set():
            for fd, _event in poller.poll(50):
                sock = next(s for s in self.sockets if s.fileno() == fd)
                while True:
                    try:
                        packet = sock.recv(256)
                    except (BlockingIOError, InterruptedError):
                        break
                    parsed = parse_reply(packet, self.sport)
                    if parsed:
                        self.record(*parsed, time.monotonic())

    def close(self) -> None:
        self.stopping.set()
        self.join(timeout=2)
        for sock in self.sockets:
            sock.close()


def syn_probe_batch(
    targets: Sequence[tuple[str, int]],
    *,
    timeout_s: float,
    retries: int,
    on_observation: Callable[[tuple[str, int], Observation], None] | None = None,
    rate_pps: int = DEFAULT_RATE_PPS,
) -> dict[tuple[str, int], Observation]:
    """SYN-probe IPv4 (address, port) pairs; silent ones are re-sent up to `retries` more rounds."""
    started = time.perf_counter()
    sport = random.randint(*SOURCE_PORTS)
    secret = random.getrandbits(32)
    template = _syn_template()
    sources: dict[str, bytes] = {}
    probes: dict[tuple[str, int], _Probe] = {}
    cookies: dict[tuple[str, int], int] = {}
    for address, port in dict.fromkeys(targets):
        destination = socket.inet_aton(address)
        source = sources.get(address) or sources.setdefault(address, socket.inet_aton(_source_for(address)))
        cookies[(address, port)] = cookie(secret, destination, port)
        probes[(address, port)] = _Probe(
            build_syn(template, source, destination, sport=sport, dport=port, seq=cookies[(address, port)])
        )
    lock = threading.Lock()
    results: dict[tuple[str, int], Observation] = {}
    waiting = set(probes)  # probes with neither an answer nor a local refusal yet

    def finish(key: tuple[str, int], probe: _Probe, *, no_arp: bool = False) -> None:
        reply = probe.reply
        evidence = reply_evidence(reply, attempts=probe.attempts, source_port=sport)
        # A failed ARP lookup comes back as a host-unreachable that this machine sent itself.
        local_unreachable = reply is not None and reply.icmp is not None and reply.sender == socket.inet_ntoa(sources[key[0]])
        if no_arp or local_unreachable:
            evidence = replace(evidence, no_arp_answer=True)
        state = state_from_syn_reply(reply, no_arp_answer=no_arp)
        if probe.blocked:
            evidence = replace(
                evidence, reply=Reply.ERROR, error="EPERM", message="this machine's firewall refused to send the SYN"
            )
            state = State.BLOCKED_LOCALLY
        observation = Observation(state, key[0], evidence, elapsed_ms=round((time.perf_counter() - started) * 1000, 3))
        results[key] = observation
        if on_observation:
            on_observation(key, observation)

    def record(key: tuple[str, int], acked: int | None, reply: SynReply, at: float) -> None:
        with lock:
            probe = probes.get(key)
            if probe is None or probe.reply is not None or key in results:
                return
            if acked is not None and acked != cookies[key] and reply.icmp is None and "A" in (reply.tcp_flags or ""):
                return  # acknowledges some other sequence: not an answer to this probe
            probe.reply = SynReply(reply.tcp_flags, reply.icmp, reply.ttl, reply.sender, round((at - probe.sent_at) * 1000, 3))
            waiting.discard(key)
            finish(key, probe)

    receiver = _Receiver(sport, record)
    receiver.start()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW) as sender:
            sender.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
            pending = list(probes)
            for _round in range(retries + 1):
                last_sent = _send_round(sender, probes, pending, rate_pps, lock)
                with lock:
                    waiting.difference_update(k for k in pending if probes[k].blocked)
                deadline = last_sent + timeout_s
                while waiting and time.monotonic() < deadline:
                    time.sleep(0.005)
                with lock:
                    pending = [k for k in pending if k in waiting]
                if not pending:
                    break
    finally:
        receiver.close()
    with lock:
        stale = _incomplete_arp() if any(p.reply is None and not p.blocked for p in probes.values()) else set()
        for key, probe in probes.items():
            if key not in results:
                finish(key, probe, no_arp=probe.reply is None and not probe.blocked and _next_hop(key[0]) in stale)
    return results


def _send_round(
    sender: socket.socket, probes: dict[tuple[str, int], _Probe], keys: list[tuple[str, int]], rate_pps: int, lock: threading.Lock
) -> float:
    """Send one SYN per key at no more than `rate_pps`; EPERM marks a probe blocked by this machine's firewall."""
    interval = 1.0 / max(1, rate_pps)
    start = time.monotonic()
    for index, key in enumerate(keys):
        due = start + index * interval
        if (wait := due - time.monotonic()) > 0.001:
            time.sleep(wait)
        probe = probes[key]
        with lock:
            probe.attempts += 1
            probe.sent_at = time.monotonic()
        try:
            sender.sendto(probe.packet, (key[0], 0))
        except PermissionError:
            probe.blocked = True
        except OSError as exc:
            if exc.errno == errno.ENOBUFS:  # the NIC queue is full: give it a moment, then this probe again
                time.sleep(0.005)
                with contextlib.suppress(OSError):
                    sender.sendto(probe.packet, (key[0], 0))
    return time.monotonic()


def _incomplete_arp() -> set[str]:
    try:
        return incomplete_neighbours(Path("/proc/net/arp").read_text())
    except OSError:
        return set()
