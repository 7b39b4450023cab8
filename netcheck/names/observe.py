"""Every path a name can take to an address — DNS per server, the hosts file, the system resolver, PTR,
NetBIOS and LLMNR — observed for one name. The verdict is netcheck.classify.names'."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path

from netcheck.host.facts import interfaces as local_interfaces
from netcheck.names.dns import query_ptr, query_server
from netcheck.names.hosts import HostsFile, decode_hosts, parse_hosts
from netcheck.names.llmnr import query_llmnr
from netcheck.names.netbios import query_netbios
from netcheck.names.system import resolve_system
from netcheck.observations import DnsConfig, NameObservation

__all__ = ["HostsSource", "NameObservation", "load_hosts", "observe_name"]


@dataclass(frozen=True)
class HostsSource:
    """The hosts file as read once for the whole run."""

    path: str
    parsed: HostsFile = field(default_factory=lambda: HostsFile((), ()))
    error: str = ""


def load_hosts(path: Path) -> HostsSource:
    try:
        return HostsSource(str(path), parse_hosts(decode_hosts(path.read_bytes())))
    except OSError as exc:
        return HostsSource(str(path), error=exc.strerror or str(exc))


async def observe_name(name: str, dns_config: DnsConfig, hosts: HostsSource, timeout_s: float) -> NameObservation:
    """Ask every path about `name`; NetBIOS and LLMNR only when DNS gave no address (as Windows does)."""
    started = time.perf_counter()
    system_task = asyncio.ensure_future(resolve_system(name))
    answers = await asyncio.gather(*(query_server(server, name, dns_config, timeout_s) for server in dns_config.nameservers))
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
    if responsive:
        for address in dict.fromkeys(dns_addresses or list(system.addresses)):
            ptr.append((address, await query_ptr(responsive, address, timeout_s)))
    entries = tuple(hosts.parsed.lookup(name))
    lines = {entry.line for entry in entries}
    return NameObservation(
        name=name,
        dns_config=dns_config,
        dns=tuple(answers),
        hosts_path=hosts.path,
        hosts=entries,
        hosts_problems=tuple(p for p in hosts.parsed.problems if p.line in lines or name.lower() in p.text.lower().split()),
        hosts_error=hosts.error,
        system=system.addresses,
        system_error=system.error,
        ptr=tuple(ptr),
        netbios=netbios,
        llmnr=llmnr,
        elapsed_ms=round((time.perf_counter() - started) * 1000, 3),
    )
