"""Naming the manifest line behind a content-hash mismatch, where the lock itself proves it.

A content hash says only that something changed. The lock's packages can say what, in two cases
that hold whatever else changed: a direct requirement that applies everywhere (no marker) whose
name the lock does not have at all, or whose specifier no locked version of that name satisfies.
A lock written from that manifest would have both, so that line is one that changed. Anything
else (a marker, a constraint style envguard does not read) names no line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from envguard._record import record
from envguard.model import NormalizedName


@record(frozen=True)
class Direct:
    """A direct requirement read from a manifest."""

    name: NormalizedName
    specifier: str | None  # PEP 440, or None when envguard does not compare it (any version, a poetry caret)
    written: str  # as the manifest writes it, for the reason
    where: str  # `[project] dependencies`, `[packages]`
    line: int | None


def first_unlocked(
    requirements: Iterable[Direct], locked: Mapping[NormalizedName, list[str]]
) -> tuple[int | None, str] | None:
    """(line, reason) of the first requirement the lock cannot have been written from."""
    for requirement in requirements:
        versions = locked.get(requirement.name)
        if not versions:
            return requirement.line, f"{requirement.where} has {requirement.written}, which the lock does not record"
        if requirement.specifier is None:
            continue
        try:
            specifier = SpecifierSet(requirement.specifier)
            parsed = [Version(version) for version in versions]
        except (InvalidSpecifier, InvalidVersion):
            continue
        if not any(specifier.contains(version, prereleases=True) for version in parsed):
            recorded = ", ".join(versions)
            return requirement.line, f"{requirement.where} has {requirement.written}, the lock records {recorded}"
    return None


def string_line(text: str, value: str, after: int = 0) -> int | None:
    """The 1-based line of the TOML string `value` at or after offset `after` (else anywhere)."""
    import json

    for literal in (json.dumps(value), f"'{value}'"):
        found = text.find(literal, after)
        if found == -1:
            found = text.find(literal)
        if found != -1:
            return text.count("\n", 0, found) + 1
    return None
