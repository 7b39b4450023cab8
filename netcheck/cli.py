"""netcheck's command line: the only place that prints, writes files and chooses the exit code.

Exit codes: 0 every check passed (warnings allowed), 1 a check failed, 2 bad input, 3 netcheck itself failed.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import asdict
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from netcheck import __version__
from netcheck.firewall import RuleFormat, firewall_rules, render_rules
from netcheck.host.facts import os_description, port_holders, vantage
from netcheck.model import Check, Method, Phase, Report, Role, Topology, Verdict
from netcheck.names.dns import valid_server
from netcheck.plan import NothingToCheck, plan_checks, plan_local
from netcheck.report.base import summary_line
from netcheck.report.html import render_html
from netcheck.report.json import ReportError, iter_json, parse_report
from netcheck.report.junit import render_junit
from netcheck.report.markdown import render_markdown
from netcheck.report.merge import merge_reports
from netcheck.report.redact import redact
from netcheck.report.table import render_table
from netcheck.responder import ListenOptions, PeerEvent, Responder
from netcheck.runner import Probes, RunOptions, effective_method, run_checks
from netcheck.topology import InputError, PlanFile, build_topology, parse_agent_spec, parse_agents_file, parse_plan

EXIT_PASS, EXIT_FAIL, EXIT_INPUT, EXIT_INTERNAL = 0, 1, 2, 3


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"
    JUNIT = "junit"
    HTML = "html"


RENDERERS: dict[Format, Callable[[Report], str]] = {  # table and JSON are rendered by _emit itself
    Format.MARKDOWN: render_markdown,
    Format.JUNIT: render_junit,
    Format.HTML: render_html,
}

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
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{what} {str(path)!r} not found") from None
    except IsADirectoryError:
        raise InputError(f"{what} {str(path)!r} is a directory") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {what} {str(path)!r}: {exc}") from None


def _topology(
    management_server: str | None,
    license_server: str | None,
    agent: list[str] | None,
    agents_file: Path | None,
    plan: Path | None,
) -> tuple[Topology, PlanFile]:
    """The topology from --plan, --agents-file and the options (options win over the plan file)."""
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


def _allow_open_files(wanted: int) -> None:
    """Raise this process's open-file limit so `wanted` sockets fit (the soft limit is often 1024)."""
    try:
        import resource  # noqa: PLC0415 - POSIX only

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != resource.RLIM_INFINITY and soft < wanted:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted if hard == resource.RLIM_INFINITY else min(wanted, hard), hard))
    except (ImportError, ValueError, OSError):
        pass  # the runner's bound still holds; connects beyond the limit become error results


def _check_readable(path: Path, what: str) -> None:
    try:
        with path.open("rb"):
            pass
    except FileNotFoundError:
        raise InputError(f"{what} {str(path)!r} not found") from None
    except OSError as exc:
        raise InputError(f"cannot read {what} {str(path)!r}: {exc.strerror or exc}") from None


