"""The Windows push-installation causes of issue 24, from observations (pure): administrative shares off by policy,
Remote Registry, the service control manager's RPC endpoints and TCP 135, UAC for the built-in Administrator,
this machine's own SMB sessions (1219), domain controllers and old Windows, free space. The decoders and parsers
read recorded answers (Samba's svcctl and SMB2 filesystem query, net use in German and Russian) from
tests/unit/fixtures/windows_agent (see its README)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from netcheck.classify.access import classify_smb
from netcheck.classify.windows_target import MIN_FREE_BYTES, same_account
from netcheck.model.checks import Report, Result, Vantage
from netcheck.model.kinds import AgentOS, Phase, Role, State, Verdict
from netcheck.model.observations import AccountInfo, DiskSpace, ServiceState, SmbObservation, SmbSession, Step
from netcheck.observe.access.stage import AccessSetup, visit_agents
from netcheck.observe.access.vantage import observe_smb_sessions
from netcheck.parse.smb_answers import fs_full_size, service_start_type, service_state
from netcheck.parse.smb_sessions import parse_net_use, parse_smb_connections, sessions_to
from netcheck.report.json import evidence_to_dict, render_json
from netcheck.report.redact import redact
from tests.schema import validate_report
from tests.unit.test_access_evidence import SMB_CHECK

FIXTURES = Path(__file__).parent / "fixtures" / "windows_agent"
OK = Step(True)
DENIED = Step(False, 0xC0000022, "STATUS_ACCESS_DENIED")
NO_SHARE = Step(False, 0xC00000CC, "STATUS_BAD_NETWORK_NAME")
NAME = SMB_CHECK.target.name


def recorded(name: str) -> bytes:
    return bytes.fromhex((FIXTURES / name).read_text().strip())


def smb(**changes: Any) -> SmbObservation:
    """A Windows agent ready for installation (what Samba's lab agent shows), changed as a test needs."""
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
        "registry": {
            "LocalAccountTokenFilterPolicy": 1,
            "EnableLUA": 1,
            "ForceGuest": 0,
            "CurrentVersion": "6.3",
            "CurrentBuildNumber": "20348",
            "ProductType": "ServerNT",
        },
        "shares": ("ADMIN$", "C$", "IPC$"),
        "remote_registry": ServiceState(4, 3),
        "disk": DiskSpace(40 * 1024**3, 100 * 1024**3),
        "rpc_endpoint_mapper": "open",
    }
    return SmbObservation(**{**base, **changes})


def registry(**values: int | str) -> dict[str, int | str]:
    return {**smb().registry, **values}


def judged(obs: SmbObservation) -> tuple[Verdict, list[str], Result]:
    result = classify_smb(SMB_CHECK, obs)
    return result.verdict, list(evidence_to_dict(result.evidence)["causes"]), result


def test_a_ready_agent_passes_and_its_new_evidence_is_in_the_json() -> None:
    verdict, causes, result = judged(smb())
    assert (verdict, causes) == (Verdict.PASS, [])
    flat = evidence_to_dict(result.evidence)
    assert flat["shares"] == ["ADMIN$", "C$", "IPC$"] and flat["remote_registry"] == {"state": 4, "start": 3}
    assert flat["disk"] == {"free": 40 * 1024**3, "total": 100 * 1024**3} and flat["rpc_endpoint_mapper"] == "open"
    assert "smb_sessions" not in flat  # not a Windows vantage: not looked at


