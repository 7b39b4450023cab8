"""Small conveniences the tests share for building and transforming reports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from netcheck.model.checks import Report
from netcheck.report.json import report_from_dict, report_to_dict
from netcheck.report.merge import merge_with_notes
from netcheck.report.redact import redact


def merge_reports(reports: Sequence[Report], *, tool_version: str) -> Report:
    """The merged report alone, without the notes."""
    return merge_with_notes(reports, tool_version=tool_version).report


def redact_dict(data: dict[str, Any]) -> dict[str, Any]:
    """A report dict, redacted (through the Report, so the same rules apply)."""
    return report_to_dict(redact(report_from_dict(data)))
