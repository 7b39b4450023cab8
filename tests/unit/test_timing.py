"""RTT-adaptive timing: the estimator, the clamps, the lossy-network retries and the congestion window."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netcheck.observe.probes.syn import answered_attempt
from netcheck.observe.probes.timing import (
    FLOOR_S,
    INITIAL_S,
    MAX_LOSSY_RETRIES,
    Congestion,
    RttEstimate,
    Timing,
    TimingPolicy,
    first_estimate,
    network_of,
    policy_for,
    updated,
)


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("198.18.0.7", "198.18.0"),
        ("198.18.0.250", "198.18.0"),
        ("198.18.1.7", "198.18.1"),
        ("2001:db8:1:2:3::9", "2001:db8:1:2::/64"),
        ("fe80::1%eth0", "fe80::/64"),
    ],
)
def test_network_of_groups_by_24_and_64(address: str, network: str) -> None:
    assert network_of(address) == network


def test_first_sample_gives_about_five_rtts_and_at_least_5_ms_of_variance() -> None:
    assert first_estimate(0.2) == RttEstimate(0.2, 0.2)
    assert first_estimate(0.2).timeout == pytest.approx(1.0)
    assert first_estimate(0.0001).rttvar == 0.005
    assert first_estimate(5.0).rttvar == 2.0


def test_update_uses_rfc6298_gains() -> None:
    estimate = updated(RttEstimate(0.1, 0.02), 0.18)
    assert estimate.srtt == pytest.approx(0.1 + 0.08 / 8)
    assert estimate.rttvar == pytest.approx(0.02 + (0.08 - 0.02) / 4)
    assert estimate.samples == 2


def test_a_late_answer_far_above_the_estimate_is_ignored() -> None:
    estimate = RttEstimate(0.01, 0.001, 9)
    assert updated(estimate, 3.0) is estimate
    assert updated(estimate, 1.0).samples == 10  # far, but within 1.5 s: a real sample


def test_steady_rtt_converges_to_it() -> None:
    estimate = None
    for _ in range(60):
        estimate = updated(estimate, 0.2)
    assert estimate is not None
    assert estimate.srtt == pytest.approx(0.2)
    assert estimate.timeout == pytest.approx(0.2, abs=0.001)


@given(st.lists(st.floats(min_value=0.0, max_value=10.0), min_size=1, max_size=50), st.floats(min_value=0.05, max_value=60.0))
def test_timeout_always_within_floor_and_ceiling(samples: list[float], ceiling: float) -> None:
    timing = Timing(policy_for(ceiling, 1))
    for rtt in samples:
        timing.observe("198.18.0.1", rtt)
        assert min(FLOOR_S, ceiling) <= timing.timeout("198.18.0.1") <= ceiling
        assert min(FLOOR_S, ceiling) <= timing.timeout("198.19.9.9") <= ceiling


def test_initial_timeout_before_any_answer_then_the_network_then_the_run() -> None:
    timing = Timing(policy_for(2.0, 1))
    assert timing.timeout("198.18.0.1") == INITIAL_S
    assert Timing(policy_for(0.3, 1)).timeout("198.18.0.1") == 0.3  # --timeout stays the ceiling
    for _ in range(40):
        timing.observe("198.18.0.1", 0.3)
    timing.observe("198.18.5.1", 0.0002)
    assert timing.timeout("198.18.0.99") == pytest.approx(0.3, abs=0.01)  # its own network
    assert timing.timeout("198.18.5.2") == FLOOR_S  # its own network, clamped to the floor
    overall = timing.overall
    assert overall is not None
    assert timing.timeout("198.18.77.1") == pytest.approx(overall.timeout)  # never answered: the run's estimate


def test_retries_grow_only_where_retries_were_answered() -> None:
    timing = Timing(TimingPolicy(retries=1))
    timing.observe("198.18.0.1", 0.2)
    assert timing.retries("198.18.0.2") == 1
    timing.observe("198.18.0.3", 0.2, attempt=2)  # the first attempt was lost
    assert timing.retries("198.18.0.2") == 3
    assert timing.retries("198.18.1.2") == 1  # another network
    timing.observe("198.18.0.4", 0.2, attempt=4)
    assert timing.retries("198.18.0.2") == MAX_LOSSY_RETRIES


def test_retries_zero_means_none_even_on_a_lossy_network() -> None:
    timing = Timing(TimingPolicy(retries=0))
    timing.observe("198.18.0.3", 0.2, attempt=2)
    assert timing.retries("198.18.0.3") == 0


def test_window_slow_start_then_congestion_avoidance() -> None:
    window = Congestion(low=4, high=1000, window=10)
    for _ in range(10):
        window.on_answer()
    assert window.limit == 20
    window.on_drop(sent_at=1.0, now=2.0)
    assert window.limit == 10
    assert window.threshold == 10
    for _ in range(10):
        window.on_answer()
    assert window.limit == 10  # about one per window of answers now
    window.on_answer()
    assert window.limit == 11


def test_window_cuts_once_per_round_trip_and_never_below_low() -> None:
    window = Congestion(low=8, high=1000, window=64)
    window.on_drop(sent_at=1.0, now=2.0)
    window.on_drop(sent_at=1.5, now=2.1)  # sent before the cut: the same congestion
    assert window.limit == 32
    assert window.drops == 2
    for now in range(3, 10):
        window.on_drop(sent_at=now, now=now + 0.5)
    assert window.limit == 8


def test_silence_grows_the_window_like_an_answer_and_high_caps_it() -> None:
    window = Congestion(low=1, high=12, window=10)
    for _ in range(5):
        window.on_silence()
    assert window.limit == 12


def test_window_starts_within_its_bounds() -> None:
    assert Congestion(low=64, high=20000).limit == 64
    assert Congestion(low=16, high=4).limit == 16  # low wins over a smaller high


@pytest.mark.parametrize(
    ("acked", "attempts", "answered"),
    [
        (1000, 1, 1),
        (1000 + (1 << 24), 1, None),  # answers an attempt never sent
        (1000 + (1 << 24), 2, 2),
        (1000 + 2 * (1 << 24), 3, 3),
        (1001, 3, None),
        (None, 2, None),
    ],
)
def test_answered_attempt_reads_the_attempt_from_the_sequence(acked: int | None, attempts: int, answered: int | None) -> None:
    assert answered_attempt(acked, 1000, attempts) == answered


def test_answered_attempt_wraps_around_the_sequence_space() -> None:
    base = 0xFFFFFF00
    assert answered_attempt((base + (1 << 24)) & 0xFFFFFFFF, base, 2) == 2
