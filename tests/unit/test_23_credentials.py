"""Issue 23: credentials read bounded and before any probe, secrets masked in every form and never inherited by a
child, and access results that say what was seen (defects 1, 2, 3, 10, 11, 12, 13, 17)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest

from netcheck import cli
from netcheck.classify.access import classify_smb, classify_ssh
from netcheck.model.checks import Check, Target
from netcheck.model.kinds import Kind, Role, Verdict
from netcheck.model.matrix import PortKey
from netcheck.model.observations import CommandOutput, KerberosTry, SmbObservation, SshObservation, Step
from netcheck.observe import session
from netcheck.observe.access.credentials import (
    CredentialInput,
    Credentials,
    Secret,
    find_ticket_cache,
    gather_credentials,
    parse_user,
    take_password_from_environment,
)
from tests.cli_runner import CliRunner

PASSWORD = 'Pa\\ss"w0rd%/\u00fc-Zq7x'  # noqa: S105 - a test password with characters that get escaped
GIB = 1 << 30


@pytest.fixture(autouse=True)
def no_probes(monkeypatch: pytest.MonkeyPatch) -> None:
    """An input error comes before any probe: a regression that gets as far as probing fails here, sending nothing."""

    def probing(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("netcheck went on to probe")

    monkeypatch.setattr(session, "_run", probing)


def refused(*args: str, message: str, env: dict[str, str | None] | None = None) -> None:
    result = CliRunner().invoke(cli.main, list(args), env={"NETCHECK_PASSWORD": None, "SSH_AUTH_SOCK": None, **(env or {})})
    assert result.exit_code == 2, result.output
    assert message in result.output, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    assert result.output.count("\n") == 1, result.output


def within(seconds: float, work: Callable[[], object]) -> object:
    found: list[object] = []
    thread = threading.Thread(target=lambda: found.append(work()), daemon=True)
    thread.start()
    thread.join(timeout=seconds)
    assert found, f"blocked for more than {seconds} s (or failed)"
    return found[0]


def sparse(path: Path, size: int, head: bytes = b"") -> Path:
    with path.open("wb") as sink:
        sink.write(head)
        sink.truncate(size)  # no disk is spent
    return path


def new_key(path: Path, passphrase: str | None = None) -> Path:
    import asyncssh  # noqa: PLC0415

    key = asyncssh.generate_private_key("ssh-ed25519")
    if passphrase:
        path.write_bytes(key.export_private_key("pkcs8-pem", passphrase=passphrase))
    else:
        key.write_private_key(str(path))
    key.write_public_key(f"{path}.pub")
    return path


# --- the Kerberos ticket cache (defects 1, 2) ------------------------------------------------------------------


def test_a_fifo_named_as_the_ticket_cache_is_named_unusable_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "cc"
    os.mkfifo(fifo)
    for name in (str(fifo), f"FILE:{fifo}"):
        cache = within(10, lambda name=name: find_ticket_cache({"KRB5CCNAME": name}, 0))
        assert cache is not None and cache.problem == "is a FIFO, not a regular file", cache  # type: ignore[attr-defined]


def test_a_huge_ticket_cache_is_not_read(tmp_path: Path) -> None:
    header = bytes.fromhex("05040000") + bytes(8)
    cache = find_ticket_cache({"KRB5CCNAME": str(sparse(tmp_path / "cc", 2 * GIB, header))}, 0)
    assert cache is not None and cache.problem.startswith("is larger than"), cache


def test_a_linux_only_run_with_a_fifo_ticket_cache_does_not_hang(tmp_path: Path) -> None:
    """0.3 hung forever before any probe; here the run's own (loopback-only) namespace has nothing to reach."""
    fifo = tmp_path / "cc"
    os.mkfifo(fifo)
    env = {**os.environ, "KRB5CCNAME": str(fifo), "NETCHECK_PASSWORD": "x", "PYTHONPATH": str(Path(__file__).parents[2])}
    run = subprocess.run(
        ["unshare", "-n", sys.executable, "-m", "netcheck", "check", "--agent", "198.18.0.1:linux", "--user", "root",
         "--timeout", "1", "--method", "connect"],
        capture_output=True, text=True, timeout=60, env=env, check=False,
    )  # fmt: skip
    assert run.returncode in (0, 1), run.stderr


# --- --ssh-key and --known-hosts (defects 2, 12) ---------------------------------------------------------------


