"""Drift rules: version-drift (EG201), pinned-version-mismatch (EG202), snap-to-mismatch (EG203).

Pure functions over an inventory; no file is read here.

How a run works:

* Every third-party entry of every service that applies to the target (`markers.applies`; in the
  universal view every entry counts) is resolved to a requirement: the first `drift.rules` entry
  whose package selector matches its name, whose service selector (if any) matches the service
  and whose group selector (if any) matches one of the entry's groups; else `drift.default`. An
  entry whose groups are unknown (empty tuple) never matches a rule that has a group selector.
* Entries resolved to `none` are dropped. The others are compared per (package, rule): the
  default is a rule of its own, so two rules with the same level are two comparisons.
* Entries without a version cannot be compared; findings of their comparison name the services
  they belong to.

Decisions the issue left open:

* version-drift needs versions from at least two services: the several versions a marker-forked
  lock holds in one service are the locking tool's choice, not drift between services.
* The suggested target is the highest PEP 440 version in use that every constraint allows: the
  comparison's own requirement (a pin, the reference service's versions), the pins of every
  `pinned` rule that decided an entry of the package, `plugins.approved` for the package and, for
  pytest, `pytest.allowed`. Final releases are preferred; a pre-release is suggested only when no
  final release qualifies. A version that is not PEP 440 is never suggested.
* Without a suggestion, the version-drift outliers are the services with an entry off the most
  common key (the key held by the most services; ties go to the key with the higher version).
* snap-to takes the reference service's versions from all its entries of the package that apply
  to the target, whatever rule they resolve to; the reference service is never its own outlier.
* Findings of a workspace-wide comparison name, in `Finding.involved`, every service that took
  part: version-drift every service with a counted entry, snap-to-mismatch the outlier and the
  reference service. `envguard check --changed` keeps such a finding when any of them changed.
* snap-to may name a reference environment (`envguard.references`) instead of a service: each
  service's version must be one the reference holds exactly, or within the range of an entry that
  has only a specifier (a constraints file). Packages the reference does not hold are not
  compared; the reference is named with its file and line, is not a matrix column (the row's
  requirement says what it holds), and is not `involved` (a change to its file is a change to
  the policy).
* Markers are shown for a service that holds several versions of the package, to tell them apart.
* Hints hold one line per outlier service, `service: command` (several commands of one service,
  from several records, joined with "; "), or one sentence when nothing can be suggested. Each
  command is the move `envguard.rules.moves.move_of` chooses, the one `envguard fix` plans, and
  the finding's `target` is the suggested version. The record's format comes from `formats`,
  else from the service's sources.
"""

from __future__ import annotations

import dataclasses
import functools
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from envguard._record import record
from envguard.errors import one_line
from envguard.markers import Target, applies
from envguard.model import Diagnostic, Finding, Inventory, Kind, NormalizedName, Package, Service
from envguard.policy import DriftRule, Policy, selector_matches, service_matches
from envguard.rules._common import finding, locations
from envguard.rules.moves import declared_groups, move_command, record_format
from envguard.versions import drift_key, parse, satisfies, sort_key

if TYPE_CHECKING:
    from envguard.references import Reference

__all__ = [
    "DriftEntry",
    "DriftMatrix",
    "DriftRow",
    "MatrixRow",
    "PackageDrift",
    "Resolver",
    "compare_all",
    "drift_findings",
    "drift_matrix",
    "matrix_of",
    "move_command",
    "package_drift",
    "service_entries",
    "unchecked_references",
]

_NAMES = ("version-drift", "pinned-version-mismatch", "snap-to-mismatch")

_LEVEL_PHRASE = {
    "exact": "on the same version",
    "same-minor": "on the same minor version",
    "same-major": "on the same major version",
}


# --------------------------------------------------------------------------- public API
#
# A run has two stages, so that `envguard check` can keep the result of each (envguard.check_cache):
# `service_entries` reads one service on its own, `package_drift` compares one package across
# every service that holds it. Nothing else crosses services.


class DriftRow(NamedTuple):
    package: str
    # (service, its versions joined with ", ") for the services that hold the package, in
    # DriftMatrix.services order: an organisation's row holds hundreds of its thousands of columns.
    cells: tuple[tuple[str, str], ...]
    requirement: str  # "exact", "same-major", "pinned >=4.2,<4.3", "snap-to ml-core", ...
    # The version the comparison's findings suggest (Finding.target); None when none qualifies.
    target: str | None = None


