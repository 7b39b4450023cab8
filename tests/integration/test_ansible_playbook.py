"""The playbook's Windows (WinRM) half cannot run here: it is checked with ansible-playbook --syntax-check
(which resolves every module, ansible.windows included) and ansible-lint's production profile, which
validates each task's arguments against the installed collections. The Linux half runs for real in
test_ansible_fleet.py."""

from __future__ import annotations

import os
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
    assert "Run netcheck on a Windows agent" in listed.stdout  # tasks/windows.yml, included for Windows agents only


def test_the_playbook_passes_ansible_lint_production_profile() -> None:
    proc = run("ansible-lint", "--offline", "--profile", "production", "netcheck.yml", "tasks/linux.yml", "tasks/windows.yml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 failure(s), 0 warning(s)" in proc.stdout + proc.stderr


def test_a_failed_check_is_not_a_task_failure() -> None:
    linux, windows = ((ANSIBLE_DIR / "tasks" / f"{os}.yml").read_text() for os in ("linux", "windows"))
    assert linux.count("failed_when: netcheck_run.rc > 1") == 1 and windows.count("failed_when: netcheck_run.rc > 1") == 1
    assert "ansible.windows.win_command" in windows and "ansible.builtin.command" in linux
    assert "ansible.windows" not in linux


def test_a_linux_only_inventory_parses_with_ansible_core_alone(tmp_path: Path) -> None:
    """Every collection out of reach (what `pip install ansible-core` has): the Windows tasks are not read."""
    inventory = tmp_path / "linux.ini"
    inventory.write_text("[management_server]\nms.corp.example\n\n[linux_agents]\nlin1.corp.example\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")} | {
        "ANSIBLE_COLLECTIONS_PATH": str(tmp_path),
        "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "False",
    }
    hidden = subprocess.run(
        [str(BIN / "ansible-doc"), "-t", "module", "ansible.windows.win_copy"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert "win_copy was not found" in hidden.stderr
    proc = subprocess.run(
        [str(BIN / "ansible-playbook"), "--syntax-check", "-i", str(inventory), "netcheck.yml"],
        cwd=ANSIBLE_DIR, capture_output=True, text=True, timeout=300, env=env, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
