"""Reference environments: what services are compared against without being services themselves.

A platform team pins its test runner image (its `pip freeze`), or publishes a constraints file
(Airflow, OpenStack); every service should match it. The policy names such files under
`references:` (`envguard.policy.ReferenceSpec`, located there relative to the file that names
them), `--reference NAME=REF` adds or replaces one by name, and a drift rule's
`snap-to: NAME` then compares every service with the reference (`envguard.rules.drift`).

Decisions:

* A reference is read with the loaders a service's records are read with: any record format
  (a freeze, a requirements file, any lock, pip's JSON reports, conda), an `envguard snapshot`
  and an inventory artifact that holds one service. A requirements file whose lines are all
  `==` pins is exactly a freeze.
* A constraints file is told by its name (`*constraints*.txt`: `constraints.txt`,
  `upper-constraints.txt`, `constraints-3.12.txt`) or by `format: constraints` in the policy,
  and is read as pip reads `-c FILE` (no editables, extras or unnamed entries). Its entries say
  "within these pins": each entry with an exact pin is a version services must hold, each with
  a range a range they must be within. The same holds for any reference: an entry with a
  version is matched exactly, one with only a specifier is a range.
* A reference is not a service: it is not a column of the drift matrix, not compared by
  version-drift, not counted in summaries. The package rules still apply to it (the runner image
  must obey the policy too): their findings name it `reference NAME` where a service's name
  would be, at the reference's own file and line.
* A reference named like a service of the inventory is an error, and the name keeps meaning the
  service: silently preferring either would change what a rule means with the workspace.
* A directory whose only record is a reference's file, and which declares nothing, is the
  reference, not also a service (`ci/runner-freeze.txt` would otherwise be the service `ci`).
* Problems are one line each, `path:line: what is wrong`, and only that reference is lost:
  where it is named (a missing file, a package not installed, an unknown format) or in its
  file (a broken freeze). A snap-to rule that names neither a service nor a reference is an
  error at the rule.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import posixpath
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path

from envguard._record import record
from envguard.errors import SourceError
from envguard.markers import Target, applies
from envguard.model import Diagnostic, Finding, NormalizedName, Package, Service, Source
from envguard.policy import Policy, ReferenceSpec, reference_name

OPTION = "--reference"


@record(frozen=True)
class Reference:
    """A reference environment, read: its packages, and where it was named."""

    name: str
    path: str  # the file, as reports name it (`ci/runner-freeze.txt`, `package:acme-runner==1.2/freeze.txt`)
    format: str  # a record format id, "constraints" or "inventory"
    packages: tuple[Package, ...]
    sha256: str  # of the file's content: which release of the reference judged the run
    defined: str  # the policy file that names it; "--reference" for the command line
    line: int | None = None
    real: str = ""  # the file's real path on disk, to tell a service that is only this file

    @property
    def label(self) -> str:
        """What findings name instead of a service: it cannot be a service's name (it has a space)."""
        return f"reference {self.name}"

    @functools.cached_property
    def _by_name(self) -> dict[NormalizedName, tuple[Package, ...]]:
        found: dict[NormalizedName, list[Package]] = {}
        for package in self.packages:
            if package.is_third_party:
                found.setdefault(package.name, []).append(package)
        return {name: tuple(entries) for name, entries in found.items()}

    def held(self, name: NormalizedName) -> tuple[Package, ...]:
        """Its third-party entries of package `name`."""
        return self._by_name.get(name, ())

    def viewed(self, target: Target) -> Reference:
        """Only the entries whose markers apply to `target` (all of them in the universal view)."""
        if target.universal:
            return self
        return dataclasses.replace(self, packages=tuple(p for p in self.packages if applies(p.marker, target)))

    def as_service(self) -> Service:
        """The service the package rules judge: the reference's packages under its label."""
        from envguard.pytest_config import PytestConfig

        directory = posixpath.dirname(self.path) or "."
        source = Source(self.path, self.format)
        return Service(self.label, directory, (source,), self.packages, pytest_config=PytestConfig())


