"""DNS through each configured name server separately (dnspython): rcode, answers, TTL, timeouts, PTR.

Asking each server on its own is the point: a resolver that silently fails over hides the one server that
has a stale record or never answers, and the agents may be configured with that one.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # dnspython is slow to import: each function that asks DNS imports what it uses
    import dns.message
    import dns.rdatatype
    import dns.rrset

from netcheck.errors import InputError
from netcheck.files import read_limited
from netcheck.model.address import parse_ip
from netcheck.model.observations import ERROR, TIMEOUT, UNREACHABLE, DnsAnswer, DnsConfig
from netcheck.model.record import record

__all__ = [
    "MAX_ADDRESSES",
    "DnsAnswer",
    "DnsConfig",
    "answers_to_question",
    "candidate_names",
    "parse_resolv_conf",
    "query_ptr",
    "query_server",
    "summarize",
    "system_dns_config",
]

MAX_ADDRESSES = 16
"""Addresses kept per answer (and PTR lookups made per name): a hostile server may send thousands."""
MAX_CNAME_HOPS = 8


RESOLV_CONF = "/etc/resolv.conf"
RESOLV_CONF_LIMIT = 1 << 20
MAX_NAMESERVERS = 3
"""glibc's stub resolver asks the first three name servers only (MAXNS): netcheck must not judge a fourth."""
MAX_NDOTS = 15
"""glibc's cap on `options ndots:` (RES_MAXNDOTS)."""


def system_dns_config(path: str = RESOLV_CONF) -> DnsConfig:
    """The system's name servers and search list (resolv.conf, or the registry on Windows); none → empty.

    resolv.conf is read by parse_resolv_conf, not dnspython: every console run needs it (for the non-DNS
    check), and importing dnspython's resolver takes time that a run of addresses never needs otherwise."""
    if sys.platform == "win32":
        return _registry_dns_config()
    try:
        text = read_limited(Path(path), "resolv.conf", RESOLV_CONF_LIMIT).decode("utf-8", "replace")
    except InputError:  # missing, unreadable, no regular file, too large: no configuration
        return DnsConfig((), source="system")
    return parse_resolv_conf(text)


def parse_resolv_conf(text: str) -> DnsConfig:
    """resolv.conf's name servers, search list and ndots, read as glibc's stub resolver (2.26 and later) reads
    them. A line starts with its keyword (a line that starts with a blank, #, or ; is ignored); words are
    separated by spaces and tabs. `nameserver ADDRESS`: the first three that are IP addresses, in order (a
    # or ; ends the address). The search list comes from the last `search` line (its words) or `domain` line
    (its first word); words that are no DNS name (an empty label, a label over 63 characters) and the root are
    left out, and one trailing dot is dropped. `options ndots:N`: N's leading digits (none: 0), 15 at most;
    1 when absent. No name server → an empty configuration (then nothing is searched either). Not read:
    the LOCALDOMAIN and RES_OPTIONS variables, which change only the resolver of the process they are set for.
    (dnspython, which read the file before, refused the file for a malformed domain or name server, kept no
    `domain` and all name servers.)"""
    nameservers: list[str] = []
    search: list[str] = []
    ndots = 1
    for line in text.split("\n"):
        words = line.replace("\t", " ").split(" ")
        keyword, values = words[0], [word for word in words[1:] if word]
        if not values:
            continue
        if keyword == "nameserver":
            address = values[0].split("#", 1)[0].split(";", 1)[0]
            if len(nameservers) < MAX_NAMESERVERS and parse_ip(address) is not None:
                nameservers.append(address)
        elif keyword in ("search", "domain"):
            domains = values if keyword == "search" else values[:1]
            search = [name for name in (d[:-1] if d.endswith(".") else d for d in domains) if _is_dns_name(name)]
        elif keyword == "options":
            for option in values:
                if option.startswith("ndots:"):
                    digits = option[len("ndots:") :]
                    digits = digits[: len(digits) - len(digits.lstrip("0123456789"))].lstrip("0")
                    ndots = min(int(digits or "0"), MAX_NDOTS) if len(digits) <= 2 else MAX_NDOTS
    if not nameservers:
        return DnsConfig((), source="system")
    return DnsConfig(tuple(nameservers), tuple(search), ndots, "system")


def _is_dns_name(name: str) -> bool:
    return bool(name) and all(0 < len(label) <= 63 for label in name.split("."))


def _registry_dns_config() -> DnsConfig:  # pragma: no cover - Windows only
    """Windows: dnspython reads the name servers and search list from the registry."""
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


@record
class Summary:
    """One response, judged: see summarize()."""

    rcode: str
    addresses: tuple[str, ...]
    ttl: int | None
    ignored: int = 0


