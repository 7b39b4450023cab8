"""SynInBackground: the links to addresses probed while the run plans, then handed to the runner as its SYN batch."""

from __future__ import annotations

from typing import Any

import pytest

from netcheck.model.kinds import State
from netcheck.model.observations import Observation, Reply, TcpReply
from netcheck.observe.probes import syn


@pytest.fixture
def batches(monkeypatch: pytest.MonkeyPatch) -> list[list[tuple[str, int]]]:
    """Each syn_probe_batch call's keys; every key is open."""
    calls: list[list[tuple[str, int]]] = []

    def fake(keys: list[tuple[str, int]], *, on_observation: Any = None, **_: Any) -> dict[tuple[str, int], Observation]:
        calls.append(list(keys))
        seen = {}
        for key in keys:
            seen[key] = Observation(State.OPEN, key[0], TcpReply("syn", Reply.SYN_ACK))
            if on_observation is not None:
                on_observation(key, seen[key])
        return seen

    monkeypatch.setattr(syn, "syn_probe_batch", fake)
    return calls


def test_what_was_probed_in_the_background_is_not_probed_again(batches: list[list[tuple[str, int]]]) -> None:
    early = syn.SynInBackground(
        [("198.18.0.31", 445), ("198.18.0.31", 445), ("198.18.0.41", 22)], timeout_s=2.0, retries=1, rate_pps=10
    )
    handed: list[tuple[str, int]] = []
    asked = [("198.18.0.41", 22), ("198.18.0.20", 9876)]  # one probed already, one to a name resolved since
    results = early.collect(asked, timeout_s=2.0, retries=1, rate_pps=10, on_observation=lambda key, _o: handed.append(key))
    assert batches == [[("198.18.0.31", 445), ("198.18.0.41", 22)], [("198.18.0.20", 9876)]]
    assert list(results) == asked and sorted(handed) == sorted(asked)


def test_other_options_or_a_failed_batch_probe_again(
    batches: list[list[tuple[str, int]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    early = syn.SynInBackground([("198.18.0.31", 445)], timeout_s=2.0, retries=1, rate_pps=10)
    early.collect([("198.18.0.31", 445)], timeout_s=1.0, retries=1, rate_pps=10)
    assert batches == [[("198.18.0.31", 445)], [("198.18.0.31", 445)]]

    def broken(*_a: Any, **_k: Any) -> None:
        raise PermissionError("raw sockets refused")

    monkeypatch.setattr(syn, "syn_probe_batch", broken)
    failed = syn.SynInBackground([("198.18.0.31", 445)], timeout_s=2.0, retries=1, rate_pps=10)
    with pytest.raises(PermissionError):  # met again where the runner turns it into error results
        failed.collect([("198.18.0.31", 445)], timeout_s=2.0, retries=1, rate_pps=10)
