"""pdm.lock `[metadata] content_hash` against pyproject.toml, computed as pdm computes it.

The hash is `<algo>:<hexdigest>` of `json.dumps(data, sort_keys=True)` over `sources`
(`[[tool.pdm.source]]`), `dependencies`, `optional-dependencies`, `requires-python` (`""` when
absent) and `dev-dependencies`, plus a last key that changed over pdm's history. pdm.lock does not
name the pdm that wrote it, but its `lock_version` narrows it down, and envguard accepts the hash
as any pdm writing that lock_version computes it:
  - 4.0 (pdm 2.0-2.2): "overrides" is `[tool.pdm.overrides]`;
  - 4.1 to 4.4.1 (pdm 2.3-2.11): "overrides" is `[tool.pdm.overrides]`, else
    `[tool.pdm.resolution.overrides]`; 4.4.1 (pdm 2.12-2.15) also `[tool.pdm.resolution.overrides]` alone;
  - 4.4.2 (pdm 2.16-2.19): "resolution" is the whole `[tool.pdm.resolution]` table;
  - 4.5.0 (pdm 2.20-2.28.0): as 4.4.2, and "dev-dependencies" merges PEP 735
    `[dependency-groups]` with `[tool.pdm.dev-dependencies]` under normalised group names;
  - 4.5.1 (pdm 2.28.1 and later): as 4.5.0; a workspace root (`[tool.pdm.workspace]`) hashes its
    own hash, then each member's relative path and hash, in path order.
Until 4.4.2 the raw `[tool.pdm.dev-dependencies]` table is hashed. A newer pdm checking an older
lock computes its own scheme and calls every such lock out of date; envguard follows the writer,
so a tool upgrade alone does not make a lock stale.

pdm 2.28.1 and later can record `lock_inputs` instead of a hash (`[tool.pdm.resolution]
lock_inputs = true`); checking those needs pdm's resolver-level comparison: no verdict. A hash
lock while that setting is on is stale, as pdm says. A lock_version before 4 (pdm 1.x) or from a
future major carries no scheme envguard knows: no verdict. Without `[project]`, pdm converts a
Poetry or Flit table first: no verdict either.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path, PurePosixPath
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import InvalidVersion, Version

from envguard.errors import SourceError
from envguard.freshness._direct import Direct, first_unlocked, string_line
from envguard.model import NormalizedName, StaleLock, normalize
from envguard.sources import _text, _toml

STALE_REASON = "the content hash differs: the manifest changed after the lock was written"


class _Undecided(Exception):
    pass


def check(lock: dict[str, Any], text: str, path: Path, shown: str) -> StaleLock | None:
    metadata = lock.get("metadata")
    manifest_path = path.parent / "pyproject.toml"
    if not isinstance(metadata, dict) or not manifest_path.is_file():
        return None
    lock_version = _version(metadata.get("lock_version"))
    if lock_version is None or lock_version.major != 4 or lock_version.minor > 5 or "lock_inputs" in metadata:
        return None
    manifest = str(PurePosixPath(shown).parent / "pyproject.toml")
    hash_line = _toml.key_line(text, "content_hash")
    try:
        manifest_text = _text.read_text(manifest_path, manifest)
        data = _toml.parse_toml(manifest_text, manifest)
        if lock_version >= Version("4.5.1") and _settings(data).get("resolution", {}).get("lock_inputs") is True:
            reason = "[tool.pdm.resolution] lock_inputs is on, the lock records only a content hash"
            return StaleLock("pdm", shown, hash_line, manifest, _toml.key_line(manifest_text, "lock_inputs"), reason)
        recorded = metadata.get("content_hash")
        algorithm, _, value = recorded.partition(":") if isinstance(recorded, str) else ("", "", "")
        if not value:
            return StaleLock("pdm", shown, hash_line, manifest, None, "the lock records no content hash")
        if algorithm not in hashlib.algorithms_guaranteed:
            return None
        hashes = content_hashes(data, lock_version, algorithm, path.parent)
    except (SourceError, _Undecided, AttributeError, TypeError, ValueError, RecursionError):
        # A manifest envguard cannot read (its own reader says why), or one pdm would refuse.
        return None
    if value in hashes:
        return None
    try:
        explained = _explain(lock, data, manifest_text)
    except (AttributeError, TypeError):
        explained = None
    line, reason = explained or (None, STALE_REASON)
    return StaleLock("pdm", shown, hash_line, manifest, line, reason)


def _version(value: Any) -> Version | None:
    try:
        return Version(value) if isinstance(value, str) else None
    except InvalidVersion:
        return None


def _settings(data: dict[str, Any]) -> dict[str, Any]:
    tool = data.get("tool", {})
    settings = tool.get("pdm", {}) if isinstance(tool, dict) else {}
    return settings if isinstance(settings, dict) else {}


def content_hashes(data: dict[str, Any], lock_version: Version, algorithm: str, root: Path) -> set[str]:
    """Every hash a pdm writing `lock_version` computes for this pyproject.toml."""
    found = {_digest(dump, algorithm) for dump in _dumps(data, lock_version)}
    if lock_version >= Version("4.5.1") and _settings(data).get("workspace"):
        found = {_workspace_hash(root_hash, data, lock_version, algorithm, root) for root_hash in found}
    return found


def _dumps(data: dict[str, Any], lock_version: Version) -> list[dict[str, Any]]:
    if "project" not in data and any(key in data.get("tool", {}) for key in ("poetry", "flit")):
        raise _Undecided  # pdm hashes its conversion of the other tool's table
    settings = _settings(data)
    metadata = data.get("project", {})
    resolution = settings.get("resolution", {})
    base = {
        "sources": settings.get("source", []),
        "dependencies": metadata.get("dependencies", []),
        "dev-dependencies": settings.get("dev-dependencies", {}),
        "optional-dependencies": metadata.get("optional-dependencies", {}),
        "requires-python": metadata.get("requires-python", ""),
    }
    if lock_version >= Version("4.5.0"):
        return [dict(base, **{"dev-dependencies": _dev_dependencies(data, settings), "resolution": resolution})]
    if lock_version >= Version("4.4.2"):
        return [dict(base, resolution=resolution)]
    legacy = settings.get("overrides", {})
    if lock_version == Version("4.0"):
        return [dict(base, overrides=legacy)]
    renamed = settings["overrides"] if "overrides" in settings else resolution.get("overrides", {})
    dumps = [dict(base, overrides=renamed)]
    if lock_version >= Version("4.4.1"):
        dumps.append(dict(base, overrides=resolution.get("overrides", {})))
    return dumps


def _dev_dependencies(data: dict[str, Any], settings: dict[str, Any]) -> dict[str, list[Any]]:
    """pdm's `PyProject.dev_dependencies`: PEP 735 groups first, then pdm's own, names normalised."""
    groups: dict[str, list[Any]] = {}
    for group, deps in data.get("dependency-groups", {}).items():
        name = normalize(group)
        if name in groups:
            raise _Undecided  # pdm refuses a group named twice
        groups[name] = list(deps)
    for group, deps in settings.get("dev-dependencies", {}).items():
        groups.setdefault(normalize(group), []).extend(deps)
    return groups


def _digest(dump: dict[str, Any], algorithm: str) -> str:
    return hashlib.new(algorithm, json.dumps(dump, sort_keys=True).encode("utf-8")).hexdigest()


def _workspace_hash(root_hash: str, data: dict[str, Any], lock_version: Version, algorithm: str, root: Path) -> str:
    """pdm's `WorkspaceManager.content_hash`: the root's hash, then each member's path and hash."""
    hasher = hashlib.new(algorithm)
    hasher.update(root_hash.encode("utf-8"))
    base = root.resolve()
    for relative, member in _members(data, base):
        member_data = _toml.parse_toml(_text.read_text(member / "pyproject.toml", relative), relative)
        member_hashes = {_digest(dump, algorithm) for dump in _dumps(member_data, lock_version)}
        if len(member_hashes) != 1:
            raise _Undecided
        hasher.update(b"\0")
        hasher.update(relative.encode("utf-8"))
        hasher.update(b"\0")
        hasher.update(member_hashes.pop().encode("utf-8"))
    return hasher.hexdigest()