@pytest.mark.parametrize("option", ["--ssh-key", "--known-hosts"])
def test_a_huge_key_or_known_hosts_file_is_exit_2(tmp_path: Path, option: str) -> None:
    huge = sparse(tmp_path / "huge", 3 * GIB)
    refused("check", "--agent", "198.18.0.1:linux", "--user", "root", option, str(huge), message="is larger than")


@pytest.mark.parametrize("option", ["--ssh-key", "--known-hosts"])
def test_a_fifo_or_a_directory_as_key_or_known_hosts_is_exit_2(tmp_path: Path, option: str) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    args = ["check", "--agent", "198.18.0.1:linux", "--user", "root"]
    within(30, lambda: refused(*args, option, str(fifo), message="is a FIFO"))
    refused(*args, option, str(tmp_path), message="is a directory")


def test_a_key_with_a_passphrase_is_exit_2_without_a_terminal(tmp_path: Path) -> None:
    key = new_key(tmp_path / "id", passphrase="pp")  # noqa: S106 - a test key
    refused("check", "--agent", "198.18.0.1:linux", "--user", "root", "--ssh-key", str(key), message="passphrase")


@pytest.mark.parametrize("kind", ["garbage", "public"])
def test_a_key_that_is_no_private_key_is_exit_2(tmp_path: Path, kind: str) -> None:
    if kind == "garbage":
        key = tmp_path / "id"
        key.write_bytes(os.urandom(300))
    else:
        key = Path(f"{new_key(tmp_path / 'id')}.pub")
    refused("check", "--agent", "198.18.0.1:linux", "--user", "root", "--ssh-key", str(key), message="cannot be loaded")


def test_a_keys_passphrase_is_asked_on_a_terminal(tmp_path: Path) -> None:
    key = new_key(tmp_path / "id", passphrase="pp")  # noqa: S106 - a test key
    asked: list[str] = []

    def prompt(text: str) -> str:
        asked.append(text)
        return "pp"

    given = CredentialInput(user="root", ssh_keys=(key,), known_hosts=None)
    creds = gather_credentials(given, environ={"NETCHECK_PASSWORD": "x"}, stdin_is_tty=True, prompt=prompt)
    assert creds is not None and len(creds.client_keys) == 1
    assert asked == [f"Passphrase for {key}: "]


# --- secrets (defects 3, 17) -----------------------------------------------------------------------------------


def forms() -> list[str]:
    return [PASSWORD, repr(PASSWORD)[1:-1], json.dumps(PASSWORD)[1:-1], quote(PASSWORD, safe=""), ascii(PASSWORD)[1:-1]]


@pytest.mark.parametrize("form", range(5))
def test_every_escaped_form_of_the_password_is_masked(form: int) -> None:
    shown = Secret(PASSWORD).hide_in(f"refused: <{forms()[form]}> and again {forms()[form]}")
    assert shown == "refused: <********> and again ********"


@pytest.mark.parametrize("cut", [3, 5, 10, len(PASSWORD) - 1])
def test_a_text_cut_inside_the_password_does_not_keep_its_start(cut: int) -> None:
    text = ("x" * 190 + PASSWORD)[: 190 + cut]
    assert Secret(PASSWORD).hide_in(text) == "x" * 190 + "********"


def test_a_short_common_ending_is_left_alone() -> None:
    assert Secret(PASSWORD).hide_in("the server said: P") == "the server said: P"


def test_the_environments_password_is_taken_out_and_still_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETCHECK_PASSWORD", PASSWORD)
    take_password_from_environment()
    assert "NETCHECK_PASSWORD" not in os.environ
    creds = gather_credentials(CredentialInput(user="root"), environ=os.environ, stdin_is_tty=False, prompt=input)
    assert creds is not None and creds.password == Secret(PASSWORD) and creds.password_source == "NETCHECK_PASSWORD"  # noqa: S105
    take_password_from_environment()  # a second run without it in the environment has none
    creds = gather_credentials(CredentialInput(user="root"), environ=os.environ, stdin_is_tty=False, prompt=input)
    assert creds is not None and creds.password is None


