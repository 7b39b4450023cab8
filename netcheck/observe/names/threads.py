"""Blocking name lookups off the event loop, in daemon threads with a cap of their own.

asyncio.to_thread shares the loop's default executor (a handful of threads on a small machine), so a few
slow lookups would queue every other name behind them; a lookup that outlives its caller's deadline would
also keep the interpreter from exiting. Here each call gets a daemon thread once one of `slots` is free; the
thread gives its slot back when the blocking call returns, whenever that is.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def in_daemon_thread(slots: threading.BoundedSemaphore, call: Callable[..., T], *args: Any) -> T:
    """`call(*args)` in a daemon thread; waits (cancellably) for a free slot first."""
    while not slots.acquire(blocking=False):
        await asyncio.sleep(0.02)  # every slot is held by a lingering call: wait, within the caller's deadline
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(outcome: Any, error: BaseException | None) -> None:
        if future.done():
            return  # the caller gave up at its deadline
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(outcome)

    def work() -> None:
        try:
            outcome, error = call(*args), None
        except Exception as exc:  # noqa: BLE001 - handed to the waiting coroutine
            outcome, error = None, exc
        finally:
            slots.release()
        with contextlib.suppress(RuntimeError):  # the loop may be closed by the time a lingering call ends
            loop.call_soon_threadsafe(settle, outcome, error)

    threading.Thread(target=work, name=f"netcheck {getattr(call, '__name__', 'lookup')}", daemon=True).start()
    return await future
