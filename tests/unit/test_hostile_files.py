"""Hostile files and paths (issue 14): --output targets that are not plain files, input files that never end,
report files that break the schema. Every case runs the CLI as a subprocess for its exit code and stderr."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from netcheck import cli
from netcheck.files import PLAN_LIMIT, OutputTarget, output_target, read_limited, write_output
from netcheck.observe.names.observe import load_hosts
from netcheck.plan.topology import InputError
from netcheck.report.output import write_text
from tests.cli_runner import CliRunner

FIXTURES = Path(__file__).parent / "fixtures"
CONSOLE = FIXTURES / "report_console.json"
ROOT = os.geteuid() == 0


def netcheck(*args: str, cwd: Path | None = None, timeout: float = 60, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netcheck", *args], capture_output=True, text=True, timeout=timeout, cwd=cwd, check=False, **kwargs
    )


def one_line_error(proc: subprocess.CompletedProcess[str], code: int, *fragments: str) -> None:
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("netcheck: error: "), proc.stderr
    for fragment in fragments:
        assert fragment in proc.stderr


def refused(code: int, *args: str, message: str) -> None:
    """In process (CliRunner: the same code path, without a 2-second interpreter start per case)."""
    result = CliRunner().invoke(cli.main, list(args))
    assert result.exit_code == code, result.output
    assert message in result.output and "Traceback" not in result.output
    assert result.output.count("netcheck: error: ") == 1


def private_device(tmp_path: Path, name: str, minor: int) -> Path:
    """A copy of a /dev node in tmp_path: a regression replaces this one, never the machine's /dev/full."""
    if not ROOT:
        pytest.skip("making a device node needs root")
    device = tmp_path / name
    os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, minor))
    return device


def private_stdout(tmp_path: Path) -> Path:
    """A link to /proc/self/fd/1, as /dev/stdout is: a regression replaces this link, not the machine's."""
    link = tmp_path / "stdout"
    link.symlink_to("/proc/self/fd/1")
    return link


# --- --output -----------------------------------------------------------------------------------------------


def test_output_to_a_device_writes_through_and_keeps_the_device(tmp_path: Path) -> None:
    device = private_device(tmp_path, "null", 3)
    proc = netcheck("report", str(CONSOLE), "--output", str(device))
    assert proc.returncode == 0, proc.stderr
    assert stat.S_ISCHR(os.stat(device).st_mode)
    assert list(tmp_path.iterdir()) == [device]  # no temporary file left behind


def test_output_to_a_full_device_is_one_line_and_exit_3(tmp_path: Path) -> None:
    full = private_device(tmp_path, "full", 7)  # as /dev/full, which 0.1.0 replaced with a regular file as root
    one_line_error(netcheck("report", str(CONSOLE), "--output", str(full)), 3, f"cannot write {str(full)!r}", "No space left")
    assert stat.S_ISCHR(os.stat(full).st_mode)


