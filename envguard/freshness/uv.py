"""uv.lock against the pyproject.toml files of its workspace, compared as `uv lock --check` does.

uv records in the lock what it resolved from: `requires-python`, the workspace `[manifest]`
(members, constraints, overrides, excludes, build constraints, dependency metadata, and the
dependency groups of a root without `[project]`), resolver `[options]`, and for every local
project (members and path dependencies) its version, `requires-dist`, `provides-extras` and
`requires-dev`, after `tool.uv.sources` lowered them. `uv lock --check` re-reads the manifests,
lowers them the same way and compares sets: order, spelling, quoting and comments do not matter,
markers are compared by meaning within the lock's Python range (see `_markers`), specifiers by
version (`>=6` is `>=6.0`), names and extras normalised. A member's `version` does matter, and so
does an empty dependency group.

What envguard cannot see the way uv does makes a check undecided rather than stale: a project
whose dependencies are `dynamic` (uv would build it), settings that may come from elsewhere
(`uv.toml`, environment variables, `--index` options), conflicts, git references envguard cannot
normalise. An undecided check still lets the others report a difference. Index URLs are compared
only when a manifest configures `[[tool.uv.index]]`, as uv does when indexes are configured.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, Specifier
from packaging.version import InvalidVersion, Version

from envguard._record import record
from envguard.errors import SourceError
from envguard.freshness import _markers
from envguard.freshness._markers import Bound
from envguard.model import NormalizedName, StaleLock, normalize
from envguard.sources import _text, _toml

_SOURCE_TREES = ("editable", "directory", "virtual")
_DEFAULT_OPTIONS = {
    # lock `[options]` key -> (pyproject `[tool.uv]` key, uv's default)
    "resolution-mode": ("resolution", "highest"),
    "prerelease-mode": ("prerelease", "if-necessary-or-explicit"),
    "fork-strategy": ("fork-strategy", "requires-python"),
}
_INDEX_SETTINGS = ("index-url", "extra-index-url", "find-links", "no-index")
_PYPI = "https://pypi.org/simple"


class _Undecided(Exception):
    """uv would need what envguard does not do or cannot see: the check says nothing."""


@record(frozen=True)
class _Req:
    """A requirement as uv compares it, with where it was read for messages."""

    name: NormalizedName
    extras: tuple[str, ...]
    groups: tuple[str, ...]
    source: tuple[object, ...]
    marker: str | None
    text: str = field(compare=False)  # for messages: `[project] dependencies: httpx>=0.28`
    written: str = field(compare=False, default="")  # the manifest string, to find its line
    where: str = field(compare=False, default="")

    @property
    def key(self) -> tuple[object, ...]:
        return (self.name, self.extras, self.groups, self.source)


@dataclass
class _Project:
    """One pyproject.toml uv reads: a workspace member, the root, or a path dependency."""

    name: NormalizedName | None
    directory: Path
    shown: str  # the root-relative manifest path
    data: dict[str, Any]
    text: str
    sources: dict[NormalizedName, Any]
    indexes: dict[str, str]


@dataclass
class _Context:
    root: Path  # the workspace root: the lock's directory
    shown_root: PurePosixPath
    scan_root: Path | None  # None: any path may be read (allow_outside_root)
    lock: dict[str, Any]
    lock_text: str
    lock_shown: str
    revision: int
    lower: Bound
    upper: Bound
    workspace: _Project
    members: dict[NormalizedName, _Project]
    local: list[tuple[NormalizedName, str, dict[str, Any]]] | None = None


def check(
    lock: dict[str, Any], text: str, path: Path, shown: str, *, allow_outside_root: bool = False
) -> StaleLock | None:
    """The first difference `uv lock --check` would find, or None (fresh, or undecided)."""
    if "distribution" in lock and "package" not in lock:
        return None  # uv before 0.3: no `[package.metadata]` to compare with
    root = path.parent
    shown_root = PurePosixPath(shown).parent
    scan_root = None if allow_outside_root else _scan_root(path, shown)
    try:
        workspace = _read_project(root / "pyproject.toml", _join(shown_root, "pyproject.toml"), None)
    except (SourceError, _Undecided):
        # No manifest, or one envguard cannot read (its own reader reports that).
        return None
    if workspace is None:
        return None
    revision = lock.get("revision", 0)
    lower, upper = _bounds(lock.get("requires-python"))
    context = _Context(
        root,
        shown_root,
        scan_root,
        lock,
        text,
        shown,
        revision if type(revision) is int else 0,
        lower,
        upper,
        workspace,
        {},
    )
    checks = (_check_members, _check_requires_python, _check_options, _check_manifest, _check_indexes, _check_projects)
    for step in checks:
        try:
            found = step(context)
        except (_Undecided, SourceError, RecursionError, AttributeError, KeyError, TypeError, ValueError):
            # A manifest or lock shaped in a way uv itself would reject: that check says nothing.
            continue
        if found is not None:
            return found
    return None


# --- the workspace -----------------------------------------------------------------------------


def _scan_root(path: Path, shown: str) -> Path:
    """The directory envguard scans: `path` less the root-relative `shown`, else the lock's own."""
    parts = PurePosixPath(shown).parts
    if parts and not PurePosixPath(shown).is_absolute() and ".." not in parts and path.parts[-len(parts) :] == parts:
        return Path(*path.parts[: -len(parts)]) if len(path.parts) > len(parts) else Path(".")
    return path.parent


def _join(base: PurePosixPath, *parts: str) -> str:
    return str(PurePosixPath(os.path.normpath(PurePosixPath(base, *parts).as_posix())))


