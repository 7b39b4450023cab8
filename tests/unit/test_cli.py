"""The CLI contract: exit codes, one-line messages for bad input, reports on loopback."""

from __future__ import annotations

import ast
import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from netcheck import cli, options, session
from netcheck.model import Report
from tests.cli_runner import CliRunner
from tests.schema import validate_report

runner = CliRunner()


def invoke(*args: str) -> Any:
    return runner.invoke(cli.main, list(args))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["check", "--agent", "198.18.0.31:macos"], "unknown OS 'macos' in agent '198.18.0.31:macos'"),
        (["check", "--agent", "198.18.0.999"], "malformed host in agent '198.18.0.999'"),
        (["check", "--management-server", "bad name"], "malformed management server 'bad name'"),
        (["check", "--agents-file", "/nonexistent/agents.txt"], "agents file '/nonexistent/agents.txt' not found"),
        (["check", "--plan", "/nonexistent/site.toml"], "plan file '/nonexistent/site.toml' not found"),
        (["check"], "nothing to check from the console"),
        (["check", "--from", "license-server", "--agent", "a1"], "license server initiates no connection"),
        (["check", "--agent", "a1", "--output", "/nonexistent/dir/r.json"], "directory '/nonexistent/dir' does not exist"),
        (["check", "--agent", "a1", "--dns-server", "ns1.example"], "--dns-server 'ns1.example' is not an IP address"),
        (["check", "--agent", "a1", "--hosts-file", "/nonexistent/hosts"], "hosts file '/nonexistent/hosts' not found"),
    ],
)
def test_bad_input_exits_2_with_one_line_naming_the_value(args: list[str], message: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_plan_with_port_0_is_bad_input(tmp_path: Path) -> None:
    plan = tmp_path / "site.toml"
    plan.write_text('agents = ["198.18.0.31:windows"]\n[ports]\ninstall = 0\n')
    result = invoke("check", "--plan", str(plan))
    assert result.exit_code == 2
    assert "port 0 for 'install' is out of range" in result.output


@pytest.mark.parametrize(
    "args",
    [["check", "--agent", "a1", "--timeout", "0"], ["check", "--agent", "a1", "--format", "xml"], ["check", "--from", "printer"]],
)
def test_option_values_out_of_range_exit_2(args: list[str]) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_version_and_help() -> None:
    assert invoke("--version").output.strip() == f"netcheck {cli.__version__}"
    help_text = invoke("--help").output
    listed = help_text.split("Commands:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    commands = {line.split()[0] for line in listed}
    assert commands == {"check", "listen", "report", "merge", "ports"}
    for command in commands:  # each one answers --help with its own usage line
        assert f"{command} [OPTIONS]" in invoke(command, "--help").output


def test_help_has_examples() -> None:
    assert "netcheck check --agent 198.18.0.31:windows" in invoke("check", "--help").output


@pytest.fixture
def loopback_port() -> Any:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def test_loopback_run_writes_a_valid_json_report(tmp_path: Path, loopback_port: int) -> None:
    """The plan moves the product port onto this test's own listener: the link is open, and the host check
    says the port is taken by this very process (python), so the product could not listen there."""
    plan = tmp_path / "site.toml"
    plan.write_text(f'from = "agent"\nmanagement_server = "127.0.0.1"\n[ports]\nproduct = {loopback_port}\n')
    out = tmp_path / "report.json"
    args = ["--plan", str(plan), "--method", "connect", "--timeout", "0.5", "--format", "json", "--output", str(out)]
    result = invoke("check", *args)
    assert result.exit_code == 1, result.output
    assert "netcheck FAIL: 1 fail" in result.output and str(out) in result.output
    report = json.loads(out.read_text())
    validate_report(report)
    assert report["checks"][0]["id"] == "tcp:agent->127.0.0.1:" + str(loopback_port)
    assert (report["checks"][0]["state"], report["checks"][0]["verdict"]) == ("open", "pass")
    service = report["checks"][1]  # a listener that says nothing: neither TLS nor the netcheck handshake
    assert (service["kind"], service["verdict"], service["evidence"]["protocol"]) == ("service", "warn", "unknown")
    taken = next(c for c in report["checks"] if c["id"] == f"host:port-{loopback_port}")
    assert taken["verdict"] == "fail" and "python" in taken["evidence"]["listening"]
    assert report["vantage"]["role"] == "agent"


def test_post_install_closed_port_exits_1(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    plan = tmp_path / "site.toml"
    plan.write_text(f'from = "agent"\nmanagement_server = "127.0.0.1"\n[ports]\nproduct = {free_port}\n')
    pre = invoke("check", "--plan", str(plan), "--method", "connect")
    post = invoke("check", "--plan", str(plan), "--method", "connect", "--phase", "post-install")
    assert pre.exit_code == 0 and "netcheck PASS" in pre.output
    assert post.exit_code == 1 and "FAIL" in post.output


def test_a_check_leaves_its_objects_for_the_exit_and_only_the_last_checks(tmp_path: Path) -> None:
    """check keeps its plan and report alive after it returns (the console script's os._exit frees them at
    once): the report it wrote is there, and a second check in the same process takes the first's place."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    plan = tmp_path / "site.toml"
    plan.write_text(f'from = "agent"\nmanagement_server = "127.0.0.1"\n[ports]\nproduct = {free_port}\n')
    out = tmp_path / "report.json"
    args = ["check", "--plan", str(plan), "--method", "connect", "--timeout", "0.2", "--format", "json", "--output", str(out)]
    assert invoke(*args).exit_code == 0
    first = [o for o in session._kept_until_exit if isinstance(o, Report)]
    assert len(first) == 1 and first[0].started_at == json.loads(out.read_text())["started_at"]
    assert first[0].results[0].check.id == f"tcp:agent->127.0.0.1:{free_port}"
    assert invoke(*args).exit_code == 0
    second = [o for o in session._kept_until_exit if isinstance(o, Report)]
    assert len(second) == 1 and second[0] is not first[0]


def test_internal_error_exits_3_without_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    async def explode(*_: Any, **__: Any) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr("netcheck.runner.run_checks", explode)
    result = invoke("check", "--agent", "127.0.0.1:linux", "--method", "connect")
    assert result.exit_code == 3
    assert "internal error: RuntimeError: kaboom" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["check", "--agent", "198.18.0.31:windows", "--token", ""], {}),
        (["check", "--agent", "198.18.0.31:windows", "--token", "  "], {}),
        (["check", "--agent", "198.18.0.31:windows"], {"NETCHECK_TOKEN": ""}),
        (["listen", "--port", "39301", "--bind", "127.0.0.1", "--duration", "1"], {"NETCHECK_TOKEN": ""}),
        (["listen", "--port", "39301", "--bind", "127.0.0.1", "--duration", "1", "--token", ""], {}),
    ],
)
def test_an_empty_token_is_refused(args: list[str], env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty token would silently turn authentication off."""
    monkeypatch.delenv("NETCHECK_TOKEN", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    result = runner.invoke(cli.main, args)
    assert result.exit_code == 2, result.output
    assert "is empty" in result.output and "Traceback" not in result.output


def imported_after(code: str, prefixes: tuple[str, ...]) -> list[str]:
    """The modules starting with one of `prefixes` that a fresh interpreter has imported after running `code`."""
    probe = f"import sys\n{code}print(sorted(m for m in sys.modules if m.startswith({prefixes!r})))\n"
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return list(ast.literal_eval(proc.stdout.strip().splitlines()[-1]))


def test_help_loads_no_probe_renderer_or_third_party_module() -> None:
    """`netcheck --help` and a command's --help stay quick: no runner, probe, renderer or third-party import."""
    code = (
        "import sys\n"
        "from netcheck import cli\n"
        "for args in (['--help'], ['check', '--help'], ['ports', '--help']):\n"
        "    try:\n"
        "        cli.main(args)\n"
        "    except SystemExit:\n"
        "        pass\n"
    )
    heavy = ("netcheck.runner", "netcheck.probes", "netcheck.report.table", "scapy", "dns", "psutil", "orjson", "asyncio")
    assert imported_after(code, heavy) == []


def test_the_entry_point_leaves_with_everything_written_and_the_exit_code(tmp_path: Path) -> None:
    """`python -m netcheck` (the console script's run) leaves by os._exit once the command returned: what the
    command wrote to stdout still gets out whole, and the exit code is the command's: here a failed check of an
    agent on loopback whose SSH port is closed (exit 1), and the help written to a full disk (exit 3, one line)."""
    ports = subprocess.run(
        [sys.executable, "-m", "netcheck", "ports", "--format", "csv"], capture_output=True, text=True, check=False
    )
    assert ports.returncode == 0
    assert ports.stdout == invoke("ports", "--format", "csv").output and ports.stdout.count("\n") > 5
    with socket.socket() as closed:  # bound, not listening: a probe gets a reset
        closed.bind(("127.0.0.1", 0))
        plan = tmp_path / "site.toml"
        plan.write_text(f"[ports]\nssh = {closed.getsockname()[1]}\n")
        args = [
            "check",
            "--agent",
            "127.0.0.1:linux",
            "--plan",
            str(plan),
            "--timeout",
            "0.2",
            "--no-identify",
            "--format",
            "json",
            "-q",
        ]
        proc = subprocess.run([sys.executable, "-m", "netcheck", *args], capture_output=True, text=True, check=False)
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert report["summary"]["verdict"] == "fail"
    assert any(c["state"] == "closed" and c["verdict"] == "fail" for c in report["checks"])
    with Path("/dev/full").open("w") as full:
        help_out = subprocess.run(
            [sys.executable, "-m", "netcheck", "--help"], stdout=full, stderr=subprocess.PIPE, text=True, check=False
        )
    assert help_out.returncode == 3
    assert help_out.stderr == "netcheck: error: cannot write to stdout: No space left on device\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["frob"], "no such command 'frob' (commands: check, listen, report, merge, ports"),
        (["--frob"], "no such option: --frob"),
        (["check", "--agent"], "argument --agent: expected one argument"),
        (["check", "--agent", "a1", "stray"], "unexpected argument (word 3 after 'netcheck check')"),
        (["check", "-qv", "-x"], "no such option: -x"),
        (["check", "--quiet=yes"], "argument -q/--quiet takes no value"),
        (["check", "--retries", "x"], "argument --retries: 'x' is not an integer"),
        (["check", "--timeout", "nan"], "argument --timeout: nan is not in the range 0.05 to 60"),
        (["check", "--tim", "1"], "no such option: --tim"),  # no abbreviations: a later option could make them ambiguous
        (["merge"], "the following arguments are required: FILE.json"),
        (["ports", "--format", "pf"], "'pf' is not one of csv, netsh, iptables, nftables"),
    ],
)
def test_command_line_mistakes_are_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert result.stdout == "" and result.stderr.count("\n") == 1
    assert result.stderr.startswith("netcheck: error: ") and message in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["check", "--password=Canary-0x5eed"],
        ["--password=Canary-0x5eed"],
        ["check", "-pCanary-0x5eed"],
        ["-pCanary-0x5eed"],
        ["check", "-qpCanary-0x5eed"],
        ["check", "--quiet=Canary-0x5eed"],
        ["check", "--expect-responder=Canary-0x5eed"],
        ["check", "--user", "admin", "Canary-0x5eed"],
        ["merge", "a.json", "Canary-0x5eed", "--frob"],
    ],
)
def test_nothing_typed_but_option_names_is_echoed_in_errors(args: list[str]) -> None:
    """A password typed in the wrong place (`-pSECRET`, `--password=...`, a stray word) never comes back."""
    result = invoke(*args)
    assert result.exit_code == 2 and result.stderr.startswith("netcheck: error: ")
    assert "Canary-0x5eed" not in result.output


def test_options_and_files_mix_and_values_may_start_with_a_dash(tmp_path: Path) -> None:
    """As the typer CLI did: `merge a.json --format json b.json`, and `--token -S3cret` takes '-S3cret'."""
    from tests.unit.test_merge import FIXTURES  # noqa: PLC0415

    files = [str(FIXTURES / "report_console.json"), str(FIXTURES / "report_agent_lin.json")]
    merged = invoke("merge", files[0], "--format", "json", files[1], "--unreachable", "lost-agent")
    assert merged.exit_code == 0, merged.output
    assert len(json.loads(merged.stdout)["merged_from"]) == 2
    args = options.check_parser().parse_args(["--token", "-S3cret", "--agent", "a1"])
    assert (args.token, args.agent) == ("-S3cret", ["a1"])
