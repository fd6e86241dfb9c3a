"""uv.lock: uv's universal lock file (schema `version = 1`, any `revision`).

Groups are not written per package in uv.lock; they follow from the dependency graph, walked
from the workspace's own projects (see `_groups`).
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

from envguard._record import record
from envguard.errors import SourceError
from envguard.model import MAIN, Kind, Loaded, NormalizedName, Package, extra_group, normalize
from envguard.sources import _origin, _text, _toml

SCHEMA_VERSION = 1

# The one key of a package's `source` table that says where it comes from.
_SOURCE_KINDS: dict[str, Kind] = {
    "registry": Kind.REGISTRY,
    "git": Kind.VCS,
    "url": Kind.URL,
    "path": Kind.PATH,
    "directory": Kind.PATH,
    "editable": Kind.EDITABLE,
    "virtual": Kind.LOCAL_PROJECT,
}


@record(frozen=True)
class _Ref:
    """One `{ name = ..., version = ..., source = ..., marker = ..., extra = [...] }` edge."""

    name: NormalizedName
    version: str | None
    source: dict[str, Any] | None
    marker: str | None
    extras: tuple[str, ...]


@record(frozen=True)
class _Entry:
    name: NormalizedName
    version: str | None
    source: dict[str, Any] | None
    kind: Kind
    resolution_markers: tuple[str, ...]
    line: int
    origin: str | None  # Package.source
    hashed: bool | None
    dependencies: tuple[_Ref, ...]
    optional: dict[str, tuple[_Ref, ...]]
    dev: dict[str, tuple[_Ref, ...]]


# What to follow out of a package: its `dependencies` (None), or one extra's list.
_Work = tuple[int, str | None, str]

# The walk visits each (package, extra, group) once: a few million for a hostile lock of thousands
# of packages in thousands of groups, about 2 s a million here. Real locks stay far below (a uv
# workspace of 100 members with 5 groups each over 1,500 packages: 750,000 at most, when every
# group reached every package); past this, one clear error instead of minutes and gigabytes.
MAX_WALK = 2_000_000


def load(path: Path, shown: str, *, allow_outside_root: bool = False) -> Loaded:
    text = _text.read_text(path, shown)
    data, headers = _toml.parse_lock(text, shown)
    if not data:
        # A zero-byte or comment-only file records nothing; uv never writes one, other tools accept it.
        return Loaded(packages=())
    _check_version(data, text, shown)
    key, tables = _package_tables(data, text, shown)
    raw_names = [table.get("name") for table in tables]
    lines = _toml.entry_lines(text, key, len(tables), [n if isinstance(n, str) else "" for n in raw_names], headers)
    members = _members(data, shown)
    entries = [_entry(table, line, members, shown) for table, line in zip(tables, lines)]
    groups = _groups(entries, shown)
    packages = tuple(
        Package(
            name=entry.name,
            version=entry.version,
            kind=entry.kind,
            groups=tuple(sorted(found)),
            marker=" or ".join(entry.resolution_markers) or None,
            path=shown,
            line=entry.line,
            source=entry.origin,
            hashed=entry.hashed,
        )
        for entry, found in zip(entries, groups)
    )
    from envguard.freshness import uv as freshness  # only where a uv.lock is read

    stale = freshness.check(data, text, path, shown, allow_outside_root=allow_outside_root)
    return Loaded(packages=packages, stale_locks=() if stale is None else (stale,))


def _check_version(data: dict[str, Any], text: str, shown: str) -> None:
    if "version" not in data:
        raise SourceError(shown, None, "not a uv.lock file: no top-level `version`")
    version = data["version"]
    # `type(...) is int`, since TOML `true` would otherwise pass as 1.
    if type(version) is not int or version != SCHEMA_VERSION:
        raise SourceError(
            shown,
            _toml.key_line(text, "version"),
            f"unsupported uv.lock version {version!r} (only version {SCHEMA_VERSION} is supported)",
        )


def _package_tables(data: dict[str, Any], text: str, shown: str) -> tuple[str, list[dict[str, Any]]]:
    # uv before 0.2.35 (already schema version 1) called the array `distribution`.
    key = "distribution" if "distribution" in data and "package" not in data else "package"
    return key, _toml.array_of_tables(data, key, text, shown)


def _members(data: dict[str, Any], shown: str) -> frozenset[NormalizedName]:
    manifest = data.get("manifest", {})
    if not isinstance(manifest, dict):
        raise SourceError(shown, None, "`manifest` is not a table")
    members = manifest.get("members", [])
    if not isinstance(members, list) or not all(isinstance(member, str) for member in members):
        raise SourceError(shown, None, "`manifest.members` is not an array of strings")
    return frozenset(normalize(member) for member in members)


def _entry(table: dict[str, Any], line: int, members: frozenset[NormalizedName], shown: str) -> _Entry:
    raw_name = table.get("name")
    if not isinstance(raw_name, str) or not raw_name.strip():
        raise SourceError(shown, line, "package without a `name`")
    name = normalize(raw_name)
    version = table.get("version")
    if version is not None and not isinstance(version, str):
        raise SourceError(shown, line, f"`version` of package `{raw_name}` is not a string")
    source = table.get("source")
    if source is not None and not isinstance(source, dict):
        raise SourceError(shown, line, f"`source` of package `{raw_name}` is not a table")
    # Before uv 0.3.0 the forks were called `environment-markers`.
    markers_key = "resolution-markers" if "resolution-markers" in table else "environment-markers"
    markers = table.get(markers_key, [])
    if not isinstance(markers, list) or not all(isinstance(marker, str) for marker in markers):
        raise SourceError(shown, line, f"`{markers_key}` of package `{raw_name}` is not an array of strings")
    kind = _kind(name, raw_name, source, members, line, shown)
    return _Entry(
        name=name,
        version=version,
        source=source,
        kind=kind,
        resolution_markers=tuple(markers),
        line=line,
        origin=_source(source, kind),
        hashed=_hashed(table) if kind in (Kind.REGISTRY, Kind.URL) else None,
        dependencies=_refs(table.get("dependencies", []), "dependencies", raw_name, line, shown),
        optional=_sections(table, "optional-dependencies", raw_name, line, shown),
        dev=_sections(table, "dev-dependencies", raw_name, line, shown),
    )


def _kind(
    name: NormalizedName,
    raw_name: str,
    source: dict[str, Any] | None,
    members: frozenset[NormalizedName],
    line: int,
    shown: str,
) -> Kind:
    if source is None:
        # uv always writes a source; a hand-made lock without one pins a name and version, as an index does.
        return Kind.REGISTRY
    known = [key for key in source if key in _SOURCE_KINDS]
    if len(known) != 1:
        keys = ", ".join(source) or "empty table"
        problem = "more than one source type" if known else "an unknown source type"
        raise SourceError(shown, line, f"package `{raw_name}` has {problem} ({keys})")
    key = known[0]
    value = source[key]
    if not isinstance(value, str):
        raise SourceError(shown, line, f"`source.{key}` of package `{raw_name}` is not a string")
    # `[manifest] members` is omitted for a single-project workspace, whose root is `editable = "."`;
    # any other editable or directory source is a path dependency on a project outside the workspace.
    if key == "editable" and (name in members or PurePosixPath(value) == PurePosixPath(".")):
        return Kind.LOCAL_PROJECT
    if key == "directory" and name in members:
        return Kind.LOCAL_PROJECT
    return _SOURCE_KINDS[key]


def _source(source: dict[str, Any] | None, kind: Kind) -> str | None:
    """Package.source of a `source` table `_kind` has checked."""
    if source is None or kind is Kind.LOCAL_PROJECT:
        return None
    key, value = next((key, value) for key, value in source.items() if key in _SOURCE_KINDS)
    if key == "registry":
        # A registry is a URL, or a directory of distributions (`--find-links`, a flat index).
        return _origin.index(value)
    if key == "git":
        return _origin.vcs(value)
    return _origin.archive(value) if key == "url" else _origin.path(value)


def _hashed(table: dict[str, Any]) -> bool:
    """Whether the entry's sdist or any of its wheels carries a hash (uv writes one for each)."""
    sdist = table.get("sdist")
    wheels = table.get("wheels")
    files = ([sdist] if isinstance(sdist, dict) else []) + (wheels if isinstance(wheels, list) else [])
    return any(isinstance(file, dict) and isinstance(file.get("hash"), str) for file in files)