def _read_project(path: Path, shown: str, inherited: _Project | None) -> _Project | None:
    if not path.is_file():
        return None
    text = _text.read_text(path, shown)
    data = _toml.parse_toml(text, shown)
    project = data.get("project")
    name = normalize(project["name"]) if isinstance(project, dict) and isinstance(project.get("name"), str) else None
    uv = _tool_uv(data)
    sources = dict(inherited.sources) if inherited is not None else {}
    own = uv.get("sources", {})
    if not isinstance(own, dict):
        raise _Undecided
    sources.update({normalize(key): value for key, value in own.items()})
    indexes = dict(inherited.indexes) if inherited is not None else {}
    for index in _list(uv.get("index", [])):
        if isinstance(index, dict) and isinstance(index.get("name"), str) and isinstance(index.get("url"), str):
            indexes.setdefault(index["name"], index["url"])
    return _Project(name, path.parent, shown, data, text, sources, indexes)


def _tool_uv(data: dict[str, Any]) -> dict[str, Any]:
    tool = data.get("tool", {})
    uv = tool.get("uv", {}) if isinstance(tool, dict) else {}
    return uv if isinstance(uv, dict) else {}


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise _Undecided
    return value


def _members(context: _Context) -> dict[NormalizedName, _Project]:
    """Workspace members by name: the root when it has `[project]`, and what `members` globs find."""
    if context.members:
        return context.members
    workspace = context.workspace
    members: dict[NormalizedName, _Project] = {}
    if workspace.name is not None:
        members[workspace.name] = workspace
    settings = _tool_uv(workspace.data).get("workspace")
    if settings is not None:
        if not isinstance(settings, dict):
            raise _Undecided
        excluded = {path for pattern in _list(settings.get("exclude", [])) for path in _glob(context.root, pattern)}
        for pattern in _list(settings.get("members", [])):
            for directory in _glob(context.root, pattern):
                if directory in excluded or directory == context.root:
                    continue
                member = _read_local(context, directory, workspace)
                if member.name is None:
                    raise _Undecided  # uv refuses a member without `[project]`
                members.setdefault(member.name, member)
    context.members = members
    return members


def _glob(root: Path, pattern: Any) -> list[Path]:
    if not isinstance(pattern, str) or not pattern:
        raise _Undecided
    found = sorted(root.glob(pattern)) if any(char in pattern for char in "*?[") else [root / pattern]
    return [Path(os.path.normpath(path)) for path in found if path.is_dir() and not path.name.startswith(".")]


def _read_local(context: _Context, directory: Path, inherited: _Project | None) -> _Project:
    """The pyproject.toml of a local project, if envguard may read it."""
    directory = Path(os.path.normpath(directory))
    if context.scan_root is not None and not _inside(directory, context.scan_root):
        raise _Undecided  # outside what envguard scans, unless allow_outside_root
    relative = os.path.relpath(directory, context.root).replace(os.sep, "/")
    project = _read_project(
        directory / "pyproject.toml", _join(context.shown_root, relative, "pyproject.toml"), inherited
    )
    if project is None:
        raise _Undecided  # uv would fail, or build something envguard does not
    return project


def _inside(path: Path, root: Path) -> bool:
    resolved = os.path.normpath(os.path.abspath(path))
    base = os.path.normpath(os.path.abspath(root))
    return resolved == base or resolved.startswith(base.rstrip(os.sep) + os.sep)


def _lock_packages(context: _Context) -> list[dict[str, Any]]:
    packages = context.lock.get("package", [])
    return [package for package in _list(packages) if isinstance(package, dict)]


def _local_packages(context: _Context) -> list[tuple[NormalizedName, str, dict[str, Any]]]:
    """(name, source kind, table) of every source-tree package: members and path dependencies.

    One pass over the lock's packages, kept: registry packages are most of a lock and never
    compared, so everything else works on this short list.
    """
    if context.local is None:
        local = []
        for package in _lock_packages(context):
            source = package.get("source")
            if isinstance(source, dict):
                for kind in _SOURCE_TREES:
                    if kind in source:
                        local.append((normalize(str(package.get("name", ""))), kind, package))
                        break
        context.local = local
    return context.local


def _by_name(context: _Context, name: NormalizedName) -> list[dict[str, Any]]:
    return [package for found, _, package in _local_packages(context) if found == name]


# --- workspace-level checks --------------------------------------------------------------------


def _check_members(context: _Context) -> StaleLock | None:
    members = _members(context)
    expected = sorted(members)
    if len(expected) == 1 and context.workspace.name is not None:
        expected = []  # uv omits the members of a single-project workspace
    manifest = context.lock.get("manifest", {})
    actual = sorted(normalize(name) for name in _list(manifest.get("members", [])))
    workspace = context.workspace
    if expected != actual:
        reason = f"the workspace members are {_names(expected)}, the lock records {_names(actual)}"
        return _stale(
            context,
            _manifest_line(context, "members"),
            workspace.shown,
            _toml.key_line(workspace.text, "members"),
            reason,
        )
    required = _required_members(workspace, members)
    for name, member in sorted(members.items()):
        found = _by_name(context, name)
        if len(found) != 1:
            reason = f"the lock records no package for workspace member {name}"
            return _stale(context, None, member.shown, _toml.key_line(member.text, "name"), reason)
        source = found[0].get("source", {})
        expected_kind = (
            "virtual"
            if not _is_package(member, name not in required)
            else ("editable" if required.get(name, True) is not False else "directory")
        )
        actual_kind = next((key for key in _SOURCE_TREES if isinstance(source, dict) and key in source), None)
        if actual_kind != expected_kind:
            reason = f"workspace member {name} is now {_kind_phrase(expected_kind)}, the lock records it as {_kind_phrase(actual_kind)}"
            return _stale(context, _package_line(context, name), member.shown, None, reason)
    return None


def _kind_phrase(kind: str | None) -> str:
    return {
        "virtual": "a virtual project",
        "editable": "an editable package",
        "directory": "a non-editable package",
    }.get(kind or "", "another source")


def _names(names: Sequence[str]) -> str:
    return ", ".join(names) if names else "none"


