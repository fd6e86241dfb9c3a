"""Pipfile.lock (pipenv): every top-level object except `_meta` is a category of locked packages."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from envguard._record import record
from envguard.errors import SourceError
from envguard.model import DEV, MAIN, Kind, Loaded, Package, normalize
from envguard.sources import _json, _origin

# pipenv writes the Pipfile's [packages] as "default" and [dev-packages] as "develop"; any other
# Pipfile section (a package category) keeps its own name.
_GROUPS = {"default": MAIN, "develop": DEV}
_VCS_KEYS = ("git", "hg", "svn", "bzr")

# `===` compares strings, so anything but a separator is its version; `==` with a wildcard or a
# second clause is a range. pipenv reads a bare version in a Pipfile as `==`.
_PIN = re.compile(
    r"===\s*(?P<arbitrary>[^\s,;]+)|==\s*(?P<exact>[^\s,;*<>=!~]+)|(?P<bare>[A-Za-z0-9][A-Za-z0-9._+!-]*)"
)
_REMOTE_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


@record(frozen=True)
class _Entry:
    package: Package
    # Where the code comes from besides the version (VCS URL and ref, path, file), so that two
    # sections agreeing on a version but not on a source stay two packages.
    source: tuple[str, ...]


def load(path: Path, shown: str) -> Loaded:
    document = _json.read_document(path, shown)
    if document is None:
        return Loaded(())
    data, text, lines, start = document.data, document.text, document.lines, document.start
    if not isinstance(data, dict):
        raise SourceError(shown, lines.line(start), "Pipfile.lock must be a JSON object")
    positions = _json.members(text, start)
    indexes = _indexes(data.get("_meta"))
    packages: list[Package] = []
    index: dict[tuple[object, ...], int] = {}
    for section, entries in data.items():
        if section == "_meta":
            continue
        key_offset, value_offset = positions[section]
        if not isinstance(entries, dict):
            raise SourceError(shown, lines.line(key_offset), f"section '{section}' must be an object of packages")
        group = _GROUPS.get(section) or normalize(section)
        entry_positions = _json.members(text, value_offset)
        for raw_name, body in entries.items():
            line = lines.line(entry_positions[raw_name][0])
            entry = _entry(raw_name, body, section, group, indexes, shown, line)
            _add(packages, index, entry)
    from envguard.freshness import pipenv as freshness  # only where a Pipfile.lock is read

    stale = freshness.check(data, text, path, shown)
    return Loaded(tuple(packages), stale_locks=() if stale is None else (stale,))


def _add(packages: list[Package], index: dict[tuple[object, ...], int], entry: _Entry) -> None:
    """Append `entry`, or add its group to the same package locked by an earlier section."""
    package = entry.package
    key = (package.name, package.version, package.kind, package.marker, package.specifier, entry.source)
    found = index.get(key)
    if found is None:
        index[key] = len(packages)
        packages.append(package)
        return
    earlier = packages[found]
    groups = tuple(sorted(set(earlier.groups) | set(package.groups)))
    packages[found] = replace(earlier, groups=groups)


def _indexes(meta: Any) -> dict[str | None, str]:
    """`_meta.sources` by name, and under None the one a package without `index` comes from.

    pipenv installs a package that names no index from the first source only (since 2022.3.23);
    a lock without sources comes from PyPI. A source without a usable URL is left out.
    """
    sources = meta.get("sources") if isinstance(meta, dict) else None
    found: dict[str | None, str] = {}
    for source in sources if isinstance(sources, list) else ():
        url = source.get("url") if isinstance(source, dict) else None
        if isinstance(url, str) and url.strip():
            name = source.get("name")
            found.setdefault(None, _origin.index(url))
            if isinstance(name, str):
                found.setdefault(name, _origin.index(url))
    found.setdefault(None, _origin.PYPI)
    return found


def _entry(
    raw_name: str, body: Any, section: str, group: str, indexes: dict[str | None, str], shown: str, line: int
) -> _Entry:
    if not raw_name.strip():
        raise SourceError(shown, line, f"package with an empty name in section '{section}'")
    if not isinstance(body, dict):
        raise SourceError(shown, line, f"package '{raw_name}' in section '{section}' must be an object")
    version, specifier = _version(_string(body, "version", raw_name, shown, line))
    marker = _string(body, "markers", raw_name, shown, line) or None
    kind, source = _source(body, raw_name, shown, line)
    if kind is Kind.REGISTRY:
        # An `index` no source of `_meta` names: the lock does not say where it points.
        origin = indexes.get(_string(body, "index", raw_name, shown, line))
    elif kind is Kind.VCS or (kind is Kind.EDITABLE and source[0] in _VCS_KEYS):
        origin = _origin.vcs(source[1], source[0])
    else:
        origin = _origin.archive(source[1]) if kind is Kind.URL else _origin.path(source[1])
    hashes = body.get("hashes")
    package = Package(
        name=normalize(raw_name),
        version=version,
        kind=kind,
        groups=(group,),
        marker=marker,
        path=shown,
        line=line,
        specifier=specifier,
        source=origin,
        hashed=(isinstance(hashes, list) and bool(hashes)) if kind in (Kind.REGISTRY, Kind.URL) else None,
    )
    return _Entry(package, source)


def _version(value: str | None) -> tuple[str | None, str | None]:
    """(version, specifier): a version only for an exact pin, the text as written otherwise."""
    if value is None:
        return None, None
    written = value.strip()
    if written in ("", "*"):
        return None, None
    pin = _PIN.fullmatch(written)
    if pin is None:
        return None, written
    return pin.group("arbitrary") or pin.group("exact") or pin.group("bare"), None


def _source(body: dict[str, Any], raw_name: str, shown: str, line: int) -> tuple[Kind, tuple[str, ...]]:
    # Like the other loaders, an editable install is editable first, whether a checkout or a directory.
    editable = body.get("editable") is True
    for key in _VCS_KEYS:
        url = _string(body, key, raw_name, shown, line)
        if url is not None:
            ref = _string(body, "ref", raw_name, shown, line) or ""
            subdirectory = _string(body, "subdirectory", raw_name, shown, line) or ""
            return (Kind.EDITABLE if editable else Kind.VCS), (key, url, ref, subdirectory)
    for key in ("path", "file"):
        location = _string(body, key, raw_name, shown, line)
        if location is not None:
            if editable:
                return Kind.EDITABLE, (key, location)
            remote = _REMOTE_URL.match(location) is not None and not location.lower().startswith("file:")
            return (Kind.URL if remote else Kind.PATH), (key, location)
    return Kind.REGISTRY, ()


def _string(body: dict[str, Any], key: str, raw_name: str, shown: str, line: int) -> str | None:
    value = body.get(key)
    if value is None or isinstance(value, str):
        return value
    raise SourceError(shown, line, f"'{key}' of package '{raw_name}' must be a string")
