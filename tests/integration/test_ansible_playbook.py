"""The playbook's Windows (WinRM) half cannot run here: it is checked with ansible-playbook --syntax-check
(which resolves every module, ansible.windows included) and ansible-lint's production profile, which
validates each task's arguments against the installed collections. The Linux half runs for real in
test_ansible_fleet.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ANSIBLE_DIR = Path(__file__).resolve().parents[2] / "contrib" / "ansible"
BIN = Path(sys.executable).parent


def run(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / tool), *args], cwd=ANSIBLE_DIR, capture_output=True, text=True, timeout=300, check=False)


def test_the_playbook_parses_with_the_windows_modules_resolved() -> None:
    proc = run("ansible-playbook", "--syntax-check", "-i", "inventory.example.ini", "netcheck.yml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    listed = run("ansible-playbook", "--list-tasks", "-i", "inventory.example.ini", "netcheck.yml")
    assert listed.returncode == 0, listed.stderr
    for task in ("Make a working folder (Windows)", "Copy netcheck.pyz (Windows)", "Run netcheck (Windows)"):
        assert task in listed.stdout


def test_the_playbook_passes_ansible_lint_production_profile() -> None:
    proc = run("ansible-lint", "--offline", "--profile", "production", "netcheck.yml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 failure(s), 0 warning(s)" in proc.stdout + proc.stderr


def test_a_failed_check_is_not_a_task_failure() -> None:
    text = (ANSIBLE_DIR / "netcheck.yml").read_text()
    assert text.count("failed_when: netcheck_run_linux.rc > 1") == 1
    assert text.count("failed_when: netcheck_run_windows.rc > 1") == 1
    assert "ansible.windows.win_command" in text and "ansible.builtin.command" in text