def test_output_to_a_fifo_writes_through(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    proc = netcheck("report", str(CONSOLE), "--format", "json", "--output", str(fifo))
    reader.join(timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(received[0])["tool"]["name"] == "netcheck"
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_output_to_dev_stdout_prints_the_report_and_nothing_else(tmp_path: Path) -> None:
    proc = netcheck("report", str(CONSOLE), "--format", "json", "--output", str(private_stdout(tmp_path)))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["checks"]  # the whole report, without a summary line mixed in
    assert (tmp_path / "stdout").is_symlink()


def test_output_to_dev_stdout_redirected_to_a_file(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    with target.open("w") as sink:
        proc = subprocess.run(
            [sys.executable, "-m", "netcheck", "report", str(CONSOLE), "--format", "json", "--output", str(private_stdout(tmp_path))],
            stdout=sink, stderr=subprocess.PIPE, text=True, check=False, timeout=60,
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(target.read_text())["checks"]


def test_an_existing_files_mode_is_kept(tmp_path: Path) -> None:
    target = tmp_path / "report.txt"
    target.write_text("old")
    target.chmod(0o600)
    assert CliRunner().invoke(cli.main, ["report", str(CONSOLE), "--output", str(target)]).exit_code == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert "What to fix" in target.read_text()


def test_a_new_file_gets_the_umask_mode(tmp_path: Path) -> None:
    target = tmp_path / "new.txt"
    assert netcheck("report", str(CONSOLE), "--output", str(target)).returncode == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o644  # subprocess inherits the usual umask 022


def test_a_symlink_is_written_through_and_stays_a_link(tmp_path: Path) -> None:
    real = tmp_path / "reports" / "today.json"
    real.parent.mkdir()
    real.write_text("old")
    link = tmp_path / "latest.json"
    link.symlink_to(real)
    assert CliRunner().invoke(cli.main, ["report", str(CONSOLE), "--format", "json", "--output", str(link)]).exit_code == 0
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert json.loads(real.read_text())["tool"]["name"] == "netcheck"


@pytest.mark.skipif(not ROOT, reason="giving a link to another user needs root")
def test_another_users_symlink_in_a_shared_directory_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "tmp"
    shared.mkdir()
    shared.chmod(0o1777)
    victim = tmp_path / "victim"
    victim.write_text("precious")
    planted = shared / "report.txt"
    planted.symlink_to(victim)
    os.lchown(planted, 65534, 65534)  # nobody planted it
    refused(2, "report", str(CONSOLE), "--output", str(planted), message="another user's symbolic link in a shared directory")
    assert victim.read_text() == "precious"


def test_a_symlink_planted_at_the_old_temporary_name_is_not_followed(tmp_path: Path) -> None:
    """0.1.0 wrote to `.NAME.PID.tmp`: predictable, so a planted symlink redirected the write to a victim."""
    victim = tmp_path / "victim"
    victim.write_text("precious")
    target = tmp_path / "report.txt"
    (tmp_path / f".report.txt.{os.getpid()}.tmp").symlink_to(victim)
    write_text(target, ["the report\n"])
    assert victim.read_text() == "precious"
    assert target.read_text() == "the report\n"


def test_write_output_replaces_atomically_through_a_random_temporary_name(tmp_path: Path) -> None:
    target = tmp_path / "r.txt"
    seen: list[list[str]] = []

    def chunks() -> Any:
        seen.append(sorted(p.name for p in tmp_path.iterdir()))
        yield "x"

    write_output(output_target(target), chunks())
    assert target.read_text() == "x"
    (temporary,) = seen[0]
    assert temporary.startswith(".r.txt.") and temporary.endswith(".tmp") and str(os.getpid()) not in temporary
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.txt"]


def test_output_target_kinds(tmp_path: Path) -> None:
    assert output_target(Path("/dev/null")) == OutputTarget(Path("/dev/null"), write_through=True)
    assert output_target(Path("/dev/stdout")).fd == 1
    assert output_target(tmp_path / "new.json") == OutputTarget(tmp_path / "new.json", write_through=False)
    with pytest.raises(InputError, match="is a directory"):
        output_target(tmp_path)
    (tmp_path / "dangling").symlink_to(tmp_path / "missing")
    with pytest.raises(InputError, match="symbolic link to a missing file"):
        output_target(tmp_path / "dangling")


@pytest.mark.parametrize(
    "command",
    [
        ["check", "--agent", "198.18.0.31", "--method", "connect"],
        ["report", str(CONSOLE)],
        ["merge", str(CONSOLE), str(FIXTURES / "report_agent_win.json")],
        ["ports"],
    ],
)
def test_an_unwritable_output_exits_2_before_any_work(command: list[str]) -> None:
    started = time.monotonic()
    refused(2, *command, "--output", "/proc/version", message="--output '/proc/version': cannot create a file in '/proc'")
    assert time.monotonic() - started < 20  # no probe ran (a probe of 198.18.0.31 would wait for its timeout)


def test_ports_writes_its_rules_to_output(tmp_path: Path) -> None:
    target = tmp_path / "rules.nft"
    assert CliRunner().invoke(cli.main, ["ports", "--format", "nftables", "--output", str(target)]).exit_code == 0
    assert "add rule inet filter input" in target.read_text()


# --- pipes that close -----------------------------------------------------------------------------------------


def big_report(tmp_path: Path, copies: int = 40) -> Path:
    """A report well over a pipe's 64 KiB buffer, so a reader that stops early makes netcheck's writes fail."""
    data = json.loads(CONSOLE.read_text())
    data["checks"] = [dict(c, id=f"{c['id']}#{i}") for i in range(copies) for c in data["checks"]]
    path = tmp_path / "big.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("to_stdout", [False, True], ids=["stdout", "output-dev-stdout"])
def test_a_reader_that_stops_early_is_not_an_error(tmp_path: Path, to_stdout: bool) -> None:
    output = ["--output", str(private_stdout(tmp_path))] if to_stdout else []
    proc = subprocess.run(
        ["bash", "-c", f'"{sys.executable}" -m netcheck report "$1" --format json "${{@:2}}" | head -1; exit "${{PIPESTATUS[0]}}"', "_", str(big_report(tmp_path)), *output],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "{\n"
    assert proc.stderr == ""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def knock(port: int, times: int) -> None:
    for _ in range(times):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
                conn.sendall(b"garbage garbage garbage garbage garbage garbage garbage garbage garbage garbage!")
        except OSError:
            pass
        time.sleep(0.05)


def start_listen(*args: str) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "netcheck", "listen", "--port", str(port), "--bind", "127.0.0.1", "--duration", "30", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    assert "listening on 127.0.0.1" in proc.stdout.readline()
    return proc, port


def test_listen_log_to_a_full_device_stops_with_one_line(tmp_path: Path) -> None:
    full = private_device(tmp_path, "full", 7)
    proc, port = start_listen("--log", str(full))
    knock(port, 3)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 3, err
    assert "Traceback" not in err
    assert err.strip() == f"netcheck: error: cannot write --log {str(full)!r}: No space left on device"


def test_listen_whose_reader_stops_ends_without_tracebacks() -> None:
    proc, port = start_listen()
    assert proc.stdout is not None
    proc.stdout.close()  # `netcheck listen | head -1`
    knock(port, 5)
    proc.wait(timeout=30)
    err = proc.stderr.read() if proc.stderr else ""
    assert proc.returncode == 0, err
    assert "Traceback" not in err and err == ""


def test_listen_log_names_log_not_output(tmp_path: Path) -> None:
    refused(2, "listen", "--log", str(tmp_path), "--duration", "1", message=f"--log {str(tmp_path)!r} is a directory")


# --- input files ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["check", "--agents-file", "/dev/null"], "agents file '/dev/null' is a character device, not a regular file"),
        (["check", "--plan", "/dev/null"], "plan file '/dev/null' is a character device"),
        (["check", "--agent", "a1", "--hosts-file", "/dev/null"], "hosts file '/dev/null' is a character device"),
        (["report", "/dev/null"], "report '/dev/null' is a character device"),
        (["merge", str(CONSOLE), "/dev/null"], "report '/dev/null' is a character device"),
    ],
)
def test_devices_are_refused_as_input(args: list[str], message: str) -> None:
    """/dev/null in process (a regression reads nothing and fails); /dev/zero below, in a memory-capped subprocess."""
    refused(2, *args, message=message)


def cap_memory() -> None:
    import resource  # noqa: PLC0415 - POSIX only, in the child

    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


@pytest.mark.parametrize(
    "args", [["check", "--agents-file", "/dev/zero"], ["ports", "--plan", "/dev/urandom"]], ids=["zero", "urandom"]
)
def test_endless_devices_are_refused_at_once(args: list[str]) -> None:
    """0.1.0 read /dev/zero until the kernel killed it (23.7 GB); the child is capped at 2 GB and 30 s here."""
    one_line_error(netcheck(*args, timeout=30, preexec_fn=cap_memory), 2, "is a character device, not a regular file")


@pytest.mark.parametrize("option", ["--agents-file", "--plan", "--hosts-file", "report", "merge"])
def test_a_fifo_is_refused_without_blocking(tmp_path: Path, option: str) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    if option in ("report", "merge"):
        args = [option, str(fifo)] + ([str(CONSOLE)] if option == "merge" else [])
    else:
        args = ["check", "--agent", "a1", option, str(fifo)]
    done = threading.Event()
    failures: list[BaseException] = []

    def run() -> None:
        try:
            refused(2, *args, message=f"{str(fifo)!r} is a FIFO, not a regular file")
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread below
            failures.append(exc)
        done.set()

    threading.Thread(target=run, daemon=True).start()  # 0.1.0 blocked forever here: fail, don't hang
    assert done.wait(timeout=30), "reading a FIFO blocked"
    if failures:
        raise failures[0]


def test_a_fifo_agents_file_is_refused_in_a_subprocess(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    one_line_error(netcheck("check", "--agents-file", str(fifo), timeout=30), 2, "is a FIFO, not a regular file")


@pytest.mark.parametrize(
    ("option", "what"), [("--agents-file", "agents file"), ("--plan", "plan file"), ("--hosts-file", "hosts file")]
)
def test_a_file_over_the_limit_is_refused(tmp_path: Path, option: str, what: str) -> None:
    huge = tmp_path / "huge"
    with huge.open("wb") as sink:
        sink.truncate(PLAN_LIMIT + 1)  # sparse: no disk is spent
    refused(2, "check", "--agent", "a1", option, str(huge), message=f"{what} {str(huge)!r} is larger than 16 MiB")


def test_read_limited_stops_at_the_limit_even_when_the_size_lies(tmp_path: Path) -> None:
    small = tmp_path / "small"
    small.write_bytes(b"x" * 100)
    assert read_limited(small, "file", 100) == b"x" * 100
    with pytest.raises(InputError, match="larger than"):
        read_limited(small, "file", 99)
    assert read_limited(Path("/proc/self/status"), "file", 1 << 20).startswith(b"Name:")  # size 0 in stat, yet read


def test_the_hosts_file_read_for_names_is_bounded_too(tmp_path: Path) -> None:
    fifo = tmp_path / "hosts"
    os.mkfifo(fifo)
    results: list[Any] = []
    reader = threading.Thread(target=lambda: results.append(load_hosts(fifo)), daemon=True)
    reader.start()
    reader.join(timeout=30)  # 0.1.0 blocked forever on a FIFO: fail, don't hang
    assert results, "reading a FIFO hosts file blocked"
    assert "FIFO" in results[0].error and not results[0].parsed.entries
    assert "character device" in load_hosts(Path("/dev/null")).error


# --- report files that break the schema -----------------------------------------------------------------------


def hostile_report(change: Any) -> str:
    data = json.loads(CONSOLE.read_text())
    change(data)
    return json.dumps(data)


def set_tool_null(d: Any) -> None:
    d["tool"] = None


def set_port_abc(d: Any) -> None:
    d["checks"][0]["port"] = "abc"


def set_duration_inf(d: Any) -> None:
    d["duration_s"] = "inf"


def set_deep_evidence(d: Any) -> None:
    deep: Any = "x"
    for _ in range(600):
        deep = {"a": deep}
    d["checks"][0]["evidence"]["deep"] = deep


HOSTILE_REPORTS = {
    "tool-null": (hostile_report(set_tool_null), "not a netcheck report"),
    "port-abc": (hostile_report(set_port_abc), "checks[0].port: 'abc' is not integer or null"),
    "duration-inf": (hostile_report(set_duration_inf), "duration_s: 'inf' is not number"),
    "deep-evidence": (hostile_report(set_deep_evidence), "values nest more than 32 deep"),
    "nan": (hostile_report(lambda d: None).replace('"duration_s": ', '"duration_s": NaN, "x": ', 1), "NaN is not a JSON number"),
    "infinity": (
        hostile_report(lambda d: None).replace('"duration_s": ', '"duration_s": Infinity, "x": ', 1),
        "Infinity is not a JSON number",
    ),
    "deep-json": ("[" * 100_000 + "]" * 100_000, "nest too deep"),
    "bad-state": (hostile_report(lambda d: d["checks"][0].update(state="exploded")), "checks[0].state: 'exploded' is not one of"),
    "extra-key": (hostile_report(lambda d: d["vantage"].update(extra=1)), "vantage: unexpected key 'extra'"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_REPORTS))
def test_a_report_that_breaks_the_schema_exits_2(tmp_path: Path, case: str) -> None:
    """In process (CliRunner) for speed; the subprocess test below checks the same through the real entry point."""
    text, message = HOSTILE_REPORTS[case]
    bad = tmp_path / "bad.json"
    bad.write_text(text)
    for args in (
        ["report", str(bad), "--format", "json"],
        ["report", str(bad), "--redact"],
        ["merge", str(CONSOLE), str(bad), "--redact"],
    ):
        result = CliRunner().invoke(cli.main, args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("case", ["tool-null", "deep-evidence", "nan"])
def test_a_report_that_breaks_the_schema_exits_2_in_a_subprocess(tmp_path: Path, case: str) -> None:
    text, message = HOSTILE_REPORTS[case]
    bad = tmp_path / "bad.json"
    bad.write_text(text)
    one_line_error(netcheck("report", str(bad), "--redact"), 2, message)
