"""The client side of the netcheck responder handshake (see netcheck/handshake.py)."""

from __future__ import annotations

import asyncio
import os

from netcheck.handshake import (
    FLAG_HMAC,
    MAX_RESPONSE_BYTES,
    NONCE_BYTES,
    RESPONSE_BYTES,
    ResponderAnswer,
    encode_request,
    parse_response,
)


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