@record(frozen=True)
class DriftMatrix:
    """The services (columns) and packages (rows) of the drift findings, with each cell's versions."""

    services: tuple[str, ...]
    rows: tuple[DriftRow, ...]

    def dense(self, row: DriftRow) -> tuple[str, ...]:
        """`row`'s cells, one per column ("" where the service does not hold the package)."""
        held = dict(row.cells)
        return tuple(held.get(service, "") for service in self.services)


class DriftEntry(NamedTuple):  # a tuple: every package of every service makes one
    """One entry of a service's records as the comparison of its package sees it."""

    service: str
    rule: int  # the drift rule that decides it: its index in policy.drift_rules, -1 for drift.default
    package: Package
    command_format: str | None  # format of the record it came from: the command a hint suggests
    compiled: bool  # a requirements file that pip-compile wrote
    # package.version, kept beside it: comparisons read it for every entry, and one object
    # fewer to reach is most of their time at an organisation's scale (600,000 entries).
    version: str | None
    # The group the service's pyproject.toml declares the package in, where its record does not
    # say (Poetry's lock-version 2.0 records no groups): the hint's `poetry add --group`.
    declared_group: str | None = None


class MatrixRow(NamedTuple):
    """A comparison that produced findings, as a row of the drift matrix."""

    findings: tuple[int, ...]  # indexes into PackageDrift.findings
    package: str
    requirement: str
    cells: tuple[tuple[str, str], ...]  # (service, its versions joined with ", ")


@record(frozen=True)
class PackageDrift:
    """What the comparisons of one package found."""

    findings: tuple[Finding, ...]
    rows: tuple[MatrixRow, ...]
    unchecked: tuple[int, ...]  # snap-to rules (indexes) whose reference service had no version of it


class Resolver:
    """The drift rule that decides each entry, resolved once per distinct (service, name, groups).

    A rule depends on the service only through service selectors, on the groups only through
    group selectors, so most entries of a workspace share a handful of resolutions.
    """

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._by_service = any(rule.services for rule in policy.drift_rules)
        self._by_groups = any(rule.groups for rule in policy.drift_rules)
        self._memo: dict[tuple[str, str, tuple[str, ...]], int] = {}
        # Without service or group selectors the rule depends on the name alone.
        self.by_name: dict[str, int] | None = None if self._by_service or self._by_groups else {}

    def __call__(self, service: str, package: Package) -> int:
        if self.by_name is not None:
            found = self.by_name.get(package.name)
            if found is None:
                found = self.by_name[package.name] = _resolve(self.policy, service, package)
            return found
        memo = (service if self._by_service else "", package.name, package.groups if self._by_groups else ())
        found = self._memo.get(memo)
        if found is None:
            found = self._memo[memo] = _resolve(self.policy, service, package)
        return found


def service_entries(
    service: Service, resolver: Resolver, target: Target, formats: Mapping[str, str] = {}
) -> dict[NormalizedName, list[DriftEntry]]:
    """The entries of `service` every comparison may use, per package, in record order.

    Every third-party entry that applies to the target, whatever its rule (a snap-to reference
    counts all of them). `formats` maps a record path (Package.path) to its format id when the
    service's own sources do not say (see the module docstring).
    """
    # An organisation's check makes 600,000 of these: the loop avoids every call it can.
    found: dict[NormalizedName, list[DriftEntry]] = {}
    name = service.name
    universal = target.universal
    commands: dict[str, tuple[str | None, bool]] = {}
    by_name = resolver.by_name
    local = Kind.LOCAL_PROJECT
    declared: dict[NormalizedName, str] | None = None
    for package in service.packages:
        if package.kind is local or not (universal or applies(package.marker, target)):
            continue
        command = commands.get(package.path)
        if command is None:
            command = commands[package.path] = record_format(service, package.path, formats)
        rule = by_name.get(package.name) if by_name is not None else None
        if rule is None:
            rule = resolver(name, package)
        group = None
        if command[0] == "poetry" and not package.groups:
            if declared is None:
                declared = declared_groups(service)
            group = declared.get(package.name)
        entry = _tuple(DriftEntry, (name, rule, package, command[0], command[1], package.version, group))
        held = found.get(package.name)
        if held is None:
            found[package.name] = [entry]
        else:
            held.append(entry)
    return found  # lists: nothing changes them once made, and 300 tuples a service are not free


