"""Access checks without a network: credentials, the verdicts for every named cause, the agent-side links."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path
from typing import Any

import pytest

from netcheck import cli
from netcheck.classify.access import Server, agent_side_results, classify_smb, classify_ssh
from netcheck.model.checks import Check, Report, Result, Target, Vantage
from netcheck.model.kinds import AgentOS, Kind, Phase, Role, State, Verdict
from netcheck.model.matrix import PortKey
from netcheck.model.observations import (
    CommandOutput,
    NameOnAgent,
    SmbObservation,
    SshObservation,
    Step,
    TcpFromAgent,
    parse_df,
    parse_mounts,
)
from netcheck.observe.access import ssh as access_ssh
from netcheck.observe.access.credentials import (
    AccountForm,
    CredentialError,
    CredentialInput,
    Credentials,
    Secret,
    gather_credentials,
    parse_plan_credentials,
    parse_user,
)
from netcheck.observe.access.smb import account_kind, observe_smb
from netcheck.observe.access.ssh import observe_ssh
from netcheck.observe.access.stage import scrubbed
from netcheck.plan.planner import access_checks, plan_checks
from netcheck.plan.topology import parse_plan
from netcheck.report.json import evidence_to_dict, render_json, report_from_dict, report_to_dict
from netcheck.report.redact import redact
from netcheck.report.table import render_table
from tests.cli_runner import CliRunner
from tests.schema import validate_report
from tests.unit.test_access_evidence import (
    DENIED,
    DF,
    LIN,
    LS,
    MOUNTS,
    MS,
    OK,
    SCM_DENIED,
    SMB_CHECK,
    SSH_CHECK,
    ssh,
)

CANARY = "Canary-unit-5Tq8"
CHECK = SSH_CHECK


def flat(result: Result) -> dict[str, Any]:
    """A result's evidence as the JSON report writes it."""
    return evidence_to_dict(result.evidence)


def observation(**changes: Any) -> SshObservation:
    """test_access_evidence's SSH observation of a ready agent, without the visit's time."""
    return ssh(**{"elapsed_ms": 0.0, **changes})


# --- credentials ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name", "domain", "form"),
    [
        ("CORP\\admin", "admin", "CORP", AccountForm.DOMAIN),
        ("admin@corp.example", "admin", "corp.example", AccountForm.UPN),
        ("root", "root", "", AccountForm.PLAIN),
        (".\\Administrator", "Administrator", ".", AccountForm.DOMAIN),
    ],
)
def test_user_names_in_every_form(text: str, name: str, domain: str, form: AccountForm) -> None:
    if domain == ".":
        with pytest.raises(CredentialError):
            parse_user(text)
        return
    account = parse_user(text)
    assert (account.name, account.domain, account.form, account.text) == (name, domain, form, text)


@pytest.mark.parametrize("text", ["", "a b", "CORP\\", "@corp", "x@", "a:b", "CORP\\a\\b"])
def test_malformed_user_names_are_refused_by_name(text: str) -> None:
    with pytest.raises(CredentialError, match="is not a user name"):
        parse_user(text)


def test_a_secret_never_shows_its_value() -> None:
    secret = Secret(CANARY)
    shown = [repr(secret), str(secret), f"{secret}", f"{secret!r}", repr([secret]), repr(Credentials(password=secret))]
    assert all(CANARY not in text for text in shown)
    assert secret.reveal() == CANARY
    with pytest.raises(TypeError):
        pickle.dumps(secret)


def test_password_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "pw"
    path.write_text(CANARY + "\n")
    os.chmod(path, 0o644)
    result = CliRunner().invoke(
        cli.main, ["check", "--agent", "198.18.0.41:linux", "--user", "root", "--password-file", str(path)]
    )
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "can be read by group or others" in lines[0] and "chmod 600" in lines[0]
    assert CANARY not in result.output


