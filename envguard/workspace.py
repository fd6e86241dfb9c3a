"""Service discovery: which directories are services and which of their files are read."""

from __future__ import annotations

import dataclasses
import fnmatch
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envguard.errors import SourceError, UsageError
from envguard.model import Diagnostic, Source
from envguard.sources import detect

# Directories that never hold a service's own dependency records.
_SKIPPED_DIRS = frozenset(
    {"node_modules", "__pypackages__", "site-packages", "__pycache__", "build", "dist", "venv", "env", "htmlcov"}
)


_CONFIG_KEYS = frozenset({"services", "exclude", "policy"})


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    directory: Path
    sources: tuple[Source, ...]
    ignored: tuple[Source, ...] = ()
    # Whether its records may include files above the workspace root (--allow-outside-root).
    allow_outside_root: bool = False


@dataclass(frozen=True)
class Config:
    """[tool.envguard] from the root pyproject.toml or envguard.toml."""

    services: dict[str, str]
    exclude: tuple[str, ...]
    path: str | None = None
    raw: dict[str, Any] | None = None


@dataclass(frozen=True)
class Workspace:
    root: Path
    services: tuple[ServiceSpec, ...]
    config: Config
    errors: tuple[Diagnostic, ...] = ()
    allow_outside_root: bool = False


def relative(path: Path, root: Path) -> str:
    """Display form of `path`: relative to the workspace root, POSIX separators."""
    try:
        rel = os.path.relpath(path, root)
    except ValueError:  # another drive on Windows
        return path.as_posix()
    return Path(rel).as_posix()


def load_config(root: Path) -> Config:
    from envguard.sources._text import read_text
    from envguard.sources._toml import parse_toml

    for name, table_path in (("envguard.toml", ()), ("pyproject.toml", ("tool", "envguard"))):
        candidate = root / name
        if not candidate.is_file():
            continue
        text = read_text(candidate, name)
        data: Any = parse_toml(text, name)
        for key in table_path:
            data = data.get(key) if isinstance(data, dict) else None
        if data is None:
            continue
        return _parse_config(data, name, text)
    return Config(services={}, exclude=())


def _parse_config(data: Any, shown: str, text: str) -> Config:
    from envguard.sources._toml import key_line

    where = "[tool.envguard]" if shown == "pyproject.toml" else "envguard.toml"
    if not isinstance(data, dict):
        raise SourceError(shown, key_line(text, "tool.envguard"), f"{where} must be a table")
    unknown = sorted(set(data) - _CONFIG_KEYS)
    if unknown:
        known = ", ".join(sorted(_CONFIG_KEYS))
        raise SourceError(shown, key_line(text, unknown[0]), f"{where} has unknown key {unknown[0]!r} (known: {known})")
    policy = data.get("policy")
    if policy is not None and not isinstance(policy, str):
        raise SourceError(shown, key_line(text, "policy"), f"{where} policy must be a path (a string)")
    services = data.get("services", {})
    if not isinstance(services, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in services.items()
    ):
        message = f"{where} services must map service names to directories"
        raise SourceError(shown, key_line(text, "services"), message)
    exclude = data.get("exclude", [])
    if not isinstance(exclude, list) or not all(isinstance(item, str) for item in exclude):
        raise SourceError(shown, key_line(text, "exclude"), f"{where} exclude must be a list of glob strings")
    return Config(services=dict(services), exclude=tuple(exclude), path=shown, raw=dict(data))


def discover(paths: list[Path], source_format: str | None = None, *, allow_outside_root: bool = False) -> Workspace:
    """Services for the given paths; a directory is a workspace, a file is one service."""
    if not paths:
        paths = [Path.cwd()]
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise UsageError(f"{missing[0]}: no such file or directory")
    if source_format is not None and source_format not in detect.LOADERS:
        raise UsageError(f"unknown --source-format {source_format!r}; choose from {', '.join(sorted(detect.LOADERS))}")
    root = _root_of(paths)
    config = Config(services={}, exclude=())
    errors: list[Diagnostic] = []
    if any(p.is_dir() for p in paths):
        try:
            config = load_config(root)
        except SourceError as exc:
            errors.append(Diagnostic(exc.path, exc.line, exc.message))
    specs: list[tuple[Path, Source | None, list[Source], list[Source]]] = []
    for path in paths:
        if path.is_dir():
            specs.extend(_discover_directory(path.resolve(), root, config, source_format, errors))
        else:
            fmt = _format_of(path.resolve(), relative(path.resolve(), root), source_format, errors)
            if fmt is not None:
                source = Source(relative(path.resolve(), root), fmt)
                specs.append((path.resolve().parent, None, [source], []))
    services = _name_services(specs, root)
    if allow_outside_root:
        services = tuple(dataclasses.replace(spec, allow_outside_root=True) for spec in services)
    return Workspace(root, services, config, tuple(errors), allow_outside_root)


def _root_of(paths: list[Path]) -> Path:
    dirs = [p.resolve() if p.is_dir() else p.resolve().parent for p in paths]
    if len(dirs) == 1:
        return dirs[0]
    return Path(os.path.commonpath([str(d) for d in dirs]))


