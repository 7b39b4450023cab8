"""SMB on TCP 445: which dialects the server speaks, whether it requires signing, whether it can encrypt.

One NEGOTIATE per SMB2/3 dialect (a server answers a negotiate with one dialect, so listing them takes one
connection each, as nmap's smb-protocols does) plus one SMB1 negotiate for "NT LM 0.12". scapy's SMB and SMB2
layers build and parse the packets; the NetBIOS session header (RFC 1002) frames them on TCP.
The product's documentation: traffic encryption on 445 depends on the File and Printer Sharing options, so it
is reported.
"""

from __future__ import annotations

import asyncio
import os
import struct
from collections.abc import Iterable
from typing import Any

from netcheck.model.observations import SmbIdentity
from netcheck.model.record import record
from netcheck.observe.probes.scapy_env import quiet_scapy

DIALECTS: dict[int, str] = {0x0202: "2.0.2", 0x0210: "2.1", 0x0300: "3.0", 0x0302: "3.0.2", 0x0311: "3.1.1"}
SIGNING_ENABLED = 0x01
SIGNING_REQUIRED = 0x02
CAP_ENCRYPTION = 0x40
CIPHERS = {1: "AES-128-CCM", 2: "AES-128-GCM", 3: "AES-256-CCM", 4: "AES-256-GCM"}
MAX_MESSAGE = 64 * 1024  # a negotiate response is a few hundred bytes; refuse to buffer more


def _smb2() -> Any:
    quiet_scapy()
    from scapy.layers import smb2  # noqa: PLC0415 - scapy is slow to import; only service checks need it

    return smb2


@record
class Negotiation:
    """The server's answer to one NEGOTIATE."""

    dialect: int
    status: int
    security_mode: int
    capabilities: int
    ciphers: tuple[int, ...] = ()


def frame(message: bytes) -> bytes:
    """Prefix a message with the NetBIOS session header: type 0, 24-bit length."""
    return struct.pack(">I", len(message)) + message


def build_negotiate(dialect: int, client_guid: bytes, salt: bytes) -> bytes:
    """An SMB2 NEGOTIATE offering exactly `dialect` (3.1.1 adds preauth-integrity and encryption contexts)."""
    smb2 = _smb2()
    contexts = []
    if dialect == 0x0311:
        contexts = [
            smb2.SMB2_Negotiate_Context() / smb2.SMB2_Preauth_Integrity_Capabilities(HashAlgorithms=[1], Salt=salt),
            smb2.SMB2_Negotiate_Context() / smb2.SMB2_Encryption_Capabilities(Ciphers=sorted(CIPHERS)),
        ]
    request = smb2.SMB2_Header(Command=0, CreditRequest=1) / smb2.SMB2_Negotiate_Protocol_Request(
        Dialects=[dialect], SecurityMode=SIGNING_ENABLED, Capabilities=0x7F, ClientGUID=client_guid, NegotiateContexts=contexts
    )
    return bytes(request)


def parse_negotiate(message: bytes) -> Negotiation | None:
    """An SMB2 NEGOTIATE response (without the session header) → Negotiation; None when it is not one."""
    if not message.startswith(b"\xfeSMB"):
        return None
    smb2 = _smb2()
    try:
        packet = smb2.SMB2_Header(message)
    except Exception:  # noqa: BLE001 - scapy raises many things on garbage; garbage is not a negotiation
        return None
    if not packet.haslayer(smb2.SMB2_Negotiate_Protocol_Response):
        return Negotiation(0, int(packet.Status), 0, 0)
    response = packet[smb2.SMB2_Negotiate_Protocol_Response]
    ciphers: list[int] = []
    for context in getattr(response, "NegotiateContexts", None) or []:
        if context.haslayer(smb2.SMB2_Encryption_Capabilities):
            ciphers += [int(c) for c in context[smb2.SMB2_Encryption_Capabilities].Ciphers]
    return Negotiation(
        int(response.DialectRevision), int(packet.Status), int(response.SecurityMode), int(response.Capabilities), tuple(ciphers)
    )


def build_smb1_negotiate() -> bytes:
    """An SMB1 NEGOTIATE offering only "NT LM 0.12": a server that accepts it still speaks SMB1."""
    quiet_scapy()
    from scapy.layers.smb import SMB_Dialect, SMB_Header, SMBNegotiate_Request  # noqa: PLC0415

    return bytes(SMB_Header(Flags2=0xC843) / SMBNegotiate_Request(Dialects=[SMB_Dialect(DialectString="NT LM 0.12")]))


def smb1_accepted(message: bytes) -> bool:
    """True for a successful SMB1 negotiate response that picked a dialect (index 0xFFFF means none)."""
    if len(message) < 37 or not message.startswith(b"\xffSMB") or message[4] != 0x72:
        return False
    status = struct.unpack_from("<I", message, 5)[0]
    word_count = message[32]
    return status == 0 and word_count >= 1 and struct.unpack_from("<H", message, 33)[0] != 0xFFFF


def summarize(negotiations: Iterable[Negotiation | None], smb1: bool) -> SmbIdentity:
    """Per-dialect answers → the server's identity (dialects it accepted, its signing and encryption)."""
    accepted = [n for n in negotiations if n is not None and n.status == 0 and n.dialect in DIALECTS]
    answered_smb2 = any(n is not None for n in negotiations)
    best = max(accepted, key=lambda n: n.dialect, default=None)
    ciphers = tuple(CIPHERS.get(c, f"cipher {c}") for n in accepted for c in n.ciphers)
    encryption = bool(ciphers) or any(n.capabilities & CAP_ENCRYPTION for n in accepted if n.dialect in (0x0300, 0x0302))
    return SmbIdentity(
        is_smb=bool(accepted) or smb1 or answered_smb2,
        dialects=tuple(DIALECTS[n.dialect] for n in sorted(accepted, key=lambda n: n.dialect)),
        smb1=smb1,
        signing_required=bool(best.security_mode & SIGNING_REQUIRED) if best else None,
        encryption=encryption,
        ciphers=tuple(dict.fromkeys(ciphers)),
    )


async def _exchange(address: str, port: int, request: bytes, timeout_s: float) -> bytes | None:
    """Send one framed request, read one framed response, all within `timeout_s`; None if the server closes,
    says nothing, or drips too slowly to finish in time."""
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout_s):
            reader, writer = await asyncio.open_connection(address, port)
            writer.write(frame(request))
            await writer.drain()
            header = await reader.readexactly(4)
            length = struct.unpack(">I", header)[0] & 0xFFFFFF
            if header[0] != 0 or length > MAX_MESSAGE:
                return None
            return await reader.readexactly(length)
    except (OSError, TimeoutError, asyncio.IncompleteReadError):
        return None
    finally:
        if writer is not None:
            writer.close()


async def identify_smb(address: str, port: int, timeout_s: float) -> SmbIdentity:
    guid, salt = os.urandom(16), os.urandom(32)
    answers = await asyncio.gather(
        *(_exchange(address, port, build_negotiate(d, guid, salt), timeout_s) for d in DIALECTS),
        _exchange(address, port, build_smb1_negotiate(), timeout_s),
    )
    *smb2_answers, smb1_answer = answers
    return summarize([parse_negotiate(a) if a else None for a in smb2_answers], bool(smb1_answer and smb1_accepted(smb1_answer)))
