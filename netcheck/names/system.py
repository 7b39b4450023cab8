"""The system resolver (getaddrinfo): what the product itself will get for a name."""

from __future__ import annotations

import asyncio
import socket
import time

from netcheck.observations import SystemAnswer


def unique_addresses(infos: list[tuple[object, object, object, object, tuple[object, ...]]]) -> list[str]:
    """Addresses from getaddrinfo() results, IPv4 first, in resolver order, without repeats."""
    seen: dict[str, None] = {}
    for family in (socket.AF_INET, socket.AF_INET6):
        for info in infos:
            if info[0] == family:
                seen.setdefault(str(info[4][0]), None)
    return list(seen)


async def resolve_system(name: str) -> SystemAnswer:
    """Resolve `name` through the system resolver (hosts file, DNS, whatever nsswitch says)."""
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    try:
        infos = await loop.getaddrinfo(name, None, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        elapsed = round((time.perf_counter() - started) * 1000, 3)
        return SystemAnswer(error=exc.strerror or str(exc), elapsed_ms=elapsed)
    addresses = unique_addresses(infos)  # type: ignore[arg-type]
    elapsed = round((time.perf_counter() - started) * 1000, 3)
    return SystemAnswer(tuple(addresses), elapsed_ms=elapsed)
