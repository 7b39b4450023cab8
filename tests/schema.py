"""Validation of JSON reports against netcheck/report/schema.json."""

from __future__ import annotations

from typing import Any

import jsonschema

from netcheck.report.json import load_schema


def validate_report(report: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator(load_schema(), format_checker=jsonschema.FormatChecker()).validate(report)
