"""poetry.lock: every layout Poetry has written, from before `lock-version` up to lock-version 2.1.

What the lock says about groups changed over time, and the loader reports only what it says:
  - up to lock-version 2.0 as written by Poetry 1.4: `category = "main" | "dev"` -> ("main",) / ("dev",);
  - lock-version 2.0 as written by Poetry 1.5 to 1.8: nothing -> () (unknown without a graph walk);
  - lock-version 2.1: `groups = [...]`, normalised ("main" stays "main").
A package named in the top-level `[extras]` table is also in "extra:<name>" for each extra listing
it, even when something else needs it too (`optional = false`), as the uv loader reports every group
that reaches a package. `[extras]` lists only what an extra asks for directly: a package that only
such a package pulls in keeps the groups the lock gives it.

`markers` (lock-version 2.1) is a string, or a table group -> marker when the groups differ. A
package is installed when any of its groups wants it, so a table becomes the disjunction of its
distinct markers, each parenthesised (`(a) or (b)`); one distinct marker is kept as written, and
a group of the package missing from the table means "always", which makes the package unconditional.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from envguard.errors import SourceError
from envguard.model import Diagnostic, Kind, Loaded, NormalizedName, Package, extra_group, normalize
from envguard.sources import _origin, _text, _toml

NEWEST_LOCK_VERSION = "2.1"

# A member of `[extras]`: Poetry writes the project's pretty name; be lenient about anything after it.
_EXTRA_MEMBER = re.compile(r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def load(path: Path, shown: str) -> Loaded:
    text = _text.read_text(path, shown)
    data, headers = _toml.parse_lock(text, shown)
    tables = _toml.array_of_tables(data, "package", text, shown)
    names = [table.get("name") for table in tables]
    lines = _toml.entry_lines(text, "package", len(tables), [n if isinstance(n, str) else "" for n in names], headers)
    extras = _extras(data, text, shown)
    files = _metadata_files(data)
    packages = tuple(_package(table, line, extras, files, shown) for table, line in zip(tables, lines))
    warnings = _metadata_warnings(data, text, shown)
    from envguard.freshness import poetry as freshness  # only where a poetry.lock is read

    stale = freshness.check(data, text, path, shown)
    return Loaded(packages=packages, warnings=warnings, stale_locks=() if stale is None else (stale,))


def _metadata_warnings(data: dict[str, Any], text: str, shown: str) -> tuple[Diagnostic, ...]:
    metadata = data.get("metadata", {})
    if not isinstance(metadata, dict):
        raise SourceError(shown, _toml.key_line(text, "metadata"), "`metadata` is not a table")
    return _toml.lock_version_warnings(metadata, "lock-version", NEWEST_LOCK_VERSION, text, shown)


def _extras(data: dict[str, Any], text: str, shown: str) -> dict[NormalizedName, set[str]]:
    """Package name -> the "extra:<name>" groups of the root extras that list it."""
    table = data.get("extras", {})
    line = _toml.key_line(text, "extras")
    if not isinstance(table, dict):
        raise SourceError(shown, line, "`extras` is not a table")
    found: dict[NormalizedName, set[str]] = {}
    for extra, members in table.items():
        if not isinstance(members, list) or not all(isinstance(member, str) for member in members):
            raise SourceError(shown, line, f"`extras.{extra}` is not an array of strings")
        for member in members:
            name = _EXTRA_MEMBER.match(member)
            if name is None:
                raise SourceError(shown, line, f"`extras.{extra}` lists {member!r}, which is not a package name")
            found.setdefault(normalize(name.group(1)), set()).add(extra_group(extra))
    return found


def _metadata_files(data: dict[str, Any]) -> dict[NormalizedName, Any]:
    """Before lock-version 2.0 the file hashes were in `[metadata.files]`, by package name."""
    metadata = data.get("metadata")
    files = metadata.get("files") if isinstance(metadata, dict) else None
    return {normalize(name): value for name, value in files.items()} if isinstance(files, dict) else {}


def _hashed(files: Any) -> bool:
    return isinstance(files, list) and any(isinstance(file, dict) and isinstance(file.get("hash"), str) for file in files)


def _package(
    table: dict[str, Any], line: int, extras: dict[NormalizedName, set[str]], files: dict[NormalizedName, Any], shown: str
) -> Package:
    raw_name = table.get("name")
    if not isinstance(raw_name, str) or not raw_name.strip():
        raise SourceError(shown, line, "package without a `name`")
    version = table.get("version")
    if version is None:
        raise SourceError(shown, line, f"package `{raw_name}` without a `version`")
    if not isinstance(version, str):
        raise SourceError(shown, line, f"`version` of package `{raw_name}` is not a string")
    name = normalize(raw_name)
    raw_groups = _raw_groups(table, raw_name, line, shown)
    kind = _kind(table, raw_name, line, shown)
    return Package(
        name=name,
        version=version,
        kind=kind,
        groups=_groups(table, raw_groups, extras.get(name, set()), raw_name, line, shown),
        marker=_marker(table, raw_groups, raw_name, line, shown),
        path=shown,
        line=line,
        source=_source(table, kind),
        hashed=_hashed(table.get("files", files.get(name))) if kind in (Kind.REGISTRY, Kind.URL) else None,
    )


def _source(table: dict[str, Any], kind: Kind) -> str | None:
    """Package.source of a package whose `source` `_kind` has checked: no table is PyPI."""
    source = table.get("source")
    if source is None:
        return _origin.PYPI
    url: str = source.get("url", "")
    if not url:
        return None
    if source["type"] == "legacy":
        return _origin.index(url)
    if source["type"] == "git":
        return _origin.vcs(url)
    return _origin.archive(url) if kind is Kind.URL else _origin.path(url)


def _raw_groups(table: dict[str, Any], raw_name: str, line: int, shown: str) -> list[str] | None:
    value = table.get("groups")
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise SourceError(shown, line, f"`groups` of package `{raw_name}` is not an array of strings")
    return value


def _groups(
    table: dict[str, Any],
    raw_groups: list[str] | None,
    extras: set[str],
    raw_name: str,
    line: int,
    shown: str,
) -> tuple[str, ...]:
    found: set[str] = set()
    if raw_groups is not None:
        found.update(normalize(group) for group in raw_groups)
    elif "category" in table:
        category = table["category"]
        if not isinstance(category, str):
            raise SourceError(shown, line, f"`category` of package `{raw_name}` is not a string")
        found.add(normalize(category))
    found.update(extras)
    return tuple(sorted(found))


def _marker(table: dict[str, Any], raw_groups: list[str] | None, raw_name: str, line: int, shown: str) -> str | None:
    # Older Poetry wrote a package's own marker as `marker`; lock-version 2.1 writes `markers`.
    key = "markers" if "markers" in table else "marker"
    value = table.get(key)
    if value is None or isinstance(value, str):
        return value or None
    if not isinstance(value, dict) or not all(isinstance(marker, str) for marker in value.values()):
        raise SourceError(shown, line, f"`{key}` of package `{raw_name}` is neither a string nor a table of strings")
    by_group: dict[str, str] = {normalize(group): marker for group, marker in value.items()}
    if raw_groups is not None and any(normalize(group) not in by_group for group in raw_groups):
        return None
    distinct = list(dict.fromkeys(by_group.values()))
    # An empty table, or an empty marker for some group, also means "always".
    if not distinct or "" in distinct:
        return None
    if len(distinct) == 1:
        return distinct[0]
    return " or ".join(f"({marker})" for marker in distinct)


def _kind(table: dict[str, Any], raw_name: str, line: int, shown: str) -> Kind:
    source = table.get("source")
    if source is None:
        return Kind.REGISTRY
    if not isinstance(source, dict):
        raise SourceError(shown, line, f"`source` of package `{raw_name}` is not a table")
    source_type = source.get("type")
    if not isinstance(source_type, str):
        raise SourceError(shown, line, f"`source.type` of package `{raw_name}` is missing or not a string")
    url = source.get("url", "")
    if not isinstance(url, str):
        raise SourceError(shown, line, f"`source.url` of package `{raw_name}` is not a string")
    # `develop = true` installs the directory or the git checkout in editable mode.
    editable = table.get("develop", False)
    if not isinstance(editable, bool):
        raise SourceError(shown, line, f"`develop` of package `{raw_name}` is not true or false")
    if source_type in ("git", "directory"):
        if editable:
            return Kind.EDITABLE
        return Kind.VCS if source_type == "git" else Kind.PATH
    if source_type == "file":
        # Poetry writes local archives relative to the lock file; an absolute URL is a remote archive.
        return Kind.URL if _URL.match(url) and not url.lower().startswith("file:") else Kind.PATH
    if source_type == "url":
        return Kind.URL
    if source_type == "legacy":
        # A named (private or mirror) index: still a name and version resolved by an index.
        return Kind.REGISTRY
    raise SourceError(
        shown,
        line,
        f"package `{raw_name}` has an unknown source type `{source_type}`"
        " (expected git, directory, file, url or legacy)",
    )
