"""Service probes against hostile servers started on loopback: slow drips, endless banners, overlong lines.

Each probe has one deadline for its whole exchange; the time bounds asserted here are generous multiples of it
(they guard against "hours", not against a slow CI machine)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from netcheck.probes import smb
from netcheck.probes.handshake import responder_handshake
from netcheck.probes.service import identify_service
from netcheck.probes.ssh import MAX_IDENT_BYTES, read_banner
from netcheck.probes.tls import tls_handshake

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def serve(handler: Handler, probe: Callable[[int], Awaitable[Any]]) -> tuple[Any, float]:
    """Run `handler` on a loopback port, then `probe(port)`; (its result, seconds it took)."""

    async def guarded(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handler(reader, writer)
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(guarded, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    started = time.monotonic()
    try:
        result = await probe(port)
    finally:
        server.close()
    return result, time.monotonic() - started


async def drip(prefix: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Send `prefix`, then one byte every 0.4 s, forever."""
    writer.write(prefix)
    while True:
        await writer.drain()
        await asyncio.sleep(0.4)
        writer.write(b"A")


async def ssh_drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await drip(b"SSH-2.0-", reader, writer)


async def endless_banner(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"SSH-2.0-OpenSSH_9.2p1")
    for _ in range(200):
        writer.write(b"A" * 4096)
        await writer.drain()
    await asyncio.sleep(30)


def sends(data: bytes) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(data)
        await writer.drain()
        await asyncio.sleep(30)

    return handler


def test_ssh_slow_drip_is_cut_by_one_deadline() -> None:
    (banner, raw, problem), took = asyncio.run(serve(ssh_drip, lambda p: read_banner("127.0.0.1", p, 0.5)))
    assert banner is None
    assert raw.startswith(b"SSH-2.0-") and "never ended" in problem
    assert took < 3  # one deadline for the whole probe, not 0.5 s per byte


def test_ssh_endless_banner_without_newline_is_not_ssh() -> None:
    evidence, took = asyncio.run(serve(endless_banner, lambda p: identify_service("ssh", "127.0.0.1", p, 5, None)))
    assert evidence["protocol"] == "unknown"
    assert "longer than 255 bytes" in evidence["ssh_problem"]
    assert len(evidence["first_bytes"]) <= 200
    assert took < 3  # stops reading at the RFC's bound, does not wait for the deadline


@pytest.mark.parametrize(
    ("data", "ssh", "problem"),
    [
        (b"SSH-2.0-OpenSSH_9.2p1 " + b"x" * (MAX_IDENT_BYTES - 24) + b"\r\n", True, ""),
        (b"SSH-2.0-OpenSSH_9.2p1 " + b"x" * MAX_IDENT_BYTES + b"\r\n", False, "longer than 255 bytes"),
        (b"Welcome\r\n" * 50 + b"SSH-2.0-dropbear_2022.83\r\n", True, ""),
        (b"Welcome to a very chatty server\r\n" * 400, False, "no identification line in the first 8192 bytes"),
    ],
)
def test_ssh_identification_line_bounds(data: bytes, ssh: bool, problem: str) -> None:
    (banner, _raw, said), took = asyncio.run(serve(sends(data), lambda p: read_banner("127.0.0.1", p, 5)))
    assert (banner is not None) is ssh
    assert problem in said and (said == "") is ssh
    assert took < 3


def test_smb_drip_is_cut_by_one_deadline() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)
        await drip(b"\x00\x00\x01\x00\xfeSMB", reader, writer)  # announces 256 bytes, then drips them

    identity, took = asyncio.run(serve(handler, lambda p: smb.identify_smb("127.0.0.1", p, 0.5)))
    assert identity.is_smb is False
    assert took < 3


def test_responder_handshake_drip_is_cut_by_one_deadline() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)
        await drip(b"NCHK", reader, writer)

    answer, took = asyncio.run(serve(handler, lambda p: responder_handshake("127.0.0.1", p, 0.5, None)))
    assert answer is None
    assert took < 3


def test_tls_silent_server_is_cut_by_one_deadline() -> None:
    async def probe(port: int) -> str:
        try:
            await tls_handshake("127.0.0.1", port, 0.5)
        except TimeoutError:
            return "timeout"
        return "handshake"

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await drip(b"\x16\x03\x01\x00\xff", reader, writer)  # a TLS record header, then a drip

    outcome, took = asyncio.run(serve(handler, probe))
    assert outcome == "timeout"
    assert took < 3
