"""pdm.lock: lock_version 3.x to 4.5 (and the pdm 0.x/1.x files without a lock_version).

Groups come from each package's `groups` (lock_version 4.4.1+, `inherit_metadata`) or the
`sections` older pdm wrote: "default" is "main", every other name is kept normalised, because the
lock does not say whether a group is an extra or a dev group. Without either key, a lock that
covers one group only (`metadata.groups`) puts every package in it; otherwise the groups are
unknown, ().

pdm.lock does not say which index a package came from: the project's `[[tool.pdm.source]]` do,
so an index entry's source is read from the pyproject.toml beside the lock (see `_Indexes`).

pdm writes one entry per extras combination of a package (`coverage` and `coverage[toml]`); such
entries, same name, version, marker and kind, become one package with the union of their groups,
at the line of the first.
"""

from __future__ import annotations

import fnmatch
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Any

from envguard._record import record
from envguard.errors import SourceError
from envguard.model import MAIN, Diagnostic, Kind, Loaded, Package, normalize
from envguard.sources import _origin, _text, _toml

NEWEST_LOCK_VERSION = "4.5"

_VCS_KEYS = ("git", "hg", "svn", "bzr")


def load(path: Path, shown: str) -> Loaded:
    text = _text.read_text(path, shown)
    data, headers = _toml.parse_lock(text, shown)
    tables = _toml.array_of_tables(data, "package", text, shown)
    names = [table.get("name") for table in tables]
    lines = _toml.entry_lines(text, "package", len(tables), [n if isinstance(n, str) else "" for n in names], headers)
    lock_groups, warnings = _metadata(data, text, shown)
    indexes = _Indexes.of_project(path, shown)
    merged: dict[tuple[str, str | None, str | None, Kind], Package] = {}
    for table, line in zip(tables, lines):
        package = _package(table, line, lock_groups, indexes, shown)
        key = (package.name, package.version, package.marker, package.kind)
        first = merged.get(key)
        if first is not None:
            package = replace(first, groups=tuple(sorted(set(first.groups) | set(package.groups))))
        merged[key] = package
    from envguard.freshness import pdm as freshness  # only where a pdm.lock is read

    stale = freshness.check(data, text, path, shown)
    return Loaded(packages=tuple(merged.values()), warnings=warnings, stale_locks=() if stale is None else (stale,))


def _metadata(data: dict[str, Any], text: str, shown: str) -> tuple[tuple[str, ...], tuple[Diagnostic, ...]]:
    """The groups every package is in when the lock covers a single group, and lock_version warnings."""
    metadata = data.get("metadata", {})
    if not isinstance(metadata, dict):
        raise SourceError(shown, _toml.key_line(text, "metadata"), "`metadata` is not a table")
    groups = metadata.get("groups", [])
    if not isinstance(groups, list) or not all(isinstance(group, str) for group in groups):
        line = _toml.key_line(text, "groups")
        raise SourceError(shown, line, "`metadata.groups` is not an array of strings")
    lock_groups = _normalize_groups(groups) if len(groups) == 1 else ()
    return lock_groups, _toml.lock_version_warnings(metadata, "lock_version", NEWEST_LOCK_VERSION, text, shown)


def _normalize_groups(groups: list[str]) -> tuple[str, ...]:
    return tuple(sorted({MAIN if group == "default" else normalize(group) for group in groups}))


@record(frozen=True)
class _Source:
    url: str
    include: tuple[str, ...]
    exclude: tuple[str, ...]


@record(frozen=True)
class _Indexes:
    """The project's `[[tool.pdm.source]]` (PyPI first unless a source named `pypi` replaces it),
    selected per package as pdm selects them: a source with `include_packages` serves only the
    packages they match, and those only from such sources; `exclude_packages` takes a package
    out of a source."""

    sources: tuple[_Source, ...]

    @classmethod
    def of_project(cls, lock: Path, shown: str) -> _Indexes | None:
        """The sources of the pyproject.toml beside `lock`; None when there is none to read (the
        lock then says nothing of indexes; the freshness check reports a broken pyproject)."""
        pyproject = lock.parent / "pyproject.toml"
        if not pyproject.is_file():
            return None
        pyproject_shown = str(PurePosixPath(shown).parent / "pyproject.toml")
        try:
            data = _toml.parse_toml(_text.read_text(pyproject, pyproject_shown), pyproject_shown)
        except SourceError:
            return None
        tool = data.get("tool")
        pdm = tool.get("pdm") if isinstance(tool, dict) else None
        tables = pdm.get("source", []) if isinstance(pdm, dict) else []
        sources: dict[str, _Source] = {"pypi": _Source(_origin.PYPI, (), ())}
        for table in tables if isinstance(tables, list) else ():
            if not isinstance(table, dict) or not isinstance(table.get("url"), str):
                continue
            name = table.get("name")
            key = name if isinstance(name, str) else f"#{len(sources)}"
            sources[key] = _Source(
                _origin.index(table["url"]), _globs(table.get("include_packages")), _globs(table.get("exclude_packages"))
            )
        return cls(tuple(sources.values()))

    def source(self, name: str) -> str | None:
        def matches(patterns: tuple[str, ...]) -> bool:
            return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)

        chosen = [s for s in self.sources if matches(s.include)]
        if not chosen:
            chosen = [s for s in self.sources if not s.include]
        return _origin.any_of([s.url for s in chosen if not matches(s.exclude)])


