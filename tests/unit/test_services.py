"""Service identity codecs on captured bytes, the responder handshake, the service verdicts, and the
responder itself on loopback (garbage, a flood, a real handshake afterwards)."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netcheck import handshake
from netcheck.classify import classify_service
from netcheck.handshake import responder_handshake
from netcheck.model.checks import Check, Target
from netcheck.model.kinds import AgentOS, Kind, Role, Verdict
from netcheck.model.matrix import PortKey
from netcheck.model.observations import (
    Certificate,
    ResponderAnswer,
    ServiceAnswer,
    ServiceFailure,
    SmbIdentity,
    SshBanner,
    TlsSession,
    UnknownService,
)
from netcheck.observe.probes import smb
from netcheck.observe.probes.ssh import parse_banner
from netcheck.observe.probes.tls import parse_certificate
from netcheck.report.json import service_to_dict
from netcheck.responder import ListenOptions, PeerEvent, Responder

FIXTURES = Path(__file__).parent / "fixtures"


def hex_fixture(name: str) -> bytes:
    return bytes.fromhex((FIXTURES / name).read_text().strip())


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n", ("2.0", "OpenSSH_9.2p1", "Debian-2+deb12u3", "OpenSSH 9.2p1")),
        (b"Welcome\r\nplease wait\r\nSSH-2.0-dropbear_2022.83\r\n", ("2.0", "dropbear_2022.83", "", "dropbear 2022.83")),
        (b"SSH-1.99-Cisco-1.25\n", ("1.99", "Cisco-1.25", "", "Cisco-1.25")),
    ],
)
def test_ssh_banners(data: bytes, expected: tuple[str, str, str, str]) -> None:
    banner = parse_banner(data)
    assert banner is not None
    assert (banner.protocol, banner.software, banner.comments, banner.product) == expected


@pytest.mark.parametrize("data", [b"", b"HTTP/1.1 400 Bad Request\r\n", b"220 mail ESMTP\r\n", b"SSH-\r\n"])
def test_not_ssh(data: bytes) -> None:
    assert parse_banner(data) is None


def test_smb_negotiate_responses_captured_from_smbd() -> None:
    strict = smb.parse_negotiate(hex_fixture("smb_strict_negotiate_311.hex"))
    assert strict is not None and strict.dialect == 0x0311 and strict.status == 0
    assert strict.security_mode & smb.SIGNING_REQUIRED and strict.ciphers == (2,)
    strict30 = smb.parse_negotiate(hex_fixture("smb_strict_negotiate_300.hex"))
    assert strict30 is not None and strict30.capabilities & smb.CAP_ENCRYPTION
    legacy = smb.parse_negotiate(hex_fixture("smb_legacy_negotiate_210.hex"))
    assert legacy is not None and legacy.dialect == 0x0210 and not legacy.security_mode & smb.SIGNING_REQUIRED
    refused = smb.parse_negotiate(hex_fixture("smb_legacy_negotiate_311_refused.hex"))
    assert refused is not None and refused.status == 0xC00000BB  # STATUS_NOT_SUPPORTED
    assert smb.parse_negotiate(b"HTTP/1.0 200 OK\r\n") is None
    assert not smb.smb1_accepted(hex_fixture("smb1_negotiate_refused.hex"))


def test_smb1_accepted_response() -> None:
    header = b"\xffSMB\x72" + b"\x00" * 4 + b"\x98" + b"\x00" * 22
    assert smb.smb1_accepted(header + b"\x11" + struct.pack("<H", 0) + b"\x00" * 40)
    assert not smb.smb1_accepted(header + b"\x01" + struct.pack("<H", 0xFFFF))


def test_summarize_smb() -> None:
    strict = smb.parse_negotiate(hex_fixture("smb_strict_negotiate_311.hex"))
    legacy = smb.parse_negotiate(hex_fixture("smb_legacy_negotiate_210.hex"))
    refused = smb.parse_negotiate(hex_fixture("smb_legacy_negotiate_311_refused.hex"))
    assert smb.summarize([strict], smb1=False) == smb.SmbIdentity(True, ("3.1.1",), False, True, True, ("AES-128-GCM",))
    assert smb.summarize([legacy, refused, None], smb1=True) == smb.SmbIdentity(True, ("2.1",), True, False, False, ())
    assert smb.summarize([None, None], smb1=False).is_smb is False


@given(st.binary(max_size=200))
def test_smb_codecs_never_raise(data: bytes) -> None:
    smb.parse_negotiate(b"\xfeSMB" + data)
    smb.smb1_accepted(data)


def test_certificate() -> None:
    cert = parse_certificate((FIXTURES / "tls_cert_ms_lab_test.der").read_bytes())
    assert cert is not None
    assert cert.subject == "CN=ms.lab.test, O=netcheck lab"
    assert cert.not_after is not None and cert.not_after.year >= 2026
    assert parse_certificate(b"\x30\x03garbage") is None


NONCE = bytes(range(16))


def test_handshake_round_trips() -> None:
    request = handshake.encode_request(NONCE)
    assert len(request) == handshake.REQUEST_BYTES and handshake.parse_request(request) == NONCE
    at = ("198.18.0.31", 25001)
    plain = handshake.encode_response(NONCE, *at, None)
    assert handshake.parse_response(plain, NONCE, *at, None) == handshake.ResponderAnswer(
        False, None, answered_as="198.18.0.31:25001"
    )
    assert handshake.parse_response(plain, NONCE, *at, b"t") == handshake.ResponderAnswer(
        False, False, answered_as="198.18.0.31:25001", problem=handshake.NO_TOKEN
    )
    signed = handshake.encode_response(NONCE, *at, b"s3cret")
    good = handshake.parse_response(signed, NONCE, *at, b"s3cret")
    assert good is not None and good.verified is True and good.authenticated and not good.problem
    wrong = handshake.parse_response(signed, NONCE, *at, b"other")
    assert wrong is not None and wrong.verified is False and wrong.problem == handshake.WRONG_TOKEN
    other_port = handshake.parse_response(signed, NONCE, "198.18.0.31", 9876, b"s3cret")
    assert other_port is not None and other_port.verified is False and "redirects" in other_port.problem
    anonymous = handshake.parse_response(signed, NONCE, *at, None)
    assert anonymous is not None and anonymous.verified is None and anonymous.authenticated
    assert handshake.parse_response(signed, bytes(16), *at, b"s3cret") is None  # someone else's nonce
    assert b"s3cret" not in signed and len(plain) == handshake.RESPONSE_BYTES  # reveals nothing but the magic


def test_an_echo_is_not_a_responder() -> None:
    """Without a token the reply still differs from the request: an echo server never passes."""
    request = handshake.encode_request(NONCE)
    assert handshake.parse_response(request, NONCE, "127.0.0.1", 25001, None) is None
    assert handshake.parse_response(request + request, NONCE, "127.0.0.1", 25001, None) is None


def test_the_mac_covers_the_address_dialled() -> None:
    """A DNAT that sends 198.18.0.31's link to another agent's responder (same token) does not verify."""
    elsewhere = handshake.encode_response(NONCE, "198.18.0.41", 25001, b"s3cret")
    answer = handshake.parse_response(elsewhere, NONCE, "198.18.0.31", 25001, b"s3cret")
    assert answer is not None and answer.verified is False
    assert "reached at 198.18.0.41:25001, not at the address dialled" in answer.problem
    forged = bytearray(elsewhere)
    forged[22:38] = handshake.pack_address("198.18.0.31")  # rewrite the address: the MAC no longer checks
    answer = handshake.parse_response(bytes(forged), NONCE, "198.18.0.31", 25001, b"s3cret")
    assert answer is not None and answer.verified is False and answer.problem == handshake.WRONG_TOKEN
    mapped = handshake.encode_response(NONCE, "::ffff:198.18.0.31", 25001, b"s3cret")
    answer = handshake.parse_response(mapped, NONCE, "198.18.0.31", 25001, b"s3cret")
    assert answer is not None and answer.verified is True  # a dual-stack socket's view of the same address


def test_busy_answer_never_verifies() -> None:
    answer = handshake.parse_response(handshake.encode_busy(), NONCE, "127.0.0.1", 25001, b"s3cret")
    assert answer is not None and answer.busy and answer.verified is False


@given(st.binary(max_size=80))
def test_handshake_parsers_never_raise(data: bytes) -> None:
    assert handshake.parse_request(data) is None or len(data) == handshake.REQUEST_BYTES
    answer = handshake.parse_response(data, NONCE, "127.0.0.1", 1, b"t")
    assert answer is None or data.startswith(handshake.RESPONSE_MAGIC)
    assert answer is None or answer.verified is not True  # random bytes never carry a valid MAC


CHECK = Check("service:console->w:445", Kind.SERVICE, Role.CONSOLE, Target("w", Role.AGENT, AgentOS.WINDOWS), 445, "files", True)
NOW = datetime(2026, 11, 25, tzinfo=UTC)


KEYS = {22: PortKey.SSH, 445: PortKey.SMB, 9876: PortKey.PRODUCT, 25001: PortKey.INSTALL}
EXPIRES = datetime(2027, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("port", "answer", "expect", "verdict", "text"),
    [
        (22, SshBanner("2.0", "OpenSSH_9.2p1", ""), False, Verdict.PASS, "SSH 2.0: OpenSSH 9.2p1"),
        (22, UnknownService(), False, Verdict.WARN, "not with an SSH identification string"),
        (445, SmbIdentity(True, ("2.0.2", "3.1.1"), False, True, True, ("AES-128-GCM",)),
         False, Verdict.PASS, "SMB 3.1.1 (dialects 2.0.2, 3.1.1); signing required; encryption capable (AES-128-GCM)"),
        (445, SmbIdentity(True, ("2.1",), True, False, False, ()),
         False, Verdict.WARN, "SMB 2.1 (dialects 2.1); signing not required; no encryption; SMB1 is enabled too"),
        (445, SmbIdentity(True, (), True, None, False, ()), False, Verdict.FAIL, "SMB1 only"),
        (445, SmbIdentity(False, (), False, None, False, ()), False, Verdict.FAIL, "no SMB dialect"),
        (9876, TlsSession("TLSv1.3", "TLS_AES_256_GCM_SHA384", Certificate("CN=ms", "CN=ms", EXPIRES)),
         False, Verdict.PASS, "TLSv1.3 (TLS_AES_256_GCM_SHA384); certificate CN=ms, expires 2027-01-01"),
        (9876, TlsSession("TLSv1.2", "x", Certificate("CN=ms", "CN=ms", datetime(2026, 1, 1, tzinfo=UTC))),
         False, Verdict.WARN, "expired 2026-01-01"),
        (9876, UnknownService(), False, Verdict.WARN, "neither TLS nor the netcheck handshake"),
        (25001, UnknownService(), True, Verdict.WARN, "the netcheck responder did not answer"),
        (25001, ResponderAnswer(True, True), True, Verdict.PASS, "verified end to end (shared token checked)"),
        (25001, ResponderAnswer(False, None), False, Verdict.PASS, "no token to authenticate it"),
        (25001, ResponderAnswer(True, False, problem=handshake.WRONG_TOKEN), True, Verdict.FAIL,
         "failed token check): not verified"),
        (25001, ResponderAnswer(False, False, problem=handshake.NO_TOKEN), True, Verdict.FAIL,
         "runs without a token: not verified"),
        (25001, ResponderAnswer(False, None, problem=handshake.redirected("198.18.0.41:25001"), redirected=True),
         False, Verdict.FAIL, "reached at 198.18.0.41:25001, not at the address dialled"),
        (25001, ResponderAnswer(False, False, busy=True), True, Verdict.WARN, "busy"),
        (25001, ServiceFailure("boom"), False, Verdict.ERROR, "could not identify the service: boom"),
    ],
)  # fmt: skip
def test_service_verdicts(port: int, answer: ServiceAnswer, expect: bool, verdict: Verdict, text: str) -> None:
    check = Check(CHECK.id, Kind.SERVICE, CHECK.source, CHECK.target, port, port_key=KEYS[port])
    result = classify_service(check, answer, expect_responder=expect, now=NOW)
    assert result.verdict is verdict
    assert text in result.detail
    if verdict in (Verdict.FAIL, Verdict.WARN):
        assert result.remediation


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _flood_then_handshake(port: int, events: list[PeerEvent]) -> tuple[Any, Any, Any, int]:
    options = ListenOptions((port,), duration_s=60, token=b"s3cret", bind="127.0.0.1", max_connections=32, idle_timeout_s=0.5)
    responder = Responder(options, events.append)
    server = asyncio.ensure_future(responder.run())
    for _ in range(50):
        if responder.bound:
            break
        await asyncio.sleep(0.05)
    assert responder.bound == [port]

    async def garbage() -> bool:
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return False  # a full backlog refuses: what a bounded listener may do
        try:
            writer.write(os.urandom(random.randint(0, 4096)))
            await writer.drain()
        except OSError:
            pass  # the responder may hang up first
        writer.close()
        return True

    connected = sum(await asyncio.gather(*(garbage() for _ in range(500))))
    await asyncio.sleep(0.7)  # let idle peers time out
    good = await responder_handshake("127.0.0.1", port, 2, b"s3cret")
    wrong = await responder_handshake("127.0.0.1", port, 2, b"other")
    anonymous = await responder_handshake("127.0.0.1", port, 2, None)
    responder.stop()
    await server
    return good, wrong, anonymous, connected


def test_responder_survives_a_flood_and_still_answers() -> None:
    events: list[PeerEvent] = []
    good, wrong, anonymous, connected = asyncio.run(_flood_then_handshake(free_port(), events))
    assert (good.authenticated, good.verified) == (True, True)
    assert (wrong.authenticated, wrong.verified) == (True, False)
    assert (anonymous.authenticated, anonymous.verified) == (True, None)
    outcomes = [e.outcome for e in events]
    assert outcomes.count("handshake") == 3
    # Peers beyond the accept backlog are dropped by the kernel (their client still believes it connected),
    # so the responder sees at most `connected` of them, and at least a backlog's worth.
    assert 32 <= len(outcomes) - 3 <= connected
    assert {"garbage", "closed", "idle", "busy"} >= set(outcomes) - {"handshake"}
    assert all(e.peer == "127.0.0.1" and e.peer_port > 0 for e in events)
    linux_range = [e for e in events if 32768 <= e.peer_port <= 60999]
    assert all("Linux and the virtual appliance" in e.source_ranges for e in linux_range)


def test_listen_stops_cleanly_on_ctrl_c_and_writes_nothing_unasked(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "netcheck", "listen", "--port", str(port), "--bind", "127.0.0.1", "--duration", "60"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(Path(handshake.__file__).parents[1])},  # this checkout, not another install
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        answer = None
        while answer is None and time.monotonic() < deadline:
            try:
                answer = asyncio.run(responder_handshake("127.0.0.1", port, 1, None))
            except OSError:
                time.sleep(0.1)
        assert answer == handshake.ResponderAnswer(False, None, answered_as=f"127.0.0.1:{port}")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert f"listening on 127.0.0.1 port {port}" in out
    assert "127.0.0.1:" in out and f"-> {port} handshake" in out
    assert "responder stopped after" in out and "1 handshake" in out
    assert list(tmp_path.iterdir()) == []  # nothing written to disk without --log


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (ResponderAnswer(False, False, busy=True, problem=handshake.BUSY),
         {"verified": False, "busy": True, "problem": handshake.BUSY}),
        (ResponderAnswer(True, False, answered_as="198.18.0.41:25001", problem=handshake.redirected("198.18.0.41:25001"),
                         redirected=True),
         {"verified": False, "answered_as": "198.18.0.41:25001", "redirected": True}),
        (ResponderAnswer(True, True, answered_as="198.18.0.31:25001"),
         {"verified": True, "answered_as": "198.18.0.31:25001"}),
        (TlsSession("TLSv1", "x", None, "this machine's TLS library refuses the versions the server offers (X)"),
         {"protocol": "tls", "tls_version": "TLSv1", "version_refused": "this machine's TLS library refuses the versions the server offers (X)"}),
        (UnknownService(first_bytes="SSH-2.0-" + "x" * 100, ssh_problem="identification line never ended (no line feed in time)"),
         {"protocol": "unknown", "ssh_problem": "identification line never ended (no line feed in time)"}),
    ],
)  # fmt: skip
def test_the_json_evidence_says_what_the_typed_answer_holds(answer: ServiceAnswer, expected: dict[str, Any]) -> None:
    data = service_to_dict(answer)
    assert {key: data.get(key) for key in expected} == expected
    if not isinstance(answer, ResponderAnswer) or not answer.busy:
        assert "busy" not in data  # optional keys are left out when unset
    if isinstance(answer, ResponderAnswer) and not answer.redirected:
        assert "redirected" not in data


def test_a_custom_ssh_port_that_does_not_end_its_banner_gets_the_ssh_advice_with_the_reason() -> None:
    """Issue 14 #6: [ports] ssh = 2222 keeps the SSH message (never the product port's TLS one)."""
    check = Check(CHECK.id, Kind.SERVICE, CHECK.source, CHECK.target, 2222, port_key=PortKey.SSH)
    answer = UnknownService(first_bytes="SSH-2.0-drip", ssh_problem="identification line never ended (no line feed in time)")
    result = classify_service(check, answer, expect_responder=False, now=NOW)
    assert result.verdict is Verdict.WARN
    assert "port 2222 answers, but not with an SSH identification string (identification line never ended" in result.detail
    assert "TLS" not in result.detail and "sshd" in result.remediation
