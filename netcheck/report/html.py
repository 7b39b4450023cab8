"""One self-contained HTML file (no external assets): a diagram of the roles and links coloured by verdict,
what fails with its fix, and every check."""

from __future__ import annotations

from html import escape as _html_escape

from netcheck.model.checks import Report
from netcheck.model.kinds import Verdict
from netcheck.report.base import group_links, heading, link_label, needs_attention, ordered, summary_line, worst
from netcheck.report.text import visible

COLOURS = {
    Verdict.PASS: "#2e7d32",
    Verdict.WARN: "#ed6c02",
    Verdict.FAIL: "#c62828",
    Verdict.ERROR: "#6a1b9a",
    Verdict.SKIP: "#9e9e9e",
}

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 24px; color: #1b1b1b; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 24px 0 8px; }
.meta { color: #555; font-size: 13px; } .summary { font-weight: 600; margin: 12px 0; font-size: 15px; }
table { border-collapse: collapse; font-size: 13px; width: 100%; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
.badge { color: #fff; border-radius: 4px; padding: 1px 6px; font-weight: 600; font-size: 12px; }
li { margin-bottom: 6px; } code { background: #f3f3f3; padding: 0 3px; }
svg text { font-family: system-ui, sans-serif; }
"""


def escape(text: object) -> str:
    """HTML-escaped, with control characters shown (`visible`): the page shows what the network sent."""
    return _html_escape(visible(text))


def badge(verdict: Verdict) -> str:
    return f'<span class="badge" style="background:{COLOURS[verdict]}">{escape(verdict.upper())}</span>'


def diagram(report: Report) -> str:
    """An SVG of who connects to whom: one box per machine, one line per pair, coloured by its worst verdict."""
    sources, targets, edges = group_links(
        report,
        lambda r: f"{r.check.source}: {r.source_host or report.vantage.hostname}",
        lambda r: f"{r.check.target.role}: {r.check.target.name}",
    )
    if not edges:
        return "<p>No network links in this report.</p>"
    row_h, box_w, box_h, left, right = 62, 250, 40, 20, 560
    height = max(len(sources), len(targets)) * row_h + 60
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{right + box_w + 20}" height="{height}" role="img" aria-label="links">'
    ]

    def y_of(index: int, count: int) -> float:
        offset = (max(len(sources), len(targets)) - count) * row_h / 2
        return 20 + offset + index * row_h

    source_row = {name: index for index, name in enumerate(sources)}  # dict lookups: list.index made this quadratic
    target_row = {name: index for index, name in enumerate(targets)}
    for (source, target), results in edges.items():
        y1 = y_of(source_row[source], len(sources)) + box_h / 2
        y2 = y_of(target_row[target], len(targets)) + box_h / 2
        colour = COLOURS[worst(r.verdict for r in results)]
        label = ", ".join(f"{r.check.port} {r.verdict}" for r in results)
        parts.append(f'<line x1="{left + box_w}" y1="{y1}" x2="{right}" y2="{y2}" stroke="{colour}" stroke-width="3"/>')
        # Labels sit 70% of the way to the target, where lines that share a source have spread apart.
        x, y = left + box_w + 0.7 * (right - left - box_w), y1 + 0.7 * (y2 - y1)
        parts.append(
            f'<text x="{x:.0f}" y="{y - 5:.0f}" font-size="12" text-anchor="middle" fill="{colour}">{escape(label)}</text>'
        )
    for names, x in ((sources, left), (targets, right)):
        for index, name in enumerate(names):
            y = y_of(index, len(names))
            parts.append(f'<rect x="{x}" y="{y}" width="{box_w}" height="{box_h}" rx="6" fill="#f7f9fc" stroke="#455a64"/>')
            parts.append(f'<text x="{x + box_w / 2}" y="{y + 25}" font-size="13" text-anchor="middle">{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_html(report: Report) -> str:
    attention = needs_attention(report)
    fixes = "".join(
        f"<li>{badge(r.verdict)} <code>{escape(link_label(r))}</code> {escape(r.address or '')}: {escape(r.detail)}"
        + (f"<br><b>Fix:</b> {escape(r.remediation)}" if r.remediation else "")
        + "</li>"
        for r in attention
    )
    rows = "".join(
        "<tr>"
        + f"<td>{badge(r.verdict)}</td><td><code>{escape(link_label(r))}</code></td><td>{escape(r.address or '')}</td>"
        + f"<td>{escape(r.state)}</td><td>{escape(r.detail)}</td><td>{escape(r.check.purpose)}</td>"
        + "</tr>"
        for r in ordered(report.results)
    )
    legend = " ".join(f"{badge(v)}" for v in COLOURS)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>netcheck report: {escape(report.vantage.hostname)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>netcheck report</h1><div class='meta'>{escape(heading(report))}; started {escape(report.started_at)}</div>"
        f"<div class='summary' style='color:{COLOURS[report.verdict]}'>{escape(summary_line(report))}</div>"
        f"<h2>Links</h2>{diagram(report)}<div class='meta'>Colours: {legend}</div>"
        + (f"<h2>What fails, and how to fix it</h2><ul>{fixes}</ul>" if attention else "")
        + "<h2>All checks</h2><table><thead><tr><th>verdict</th><th>check</th><th>address</th><th>state</th>"
        f"<th>detail</th><th>purpose</th></tr></thead><tbody>{rows}</tbody></table></body></html>\n"
    )


def html_chunks(report: Report, *, verbose: bool) -> list[str]:
    return [render_html(report)]
