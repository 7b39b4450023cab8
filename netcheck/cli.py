"""netcheck's command line: parse (netcheck.options), run one command, print, and choose the exit code.

Exit codes: 0 every check passed (warnings allowed), 1 a check failed, 2 bad input, 3 netcheck itself failed.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

from netcheck import __version__, options
from netcheck.errors import CommandError, InputError
from netcheck.files import OutputError
from netcheck.model.checks import Report
from netcheck.model.kinds import Verdict
from netcheck.options import COMMANDS, DESCRIPTION
from netcheck.report.output import Output, check_writable, combine, emit, write_text

EXIT_PASS, EXIT_FAIL, EXIT_INPUT, EXIT_INTERNAL = 0, 1, 2, 3

ROOT_HELP = f"""usage: netcheck [--version] [COMMAND [OPTIONS]]

{DESCRIPTION}

Without a command, netcheck checks this machine: host readiness and the product's ports on loopback.

Commands:
{"".join(f"  {name:<8}{text}{chr(10)}" for name, text in COMMANDS.items())}
Options:
  --version   Print the version and exit.
  -h, --help  Show this message and exit.

Run 'netcheck COMMAND --help' for a command's options and examples.
Exit codes: 0 all passed, 1 a check failed, 2 bad input, 3 netcheck itself failed.
"""


def _say(text: str, *, err: bool = False) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(text + "\n")
    stream.flush()


def _fail(message: str, code: int = EXIT_INPUT) -> NoReturn:
    _say(f"netcheck: error: {message}", err=True)
    raise SystemExit(code)


def check(args: argparse.Namespace) -> int:
    """Probe every link of the connection matrix that starts at this machine."""
    from netcheck.observe.session import CheckRequest, fewer_collections, run_check  # noqa: PLC0415

    output = Output(args.output_format, args.output, args.redact_report, args.quiet, args.verbose, args.show_all)
    request = CheckRequest(
        **_machines(args), vantage=args.vantage_role, phase=args.phase, method=args.method,
        dns_servers=args.dns_server or (), hosts_file=args.hosts_file, expect_responder=args.expect_responder,
        token=args.token, timeout_s=args.timeout, retries=args.retries, concurrency=args.concurrency, rate_pps=args.rate,
        identify=args.identify, user=args.user, password_file=args.password_file, ssh_keys=args.ssh_key or (),
        known_hosts=args.known_hosts, write_test=args.write_test, kerberos=args.kerberos,
    )  # fmt: skip
    with _guarded(verbose=args.verbose), fewer_collections():
        if output.path:
            check_writable(output.path)
        report = run_check(request, progress=_progress(args.quiet), note=_note(args.quiet))
        gc.freeze()  # writing the report makes no cycles: the collector must not walk every result again
        emit(report, output, _say)
        return exit_code(report)
    return EXIT_INTERNAL  # not reached: _guarded exits


def _machines(args: argparse.Namespace) -> dict[str, Any]:
    """The options that say where the deployment's machines are (options.topology_options), by the names
    plan.topology.load_topology and CheckRequest give them."""
    return {
        "plan": args.plan, "agents": args.agent or (), "agents_file": args.agents_file,
        "management_server": args.management_server, "license_server": args.license_server, "product": args.product,
        "storage_nodes": args.storage_node or (), "vcenters": args.vcenter or (), "cloud_storage": args.cloud_storage or (),
        "catalogs": args.catalog or (),
    }  # fmt: skip


def _progress(quiet: bool) -> bool:
    return not quiet and sys.stderr.isatty()


def _note(quiet: bool) -> Callable[[str], None]:
    return (lambda _text: None) if quiet else (lambda text: _say(text, err=True))


def report(args: argparse.Namespace) -> int:
    """Render a saved JSON report in another format."""
    output = Output(args.output_format, args.output, args.redact_report, verbose=args.verbose, show_all=args.show_all)
    return _rendered([args.file], (), output)


def merge(args: argparse.Namespace) -> int:
    """Combine reports taken from several vantage points into one report with a link matrix."""
    output = Output(args.output_format, args.output, args.redact_report, show_all=args.show_all)
    return _rendered(args.files, args.unreachable or (), output, keep_going=args.keep_going)


def _rendered(files: Sequence[Path], unreachable: Sequence[str], output: Output, *, keep_going: bool = False) -> int:
    with _guarded():
        if output.path:
            check_writable(output.path)
        warn = lambda note: _say(f"netcheck merge: warning: {note}", err=True)  # noqa: E731
        emit(combine(files, unreachable, warn, keep_going=keep_going), output, _say)
    return EXIT_PASS


def ports(args: argparse.Namespace) -> int:
    """Print the firewall rules the deployment needs: inbound on each destination, with source-port ranges."""
    from netcheck.plan.firewall import firewall_rules, render_rules  # noqa: PLC0415
    from netcheck.plan.topology import load_topology  # noqa: PLC0415

    with _guarded():
        if args.output:
            check_writable(args.output)
        topology, _plan_file = load_topology(**_machines(args))
        write_text(args.output, [render_rules(firewall_rules(topology), args.rule_format)])
    return EXIT_PASS


def listen(args: argparse.Namespace) -> int:
    """Answer netcheck's handshake on the product's ports, so 'check' can verify links end to end."""
    from netcheck.model.matrix import listening_ports  # noqa: PLC0415
    from netcheck.observe.session import token_bytes  # noqa: PLC0415
    from netcheck.responder import ListenOptions  # noqa: PLC0415
    from netcheck.responder import listen as answer  # noqa: PLC0415

    with _guarded():
        ports = tuple(args.port or listening_ports(args.product))
        token = token_bytes(args.token)
        listening = ListenOptions(ports, args.duration, token, args.bind, args.max_connections)
        answer(listening, log=args.log, quiet=args.quiet, say=_say)
    return EXIT_PASS


Command = tuple[Callable[[], options.Parser], Callable[[argparse.Namespace], int]]
DISPATCH: dict[str, Command] = {
    "check": (options.check_parser, check),
    "listen": (options.listen_parser, listen),
    "report": (options.report_parser, report),
    "merge": (options.merge_parser, merge),
    "ports": (options.ports_parser, ports),
}


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run one command; returns the exit code (bad input raises SystemExit(2))."""
    from netcheck.observe.access.credentials import take_password_from_environment  # noqa: PLC0415 - stdlib only

    take_password_from_environment()  # before any child process (iptables, nft, gcc) could inherit it
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        from netcheck.observe.session import check_this_machine  # noqa: PLC0415

        with _guarded():
            report = check_this_machine(progress=_progress(False), note=_note(False))
            emit(report, Output(), _say)
            _say("Check a deployment's links: 'netcheck check --help'. Answer probes: 'netcheck listen'.")
            return exit_code(report)
    first = args[0]
    if first in ("-h", "--help"):
        sys.stdout.write(ROOT_HELP)
        return EXIT_PASS
    if first == "--version":
        _say(f"netcheck {__version__}")
        return EXIT_PASS
    if first not in DISPATCH:
        what = f"no such command {first!r}"
        if first.startswith("-"):  # named without any value: `-pSECRET` or `--password=...` may hold a password
            what = f"no such option: {first.split('=', 1)[0] if first.startswith('--') else first[:2]}"
        _fail(f"{what} (commands: {', '.join(COMMANDS)}; see 'netcheck --help')")
    build, command = DISPATCH[first]
    return command(build().parse_args(args[1:]))


