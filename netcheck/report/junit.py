"""JUnit XML: one testcase per check, for CI pipelines (fail → <failure>, error → <error>, skip → <skipped>);
the suite's <system-out> holds the diagnosis (headline, then each group with its machines and fix), and each
case names the group it is in."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from netcheck.model import Report, Verdict
from netcheck.report.base import link_label
from netcheck.report.diagnosis import diagnose, first_machines, plural
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
    diagnosis = diagnose(report)
    properties = ET.SubElement(suite, "properties")
    ET.SubElement(properties, "property", name="diagnosis", value=visible(diagnosis.headline))
    for result in report.results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"netcheck.{result.check.kind}",
            name=visible(link_label(result)),
            time=f"{result.elapsed_ms / 1000:.3f}",
        )
        detail = visible(result.detail)
        number = diagnosis.group_number(result)
        group = diagnosis.groups[number - 1] if number else None
        note = diagnosis.row_note(result)
        body = "\n".join(
            part
            for part in (
                detail,
                f"Note: {visible(note)}" if note else "",
                f"Diagnosis #{number}: {visible(group.cause)}" if group else "",
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
    summary = [visible(diagnosis.headline)]
    for number, group in enumerate(diagnosis.groups, start=1):
        machines = visible(first_machines(group.machines))
        summary += [
            f"{number}. {group.verdict.upper()}: {visible(group.cause)}",
            f"   {plural(group.count, 'machine')}: {machines}",
            f"   Fix: {visible(group.fix)}",
        ]
    ET.SubElement(suite, "system-out").text = "\n".join(summary)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def junit_chunks(report: Report, *, verbose: bool, show_all: bool = False) -> list[str]:
    return [render_junit(report)]
