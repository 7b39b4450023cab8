"""Kerberos for Windows agents and the LSA's view of the account, without a network: the ticket cache found and read
(its header only), krb5.conf's KDC, no prompt when the cache serves the account, every Kerberos failure named with
its fix (from constructed impacket exceptions and a constructed KRB-ERROR), the evidence, and no secret in it."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest

from netcheck.classify.access import classify_smb
from netcheck.model.checks import Check, Target, check_id
from netcheck.model.kinds import AgentOS, Kind, Role, Verdict
from netcheck.model.matrix import PortKey
from netcheck.model.observations import AccountInfo, KerberosTry, SmbObservation, Step
from netcheck.observe.access.credentials import (
    CredentialInput,
    Credentials,
    Secret,
    TicketCache,
    ccache_principal,
    find_ticket_cache,
    gather_credentials,
    krb5_kdc,
    parse_user,
)
from netcheck.observe.access.smb import _tickets, kerberos_error_name, krb_error_in
from netcheck.report.json import evidence_to_dict

CANARY = "Kerb-Canary-3f9Q-Zx"
WIN = Target("win1.corp.example", Role.AGENT)
CHECK = Check(
    check_id(Kind.ACCESS, Role.CONSOLE, WIN.name, 445), Kind.ACCESS, Role.CONSOLE, WIN, 445, "SMB", True, port_key=PortKey.SMB
)
OK = Step(True)


def ccache(principal: tuple[str, ...], realm: str, *, version: int = 0x0504) -> bytes:
    """The header of a FILE: ticket cache (what kinit writes first), with no credential after it."""
    head = struct.pack("!H", version)
    if version == 0x0504:
        head += struct.pack("!H", 12) + struct.pack("!HHII", 1, 8, 0, 0)  # one header tag: the KDC time offset
    body = struct.pack("!II", 1, len(principal)) + struct.pack("!I", len(realm)) + realm.encode()
    for part in principal:
        body += struct.pack("!I", len(part)) + part.encode()
    return head + body


def test_the_cache_principal_is_read_from_the_header() -> None:
    assert ccache_principal(ccache(("adadmin",), "AD.LAB.TEST")) == "adadmin@AD.LAB.TEST"
    assert ccache_principal(ccache(("adadmin",), "AD.LAB.TEST", version=0x0503)) == "adadmin@AD.LAB.TEST"
    assert ccache_principal(ccache(("host", "a.example"), "R")) == "host/a.example@R"
    for junk in (b"", b"\x05\x04", b"not a cache at all", ccache(("x",), "R")[:-1], b"\x05\x01" + b"\0" * 40):
        assert ccache_principal(junk) == ""


def test_the_ticket_cache_is_found_like_kinit_finds_it(tmp_path: Path) -> None:
    cache = tmp_path / "cc"
    cache.write_bytes(ccache(("adadmin",), "AD.LAB.TEST"))
    for name in (f"FILE:{cache}", str(cache)):  # (a drive letter's colon is no cache type either: C:\\cc is a path)
        found = find_ticket_cache({"KRB5CCNAME": name}, 0)
        assert found == TicketCache(cache, "KRB5CCNAME", "adadmin@AD.LAB.TEST")
    keyring = find_ticket_cache({"KRB5CCNAME": "KEYRING:persistent:0"}, 0)
    assert keyring is not None and keyring.path is None and keyring.problem.startswith("is a KEYRING: cache")
    missing = find_ticket_cache({"KRB5CCNAME": f"FILE:{tmp_path / 'none'}"}, 0)
    assert missing is not None and missing.problem.startswith("is unreadable")
    junk = tmp_path / "junk"
    junk.write_bytes(b"nothing")
    assert find_ticket_cache({"KRB5CCNAME": str(junk)}, 0) == TicketCache(junk, "KRB5CCNAME", "", "is not a ticket cache")
    drive = find_ticket_cache({"KRB5CCNAME": "C:\\Users\\x\\cc"}, None)
    assert drive is not None and drive.path == Path("C:\\Users\\x\\cc") and drive.problem.startswith("is unreadable")
    assert find_ticket_cache({}, 987_654_321) is None  # no /tmp/krb5cc_987654321
    assert find_ticket_cache({}, None) is None  # Windows: no default FILE: cache


@pytest.mark.parametrize(
    ("user", "serves"),
    [("ADLAB\\adadmin", True), ("adadmin@ad.lab.test", True), ("ADLAB\\AdAdmin", True), ("adadmin@other.test", False),
     ("ADLAB\\aduser", False), ("adadmin", False)],
)  # fmt: skip
def test_a_cache_serves_only_its_domain_account(user: str, serves: bool) -> None:
    cache = TicketCache(Path("/x"), "KRB5CCNAME", "adadmin@AD.LAB.TEST")
    assert cache.serves(parse_user(user)) is serves
    assert not TicketCache(None, "KRB5CCNAME", "adadmin@AD.LAB.TEST", "unreadable").serves(parse_user(user))


def test_the_kdc_comes_from_krb5_conf() -> None:
    text = (
        "[libdefaults]\n default_realm = AD.LAB.TEST\n kdc = wrong.example\n"
        "[realms]\n OTHER = {\n  kdc = other.example\n }\n AD.LAB.TEST = {\n  # a comment\n  kdc = dc1.ad.lab.test:88\n"
        "  kdc = dc2.ad.lab.test\n }\n V6 = {\n kdc = [2001:db8::1]:88\n }\n"
    )
    assert krb5_kdc(text, "AD.LAB.TEST") == "dc1.ad.lab.test"
    assert krb5_kdc(text, "ad.lab.test") == "dc1.ad.lab.test"
    assert krb5_kdc(text, "V6") == "2001:db8::1"
    assert krb5_kdc(text, "NONE") == ""
    assert krb5_kdc("", "AD.LAB.TEST") == ""


def test_no_prompt_when_the_ticket_cache_serves_the_domain_account(tmp_path: Path) -> None:
    cache = tmp_path / "cc"
    cache.write_bytes(ccache(("adadmin",), "AD.LAB.TEST"))
    asked: list[str] = []

    def prompt(text: str) -> str:
        asked.append(text)
        return CANARY

    env = {"KRB5CCNAME": f"FILE:{cache}"}
    creds = gather_credentials(CredentialInput(user="ADLAB\\adadmin"), environ=env, stdin_is_tty=True, prompt=prompt)
    assert creds is not None and asked == [] and creds.password is None
    assert creds.kerberos_ready() and creds.can_log_in(AgentOS.WINDOWS) == ""
    for given in (CredentialInput(user="ADLAB\\adadmin", kerberos=False), CredentialInput(user="ADLAB\\aduser")):
        asked.clear()
        other = gather_credentials(given, environ=env, stdin_is_tty=True, prompt=prompt)
        assert other is not None and len(asked) == 1 and not other.kerberos_ready()  # --no-kerberos, or another user
    off_terminal = gather_credentials(CredentialInput(user="ADLAB\\aduser"), environ=env, stdin_is_tty=False, prompt=prompt)
    assert off_terminal is not None and "kinit it" in off_terminal.can_log_in(AgentOS.WINDOWS)


def _creds(tmp_path: Path, user: str = "ADLAB\\adadmin", **changes: Any) -> Credentials:
    cache = tmp_path / "cc"
    cache.write_bytes(ccache(("adadmin",), "AD.LAB.TEST"))
    base: dict[str, Any] = {
        "windows": parse_user(user),
        "password": Secret(CANARY),
        "ticket_cache": TicketCache(cache, "KRB5CCNAME", "adadmin@AD.LAB.TEST"),
    }
    return Credentials(**{**base, **changes})


@pytest.mark.parametrize(
    ("name", "user", "changes", "reason"),
    [
        ("win1.corp.example", "ADLAB\\adadmin", {"kerberos": False}, "disabled"),
        ("win1.corp.example", "ADLAB\\adadmin", {"ticket_cache": None}, "no-ticket-cache"),
        ("win1.corp.example", "admin", {}, "local-account"),
        ("win1.corp.example", "ADLAB\\aduser", {}, "other-principal"),
        (
            "win1.corp.example",
            "ADLAB\\adadmin",
            {"ticket_cache": TicketCache(None, "KRB5CCNAME", problem="x")},
            "cache-unreadable",
        ),
        ("198.18.0.31", "ADLAB\\adadmin", {}, "needs-name"),
        ("win1.corp.example", "ADLAB\\adadmin", {}, "no-ticket"),  # the cache holds no ticket at all
    ],
)
def test_why_kerberos_is_not_tried(tmp_path: Path, name: str, user: str, changes: dict[str, Any], reason: str) -> None:
    creds = _creds(tmp_path, user, **changes)
    found = _tickets(name, parse_user(user), creds, 1.0)
    assert isinstance(found, KerberosTry) and (found.outcome, found.error) == ("not-tried", reason)


def _kerberos_error(code: int) -> Exception:
    from impacket.krb5.kerberosv5 import KerberosError  # noqa: PLC0415

    return KerberosError(error=code)  # type: ignore[no-any-return]


def test_errors_are_named() -> None:
    from impacket.smbconnection import SessionError  # noqa: PLC0415

    assert kerberos_error_name(_kerberos_error(37)) == "KRB_AP_ERR_SKEW"
    assert kerberos_error_name(_kerberos_error(7)) == "KDC_ERR_S_PRINCIPAL_UNKNOWN"
    assert kerberos_error_name(_kerberos_error(999)) == "KERBEROS_ERROR_999"
    assert kerberos_error_name(OSError("Connection error (dc1:88)")) == "kdc-unreachable"
    assert kerberos_error_name(SessionError(0xC000006D)) == "STATUS_LOGON_FAILURE"
    assert kerberos_error_name(SessionError(0xC0000016)) == "STATUS_MORE_PROCESSING_REQUIRED"  # no packet to read


def test_a_krb_error_in_a_servers_answer_is_read() -> None:
    """What a Windows or Samba server answers a ticket it refuses with: a KRB-ERROR inside its SPNEGO token."""
    from impacket.krb5.asn1 import KRB_ERROR  # noqa: PLC0415
    from pyasn1.codec.der import encoder  # noqa: PLC0415

    error = KRB_ERROR()
    error["pvno"] = 5
    error["msg-type"] = 30
    error["stime"] = "20261125183000Z"
    error["susec"] = 0
    error["error-code"] = 37
    error["realm"] = "AD.LAB.TEST"
    error["sname"]["name-type"] = 2
    error["sname"]["name-string"][0] = "cifs"
    error["sname"]["name-string"][1] = "dc1.ad.lab.test"
    spnego = b"\xa1\x81\x80\x30\x7e\x00junk\x7e" + encoder.encode(error)  # stray 0x7e bytes before the real one
    assert krb_error_in(spnego) == "KRB_AP_ERR_SKEW"
    assert krb_error_in(b"\x7e\x01\x02 nothing") == ""
    assert krb_error_in(b"") == ""


def smb(**changes: Any) -> SmbObservation:
    base: dict[str, Any] = {
        "address": "198.18.0.31",
        "user": "ADLAB\\adadmin",
        "account_kind": "domain",
        "login": OK,
        "ipc": OK,
        "admin_share": OK,
        "write": OK,
        "write_file": "netcheck-0123.tmp",
        "scm": OK,
        "registry": {"LocalAccountTokenFilterPolicy": 0, "EnableLUA": 1, "ForceGuest": 0},
        "auth": "ntlm",
        "lsa": AccountInfo("domain", 1103, "member", "ADLAB", "ad.lab.test"),
    }
    return SmbObservation(**{**base, **changes})


@pytest.mark.parametrize(
    ("error", "cause", "in_fix"),
    [
        ("KRB_AP_ERR_SKEW", "kerberos-clock-skew", "w32tm /resync"),
        ("STATUS_TIME_DIFFERENCE_AT_DC", "kerberos-clock-skew", "w32tm /resync"),
        ("KDC_ERR_S_PRINCIPAL_UNKNOWN", "kerberos-spn-unknown", "setspn -Q cifs/win1.corp.example"),
        ("needs-name", "kerberos-needs-name", "--agent NAME:windows"),
        ("kdc-unreachable", "kerberos-kdc-unreachable", "TCP 88"),
        ("ticket-expired", "kerberos-ticket-expired", "kinit"),
        ("KRB_AP_ERR_TKT_EXPIRED", "kerberos-ticket-expired", "kinit"),
        ("no-ticket", "kerberos-no-ticket", "kinit USER@REALM"),
        ("cache-unreadable", "kerberos-cache-unreadable", "KRB5CCNAME=FILE:"),
        ("KRB_AP_ERR_INAPP_CKSUM", "kerberos-failed", "kvno cifs/win1.corp.example"),
    ],
)
def test_each_kerberos_failure_is_named_with_its_fix(error: str, cause: str, in_fix: str) -> None:
    outcome = "not-tried" if error in {"needs-name", "ticket-expired", "no-ticket", "cache-unreadable"} else "failed"
    kerberos = KerberosTry(outcome, error, "detail", "cifs/win1.corp.example")
    # NTLM logged in instead: a warning, and what passed is still said.
    fell_back = classify_smb(CHECK, smb(kerberos=kerberos))
    assert (fell_back.verdict, evidence_to_dict(fell_back.evidence)["causes"]) == (Verdict.WARN, [cause])
    assert in_fix in fell_back.remediation and "NTLM logged in instead" in fell_back.detail
    assert "logged in with NTLM as ADLAB\\adadmin" in fell_back.detail
    assert evidence_to_dict(fell_back.evidence)["kerberos"] == {
        "outcome": outcome,
        "reason": error,
        "spn": "cifs/win1.corp.example",
    }
    # Nothing logged in (no password): the same cause fails, alone.
    login = Step(False, None, f"Kerberos did not log in ({error}) and there is no password for NTLM")
    nothing = smb(kerberos=kerberos, login=login, auth="", lsa=None, ipc=None, admin_share=None, write=None, scm=None)
    failed = classify_smb(CHECK, nothing)
    assert (failed.verdict, evidence_to_dict(failed.evidence)["causes"], evidence_to_dict(failed.evidence)["auth"]) == (
        Verdict.FAIL,
        [cause],
        "none",
    )
    assert "there is no password for NTLM" in failed.detail


@pytest.mark.parametrize("reason", ["disabled", "no-ticket-cache", "local-account", "other-principal"])
def test_kerberos_not_asked_for_is_no_cause(reason: str) -> None:
    result = classify_smb(CHECK, smb(kerberos=KerberosTry("not-tried", reason)))
    assert (result.verdict, evidence_to_dict(result.evidence)["causes"]) == (Verdict.PASS, [])
    assert evidence_to_dict(result.evidence)["kerberos"] == {"outcome": "not-tried", "reason": reason}


def test_a_kerberos_login_and_the_lsas_view_in_the_evidence() -> None:
    kerberos = KerberosTry("ok", spn="cifs/win1.corp.example")
    result = classify_smb(CHECK, smb(kerberos=kerberos, auth="kerberos"))
    evidence = evidence_to_dict(result.evidence)
    assert result.verdict is Verdict.PASS and "logged in with Kerberos as ADLAB\\adadmin" in result.detail
    assert (evidence["auth"], evidence["account_source"], evidence["account_rid"]) == ("kerberos", "lsa", 1103)
    assert (evidence["domain_role"], evidence["dns_domain"], evidence["in_domain"]) == ("member", "ad.lab.test", True)
    assert "member of ADLAB" in result.detail
    renamed = classify_smb(
        CHECK, smb(account_kind="builtin-administrator", lsa=AccountInfo("builtin-administrator", 500, "standalone"))
    )
    assert evidence_to_dict(renamed.evidence)["in_domain"] is False and "the built-in Administrator: RID 500" in renamed.detail
    assert "stand-alone" in renamed.detail
    by_name = classify_smb(CHECK, smb(lsa=None, server_name="WIN1", server_domain="WIN1"))
    assert (
        evidence_to_dict(by_name.evidence)["account_source"] == "name"
        and evidence_to_dict(by_name.evidence)["in_domain"] is False
    )


def test_no_secret_reaches_the_kerberos_evidence(tmp_path: Path) -> None:
    creds = _creds(tmp_path)
    assert CANARY not in repr(creds) and str(creds.ticket_cache.path) in repr(creds)  # type: ignore[union-attr]
    result = classify_smb(CHECK, smb(kerberos=_tickets("198.18.0.31", parse_user("ADLAB\\adadmin"), creds, 1.0)))  # type: ignore[arg-type]
    shown = repr(result)
    assert CANARY not in shown and str(tmp_path) not in shown  # neither the password nor the cache's path


def test_redaction_hides_the_domain_and_the_spn() -> None:
    from netcheck.model.checks import Report, Vantage  # noqa: PLC0415
    from netcheck.model.kinds import Phase  # noqa: PLC0415
    from netcheck.report.json import evidence_to_dict, render_json, report_to_dict  # noqa: PLC0415
    from netcheck.report.redact import redact  # noqa: PLC0415
    from netcheck.report.table import render_table  # noqa: PLC0415
    from tests.schema import validate_report  # noqa: PLC0415

    result = classify_smb(
        CHECK, smb(kerberos=KerberosTry("ok", spn="cifs/win1.corp.example"), auth="kerberos", user="adadmin@ad.lab.test")
    )
    assert (
        evidence_to_dict(result.evidence)["server_domain"] == "ADLAB" and "member of ADLAB" in result.detail
    )  # from the LSA alone
    report = Report(
        "0.1.0", "2026-11-25T16:00:00+00:00", 1.0, Vantage("c1", Role.CONSOLE, "Linux"), Phase.PRE_INSTALL, "connect", (result,)
    )
    validate_report(report_to_dict(report))
    hidden = redact(report)
    text = render_json(hidden) + render_table(hidden, verbose=True)
    for secret in ("adadmin", "ad.lab.test", "ADLAB", "win1.corp.example"):
        assert secret not in text, secret
    assert "logged in with Kerberos" in text
    validate_report(report_to_dict(hidden))
