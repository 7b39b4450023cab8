"""The receive side both link-local name protocols share: wait for the first datagram that answers us."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

LINK_LOCAL_SLOTS = threading.BoundedSemaphore(64)
"""NetBIOS and LLMNR queries at once (each ends within its timeout, in its own daemon thread)."""


def first_answer(sock: socket.socket, parse: Callable[[bytes], tuple[str, ...] | None], timeout_s: float) -> tuple[str, ...]:
    """Read datagrams until one parses into addresses or `timeout_s` passes (then: no answer, empty)."""
    deadline = time.monotonic() + timeout_s
    while (remaining := deadline - time.monotonic()) > 0:
        sock.settimeout(remaining)
        try:
            data, _peer = sock.recvfrom(2048)
        except TimeoutError:
            break
        addresses = parse(data)
        if addresses:
            return addresses
    return ()
