"""netcheck's command line: the only place that prints, writes files and chooses the exit code.

Exit codes: 0 every check passed (warnings allowed), 1 a check failed, 2 bad input, 3 netcheck itself failed.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import traceback
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from netcheck import __version__
from netcheck.address import is_address
from netcheck.errors import InputError
from netcheck.files import PLAN_LIMIT, REPORT_LIMIT, OutputError, output_target, read_limited, read_text_limited, write_output
from netcheck.firewall import RuleFormat
from netcheck.matrix import PRODUCT_PORT_KEYS, PortKey, port_number
from netcheck.model import Check, Method, Phase, Report, Role, Topology, Verdict
from netcheck.report.formats import Format

if TYPE_CHECKING:
    from netcheck.access.credentials import Credentials
    from netcheck.runner import RunOptions
    from netcheck.topology import PlanFile

EXIT_PASS, EXIT_FAIL, EXIT_INPUT, EXIT_INTERNAL = 0, 1, 2, 3


ManagementServerOption = Annotated[str | None, typer.Option(metavar="NAME", help="Name or address of the management server.")]
LicenseServerOption = Annotated[str | None, typer.Option(metavar="NAME", help="Name or address of the license server.")]
AgentOption = Annotated[
    list[str] | None,
    typer.Option(
        "--agent", metavar="HOST[:OS]", help="An agent machine, HOST or HOST:windows|linux. Repeat for more.", show_default=False
    ),
]
AgentsFileOption = Annotated[
    Path | None, typer.Option(metavar="FILE", help="A file with one agent a line: HOST or HOST,windows|linux; '#' comments.")
]
PlanOption = Annotated[Path | None, typer.Option(metavar="FILE.toml", help="A TOML plan file with the topology (see README).")]
FormatOption = Annotated[Format, typer.Option("--format", help="Report format.")]
OutputOption = Annotated[Path | None, typer.Option(metavar="FILE", help="Write the report to this file instead of stdout.")]
RedactOption = Annotated[bool, typer.Option("--redact", help="Replace host names and addresses with stable pseudonyms.")]

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Will each network connection of an Acronis Backup Advanced deployment work? "
    "Probes every link of the product's connection matrix from this machine and says pass or fail, "
    "with the packet evidence and the fix.",
)


def _fail(message: str, code: int = EXIT_INPUT) -> NoReturn:
    typer.echo(f"netcheck: error: {message}", err=True)
    raise typer.Exit(code)


def _read_text(path: Path, what: str) -> str:
    return read_text_limited(path, what)  # a regular file of at most 16 MiB, or one line and exit 2


def _topology(
    management_server: str | None,
    license_server: str | None,
    agent: list[str] | None,
    agents_file: Path | None,
    plan: Path | None,
) -> tuple[Topology, PlanFile]:
    """The topology from --plan, --agents-file and the options (options win over the plan file)."""
    from netcheck.topology import PlanFile, build_topology, parse_agent_spec, parse_agents_file, parse_plan  # noqa: PLC0415

    plan_file = parse_plan(_read_text(plan, "plan file"), filename=str(plan)) if plan else PlanFile()
    agent_groups = [plan_file.agents, [parse_agent_spec(spec) for spec in agent or []]]
    if agents_file:
        agent_groups.append(parse_agents_file(_read_text(agents_file, "agents file"), filename=str(agents_file)))
    topology = build_topology(
        management_server=management_server or plan_file.management_server,
        license_server=license_server or plan_file.license_server,
        agents=agent_groups,
        ports=plan_file.ports,
    )
    return topology, plan_file


def _token_bytes(token: str | None) -> bytes | None:
    """--token (or NETCHECK_TOKEN) as bytes; an empty one would silently turn authentication off: refused."""
    if token is None:
        token = os.environ.get("NETCHECK_TOKEN")  # click reads an empty variable as unset
        if token is None:
            return None
    if not token.strip():
        raise InputError("--token (or NETCHECK_TOKEN) is empty: give the shared token, or unset it to run without one")
    return token.encode()


def _check_readable(path: Path, what: str) -> None:
    read_limited(path, what, PLAN_LIMIT)  # the same bound the run's own read applies (names/observe.py)


def _check_output_path(path: Path, what: str = "--output") -> None:
    """Refuse an output path that cannot be written before spending minutes on probes."""
    output_target(path, what)


def _write_atomically(path: Path, chunks: Iterable[str]) -> None:
    """A regular file is replaced through a temporary file (a reader never sees half a report); devices,
    FIFOs and /dev/stdout are written through (netcheck/files.py)."""
    write_output(output_target(path), chunks)


class _Progress:
    """A progress bar on stderr: only on a terminal, only once a run has lasted a second, redrawn at most
    ten times a second (a run of 40,000 checks calls it 40,000 times)."""

    WIDTH = 30

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.started = time.monotonic()
        self.drawn_at = 0.0
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.enabled or now - self.started < 1.0 or (now - self.drawn_at < 0.1 and done < total):
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


@app.callback(invoke_without_command=True)
def main(
    ctx: typer.Context,
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        typer.echo(f"netcheck {__version__}")
        raise typer.Exit(EXIT_PASS)
    if ctx.invoked_subcommand is None:
        with _guarded():
            _check_this_machine()


@app.command(
    epilog="Examples:\n\n"
    "  netcheck check --agent 198.18.0.31:windows --agent 198.18.0.41:linux\n\n"
    "  netcheck check --from management-server --agents-file agents.txt --format json --output report.json\n\n"
    "  netcheck check --from agent --management-server ms.corp.example --license-server ls.corp.example\n\n"
    "  netcheck check --plan site.toml --phase post-install\n\n"
    "  netcheck check --from agent --management-server ms --dns-server 198.18.0.53 --hosts-file agent-hosts.txt\n\n"
    "Exit codes: 0 all passed, 1 a check failed, 2 bad input, 3 netcheck itself failed.",
)
def check(
    vantage_role: Annotated[
        Role | None,
        typer.Option("--from", help="The role of this machine in the deployment. [default: console]", show_default=False),
    ] = None,
    management_server: ManagementServerOption = None,
    license_server: LicenseServerOption = None,
    agent: AgentOption = None,
    agents_file: AgentsFileOption = None,
    plan: PlanOption = None,
    phase: Annotated[
        Phase | None,
        typer.Option(help="pre-install: a reset on a product port passes. [default: pre-install]", show_default=False),
    ] = None,
    method: Annotated[
        Method | None,
        typer.Option(help="auto: raw SYN probes when privileged, connect() otherwise. [default: auto]", show_default=False),
    ] = None,
    dns_server: Annotated[
        list[str] | None,
        typer.Option(
            "--dns-server",
            metavar="IP",
            help="Ask this name server instead of the system's. Repeat for more.",
            show_default=False,
        ),
    ] = None,
    hosts_file: Annotated[
        Path | None, typer.Option(metavar="PATH", help="Read this hosts file instead of this machine's.", show_default=False)
    ] = None,
    expect_responder: Annotated[
        bool,
        typer.Option(
            "--expect-responder",
            help="'netcheck listen' runs on the targets: a reset on 25001/9876 is then flagged as possibly forged.",
        ),
    ] = False,
    token: Annotated[
        str | None,
        typer.Option(
            metavar="TOKEN",
            envvar="NETCHECK_TOKEN",
            help="The token given to 'netcheck listen', to authenticate responders (or set NETCHECK_TOKEN).",
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option(min=0.05, max=60.0, metavar="SECONDS", help="Longest wait for an answer (the RTT decides below it).")
    ] = 2.0,
    retries: Annotated[int, typer.Option(min=0, max=10, metavar="N", help="Extra tries for probes that got no answer.")] = 1,
    concurrency: Annotated[int, typer.Option(min=1, max=16384, metavar="N", help="Connect probes in flight at most.")] = 256,
    rate: Annotated[int, typer.Option(min=10, max=1_000_000, metavar="PPS", help="SYN probes sent per second at most.")] = 100000,
    identify: Annotated[
        bool, typer.Option("--identify/--no-identify", help="Find out what answers on open ports (SSH, SMB, TLS, responder).")
    ] = True,
    user: Annotated[
        str | None,
        typer.Option(
            metavar="USER",
            help="Log in to the agents as DOMAIN\\name, name@domain or name, to check that the remote installation "
            "will work. The password is asked (on a terminal), or taken from NETCHECK_PASSWORD or --password-file; "
            "never from the command line.",
            show_default=False,
        ),
    ] = None,
    password_file: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="Read the password from the first line of FILE (mode 600).", show_default=False),
    ] = None,
    ssh_key: Annotated[
        list[Path] | None,
        typer.Option(
            "--ssh-key",
            metavar="FILE",
            help="A private key for SSH logins (a running ssh-agent is used too).",
            show_default=False,
        ),
    ] = None,
    known_hosts: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="The known_hosts file to trust agents' SSH host keys from. [default: ~/.ssh/known_hosts]",
            show_default=False,
        ),
    ] = None,
    write_test: Annotated[
        bool, typer.Option("--write-test/--no-write-test", help="Write and delete one file in ADMIN$ on Windows agents.")
    ] = True,
    kerberos: Annotated[
        bool,
        typer.Option(
            "--kerberos/--no-kerberos",
            help="Log in to Windows agents with Kerberos first when --user is a domain account whose tickets are in the "
            "ticket cache (kinit's: KRB5CCNAME, or /tmp/krb5cc_UID); then no password is asked, and NTLM with a password "
            "(NETCHECK_PASSWORD, --password-file) is the fallback. Give agents by name for Kerberos. --no-kerberos: NTLM only.",
        ),
    ] = True,
    output_format: FormatOption = Format.TABLE,
    output: OutputOption = None,
    redact_report: RedactOption = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress and no summary line.")] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show evidence in the table; tracebacks on internal errors.")
    ] = False,
) -> None:
    """Probe every link of the connection matrix that starts at this machine."""
    with _guarded(verbose=verbose):
        secret = _token_bytes(token)
        topology, plan_file = _topology(management_server, license_server, agent, agents_file, plan)
        role = vantage_role or plan_file.vantage or Role.CONSOLE
        checks = _plan(topology, role)
        for server in dns_server or []:
            if not is_address(server):
                raise InputError(f"--dns-server {server!r} is not an IP address")
        if hosts_file is not None:
            _check_readable(hosts_file, "hosts file")  # fail now, with exit 2, rather than report it on every name
        output_options = Output(output_format, output, redact_report, quiet, verbose)
        if output:
            _check_output_path(output)
        access = AccessOptions(user, password_file, tuple(ssh_key or ()), known_hosts, write_test, kerberos)
        credentials = _credentials(access, plan_file)
        options = _run_options(
            phase=phase or plan_file.phase or Phase.PRE_INSTALL,
            method=method or plan_file.method or Method.AUTO,
            timeout_s=timeout,
            retries=retries,
            concurrency=concurrency,
            rate_pps=rate,
            dns_servers=tuple(dns_server or ()),
            hosts_path=hosts_file,
            identify_services=identify,
            expect_responder=expect_responder,
            token=secret,
            credentials=credentials,
            servers=tuple(
                (t, port_number(PortKey.PRODUCT, topology.ports))
                for t in (topology.management_server, topology.license_server)
                if t is not None
            ),
        )
        report = _run(checks, role, options, quiet=quiet)
        _emit(report, output_options)
        raise typer.Exit(exit_code(report))


@dataclass(frozen=True)
class Output:
    """Where and how a report is written."""

    format: Format = Format.TABLE
    path: Path | None = None
    redact: bool = False
    quiet: bool = False
    verbose: bool = False


@dataclass(frozen=True)
class AccessOptions:
    """The access checks' options as given on the command line (the password is never one of them)."""

    user: str | None = None
    password_file: Path | None = None
    ssh_keys: tuple[Path, ...] = ()
    known_hosts: Path | None = None
    write_test: bool = True
    kerberos: bool = True


