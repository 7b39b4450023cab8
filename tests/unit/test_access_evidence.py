"""Access results carry typed evidence until the report: the JSON, the verbose table and the redacted JSON of
live access results are pinned by golden files written from the flattening the classifiers used to do
themselves, so moving it into report/json.py changed no byte."""

from __future__ import annotations

import json
from typing import Any

import pytest

from netcheck.access.smb import SmbObservation, Step
from netcheck.access.ssh import CommandOutput, NameOnAgent, SshObservation, TcpFromAgent
from netcheck.access.stage import _timed_out
from netcheck.classify.access import Server, agent_side_results, classify_smb, classify_ssh
from netcheck.matrix import PortKey
from netcheck.model import AgentOS, Check, Kind, Phase, Report, Result, Role, Target, Vantage, check_id
from netcheck.plan import SMB_PURPOSE, SSH_PURPOSE
from netcheck.report.json import render_json
from netcheck.report.redact import redact
from netcheck.report.table import render_table
from tests.schema import validate_report
from tests.unit.test_formats import golden

LIN = Target("lin1.corp.example", Role.AGENT, AgentOS.LINUX)
WIN = Target("win1.corp.example", Role.AGENT, AgentOS.WINDOWS)
MS = Target("ms.corp.example", Role.MANAGEMENT_SERVER)
LS = Target("ls.corp.example", Role.LICENSE_SERVER)
SSH_CHECK = Check(check_id(Kind.ACCESS, Role.CONSOLE, LIN.name, 22), Kind.ACCESS, Role.CONSOLE, LIN, 22, SSH_PURPOSE, True,
                  port_key=PortKey.SSH)  # fmt: skip
SMB_CHECK = Check(check_id(Kind.ACCESS, Role.CONSOLE, WIN.name, 445), Kind.ACCESS, Role.CONSOLE, WIN, 445, SMB_PURPOSE, True,
                  port_key=PortKey.SMB)  # fmt: skip
MOUNTS = "sysfs /sys sysfs rw 0 0\n/dev/sda1 / ext4 rw,relatime 0 0\ntmpfs /tmp tmpfs rw,nosuid,noexec 0 0\n"
DF = (
    "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/sda1 20000000 1000 9000000 1% /\n"
    "tmpfs 1000 10 3000000 1% /tmp\n"
)
GOOD_TMP = CommandOutput(0, "writable=yes\nexec=yes\n", "")
NAMES = (
    NameOnAgent(MS.name, ("198.18.0.99",), ("198.18.0.99",), ("198.18.0.20",)),
    NameOnAgent(LS.name, ("198.18.0.25",), (), ("198.18.0.25",)),
)
PROBES = (
    TcpFromAgent("198.18.0.99", 9876, "unreachable", "No route to host", "python3", 1.0),
    TcpFromAgent("198.18.0.25", 9876, "connected", "", "bash /dev/tcp", 5.0),
)
OK = Step(True)
DENIED = Step(False, 0xC0000022, "SessionError: STATUS_ACCESS_DENIED")
SCM_DENIED = Step(False, 5, "DCERPCException: rpc_s_access_denied")


def ssh(**changes: Any) -> SshObservation:
    base: dict[str, Any] = {
        "address": "198.18.0.41",
        "port": 22,
        "user": "root",
        "fingerprint": "SHA256:abc",
        "key_type": "ssh-ed25519",
        "host_key": "known",
        "known_hosts": "/root/.ssh/known_hosts",
        "login": "ok",
        "auth": "publickey",
        "uid": 0,
        "tmp": GOOD_TMP,
        "mounts": MOUNTS.replace("nosuid,noexec", "nosuid"),
        "df": DF,
        "packages": ("dpkg",),
        "elapsed_ms": 812.5,
    }
    return SshObservation(**{**base, **changes})


def smb(**changes: Any) -> SmbObservation:
    base: dict[str, Any] = {
        "address": "198.18.0.31",
        "user": "CORP\\deployer",
        "account_kind": "domain",
        "login": OK,
        "dialect": "0x0311",
        "server_name": "WIN1",
        "server_domain": "CORP",
        "server_dns_domain": "corp.example",
        "ipc": OK,
        "admin_share": OK,
        "write": OK,
        "write_file": "netcheck-0123456789ab.tmp",
        "scm": OK,
        "registry": {"LocalAccountTokenFilterPolicy": 1, "EnableLUA": 1, "ForceGuest": 0},
        "elapsed_ms": 95.25,
    }
    return SmbObservation(**{**base, **changes})