# --- 1. administrative shares --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("product", "values", "named"),
    [
        ("WinNT", {"AutoShareWks": 0}, "AutoShareWks"),
        ("ServerNT", {"AutoShareServer": 0}, "AutoShareServer"),
        ("LanmanNT", {"AutoShareServer": 0, "AutoShareWks": 0}, "AutoShareServer"),
        ("WinNT", {"AutoShareWks": 0, "AutoShareServer": 0}, "AutoShareWks"),
        ("ServerNT", {"AutoShareWks": 0}, "AutoShareWks"),  # the one that is 0, whatever the product says
    ],
)
def test_admin_shares_off_by_policy_name_the_value(product: str, values: dict[str, int], named: str) -> None:
    obs = smb(admin_share=NO_SHARE, write=None, shares=("IPC$",), registry=registry(ProductType=product, **values))
    verdict, causes, result = judged(obs)
    assert (verdict, causes) == (Verdict.FAIL, ["admin-shares-disabled"])
    assert f"{named} = 0" in result.detail and "NetShareEnum lists IPC$" in result.detail
    assert rf"LanmanServer\Parameters /v {named} /t REG_DWORD /d 1 /f" in result.remediation


def test_a_missing_admin_share_without_the_policy_keeps_its_cause() -> None:
    obs = smb(admin_share=NO_SHARE, write=None, registry=registry(ProductType="WinNT", AutoShareWks=1))
    verdict, causes, result = judged(obs)
    assert (verdict, causes) == (Verdict.FAIL, ["admin-share-missing-67"])
    assert "/v AutoShareWks /t REG_DWORD /d 1 /f" in result.remediation  # a workstation: its value


# --- 2. Remote Registry (the recorded Samba answers, and constructed ones) ------------------------------------


def test_svcctl_answers_recorded_from_samba_decode() -> None:
    assert service_state(recorded("scmr_status_remoteregistry_samba.hex")) == 4  # running
    assert service_start_type(recorded("scmr_config_remoteregistry_samba.hex")) == 3  # manual
    assert service_state(recorded("scmr_status_spooler_samba.hex")) == 1  # stopped (smbd: disable spoolss)
    failed = recorded("scmr_status_remoteregistry_samba.hex")[:-4] + (1060).to_bytes(4, "little")
    assert service_state(failed) is None and service_state(b"\x00" * 8) is None


def test_remote_registry_disabled_or_stopped_is_a_warning() -> None:
    config = bytearray(recorded("scmr_config_remoteregistry_samba.hex"))
    config[4:8] = (4).to_bytes(4, "little")  # the recorded answer with dwStartType = disabled
    stopped = service_state(recorded("scmr_status_spooler_samba.hex"))
    disabled = ServiceState(stopped, service_start_type(bytes(config)))
    unread = {name: "remote registry does not answer: STATUS_OBJECT_NAME_NOT_FOUND" for name in smb().registry}
    verdict, causes, result = judged(smb(remote_registry=disabled, registry=unread))
    assert (verdict, causes) == (Verdict.WARN, ["remote-registry-disabled"])
    assert "sc config RemoteRegistry start= demand" in result.remediation
    verdict, causes, _ = judged(smb(remote_registry=ServiceState(stopped, 3), registry=unread))
    assert (verdict, causes) == (Verdict.WARN, ["remote-registry-stopped"])
    # Stopped but started on demand (Windows 8 and later): the registry answered, nothing to say.
    assert judged(smb(remote_registry=ServiceState(stopped, 3)))[:2] == (Verdict.PASS, [])
    strings_only = {**unread, "CurrentVersion": "6.3"}  # one string value read: the registry did answer
    assert judged(smb(remote_registry=ServiceState(stopped, 3), registry=strings_only))[:2] == (Verdict.PASS, [])
    assert judged(smb(remote_registry=ServiceState(error="STATUS_ACCESS_DENIED")))[:2] == (Verdict.PASS, [])


# --- 3. RPC endpoints -----------------------------------------------------------------------------------------


def test_remote_scm_endpoints_off_fail_when_the_scm_refused() -> None:
    refused = Step(False, 0x6BA, "RPC_S_SERVER_UNAVAILABLE")
    verdict, causes, result = judged(smb(scm=refused, registry=registry(DisableRemoteScmEndpoints=1)))
    assert (verdict, causes) == (Verdict.FAIL, ["scm-remote-endpoints-disabled"])  # not the generic scm-error
    assert r"reg delete HKLM\SYSTEM\CurrentControlSet\Control /v DisableRemoteScmEndpoints /f" in result.remediation
    verdict, causes, result = judged(smb(registry=registry(DisableRemoteScmEndpoints=1)))
    assert (verdict, causes) == (Verdict.WARN, ["scm-remote-endpoints-disabled"]) and "not in effect yet" in result.detail