_tuple = tuple.__new__  # a NamedTuple's own __new__ is a Python function


def package_drift(
    name: NormalizedName,
    members: Sequence[tuple[str, Sequence[DriftEntry]]],
    policy: Policy,
    references: Mapping[str, Reference] = {},
) -> PackageDrift:
    """Compare package `name` across `members`: (service, its entries of the package), by service name.

    The entries are those of the run's target already (service_entries); `references` are the
    reference environments snap-to rules may name, by name, viewed for that target too.
    """
    entries = [entry for _, held in members for entry in held]
    return _package_drift(name, entries, any(len(held) > 1 for _, held in members), policy, references)


def _package_drift(
    name: NormalizedName,
    entries: list[DriftEntry],
    several: bool,
    policy: Policy,
    references: Mapping[str, Reference],
) -> PackageDrift:
    """package_drift of `entries`, every service's entries of the package in service order;
    `several`: some service holds more than one."""
    groups: dict[int, list[DriftEntry]] = {}
    # Entries arrive service by service: a group needs sorting only where one service holds
    # several entries of the package.
    unsorted: set[int] = set()
    requirements: dict[int, _Requirement] = {}
    if entries and not any(rule.services or rule.groups for rule in policy.drift_rules):
        # One rule decides every entry of the package: the name alone chooses it.
        index = entries[0].rule
        only = requirements[index] = _requirement(policy, index)
        if only.kind != "none":
            groups[index] = entries
            if several:
                unsorted.add(index)
    else:
        for entry in entries:
            requirement = requirements.get(entry.rule)
            if requirement is None:
                requirement = requirements[entry.rule] = _requirement(policy, entry.rule)
            if requirement.kind == "none":
                continue
            group = groups.get(entry.rule)
            if group is None:
                group = groups[entry.rule] = []
            elif group[-1].service == entry.service:
                unsorted.add(entry.rule)
            group.append(entry)

    pins = [
        requirements[index].value
        for index in sorted(groups)
        if requirements[index].kind == "pinned" and requirements[index].value is not None
    ]
    context = _Context(policy, entries, [pin for pin in pins if pin is not None], references)
    findings: list[Finding] = []
    rows: list[MatrixRow] = []
    unchecked: list[int] = []
    for index in sorted(groups):
        group = groups[index]
        if index in unsorted:
            group = sorted(group, key=_entry_key)
        requirement = requirements[index]
        comparison = _Comparison(name, requirement, group, [], {})
        if requirement.kind == "pinned":
            comparison.findings.extend(_pinned(context, comparison))
        elif requirement.kind == "snap-to":
            if not _snap_to(context, comparison):
                unchecked.append(index)
        else:
            comparison.findings.extend(_level(context, comparison))
        if comparison.findings:
            first = len(findings)
            findings.extend(comparison.findings)
            shown = comparison.label or requirement.text
            rows.append(MatrixRow(tuple(range(first, len(findings))), name, shown, _cells(comparison)))
    return PackageDrift(tuple(findings), tuple(rows), tuple(unchecked))


def compare_all(
    entries: Iterable[tuple[str, Mapping[NormalizedName, Sequence[DriftEntry]]]],
    policy: Policy,
    references: Mapping[str, Reference] = {},
) -> dict[NormalizedName, PackageDrift]:
    """Every package's comparison, from each service's entries (service_entries) in service name order."""
    # Straight into one list per package: an organisation has 600,000 (service, package) pairs.
    flat: dict[NormalizedName, list[DriftEntry]] = {}
    several: set[NormalizedName] = set()
    for _, held in entries:
        for name, found in held.items():
            into = flat.get(name)
            if into is None:
                flat[name] = list(found)
            else:
                into.extend(found)
            if len(found) > 1:
                several.add(name)
    return {name: _package_drift(name, flat[name], name in several, policy, references) for name in sorted(flat)}