def _required_members(
    workspace: _Project, members: dict[NormalizedName, _Project]
) -> dict[NormalizedName, bool | None]:
    """Members another project names with `{ workspace = true }`, with the `editable` it asks for."""
    required: dict[NormalizedName, bool | None] = {}
    for project in (workspace, *members.values()):
        for name, source in _own_sources(project).items():
            if name == project.name:
                continue
            for entry in source if isinstance(source, list) else [source]:
                if isinstance(entry, dict) and entry.get("workspace") is True:
                    editable = entry.get("editable")
                    required[name] = editable if isinstance(editable, bool) else required.get(name)
    return required


def _own_sources(project: _Project) -> dict[NormalizedName, Any]:
    sources = _tool_uv(project.data).get("sources", {})
    return {normalize(key): value for key, value in sources.items()} if isinstance(sources, dict) else {}


def _is_package(project: _Project, require_build_system: bool) -> bool:
    package = _tool_uv(project.data).get("package")
    if isinstance(package, bool):
        return package
    return "build-system" in project.data or not require_build_system


def _check_requires_python(context: _Context) -> StaleLock | None:
    declared = [
        (member, member.data["project"]["requires-python"])
        for member in _members(context).values()
        if "requires-python" in member.data.get("project", {})
    ]
    if not declared:
        raise _Undecided  # uv falls back to the interpreter's version
    intervals: list[_Interval] | None = None
    for _, value in declared:
        found = _intervals(value)
        intervals = found if intervals is None else _intersect(intervals, found)
    if not intervals:
        raise _Undecided  # disjoint: uv refuses the workspace
    expected = _outer(intervals)
    if expected == (context.lower, context.upper):
        return None
    # Name the member whose own requires-python sets the bound that moved.
    moved = 0 if expected[0] != context.lower else 1
    member, value = next(
        ((member, value) for member, value in declared if _outer(_intervals(value))[moved] == expected[moved]),
        declared[0],
    )
    recorded = context.lock.get("requires-python")
    reason = f"requires-python is {value}, the lock records {recorded}"
    if len(declared) > 1:
        reason = (
            f"requires-python is {value}, which makes the workspace's {_render(expected)}; the lock records {recorded}"
        )
    lock_line = _toml.key_line(context.lock_text, "requires-python")
    return _stale(context, lock_line, member.shown, _toml.key_line(member.text, "requires-python"), reason)


def _render(bounds: tuple[Bound, Bound]) -> str:
    parts = []
    for bound, (inclusive, exclusive) in zip(bounds, ((">=", ">"), ("<=", "<"))):
        if bound is not None:
            release = ".".join(map(str, bound[0])).removesuffix(".0")
            parts.append(f"{inclusive if bound[1] else exclusive}{release}")
    return ", ".join(parts) or "any Python"


def _check_options(context: _Context) -> StaleLock | None:
    if (context.root / "uv.toml").exists():
        raise _Undecided  # uv.toml replaces `[tool.uv]` settings
    settings = _tool_uv(context.workspace.data)
    options = context.lock.get("options", {})
    if not isinstance(options, dict):
        raise _Undecided
    for key, (setting, default) in _DEFAULT_OPTIONS.items():
        expected = settings.get(setting, default)
        actual = options.get(key, default)
        if expected != actual:
            reason = f"[tool.uv] {setting} is {expected}, the lock records {actual}"
            return _stale(
                context,
                _toml.key_line(context.lock_text, key),
                context.workspace.shown,
                _toml.key_line(context.workspace.text, setting),
                reason,
            )
    for setting, key in (("environments", "supported-markers"), ("required-environments", "required-markers")):
        found = _check_environments(context, settings, setting, key)
        if found is not None:
            return found
    declared = settings.get("exclude-newer")
    recorded = options.get("exclude-newer")
    if (
        declared is None
        and recorded is None
        and "exclude-newer-package" not in settings
        and "exclude-newer-package" not in options
    ):
        return None
    if (declared is None) != (recorded is None):
        reason = f"[tool.uv] exclude-newer is {declared or 'not set'}, the lock records {recorded or 'none'}"
        return _stale(
            context,
            _toml.key_line(context.lock_text, "exclude-newer"),
            context.workspace.shown,
            _toml.key_line(context.workspace.text, "exclude-newer"),
            reason,
        )
    if declared != recorded or settings.get("exclude-newer-package") != options.get("exclude-newer-package"):
        raise _Undecided  # uv normalises dates and spans
    return None


def _check_environments(context: _Context, settings: dict[str, Any], setting: str, key: str) -> StaleLock | None:
    declared = settings.get(setting, [])
    declared = [declared] if isinstance(declared, str) else _list(declared)
    recorded = _list(context.lock.get(key, []))
    same = len(declared) == len(recorded) and all(
        _markers.equivalent(str(first), str(second), context.lower, context.upper)
        for first, second in zip(declared, recorded)
    )
    if same:
        return None
    if len(declared) == len(recorded) and None in (
        _markers.equivalent(str(first), str(second), context.lower, context.upper)
        for first, second in zip(declared, recorded)
    ):
        raise _Undecided
    reason = f"[tool.uv] {setting} differs from the environments the lock records"
    return _stale(
        context,
        _toml.key_line(context.lock_text, key),
        context.workspace.shown,
        _toml.key_line(context.workspace.text, setting),
        reason,
    )


