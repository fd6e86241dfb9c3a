"""`envguard diff A B`: how the third-party packages of two services differ.

Each side is resolved from what the user typed (`resolve_side`):

1. an existing path: a **dependency file** is one service; a **directory** is one service whose
   sources are chosen as discovery always chooses them (the strongest record in that directory;
   subdirectories are other services and are not read);
2. otherwise the **name of a service** of the workspace at `--root` (default: the current
   directory);
3. otherwise a usage error that suggests close service names.

Paths shown for a path argument start with the argument as written (`../a/uv.lock`), so that two
files of the same name stay apart; a workspace service's paths are relative to its root, as in
every other report.

Comparison (`compare`), per normalised package name, after dropping local projects, entries whose
marker cannot apply to `--python`/`--platform`/`--implementation`, and names that `--packages`
leaves out:

* present on one side only: `only-a` / `only-b`;
* the same set of versions on both sides (PEP 440 equality, so `1.0` equals `1.0.0`; an entry
  without a version counts as "(no version)" plus its kind): unchanged;
* otherwise `versions.classify` of the highest version of each side, which also covers sides
  with several versions (marker forks), and "other" when either side has no version at all.

`--policy-only` keeps the packages whose drift rule (`drift_level`) is not `none`.

Declarations (what each side's pyproject.toml, tox.ini, CI steps, ... ask to install) are
compared too (`compare_declared`), per package, as the set of requirements each side declares:
the specifier, PEP 440-canonical (`>=8` equals `>=8.0`), with its marker, whatever environment
asks for it (environment labels name each side's own files, so they always differ). A package
declared differently makes the sides differ, as a changed version does.
"""

from __future__ import annotations

import difflib
import posixpath
import re
from collections.abc import Iterable, Sequence
from dataclasses import field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from envguard._record import record
from envguard.errors import SourceError, UsageError
from envguard.markers import Target, applies
from envguard.model import Declaration, Diagnostic, NormalizedName, Package, Source
from envguard.versions import classify, parse, sort_key

if TYPE_CHECKING:
    from envguard.policy import Policy
    from envguard.workspace import ServiceSpec, Workspace

ONLY_A = "only-a"
ONLY_B = "only-b"
# Every value of Change.change, in the order reports list them.
CHANGE_KINDS: tuple[str, ...] = (ONLY_A, ONLY_B, "major", "minor", "patch", "pre", "post", "dev", "local", "other")


@record(frozen=True)
class Side:
    """One side of a diff: what was named, the files read, and every package they record."""

    name: str
    sources: tuple[Source, ...]
    packages: tuple[Package, ...]
    # True when `name` is a service of the workspace (drift rule `services` selectors then apply).
    service: bool = False
    declarations: tuple[Declaration, ...] = ()
    declared_sources: tuple[Source, ...] = ()

    @property
    def environments(self) -> tuple[str, ...]:
        return tuple(sorted({d.environment for d in self.declarations}))


@record(frozen=True, order=True)
class Pin:
    """A version one side records for a package; `kind` only for entries without a version."""

    version: str | None
    kind: str | None = None

    @property
    def label(self) -> str:
        return self.version if self.version is not None else f"(no version, {self.kind})"


@record(frozen=True)
class Change:
    package: NormalizedName
    a: tuple[Pin, ...]  # empty for only-b; sorted with versions.sort_key
    b: tuple[Pin, ...]  # empty for only-a
    change: str  # one of CHANGE_KINDS

    @property
    def a_versions(self) -> list[str | None]:
        return _versions(self.a)

    @property
    def b_versions(self) -> list[str | None]:
        return _versions(self.b)


@record(frozen=True)
class DeclaredChange:
    """A package the two sides declare differently: each side's requirements, as written canonically."""

    package: NormalizedName
    a: tuple[str, ...]  # e.g. ("==8.3.2", ">=8 ; python_version < '3.12'"), "" for no specifier; empty: not declared
    b: tuple[str, ...]


