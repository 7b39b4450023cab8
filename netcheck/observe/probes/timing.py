"""How long to wait for an answer, how often to retry and how much to keep in flight: learned from the answers.

The way nmap does it (timing.cc, scan_engine.cc): each destination network (/24 for IPv4, /64 for IPv6) keeps a
smoothed round-trip time and its variance (RFC 6298 with nmap's first sample and outlier rule); a silent probe
is given up after srtt + 4·rttvar, clamped between a floor and the ceiling (`--timeout`). Before any answer the
wait is a conservative initial timeout. A network that answers only on a retry is losing packets: its silent
probes get more retries, and the congestion window (probes in flight) halves, growing again as answers come.

Everything here is pure bookkeeping: time comes in as an argument, nothing reads a clock or a socket.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace

from netcheck.model.record import record

FLOOR_S = 0.1
"""Never give up sooner than this (nmap -T4's --min-rtt-timeout): a busy far end may answer late."""

INITIAL_S = 1.0
"""The wait before anything has answered (nmap's --initial-rtt-timeout)."""

MAX_LOSSY_RETRIES = 4
"""Retries at most for a silent probe to a network seen losing packets (nmap -T4 allows up to 6)."""


def network_of(address: str) -> str:
    """The destination network whose timing `address` shares: its /24 (IPv4) or /64 (IPv6)."""
    if ":" not in address:
        return address.rpartition(".")[0]
    try:
        return str(ipaddress.IPv6Network((address.split("%", 1)[0], 64), strict=False))
    except ValueError:
        return address


@record
class RttEstimate:
    """Smoothed round-trip time and its variance, in seconds."""

    srtt: float
    rttvar: float
    samples: int = 1

    @property
    def timeout(self) -> float:
        return self.srtt + 4 * self.rttvar


def first_estimate(rtt: float) -> RttEstimate:
    """nmap's first sample: the variance starts at the RTT itself (at least 5 ms, at most 2 s), so the
    first timeout is about five RTTs."""
    return RttEstimate(rtt, max(0.005, min(rtt, 2.0)))


def updated(estimate: RttEstimate | None, rtt: float) -> RttEstimate:
    """The estimate after one more sample (RFC 6298 gains 1/8 and 1/4); a sample far above everything seen
    so far (more than 1.5 s and 3·srtt + 2·rttvar off) is an outlier, a late answer to an old probe: ignored."""
    if estimate is None:
        return first_estimate(rtt)
    delta = rtt - estimate.srtt
    if delta > 1.5 and delta > 3 * estimate.srtt + 2 * estimate.rttvar:
        return estimate
    return RttEstimate(estimate.srtt + delta / 8, estimate.rttvar + (abs(delta) - estimate.rttvar) / 4, estimate.samples + 1)


@record
class TimingPolicy:
    """The bounds: `ceiling_s` is --timeout; the floor and initial wait never exceed it."""

    ceiling_s: float = 2.0
    floor_s: float = FLOOR_S
    initial_s: float = INITIAL_S
    retries: int = 1
    """Retries for a silent probe (--retries); more, up to MAX_LOSSY_RETRIES, where packets are seen lost."""

    def clamp(self, seconds: float) -> float:
        return max(min(self.floor_s, self.ceiling_s), min(seconds, self.ceiling_s))

    @property
    def initial(self) -> float:
        return self.clamp(self.initial_s)


@dataclass(slots=True)
class Timing:
    """The RTT estimates of one run: one per destination network and one over all of them (used for networks
    that have not answered yet). Not thread-safe: callers that share it across threads hold their own lock."""

    policy: TimingPolicy = field(default_factory=TimingPolicy)
    overall: RttEstimate | None = None
    networks: dict[str, RttEstimate] = field(default_factory=dict)
    answered_retry: dict[str, int] = field(default_factory=dict)
    """Per network, the highest retry (1 = the second attempt) that got an answer: evidence of loss."""

    def observe(self, address: str, rtt_s: float, *, attempt: int = 1) -> None:
        """An answer came `rtt_s` after the attempt it answers (attempt 1 is the first send)."""
        network = network_of(address)
        self.networks[network] = updated(self.networks.get(network), rtt_s)
        self.overall = updated(self.overall, rtt_s)
        if attempt > 1:
            self.answered_retry[network] = max(self.answered_retry.get(network, 0), attempt - 1)

    def timeout(self, address: str) -> float:
        """How long a probe to `address` waits: its network's srtt + 4·rttvar, else the run's, else the initial."""
        estimate = self.networks.get(network_of(address)) or self.overall
        return self.policy.initial if estimate is None else self.policy.clamp(estimate.timeout)

    def retries(self, address: str) -> int:
        """Retries a silent probe to `address` gets: --retries, or (when the network answered a retry, so it
        loses packets) two more than the highest retry it answered, at most MAX_LOSSY_RETRIES. --retries 0 means
        none at all."""
        base = self.policy.retries
        lost = self.answered_retry.get(network_of(address))
        if base == 0 or lost is None:
            return base
        return max(base, min(MAX_LOSSY_RETRIES, lost + 2))


@dataclass(slots=True)
class Congestion:
    """A drop-based congestion window: how many probes may be in flight (sent, neither answered nor given up).

    Slow start adds one per answer up to `threshold`, then about one per window of answers. A drop (an answer
    that came only to a retry: the first attempt or its answer was lost) halves the window, at most once per
    round trip (drops of probes sent before the last cut are the same congestion). Silence is not a drop: a
    firewall that drops everything says nothing about congestion, so a given-up probe grows the window like an
    answer, or a fleet behind firewalls would crawl.
    """

    low: float
    high: float
    window: float = 10.0
    threshold: float = float("inf")
    last_cut_at: float = float("-inf")
    drops: int = 0

    def __post_init__(self) -> None:
        self.high = max(self.low, self.high)
        self.window = min(self.high, max(self.low, self.window))

    @property
    def limit(self) -> int:
        return int(self.window)

    def on_answer(self) -> None:
        grow = 1.0 if self.window < self.threshold else 1.0 / self.window
        self.window = min(self.high, self.window + grow)

    def on_silence(self) -> None:
        """A probe given up on: grows the window like an answer (see the class docstring)."""
        self.on_answer()

    def on_drop(self, sent_at: float, now: float) -> None:
        """An answer to a retry of a probe first sent at `sent_at`; `now` is when it was seen."""
        self.drops += 1
        if sent_at <= self.last_cut_at:
            return
        self.window = max(self.low, self.window / 2)
        self.threshold = max(self.low, self.window)
        self.last_cut_at = now


def policy_for(timeout_s: float, retries: int) -> TimingPolicy:
    """The policy of a run: --timeout is the ceiling, --retries the base retry count."""
    return replace(TimingPolicy(), ceiling_s=timeout_s, retries=retries)
