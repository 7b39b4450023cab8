"""Shared fixtures: the namespace lab (session-wide) and a runner for netcheck inside a lab host."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol, TypeVar

import pytest

from tests.lab.netns import Host, Lab, LabError, sweep_stale_namespaces
from tests.lab.site import Site, build_site

IN_CI = os.environ.get("CI", "").lower() == "true"


def lab_unavailable(reason: str) -> None:
    """Under CI a lab that cannot be built fails the run; on a developer's machine it skips."""
    if IN_CI:
        pytest.fail(f"namespace lab unavailable under CI: {reason}", pytrace=False)
    pytest.skip(f"namespace lab unavailable: {reason}")


def require_lab_privileges() -> None:
    if os.geteuid() != 0:
        lab_unavailable("needs root")
    if not shutil.which("ip"):
        lab_unavailable("iproute2 (ip) is not installed")


class BuiltLab(Protocol):
    lab: Lab


BuiltT = TypeVar("BuiltT", bound=BuiltLab)


@contextlib.contextmanager
def lab_built(build: Callable[[], BuiltT]) -> Iterator[BuiltT]:
    """A lab built for a fixture (failing under CI, skipping elsewhere, when it cannot be) and torn down after."""
    require_lab_privileges()
    sweep_stale_namespaces()
    try:
        built = build()
    except LabError as exc:
        lab_unavailable(str(exc))
    try:
        yield built
    finally:
        built.lab.close()


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with lab_built(lambda: build_site(tmp_path_factory.mktemp("site"))) as built:
        yield built


@pytest.fixture
def small_lab(tmp_path: Path) -> Iterator[Lab]:
    """An empty lab (switch only) for a test that needs its own hosts; torn down after the test."""
    require_lab_privileges()
    lab = Lab(tmp_path)
    try:
        try:
            lab.build_switch()
        except LabError as exc:
            lab_unavailable(str(exc))
        yield lab
    finally:
        lab.close()


def netcheck(host: Host, *args: str, timeout_s: float = 180) -> subprocess.CompletedProcess[str]:
    """Run `netcheck check ARGS` (the installed CLI) inside a lab host's namespace."""
    return subprocess.run(
        ["ip", "netns", "exec", host.ns, sys.executable, "-m", "netcheck", "check", *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def netcheck_json(host: Host, *args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    proc = netcheck(host, *args, "--format", "json")
    assert proc.returncode in (0, 1), f"exit {proc.returncode}: {proc.stderr}"
    return proc.returncode, json.loads(proc.stdout)


@pytest.fixture(scope="session")
def pyz() -> Path:
    """dist/netcheck.pyz, built by tests/run.sh (or here, when missing or stale)."""
    from tests.lab.pyz import built_pyz  # noqa: PLC0415 - only the tests that need the file pay for it

    return built_pyz()
