"""Self-contained HTML: the `check` report (render_check) and the `diff` (render_diff), one file each.

Everything is rendered here, in Python, from the documents the JSON contracts hold
(report_document, diff_document) and from what only a page shows: the judged date, the plugin
tables (CheckResult.plugins), the policy's exceptions and its content digest, and for each
heat-map cell how far its versions are from the row's target (versions.distance) and where the
records the check read hold them. Nothing is judged again. The page reads without JavaScript
and prints legibly; the script only filters, sorts and moves the keyboard focus through the
heat-map.

Safety: no request of any kind (no link, font, image or URL is written). The stylesheet and the
script are package data (envguard/data/report.css, report.js), inlined and allowed by their
sha256 in a Content-Security-Policy meta tag under default-src 'none', so nothing else could run
or load even if a value slipped through. Every value from the inputs goes through html.escape,
in text and attributes alike; no style or event-handler attribute is written (the policy blocks
both).

Scale: the heat-map has one row per service and one column per drift row (a few packages drift,
hundreds of services may), so it scrolls down, not across. Past _GRID_CELLS it keeps the rows
with the most services off target (the drift table lists all), past _FULL_FINDINGS findings each
is shown in short, past _OPEN_ROWS a rule family folds, past _OPEN_PLUGIN_TABLES services the
plugin tables do. docs/performance.md has the figures.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import TYPE_CHECKING, Any

from envguard._record import record
from envguard import __version__

if TYPE_CHECKING:
    from envguard.check import CheckResult
    from envguard.diff import DiffResult
    from envguard.model import Inventory, Package, Waiver

# Rule families in report order: (code prefix, the --select name, heading).
_FAMILIES = (
    ("EG1", "plugins", "Plugins"),
    ("EG2", "drift", "Drift"),
    ("EG3", "exceptions", "Exceptions"),
    ("EG4", "environment", "Environment"),
    ("EG5", "declared", "Declared environments: installs and locks"),
)
_DISTANCE_LABELS = {
    "same": "on the target",
    "patch": "below the minor version: patch, pre-, post-, dev-release or local version",
    "minor": "another minor version",
    "major": "another major version",
    "other": "cannot be placed: not PEP 440, or no target",
    "missing": "not compared: no version of it in the service",
}
_STATE_RANK = {"error": 0, "warning": 1, "suppressed": 2, "baselined": 3}
# The heat-map grid shows at most this many cells (500 services by 40 packages); past it, the
# drift rows with the most services off their target, and the table under it every row.
_GRID_CELLS = 20_000
# The drift table lists this many of a package's versions in use, the most used first.
_SHOWN_VERSIONS = 8
# Up to this many services, every plugin table is open; past it they fold (a 500-service page
# would otherwise be mostly plugin tables).
_OPEN_PLUGIN_TABLES = 20


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _code(value: object) -> str:
    return f"<code>{_e(value)}</code>"


def _where(path: str | None, line: int | None) -> str:
    return _code(f"{path}:{line or 1}") if path else "—"


def _csp_source(content: str) -> str:
    digest = hashlib.sha256(content.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def _page(title: str, kind: str, body: Iterable[str]) -> str:
    from envguard._data import read_data

    css = read_data("report.css").decode("utf-8")
    script = read_data("report.js").decode("utf-8")
    policy = (
        f"default-src 'none'; style-src {_csp_source(css)}; script-src {_csp_source(script)}; "
        "base-uri 'none'; form-action 'none'"
    )
    head = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_e(policy)}">',
        '<meta name="referrer" content="no-referrer">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="envguard {_e(__version__)}">',
        f"<title>{_e(title)}</title>",
        f"<style>{css}</style>",
        "</head>",
        f'<body class="{kind}">',
    ]
    tail = [
        f'<footer><p>envguard {_e(__version__)}. A self-contained file: it makes no network request.</p></footer>',
        f"<script>{script}</script>",
        "</body>",
        "</html>",
    ]
    return "\n".join([*head, *body, *tail]) + "\n"


def _section(ident: str, heading: str, content: Iterable[str], note: str = "") -> list[str]:
    lines = [f'<section id="{ident}" aria-labelledby="{ident}-h">', f'<h2 id="{ident}-h">{heading}</h2>']
    if note:
        lines.append(f'<p class="note">{note}</p>')
    return [*lines, *content, "</section>"]


def _nav(entries: Sequence[tuple[str, str]]) -> str:
    links = "".join(f'<li><a href="#{ident}">{_e(label)}</a></li>' for ident, label in entries)
    return f'<nav aria-label="Sections"><ul>{links}</ul></nav>'


# --------------------------------------------------------------------------- envguard check


def render_check(result: CheckResult) -> str:
    from envguard.report.json import report_document
    from envguard.report.text import summary_line

    document = report_document(result)
    drift = document["drift"]
    sections: list[tuple[str, str]] = []
    body: list[str] = []
    if document["repositories"]:
        sections.append(("repositories", "Repositories"))
        body.extend(_repositories(document["repositories"]))
    if drift["rows"]:
        sections.append(("drift", "Drift heat-map"))
        body.extend(_heatmap(drift, result.inventory))
    sections.append(("findings", "Findings"))
    body.extend(_findings(document["findings"]))
    if result.policy is not None:
        sections.append(("exceptions", "Exceptions"))
        body.extend(_exceptions(result.policy.exceptions, document["findings"], result.today))
    if result.plugins is not None:
        sections.append(("plugins", "Plugins"))
        body.extend(_plugins(result.plugins))
    if document["references"]:
        sections.append(("references", "References"))
        body.extend(_references(document["references"]))
    if document["errors"] or document["warnings"]:
        sections.append(("problems", "Input problems"))
        body.extend(_problems(document["errors"], document["warnings"]))
    summary = summary_line(result)
    header = _check_header(result, document, summary)
    packages = sorted({row["package"] for row in drift["rows"]} | {f["package"] for f in document["findings"] if f["package"]})
    services = sorted({s.name for s in result.inventory.services})
    filters = _check_filters(services, packages)
    main = ["<main>", *filters, *body, "</main>"]
    return _page(f"envguard check: {summary}", "check", [*header, _nav(sections), *main])


def _check_header(result: CheckResult, document: Mapping[str, Any], summary: str) -> list[str]:
    from envguard.policy import content_digest

    counts = document["summary"]
    cards = "".join(
        f'<li class="card card-{key}"><span class="n">{counts[key]}</span> {label}</li>'
        for key, label in (
            ("services", "services"),
            ("errors", "errors"),
            ("warnings", "warnings"),
            ("suppressed", "suppressed"),
            ("baselined", "baselined"),
        )
    )
    policy = ", ".join(_code(p) for p in document["policy"]) or "none: the policy could not be read"
    facts = [
        ("Judged as of", _e(result.today.isoformat()) if result.today else "—"),
        ("Policy", policy),
    ]
    if result.policy is not None:
        facts.append(("Policy sha256", f'{_code(content_digest(result.policy))} <span class="note">of what the merged policy says</span>'))
    facts.append(("Marker target", _e(document["drift"]["target"])))
    if result.scope is not None:
        scope = ", ".join(_e(name) for name in sorted(result.scope)) or "none"
        facts.append(("Reported services", f"only those the changed files belong to: {scope}"))
    if document["repositories"]:
        facts.append(("Repositories", str(len(document["repositories"]))))
    listed = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in facts)
    return [
        "<header>",
        "<h1>envguard check</h1>",
        f'<p class="summary-line">{_e(summary)}</p>',
        f'<ul class="cards" aria-label="Summary">{cards}</ul>',
        f'<dl class="facts">{listed}</dl>',
        "</header>",
    ]


def _options(entries: Iterable[tuple[str, str]]) -> str:
    return "".join(f'<option value="{_e(value)}">{_e(label)}</option>' for value, label in entries)


def _check_filters(services: Sequence[str], packages: Sequence[str]) -> list[str]:
    states = [("", "any"), ("active", "errors and warnings"), ("error", "errors"), ("warning", "warnings"),
              ("suppressed", "suppressed"), ("baselined", "baselined")]  # fmt: skip
    families = [("", "any"), *((name, heading) for _, name, heading in _FAMILIES)]
    return [
        '<form id="filters" class="filters" role="search" aria-label="Filter the report" hidden>',
        '<label>Service <input id="f-service" type="search" list="l-services" autocomplete="off" '
        'placeholder="e.g. team-*/api" aria-describedby="f-help"></label>',
        '<label>Package <input id="f-package" type="search" list="l-packages" autocomplete="off" '
        'placeholder="e.g. pytest-*" aria-describedby="f-help"></label>',
        f'<label>Severity <select id="f-state">{_options(states)}</select></label>',
        f'<label>Rule family <select id="f-family">{_options(families)}</select></label>',
        '<button type="reset">Clear</button>',
        '<p id="f-help" class="status">Service and package take a name, matched anywhere in any case, or a glob '
        "(*, ?, [...]) that matches the whole name.</p>",
        '<p id="f-status" class="status" role="status" aria-live="polite"></p>',
        f'<datalist id="l-services">{_options((s, s) for s in services)}</datalist>',
        f'<datalist id="l-packages">{_options((p, p) for p in packages)}</datalist>',
        "</form>",
    ]


def _repositories(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    head = "".join(f'<th scope="col">{h}</th>' for h in ("Repository", "Commit", "URL", "Services", "Errors",
                                                         "Warnings", "Suppressed", "Drift rows"))  # fmt: skip
    lines = ['<table class="repositories">', f"<thead><tr>{head}</tr></thead>", "<tbody>"]
    for row in rows:
        commit = _code(row["commit"][:12]) if row["commit"] else "—"
        url = _code(row["url"]) if row["url"] else "—"  # text, never a link: the page requests nothing
        numbers = "".join(f'<td class="num">{row[key]}</td>' for key in ("services", "errors", "warnings", "suppressed", "drift_rows"))
        lines.append(f'<tr><th scope="row">{_e(row["name"])}</th><td>{commit}</td><td>{url}</td>{numbers}</tr>')
    lines.extend(["</tbody>", "</table>"])
    return _section("repositories", "Repositories", lines, "Each finding counts for the repository of its first location.")


def _heatmap(drift: Mapping[str, Any], inventory: Inventory) -> list[str]:
    rows: Sequence[Mapping[str, Any]] = drift["rows"]
    distances = [_distances(row) for row in rows]
    shown = _grid_rows(distances, len(drift["services"]))
    services = [s for s in drift["services"] if any(s in rows[i]["versions"] for i in shown)]
    entries = _entries(inventory, {rows[i]["package"] for i in shown}, set(services))
    legend = "".join(
        f'<li><span class="swatch d-{name}">{_label(name)}</span> {_e(text)}</li>' for name, text in _DISTANCE_LABELS.items()
    )
    head = ['<th scope="col" class="corner">Service</th>']
    for column, index in enumerate(shown):
        row = rows[index]
        head.append(
            f'<th scope="col" data-col="{column}" data-package="{_e(row["package"])}" data-target="{_e(row["target"] or "")}">'
            f'{_e(row["package"])}'
            f'<span class="req">{_e(row["requirement"])}</span><span class="req">{_target(row)}</span></th>'
        )
    body = []
    for service in services:
        cells = "".join(_heat_cell(service, rows[i], distances[i], entries) for i in shown)
        body.append(f'<tr data-service="{_e(service)}"><th scope="row">{_e(service)}</th>{cells}</tr>')
    content = [
        f'<ul class="legend" aria-label="Distance from the target">{legend}</ul>',
        '<div class="scroll">',
        '<table class="heat" aria-label="Drift: services by drifting package" aria-describedby="cell-details">',
        f"<thead><tr>{''.join(head)}</tr></thead>",
        "<tbody>",
        *body,
        "</tbody>",
        "</table>",
        "</div>",
        '<p id="cell-details" class="cell-details" role="status" aria-live="polite">'
        "Point at a cell, or move to it with the arrow keys, for its version, file:line and marker.</p>",
        *_drift_table(rows, distances),
    ]
    if len(shown) == len(rows):
        note = (
            f"One row per service, one column per package that drifts ({len(rows)}): each cell is how far the "
            "service is from the column's target, in words and in colour."
        )
    else:
        note = (
            f"One row per service, one column per package that drifts: the {len(shown)} of {len(rows)} with the "
            f"most services off their target (at most {_GRID_CELLS:,} cells); every one is in the table below. "
            "Each cell is how far the service is from the column's target, in words and in colour."
        )
    return _section("drift", "Drift heat-map", content, note)


def _target(row: Mapping[str, Any]) -> str:
    return f"target {_e(row['target'])}" if row["target"] is not None else "no target"


def _distances(row: Mapping[str, Any]) -> dict[str, str]:
    """Each service's distance from the row's target (versions.distance): the farthest of the
    versions its cell holds; "other" for every service when the row has no target."""
    from envguard.versions import DISTANCES, distance

    target = row["target"]
    found: dict[str, str] = {}
    known: dict[str, int] = {}  # a version's distance, as its place in DISTANCES
    for service, cell in row["versions"].items():
        if target is None:
            found[service] = "other"
            continue
        farthest = 0
        for version in cell.split(", "):
            place = known.get(version)
            if place is None:
                place = known[version] = DISTANCES.index(distance(version, target))
            farthest = max(farthest, place)
        found[service] = DISTANCES[farthest]
    return found


def _grid_rows(distances: Sequence[Mapping[str, str]], services: int) -> list[int]:
    """The drift rows the grid shows, by index in their order: all of them while the grid stays
    within _GRID_CELLS; else those with the most services off their target."""
    fits = max(1, _GRID_CELLS // max(1, services))
    if len(distances) <= fits:
        return list(range(len(distances)))
    off = [sum(1 for d in found.values() if d != "same") for found in distances]
    ranked = sorted(range(len(distances)), key=lambda i: (-off[i], i))
    return sorted(ranked[:fits])


def _entries(inventory: Inventory, packages: set[str], services: set[str]) -> dict[tuple[str, str], list[Package]]:
    """Where the grid's services record the grid's packages, by (service, package), in record order:
    what a cell's details show (the inventory is the one the check judged, viewed for its target)."""
    found: dict[tuple[str, str], list[Package]] = {}
    for service in inventory.services:
        if service.name not in services:
            continue
        for package in service.packages:
            if package.name in packages and package.version is not None and package.is_third_party:
                found.setdefault((service.name, package.name), []).append(package)
    return found


