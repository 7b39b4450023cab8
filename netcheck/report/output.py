"""Writing a report where the user asked: a file (replaced atomically) or stdout; and reading saved reports back
for `report` and `merge`."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from netcheck import __version__
from netcheck.errors import InputError
from netcheck.files import REPORT_LIMIT, output_target, read_text_limited, write_output
from netcheck.model import Report
from netcheck.report.formats import Format, render


@dataclass(frozen=True)
class Output:
    """Where and how a report is written."""

    format: Format = Format.TABLE
    path: Path | None = None
    redact: bool = False
    quiet: bool = False
    verbose: bool = False
    show_all: bool = False
    """--all: list every check, passing ones too (the table)."""


def check_writable(path: Path, what: str = "--output") -> None:
    """Refuse an output path that cannot be written (InputError) before spending minutes on probes."""
    output_target(path, what)


def write_text(path: Path | None, chunks: Iterable[str]) -> None:
    """`chunks` to `path` or, without one, to stdout. A regular file is replaced through a temporary file (a
    reader never sees half a report); devices, FIFOs and /dev/stdout are written through (netcheck/files.py).
    stdout's reader having gone (`| head -1`) ends the writing quietly: the exit code still tells the verdict."""
    if path is not None:
        write_output(output_target(path), chunks)
        return
    try:
        for chunk in chunks:
            sys.stdout.write(chunk)
        sys.stdout.flush()
    except BrokenPipeError:
        reader_gone()


def reader_gone() -> None:
    """stdout's reader has gone: point stdout at /dev/null, so the interpreter's last flush does not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def emit(report: Report, output: Output, say: Callable[[str], None]) -> None:
    """Render the report (redacted if asked) and write it; a report written to a file is followed by its summary
    line on the terminal (through `say`), so the summary never ends up inside the report."""
    from netcheck.report.base import summary_line  # noqa: PLC0415

    if output.redact:
        from netcheck.report.redact import redact  # noqa: PLC0415

        report = redact(report)
    to_stdout = output.path is None or output_target(output.path).is_stdout
    chunks: Iterable[str]
    if output.format is Format.TABLE:
        from netcheck.report.table import Terminal, table_chunks, terminal  # noqa: PLC0415

        where = terminal()  # a file gets the width (COLUMNS, else 80), never colour
        chosen = where if to_stdout else Terminal(where.width if os.environ.get("COLUMNS") else 80, colour=False)
        chunks = table_chunks(report, verbose=output.verbose, show_all=output.show_all, terminal_=chosen)
    else:
        chunks = render(report, output.format, verbose=output.verbose, show_all=output.show_all)
    write_text(output.path, chunks)
    if output.path and not output.quiet and not to_stdout:
        say(f"{summary_line(report)}; report written to {output.path}")


def load_report(path: Path) -> Report:
    """A saved JSON report; a file that is not one is an InputError naming it."""
    from netcheck.report.json import ReportError, parse_report  # noqa: PLC0415

    try:
        return parse_report(read_text_limited(path, "report", REPORT_LIMIT))
    except ReportError as exc:
        raise InputError(f"{path}: {exc}") from None


def combine(files: Sequence[Path], unreachable: Sequence[str], warn: Callable[[str], None]) -> Report:
    """`report` and `merge`: one saved report as it is, or several (and agents that could not be reached,
    HOST[=REASON]) merged into one, each merge note passed to `warn`."""
    from netcheck.report.json import ReportError  # noqa: PLC0415
    from netcheck.report.merge import merge_with_notes, parse_unreachable  # noqa: PLC0415

    reports = [load_report(path) for path in files]
    try:
        hosts = [parse_unreachable(spec) for spec in unreachable]
        if len(reports) == 1 and not hosts:
            return reports[0]
        merged = merge_with_notes(reports, tool_version=__version__, unreachable=hosts)
    except ReportError as exc:
        raise InputError(str(exc)) from None
    for note in merged.notes:
        warn(note)
    return merged.report
