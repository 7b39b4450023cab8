"""netcheck's command-line grammar: each command's argparse parser, its options and their help.

A command's parser is built only when that command runs, and nothing beyond the options' own types is imported
before a run starts (`netcheck --help` is a start-up target). The parser is the standard library's argparse, not
typer (the first CLI library of this project's design): typer's current releases need pydantic, which costs
start-up time and a dependency for what argparse does as well here.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Callable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from netcheck.model.kinds import Method, Phase, Product, Role
from netcheck.report.formats import Format

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
_IGNORED_VALUE = re.compile(r"^(argument \S+): ignored explicit argument .*$", re.S)


class Parser(argparse.ArgumentParser):
    """argparse with netcheck's contract: a bad option is one line on stderr and exit 2; options and files may
    come in any order; an option's value may start with '-' (a token often does); and nothing the user typed
    that is not an option name is echoed back (`--password=...`, `-pSECRET` or a stray word may be a password)."""

    def error(self, message: str) -> NoReturn:
        message = _IGNORED_VALUE.sub(r"\1 takes no value", message)
        sys.stderr.write(f"netcheck: error: {message} (see '{self.prog} --help')\n")
        raise SystemExit(2)

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


def choice(enum: type[E]) -> Callable[[str], E]:
    def convert(text: str) -> E:
        try:
            return enum(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not one of {', '.join(enum)}") from None

    return convert


def choices(enum: type[StrEnum]) -> str:
    return "[" + "|".join(enum) + "]"


_PLAIN_INTEGER = re.compile(r"[0-9]+", re.ASCII)


def number(kind: type[int] | type[float], low: float, high: float) -> Callable[[str], Any]:
    def convert(text: str) -> int | float:
        if kind is int and not _PLAIN_INTEGER.fullmatch(text):  # int() takes 1_000, ' 7', '+7' and other scripts' digits
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer (plain digits 0-9)")
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None
        if math.isnan(value) or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is not in the range {low:g} to {high:g}")
        return value

    return convert


def command_parser(name: str, epilog: str) -> Parser:
    return Parser(
        prog=f"netcheck {name}",
        usage=f"netcheck {name} [OPTIONS]" + (" FILE.json" if name == "report" else " FILE.json..." if name == "merge" else ""),
        description=COMMANDS[name],
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )


def topology_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--management-server", metavar="NAME", help="Name or address of the management server.")
    parser.add_argument("--license-server", metavar="NAME", help="Name or address of the license server.")
    parser.add_argument(
        "--agent", metavar="HOST[:OS]", action="append", help="An agent machine, HOST or HOST:windows|linux. Repeat for more."
    )
    parser.add_argument(
        "--agents-file", metavar="FILE", type=Path, help="A file with one agent a line: HOST or HOST:windows|linux; '#' comments."
    )
    parser.add_argument("--plan", metavar="FILE.toml", type=Path, help="A TOML plan file with the topology (see README).")
    parser.add_argument("--product", metavar=choices(Product), type=choice(Product),
        help="Whose connection sheet the links follow. [default: backup-advanced-11]")  # fmt: skip
    parser.add_argument("--storage-node", metavar="NAME", action="append", help="A storage node. Repeat for more.")
    parser.add_argument("--vcenter", metavar="NAME", action="append",
        help="A vCenter Server or ESX(i) host the Agent for VMware reaches (Backup Advanced 11). Repeat for more.")  # fmt: skip
    parser.add_argument("--cloud-storage", metavar="HOST", action="append",
        help="The cloud storage host the agents back up to (Backup Advanced 11). Repeat for more.")  # fmt: skip
    parser.add_argument("--catalog", metavar="NAME", action="append", help="A catalog (Cyber Protect 15). Repeat for more.")


def report_options(parser: argparse.ArgumentParser, *, redact: bool = True) -> None:
    parser.add_argument(
        "--format", dest="output_format", metavar=choices(Format), type=choice(Format), default=Format.TABLE,
        help="Report format. [default: table]",
    )  # fmt: skip
    parser.add_argument("--output", metavar="FILE", type=Path, help="Write the report to this file instead of stdout.")
    parser.add_argument(
        "--all",
        dest="show_all",
        action="store_true",
        help="List every check in the table, passing ones too (default: failures and warnings).",
    )
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
  netcheck check --from agent --management-server ms --storage-node sn1 --vcenter vc1 --cloud-storage backup.example.com
  netcheck check --product cyber-protect-15 --from agent --management-server ms --storage-node sn1
  netcheck check --from browser --management-server ms

Exit codes: 0 all passed, 1 a check failed, 2 bad input, 3 netcheck itself failed."""