def unchecked_references(
    drifts: Mapping[NormalizedName, PackageDrift],
    policy: Policy,
    services: Collection[str],
    target: Target,
    reported: Collection[str] = (),
) -> list[Diagnostic]:
    """One diagnostic per snap-to rule that could not be checked for some package.

    Rules whose target is in `reported` (reference environments, names that are neither a service
    nor a reference) are left out: those are said elsewhere.
    """
    names: dict[int, list[str]] = {}
    for name in sorted(drifts):
        for index in drifts[name].unchecked:
            if policy.drift_rules[index].require_value not in reported:
                names.setdefault(index, []).append(name)
    return [
        _missing_reference(policy.drift_rules[index], names[index], services, target) for index in sorted(names)
    ]


def matrix_of(drifts: Iterable[PackageDrift], findings: Iterable[Finding]) -> DriftMatrix:
    """Package x service table of the comparisons that produced one of `findings`.

    A finding matches a comparison when it is one the comparison yields (same rule, service,
    package, version and message), so suppressed findings count as well: filter them out
    beforehand to leave them out of the table.
    """
    wanted = {_identity(f) for f in findings if f.name in _NAMES}
    rows: list[tuple[str, tuple[tuple[str, str], ...], str, str | None]] = []
    for drift in drifts:
        for row in drift.rows:
            if any(_identity(drift.findings[i]) in wanted for i in row.findings):
                # Every finding of one comparison suggests the same target.
                rows.append((row.package, row.cells, row.requirement, drift.findings[row.findings[0]].target))
    columns = tuple(sorted({service for _, cells_, _, _ in rows for service, _ in cells_}))
    table = tuple(
        DriftRow(name, tuple(sorted(cells_)), requirement, target)
        for name, cells_, requirement, target in sorted(rows, key=lambda r: (r[0], r[2]))
    )
    return DriftMatrix(columns, table)


def drift_findings(
    inventory: Inventory, policy: Policy, target: Target, formats: Mapping[str, str]
) -> tuple[list[Finding], list[Diagnostic]]:
    """Drift findings and the diagnostics of rules that could not be checked (missing snap-to services).

    `formats` maps a source path (Package.path) to its format id; it chooses the command each
    outlier's hint suggests.
    """
    drifts = _analyse(inventory, policy, target, formats)
    findings = [f for name in sorted(drifts) for f in drifts[name].findings]
    services = {service.name for service in inventory.services}
    return findings, unchecked_references(drifts, policy, services, target)


def drift_matrix(inventory: Inventory, policy: Policy, target: Target, findings: Iterable[Finding]) -> DriftMatrix:
    """The matrix (see matrix_of) of the comparisons of `inventory`."""
    drifts = _analyse(inventory, policy, target, {})
    return matrix_of((drifts[name] for name in sorted(drifts)), findings)


# --------------------------------------------------------------------------- analysis


@record(frozen=True)
class _Requirement:
    """What the policy requires of one package's versions across services, and which rule says so."""

    index: int  # position in policy.drift_rules; -1 for drift.default
    kind: str
    value: str | None
    origin: str  # "drift.default" or "drift rule policies/x.yaml:7"

    @property
    def text(self) -> str:
        return self.kind if self.value is None else f"{self.kind} {self.value}"


@dataclass
class _Comparison:
    """One package compared across the services that hold it, while the comparison is made."""

    name: NormalizedName
    requirement: _Requirement
    entries: list[DriftEntry]
    findings: list[Finding]
    # snap-to only: the reference service's versions, for the matrix.
    reference: dict[str, list[str]]
    # The matrix row's requirement when it says more than the rule (what a reference environment holds).
    label: str | None = None

    @property
    def counted(self) -> list[DriftEntry]:
        """The entries with a version, in entry order (by service)."""
        return self._tally[0]

    @property
    def by_version(self) -> dict[str, list[DriftEntry]]:
        """The counted entries of each version, in entry order."""
        return self._tally[1]

    @property
    def services(self) -> list[str]:
        """The services of the counted entries, each once, in order."""
        return self._tally[2]

    @functools.cached_property
    def _tally(self) -> tuple[list[DriftEntry], dict[str, list[DriftEntry]], list[str]]:
        # One pass: an organisation's package has an entry in each of hundreds of services, and
        # each pass over them costs more than the work it does (the entries lie apart in memory).
        counted: list[DriftEntry] = []
        by_version: dict[str, list[DriftEntry]] = {}
        services: dict[str, None] = {}
        for entry in self.entries:  # never changed once compared
            version = entry.version
            if version is None:
                continue
            counted.append(entry)
            held = by_version.get(version)
            if held is None:
                by_version[version] = [entry]
            else:
                held.append(entry)
            services[entry.service] = None
        return counted, by_version, list(services)


