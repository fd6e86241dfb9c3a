"""The plan: from a check's findings, one action per service and package that moves it where the
findings want it, in the service's own tool. Offline and deterministic: files are read, never
written, and nothing is run.

* version-drift, pinned-version-mismatch, snap-to-mismatch: each outlier service's entries move
  to the finding's `target`, the version its hint suggests (the highest in use that every
  constraint allows). A finding without a target is skipped, with its hint as the reason.
* plugin-version-not-allowed: a pinned or locked plugin moves to the highest version in use in
  the workspace within its approved range, else to the range's lower bound. A range or an
  unpinned declaration has no version to move: skipped.
* unapproved-plugin and denied-package: never removed automatically, always skipped with the reason.

Where several findings move one service's package, the drift finding's target wins (it already
respects the plugin's approved range). Suppressed findings are left alone: an exception accepts them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from pathlib import Path

from envguard._record import record
from envguard.errors import one_line
from envguard.fix import edit, pdm, pip_compile, pipenv, poetry, pyproject, requirements, uv
from envguard.fix.manifests import Request, Skip, read
from envguard.fix.model import Action, Edit, Plan, Skipped
from envguard.model import Declaration, Finding, Inventory, NormalizedName, Package, Service, normalize
from envguard.policy import Policy, selector_matches, service_matches
from envguard.rules.moves import Move, move_of, record_format
from envguard.versions import parse, satisfies, sort_key

DRIFT_RULES = ("version-drift", "pinned-version-mismatch", "snap-to-mismatch")
MOVED_RULES = (*DRIFT_RULES, "plugin-version-not-allowed")
# The rules `envguard fix` looks at: the ones it moves, and the ones it only explains.
RULES = (*MOVED_RULES, "unapproved-plugin", "denied-package")

_NEVER_REMOVED = {
    "unapproved-plugin": "envguard fix never removes a plugin: remove it from the service's dependencies, "
    "or approve it in plugins.approved after review",
    "denied-package": "envguard fix never removes a package: remove it from the service's dependencies "
    "(the policy denies it: {reason})",
}


@record(frozen=True)
class _Wanted:
    """A finding's wish for one service's package."""

    service: Service
    name: NormalizedName
    rule: str
    to: str
    entries: tuple[Package, ...]  # the service's record entries it names
    declarations: tuple[Declaration, ...]  # the declarations it names (only used without entries)


def build_plan(
    inventory: Inventory,
    findings: Iterable[Finding],
    policy: Policy,
    root: Path,
    *,
    only: Sequence[str] = (),
    packages: Sequence[str] = (),
) -> Plan:
    """The plan for `findings` of `inventory` (checked with `policy`, files under `root`).

    `only` (service names or globs) and `packages` (names or globs) narrow it.
    """
    services = {service.name: service for service in inventory.services}
    at = _entries_at(inventory)
    wanted: dict[tuple[str, NormalizedName], list[_Wanted]] = {}
    skipped: list[Skipped] = []
    selected = [normalize(p) if not p.startswith("!") else f"!{normalize(p[1:])}" for p in packages]
    for found in findings:
        if found.suppressed or found.package is None or found.name not in RULES:
            continue
        name = normalize(found.package)
        if selected and not selector_matches(selected, name):
            continue
        for service in _services_of(found, services):
            if only and not service_matches(only, service.name):
                continue
            wish = _wish(found, service, name, at, inventory, policy, skipped)
            if wish is not None:
                wanted.setdefault((service.name, name), []).append(wish)
    actions: list[Action] = []
    for key in sorted(wanted):
        wish = min(wanted[key], key=lambda w: MOVED_RULES.index(w.rule))
        try:
            actions.append(_action(wish, root))
        except Skip as exc:
            skipped.append(Skipped(wish.service.name, wish.name, wish.rule, one_line(str(exc))))
    ordered = sorted(set(skipped), key=lambda s: (s.service, s.package, s.rule, s.reason))
    return Plan(tuple(actions), tuple(ordered))


def _services_of(found: Finding, services: dict[str, Service]) -> list[Service]:
    """The services a finding asks to move: version-drift names its outliers, joined with ", "."""
    names = found.service.split(", ") if found.name == "version-drift" else [found.service]
    return [services[name] for name in names if name in services]


def _wish(
    found: Finding,
    service: Service,
    name: NormalizedName,
    at: dict[tuple[str, int, str], list[tuple[str, Package]]],
    inventory: Inventory,
    policy: Policy,
    skipped: list[Skipped],
) -> _Wanted | None:
    def skip(reason: str) -> None:
        skipped.append(Skipped(service.name, name, found.name, one_line(reason)))

    if found.name in _NEVER_REMOVED:
        skip(_NEVER_REMOVED[found.name].format(reason=policy.denied.get(name, "")))
        return None
    entries = tuple(
        package
        for location in found.locations
        for owner, package in at.get((location.path, location.line or 0, name), ())
        if owner == service.name and package.version is not None
    )
    if found.name in DRIFT_RULES:
        if not entries:
            return None  # a reference environment's location: nothing of the service's
        if found.target is None:
            skip(found.hint)
            return None
        return _Wanted(service, name, found.name, found.target, entries, ())
    # plugin-version-not-allowed
    allowed = policy.approved.get(name)
    declarations = tuple(
        d
        for location in found.locations
        for d in service.declarations
        if d.name == name and d.path == location.path and d.line == location.line and d.version is not None
    )
    if found.version is None or allowed is None or not (entries or declarations):
        skip(f"nothing pins a version to move; {found.hint}")
        return None
    target = plugin_target(inventory, name, allowed)
    if target is None:
        skip(f"no version in use is within {allowed}, and the range has no lower bound to move to")
        return None
    return _Wanted(service, name, found.name, target, entries, declarations)


def plugin_target(inventory: Inventory, name: NormalizedName, allowed: str) -> str | None:
    """The highest version of `name` in use within `allowed` (final releases first), else the
    range's lower bound."""
    in_use = {
        p.version
        for service in inventory.services
        for p in service.packages
        if p.name == name and p.version is not None and parse(p.version) is not None and satisfies(p.version, allowed)
    }
    finals = [v for v in in_use if not _prerelease(v)]
    pool = finals or list(in_use)
    if pool:
        return max(pool, key=sort_key)
    return lower_bound(allowed)