def _credentials(access: AccessOptions, plan_file: PlanFile) -> Credentials | None:
    """Who logs in to the agents; None (the access checks then skip) when no user is given anywhere.

    netcheck.access (and its optional libraries) is imported only when a user is given, so a run without
    --user, and `netcheck --help`, never load it.
    """
    if not (access.user or plan_file.credentials):
        return None
    import getpass  # noqa: PLC0415

    from netcheck.access import smb as access_smb  # noqa: PLC0415
    from netcheck.access import ssh as access_ssh  # noqa: PLC0415
    from netcheck.access.credentials import CredentialInput, gather_credentials  # noqa: PLC0415

    if not (access_ssh.available() and access_smb.available()):
        raise InputError(f"--user needs the install-check extra: {access_ssh.INSTALL_HINT}")
    given = CredentialInput(
        access.user,
        access.password_file,
        access.ssh_keys,
        access.known_hosts,
        access.write_test,
        plan_file.credentials,
        kerberos=access.kerberos,
    )
    return gather_credentials(given, environ=os.environ, stdin_is_tty=sys.stdin.isatty(), prompt=getpass.getpass)


def _plan(topology: Topology, role: Role) -> list[Check]:
    from netcheck.plan import NothingToCheck, plan_checks  # noqa: PLC0415

    try:
        return plan_checks(topology, role)
    except NothingToCheck as exc:
        raise InputError(str(exc)) from None