def _check_output_path(path: Path) -> None:
    """Refuse an output path that cannot be written before spending minutes on probes."""
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise InputError(f"--output {str(path)!r} is a directory")
    if not parent.is_dir():
        raise InputError(f"--output {str(path)!r}: directory {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK):
        raise InputError(f"--output {str(path)!r}: directory {str(parent)!r} is not writable")


def _write_atomically(path: Path, chunks: Iterable[str]) -> None:
    """Write to a temporary file beside `path`, then rename: a reader never sees half a report."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("w", encoding="utf-8") as sink:
            for chunk in chunks:
                sink.write(chunk)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


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
        _guard(_check_this_machine)


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
    output_format: FormatOption = Format.TABLE,
    output: OutputOption = None,
    redact_report: RedactOption = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress and no summary line.")] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show evidence in the table; tracebacks on internal errors.")
    ] = False,
) -> None:
    """Probe every link of the connection matrix that starts at this machine."""
    options = locals()
    _guard(lambda: _check(**options), verbose=verbose)


def _check(
    *,
    vantage_role: Role | None,
    management_server: str | None,
    license_server: str | None,
    agent: list[str] | None,
    agents_file: Path | None,
    plan: Path | None,
    phase: Phase | None,
    method: Method | None,
    dns_server: list[str] | None,
    hosts_file: Path | None,
    expect_responder: bool,
    token: str | None,
    timeout: float,
    retries: int,
    concurrency: int,
    rate: int,
    identify: bool,
    output_format: Format,
    output: Path | None,
    redact_report: bool,
    quiet: bool,
    verbose: bool,
) -> None:
    topology, plan_file = _topology(management_server, license_server, agent, agents_file, plan)
    role = vantage_role or plan_file.vantage or Role.CONSOLE
    try:
        checks = plan_checks(topology, role)
    except NothingToCheck as exc:
        raise InputError(str(exc)) from None
    for server in dns_server or []:
        if not valid_server(server):
            raise InputError(f"--dns-server {server!r} is not an IP address")
    if hosts_file is not None:
        _check_readable(hosts_file, "hosts file")  # fail now, with exit 2, rather than report it on every name
    if output:
        _check_output_path(output)
    probes = Probes()
    chosen = effective_method(method or plan_file.method or Method.AUTO, probes)
    if chosen is Method.SYN and not probes.syn_available():
        raise InputError("--method syn needs raw sockets: run as root (or with CAP_NET_RAW), or use --method connect")
    options = RunOptions(
        phase=phase or plan_file.phase or Phase.PRE_INSTALL,
        method=chosen,
        timeout_s=timeout,
        retries=retries,
        concurrency=concurrency,
        source_os=os_description(),
        ports=dict(topology.ports),
        dns_servers=tuple(dns_server or ()),
        hosts_path=hosts_file,
        expect_responder=expect_responder,
        token=token.encode() if token else None,
        rate_pps=rate,
        identify_services=identify,
    )
    _allow_open_files(concurrency + 256)
    report = _run(checks, role, options, probes, quiet=quiet)
    _emit(report, output_format, output, quiet=quiet, verbose=verbose, redacted=redact_report)
    raise typer.Exit(exit_code(report))


def _run(checks: list[Check], role: Role, options: RunOptions, probes: Probes, *, quiet: bool) -> Report:
    """Run the checks (with progress on a terminal) into one Report."""
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    clock = time.perf_counter()
    progress = _Progress(enabled=not quiet and sys.stderr.isatty())
    try:
        results = asyncio.run(run_checks(checks, options, probes=probes, on_progress=progress))
    finally:
        progress.close()
    return Report(
        tool_version=__version__,
        started_at=started_at,
        duration_s=round(time.perf_counter() - clock, 3),
        vantage=vantage(role),
        phase=options.phase,
        method=str(options.method),
        results=tuple(results),
    )


def _check_this_machine() -> None:
    """Bare `netcheck`: host readiness and the product's ports on loopback, as a table."""
    probes = Probes()
    options = RunOptions(method=effective_method(Method.AUTO, probes), source_os=os_description(), timeout_s=1.0)
    report = _run(plan_local(Role.CONSOLE), Role.CONSOLE, options, probes, quiet=False)
    _emit(report, Format.TABLE, None, quiet=False, verbose=False, redacted=False)
    typer.echo("Check a deployment's links with 'netcheck check --help'; answer probes with 'netcheck listen'.")
    raise typer.Exit(exit_code(report))


def _emit(report: Report, output_format: Format, output: Path | None, *, quiet: bool, verbose: bool, redacted: bool) -> None:
    """Render (redacted if asked) and write to --output, atomically, or to stdout."""
    shown = redact(report) if redacted else report
    if output_format is Format.JSON:
        chunks: Iterable[str] = iter_json(shown)  # streamed: a large run's report is never one string
    elif output_format is Format.TABLE:
        chunks = [render_table(shown, verbose=verbose)]
    else:
        chunks = [RENDERERS[output_format](shown)]
    if output:
        _write_atomically(output, chunks)
        if not quiet:
            typer.echo(f"{summary_line(shown)}; report written to {output}")
    else:
        for chunk in chunks:
            sys.stdout.write(chunk)
        sys.stdout.flush()


def _load_report(path: Path) -> Report:
    try:
        return parse_report(_read_text(path, "report"))
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
    _guard(lambda: _render_saved([file], output_format, output, redact_report, verbose))


@app.command(
    epilog="Example:\n\n  netcheck merge console.json agent-win1.json agent-lin1.json --format html --output site.html",
)
def merge(
    files: Annotated[list[Path], typer.Argument(metavar="FILE.json...", help="Reports from different machines.")],
    output_format: FormatOption = Format.TABLE,
    output: OutputOption = None,
    redact_report: RedactOption = False,
) -> None:
    """Combine reports taken from several vantage points into one report with a link matrix."""
    _guard(lambda: _render_saved(files, output_format, output, redact_report, False))


def _render_saved(files: list[Path], output_format: Format, output: Path | None, redacted: bool, verbose: bool) -> None:
    if output:
        _check_output_path(output)
    reports = [_load_report(path) for path in files]
    try:
        combined = reports[0] if len(reports) == 1 else merge_reports(reports, tool_version=__version__)
    except ReportError as exc:
        raise InputError(str(exc)) from None
    _emit(combined, output_format, output, quiet=False, verbose=verbose, redacted=redacted)


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
) -> None:
    """Print the firewall rules the deployment needs: inbound on each destination, with source-port ranges."""

    def run() -> None:
        topology, _plan = _topology(management_server, license_server, agent, agents_file, plan)
        typer.echo(render_rules(firewall_rules(topology), rule_format), nl=False)

    _guard(run)


