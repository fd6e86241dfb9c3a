"""Service discovery: which directories are services and which of their files are read."""

from __future__ import annotations

import collections
import dataclasses
import fnmatch
import functools
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from envguard._record import record
from envguard.errors import SourceError, UsageError
from envguard.model import Diagnostic, Source
from envguard.declared import detect as declared_detect
from envguard.sources import detect

if TYPE_CHECKING:
    from envguard.answers import Answers

# Directories that never hold a service's own dependency records.
_SKIPPED_DIRS = frozenset(
    {"node_modules", "__pypackages__", "site-packages", "__pycache__", "build", "dist", "venv", "env", "htmlcov"}
)


_CONFIG_KEYS = frozenset({"services", "exclude", "policy"})


@record(frozen=True)
class ServiceSpec:
    """A service as discovery found it: its directory and the files to read, before any is read."""

    name: str
    directory: Path
    sources: tuple[Source, ...]
    ignored: tuple[Source, ...] = ()
    # Files that declare what to install (pyproject.toml, tox.ini, ...; envguard.declared).
    declared: tuple[Source, ...] = ()
    # Whether its records may include files above the workspace root (--allow-outside-root).
    allow_outside_root: bool = False
    # Named in [tool.envguard] services: a service even if it turns out to declare nothing.
    named: bool = False


@record(frozen=True)
class Config:
    """[tool.envguard] from the root pyproject.toml or envguard.toml."""

    services: dict[str, str]
    exclude: tuple[str, ...]
    path: str | None = None
    raw: dict[str, Any] | None = None


@record(frozen=True)
class Workspace:
    """The root, its configuration and the services discovery found under it."""

    root: Path
    services: tuple[ServiceSpec, ...]
    config: Config
    errors: tuple[Diagnostic, ...] = ()
    allow_outside_root: bool = False
    # The workspace's CI configuration (GitHub workflows and local actions, .gitlab-ci.yml):
    # read once, each install given to the service of the directory it runs in.
    shared: tuple[Source, ...] = ()
    # The entries of every directory discovery listed, by display path, case-folded: a name not
    # among them is no file there, without a stat (the check cache asks that of the pytest
    # configuration files a service does not have, up to eight a service on every run).
    listed: Mapping[str, frozenset[str]] = dataclasses.field(default_factory=dict, compare=False)


def relative(path: Path, root: Path) -> str:
    """Display form of `path`: relative to the workspace root, POSIX separators."""
    try:
        rel = os.path.relpath(path, root)
    except ValueError:  # another drive on Windows
        return path.as_posix()
    return Path(rel).as_posix()


def load_config(root: Path) -> Config:
    from envguard.sources._text import read_text
    from envguard.sources._toml import parse_document

    for name, table_path in (("envguard.toml", ()), ("pyproject.toml", ("tool", "envguard"))):
        candidate = root / name
        if not candidate.is_file():
            continue
        text = read_text(candidate, name)
        data: Any = parse_document(text, name)
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
        raise SourceError(shown, key_line(text, "policy"), f"{where} policy must be a policy reference (a string)")
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