def _drift_table(rows: Sequence[Mapping[str, Any]], distances: Sequence[Mapping[str, str]]) -> list[str]:
    """Every drift row in one line: how many services are how far from the target, and the versions in use."""
    from envguard.versions import DISTANCES, sort_key

    head = "".join(f'<th scope="col">{h}</th>' for h in ("Package", "Requirement", "Target"))
    head += "".join(f'<th scope="col" class="num"><span class="swatch d-{d}">{d}</span></th>' for d in DISTANCES)
    head += '<th scope="col">Versions in use (services)</th>'
    lines = ['<h3 id="drift-table">Drift by package</h3>', '<table class="drift-table">', f"<thead><tr>{head}</tr></thead>", "<tbody>"]
    for row, found in zip(rows, distances):
        counts = {d: 0 for d in DISTANCES}
        for distance in found.values():
            counts[distance] += 1
        used: dict[str, int] = {}
        for versions in row["versions"].values():
            used[versions] = used.get(versions, 0) + 1
        ranked = sorted(used.items(), key=lambda item: (-item[1], sort_key(item[0].split(", ")[0])))
        listed = ", ".join(f"{_e(v)} ({n})" for v, n in ranked[:_SHOWN_VERSIONS])
        if len(ranked) > _SHOWN_VERSIONS:
            listed += f", … {len(ranked) - _SHOWN_VERSIONS} more"
        numbers = "".join(f'<td class="num">{counts[d] or ""}</td>' for d in DISTANCES)
        target = _e(row["target"]) if row["target"] is not None else "—"
        lines.append(
            f'<tr data-package="{_e(row["package"])}"><th scope="row">{_code(row["package"])}</th>'
            f"<td>{_e(row['requirement'])}</td><td>{target}</td>{numbers}<td>{listed}</td></tr>"
        )
    return [*lines, "</tbody>", "</table>"]


