"""DNS through each configured name server separately (dnspython): rcode, answers, TTL, timeouts, PTR.

Asking each server on its own is the point: a resolver that silently fails over hides the one server that
has a stale record or never answers, and the agents may be configured with that one.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # dnspython costs ~0.1 s to import: each function that asks DNS imports what it uses
    import dns.message
    import dns.rdatatype

# Outcomes that are not an rcode: the server never answered, or could not be asked.
TIMEOUT = "TIMEOUT"
UNREACHABLE = "UNREACHABLE"
ERROR = "ERROR"


@dataclass(frozen=True)
class DnsConfig:
    """Which name servers this machine uses, and how it completes short names."""

    nameservers: tuple[str, ...]
    search: tuple[str, ...] = ()
    ndots: int = 1
    source: str = "system"


@dataclass(frozen=True)
class DnsAnswer:
    """One name server's answer for one name."""

    server: str
    qname: str
    rcode: str
    addresses: tuple[str, ...] = ()
    ttl: int | None = None
    elapsed_ms: float = 0.0
    error: str = ""

    @property
    def answered(self) -> bool:
        return self.rcode not in (TIMEOUT, UNREACHABLE, ERROR)


def system_dns_config() -> DnsConfig:
    """The system's name servers and search list (resolv.conf, or the registry on Windows); none → empty."""
    import dns.resolver  # noqa: PLC0415

    try:
        resolver = dns.resolver.Resolver(configure=True)
    except (dns.resolver.NoResolverConfiguration, OSError):
        return DnsConfig((), source="system")
    search = tuple(str(name).rstrip(".") for name in resolver.search if str(name) != ".")
    return DnsConfig(tuple(str(s) for s in resolver.nameservers), search, int(resolver.ndots or 1), "system")


def candidate_names(name: str, search: Sequence[str], ndots: int) -> list[str]:
    """The absolute names a stub resolver tries for `name`, in order (resolv.conf's ndots rule)."""
    if name.endswith("."):
        return [name]
    expanded = [f"{name}.{domain}." for domain in search]
    if name.count(".") >= ndots:
        return [f"{name}.", *expanded]
    return [*expanded, f"{name}."]


def summarize(response: dns.message.Message) -> tuple[str, tuple[str, ...], int | None]:
    """A response → (rcode name, A/AAAA addresses in answer order, smallest TTL among them)."""
    import dns.rcode  # noqa: PLC0415
    import dns.rdatatype  # noqa: PLC0415

    addresses: list[str] = []
    ttls: list[int] = []
    for rrset in response.answer:
        if rrset.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
            ttls.append(rrset.ttl)
            addresses += [rdata.to_text() for rdata in rrset]
    return dns.rcode.to_text(response.rcode()), tuple(addresses), min(ttls) if ttls else None


async def _ask(server: str, qname: str, rdtype: dns.rdatatype.RdataType, timeout_s: float) -> dns.message.Message:
    import dns.asyncquery  # noqa: PLC0415
    import dns.flags  # noqa: PLC0415
    import dns.message  # noqa: PLC0415

    query = dns.message.make_query(qname, rdtype)
    response = await dns.asyncquery.udp(query, server, timeout=timeout_s)
    if response.flags & dns.flags.TC:
        response = await dns.asyncquery.tcp(query, server, timeout=timeout_s)
    return response


async def query_server(server: str, name: str, config: DnsConfig, timeout_s: float) -> DnsAnswer:
    """Resolve `name` (A, then AAAA) at one server, walking the search list like a stub resolver."""
    import dns.exception  # noqa: PLC0415
    import dns.rdatatype  # noqa: PLC0415

    started = time.perf_counter()

    def elapsed() -> float:
        return round((time.perf_counter() - started) * 1000, 3)

    last = DnsAnswer(server, name, "NXDOMAIN")
    for qname in candidate_names(name, config.search, config.ndots):
        try:
            rcode, addresses, ttl = summarize(await _ask(server, qname, dns.rdatatype.A, timeout_s))
            if rcode == "NOERROR" and not addresses:
                rcode, addresses, ttl = summarize(await _ask(server, qname, dns.rdatatype.AAAA, timeout_s))
        except dns.exception.Timeout:
            return DnsAnswer(server, qname.rstrip("."), TIMEOUT, elapsed_ms=elapsed(), error=f"no answer in {timeout_s} s")
        except OSError as exc:
            return DnsAnswer(server, qname.rstrip("."), UNREACHABLE, elapsed_ms=elapsed(), error=exc.strerror or str(exc))
        except dns.exception.DNSException as exc:
            return DnsAnswer(server, qname.rstrip("."), ERROR, elapsed_ms=elapsed(), error=str(exc))
        last = DnsAnswer(server, qname.rstrip("."), rcode, addresses, ttl, elapsed())
        if addresses or rcode not in ("NXDOMAIN", "NOERROR"):
            return last
    return last


async def query_ptr(server: str, address: str, timeout_s: float) -> tuple[str, ...]:
    """Names a server's PTR records give for `address` (empty when there are none or no answer)."""
    import dns.exception  # noqa: PLC0415
    import dns.rdatatype  # noqa: PLC0415
    import dns.reversename  # noqa: PLC0415

    try:
        response = await _ask(server, dns.reversename.from_address(address).to_text(), dns.rdatatype.PTR, timeout_s)
    except (dns.exception.DNSException, OSError, ValueError):
        return ()
    return tuple(rdata.to_text().rstrip(".") for rrset in response.answer if rrset.rdtype == dns.rdatatype.PTR for rdata in rrset)


def valid_server(address: str) -> bool:
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True