def _discover_directory(
    top: Path, root: Path, config: Config, source_format: str | None, errors: list[Diagnostic]
) -> list[tuple[Path, Source | None, list[Source], list[Source]]]:
    found: list[tuple[Path, Source | None, list[Source], list[Source]]] = []
    if config.services and top == root:
        for name, rel in sorted(config.services.items()):
            directory = (root / rel).resolve()
            if not directory.is_dir():
                errors.append(Diagnostic(config.path or "pyproject.toml", None, f"service {name!r}: {rel} is not a directory"))
                continue
            chosen, ignored = _choose_sources(directory, root, source_format, errors)
            found.append((directory, Source(name, "named"), chosen, ignored))
        return found
    for directory in _walk(top, root, config.exclude):
        chosen, ignored = _choose_sources(directory, root, source_format, errors)
        if chosen:
            found.append((directory, None, chosen, ignored))
    return found


def _walk(top: Path, root: Path, exclude: tuple[str, ...]) -> list[Path]:
    """Every directory below `top` that may hold a service, each real directory once.

    Symlinked directories are followed only after every real one, so a link never takes the
    name of the directory it points to, and a link loop ends at the first repeated real path.
    """
    seen: set[str] = set()
    result: list[Path] = []
    stack = [top]
    links: list[Path] = []
    while stack or links:
        directory = stack.pop() if stack else links.pop(0)
        real = os.path.realpath(directory)
        if real in seen:
            continue
        seen.add(real)
        rel = relative(directory, root)
        if rel != "." and any(fnmatch.fnmatchcase(rel, pattern) for pattern in exclude):
            continue
        result.append(directory)
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            continue
        children: list[Path] = []
        for entry in entries:
            try:
                if not entry.is_dir() or _skipped(entry):
                    continue
                (links if entry.is_symlink() else children).append(Path(entry.path))
            except OSError:
                continue
        stack.extend(reversed(children))
    return sorted(result, key=lambda p: relative(p, root))


def _skipped(entry: os.DirEntry[str]) -> bool:
    name = entry.name
    if name.startswith(".") or name in _SKIPPED_DIRS or name.endswith(".egg-info"):
        return True
    # A virtual environment, whatever it is called.
    return os.path.exists(os.path.join(entry.path, "pyvenv.cfg"))


def _choose_sources(
    directory: Path, root: Path, source_format: str | None, errors: list[Diagnostic]
) -> tuple[list[Source], list[Source]]:
    """The records read for a service directory, and the weaker ones present but not read."""
    candidates: list[Source] = []
    try:
        entries = list(os.scandir(directory))
    except OSError as exc:
        errors.append(Diagnostic(relative(directory, root), None, f"cannot list directory: {exc.strerror}"))
        return [], []
    names: list[str] = []
    for entry in entries:
        try:
            if entry.is_file():
                names.append(entry.name)
        except OSError as exc:
            # A symbolic link loop (ELOOP) or an entry gone since the listing: only this entry is
            # lost, and it is reported when it would have been read.
            if detect.is_discoverable(entry.name):
                shown = relative(directory / entry.name, root)
                errors.append(Diagnostic(shown, None, f"cannot read file: {exc.strerror or exc}"))
    names.sort()
    for name in names:
        if source_format is None and not detect.is_discoverable(name):
            continue
        if source_format is not None and not (detect.is_discoverable(name) or name.endswith(".txt")):
            continue
        path = directory / name
        fmt = _format_of(path, relative(path, root), source_format, errors)
        if fmt is not None:
            candidates.append(Source(relative(path, root), fmt))
    if not candidates:
        return [], []
    best = min(_rank(s.format) for s in candidates)
    chosen = [s for s in candidates if _rank(s.format) == best]
    ignored = [s for s in candidates if _rank(s.format) != best]
    return chosen, ignored


def _rank(fmt: str) -> int:
    # requirements files and freeze output are one class: a directory may hold both kinds.
    if fmt == "freeze":
        fmt = "requirements"
    return detect.PRECEDENCE.index(fmt) if fmt in detect.PRECEDENCE else len(detect.PRECEDENCE)


def _format_of(path: Path, shown: str, source_format: str | None, errors: list[Diagnostic]) -> str | None:
    if source_format is not None:
        return source_format
    by_name = detect.format_for_name(path.name)
    if by_name is not None:
        return by_name
    from envguard.sources._text import read_text

    try:
        text = None if path.suffix.lower() == ".in" else read_text(path, shown)
        return detect.detect(path, text, shown)
    except SourceError as exc:
        errors.append(Diagnostic(exc.path, exc.line, exc.message))
        return None


def _name_services(
    specs: list[tuple[Path, Source | None, list[Source], list[Source]]], root: Path
) -> tuple[ServiceSpec, ...]:
    """Directory names, or root-relative paths for services whose directory names collide."""
    base_names: dict[Path, str] = {}
    for directory, named, _, _ in specs:
        if named is not None:
            base_names[directory] = named.path
        else:
            base_names[directory] = directory.name or relative(directory, root)
    counts: dict[str, int] = {}
    for directory, named, _, _ in specs:
        if named is None:
            counts[base_names[directory]] = counts.get(base_names[directory], 0) + 1
    services: dict[str, ServiceSpec] = {}
    for directory, named, chosen, ignored in specs:
        name = base_names[directory]
        if named is None and counts[name] > 1:
            name = relative(directory, root)
            if name == ".":
                name = directory.name
        if name in services:
            existing = services[name]
            merged = tuple(sorted(set(existing.sources) | set(chosen), key=lambda s: s.path))
            services[name] = ServiceSpec(name, existing.directory, merged, existing.ignored)
            continue
        services[name] = ServiceSpec(
            name,
            directory,
            tuple(sorted(chosen, key=lambda s: s.path)),
            tuple(sorted(ignored, key=lambda s: s.path)),
        )
    return tuple(services[name] for name in sorted(services))