def _sections(table: dict[str, Any], key: str, raw_name: str, line: int, shown: str) -> dict[str, tuple[_Ref, ...]]:
    sections = table.get(key, {})
    if not isinstance(sections, dict):
        raise SourceError(shown, line, f"`{key}` of package `{raw_name}` is not a table")
    return {section: _refs(refs, f"{key}.{section}", raw_name, line, shown) for section, refs in sections.items()}


def _refs(value: Any, where: str, raw_name: str, line: int, shown: str) -> tuple[_Ref, ...]:
    if not isinstance(value, list) or not all(isinstance(ref, dict) for ref in value):
        raise SourceError(shown, line, f"`{where}` of package `{raw_name}` is not an array of tables")
    return tuple(_ref(ref, where, raw_name, line, shown) for ref in value)


def _ref(ref: dict[str, Any], where: str, raw_name: str, line: int, shown: str) -> _Ref:
    name, version, source, marker = (ref.get(key) for key in ("name", "version", "source", "marker"))
    extras = ref.get("extra", [])
    if (
        not isinstance(name, str)
        or not isinstance(version, (str, type(None)))
        or not isinstance(source, (dict, type(None)))
        or not isinstance(marker, (str, type(None)))
        or not isinstance(extras, list)
        or not all(isinstance(extra, str) for extra in extras)
    ):
        raise SourceError(shown, line, f"malformed entry in `{where}` of package `{raw_name}`")
    return _Ref(normalize(name), version, source, marker, tuple(extras))