@record(frozen=True)
class References:
    """The references of a run: those read, and the name of every one asked for (read or not)."""

    loaded: tuple[Reference, ...] = ()
    named: frozenset[str] = frozenset()

    @property
    def by_name(self) -> dict[str, Reference]:
        return {reference.name: reference for reference in self.loaded}

    def viewed(self, target: Target) -> References:
        return References(tuple(r.viewed(target) for r in self.loaded), self.named)


def parse_option(value: str) -> ReferenceSpec:
    """`--reference NAME=REF`: a path relative to the current directory, `package:...` or a pinned URL."""
    from envguard.errors import UsageError
    from envguard.locate import reference_kind

    name, equals, written = value.partition("=")
    name, written = name.strip(), written.strip()
    if not equals or not written:
        raise UsageError(f"{OPTION} {value!r}: write NAME=PATH (or NAME=package:DIST[/PATH], NAME=https://...#sha256=HEX)")
    if not reference_name().fullmatch(name):
        raise UsageError(f"{OPTION} {value!r}: a reference name is letters, digits, '.', '_' and '-'")
    location = os.path.abspath(written) if reference_kind(written) == "path" else written
    return ReferenceSpec(name, written, location, written.partition("#")[0])


def specs(policy: Policy, given: Sequence[ReferenceSpec]) -> list[ReferenceSpec]:
    """The policy's references with those of the command line, which replace them by name; by name."""
    merged = {**policy.references, **{spec.name: spec for spec in given}}
    return [merged[name] for name in sorted(merged)]


def load_references(
    wanted: Iterable[ReferenceSpec], services: Collection[str]
) -> tuple[References, list[Diagnostic], list[Diagnostic]]:
    """Read every reference: the references, the errors and the warnings."""
    loaded: list[Reference] = []
    errors: list[Diagnostic] = []
    warnings: list[Diagnostic] = []
    named: set[str] = set()
    for spec in wanted:
        named.add(spec.name)
        if spec.name in services:
            message = f"'{spec.name}' is also a service of the inventory; rename the reference (snap-to {spec.name} means the service)"
            errors.append(_at(spec, message))
            continue
        try:
            reference, found = _load(spec)
        except _Named as exc:
            errors.append(_at(spec, exc.message, where=True))
            continue
        except SourceError as exc:
            errors.append(Diagnostic(exc.path, exc.line, exc.message))
            continue
        loaded.append(reference)
        warnings.extend(found)
    return References(tuple(loaded), frozenset(named)), errors, warnings


def not_services(inventory_services: Iterable[Service], references: References, root: Path) -> set[str]:
    """Services that are only a reference's file: every record is one, and nothing is declared."""
    files = {r.real for r in references.loaded}
    found = set()
    for service in inventory_services:
        if not service.sources or service.declarations or service.declared_sources or service.repository is not None:
            continue
        if all(os.path.realpath(root / source.path) in files for source in service.sources):
            found.add(service.name)
    return found


def reference_findings(reference: Reference, policy: Policy) -> list[Finding]:
    """The package rules over a reference: plugins approved and in range, denied packages, pytest's version."""
    from envguard.plugins import detect_plugins
    from envguard.rules.packages import denied_findings, pytest_version_findings
    from envguard.rules.plugins import plugin_findings

    service = reference.as_service()
    assert service.pytest_config is not None  # as_service gives it none: there is no configuration to read
    uses = detect_plugins(service, policy.also_plugins, service.pytest_config)
    return [
        *plugin_findings(service, uses, policy),
        *denied_findings(service, policy),
        *pytest_version_findings(service, policy),
    ]


def unknown_snap_targets(policy: Policy, services: Collection[str], references: References) -> list[Diagnostic]:
    """An error for each snap-to rule that names neither a service nor a reference."""
    known = sorted(references.named)
    found = []
    for rule in policy.drift_rules:
        target = rule.require_value or ""
        if rule.require_kind != "snap-to" or target in references.named or target in services:
            continue
        import difflib  # only for a target that names nothing: every run asks

        close = difflib.get_close_matches(target, [*known, *sorted(services)], n=1)
        hint = f"; did you mean '{close[0]}'?" if close else f" (references: {', '.join(known)})" if known else ""
        message = f"drift rule snap-to: '{target}' is neither a service nor a reference{hint}"
        found.append(Diagnostic(rule.path, rule.line, message))
    return found