def _label(distance: str) -> str:
    if distance == "missing":
        return '<span aria-hidden="true">—</span><span class="sr">missing</span>'
    return distance


def _heat_cell(
    service: str, row: Mapping[str, Any], distances: Mapping[str, str], entries: Mapping[tuple[str, str], list[Package]]
) -> str:
    """A cell: its distance in a word, its version; where each version is in `data-tip` (the script
    shows it, with the column's target, in a live region when the cell has the focus)."""
    distance = distances.get(service)
    if distance is None:  # most cells of a large organisation: the stylesheet writes the dash
        return '<td class="d-missing"></td>'
    cell = row["versions"][service]
    versions = set(cell.split(", "))
    lines = []
    for package in entries.get((service, row["package"]), []):
        if package.version in versions:
            marker = f"; marker {package.marker}" if package.marker else ""
            lines.append(f"{package.version} at {package.path}:{package.line}{marker}")
    tip = _e("\n".join(lines))
    return f'<td class="d-{distance}" data-tip="{tip}"><b>{distance}</b>{_e(cell)}</td>'


def _family(rule: str) -> tuple[str, str, str]:
    for family in _FAMILIES:
        if rule.startswith(family[0]):
            return family
    return ("", "other", "Other")


def _state(finding: Mapping[str, Any]) -> str:
    if finding["suppressed"]:
        return "suppressed"
    return "baselined" if finding["baselined"] else str(finding["severity"])


