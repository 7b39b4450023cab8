"""The access checks against real sshd (and smbd) in the namespace lab: every named cause, in table and JSON,
the agent's own links seen through SSH, and a canary password that must appear in no output."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from netcheck.report.json import parse_report
from netcheck.report.table import render_table
from tests.conftest import lab_built
from tests.lab.access import (
    ADMIN,
    CANARY,
    CHIEF,
    LIN_FW,
    LIN_NOEXEC,
    LIN_OK,
    LIN_STALE,
    LIN_UNKNOWN,
    LS_NAME,
    MS,
    MS_NAME,
    NOBODY,
    PASSWORD,
    PLAIN,
    SUDOER,
    USER,
    WIN_ADMIN,
    WIN_GUEST,
    WIN_NOADMIN,
    WIN_PASSWORD,
    WIN_SMB1,
    AccessLab,
    build_access_lab,
)
from tests.schema import validate_report

pytestmark = pytest.mark.lab
LINUX_AGENTS = (LIN_OK, LIN_NOEXEC, LIN_FW, LIN_STALE, LIN_UNKNOWN)
SERVERS = ("--from", "management-server", "--management-server", MS_NAME, "--license-server", LS_NAME, "--method", "connect")


@pytest.fixture(scope="module")
def access_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AccessLab]:
    with lab_built(lambda: build_access_lab(tmp_path_factory.mktemp("access"))) as built:
        yield built


def agents(*addresses: str) -> list[str]:
    return [arg for address in addresses for arg in ("--agent", f"{address}:linux")]


def as_root(lab: AccessLab, *formats: str) -> list[str]:
    return ["--user", "root", "--ssh-key", str(lab.client_key), "--known-hosts", str(lab.known_hosts), *formats]


@pytest.fixture(scope="module")
def root_run(access_lab: AccessLab) -> tuple[dict[str, Any], str]:
    """Every Linux agent checked as root by key: the JSON report, and the same run rendered as the table."""
    proc = access_lab.run(*SERVERS, *agents(*LINUX_AGENTS), *as_root(access_lab, "--format", "json"))
    assert proc.returncode == 1, proc.stderr
    return json.loads(proc.stdout), render_table(parse_report(proc.stdout), width=1000, show_all=True)


def by_id(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in report["checks"]}


def access_of(report: dict[str, Any], address: str) -> dict[str, Any]:
    return by_id(report)[f"access:management-server->{address}:22"]


def test_the_root_run_validates_against_the_schema(root_run: tuple[dict[str, Any], str]) -> None:
    validate_report(root_run[0])


@pytest.mark.parametrize(
    ("address", "verdict", "causes"),
    [
        (LIN_OK, "pass", []),
        (LIN_NOEXEC, "fail", ["tmp-noexec"]),
        (LIN_FW, "pass", []),
        (LIN_STALE, "pass", []),
        (LIN_UNKNOWN, "fail", ["ssh-host-key-unknown"]),
    ],
)
def test_each_agent_as_root(root_run: tuple[dict[str, Any], str], address: str, verdict: str, causes: list[str]) -> None:
    report, table = root_run
    check = access_of(report, address)
    assert (check["verdict"], check["evidence"]["causes"]) == (verdict, causes)
    assert check["evidence"]["via"] == "ssh"
    assert check["evidence"]["host_key"]["fingerprint"].startswith("SHA256:")
    assert check["evidence"]["host_key"]["fingerprint"] in check["detail"] or verdict == "fail"
    for cause in causes:
        assert f"{cause}:" in table and f"[{cause}]" in table


def test_noexec_tmp_is_seen_in_the_mounts_and_by_running_a_file(root_run: tuple[dict[str, Any], str]) -> None:
    evidence = access_of(root_run[0], LIN_NOEXEC)["evidence"]
    assert evidence["tmp"] == {"mount": "/tmp", "options": evidence["tmp"]["options"], "writable": True, "exec": False}
    assert "noexec" in evidence["tmp"]["options"]
    assert "mount -o remount,exec /tmp" in access_of(root_run[0], LIN_NOEXEC)["remediation"]
    assert list(Path("/tmp").glob(".netcheck.*")) == []  # the agents' /tmp is this machine's: nothing was left there


def test_an_unknown_host_key_is_reported_never_trusted(root_run: tuple[dict[str, Any], str]) -> None:
    check = access_of(root_run[0], LIN_UNKNOWN)
    assert check["evidence"]["login"] == "not-tried"
    assert f"ssh-keyscan -t ssh-ed25519 {LIN_UNKNOWN}" in check["remediation"]
    assert not any(c.get("source_host") == LIN_UNKNOWN for c in root_run[0]["checks"])


def test_a_changed_host_key_fails_and_nothing_is_sent(access_lab: AccessLab, tmp_path: Path) -> None:
    impostor = (access_lab.workdir / "sshd-lin-unknown" / "host_ed25519.pub").read_text().split()
    known = tmp_path / "known_hosts"
    known.write_text(f"{LIN_OK} {impostor[0]} {impostor[1]}\n")  # LIN_OK's entry holds another machine's key
    proc = access_lab.run(
        *SERVERS, *agents(LIN_OK), "--user", SUDOER, "--known-hosts", str(known), "--format", "json", password=CANARY
    )
    check = access_of(json.loads(proc.stdout), LIN_OK)
    assert (check["verdict"], check["evidence"]["causes"], check["evidence"]["login"]) == (
        "fail",
        ["ssh-host-key-changed"],
        "not-tried",
    )
    assert f"ssh-keygen -R {LIN_OK}" in check["remediation"] and CANARY not in proc.stdout + proc.stderr


def test_agent_side_links_and_names_seen_through_ssh(root_run: tuple[dict[str, Any], str]) -> None:
    report, table = root_run
    checks = by_id(report)
    expected = {
        (LIN_OK, MS_NAME): ("open", "pass"),
        (LIN_OK, LS_NAME): ("closed", "pass"),  # nothing listens on the license server yet: a reset passes
        (LIN_NOEXEC, MS_NAME): ("open", "pass"),
        (LIN_FW, MS_NAME): ("filtered", "fail"),  # its firewall drops 9876 to the management server
        (LIN_FW, LS_NAME): ("closed", "pass"),
        (LIN_STALE, LS_NAME): ("closed", "pass"),
    }
    for (agent, server), (state, verdict) in expected.items():
        link = checks[f"tcp:agent@{agent}->{server}:9876"]
        assert (link["state"], link["verdict"]) == (state, verdict), link
        assert link["source"] == "agent" and link["source_host"] == agent
        assert link["evidence"]["via"] == "ssh" and link["evidence"]["tool"] == "bash /dev/tcp"
        assert f"agent@{agent} -> {server}:9876" in table
    stale = checks[f"name:{MS_NAME}@{LIN_STALE}"]
    assert stale["verdict"] == "fail" and "stale hosts entry" in stale["detail"]
    assert f"'{MS} {MS_NAME}'" in stale["remediation"]
    assert checks[f"tcp:agent@{LIN_STALE}->{MS_NAME}:9876"]["address"] == NOBODY  # probed where the agent would go
    assert checks[f"tcp:agent@{LIN_STALE}->{MS_NAME}:9876"]["verdict"] == "fail"
    assert checks[f"name:{MS_NAME}@{LIN_OK}"]["verdict"] == "pass"
    assert f"stale hosts entry on {LIN_STALE}" in table


@pytest.mark.parametrize(
    ("user", "password", "verdict", "causes"),
    [
        (PLAIN, PASSWORD, "fail", ["no-root-or-sudo"]),
        (SUDOER, CANARY, "pass", []),
        (PLAIN, "wrong-password", "fail", ["ssh-login-refused"]),
    ],
)
def test_users_and_passwords(access_lab: AccessLab, user: str, password: str, verdict: str, causes: list[str]) -> None:
    args = (*SERVERS, *agents(LIN_OK), "--user", user, "--known-hosts", str(access_lab.known_hosts))
    proc = access_lab.run(*args, "--format", "json", password=password)
    report = json.loads(proc.stdout)
    validate_report(report)
    check = access_of(report, LIN_OK)
    assert (check["verdict"], check["evidence"]["causes"]) == (verdict, causes), check
    table = render_table(parse_report(proc.stdout), width=1000, show_all=True)  # the same run, as the table
    for cause in causes:
        assert f"{cause}:" in table and f"[{cause}]" in table
    assert password not in proc.stdout + proc.stderr + table


def test_without_credentials_the_access_checks_skip_with_the_reason(access_lab: AccessLab) -> None:
    proc = access_lab.run(*SERVERS, *agents(LIN_OK), "--format", "json")
    check = access_of(json.loads(proc.stdout), LIN_OK)
    assert check["verdict"] == "skip" and "no credentials: give --user" in check["detail"]


def test_the_canary_password_appears_in_no_output(access_lab: AccessLab, tmp_path: Path) -> None:
    """A distinctive password through every format, --verbose, --redact, stderr, and error paths."""
    windows = ("--agent", f"{WIN_ADMIN}:windows")  # the canary also goes through NTLM (and is refused there)
    base = (*SERVERS, *agents(LIN_OK, LIN_UNKNOWN), *windows, "--known-hosts", str(access_lab.known_hosts))
    seen: list[str] = []
    for user, formats in ((SUDOER, ("table", "json", "markdown", "junit", "html")), (PLAIN, ("table",))):
        # the right password in every format, then the same password refused (an error path)
        for fmt in formats:
            proc = access_lab.run(*base, "--user", user, "--format", fmt, "--verbose", password=CANARY)
            assert proc.returncode in (0, 1), proc.stderr
            seen += [proc.stdout, proc.stderr]
    output = tmp_path / "redacted.json"
    proc = access_lab.run(*base, "--user", SUDOER, "--format", "json", "--output", str(output), "--redact", password=CANARY)
    seen += [proc.stdout, proc.stderr, output.read_text()]
    private = tmp_path / "pw-600"
    private.write_text(CANARY + "\n")
    os.chmod(private, 0o600)
    from_file = access_lab.run(*base, "--user", SUDOER, "--password-file", str(private), "--verbose")
    assert from_file.returncode in (0, 1), from_file.stderr
    seen += [from_file.stdout, from_file.stderr]
    readable = tmp_path / "pw"
    readable.write_text(CANARY + "\n")
    os.chmod(readable, 0o644)
    refused = access_lab.run(*base, "--user", SUDOER, "--password-file", str(readable))
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
    seen += [refused.stdout, refused.stderr]
    on_command_line = access_lab.run(*base, "--user", SUDOER, f"--password={CANARY}")
    assert on_command_line.returncode == 2
    seen += [on_command_line.stdout, on_command_line.stderr]
    assert all(CANARY not in text for text in seen)
    assert any(SUDOER in text for text in seen)  # the runs did log in and report (the grep is not vacuous)


@pytest.mark.parametrize(
    ("agent", "user", "password", "extra", "verdict", "causes", "steps"),
    [
        (WIN_ADMIN, ADMIN, WIN_PASSWORD, (), "pass", [], {"admin_share": "ok", "write": "ok", "scm": "ok"}),
        (WIN_ADMIN, ADMIN, WIN_PASSWORD, ("--no-write-test",), "pass", [], {"write": "skipped (--no-write-test)", "scm": "ok"}),
        (
            WIN_ADMIN,
            USER,
            WIN_PASSWORD,
            (),
            "fail",
            ["uac-remote-restrictions"],
            {"admin_share": "STATUS_ACCESS_DENIED", "scm": "0x00000005"},
        ),
        (WIN_ADMIN, f"LAB\\{USER}", WIN_PASSWORD, (), "fail", ["not-local-administrator"], {"login": "ok", "scm": "0x00000005"}),
        (WIN_ADMIN, USER, "wrong-password", (), "fail", ["bad-password-1326"], {"login": "STATUS_LOGON_FAILURE"}),
        (WIN_ADMIN, CHIEF, WIN_PASSWORD, (), "fail", ["uac-remote-restrictions"], {"login": "ok", "scm": "0x00000005"}),
        (
            WIN_NOADMIN,
            USER,
            WIN_PASSWORD,
            (),
            "fail",
            ["admin-share-missing-67", "not-local-administrator"],  # UAC is off there (EnableLUA = 0): not UAC
            {"admin_share": "STATUS_BAD_NETWORK_NAME", "scm": "0x00000005"},
        ),
        (WIN_NOADMIN, ADMIN, WIN_PASSWORD, (), "fail", ["admin-share-missing-67"], {"admin_share": "STATUS_BAD_NETWORK_NAME"}),
        (WIN_GUEST, ADMIN, WIN_PASSWORD, (), "fail", ["guest-only-forceguest"], {"login": "ok"}),
        (WIN_SMB1, ADMIN, WIN_PASSWORD, (), "fail", ["smb1-only"], {"login": "ok", "admin_share": "ok"}),
    ],
)
def test_windows_agents_through_smb(  # noqa: PLR0917 - one parameter per table column
    access_lab: AccessLab,
    agent: str,
    user: str,
    password: str,
    extra: tuple[str, ...],
    verdict: str,
    causes: list[str],
    steps: dict[str, str],
) -> None:
    args = ("--from", "management-server", "--method", "connect", "--agent", f"{agent}:windows", "--user", user, *extra)
    proc = access_lab.run(*args, "--format", "json", password=password)
    report = json.loads(proc.stdout)
    validate_report(report)
    check = by_id(report)[f"access:management-server->{agent}:445"]
    assert (check["verdict"], check["evidence"]["causes"]) == (verdict, causes), check
    assert check["evidence"]["via"] == "smb"
    assert steps.items() <= check["evidence"]["steps"].items(), check["evidence"]["steps"]
    assert proc.returncode == (0 if verdict == "pass" else 1), proc.stderr
    table = render_table(parse_report(proc.stdout), width=1000, show_all=True)  # the same run, as the table
    for cause in causes:
        assert f"{cause}:" in table and f"[{cause}]" in table
    if verdict == "pass":
        assert f"run netcheck check --from agent on {agent}" in check["detail"]
    if causes == ["uac-remote-restrictions"]:
        assert "LocalAccountTokenFilterPolicy /t REG_DWORD /d 1 /f" in check["remediation"]
    assert password not in proc.stdout + proc.stderr + table


def test_the_write_test_leaves_nothing_in_admin_share(access_lab: AccessLab) -> None:
    args = ("--from", "management-server", "--method", "connect", "--agent", f"{WIN_ADMIN}:windows", "--user", ADMIN)
    report = json.loads(access_lab.run(*args, "--format", "json", password=WIN_PASSWORD).stdout)
    written = by_id(report)[f"access:management-server->{WIN_ADMIN}:445"]["evidence"]["write_file"]
    assert written.startswith("ADMIN$\\netcheck-")
    assert list((access_lab.workdir / "admin-win-admin").iterdir()) == []


@pytest.mark.parametrize(
    ("agent", "user", "registry"),
    [
        (WIN_ADMIN, USER, {"LocalAccountTokenFilterPolicy": 0, "EnableLUA": 1, "ForceGuest": 0}),
        (WIN_NOADMIN, USER, {"LocalAccountTokenFilterPolicy": 0, "EnableLUA": 0, "ForceGuest": 0}),
    ],
)
def test_remote_registry_values_are_read_and_shape_the_verdict(
    access_lab: AccessLab, agent: str, user: str, registry: dict[str, int]
) -> None:
    """smbd serves \\PIPE\\winreg (rpcd_winreg); the values were set with `net registry` and are read back over SMB."""
    args = ("--from", "management-server", "--method", "connect", "--agent", f"{agent}:windows", "--user", user)
    proc = access_lab.run(*args, "--format", "json", password=WIN_PASSWORD)
    report = json.loads(proc.stdout)
    validate_report(report)
    check = by_id(report)[f"access:management-server->{agent}:445"]
    assert registry.items() <= check["evidence"]["registry"].items()  # the values more causes read are there too
    table = render_table(parse_report(proc.stdout), width=1000, show_all=True)
    if registry["EnableLUA"] == 0:
        assert "UAC is off there: EnableLUA = 0" in check["detail"] and "[not-local-administrator]" in table
    else:
        assert "LocalAccountTokenFilterPolicy = 0, read from its registry" in check["detail"]
        assert "[uac-remote-restrictions]" in table


def test_the_account_and_the_machine_as_the_agents_lsa_says(access_lab: AccessLab) -> None:
    """A renamed built-in Administrator is known by its RID (500), a stand-alone server is in no domain."""
    args = ("--from", "management-server", "--method", "connect", "--agent", f"{WIN_ADMIN}:windows")
    for user, kind, rid in ((CHIEF, "builtin-administrator", 500), (ADMIN, "local", None)):
        proc = access_lab.run(*args, "--user", user, "--format", "json", password=WIN_PASSWORD)
        report = json.loads(proc.stdout)
        validate_report(report)
        evidence = by_id(report)[f"access:management-server->{WIN_ADMIN}:445"]["evidence"]
        assert (evidence["account_kind"], evidence["account_source"]) == (kind, "lsa"), evidence
        assert rid is None or evidence["account_rid"] == rid
        assert evidence["account_rid"] != 500 or user == CHIEF
        assert (evidence["in_domain"], evidence["domain_role"], evidence["auth"]) == (False, "standalone", "ntlm")
        assert (
            evidence["kerberos"] == {"outcome": "not-tried", "reason": "local-account"}
            or evidence["kerberos"]["reason"] == "no-ticket-cache"
        )