def _guard(action: Callable[[], None], *, verbose: bool = False) -> None:
    """Every command's body runs here: bad input exits 2 with one line, anything unexpected exits 3 with
    one line (the traceback only with --verbose), never a bare traceback."""
    try:
        action()
    except typer.Exit:
        raise
    except InputError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        _fail("interrupted", EXIT_INTERNAL)
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
    _guard(lambda: _listen(port or [25001, 9876], duration, token, bind, max_connections, log, quiet))


def _listen(
    ports: list[int], duration: float, token: str | None, bind: str, max_connections: int, log: Path | None, quiet: bool
) -> None:
    if not valid_server(bind):
        raise InputError(f"--bind {bind!r} is not an IP address")
    if log:
        _check_output_path(log)
    holders = port_holders(ports)
    for taken, holder in holders.items():
        typer.echo(f"port {taken} is taken by {holder}: the product could not listen there either")
    free = tuple(dict.fromkeys(p for p in ports if p not in holders))
    if not free:
        _fail("every port is taken: nothing to listen on", EXIT_FAIL)
    sink = log.open("a", encoding="utf-8") if log else None

    def on_ready(bound: list[int], failed: dict[int, str]) -> None:
        for number, reason in failed.items():
            typer.echo(f"cannot listen on {number}: {reason}")
        if bound:
            auth = "with a token" if token else "without a token"
            typer.echo(f"listening on {bind} port {', '.join(map(str, bound))} for {duration:g} s, {auth}; Ctrl-C stops")

    def on_event(event: PeerEvent) -> None:
        ranges = ", ".join(event.source_ranges) or "outside the seed's source-port ranges"
        if not quiet:
            stamp = datetime.fromtimestamp(event.at).strftime("%H:%M:%S")
            typer.echo(f"{stamp} {event.peer}:{event.peer_port} -> {event.port} {event.outcome} (source port: {ranges})")
        if sink:
            sink.write(json.dumps(asdict(event)) + "\n")
            sink.flush()

    responder = Responder(
        ListenOptions(free, duration, token.encode() if token else None, bind, max_connections), on_event, on_ready
    )
    started = time.monotonic()
    try:
        asyncio.run(responder.run())
    finally:
        if sink:
            sink.close()
    if not responder.bound:
        _fail("could not listen on any port", EXIT_FAIL)
    counts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(responder.counts.items())) or "no connection"
    typer.echo(f"responder stopped after {time.monotonic() - started:.0f} s: {counts}")


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
