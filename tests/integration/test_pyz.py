"""The one-file netcheck: dist/netcheck.pyz runs with `python3 -I` where no site-packages exist, and holds
psutil for every platform it is built for."""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

import pytest

SYSTEM_PYTHON = Path("/usr/bin/python3")  # Debian's own interpreter: nothing of netcheck's is installed for it


def test_the_file_holds_psutil_for_each_platform(pyz: Path) -> None:
    with zipfile.ZipFile(pyz) as archive:
        info = json.loads(archive.read("PEX-INFO"))
    wheels = list(info["distributions"])
    psutil = [w for w in wheels if w.startswith("psutil-")]
    assert any("manylinux" in w and "x86_64" in w for w in psutil)
    assert any("aarch64" in w for w in psutil)
    assert any(w.endswith("win_amd64.whl") for w in psutil)
    assert all("abi3" in w for w in psutil)
    assert any(w.startswith("netcheck_preflight-") for w in wheels)
    # orjson has one wheel per CPython version: every platform x version target was resolved on its own.
    orjson = {w for w in wheels if w.startswith("orjson-")}
    for version in ("cp311", "cp312", "cp313", "cp314"):
        for platform in ("manylinux_2_17_x86_64", "manylinux_2_17_aarch64", "win_amd64"):
            assert any(f"-{version}-{version}-" in w and platform in w for w in orjson), (version, platform, orjson)


@pytest.fixture
def bare_python(tmp_path: Path) -> Path:
    """A fresh venv without pip and without the system's site-packages."""
    if not SYSTEM_PYTHON.exists():
        pytest.skip("no /usr/bin/python3")
    venv = tmp_path / "venv"
    subprocess.run([str(SYSTEM_PYTHON), "-m", "venv", "--without-pip", str(venv)], check=True)
    return venv / "bin" / "python3"


def run_clean(python: Path, pyz: Path, tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`python3 -I netcheck.pyz ARGS` with an empty environment (env -i), the pex cache under tmp_path."""
    environment = {"PEX_ROOT": str(tmp_path / "pex-root"), **env}
    return subprocess.run(
        ["env", "-i", *(f"{k}={v}" for k, v in environment.items()), str(python), "-I", str(pyz), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,  # not the source tree: its netcheck/ must not be what gets imported
    )


def test_the_file_runs_where_no_site_packages_exist(pyz: Path, bare_python: Path, tmp_path: Path) -> None:
    where = run_clean(
        bare_python,
        pyz,
        tmp_path,
        "-c",
        "import netcheck, psutil, sys; print(netcheck.__file__); print(psutil.__file__); print(repr(sys.path))",
        PEX_INTERPRETER="1",
    )
    assert where.returncode == 0, where.stderr
    netcheck_file, psutil_file, path_text = where.stdout.splitlines()[-3:]
    assert netcheck_file.startswith(str(tmp_path / "pex-root")) and psutil_file.startswith(str(tmp_path / "pex-root"))
    assert "site-packages" not in path_text and "dist-packages" not in path_text and "/work/" not in path_text

    # a real result: this machine as an agent whose management server is on loopback (nothing listens there: a reset)
    run = run_clean(
        bare_python, pyz, tmp_path, "check", "--from", "agent", "--management-server", "127.0.0.1", "--format", "json"
    )
    assert run.returncode in (0, 1), run.stderr
    report = json.loads(run.stdout)
    assert report["vantage"]["role"] == "agent"
    link = next(c for c in report["checks"] if c["id"] == "tcp:agent->127.0.0.1:9876")
    assert (link["state"], link["verdict"]) == ("closed", "pass")
    assert any(c["id"] == "host:source-ports" for c in report["checks"])  # psutil-backed host checks ran


def test_bad_input_through_the_file_is_one_line_and_exit_2(pyz: Path, bare_python: Path, tmp_path: Path) -> None:
    run = run_clean(bare_python, pyz, tmp_path, "check", "--agent", "198.18.0.31:beos")
    assert run.returncode == 2 and "Traceback" not in run.stderr
