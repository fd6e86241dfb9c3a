"""Helpers every rule family uses to turn packages into findings."""

from __future__ import annotations

from collections.abc import Iterable

from envguard.model import Declaration, Finding, Location, NormalizedName, Package, Severity
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


def judge(version: str | None, specifier: str | None, allowed: str) -> tuple[str, str | None]:
    """How an entry stands to a range: ("within" | "partly" | "outside", a version it lets in that
    `allowed` does not).

    An exact version is within or outside. An entry without one is judged by what its specifier
    admits (envguard.specifiers): "partly" when it admits versions on both sides, which is also
    the verdict for no specifier at all against a bounded range.
    """
    from envguard.versions import satisfies

    if allowed.strip() in ("", "*"):
        return "within", None
    if version is not None:
        return ("within", None) if satisfies(version, allowed) else ("outside", version)
    from packaging.specifiers import InvalidSpecifier

    from envguard.specifiers import judge as judge_range

    try:
        verdict = judge_range(specifier, allowed)
    except InvalidSpecifier:  # not PEP 440: nothing can be said of what it admits
        return "partly", None
    return verdict.kind, verdict.example


def declared_at(declarations: Iterable[Declaration]) -> tuple[Location, ...]:
    return tuple(sorted({Location(d.path, d.line) for d in declarations}, key=lambda l: (l.path, l.line or 0)))


def environments(declarations: Iterable[Declaration]) -> str:
    """The environments that declare something, for a message: the first one and how many more."""
    names = sorted({d.environment for d in declarations})
    if len(names) == 1:
        return names[0]
    return f"{names[0]} and {len(names) - 1} more"
