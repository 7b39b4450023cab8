"""netcheck's command line: the only place that prints, writes files and chooses the exit code.

Exit codes: 0 every check passed (warnings allowed), 1 a check failed, 2 bad input, 3 netcheck itself failed.

The parser is the standard library's argparse: a command's parser is built only when that command runs, and
nothing beyond the options' own types is imported before a run starts (`netcheck --help` is a start-up target).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import math
import os
import re
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn, TypeVar

from netcheck import __version__
from netcheck.address import is_address
from netcheck.collector import fewer_collections
from netcheck.errors import InputError
from netcheck.files import PLAN_LIMIT, REPORT_LIMIT, OutputError, output_target, read_limited, read_text_limited, write_output
from netcheck.model import Check, Method, Phase, Report, Role, Topology, Verdict
from netcheck.report.formats import Format

if TYPE_CHECKING:
    from netcheck.access.credentials import CredentialInput, Credentials
    from netcheck.probes.syn import EngineProcess
    from netcheck.report.formats import Ahead
    from netcheck.runner import RunOptions
    from netcheck.topology import PlanFile

EXIT_PASS, EXIT_FAIL, EXIT_INPUT, EXIT_INTERNAL = 0, 1, 2, 3

DESCRIPTION = """Will each network connection of an Acronis Backup Advanced deployment work? netcheck probes every
link of the product's connection matrix from this machine and says pass or fail, with the packet evidence
and the fix."""
COMMANDS = {
    "check": "Probe every link of the connection matrix that starts at this machine.",
    "listen": "Answer netcheck's handshake on the product's ports, so 'check' can verify links end to end.",
    "report": "Render a saved JSON report in another format.",
    "merge": "Combine reports taken from several vantage points into one report with a link matrix.",
    "ports": "Print the firewall rules the deployment needs: inbound on each destination, with source-port ranges.",
}
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


_IGNORED_VALUE = re.compile(r"^(argument \S+): ignored explicit argument .*$", re.S)


class _Parser(argparse.ArgumentParser):
    """argparse with netcheck's contract: a bad option is one line on stderr and exit 2; options and files may
    come in any order; an option's value may start with '-' (a token often does); and nothing the user typed
    that is not an option name is echoed back (`--password=...`, `-pSECRET` or a stray word may be a password)."""

    def error(self, message: str) -> NoReturn:
        message = _IGNORED_VALUE.sub(r"\1 takes no value", message)
        _fail(f"{message} (see '{self.prog} --help')")

    def parse_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> Any:  # type: ignore[override]
        words = self._values_joined(list(sys.argv[1:] if args is None else args))
        parsed, extra = self.parse_known_intermixed_args(words, namespace)
        if extra:
            first = extra[0]
            if first.startswith("--"):
                self.error(f"no such option: {first.split('=', 1)[0]}")
            if first.startswith("-") and len(first) > 1:
                self.error(f"no such option: {first[:2]}")
            where = f"word {words.index(first) + 1} after '{self.prog}'"
            self.error(f"unexpected argument ({where}): an option's value without its option?")
        return parsed

    def _values_joined(self, words: list[str]) -> list[str]:
        """`--token -S3cret` as `--token=-S3cret`: the word after an option that takes a value is its value, as
        netcheck's earlier (typer) command line read it, even when it starts with '-'."""
        takes_value = {
            option
            for action in self._actions
            if isinstance(action, argparse._StoreAction | argparse._AppendAction)  # argparse's own kinds
            for option in action.option_strings
        }
        out: list[str] = []
        index = 0
        while index < len(words):
            word = words[index]
            if word == "--":
                return out + words[index:]
            if word in takes_value and index + 1 < len(words) and words[index + 1].startswith("-"):
                out.append(f"{word}={words[index + 1]}")
                index += 2
                continue
            out.append(word)
            index += 1
        return out


E = TypeVar("E", bound=StrEnum)


