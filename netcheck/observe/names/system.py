"""The system resolver (getaddrinfo): what the product itself will get for a name.

getaddrinfo blocks and cannot be cancelled, so it runs in its own daemon thread and the caller waits at most
its deadline: a resolver that hangs (dead name servers, a long search list) costs that name its deadline, not
the run its patience. A thread that outlives its deadline keeps its slot until getaddrinfo returns; at most
MAX_THREADS run at once, so a flood of hanging names cannot pile up threads either.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

from netcheck.model.observations import SystemAnswer
from netcheck.observe.names.threads import in_daemon_thread

MAX_THREADS = 32
MAX_ADDRESSES = 16
_slots = threading.BoundedSemaphore(MAX_THREADS)


def unique_addresses(infos: list[tuple[object, object, object, object, tuple[object, ...]]]) -> list[str]:
    """Addresses from getaddrinfo() results, IPv4 first, in resolver order, without repeats."""
    seen: dict[str, None] = {}
    for family in (socket.AF_INET, socket.AF_INET6):
        for info in infos:
            if info[0] == family:
                seen.setdefault(str(info[4][0]), None)
    return list(seen)


async def _getaddrinfo(name: str) -> Any:
    return await in_daemon_thread(_slots, socket.getaddrinfo, name, None, 0, socket.SOCK_STREAM)


async def resolve_system(name: str, deadline_s: float | None = None) -> SystemAnswer:
    """Resolve `name` through the system resolver (hosts file, DNS, whatever nsswitch says), within `deadline_s`."""
    started = time.perf_counter()

    def elapsed() -> float:
        return round((time.perf_counter() - started) * 1000, 3)

    try:
        async with asyncio.timeout(deadline_s):
            infos = await _getaddrinfo(name)
    except TimeoutError:
        return SystemAnswer(error=f"no answer from the system resolver within {deadline_s:g} s", elapsed_ms=elapsed())
    except (socket.gaierror, UnicodeError) as exc:
        return SystemAnswer(error=getattr(exc, "strerror", None) or str(exc), elapsed_ms=elapsed())
    addresses = unique_addresses(infos)
    if not addresses:
        return SystemAnswer(error="the system resolver returned no address", elapsed_ms=elapsed())
    return SystemAnswer(tuple(addresses[:MAX_ADDRESSES]), elapsed_ms=elapsed(), more=max(0, len(addresses) - MAX_ADDRESSES))
