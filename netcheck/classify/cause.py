"""A named cause of an access result (pure): shared by the access classifiers."""

from __future__ import annotations

from netcheck.model.kinds import Verdict
from netcheck.model.record import record


@record
class Cause:
    """One named reason the installation would fail (or might), with its fix."""

    name: str
    verdict: Verdict
    detail: str
    fix: str = ""
