"""Service probes against hostile servers started on loopback: slow drips, endless banners, overlong lines.

Each probe has one deadline for its whole exchange; the time bounds asserted here are generous multiples of it
(they guard against "hours", not against a slow CI machine)."""

from __future__ import annotations

import asyncio
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from netcheck.classify.services import classify_service, responder_note
from netcheck.handshake import responder_handshake
from netcheck.model.checks import Check, Target
from netcheck.model.kinds import AgentOS, Kind, Role, Verdict
from netcheck.model.matrix import PortKey
from netcheck.model.observations import ResponderAnswer, ServiceAnswer
from netcheck.observe.probes import smb
from netcheck.observe.probes.service import identify_service
from netcheck.observe.probes.ssh import MAX_IDENT_BYTES, read_banner
from netcheck.observe.probes.tls import tls_handshake
from netcheck.report.json import service_to_dict
from netcheck.responder import ListenOptions, Responder

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
    answer, took = asyncio.run(serve(endless_banner, lambda p: identify_service(PortKey.SSH, "127.0.0.1", p, 5, None)))
    evidence = service_to_dict(answer)
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


# The responder: an echo server, a wrong token, a busy responder, a port forward to another responder.


INSTALL = Check(
    "service:console->w:25001",
    Kind.SERVICE,
    Role.CONSOLE,
    Target("w", Role.AGENT, AgentOS.WINDOWS),
    25001,
    port_key=PortKey.INSTALL,
)


def verdict_of(answer: ServiceAnswer) -> tuple[Verdict, str]:
    result = classify_service(INSTALL, answer, expect_responder=True, now=datetime.now(UTC))
    return result.verdict, result.detail


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(1024):
        writer.write(data)
        await writer.drain()


@pytest.mark.parametrize("token", [None, b"s3cret"])
def test_an_echo_server_is_not_a_responder(token: bytes | None) -> None:
    answer, _took = asyncio.run(serve(echo, lambda p: identify_service(PortKey.INSTALL, "127.0.0.1", p, 1, token)))
    assert service_to_dict(answer)["protocol"] == "unknown"
    verdict, detail = verdict_of(answer)
    assert verdict is Verdict.WARN and "verified" not in detail


async def with_responder(token: bytes | None, probe: Callable[[int], Awaitable[Any]], max_connections: int = 8) -> Any:
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    responder = Responder(ListenOptions((port,), 30, token, "127.0.0.1", max_connections, idle_timeout_s=5), lambda event: None)
    task = asyncio.ensure_future(responder.run())
    while not responder.bound and not task.done():
        await asyncio.sleep(0.02)
    try:
        return await probe(port)
    finally:
        responder.stop()
        await task


def test_a_wrong_token_fails_and_the_link_says_not_verified() -> None:
    wrong = asyncio.run(with_responder(b"s3cret", lambda p: identify_service(PortKey.INSTALL, "127.0.0.1", p, 1, b"other")))
    assert isinstance(wrong, ResponderAnswer)
    verdict, detail = verdict_of(wrong)
    assert verdict is Verdict.FAIL and "failed token check" in detail
    assert "NOT verified" in responder_note(wrong) and "(verified end to end)" not in responder_note(wrong)
    right = asyncio.run(with_responder(b"s3cret", lambda p: identify_service(PortKey.INSTALL, "127.0.0.1", p, 1, b"s3cret")))
    assert isinstance(right, ResponderAnswer)
    assert verdict_of(right)[0] is Verdict.PASS and responder_note(right).endswith("(verified end to end)")


def test_a_busy_responder_says_busy() -> None:
    async def probe(port: int) -> ServiceAnswer:
        _reader, holder = await asyncio.open_connection("127.0.0.1", port)  # takes the only slot, sends nothing
        await asyncio.sleep(0.1)
        try:
            return await identify_service(PortKey.INSTALL, "127.0.0.1", port, 1, b"s3cret")
        finally:
            holder.close()

    answer = asyncio.run(with_responder(b"s3cret", probe, max_connections=1))
    verdict, detail = verdict_of(answer)
    assert service_to_dict(answer).get("busy") is True
    assert verdict is Verdict.WARN and "busy" in detail and "another program" not in detail


def test_a_port_forward_to_another_responder_does_not_verify() -> None:
    """What a DNAT does, on loopback: the dialled port forwards to a responder that shares the token."""

    async def probe(responder_port: int) -> ServiceAnswer:
        async def forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", responder_port)
            up_writer.write(await reader.read(22))
            await up_writer.drain()
            writer.write(await up_reader.read(100))
            await writer.drain()
            up_writer.close()

        answer, _took = await serve(forward, lambda p: identify_service(PortKey.INSTALL, "127.0.0.1", p, 1, b"s3cret"))
        return answer  # type: ignore[no-any-return]

    answer = asyncio.run(with_responder(b"s3cret", probe))
    evidence = service_to_dict(answer)
    assert evidence["protocol"] == "netcheck-responder" and evidence["verified"] is False
    assert evidence["redirected"] is True
    verdict, detail = verdict_of(answer)
    assert verdict is Verdict.FAIL and "not at the address dialled" in detail


# TLS: a server that speaks only TLS 1.0, which this machine's OpenSSL refuses.


def legacy_tls_server(tmp_path: Path, alert_only: bool) -> int:
    """A loopback server speaking only TLS 1.0 (or answering every ClientHello with a protocol_version alert)."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
         "-subj", "/CN=old.lab.test"],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.minimum_version = context.maximum_version = ssl.TLSVersion.MINIMUM_SUPPORTED  # TLS 1.0
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    listener = socket.create_server(("127.0.0.1", 0))

    def serve_forever() -> None:
        while True:
            conn, _peer = listener.accept()
            with conn:
                try:
                    if alert_only:
                        conn.recv(4096)
                        conn.sendall(bytes.fromhex("15030100020246"))  # alert: fatal, protocol_version
                        continue
                    with context.wrap_socket(conn, server_side=True) as tls:
                        tls.recv(1)
                except OSError:
                    continue

    threading.Thread(target=serve_forever, daemon=True).start()
    return int(listener.getsockname()[1])


@pytest.mark.parametrize(("alert_only", "version"), [(False, "TLSv1"), (True, "an old version")])
def test_a_tls_1_0_only_server_is_tls_with_versions_this_machine_refuses(tmp_path: Path, alert_only: bool, version: str) -> None:
    port = legacy_tls_server(tmp_path, alert_only)
    answer = asyncio.run(identify_service(PortKey.PRODUCT, "127.0.0.1", port, 2, None))
    evidence = service_to_dict(answer)
    assert evidence["protocol"] == "tls" and "refuses" in evidence["version_refused"]
    product = Check(
        "service:console->ms:9876",
        Kind.SERVICE,
        Role.CONSOLE,
        Target("ms", Role.MANAGEMENT_SERVER),
        9876,
        port_key=PortKey.PRODUCT,
    )
    result = classify_service(product, answer, expect_responder=False, now=datetime.now(UTC))
    assert result.verdict is Verdict.WARN
    assert f"TLS, but only versions this machine refuses: the server speaks {version}" in result.detail
    assert "neither TLS" not in result.detail
