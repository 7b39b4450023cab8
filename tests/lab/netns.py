"""A small network-namespace lab: hosts on one bridge, their firewalls and their servers.

Everything lives in namespaces named after a per-run prefix, so the root namespace is never touched
and a crashed earlier run can be swept away by prefix. `Lab.close()` kills every process and deletes
every namespace it made, whatever state the build reached.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

PREFIX_ROOT = "nctl"
_LAB_NUMBERS = itertools.count(1)


class LabError(RuntimeError):
    """The lab could not be built (missing tool, no privilege, a command failed)."""


def sh(argv: list[str], *, check: bool = True, input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command, raising LabError with its stderr when it fails."""
    try:
        proc = subprocess.run(argv, input=input_text, capture_output=True, text=True, timeout=60)
    except FileNotFoundError as exc:
        raise LabError(f"{argv[0]} is not installed") from exc
    if check and proc.returncode != 0:
        raise LabError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc


def sweep_stale_namespaces() -> None:
    """Delete namespaces left by lab runs whose process is gone (a killed test session)."""
    out = sh(["ip", "netns", "list"], check=False).stdout
    for line in out.splitlines():
        name = line.split()[0] if line.split() else ""
        parts = name.split("-")
        if len(parts) < 2 or not parts[0].startswith(PREFIX_ROOT):
            continue
        pid = parts[0][len(PREFIX_ROOT) :]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            _kill_namespace(name)


def _kill_namespace(ns: str) -> None:
    pids = sh(["ip", "netns", "pids", ns], check=False).stdout.split()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)
    sh(["ip", "netns", "del", ns], check=False)
    shutil.rmtree(Path("/etc/netns") / ns, ignore_errors=True)


@dataclass
class Host:
    """One namespace with one interface (eth0) on the lab bridge."""

    lab: Lab
    name: str
    ns: str
    address: str

    def run(self, argv: list[str], *, check: bool = True, input_text: str | None = None) -> subprocess.CompletedProcess[str]:
        return sh(["ip", "netns", "exec", self.ns, *argv], check=check, input_text=input_text)

    def spawn(self, argv: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
        return self.lab.spawn(self, argv, **kwargs)

    def etc_file(self, name: str, text: str) -> None:
        """Give this namespace its own /etc/NAME: `ip netns exec` bind-mounts /etc/netns/NS/NAME over it."""
        folder = Path("/etc/netns") / self.ns
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)

    def nft(self, ruleset: str) -> None:
        """Load an nftables ruleset into this host's namespace."""
        self.run(["nft", "-f", "-"], input_text=ruleset)


@dataclass
class Lab:
    """Hosts in namespaces on one bridge; the bridge itself sits in its own 'switch' namespace."""

    workdir: Path
    prefix: str = field(default_factory=lambda: f"{PREFIX_ROOT}{os.getpid()}-{next(_LAB_NUMBERS)}")
    hosts: dict[str, Host] = field(default_factory=dict)
    namespaces: list[str] = field(default_factory=list)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _ports: int = 0
    _open: Path | None = None

    def open_dir(self, name: str) -> Path:
        """A new directory every user can traverse (Samba's RPC workers open their state there as the logged-in
        user, and pytest's temp dirs are root's alone), deleted by close()."""
        if self._open is None:
            self._open = Path(tempfile.mkdtemp(prefix=f"{self.prefix}-"))
            self._open.chmod(0o755)
        folder = self._open / name
        folder.mkdir(mode=0o755)
        return folder

    @property
    def switch(self) -> str:
        return f"{self.prefix}-sw"

    def _add_ns(self, name: str) -> str:
        ns = f"{self.prefix}-{name}"
        sh(["ip", "netns", "add", ns])
        self.namespaces.append(ns)
        sh(["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"])
        return ns

    def build_switch(self) -> None:
        self._add_ns("sw")
        self._in(self.switch, ["ip", "link", "add", "br0", "type", "bridge"])
        self._in(self.switch, ["ip", "link", "set", "br0", "up"])

    def _in(self, ns: str, argv: list[str]) -> None:
        sh(["ip", "netns", "exec", ns, *argv])

    def add_host(self, name: str, cidr: str, *, gateway: str | None = None, extra: list[str] = ()) -> Host:  # type: ignore[assignment]
        """Create a namespace with eth0 (address `cidr`) plugged into the bridge."""
        ns = self._add_ns(name)
        self._ports += 1
        port = f"p{self._ports}"
        sh(["ip", "link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", port, "netns", self.switch])
        self._in(self.switch, ["ip", "link", "set", port, "master", "br0"])
        self._in(self.switch, ["ip", "link", "set", port, "up"])
        self._in(ns, ["ip", "addr", "add", cidr, "brd", "+", "dev", "eth0"])
        for more in extra:
            self._in(ns, ["ip", "addr", "add", more, "dev", "eth0"])
        self._in(ns, ["ip", "link", "set", "eth0", "up"])
        if gateway:
            self._in(ns, ["ip", "route", "add", "default", "via", gateway])
        host = Host(self, name, ns, cidr.split("/", maxsplit=1)[0])
        self.hosts[name] = host
        return host

    def spawn(self, host: Host, argv: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
        """Start a server in the host's namespace; its output goes to a log file in the lab's workdir."""
        log = self.workdir / f"{host.name}-{Path(argv[0]).name}-{len(self.procs)}.log"
        with log.open("wb") as sink:
            proc = subprocess.Popen(
                ["ip", "netns", "exec", host.ns, *argv],
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **kwargs,  # type: ignore[call-overload]
            )
        self.procs.append(proc)
        return proc

    def wait_tcp(self, host: Host, port: int, *, timeout_s: float = 20.0, address: str | None = None) -> None:
        """Wait until something accepts TCP on host:port, seen from inside the host's namespace."""
        deadline = time.monotonic() + timeout_s
        target = address or host.address
        probe = f"import socket,sys\ns=socket.socket();s.settimeout(1)\nsys.exit(s.connect_ex(('{target}',{port})))\n"
        while time.monotonic() < deadline:
            if host.run(["python3", "-c", probe], check=False).returncode == 0:
                return
            time.sleep(0.2)
        raise LabError(f"nothing listens on {host.name} {host.address}:{port} after {timeout_s}s")

    def wait_udp_bound(self, host: Host, port: int, *, timeout_s: float = 20.0) -> None:
        """Wait until some process in the host's namespace has bound UDP `port`."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if f":{port} " in host.run(["ss", "-Hlun"], check=False).stdout:
                return
            time.sleep(0.2)
        raise LabError(f"nothing bound UDP {port} on {host.name} after {timeout_s}s")

    def close(self) -> None:
        for proc in self.procs:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        for ns in reversed(self.namespaces):
            _kill_namespace(ns)
        self.namespaces.clear()
        self.procs.clear()
        if self._open is not None:
            shutil.rmtree(self._open, ignore_errors=True)
            self._open = None
