"""PEP 751 lock files: `pylock.toml` and `pylock.<name>.toml` (lock-version 1.x).

The format keeps no group per package; a multi-use lock says when a package is installed in
its `marker`, through the set-valued `extras` and `dependency_groups` variables, and that is
where the groups come from (see `_groups`).
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any

from envguard.errors import SourceError
from envguard.model import MAIN, Kind, Loaded, Package, extra_group, normalize
from envguard.sources import _origin, _text, _toml

SUPPORTED_MAJOR = "1"

# `'dev' in dependency_groups` / `"cli" in extras`; `not in` does not match, as it excludes.
_MARKER_MEMBERSHIP = re.compile(r"""(["'])(?P<value>[^"']*)\1\s+in\s+(?P<variable>extras|dependency_groups)\b""")


def load(path: Path, shown: str) -> Loaded:
    text = _text.read_text(path, shown)
    data, headers = _toml.parse_lock(text, shown)
    if not data:
        # A zero-byte or comment-only file records nothing; other tools accept it too.
        return Loaded(packages=())
    _check_lock_version(data, text, shown)
    tables = _package_tables(data, text, shown)
    raw_names = [table.get("name") for table in tables]
    lines = _toml.entry_lines(text, "packages", len(tables), [n if isinstance(n, str) else "" for n in raw_names], headers)
    default_groups = _string_list(data, "default-groups", shown)
    for table, line in zip(tables, lines):
        _check_entry(table, line, shown)
    project = _project_name(tables)
    packages = []
    for table, line in zip(tables, lines):
        kind = _kind(table, project)
        packages.append(
            Package(
                name=normalize(table["name"]),
                version=table.get("version"),
                kind=kind,
                groups=_groups(table.get("marker"), default_groups),
                marker=table.get("marker"),
                path=shown,
                line=line,
                source=_source(table, kind),
                hashed=_hashed(table) if kind in (Kind.REGISTRY, Kind.URL) else None,
            )
        )
    return Loaded(packages=tuple(packages))


def _check_lock_version(data: dict[str, Any], text: str, shown: str) -> None:
    if "lock-version" not in data:
        raise SourceError(shown, None, "not a pylock.toml file: no top-level `lock-version`")
    version = data["lock-version"]
    # PEP 751: an unknown major version must be refused; a newer minor version stays readable.
    if not isinstance(version, str) or version.split(".")[0].strip() != SUPPORTED_MAJOR:
        raise SourceError(
            shown,
            _toml.key_line(text, "lock-version"),
            f"unsupported lock-version {version!r} (only 1.x is supported)",
        )


def _package_tables(data: dict[str, Any], text: str, shown: str) -> list[dict[str, Any]]:
    if "packages" not in data:
        raise SourceError(shown, None, "no `packages` array (PEP 751 requires one, even if empty)")
    return _toml.array_of_tables(data, "packages", text, shown)


def _string_list(data: dict[str, Any], key: str, shown: str) -> frozenset[str]:
    values = data.get(key, [])
    if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
        raise SourceError(shown, None, f"`{key}` is not an array of strings")
    return frozenset(normalize(value) for value in values)


def _check_entry(table: dict[str, Any], line: int, shown: str) -> None:
    raw_name = table.get("name")
    if not isinstance(raw_name, str) or not raw_name.strip():
        raise SourceError(shown, line, "package without a `name`")
    for key in ("version", "marker"):
        if key in table and not isinstance(table[key], str):
            raise SourceError(shown, line, f"`{key}` of package `{raw_name}` is not a string")
    for key in ("vcs", "directory", "archive", "sdist"):
        if key in table and not isinstance(table[key], dict):
            raise SourceError(shown, line, f"`{key}` of package `{raw_name}` is not a table")
    wheels = table.get("wheels", [])
    if not isinstance(wheels, list) or not all(isinstance(wheel, dict) for wheel in wheels):
        raise SourceError(shown, line, f"`wheels` of package `{raw_name}` is not an array of tables")
    sources = [key for key in ("vcs", "directory", "archive") if key in table]
    if len(sources) > 1 or (sources and ("sdist" in table or "wheels" in table)):
        found = ", ".join(key for key in ("vcs", "directory", "archive", "sdist", "wheels") if key in table)
        raise SourceError(shown, line, f"package `{raw_name}` has more than one kind of source ({found})")
    if "directory" in table and not isinstance(table["directory"].get("path"), str):
        raise SourceError(shown, line, f"`directory.path` of package `{raw_name}` is not a string")
    if "archive" in table and not any(isinstance(table["archive"].get(key), str) for key in ("url", "path")):
        raise SourceError(shown, line, f"`archive` of package `{raw_name}` has neither `url` nor `path`")
    if "index" in table and not isinstance(table["index"], str):
        raise SourceError(shown, line, f"`index` of package `{raw_name}` is not a string")


def _project_name(tables: list[dict[str, Any]]) -> str | None:
    """The locked project itself: the name every `directory = { path = "." }` entry has, if just one."""
    names = {
        normalize(table["name"])
        for table in tables
        if "directory" in table and PurePosixPath(table["directory"]["path"]) == PurePosixPath(".")
    }
    return names.pop() if len(names) == 1 else None


def _kind(table: dict[str, Any], project: str | None) -> Kind:
    if "vcs" in table:
        return Kind.VCS
    if "directory" in table:
        directory = table["directory"]
        if project == normalize(table["name"]) and PurePosixPath(directory["path"]) == PurePosixPath("."):
            return Kind.LOCAL_PROJECT
        return Kind.EDITABLE if directory.get("editable") is True else Kind.PATH
    if "archive" in table:
        return Kind.URL if isinstance(table["archive"].get("url"), str) else Kind.PATH
    # sdist/wheels come from an index; an entry with no source at all (hand-written, trimmed by a
    # tool) pins a name and version the same way.
    return Kind.REGISTRY


def _source(table: dict[str, Any], kind: Kind) -> str | None:
    """Package.source of an entry `_check_entry` has checked: PEP 751's `index` for an index
    entry (optional: pip lock writes none), else where its `vcs`, `directory` or `archive` is."""
    if kind is Kind.LOCAL_PROJECT:
        return None
    if "vcs" in table:
        vcs = table["vcs"]
        where = vcs.get("url") if isinstance(vcs.get("url"), str) else vcs.get("path")
        tool = vcs.get("type") if isinstance(vcs.get("type"), str) else "git"
        return _origin.vcs(where, tool) if isinstance(where, str) else None
    if "directory" in table:
        return _origin.path(table["directory"]["path"])
    if "archive" in table:
        archive = table["archive"]
        return _origin.archive(archive["url"]) if kind is Kind.URL else _origin.path(archive["path"])
    index = table.get("index")
    return _origin.index(index) if isinstance(index, str) else None


def _hashed(table: dict[str, Any]) -> bool:
    """Whether the archive, sdist or any wheel of an entry has `hashes` (PEP 751 requires them)."""
    wheels = table.get("wheels", [])
    files = [table[key] for key in ("archive", "sdist") if key in table] + list(wheels)
    return any(isinstance(file.get("hashes"), dict) and bool(file["hashes"]) for file in files)


def _groups(marker: str | None, default_groups: frozenset[str]) -> tuple[str, ...]:
    """Groups named by the package's marker; a package whose marker names none is always installed.

    A dependency group listed in the file's `default-groups` is what gets installed by default,
    so it counts as "main". The marker is read, not evaluated: a package guarded by
    `sys_platform == 'win32' and 'dev' in dependency_groups` is in "dev" on every platform.
    """
    groups: set[str] = set()
    for found in _MARKER_MEMBERSHIP.finditer(marker or ""):
        value = normalize(found.group("value"))
        if found.group("variable") == "extras":
            groups.add(extra_group(value))
        else:
            groups.add(MAIN if value in default_groups else value)
    return tuple(sorted(groups)) if groups else (MAIN,)
