"""Install rules: unpinned-install (EG501), environment-mismatch (EG503), lock-out-of-date (EG502).

* unpinned-install: a declaration that a command installs (a CI step, a Dockerfile, a tox
  environment, a nox session), from the package index, without an exact pin and without
  anything else that pins it (`Declaration.pinned_by`: constraints, hash checking). One finding
  per service and package, at every such line; severity and exemptions from `installs:`.
* environment-mismatch: a declaration beside a record that asks for a version the record does
  not hold: an exact pin equal to none of the record's versions, or a range none of them
  satisfies. Declarations in the manifest the record is locked from (pyproject.toml for uv,
  Poetry and PDM locks, the Pipfile for Pipfile.lock) are lock-out-of-date's concern, not this
  rule's: they are what the lock was made from, not another environment.
* lock-out-of-date: each stale lock the lock loaders found (`Service.stale_locks`).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator

from envguard.model import Declaration, Finding, Kind, Location, NormalizedName, Package, Service, Severity
from envguard.policy import Policy
from envguard.rules._common import declared_at, environments, finding, locations

# The manifest tables each lock format is made from (Declaration.origin).
_LOCKED_FROM: dict[str, frozenset[str]] = {
    "uv": frozenset({"project", "dependency-groups", "uv"}),
    "poetry": frozenset({"project", "dependency-groups", "poetry"}),
    "pdm": frozenset({"project", "dependency-groups", "pdm"}),
    "pipfile": frozenset({"pipfile"}),
}

_RELOCK = {
    "uv": "uv lock",
    "poetry": "poetry lock",
    "pdm": "pdm lock",
    "pipenv": "pipenv lock",
}


def unpinned_findings(service: Service, policy: Policy) -> Iterator[Finding]:
    if policy.unpinned == "ignore":
        return
    exempt = policy.unpinned_exempt
    loose: dict[NormalizedName, list[Declaration]] = {}
    for declaration in service.declarations:
        if (
            declaration.install
            and declaration.kind is Kind.REGISTRY
            and declaration.version is None
            and declaration.pinned_by is None
            and not any(fnmatch.fnmatchcase(declaration.name, pattern) for pattern in exempt)
        ):
            loose.setdefault(declaration.name, []).append(declaration)
    if not loose:
        return
    recorded = _record_versions(service)
    for name, entries in sorted(loose.items()):
        specifiers = sorted({d.specifier for d in entries if d.specifier})
        how = f" ({', '.join(f'{name}{s}' for s in specifiers)})" if specifiers else ""
        versions = recorded.get(name)
        if versions:
            record, version = versions[0]
            hint = f"Pin it to the version {record} records ({name}=={version}), or install with a constraints file that pins it."
        else:
            hint = f"Pin it ({name}==<version>), install it from a lock or a pinned requirements file, or pass a constraints file (-c) that pins it."
        yield finding(
            "unpinned-install",
            service.name,
            name,
            None,
            f"{name} is installed without a pin{how} in {environments(entries)}: every run resolves it afresh",
            declared_at(entries),
            severity=Severity.ERROR if policy.unpinned == "error" else Severity.WARNING,
            hint=hint,
        )


def mismatch_findings(service: Service) -> Iterator[Finding]:
    from envguard.specifiers import contains_any
    from envguard.versions import parse

    locked_from = frozenset().union(*(_LOCKED_FROM.get(source.format, frozenset()) for source in service.sources))
    # Most services declare only the manifest their lock is made from: nothing to compare.
    compared = [d for d in service.declarations if d.kind is Kind.REGISTRY and d.origin not in locked_from]
    if not compared or not service.sources:
        return
    held: dict[NormalizedName, list[Package]] = {}
    for package in service.packages:
        if package.is_third_party and package.version is not None:
            held.setdefault(package.name, []).append(package)
    groups: dict[tuple[NormalizedName, str], list[Declaration]] = {}
    for declaration in compared:
        packages = held.get(declaration.name)
        if not packages:
            continue  # an extra package: not a mismatch of versions
        versions = [p.version for p in packages if p.version is not None]
        if declaration.version is not None:
            wanted = parse(declaration.version)
            if any(v == declaration.version or (wanted is not None and parse(v) == wanted) for v in versions):
                continue
            asked = f"{declaration.name}=={declaration.version}"
        elif declaration.specifier:
            try:
                if contains_any(declaration.specifier, versions):
                    continue
            except ValueError:  # InvalidSpecifier: the reader let through what packaging refuses
                continue
            asked = f"{declaration.name}{declaration.specifier}"
        else:
            continue
        groups.setdefault((declaration.name, asked), []).append(declaration)
    for (name, asked), entries in sorted(groups.items()):
        packages = held[name]
        records = ", ".join(sorted({p.path for p in packages}))
        holds = ", ".join(sorted({p.version for p in packages if p.version is not None}))
        where = declared_at(entries) + tuple(loc for loc in locations(packages) if loc not in declared_at(entries))
        yield finding(
            "environment-mismatch",
            service.name,
            name,
            entries[0].version,
            f"{environments(entries)} installs {asked}, but {records} holds {name} {holds}: "
            "that environment tests something else than what was locked",
            where,
        )


def stale_lock_findings(service: Service) -> Iterator[Finding]:
    for stale in service.stale_locks:
        where = [Location(stale.manifest, stale.line), Location(stale.lock, stale.lock_line)]
        directory = stale.lock.rpartition("/")[0] or "."
        yield finding(
            "lock-out-of-date",
            service.name,
            None,
            None,
            f"{stale.lock} no longer matches {stale.manifest}: {stale.reason}",
            tuple(where),
            hint=f"Run `{_RELOCK.get(stale.tool, 'the locker')}` in {directory} and commit the lock with the manifest.",
        )


def _record_versions(service: Service) -> dict[NormalizedName, list[tuple[str, str]]]:
    """(record file, version) of each package the service's records pin."""
    found: dict[NormalizedName, list[tuple[str, str]]] = {}
    for package in service.packages:
        if package.is_third_party and package.version is not None:
            found.setdefault(package.name, []).append((package.path, package.version))
    return found
