"""Markdown rendering, for pull-request comments and CI job summaries."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from envguard.diff import DiffResult, Pin, Side

_CHANGE_LABELS = {"only-a": "only in a", "only-b": "only in b"}


def _cell(text: str) -> str:
    """Text safe inside a table cell (GFM): pipes escaped, even in code spans; no line breaks."""
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    # A code span containing backticks needs a longer fence than any run inside it.
    fence = "`"
    while fence in text:
        fence += "`"
    padded = f" {text} " if text.startswith("`") or text.endswith("`") else text
    return f"{fence}{padded}{fence}"


def render_diff(result: DiffResult) -> str:
    """A heading, the two sides, one table of changes sorted by package, the unchanged count."""
    lines = [
        f"### envguard diff: {_code(result.a.name)} → {_code(result.b.name)}",
        "",
        _side_line("a", result.a),
        _side_line("b", result.b),
    ]
    if not result.target.universal:
        lines.append(f"- target: {result.target.describe()}")
    lines.append("")
    if result.changes:
        header = ["Package", f"a: {_code(result.a.name)}", f"b: {_code(result.b.name)}", "Change"]
        lines.append("| " + " | ".join(_cell(cell) for cell in header) + " |")
        lines.append("|---|---|---|---|")
        for change in result.changes:
            cells = [
                _code(change.package),
                _versions(change.a),
                _versions(change.b),
                _CHANGE_LABELS.get(change.change, change.change),
            ]
            lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
        lines.append("")
        noun = "package differs" if len(result.changes) == 1 else "packages differ"
        lines.append(f"{len(result.changes)} {noun}; {result.unchanged} unchanged.")
    else:
        lines.append(f"No differences; {result.unchanged} unchanged." if not result.declared else f"No version differences; {result.unchanged} unchanged.")
    if result.declared:
        lines.append("")
        lines.append("Declared differently:")
        lines.append("")
        header = ["Package", f"a: {_code(result.a.name)}", f"b: {_code(result.b.name)}"]
        lines.append("| " + " | ".join(_cell(cell) for cell in header) + " |")
        lines.append("|---|---|---|")
        for declared in result.declared:
            cells = [_code(declared.package), _declared(declared.a), _declared(declared.b)]
            lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def _declared(side: tuple[str, ...]) -> str:
    return ", ".join(_code(item) if item else "(any version)" for item in side) or "—"


def _side_line(letter: str, side: Side) -> str:
    if [s.path for s in side.sources] == [side.name]:  # a dependency file named on the command line
        return f"- {letter}: {_code(side.name)} ({side.sources[0].format})"
    # The declaring files too, as the text report lists them: the "Declared differently" table
    # compares what they say.
    files = (*side.sources, *side.declared_sources)
    sources = ", ".join(f"{_code(s.path)} ({s.format})" for s in files) or "(no readable source)"
    return f"- {letter}: {_code(side.name)}: {sources}"


def _versions(pins: tuple[Pin, ...]) -> str:
    return ", ".join(pin.label for pin in pins) or "—"


# --------------------------------------------------------------------------- envguard check

if TYPE_CHECKING:
    from envguard.check import CheckResult
    from envguard.model import Diagnostic, Finding

# Characters with an inline meaning in GitHub-flavoured Markdown (emphasis, code, links, raw
# HTML, tables, strikethrough, entities): a backslash makes each one literal.
_INLINE_SPECIALS = frozenset("\\`*_[]<>|~&")


def escape_text(text: str) -> str:
    """Plain text safe inline: every Markdown special backslash-escaped (`<builtin>` stays visible)."""
    return "".join(f"\\{char}" if char in _INLINE_SPECIALS else char for char in text)


def table_cell(text: str) -> str:
    """Escaped text for a table cell: line breaks become <br> (a cell is one line)."""
    return "<br>".join(escape_text(line) for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))


def table_row(cells: list[str]) -> str:
    """A row of cells that are already Markdown (escaped text, or code spans passed through _cell)."""
    return "| " + " | ".join(cells) + " |"


def render_check(result: CheckResult) -> str:
    """Heading, summary, active findings per service, drift matrix, input problems, policy, then
    suppressed and baselined findings folded in <details>."""
    from envguard.report.text import summary_line

    lines = ["### envguard check", "", f"**{escape_text(summary_line(result))}**", ""]
    if not result.target.universal:
        lines.extend([f"Target: {escape_text(result.target.describe())}", ""])
    lines.extend(_repositories_section(result))
    active = [f for f in result.findings if not f.suppressed and not f.baselined]
    if not active and not result.errors:
        lines.extend(["No findings.", ""])
    for service, findings in _by_service(active):
        heading = ", ".join(_code(name.strip()) for name in service.split(","))
        lines.extend([f"#### {heading}", ""] + _findings_table(findings) + [""])
    lines.extend(_matrix_section(result))
    lines.extend(_diagnostics_section("Errors", "these inputs could not be checked", result.errors))
    lines.extend(_diagnostics_section("Warnings", "", result.warnings))
    policy = ", ".join(_code(p) for p in result.policy_files) or "(none: the policy could not be read)"
    lines.extend([f"Policy: {policy}", ""])
    suppressed = [f for f in result.findings if f.suppressed]
    baselined = [f for f in result.findings if f.baselined and not f.suppressed]
    lines.extend(_folded(f"{len(suppressed)} suppressed by policy exceptions", _suppressed_table(suppressed)))
    lines.extend(_folded(f"{len(baselined)} recorded in the baseline", _baselined_table(baselined)))
    while lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n"


def _repositories_section(result: CheckResult) -> list[str]:
    """An organisation check's summary per repository, before the findings; nothing for one repository."""
    from envguard.report.text import repository_rows

    rows = repository_rows(result)
    if not rows:
        return []
    header, *body = rows
    table = [table_row([cell.title() for cell in header]), "|---|---|---:|---:|---:|---:|---:|"]
    table.extend(table_row([_code(row[0]), _code(row[1]) if row[1] != "-" else "—", *row[2:]]) for row in body)
    return ["#### Repositories", "", *table, ""]


