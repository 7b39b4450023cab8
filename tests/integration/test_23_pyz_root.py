"""Issue 23, defect 16: netcheck.pyz with a PEX_ROOT it cannot use (a file, a device, a FIFO, an empty value, a
read-only home) says so in one line and exits 2, leaving nothing behind. pex alone unpacked 1,502 files into
the current directory for an empty value, and otherwise into a temporary folder that netcheck's fast exit left."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURE = Path(__file__).resolve().parents[1] / "unit" / "fixtures" / "report_console.json"


def run_pyz(pyz: Path, tmp_path: Path, env: dict[str, str], *, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    """`python3 netcheck.pyz report FIXTURE` in an empty working directory, temporary files under tmp_path/tmp."""
    work, scratch = tmp_path / "cwd", tmp_path / "tmp"
    work.mkdir(exist_ok=True)
    scratch.mkdir(exist_ok=True)
    environment = {"PATH": os.environ["PATH"], "HOME": str(tmp_path / "home"), "TMPDIR": str(scratch), **env}
    return subprocess.run(
        [*prefix, sys.executable, str(pyz), "report", str(FIXTURE)],
        capture_output=True, text=True, timeout=300, check=False, cwd=work, env=environment,
    )  # fmt: skip


def refused_and_clean(run: subprocess.CompletedProcess[str], tmp_path: Path) -> None:
    assert run.returncode == 2, (run.returncode, run.stderr[-2000:])
    assert run.stderr.startswith("netcheck: error: ") and run.stderr.count("\n") == 1, run.stderr
    assert "PEX_ROOT" in run.stderr
    assert list((tmp_path / "cwd").iterdir()) == []  # nothing unpacked into the current directory
    assert list((tmp_path / "tmp").iterdir()) == []  # no pex-root.*.readonly-fallback left behind


@pytest.mark.parametrize("kind", ["file", "device", "fifo", "empty", "under-a-file"])
def test_an_unusable_pex_root_is_one_line_and_exit_2(pyz: Path, tmp_path: Path, kind: str) -> None:
    if kind == "file":
        (tmp_path / "root").write_text("")
        root = str(tmp_path / "root")
    elif kind == "device":
        root = "/dev/null"
    elif kind == "fifo":
        os.mkfifo(tmp_path / "root")
        root = str(tmp_path / "root")
    elif kind == "empty":
        root = ""
    else:
        (tmp_path / "file").write_text("")
        root = str(tmp_path / "file" / "root")
    refused_and_clean(run_pyz(pyz, tmp_path, {"PEX_ROOT": root}), tmp_path)


def test_a_read_only_home_without_pex_root_is_one_line_and_exit_2(pyz: Path, tmp_path: Path) -> None:
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("a read-only bind mount needs root and unshare")
    home = tmp_path / "home"
    home.mkdir()
    read_only = (
        "unshare",
        "-m",
        "sh",
        "-c",
        f'mount --bind "{home}" "{home}" && mount -o remount,bind,ro "{home}" && exec "$@"',
        "sh",
    )
    refused_and_clean(run_pyz(pyz, tmp_path, {}, prefix=read_only), tmp_path)


def test_a_usable_pex_root_still_runs(pyz: Path, tmp_path: Path) -> None:
    run = run_pyz(pyz, tmp_path, {"PEX_ROOT": str(tmp_path / "pex-root")})
    assert run.returncode == 0, run.stderr[-2000:]
    assert "netcheck FAIL" in run.stdout
    assert list((tmp_path / "cwd").iterdir()) == []
