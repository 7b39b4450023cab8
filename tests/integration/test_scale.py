"""The scale benchmark at N = 1,000 (correctness only: every link agrees with nmap, in both methods)."""

from __future__ import annotations

import pytest

from benchmarks.scale import benchmark
from tests.conftest import require_lab_privileges

pytestmark = pytest.mark.lab


def test_thousand_agents_agree_with_nmap_link_by_link() -> None:
    require_lab_privileges()
    rows = benchmark(1000)
    ours = [row for row in rows if str(row["scan"]).startswith("netcheck")]
    assert [row["scan"] for row in ours] == ["netcheck --method syn", "netcheck --method connect"]
    for row in ours:
        assert row["links"] == 3000
        assert row["agree"] == row["compared"] == 3000, row.get("differ")