def test_rpc_over_tcp_and_port_135_are_warnings_only() -> None:
    obs = smb(registry=registry(DisableRPCOverTCP=1), rpc_endpoint_mapper="filtered")
    verdict, causes, result = judged(obs)
    assert (verdict, causes) == (Verdict.WARN, ["rpc-over-tcp-disabled", "rpc-endpoint-mapper-filtered"])
    assert "named pipe" in result.detail and "Nothing is needed for the product's installer" in result.remediation
    assert judged(smb(rpc_endpoint_mapper="closed"))[:2] == (Verdict.PASS, [])  # a reset: tools fall back at once


# --- 4. FilterAdministratorToken ------------------------------------------------------------------------------

RID_500 = AccountInfo("builtin-administrator", 500, "standalone", "WIN1")


def test_the_built_in_administrator_filtered_by_uac() -> None:
    obs = smb(
        user="chief",
        account_kind="builtin-administrator",
        lsa=RID_500,
        admin_share=DENIED,
        write=None,
        scm=DENIED,
        registry=registry(FilterAdministratorToken=1, LocalAccountTokenFilterPolicy=0),
    )
    verdict, causes, result = judged(obs)
    assert (verdict, causes) == (Verdict.FAIL, ["uac-filters-builtin-administrator"])
    assert "/v FilterAdministratorToken /t REG_DWORD /d 0 /f" in result.remediation
    # Without FilterAdministratorToken (or with UAC off), the denial is named as before.
    assert judged(replace(obs, registry=registry(LocalAccountTokenFilterPolicy=0)))[1] == ["uac-remote-restrictions"]
    off = registry(FilterAdministratorToken=1, EnableLUA=0)
    assert judged(replace(obs, registry=off))[1] == ["not-local-administrator"]
    # An ordinary local account (RID 1000) is never this cause.
    other = replace(obs, lsa=AccountInfo("local", 1000, "standalone", "WIN1"), account_kind="local")
    assert judged(other)[1] == ["uac-remote-restrictions"]


# --- 5. this machine's own SMB sessions (1219) ------------------------------------------------------------------


def test_get_smbconnection_json_and_net_use_in_any_language() -> None:
    listed = parse_smb_connections((FIXTURES / "get_smbconnection.json").read_text(encoding="utf-8"))
    assert listed == [
        SmbSession("win-admin", "IPC$", "WIN-ADMIN\\operator", "Get-SmbConnection"),
        SmbSession("fs01.corp.example", "data", "CORP\\deploy", "Get-SmbConnection"),
    ]
    single = parse_smb_connections((FIXTURES / "get_smbconnection_single.json").read_text(encoding="utf-8"))
    assert single == [SmbSession("win-admin.lab.test", "ADMIN$", "LAB\\winadmin", "Get-SmbConnection")]
    assert parse_smb_connections("Get-SmbConnection : Access denied") is None
    assert parse_smb_connections("") == []
    for language in ("de", "ru"):
        found = parse_net_use((FIXTURES / f"net_use_{language}.txt").read_text(encoding="utf-8"))
        assert [(s.server, s.share) for s in found] == [
            ("serverOne", "pub"),
            ("sErvEr_22_", "long name"),
            ("name.domen.domen2.zone", "sg155630"),
        ]
        assert all(s.credential == "" and s.source == "net use" for s in found)
    english = parse_net_use((FIXTURES / "net_use_en.txt").read_bytes().decode("utf-8"))
    assert [(s.server, s.share) for s in english] == [
        ("win-admin", "IPC$"),
        ("fs01.corp.example", "data"),
        ("win-application-server-07.corp.example", "ADMIN$"),  # its network name wrapped to the next line
    ]