def _findings(findings: Sequence[Mapping[str, Any]]) -> list[str]:
    if not findings:
        return _section("findings", "Findings", ['<p class="empty">No findings.</p>'])
    # The services each finding names, by their index in one list: a comparison across hundreds of
    # services names hundreds of them, in every drift finding.
    names = sorted({name for finding in findings for name in _services_of(finding)})
    index_of = {name: i for i, name in enumerate(names)}
    shown = _BRIEF if len(findings) > _FULL_FINDINGS else _FULL
    grouped: dict[str, list[tuple[int, Mapping[str, Any]]]] = {}
    for index, finding in enumerate(findings):
        grouped.setdefault(_family(finding["rule"])[1], []).append((index, finding))
    sortable = (("severity", "Severity"), ("rule", "Rule"), ("service", "Service"), ("package", "Package"))
    head = "".join(
        f'<th scope="col" aria-sort="none"><button type="button" data-sort="{key}">{label}</button></th>'
        for key, label in sortable
    )
    head += '<th scope="col">Finding</th><th scope="col" aria-sort="none"><button type="button" data-sort="where">Where</button></th>'
    content = [
        f'<datalist id="l-names">{_options((n, "") for n in names)}</datalist>',
        '<p id="no-match" class="empty" hidden>No finding matches the filters.</p>',
    ]
    families = [*_FAMILIES, ("", "other", "Other")]
    for prefix, name, heading in families:
        members = grouped.get(name)
        if not members:
            continue
        code = f" <small>{prefix}xx</small>" if prefix else ""
        content.extend(
            [
                f'<section class="family" data-family="{name}" aria-labelledby="fam-{name}">',
                f'<h3 id="fam-{name}">{_e(heading)}{code} <span class="count">{len(members)}</span></h3>',
                # Folded past _OPEN_ROWS: a browser lays out nothing of a closed <details>.
                f'<details class="rows"{" open" if len(members) <= _OPEN_ROWS else ""}>',
                f"<summary>{len(members)} findings</summary>",
                '<table class="findings">',
                f"<thead><tr>{head}</tr></thead>",
                "<tbody>",
                *(_finding_row(index, finding, name, index_of, shown) for index, finding in members),
                "</tbody>",
                "</table>",
                "</details>",
                "</section>",
            ]
        )
    note = "Grouped by rule family; sort with the column headings. Suppressed and baselined findings stay in the report."
    if shown is _BRIEF:
        note += f" {len(findings)} findings: each is shown in short; the JSON report has every one in full."
    return _section("findings", "Findings", content, note)


