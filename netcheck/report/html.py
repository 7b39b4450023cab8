"""One self-contained HTML file that a helpdesk opens: the verdict, the diagnosis groups with their fixes, a
matrix of roles x ports, a diagram of small sites, and every check in a table that filters and sorts.

The summary, the groups, the matrix and the diagram are static HTML, readable with JavaScript off and printable.
The table is drawn by a short inline script from one `<script type="application/json">` block, a page of rows at a
time, so a report of 50,000 checks is a few MB and not 50,000 DOM rows. Nothing is loaded from the network.

Every string from the network or a report file (host names, banners) is hostile input: static HTML escapes it;
the JSON block escapes `<`, `>` and `&` (no `</script>` can end it) and the script writes cells as text only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from html import escape as _html_escape

import orjson

from netcheck.model.checks import Report, Result
from netcheck.model.kinds import Kind, Role, State, Verdict
from netcheck.report.base import ORDER, heading, summary_line, worst
from netcheck.report.diagnosis import Diagnosis, Group, diagnose, first_machines, plural, state_words
from netcheck.report.text import visible

COLOURS = {
    Verdict.PASS: "#2e7d32",
    Verdict.WARN: "#b45309",
    Verdict.FAIL: "#c62828",
    Verdict.ERROR: "#6a1b9a",
    Verdict.SKIP: "#757575",
}
TINTS = {
    Verdict.PASS: "#e8f5e9",
    Verdict.WARN: "#fff3e0",
    Verdict.FAIL: "#ffebee",
    Verdict.ERROR: "#f3e5f5",
    Verdict.SKIP: "#f5f5f5",
}
VERDICTS = tuple(ORDER)  # fail, error, warn, pass, skip: the order of the page, and the JSON's verdict codes
ROLE_ORDER = (Role.CONSOLE, Role.MANAGEMENT_SERVER, Role.LICENSE_SERVER, Role.AGENT)
DIAGRAM_LIMIT = 40
"""The most links the diagram draws; above that a diagram is no longer legible and the page says so."""
MACHINES_SHOWN = 12
"""Machines a group names in the static page before "and N more" (the table lists them all)."""
PAGE_ROWS = 100
"""Rows the table draws at a time."""

_STYLE = """
:root { --pass:#2e7d32; --warn:#b45309; --fail:#c62828; --error:#6a1b9a; --skip:#757575; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 24px; color: #1b1b1b;
  max-width: 1400px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; }
