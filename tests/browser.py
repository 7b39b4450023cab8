"""Headless Chromium for the HTML report's tests: a screenshot, or the DOM after the page's script ran.

Chromium only ever gets file:// pages, with its background networking off. Under CI a missing Chromium fails
the test (CI installs it); elsewhere the test is skipped.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from tests.conftest import lab_unavailable

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic",
    "--disable-domain-reliability", "--no-pings",
]  # fmt: skip


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        lab_unavailable("chromium is not installed (apt-get install chromium)")
        raise AssertionError("unreachable")
    return found


def screenshot(page: Path, shot: Path, workdir: Path, size: tuple[int, int] = (1280, 1400)) -> None:
    subprocess.run(
        [chromium(), *FLAGS, f"--user-data-dir={workdir / 'profile'}", f"--screenshot={shot}",
         f"--window-size={size[0]},{size[1]}", page.as_uri()],
        capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    assert shot.exists(), "chromium wrote no screenshot"


def dump_dom(page: Path, workdir: Path, fragment: str = "") -> str:
    """The DOM as serialised after the page loaded (its inline script has run), opened at `#fragment`."""
    url = page.as_uri() + (f"#{fragment}" if fragment else "")
    run = subprocess.run(
        [chromium(), *FLAGS, f"--user-data-dir={workdir / 'profile'}", "--dump-dom", url],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert run.stdout.strip(), f"chromium dumped no DOM: {run.stderr[-2000:]}"
    return run.stdout


@dataclass
class LinkTable(HTMLParser):
    """The rows of the page's table of checks (#links) as {column: text}, the status line, and every tag."""

    rows: list[dict[str, str]] = field(default_factory=list)
    info: str = ""
    tags: list[str] = field(default_factory=list)
    _in_table: bool = False
    _in_body: bool = False
    _column: str | None = None
    _in_info: bool = False

    def __post_init__(self) -> None:
        super().__init__()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        attributes = dict(attrs)
        if tag == "table" and attributes.get("id") == "links":
            self._in_table = True
        elif self._in_table and tag == "tbody":
            self._in_body = True
        elif self._in_body and tag == "tr":
            self.rows.append({})
        elif self._in_body and tag == "td":
            self._column = attributes.get("data-col") or ""
            self.rows[-1][self._column] = ""
        elif attributes.get("id") == "links-info":
            self._in_info = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._column = None
        elif tag == "tbody":
            self._in_body = False
        elif tag == "table":
            self._in_table = False
        elif tag == "span" and self._in_info:
            self._in_info = False

    def handle_data(self, data: str) -> None:
        if self._column is not None:
            self.rows[-1][self._column] += data
        elif self._in_info:
            self.info += data


def link_table(dom: str) -> LinkTable:
    table = LinkTable()
    table.feed(dom)
    return table