SSH_CASES: list[dict[str, Any]] = [
    {},
    {"uid": 1000, "user": "CORP\\bob", "auth": "password", "sudo": CommandOutput(0, "", "")},
    {"host_key": "unknown", "login": "", "port": 2222, "tmp": None, "df": None, "mounts": None, "packages": None},
    {"host_key": "changed", "login": "", "uid": None, "tmp": None},
    {"host_key": "known", "login": "refused", "error": "Permission denied", "uid": None, "tmp": None},
    {"host_key": "", "login": "timeout", "error": "no answer within 10 s", "uid": None, "tmp": None},
    {"uid": 1000, "user": "bob@corp.example", "sudo": CommandOutput(1, "", "sudo: a password is required\n")},
    {"uid": 1000, "user": "bob", "sudo": CommandOutput(1, "", "sudo: sorry, you must have a tty to run sudo\n")},
    {"tmp": CommandOutput(0, "writable=no\n", "")},
    {"tmp": CommandOutput(0, "writable=yes\nexec=no\n", ""), "mounts": MOUNTS},
    {"df": DF.replace("9000000", "300000")},
    {"df": DF.replace("9000000", "1500000")},
    {"packages": ()},
    {"packages": ("rpm", "dpkg"), "mounts": None, "df": ""},
    {"error": "a command did not finish in time", "uid": None, "tmp": None},
    {"uid": None},
    {"uid": 1000, "sudo": None, "tmp": None, "packages": (), "df": DF.replace("9000000", "10")},
]
SMB_CASES: list[dict[str, Any]] = [
    {},
    {"user": "admin", "account_kind": "local", "server_domain": "WIN1", "write": None, "write_file": "", "write_test": False},
    {"server_name": "", "server_domain": ""},
    {"login": Step(False, 0xC000006D, "SessionError: STATUS_LOGON_FAILURE"), "ipc": None, "admin_share": None,
     "write": None, "write_file": "", "scm": None, "registry": {}, "server_name": "", "server_domain": "", "dialect": ""},
    {"login": Step(False, 0xC0000234, ""), "ipc": None, "admin_share": None, "write": None, "scm": None, "registry": {}},
    {"login": Step(False, None, "OSError: timed out"), "ipc": None, "admin_share": None, "write": None, "scm": None},
    {"login": None, "ipc": None, "admin_share": None, "write": None, "scm": None},
    {"guest": True, "account_kind": "local", "user": "admin"},
    {"ipc": DENIED, "scm": None, "registry": {}},
    {"admin_share": Step(False, 0xC00000CC, ""), "write": None, "write_file": ""},
    {"admin_share": Step(False, 0xC0000001, "SessionError: odd"), "write": None, "write_file": ""},
    {"admin_share": DENIED, "write": None, "write_file": "", "scm": SCM_DENIED, "account_kind": "local", "user": "admin",
     "registry": {"LocalAccountTokenFilterPolicy": 0, "EnableLUA": 1, "ForceGuest": "not readable: 0x00000002"}},
    {"scm": SCM_DENIED, "account_kind": "builtin-administrator", "user": "Administrator",
     "registry": {n: "remote registry does not answer: STATUS_OBJECT_NAME_NOT_FOUND"
                  for n in ("LocalAccountTokenFilterPolicy", "EnableLUA", "ForceGuest")}},
    {"scm": SCM_DENIED},
    {"scm": Step(False, 0x6BA, "DCERPCException: rpc_s_server_unavailable")},
    {"write": Step(False, 0xC0000022, "written but not deleted (delete ADMIN$\\x by hand): denied")},
]  # fmt: skip


def access_results() -> tuple[Result, ...]:
    servers = [Server(MS, 9876, "Registration on the management server", ("198.18.0.20",)), Server(LS, 9876, "Licenses", ())]
    results: list[Result] = []
    for changes in SSH_CASES:
        results.append(classify_ssh(SSH_CHECK, ssh(**changes)))
    results += agent_side_results(LIN, ssh(names=NAMES, probes=PROBES), servers, phase=Phase.PRE_INSTALL)
    results += agent_side_results(LIN, ssh(names=(NameOnAgent(MS.name, (), (), ()),)), servers, phase=Phase.POST_INSTALL)
    for changes in SMB_CASES:
        results.append(classify_smb(SMB_CHECK, smb(**changes)))
    results += [_timed_out(SSH_CHECK, "198.18.0.41"), _timed_out(SMB_CHECK, "198.18.0.31")]
    return tuple(results)


def access_report() -> Report:
    vantage = Vantage("console1", Role.CONSOLE, "Linux", ("198.18.0.10",))
    return Report("0.1.0", "2026-11-25T16:00:00+00:00", 1.5, vantage, Phase.PRE_INSTALL, "connect", access_results())


@pytest.mark.parametrize(
    ("name", "render"),
    [
        ("access-live.report.json", render_json),
        ("access-live.table.txt", lambda r: render_table(r, verbose=True)),
        ("access-live.redacted.json", lambda r: render_json(redact(r))),
    ],
)
def test_live_access_results_render_as_before(name: str, render: Any) -> None:
    report = access_report()
    text = render(report)
    golden(name, text)
    if name.endswith(".json"):
        validate_report(json.loads(text))
