"""Observation + expectation → Result: the verdict rules, one module per kind of check, all pure.

tcp (links), names, services (what answers on open ports), discovery (non-DNS environments), host (this
machine's readiness). Each returns `Result`s; none does I/O.
"""

from netcheck.classify.common import error_result, skipped_link, unresolved_link
from netcheck.classify.discovery import classify_discovery
from netcheck.classify.host import classify_host, classify_subnet, judge_host
from netcheck.classify.names import classify_name
from netcheck.classify.services import classify_service, judge_identified, wants_identification
from netcheck.classify.tcp import classify_tcp, misdirected, settle_agent, settle_unknown_os, settles_by_service

__all__ = [
    "classify_discovery",
    "classify_host",
    "classify_name",
    "classify_service",
    "classify_subnet",
    "classify_tcp",
    "error_result",
    "judge_host",
    "judge_identified",
    "misdirected",
    "settle_agent",
    "settle_unknown_os",
    "settles_by_service",
    "skipped_link",
    "unresolved_link",
    "wants_identification",
]
