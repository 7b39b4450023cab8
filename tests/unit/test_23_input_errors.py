"""Issue 23: every input error is one line and exit 2 before any probe, whatever the file or the value.

Directories given as input files, deeply nested or huge-integer plans and reports, a `~nouser` path, an
--output that is a socket or a FIFO nobody reads, a --dns-server with control characters, `--concurrency 1_000`.
In process (the same code path as the console script) unless a case needs a process of its own.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from netcheck import cli
from netcheck.files import read_limited
from netcheck.observe import session
from netcheck.plan.topology import InputError
from tests.cli_runner import CliRunner

FIXTURES = Path(__file__).parent / "fixtures"
CONSOLE = FIXTURES / "report_console.json"


@pytest.fixture(autouse=True)
def no_probes(monkeypatch: pytest.MonkeyPatch) -> None:
    """An input error comes before any probe: a regression that gets as far as probing fails here, sending nothing."""

    def probing(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("netcheck went on to probe")

    monkeypatch.setattr(session, "_run", probing)


def refused(*args: str, message: str) -> None:
    result = CliRunner().invoke(cli.main, list(args))
    assert result.exit_code == 2, result.output
    assert message in result.output, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    assert result.output.count("netcheck: error: ") == 1 and result.output.count("\n") == 1, result.output


def within(seconds: float, work: Callable[[], None]) -> None:
    """Run `work` in a thread: a regression that blocks fails the test instead of hanging it."""
    failures: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread below
            failures.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=seconds)
    assert not thread.is_alive(), f"blocked for more than {seconds} s"
    if failures:
        raise failures[0]


# --- directories (defect 4) ------------------------------------------------------------------------------------


@pytest.mark.parametrize("option", ["--agents-file", "--plan", "--hosts-file", "report", "merge"])
def test_a_directory_given_as_an_input_file_is_exit_2(tmp_path: Path, option: str) -> None:
    if option == "report":
        args = ["report", str(tmp_path)]
    elif option == "merge":
        args = ["merge", str(CONSOLE), str(tmp_path)]
    else:
        args = ["check", "--agent", "198.18.0.1:linux", option, str(tmp_path)]
    refused(*args, message=f"{str(tmp_path)!r} is a directory")


def test_read_limited_refuses_a_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a directory"):
        read_limited(tmp_path, "file", 100)


# --- nesting and huge numbers (defect 5) -----------------------------------------------------------------------


def test_a_plan_nested_5000_deep_is_exit_2(tmp_path: Path) -> None:
    plan = tmp_path / "deep.toml"
    plan.write_text("agents = " + "[" * 5000 + "\n")
    refused("check", "--plan", str(plan), message="deep.toml")


def test_a_plan_with_a_5000_digit_number_is_exit_2(tmp_path: Path) -> None:
    plan = tmp_path / "big.toml"
    plan.write_text("agents = ['198.18.0.1:linux']\n[ports]\nsmb = " + "9" * 5000 + "\n")
    refused("check", "--plan", str(plan), message="big.toml")


def huge_number_report(tmp_path: Path) -> Path:
    text = re.sub(r'"duration_s": [0-9.]+', '"duration_s": ' + "9" * 5000, CONSOLE.read_text(), count=1)
    path = tmp_path / "huge.json"
    path.write_text(text)
    return path


def test_a_report_with_a_5000_digit_number_is_exit_2(tmp_path: Path) -> None:
    refused("report", str(huge_number_report(tmp_path)), message="huge.json")


def test_a_merge_with_a_5000_digit_number_is_exit_2(tmp_path: Path) -> None:
    refused("merge", str(CONSOLE), str(huge_number_report(tmp_path)), message="huge.json")


@pytest.mark.parametrize("key", ["ssh_key", "known_hosts", "password_file"])
def test_a_path_under_an_unknown_users_home_is_exit_2(tmp_path: Path, key: str) -> None:
    plan = tmp_path / "plan.toml"
    plan.write_text(f"agents = ['198.18.0.1:linux']\n[credentials]\nuser = 'root'\n{key} = '~nouser-h23/k'\n")
    refused("check", "--plan", str(plan), message="~nouser-h23/k")


# --- --output that cannot be written (defect 15) ---------------------------------------------------------------


def test_output_to_a_unix_socket_is_exit_2_at_once(tmp_path: Path) -> None:
    path = tmp_path / "sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen()
    try:
        refused("report", str(CONSOLE), "--output", str(path), message="is a socket")
    finally:
        server.close()


def test_output_to_a_fifo_nobody_reads_is_exit_2_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    within(30, lambda: refused("report", str(CONSOLE), "--output", str(fifo), message="FIFO"))


# --- option values (defect 18, minor) --------------------------------------------------------------------------


@pytest.mark.parametrize("server", ["fe80::1%\x1b[31mX", "fe80::1%eth 0", "198.18.0.53\n"])
def test_a_dns_server_with_odd_characters_is_exit_2(server: str) -> None:
    refused("check", "--agent", "198.18.0.1:linux", "--dns-server", server, message="--dns-server")


@pytest.mark.parametrize("value", ["1_000", " 1000", "+1000", "\uff11\uff10"])
def test_concurrency_takes_plain_digits_only(value: str) -> None:
    refused("check", "--agent", "198.18.0.1:linux", "--concurrency", value, message="--concurrency")


# --- listen (minor) ----------------------------------------------------------------------------------------------


def test_listen_is_not_stopped_by_a_listener_on_another_address() -> None:
    """0.3 said "every port is taken" when the port was held on another address only. In a loopback-only namespace."""
    script = (
        "import socket, subprocess, sys\n"
        "held = socket.socket(); held.bind(('127.0.0.2', 40123)); held.listen()\n"
        "run = subprocess.run([sys.executable, '-m', 'netcheck', 'listen', '--bind', '127.0.0.1', '--port', '40123',\n"
        "                      '--duration', '1'], capture_output=True, text=True, timeout=60)\n"
        "print(run.returncode); print(run.stdout + run.stderr)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    done = subprocess.run(
        ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", sys.executable, "-c", script],
        capture_output=True, text=True, timeout=120, env=env, check=False,
    )  # fmt: skip
    code, _, said = done.stdout.partition("\n")
    assert code == "0", done.stdout + done.stderr
    assert "every port is taken" not in said and "listening on 127.0.0.1 port 40123" in said