def test_no_child_process_inherits_the_password(tmp_path: Path) -> None:
    """The canary: iptables and nft (host readiness) are stand-ins on PATH that write their environment out; 0.3
    passed NETCHECK_PASSWORD to them (and to the gcc and ldconfig that ctypes' find_library runs)."""
    if not shutil.which("unshare"):
        pytest.skip("unshare is needed to run a check with loopback only")
    tools = tmp_path / "bin"
    tools.mkdir()
    for name in ("nft", "iptables", "ip6tables", "gcc", "ldconfig"):
        tool = tools / name
        tool.write_text(f'#!/bin/sh\nenv > "{tmp_path}/env.{name}.$$"\nexit 1\n')
        tool.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{tools}:{os.environ['PATH']}",
        "NETCHECK_PASSWORD": "Canary-23-Qv8",
        "PYTHONPATH": str(Path(__file__).parents[2]),
    }
    run = subprocess.run(
        ["unshare", "-n", sys.executable, "-m", "netcheck", "check", "--agent", "198.18.0.1:linux", "--user", "root",
         "--timeout", "1", "--method", "connect"],
        capture_output=True, text=True, timeout=120, env=env, check=False,
    )  # fmt: skip
    assert run.returncode in (0, 1), run.stderr
    seen = list(tmp_path.glob("env.*"))
    assert seen, "no child process ran: the canary tested nothing"
    for dump in seen:
        assert "Canary-23-Qv8" not in dump.read_text(), dump.name


# --- what the access results say (defects 10, 11, 13) ----------------------------------------------------------


def access_check(port_key: PortKey, port: int) -> Check:
    return Check(
        id=f"access:a1:{port}",
        kind=Kind.ACCESS,
        source=Role.CONSOLE,
        target=Target("a1", Role.AGENT),
        port=port,
        purpose="remote installation",
        port_key=port_key,
    )


def test_a_failing_ssh_detail_says_only_what_was_seen() -> None:
    """0.3 ended "no-root-or-sudo … (… passwordless sudo; /tmp writable and executable …)"."""
    obs = SshObservation(
        "198.18.0.41", 22, "bob", host_key="known", login="ok", auth="password", uid=1000,
        sudo=CommandOutput(1, "", "sudo: a password is required"),
        tmp=CommandOutput(0, "writable=yes\nexec=yes\n", ""), df="", packages=("dpkg",),
    )  # fmt: skip
    result = classify_ssh(access_check(PortKey.SSH, 22), obs)
    assert result.verdict is Verdict.FAIL
    assert result.detail == "no-root-or-sudo: bob is not root (uid 1000) and sudo -n true fails (sudo: a password is required)"


def test_an_smb_connection_reset_is_named() -> None:
    from impacket.nmb import NetBIOSError  # noqa: PLC0415

    from netcheck.observe.access.smb import _step  # noqa: PLC0415

    step = _step(NetBIOSError("Error while reading from remote", 0x1, 104))
    assert not step.ok and step.code is None and step.message.startswith("connection lost: NetBIOSError")
    obs = SmbObservation("198.18.0.31", "CORP\\admin", "domain", login=step)
    result = classify_smb(access_check(PortKey.SMB, 445), obs)
    assert result.detail.startswith("smb-connection-lost: a1 broke the connection during SMB session setup")


def test_ntlm_that_failed_is_not_reported_as_missing() -> None:
    kerberos = KerberosTry("not-tried", "no-ticket", "the ticket cache has no ticket for CORP.EXAMPLE", "cifs/a1")
    tried = SmbObservation(
        "198.18.0.31", "CORP\\admin", "domain", login=Step(False, None, "Exception: No answer!"), kerberos=kerberos
    )
    detail = classify_smb(access_check(PortKey.SMB, 445), tried).detail
    assert "no password for NTLM" not in detail and "NTLM failed too" in detail and "No answer!" in detail
    missing = SmbObservation(
        "198.18.0.31", "CORP\\admin", "domain", kerberos=kerberos,
        login=Step(False, None, "Kerberos did not log in (no-ticket) and there is no password for NTLM"),
    )  # fmt: skip
    assert "and there is no password for NTLM" in classify_smb(access_check(PortKey.SMB, 445), missing).detail


def test_a_reason_cut_inside_the_password_is_masked_by_the_stage() -> None:
    from netcheck.observe.access.stage import scrubbed  # noqa: PLC0415

    creds = Credentials(linux=parse_user("root"), password=Secret(PASSWORD))
    obs = SshObservation("198.18.0.41", 22, "root", login="refused", error=("x" * 190 + PASSWORD)[:200])
    assert PASSWORD[:10] not in scrubbed(obs, creds).error


def test_an_smb_message_is_masked_before_it_is_cut() -> None:
    from netcheck.observe.access import smb  # noqa: PLC0415

    smb._VISIT.scrub = Credentials(password=Secret(PASSWORD)).scrub
    try:
        step = smb._step(ValueError("x" * 190 + PASSWORD))
    finally:
        del smb._VISIT.scrub
    assert step.message == "ValueError: " + "x" * 190 + "********"