def _check_manifest(context: _Context) -> StaleLock | None:
    workspace = context.workspace
    settings = _tool_uv(workspace.data)
    manifest = context.lock.get("manifest", {})
    if not isinstance(manifest, dict):
        raise _Undecided
    if "conflicts" in context.lock or any(
        "conflicts" in _tool_uv(member.data) for member in (workspace, *_members(context).values())
    ):
        raise _Undecided  # uv fills in and orders conflict sets in ways envguard does not redo
    for lock_key, setting in (
        ("constraints", "constraint-dependencies"),
        ("overrides", "override-dependencies"),
        ("build-constraints", "build-constraint-dependencies"),
    ):
        where = f"[tool.uv] {setting}"
        strings = _list(settings.get(setting, []))
        if any(not isinstance(entry, str) for entry in strings):
            raise _Undecided  # per-package overrides
        expected = [_workspace_requirement(context, entry, where) for entry in strings]
        actual = [_lock_requirement(context, entry) for entry in _list(manifest.get(lock_key, []))]
        found = _compare_sets(
            context, expected, actual, where, workspace, functools.partial(_manifest_line, context, lock_key)
        )
        if found is not None:
            return found
    expected_excludes = sorted({normalize(name) for name in _list(settings.get("exclude-dependencies", []))})
    actual_excludes = sorted({normalize(name) for name in _list(manifest.get("excludes", []))})
    if expected_excludes != actual_excludes:
        reason = (
            f"[tool.uv] exclude-dependencies is {_names(expected_excludes)}, the lock records {_names(actual_excludes)}"
        )
        return _stale(
            context,
            _manifest_line(context, "excludes"),
            workspace.shown,
            _toml.key_line(workspace.text, "exclude-dependencies"),
            reason,
        )
    if _list(manifest.get("requirements", [])):
        reason = "the lock records requirements of a script, which a workspace does not have"
        return _stale(context, _manifest_line(context, "requirements"), workspace.shown, None, reason)
    found = _check_dependency_metadata(context, settings, manifest)
    if found is not None:
        return found
    if workspace.name is not None:
        expected_groups: dict[str, list[_Req]] = {}
    else:
        expected_groups = {group: reqs for group, reqs in _groups(context, workspace).items() if reqs}
    recorded = manifest.get("dependency-groups", {})
    if not isinstance(recorded, dict):
        raise _Undecided
    actual_groups: dict[str, list[_Req]] = {
        normalize(group): [_lock_requirement(context, entry) for entry in _list(entries)]
        for group, entries in recorded.items()
        if entries
    }
    return _compare_groups(
        context, expected_groups, actual_groups, workspace, lambda: _manifest_line(context, "dependency-groups")
    )


def _check_dependency_metadata(
    context: _Context, settings: dict[str, Any], manifest: dict[str, Any]
) -> StaleLock | None:
    expected = _static_metadata(_list(settings.get("dependency-metadata", [])), exact_markers=True)
    actual = _static_metadata(_list(manifest.get("dependency-metadata", [])), exact_markers=True)
    if expected == actual:
        return None
    if _static_metadata(_list(settings.get("dependency-metadata", [])), exact_markers=False) == _static_metadata(
        _list(manifest.get("dependency-metadata", [])), exact_markers=False
    ):
        raise _Undecided  # only the markers are spelled differently
    reason = "[tool.uv] dependency-metadata differs from what the lock records"
    workspace = context.workspace
    return _stale(
        context,
        _manifest_line(context, "dependency-metadata"),
        workspace.shown,
        _toml.key_line(workspace.text, "dependency-metadata"),
        reason,
    )


def _static_metadata(entries: list[Any], *, exact_markers: bool) -> set[str]:
    """`dependency-metadata` rows in a canonical spelling (requirements parsed, names normalised)."""
    rows: set[str] = set()
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise _Undecided
        row = dict(entry, name=normalize(entry["name"]))
        requirements = []
        for text in _list(entry.get("requires-dist", [])):
            parsed = _parse(str(text))
            marker = str(parsed.marker) if parsed.marker is not None and exact_markers else ""
            extras = sorted(normalize(extra) for extra in parsed.extras)
            requirements.append(
                [normalize(parsed.name), extras, sorted(map(str, parsed.specifier)), parsed.url, marker]
            )
        row["requires-dist"] = requirements
        if isinstance(entry.get("provides-extras"), list):
            row["provides-extras"] = sorted(normalize(str(extra)) for extra in entry["provides-extras"])
        rows.add(json.dumps(row, sort_keys=True, default=str))
    return rows


def _check_indexes(context: _Context) -> StaleLock | None:
    """Every registry the lock takes a package from must still be configured (when any is)."""
    settings = _tool_uv(context.workspace.data)
    if any(key in settings for key in _INDEX_SETTINGS):
        raise _Undecided
    configured = [index for index in _list(settings.get("index", [])) if isinstance(index, dict)]
    if not configured:
        return None  # no index configured: uv does not compare them
    allowed = {_strip_credentials(str(index.get("url", ""))) for index in configured}
    if not any(index.get("default") is True for index in configured):
        allowed.add(_PYPI)
    # An index a local project's requirement names counts as configured (uv records those too).
    allowed.update(_requirement_indexes(context))
    for package in _lock_packages(context):
        source = package.get("source", {})
        registry = source.get("registry") if isinstance(source, dict) else None
        if isinstance(registry, str) and _URL.match(registry) and _strip_credentials(registry) not in allowed:
            name = str(package.get("name"))
            reason = f"the lock takes {name} from {registry}, which is no configured index"
            line = _toml.key_line(context.workspace.text, "tool.uv.index") or _toml.key_line(
                context.workspace.text, "index"
            )
            return _stale(context, _package_line(context, normalize(name)), context.workspace.shown, line, reason)
    return None


def _requirement_indexes(context: _Context) -> Iterator[str]:
    manifest = context.lock.get("manifest", {})
    groups = manifest.get("dependency-groups", {}) if isinstance(manifest, dict) else {}
    tables = [*(groups.values() if isinstance(groups, dict) else [])]
    for package in _lock_packages(context):
        metadata = package.get("metadata")
        if isinstance(metadata, dict):
            tables.append(metadata.get("requires-dist", []))
            dev = metadata.get("requires-dev", {})
            tables.extend(dev.values() if isinstance(dev, dict) else [])
    for entries in tables:
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and isinstance(entry.get("index"), str):
                yield _strip_credentials(entry["index"])


