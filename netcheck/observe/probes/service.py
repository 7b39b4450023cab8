"""What answers on an open port: one identifier per port of the matrix, each returning a typed answer."""

from __future__ import annotations

from typing import assert_never

from netcheck.handshake import responder_handshake
from netcheck.model.matrix import PORTS, PortKey, Protocol
from netcheck.model.observations import ServiceAnswer, UnknownService
from netcheck.observe.probes.smb import identify_smb
from netcheck.observe.probes.ssh import read_banner
from netcheck.observe.probes.tls import tls_handshake


async def identify_service(  # noqa: PLR0911 - one way a kind of port
    port_key: PortKey, address: str, port: int, timeout_s: float, token: bytes | None
) -> ServiceAnswer:
    """What speaks on an open port: the OS service the matrix expects there, a netcheck responder, or TLS."""
    match port_key:
        case PortKey.SSH:
            banner, raw, problem = await read_banner(address, port, timeout_s)
            unknown = UnknownService(first_bytes=raw.decode("utf-8", errors="replace"), ssh_problem=problem or None)
            return banner if banner is not None else unknown
        case PortKey.SMB:
            return await identify_smb(address, port, timeout_s)
        case PortKey.VSPHERE_HTTPS | PortKey.CLOUD_HTTPS:  # third parties' TLS: no responder there
            return await _tls(address, port, timeout_s)
        case PortKey.VSPHERE_902 | PortKey.CLOUD_44445 | PortKey.CLOUD_55556:
            return UnknownService()  # no document says what speaks there: nothing to identify
        case PortKey.CP_WEB:  # the web console and REST API: a TLS handshake first, and nothing else to the product
            session = await _tls(address, port, timeout_s)
            if isinstance(session, UnknownService):  # not TLS: perhaps `netcheck listen` stands in for it
                return await responder_handshake(address, port, timeout_s, token) or session
            return session
        case (
            PortKey.INSTALL | PortKey.PRODUCT | PortKey.WEB | PortKey.CP_MANAGEMENT | PortKey.STORAGE_DATA | PortKey.CATALOG_INDEX
        ):
            answer = await responder_handshake(address, port, timeout_s, token)
            if answer is not None:
                return answer
            if PORTS[port_key].protocol is not Protocol.TLS:
                return UnknownService()
            return await _tls(address, port, timeout_s)
        case _:
            assert_never(port_key)


async def _tls(address: str, port: int, timeout_s: float) -> ServiceAnswer:
    """A TLS handshake only (Cyber Protect's 9877 is identified by it, never by calling its endpoints)."""
    try:
        return await tls_handshake(address, port, timeout_s)
    except (OSError, TimeoutError) as exc:
        return UnknownService(tls_error=str(exc) or type(exc).__name__)