def _by_service(findings: list[Finding]) -> list[tuple[str, list[Finding]]]:
    grouped: dict[str, list[Finding]] = {}
    for finding in findings:
        grouped.setdefault(finding.service, []).append(finding)
    return [(service, grouped[service]) for service in sorted(grouped)]


def _rule(finding: Finding) -> str:
    return f"{_code(finding.rule)} {escape_text(finding.name)}"


def _package(finding: Finding) -> str:
    if finding.package is None:
        return "—"
    version = f" {escape_text(finding.version)}" if finding.version else ""
    return _cell(_code(finding.package)) + version


def _where(finding: Finding) -> str:
    shown = [_cell(_code(f"{loc.path}:{loc.line or 1}")) for loc in finding.locations]
    return "<br>".join(shown) or "—"


def _findings_table(findings: list[Finding]) -> list[str]:
    rows = [table_row(["Severity", "Rule", "Package", "Finding", "Where"]), "|---|---|---|---|---|"]
    for finding in findings:
        text = table_cell(finding.message)
        if finding.hint:
            text += "<br>**Hint:** " + table_cell(finding.hint)
        rows.append(table_row([finding.severity.value, _rule(finding), _package(finding), text, _where(finding)]))
    return rows


def _suppressed_table(findings: list[Finding]) -> list[str]:
    rows = [table_row(["Rule", "Service", "Package", "Finding", "Exception"]), "|---|---|---|---|---|"]
    for finding in findings:
        assert finding.exception is not None
        waiver = finding.exception
        owner = f", owner {waiver.owner}" if waiver.owner else ""
        where = f" ({_cell(_code(f'{waiver.path}:{waiver.line or 1}'))})" if waiver.path else ""
        exception = f"{table_cell(waiver.reason)}<br>expires {escape_text(waiver.expires)}{escape_text(owner)}{where}"
        cells = [_rule(finding), table_cell(finding.service), _package(finding), table_cell(finding.message), exception]
        rows.append(table_row(cells))
    return rows


def _baselined_table(findings: list[Finding]) -> list[str]:
    rows = [table_row(["Severity", "Rule", "Service", "Package", "Finding"]), "|---|---|---|---|---|"]
    for finding in findings:
        cells = [finding.severity.value, _rule(finding), table_cell(finding.service), _package(finding)]
        rows.append(table_row(cells + [table_cell(finding.message)]))
    return rows


def _folded(summary: str, table: list[str]) -> list[str]:
    if len(table) <= 2:  # header and delimiter only
        return []
    # The blank line after <summary> lets GitHub render the Markdown table inside <details>.
    return ["<details>", f"<summary>{escape_text(summary)}</summary>", ""] + table + ["", "</details>", ""]


def _matrix_section(result: CheckResult) -> list[str]:
    matrix = result.matrix
    if matrix is None or not matrix.rows:
        return []
    title = "#### Drift matrix" + ("" if result.target.universal else f" ({escape_text(result.target.describe())})")
    header = ["Package", *(_cell(_code(s)) for s in matrix.services), "Required"]
    rows = [title, "", table_row(header), "|" + "---|" * len(header)]
    for row in matrix.rows:
        cells = [table_cell(cell) if cell else "—" for cell in matrix.dense(row)]
        rows.append(table_row([_cell(_code(row.package)), *cells, table_cell(row.requirement)]))
    return rows + [""]


def _diagnostics_section(title: str, note: str, items: tuple[Diagnostic, ...]) -> list[str]:
    if not items:
        return []
    heading = f"#### {title}" + (f" ({note})" if note else "")
    lines = [heading, ""]
    lines.extend(f"- {_code(f'{d.path}:{d.line or 1}')}: {table_cell(d.message)}" for d in items)
    return lines + [""]