_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


# --- local projects ----------------------------------------------------------------------------


def _check_projects(context: _Context) -> StaleLock | None:
    """Members and path dependencies: version, extras, requirements and groups, as uv validates them."""
    members = _members(context)
    undecided = False
    for name, kind, package in _local_packages(context):
        try:
            project = members.get(name) or _read_local(context, context.root / str(package["source"][kind]), None)
            if project.name != name and name not in members:
                raise _Undecided
            if name not in members and project.sources:
                raise _Undecided  # lowered within its own workspace, which envguard does not discover
            found = _check_project(context, package, project)
        except (_Undecided, SourceError):
            undecided = True
            continue
        if found is not None:
            return found
    if undecided:
        raise _Undecided
    return None


def _check_project(context: _Context, package: dict[str, Any], project: _Project) -> StaleLock | None:
    table = project.data.get("project")
    if not isinstance(table, dict):
        raise _Undecided  # no static metadata: uv builds the project
    dynamic = _list(table.get("dynamic", []))
    if "dependencies" in dynamic or "optional-dependencies" in dynamic:
        raise _Undecided
    name = normalize(str(package["name"]))
    locked_version = package.get("version")
    if "version" in dynamic:
        if locked_version is not None:
            raise _Undecided
    else:
        declared = table.get("version")
        if not isinstance(declared, str):
            raise _Undecided
        if locked_version is None or _version(declared) != _version(str(locked_version)):
            reason = f"[project] version is {declared}, the lock records {locked_version or 'none'}"
            return _stale(
                context, _package_line(context, name), project.shown, _toml.key_line(project.text, "version"), reason
            )
    metadata = package.get("metadata", {})
    if not isinstance(metadata, dict):
        raise _Undecided
    optional = table.get("optional-dependencies", {})
    if not isinstance(optional, dict):
        raise _Undecided
    if context.revision >= 1:
        expected_extras = sorted({normalize(extra) for extra in optional})
        actual_extras = sorted(
            {normalize(extra) for extra in _list(metadata.get("provides-extras", metadata.get("provides-extra", [])))}
        )
        if expected_extras != actual_extras:
            reason = f"[project.optional-dependencies] has extras {_names(expected_extras)}, the lock records {_names(actual_extras)}"
            return _stale(
                context,
                _metadata_line(context, name),
                project.shown,
                _toml.key_line(project.text, "optional-dependencies"),
                reason,
            )
    expected = list(_project_requirements(context, project, table, optional))
    actual = [_lock_requirement(context, entry) for entry in _list(metadata.get("requires-dist", []))]
    if "version" in dynamic and any(req.name == name for req in expected):
        # uv builds such a project and compares the flattened extras its backend reports.
        if _compare_sets(context, expected, actual, "", project, lambda: None) is not None:
            raise _Undecided
    found = _compare_sets(
        context, expected, actual, "[project] dependencies", project, lambda: _metadata_line(context, name)
    )
    if found is not None:
        return found
    expected_groups = _groups(context, project)
    if context.revision < 1:
        expected_groups = {group: reqs for group, reqs in expected_groups.items() if reqs}
    recorded = metadata.get("requires-dev", {})
    if not isinstance(recorded, dict):
        raise _Undecided
    actual_groups: dict[str, list[_Req]] = {
        normalize(group): [_lock_requirement(context, entry) for entry in _list(entries)]
        for group, entries in recorded.items()
        if entries or context.revision >= 1
    }
    return _compare_groups(context, expected_groups, actual_groups, project, lambda: _metadata_line(context, name))


def _version(text: str) -> Version | str:
    try:
        return Version(text)
    except InvalidVersion:
        return text


def _project_requirements(
    context: _Context, project: _Project, table: dict[str, Any], optional: dict[str, Any]
) -> Iterator[_Req]:
    for entry in _list(table.get("dependencies", [])):
        yield from _lower(context, project, entry, None, "[project] dependencies")
    for extra, entries in optional.items():
        for entry in _list(entries):
            yield from _lower(context, project, entry, normalize(extra), f"[project.optional-dependencies] {extra}")


def _groups(context: _Context, project: _Project) -> dict[str, list[_Req]]:
    """`[dependency-groups]` with include-group flattened, plus `[tool.uv] dev-dependencies` as "dev"."""
    settings = _tool_uv(project.data)
    if "dependency-groups" in settings:
        raise _Undecided  # group requires-python adds markers envguard does not derive
    raw = project.data.get("dependency-groups", {})
    if not isinstance(raw, dict):
        raise _Undecided
    by_name: dict[str, tuple[str, Any]] = {normalize(group): (group, entries) for group, entries in raw.items()}

    def flatten(group: str, seen: tuple[str, ...]) -> list[tuple[str, str]]:
        if group in seen or group not in by_name:
            raise _Undecided  # a cycle or a missing group: uv refuses it
        written, entries = by_name[group]
        found: list[tuple[str, str]] = []
        for entry in _list(entries):
            if isinstance(entry, str):
                found.append((entry, f"[dependency-groups] {written}"))
            elif isinstance(entry, dict) and set(entry) == {"include-group"}:
                found.extend(flatten(normalize(str(entry["include-group"])), (*seen, group)))
            else:
                raise _Undecided
        return found

    groups: dict[str, list[_Req]] = {}
    for group in by_name:
        groups[group] = [
            req for entry, where in flatten(group, ()) for req in _lower(context, project, entry, None, where)
        ]
    if "dev-dependencies" in settings:
        dev = groups.setdefault("dev", [])
        for entry in _list(settings["dev-dependencies"]):
            dev.extend(_lower(context, project, entry, None, "[tool.uv] dev-dependencies"))
    return groups


# --- requirements ------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8192)
def _parse(text: str) -> Requirement:
    try:
        return Requirement(text)
    except InvalidRequirement:
        raise _Undecided from None