def _run_options(**values: Any) -> RunOptions:
    """The runner's options (the runner, with every probe, is imported only when a run starts)."""
    from netcheck.runner import RunOptions  # noqa: PLC0415

    return RunOptions(**values)


def _run(checks: list[Check], role: Role, options: RunOptions, *, quiet: bool) -> Report:
    """Run the checks (with progress on a terminal) into one Report."""
    from netcheck.host.windows import method_note  # noqa: PLC0415
    from netcheck.runner import Probes, resolve_method, run  # noqa: PLC0415

    probes = Probes()
    # Resolved here too (run resolves it again, to the same) for the note: bad input is raised before any probe.
    chosen = resolve_method(options.method, probes)
    if not quiet and (note := method_note(sys.platform, str(options.method), str(chosen))):
        typer.echo(note, err=True)
    progress = _Progress(enabled=not quiet and sys.stderr.isatty())
    try:
        return run(checks, role, options, probes=probes, on_progress=progress)
    finally:
        progress.close()


def _check_this_machine() -> None:
    """Bare `netcheck`: host readiness and the product's ports on loopback, as a table."""
    from netcheck.plan import plan_local  # noqa: PLC0415

    report = _run(plan_local(Role.CONSOLE), Role.CONSOLE, _run_options(timeout_s=1.0), quiet=False)
    _emit(report, Output())
    typer.echo("Check a deployment's links with 'netcheck check --help'; answer probes with 'netcheck listen'.")
    raise typer.Exit(exit_code(report))