@contextlib.contextmanager
def _guarded(*, verbose: bool = False) -> Iterator[None]:
    """Every command's body runs inside: bad input exits 2 with one line, anything unexpected exits 3 with
    one line (the traceback only with --verbose), never a bare traceback."""
    try:
        yield
    except SystemExit:
        raise
    except InputError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        _fail("interrupted", EXIT_INTERNAL)
    except OutputError as exc:
        _fail(str(exc), EXIT_INTERNAL)
    except CommandError as exc:
        _fail(str(exc), exc.code)
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        if verbose:
            traceback.print_exc()
        _fail(f"internal error: {type(exc).__name__}: {exc}", EXIT_INTERNAL)


def exit_code(report: Report) -> int:
    """0 pass (warnings allowed), 1 any failure, 3 when netcheck could not run some check."""
    verdict = report.verdict
    if verdict is Verdict.FAIL:
        return EXIT_FAIL
    if verdict is Verdict.ERROR:
        return EXIT_INTERNAL
    return EXIT_PASS


def run() -> NoReturn:
    """Console-script entry point. Once a command has returned (its report written and closed), the process
    leaves by os._exit, without tearing its objects down one by one (after a large run, half a million of them:
    see docs/benchmarks.md). stdout and stderr are flushed first: a reader that has gone (`| head -1`) changes
    nothing (the exit code still tells the verdict), and stdout that cannot be written (a full disk) is one line
    on stderr and exit 3, not a traceback."""
    code = EXIT_INTERNAL
    try:
        code = main()
        if sys.stdout is not None:  # None: started without a stdout (fd 1 closed, pythonw)
            sys.stdout.flush()
    except BrokenPipeError:
        pass  # the reader has gone: the exit code still tells the verdict (3 if the command had not ended)
    except (OSError, ValueError) as exc:  # a full disk, a closed stdout: what was printed did not all get out
        with contextlib.suppress(Exception):
            sys.stderr.write(f"netcheck: error: cannot write to stdout: {getattr(exc, 'strerror', None) or exc}\n")
        code = EXIT_INTERNAL
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    os._exit(code)
