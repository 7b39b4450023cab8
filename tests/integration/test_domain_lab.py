"""The access checks against a real Samba AD domain controller: Kerberos from a ticket cache (and each named reason
it falls back to NTLM), domain accounts in both forms, the renamed built-in Administrator by RID 500, the machine's
domain and its remote registry, in the table and in JSON; the domain password and the tickets appear in no output."""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from netcheck.report.json import parse_report
from netcheck.report.table import render_table
from tests.conftest import lab_built, lab_unavailable
from tests.lab.domain import (
    ADMIN_PASSWORD,
    DC,
    DC_NAME,
    DNS_DOMAIN,
    DOMAIN,
    DOMAIN_ADMIN,
    DOMAIN_CANARY,
    DOMAIN_USER,
    NO_KDC,
    REALM,
    REGISTRY,
    RENAMED_ADMIN,
    DomainLab,
    build_domain_lab,
)
from tests.schema import validate_report

pytestmark = pytest.mark.lab
BASE = ("--from", "management-server", "--method", "connect")
DC_WARNING = "domain-controller"
"""The lab's only Windows-like agent is its DC: the product's documentation does not support remote installation there."""


@pytest.fixture(scope="module")
def domain_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DomainLab]:
    with lab_built(lambda: build_domain_lab(tmp_path_factory.mktemp("domain"))) as built:
        yield built


@pytest.fixture(scope="module")
def caches(domain_lab: DomainLab) -> dict[str, Path]:
    """kinit's ticket caches for the domain administrator: one with the DC's service ticket too (what Samba's own
    client leaves after using the DC), one with the TGT only."""
    made = {name: domain_lab.workdir / f"cc-{name}" for name in ("service", "tgt", "host-only")}
    domain_lab.kinit(f"{DOMAIN_ADMIN}@{REALM}", DOMAIN_CANARY, made["service"], service=f"cifs/{DC_NAME}")
    domain_lab.kinit(f"{DOMAIN_ADMIN}@{REALM}", DOMAIN_CANARY, made["tgt"])
    domain_lab.kinit(f"{DOMAIN_ADMIN}@{REALM}", DOMAIN_CANARY, made["host-only"], only=f"host/{DC_NAME}")
    return made


def check_of(
    domain_lab: DomainLab, agent: str, user: str, *extra: str, password: str | None = None, **kwargs: Any
) -> tuple[dict[str, Any], str, str]:
    """The access check of `agent` (JSON, validated against the schema), the same run as the table, and every output."""
    proc = domain_lab.run(
        *BASE, "--agent", f"{agent}:windows", "--user", user, *extra, "--format", "json", password=password, **kwargs
    )
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads(proc.stdout)
    validate_report(report)
    table = render_table(parse_report(proc.stdout), width=1000, show_all=True)
    check = next(c for c in report["checks"] if c["id"] == f"access:management-server->{agent}:445")
    return check, table, proc.stdout + proc.stderr + table


def test_the_dc_builds_fast_enough(domain_lab: DomainLab) -> None:
    assert sum(domain_lab.timings.values()) < 60, domain_lab.timings


@pytest.mark.parametrize("user", [f"{DOMAIN}\\{DOMAIN_ADMIN}", f"{DOMAIN_ADMIN}@{DNS_DOMAIN}"])
def test_kerberos_from_the_ticket_cache_without_a_password(domain_lab: DomainLab, caches: dict[str, Path], user: str) -> None:
    check, table, seen = check_of(domain_lab, DC_NAME, user, env={"KRB5CCNAME": f"FILE:{caches['service']}"})
    evidence = check["evidence"]
    assert (check["verdict"], evidence["causes"], evidence["auth"]) == ("warn", [DC_WARNING], "kerberos"), check
    assert evidence["kerberos"] == {"outcome": "ok", "reason": "ok", "spn": f"cifs/{DC_NAME}"}
    assert (evidence["account_kind"], evidence["account_source"], evidence["in_domain"]) == ("domain", "lsa", True)
    assert (evidence["domain_role"], evidence["dns_domain"]) == ("domain-controller", DNS_DOMAIN)
    assert evidence["steps"] == {"login": "ok", "ipc": "ok", "admin_share": "ok", "write": "ok", "scm": "ok"}
    assert REGISTRY.items() <= evidence["registry"].items()  # set with `net registry` on the DC, read over \PIPE\winreg
    assert f"logged in with Kerberos as {user}" in check["detail"] and "a domain controller of ADLAB" in table
    assert not list((domain_lab.home / "admin").iterdir())  # the write test left nothing in ADMIN$
    _no_secrets(seen, caches["service"])