def check_parser() -> Parser:
    parser = command_parser("check", CHECK_EPILOG)
    add = parser.add_argument
    add("--from", dest="vantage_role", metavar=choices(Role), type=choice(Role),
        help="The role of this machine in the deployment. [default: console]")  # fmt: skip
    topology_options(parser)
    add("--phase", metavar=choices(Phase), type=choice(Phase),
        help="pre-install: a reset on a product port passes. [default: pre-install]")  # fmt: skip
    add("--method", metavar=choices(Method), type=choice(Method),
        help="auto: raw SYN probes when privileged, connect() otherwise. [default: auto]")  # fmt: skip
    add("--dns-server", metavar="IP", action="append", help="Ask this name server instead of the system's. Repeat for more.")
    add("--hosts-file", metavar="PATH", type=Path, help="Read this hosts file instead of this machine's.")
    add("--expect-responder", action="store_true",
        help="'netcheck listen' runs on the targets: a reset on 25001/9876 is then flagged as possibly forged.")  # fmt: skip
    add("--token", metavar="TOKEN",
        help="The token given to 'netcheck listen', to authenticate responders (or set NETCHECK_TOKEN).")  # fmt: skip
    add("--timeout", metavar="SECONDS", type=number(float, 0.05, 60.0), default=2.0,
        help="Longest wait for an answer (the RTT decides below it). [default: 2.0]")  # fmt: skip
    add("--retries", metavar="N", type=number(int, 0, 10), default=1,
        help="Extra tries for probes that got no answer. [default: 1]")  # fmt: skip
    add("--concurrency", metavar="N", type=number(int, 1, 16384), default=256,
        help="Connect probes in flight at most. [default: 256]")  # fmt: skip
    add("--rate", metavar="PPS", type=number(int, 10, 1_000_000), default=100000,
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
    report_options(parser)
    add("-q", "--quiet", action="store_true", help="No progress and no summary line.")
    add("-v", "--verbose", action="store_true", help="Show evidence in the table; tracebacks on internal errors.")
    return parser


def report_parser() -> Parser:
    parser = command_parser(
        "report",
        "Examples:\n  netcheck report console.json --format markdown --output ticket.md\n"
        "  netcheck report console.json --format html --redact --output report.html\n\n"
        "Exit 0 when rendered, 2 when the file is not a report.",
    )
    parser.add_argument("file", metavar="FILE.json", type=Path, help="A report saved with --format json.")
    report_options(parser)
    parser.add_argument("-v", "--verbose", action="store_true", help="Show evidence in the table.")
    return parser


def merge_parser() -> Parser:
    parser = command_parser(
        "merge",
        "The same run given twice is merged once; vantage points that share a host name are kept, with a warning.\n\n"
        "Example:\n  netcheck merge console.json agent-win1.json agent-lin1.json --format html --output site.html",
    )
    parser.add_argument("files", metavar="FILE.json", type=Path, nargs="+", help="Reports from different machines.")
    report_options(parser)
    parser.add_argument(
        "--unreachable", metavar="HOST[=REASON]", action="append",
        help="An agent that could not be reached to run netcheck (repeatable): it becomes an error row.",
    )  # fmt: skip
    parser.add_argument(
        "--keep-going", action="store_true",
        help="A file that is not a readable report becomes an error row for the host it is named after (HOST.json).",
    )  # fmt: skip
    return parser


def ports_parser() -> Parser:
    from netcheck.plan.firewall import RuleFormat  # noqa: PLC0415

    parser = command_parser(
        "ports",
        "Examples:\n  netcheck ports --format csv\n"
        "  netcheck ports --management-server 198.18.0.20 --agents-file agents.txt --format netsh",
    )
    parser.add_argument(
        "--format", dest="rule_format", metavar=choices(RuleFormat), type=choice(RuleFormat), default=RuleFormat.CSV,
        help="Rule syntax. [default: csv]",
    )  # fmt: skip
    topology_options(parser)
    parser.add_argument("--output", metavar="FILE", type=Path, help="Write the rules to this file instead of stdout.")
    return parser


LISTEN_EPILOG = """Examples:
  netcheck listen                      # on an agent, before installation: answer on 25001 and 9876
  NETCHECK_TOKEN=s3cret netcheck listen --duration 1800 --log peers.jsonl
  then, from the console: netcheck check --agent HOST:windows --expect-responder --token s3cret"""


def listen_parser() -> Parser:
    parser = command_parser("listen", LISTEN_EPILOG)
    add = parser.add_argument
    add("--port", metavar="PORT", type=number(int, 1, 65535), action="append",
        help="A port to answer on. Repeat. [default: the --product's ports]")  # fmt: skip
    add("--duration", metavar="SECONDS", type=number(float, 1, 86400), default=600.0,
        help="Stop by itself after this long. [default: 600]")  # fmt: skip
    add("--token", metavar="TOKEN", help="Prove to 'check --token' that both share it (or set NETCHECK_TOKEN).")
    add("--bind", metavar="ADDRESS", default="0.0.0.0", help="The address to listen on. [default: 0.0.0.0]")  # noqa: S104
    add("--product", metavar=choices(Product), type=choice(Product), default=Product.BACKUP_ADVANCED_11,
        help="Answer on this product's ports when no --port is given. [default: backup-advanced-11]")  # fmt: skip
    add("--max-connections", metavar="N", type=number(int, 1, 4096), default=64,
        help="Connections served at once at most. [default: 64]")  # fmt: skip
    add("--log", metavar="FILE", type=Path, help="Append each peer as a JSON line to FILE.")
    add("-q", "--quiet", action="store_true", help="Only the summary.")
    return parser
