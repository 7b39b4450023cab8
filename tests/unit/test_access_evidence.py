"""Access results carry typed evidence until the report: the JSON, the verbose table and the redacted JSON of
live access results are pinned by golden files written from the flattening the classifiers used to do
themselves, so moving it into report/json.py changed no byte."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from netcheck.classify.access import Server, agent_side_results, classify_smb, classify_ssh, timed_out
from netcheck.model.checks import Check, Report, Result, Target, Vantage, check_id
from netcheck.model.kinds import AgentOS, Kind, Phase, Role, State, Verdict
from netcheck.model.matrix import PortKey
from netcheck.model.observations import (
    AccessEvidence,
    AgentNameEvidence,
    CommandOutput,
    NameOnAgent,
    SmbObservation,
    SshObservation,
    Step,
    TcpFromAgent,
)
from netcheck.plan.planner import SMB_PURPOSE, SSH_PURPOSE
from netcheck.report.json import evidence_to_dict, render_json
from netcheck.report.redact import redact
from netcheck.report.table import render_table
from tests.report_helpers import merge_reports
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
    results += [timed_out(SSH_CHECK, "198.18.0.41", 120.0), timed_out(SMB_CHECK, "198.18.0.31", 120.0)]
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


def test_access_results_carry_typed_observations() -> None:
    """Typed until the report: the classifiers keep what the agent showed; report/json.py flattens it."""
    results = access_results()
    ssh_result = next(r for r in results if r.check is SSH_CHECK)
    smb_result = next(r for r in results if r.check is SMB_CHECK)
    assert isinstance(ssh_result.evidence, AccessEvidence) and isinstance(ssh_result.evidence.seen, SshObservation)
    assert isinstance(smb_result.evidence, AccessEvidence) and isinstance(smb_result.evidence.seen, SmbObservation)
    assert smb_result.evidence.agent == WIN.name and smb_result.evidence.causes == ()
    names = [r for r in results if r.check.kind is Kind.NAME]
    assert names and all(isinstance(r.evidence, AgentNameEvidence) for r in names)
    refused = classify_ssh(SSH_CHECK, ssh(login="refused", error="denied", uid=None, tmp=None))
    assert isinstance(refused.evidence, AccessEvidence) and refused.evidence.causes == ("ssh-login-refused",)


def test_typed_access_evidence_survives_redaction_and_merge() -> None:
    report = access_report()
    hidden = redact(report)
    assert all(isinstance(r.evidence, Mapping) for r in hidden.results)  # flattened first, then redacted
    text = render_json(hidden)
    assert "deployer" not in text and "bob" not in text and WIN.name not in text and "198.18.0.41" not in text
    other = Report("0.1.0", "2026-11-25T16:05:00+00:00", 1.0, Vantage("console2", Role.CONSOLE, "Linux"), Phase.PRE_INSTALL,
                   "connect", access_results()[:2])  # fmt: skip
    merged = merge_reports([report, other], tool_version="0.1.0")
    validate_report(json.loads(render_json(merged)))
    flat = [evidence_to_dict(r.evidence) for r in merged.results]
    assert flat == [evidence_to_dict(r.evidence) for r in (*report.results, *other.results)]


BLOCKER = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("asyncssh", "impacket", "cryptography"):
            raise ImportError(f"{name} is blocked")
        return None
sys.meta_path.insert(0, Block())
from netcheck.model.observations import SshObservation, SmbObservation, Step, AccessEvidence
from netcheck.classify.access import classify_ssh, classify_smb
from netcheck.report.json import evidence_to_dict, render_json
from tests.report_helpers import merge_reports
from tests.unit.test_access_evidence import access_report
render_json(access_report())
print(sorted(m for m in sys.modules if m.startswith(("netcheck.observe.access", "asyncssh", "impacket"))))
"""


def test_observations_and_classifiers_need_no_optional_library() -> None:
    """The typed observations, their classifiers and the JSON report import without asyncssh or impacket (and
    without netcheck.observe.access: the probes' package is the I/O edge)."""
    done = subprocess.run([sys.executable, "-c", BLOCKER], capture_output=True, text=True, check=False, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(("check", "cause", "via"), [(SSH_CHECK, "ssh-timeout", "ssh"), (SMB_CHECK, "smb-timeout", "smb")])
def test_a_visit_over_its_budget_is_a_named_timeout(check: Check, cause: str, via: str) -> None:
    result = timed_out(check, "198.18.0.9", 7.5)
    assert (result.verdict, result.state, result.address) == (Verdict.FAIL, State.DISABLED, "198.18.0.9")
    assert result.detail == f"{cause}: the visit to {check.target.name} did not finish within 7.5 s"
    assert f"TCP {check.port} after the handshake" in result.remediation
    assert evidence_to_dict(result.evidence) == {"via": via, "causes": [cause]}
