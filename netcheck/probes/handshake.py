"""The client side of the netcheck responder handshake (see netcheck/handshake.py)."""

from __future__ import annotations

import asyncio
import os

from netcheck.handshake import MAX_RESPONSE_BYTES, NONCE_BYTES, REQUEST_BYTES, ResponderAnswer, encode_request, parse_response


async def responder_handshake(address: str, port: int, timeout_s: float, token: bytes | None) -> ResponderAnswer | None:
    """Ask address:port for the handshake; None when what answers is not a netcheck responder."""
    nonce = os.urandom(NONCE_BYTES)
    reader, writer = await asyncio.wait_for(asyncio.open_connection(address, port), timeout_s)
    try:
        writer.write(encode_request(nonce))
        await writer.drain()
        data = b""
        while len(data) < MAX_RESPONSE_BYTES:
            chunk = await asyncio.wait_for(reader.read(MAX_RESPONSE_BYTES - len(data)), timeout_s)
            if not chunk:
                break
            data += chunk
            if len(data) >= REQUEST_BYTES and not data[5] & 0x01:
                break  # no HMAC follows
    except (TimeoutError, OSError):
        return None
    finally:
        writer.close()
    return parse_response(data, nonce, port, token)
