"""The streamed JSON writer (orjson, json.dumps where orjson's text would differ) writes byte for byte what
json.dumps(report_to_dict(report), indent=2) writes, for any evidence and any number of checks."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netcheck.model import Phase, Report, State
from netcheck.observations import Reply, TcpReply
from netcheck.report import json as json_report
from netcheck.report.json import parse_report, render_json, report_to_dict
from netcheck.report.table import Prepared
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


AheadT = TypeVar("AheadT", json_report.Prerendered, Prepared)


def worked_ahead(ahead: AheadT, report: Report, ahead_of: set[int], *, batch: int = 3) -> AheadT:
    """`ahead` (a format's work during a run: report.formats.Ahead) given the report's results numbered in
    `ahead_of`, having worked on them while a run waited, `batch` at a time."""
    ahead.BATCH = batch
    for index, result in enumerate(report.results):
        if index in ahead_of:
            ahead.add(result)
    while ahead.work():
        pass
    return ahead


def prerendered(report: Report, ahead_of: set[int], *, batch: int = 3) -> json_report.Prerendered:
    """A Prerendered that encoded the report's results numbered in `ahead_of` while a run waited."""
    return worked_ahead(json_report.Prerendered(), report, ahead_of, batch=batch)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.dictionaries(st.text(max_size=8), values, max_size=4), min_size=1, max_size=7),
    st.sets(st.integers(min_value=0, max_value=6)),
    st.integers(min_value=1, max_value=4),
)
def test_checks_encoded_ahead_are_written_as_json_dumps_would(
    evidence: list[dict[str, Any]], ahead_of: set[int], batch: int
) -> None:
    """Any mix of checks encoded during the run (in batches, some needing json.dumps) and checks encoded with
    the report gives the same text as the report encoded at once."""
    whole = with_evidence(evidence)
    ahead = prerendered(whole, ahead_of, batch=batch)
    assert "".join(json_report.iter_json(whole, ahead)) == reference(whole)


def test_a_result_replaced_after_it_was_encoded_is_encoded_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settling an agent of unknown OS replaces its results after the run encoded them: the report's own
    result is written, never the text of the one it replaced (nor an equal one's: texts go by identity)."""
    monkeypatch.setattr(json_report, "CHUNK", 2)
    whole = with_evidence([{"banner": "first"}, {"banner": "Überwachung"}, {"banner": "third"}])
    ahead = prerendered(whole, {0, 1, 2})
    settled = replace(whole, results=(whole.results[0], replace(whole.results[1], remediation="give its OS"), whole.results[2]))
    text = "".join(json_report.iter_json(settled, ahead))
    assert text == reference(settled)
    assert "give its OS" in text


def test_work_encodes_what_waits_a_batch_at_a_time() -> None:
    whole = with_evidence([{"n": n} for n in range(5)])
    ahead = json_report.Prerendered()
    ahead.BATCH = 2
    assert not ahead.work()  # nothing waits
    for result in whole.results:
        ahead.add(result)
    assert [ahead.work(), len(ahead.made), ahead.work(), ahead.work(), len(ahead.made), ahead.work()] == [
        True,
        2,
        True,
        True,
        5,
        False,
    ]


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
    assert "".join(json_report.iter_json(whole, prerendered(whole, {0, 2}))) == reference(whole)


def test_a_check_that_cannot_be_encoded_never_fails_the_run() -> None:
    """Encoding during the run never raises into it: the work stops, and the report meets the error itself,
    as without encoding ahead."""
    whole = with_evidence([{"fine": 1}, {"odd": {1, 2}}, {"fine": 3}])  # a set: neither encoder writes one
    ahead = json_report.Prerendered()
    for result in whole.results:
        ahead.add(result)
    assert ahead.work() is False
    assert ahead.work() is False  # stopped for good
    with pytest.raises(TypeError, match="set is not JSON serializable"):
        "".join(json_report.iter_json(whole, ahead))
    with pytest.raises(TypeError, match="set is not JSON serializable"):
        render_json(whole)
