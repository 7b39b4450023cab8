"""Every path a name can take to an address — DNS per server, the hosts file, the system resolver, PTR,
NetBIOS and LLMNR — observed for one name. The verdict is netcheck.classify.names'."""

from __future__ import annotations

import asyncio
import time
from dataclasses import field
from pathlib import Path

from netcheck.errors import InputError
from netcheck.files import PLAN_LIMIT, read_limited
from netcheck.model.observations import DnsConfig, HostsProblem, NameObservation
from netcheck.model.record import record
from netcheck.observe.host import interfaces as local_interfaces
from netcheck.observe.names.dns import MAX_ADDRESSES, query_ptr, query_server
from netcheck.observe.names.hosts import HostsFile, decode_hosts, parse_hosts
from netcheck.observe.names.llmnr import query_llmnr
from netcheck.observe.names.netbios import query_netbios
from netcheck.observe.names.system import resolve_system

__all__ = ["HostsSource", "NameObservation", "load_hosts", "observe_name"]


@record
class HostsSource:
    """The hosts file as read once for the whole run."""

    path: str
    parsed: HostsFile = field(default_factory=lambda: HostsFile((), ()))
    error: str = ""


def load_hosts(path: Path) -> HostsSource:
    """The hosts file, read once: a regular file of at most 16 MiB (netcheck/files.py), else its error."""
    try:
        return HostsSource(str(path), parse_hosts(decode_hosts(read_limited(path, "hosts file", PLAN_LIMIT))))
    except InputError as exc:
        return HostsSource(str(path), error=str(exc))


SHOWN_HOSTS = 10
"""Hosts-file entries and problems kept per name: a file with thousands for one name must not make a huge detail."""


def _hosts_problems(name: str, hosts: HostsSource, lines: set[int]) -> tuple[HostsProblem, ...]:
    mine = [p for p in hosts.parsed.problems if p.line in lines or name.lower() in p.text.lower().split()]
    if len(mine) <= SHOWN_HOSTS:
        return tuple(mine)
    rest = mine[SHOWN_HOSTS:]
    return (
        *mine[:SHOWN_HOSTS],
        HostsProblem(rest[0].line, "", f"and {len(rest)} more problems for {name}, up to line {rest[-1].line}"),
    )


DNS_BUDGET = 3
"""Each name server gets this many --timeouts for the whole search-list walk (A, then AAAA, per candidate); the
system resolver as many, since it walks the same list and may try several servers."""


async def observe_name(name: str, dns_config: DnsConfig, hosts: HostsSource, timeout_s: float) -> NameObservation:
    """Ask every path about `name`; NetBIOS and LLMNR only when DNS gave no address (as Windows does).

    Bounded whatever the servers do: DNS and the system resolver run side by side within DNS_BUDGET × timeout,
    NetBIOS/LLMNR within one timeout, and the PTRs of at most MAX_ADDRESSES addresses side by side within one
    timeout: about 5 × timeout per name in all.
    """
    started = time.perf_counter()
    budget = DNS_BUDGET * timeout_s
    system_task = asyncio.ensure_future(resolve_system(name, budget))
    port = dns_config.port
    answers = await asyncio.gather(
        *(query_server(s, name, dns_config, timeout_s, port=port, total_s=budget) for s in dns_config.nameservers)
    )
    system = await system_task
    dns_addresses = [a for answer in answers for a in answer.addresses]
    netbios = llmnr = None
    if not dns_addresses:
        usable = [i for i in local_interfaces() if i.usable]
        netbios, llmnr = await asyncio.gather(
            query_netbios(name, [i.broadcast for i in usable if i.broadcast], timeout_s),
            query_llmnr(name, [i.address for i in usable], timeout_s),
        )
    ptr: list[tuple[str, tuple[str, ...]]] = []
    responsive = next((answer.server for answer in answers if answer.answered), None)
    to_reverse = list(dict.fromkeys(dns_addresses or list(system.addresses)))
    if responsive:
        # Side by side, and only the first few: a server that sends thousands of records, or a PTR server that
        # never answers, costs one timeout, not one per record.
        considered = to_reverse[:MAX_ADDRESSES]
        names = await asyncio.gather(*(query_ptr(responsive, address, timeout_s, dns_config.port) for address in considered))
        ptr = list(zip(considered, names, strict=True))
    found = hosts.parsed.lookup(name)
    entries = tuple(found[:SHOWN_HOSTS])
    lines = {entry.line for entry in found}
    return NameObservation(
        name=name,
        dns_config=dns_config,
        dns=tuple(answers),
        hosts_path=hosts.path,
        hosts=entries,
        hosts_problems=_hosts_problems(name, hosts, lines),
        hosts_error=hosts.error,
        system=system.addresses,
        system_error=system.error,
        system_more=system.more,
        ptr=tuple(ptr),
        ptr_more=max(0, len(to_reverse) - MAX_ADDRESSES) + sum(a.more for a in answers) if responsive else 0,
        netbios=netbios,
        llmnr=llmnr,
        elapsed_ms=round((time.perf_counter() - started) * 1000, 3),
    )