def _workspace_requirement(context: _Context, entry: Any, where: str) -> _Req:
    if not isinstance(entry, str):
        raise _Undecided
    parsed = _parse(entry)
    if normalize(parsed.name) in context.workspace.sources:
        raise _Undecided  # lowered through a source, which uv may do for constraints too
    return _requirement(context, context.workspace, parsed, None, None, entry, where)


def _lower(context: _Context, project: _Project, entry: Any, extra: str | None, where: str) -> Iterator[_Req]:
    """A declared requirement as uv lowers it: through `tool.uv.sources`, then as written."""
    if not isinstance(entry, str):
        raise _Undecided
    parsed = _parse(entry)
    name = normalize(parsed.name)
    source = None if parsed.url else project.sources.get(name)
    if _tool_uv(project.data).get("no-sources") is True:
        source = None
    if source is None:
        yield _requirement(context, project, parsed, None, extra, entry, where)
        return
    for item in source if isinstance(source, list) else [source]:
        if not isinstance(item, dict) or "extra" in item or "group" in item:
            raise _Undecided
        yield _requirement(context, project, parsed, item, extra, entry, where)


def _requirement(
    context: _Context,
    project: _Project,
    parsed: Requirement,
    source: dict[str, Any] | None,
    extra: str | None,
    text: str,
    where: str,
) -> _Req:
    markers = [str(parsed.marker)] if parsed.marker is not None else []
    if source is not None and isinstance(source.get("marker"), str):
        markers.append(source["marker"])
    if extra is not None:
        markers.append(f"extra == '{extra}'")
    marker = (
        " and ".join(f"({marker})" for marker in markers) if len(markers) > 1 else (markers[0] if markers else None)
    )
    if source is not None:
        lowered = _lowered_source(context, project, parsed, source)
    elif parsed.url:
        lowered = _url_source(context, parsed.url)
    else:
        lowered = ("registry", frozenset(parsed.specifier), None)
    extras = tuple(sorted({normalize(name) for name in parsed.extras}))
    shown = f"{where}: {text}" + (f" ({_source_phrase(context, lowered)})" if source is not None else "")
    return _Req(normalize(parsed.name), extras, (), lowered, marker, shown, text, where)


def _source_phrase(context: _Context, source: tuple[object, ...]) -> str:
    """Where a lowered requirement comes from, with paths relative to the workspace root as uv writes them."""
    kind, location = source[0], source[1]
    if kind == "registry":
        return f"index {source[2]}" if source[2] else "the default index"
    if kind in ("editable", "directory", "virtual", "path"):
        location = os.path.relpath(str(location), _absolute(context.root)).replace(os.sep, "/")
    return f"{kind} {location}"


def _lowered_source(
    context: _Context, project: _Project, parsed: Requirement, source: dict[str, Any]
) -> tuple[object, ...]:
    if source.get("workspace") is True:
        members = _members(context)
        member = members.get(normalize(parsed.name))
        if member is None:
            raise _Undecided
        if _tool_uv(member.data).get("package") is False:
            return ("virtual", _absolute(member.directory))
        editable = source.get("editable", True)
        return ("editable" if editable is not False else "directory", _absolute(member.directory))
    if isinstance(source.get("path"), str):
        target = Path(os.path.normpath(project.directory / source["path"]))
        if target.is_file():
            return ("path", _absolute(target))
        if not target.is_dir():
            raise _Undecided
        if source.get("package") is False:
            return ("virtual", _absolute(target))
        return ("editable" if source.get("editable") is True else "directory", _absolute(target))
    if isinstance(source.get("git"), str):
        query = [(key, str(source[key])) for key in ("subdirectory",) if key in source]
        if source.get("lfs") is True:
            query.append(("lfs", "true"))
        query.extend((key, str(source[key])) for key in ("branch", "tag", "rev") if key in source)
        return ("git", _git_repository(source["git"]), tuple(sorted(query)))
    if isinstance(source.get("url"), str):
        subdirectory = source.get("subdirectory")
        return (
            "url",
            _strip_credentials(source["url"].split("#", 1)[0]),
            subdirectory if isinstance(subdirectory, str) else None,
        )
    if isinstance(source.get("index"), str):
        url = project.indexes.get(source["index"])
        if url is None:
            raise _Undecided
        return ("registry", frozenset(parsed.specifier), _strip_credentials(url))
    raise _Undecided


def _url_source(context: _Context, url: str) -> tuple[object, ...]:
    if url.startswith("git+"):
        location, _, fragment = url[4:].partition("#")
        base, _, reference = location.rpartition("@") if "@" in urlsplit(location).path else (location, "", "")
        query = [("rev", reference)] if reference else []
        query.extend((key, value) for key, value in parse_qsl(fragment) if key == "subdirectory")
        return ("git", _git_repository(base), tuple(sorted(query)))
    if url.lower().startswith("file:"):
        raise _Undecided
    location, _, fragment = url.partition("#")
    subdirectory = dict(parse_qsl(fragment)).get("subdirectory")
    return ("url", _strip_credentials(location), subdirectory)


def _git_repository(url: str) -> str:
    url = url.removeprefix("git+")
    parts = urlsplit(_strip_credentials(url))
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, "", ""))


def _strip_credentials(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, parts.query, parts.fragment))


def _absolute(path: Path) -> str:
    return os.path.normpath(os.path.abspath(path))