@record(frozen=True)
class _Context:
    """What the comparisons of one package share."""

    policy: Policy
    entries: Sequence[DriftEntry]  # every service's entries of the package, in service order
    pins: list[str]  # specifiers of the pinned rules that decided an entry of the package
    references: Mapping[str, Reference] = dataclasses.field(default_factory=dict)  # by name


def _analyse(
    inventory: Inventory, policy: Policy, target: Target, formats: Mapping[str, str]
) -> dict[NormalizedName, PackageDrift]:
    resolver = Resolver(policy)
    services = sorted(inventory.services, key=lambda s: s.name)
    return compare_all(((s.name, service_entries(s, resolver, target, formats)) for s in services), policy)


def _cells(comparison: _Comparison) -> tuple[tuple[str, str], ...]:
    if not comparison.reference and len(comparison.counted) == len(comparison.services):
        return tuple([(e.service, _version(e)) for e in comparison.counted])  # one version a service
    cells: dict[str, list[str]] = {}
    for entry in comparison.counted:
        held = cells.get(entry.service)
        if held is None:
            cells[entry.service] = [_version(entry)]
        else:
            held.append(_version(entry))
    for service, versions in comparison.reference.items():
        cells.setdefault(service, []).extend(versions)
    return tuple(
        (service, versions[0] if len(versions) == 1 else _join_versions(versions))
        for service, versions in cells.items()
        if versions
    )


def _resolve(policy: Policy, service: str, package: Package) -> int:
    for index, rule in enumerate(policy.drift_rules):
        if not selector_matches(rule.packages, package.name):
            continue
        if rule.services and not service_matches(rule.services, service):
            continue
        if rule.groups and not any(selector_matches(rule.groups, group) for group in package.groups):
            continue
        return index
    return -1


def _requirement(policy: Policy, index: int) -> _Requirement:
    if index < 0:
        return _Requirement(-1, policy.drift_default, None, "drift.default")
    rule = policy.drift_rules[index]
    where = f"{rule.path}:{rule.line}" if rule.path and rule.line else rule.path or f"#{index + 1}"
    return _Requirement(index, rule.require_kind, rule.require_value, f"drift rule {where}")


# --------------------------------------------------------------------------- the three rules


def _level(context: _Context, comparison: _Comparison) -> list[Finding]:
    level = comparison.requirement.kind
    # By version, not by entry: an organisation's 2,000 services hold a package at a few versions.
    by_version = comparison.by_version
    if len(by_version) < 2:
        return []
    keys = {version: drift_key(version, level) for version in by_version}
    services = comparison.services
    if len(services) < 2 or len(set(keys.values())) < 2:
        return []
    counted = comparison.counted
    if len(counted) > len(services):
        # Services that fork a package by marker the same way (uv.lock and its own export, two
        # services locked for the same interpreters) agree: only differing sets of versions drift.
        per_service: dict[str, set[tuple[object, ...]]] = {}
        for entry in counted:
            per_service.setdefault(entry.service, set()).add(keys[_version(entry)])
        first = next(iter(per_service.values()))
        if all(found == first for found in per_service.values()):
            return []

    constraints = _constraints(context, comparison.name)
    suggested = _suggest(by_version, constraints)
    if suggested is not None:
        wanted = drift_key(suggested, level)
        tail = f"Suggested target: {suggested}, the highest version in use{_within(constraints)}."
    else:
        wanted, common = _most_common(by_version, keys)
        none_in = f"is within {_constraint_text(constraints)}" if constraints else "is a PEP 440 version"
        tail = f"No version in use {none_in}; the outliers are the services not on the most common version {common}."
    off = [e for e in counted if keys[_version(e)] != wanted]
    outliers = list(dict.fromkeys([e.service for e in off]))  # in order: entries are by service

    requirement = comparison.requirement
    message = (
        f"{comparison.name} is not {_LEVEL_PHRASE[level]} across services "
        f"({requirement.origin} requires {requirement.text}): {_level_listing(comparison)}. {tail}"
        f"{_unversioned(comparison)}"
    )
    drift = finding(
        "version-drift",
        ", ".join(outliers),
        comparison.name,
        None,
        message,
        locations(e.package for e in off),
        hint=_hint(context, comparison.name, off, suggested, constraints),
    )
    # Every service compared, not only the outliers: moving the majority can create the drift.
    return [dataclasses.replace(drift, involved=tuple(services), target=suggested)]


