"""Service discovery: which directories are services and which of their files are read."""

from __future__ import annotations

import collections
import dataclasses
import fnmatch
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

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
            resolved = path.resolve()
            shown = relative(resolved, root)
            fmt = _format_of(str(resolved), detect.format_for_name(resolved.name), shown, source_format, errors)
            if fmt is not None:
                specs.append((resolved.parent, None, [Source(shown, fmt)], []))
    services = _name_services(specs, root)
    if allow_outside_root:
        services = tuple(dataclasses.replace(spec, allow_outside_root=True) for spec in services)
    return Workspace(root, services, config, tuple(errors), allow_outside_root)


def _root_of(paths: list[Path]) -> Path:
    dirs = [p.resolve() if p.is_dir() else p.resolve().parent for p in paths]
    if len(dirs) == 1:
        return dirs[0]
    return Path(os.path.commonpath([str(d) for d in dirs]))


class _Listing(NamedTuple):
    """One directory listed once, for both the walk and the choice of its records."""

    files: list[str]
    # Entries whose type could not be read, and why: a symbolic link loop (ELOOP), an entry gone
    # since the listing.
    unreadable: list[tuple[str, OSError]]
    subdirectories: list[os.DirEntry[str]]


# File name -> (picked up by discovery, the format its name alone implies). A monorepo repeats the
# same few names in every service: each distinct name is matched against the patterns once a run.
_NameKinds = dict[str, tuple[bool, str | None]]


def _discover_directory(
    top: Path, root: Path, config: Config, source_format: str | None, errors: list[Diagnostic]
) -> list[tuple[Path, Source | None, list[Source], list[Source]]]:
    found: list[tuple[Path, Source | None, list[Source], list[Source]]] = []
    kinds: _NameKinds = {}
    if config.services and top == root:
        for name, rel in sorted(config.services.items()):
            directory = (root / rel).resolve()
            if not directory.is_dir():
                errors.append(Diagnostic(config.path or "pyproject.toml", None, f"service {name!r}: {rel} is not a directory"))
                continue
            listing = _scan_or_error(str(directory))
            shown = relative(directory, root)
            chosen, ignored = _choose_sources(listing, str(directory), shown, source_format, kinds, errors)
            found.append((directory, Source(name, "named"), chosen, ignored))
        return found
    for shown, path, listing in _walk(str(top), relative(top, root), config.exclude):
        chosen, ignored = _choose_sources(listing, path, shown, source_format, kinds, errors)
        if chosen:
            found.append((Path(path), None, chosen, ignored))
    return found


def _walk(top: str, top_shown: str, exclude: tuple[str, ...]) -> list[tuple[str, str, _Listing | OSError]]:
    """Every directory below `top` that may hold a service, each real directory once, in display order:
    (root-relative display path, path, its listing or why it could not be listed).

    Symlinked directories are followed only after every real one, so a link never takes the
    name of the directory it points to, and a link loop ends at the first repeated real path.
    Each directory is listed once; display paths are built by joining names (what relative()
    gives for a path below the root, without its cost per directory).
    """
    seen: set[str] = set()
    result: list[tuple[str, str, _Listing | OSError]] = []
    # (path, display path, real path); a link's real path is resolved when it is reached.
    stack: list[tuple[str, str, str | None]] = [(top, top_shown, None)]
    links: collections.deque[tuple[str, str, str | None]] = collections.deque()
    while stack or links:
        directory, shown, real = stack.pop() if stack else links.popleft()
        if real is None:
            real = os.path.realpath(directory)
        if real in seen:
            continue
        seen.add(real)
        if shown != "." and any(fnmatch.fnmatchcase(shown, pattern) for pattern in exclude):
            continue
        listing = _scan_or_error(directory)
        result.append((shown, directory, listing))
        if isinstance(listing, OSError):
            continue
        children: list[tuple[str, str, str | None]] = []
        for entry in sorted(listing.subdirectories, key=lambda e: e.name):
            try:
                if _skipped(entry):
                    continue
                is_link = entry.is_symlink()
            except OSError:
                continue
            if is_link:
                links.append((entry.path, _child(shown, entry.name), None))
            else:
                # A subdirectory that is no link has its parent's real path plus its name: no
                # os.path.realpath (an lstat per path component) for it.
                children.append((entry.path, _child(shown, entry.name), os.path.join(real, entry.name)))
        stack.extend(reversed(children))
    result.sort(key=lambda item: item[0])
    return result


