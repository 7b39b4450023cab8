"""The Windows push-installation causes read over SMB, against real smbd in the namespace lab: NetShareEnum
(\\PIPE\\srvsvc), the registry values (\\PIPE\\winreg, written with `net registry`), the Remote Registry service
(\\PIPE\\svcctl), the free space of ADMIN$'s volume (SMB2 QUERY_INFO FileFsFullSizeInformation, from smbd's dfree
command) and TCP 135 dropped by the agent's firewall. Everything is read only: the agents are unchanged after."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from netcheck.report.json import parse_report
from netcheck.report.table import render_table
from tests.conftest import lab_built
from tests.lab.access import (
    ADMIN,
    CHIEF,
    WIN_ADMIN,
    WIN_FULL,
    WIN_HARDENED,
    WIN_NOSHARES,
    WIN_PASSWORD,
    WIN_SCM_OFF,
    AccessLab,
    build_access_lab,
)
from tests.schema import validate_report

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def access_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AccessLab]:
    with lab_built(lambda: build_access_lab(tmp_path_factory.mktemp("access-causes"))) as built:
        yield built


def access_check(lab: AccessLab, agent: str, user: str, *extra: str) -> tuple[dict[str, Any], str]:
    """The access check of one Windows agent (JSON, validated against the schema) and the same run as the table."""
    args = ("--from", "management-server", "--method", "connect", "--agent", f"{agent}:windows", "--user", user, *extra)
    proc = lab.run(*args, "--format", "json", password=WIN_PASSWORD)
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads(proc.stdout)
    validate_report(report)
    check = next(c for c in report["checks"] if c["id"] == f"access:management-server->{agent}:445")
    table = render_table(parse_report(proc.stdout), width=1000, show_all=True)
    assert WIN_PASSWORD not in proc.stdout + proc.stderr + table
    return check, table


@pytest.mark.parametrize(
    ("agent", "user", "verdict", "causes", "fix"),
    [
        (
            WIN_NOSHARES,
            ADMIN,
            "fail",
            ["admin-shares-disabled"],
            r"LanmanServer\Parameters /v AutoShareServer /t REG_DWORD /d 1 /f",
        ),
        (
            WIN_HARDENED,
            ADMIN,
            "warn",
            ["rpc-over-tcp-disabled", "rpc-endpoint-mapper-filtered"],
            r"reg delete HKLM\SYSTEM\CurrentControlSet\Control /v DisableRPCOverTCP /f",
        ),
        (
            WIN_HARDENED,
            CHIEF,
            "fail",
            ["uac-filters-builtin-administrator"],
            "/v FilterAdministratorToken /t REG_DWORD /d 0 /f",
        ),
        (WIN_FULL, ADMIN, "fail", ["low-disk-space"], "Free at least 1.2 GB on the system drive"),
        (WIN_SCM_OFF, ADMIN, "warn", ["scm-remote-endpoints-disabled"], "/v DisableRemoteScmEndpoints /f"),
    ],
)
def test_each_cause_is_named_with_its_fix(  # noqa: PLR0917 - one parameter per table column
    access_lab: AccessLab, agent: str, user: str, verdict: str, causes: list[str], fix: str
) -> None:
    check, table = access_check(access_lab, agent, user)
    assert (check["verdict"], check["evidence"]["causes"]) == (verdict, causes), check
    assert fix in check["remediation"]
    for cause in causes:
        assert cause in table  # the table names the cause too


def test_what_a_healthy_agent_shows(access_lab: AccessLab) -> None:
    """The Remote Registry service running (svcctl), the shares (srvsvc), the OS (winreg), ADMIN$'s free space, TCP
    135 refused (no cause: Windows tools fall back at once on a reset)."""
    check, _table = access_check(access_lab, WIN_ADMIN, ADMIN, "--no-write-test")
    evidence = check["evidence"]
    assert (check["verdict"], evidence["causes"]) == ("pass", []), check
    assert evidence["remote_registry"] == {"state": 4, "start": 3}  # running, manual: what Samba reports
    assert {"ADMIN$", "IPC$"} <= set(evidence["shares"])
    assert (evidence["registry"]["CurrentVersion"], evidence["registry"]["ProductType"]) == ("6.1", "ServerNT")
    assert evidence["disk"]["free"] > 0 and evidence["disk"]["total"] >= evidence["disk"]["free"]
    assert evidence["rpc_endpoint_mapper"] == "closed"
    assert "smb_sessions" not in evidence  # a Linux vantage does not look at its own SMB connections


def test_the_values_behind_each_cause_are_in_the_evidence(access_lab: AccessLab) -> None:
    noshares, _ = access_check(access_lab, WIN_NOSHARES, ADMIN)
    assert noshares["evidence"]["registry"]["AutoShareServer"] == 0
    assert "ADMIN$" not in noshares["evidence"]["shares"] and "IPC$" in noshares["evidence"]["shares"]
    assert "AutoShareServer = 0" in noshares["detail"]
    full, _ = access_check(access_lab, WIN_FULL, ADMIN, "--no-write-test")
    assert full["evidence"]["disk"]["free"] == 500 * 1024 * 1024
    assert "only 500 MiB free" in full["detail"]
    hardened, _ = access_check(access_lab, WIN_HARDENED, ADMIN)
    registry = hardened["evidence"]["registry"]
    assert (registry["DisableRPCOverTCP"], registry["FilterAdministratorToken"]) == (1, 1)
    assert hardened["evidence"]["rpc_endpoint_mapper"] == "filtered"
    assert registry["CurrentBuildNumber"].startswith("not readable")  # Samba serves CurrentVersion only


def test_nothing_is_changed_on_the_agents(access_lab: AccessLab) -> None:
    """With --no-write-test nothing is written to ADMIN$, and the registry values read stay what they were."""
    admin_dir = access_lab.workdir / "admin-win-hardened"
    before = sorted(p.name for p in admin_dir.iterdir())
    first, _ = access_check(access_lab, WIN_HARDENED, ADMIN, "--no-write-test")
    second, _ = access_check(access_lab, WIN_HARDENED, ADMIN, "--no-write-test")
    assert sorted(p.name for p in admin_dir.iterdir()) == before == []
    assert first["evidence"]["registry"] == second["evidence"]["registry"]
    assert first["evidence"]["remote_registry"] == second["evidence"]["remote_registry"]
