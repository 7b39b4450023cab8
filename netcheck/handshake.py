"""The netcheck responder handshake: proves that the far end of a link is `netcheck listen`, not a firewall.

Request  (22 bytes): magic "NCHK", version 2, flags 0, a 16-byte random nonce.
Response (40 bytes, +32 with a token): magic "NCHR", version, flags (bit 0: an HMAC follows; bit 1: busy), the
nonce echoed, and the address and port the responder was reached at (16 bytes, IPv4 as IPv4-mapped IPv6, and 2
bytes); with a token, HMAC-SHA256(token, the 40 bytes before it).

The response magic differs from the request's, so an echo server never passes for a responder. The address
and port inside the response let the caller see a NAT or port forward that sends the link to another machine
(with a token, the MAC covers them, so a DNAT to another agent's responder cannot verify). A busy responder
(its connection limit reached) says so without reading the request: it cannot echo the nonce, so a busy
answer proves nothing and never verifies.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import os
import struct

from netcheck.model.observations import ResponderAnswer

MAGIC = b"NCHK"
RESPONSE_MAGIC = b"NCHR"
VERSION = 2
FLAG_HMAC = 0x01
FLAG_BUSY = 0x02
NONCE_BYTES = 16
MAC_BYTES = 32
_HEADER = struct.Struct("!4sBB16s")
_RESPONSE = struct.Struct("!4sBB16s16sH")
REQUEST_BYTES = _HEADER.size
RESPONSE_BYTES = _RESPONSE.size
MAX_RESPONSE_BYTES = RESPONSE_BYTES + MAC_BYTES


def encode_request(nonce: bytes) -> bytes:
    return _HEADER.pack(MAGIC, VERSION, 0, nonce)


def parse_request(data: bytes) -> bytes | None:
    """The nonce of a well-formed request; None for anything else."""
    if len(data) != _HEADER.size:
        return None
    magic, version, _flags, nonce = _HEADER.unpack(data)
    return nonce if magic == MAGIC and version == VERSION else None


def pack_address(address: str) -> bytes:
    """An address as 16 bytes (IPv4 as IPv4-mapped IPv6, zone ids dropped); zeros for what is not an address."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return bytes(16)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (ipaddress.IPv6Address(b"\x00" * 10 + b"\xff\xff" + ip.packed) if ip.version == 4 else ip).packed


def unpack_address(packed: bytes) -> str:
    ip = ipaddress.IPv6Address(packed)
    return str(ip.ipv4_mapped or ip)


def mac(token: bytes, header: bytes) -> bytes:
    return hmac.new(token, header, hashlib.sha256).digest()


def encode_response(nonce: bytes, address: str, port: int, token: bytes | None) -> bytes:
    """The answer to `nonce`, as reached at `address`:`port` (the connection's local end)."""
    flags = FLAG_HMAC if token is not None else 0
    header = _RESPONSE.pack(RESPONSE_MAGIC, VERSION, flags, nonce, pack_address(address), port)
    return header + mac(token, header) if token is not None else header


def encode_busy() -> bytes:
    """The answer of a responder at its connection limit: it has not read the request."""
    return _RESPONSE.pack(RESPONSE_MAGIC, VERSION, FLAG_BUSY, bytes(NONCE_BYTES), bytes(16), 0)


NO_TOKEN = "the responder runs without a token"  # noqa: S105 - a message, not a secret
WRONG_TOKEN = "the responder's token differs (failed token check)"  # noqa: S105 - a message, not a secret
BUSY = "the responder is busy (its connection limit is reached)"


def redirected(answered_as: str) -> str:
    return f"the responder was reached at {answered_as}, not at the address dialled (a NAT or port forward redirects)"


def parse_response(  # noqa: PLR0911 - one return per outcome of the wire format
    data: bytes, nonce: bytes, address: str, port: int, token: bytes | None
) -> ResponderAnswer | None:
    """None unless `data` is a responder's answer to this very nonce (or a responder's busy answer)."""
    if len(data) < RESPONSE_BYTES:
        return None
    magic, version, flags, echoed, seen, seen_port = _RESPONSE.unpack_from(data)
    if magic != RESPONSE_MAGIC or version != VERSION:
        return None
    if flags & FLAG_BUSY:
        return ResponderAnswer(False, False if token is not None else None, busy=True, problem=BUSY)
    if not hmac.compare_digest(echoed, nonce):
        return None
    seen_text = unpack_address(seen)
    answered_as = f"[{seen_text}]:{seen_port}" if ":" in seen_text else f"{seen_text}:{seen_port}"
    moved = (seen, seen_port) != (pack_address(address), port)
    problem = redirected(answered_as) if moved else ""
    if not flags & FLAG_HMAC:
        if token is not None:
            problem = problem or NO_TOKEN
        verified = False if token is not None else None
        return ResponderAnswer(False, verified, answered_as=answered_as, problem=problem, redirected=moved)
    tag = data[RESPONSE_BYTES : RESPONSE_BYTES + MAC_BYTES]
    if len(tag) != MAC_BYTES:
        return None
    if token is None:
        return ResponderAnswer(True, None, answered_as=answered_as, problem=problem, redirected=moved)
    if not hmac.compare_digest(tag, mac(token, data[:RESPONSE_BYTES])):
        return ResponderAnswer(True, False, answered_as=answered_as, problem=WRONG_TOKEN)
    return ResponderAnswer(True, not moved, answered_as=answered_as, problem=problem, redirected=moved)


async def responder_handshake(address: str, port: int, timeout_s: float, token: bytes | None) -> ResponderAnswer | None:
    """Ask address:port for the handshake; None when what answers is not a netcheck responder."""
    nonce = os.urandom(NONCE_BYTES)
    writer: asyncio.StreamWriter | None = None
    data = b""
    try:
        async with asyncio.timeout(timeout_s):  # one deadline for the whole exchange: a slow drip cannot stretch it
            reader, writer = await asyncio.open_connection(address, port)
            writer.write(encode_request(nonce))
            await writer.drain()
            while len(data) < MAX_RESPONSE_BYTES:
                chunk = await reader.read(MAX_RESPONSE_BYTES - len(data))
                if not chunk:
                    break
                data += chunk
                if len(data) >= RESPONSE_BYTES and not data[5] & FLAG_HMAC:
                    break  # no HMAC follows
    except (TimeoutError, OSError):
        if writer is None:
            raise
        return None
    finally:
        if writer is not None:
            writer.close()
    return parse_response(data, nonce, address, port, token)
