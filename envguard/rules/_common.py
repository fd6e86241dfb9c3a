"""Helpers every rule family uses to turn packages into findings."""

from __future__ import annotations

from collections.abc import Iterable

from envguard.model import Finding, Location, NormalizedName, Package, Severity
from envguard.rules.catalog import BY_NAME


def by_version(packages: Iterable[Package]) -> dict[tuple[NormalizedName, str | None], list[Package]]:
    """Entries grouped by (name, version): one finding covers every entry of the same version."""
    grouped: dict[tuple[NormalizedName, str | None], list[Package]] = {}
    for package in packages:
        grouped.setdefault((package.name, package.version), []).append(package)
    return grouped


def locations(packages: Iterable[Package]) -> tuple[Location, ...]:
    return tuple(sorted({Location(p.path, p.line) for p in packages}, key=lambda l: (l.path, l.line or 0)))


def finding(
    name: str,
    service: str,
    package: str | None,
    version: str | None,
    message: str,
    where: tuple[Location, ...],
    *,
    severity: Severity | None = None,
    hint: str | None = None,
) -> Finding:
    rule = BY_NAME[name]
    return Finding(
        rule=rule.code,
        name=rule.name,
        severity=severity or rule.severity,
        service=service,
        package=package,
        version=version,
        message=message,
        hint=hint or rule.fix,
        locations=where,
    )


def shown_version(version: str | None) -> str:
    return version if version is not None else "(no version)"