def discover(
    paths: list[Path], source_format: str | None = None, *, allow_outside_root: bool = False, cache: bool = False
) -> Workspace:
    """Services for the given paths; a directory is a workspace, a file is one service.

    With `cache`, what discovery reads files for (a text file's format, a uv workspace's members)
    is kept in the workspace's cache directory while those files keep their content
    (`envguard.answers`).
    """
    from envguard.answers import DISCOVERY, Answers

    if not paths:
        paths = [Path.cwd()]
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise UsageError(f"{missing[0]}: no such file or directory")
    if source_format is not None and source_format not in detect.LOADERS:
        raise UsageError(f"unknown --source-format {source_format!r}; choose from {', '.join(sorted(detect.LOADERS))}")
    root = _root_of(paths)
    if cache:
        from envguard.cache import default_directory

        answers = Answers(default_directory(root), root, DISCOVERY)
    else:
        answers = Answers(None, root, DISCOVERY)
    config = Config(services={}, exclude=())
    errors: list[Diagnostic] = []
    if any(p.is_dir() for p in paths):
        try:
            config = load_config(root)
        except SourceError as exc:
            errors.append(Diagnostic(exc.path, exc.line, exc.message))
    specs: list[_Found] = []
    shared: tuple[Source, ...] = ()
    listed: dict[str, frozenset[str]] = {}
    for path in paths:
        if path.is_dir():
            specs.extend(_discover_directory(path.resolve(), root, config, source_format, errors, answers, listed))
            if source_format is None and not shared:
                shared = _shared_sources(root)
        else:
            resolved = path.resolve()
            shown = relative(resolved, root)
            declaring = declared_detect.format_for_name(resolved.name) if source_format is None else None
            if declaring is not None:
                specs.append(_Found(resolved.parent, None, [], [], [Source(shown, declaring)]))
                continue
            fmt = _format_of(str(resolved), detect.format_for_name(resolved.name), shown, source_format, errors, answers)
            if fmt is not None:
                specs.append(_Found(resolved.parent, None, [Source(shown, fmt)], [], []))
    answers.save()
    services = _name_services(specs, root)
    if allow_outside_root:
        services = tuple(dataclasses.replace(spec, allow_outside_root=True) for spec in services)
    return Workspace(root, services, config, tuple(errors), allow_outside_root, shared, listed)


class _Found(NamedTuple):
    """A directory discovery found: its configured name (if any) and its files by role."""

    directory: Path
    named: Source | None
    chosen: list[Source]  # the records read
    ignored: list[Source]  # weaker records present but not read
    declared: list[Source]  # files that declare installs


def _shared_sources(root: Path) -> tuple[Source, ...]:
    """The CI configuration at the workspace root, in path order."""
    found: list[Source] = []
    workflows = root / declared_detect.GITHUB_WORKFLOWS
    for name in _listed_files(workflows):
        if name.endswith((".yml", ".yaml")):
            found.append(Source(f"{declared_detect.GITHUB_WORKFLOWS}/{name}", "github"))
    actions = root / declared_detect.GITHUB_ACTIONS
    for directory, _, files in sorted(os.walk(actions)):
        for name in sorted(files):
            if name in ("action.yml", "action.yaml"):
                found.append(Source(relative(Path(directory) / name, root), "github"))
    if (root / declared_detect.GITLAB_CI).is_file():
        found.append(Source(declared_detect.GITLAB_CI, "gitlab"))
    return tuple(sorted(found, key=lambda source: source.path))


def _listed_files(directory: Path) -> list[str]:
    try:
        return sorted(entry.name for entry in os.scandir(directory) if entry.is_file())
    except OSError:
        return []


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


# File name -> (picked up by discovery, the record format its name alone implies, the declaring
# format it has). A monorepo repeats the same few names in every service: each distinct name is
# matched against the patterns once a run.
_NameKinds = dict[str, tuple[bool, str | None, str | None]]

# Records that are locks: a requirements or freeze file beside one is what some install reads
# instead, a declaration (envguard.declared.requirements), not a second record.
_LOCKS = frozenset({"uv", "poetry", "pdm", "pipfile", "pylock"})


def _discover_directory(
    top: Path,
    root: Path,
    config: Config,
    source_format: str | None,
    errors: list[Diagnostic],
    answers: Answers,
    listed: dict[str, frozenset[str]],
) -> list[_Found]:
    """The services below `top`; each directory's entries are added to `listed` (Workspace.listed)."""
    found: list[_Found] = []
    kinds: _NameKinds = {}
    if config.services and top == root:
        for name, rel in sorted(config.services.items()):
            directory = (root / rel).resolve()
            if not directory.is_dir():
                errors.append(Diagnostic(config.path or "pyproject.toml", None, f"service {name!r}: {rel} is not a directory"))
                continue
            listing = _scan_or_error(str(directory))
            shown = relative(directory, root)
            _note(listed, shown, listing)
            chosen, ignored, declared = _choose_sources(listing, str(directory), shown, source_format, kinds, errors, answers)
            found.append(_Found(directory, Source(name, "named"), chosen, ignored, declared))
        return found
    for shown, path, listing in _walk(str(top), relative(top, root), config.exclude):
        _note(listed, shown, listing)
        chosen, ignored, declared = _choose_sources(listing, path, shown, source_format, kinds, errors, answers)
        if chosen or declared:
            found.append(_Found(Path(path), None, chosen, ignored, declared))
    return _fold_uv_members(found, root, answers)