def lower_bound(allowed: str) -> str | None:
    """The lowest version `allowed` names that it admits (`>=1.0,<2` gives 1.0); None when none."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        specifiers = SpecifierSet(allowed)
    except InvalidSpecifier:
        return None
    bounds = [s.version.removesuffix(".*") for s in specifiers if s.operator in (">=", "==", "~=", "===")]
    admitted = [v for v in bounds if parse(v) is not None and satisfies(v, allowed)]
    return max(admitted, key=sort_key) if admitted else None


def _prerelease(version: str) -> bool:
    parsed = parse(version)
    return parsed is not None and parsed.is_prerelease


def _entries_at(inventory: Inventory) -> dict[tuple[str, int, str], list[tuple[str, Package]]]:
    """Every record entry by (path, line, name), with the service holding it."""
    found: dict[tuple[str, int, str], list[tuple[str, Package]]] = {}
    for service in inventory.services:
        for package in service.packages:
            found.setdefault((package.path, package.line, package.name), []).append((service.name, package))
    return found


# --------------------------------------------------------------------------- per tool


def _action(wish: _Wanted, root: Path) -> Action:
    if not wish.entries:
        return _declared_action(wish, root)
    first = wish.entries[0]
    fmt, compiled = record_format(wish.service, first.path)
    move = move_of(first, wish.to, fmt, compiled=compiled)
    for entry in wish.entries[1:]:
        fmt_other, compiled_other = record_format(wish.service, entry.path)
        other = move_of(entry, wish.to, fmt_other, compiled=compiled_other)
        if other.tool != move.tool:
            raise Skip(f"{wish.name} is recorded by two tools ({move.path}, {other.path}); move each by hand")
    request = Request(wish.service, wish.name, wish.entries, wish.to, wish.rule, move, root)
    if move.tool == "uv":
        return uv.plan(request)
    if move.tool == "poetry":
        return poetry.plan(request)
    if move.tool == "pdm":
        return pdm.plan(request)
    if move.tool == "pipenv":
        return pipenv.plan(request)
    if move.tool in ("pip-compile", "edit"):
        head = requirements.header(read(root, move.path))
        if head is None:
            return edit.plan(request)
        if head.tool == "uv-export":
            raise Skip(f"{move.path} was written by `uv export`: move {wish.name} in the uv.lock it comes from, then export again")
        return pip_compile.plan(request, head)
    raise Skip(f"envguard fix has no tool for {move.path} ({fmt or 'unknown format'}): {move.text}")


def _declared_action(wish: _Wanted, root: Path) -> Action:
    """A plugin pinned only by declarations: the pyproject and requirements pins are edited."""
    edits: list[Edit] = []
    first = wish.declarations[0]
    request = Request(wish.service, wish.name, (), wish.to, wish.rule, Move("edit", wish.name, wish.to, first.path, None), root)
    for declaration in wish.declarations:
        assert declaration.version is not None
        raw = read(root, declaration.path)
        args = (raw, declaration.path, declaration.line, wish.name, declaration.version, wish.to)
        if declaration.origin in ("project", "dependency-groups", "pdm", "uv", "poetry", "hatch"):
            found: Edit | None = pyproject.pin_edit(*args)
        elif declaration.origin == "requirements" and not requirements.hashed(raw):
            found = requirements.pin_edit(*args)
        else:
            raise Skip(
                f"{declaration.path}:{declaration.line} pins {declaration.requirement} ({declaration.origin}): "
                "envguard fix edits requirements, constraints and pyproject.toml pins only; move it by hand"
            )
        if found is None:
            raise Skip(f"{declaration.path}:{declaration.line} pins {declaration.requirement} in a form envguard cannot edit")
        edits.append(found)
    versions = tuple(sorted({d.version for d in wish.declarations if d.version is not None}, key=sort_key))
    return dataclasses.replace(edit.edit_action(request, edits), versions=versions)
