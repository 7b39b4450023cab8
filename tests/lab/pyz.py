"""The one-file netcheck (dist/netcheck.pyz) for tests: the file tests/run.sh built, or built here when missing
or older than the sources (tools/build_pyz.py; a minute or more per three targets)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYZ = ROOT / "dist" / "netcheck.pyz"


def _newest_source() -> float:
    sources = [*(ROOT / "netcheck").rglob("*.py"), *(ROOT / "netcheck").rglob("*.json"), ROOT / "pyproject.toml"]
    return max(path.stat().st_mtime for path in sources)


def built_pyz() -> Path:
    if not PYZ.exists() or PYZ.stat().st_mtime < _newest_source():
        subprocess.run([sys.executable, str(ROOT / "tools" / "build_pyz.py"), "--output", str(PYZ)], check=True)
    return PYZ