def _globs(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(normalize(item) if "*" not in item and "?" not in item else item.lower() for item in value if isinstance(item, str))


def _package(
    table: dict[str, Any], line: int, lock_groups: tuple[str, ...], indexes: _Indexes | None, shown: str
) -> Package:
    raw_name = table.get("name")
    if not isinstance(raw_name, str) or not raw_name.strip():
        raise SourceError(shown, line, "package without a `name`")
    kind, source = _kind(table, raw_name, line, shown)
    version = table.get("version")
    # pdm always writes a version; a hand-made direct reference without one is still a clear record.
    if version is None and kind is Kind.REGISTRY:
        raise SourceError(shown, line, f"package `{raw_name}` without a `version`")
    if version is not None and not isinstance(version, str):
        raise SourceError(shown, line, f"`version` of package `{raw_name}` is not a string")
    marker = table.get("marker")
    if marker is not None and not isinstance(marker, str):
        raise SourceError(shown, line, f"`marker` of package `{raw_name}` is not a string")
    if kind is Kind.REGISTRY and indexes is not None:
        source = indexes.source(normalize(raw_name))
    return Package(
        name=normalize(raw_name),
        version=version,
        kind=kind,
        groups=_groups(table, lock_groups, raw_name, line, shown),
        marker=marker or None,
        path=shown,
        line=line,
        source=source,
        hashed=_hashed(table.get("files")) if kind in (Kind.REGISTRY, Kind.URL) else None,
    )


def _hashed(files: Any) -> bool:
    return isinstance(files, list) and any(isinstance(file, dict) and isinstance(file.get("hash"), str) for file in files)


def _groups(
    table: dict[str, Any], lock_groups: tuple[str, ...], raw_name: str, line: int, shown: str
) -> tuple[str, ...]:
    # Older pdm called groups "sections".
    key = "groups" if "groups" in table else "sections"
    groups = table.get(key)
    if groups is None:
        return lock_groups
    if not isinstance(groups, list) or not all(isinstance(group, str) for group in groups):
        raise SourceError(shown, line, f"`{key}` of package `{raw_name}` is not an array of strings")
    return _normalize_groups(groups)


def _kind(table: dict[str, Any], raw_name: str, line: int, shown: str) -> tuple[Kind, str | None]:
    """The kind of an entry, and its Package.source."""
    editable = table.get("editable", False)
    if not isinstance(editable, bool):
        raise SourceError(shown, line, f"`editable` of package `{raw_name}` is not true or false")
    origins = {key: table[key] for key in (*_VCS_KEYS, "path", "url") if key in table}
    for key, value in origins.items():
        if not isinstance(value, str):
            raise SourceError(shown, line, f"`{key}` of package `{raw_name}` is not a string")
    vcs = next((key for key in _VCS_KEYS if key in origins), None)
    if vcs is not None:
        source = _origin.vcs(origins[vcs], vcs)
    elif "path" in origins:
        source = _origin.path(origins["path"])
    elif "url" in origins:
        # Old pdm wrote local archives as `url = "file:///${PROJECT_ROOT}/..."`.
        local = origins["url"].lower().startswith("file:")
        source = _origin.path(origins["url"]) if local else _origin.archive(origins["url"])
        if not editable:
            return (Kind.PATH if local else Kind.URL), source
    else:
        return (Kind.EDITABLE if editable else Kind.REGISTRY), None
    if editable:
        return Kind.EDITABLE, source
    return (Kind.VCS if vcs is not None else Kind.PATH), source
