"""Plain-text rendering for people at a terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING

from envguard.model import Finding, Inventory, Package, Service

if TYPE_CHECKING:
    from envguard.check import CheckResult


def render_inventory(inventory: Inventory) -> str:
    blocks = [_service_block(service) for service in inventory.services]
    count = sum(len(s.packages) for s in inventory.services)
    summary = f"{_plural(len(inventory.services), 'service')}, {_plural(count, 'package')}"
    if inventory.errors:
        summary += f", {_plural(len(inventory.errors), 'error')}"
    if inventory.warnings:
        summary += f", {_plural(len(inventory.warnings), 'warning')}"
    return "\n".join(blocks + [summary]) + "\n"


def _service_block(service: Service) -> str:
    sources = ", ".join(f"{s.path} [{s.format}]" for s in service.sources) or "(no readable source)"
    lines = [f"{service.name} ({service.path}): {sources}"]
    for ignored in service.ignored:
        lines.append(f"  not read: {ignored.path} [{ignored.format}] (a stronger record is present)")
    rows = [("NAME", "VERSION", "KIND", "GROUPS", "MARKER")]
    rows.extend(_row(p) for p in service.packages)
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:4], widths)] + [row[4]]
        lines.append(("  " + "  ".join(cells)).rstrip())
    return "\n".join(lines) + "\n"


def _row(package: Package) -> tuple[str, str, str, str, str]:
    version = package.version if package.version is not None else (package.specifier or "-")
    return (package.name, version, package.kind.value, ",".join(package.groups) or "-", package.marker or "")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def render_check(result: CheckResult) -> str:
    from envguard.report.json import summary

    lines: list[str] = []
    by_service: dict[str, list[Finding]] = {}
    for finding in result.findings:
        by_service.setdefault(finding.service, []).append(finding)
    for service in sorted(by_service):
        lines.append(service)
        for finding in by_service[service]:
            lines.extend(_finding_lines(finding))
        lines.append("")
    counts = summary(result)
    policy = ", ".join(result.policy_files) or "(none: the policy could not be read)"
    lines.append(f"policy: {policy}")
    lines.append(
        f"{_plural(counts['services'], 'service')} checked: {_plural(counts['errors'], 'error')}, "
        f"{_plural(counts['warnings'], 'warning')}, {counts['suppressed']} suppressed"
    )
    return "\n".join(lines) + "\n"


def summary_line(result: CheckResult) -> str:
    return render_check(result).rstrip("\n").rsplit("\n", 1)[-1]


def _finding_lines(finding: Finding) -> list[str]:
    state = "suppressed" if finding.suppressed else finding.severity.value
    where = ", ".join(f"{loc.path}:{loc.line or 1}" for loc in finding.locations)
    lines = [f"  {state:<10} {finding.rule} {finding.name}: {finding.message}", f"             at {where}"]
    if finding.exception is not None:
        waiver = finding.exception
        lines.append(
            f"             exception: {waiver.reason} (expires {waiver.expires}; {waiver.path}:{waiver.line or 1})"
        )
    else:
        lines.append(f"             hint: {finding.hint}")
    return lines