# --------------------------------------------------------------------------- reading one


class _Named(Exception):
    """A problem with where a reference is named (not with its content)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _at(spec: ReferenceSpec, message: str, *, where: bool = False) -> Diagnostic:
    """A problem of where `spec` is named: at its policy line (saying what the line names, with
    `where`), or at the file --reference names."""
    if spec.path:
        named = f"{spec.written.partition('#')[0]}: " if where else ""
        return Diagnostic(spec.path, spec.line, f"references.{spec.name}: {named}{message}")
    return Diagnostic(spec.shown, None, f"{OPTION} {spec.name}: {message}")


def _load(spec: ReferenceSpec) -> tuple[Reference, tuple[Diagnostic, ...]]:
    # Imported here: most runs name no reference, and start-up time is a feature.
    import hashlib
    import urllib.parse

    from envguard.locate import LocateError, locate

    try:
        located = locate(spec.location, Path.cwd())
    except LocateError as exc:
        raise _Named(exc.message) from None
    path = located.path
    shown = spec.shown if located.kind == "path" else located.shown
    if not path.is_file():
        raise _Named("not a file" if path.exists() else "no such file")
    name = posixpath.basename(urllib.parse.urlsplit(spec.location).path) if located.kind == "url" else path.name
    fmt = spec.format or _format(path, name, shown)
    packages, warnings = _read(fmt, path, shown)
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise SourceError(shown, None, f"cannot read: {exc.strerror or exc}") from None
    defined = spec.path or OPTION
    return Reference(spec.name, shown, fmt, packages, digest, defined, spec.line, os.path.realpath(path)), warnings


def _format(path: Path, name: str, shown: str) -> str:
    """What the file is: an inventory artifact, a constraints file by its name, else as `--source-format` would tell."""
    from envguard.sources import detect
    from envguard.sources._text import read_text

    lowered = name.lower()
    stem, suffix = os.path.splitext(lowered)
    if suffix in (".txt", "") and "constraints" in stem:
        return "constraints"
    text = read_text(path, shown)
    if suffix == ".json" and '"envguard.inventory/' in text[:4096]:
        return "inventory"
    fmt = detect.detect(Path(name), text, shown)
    if fmt == "conda-meta":
        raise SourceError(shown, 1, "a conda-meta record is one package, not an environment to compare with")
    return fmt


def _read(fmt: str, path: Path, shown: str) -> tuple[tuple[Package, ...], tuple[Diagnostic, ...]]:
    """Its packages and warnings. Includes (`-r`, `-c`) are read relative to the reference's own file."""
    if fmt == "constraints":
        from envguard.sources.requirements import read_requested

        requested = read_requested(path, shown, constraint=True, allow_outside_root=True)
        return requested.constraints, requested.warnings
    if fmt == "inventory":
        return _artifact_packages(path, shown)
    if fmt == "requirements":
        from envguard.sources.requirements import load as load_requirements

        loaded = load_requirements(path, shown, allow_outside_root=True)
    elif fmt == "uv":
        from envguard.sources.uv import load as load_uv

        loaded = load_uv(path, shown, allow_outside_root=True)
    else:
        from envguard.sources import detect

        loaded = detect.loader_for(fmt)(path, shown)
    return loaded.packages, loaded.warnings


def _artifact_packages(path: Path, shown: str) -> tuple[tuple[Package, ...], tuple[Diagnostic, ...]]:
    """The records of the one service of an inventory artifact; paths as its repository wrote them."""
    from envguard.org.artifacts import read_artifact

    artifact = read_artifact(path, shown)
    if artifact.errors:
        first = artifact.errors[0]
        raise SourceError(first.path, first.line, first.message)
    services = [s for s in artifact.services if s.packages]
    if len(services) != 1:
        names = ", ".join(s.name for s in services) or "none with records"
        raise SourceError(shown, 1, f"a reference is one environment, and this inventory artifact holds {len(services)} services ({names})")
    return services[0].packages, artifact.warnings
