"""One `netcheck check` from its options to its report: the topology read, the input checked, the credentials
gathered, the checks planned and run (with progress on a terminal). The CLI parses and prints; this runs.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING

from netcheck.errors import InputError
from netcheck.files import PLAN_LIMIT, read_limited
from netcheck.model.checks import Check, Report, Topology
from netcheck.model.kinds import Method, Phase, Product, Role
from netcheck.model.record import record

if TYPE_CHECKING:
    from netcheck.observe.access.credentials import CredentialInput, Credentials
    from netcheck.observe.probes.syn import SynInBackground
    from netcheck.observe.runner import RunOptions


@record
class CheckRequest:
    """What `netcheck check` was asked: the command line's options (None: the plan file's, or the default)."""

    plan: Path | None = None
    agents: Sequence[str] = ()
    agents_file: Path | None = None
    management_server: str | None = None
    license_server: str | None = None
    product: Product | None = None
    storage_nodes: Sequence[str] = ()
    vcenters: Sequence[str] = ()
    cloud_storage: Sequence[str] = ()
    catalogs: Sequence[str] = ()
    vantage: Role | None = None
    phase: Phase | None = None
    method: Method | None = None
    dns_servers: Sequence[str] = ()
    hosts_file: Path | None = None
    expect_responder: bool = False
    token: str | None = field(default=None, repr=False)
    timeout_s: float = 2.0
    retries: int = 1
    concurrency: int = 256
    rate_pps: int = 100000
    identify: bool = True
    user: str | None = None
    password_file: Path | None = None
    ssh_keys: Sequence[Path] = ()
    known_hosts: Path | None = None
    write_test: bool = True
    kerberos: bool = True


Say = Callable[[str], None]


def run_check(request: CheckRequest, *, progress: bool, note: Say) -> Report:
    """Check every link of the connection matrix that starts at this machine. Bad input raises InputError
    before any probe; `note` is told how the links are probed when that needs saying (a Windows vantage)."""
    from netcheck.model.matrix import PortKey, port_number  # noqa: PLC0415
    from netcheck.observe.access.credentials import CredentialInput  # noqa: PLC0415 - stdlib only: no optional library
    from netcheck.observe.runner import RunOptions  # noqa: PLC0415
    from netcheck.plan.topology import load_topology, parse_address  # noqa: PLC0415

    secret = token_bytes(request.token)
    topology, plan_file = load_topology(
        plan=request.plan,
        agents=request.agents,
        agents_file=request.agents_file,
        management_server=request.management_server,
        license_server=request.license_server,
        product=request.product,
        storage_nodes=request.storage_nodes,
        vcenters=request.vcenters,
        cloud_storage=request.cloud_storage,
        catalogs=request.catalogs,
    )
    role = request.vantage or plan_file.vantage or Role.CONSOLE
    dns_servers = tuple(parse_address(server, what="--dns-server") for server in request.dns_servers)
    if request.hosts_file is not None:  # fail now, with exit 2, rather than report it on every name
        read_limited(request.hosts_file, "hosts file", PLAN_LIMIT)
    given = CredentialInput(
        user=request.user,
        password_file=request.password_file,
        ssh_keys=tuple(request.ssh_keys),
        known_hosts=request.known_hosts,
        write_test=request.write_test,
        plan=plan_file.credentials,
        kerberos=request.kerberos,
    )
    options = RunOptions(
        phase=request.phase or plan_file.phase or Phase.PRE_INSTALL,
        method=request.method or plan_file.method or Method.AUTO,
        timeout_s=request.timeout_s,
        retries=request.retries,
        concurrency=request.concurrency,
        rate_pps=request.rate_pps,
        product=topology.product,
        dns_servers=dns_servers,
        hosts_path=request.hosts_file,
        identify_services=request.identify,
        expect_responder=request.expect_responder,
        token=secret,
        credentials=gather(given),
        servers=tuple(
            (t, port_number(PortKey.PRODUCT, topology.ports))
            for t in (topology.management_server, topology.license_server)
            if t is not None
        ),
    )
    background = _syn_in_background(topology, role, options)
    checks = plan(topology, role)
    gc.freeze()  # the plan (within fewer_collections, see cli.check): the collector must not walk it again and again
    report = _run(checks, role, options, progress=progress, note=note, background=background)
    _kept_until_exit[:] = [topology, report]
    return report


def check_this_machine(*, progress: bool, note: Say) -> Report:
    """Bare `netcheck`: this machine's readiness and the product's ports on loopback."""
    from netcheck.observe.runner import RunOptions  # noqa: PLC0415
    from netcheck.plan.planner import plan_local  # noqa: PLC0415

    return _run(plan_local(Role.CONSOLE), Role.CONSOLE, RunOptions(timeout_s=1.0), progress=progress, note=note)


def plan(topology: Topology, role: Role) -> list[Check]:
    from netcheck.plan.planner import NothingToCheck, plan_checks  # noqa: PLC0415

    try:
        return plan_checks(topology, role)
    except NothingToCheck as exc:
        raise InputError(str(exc)) from None


def _syn_in_background(topology: Topology, role: Role, options: RunOptions) -> SynInBackground | None:
    """The SYN probes of the links to IPv4 addresses, started before the checks are planned, when this run will
    probe by SYN: they go on while netcheck plans and sets up the rest (links to names get a batch of their own
    once their names are resolved). None otherwise."""
    from netcheck.model.address import ip_version  # noqa: PLC0415
    from netcheck.observe.probes.syn import SynInBackground, syn_available  # noqa: PLC0415
    from netcheck.plan.planner import link_groups  # noqa: PLC0415

    if options.method is Method.CONNECT or not syn_available():
        return None
    keys = [
        (target.name, port)
        for _link, port, skip_reason, targets in link_groups(topology, role)
        if not skip_reason
        for target in targets
        if ip_version(target.name) == 4 and target.name != "0.0.0.0"  # noqa: S104 - no machine: failed unprobed
    ]
    if not keys:
        return None
    return SynInBackground(keys, timeout_s=options.timeout_s, retries=options.retries, rate_pps=options.rate_pps)


def _run(
    checks: list[Check],
    role: Role,
    options: RunOptions,
    *,
    progress: bool,
    note: Say,
    background: SynInBackground | None = None,
) -> Report:
    from netcheck.observe.runner import Probes, resolve_method, run  # noqa: PLC0415
    from netcheck.parse.windows import method_note  # noqa: PLC0415

    probes = Probes(syn_batch=background.collect) if background is not None else Probes()
    # Resolved here too (run resolves it again, to the same) for the note: bad input is raised before any probe.
    chosen = resolve_method(options.method, probes)
    if text := method_note(sys.platform, str(options.method), str(chosen)):
        note(text)
    bar = ProgressBar() if progress else None
    try:
        return run(checks, role, options, probes=probes, on_progress=bar)
    finally:
        if bar is not None:
            bar.close()


def gather(given: CredentialInput) -> Credentials | None:
    """Who logs in to the agents; None (the access checks then skip) when no user is given anywhere.

    netcheck.observe.access's optional libraries are checked for only when a user is named (--user, or a user key of
    the plan's [credentials]), so a run without one, and `netcheck --help`, never need them. --password-file
    without a user is an input error; NETCHECK_PASSWORD without one stays unused (it is the environment's).
    """
    if given.names_a_user:
        import getpass  # noqa: PLC0415

        from netcheck.observe.access import smb as access_smb  # noqa: PLC0415
        from netcheck.observe.access import ssh as access_ssh  # noqa: PLC0415
        from netcheck.observe.access.credentials import gather_credentials  # noqa: PLC0415

        if not (access_ssh.available() and access_smb.available()):
            raise InputError(f"--user needs the install-check extra: {access_ssh.INSTALL_HINT}")
        return gather_credentials(given, environ=os.environ, stdin_is_tty=sys.stdin.isatty(), prompt=getpass.getpass)
    if given.password_file is not None:
        raise InputError(
            "--password-file is given but no user: give --user (or user, windows_user or linux_user in the plan file's "
            "[credentials])"
        )
    return None


def token_bytes(token: str | None) -> bytes | None:
    """--token (or NETCHECK_TOKEN) as bytes; an empty one would silently turn authentication off: refused."""
    if token is None:
        token = os.environ.get("NETCHECK_TOKEN")  # an empty one is refused below, like an empty --token
        if token is None:
            return None
    if not token.strip():
        raise InputError("--token (or NETCHECK_TOKEN) is empty: give the shared token, or unset it to run without one")
    return token.encode()


class ProgressBar:
    """A progress bar on stderr, shown once a run has lasted a second, redrawn at most ten times a second (a run
    of 40,000 checks reports 40,000 times)."""

    WIDTH = 30

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.drawn_at = 0.0
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.started < 1.0 or (now - self.drawn_at < 0.1 and done < total):
            return
        self.shown, self.drawn_at = True, now
        filled = self.WIDTH * done // max(1, total)
        bar = "#" * filled + "." * (self.WIDTH - filled)
        sys.stderr.write(f"\rnetcheck [{bar}] {done}/{total} checks, {now - self.started:.0f} s")
        sys.stderr.flush()

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """A run makes a few objects per check and frees them by reference counting; the cyclic collector would
    walk the plan's (tens of thousands of) checks again and again for nothing. So the objects alive at the
    start are set aside (gc.freeze) and the youngest generation is collected less often, both undone after (see
    docs/benchmarks.md for what it saves)."""
    threshold = gc.get_threshold()
    gc.freeze()
    if threshold[0]:  # automatic collection switched off (a threshold of 0) stays off
        gc.set_threshold(max(threshold[0], 100_000), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


_kept_until_exit: list[object] = []
"""The last check's topology and report, kept alive after it returns: the console script leaves by os._exit
(netcheck.cli.run), which returns their memory at once instead of freeing half a million objects one by one
(docs/benchmarks.md). A caller in the same process (the tests) keeps one check's objects at most."""