@record(frozen=True)
class _Shown:
    """How much of a finding's message (characters), hint and lists (lines) the page shows."""

    characters: int
    lines: int


_FULL = _Shown(1500, 12)
_BRIEF = _Shown(300, 3)
# A rule family with more findings than this is folded until opened (or printed, or filtered
# down to this many).
_OPEN_ROWS = 200
# Past this many findings, each is shown in short: an organisation's thousands of findings would
# otherwise take tens of megabytes and seconds of layout.
_FULL_FINDINGS = 400


def _services_of(finding: Mapping[str, Any]) -> list[str]:
    return str(finding["service"]).split(", ")  # several for a comparison across services


def _runs(indexes: Sequence[int]) -> str:
    """Sorted indexes as runs: `0-38 40 45-59` (services in name order often come in runs)."""
    runs: list[str] = []
    start = previous = indexes[0]
    for index in [*indexes[1:], -1]:
        if index == previous + 1:
            previous = index
            continue
        runs.append(str(start) if start == previous else f"{start}-{previous}")
        start = previous = index
    return " ".join(runs)


def _finding_row(index: int, finding: Mapping[str, Any], family: str, index_of: Mapping[str, int], shown: _Shown) -> str:
    state = _state(finding)
    services = _services_of(finding)
    # An exception's own finding for "every service" concerns each of them.
    every = ' data-all=""' if finding["service"] == "every service" else ""
    first = finding["locations"][0] if finding["locations"] else {"path": "", "line": 0}
    indexes = _runs(sorted(index_of[name] for name in services))
    attributes = (
        f'data-i="{index}" data-state="{state}" data-rank="{_STATE_RANK[state]}" data-family="{family}" '
        f'data-rule="{_e(finding["rule"])}" data-service="{_e(services[0])}" data-services="{indexes}"{every} '
        f'data-package="{_e(finding["package"] or "")}" data-path="{_e(first["path"])}" data-line="{first["line"] or 0}"'
    )
    badge = f'<span class="sev sev-{finding["severity"]}">{_e(finding["severity"])}</span>'
    if state in ("suppressed", "baselined"):
        badge += f' <span class="state state-{state}">{state}</span>'
    rule = f'{_code(finding["rule"])} {_e(finding["name"])}'
    package = "—"
    if finding["package"]:
        package = _code(finding["package"]) + (f' {_e(finding["version"])}' if finding["version"] else "")
    message = finding["message"]
    more = ""
    if len(message) > shown.characters:
        message, more = message[: shown.characters], _more(len(message) - shown.characters, "character")
    text = [f'<p class="msg">{_e(message)}{more}</p>']
    if finding["hint"]:
        lines = finding["hint"].split("\n")
        more = _more(len(lines) - shown.lines, "line") if len(lines) > shown.lines else ""
        hint = "\n".join(lines[: shown.lines])
        if len(hint) > shown.characters:
            hint, more = hint[: shown.characters], _more(len(finding["hint"]) - shown.characters, "character")
        text.append(f'<div class="hint"><span class="tag">Hint</span><pre>{_e(hint)}</pre>{more}</div>')
    if finding["exception"] is not None:
        text.append(_waiver_note(finding["exception"]))
    locations = finding["locations"]
    where = "".join(f"<li>{_where(loc['path'], loc['line'])}</li>" for loc in locations[: shown.lines]) or "<li>—</li>"
    if len(locations) > shown.lines:
        where += f"<li>{_more(len(locations) - shown.lines, 'location')}</li>"
    service = "<br>".join(_e(name) for name in services[: shown.lines])
    if len(services) > shown.lines:
        service += f"<br>{_more(len(services) - shown.lines, 'service')}"
    return (
        f"<tr {attributes}><td>{badge}</td><td>{rule}</td><td>{service}</td><td>{package}</td>"
        f'<td>{"".join(text)}</td><td><ul class="where">{where}</ul></td></tr>'
    )


