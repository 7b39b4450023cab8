"""NetBIOS name query (NBNS, UDP 137), broadcast on the local subnets; scapy's NBNS layers are the codec.

Windows falls back to NetBIOS for single-label names of up to 15 characters when DNS has no answer; in a
non-DNS environment this is how the installing machine finds the agents.
"""

from __future__ import annotations

import random
import socket
from collections.abc import Sequence
from typing import Any

from netcheck.observe.names.threads import in_daemon_thread
from netcheck.observe.names.udp import LINK_LOCAL_SLOTS, first_answer
from netcheck.observe.probes.scapy_env import quiet_scapy

NBNS_PORT = 137


def _layers() -> Any:
    quiet_scapy()
    from scapy.layers import netbios  # noqa: PLC0415 - scapy is slow to import; only name fallbacks need it

    return netbios


def netbios_name(name: str) -> str | None:
    """The NetBIOS form of a host name, or None when NetBIOS cannot carry it (dotted, or over 15 chars)."""
    bare = name.rstrip(".")
    if "." in bare or not bare or len(bare) > 15:
        return None
    return bare.upper()


def build_query(name: str, transaction_id: int) -> bytes:
    """A broadcast NB name query (RD and B flags set, scapy's default) for `name`."""
    netbios = _layers()
    packet = netbios.NBNSHeader(NAME_TRN_ID=transaction_id) / netbios.NBNSQueryRequest(QUESTION_NAME=name, QUESTION_TYPE="NB")
    return bytes(packet)


def parse_response(data: bytes, transaction_id: int) -> tuple[str, ...] | None:
    """Addresses from a positive NB query response with our transaction id; None for anything else."""
    netbios = _layers()
    try:
        packet = netbios.NBNSHeader(data)
    except Exception:  # noqa: BLE001 - scapy raises many things on garbage; garbage is simply not an answer
        return None
    if (
        transaction_id != packet.NAME_TRN_ID
        or not packet.RESPONSE
        or packet.RCODE
        or not packet.haslayer(netbios.NBNSQueryResponse)
    ):
        return None
    entries = packet[netbios.NBNSQueryResponse].ADDR_ENTRY or []
    return tuple(str(entry.NB_ADDRESS) for entry in entries)


def _query_blocking(name: str, broadcasts: Sequence[str], timeout_s: float) -> tuple[str, ...]:
    transaction_id = random.getrandbits(16)
    query = build_query(name, transaction_id)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        for address in broadcasts:
            try:
                sock.sendto(query, (address, NBNS_PORT))
            except OSError:
                continue
        return first_answer(sock, lambda data: parse_response(data, transaction_id), timeout_s)


async def query_netbios(name: str, broadcasts: Sequence[str], timeout_s: float) -> tuple[str, ...] | None:
    """Addresses NetBIOS gives for `name` (empty: nobody answered); None when the name cannot be asked."""
    nb_name = netbios_name(name)
    if nb_name is None or not broadcasts:
        return None
    return await in_daemon_thread(LINK_LOCAL_SLOTS, _query_blocking, nb_name, broadcasts, timeout_s)