def _lock_requirement(context: _Context, entry: Any) -> _Req:
    """A requirement as the lock records it: `{ name = ..., specifier = ..., marker = ... }`."""
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise _Undecided
    name = normalize(entry["name"])
    extras = tuple(sorted({normalize(extra) for extra in _list(entry.get("extras", entry.get("extra", [])))}))
    groups = tuple(sorted({normalize(group) for group in _list(entry.get("groups", entry.get("group", [])))}))
    marker = entry.get("marker")
    source: tuple[object, ...]
    kind = next((key for key in ("editable", "virtual", "directory", "path") if key in entry), None)
    if kind is not None:
        source = (kind, _absolute(context.root / str(entry[kind])))
    elif "git" in entry:
        location = str(entry["git"]).partition("#")[0]
        parts = urlsplit(location)
        repository = urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, "", ""))
        source = ("git", repository, tuple(sorted(parse_qsl(parts.query))))
    elif "url" in entry:
        subdirectory = entry.get("subdirectory")
        source = ("url", str(entry["url"]), subdirectory if isinstance(subdirectory, str) else None)
    else:
        if "conflict" in entry:
            raise _Undecided
        specifier = entry.get("specifier", "")
        try:
            specifiers = frozenset(Specifier(part.strip()) for part in str(specifier).split(",") if part.strip())
        except InvalidSpecifier:
            raise _Undecided from None
        index = entry.get("index")
        # Compared without credentials, as uv compares indexes (and as the manifest's are read).
        source = ("registry", specifiers, _strip_credentials(str(index)) if index is not None else None)
    text = _describe(context, name, extras, source, marker if isinstance(marker, str) else None)
    return _Req(name, extras, groups, source, marker if isinstance(marker, str) else None, text)


def _describe(
    context: _Context, name: str, extras: tuple[str, ...], source: tuple[object, ...], marker: str | None
) -> str:
    written = name + (f"[{','.join(extras)}]" if extras else "")
    if source[0] == "registry" and isinstance(source[1], frozenset):
        written += ",".join(sorted(str(spec) for spec in source[1]))
    written += f"; {marker}" if marker else ""
    if source[0] != "registry" or source[2]:
        written += f" ({_source_phrase(context, source)})"
    return written


def _compare_sets(
    context: _Context,
    expected: list[_Req],
    actual: list[_Req],
    where: str,
    project: _Project,
    locate: Callable[[], int | None],
) -> StaleLock | None:
    """The first requirement one side has and the other has not, as uv's set comparison finds it.

    `locate` gives the lock line of the block compared; it is called only for a difference, since
    placing a line costs a pass over the lock's text.
    """
    missing = _unmatched(context, expected, actual)
    extra = _unmatched(context, actual, expected)
    if missing is None and extra is None:
        return None
    lock_line = locate()
    if missing is not None:
        counterpart = next(
            (req for req in actual if req.name == missing.name and _unmatched(context, [req], expected)), None
        )
        declared = missing.text
        if counterpart is not None:
            reason = f"{declared}, the lock records {counterpart.text}"
            line = _requirement_lock_line(context, lock_line, counterpart.name) or lock_line
        else:
            reason = f"{declared}, which the lock does not record"
            line = lock_line
        return _stale(
            context, line, project.shown, _string_line(project.text, missing.written, missing.where), _reason(reason)
        )
    assert extra is not None
    reason = f"the lock records {extra.text}, which the manifest no longer declares"
    return _stale(
        context, _requirement_lock_line(context, lock_line, extra.name) or lock_line, project.shown, None, reason
    )


def _reason(text: str) -> str:
    # `[project] dependencies: httpx>=0.28, ...` reads better as `[project] dependencies has httpx>=0.28, ...`.
    return text.replace(": ", " has ", 1)


def _unmatched(context: _Context, wanted: list[_Req], offered: list[_Req]) -> _Req | None:
    by_key: dict[tuple[object, ...], list[_Req]] = {}
    for other in offered:
        by_key.setdefault(other.key, []).append(other)
    for req in wanted:
        candidates = by_key.get(req.key)
        if not candidates:
            return req
        verdicts = [_markers.equivalent(req.marker, other.marker, context.lower, context.upper) for other in candidates]
        if True in verdicts:
            continue
        if None in verdicts:
            raise _Undecided
        return req
    return None


def _compare_groups(
    context: _Context,
    expected: Mapping[str, list[_Req]],
    actual: Mapping[str, list[_Req]],
    project: _Project,
    locate: Callable[[], int | None],
) -> StaleLock | None:
    for group in sorted(set(expected) | set(actual)):
        if group not in actual:
            reason = f"[dependency-groups] has group {group}, which the lock does not record"
            return _stale(context, locate(), project.shown, _toml.key_line(project.text, group), reason)
        if group not in expected:
            reason = f"the lock records dependency group {group}, which the manifest no longer has"
            return _stale(context, locate(), project.shown, None, reason)
        found = _compare_sets(context, expected[group], actual[group], f"[dependency-groups] {group}", project, locate)
        if found is not None:
            return found
    return None


# --- requires-python ---------------------------------------------------------------------------

# (lower, upper) over releases; uv compares the outer bounds of the intersection.
_Interval = tuple[Bound, Bound]


def _bounds(value: Any) -> tuple[Bound, Bound]:
    if not isinstance(value, str):
        return None, None
    try:
        intervals = _intervals(value)
    except _Undecided:
        return None, None
    return _outer(intervals) if intervals else (None, None)


def _outer(intervals: list[_Interval]) -> tuple[Bound, Bound]:
    """The lowest lower and the highest upper bound: what uv keeps of a Python range."""
    lowers = [low for low, _ in intervals]
    uppers = [high for _, high in intervals]
    lower = None if None in lowers else min(lowers, key=lambda bound: (bound[0], not bound[1]))  # type: ignore[index]
    upper = None if None in uppers else max(uppers, key=lambda bound: (bound[0], bound[1]))  # type: ignore[index]
    return lower, upper


@functools.lru_cache(maxsize=1024)
def _intervals_cached(value: str) -> tuple[_Interval, ...]:
    intervals: list[_Interval] = [(None, None)]
    for part in value.split(","):
        if part.strip():
            intervals = _intersect(intervals, _specifier_intervals(part.strip()))
    return tuple(intervals)


def _intervals(value: Any) -> list[_Interval]:
    if not isinstance(value, str):
        raise _Undecided
    return list(_intervals_cached(value))


