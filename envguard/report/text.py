"""Plain-text rendering for people at a terminal."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from envguard.errors import one_line
from envguard.model import Declaration, Finding, Inventory, Package, Service

if TYPE_CHECKING:
    from envguard.check import CheckResult


def render_inventory(inventory: Inventory) -> str:
    blocks = [_service_block(service) for service in inventory.services]
    count = sum(len(s.packages) for s in inventory.services)
    summary = f"{_plural(len(inventory.services), 'service')}, {_plural(count, 'package')}"
    declared = sum(len(s.declarations) for s in inventory.services)
    if declared:
        summary += f", {_plural(declared, 'declared requirement')}"
    if inventory.errors:
        summary += f", {_plural(len(inventory.errors), 'error')}"
    if inventory.warnings:
        summary += f", {_plural(len(inventory.warnings), 'warning')}"
    return "\n".join(blocks + [summary]) + "\n"  # each block escaped by _service_block


def _service_block(service: Service) -> str:
    sources = ", ".join(f"{s.path} [{s.format}]" for s in service.sources)
    if not sources:
        sources = "(no record; declared environments only)" if service.declarations else "(no readable source)"
    lines = [f"{service.name} ({service.path}): {sources}"]
    for ignored in service.ignored:
        lines.append(f"  not read: {ignored.path} [{ignored.format}] (a stronger record is present)")
    if service.packages or not service.declarations:
        rows = [("NAME", "VERSION", "KIND", "GROUPS", "MARKER")]
        rows.extend(_row(p) for p in service.packages)
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        for row in rows:
            cells = [cell.ljust(width) for cell, width in zip(row[:4], widths)] + [row[4]]
            lines.append(("  " + "  ".join(cells)).rstrip())
    lines.extend(_declared_lines(service))
    return _text(lines)


def _declared_lines(service: Service) -> list[str]:
    """Each declared environment and what it asks for, with the line that asks."""
    by_environment: dict[str, list[Declaration]] = {}
    for declaration in service.declarations:
        by_environment.setdefault(declaration.environment, []).append(declaration)
    lines = []
    for environment in sorted(by_environment):
        lines.append(f"  declared in {environment}:")
        entries = by_environment[environment]
        width = max(len(d.requirement) for d in entries)
        for d in entries:
            note = f"  (pinned by {d.pinned_by})" if d.pinned_by else ""
            marker = f"  ; {d.marker}" if d.marker and d.marker not in d.requirement else ""
            lines.append(f"    {d.requirement.ljust(width)}  {d.path}:{d.line}{marker}{note}")
    for stale in service.stale_locks:
        lines.append(f"  stale: {stale.lock} no longer matches {stale.manifest}: {stale.reason}")
    return lines


def _row(package: Package) -> tuple[str, str, str, str, str]:
    version = package.version if package.version is not None else (package.specifier or "-")
    return (package.name, version, package.kind.value, ",".join(package.groups) or "-", package.marker or "")


def _text(lines: list[str]) -> str:
    """The lines as output: a line break inside one (a directory or package name can hold any
    character) is escaped, so that no name can start a line of its own in a CI log."""
    return "".join(one_line(line) + "\n" for line in lines)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def render_check(result: CheckResult, *, colour: bool = False) -> str:
    lines: list[str] = []
    by_service: dict[str, list[Finding]] = {}
    for finding in result.findings:
        by_service.setdefault(finding.service, []).append(finding)
    for service in sorted(by_service):
        lines.append(service)
        for finding in by_service[service]:
            lines.extend(_finding_lines(finding, colour))
        lines.append("")
    if result.matrix is not None and result.matrix.rows:
        lines.extend(drift_matrix_lines(result))
        lines.append("")
    organisation = repository_rows(result)
    if organisation:
        lines.append("repositories")
        lines.extend(_table(organisation))
        lines.append("")
    policy = ", ".join(result.policy_files) or "(none: the policy could not be read)"
    lines.append(f"policy: {policy}")
    for reference in result.references.loaded:
        lines.append(f"reference {reference.name}: {reference.path} ({reference.format})")
    lines.append(summary_line(result))
    return _text(lines)


def repository_rows(result: CheckResult) -> list[tuple[str, ...]]:
    """The per-repository summary of an organisation check (header first); [] for one repository."""
    from envguard.report.json import repositories

    rows = repositories(result)
    if not rows:
        return []
    header = ("REPOSITORY", "COMMIT", "SERVICES", "ERRORS", "WARNINGS", "SUPPRESSED", "DRIFT ROWS")
    return [header] + [
        (
            one_line(row["name"]),
            (row["commit"] or "-")[:12],
            str(row["services"]),
            str(row["errors"]),
            str(row["warnings"]),
            str(row["suppressed"]),
            str(row["drift_rows"]),
        )
        for row in rows
    ]


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]


def drift_matrix_lines(result: CheckResult) -> list[str]:
    """Violating packages as rows, services as columns."""
    assert result.matrix is not None
    matrix = result.matrix
    header = ("PACKAGE", *(one_line(service) for service in matrix.services), "REQUIRED")
    rows = [header] + [(row.package, *(cell or "-" for cell in matrix.dense(row)), row.requirement) for row in matrix.rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    title = "drift matrix" + ("" if result.target.universal else f" ({result.target.describe()})")
    return [title] + ["  " + "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]


def summary_line(result: CheckResult) -> str:
    from envguard.report.json import summary

    counts = summary(result)
    line = (
        f"{_plural(counts['services'], 'service')} checked: {_plural(counts['errors'], 'error')}, "
        f"{_plural(counts['warnings'], 'warning')}, {counts['suppressed']} suppressed"
    )
    if counts["baselined"]:
        line += f", {counts['baselined']} in the baseline"
    return line


# ANSI SGR codes: red, yellow, dim.
_STYLES = {"error": "31;1", "warning": "33;1", "suppressed": "2", "baselined": "2"}


def _finding_lines(finding: Finding, colour: bool = False) -> list[str]:
    state = "suppressed" if finding.suppressed else "baselined" if finding.baselined else finding.severity.value
    label = f"{state:<10}"
    if colour:
        label = f"\x1b[{_STYLES[state]}m{state}\x1b[0m{' ' * (10 - len(state))}"
    where = ", ".join(f"{loc.path}:{loc.line or 1}" for loc in finding.locations)
    lines = [f"  {label} {finding.rule} {finding.name}: {finding.message}", f"             at {where}"]
    if finding.exception is not None:
        waiver = finding.exception
        lines.append(
            f"             exception: {waiver.reason} (expires {waiver.expires}; {waiver.path}:{waiver.line or 1})"
        )
    else:
        first, *rest = finding.hint.split("\n")
        lines.append(f"             hint: {first}")
        lines.extend(f"                   {line}" for line in rest)
    return lines


def render_plugins(
    rows: Mapping[str, list[dict[str, object]]],
    policy_files: tuple[str, ...],
    environments: Mapping[str, tuple[str, list[dict[str, object]]]] = {},
) -> str:
    """Each service's plugins, then each reference environment's (`environments`: by name, its file and rows)."""
    lines: list[str] = []
    blocks = [(service, rows[service]) for service in sorted(rows)]
    blocks.extend((f"reference {name} ({environments[name][0]})", environments[name][1]) for name in sorted(environments))
    for service, found in blocks:
        lines.append(service)
        if not found:
            lines.append("  (no pytest plugins)")
        for row in found:
            if row.get("declared"):
                lines.append(f"  {row['requirement']} (declared): {row['status']}")
                # The label starts with its file; said once, at the clickable `path:line`.
                environment = str(row["environment"]).removeprefix(f"{row['path']} ")
                lines.append(f"      {row['recognised']}, in {environment} at {row['path']}:{row['line'] or 1}")
                continue
            version = row["version"] if row["version"] is not None else "-"
            lines.append(f"  {row['name']} {version}: {row['status']}")
            lines.append(f"      {row['recognised']} at {row['path']}:{row['line'] or 1}")
        lines.append("")
    lines.append(f"policy: {', '.join(policy_files)}")
    return _text(lines)


if TYPE_CHECKING:
    from envguard.diff import Change, DeclaredChange, DiffResult, Pin, Side


def render_diff(result: DiffResult) -> str:
    """Both sides, then what only one side has, what changed, and the summary line last."""
    lines = [_diff_side("a", result.a), _diff_side("b", result.b)]
    if not result.target.universal:
        lines.append(f"target: {result.target.describe()}")
    only_a = [c for c in result.changes if c.change == "only-a"]
    only_b = [c for c in result.changes if c.change == "only-b"]
    changed = [c for c in result.changes if c.change not in ("only-a", "only-b")]
    sections: list[tuple[str, list[tuple[str, ...]]]] = [
        (f"only in a ({result.a.name}):", [(c.package, _pins(c.a)) for c in only_a]),
        (f"only in b ({result.b.name}):", [(c.package, _pins(c.b)) for c in only_b]),
        ("changed (a -> b):", [_changed_row(c) for c in changed]),
    ]
    sections.append(("declared differently (a -> b):", [_declared_row(c) for c in result.declared]))
    for title, rows in sections:
        if not rows:
            continue
        lines.append("")
        lines.append(title)
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
        for row in rows:
            cells = [cell.ljust(width) for cell, width in zip(row, widths)] + [row[-1]]
            lines.append(("  " + "  ".join(cells)).rstrip())
    lines.append("")
    lines.append(diff_summary(result))
    return _text(lines)


def diff_summary(result: DiffResult) -> str:
    counts = {kind: 0 for kind in ("only-a", "only-b", "changed")}
    for change in result.changes:
        counts[change.change if change.change in counts else "changed"] += 1
    summary = (
        f"{counts['only-a']} only in a, {counts['only-b']} only in b, {counts['changed']} changed, "
        f"{result.unchanged} unchanged"
    )
    if result.declared:
        summary += f"; {len(result.declared)} declared differently"
    return summary


def _diff_side(letter: str, side: Side) -> str:
    if [s.path for s in side.sources] == [side.name]:  # a dependency file named on the command line
        return f"{letter}: {side.name} [{side.sources[0].format}]"
    files = (*side.sources, *side.declared_sources)
    sources = ", ".join(f"{s.path} [{s.format}]" for s in files) or "(no readable source)"
    return f"{letter}: {side.name} ({sources})"


def _pins(pins: tuple[Pin, ...]) -> str:
    return ", ".join(pin.label for pin in pins)


def _declared_row(change: DeclaredChange) -> tuple[str, ...]:
    def shown(side: tuple[str, ...]) -> str:
        return ", ".join(item or "(any version)" for item in side) or "(not declared)"

    return (change.package, shown(change.a), f"-> {shown(change.b)}")


def _changed_row(change: Change) -> tuple[str, ...]:
    return (change.package, _pins(change.a), f"-> {_pins(change.b)}", change.change)