@record(frozen=True)
class DiffOptions:
    target: Target = field(default_factory=Target)
    # Normalised selector patterns ("!" negates); empty keeps every package.
    packages: tuple[str, ...] = ()
    # With a policy, packages whose drift rule is `none` are left out (--policy-only).
    policy: Policy | None = None


@record(frozen=True)
class DiffResult:
    a: Side
    b: Side
    changes: tuple[Change, ...]
    unchanged: int
    target: Target = field(default_factory=Target)
    errors: tuple[Diagnostic, ...] = ()
    warnings: tuple[Diagnostic, ...] = ()
    declared: tuple[DeclaredChange, ...] = ()

    @property
    def differ(self) -> bool:
        return bool(self.changes or self.declared)

    def exit_code(self) -> int:
        """As diff(1): 0 when the sides agree, 1 when they differ, 2 when a source could not be read."""
        if self.errors:
            return 2
        return 1 if self.differ else 0


# --------------------------------------------------------------------------- comparing


def compare(a: Side, b: Side, options: DiffOptions | None = None) -> tuple[tuple[Change, ...], int]:
    """The changes from `a` to `b`, sorted by package, and how many packages are unchanged."""
    options = options or DiffOptions()
    left, right = _by_name(a, options), _by_name(b, options)
    services = (a.name, b.name) if a.service and b.service else None
    changes: list[Change] = []
    unchanged = 0
    for name in sorted(set(left) | set(right)):
        entries_a, entries_b = left.get(name, []), right.get(name, [])
        if options.policy is not None:
            groups = {group for entry in entries_a + entries_b for group in entry.groups}
            if drift_level(options.policy, name, groups, services) == "none":
                continue
        pins_a, pins_b = _pins(entries_a), _pins(entries_b)
        kind = _change(pins_a, pins_b)
        if kind is None:
            unchanged += 1
        else:
            changes.append(Change(name, pins_a, pins_b, kind))
    return tuple(changes), unchanged


def compare_declared(a: Side, b: Side, options: DiffOptions | None = None) -> tuple[DeclaredChange, ...]:
    """The packages the sides declare differently, sorted by name."""
    options = options or DiffOptions()
    left, right = _declared(a, options), _declared(b, options)
    changes = []
    for name in sorted(set(left) | set(right)):
        mine, theirs = left.get(name, {}), right.get(name, {})
        if set(mine) != set(theirs):
            changes.append(DeclaredChange(name, tuple(sorted(mine.values())), tuple(sorted(theirs.values()))))
    return tuple(changes)


def _declared(side: Side, options: DiffOptions) -> dict[NormalizedName, dict[tuple[object, ...], str]]:
    """Per package: a canonical identity of each requirement declared -> how to show it."""
    from envguard.policy import selector_matches

    found: dict[NormalizedName, dict[tuple[object, ...], str]] = {}
    for declaration in side.declarations:
        if not declaration.is_third_party or not applies(declaration.marker, options.target):
            continue
        if options.packages and not selector_matches(options.packages, declaration.name):
            continue
        written = f"=={declaration.version}" if declaration.version is not None else (declaration.specifier or "")
        if declaration.kind.value not in ("registry",):
            written = f"({declaration.kind.value}) {declaration.requirement}"
        shown = f"{written} ; {declaration.marker}".lstrip() if declaration.marker else written
        found.setdefault(declaration.name, {})[(_canonical(written), declaration.marker)] = shown
    return found


def _canonical(written: str) -> object:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        return SpecifierSet(written) if not written.startswith("(") else written
    except InvalidSpecifier:
        return written


def _by_name(side: Side, options: DiffOptions) -> dict[NormalizedName, list[Package]]:
    from envguard.policy import selector_matches

    found: dict[NormalizedName, list[Package]] = {}
    for package in side.packages:
        if not package.is_third_party or not applies(package.marker, options.target):
            continue
        if options.packages and not selector_matches(options.packages, package.name):
            continue
        found.setdefault(package.name, []).append(package)
    return found


