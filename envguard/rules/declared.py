"""The plugin and package rules over declarations: what files ask to install.

unapproved-plugin, plugin-version-not-allowed, denied-package and pytest-version-not-allowed
apply to every declared requirement too (a pyproject extra or group, a tox environment, a nox
session, a CI step, a Dockerfile), pointing at the line that declares it.

How a declared requirement is judged against an approved range (`plugins.approved`,
`pytest.allowed`): by what it admits, not by what it happens to resolve to today
(`envguard.specifiers`).

* An exact pin (`==7.1.0`) is judged like a locked version.
* A specifier that admits no approved version (`pytest-cov<5` against `>=5,<6`) is an error:
  no resolution can satisfy both the file and the policy.
* A specifier that admits approved versions and others too (`pytest-cov>=4` against `>=5,<6`,
  or no specifier at all) is a warning, because a fresh resolution may pick either side, except
  where something else decides the version: a record of the same service holds the package (the
  lock resolved it, and the lock's version is judged), or the declaration is an install without
  any pin (unpinned-install reports it as unpinned, which is the problem to fix).
* A specifier that admits only approved versions passes.

A declared package that the service's records also hold gives no second finding of the same
rule: its lines join the record's finding, so one problem is one finding listing every place to
fix. What only a declaration shows (a plugin declared but not locked, a range no approved version
satisfies) is a finding of its own, with every declaring line.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator

from envguard.model import Declaration, Finding, Location, NormalizedName, Service, Severity
from envguard.plugins import PluginUse, plugin_reason
from envguard.policy import Policy
from envguard.rules._common import declared_at, environments, finding, judge

# How plugin uses are recognised in records that make a package a plugin when declared too.
_BY_CONFIGURATION = frozenset({"config", "conftest"})


def declared_findings(
    service: Service, uses: tuple[PluginUse, ...], policy: Policy, findings: Iterable[Finding]
) -> list[Finding]:
    """`findings` (the record rules' findings of `service`) with the declarations' added."""
    result = list(findings)
    declared = [d for d in service.declarations if d.is_third_party]
    if not declared:
        return result
    locked = {package.name for package in service.packages if package.is_third_party}
    enabled = {use.name for use in uses if use.how in _BY_CONFIGURATION}
    disabled = {use.name for use in uses if use.how == "disabled"}
    own: list[Finding] = []
    by_name: dict[NormalizedName, list[Declaration]] = {}
    for declaration in declared:
        by_name.setdefault(declaration.name, []).append(declaration)
    for name, entries in sorted(by_name.items()):
        if name in policy.denied:
            own.extend(_denied(service.name, name, entries, policy))
            continue
        if name == "pytest":
            own.extend(_judged(service.name, "pytest-version-not-allowed", name, entries, policy.pytest_allowed, locked))
            continue
        plugin = name not in disabled and (
            name in enabled or any(plugin_reason(d.name, d.version, policy.also_plugins) for d in entries)
        )
        if not plugin:
            continue
        if name in policy.approved:
            own.extend(_judged(service.name, "plugin-version-not-allowed", name, entries, policy.approved[name], locked))
        elif policy.unknown != "ignore":
            own.append(_unapproved(service.name, name, entries, policy))
    return _merge(result, own)


def declared_plugins(service: Service, uses: tuple[PluginUse, ...], policy: Policy) -> list[tuple[Declaration, str]]:
    """The service's declarations of pytest plugins, each with how it was recognised (a PluginUse `how`)."""
    enabled: dict[str, str] = {use.name: use.how for use in uses if use.how in _BY_CONFIGURATION}
    disabled = {use.name for use in uses if use.how == "disabled"}
    found: list[tuple[Declaration, str]] = []
    for declaration in service.declarations:
        if not declaration.is_third_party or declaration.name in disabled:
            continue
        how: str | None = plugin_reason(declaration.name, declaration.version, policy.also_plugins)
        how = how or enabled.get(declaration.name)
        if how is not None:
            found.append((declaration, how))
    return found


def declared_status(declaration: Declaration, policy: Policy) -> str:
    """What the policy says of one declared plugin, for `envguard plugins`."""
    name = declaration.name
    if name in policy.denied:
        return f"denied: {policy.denied[name]}"
    if name not in policy.approved:
        return f"not approved (plugins.unknown: {policy.unknown})"
    allowed = policy.approved[name]
    verdict, _ = judge(declaration.version, declaration.specifier, allowed)
    if verdict == "within":
        return f"approved ({allowed})"
    if verdict == "outside":
        return f"declared as {_written(declaration)}, which admits no version in the approved range {allowed}"
    return f"declared as {_written(declaration)}, which also admits versions outside the approved range {allowed}"


def _denied(service: str, name: NormalizedName, entries: list[Declaration], policy: Policy) -> Iterator[Finding]:
    yield finding(
        "denied-package",
        service,
        name,
        _pin(entries),
        f"{name} is declared in {environments(entries)} and denied by the policy: {policy.denied[name]}",
        declared_at(entries),
    )


def _unapproved(service: str, name: NormalizedName, entries: list[Declaration], policy: Policy) -> Finding:
    return finding(
        "unapproved-plugin",
        service,
        name,
        _pin(entries),
        f"pytest plugin {name} is declared in {environments(entries)} and not approved by the policy",
        declared_at(entries),
        severity=Severity.ERROR if policy.unknown == "error" else Severity.WARNING,
    )


def _judged(
    service: str,
    rule: str,
    name: NormalizedName,
    entries: list[Declaration],
    allowed: str | None,
    locked: set[NormalizedName],
) -> Iterator[Finding]:
    if allowed is None:
        return
    what = "pytest.allowed" if rule == "pytest-version-not-allowed" else "its approved range"
    subject = "pytest" if rule == "pytest-version-not-allowed" else f"approved plugin {name}"
    outside: dict[str, list[Declaration]] = {}
    partly: dict[str, list[Declaration]] = {}
    examples: dict[str, str | None] = {}
    for declaration in entries:
        verdict, example = judge(declaration.version, declaration.specifier, allowed)
        written = _written(declaration)
        if verdict == "outside":
            outside.setdefault(written, []).append(declaration)
        elif verdict == "partly" and _loose(declaration, name, locked):
            partly.setdefault(written, []).append(declaration)
            examples.setdefault(written, example)
    for written, same in sorted(outside.items()):
        pinned = _pin(same)
        verb = "is" if pinned is not None else "admits no version"
        message = (
            f"{subject} is declared as {written} in {environments(same)}, which is outside {what} {allowed}"
            if verb == "is"
            else f"{subject} is declared as {written} in {environments(same)}, which admits no version in {what} {allowed}"
        )
        yield finding(rule, service, name, pinned, message, declared_at(same))
    for written, same in sorted(partly.items()):
        example = examples[written]
        if same[0].specifier:
            message = (
                f"{subject} is declared as {written} in {environments(same)}, "
                f"which also admits versions outside {what} {allowed}"
            )
        else:
            message = f"{subject} is declared without a version in {environments(same)}, so nothing keeps it within {what} {allowed}"
        if example:
            message += f" (it admits {example}, for example)"
        yield finding(
            rule,
            service,
            name,
            None,
            message,
            declared_at(same),
            severity=Severity.WARNING,
            hint=f"Declare it within {allowed} (or lock it), so that every resolution stays inside {what}.",
        )


def _loose(declaration: Declaration, name: NormalizedName, locked: set[NormalizedName]) -> bool:
    """Whether nothing but the declaration's own specifier decides the version it gets."""
    if name in locked or declaration.pinned_by is not None:
        return False
    # An install with no specifier at all is unpinned-install's to report.
    return not (declaration.install and not declaration.specifier)


def _written(declaration: Declaration) -> str:
    if declaration.version is not None:
        return f"{declaration.name}=={declaration.version}"
    return f"{declaration.name}{declaration.specifier or ''}"


def _pin(entries: list[Declaration]) -> str | None:
    """The version when every entry pins the same one."""
    versions = {d.version for d in entries}
    return versions.pop() if len(versions) == 1 else None


def _merge(records: list[Finding], declared: list[Finding]) -> list[Finding]:
    """Declared findings of a rule and package that a record finding already reports join it."""
    index = {(f.name, f.package): i for i, f in reversed(list(enumerate(records)))}
    result = list(records)
    for item in declared:
        at = index.get((item.name, item.package))
        if at is None:
            result.append(item)
            continue
        merged = _locations(result[at].locations, item.locations)
        result[at] = dataclasses.replace(result[at], locations=merged)
    return result


def _locations(first: tuple[Location, ...], more: tuple[Location, ...]) -> tuple[Location, ...]:
    """The record's locations first (its `path`/`line` stay the record's), then the declarations'."""
    return first + tuple(location for location in more if location not in first)