def _emit(report: Report, output: Output) -> None:
    """Render (redacted if asked) and write to --output, atomically, or to stdout."""
    from netcheck.report.base import summary_line  # noqa: PLC0415
    from netcheck.report.formats import render  # noqa: PLC0415

    if output.redact:
        from netcheck.report.redact import redact  # noqa: PLC0415

        report = redact(report)
    chunks = render(report, output.format, verbose=output.verbose)
    if output.path:
        _write_atomically(output.path, chunks)
        if not output.quiet and not output_target(output.path).is_stdout:  # the summary must not end up inside the report
            typer.echo(f"{summary_line(report)}; report written to {output.path}")
    else:
        try:
            for chunk in chunks:
                sys.stdout.write(chunk)
            sys.stdout.flush()
        except BrokenPipeError:
            _reader_gone()


def _reader_gone() -> None:
    """stdout's reader has gone (`| head -1`): stop writing, quietly; the exit code still tells the verdict."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's last flush at exit does not fail again
    os.close(devnull)


def _load_report(path: Path) -> Report:
    from netcheck.report.json import ReportError, parse_report  # noqa: PLC0415

    try:
        return parse_report(read_text_limited(path, "report", REPORT_LIMIT))
    except ReportError as exc:
        raise InputError(f"{path}: {exc}") from None


@app.command(
    epilog="Examples:\n\n  netcheck report console.json --format markdown --output ticket.md\n\n"
    "  netcheck report console.json --format html --redact --output report.html",
)
def report(
    file: Annotated[Path, typer.Argument(metavar="FILE.json", help="A report saved with --format json.")],
    output_format: FormatOption = Format.TABLE,
    output: OutputOption = None,
    redact_report: RedactOption = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show evidence in the table.")] = False,
) -> None:
    """Render a saved JSON report in another format. Exit 0 when rendered, 2 when the file is not a report."""
    with _guarded():
        _render_saved([file], Output(output_format, output, redact_report, verbose=verbose))


@app.command(
    epilog="Example:\n\n  netcheck merge console.json agent-win1.json agent-lin1.json --format html --output site.html",
)
def merge(
    files: Annotated[list[Path], typer.Argument(metavar="FILE.json...", help="Reports from different machines.")],
    output_format: FormatOption = Format.TABLE,
    output: OutputOption = None,
    redact_report: RedactOption = False,
    unreachable: Annotated[
        list[str] | None,
        typer.Option(
            "--unreachable",
            metavar="HOST[=REASON]",
            help="An agent that could not be reached to run netcheck (repeatable): it becomes an error row.",
        ),
    ] = None,
) -> None:
    """Combine reports taken from several vantage points into one report with a link matrix.

    The same run given twice is merged once; vantage points that share a host name are kept, with a warning."""
    with _guarded():
        _render_saved(files, Output(output_format, output, redact_report), unreachable or [])


def _render_saved(files: list[Path], output: Output, unreachable: Sequence[str] = ()) -> None:
    from netcheck.report.json import ReportError  # noqa: PLC0415
    from netcheck.report.merge import merge_with_notes, parse_unreachable  # noqa: PLC0415

    if output.path:
        _check_output_path(output.path)
    reports = [_load_report(path) for path in files]
    try:
        hosts = [parse_unreachable(spec) for spec in unreachable]
        if len(reports) == 1 and not hosts:
            combined = reports[0]
        else:
            merged = merge_with_notes(reports, tool_version=__version__, unreachable=hosts)
            combined = merged.report
            for note in merged.notes:
                typer.echo(f"netcheck merge: warning: {note}", err=True)
    except ReportError as exc:
        raise InputError(str(exc)) from None
    _emit(combined, output)


@app.command(
    epilog="Examples:\n\n  netcheck ports --format csv\n\n"
    "  netcheck ports --management-server 198.18.0.20 --agents-file agents.txt --format netsh",
)
def ports(
    rule_format: Annotated[RuleFormat, typer.Option("--format", help="Rule syntax.")] = RuleFormat.CSV,
    management_server: ManagementServerOption = None,
    license_server: LicenseServerOption = None,
    agent: AgentOption = None,
    agents_file: AgentsFileOption = None,
    plan: PlanOption = None,
    output: OutputOption = None,
) -> None:
    """Print the firewall rules the deployment needs: inbound on each destination, with source-port ranges."""

    from netcheck.firewall import firewall_rules, render_rules  # noqa: PLC0415

    with _guarded():
        if output:
            _check_output_path(output)
        topology, _plan_file = _topology(management_server, license_server, agent, agents_file, plan)
        rules = render_rules(firewall_rules(topology), rule_format)
        if output:
            _write_atomically(output, [rules])
            return
        try:
            sys.stdout.write(rules)
            sys.stdout.flush()
        except BrokenPipeError:
            _reader_gone()


@contextlib.contextmanager
def _guarded(*, verbose: bool = False) -> Iterator[None]:
    """Every command's body runs inside: bad input exits 2 with one line, anything unexpected exits 3 with
    one line (the traceback only with --verbose), never a bare traceback."""
    try:
        yield
    except typer.Exit:
        raise
    except InputError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        _fail("interrupted", EXIT_INTERNAL)
    except OutputError as exc:
        _fail(str(exc), EXIT_INTERNAL)
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        if verbose:
            traceback.print_exc()
        _fail(f"internal error: {type(exc).__name__}: {exc}", EXIT_INTERNAL)


@app.command(
    epilog="Examples:\n\n"
    "  netcheck listen                      # on an agent, before installation: answer on 25001 and 9876\n\n"
    "  NETCHECK_TOKEN=s3cret netcheck listen --duration 1800 --log peers.jsonl\n\n"
    "  then, from the console: netcheck check --agent HOST:windows --expect-responder --token s3cret",
)
def listen(
    port: Annotated[
        list[int] | None,
        typer.Option("--port", min=1, max=65535, metavar="PORT", help="A port to answer on. Repeat. [default: 25001, 9876]"),
    ] = None,
    duration: Annotated[float, typer.Option(min=1, max=86400, metavar="SECONDS", help="Stop by itself after this long.")] = 600,
    token: Annotated[
        str | None,
        typer.Option(
            metavar="TOKEN", envvar="NETCHECK_TOKEN", help="Prove to 'check --token' that both share it.", show_default=False
        ),
    ] = None,
    bind: Annotated[str, typer.Option(metavar="ADDRESS", help="The address to listen on.")] = "0.0.0.0",  # noqa: S104
    max_connections: Annotated[int, typer.Option(min=1, max=4096, metavar="N", help="Connections served at once at most.")] = 64,
    log: Annotated[Path | None, typer.Option(metavar="FILE", help="Append each peer as a JSON line to FILE.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only the summary.")] = False,
) -> None:
    """Answer netcheck's handshake on the product's ports, so 'check' can verify links end to end."""
    with _guarded():
        _listen(port or [port_number(key) for key in PRODUCT_PORT_KEYS], duration, token, bind, max_connections, log, quiet)


def _listen(
    ports: list[int], duration: float, token: str | None, bind: str, max_connections: int, log: Path | None, quiet: bool
) -> None:
    import asyncio  # noqa: PLC0415

    from netcheck.host.facts import port_holders  # noqa: PLC0415
    from netcheck.responder import ListenOptions, PeerEvent, Responder  # noqa: PLC0415

    secret = _token_bytes(token)
    if not is_address(bind):
        raise InputError(f"--bind {bind!r} is not an IP address")
    if log and not (log.is_file() and os.access(log, os.W_OK)):  # an existing log is appended to, not replaced
        _check_output_path(log, "--log")
    holders = port_holders(ports)
    for taken, holder in holders.items():
        typer.echo(f"port {taken} is taken by {holder}: the product could not listen there either")
    free = tuple(dict.fromkeys(p for p in ports if p not in holders))
    if not free:
        _fail("every port is taken: nothing to listen on", EXIT_FAIL)
    sink = _PeerLog(log) if log else None

    def say(text: str) -> None:
        try:
            typer.echo(text)
        except BrokenPipeError:  # `listen | head -1`: the reader has gone, so stop answering too
            _reader_gone()
            responder.stop()

    def on_ready(bound: list[int], failed: dict[int, str]) -> None:
        for number, reason in failed.items():
            say(f"cannot listen on {number}: {reason}")
        if bound:
            auth = "with a token" if secret else "without a token"
            say(f"listening on {bind} port {', '.join(map(str, bound))} for {duration:g} s, {auth}; Ctrl-C stops")

    def on_event(event: PeerEvent) -> None:
        ranges = ", ".join(event.source_ranges) or "outside the documented source-port ranges"
        if not quiet:
            stamp = datetime.fromtimestamp(event.at).strftime("%H:%M:%S")
            say(f"{stamp} {event.peer}:{event.peer_port} -> {event.port} {event.outcome} (source port: {ranges})")
        if sink and not sink.write(asdict(event)):
            responder.stop()  # the log the user asked for is being lost: stop, and say so

    responder = Responder(ListenOptions(free, duration, secret, bind, max_connections), on_event, on_ready)
    started = time.monotonic()
    try:
        asyncio.run(responder.run())
    finally:
        if sink:
            sink.close()
    if sink and sink.error:
        _fail(sink.error, EXIT_INTERNAL)
    if not responder.bound:
        _fail("could not listen on any port", EXIT_FAIL)
    counts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(responder.counts.items())) or "no connection"
    say(f"responder stopped after {time.monotonic() - started:.0f} s: {counts}")


class _PeerLog:
    """`listen --log`: one JSON line per peer, appended; a write that fails (a full disk, /dev/full) is remembered."""

    def __init__(self, path: Path) -> None:
        self.path, self.error = path, ""
        self.sink: IO[str] | None = path.open("a", encoding="utf-8")

    def write(self, record: dict[str, object]) -> bool:
        import json  # noqa: PLC0415

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


def exit_code(report: Report) -> int:
    """0 pass (warnings allowed), 1 any failure, 3 when netcheck could not run some check."""
    verdict = report.verdict
    if verdict is Verdict.FAIL:
        return EXIT_FAIL
    if verdict is Verdict.ERROR:
        return EXIT_INTERNAL
    return EXIT_PASS


def run() -> None:
    """Console-script entry point."""
    app()
