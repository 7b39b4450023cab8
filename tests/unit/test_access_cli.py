"""Credential input without a user: what `netcheck check` does with a password file, the environment's password
and a plan file's [credentials] when nobody is named to log in."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from netcheck import cli
from netcheck.observe.access import smb as access_smb
from netcheck.observe.access import ssh as access_ssh
from netcheck.observe.access.credentials import CredentialInput
from tests.cli_runner import CliRunner

CANARY = "Canary-cli-3Hw7"
AGENT = ["check", "--agent", "127.0.0.1:linux", "--timeout", "0.2", "--format", "json"]


@pytest.fixture
def open_ssh_link(tmp_path: Path) -> Iterator[Path]:
    """A plan file whose SSH port is a listener on loopback: the agent's install link is open, so its access check
    gets as far as the credentials (a run may probe nothing but loopback here)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        plan = tmp_path / "site.toml"
        plan.write_text(f"[ports]\nssh = {listener.getsockname()[1]}\n")
        yield plan


def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "pw"
    path.write_text(CANARY + "\n")
    path.chmod(0o600)
    return path


def test_password_file_without_a_user_is_one_line_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli.main, [*AGENT, "--password-file", str(password_file(tmp_path))], env={"NETCHECK_PASSWORD": ""}
    )
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines() == [
        "netcheck: error: --password-file is given but no user: give --user (or user, windows_user or linux_user in "
        "the plan file's [credentials])"
    ]
    assert CANARY not in result.output


def test_password_file_without_a_user_even_with_a_plan_credentials_table(tmp_path: Path) -> None:
    plan = tmp_path / "site.toml"
    plan.write_text('[credentials]\nknown_hosts = "/nonexistent/kh"\n')
    args = [*AGENT, "--plan", str(plan), "--password-file", str(password_file(tmp_path))]
    result = CliRunner().invoke(cli.main, args, env={"NETCHECK_PASSWORD": ""})
    assert result.exit_code == 2 and "--password-file is given but no user" in result.output


def test_environment_password_without_a_user_stays_unused(open_ssh_link: Path) -> None:
    """The environment is not a request: NETCHECK_PASSWORD set for other runs is no error."""
    result = CliRunner().invoke(cli.main, [*AGENT, "--plan", str(open_ssh_link)], env={"NETCHECK_PASSWORD": CANARY})
    assert result.exit_code in (0, 1), result.output
    assert "no credentials: give --user" in result.output and CANARY not in result.output


@pytest.mark.parametrize(
    "table",
    ['ssh_key = "/nonexistent/id"', 'known_hosts = "/nonexistent/kh"', 'password_file = "/nonexistent/pw"'],
)
def test_plan_credentials_without_a_user_need_no_extra_and_log_in_nowhere(
    open_ssh_link: Path, monkeypatch: pytest.MonkeyPatch, table: str
) -> None:
    """A shared plan may hold the paths for whoever runs it with --user; without a user nothing logs in, so
    neither the optional libraries nor those files are needed."""
    monkeypatch.setattr(access_ssh, "available", lambda: False)
    monkeypatch.setattr(access_smb, "available", lambda: False)
    plan = open_ssh_link
    plan.write_text(f"{plan.read_text()}[credentials]\n{table}\n")
    result = CliRunner().invoke(cli.main, [*AGENT, "--plan", str(plan)], env={"NETCHECK_PASSWORD": ""})
    assert result.exit_code in (0, 1), result.output
    assert "install-check" not in result.output and "no credentials: give --user" in result.output


def test_plan_user_still_needs_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(access_ssh, "available", lambda: False)
    plan = tmp_path / "site.toml"
    plan.write_text('[credentials]\nlinux_user = "root"\n')
    result = CliRunner().invoke(cli.main, [*AGENT, "--plan", str(plan)], env={"NETCHECK_PASSWORD": ""})
    assert result.exit_code == 2 and "needs the install-check extra" in result.output


@pytest.mark.parametrize(
    ("given", "named"),
    [
        (CredentialInput(), False),
        (CredentialInput(password_file=Path("pw"), plan={"ssh_key": "k", "known_hosts": "kh", "password_file": "p"}), False),
        (CredentialInput(user="root"), True),
        (CredentialInput(plan={"user": "root"}), True),
        (CredentialInput(plan={"windows_user": "CORP\\admin"}), True),
        (CredentialInput(plan={"linux_user": "root"}), True),
    ],
)
def test_which_input_names_a_user(given: CredentialInput, named: bool) -> None:
    assert given.names_a_user is named