def _choice(enum: type[E]) -> Callable[[str], E]:
    def convert(text: str) -> E:
        try:
            return enum(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not one of {', '.join(enum)}") from None

    return convert


def _choices(enum: type[StrEnum]) -> str:
    return "[" + "|".join(enum) + "]"


def _number(kind: type[int] | type[float], low: float, high: float) -> Callable[[str], Any]:
    def convert(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None
        if math.isnan(value) or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is not in the range {low:g} to {high:g}")
        return value

    return convert


def _command_parser(name: str, epilog: str) -> _Parser:
    return _Parser(
        prog=f"netcheck {name}",
        usage=f"netcheck {name} [OPTIONS]" + (" FILE.json" if name == "report" else " FILE.json..." if name == "merge" else ""),
        description=COMMANDS[name],
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )


def _topology_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--management-server", metavar="NAME", help="Name or address of the management server.")
    parser.add_argument("--license-server", metavar="NAME", help="Name or address of the license server.")
    parser.add_argument(
        "--agent", metavar="HOST[:OS]", action="append", help="An agent machine, HOST or HOST:windows|linux. Repeat for more."
    )
    parser.add_argument(
        "--agents-file", metavar="FILE", type=Path, help="A file with one agent a line: HOST or HOST,windows|linux; '#' comments."
    )
    parser.add_argument("--plan", metavar="FILE.toml", type=Path, help="A TOML plan file with the topology (see README).")


def _report_options(parser: argparse.ArgumentParser, *, redact: bool = True) -> None:
    parser.add_argument(
        "--format", dest="output_format", metavar=_choices(Format), type=_choice(Format), default=Format.TABLE,
        help="Report format. [default: table]",
    )  # fmt: skip
    parser.add_argument("--output", metavar="FILE", type=Path, help="Write the report to this file instead of stdout.")
    if redact:
        parser.add_argument(
            "--redact", dest="redact_report", action="store_true", help="Replace host names and addresses with stable pseudonyms."
        )


CHECK_EPILOG = """Examples:
  netcheck check --agent 198.18.0.31:windows --agent 198.18.0.41:linux
  netcheck check --from management-server --agents-file agents.txt --format json --output report.json
  netcheck check --from agent --management-server ms.corp.example --license-server ls.corp.example
  netcheck check --plan site.toml --phase post-install
  netcheck check --from agent --management-server ms --dns-server 198.18.0.53 --hosts-file agent-hosts.txt
  netcheck check --agents-file agents.txt --user 'CORP\\installer' --ssh-key ~/.ssh/id_ed25519

Exit codes: 0 all passed, 1 a check failed, 2 bad input, 3 netcheck itself failed."""


def _check_parser() -> _Parser:
    parser = _command_parser("check", CHECK_EPILOG)
    add = parser.add_argument
    add("--from", dest="vantage_role", metavar=_choices(Role), type=_choice(Role),
        help="The role of this machine in the deployment. [default: console]")  # fmt: skip
    _topology_options(parser)
    add("--phase", metavar=_choices(Phase), type=_choice(Phase),
        help="pre-install: a reset on a product port passes. [default: pre-install]")  # fmt: skip
    add("--method", metavar=_choices(Method), type=_choice(Method),
        help="auto: raw SYN probes when privileged, connect() otherwise. [default: auto]")  # fmt: skip
    add("--dns-server", metavar="IP", action="append", help="Ask this name server instead of the system's. Repeat for more.")
    add("--hosts-file", metavar="PATH", type=Path, help="Read this hosts file instead of this machine's.")
    add("--expect-responder", action="store_true",
        help="'netcheck listen' runs on the targets: a reset on 25001/9876 is then flagged as possibly forged.")  # fmt: skip
    add("--token", metavar="TOKEN",
        help="The token given to 'netcheck listen', to authenticate responders (or set NETCHECK_TOKEN).")  # fmt: skip
    add("--timeout", metavar="SECONDS", type=_number(float, 0.05, 60.0), default=2.0,
        help="Longest wait for an answer (the RTT decides below it). [default: 2.0]")  # fmt: skip
    add("--retries", metavar="N", type=_number(int, 0, 10), default=1,
        help="Extra tries for probes that got no answer. [default: 1]")  # fmt: skip
    add("--concurrency", metavar="N", type=_number(int, 1, 16384), default=256,
        help="Connect probes in flight at most. [default: 256]")  # fmt: skip
    add("--rate", metavar="PPS", type=_number(int, 10, 1_000_000), default=100000,
        help="SYN probes sent per second at most. [default: 100000]")  # fmt: skip
    add("--identify", action=argparse.BooleanOptionalAction, default=True,
        help="Find out what answers on open ports (SSH, SMB, TLS, responder). [default: --identify]")  # fmt: skip
    add("--user", metavar="USER",
        help="Log in to the agents as DOMAIN\\name, name@domain or name, to check that the remote installation will "
        "work. The password is asked (on a terminal), or taken from NETCHECK_PASSWORD or --password-file; never "
        "from the command line.")  # fmt: skip
    add("--password-file", metavar="FILE", type=Path, help="Read the password from the first line of FILE (mode 600).")
    add("--ssh-key", metavar="FILE", type=Path, action="append",
        help="A private key for SSH logins (a running ssh-agent is used too). Repeat for more.")  # fmt: skip
    add("--known-hosts", metavar="FILE", type=Path,
        help="The known_hosts file to trust agents' SSH host keys from. [default: ~/.ssh/known_hosts]")  # fmt: skip
    add("--write-test", action=argparse.BooleanOptionalAction, default=True,
        help="Write and delete one file in ADMIN$ on Windows agents. [default: --write-test]")  # fmt: skip
    add("--kerberos", action=argparse.BooleanOptionalAction, default=True,
        help="Log in to Windows agents with Kerberos first when --user is a domain account whose tickets are in the "
        "ticket cache (kinit's: KRB5CCNAME, or /tmp/krb5cc_UID); then no password is asked, and NTLM with a password "
        "(NETCHECK_PASSWORD, --password-file) is the fallback. Give agents by name for Kerberos. --no-kerberos: NTLM "
        "only. [default: --kerberos]")  # fmt: skip
    _report_options(parser)
    add("-q", "--quiet", action="store_true", help="No progress and no summary line.")
    add("-v", "--verbose", action="store_true", help="Show evidence in the table; tracebacks on internal errors.")
    return parser


def check(args: argparse.Namespace) -> int:
    """Probe every link of the connection matrix that starts at this machine."""
    from netcheck.access.credentials import CredentialInput  # noqa: PLC0415 - stdlib only: no optional library
    from netcheck.matrix import PortKey, port_number  # noqa: PLC0415

    # From the agents read to the report written: 10,000 agents make half a million objects, freed by reference
    # counting; the cyclic collector would walk them again and again for nothing (see fewer_collections).
    with _guarded(verbose=args.verbose), fewer_collections():
        secret = _token_bytes(args.token)
        topology, plan_file = _topology(args)
        role = args.vantage_role or plan_file.vantage or Role.CONSOLE
        probed = _probed_links(topology, role)
        for server in args.dns_server or []:
            if not is_address(server):
                raise InputError(f"--dns-server {server!r} is not an IP address")
        if args.hosts_file is not None:
            _check_readable(args.hosts_file, "hosts file")  # fail now, with exit 2, rather than report it on every name
        output_options = Output(args.output_format, args.output, args.redact_report, args.quiet, args.verbose)
        if args.output:
            _check_output_path(args.output)
        given = CredentialInput(
            user=args.user,
            password_file=args.password_file,
            ssh_keys=tuple(args.ssh_key or ()),
            known_hosts=args.known_hosts,
            write_test=args.write_test,
            plan=plan_file.credentials,
            kerberos=args.kerberos,
        )
        credentials = _credentials(given)
        method = args.method or plan_file.method or Method.AUTO
        early = _start_syn(probed, method, timeout_s=args.timeout, retries=args.retries, rate_pps=args.rate)
        try:  # while the engine probes
            checks = _plan(topology, role)
            options = _run_options(
                phase=args.phase or plan_file.phase or Phase.PRE_INSTALL,
                method=method,
                timeout_s=args.timeout,
                retries=args.retries,
                concurrency=args.concurrency,
                rate_pps=args.rate,
                dns_servers=tuple(args.dns_server or ()),
                hosts_path=args.hosts_file,
                identify_services=args.identify,
                expect_responder=args.expect_responder,
                token=secret,
                credentials=credentials,
                servers=tuple(
                    (t, port_number(PortKey.PRODUCT, topology.ports))
                    for t in (topology.management_server, topology.license_server)
                    if t is not None
                ),
            )
        except BaseException:
            if early is not None:
                early.stop()
            raise
        ahead = _ahead(output_options) if early is not None else None
        report = _run(checks, role, options, quiet=args.quiet, early=early, ahead=ahead)
        gc.freeze()  # what is left to do makes no cycles: the collector must not walk every result again
        _emit(report, output_options, ahead)
        _LEFT_FOR_EXIT[:] = [topology, probed, checks, report, ahead, early]
        return exit_code(report)
    return EXIT_INTERNAL  # not reached: _guarded exits


_LEFT_FOR_EXIT: list[object] = []
"""What the last `check` made (its plan, its report and the report's text), kept alive after it returns: freeing
half a million objects one by one takes 0.06-0.08 s after a 10,000-agent run, and the console script
then leaves by os._exit, which returns the memory all at once (see run). A caller in the same process (the
tests) keeps one check's objects at most: the next check replaces them."""


def _report_parser() -> _Parser:
    parser = _command_parser(
        "report",
        "Examples:\n  netcheck report console.json --format markdown --output ticket.md\n"
        "  netcheck report console.json --format html --redact --output report.html\n\n"
        "Exit 0 when rendered, 2 when the file is not a report.",
    )
    parser.add_argument("file", metavar="FILE.json", type=Path, help="A report saved with --format json.")
    _report_options(parser)
    parser.add_argument("-v", "--verbose", action="store_true", help="Show evidence in the table.")
    return parser


def report(args: argparse.Namespace) -> int:
    """Render a saved JSON report in another format."""
    with _guarded():
        _render_saved([args.file], Output(args.output_format, args.output, args.redact_report, verbose=args.verbose))
    return EXIT_PASS


def _merge_parser() -> _Parser:
    parser = _command_parser(
        "merge",
        "The same run given twice is merged once; vantage points that share a host name are kept, with a warning.\n\n"
        "Example:\n  netcheck merge console.json agent-win1.json agent-lin1.json --format html --output site.html",
    )
    parser.add_argument("files", metavar="FILE.json", type=Path, nargs="+", help="Reports from different machines.")
    _report_options(parser)
    parser.add_argument(
        "--unreachable", metavar="HOST[=REASON]", action="append",
        help="An agent that could not be reached to run netcheck (repeatable): it becomes an error row.",
    )  # fmt: skip
    parser.add_argument(
        "--keep-going", action="store_true",
        help="A file that is not a readable report becomes an error row for the host it is named after (HOST.json).",
    )  # fmt: skip
    return parser


def merge(args: argparse.Namespace) -> int:
    """Combine reports taken from several vantage points into one report with a link matrix."""
    with _guarded():
        output = Output(args.output_format, args.output, args.redact_report)
        _render_saved(args.files, output, args.unreachable or [], keep_going=args.keep_going)
    return EXIT_PASS


def _ports_parser() -> _Parser:
    from netcheck.firewall import RuleFormat  # noqa: PLC0415

    parser = _command_parser(
        "ports",
        "Examples:\n  netcheck ports --format csv\n"
        "  netcheck ports --management-server 198.18.0.20 --agents-file agents.txt --format netsh",
    )
    parser.add_argument(
        "--format", dest="rule_format", metavar=_choices(RuleFormat), type=_choice(RuleFormat), default=RuleFormat.CSV,
        help="Rule syntax. [default: csv]",
    )  # fmt: skip
    _topology_options(parser)
    parser.add_argument("--output", metavar="FILE", type=Path, help="Write the rules to this file instead of stdout.")
    return parser


def ports(args: argparse.Namespace) -> int:
    """Print the firewall rules the deployment needs: inbound on each destination, with source-port ranges."""
    from netcheck.firewall import firewall_rules, render_rules  # noqa: PLC0415

    with _guarded():
        if args.output:
            _check_output_path(args.output)
        topology, _plan_file = _topology(args)
        rules = render_rules(firewall_rules(topology), args.rule_format)
        if args.output:
            _write_atomically(args.output, [rules])
            return EXIT_PASS
        try:
            sys.stdout.write(rules)
            sys.stdout.flush()
        except BrokenPipeError:
            _reader_gone()
    return EXIT_PASS


LISTEN_EPILOG = """Examples:
  netcheck listen                      # on an agent, before installation: answer on 25001 and 9876
  NETCHECK_TOKEN=s3cret netcheck listen --duration 1800 --log peers.jsonl
  then, from the console: netcheck check --agent HOST:windows --expect-responder --token s3cret"""


def _listen_parser() -> _Parser:
    parser = _command_parser("listen", LISTEN_EPILOG)
    add = parser.add_argument
    add("--port", metavar="PORT", type=_number(int, 1, 65535), action="append",
        help="A port to answer on. Repeat. [default: 25001, 9876]")  # fmt: skip
    add("--duration", metavar="SECONDS", type=_number(float, 1, 86400), default=600.0,
        help="Stop by itself after this long. [default: 600]")  # fmt: skip
    add("--token", metavar="TOKEN", help="Prove to 'check --token' that both share it (or set NETCHECK_TOKEN).")
    add("--bind", metavar="ADDRESS", default="0.0.0.0", help="The address to listen on. [default: 0.0.0.0]")  # noqa: S104
    add("--max-connections", metavar="N", type=_number(int, 1, 4096), default=64,
        help="Connections served at once at most. [default: 64]")  # fmt: skip
    add("--log", metavar="FILE", type=Path, help="Append each peer as a JSON line to FILE.")
    add("-q", "--quiet", action="store_true", help="Only the summary.")
    return parser


def listen(args: argparse.Namespace) -> int:
    """Answer netcheck's handshake on the product's ports, so 'check' can verify links end to end."""
    from netcheck.matrix import PRODUCT_PORT_KEYS, port_number  # noqa: PLC0415

    with _guarded():
        ports = args.port or [port_number(key) for key in PRODUCT_PORT_KEYS]
        _listen(ports, args.duration, args.token, args.bind, args.max_connections, args.log, args.quiet)
    return EXIT_PASS


Command = tuple[Callable[[], _Parser], Callable[[argparse.Namespace], int]]
DISPATCH: dict[str, Command] = {
    "check": (_check_parser, check),
    "listen": (_listen_parser, listen),
    "report": (_report_parser, report),
    "merge": (_merge_parser, merge),
    "ports": (_ports_parser, ports),
}


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run one command; returns the exit code (bad input raises SystemExit(2))."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        with _guarded():
            return _check_this_machine()
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


app = main
"""What the tests invoke (tests/cli_runner.py)."""


def _read_text(path: Path, what: str) -> str:
    return read_text_limited(path, what)  # a regular file of at most 16 MiB, or one line and exit 2


def _topology(args: argparse.Namespace) -> tuple[Topology, PlanFile]:
    """The topology from --plan, --agents-file and the options (options win over the plan file)."""
    from netcheck.topology import PlanFile, build_topology, parse_agent_spec, parse_agents_file, parse_plan  # noqa: PLC0415

    plan_file = parse_plan(_read_text(args.plan, "plan file"), filename=str(args.plan)) if args.plan else PlanFile()
    agent_groups = [plan_file.agents, [parse_agent_spec(spec) for spec in args.agent or []]]
    if args.agents_file:
        agent_groups.append(parse_agents_file(_read_text(args.agents_file, "agents file"), filename=str(args.agents_file)))
    topology = build_topology(
        management_server=args.management_server or plan_file.management_server,
        license_server=args.license_server or plan_file.license_server,
        agents=agent_groups,
        ports=plan_file.ports,
    )
    return topology, plan_file


def _token_bytes(token: str | None) -> bytes | None:
    """--token (or NETCHECK_TOKEN) as bytes; an empty one would silently turn authentication off: refused."""
    if token is None:
        token = os.environ.get("NETCHECK_TOKEN")  # an empty one is refused below, like an empty --token
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


@dataclass(frozen=True)
class Output:
    """Where and how a report is written."""

    format: Format = Format.TABLE
    path: Path | None = None
    redact: bool = False
    quiet: bool = False
    verbose: bool = False


def _credentials(given: CredentialInput) -> Credentials | None:
    """Who logs in to the agents; None (the access checks then skip) when no user is given anywhere.

    netcheck.access's optional libraries are checked for only when a user is named (--user, or a user key of
    the plan's [credentials]), so a run without one, and `netcheck --help`, never need them. --password-file
    without a user is an input error; NETCHECK_PASSWORD without one stays unused (it is the environment's).
    """
    if given.names_a_user:
        import getpass  # noqa: PLC0415

        from netcheck.access import smb as access_smb  # noqa: PLC0415
        from netcheck.access import ssh as access_ssh  # noqa: PLC0415
        from netcheck.access.credentials import gather_credentials  # noqa: PLC0415

        if not (access_ssh.available() and access_smb.available()):
            raise InputError(f"--user needs the install-check extra: {access_ssh.INSTALL_HINT}")
        return gather_credentials(given, environ=os.environ, stdin_is_tty=sys.stdin.isatty(), prompt=getpass.getpass)
    if given.password_file is not None:
        raise InputError(
            "--password-file is given but no user: give --user (or user, windows_user or linux_user in the plan file's "
            "[credentials])"
        )
    return None


def _probed_links(topology: Topology, role: Role) -> list[tuple[str, int]]:
    from netcheck.plan import NothingToCheck, probed_links  # noqa: PLC0415

    try:
        return probed_links(topology, role)
    except NothingToCheck as exc:
        raise InputError(str(exc)) from None


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


def _start_syn(
    probed: list[tuple[str, int]], method: Method, *, timeout_s: float, retries: int, rate_pps: int
) -> EngineProcess | None:
    """The SYN engine, started for the links to IPv4 addresses as soon as the input is checked: it probes while
    netcheck plans, imports and sets up the rest of the run, and the runner collects it (links to names,
    resolved later, get a batch of their own). None when this run will not probe by SYN or no link goes to an
    address. `probed`: plan.probed_links."""
    if method is Method.CONNECT:
        return None
    from netcheck.probes import syn  # noqa: PLC0415 - light: no scapy, no runner

    keys = syn.address_links(probed)
    if not keys or not syn.syn_available():
        return None
    try:
        return syn.EngineProcess(keys, timeout_s=timeout_s, retries=retries, rate_pps=rate_pps)
    except OSError:
        return None  # no process to spare: the runner probes as usual


def _ahead(output: Output) -> Ahead | None:
    """For a JSON or table report written as it is (not redacted): its checks' text or rows, made while the SYN
    engine probes."""
    if output.redact:
        return None
    if output.format is Format.JSON:
        from netcheck.report.json import Prerendered  # noqa: PLC0415

        return Prerendered()
    if output.format is Format.TABLE:
        from netcheck.report.table import Prepared  # noqa: PLC0415

        return Prepared(verbose=output.verbose)
    return None


def _run(
    checks: list[Check],
    role: Role,
    options: RunOptions,
    *,
    quiet: bool,
    early: EngineProcess | None = None,
    ahead: Ahead | None = None,
) -> Report:
    """Run the checks (with progress on a terminal) into one Report; `early`: a SYN engine started already, for
    the runner to collect, and stopped whatever happens (a run that never reaches its SYN probes included);
    `ahead`: given each result as it is decided, and making its text or row whenever the engine has nothing waiting."""
    try:
        return _run_probes(checks, role, options, quiet=quiet, early=early, ahead=ahead)
    finally:
        if early is not None:
            early.stop()


def _run_probes(
    checks: list[Check], role: Role, options: RunOptions, *, quiet: bool, early: EngineProcess | None, ahead: Ahead | None
) -> Report:
    """The run itself (see _run): the method resolved and noted, the progress bar, the runner."""
    from netcheck.host.windows import method_note  # noqa: PLC0415
    from netcheck.runner import Probes, resolve_method, run  # noqa: PLC0415

    probes = Probes(syn_batch=early.collect) if early is not None else Probes()
    # Resolved here too (run resolves it again, to the same) for the note: bad input is raised before any probe.
    chosen = resolve_method(options.method, probes)
    if not quiet and (note := method_note(sys.platform, str(options.method), str(chosen))):
        _say(note, err=True)
    progress = _Progress(enabled=not quiet and sys.stderr.isatty())
    if early is not None and ahead is not None:
        early.idle = ahead.work
    try:
        shown = progress if progress.enabled else None  # not called 50,000 times for nothing
        return run(checks, role, options, probes=probes, on_progress=shown, on_result=ahead.add if ahead else None)
    finally:
        progress.close()


def _check_this_machine() -> int:
    """Bare `netcheck`: host readiness and the product's ports on loopback, as a table."""
    from netcheck.plan import plan_local  # noqa: PLC0415

    report = _run(plan_local(Role.CONSOLE), Role.CONSOLE, _run_options(timeout_s=1.0), quiet=False)
    _emit(report, Output())
    _say("Check a deployment's links with 'netcheck check --help'; answer probes with 'netcheck listen'.")
    return exit_code(report)


def _emit(report: Report, output: Output, ahead: Ahead | None = None) -> None:
    """Render (redacted if asked) and write to --output, atomically, or to stdout; `ahead`: the checks' text
    or rows made during the run (see _ahead)."""
    from netcheck.report.base import summary_line  # noqa: PLC0415
    from netcheck.report.formats import render  # noqa: PLC0415

    if output.redact:
        from netcheck.report.redact import redact  # noqa: PLC0415

        report = redact(report)
    chunks = ahead.chunks(report) if ahead is not None else render(report, output.format, verbose=output.verbose)
    if output.path:
        _write_atomically(output.path, chunks)
        if not output.quiet and not output_target(output.path).is_stdout:  # the summary must not end up inside the report
            _say(f"{summary_line(report)}; report written to {output.path}")
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


def _render_saved(files: list[Path], output: Output, unreachable: Sequence[str] = (), *, keep_going: bool = False) -> None:
    from netcheck.report.json import ReportError  # noqa: PLC0415
    from netcheck.report.merge import merge_with_notes, parse_unreachable, readable_reports  # noqa: PLC0415

    if output.path:
        _check_output_path(output.path)
    reports, unreadable = readable_reports(files, _load_report) if keep_going else ([_load_report(p) for p in files], [])
    if keep_going and not reports:
        raise InputError(f"no file is a readable report: {'; '.join(f'{u.hostname}: {u.reason}' for u in unreadable)}")
    try:
        hosts = [parse_unreachable(spec) for spec in unreachable] + unreadable
        if len(reports) == 1 and not hosts:
            combined = reports[0]
        else:
            merged = merge_with_notes(reports, tool_version=__version__, unreachable=hosts)
            combined = merged.report
            for note in merged.notes:
                _say(f"netcheck merge: warning: {note}", err=True)
    except ReportError as exc:
        raise InputError(str(exc)) from None
    _emit(combined, output)


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
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        if verbose:
            traceback.print_exc()
        _fail(f"internal error: {type(exc).__name__}: {exc}", EXIT_INTERNAL)


def _listen(  # noqa: PLR0917 - listen's options, one by one
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
        _say(f"port {taken} is taken by {holder}: the product could not listen there either")
    free = tuple(dict.fromkeys(p for p in ports if p not in holders))
    if not free:
        _fail("every port is taken: nothing to listen on", EXIT_FAIL)
    sink = _PeerLog(log) if log else None

    def say(text: str) -> None:
        try:
            _say(text)
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


def run() -> NoReturn:
    """Console-script entry point. Once a command has returned (its report written and closed), the process
    leaves without tearing its objects down one by one: after a 50,000-check run that is half a million
    objects (check leaves them here: _LEFT_FOR_EXIT), 0.06-0.08 s for nothing. stdout and stderr are flushed
    first: a reader that has gone (`| head -1`) changes nothing (the exit code still tells the verdict), and
    stdout that cannot be written (a full disk) is one line on stderr and exit 3, not a traceback."""
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
