"""What answers on an open port: one identifier per port of the matrix, each returning a typed answer."""

from __future__ import annotations

from typing import assert_never

from netcheck.handshake import responder_handshake
from netcheck.model.matrix import PortKey
from netcheck.model.observations import ServiceAnswer, UnknownService
from netcheck.observe.probes.smb import identify_smb
from netcheck.observe.probes.ssh import read_banner
from netcheck.observe.probes.tls import tls_handshake


async def identify_service(port_key: PortKey, address: str, port: int, timeout_s: float, token: bytes | None) -> ServiceAnswer:
    """What speaks on an open port: the OS service the matrix expects there, a netcheck responder, or TLS."""
    match port_key:
        case PortKey.SSH:
            banner, raw, problem = await read_banner(address, port, timeout_s)
            unknown = UnknownService(first_bytes=raw.decode("utf-8", errors="replace"), ssh_problem=problem or None)
            return banner if banner is not None else unknown
        case PortKey.SMB:
            return await identify_smb(address, port, timeout_s)
        case PortKey.INSTALL | PortKey.PRODUCT:
            answer = await responder_handshake(address, port, timeout_s, token)
            if answer is not None:
                return answer
            if port_key is PortKey.INSTALL:
                return UnknownService()
            try:
                return await tls_handshake(address, port, timeout_s)
            except (OSError, TimeoutError) as exc:
                return UnknownService(tls_error=str(exc) or type(exc).__name__)
        case _:
            assert_never(port_key)