def test_sessions_are_matched_to_the_agent_by_name_short_name_or_address() -> None:
    sessions = [SmbSession("WIN-ADMIN"), SmbSession("win1.corp.example"), SmbSession("198.18.0.31"), SmbSession("fs01")]
    assert sessions_to(sessions, ("win-admin.lab.test", "198.18.0.40")) == (SmbSession("WIN-ADMIN"),)
    assert sessions_to(sessions, ("win1", "198.18.0.31")) == (SmbSession("win1.corp.example"), SmbSession("198.18.0.31"))
    assert sessions_to(sessions, ("fs01.other.example",)) == (SmbSession("fs01"),)
    assert sessions_to(sessions, ("198.18.0.3",)) == ()


@pytest.mark.parametrize(
    ("credential", "user", "same"),
    [
        ("WIN-ADMIN\\operator", "admin", False),
        ("WIN1\\admin", "admin", True),
        ("CORP\\deploy", "CORP\\deploy", True),
        ("CORP\\deploy", "corp\\DEPLOY", True),
        ("OTHER\\deploy", "CORP\\deploy", False),
        ("CORP\\deploy", "deploy@corp.example", True),
        ("WIN1\\admin", ".\\admin", True),
    ],
)
def test_same_account(credential: str, user: str, same: bool) -> None:
    assert same_account(credential, user) is same


def test_a_session_under_another_account_is_1219() -> None:
    held = (SmbSession("win1", "IPC$", "WIN1\\operator", "Get-SmbConnection"),)
    verdict, causes, result = judged(smb(vantage_sessions=held))
    assert (verdict, causes) == (Verdict.FAIL, ["smb-session-other-user-1219"])
    assert "1219" in result.detail and "net use \\\\win1\\IPC$ /delete" in result.remediation
    assert evidence_to_dict(result.evidence)["smb_sessions"] == [
        {"server": "win1", "share": "IPC$", "account": "operator", "account_domain": "WIN1", "source": "Get-SmbConnection"}
    ]
    mine = (SmbSession("win1", "IPC$", "WIN1\\admin", "Get-SmbConnection"),)
    assert judged(smb(vantage_sessions=mine))[:2] == (Verdict.PASS, [])
    unknown = (SmbSession("win1", "ADMIN$", "", "net use"),)
    assert judged(smb(vantage_sessions=unknown))[:2] == (Verdict.WARN, ["smb-session-exists"])


def test_the_vantage_looks_at_its_sessions_on_windows_only() -> None:
    assert observe_smb_sessions(platform="linux") is None


def test_the_stage_gives_each_windows_agent_its_own_sessions() -> None:
    """visit_agents asks for this machine's sessions once, and each Windows agent's observation holds those to it."""
    asked: list[int] = []

    def sessions() -> tuple[SmbSession, ...]:
        asked.append(1)
        return (SmbSession("win1", "IPC$", "WIN1\\operator", "Get-SmbConnection"), SmbSession("other", "IPC$", "X\\y"))

    def observe(address: str, account: object, credentials: object, timeout_s: float, port: int, *, name: str) -> SmbObservation:
        return SmbObservation(address, "admin", "local", login=OK)

    from netcheck.observe.access.credentials import Credentials, parse_user  # noqa: PLC0415

    link = Result(SMB_CHECK, State.OPEN, Verdict.PASS, "open", address="198.18.0.31")
    setup = AccessSetup(Credentials(windows=parse_user("admin")), (), Phase.PRE_INSTALL, 2.0)
    visits = asyncio.run(
        visit_agents(
            [(SMB_CHECK, AgentOS.WINDOWS, link)],
            setup,
            observe_ssh=None,  # type: ignore[arg-type]
            observe_smb=observe,
            observe_sessions=sessions,
        )
    )
    seen = visits[0].seen
    assert isinstance(seen, SmbObservation) and asked == [1]
    assert seen.vantage_sessions == (SmbSession("win1", "IPC$", "WIN1\\operator", "Get-SmbConnection"),)