def _pins(entries: list[Package]) -> tuple[Pin, ...]:
    pins = {Pin(p.version, None if p.version is not None else p.kind.value) for p in entries}
    return tuple(sorted(pins, key=lambda pin: (sort_key(pin.version), pin.kind or "")))


def _identity(pin: Pin) -> tuple[str, object]:
    if pin.version is None:
        return ("none", pin.kind)
    parsed = parse(pin.version)
    return ("pep440", parsed) if parsed is not None else ("raw", pin.version)


def _change(a: tuple[Pin, ...], b: tuple[Pin, ...]) -> str | None:
    if not b:
        return ONLY_A
    if not a:
        return ONLY_B
    if {_identity(p) for p in a} == {_identity(p) for p in b}:
        return None
    # Pins are sorted with sort_key, which puts entries without a version first.
    high_a, high_b = a[-1].version, b[-1].version
    if high_a is None or high_b is None:
        return "other"
    return classify(high_a, high_b)


def _versions(pins: tuple[Pin, ...]) -> list[str | None]:
    # Two unversioned entries of different kinds are one null in the version list.
    return list(dict.fromkeys(pin.version for pin in pins))


def drift_level(
    policy: Policy, name: str, groups: Iterable[str] = (), services: Sequence[str] | None = None
) -> str:
    """The drift requirement the policy sets for `name` between the two sides of a diff.

    The first drift rule whose `packages` selector matches decides, else `drift.default`, as in
    `check`. A diff compares two services as wholes, so the other selectors apply only where
    that is unambiguous:

    * `services`: when both sides are workspace services, the rule applies only if it selects
      both of them; a side given as a path has no service name, and the selector is ignored;
    * `groups`: the rule applies if it selects a group of some entry of the package on either
      side; when the files record no groups, the selector is ignored.
    """
    from envguard.policy import selector_matches

    known_groups = sorted(set(groups))
    for rule in policy.drift_rules:
        if not selector_matches(rule.packages, name):
            continue
        if rule.services and services is not None:
            if not all(selector_matches(rule.services, service) for service in services):
                continue
        if rule.groups and known_groups:
            if not any(selector_matches(rule.groups, group) for group in known_groups):
                continue
        return rule.require_kind
    return policy.drift_default


_SEPARATORS = re.compile(r"[-_.]+")
_PATTERN = re.compile(r"[A-Za-z0-9._*?\[\]-]+")


def package_patterns(patterns: Iterable[str]) -> tuple[str, ...]:
    """`--packages` globs, PEP 503-normalised like package names ("!" negates)."""
    result = []
    for written in patterns:
        text = written.strip()
        bang = "!" if text.startswith("!") else ""
        body = text[len(bang) :]
        if not _PATTERN.fullmatch(body):
            raise UsageError(f"--packages {written!r}: give a package name or glob, optionally prefixed with '!'")
        result.append(bang + _SEPARATORS.sub("-", body).lower())
    return tuple(result)


# --------------------------------------------------------------------------- resolving sides