def test_password_sources_in_order(tmp_path: Path) -> None:
    path = tmp_path / "pw"
    path.write_text("from-file\nsecond line ignored\n")
    os.chmod(path, 0o600)
    asked: list[str] = []

    def prompt(text: str) -> str:
        asked.append(text)
        return "typed"

    def gather(given: CredentialInput, env: dict[str, str], tty: bool) -> Credentials | None:
        return gather_credentials(given, environ=env, stdin_is_tty=tty, prompt=prompt)

    from_file = gather(CredentialInput(user="root", password_file=path), {"NETCHECK_PASSWORD": "env"}, True)
    assert from_file and from_file.password == Secret("from-file") and from_file.password_source == "--password-file"  # noqa: S105
    from_env = gather(CredentialInput(user="root"), {"NETCHECK_PASSWORD": "env"}, True)
    assert from_env and from_env.password == Secret("env")
    prompted = gather(CredentialInput(user="CORP\\admin"), {}, True)
    assert prompted and prompted.password == Secret("typed") and asked == ["Password for CORP\\admin: "]
    no_tty = gather(CredentialInput(user="root"), {}, False)
    assert no_tty and no_tty.password is None and len(asked) == 1  # never a prompt without a terminal
    assert no_tty.can_log_in(AgentOS.LINUX).startswith("no password or SSH key")
    assert gather(CredentialInput(), {"NETCHECK_PASSWORD": "env"}, True) is None  # no user: the checks skip


def test_per_os_users_from_the_plan_file(tmp_path: Path) -> None:
    import asyncssh  # noqa: PLC0415 - a key is loaded before the run: it must be one

    key = tmp_path / "id"
    asyncssh.generate_private_key("ssh-ed25519").write_private_key(str(key))
    plan = parse_plan(
        f'agents = ["w1:windows"]\n[credentials]\nwindows_user = "CORP\\\\admin"\nlinux_user = "root"\nssh_key = "{key}"\n',
        filename="site.toml",
    )
    creds = gather_credentials(CredentialInput(plan=plan.credentials), environ={}, stdin_is_tty=False, prompt=lambda _t: "")
    assert creds is not None
    assert creds.windows and creds.windows.text == "CORP\\admin"
    assert creds.linux and creds.linux.text == "root"
    assert creds.ssh_keys == (key,) and creds.can_log_in(AgentOS.LINUX) == ""
    assert creds.can_log_in(AgentOS.WINDOWS).startswith("no password")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"password": "x"}, "a password does not belong in a plan file"),
        ({"usr": "x"}, "unknown key 'usr'"),
        ({"user": 3}, "must be a non-empty string"),
    ],
)
def test_plan_credentials_refuse_passwords_and_typos(table: dict[str, Any], message: str) -> None:
    with pytest.raises(CredentialError, match=message):
        parse_plan_credentials(table, filename="site.toml")