def _note(listed: dict[str, frozenset[str]], shown: str, listing: _Listing | OSError) -> None:
    if not isinstance(listing, OSError):
        names = [*listing.files, *(name for name, _ in listing.unreadable), *(e.name for e in listing.subdirectories)]
        listed[shown] = frozenset(name.casefold() for name in names)


def _fold_uv_members(found: list[_Found], root: Path, answers: Answers) -> list[_Found]:
    """Members of a uv workspace join the service of the workspace's uv.lock.

    A member's pyproject.toml declares dependencies, which alone would make its directory a
    service; but the root's uv.lock resolves it with the rest of the workspace, so its
    declarations are that service's (and what lock-out-of-date compares the lock with).
    """
    roots = {f.directory: f for f in found if any(source.format == "uv" for source in f.chosen)}
    if not roots or all(f.chosen for f in found):  # no directory that only declares: nothing to fold
        return found
    globs = {
        directory: answers.of_file(("uv-workspace", relative(directory, root)), functools.partial(_uv_member_globs, directory))
        for directory in roots
    }
    folded: dict[Path, list[Source]] = {}
    kept: list[_Found] = []
    for item in found:
        owner = None if item.chosen else _uv_owner(item.directory, globs)
        if owner is None:
            kept.append(item)
        else:
            folded.setdefault(owner, []).extend(item.declared)
    return [
        item._replace(declared=sorted(item.declared + folded[item.directory], key=lambda s: s.path))
        if item.directory in folded
        else item
        for item in kept
    ]


def _uv_member_globs(directory: Path) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """`[tool.uv.workspace]` members and exclude globs of the project in `directory`, if readable.

    Unreadable or malformed files fold nothing here; the pyproject reader reports them.
    """
    from envguard.sources import _text
    from envguard.sources._toml import parse_toml

    path = directory / "pyproject.toml"
    try:
        # Path.read_text(encoding="utf-8")'s text (no size limit, a byte-order mark kept, universal
        # newlines), the bytes told to the observer: envguard.answers keeps the result by them.
        status = path.stat()
        raw = path.read_bytes()
        if _text.observer is not None:
            _text.observer(path, status, raw)
        text = raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
        data = parse_toml(text, "pyproject.toml")
    except (OSError, UnicodeDecodeError, SourceError):
        return (), ()
    settings = data.get("tool", {}).get("uv", {}).get("workspace", {})
    if not isinstance(settings, dict):
        return (), ()

    def strings(key: str) -> tuple[str, ...]:
        value = settings.get(key, [])
        return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()

    return strings("members"), strings("exclude")


def _uv_owner(directory: Path, globs: dict[Path, tuple[tuple[str, ...], tuple[str, ...]]]) -> Path | None:
    """The nearest workspace root whose member globs take in `directory`."""
    for parent in directory.parents:
        if parent not in globs:
            continue
        members, exclude = globs[parent]
        parts = directory.relative_to(parent).parts
        if any(_glob_matches(parts, g) for g in members) and not any(_glob_matches(parts, g) for g in exclude):
            return parent
    return None


