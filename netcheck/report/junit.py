"""JUnit XML: one testcase per check, for CI pipelines (fail → <failure>, error → <error>, skip → <skipped>)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from netcheck.model import Report, Verdict
from netcheck.report.base import link_label
from netcheck.report.json import evidence_to_dict
from netcheck.report.text import visible


def render_junit(report: Report) -> str:
    """Strings pass through `visible`: a NUL or ESC in a banner would make the XML invalid (XML 1.0 forbids them)."""
    suites = ET.Element("testsuites", name="netcheck")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=visible(f"netcheck {report.vantage.role} {report.vantage.hostname}"),
        tests=str(len(report.results)),
        failures=str(report.count(Verdict.FAIL)),
        errors=str(report.count(Verdict.ERROR)),
        skipped=str(report.count(Verdict.SKIP)),
        time=f"{report.duration_s:.3f}",
        timestamp=visible(report.started_at),
    )
    for result in report.results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"netcheck.{result.check.kind}",
            name=visible(link_label(result)),
            time=f"{result.elapsed_ms / 1000:.3f}",
        )
        detail = visible(result.detail)
        body = "\n".join(
            part
            for part in (
                detail,
                f"Fix: {visible(result.remediation)}" if result.remediation else "",
                # ASCII, control characters escaped
                f"Evidence: {json.dumps(evidence_to_dict(result.evidence), sort_keys=True)}",
            )
            if part
        )
        if result.verdict is Verdict.FAIL:
            ET.SubElement(case, "failure", message=detail, type=visible(result.state)).text = body
        elif result.verdict is Verdict.ERROR:
            ET.SubElement(case, "error", message=detail, type=visible(result.state)).text = body
        elif result.verdict is Verdict.SKIP:
            ET.SubElement(case, "skipped", message=detail)
        else:
            ET.SubElement(case, "system-out").text = f"{result.verdict.upper()}: {body}"
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def junit_chunks(report: Report, *, verbose: bool, show_all: bool = False) -> list[str]:
    return [render_junit(report)]
