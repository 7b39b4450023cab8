"""What answers on an open port: one identifier per port of the matrix, each returning JSON-ready evidence."""

from __future__ import annotations

from typing import Any

from netcheck.probes.handshake import responder_handshake
from netcheck.probes.smb import identify_smb
from netcheck.probes.ssh import read_banner
from netcheck.probes.tls import tls_handshake


async def identify_service(port_key: str, address: str, port: int, timeout_s: float, token: bytes | None) -> dict[str, Any]:
    """Evidence about the service on an open port: {"protocol": "ssh"|"smb"|"tls"|"netcheck-responder"|"unknown", ...}."""
    if port_key == "ssh":
        banner, raw, problem = await read_banner(address, port, timeout_s)
        if banner is None:
            evidence = {"protocol": "unknown", "first_bytes": raw.decode("utf-8", errors="replace")}
            return {**evidence, "ssh_problem": problem} if problem else evidence
        return {"protocol": "ssh", "ssh_version": banner.protocol, "software": banner.software, "product": banner.product}
    if port_key == "smb":
        return (await identify_smb(address, port, timeout_s)).as_evidence()
    answer = await responder_handshake(address, port, timeout_s, token)
    if answer is not None:
        return {"protocol": "netcheck-responder", **answer.as_evidence()}
    if port_key == "product":
        try:
            return (await tls_handshake(address, port, timeout_s)).as_evidence()
        except (OSError, TimeoutError) as exc:
            return {"protocol": "unknown", "tls_error": str(exc) or type(exc).__name__}
    return {"protocol": "unknown"}
