"""TLS on the product port (9876 is encrypted by default, says the product's documentation): version, cipher,
certificate."""

from __future__ import annotations

import asyncio
import ssl
from datetime import UTC, datetime
from typing import Any

from netcheck.observations import Certificate, TlsSession

__all__ = ["Certificate", "TlsSession", "parse_certificate", "tls_handshake"]


_SHORT_NAMES = {"commonName": "CN", "organizationName": "O", "organizationUnitName": "OU", "countryName": "C"}


def _name(rdns: Any) -> str:
    parts = []
    for rdn in rdns:
        for attribute in rdn.rdn:
            oid_name = attribute.type.oidname
            short = _SHORT_NAMES.get(oid_name, oid_name)
            value = attribute.value.val
            parts.append(f"{short}={value.decode(errors='replace') if isinstance(value, bytes) else value}")
    return ", ".join(parts)


def parse_certificate(der: bytes) -> Certificate | None:
    """A DER certificate → subject, issuer, expiry (scapy's X.509 layer is the ASN.1 codec)."""
    from scapy.layers.x509 import X509_Cert  # noqa: PLC0415 - scapy is slow to import

    try:
        tbs = X509_Cert(der).tbsCertificate
        not_after_text = tbs.validity.not_after.pretty_time
    except Exception:  # noqa: BLE001 - a certificate scapy cannot read is reported as unreadable, not fatal
        return None
    not_after = None
    for fmt in ("%b %d %H:%M:%S %Y %Z", "%Y-%m-%d %H:%M:%S %Z"):
        try:
            not_after = datetime.strptime(str(not_after_text).replace("  ", " "), fmt).replace(tzinfo=UTC)
            break
        except ValueError:
            continue
    return Certificate(_name(tbs.subject), _name(tbs.issuer), not_after)


async def tls_handshake(address: str, port: int, timeout_s: float) -> TlsSession:
    """Handshake without verifying (we report the certificate; the product's trust is its own)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    _reader, writer = await asyncio.wait_for(asyncio.open_connection(address, port, ssl=context), timeout_s)
    try:
        tls: ssl.SSLObject = writer.get_extra_info("ssl_object")
        der = tls.getpeercert(binary_form=True)
        cipher = tls.cipher()
        return TlsSession(tls.version() or "", cipher[0] if cipher else "", parse_certificate(der) if der else None)
    finally:
        writer.close()
