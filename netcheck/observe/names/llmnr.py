"""LLMNR (RFC 4795, UDP 5355 to 224.0.0.252): Windows' link-local fallback when DNS has no answer.

scapy's LLMNR layers are the codec; the query goes out of every local IPv4 interface.
"""

from __future__ import annotations

import random
import socket
from collections.abc import Sequence
from typing import Any

from netcheck.observe.names.threads import in_daemon_thread
from netcheck.observe.names.udp import LINK_LOCAL_SLOTS, first_answer
from netcheck.observe.probes.scapy_env import quiet_scapy

LLMNR_GROUP = "224.0.0.252"
LLMNR_PORT = 5355


def _layers() -> tuple[Any, Any]:
    quiet_scapy()
    from scapy.layers import dns, llmnr  # noqa: PLC0415 - scapy is slow to import; only name fallbacks need it

    return llmnr, dns


def llmnr_name(name: str) -> str | None:
    """LLMNR is for single-label names (RFC 4795 §2: dotted names go to DNS)."""
    bare = name.rstrip(".")
    if "." in bare or not bare:
        return None
    return bare


def build_query(name: str, transaction_id: int) -> bytes:
    llmnr, dns = _layers()
    return bytes(llmnr.LLMNRQuery(id=transaction_id, qd=dns.DNSQR(qname=name, qtype="A")))


def parse_response(data: bytes, transaction_id: int, name: str) -> tuple[str, ...] | None:
    """A records for `name` from an LLMNR response with our id; None for anything else."""
    llmnr, _dns = _layers()
    try:
        packet = llmnr.LLMNRQuery(data)
    except Exception:  # noqa: BLE001 - garbage is simply not an answer
        return None
    if packet.id != transaction_id or not packet.qr or packet.rcode:
        return None
    wanted = name.rstrip(".").lower()
    addresses = []
    for index in range(packet.ancount or 0):
        try:
            record = packet.an[index]
        except (IndexError, TypeError):
            break
        owner = record.rrname.decode(errors="replace") if isinstance(record.rrname, bytes) else str(record.rrname)
        if record.type == 1 and owner.rstrip(".").lower() == wanted:
            addresses.append(str(record.rdata))
    return tuple(addresses)


def _query_blocking(name: str, interfaces: Sequence[str], timeout_s: float) -> tuple[str, ...]:
    transaction_id = random.getrandbits(16)
    query = build_query(name, transaction_id)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
        for local in interfaces:
            try:
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(local))
                sock.sendto(query, (LLMNR_GROUP, LLMNR_PORT))
            except OSError:
                continue
        return first_answer(sock, lambda data: parse_response(data, transaction_id, name), timeout_s)


async def query_llmnr(name: str, interfaces: Sequence[str], timeout_s: float) -> tuple[str, ...] | None:
    """Addresses LLMNR gives for `name` (empty: nobody answered); None when the name cannot be asked."""
    single = llmnr_name(name)
    if single is None or not interfaces:
        return None
    return await in_daemon_thread(LINK_LOCAL_SLOTS, _query_blocking, single, interfaces, timeout_s)