# --- 6. targets the product does not install to remotely ------------------------------------------------------


def test_a_domain_controller_warns_with_the_documentation() -> None:
    dc = AccountInfo("domain", 1103, "domain-controller", "CORP", "corp.example")
    verdict, causes, result = judged(smb(lsa=dc, account_kind="domain"))
    assert (verdict, causes) == (Verdict.WARN, ["domain-controller"])
    assert "not supported on domain controllers" in result.detail and "Install the agent locally" in result.remediation
    by_registry = judged(smb(registry=registry(ProductType="LanmanNT")))
    assert by_registry[:2] == (Verdict.WARN, ["domain-controller"]) and "ProductType = LanmanNT" in by_registry[2].detail


@pytest.mark.parametrize(
    ("version", "build", "older"),
    [
        ("5.1", "2600", True),  # Windows XP
        ("5.2", "3790", True),  # Windows Server 2003
        ("6.0", "6002", True),  # Vista / Server 2008
        ("6.1", "7600", True),  # Windows 7 without SP1
        ("6.1", "7601", False),  # Windows 7 SP1 / Server 2008 R2 SP1
        ("6.1", "not readable: 0x00000002", False),  # Samba serves CurrentVersion 6.1 only: not known older
        ("6.3", "9600", False),
        ("6.3", "26100", False),  # Windows 11 24H2 / Server 2025 still say 6.3
    ],
)
def test_windows_older_than_supported_warns(version: str, build: str, older: bool) -> None:
    verdict, causes, result = judged(smb(registry=registry(CurrentVersion=version, CurrentBuildNumber=build)))
    assert (verdict, causes) == ((Verdict.WARN, ["os-older-than-supported"]) if older else (Verdict.PASS, []))
    if older:
        assert "Windows 7 SP1 / Windows Server 2008 R2 SP1" in result.detail


# --- 7. free space ------------------------------------------------------------------------------------------------


def test_the_filesystem_answer_recorded_from_samba_decodes() -> None:
    free, total = fs_full_size(recorded("fs_full_size_samba.hex")) or (0, 0)
    assert (free, total) == (0x04E64514 * 2 * 512, 0x0FBF8E74 * 2 * 512)
    assert fs_full_size(recorded("fs_full_size_samba.hex")[:20]) is None


@pytest.mark.parametrize(
    ("free", "verdict"),
    [(MIN_FREE_BYTES - 1, Verdict.FAIL), (MIN_FREE_BYTES, Verdict.WARN), (2 * 1024**3, Verdict.PASS)],
)
def test_free_space_of_admin_shares_volume(free: int, verdict: Verdict) -> None:
    got, causes, result = judged(smb(disk=DiskSpace(free, 50 * 1024**3)))
    assert (got, causes) == (verdict, [] if verdict is Verdict.PASS else ["low-disk-space"])
    if verdict is Verdict.FAIL:
        assert "1.2 GB" in result.detail and "System requirements for agents" in result.detail
    assert judged(smb(disk=DiskSpace(error="not asked over SMB1")))[:2] == (Verdict.PASS, [])


def test_sessions_and_their_accounts_are_redacted() -> None:
    held = (SmbSession("win1.corp.example", "IPC$", "CORP\\operator7", "Get-SmbConnection"),)
    result = classify_smb(SMB_CHECK, smb(user="CORP\\deployer", vantage_sessions=held))
    report = Report("0.1.0", "2026-12-07T13:00:00+00:00", 1.0, Vantage("ms1", Role.MANAGEMENT_SERVER, "Windows"),
                    Phase.PRE_INSTALL, "connect", (result,))  # fmt: skip
    data = json.loads(render_json(report))
    validate_report(data)
    assert data["checks"][0]["evidence"]["causes"] == ["smb-session-other-user-1219"]
    hidden = render_json(redact(report))
    validate_report(json.loads(hidden))
    for secret in ("operator7", "CORP", "deployer", "win1", "corp.example"):
        assert secret not in hidden, secret
