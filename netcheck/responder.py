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
import json
import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, field, replace
from datetime import datetime
from pathlib import Path
from typing import IO

from netcheck.errors import CommandError
from netcheck.files import output_target
from netcheck.handshake import REQUEST_BYTES, encode_busy, encode_response, parse_request
from netcheck.model.matrix import source_port_ranges_of
from netcheck.model.record import record


@record
class ListenOptions:
    ports: tuple[int, ...] = (25001, 9876)
    duration_s: float = 600.0
    token: bytes | None = field(default=None, repr=False)
    bind: str = "0.0.0.0"  # noqa: S104 - a responder must answer on the address the prober uses
    max_connections: int = 64
    idle_timeout_s: float = 5.0


@record
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


EXIT_FAIL, EXIT_INTERNAL = 1, 3


def listen(options: ListenOptions, *, log: Path | None, quiet: bool, say: Callable[[str], None]) -> None:
    """`netcheck listen`: answer on the free ones of `options.ports` until the duration passes or Ctrl-C,
    telling `say` each peer (unless `quiet`) and the counts at the end; each peer is also appended to `log` as
    a JSON line. Raises InputError for a bad --bind or --log, CommandError when nothing could be answered on
    or the log could not be written."""
    from netcheck.observe.host import port_holders  # noqa: PLC0415 - psutil, only for listen
    from netcheck.plan.topology import parse_address  # noqa: PLC0415

    options = replace(options, bind=parse_address(options.bind, what="--bind"))
    if log and not (log.is_file() and os.access(log, os.W_OK)):  # an existing log is appended to, not replaced
        output_target(log, "--log")
    holders = port_holders(list(options.ports), options.bind)
    for taken, holder in holders.items():
        say(f"port {taken} is taken by {holder}: the product could not listen there either")
    free = tuple(dict.fromkeys(p for p in options.ports if p not in holders))
    if not free:
        raise CommandError("every port is taken: nothing to listen on", EXIT_FAIL)
    sink = PeerLog(log) if log else None

    def tell(text: str) -> None:
        try:
            say(text)
        except BrokenPipeError:  # `listen | head -1`: the reader has gone, so stop answering too
            responder.stop()

    def on_ready(bound: list[int], failed: dict[int, str]) -> None:
        for number, reason in failed.items():
            tell(f"cannot listen on {number}: {reason}")
        if bound:
            auth = "with a token" if options.token else "without a token"
            where = f"{options.bind} port {', '.join(map(str, bound))}"
            tell(f"listening on {where} for {options.duration_s:g} s, {auth}; Ctrl-C stops")

    def on_event(event: PeerEvent) -> None:
        ranges = ", ".join(event.source_ranges) or "outside the documented source-port ranges"
        if not quiet:
            stamp = datetime.fromtimestamp(event.at).strftime("%H:%M:%S")
            tell(f"{stamp} {event.peer}:{event.peer_port} -> {event.port} {event.outcome} (source port: {ranges})")
        if sink and not sink.write(asdict(event)):
            responder.stop()  # the log the user asked for is being lost: stop, and say so

    responder = Responder(replace(options, ports=free), on_event, on_ready)
    started = time.monotonic()
    try:
        asyncio.run(responder.run())
    finally:
        if sink:
            sink.close()
    if sink and sink.error:
        raise CommandError(sink.error, EXIT_INTERNAL)
    if not responder.bound:
        raise CommandError("could not listen on any port", EXIT_FAIL)
    counts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(responder.counts.items())) or "no connection"
    tell(f"responder stopped after {time.monotonic() - started:.0f} s: {counts}")


class PeerLog:
    """`listen --log`: one JSON line per peer, appended; a write that fails (a full disk, /dev/full) is remembered."""

    def __init__(self, path: Path) -> None:
        self.path, self.error = path, ""
        self.sink: IO[str] | None = path.open("a", encoding="utf-8")

    def write(self, record: dict[str, object]) -> bool:
        if self.sink is None:
            return False
        try:
            self.sink.write(json.dumps(record) + "\n")
            self.sink.flush()
        except OSError as exc:
            self.error = f"cannot write --log {str(self.path)!r}: {exc.strerror or exc}"
            self.close()
            return False
        return True

    def close(self) -> None:
        if self.sink is not None:
            with contextlib.suppress(OSError):
                self.sink.close()
            self.sink = None