class _Resolver:
    """Resolves arguments; the workspace at `root` is discovered at most once, when needed."""

    def __init__(self, root: Path, source_format: str | None) -> None:
        self.root = root
        self.source_format = source_format
        self._workspace: Workspace | None = None

    def workspace(self) -> Workspace:
        from envguard.workspace import discover

        if self._workspace is None:
            if not self.root.is_dir():
                raise UsageError(f"--root {self.root}: not a directory")
            self._workspace = discover([self.root], self.source_format)
        return self._workspace

    def policy_workspace(self) -> Workspace:
        """The workspace whose configuration names the policy; the config alone when not yet discovered."""
        from envguard.workspace import Workspace, load_config

        if self._workspace is not None:
            return self._workspace
        if not self.root.is_dir():
            raise UsageError(f"--root {self.root}: not a directory")
        return Workspace(self.root.resolve(), (), load_config(self.root))

    def resolve(self, argument: str) -> tuple[Side, list[Diagnostic], list[Diagnostic]]:
        path = Path(argument)
        if argument and path.exists():
            return self._path_side(argument, path)
        return self._named_side(argument)

    def _path_side(self, argument: str, path: Path) -> tuple[Side, list[Diagnostic], list[Diagnostic]]:
        from envguard.org.artifacts import is_artifact
        from envguard.workspace import discover

        display = path.as_posix()
        if is_artifact(path):
            return _artifact_side(path, display)
        workspace = discover([path], self.source_format)
        if path.is_dir():
            target = path.resolve()
            spec = next((s for s in workspace.services if s.directory == target), None)
            # A workspace root that only declares (a pre-commit configuration) is no side to
            # compare: the services below it are what the user meant.
            if spec is not None and not spec.sources and len(workspace.services) > 1:
                spec = None
            prefix = display
        else:
            spec = workspace.services[0] if workspace.services else None
            prefix = posixpath.dirname(display)
        errors = [d for d in workspace.errors if _in_directory(d.path, ".")]
        if spec is None:
            if errors:
                return Side(display, (), ()), _rebase_all(errors, prefix), []
            raise UsageError(_no_sources_message(display, workspace))
        side, errors, warnings = _load(spec, workspace, display, service=False)
        return (
            Side(
                side.name,
                tuple(replace(s, path=_rebase(s.path, prefix)) for s in side.sources),
                tuple(replace(p, path=_rebase(p.path, prefix)) for p in side.packages),
                declarations=tuple(_rebase_declaration(d, prefix) for d in side.declarations),
                declared_sources=tuple(replace(s, path=_rebase(s.path, prefix)) for s in side.declared_sources),
            ),
            _rebase_all(errors, prefix),
            _rebase_all(warnings, prefix),
        )

    def _named_side(self, argument: str) -> tuple[Side, list[Diagnostic], list[Diagnostic]]:
        workspace = self.workspace()
        by_name = {spec.name: spec for spec in workspace.services}
        spec = by_name.get(argument)
        if spec is None:
            raise UsageError(_unknown_service_message(argument, sorted(by_name), self.root))
        return _load(spec, workspace, argument, service=True)


def _artifact_side(path: Path, display: str) -> tuple[Side, list[Diagnostic], list[Diagnostic]]:
    """The one service of an inventory artifact, its paths as the repository wrote them."""
    from envguard.errors import SourceError
    from envguard.org.artifacts import read_artifact

    try:
        artifact = read_artifact(path, display)
    except SourceError as exc:
        return Side(display, (), ()), [Diagnostic(exc.path, exc.line, exc.message)], []
    services = [s for s in artifact.services if s.sources or s.declarations]
    if len(services) != 1:
        names = ", ".join(s.name for s in artifact.services) or "none"
        raise UsageError(f"{display}: diff compares one service, and this artifact holds several ({names})")
    (service,) = services
    side = Side(display, service.sources, service.packages, False, service.declarations, service.declared_sources)
    return side, list(artifact.errors), list(artifact.warnings)


def _load(
    spec: ServiceSpec, workspace: Workspace, name: str, *, service: bool
) -> tuple[Side, list[Diagnostic], list[Diagnostic]]:
    from envguard.inventory import load_one
    from envguard.workspace import relative

    loaded, errors, warnings = load_one(spec, workspace)
    directory = relative(spec.directory, workspace.root)
    # Discovery problems elsewhere in the workspace are not this diff's business; those in this
    # service's directory, and in the workspace configuration, are.
    errors = errors + [d for d in workspace.errors if _in_directory(d.path, directory) or _is_config(d.path)]
    side = Side(name, loaded.sources, loaded.packages, service, loaded.declarations, loaded.declared_sources)
    return side, errors, warnings


def _in_directory(path: str, directory: str) -> bool:
    return posixpath.dirname(path) == ("" if directory == "." else directory)


