"""The JSON report (schema_version 1, DESIGN.md 'JSON report contract'); schema in schema.json."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from netcheck.model import Report, Result, Verdict

SCHEMA_VERSION = 1


def result_to_dict(result: Result) -> dict[str, Any]:
    check = result.check
    return {
        "id": check.id,
        "kind": str(check.kind),
        "source": str(check.source),
        "target": check.target.name,
        "address": result.address,
        "port": check.port,
        "protocol": result.protocol,
        "purpose": check.purpose,
        "state": str(result.state),
        "verdict": str(result.verdict),
        "detail": result.detail,
        "remediation": result.remediation,
        "evidence": dict(result.evidence),
        "elapsed_ms": result.elapsed_ms,
    }


def report_to_dict(report: Report) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "netcheck", "version": report.tool_version},
        "started_at": report.started_at,
        "duration_s": report.duration_s,
        "vantage": {
            "hostname": report.vantage.hostname,
            "role": str(report.vantage.role),
            "os": report.vantage.os,
            "addresses": list(report.vantage.addresses),
        },
        "phase": str(report.phase),
        "method": report.method,
        "summary": {
            **{str(v): report.count(v) for v in (Verdict.PASS, Verdict.WARN, Verdict.FAIL, Verdict.SKIP, Verdict.ERROR)},
            "verdict": "pass" if report.verdict is Verdict.PASS else "fail",
        },
        "checks": [result_to_dict(r) for r in report.results],
    }


def render_json(report: Report) -> str:
    return json.dumps(report_to_dict(report), indent=2) + "\n"


def load_schema() -> dict[str, Any]:
    """The JSON schema every report validates against."""
    text = resources.files("netcheck.report").joinpath("schema.json").read_text(encoding="utf-8")
    return json.loads(text)  # type: ignore[no-any-return]
