"""The streamed JSON writer (orjson, json.dumps where orjson's text would differ) writes byte for byte what
json.dumps(report_to_dict(report), indent=2) writes, for any evidence and any number of checks."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netcheck.model.checks import Report
from netcheck.model.kinds import Phase, State
from netcheck.model.observations import Reply, TcpReply
from netcheck.report import json as json_report
from netcheck.report.json import parse_report, render_json, report_to_dict
from tests.unit.test_report import RESULTS, report

FIXTURES = Path(__file__).parent / "fixtures"


def reference(report: Report) -> str:
    """Today's contract: the whole document through json.dumps(indent=2)."""
    return json.dumps(report_to_dict(report), indent=2) + "\n"


scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([1e-05, 1e16, 1.5e-7, 1e22, 0.0001, 123456789012345.6, -0.0, 5e-324])
    | st.text(max_size=12)
    | st.sampled_from(["é", "\x7f", "\x01", "\u2028", "😀", "a/b", '"q"', "\\"])
)
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=8
)


def with_evidence(evidence: list[dict[str, Any]]) -> Report:
    base = RESULTS[0]
    results = tuple(replace(base, evidence=e, elapsed_ms=float(i) / 7) for i, e in enumerate(evidence))
    return report(results)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.dictionaries(st.text(max_size=8), values, max_size=4), max_size=5))
def test_any_evidence_is_written_as_json_dumps_would(evidence: list[dict[str, Any]]) -> None:
    assert render_json(with_evidence(evidence)) == reference(with_evidence(evidence))


def test_non_string_keys_fall_back_to_json_dumps() -> None:
    rendered = render_json(with_evidence([{"ports": {445: "open", None: 1, 2.5: True}}]))
    assert rendered == reference(with_evidence([{"ports": {445: "open", None: 1, 2.5: True}}]))


@pytest.mark.parametrize("count", [0, 1, 999, 1000, 1001, 2500])
def test_chunk_boundaries(count: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(json_report, "CHUNK", 1000)
    evidence = [{"method": "syn", "reply": "none", "attempts": 2, "rtt_ms": i / 3} for i in range(count)]
    assert render_json(with_evidence(evidence)) == reference(with_evidence(evidence))


def test_one_non_ascii_check_does_not_change_its_neighbours(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(json_report, "CHUNK", 2)
    evidence = [{"banner": "SSH-2.0-OpenSSH"}, {"banner": "Überwachung"}, {"banner": "plain"}]
    assert render_json(with_evidence(evidence)) == reference(with_evidence(evidence))


@pytest.mark.parametrize("name", ["report_console.json", "report_agent_lin.json", "report_agent_win.json"])
def test_recorded_reports_are_rewritten_byte_for_byte(name: str) -> None:
    recorded = parse_report((FIXTURES / name).read_text())
    assert render_json(recorded) == reference(recorded)


def test_a_large_lab_like_report() -> None:
    base = RESULTS[0]
    states = [State.OPEN, State.CLOSED, State.FILTERED]
    results = []
    for index in range(30000):
        address = f"198.19.{index // 250}.{index % 250 + 1}"
        evidence = TcpReply(
            "syn", Reply.SYN_ACK, attempts=1 + index % 2, ttl=63, rtt_ms=index / 977, tcp_flags="SA", source_port=51234
        )
        results.append(replace(base, address=address, state=states[index % 3], evidence=evidence, elapsed_ms=index / 13))
    big = replace(report(tuple(results)), phase=Phase.PRE_INSTALL)
    assert render_json(big) == reference(big)


@pytest.mark.parametrize("value", [1e-05, 5e-324, 1e16, 2.5e22, 0.0001, 0.0, 123.456, -1e-07])
def test_a_tcp_links_floats_are_written_as_json_dumps_would_at_any_size(value: float) -> None:
    """A TCP link's floats (RTT, wait, time) are known plain when they need no exponent, and the text is then
    not searched for one; any other value is, and json.dumps writes the chunk."""
    base = RESULTS[0]
    results = tuple(
        replace(base, evidence=TcpReply("syn", Reply.NONE, rtt_ms=rtt, timeout_ms=wait), elapsed_ms=elapsed)
        for rtt, wait, elapsed in [(value, 100.0, 1.5), (0.2, value, 1.5), (0.2, 100.0, value), (0.2, 100.0, 1.5)]
    )
    whole = report(results)
    assert render_json(whole) == reference(whole)


def test_a_check_that_cannot_be_encoded_is_an_error_not_a_wrong_report() -> None:
    whole = with_evidence([{"fine": 1}, {"odd": {1, 2}}, {"fine": 3}])  # a set: neither encoder writes one
    with pytest.raises(TypeError, match="set is not JSON serializable"):
        render_json(whole)