def test_user_without_the_extra_says_exactly_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(access_ssh, "available", lambda: False)
    result = CliRunner().invoke(cli.main, ["check", "--agent", "198.18.0.41:linux", "--user", "root"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "netcheck: error: --user needs the install-check extra: install netcheck with its extra from a checkout: "
        "pip install '.[install-check]' (README, Set up)"
    ]


@pytest.mark.parametrize(
    ("args", "plan", "message"),
    [
        (["--user", "root", "--password-file", "/nonexistent/pw"], "", "--password-file '/nonexistent/pw' not found"),
        (["--user", "root", "--ssh-key", "/nonexistent/id"], "", "--ssh-key '/nonexistent/id' not found"),
        (["--user", "root", "--known-hosts", "/nonexistent/kh"], "", "--known-hosts '/nonexistent/kh' not found"),
        (["--user", "a b"], "", "--user 'a b' is not a user name"),
        ([], '[credentials]\npassword = "x"\n', "a password does not belong in a plan file"),
    ],
)
def test_bad_credential_input_exits_2_with_one_line(tmp_path: Path, args: list[str], plan: str, message: str) -> None:
    extra = []
    if plan:
        (tmp_path / "site.toml").write_text(plan)
        extra = ["--plan", str(tmp_path / "site.toml")]
    result = CliRunner().invoke(cli.main, ["check", "--agent", "198.18.0.41:linux", *args, *extra], env={"NETCHECK_PASSWORD": ""})
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1 and message in result.output


def test_no_password_option_exists() -> None:
    result = CliRunner().invoke(cli.main, ["check", "--agent", "a1", f"--password={CANARY}"])
    assert result.exit_code == 2 and CANARY not in result.output


# --- plan -------------------------------------------------------------------------------------------------


def test_one_access_check_per_agent_service_link() -> None:
    checks = plan_checks_for_agents()
    access = [c for c in checks if c.kind is Kind.ACCESS]
    assert [(c.id, c.port) for c in access] == [
        ("access:console->w1:445", 445),
        ("access:console->l1:22", 22),
    ]
    assert access_checks([c for c in checks if c.kind is not Kind.ACCESS]) == access
    assert [c.port_key for c in access] == [PortKey.SMB, PortKey.SSH]  # the runner finds each one's link by it


def plan_checks_for_agents() -> list[Check]:
    from netcheck.model.checks import Topology  # noqa: PLC0415

    return plan_checks(
        Topology(agents=(Target("w1", Role.AGENT, AgentOS.WINDOWS), Target("l1", Role.AGENT, AgentOS.LINUX))), Role.CONSOLE
    )


# --- Linux verdicts ---------------------------------------------------------------------------------------


def test_parsers_of_mounts_and_df() -> None:
    assert parse_mounts(MOUNTS) == ("/tmp", ("rw", "nosuid", "noexec"))
    assert parse_mounts(MOUNTS, "/var/tmp") == ("/", ("rw", "relatime"))
    assert parse_df(DF) == {"/": 9000000, "/tmp": 3000000}


def test_everything_in_place_passes_with_the_fingerprint() -> None:
    result = classify_ssh(CHECK, observation())
    assert result.verdict is Verdict.PASS
    assert "SHA256:abc" in result.detail and flat(result)["causes"] == [] and flat(result)["via"] == "ssh"


@pytest.mark.parametrize(
    ("changes", "cause", "in_fix"),
    [
        (
            {"host_key": "unknown", "login": ""},
            "ssh-host-key-unknown",
            "ssh-keyscan -t ssh-ed25519 198.18.0.41 >> /root/.ssh/known_hosts",
        ),
        ({"host_key": "changed", "login": ""}, "ssh-host-key-changed", "ssh-keygen -R 198.18.0.41"),
        ({"login": "refused", "error": "Permission denied"}, "ssh-login-refused", "PermitRootLogin"),
        ({"login": "timeout", "error": "no answer"}, "ssh-timeout", "sshd"),
        (
            {"uid": 1000, "user": "bob", "sudo": CommandOutput(1, "", "sudo: a password is required\n")},
            "no-root-or-sudo",
            "NOPASSWD: ALL' with visudo",
        ),
        ({"tmp": CommandOutput(0, "writable=no\n", "")}, "tmp-not-writable", "chmod 1777 /tmp"),
        ({"tmp": CommandOutput(0, "writable=yes\nexec=no\n", ""), "mounts": MOUNTS}, "tmp-noexec", "mount -o remount,exec /tmp"),
        ({"df": DF.replace("9000000", "300000")}, "low-disk-space", "Free at least 1 GiB on /"),
        ({"packages": ()}, "no-package-manager", "install rpm"),
    ],
)
def test_each_named_cause_fails_with_its_fix(changes: dict[str, Any], cause: str, in_fix: str) -> None:
    result = classify_ssh(CHECK, observation(**changes))
    assert result.verdict is Verdict.FAIL
    assert flat(result)["causes"] == [cause]
    assert result.detail.startswith(f"{cause}:")
    assert in_fix in result.remediation


def test_passwordless_sudo_is_enough() -> None:
    result = classify_ssh(CHECK, observation(uid=1000, user="bob", sudo=CommandOutput(0, "", "")))
    assert result.verdict is Verdict.PASS and "passwordless sudo" in result.detail


# --- the agent's half -------------------------------------------------------------------------------------


def agent_side(
    names: tuple[NameOnAgent, ...], probes: tuple[TcpFromAgent, ...], here: tuple[str, ...] = ("198.18.0.20",)
) -> list[Any]:
    obs = observation(names=names, probes=probes)
    servers = [Server(MS, 9876, "Registration on the management server", here), Server(LS, 9876, "Acquiring a license", ())]
    return agent_side_results(LIN, obs, servers, phase=Phase.PRE_INSTALL)


def test_agent_side_links_are_ordinary_results_from_the_agent() -> None:
    names = (
        NameOnAgent(MS.name, ("198.18.0.20",), (), ("198.18.0.20",)),
        NameOnAgent(LS.name, ("198.18.0.25",), (), ("198.18.0.25",)),
    )
    probes = (
        TcpFromAgent("198.18.0.20", 9876, "refused", "Connection refused", "bash /dev/tcp", 5.0),
        TcpFromAgent("198.18.0.25", 9876, "timeout", "", "bash /dev/tcp", 3000.0),
    )
    results = agent_side(names, probes)
    assert [(r.check.id, r.verdict) for r in results] == [
        ("name:ms.corp.example@lin1.corp.example", Verdict.PASS),
        ("tcp:agent@lin1.corp.example->ms.corp.example:9876", Verdict.PASS),  # a reset before installation passes
        ("name:ls.corp.example@lin1.corp.example", Verdict.PASS),
        ("tcp:agent@lin1.corp.example->ls.corp.example:9876", Verdict.FAIL),  # silence fails
    ]
    for r in results:
        assert (
            r.source_host == "lin1.corp.example" and r.check.source is Role.AGENT and evidence_to_dict(r.evidence)["via"] == "ssh"
        )
    assert results[1].evidence.tool == "bash /dev/tcp"
    assert "from lin1.corp.example to ls.corp.example" in results[3].remediation


def test_stale_hosts_entry_on_the_agent_fails_with_the_line_to_write() -> None:
    names = (NameOnAgent(MS.name, ("198.18.0.99",), ("198.18.0.99",), ("198.18.0.20",)),)
    results = agent_side(names, (TcpFromAgent("198.18.0.99", 9876, "unreachable", "No route to host", "python3", 1.0),))
    assert results[0].verdict is Verdict.FAIL and "stale hosts entry" in results[0].detail
    assert "'198.18.0.20 ms.corp.example'" in results[0].remediation
    assert results[1].address == "198.18.0.99" and results[1].verdict is Verdict.FAIL  # probed where the agent would go


def test_reports_with_access_results_validate_and_redact_user_names() -> None:
    names = (NameOnAgent(MS.name, ("198.18.0.20",), (), ("198.18.0.20",)),)
    probes = (TcpFromAgent("198.18.0.20", 9876, "connected", "", "bash /dev/tcp", 5.0),)
    results = (
        classify_ssh(CHECK, observation(user="CORP\\deployer", uid=1000, sudo=CommandOutput(1, "", "no"))),
        *agent_side(names, probes),
    )
    report = Report(
        "0.1.0",
        "2026-11-25T16:00:00+00:00",
        1.0,
        Vantage("console1", Role.CONSOLE, "Linux"),
        Phase.PRE_INSTALL,
        "connect",
        results,
    )
    data = json.loads(render_json(report))
    validate_report(data)
    assert report_from_dict(data).results[0].evidence["causes"] == ["no-root-or-sudo"]
    hidden = redact(report)
    text = render_json(hidden) + render_table(hidden, verbose=True)
    assert "deployer" not in text and "lin1.corp.example" not in text
    validate_report(report_to_dict(hidden))


# --- Windows verdicts (every branch; the lab's Samba servers and AD DC produce the registry values for real) -------

WIN_CHECK = SMB_CHECK


def smb(**changes: Any) -> SmbObservation:
    base: dict[str, Any] = {
        "address": "198.18.0.31",
        "user": "admin",
        "account_kind": "local",
        "login": OK,
        "server_name": "WIN1",
        "server_domain": "CORP",
        "ipc": OK,
        "admin_share": OK,
        "write": OK,
        "write_file": "netcheck-0123.tmp",
        "scm": OK,
        "registry": {"LocalAccountTokenFilterPolicy": 1, "EnableLUA": 1, "ForceGuest": 0},
    }
    return SmbObservation(**{**base, **changes})


def test_windows_agent_ready_for_installation() -> None:
    result = classify_smb(WIN_CHECK, smb())
    assert result.verdict is Verdict.PASS and flat(result)["in_domain"] is True
    assert "member of CORP" in result.detail and "--from agent on win1.corp.example" in result.detail
    assert flat(result)["registry"]["LocalAccountTokenFilterPolicy"] == 1


@pytest.mark.parametrize(
    ("changes", "cause", "in_fix"),
    [
        ({"login": Step(False, 0xC000006D, "")}, "bad-password-1326", "Check the user name and password"),
        ({"login": Step(False, 0xC0000234, "")}, "account-locked-1909", "unlock"),
        ({"login": Step(False, None, "OSError: timed out")}, "smb-login-error", "LanmanServer"),
        ({"guest": True, "registry": {"ForceGuest": 1}}, "guest-only-forceguest", "/v ForceGuest /t REG_DWORD /d 0 /f"),
        ({"guest": True, "registry": {}}, "guest-only-forceguest", "/v ForceGuest /t REG_DWORD /d 0 /f"),
        ({"guest": True}, "guest-login", "net user Guest /active:no"),  # ForceGuest = 0 read: the account is unknown there
        ({"admin_share": Step(False, 0xC00000CC, ""), "write": None}, "admin-share-missing-67", "AutoShareWks"),
        (
            {"admin_share": DENIED, "write": None, "scm": SCM_DENIED, "registry": {"LocalAccountTokenFilterPolicy": 0}},
            "uac-remote-restrictions",
            "/v LocalAccountTokenFilterPolicy /t REG_DWORD /d 1 /f",
        ),
        ({"scm": SCM_DENIED, "registry": {}}, "uac-remote-restrictions", "a domain account"),
        ({"scm": SCM_DENIED}, "not-local-administrator", "net localgroup Administrators admin /add"),  # LATFP = 1: not UAC
        ({"scm": SCM_DENIED, "account_kind": "domain", "registry": {}}, "not-local-administrator", "net localgroup"),
        (  # UAC off (EnableLUA = 0 read from the agent): a denial is no UAC filtering
            {"scm": SCM_DENIED, "registry": {"LocalAccountTokenFilterPolicy": 0, "EnableLUA": 0}},
            "not-local-administrator",
            "net localgroup",
        ),
        ({"write": Step(False, 0xC0000022, "denied")}, "admin-share-not-writable", "write access"),
    ],
)
def test_each_windows_cause_with_its_fix(changes: dict[str, Any], cause: str, in_fix: str) -> None:
    result = classify_smb(WIN_CHECK, smb(**changes))
    assert result.verdict is Verdict.FAIL
    assert flat(result)["causes"] == [cause] and flat(result)["via"] == "smb"
    assert in_fix in result.remediation


@pytest.mark.parametrize(
    ("text", "server", "kind"),
    [("CORP\\admin", "WIN1", "domain"), ("admin@corp.example", "WIN1", "domain"), ("admin", "WIN1", "local"),
     ("WIN1\\admin", "WIN1", "local"), ("Administrator", "WIN1", "builtin-administrator")],
)  # fmt: skip
def test_account_kinds(text: str, server: str, kind: str) -> None:
    assert account_kind(parse_user(text), server) == kind


# --- a hanging server cannot stall the run ----------------------------------------------------------------


def _silent_server() -> tuple[Any, int]:
    import socket  # noqa: PLC0415

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    return listener, listener.getsockname()[1]


def test_a_silent_ssh_server_is_a_timeout_not_a_hang(tmp_path: Path) -> None:
    import asyncio  # noqa: PLC0415
    import time  # noqa: PLC0415

    listener, port = _silent_server()  # accepts (the kernel's backlog), never sends a banner
    known = tmp_path / "known_hosts"
    known.write_text("")
    creds = Credentials(linux=parse_user("root"), password=Secret(CANARY), known_hosts=known)
    started = time.monotonic()
    try:
        obs = asyncio.run(
            observe_ssh("127.0.0.1", "127.0.0.1", port, account=parse_user("root"), credentials=creds, targets=(), timeout_s=0.5)
        )
    finally:
        listener.close()
    assert obs.login == "timeout" and time.monotonic() - started < 15
    assert flat(classify_ssh(CHECK, obs))["causes"] == ["ssh-timeout"]


def test_a_silent_smb_server_is_a_failed_login_not_a_hang() -> None:
    import time  # noqa: PLC0415

    listener, port = _silent_server()
    creds = Credentials(windows=parse_user("admin"), password=Secret(CANARY))
    started = time.monotonic()
    try:
        obs = observe_smb("127.0.0.1", parse_user("admin"), creds, 0.5, port)
    finally:
        listener.close()
    assert obs.login is not None and not obs.login.ok and time.monotonic() - started < 15
    result = classify_smb(WIN_CHECK, obs)
    assert flat(result)["causes"] == ["smb-login-error"] and CANARY not in json.dumps(flat(result)) + result.detail


# --- the access stage in the runner, with fake probes ------------------------------------------------------


def run_with(ssh: Any, smb_observer: Any, credentials: Credentials | None, open_ports: tuple[int, ...] = (22, 445)) -> list[Any]:
    import asyncio  # noqa: PLC0415

    from netcheck.model.checks import Topology  # noqa: PLC0415
    from netcheck.model.kinds import Method  # noqa: PLC0415
    from netcheck.model.observations import Observation, Reply, TcpReply  # noqa: PLC0415
    from netcheck.observe.runner import RunOptions, run_checks  # noqa: PLC0415
    from tests.unit.test_runner import fake_probes  # noqa: PLC0415

    async def connect(address: str, port: int, **_: Any) -> Observation:
        state = State.OPEN if port in open_ports else State.CLOSED
        return Observation(state, address, TcpReply("connect", Reply.CONNECTED if state is State.OPEN else Reply.RST))

    topology = Topology(
        management_server=Target("ms.example", Role.MANAGEMENT_SERVER),
        agents=(Target("198.18.0.41", Role.AGENT, AgentOS.LINUX), Target("198.18.0.31", Role.AGENT, AgentOS.WINDOWS)),
    )
    checks = plan_checks(topology, Role.MANAGEMENT_SERVER)
    options = RunOptions(method=Method.CONNECT, credentials=credentials, servers=((topology.management_server, 9876),))  # type: ignore[arg-type]
    probes = fake_probes(connect, ssh=ssh, smb=smb_observer)
    return asyncio.run(run_checks(checks, options, probes=probes, on_progress=lambda _d, _t: None))


CREDS = Credentials(windows=parse_user("admin"), linux=parse_user("root"), password=Secret(CANARY))


async def fake_ssh(name: str, address: str, port: int, **kwargs: Any) -> SshObservation:
    assert kwargs["targets"][0].name == "ms.example" and kwargs["credentials"] is CREDS
    names = (NameOnAgent("ms.example", ("198.18.0.20",), (), ("198.18.0.20",)),)
    return observation(
        address=address, names=names, probes=(TcpFromAgent("198.18.0.20", 9876, "connected", "", "bash /dev/tcp", 2.0),)
    )


def fake_smb(address: str, account: Any, credentials: Credentials, timeout_s: float, port: int, *, name: str) -> SmbObservation:
    return smb(address=address, scm=SCM_DENIED, registry={})


def test_the_access_stage_adds_agent_side_results() -> None:
    results = run_with(fake_ssh, fake_smb, CREDS)
    by = {r.check.id: r for r in results}
    assert by["access:management-server->198.18.0.41:22"].verdict is Verdict.PASS
    assert flat(by["access:management-server->198.18.0.31:445"])["causes"] == ["uac-remote-restrictions"]
    side = by["tcp:agent@198.18.0.41->ms.example:9876"]
    assert side.source_host == "198.18.0.41" and side.verdict is Verdict.PASS and side.state is State.OPEN
    # an open link seen on the agent is not identified from here (this machine may not even reach it)
    assert side.evidence.service is None and not any(r.check.kind is Kind.SERVICE and r.source_host for r in results)
    assert not any(r.check.kind is Kind.SERVICE and r.check.target.name == "ms.example" for r in results)
    assert evidence_to_dict(side.evidence)["via"] == "ssh" and "service" not in evidence_to_dict(side.evidence)
    assert "name:ms.example@198.18.0.41" in by


def test_access_checks_skip_without_credentials_or_open_link() -> None:
    results = {r.check.id: r for r in run_with(fake_ssh, fake_smb, None)}
    assert "no credentials: give --user" in results["access:management-server->198.18.0.41:22"].detail
    closed = {r.check.id: r for r in run_with(fake_ssh, fake_smb, CREDS, open_ports=(445,))}
    skipped = closed["access:management-server->198.18.0.41:22"]
    assert skipped.verdict is Verdict.SKIP and "TCP 22 to 198.18.0.41 is closed" in skipped.detail
    assert not any(r.source_host for r in closed.values())  # no visit: no agent-side results


def test_a_broken_or_stuck_observer_is_that_agent_s_result_only(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio  # noqa: PLC0415

    from netcheck.observe.access import stage  # noqa: PLC0415

    async def stuck(*_a: Any, **_k: Any) -> SshObservation:
        await asyncio.sleep(60)
        raise AssertionError("not reached")

    def leaky(*_a: Any, **_k: Any) -> SmbObservation:
        raise RuntimeError(f"library bug showing {CANARY}")

    monkeypatch.setattr(stage, "VISIT_BUDGET_S", 0.2)
    results = {r.check.id: r for r in run_with(stuck, leaky, CREDS)}
    linux, windows = results["access:management-server->198.18.0.41:22"], results["access:management-server->198.18.0.31:445"]
    assert linux.verdict is Verdict.FAIL and flat(linux)["causes"] == ["ssh-timeout"]
    assert windows.verdict is Verdict.ERROR and CANARY not in windows.detail and "********" in windows.detail


# --- golden files: a real lab report with access checks, in every format -----------------------------------


@pytest.mark.parametrize("name", ["table.txt", "report.json", "report.md", "junit.xml", "report.html"])
def test_access_report_in_every_format(name: str) -> None:
    from netcheck.report.json import parse_report  # noqa: PLC0415
    from tests.unit.test_formats import FIXTURES, FORMATS, golden  # noqa: PLC0415

    text = (FIXTURES / "report_access.json").read_text()
    validate_report(json.loads(text))
    assert report_to_dict(report_from_dict(json.loads(text))) == json.loads(text)
    golden(f"access.{name}", FORMATS[name](parse_report(text)))


def test_what_the_other_side_says_is_scrubbed_of_the_password() -> None:
    """An SSH server's disconnect reason or an SMB library's message may quote the password it was sent."""
    creds = Credentials(linux=parse_user("root"), password=Secret(CANARY))
    said = f"login refused for root with {CANARY}"
    ssh = observation(login="refused", error=said, sudo=CommandOutput(1, said, said))
    smb = SmbObservation("198.18.0.31", "admin", "local", login=Step(False, 0xC000006D, said))
    for seen in (scrubbed(ssh, creds), scrubbed(smb, creds)):
        assert CANARY not in repr(seen) and "********" in repr(seen)
    assert scrubbed(ssh, Credentials(linux=parse_user("root"))) == ssh  # no password: nothing to cut
