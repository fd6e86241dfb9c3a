"""From a discovered workspace to the normalised inventory: every source read, every error kept."""

from __future__ import annotations

from pathlib import Path

from envguard.errors import SourceError
from envguard.model import Diagnostic, Inventory, Package, Service, Source
from envguard.sources import detect
from envguard.workspace import ServiceSpec, Workspace, discover


def load_inventory(paths: list[Path], source_format: str | None = None) -> Inventory:
    return build_inventory(discover(paths, source_format))


def build_inventory(workspace: Workspace) -> Inventory:
    errors: list[Diagnostic] = list(workspace.errors)
    warnings: list[Diagnostic] = []
    services = []
    for spec in workspace.services:
        service, service_errors, service_warnings = load_service(spec, workspace.root)
        services.append(service)
        errors.extend(service_errors)
        warnings.extend(service_warnings)
    return Inventory(
        root=str(workspace.root),
        services=tuple(services),
        errors=tuple(sorted(set(errors), key=_diagnostic_key)),
        warnings=tuple(sorted(set(warnings), key=_diagnostic_key)),
    )


def load_service(spec: ServiceSpec, root: Path) -> tuple[Service, list[Diagnostic], list[Diagnostic]]:
    errors: list[Diagnostic] = []
    warnings: list[Diagnostic] = []
    packages: set[Package] = set()
    read: list[Source] = []
    included_elsewhere: set[str] = set()
    for source in spec.sources:
        try:
            loaded = detect.loader_for(source.format)(root / source.path, source.path)
        except SourceError as exc:
            errors.append(Diagnostic(exc.path, exc.line, exc.message))
            read.append(source)
            continue
        read.append(source)
        included_elsewhere.update(loaded.included)
        packages.update(loaded.packages)
        warnings.extend(loaded.warnings)
    # A requirements file that another one includes is part of that source, not a source of its own.
    sources = tuple(s for s in read if s.path not in included_elsewhere or len(read) == 1)
    ordered = tuple(sorted(packages, key=package_key))
    warnings.extend(_version_warnings(ordered))
    return Service(spec.name, _service_path(spec, root), sources, ordered, spec.ignored), errors, warnings


def _service_path(spec: ServiceSpec, root: Path) -> str:
    from envguard.workspace import relative

    return relative(spec.directory, root)


def _version_warnings(packages: tuple[Package, ...]) -> list[Diagnostic]:
    from packaging.version import InvalidVersion, Version

    warnings = []
    for package in packages:
        if package.version is None:
            continue
        try:
            Version(package.version)
        except InvalidVersion:
            warnings.append(
                Diagnostic(
                    package.path,
                    package.line,
                    f"{package.name}: version {package.version!r} is not PEP 440; compared as written",
                )
            )
    return warnings


def package_key(package: Package) -> tuple[str, tuple[int, object], str, str, str, int, str]:
    # The raw version breaks ties between equal versions written differently (1.0 vs 1.0.0).
    return (
        package.name,
        _version_key(package.version),
        package.version or "",
        package.marker or "",
        package.path,
        package.line,
        package.kind.value,
    )


def _version_key(version: str | None) -> tuple[int, object]:
    from packaging.version import InvalidVersion, Version

    if version is None:
        return (0, "")
    try:
        return (1, Version(version))
    except InvalidVersion:
        return (2, version)


def _diagnostic_key(diagnostic: Diagnostic) -> tuple[str, int, str]:
    return (diagnostic.path, diagnostic.line or 0, diagnostic.message)
