"""Environment rules: an installed environment against its lock (EG401-EG403) and itself (EG404-EG406).

The environment is read exactly (sources/environment.py), so plugins are the distributions that
register `pytest11` entry points, whatever they are called.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Iterator, Sequence

from envguard._record import record
from envguard.model import MAIN, Finding, Kind, Location, NormalizedName, Package, Severity, normalize
from envguard.plugins import How, PluginUse
from envguard.rules._common import finding, locations, shown_version
from envguard.sources.environment import Distribution, Environment, marker_applies
from envguard.versions import parse, satisfies

# Installed by virtual-environment tools and build front ends, never part of what a lock promises.
DEFAULT_IGNORED: frozenset[str] = frozenset({"pip", "setuptools", "wheel"})
_EXTRA_PREFIX = "extra:"


@record(frozen=True)
class Selection:
    """Which locked groups the environment should hold: "main" always, plus `groups`, or all.

    A selected name also selects the extra of that name ("extra:<name>"), since tools install
    extras and dependency groups with the same kind of flag.
    """

    groups: frozenset[str] = frozenset()
    all_groups: bool = False

    @classmethod
    def of(cls, names: Iterable[str], all_groups: bool = False) -> Selection:
        return cls(frozenset(_group_name(name) for name in names if name.strip()), all_groups)

    def wants(self, package: Package) -> bool:
        if self.all_groups or not package.groups:  # no groups: the file does not say
            return True
        return any(group == MAIN or group in self.groups or self._extra(group) for group in package.groups)

    def _extra(self, group: str) -> bool:
        return group.startswith(_EXTRA_PREFIX) and group[len(_EXTRA_PREFIX):] in self.groups

    @property
    def extras(self) -> frozenset[str]:
        return frozenset(g[len(_EXTRA_PREFIX):] if g.startswith(_EXTRA_PREFIX) else g for g in self.groups)

    def applies(self, package: Package, environment: Environment) -> bool:
        return marker_applies(
            package.marker,
            environment.interpreter.marker_environment(),
            extras=self.extras,
            groups=self.groups | {MAIN},
            any_extra=self.all_groups,
        )


def _group_name(name: str) -> str:
    name = name.strip()
    if name.startswith(_EXTRA_PREFIX):
        return _EXTRA_PREFIX + normalize(name[len(_EXTRA_PREFIX):])
    return normalize(name)


@record(frozen=True)
class Project:
    """The project the lock belongs to: installed (usually editable), never a lock entry of its own."""

    names: frozenset[str] = frozenset()
    directories: frozenset[str] = frozenset()  # resolved paths; an editable install from one is the project

    def owns(self, dist: Distribution) -> bool:
        if dist.name in self.names:
            return True
        if dist.kind is not Kind.EDITABLE or dist.url is None or not self.directories:
            return False
        return _file_url_path(dist.url) in self.directories


def _file_url_path(url: str) -> str | None:
    import os
    from urllib.parse import unquote, urlsplit
    from urllib.request import url2pathname

    parts = urlsplit(url)
    if parts.scheme != "file":
        return None
    return os.path.realpath(url2pathname(unquote(parts.path)))


def same_version(installed: str, locked: str) -> bool:
    """PEP 440 equality (1.0 == 1.0.0), or equal text for versions that are not PEP 440."""
    left, right = parse(installed), parse(locked)
    if left is None or right is None:
        return installed == locked
    return left == right


def _ignored(name: str, patterns: frozenset[str]) -> bool:
    return any(name == pattern or fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def _where(dist: Distribution) -> Location:
    return Location(dist.path, dist.line)


def lock_findings(
    service: str,
    locked: Sequence[Package],
    environment: Environment,
    selection: Selection,
    *,
    ignore: frozenset[str] = frozenset(),
    project: Project = Project(),
) -> Iterator[Finding]:
    """lock-mismatch, missing-from-environment and not-in-lock.

    `ignore` (normalised names or globs) hides a package from all three; pip, setuptools and
    wheel are not reported as not-in-lock unless the lock has them.
    """
    project = Project(
        project.names | {p.name for p in locked if p.kind is Kind.LOCAL_PROJECT}, project.directories
    )
    third_party = [p for p in locked if p.kind is not Kind.LOCAL_PROJECT]
    in_lock: dict[NormalizedName, list[Package]] = {}
    for package in third_party:
        in_lock.setdefault(package.name, []).append(package)
    wanted: dict[NormalizedName, list[Package]] = {}
    for package in third_party:
        if selection.wants(package) and selection.applies(package, environment):
            wanted.setdefault(package.name, []).append(package)
    installed = environment.installed()

    for name, entries in sorted(wanted.items()):
        if _ignored(name, ignore):
            continue
        copies = installed.get(name)
        if not copies:
            if name not in project.names:
                yield _missing(service, name, entries)
            continue
        mismatch = _mismatch(service, copies[0], entries)
        if mismatch is not None:
            yield mismatch

    for name, copies in sorted(installed.items()):
        if name in wanted or _ignored(name, ignore) or any(project.owns(dist) for dist in copies):
            continue
        if name not in in_lock and _ignored(name, DEFAULT_IGNORED):
            continue
        yield _not_in_lock(service, copies, in_lock.get(name, []), selection)


def _missing(service: str, name: str, entries: list[Package]) -> Finding:
    versions = sorted({shown_version(p.version) if p.version or not p.specifier else p.specifier for p in entries})
    groups = sorted({g for p in entries for g in p.groups})
    scope = f" (groups: {', '.join(groups)})" if groups else ""
    return finding(
        "missing-from-environment",
        service,
        name,
        entries[0].version,
        f"{name} {' or '.join(versions)} is locked{scope} but not installed",
        locations(entries),
    )


def _mismatch(service: str, dist: Distribution, entries: list[Package]) -> Finding | None:
    pinned = sorted({p.version for p in entries if p.version is not None})
    specifiers = sorted({p.specifier for p in entries if p.version is None and p.specifier})
    if pinned:
        if any(same_version(dist.version, version) for version in pinned):
            return None
        expected = f"the lock has {' or '.join(pinned)}"
    elif specifiers:
        if any(satisfies(dist.version, spec) for spec in specifiers):
            return None
        expected = f"the lock requires {' or '.join(specifiers)}"
    else:
        return None  # a URL, VCS or path entry without a version: nothing to compare
    return finding(
        "lock-mismatch",
        service,
        dist.name,
        dist.version,
        f"{dist.name} {dist.version} is installed, but {expected}",
        locations(entries) + (_where(dist),),
    )


def _not_in_lock(service: str, copies: list[Distribution], entries: list[Package], selection: Selection) -> Finding:
    first = copies[0]
    if not entries:
        why = "but the lock does not have it"
    else:
        groups = sorted({g for p in entries for g in p.groups} - {MAIN})
        if groups and not any(selection.wants(p) for p in entries):
            names = ",".join(g[len(_EXTRA_PREFIX):] if g.startswith(_EXTRA_PREFIX) else g for g in groups)
            why = f"but the lock has it only in groups not selected ({', '.join(groups)}; use --groups {names})"
        else:
            markers = sorted({p.marker for p in entries if p.marker})
            why = "but the lock has it only for other environments" + (f" ({'; '.join(markers)})" if markers else "")
    return finding(
        "not-in-lock",
        service,
        first.name,
        first.version,
        f"{first.name} {first.version} is installed, {why}",
        tuple(_where(dist) for dist in copies) + locations(entries),
    )


# --------------------------------------------------------------------------- the environment itself


def requirement_findings(service: str, environment: Environment) -> Iterator[Finding]:
    """broken-requirement: what `pip check` reports, with markers and requested extras honoured.

    Only the copy Python imports is checked. A requirement `b[x]` that is met also asks for the
    requirements of b's extra `x`, transitively.
    """
    from packaging.requirements import InvalidRequirement, Requirement

    markers = environment.interpreter.marker_environment()
    effective = {name: copies[0] for name, copies in environment.installed().items()}
    parsed: dict[NormalizedName, list[Requirement]] = {}
    for name, dist in sorted(effective.items()):
        parsed[name] = []
        for raw in dist.requires:
            try:
                parsed[name].append(Requirement(raw))
            except InvalidRequirement:
                yield finding(
                    "broken-requirement",
                    service,
                    name,
                    dist.version,
                    f"{name} {dist.version} declares a requirement that is not valid PEP 508: {raw!r}",
                    (_where(dist),),
                    severity=Severity.WARNING,
                    hint="Report it to the package's maintainers; pip ignores or rejects such requirements.",
                )

    def needed(requirement: Requirement, extra: str) -> bool:
        marker = str(requirement.marker) if requirement.marker is not None else None
        if not extra:
            return marker_applies(marker, markers)
        # An extra's own requirements: needed with the extra, not already without it.
        return marker_applies(marker, markers, extras=frozenset({extra})) and not marker_applies(marker, markers)

    # Which extras of which distribution are asked for, and by whom (first asker is named).
    asked: dict[tuple[NormalizedName, str], str] = {}
    todo: list[tuple[NormalizedName, str]] = [(name, "") for name in sorted(effective)]
    seen: set[tuple[NormalizedName, str]] = set()
    while todo:
        name, extra = todo.pop()
        if (name, extra) in seen or name not in effective:
            continue
        seen.add((name, extra))
        for requirement in parsed[name]:
            target = normalize(requirement.name)
            if not needed(requirement, extra) or target not in effective:
                continue
            for wanted in sorted(normalize(e) for e in requirement.extras):
                asked.setdefault((target, wanted), name)
                todo.append((target, wanted))

    for name, extra in sorted(seen):
        dist = effective[name]
        for requirement in parsed[name]:
            if not needed(requirement, extra):
                continue
            target = normalize(requirement.name)
            have = effective.get(target)
            specifier = str(requirement.specifier)
            if have is not None and satisfies(have.version, specifier):
                continue
            shown = _requirement_text(requirement)
            context = f" (for its extra '{extra}', which {asked[(name, extra)]} asks for)" if extra else ""
            state = f"{target} is not installed" if have is None else f"{target} {have.version} is installed"
            where = (_where(dist),) if have is None else (_where(dist), _where(have))
            yield finding(
                "broken-requirement",
                service,
                name,
                dist.version,
                f"{name} {dist.version} requires {shown}{context}, but {state}",
                where,
            )


def _requirement_text(requirement: object) -> str:
    from packaging.requirements import Requirement

    assert isinstance(requirement, Requirement)
    extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
    if requirement.url:
        return f"{requirement.name}{extras} @ {requirement.url}"
    return f"{requirement.name}{extras}{requirement.specifier}"


def duplicate_findings(service: str, environment: Environment, *, ordered: bool = True) -> Iterator[Finding]:
    """duplicate-installation: one distribution name installed more than once on sys.path."""
    for name, copies in sorted(environment.installed().items()):
        if len(copies) < 2:
            continue
        described = ", ".join(f"{dist.version} in {dist.location or f'{dist.path}:{dist.line}'}" for dist in copies)
        which = f"; Python imports {copies[0].version}, the first on sys.path" if ordered else ""
        yield finding(
            "duplicate-installation",
            service,
            name,
            copies[0].version,
            f"{name} is installed {len(copies)} times ({described}){which}",
            tuple(_where(dist) for dist in copies),
        )


def collision_findings(service: str, environment: Environment, *, ordered: bool = True) -> Iterator[Finding]:
    """entry-point-collision: one pytest11 name registered by two distributions.

    A duplicate installation registering its own name twice is duplicate-installation, not this.
    The finding names the distribution whose plugin pytest skips (with `ordered`, the later one
    on sys.path: pluggy registers the first it meets and skips every later one of that name).
    """
    owners: dict[str, list[Distribution]] = {}
    for dist in environment.distributions:
        for entry_point, _ in dist.pytest11:
            registered = owners.setdefault(entry_point, [])
            if all(other.name != dist.name for other in registered):
                registered.append(dist)
    for entry_point, dists in sorted(owners.items()):
        if len(dists) < 2:
            continue
        first = dists[0]
        for other in dists[1:]:
            if ordered:
                outcome = f"pytest loads {first.name}'s plugin, found first on sys.path, and never {other.name}'s"
            else:
                outcome = "pytest loads only one of them"
            yield finding(
                "entry-point-collision",
                service,
                other.name,
                other.version,
                f"pytest11 entry point '{entry_point}' is registered by {first.name} {first.version} and "
                f"{other.name} {other.version}; {outcome}",
                (_where(first), _where(other)),
            )


def plugin_uses(environment: Environment, also_plugins: frozenset[str] = frozenset()) -> tuple[PluginUse, ...]:
    """The installed pytest plugins, exactly: every distribution with a pytest11 entry point.

    The policy's also_plugins still count (a package pytest loads through `-p` or a conftest).
    """
    extra = {normalize(name) for name in also_plugins}
    uses: list[PluginUse] = []
    for dist in environment.distributions:
        if dist.pytest11:
            how: How = "name" if dist.name.startswith("pytest-") else "knowledge-base"
        elif dist.name in extra:
            how = "policy"
        else:
            continue
        package = dist.package()
        uses.append(PluginUse(package, dist.name, how, package.path, package.line))
    return tuple(sorted(uses, key=lambda use: (use.name, use.path, use.line or 0)))
