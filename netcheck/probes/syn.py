"""Raw SYN probe (scapy): what the far end sent back to a bare SYN, with TTL and RTT.

A SYN probe sees the packet itself: SYN-ACK (open), RST (closed), an ICMP error with its type, code and
sender, or silence. It needs raw sockets (root or CAP_NET_RAW); `syn_available()` says whether we have them.
Packets go out through the kernel's routing and ARP (scapy's L3RawSocket), so loopback and routed targets
behave like any other program's traffic.
"""

from __future__ import annotations

import logging
import random
import socket
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netcheck.model import Observation, State
from netcheck.probes.tcp import IcmpError, state_from_icmp

SOURCE_PORTS = (40000, 60999)
"""Where probe source ports are drawn from: inside Linux's ephemeral range, so the far side's
firewall treats them like the product's own connections."""

BATCH = 4096


@dataclass(frozen=True)
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


def reply_evidence(reply: SynReply | None) -> dict[str, Any]:
    if reply is None:
        return {"reply": "none"}
    if reply.icmp is not None:
        return {"reply": "icmp", "ttl": reply.ttl, "rtt_ms": reply.rtt_ms, **reply.icmp.as_evidence()}
    flags = reply.tcp_flags or ""
    name = "syn-ack" if "S" in flags and "A" in flags else "rst" if "R" in flags else "tcp"
    return {"reply": name, "tcp_flags": flags, "ttl": reply.ttl, "rtt_ms": reply.rtt_ms}


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


def _scapy() -> Any:
    for name in ("scapy.runtime", "scapy.loading", "scapy"):
        logging.getLogger(name).setLevel(logging.CRITICAL)  # send errors are re-checked by _blocked_locally
    import scapy.all as scapy  # noqa: PLC0415 - imported late: slow, and only needed with raw sockets

    scapy.conf.verb = 0
    scapy.conf.L3socket = scapy.L3RawSocket
    return scapy


def _to_reply(scapy: Any, sent: Any, received: Any) -> SynReply:
    rtt_ms = round((float(received.time) - float(sent.sent_time)) * 1000, 3)
    icmp = None
    if received.haslayer(scapy.ICMP):
        layer = received[scapy.ICMP]
        icmp = IcmpError(4, int(layer.type), int(layer.code), received[scapy.IP].src)
    flags = str(received[scapy.TCP].flags) if icmp is None and received.haslayer(scapy.TCP) else None
    return SynReply(flags, icmp, int(received[scapy.IP].ttl), str(received[scapy.IP].src), rtt_ms)


def _blocked_locally(packet: bytes, address: str) -> bool:
    """Send the probe once more through a plain raw socket: EPERM means our own output firewall dropped it.

    scapy only logs send errors, so a silent target is re-sent here to tell 'dropped on the way out'
    from 'dropped somewhere else'.
    """
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW) as raw:
            raw.sendto(packet, (address, 0))
    except PermissionError:
        return True
    except OSError:
        return False
    return False


def _next_hop(scapy: Any, address: str) -> str:
    _iface, _src, gateway = scapy.conf.route.route(address)
    return address if gateway in ("0.0.0.0", None) else str(gateway)  # noqa: S104 - scapy's "no gateway"


def syn_probe_batch(
    targets: Sequence[tuple[str, int]],
    *,
    timeout_s: float,
    retries: int,
    on_observation: Callable[[tuple[str, int], Observation], None] | None = None,
) -> dict[tuple[str, int], Observation]:
    """SYN-probe IPv4 (address, port) pairs; silent ones are re-sent up to `retries` more rounds."""
    scapy = _scapy()
    started = time.perf_counter()
    ports = random.sample(range(SOURCE_PORTS[0], SOURCE_PORTS[1] + 1), min(len(targets), SOURCE_PORTS[1] - SOURCE_PORTS[0]))
    results: dict[tuple[str, int], Observation] = {}
    pending: dict[tuple[str, int], Any] = {}
    for index, (address, port) in enumerate(targets):
        sport = ports[index % len(ports)]
        pending[(address, port)] = scapy.IP(dst=address) / scapy.TCP(
            sport=sport, dport=port, flags="S", seq=random.getrandbits(32)
        )

    def finish(
        key: tuple[str, int], reply: SynReply | None, attempts: int, *, no_arp: bool = False, blocked: bool = False
    ) -> None:
        evidence = {
            "method": "syn",
            **reply_evidence(reply),
            "source_port": int(pending[key][scapy.TCP].sport),
            "attempts": attempts,
        }
        if no_arp:
            evidence["arp"] = "no answer"
        if blocked:
            evidence.update(reply="error", error="EPERM", message="this machine's firewall refused to send the SYN")
        observation = Observation(
            State.BLOCKED_LOCALLY if blocked else state_from_syn_reply(reply, no_arp_answer=no_arp),
            key[0],
            evidence,
            elapsed_ms=round((time.perf_counter() - started) * 1000, 3),
        )
        results[key] = observation
        if on_observation:
            on_observation(key, observation)

    silent = list(pending)
    for attempt in range(1, retries + 2):
        still_silent = []
        for offset in range(0, len(silent), BATCH):
            chunk = silent[offset : offset + BATCH]
            answered, unanswered = scapy.sr([pending[key] for key in chunk], timeout=timeout_s)
            for sent, received in answered:
                finish((sent[scapy.IP].dst, int(sent[scapy.TCP].dport)), _to_reply(scapy, sent, received), attempt)
            still_silent += [(pkt[scapy.IP].dst, int(pkt[scapy.TCP].dport)) for pkt in unanswered]
        silent = still_silent
        if not silent:
            break
    if silent:
        blocked = [key for key in silent if _blocked_locally(bytes(pending[key]), key[0])]
        for key in blocked:
            finish(key, None, retries + 1, blocked=True)
        silent = [key for key in silent if key not in set(blocked)]
        try:
            stale = incomplete_neighbours(Path("/proc/net/arp").read_text())
        except OSError:
            stale = set()
        for key in silent:
            finish(key, None, retries + 1, no_arp=_next_hop(scapy, key[0]) in stale)
    return results