def _glob_matches(parts: tuple[str, ...], pattern: str) -> bool:
    """A glob whose `*` stays within one path component, as uv's member globs are."""
    wanted = [p for p in pattern.strip("/").split("/") if p not in ("", ".")]
    return len(wanted) == len(parts) and all(fnmatch.fnmatchcase(part, want) for part, want in zip(parts, wanted))


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
    answers: Answers,
) -> tuple[list[Source], list[Source], list[Source]]:
    """The records read for a service directory, the weaker ones present but not read, and the
    files that declare installs."""
    if isinstance(listing, OSError):
        errors.append(Diagnostic(shown, None, f"cannot list directory: {listing.strerror}"))
        return [], [], []
    # An entry whose type cannot be read is lost alone, and reported when it would have been read.
    for name, exc in listing.unreadable:
        if _kind(name, kinds)[0] or _kind(name, kinds)[2]:
            errors.append(Diagnostic(_child(shown, name), None, f"cannot read file: {exc.strerror or exc}"))
    candidates: list[tuple[int, Source]] = []
    declared: list[Source] = []
    for name in sorted(listing.files):
        discoverable, by_name, declaring = _kind(name, kinds)
        if declaring is not None and source_format is None:
            declared.append(Source(_child(shown, name), declaring))
            continue
        if source_format is None and not discoverable:
            continue
        if source_format is not None and not (discoverable or name.endswith(".txt")):
            continue
        file_shown = _child(shown, name)
        fmt = _format_of(os.path.join(directory, name), by_name, file_shown, source_format, errors, answers)
        if fmt is not None:
            candidates.append((_rank(fmt), Source(file_shown, fmt)))
    if not candidates:
        return [], [], declared
    best = min(rank for rank, _ in candidates)
    chosen = [source for rank, source in candidates if rank == best]
    ignored = []
    lock = chosen[0].format in _LOCKS
    for rank, source in candidates:
        if rank == best:
            continue
        if lock and source.format in ("requirements", "freeze"):
            declared.append(Source(source.path, "requirements"))
        else:
            ignored.append(source)
    return chosen, ignored, sorted(declared, key=lambda source: source.path)


def _kind(name: str, kinds: _NameKinds) -> tuple[bool, str | None, str | None]:
    kind = kinds.get(name)
    if kind is None:
        kind = kinds[name] = (
            detect.is_discoverable(name),
            detect.format_for_name(name),
            declared_detect.format_for_name(name),
        )
    return kind


def _rank(fmt: str) -> int:
    # requirements files and freeze output are one class: a directory may hold both kinds.
    if fmt == "freeze":
        fmt = "requirements"
    return detect.PRECEDENCE.index(fmt) if fmt in detect.PRECEDENCE else len(detect.PRECEDENCE)


def _format_of(
    file: str, by_name: str | None, shown: str, source_format: str | None, errors: list[Diagnostic], answers: Answers
) -> str | None:
    """`by_name` is detect.format_for_name of the file's name."""
    if source_format is not None:
        return source_format
    if by_name is not None:
        return by_name
    from envguard.sources._text import read_text

    path = Path(file)

    def by_content() -> str:
        return detect.detect(path, read_text(path, shown), shown)

    try:
        if path.suffix.lower() == ".in":
            return detect.detect(path, None, shown)
        return answers.of_file(("format", shown), by_content)
    except SourceError as exc:
        errors.append(Diagnostic(exc.path, exc.line, exc.message))
        return None


def _name_services(specs: list[_Found], root: Path) -> tuple[ServiceSpec, ...]:
    """Directory names, or root-relative paths for services whose directory names collide."""
    names = service_names([(found.directory, found.named.path if found.named else None) for found in specs], root)
    services: dict[str, ServiceSpec] = {}
    for found, name in zip(specs, names):
        if name in services:
            existing = services[name]
            services[name] = dataclasses.replace(
                existing,
                sources=_merged(existing.sources, found.chosen),
                declared=_merged(existing.declared, found.declared),
            )
            continue
        services[name] = ServiceSpec(
            name,
            found.directory,
            _merged((), found.chosen),
            _merged((), found.ignored),
            _merged((), found.declared),
            named=found.named is not None,
        )
    return tuple(services[name] for name in sorted(services))


def _merged(existing: tuple[Source, ...], more: list[Source]) -> tuple[Source, ...]:
    return tuple(sorted(set(existing) | set(more), key=lambda s: s.path))


def service_names(directories: list[tuple[Path, str | None]], root: Path) -> list[str]:
    """The name of each service directory (with its configured name, if any), in the same order.

    A directory's own name, or its path relative to the root where two services would share one.
    """
    base_names = [named if named is not None else directory.name or relative(directory, root) for directory, named in directories]
    counts = collections.Counter(name for name, (_, named) in zip(base_names, directories) if named is None)
    names = []
    for name, (directory, named) in zip(base_names, directories):
        if named is None and counts[name] > 1:
            name = relative(directory, root)
            if name == ".":
                name = directory.name
        names.append(name)
    return names