def _members(data: dict[str, Any], root: Path) -> list[tuple[str, Path]]:
    workspace = _settings(data).get("workspace") or {}
    seen: dict[Path, str] = {}
    for pattern in workspace.get("members", []):
        paths = sorted(root.glob(pattern)) if any(char in pattern for char in "*?[") else [root / pattern]
        for path in paths:
            resolved = path.resolve()
            if resolved in seen or not resolved.is_dir() or not (resolved / "pyproject.toml").is_file():
                continue
            if not resolved.is_relative_to(root):
                raise _Undecided  # pdm itself fails on a member outside the workspace
            seen[resolved] = resolved.relative_to(root).as_posix()
    return sorted(((relative, path) for path, relative in seen.items()), key=lambda item: item[0])


# --- naming the line ---------------------------------------------------------------------------


def _explain(lock: dict[str, Any], data: dict[str, Any], text: str) -> tuple[int | None, str] | None:
    metadata = lock.get("metadata", {})
    groups = {"default" if group == "default" else normalize(group) for group in metadata.get("groups", ["default"])}
    settings = _settings(data)
    resolution = settings.get("resolution", {})
    skipped = {normalize(name) for name in (*resolution.get("excludes", []), *resolution.get("overrides", {}))}
    project = data.get("project", {})
    if isinstance(project.get("name"), str):
        skipped.add(normalize(project["name"]))
    locked: dict[NormalizedName, list[str]] = {}
    for package in lock.get("package", []):
        if isinstance(package, dict) and isinstance(package.get("name"), str):
            locked.setdefault(normalize(package["name"]), []).append(str(package.get("version")))
    sections: list[tuple[str, str, str, Any]] = [
        ("default", "[project] dependencies", "project", project.get("dependencies", []))
    ]
    for extra, entries in project.get("optional-dependencies", {}).items():
        sections.append(
            (normalize(extra), f"[project.optional-dependencies] {extra}", "project.optional-dependencies", entries)
        )
    for group, entries in data.get("dependency-groups", {}).items():
        sections.append((normalize(group), f"[dependency-groups] {group}", "dependency-groups", entries))
    for group, entries in settings.get("dev-dependencies", {}).items():
        sections.append(
            (normalize(group), f"[tool.pdm.dev-dependencies] {group}", "tool.pdm.dev-dependencies", entries)
        )
    directs: list[Direct] = []
    for group, where, table, entries in sections:
        if group not in groups:
            continue  # the lock does not cover that group
        start = _header(text, table)
        for entry in entries if isinstance(entries, list) else []:
            direct = _pep508(entry, where, text, start)
            if direct is not None and direct.name not in skipped:
                directs.append(direct)
    return first_unlocked(directs, locked)


def _pep508(entry: Any, where: str, text: str, start: int) -> Direct | None:
    if not isinstance(entry, str) or entry.lstrip().startswith("-e"):
        return None
    try:
        requirement = Requirement(entry)
    except InvalidRequirement:
        return None
    if requirement.marker is not None:
        return None
    return Direct(
        normalize(requirement.name), str(requirement.specifier) or None, entry, where, string_line(text, entry, start)
    )


def _header(text: str, table: str) -> int:
    found = re.compile(r"^\[" + re.escape(table) + r"\]", re.MULTILINE).search(text)
    return found.start() if found else 0
