"""The netcheck responder handshake: proves that the far end of a link is `netcheck listen`, not a firewall.

Request  (22 bytes): magic "NCHK", version 1, flags 0, a 16-byte random nonce.
Response (22 bytes, +32 with a token): magic, version, flags (bit 0: an HMAC follows), the nonce echoed, and
with a token HMAC-SHA256(token, magic + nonce + port). Without a token the responder reveals nothing but the
magic and the caller's own nonce; with one, the caller can check that both sides share it.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from dataclasses import dataclass

MAGIC = b"NCHK"
VERSION = 1
FLAG_HMAC = 0x01
NONCE_BYTES = 16
MAC_BYTES = 32
_HEADER = struct.Struct("!4sBB16s")
REQUEST_BYTES = _HEADER.size
MAX_RESPONSE_BYTES = _HEADER.size + MAC_BYTES


def encode_request(nonce: bytes) -> bytes:
    return _HEADER.pack(MAGIC, VERSION, 0, nonce)


def parse_request(data: bytes) -> bytes | None:
    """The nonce of a well-formed request; None for anything else."""
    if len(data) != _HEADER.size:
        return None
    magic, version, _flags, nonce = _HEADER.unpack(data)
    return nonce if magic == MAGIC and version == VERSION else None


def mac(token: bytes, nonce: bytes, port: int) -> bytes:
    return hmac.new(token, MAGIC + nonce + port.to_bytes(2, "big"), hashlib.sha256).digest()


def encode_response(nonce: bytes, port: int, token: bytes | None) -> bytes:
    if token is None:
        return _HEADER.pack(MAGIC, VERSION, 0, nonce)
    return _HEADER.pack(MAGIC, VERSION, FLAG_HMAC, nonce) + mac(token, nonce, port)


@dataclass(frozen=True)
class ResponderAnswer:
    """A responder's answer: `verified` is True/False when the caller had a token to check, else None."""

    authenticated: bool
    verified: bool | None

    def as_evidence(self) -> dict[str, object]:
        return {"answered": True, "authenticated": self.authenticated, "verified": self.verified}


def parse_response(data: bytes, nonce: bytes, port: int, token: bytes | None) -> ResponderAnswer | None:
    """None unless `data` is a responder's answer to this very nonce."""
    if len(data) < _HEADER.size:
        return None
    magic, version, flags, echoed = _HEADER.unpack_from(data)
    if magic != MAGIC or version != VERSION or not hmac.compare_digest(echoed, nonce):
        return None
    if not flags & FLAG_HMAC:
        return ResponderAnswer(authenticated=False, verified=False if token is not None else None)
    tag = data[_HEADER.size : _HEADER.size + MAC_BYTES]
    if len(tag) != MAC_BYTES:
        return None
    verified = hmac.compare_digest(tag, mac(token, nonce, port)) if token is not None else None
    return ResponderAnswer(authenticated=True, verified=verified)