@pytest.mark.parametrize(
    ("agent", "cache", "env", "preload", "cause", "reason"),
    [
        # The agent given by its address: tickets are issued for names, Kerberos is not tried.
        (DC, "service", {}, None, "kerberos-needs-name", "needs-name"),
        # netcheck's clock an hour ahead: the DC's smbd refuses the service ticket (its KRB-ERROR is read).
        (
            DC_NAME,
            "service",
            {"FAKETIME_DONT_FAKE_MONOTONIC": "1"},
            ["faketime", "-f", "+1h"],
            "kerberos-clock-skew",
            "KRB_AP_ERR_SKEW",
        ),
        # The same with only a TGT: the DC's KDC refuses the ticket request.
        (
            DC_NAME,
            "tgt",
            {"FAKETIME_DONT_FAKE_MONOTONIC": "1"},
            ["faketime", "-f", "+1h"],
            "kerberos-clock-skew",
            "KRB_AP_ERR_SKEW",
        ),
        # A TGT only, and krb5.conf names a KDC where nothing answers.
        (DC_NAME, "tgt", {"KRB5_CONFIG": "no-kdc"}, None, "kerberos-kdc-unreachable", "kdc-unreachable"),
        # Two days later (faketime): every ticket in the cache has expired.
        (
            DC_NAME,
            "service",
            {"FAKETIME_DONT_FAKE_MONOTONIC": "1"},
            ["faketime", "-f", "+2d"],
            "kerberos-ticket-expired",
            "ticket-expired",
        ),
        # A cache with an initial ticket for another service only (kinit -S host/...): no TGT, no ticket for cifs/.
        (DC_NAME, "host-only", {}, None, "kerberos-no-ticket", "no-ticket"),
        # KRB5CCNAME names a kernel keyring, which netcheck cannot read.
        (DC_NAME, "", {"KRB5CCNAME": "KEYRING:persistent:0"}, None, "kerberos-cache-unreadable", "cache-unreadable"),
    ],
)
def test_kerberos_failures_are_named_and_ntlm_takes_over(  # noqa: PLR0917 - one parameter per table column
    domain_lab: DomainLab,
    caches: dict[str, Path],
    agent: str,
    cache: str,
    env: dict[str, str],
    preload: list[str] | None,
    cause: str,
    reason: str,
) -> None:
    if preload and not shutil.which(preload[0]):
        lab_unavailable("faketime is not installed (apt-get install faketime)")
    env = {"KRB5CCNAME": f"FILE:{caches[cache]}", **env} if cache else env
    if env.get("KRB5_CONFIG") == "no-kdc":
        no_kdc = domain_lab.workdir / "krb5-no-kdc.conf"
        no_kdc.write_text(domain_lab.krb5_conf.read_text().replace(f"kdc = {DC_NAME}", f"kdc = {NO_KDC}"))
        env["KRB5_CONFIG"] = str(no_kdc)
    user = f"{DOMAIN}\\{DOMAIN_ADMIN}"
    # With the password, NTLM logs in instead: a warning naming why Kerberos did not.
    check, table, seen = check_of(domain_lab, agent, user, password=DOMAIN_CANARY, env=env, preload=preload)
    evidence = check["evidence"]
    assert (check["verdict"], evidence["causes"], evidence["auth"]) == ("warn", [cause, DC_WARNING], "ntlm"), check
    assert evidence["kerberos"]["reason"] == reason
    assert f"{cause}:" in table and f"[{cause}]" in table and "NTLM logged in instead" in check["detail"]
    # Without it, nothing logs in: the same cause fails the check (or, with no cache to try, it is skipped: why).
    check, table, more = check_of(domain_lab, agent, user, env=env, preload=preload)
    if reason == "cache-unreadable":
        assert check["verdict"] == "skip" and "KEYRING: cache, which netcheck cannot read" in check["detail"], check
    else:
        assert (check["verdict"], check["evidence"]["causes"], check["evidence"]["auth"]) == ("fail", [cause], "none"), check
        assert f"[{cause}]" in table
    _no_secrets(seen + more, caches[cache or "service"])