def _pinned(context: _Context, comparison: _Comparison) -> list[Finding]:
    spec = comparison.requirement.value or "*"
    off = [e for e in comparison.counted if not satisfies(_version(e), spec)]
    if not off:
        return []
    constraints = _constraints(context, comparison.name)
    suggested = _suggest((_version(e) for e in comparison.counted), constraints)
    if suggested is not None:
        tail = f"Suggested target: {suggested}, the highest version in use{_within(constraints)}."
    else:
        tail = f"No version in use is within {_constraint_text(constraints)}."
    findings = []
    for service, entries in _by_service(off):
        message = (
            f"{comparison.name} {_listing(entries, with_service=False)} in {service} is outside the pinned range "
            f"{spec} ({comparison.requirement.origin}). {tail}{_unversioned(comparison)}"
        )
        findings.append(
            _service_finding("pinned-version-mismatch", context, comparison, service, entries, message, suggested, constraints)
        )
    return findings


def _snap_to(context: _Context, comparison: _Comparison) -> bool:
    """Fill in the comparison's findings; False when the reference service cannot be used."""
    reference = comparison.requirement.value or ""
    environment = context.references.get(reference)
    if environment is not None:
        _snap_to_environment(context, comparison, environment)
        return True
    # Every entry of the reference service, whatever rule it resolves to.
    held = [e for e in context.entries if e.service == reference]
    versions = sorted({e.version for e in held if e.version is not None}, key=sort_key)
    if not versions:
        return False
    comparison.reference[reference] = versions
    reference_keys = {drift_key(v, "exact") for v in versions}
    off = [
        e
        for e in comparison.counted
        if e.service != reference and drift_key(_version(e), "exact") not in reference_keys
    ]
    if not off:
        return True
    constraints = _constraints(context, comparison.name)
    suggested = _suggest(versions, constraints)
    if suggested is not None:
        tail = f"Suggested target: {suggested}."
    else:
        tail = f"No version of {reference} is within {_constraint_text(constraints)}."
    shown = _join_versions(versions)
    for service_name, entries in _by_service(off):
        message = (
            f"{comparison.name} {_listing(entries, with_service=False)} in {service_name} differs from {shown} "
            f"used by the reference service {reference} ({comparison.requirement.origin}). {tail}"
            f"{_unversioned(comparison)}"
        )
        mismatch = _service_finding(
            "snap-to-mismatch", context, comparison, service_name, entries, message, suggested, constraints
        )
        # A change to the reference service moves the target of every other service.
        comparison.findings.append(dataclasses.replace(mismatch, involved=tuple(sorted({reference, service_name}))))
    return True


def _snap_to_environment(context: _Context, comparison: _Comparison, reference: Reference) -> None:
    """snap-to a reference environment: each service's versions held by it exactly, or within its ranges."""
    held = sorted(reference.held(comparison.name), key=lambda p: (p.path, p.line))
    exact = {drift_key(p.version, "exact") for p in held if p.version is not None}
    ranges = list(dict.fromkeys(p.specifier for p in held if p.version is None and p.specifier))
    if not exact and not ranges:
        return  # it does not hold the package, or names it without a version (constrains nothing)
    versions = sorted({p.version for p in held if p.version is not None}, key=sort_key)
    shown = ", ".join([*versions, *ranges])
    comparison.label = f"snap-to reference {reference.name} {shown}"

    def holds(version: str) -> bool:
        return drift_key(version, "exact") in exact or any(satisfies(version, spec) for spec in ranges)

    off = [e for e in comparison.counted if not holds(_version(e))]
    if not off:
        return
    constraints = _constraints(context, comparison.name)
    # Its own versions first; for its ranges, the versions in use within them.
    candidates = versions + [_version(e) for e in comparison.counted if ranges and holds(_version(e))]
    suggested = _suggest(candidates, constraints)
    if suggested is not None:
        tail = f"Suggested target: {suggested}."
    elif constraints:
        tail = f"No version it allows{' in use' if ranges else ''} is within {_constraint_text(constraints)}."
    else:
        tail = "No version in use is within it."
    where = f"reference {reference.name} ({held[0].path}:{held[0].line})"
    verb = "is outside" if ranges and not versions else "differs from"
    for service_name, entries in _by_service(off):
        message = (
            f"{comparison.name} {_listing(entries, with_service=False)} in {service_name} {verb} {shown} in {where}, "
            f"as {comparison.requirement.origin} requires. {tail}{_unversioned(comparison)}"
        )
        mismatch = _service_finding(
            "snap-to-mismatch", context, comparison, service_name, entries, message, suggested, constraints
        )
        # The reference's entries are where the target comes from: the last locations, after the service's.
        found = (*mismatch.locations, *(loc for loc in locations(held) if loc not in mismatch.locations))
        comparison.findings.append(dataclasses.replace(mismatch, locations=found, involved=(service_name,)))