.meta { color: #555; font-size: 13px; } .note { color: #555; font-size: 13px; margin: 6px 0; }
.headline { font-size: 19px; font-weight: 700; margin: 14px 0 8px; padding: 10px 14px; border-left: 6px solid;
  border-radius: 4px; }
.counts { display: flex; gap: 10px; flex-wrap: wrap; margin: 8px 0; }
.count { border: 1px solid #ddd; border-radius: 6px; padding: 6px 12px; font-size: 14px; }
.count b { font-size: 18px; margin-right: 4px; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
.badge { color: #fff; border-radius: 4px; padding: 1px 6px; font-weight: 600; font-size: 12px; white-space: nowrap; }
.v-pass { background: var(--pass); } .v-warn { background: var(--warn); } .v-fail { background: var(--fail); }
.v-error { background: var(--error); } .v-skip { background: var(--skip); }
.t-pass { color: var(--pass); } .t-warn { color: var(--warn); } .t-fail { color: var(--fail); }
.t-error { color: var(--error); } .t-skip { color: var(--skip); }
ol.groups { padding-left: 22px; } ol.groups > li { margin-bottom: 14px; }
.blocks { font-weight: 700; color: var(--fail); } .link { color: #555; } .fix-note { color: #333; margin-top: 3px; }
.cause { font-weight: 600; } .fix { margin-top: 3px; } .machines { color: #333; font-size: 13px; margin-top: 3px; }
.matrix td.cell { white-space: nowrap; } .matrix td.none { color: #aaa; }
.diagram { overflow-x: auto; border: 1px solid #eee; }
svg text { font-family: system-ui, sans-serif; }
.controls { display: flex; gap: 10px; flex-wrap: wrap; align-items: center; margin: 8px 0; font-size: 14px; }
.controls input[type=search] { width: 260px; } .controls select { max-width: 360px; }
#links { width: 100%; } #links th { cursor: pointer; user-select: none; white-space: nowrap; }
#links th[aria-sort=ascending]::after { content: " \\25B2"; } #links th[aria-sort=descending]::after { content: " \\25BC"; }
#links { table-layout: fixed; } #links td { overflow-wrap: anywhere; }
#links th[data-col=verdict] { width: 64px; } #links th[data-col=port] { width: 52px; }
#links th[data-col=check] { width: 13%; } #links th[data-col=from] { width: 11%; } #links th[data-col=to] { width: 15%; }
#links td[data-col=verdict], #links td[data-col=port] { white-space: nowrap; }
.pager { margin: 8px 0; font-size: 14px; } .pager button { margin-right: 6px; }
.print-only { display: none; }
@media print {
  body { margin: 0; max-width: none; } .controls, .pager button, .no-print { display: none !important; }
  .print-only { display: block; } .diagram { overflow: visible; border: 0; } .diagram svg { max-width: 100%; height: auto; }
  h2 { break-after: avoid; } li, tr { break-inside: avoid; } #links { font-size: 11px; }
  .badge, .headline, .count, td { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""

# The table's script: reads the JSON block, filters (verdict, role, port, group, free text), sorts by a column and
# draws one page of rows as text nodes. The filter lives in the URL's fragment (#verdict=fail&port=445&q=win),
# so a filtered view can be linked to, and the tests set it from outside.
_SCRIPT = r"""
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("netcheck-data").textContent);
  var S = D.strings, R = D.rows, V = D.verdicts, G = D.groups, PAGE = D.page;
  var COLS = ["verdict", "check", "from", "to", "port", "found", "fix"];
  var table = document.getElementById("links"), body = table.tBodies[0], info = document.getElementById("links-info");
  var f = {verdict: document.getElementById("f-verdict"), role: document.getElementById("f-role"),
           port: document.getElementById("f-port"), group: document.getElementById("f-group"),
           q: document.getElementById("f-q")};
  var state = {verdict: "", role: "", port: "", group: "", q: "", sort: "", desc: false, page: 1};
  var hay = null, shown = [];
  function str(i) { return i < 0 ? "" : S[i]; }
  function fill(t, row) {
    return str(t).split("\u0001").join(str(row[5])).split("\u0002").join(str(row[7]));
  }
  function from(row) { return str(row[2]) + (row[3] >= 0 ? " " + str(row[3]) : ""); }
  function to(row) {
    var name = str(row[5]), address = str(row[7]);
    return str(row[4]) + (name ? " " + name : "") + (address && address !== name ? " (" + address + ")" : "");
  }
  function check(row) { return row[12] >= 0 ? str(row[12]) : str(row[1]); }
  function found(row) {
    var parts = [str(row[8]), row[9] >= 0 ? fill(row[9], row) : ""].filter(Boolean).join(": ");
    return parts + (row[14] >= 0 ? " \u26a0 " + str(row[14]) : "");
  }
  function cell(row, c) {
    switch (c) {
      case "verdict": return V[row[0]]; case "check": return check(row); case "from": return from(row);
      case "to": return to(row); case "port": return row[6] ? String(row[6]) : "";
      case "found": return found(row); default: return fill(row[10], row);
    }
  }
  function text(row) {
    return [check(row), from(row), to(row), found(row), fill(row[10], row), str(row[11])]
      .join("\n").toLowerCase();
  }
  function options(select, values) {
    values.forEach(function (v) {
      var o = document.createElement("option"); o.value = v[0]; o.textContent = v[1]; select.appendChild(o);
    });
  }
  var roles = {}, ports = {}, verdicts = {};
  R.forEach(function (row) {
    verdicts[row[0]] = 1; if (row[2] >= 0) roles[str(row[2])] = 1; if (row[4] >= 0) roles[str(row[4])] = 1;
    if (row[6]) ports[row[6]] = 1;
  });
  options(f.verdict, Object.keys(verdicts).sort().map(function (k) { return [V[k], V[k]]; }));
  options(f.role, Object.keys(roles).sort().map(function (k) { return [k, k]; }));
  options(f.port, Object.keys(ports).map(Number).sort(function (a, b) { return a - b; })
    .map(function (k) { return [String(k), String(k)]; }));
  options(f.group, G.map(function (g, i) {
    return [String(i + 1), (i + 1) + ". " + (g.length > 70 ? g.slice(0, 69) + "\u2026" : g)];
  }));
  function readHash() {
    var h = new URLSearchParams(location.hash.replace(/^#/, ""));
    ["verdict", "role", "port", "group", "q", "sort"].forEach(function (k) { state[k] = h.get(k) || ""; });
    state.desc = h.get("desc") === "1"; state.page = Math.max(1, parseInt(h.get("page") || "1", 10) || 1);
    ["verdict", "role", "port", "group", "q"].forEach(function (k) { f[k].value = state[k]; });
  }
  function writeHash() {
    var h = new URLSearchParams();
    ["verdict", "role", "port", "group", "q", "sort"].forEach(function (k) { if (state[k]) h.set(k, state[k]); });
    if (state.desc) h.set("desc", "1"); if (state.page > 1) h.set("page", String(state.page));
    var s = h.toString(); history.replaceState(null, "", s ? "#" + s : location.pathname + location.search);
  }
  function key(row, c) {
    if (c === "verdict") return row[0]; if (c === "port") return row[6];
    return cell(row, c).toLowerCase();
  }
  function apply() {
    var v = V.indexOf(state.verdict), port = state.port ? Number(state.port) : 0;
    var group = state.group ? Number(state.group) - 1 : -1, role = state.role, q = state.q.trim().toLowerCase();
    if (q && !hay) hay = R.map(text);
    shown = [];
    for (var i = 0; i < R.length; i++) {
      var row = R[i];
      if (state.verdict && row[0] !== v) continue;
      if (port && row[6] !== port) continue;
      if (group >= 0 && row[13].indexOf(group) < 0) continue;
      if (role && str(row[2]) !== role && str(row[4]) !== role) continue;
      if (q && hay[i].indexOf(q) < 0) continue;
      shown.push(i);
    }
    if (state.sort) {
      var c = state.sort, sign = state.desc ? -1 : 1;
      shown.sort(function (a, b) {
        var x = key(R[a], c), y = key(R[b], c);
        return (x < y ? -1 : x > y ? 1 : a - b) * sign;
      });
    }
    draw();
  }
  function draw() {
    var pages = Math.max(1, Math.ceil(shown.length / PAGE));
    if (state.page > pages) state.page = pages;
    var start = (state.page - 1) * PAGE, end = Math.min(shown.length, start + PAGE), frag = document.createDocumentFragment();
    for (var i = start; i < end; i++) {
      var row = R[shown[i]], tr = document.createElement("tr");
      tr.className = "r-" + V[row[0]];
      COLS.forEach(function (c) {
        var td = document.createElement("td");
        if (c === "verdict") {
          var b = document.createElement("span"); b.className = "badge v-" + V[row[0]];
          b.textContent = V[row[0]].toUpperCase(); td.appendChild(b);
        } else { td.textContent = cell(row, c); }
        td.setAttribute("data-col", c); tr.appendChild(td);
      });
      frag.appendChild(tr);
    }
    body.replaceChildren(frag);
    info.textContent = shown.length ? "Rows " + (start + 1) + "\u2013" + end + " of " + shown.length + " shown (" +
      R.length + " checks in all); page " + state.page + " of " + pages : "No check matches (" + R.length + " in all)";
    document.getElementById("prev").disabled = state.page <= 1;
    document.getElementById("next").disabled = state.page >= pages;
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
      var c = th.getAttribute("data-col");
      if (c === state.sort) th.setAttribute("aria-sort", state.desc ? "descending" : "ascending");
      else th.removeAttribute("aria-sort");
    });
    writeHash();
  }
  ["verdict", "role", "port", "group"].forEach(function (k) {
    f[k].addEventListener("change", function () { state[k] = f[k].value; state.page = 1; apply(); });
  });
  f.q.addEventListener("input", function () { state.q = f.q.value; state.page = 1; apply(); });
  document.getElementById("reset").addEventListener("click", function () { location.hash = ""; readHash(); apply(); });
  document.getElementById("prev").addEventListener("click", function () { state.page--; draw(); });
  document.getElementById("next").addEventListener("click", function () { state.page++; draw(); });
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
    function sortHere() {
      var c = th.getAttribute("data-col");
      state.desc = state.sort === c ? !state.desc : false; state.sort = c; state.page = 1; apply();
    }
    th.tabIndex = 0; th.title = "Sort by this column";
    th.addEventListener("click", sortHere);
    th.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortHere(); } });
  });
  window.addEventListener("hashchange", function () { readHash(); apply(); });
  document.getElementById("links-section").hidden = false;
  readHash(); apply();
  document.documentElement.setAttribute("data-drawn-ms", String(Math.round(performance.now())));
})();
"""


def escape(text: object) -> str:
    """HTML-escaped, with control characters shown (`visible`): the page shows what the network sent."""
    return _html_escape(visible(text))


def badge(verdict: Verdict) -> str:
    return f'<span class="badge v-{verdict}">{escape(verdict.upper())}</span>'


def _machine_of(report: Report, result: Result) -> str:
    """The machine that ran a check: its host in a merged report, else the report's vantage point."""
    return result.source_host or report.vantage.hostname


# --- the summary and the groups ------------------------------------------------------------------------------


def _summary(report: Report, diagnosis: Diagnosis) -> str:
    verdict = report.verdict
    words = diagnosis.headline
    prefix = f"{verdict.upper()}: "
    words = words[len(prefix) :] if words.startswith(prefix) else words
    counts = "".join(
        f'<div class="count"><b class="t-{v}">{report.count(v):,}</b>{escape(v)}</div>' for v in VERDICTS if report.count(v)
    )
    return (
        f'<div class="headline" style="border-color:{COLOURS[verdict]};background:{TINTS[verdict]}">'
        f"{badge(verdict)} {escape(words)}</div>"
        f'<div class="counts">{counts}</div><div class="meta">{escape(summary_line(report))}</div>'
    )


def _groups_html(groups: Sequence[Group]) -> str:
    if not groups:
        return "<h2>What to fix</h2><p>Nothing: every check passed or was not needed.</p>"
    items = []
    for number, group in enumerate(groups, 1):
        blocks = "<span class='blocks'>blocks every agent: fix first</span> " if group.blocks_all else ""
        checks = plural(len(group.checks), "check")
        items.append(
            f"<li id='group-{number}'>{badge(group.verdict)} {blocks}<span class='cause'>{escape(group.cause)}</span>"
            f"<div class='machines'><b>{escape(plural(group.count, 'machine'))}</b>"
            + (f": {escape(first_machines(group.machines, MACHINES_SHOWN))}" if group.machines else "")
            + (f" <span class='link'>({escape(group.link)})</span>" if group.link else "")
            + f" <a class='no-print' href='#group={number}'>show the {checks}</a></div>"
            + (f"<div class='fix'><b>Fix:</b> {escape(group.fix)}</div>" if group.fix else "")
            + (f"<div class='fix-note'>{escape(group.note)}</div>" if group.note else "")
            + "</li>"
        )
    return f"<h2>What to fix, most blocking first</h2><ol class='groups'>{''.join(items)}</ol>"


# --- the matrix of roles x ports -----------------------------------------------------------------------------


def role_port_matrix(report: Report) -> tuple[list[str], list[int], dict[tuple[str, int], Counter[Verdict]]]:
    """(rows: 'source role -> target role', columns: ports, cells: verdict counts) over the TCP links."""
    cells: dict[tuple[str, int], Counter[Verdict]] = {}
    for result in report.results:
        check = result.check
        if check.kind is not Kind.TCP or check.port is None:
            continue
        row = f"{check.source} \u2192 {check.target.role}"
        cells.setdefault((row, check.port), Counter())[result.verdict] += 1
    rank = {str(role): i for i, role in enumerate(ROLE_ORDER)}

    def row_order(row: str) -> tuple[int, int]:
        source, _, target = row.partition(" \u2192 ")
        return rank.get(source, 9), rank.get(target, 9)

    rows = sorted({row for row, _ in cells}, key=row_order)
    ports = sorted({port for _, port in cells})
    return rows, ports, cells


def _matrix_html(report: Report) -> str:
    rows, ports, cells = role_port_matrix(report)
    if not rows:
        return ""
    head = "".join(f"<th>TCP {port}</th>" for port in ports)
    body = []
    for row in rows:
        tds = []
        for port in ports:
            counts = cells.get((row, port))
            if not counts:
                tds.append("<td class='none'>\u2014</td>")
                continue
            worst_verdict = worst(counts)
            parts = " \u00b7 ".join(f"<span class='t-{v}'>{counts[v]:,} {escape(v)}</span>" for v in VERDICTS if counts[v])
            tds.append(f"<td class='cell' style='background:{TINTS[worst_verdict]}'>{parts}</td>")
        body.append(f"<tr><th>{escape(row)}</th>{''.join(tds)}</tr>")
    return (
        "<h2>Links by role and port</h2><p class='note'>How many links from each role to each role passed, warned or "
        "failed, per TCP port.</p>"
        f"<table class='matrix'><thead><tr><th>from \u2192 to</th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


# --- the diagram ---------------------------------------------------------------------------------------------


class _Machine:
    """One box of the diagram: a machine under every name and address it was seen by."""

    __slots__ = ("name", "names", "own", "role", "unreachable")

    def __init__(self, name: str, role: Role) -> None:
        self.name = name
        self.role = role
        self.names: list[str] = [name]
        self.own: list[Verdict] = []
        self.unreachable = False


class _Machines:
    """Machines found by name or address, so a host that is a vantage point and a target is one box."""

    def __init__(self) -> None:
        self.all: list[_Machine] = []
        self._by_alias: dict[str, _Machine] = {}

    def find(self, *aliases: str) -> _Machine | None:
        for alias in aliases:
            if alias and (found := self._by_alias.get(alias.lower())):
                return found
        return None

    def get(self, name: str, role: Role, *aliases: str) -> _Machine:
        machine = self.find(name, *aliases)
        if machine is None:
            machine = _Machine(name, role)
            self.all.append(machine)
        for alias in (name, *aliases):
            if alias and alias.lower() not in self._by_alias:
                self._by_alias[alias.lower()] = machine
                if alias not in machine.names:
                    machine.names.append(alias)
        return machine


def _machines_and_edges(report: Report) -> tuple[list[_Machine], dict[tuple[int, int], list[Result]]]:
    machines = _Machines()
    for vantage in report.merged_from or (report.vantage,):
        machines.get(vantage.hostname, vantage.role, *vantage.addresses)
    resolved = {
        r.check.target.name.lower(): r.address for r in report.results if r.check.kind is Kind.NAME and r.address
    }  # a name and the address it resolved to are one machine
    edges: dict[tuple[int, int], list[Result]] = {}
    index: dict[int, int] = {}

    def position(machine: _Machine) -> int:
        return index.setdefault(id(machine), machines.all.index(machine))

    for result in report.results:
        check = result.check
        source = machines.get(_machine_of(report, result), check.source)
        if check.kind in (Kind.HOST, Kind.DISCOVERY) and check.target.name == "this machine":
            source.own.append(result.verdict)
        elif check.kind is Kind.HOST and result.state is State.UNREACHABLE:
            source.unreachable = True
            source.own.append(result.verdict)
        elif check.kind is Kind.TCP:
            name = check.target.name
            address = result.address or resolved.get(name.lower(), "")
            target = machines.get(name, check.target.role, address)
            edges.setdefault((position(source), position(target)), []).append(result)
    return machines.all, edges


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


_ROLE_LABEL = {Role.CONSOLE: "console", Role.MANAGEMENT_SERVER: "management server", Role.LICENSE_SERVER: "license server"}


def _box(machine: _Machine, x: float, box_w: int, heights: tuple[int, int, int], fits: int) -> str:
    """A machine's box (its role, its name, its other names) and its lifeline; coloured by its own checks."""
    top, box_h, height = heights
    centre = x + box_w / 2
    verdict = worst(machine.own) if machine.own else None
    stroke = COLOURS[verdict] if verdict and verdict is not Verdict.PASS else "#455a64"
    fill = TINTS[verdict] if verdict else "#f7f9fc"
    dash = ' stroke-dasharray="6 4"' if machine.unreachable else ""
    role = _ROLE_LABEL.get(machine.role, str(machine.role))
    state = " \u00b7 unreachable" if machine.unreachable else (f" \u00b7 {verdict}" if verdict else "")
    others = ", ".join(machine.names[1:])
    title = escape(", ".join(machine.names) + f" ({role}{state})")
    return (
        f'<line x1="{centre}" y1="{top + box_h}" x2="{centre}" y2="{height - 6}" stroke="#cfd8dc" stroke-dasharray="3 4"/>'
        f'<g class="machine" data-machine="{escape(machine.name)}" data-verdict="{verdict or ""}"><title>{title}</title>'
        f'<rect x="{x}" y="{top}" width="{box_w}" height="{box_h}" rx="6" fill="{fill}" stroke="{stroke}" '
        f'stroke-width="{3 if stroke != "#455a64" else 1.5}"{dash}/>'
        f'<text x="{centre}" y="{top + 18}" font-size="11" text-anchor="middle" fill="#555">'
        f"{escape(_short(role + state, box_w // 6))}</text>"
        f'<text x="{centre}" y="{top + 35}" font-size="13" font-weight="600" text-anchor="middle">'
        f"{escape(_short(machine.name, fits))}</text>"
        + (
            f'<text x="{centre}" y="{top + 50}" font-size="11" text-anchor="middle" fill="#555">'
            f"{escape(_short(others, fits + 4))}</text>"
            if others
            else ""
        )
        + "</g>"
    )


def _edge(results: Sequence[Result], x1: float, x2: float, y: float) -> str:
    """One pair of machines: an arrow in its own row, labelled with each port and its worst verdict."""
    edge_verdict = worst(r.verdict for r in results)
    colour = COLOURS[edge_verdict]
    by_port: dict[int | None, list[Verdict]] = {}
    for r in results:
        by_port.setdefault(r.check.port, []).append(r.verdict)
    spans = [(f"{port} {worst(verdicts)}", worst(verdicts)) for port, verdicts in by_port.items()]
    label_len = sum(len(text) + 3 for text, _ in spans)
    marker = f'stroke="{colour}" stroke-width="2.5" marker-end="url(#arrow-{edge_verdict})"'
    if x1 == x2:  # a machine's link to itself (one machine in two roles): a short loop to the right
        line = f'<path d="M{x1},{y - 6} h24 v12 h-24" fill="none" {marker}/>'
        label_x, anchor = x1 + 30, "start"
    else:
        direction = 1 if x2 > x1 else -1
        line = f'<line x1="{x1 + direction * 4}" y1="{y}" x2="{x2 - direction * 6}" y2="{y}" {marker}/>'
        label_x, anchor = (x1 + x2) / 2, "middle"
    text_w = label_len * 6.6
    left = label_x - text_w / 2 if anchor == "middle" else label_x - 2
    tspans = " \u00b7 ".join(f'<tspan fill="{COLOURS[v]}">{escape(text)}</tspan>' for text, v in spans)
    return (
        f'{line}<rect class="edge-label" x="{left:.0f}" y="{y - 17:.0f}" width="{text_w:.0f}" height="14" fill="#fff" '
        f'opacity="0.9"/><text x="{label_x:.0f}" y="{y - 6:.0f}" font-size="12" font-weight="600" '
        f'text-anchor="{anchor}">{tspans}</text>'
    )


def diagram(report: Report) -> str:
    """An SVG of who connects to whom, for small sites: each machine once, as a column (consoles first, agents
    last) with its own box coloured by its own checks; each pair of machines one arrow in a row of its own, with
    its label (every port and verdict) in that row, so no two labels can overlap."""
    links = sum(1 for r in report.results if r.check.kind is Kind.TCP)
    if links > DIAGRAM_LIMIT:
        return (
            f"<p class='note'>No diagram: this report has {links} links, more than the {DIAGRAM_LIMIT} a diagram shows "
            "legibly. The matrix above counts them by role and port; the table below lists every one.</p>"
        )
    machines, edges = _machines_and_edges(report)
    if not machines:
        return "<p class='note'>No machines in this report.</p>"
    rank = {role: i for i, role in enumerate(ROLE_ORDER)}
    order = sorted(range(len(machines)), key=lambda i: (rank.get(machines[i].role, 9), i))
    column = {machine_index: n for n, machine_index in enumerate(order)}
    col_w = max(100, min(150, 1160 // len(machines)))  # fits a 1280-pixel window up to 11 machines, scrolls beyond
    box_w, box_h, top, row_h, margin = col_w - 8, 58, 34, 34, 12
    fits = box_w // 7  # characters of a name that fit in a box
    pairs = sorted(edges, key=lambda pair: (column[pair[0]], column[pair[1]]))
    width = margin * 2 + col_w * len(machines)
    height = top + box_h + 18 + row_h * max(1, len(pairs)) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'role="img" aria-label="machines and links">',
        "<defs>"
        + "".join(
            f'<marker id="arrow-{v}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
            f'orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{COLOURS[v]}"/></marker>'
            for v in VERDICTS
        )
        + "</defs>",
    ]
    for machine_index in order:
        x = margin + column[machine_index] * col_w + (col_w - box_w) / 2
        parts.append(_box(machines[machine_index], x, box_w, (top, box_h, height), fits))
    for row, pair in enumerate(pairs):
        y = top + box_h + 18 + row * row_h + row_h / 2 + 4
        x1 = margin + column[pair[0]] * col_w + col_w / 2
        x2 = margin + column[pair[1]] * col_w + col_w / 2
        parts.append(_edge(edges[pair], x1, x2, y))
    parts.append("</svg>")
    legend = " ".join(badge(v) for v in VERDICTS)
    return (
        f"<div class='diagram'>{''.join(parts)}</div><p class='note'>Each machine once, as a column; each arrow one pair "
        "of machines, labelled with its ports and their verdicts. A box's colour is its own checks (free ports, "
        f"firewall, privileges); a dashed box could not be checked. Colours: {legend}</p>"
    )


# --- the data of the table -----------------------------------------------------------------------------------


class _Strings:
    """Each distinct string of the table once, made `visible` once; rows hold its index (-1: none)."""

    def __init__(self) -> None:
        self.values: list[str] = []
        self._index: dict[tuple[str, bool], int] = {}

    def __call__(self, text: str | None, *, shown: bool = False) -> int:
        """The index of `text`; `shown`: it has been made visible already (a template with its markers)."""
        if not text:
            return -1
        found = self._index.get((text, shown))
        if found is None:
            found = self._index[text, shown] = len(self.values)
            self.values.append(text if shown else visible(text))
        return found


def _template(text: str, name: str, address: str) -> str:
    """`text` with the target's name and address as \\x01 and \\x02, so the detail and the fix that 10,000 agents
    share are one string; the page puts them back. `visible` escapes control characters in the rest, so neither
    marker can come from the network."""
    if not text:
        return text
    if address and address != name:
        text = text.replace(address, "\x02")
    return text.replace(name, "\x01") if name else text


def _state_unless_said(words: str, detail: str) -> str:
    """The state in words, unless the detail starts by saying the same ("reachable; nothing listens yet ...")."""

    def letters(text: str) -> str:
        return "".join(c for c in text[:40].lower() if c.isalnum())

    return "" if letters(detail).startswith(letters(words)[:20]) else words


def _groups_of(result: Result, diagnosis: Diagnosis, by_id: dict[str, list[int]]) -> list[int]:
    """The (0-based) groups a result is in: the one the diagnosis placed it in, and any whose checks name it (a
    pass made suspect by a held port)."""
    placed = diagnosis.placed.get(id(result))
    named = by_id.get(result.check.id, [])
    return named if placed is None or placed in named else [placed, *named]


def table_data(report: Report, diagnosis: Diagnosis) -> dict[str, object]:
    """The JSON the table is drawn from: a string table and one row of indexes a check.

    A row: verdict code, kind, source role, source host, target role, target name, port (0: none), address,
    state words, detail (templated), fix (templated), purpose, label (-1: a link, drawn from its parts), the
    numbers of the groups the check belongs to, and the note beside its row (a pass that may have reached another
    program, a link a stale name misled)."""
    strings = _Strings()
    group_of: dict[str, list[int]] = {}
    groups = diagnosis.groups
    for number, group in enumerate(groups):
        for check_id in dict.fromkeys(group.checks):
            group_of.setdefault(check_id, []).append(number)
    codes = {v: i for i, v in enumerate(VERDICTS)}
    rows = []
    for result in report.results:
        check = result.check
        link = check.kind in (Kind.TCP, Kind.SERVICE)
        name = visible(check.target.name)
        address = visible(result.address or "")
        rows.append(
            [
                codes[result.verdict],
                strings(str(check.kind)),
                strings(str(check.source)),
                strings(_machine_of(report, result)),
                strings(str(check.target.role)),
                strings(check.target.name),
                check.port or 0,
                strings(result.address),
                strings(_state_unless_said(state_words(result), result.detail)),
                strings(_template(visible(result.detail), name, address), shown=True),
                strings(_template(visible(result.remediation), name, address), shown=True),
                strings(check.purpose),
                -1 if link else strings(check.id),
                _groups_of(result, diagnosis, group_of),
                strings(diagnosis.row_note(result)),
            ]
        )
    return {
        "verdicts": list(VERDICTS),
        "strings": strings.values,
        "rows": rows,
        "groups": [visible(g.cause) for g in groups],
        "page": PAGE_ROWS,
    }


def script_json(data: object) -> str:
    """JSON for a `<script type="application/json">` block: `<`, `>` and `&` escaped, so no `</script>` or
    `<!--` in a host name can end the block or change how the browser parses it."""
    text = orjson.dumps(data).decode()
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _table_section(report: Report, diagnosis: Diagnosis) -> Iterator[str]:
    headers = [
        ("verdict", "Verdict"),
        ("check", "Check"),
        ("from", "From"),
        ("to", "To"),
        ("port", "Port"),
        ("found", "What was found"),
        ("fix", "Fix"),
    ]
    ths = "".join(f'<th data-col="{col}" scope="col">{label}</th>' for col, label in headers)
    yield (
        f"<h2>Every check ({len(report.results)})</h2>"
        "<noscript><p class='note'>The list of every check needs JavaScript; the summary, the groups and the matrix "
        "above do not. The JSON report holds every check too.</p></noscript>"
        '<div id="links-section" hidden><div class="controls">'
        '<label>Verdict <select id="f-verdict"><option value="">all</option></select></label>'
        '<label>Role <select id="f-role"><option value="">all</option></select></label>'
        '<label>Port <select id="f-port"><option value="">all</option></select></label>'
        '<label>Group <select id="f-group"><option value="">all</option></select></label>'
        '<label>Text <input id="f-q" type="search" placeholder="host, address, words"></label>'
        '<button id="reset" type="button">Show all</button></div>'
        "<p class='print-only note'>Printed: the rows shown on screen. The JSON report holds every check.</p>"
        '<div class="pager"><button id="prev" type="button">Previous</button><button id="next" type="button">Next</button>'
        '<span id="links-info" role="status"></span></div>'
        f'<table id="links"><thead><tr>{ths}</tr></thead><tbody></tbody></table></div>'
        '<script type="application/json" id="netcheck-data">'
    )
    yield script_json(table_data(report, diagnosis))
    yield f"</script><script>{_SCRIPT}</script>"


# --- the page ------------------------------------------------------------------------------------------------


def _vantages(report: Report) -> str:
    if not report.merged_from:
        return ""
    items = "".join(
        f"<li>{escape(v.hostname)} as {escape(v.role)}"
        + (f" ({escape(', '.join(v.addresses))})" if v.addresses else "")
        + "</li>"
        for v in report.merged_from[:MACHINES_SHOWN]
    )
    more = len(report.merged_from) - MACHINES_SHOWN
    return (
        f"<details class='meta'><summary>{len(report.merged_from)} vantage points</summary><ul>{items}</ul>"
        + (f"<p>and {more} more</p>" if more > 0 else "")
        + "</details>"
    )


def html_parts(report: Report) -> Iterator[str]:
    """The page in parts: the head and the static sections, then the table's data and script."""
    diagnosis = diagnose(report)
    yield (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "script-src 'unsafe-inline'; img-src data:\">"
        f"<title>netcheck report: {escape(report.vantage.hostname)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>netcheck report</h1><div class='meta'>{escape(heading(report))}; started {escape(report.started_at)}</div>"
        f"{_vantages(report)}{_summary(report, diagnosis)}{_groups_html(diagnosis.groups)}{_matrix_html(report)}"
        f"<h2>Machines and links</h2>{diagram(report)}"
    )
    yield from _table_section(report, diagnosis)
    yield "</body></html>\n"


def render_html(report: Report) -> str:
    return "".join(html_parts(report))


def html_chunks(report: Report, *, verbose: bool) -> Iterable[str]:
    return html_parts(report)
