"""TLS on the product port (9876 is encrypted by default, says the product's documentation): version, cipher,
certificate."""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from netcheck.model.observations import Certificate, TlsSession
from netcheck.observe.probes.scapy_env import quiet_scapy

__all__ = ["Certificate", "TlsSession", "parse_certificate", "tls_handshake"]


# OpenSSL's reasons when the two sides share no protocol version: the server's protocol_version alert, or this
# side refusing the version the server picked. Either way the server speaks TLS.
_VERSION_MISMATCH = {"TLSV1_ALERT_PROTOCOL_VERSION", "UNSUPPORTED_PROTOCOL", "WRONG_SSL_VERSION", "VERSION_TOO_LOW"}


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
    quiet_scapy()
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


def _context(legacy: bool = False) -> ssl.SSLContext:
    """No verification (we report the certificate; the product's trust is its own); `legacy` accepts old versions."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if legacy:
        context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
    return context


async def _session(address: str, port: int, context: ssl.SSLContext, timeout_s: float) -> TlsSession:
    _reader, writer = await asyncio.open_connection(address, port, ssl=context, ssl_handshake_timeout=max(timeout_s, 0.001))
    try:
        tls: ssl.SSLObject = writer.get_extra_info("ssl_object")
        der = tls.getpeercert(binary_form=True)
        cipher = tls.cipher()
        return TlsSession(tls.version() or "", cipher[0] if cipher else "", parse_certificate(der) if der else None)
    finally:
        writer.close()


async def tls_handshake(address: str, port: int, timeout_s: float) -> TlsSession:
    """Handshake as this machine's defaults allow, within one deadline. When the server offers only versions
    they refuse, a second, permissive handshake (same deadline) learns which version it speaks."""
    async with asyncio.timeout(timeout_s):
        try:
            return await _session(address, port, _context(), timeout_s)
        except ssl.SSLError as exc:
            if exc.reason not in _VERSION_MISMATCH:
                raise
            refused = f"this machine's TLS library refuses the versions the server offers ({exc.reason})"
        try:
            old = await _session(address, port, _context(legacy=True), timeout_s)
        except (ssl.SSLError, OSError):
            return TlsSession("", "", None, refused)
        return replace(old, refused=refused)