def _service_finding(
    rule: str,
    context: _Context,
    comparison: _Comparison,
    service: str,
    entries: list[DriftEntry],
    message: str,
    suggested: str | None,
    constraints: Sequence[tuple[str, str]],
) -> Finding:
    """A pinned or snap-to finding: one service's entries of the package, with its move command."""
    found = finding(
        rule,
        service,
        comparison.name,
        _join_versions(_version(e) for e in entries),
        message,
        locations(e.package for e in entries),
        hint=_hint(context, comparison.name, entries, suggested, constraints),
    )
    return dataclasses.replace(found, target=suggested)


def _missing_reference(rule: DriftRule, names: list[str], services: Collection[str], target: Target) -> Diagnostic:
    reference = rule.require_value or ""
    packages = ", ".join(sorted(set(names)))
    view = "" if target.universal else f" for {target.describe()}"
    if reference not in services:
        problem = f"service {reference!r} is not in the inventory"
    else:
        problem = f"service {reference!r} has no version of {packages}{view}"
    message = f"drift rule snap-to: {problem}; {packages} not checked against it"
    return Diagnostic(rule.path, rule.line, message)


# --------------------------------------------------------------------------- suggestions


def _constraints(context: _Context, name: NormalizedName) -> list[tuple[str, str]]:
    """(where it comes from, specifier) pairs every suggested version must satisfy."""
    found: list[tuple[str, str]] = [("pinned", spec) for spec in dict.fromkeys(context.pins)]
    approved = context.policy.approved.get(name)
    if approved is not None and approved.strip() not in ("", "*"):
        found.append(("plugins.approved", approved))
    if name == "pytest" and context.policy.pytest_allowed is not None:
        found.append(("pytest.allowed", context.policy.pytest_allowed))
    return found


def _suggest(versions: Iterable[str], constraints: Sequence[tuple[str, str]]) -> str | None:
    allowed = [v for v in set(versions) if parse(v) is not None and all(satisfies(v, s) for _, s in constraints)]
    finals = [v for v in allowed if not _is_prerelease(v)]
    pool = finals or allowed
    return max(pool, key=sort_key) if pool else None


def _is_prerelease(version: str) -> bool:
    parsed = parse(version)
    return parsed is not None and parsed.is_prerelease


def _within(constraints: Sequence[tuple[str, str]]) -> str:
    return f" within {_constraint_text(constraints)}" if constraints else ""


def _constraint_text(constraints: Sequence[tuple[str, str]]) -> str:
    return " and ".join(f"{where} {spec}" for where, spec in constraints)


def _most_common(
    by_version: Mapping[str, Sequence[DriftEntry]], keys: dict[str, tuple[object, ...]]
) -> tuple[tuple[object, ...], str]:
    """The key held by the most services (ties: the higher version) and a version that shows it.

    `keys` holds each version's drift key."""
    services: dict[tuple[object, ...], set[str]] = {}
    for version, entries in by_version.items():
        services.setdefault(keys[version], set()).update(e.service for e in entries)
    highest: dict[tuple[object, ...], str] = {}
    for version, key in keys.items():
        if key not in highest or sort_key(version) > sort_key(highest[key]):
            highest[key] = version
    counts = Counter({key: len(names) for key, names in services.items()})
    best = max(counts, key=lambda k: (counts[k], sort_key(highest[k])))
    return best, highest[best]