def _more(count: int, noun: str) -> str:
    return f' <span class="more">… {count} more {noun}{"s" if count != 1 else ""} in the JSON report</span>'


def _waiver_note(waiver: Mapping[str, Any]) -> str:
    owner = f", owner {_e(waiver['owner'])}" if waiver["owner"] else ""
    where = f" ({_where(waiver['path'], waiver['line'])})" if waiver["path"] else ""
    return (
        f'<p class="exc"><span class="tag">Exception</span> {_e(waiver["reason"])}: expires '
        f'{_e(waiver["expires"])}{owner}{where}</p>'
    )


def _exceptions(waivers: Sequence[Waiver], findings: Sequence[Mapping[str, Any]], today: dt.date | None) -> list[str]:
    """Every exception of the policy, those the run found expired or expiring first."""
    if not waivers:
        return _section("exceptions", "Exceptions", ['<p class="empty">The policy has no exceptions.</p>'])
    states: dict[tuple[str, int | None], str] = {}
    suppressing: dict[tuple[str, int | None], int] = {}
    for finding in findings:
        if finding["name"].startswith("exception-") and finding["locations"]:
            first = finding["locations"][0]
            states[(first["path"], first["line"])] = finding["name"].removeprefix("exception-")
        if finding["exception"] is not None:
            key = (finding["exception"]["path"], finding["exception"]["line"])
            suppressing[key] = suppressing.get(key, 0) + 1
    order = {"expired": 0, "expiring": 1}
    ranked = sorted(waivers, key=lambda w: (order.get(states.get((w.path, w.line), ""), 2), w.expires, w.package, w.path, w.line or 0))
    head = "".join(f'<th scope="col">{h}</th>' for h in ("State", "Package", "Services", "Rule", "Reason", "Owner",
                                                         "Expires", "Suppresses", "Where"))  # fmt: skip
    rows = []
    for waiver in ranked:
        state = states.get((waiver.path, waiver.line), "in force")
        services = ", ".join(_e(s) for s in waiver.services) or "every service"
        rows.append(
            f'<tr class="x-{state.replace(" ", "-")}"><td><span class="xstate">{state}</span></td>'
            f"<td>{_code(waiver.package)}</td><td>{services}</td><td>{_e(waiver.rule or 'every rule')}</td>"
            f"<td>{_e(waiver.reason)}</td><td>{_e(waiver.owner or '—')}</td>"
            f"<td>{_e(waiver.expires)}{_days(waiver.expires, today)}</td>"
            f'<td class="num">{suppressing.get((waiver.path, waiver.line), 0)}</td><td>{_where(waiver.path, waiver.line)}</td></tr>'
        )
    soon = sum(1 for w in waivers if states.get((w.path, w.line)) in order)
    note = f"{soon} expired or expiring within the rule's window; then by expiry date." if soon else "None expires soon."
    table = ['<table class="exceptions">', f"<thead><tr>{head}</tr></thead>", "<tbody>", *rows, "</tbody>", "</table>"]
    return _section("exceptions", "Exceptions", table, note)


