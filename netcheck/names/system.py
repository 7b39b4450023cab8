"""The system resolver (getaddrinfo): what the product itself will get for a name.

getaddrinfo blocks and cannot be cancelled, so it runs in its own daemon thread and the caller waits at most
its deadline: a resolver that hangs (dead name servers, a long search list) costs that name its deadline, not
the run its patience. A thread that outlives its deadline keeps its slot until getaddrinfo returns; at most
MAX_THREADS run at once, so a flood of hanging names cannot pile up threads either.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from typing import Any

from netcheck.model import Observation, State

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
    """socket.getaddrinfo in a daemon thread (never delays the interpreter's exit), once a slot is free."""
    while not _slots.acquire(blocking=False):
        await asyncio.sleep(0.02)  # every slot is held by a lingering lookup: wait, within the caller's deadline
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def settle(outcome: Any, error: BaseException | None) -> None:
        if future.done():
            return  # the caller gave up at its deadline
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(outcome)

    def work() -> None:
        try:
            outcome, error = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM), None
        except Exception as exc:  # noqa: BLE001 - handed to the waiting coroutine
            outcome, error = None, exc
        finally:
            _slots.release()
        with contextlib.suppress(RuntimeError):  # the loop may be closed by the time a lingering lookup ends
            loop.call_soon_threadsafe(settle, outcome, error)

    threading.Thread(target=work, name=f"getaddrinfo {name}", daemon=True).start()
    return await future


async def resolve_system(name: str, deadline_s: float | None = None) -> Observation:
    """Resolve `name` through the system resolver (hosts file, DNS, whatever nsswitch says), within `deadline_s`."""
    started = time.perf_counter()

    def failed(message: str) -> Observation:
        elapsed = round((time.perf_counter() - started) * 1000, 3)
        return Observation(State.UNRESOLVED, None, {"path": "system", "error": message}, elapsed)

    try:
        async with asyncio.timeout(deadline_s):
            infos = await _getaddrinfo(name)
    except TimeoutError:
        return failed(f"no answer from the system resolver within {deadline_s:g} s")
    except (socket.gaierror, UnicodeError) as exc:
        return failed(getattr(exc, "strerror", None) or str(exc))
    addresses = unique_addresses(infos)
    if not addresses:
        return failed("the system resolver returned no address")
    elapsed = round((time.perf_counter() - started) * 1000, 3)
    evidence: dict[str, Any] = {"path": "system", "addresses": addresses[:MAX_ADDRESSES]}
    if len(addresses) > MAX_ADDRESSES:
        evidence["more"] = len(addresses) - MAX_ADDRESSES
    return Observation(State.RESOLVED, addresses[0], evidence, elapsed)
