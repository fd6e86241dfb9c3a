"""Which findings a run reports: `--select` rules and `--changed` files, as pure functions.

Every service is still loaded and compared (drift needs all of them); this module only decides
what is shown and what counts for the exit code.

* `--select` takes rule names (`unapproved-plugin`), codes (`EG101`) or code prefixes (`EG1`),
  and the families `plugins` (EG1xx), `drift` (EG2xx), `exceptions` (EG3xx), `environment`
  (EG4xx) and `declared` (EG5xx). Each selector is expanded to the rule codes it covers.
* An exception-* finding reports on a policy exception, and the exception names the rule it
  waives: it is kept when its own rule is selected, when the waived rule is selected, or when the
  exception waives every rule (no `rule:`). So `--select plugins` keeps an expired exception for
  an unapproved plugin and drops one for a drift rule.
* `--changed` files map to services: a file belongs to the service whose directory holds it (the
  deepest such directory, so a root service does not take its sub-services' files) and to every
  service that reads it (a source, or a file a source includes). A changed policy file selects
  every service.
* With a set of changed services, a finding is kept when its service changed; a finding of a
  workspace-wide comparison (`Finding.involved`) when any service taking part changed; an
  exception-* finding when one of the exception's services changed (no services: every one).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from posixpath import normpath

from envguard.errors import UsageError
from envguard.model import Finding, Inventory, Waiver
from envguard.policy import service_matches
from envguard.rules.catalog import BY_CODE, BY_NAME, RULES

__all__ = ["FAMILIES", "changed_services", "filter_findings", "parse_select"]

FAMILIES: dict[str, str] = {
    "plugins": "EG1",
    "drift": "EG2",
    "exceptions": "EG3",
    "environment": "EG4",
    "declared": "EG5",
}
_EXCEPTION_RULES = frozenset({"exception-expired", "exception-expiring", "exception-unused"})


def parse_select(values: Iterable[str]) -> frozenset[str] | None:
    """The rule codes `--select` values cover (repeatable, comma-separated); None when none is given.

    Raises UsageError for a selector that names no rule.
    """
    codes: set[str] = set()
    given = False
    for value in values:
        for item in value.split(","):
            selector = item.strip()
            if not selector:
                continue
            given = True
            codes.update(_expand(selector))
    return frozenset(codes) if given else None


def _expand(selector: str) -> set[str]:
    lowered = selector.lower()
    if lowered in FAMILIES:
        return {rule.code for rule in RULES if rule.code.startswith(FAMILIES[lowered])}
    if lowered in BY_NAME:
        return {BY_NAME[lowered].code}
    upper = selector.upper()
    if upper.startswith("EG"):
        found = {rule.code for rule in RULES if rule.code.startswith(upper)}
        if found:
            return found
    families = ", ".join(FAMILIES)
    raise UsageError(
        f"--select {selector!r} names no rule; use a rule name or code (`envguard explain` lists them) "
        f"or a family: {families}"
    )


def changed_services(
    changed: Iterable[str],
    inventory: Inventory,
    policy_paths: Iterable[str],
    reads: Mapping[str, Iterable[str]] | None = None,
) -> frozenset[str] | None:
    """The services `changed` files belong to; None when a policy file changed (every service).

    Every path is relative to the workspace root with forward slashes. A policy path may be a
    file or a directory (everything under it counts). `reads` maps a service to the record files
    its packages come from (`check.Assessment.reads`), when known without reading its packages.
    """
    files = [normpath(path) for path in changed]
    policies = [normpath(path) for path in policy_paths]
    if any(_under(path, policy) for path in files for policy in policies):
        return None
    directories = {service.name: normpath(service.path) for service in inventory.services}
    readers: dict[str, set[str]] = {}
    for service in inventory.services:
        read = {source.path for source in service.sources} | {source.path for source in service.ignored}
        # What declares its environments: its own declaring files, the CI files that install into
        # it, and the requirements files those name.
        read |= {source.path for source in service.declared_sources}
        read |= {declaration.path for declaration in service.declarations}
        read |= set(reads[service.name]) if reads is not None else {package.path for package in service.packages}
        for path in read:
            readers.setdefault(normpath(path), set()).add(service.name)
    result: set[str] = set()
    for path in files:
        result |= readers.get(path, set())
        holders = {name: _depth(directory) for name, directory in directories.items() if _under(path, directory)}
        if holders:
            deepest = max(holders.values())
            result |= {name for name, depth in holders.items() if depth == deepest}
    return frozenset(result)


def _depth(directory: str) -> int:
    return 0 if directory == "." else directory.count("/") + 1


def _under(path: str, directory: str) -> bool:
    if directory == ".":
        return not path.startswith("../") and path != ".."
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def filter_findings(
    findings: Iterable[Finding],
    *,
    services: Collection[str] | None,
    select: Collection[str] | None,
    waivers: Iterable[Waiver] = (),
) -> tuple[Finding, ...]:
    """The findings to report: of the changed `services` (None: all) and the selected rule codes (None: all).

    `waivers` are the policy's exceptions; they tell which rule and services an exception-*
    finding is about (matched by location and package). Without them such a finding is judged
    by its own rule and its `service` text.
    """
    by_place = {(w.path, w.line, w.package): w for w in waivers}
    kept = []
    for finding in findings:
        waiver = _waiver_of(finding, by_place)
        if select is not None and not _selected(finding, waiver, select):
            continue
        if services is not None and not _in_scope(finding, waiver, services):
            continue
        kept.append(finding)
    return tuple(kept)


def _waiver_of(finding: Finding, by_place: dict[tuple[str, int | None, str], Waiver]) -> Waiver | None:
    if finding.name not in _EXCEPTION_RULES or not finding.locations or finding.package is None:
        return None
    first = finding.locations[0]
    return by_place.get((first.path, first.line, finding.package))


def _selected(finding: Finding, waiver: Waiver | None, select: Collection[str]) -> bool:
    if finding.rule in select:
        return True
    if waiver is None:
        return False
    if waiver.rule is None:
        return True
    waived = BY_NAME.get(waiver.rule) or BY_CODE.get(waiver.rule.upper())
    return waived is not None and waived.code in select


def _in_scope(finding: Finding, waiver: Waiver | None, services: Collection[str]) -> bool:
    if finding.name in _EXCEPTION_RULES:
        selectors = waiver.services if waiver is not None else _written_services(finding.service)
        # No services: the exception covers every service, so any changed one.
        return any(service_matches(selectors, service) for service in services)
    involved = finding.involved or tuple(finding.service.split(", "))
    return any(service in services for service in involved)


def _written_services(text: str) -> tuple[str, ...]:
    """The selectors an exception-* finding's `service` shows ("every service" or "a, b*")."""
    return () if text == "every service" else tuple(part for part in text.split(", ") if part)