def _days(expires: str, today: dt.date | None) -> str:
    if today is None:
        return ""
    try:
        days = (dt.date.fromisoformat(expires) - today).days
    except ValueError:
        return ""
    when = "today" if days == 0 else f"in {days} days" if days > 0 else f"{-days} days ago"
    return f' <span class="note">({when})</span>'


def _plugins(tables: Mapping[str, Sequence[Mapping[str, object]]]) -> list[str]:
    open_ = " open" if len(tables) <= _OPEN_PLUGIN_TABLES else ""
    head = "".join(f'<th scope="col">{h}</th>' for h in ("Plugin", "Version", "How it was recognised", "Policy",
                                                         "Where", "Declared in"))  # fmt: skip
    content = []
    for service in sorted(tables):
        rows = tables[service]
        declared = sum(1 for row in rows if row.get("declared"))
        count = f"{len(rows) - declared} in use" + (f", {declared} declared" if declared else "")
        content.append(f'<details class="plugins" data-service="{_e(service)}"{open_}>')
        content.append(f'<summary><span class="svc">{_e(service)}</span> <span class="note">{count}</span></summary>')
        if not rows:
            content.extend(['<p class="empty">No pytest plugin.</p>', "</details>"])
            continue
        content.extend(['<table class="plugin-table">', f"<thead><tr>{head}</tr></thead>", "<tbody>"])
        for row in rows:
            version = _e(row["version"]) if row.get("version") is not None else "—"
            line = row.get("line")
            where = _where(str(row["path"]), line if isinstance(line, int) else None) if row.get("path") else "—"
            environment = row.get("environment")
            declared_in = "—"
            if environment:
                declared_in = f"{_e(environment)}: {_code(row.get('requirement') or '')}"
            content.append(
                f'<tr data-package="{_e(row["name"])}"><td>{_code(row["name"])}</td><td>{version}</td>'
                f'<td>{_e(row["recognised"])}</td><td>{_e(row["status"])}</td><td>{where}</td><td>{declared_in}</td></tr>'
            )
        content.extend(["</tbody>", "</table>", "</details>"])
    note = "Each service's pytest plugins: how each was recognised and what the policy says, then those its files declare."
    return _section("plugins", "Plugins", content or ['<p class="empty">No service.</p>'], note)


def _references(references: Sequence[Mapping[str, Any]]) -> list[str]:
    head = "".join(f'<th scope="col">{h}</th>' for h in ("Name", "File", "Format", "sha256", "Packages", "Defined by"))
    rows = [
        f'<tr><th scope="row">{_e(r["name"])}</th><td>{_code(r["path"])}</td><td>{_e(r["format"])}</td>'
        f'<td>{_code(r["sha256"])}</td><td class="num">{r["packages"]}</td><td>{_where(r["defined"], r["line"])}</td></tr>'
        for r in references
    ]
    table = ['<table class="references">', f"<thead><tr>{head}</tr></thead>", "<tbody>", *rows, "</tbody>", "</table>"]
    return _section("references", "Reference environments", table)


def _problems(errors: Sequence[Mapping[str, Any]], warnings: Sequence[Mapping[str, Any]]) -> list[str]:
    content = []
    for title, items, kind in (("Errors: these inputs could not be checked", errors, "error"), ("Warnings", warnings, "warning")):
        if items:
            listed = "".join(f'<li>{_where(d["path"], d["line"])}: {_e(d["message"])}</li>' for d in items)
            content.extend([f"<h3>{title}</h3>", f'<ul class="problems problems-{kind}">{listed}</ul>'])
    return _section("problems", "Input problems", content)


# --------------------------------------------------------------------------- envguard diff

_CHANGE_LABELS = {"only-a": "only in a", "only-b": "only in b"}