# --------------------------------------------------------------------------- hints


def _hint(
    context: _Context,
    name: str,
    off: list[DriftEntry],
    suggested: str | None,
    constraints: Sequence[tuple[str, str]],
) -> str:
    services = sorted({e.service for e in off})
    if suggested is None:
        where = f"within {_constraint_text(constraints)} " if constraints else ""
        moved = ", ".join(services)
        return f"Choose a version of {name} {where}and move {moved} to it with each service's locking tool."
    lines = []
    for service, entries in _by_service(off):
        commands = dict.fromkeys(move_command(e.package, suggested, e.command_format, compiled=e.compiled, group=e.declared_group) for e in entries)
        # One line per service: a line break in a name (or a path in a command) would start another.
        lines.append(one_line(f"{service}: {'; '.join(commands)}"))
    return "\n".join(lines)


# --------------------------------------------------------------------------- text helpers


def _version(entry: DriftEntry) -> str:
    assert entry.version is not None  # only counted entries reach here
    return entry.version


def _entry_key(entry: DriftEntry) -> tuple[str, tuple[int, object, str], str, str, int]:
    p = entry.package
    return (entry.service, sort_key(p.version), p.marker or "", p.path, p.line)


def _by_service(entries: Iterable[DriftEntry]) -> list[tuple[str, list[DriftEntry]]]:
    grouped: dict[str, list[DriftEntry]] = {}
    for entry in entries:
        held = grouped.get(entry.service)
        if held is None:
            grouped[entry.service] = [entry]
        else:
            held.append(entry)
    return [
        (service, held if len(held) == 1 else sorted(held, key=_entry_key))
        for service in sorted(grouped)
        for held in (grouped[service],)
    ]


def _join_versions(versions: Iterable[str]) -> str:
    return ", ".join(sorted(set(versions), key=sort_key))


# Past this many services a listing names services by version (`8.3.2 in 1,712 services (a, b, c
# and 1,709 more); 8.2.0 in d, e`): a line per service is unreadable for an organisation, and
# every service is still in the finding's involved services, locations and the drift matrix.
_LISTED_SERVICES = 20
_NAMED_PER_VERSION = 10


def _listing(entries: Iterable[DriftEntry], *, with_service: bool = True) -> str:
    """`billing 8.4.2; fork 2.0.2 [marker], 2.5.5 [marker]`: markers only where a service holds several versions."""
    parts = []
    for service, group in _by_service(entries):
        versions: dict[str, set[str]] = {}
        for entry in group:
            versions.setdefault(_version(entry), set()).add(entry.package.marker or "")
        several = len(versions) > 1
        shown = []
        for version in sorted(versions, key=sort_key):
            markers = sorted(m for m in versions[version] if m)
            label = f" [{' or '.join(markers)}]" if several and markers else ""
            shown.append(f"{version}{label}")
        text = ", ".join(shown)
        parts.append(f"{service} {text}" if with_service else text)
    return "; ".join(parts)


def _level_listing(comparison: _Comparison) -> str:
    """`_listing` of every counted entry of a comparison."""
    if len(comparison.services) <= _LISTED_SERVICES:
        return _listing(comparison.counted)
    holders = {version: list(dict.fromkeys([e.service for e in held])) for version, held in comparison.by_version.items()}
    return _by_version_text(holders)


def _by_version_text(holders: dict[str, list[str]]) -> str:
    """`8.3.2 in 1,712 services (a, b, c and 1,709 more); 8.2.0 in d, e`: `holders` are each version's services, in order."""
    parts = []
    for version in sorted(holders, key=sort_key):
        names = holders[version]
        if len(names) <= _NAMED_PER_VERSION:
            parts.append(f"{version} in {', '.join(names)}")
        else:
            parts.append(f"{version} in {len(names):,} services ({', '.join(names[:3])} and {len(names) - 3:,} more)")
    return "; ".join(parts)


def _unversioned(comparison: _Comparison) -> str:
    services = sorted({e.service for e in comparison.entries if e.version is None})
    return f" Not compared (no version in the record): {', '.join(services)}." if services else ""


def _identity(f: Finding) -> tuple[str, str, str | None, str | None, str]:
    return (f.rule, f.service, f.package, f.version, f.message)