def answers_to_question(response: dns.message.Message) -> tuple[list[dns.rrset.RRset], int]:
    """The answer rrsets of the question's type owned by the name asked, or by the names its CNAME chain leads
    to, and how many other answer records there were (ignored).

    An A record for an unrelated owner that a server (or an attacker) slips into the answer section is not the
    answer to the question asked.
    """
    import dns.rdataclass  # noqa: PLC0415
    import dns.rdatatype  # noqa: PLC0415

    if not response.question:
        return [], sum(len(rrset) for rrset in response.answer)
    question = response.question[0]
    owner, used = question.name, set()
    for _ in range(MAX_CNAME_HOPS):
        cname = next((r for r in response.answer if r.name == owner and r.rdtype == dns.rdatatype.CNAME), None)
        if cname is None or not len(cname) or id(cname) in used:
            break
        used.add(id(cname))
        owner = cname[0].target
    matching = [
        rrset
        for rrset in response.answer
        if rrset.name == owner and rrset.rdtype == question.rdtype and rrset.rdclass == dns.rdataclass.IN
    ]
    used.update(id(rrset) for rrset in matching)
    return matching, sum(len(rrset) for rrset in response.answer if id(rrset) not in used)


def summarize(response: dns.message.Message) -> Summary:
    """A response → (rcode, the addresses of the name asked in answer order, their smallest TTL, records ignored)."""
    import dns.rcode  # noqa: PLC0415

    matching, ignored = answers_to_question(response)
    addresses = tuple(rdata.to_text() for rrset in matching for rdata in rrset)
    return Summary(dns.rcode.to_text(response.rcode()), addresses, min((r.ttl for r in matching), default=None), ignored)


async def _ask(server: str, qname: str, rdtype: dns.rdatatype.RdataType, timeout_s: float, port: int = 53) -> dns.message.Message:
    import dns.asyncquery  # noqa: PLC0415
    import dns.flags  # noqa: PLC0415
    import dns.message  # noqa: PLC0415

    query = dns.message.make_query(qname, rdtype)
    # A stray or forged datagram (another source, another id, another question, garbage) is skipped, not
    # taken as the server's failure: the real answer may still arrive before the deadline.
    response = await dns.asyncquery.udp(query, server, timeout=timeout_s, port=port, ignore_unexpected=True, ignore_errors=True)
    if response.flags & dns.flags.TC:
        response = await dns.asyncquery.tcp(query, server, timeout=timeout_s, port=port)
    return response


async def query_server(
    server: str, name: str, config: DnsConfig, timeout_s: float, *, port: int = 53, total_s: float | None = None
) -> DnsAnswer:
    """Resolve `name` (A, then AAAA) at one server, walking the search list like a stub resolver, all within
    `total_s` (each query within `timeout_s`)."""
    import dns.exception  # noqa: PLC0415
    import dns.rdatatype  # noqa: PLC0415

    started = time.perf_counter()

    def elapsed() -> float:
        return round((time.perf_counter() - started) * 1000, 3)

    last = DnsAnswer(server, name, "NXDOMAIN")
    qname = name
    try:
        async with asyncio.timeout(total_s):
            for qname in candidate_names(name, config.search, config.ndots):
                summary = summarize(await _ask(server, qname, dns.rdatatype.A, timeout_s, port))
                if summary.rcode == "NOERROR" and not summary.addresses:
                    first = summary
                    summary = summarize(await _ask(server, qname, dns.rdatatype.AAAA, timeout_s, port))
                    summary = replace(summary, ignored=summary.ignored + first.ignored)
                rcode, addresses, ttl, ignored = summary.rcode, summary.addresses, summary.ttl, summary.ignored
                kept, more = addresses[:MAX_ADDRESSES], max(0, len(addresses) - MAX_ADDRESSES)
                last = DnsAnswer(server, qname.rstrip("."), rcode, kept, ttl, elapsed(), more=more, ignored=ignored)
                if addresses or rcode not in ("NXDOMAIN", "NOERROR"):
                    return last
    except (dns.exception.Timeout, TimeoutError):
        within = f"{timeout_s:g} s" if total_s is None or elapsed() < total_s * 1000 * 0.99 else f"{total_s:g} s in all"
        return DnsAnswer(server, qname.rstrip("."), TIMEOUT, elapsed_ms=elapsed(), error=f"no answer in {within}")
    except OSError as exc:
        return DnsAnswer(server, qname.rstrip("."), UNREACHABLE, elapsed_ms=elapsed(), error=exc.strerror or str(exc))
    except dns.exception.DNSException as exc:
        return DnsAnswer(server, qname.rstrip("."), ERROR, elapsed_ms=elapsed(), error=str(exc))
    return last


async def query_ptr(server: str, address: str, timeout_s: float, port: int = 53) -> tuple[str, ...]:
    """Names a server's PTR records give for `address` (empty when there are none or no answer)."""
    import dns.exception  # noqa: PLC0415
    import dns.rdatatype  # noqa: PLC0415
    import dns.reversename  # noqa: PLC0415

    try:
        async with asyncio.timeout(timeout_s):  # the TCP retry of a truncated answer included
            response = await _ask(server, dns.reversename.from_address(address).to_text(), dns.rdatatype.PTR, timeout_s, port)
    except (dns.exception.DNSException, OSError, ValueError):  # TimeoutError is an OSError
        return ()
    names = [rdata.to_text().rstrip(".") for rrset in answers_to_question(response)[0] for rdata in rrset]
    return tuple(names[:MAX_ADDRESSES])
