"""Hostile network paths in a small lab of their own: a DNAT that sends one agent's link to another agent's
responder (same token) must not verify; a responder reached where it was dialled does."""

from __future__ import annotations

import pytest

from tests.conftest import netcheck_json
from tests.lab.netns import Lab
from tests.lab.services import start_responder
from tests.schema import validate_report

pytestmark = pytest.mark.lab

TOKEN = "lab-s3cret"  # noqa: S105 - a test token for the lab responders


def test_a_dnat_to_another_agents_responder_does_not_verify(small_lab: Lab) -> None:
    console = small_lab.add_host("console", "198.18.0.10/24")
    small_lab.add_host("agent-a", "198.18.0.31/24")  # nothing listens here: the DNAT sends its link elsewhere
    agent_b = small_lab.add_host("agent-b", "198.18.0.41/24")
    start_responder(agent_b, "--token", TOKEN, "--port", "25001")
    console.nft(
        "table ip lab {\n chain output {\n  type nat hook output priority -100;\n"
        "  ip daddr 198.18.0.31 tcp dport 25001 dnat to 198.18.0.41\n }\n}\n"
    )
    args = ["--method", "connect", "--timeout", "2", "--expect-responder", "--token", TOKEN]
    code, report = netcheck_json(console, *args, "--agent", "198.18.0.31:windows", "--agent", "198.18.0.41:windows")
    validate_report(report)
    services = {(c["target"], c["port"]): c for c in report["checks"] if c["kind"] == "service"}
    links = {(c["target"], c["port"]): c for c in report["checks"] if c["kind"] == "tcp"}
    redirected = services[("198.18.0.31", 25001)]
    assert redirected["verdict"] == "fail" and redirected["evidence"]["verified"] is False
    assert "reached at 198.18.0.41:25001, not at the address dialled" in redirected["detail"]
    assert "NOT verified" in links[("198.18.0.31", 25001)]["detail"]
    genuine = services[("198.18.0.41", 25001)]
    assert genuine["verdict"] == "pass" and genuine["evidence"]["verified"] is True
    assert "(verified end to end)" in links[("198.18.0.41", 25001)]["detail"]
    assert code == 1
