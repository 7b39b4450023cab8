"""address.parse_ip takes shortcuts for speed; what it answers must stay what ipaddress answers."""

from __future__ import annotations

import ipaddress
import random

import pytest

from netcheck.model.address import parse_ip


def reference(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


EDGES = [
    "198.18.0.1", "0.0.0.0", "255.255.255.255", "127.0.0.1", "01.2.3.4", "1.2.3.04", "1.2.3.00", "1.2.3", "1.2.3.4.5",
    "256.1.1.1", " 1.2.3.4", "1.2.3.4 ", "1.2.3.4.", ".1.2.3.4", "0x1.2.3.4", "1.2.3.4%eth0", "１.2.3.4", "1.2.3.4\x00",
    "1.2.3.4\n", "1..2.3", "", ".", "1234", "4294967295", "::", "::1", "::ffff:198.18.0.1", "2001:db8::7",
    "fe80::1%eth0", "fe80::1%", "1:2:3:4:5:6:7:8:9", "win1.example", "WIN1", "host-1", "xn--bcher-kva.example",
]  # fmt: skip


@pytest.mark.parametrize("text", EDGES)
def test_parse_ip_answers_what_ipaddress_answers(text: str) -> None:
    assert parse_ip(text) == reference(text)
    assert type(parse_ip(text)) is type(reference(text))


def test_parse_ip_answers_what_ipaddress_answers_for_random_text() -> None:
    rng = random.Random(1125)
    alphabet = "0123456789.....:%abfx "
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 16)))
        assert parse_ip(text) == reference(text), repr(text)
    for _ in range(5_000):  # near-quads: four numbers, some out of range or zero-padded
        text = ".".join(rng.choice(["0", "00", "01", "9", "10", "255", "256", "099", "1000"]) for _ in range(4))
        assert parse_ip(text) == reference(text), repr(text)