def test_a_tgt_only_cache_against_a_samba_kdc(domain_lab: DomainLab, caches: dict[str, Path]) -> None:
    """impacket's ticket request lacks the checksum a Samba KDC requires (KRB_AP_ERR_INAPP_CKSUM); netcheck names it,
    says how to get the service ticket first, and logs in with NTLM. Should impacket send it one day, Kerberos works."""
    env = {"KRB5CCNAME": f"FILE:{caches['tgt']}"}
    check, table, seen = check_of(domain_lab, DC_NAME, f"{DOMAIN}\\{DOMAIN_ADMIN}", password=DOMAIN_CANARY, env=env)
    evidence = check["evidence"]
    if evidence["auth"] == "kerberos":
        assert (check["verdict"], evidence["causes"]) == ("warn", [DC_WARNING])
    else:
        assert (check["verdict"], evidence["causes"], evidence["auth"]) == ("warn", ["kerberos-failed", DC_WARNING], "ntlm"), (
            check
        )
        assert evidence["kerberos"]["reason"] == "KRB_AP_ERR_INAPP_CKSUM"
        assert f"kvno cifs/{DC_NAME}" in check["remediation"] and "[kerberos-failed]" in table
    _no_secrets(seen, caches["tgt"])


def test_the_renamed_built_in_administrator_is_known_by_its_rid(domain_lab: DomainLab) -> None:
    check, table, seen = check_of(domain_lab, DC_NAME, f"{DOMAIN}\\{RENAMED_ADMIN}", "--no-kerberos", password=ADMIN_PASSWORD)
    evidence = check["evidence"]
    assert (check["verdict"], evidence["account_rid"], evidence["account_kind"]) == ("warn", 500, "domain"), check
    assert evidence["kerberos"] == {"outcome": "not-tried", "reason": "disabled"} and evidence["auth"] == "ntlm"
    assert "the built-in Administrator: RID 500" in check["detail"], table
    assert evidence["causes"] == [DC_WARNING] and "not supported on domain controllers" in check["detail"]
    assert f"[{DC_WARNING}] Install the agent locally" in table
    assert ADMIN_PASSWORD not in seen


@pytest.mark.parametrize("user", [f"{DOMAIN}\\{DOMAIN_USER}", f"{DOMAIN_USER}@{DNS_DOMAIN}"])
def test_an_ordinary_domain_user_is_not_an_administrator(domain_lab: DomainLab, user: str) -> None:
    check, table, seen = check_of(domain_lab, DC_NAME, user, password=DOMAIN_CANARY)
    evidence = check["evidence"]
    assert (check["verdict"], evidence["causes"]) == ("fail", ["not-local-administrator"]), check
    assert (evidence["account_kind"], evidence["in_domain"], evidence["account_rid"]) == ("domain", True, evidence["account_rid"])
    assert evidence["account_rid"] not in (None, 500)
    assert evidence["steps"]["admin_share"] == "STATUS_ACCESS_DENIED" and "[not-local-administrator]" in table
    assert "net localgroup Administrators" in check["remediation"]
    assert DOMAIN_CANARY not in seen


def _no_secrets(seen: str, cache: Path) -> None:
    """Neither the domain password, nor the ticket cache's path, nor any ticket's session key or cipher text."""
    from impacket.krb5.ccache import CCache  # noqa: PLC0415

    assert DOMAIN_CANARY not in seen and str(cache) not in seen
    assert DOMAIN_ADMIN in seen  # the runs did report (the grep is not vacuous)
    for credential in CCache.loadFile(str(cache)).credentials:
        for secret in (credential["key"]["keyvalue"], credential.ticket["data"]):
            if len(secret) >= 16:
                assert secret.hex() not in seen.lower() and base64.b64encode(secret).decode() not in seen


def test_the_domain_password_and_the_tickets_appear_in_no_format(domain_lab: DomainLab, caches: dict[str, Path]) -> None:
    """Kerberos refused (the agent by address) then NTLM with the canary password, in every format and --verbose."""
    env = {"KRB5CCNAME": f"FILE:{caches['service']}"}
    seen = ""
    for fmt in ("table", "json", "markdown", "junit", "html"):
        proc = domain_lab.run(
            *BASE, "--agent", f"{DC}:windows", "--user", f"{DOMAIN}\\{DOMAIN_ADMIN}", "--format", fmt, "--verbose",
            password=DOMAIN_CANARY, env=env,
        )  # fmt: skip
        assert proc.returncode in (0, 1), proc.stderr
        seen += proc.stdout + proc.stderr
    assert "kerberos-needs-name" in seen
    _no_secrets(seen, caches["service"])