def render_diff(result: DiffResult) -> str:
    from envguard.report.json import diff_document
    from envguard.report.text import diff_summary

    document = diff_document(result)
    sides = "".join(_diff_side(letter, document[letter]) for letter in ("a", "b"))
    target = "" if result.target.universal else f"<dt>Marker target</dt><dd>{_e(result.target.describe())}</dd>"
    summary = diff_summary(result)
    header = [
        "<header>",
        f"<h1>envguard diff: {_e(document['a']['name'])} → {_e(document['b']['name'])}</h1>",
        f'<p class="summary-line">{_e(summary)}</p>',
        f'<dl class="facts">{sides}{target}</dl>',
        "</header>",
    ]
    kinds = sorted({c["change"] for c in document["changes"]})
    filters = [
        '<form id="filters" class="filters" role="search" aria-label="Filter the changes" hidden>',
        '<label>Package <input id="f-package" type="search" autocomplete="off" placeholder="e.g. pytest-*"></label>',
        f'<label>Change <select id="f-change">{_options([("", "any"), *((k, _CHANGE_LABELS.get(k, k)) for k in kinds)])}</select></label>',
        '<button type="reset">Clear</button>',
        '<p id="f-status" class="status" role="status" aria-live="polite"></p>',
        "</form>",
    ]
    body = [*_diff_changes(document), *_diff_declared(document)]
    sections = [("changes", "Changes"), *([("declared", "Declared differently")] if document["declared_changes"] else [])]
    title = f"envguard diff {document['a']['name']} {document['b']['name']}: {summary}"
    return _page(title, "diff", [*header, _nav(sections), "<main>", *filters, *body, "</main>"])


def _diff_side(letter: str, side: Mapping[str, Any]) -> str:
    files = [*side["sources"], *side["declared_sources"]]
    listed = ", ".join(f"{_code(s['path'])} ({_e(s['format'])})" for s in files) or "no readable source"
    environments = f"; {len(side['environments'])} declared environments" if side["environments"] else ""
    return f"<dt>{letter}</dt><dd>{_code(side['name'])}: {listed}{environments}</dd>"


def _versions(versions: Sequence[str | None]) -> str:
    return ", ".join(_e(v) if v is not None else "(no version)" for v in versions) or "—"


def _diff_changes(document: Mapping[str, Any]) -> list[str]:
    changes = document["changes"]
    if not changes:
        return _section("changes", "Changes", [f'<p class="empty">No version differences; {document["unchanged"]} unchanged.</p>'])
    head = (
        f'<th scope="col">Package</th><th scope="col">a: {_e(document["a"]["name"])}</th>'
        f'<th scope="col">b: {_e(document["b"]["name"])}</th><th scope="col">Change</th>'
    )
    rows = [
        f'<tr data-package="{_e(c["package"])}" data-change="{_e(c["change"])}"><td>{_code(c["package"])}</td>'
        f'<td>{_versions(c["a"])}</td><td>{_versions(c["b"])}</td>'
        f'<td><span class="swatch c-{_e(c["change"])}">{_e(_CHANGE_LABELS.get(c["change"], c["change"]))}</span></td></tr>'
        for c in changes
    ]
    noun = "package differs" if len(changes) == 1 else "packages differ"
    content = [
        '<table class="changes">',
        f"<thead><tr>{head}</tr></thead>",
        "<tbody>",
        *rows,
        "</tbody>",
        "</table>",
        '<p id="no-match" class="empty" hidden>No change matches the filters.</p>',
    ]
    return _section("changes", "Changes", content, f"{len(changes)} {noun}; {document['unchanged']} unchanged.")


def _diff_declared(document: Mapping[str, Any]) -> list[str]:
    declared = document["declared_changes"]
    if not declared:
        return []

    def written(items: Sequence[str]) -> str:
        return ", ".join(_code(item) if item else "(any version)" for item in items) or "not declared"

    head = (
        f'<th scope="col">Package</th><th scope="col">a: {_e(document["a"]["name"])}</th>'
        f'<th scope="col">b: {_e(document["b"]["name"])}</th>'
    )
    rows = [
        f'<tr data-package="{_e(d["package"])}"><td>{_code(d["package"])}</td>'
        f'<td>{written(d["a"])}</td><td>{written(d["b"])}</td></tr>'
        for d in declared
    ]
    table = ['<table class="declared">', f"<thead><tr>{head}</tr></thead>", "<tbody>", *rows, "</tbody>", "</table>"]
    return _section("declared", "Declared differently", table, "The specifiers each side declares, compared PEP 440-canonically.")