def _is_config(path: str) -> bool:
    return path in ("pyproject.toml", "envguard.toml")


def _rebase(path: str, prefix: str) -> str:
    return posixpath.normpath(posixpath.join(prefix, path)) if prefix else path


def _rebase_declaration(declaration: Declaration, prefix: str) -> Declaration:
    """Its path, and the file its environment label starts with, as given on the command line."""
    first, space, rest = declaration.environment.partition(" ")
    environment = f"{_rebase(first, prefix)}{space}{rest}" if space else declaration.environment
    return replace(declaration, path=_rebase(declaration.path, prefix), environment=environment)


def _rebase_all(items: list[Diagnostic], prefix: str) -> list[Diagnostic]:
    return [replace(d, path=_rebase(d.path, prefix)) for d in items]


def _no_sources_message(display: str, workspace: Workspace) -> str:
    message = f"{display}: no dependency file in this directory"
    names = [spec.name for spec in workspace.services]
    if names:
        shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
        message += f"; it is a workspace of {len(names)} services ({shown}): name one, or give its directory"
    return message


def _unknown_service_message(argument: str, names: list[str], root: Path) -> str:
    where = "the current directory" if root == Path(".") else str(root)
    message = f"{argument!r} is neither a file, a directory nor a service of the workspace at {where}"
    close = difflib.get_close_matches(argument, names, n=3)
    if close:
        return message + "; did you mean " + " or ".join(repr(name) for name in close) + "?"
    if not names:
        return message + " (it has no services)"
    shown = ", ".join(names[:10]) + (", ..." if len(names) > 10 else "")
    return message + f" (its services: {shown})"


def resolve_side(
    argument: str, root: Path | None = None, source_format: str | None = None
) -> tuple[Side, list[Diagnostic], list[Diagnostic]]:
    """One side from a path or a service name: the side, its errors and its warnings."""
    return _Resolver(root if root is not None else Path("."), source_format).resolve(argument)


# --------------------------------------------------------------------------- the command


def run_diff(
    a: str,
    b: str,
    *,
    root: Path | None = None,
    policy_path: str | Path | None = None,
    policy_only: bool = False,
    packages: Iterable[str] = (),
    target: Target | None = None,
    source_format: str | None = None,
) -> DiffResult:
    """Resolve both sides, compare them; unreadable sources come back as errors, not exceptions.

    The policy is read only for `policy_only` (that is all a diff uses it for).
    """
    target = target or Target()
    patterns = package_patterns(packages)
    resolver = _Resolver(root if root is not None else Path("."), source_format)
    side_a, errors, warnings = resolver.resolve(a)
    side_b, errors_b, warnings_b = resolver.resolve(b)
    errors += errors_b
    warnings += warnings_b
    policy = _policy(resolver, policy_path, errors) if policy_only else None
    if errors:
        return DiffResult(side_a, side_b, (), 0, target, _sorted(errors), _sorted(warnings))
    options = DiffOptions(target, patterns, policy)
    changes, unchanged = compare(side_a, side_b, options)
    declared = compare_declared(side_a, side_b, options)
    return DiffResult(side_a, side_b, changes, unchanged, target, (), _sorted(warnings), declared)


def _policy(resolver: _Resolver, policy_path: str | Path | None, errors: list[Diagnostic]) -> Policy | None:
    from envguard.check import resolve_policy
    from envguard.policy import PolicyError

    try:
        return resolve_policy(policy_path, resolver.policy_workspace())
    except SourceError as exc:  # the workspace configuration
        errors.append(Diagnostic(exc.path, exc.line, exc.message))
    except PolicyError as exc:
        message = f"{exc.key}: {exc.message}" if exc.key else exc.message
        errors.append(Diagnostic(exc.path, exc.line, message))
    return None


def _sorted(items: list[Diagnostic]) -> tuple[Diagnostic, ...]:
    return tuple(sorted(set(items), key=lambda d: (d.path, d.line or 0, d.message)))
