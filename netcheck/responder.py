"""`netcheck listen`: the far side of a link before installation.

Before installation nothing listens on 25001/9876, so a one-sided probe sees at best a reset, and a firewall
that forges resets looks the same. The responder binds the product's free ports, answers the netcheck
handshake, and reports every peer with its source port and whether that port lies in the documented ranges.
It holds up against what a network throws at it: a bounded number of connections, a bounded number of bytes
read per peer, an idle timeout, and garbage is logged and dropped, never fatal.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from netcheck.handshake import REQUEST_BYTES, encode_busy, encode_response, parse_request
from netcheck.matrix import source_port_ranges_of


@dataclass(frozen=True)
class ListenOptions:
    ports: tuple[int, ...] = (25001, 9876)
    duration_s: float = 600.0
    token: bytes | None = field(default=None, repr=False)
    bind: str = "0.0.0.0"  # noqa: S104 - a responder must answer on the address the prober uses
    max_connections: int = 64
    idle_timeout_s: float = 5.0


@dataclass(frozen=True)
class PeerEvent:
    """One inbound connection and what became of it."""

    port: int
    peer: str
    peer_port: int
    outcome: str  # "handshake" | "garbage" | "idle" (sent nothing in time) | "closed" | "busy"
    source_ranges: tuple[str, ...]
    at: float = field(default_factory=time.time)


class Responder:
    """Serves the handshake on the free ports until `duration_s` passes or stop() is called."""

    def __init__(
        self,
        options: ListenOptions,
        on_event: Callable[[PeerEvent], None],
        on_ready: Callable[[list[int], dict[int, str]], None] | None = None,
    ) -> None:
        self.options = options
        self.on_event = on_event
        self.on_ready = on_ready
        self.active = 0
        self.counts: dict[str, int] = {}
        self.stopping = asyncio.Event()
        self.bound: list[int] = []
        self.failed: dict[int, str] = {}

    def _record(self, port: int, peername: object, outcome: str) -> None:
        address, peer_port = (str(peername[0]), int(peername[1])) if isinstance(peername, tuple) else ("?", 0)
        self.counts[outcome] = self.counts.get(outcome, 0) + 1
        self.on_event(PeerEvent(port, address, peer_port, outcome, tuple(source_port_ranges_of(peer_port))))

    async def _handle(self, port: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        if self.active >= self.options.max_connections:
            # Say "busy" rather than hang up, so the caller does not conclude that another program listens here.
            with contextlib.suppress(OSError):
                writer.write(encode_busy())
            self._record(port, peer, "busy")
            writer.close()
            return
        self.active += 1
        try:
            data = await asyncio.wait_for(reader.readexactly(REQUEST_BYTES), self.options.idle_timeout_s)
            nonce = parse_request(data)
            if nonce is None:
                outcome = "garbage"
            else:
                # The address and port this connection reached (after any NAT), so a redirect shows.
                local = writer.get_extra_info("sockname")
                local_address, local_port = (str(local[0]), int(local[1])) if isinstance(local, tuple) else ("", port)
                writer.write(encode_response(nonce, local_address, local_port, self.options.token))
                await asyncio.wait_for(writer.drain(), self.options.idle_timeout_s)
                outcome = "handshake"
        except TimeoutError:
            outcome = "idle"
        except asyncio.IncompleteReadError as exc:
            outcome = "garbage" if exc.partial else "closed"
        except OSError:
            outcome = "closed"
        finally:
            self.active -= 1
            writer.close()
            self._record(port, peer, outcome)

    def stop(self) -> None:
        self.stopping.set()

    async def run(self) -> None:
        servers = []
        for port in self.options.ports:
            try:
                server = await asyncio.start_server(
                    functools.partial(self._handle, port),
                    self.options.bind,
                    port,
                    limit=REQUEST_BYTES,  # the stream buffers no more than one request per peer
                    backlog=self.options.max_connections,
                    family=socket.AF_INET6 if ":" in self.options.bind else socket.AF_INET,
                )
            except OSError as exc:
                self.failed[port] = exc.strerror or str(exc)
                continue
            servers.append(server)
            self.bound.append(port)
        if self.on_ready:
            self.on_ready(self.bound, self.failed)
        if not servers:
            return
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.stop)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), self.options.duration_s)
        finally:
            for server in servers:
                server.close()
            await asyncio.gather(*(server.wait_closed() for server in servers), return_exceptions=True)