def _specifier_intervals(text: str) -> list[_Interval]:
    try:
        spec = Specifier(text)
    except InvalidSpecifier:
        raise _Undecided from None
    operator, version = spec.operator, spec.version
    wildcard = version.endswith(".*")
    point = _markers.release(version)
    if point is None or operator == "===":
        raise _Undecided
    parts = version.rstrip(".*").split(".")
    if operator == ">=":
        return [((point, True), None)]
    if operator == ">":
        return [((point, False), None)]
    if operator == "<=":
        return [(None, (point, True))]
    if operator == "<":
        return [(None, (point, False))]
    if operator in ("==", "!=") and wildcard:
        end = (
            (point[0] + 1, 0, 0)
            if len(parts) == 1
            else ((point[0], point[1] + 1, 0) if len(parts) == 2 else (point[0], point[1], point[2] + 1))
        )
        inside: list[_Interval] = [((point, True), (end, False))]
        return inside if operator == "==" else [(None, (point, False)), ((end, True), None)]
    if operator == "==":
        return [((point, True), (point, True))]
    if operator == "!=":
        return [(None, (point, False)), ((point, False), None)]
    if operator == "~=":
        end = (point[0] + 1, 0, 0) if len(parts) <= 2 else (point[0], point[1] + 1, 0)
        return [((point, True), (end, False))]
    raise _Undecided


def _intersect(first: Iterable[_Interval], second: Iterable[_Interval]) -> list[_Interval]:
    found: list[_Interval] = []
    for a_low, a_high in first:
        for b_low, b_high in second:
            low = _max_lower(a_low, b_low)
            high = _min_upper(a_high, b_high)
            if _non_empty(low, high):
                found.append((low, high))
    return sorted(found, key=lambda interval: (interval[0] is not None, interval[0] or ((0, 0, 0), True)))


def _max_lower(a: Bound, b: Bound) -> Bound:
    if a is None or b is None:
        return a or b
    if a[0] != b[0]:
        return a if a[0] > b[0] else b
    return (a[0], a[1] and b[1])


def _min_upper(a: Bound, b: Bound) -> Bound:
    if a is None or b is None:
        return a or b
    if a[0] != b[0]:
        return a if a[0] < b[0] else b
    return (a[0], a[1] and b[1])


def _non_empty(low: Bound, high: Bound) -> bool:
    if low is None or high is None:
        return True
    return low[0] < high[0] or (low[0] == high[0] and low[1] and high[1])


# --- lines -------------------------------------------------------------------------------------


def _stale(context: _Context, lock_line: int | None, manifest: str, line: int | None, reason: str) -> StaleLock:
    return StaleLock("uv", context.lock_shown, lock_line, manifest, line, reason)


def _manifest_line(context: _Context, key: str) -> int | None:
    """The line of `key` in the lock's `[manifest]`, else of `[manifest]` itself."""
    start = _toml.key_line(context.lock_text, "manifest")
    if start is None:
        return None
    found = re.compile(
        r"^\[?\[?" + re.escape(f"manifest.{key}") + r"\]|^" + re.escape(key) + r"\s*=", re.MULTILINE
    ).search(context.lock_text, _offset(context.lock_text, start))
    return start if found is None else context.lock_text.count("\n", 0, found.start()) + 1


def _package_line(context: _Context, name: NormalizedName) -> int | None:
    packages = _lock_packages(context)
    names = [str(package.get("name", "")) for package in packages]
    # uv writes each entry as `[[package]]` then `name = "..."`: found directly, without a scan
    # of the whole lock for every header (which the slow path below does, for hand edits).
    for raw in dict.fromkeys(n for n in names if normalize(n) == name):
        at = context.lock_text.find(f'[[package]]\nname = "{raw}"\n')
        if at >= 0 and context.lock_text.find(f'[[package]]\nname = "{raw}"\n', at + 1) < 0:
            return context.lock_text.count("\n", 0, at) + 1
    lines = _toml.entry_lines(context.lock_text, "package", len(packages), names)
    for package_name, line in zip(names, lines):
        if normalize(package_name) == name:
            return line
    return None


def _metadata_line(context: _Context, name: NormalizedName) -> int | None:
    start = _package_line(context, name)
    if start is None:
        return None
    found = re.compile(r"^\[package\.metadata\]|^\[\[package\]\]", re.MULTILINE).search(
        context.lock_text, _offset(context.lock_text, start) + 1
    )
    if found is None or found.group(0) != "[package.metadata]":
        return start
    return context.lock_text.count("\n", 0, found.start()) + 1


def _requirement_lock_line(context: _Context, after: int | None, name: str) -> int | None:
    """The line of `{ name = "<name>", ... }` in the metadata block that starts at `after`."""
    if after is None:
        return None
    pattern = re.compile(r"""\{\s*name\s*=\s*["']""" + re.escape(name) + r"""["']""")
    offset = _offset(context.lock_text, after)
    end = context.lock_text.find("\n[[", offset)
    found = pattern.search(context.lock_text, offset, end if end != -1 else len(context.lock_text))
    return None if found is None else context.lock_text.count("\n", 0, found.start()) + 1


def _offset(text: str, line: int) -> int:
    offset = 0
    for _ in range(line - 1):
        offset = text.index("\n", offset) + 1
    return offset


def _string_line(text: str, value: str, where: str) -> int | None:
    """The line of the TOML string `value`, searched after the table `where` names."""
    table = where.split("]", 1)[0].lstrip("[")
    header = re.compile(r"^\[" + re.escape(table) + r"\]", re.MULTILINE).search(text)
    start = header.start() if header else 0
    for literal in (json.dumps(value), f"'{value}'"):
        found = text.find(literal, start)
        if found == -1:
            found = text.find(literal)
        if found != -1:
            return text.count("\n", 0, found) + 1
    return None