def _child(shown: str, name: str) -> str:
    """The display path of `name` in the directory displayed as `shown`.

    What relative() gives, also for a configured service directory outside the root: relpath only
    answers otherwise for an ancestor of the root, and that is a directory, never a file shown here.
    """
    return name if shown == "." else f"{shown}/{name}"


def _scan_or_error(directory: str) -> _Listing | OSError:
    """The directory's listing, or the error that stopped it (reported if it may be a service)."""
    try:
        entries = list(os.scandir(directory))
    except OSError as exc:
        return exc
    files: list[str] = []
    unreadable: list[tuple[str, OSError]] = []
    subdirectories: list[os.DirEntry[str]] = []
    for entry in entries:
        try:
            if entry.is_dir():
                subdirectories.append(entry)
            elif entry.is_file():
                files.append(entry.name)
        except OSError as exc:
            unreadable.append((entry.name, exc))
    return _Listing(files, unreadable, subdirectories)


def _skipped(entry: os.DirEntry[str]) -> bool:
    name = entry.name
    if name.startswith(".") or name in _SKIPPED_DIRS or name.endswith(".egg-info"):
        return True
    # A virtual environment, whatever it is called.
    return os.path.exists(os.path.join(entry.path, "pyvenv.cfg"))


def _choose_sources(
    listing: _Listing | OSError,
    directory: str,
    shown: str,
    source_format: str | None,
    kinds: _NameKinds,
    errors: list[Diagnostic],
) -> tuple[list[Source], list[Source]]:
    """The records read for a service directory, and the weaker ones present but not read."""
    if isinstance(listing, OSError):
        errors.append(Diagnostic(shown, None, f"cannot list directory: {listing.strerror}"))
        return [], []
    # An entry whose type cannot be read is lost alone, and reported when it would have been read.
    for name, exc in listing.unreadable:
        if _kind(name, kinds)[0]:
            errors.append(Diagnostic(_child(shown, name), None, f"cannot read file: {exc.strerror or exc}"))
    candidates: list[tuple[int, Source]] = []
    for name in sorted(listing.files):
        discoverable, by_name = _kind(name, kinds)
        if source_format is None and not discoverable:
            continue
        if source_format is not None and not (discoverable or name.endswith(".txt")):
            continue
        file_shown = _child(shown, name)
        fmt = _format_of(os.path.join(directory, name), by_name, file_shown, source_format, errors)
        if fmt is not None:
            candidates.append((_rank(fmt), Source(file_shown, fmt)))
    if not candidates:
        return [], []
    best = min(rank for rank, _ in candidates)
    chosen = [source for rank, source in candidates if rank == best]
    ignored = [source for rank, source in candidates if rank != best]
    return chosen, ignored


def _kind(name: str, kinds: _NameKinds) -> tuple[bool, str | None]:
    kind = kinds.get(name)
    if kind is None:
        kind = kinds[name] = (detect.is_discoverable(name), detect.format_for_name(name))
    return kind


def _rank(fmt: str) -> int:
    # requirements files and freeze output are one class: a directory may hold both kinds.
    if fmt == "freeze":
        fmt = "requirements"
    return detect.PRECEDENCE.index(fmt) if fmt in detect.PRECEDENCE else len(detect.PRECEDENCE)


def _format_of(
    file: str, by_name: str | None, shown: str, source_format: str | None, errors: list[Diagnostic]
) -> str | None:
    """`by_name` is detect.format_for_name of the file's name."""
    if source_format is not None:
        return source_format
    if by_name is not None:
        return by_name
    from envguard.sources._text import read_text

    path = Path(file)
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