def _groups(entries: list[_Entry], shown: str) -> list[set[str]]:
    """Groups of every entry, by walking the graph from each local project.

    A root's `dependencies` give "main", its optional extras "extra:<name>", its dev groups their
    own name; whatever such an edge reaches, directly or transitively (including the extras a
    reference turns on), inherits that group. The roots themselves are what gets installed, so
    they are "main". Entries no root reaches keep no group: the file does not say.
    """
    by_name: dict[NormalizedName, list[int]] = {}
    for index, entry in enumerate(entries):
        by_name.setdefault(entry.name, []).append(index)
    found: list[set[str]] = [set() for _ in entries]
    todo: list[tuple[tuple[_Ref, ...], str]] = []
    for index, entry in enumerate(entries):
        if entry.kind is Kind.LOCAL_PROJECT:
            found[index].add(MAIN)
            todo.append((entry.dependencies, MAIN))
            todo.extend((refs, extra_group(extra)) for extra, refs in entry.optional.items())
            todo.extend((refs, normalize(group)) for group, refs in entry.dev.items())
    seen: set[_Work] = set()
    while todo:
        refs, group = todo.pop()
        for ref in refs:
            for target in _resolve(ref, by_name, entries):
                found[target].add(group)
                for extra in (None, *ref.extras):
                    work = (target, extra, group)
                    if work in seen:
                        continue
                    seen.add(work)
                    if len(seen) > MAX_WALK:
                        raise SourceError(shown, None, _too_large(entries))
                    entry = entries[target]
                    todo.append((entry.dependencies if extra is None else entry.optional.get(extra, ()), group))
    return found


def _too_large(entries: list[_Entry]) -> str:
    roots = [entry for entry in entries if entry.kind is Kind.LOCAL_PROJECT]
    groups = 1 + sum(len(root.optional) + len(root.dev) for root in roots)
    return (
        f"lock too large to read: {len(entries)} packages in {groups} groups reach more than"
        f" {MAX_WALK:,} (package, extra, group) combinations"
    )


def _resolve(ref: _Ref, by_name: dict[NormalizedName, list[int]], entries: list[_Entry]) -> list[int]:
    """The entries a reference means; uv writes `version`/`source` only when the name is ambiguous."""
    candidates = by_name.get(ref.name, [])
    if ref.version is not None:
        candidates = [index for index in candidates if entries[index].version == ref.version]
    if ref.source is not None and len(candidates) > 1:
        candidates = [index for index in candidates if entries[index].source == ref.source] or candidates
    if ref.marker is not None and len(candidates) > 1:
        # Only an exact fork marker narrows it down; otherwise every candidate stays reachable.
        candidates = [index for index in candidates if ref.marker in entries[index].resolution_markers] or candidates
    return candidates
