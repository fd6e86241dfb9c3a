"""Pipfile.lock `_meta.hash.sha256` against the Pipfile, computed as pipenv computes it.

pipenv hashes `json.dumps(data, sort_keys=True, separators=(",", ":"))` of
`{"_meta": {"sources": [[source]], "requires": [requires]}, "default": [packages],
"develop": [dev-packages]}` plus every other top-level table of the Pipfile (a package
category) except `[scripts]`, `[pipfile]` and `[pipenv]`. A Pipfile without `[[source]]` is
hashed with PyPI's default source, as plette prepends it. Key order never matters; every value
does. pipenv 2026 writes package names in their PEP 503 form before hashing (`Sphinx` and
`sphinx` hash alike); plette's `Pipfile.get_hash`, which older pipenv used, keeps them as
written. Both are accepted: they agree unless a name is spelled non-canonically, and then the
lock was written from exactly this Pipfile by one pipenv or the other.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path, PurePosixPath
from typing import Any

from packaging.utils import canonicalize_name

from envguard.errors import SourceError
from envguard.freshness._direct import Direct, first_unlocked
from envguard.model import NormalizedName, StaleLock, normalize
from envguard.sources import _text, _toml

_SECTIONS = frozenset(("source", "packages", "dev-packages", "requires", "scripts", "pipfile", "pipenv"))
_DEFAULT_SOURCE = {"name": "pypi", "url": "https://pypi.org/simple", "verify_ssl": True}
# Pipfile entry keys that make a package apply only somewhere.
_CONDITIONAL = frozenset(
    (
        "markers",
        "sys_platform",
        "platform_machine",
        "platform_system",
        "os_name",
        "python_version",
        "python_full_version",
        "implementation_name",
        "platform_python_implementation",
    )
)
STALE_REASON = "the Pipfile hash differs: the Pipfile changed after the lock was written"


def check(lock: dict[str, Any], text: str, path: Path, shown: str) -> StaleLock | None:
    manifest_path = path.parent / "Pipfile"
    if not manifest_path.is_file():
        return None
    meta = lock.get("_meta")
    hashes = meta.get("hash") if isinstance(meta, dict) else None
    recorded = hashes.get("sha256") if isinstance(hashes, dict) else None
    manifest = str(PurePosixPath(shown).parent / "Pipfile")
    hash_line = _hash_line(text)
    if not isinstance(recorded, str) or not recorded:
        return StaleLock("pipenv", shown, hash_line, manifest, None, "the lock records no Pipfile hash")
    try:
        manifest_text = _text.read_text(manifest_path, manifest)
        data = _toml.parse_toml(manifest_text, manifest)
        if recorded in pipfile_hashes(data):
            return None
    except (SourceError, AttributeError, TypeError, ValueError, RecursionError):
        # A Pipfile envguard cannot read (its own reader says why), or one pipenv would refuse.
        return None
    try:
        explained = _explain(lock, data, manifest_text)
    except (AttributeError, TypeError):
        explained = None
    line, reason = explained or (None, STALE_REASON)
    return StaleLock("pipenv", shown, hash_line, manifest, line, reason)


def pipfile_hashes(data: dict[str, Any]) -> set[str]:
    """pipenv's hash (names normalised) and plette's (names as written) of a parsed Pipfile."""
    return {_digest(data, canonicalize_name), _digest(data, str)}


def _digest(data: dict[str, Any], rename: Any) -> str:
    def section(values: Any) -> dict[str, Any]:
        return {rename(name): value for name, value in values.items()}

    content: dict[str, Any] = {
        "_meta": {"sources": data.get("source", [_DEFAULT_SOURCE]), "requires": data.get("requires", {})},
        "default": section(data.get("packages", {})),
        "develop": section(data.get("dev-packages", {})),
    }
    for category, values in data.items():
        if category not in _SECTIONS and category not in ("default", "develop"):
            content[category] = section(values)
    dumped = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(dumped.encode("utf-8")).hexdigest()


def _hash_line(text: str) -> int | None:
    found = text.find('"sha256"')
    return None if found == -1 else text.count("\n", 0, found) + 1


# --- naming the line ---------------------------------------------------------------------------


def _explain(lock: dict[str, Any], data: dict[str, Any], text: str) -> tuple[int | None, str] | None:
    meta = lock.get("_meta", {})
    requires = data.get("requires", {})
    if isinstance(meta.get("requires"), dict) and meta["requires"] != requires:
        key = next(
            (
                key
                for key in sorted(set(requires) | set(meta["requires"]))
                if requires.get(key) != meta["requires"].get(key)
            ),
            "",
        )
        declared = requires.get(key, "nothing")
        return _toml.key_line(text, key) or _toml.key_line(text, "requires"), (
            f"[requires] {key} is {declared}, the lock records {meta['requires'].get(key, 'nothing')}"
        )
    declared_urls = [source.get("url") for source in data.get("source", [_DEFAULT_SOURCE])]
    recorded_urls = [source.get("url") for source in meta.get("sources", []) if isinstance(source, dict)]
    if recorded_urls and declared_urls != recorded_urls:
        return _toml.key_line(text, "source"), "the Pipfile's sources differ from the sources the lock records"
    sections = [("default", "packages"), ("develop", "dev-packages")]
    sections.extend(
        (category, category)
        for category in data
        if category not in _SECTIONS and category not in ("default", "develop")
    )
    for locked_section, table in sections:
        recorded = lock.get(locked_section, {})
        locked: dict[NormalizedName, list[str]] = {
            normalize(name): [str(entry.get("version", "")).lstrip("=")] if isinstance(entry, dict) else []
            for name, entry in (recorded.items() if isinstance(recorded, dict) else [])
        }
        found = first_unlocked(_directs(data.get(table, {}), table, text), locked)
        if found is not None:
            return found
    return None


def _directs(entries: Any, table: str, text: str) -> list[Direct]:
    directs: list[Direct] = []
    start = text.find(f"[{table}]")
    for name, value in entries.items() if isinstance(entries, dict) else []:
        if isinstance(value, dict) and _CONDITIONAL & set(value):
            continue
        version = value if isinstance(value, str) else value.get("version") if isinstance(value, dict) else None
        local = isinstance(value, dict) and any(key in value for key in ("path", "file", "git", "hg", "svn", "bzr"))
        specifier = None if local or not isinstance(version, str) or version.strip() in ("", "*") else version.strip()
        if specifier is not None and specifier[0].isalnum():
            specifier = f"=={specifier}"
        written = name if specifier is None else f'{name} = "{version}"'
        line = _name_line(text, name, max(start, 0))
        directs.append(Direct(normalize(name), specifier, written, f"[{table}]", line))
    return directs


def _name_line(text: str, name: str, start: int) -> int | None:
    found = re.compile(r"""^\s*["']?""" + re.escape(name) + r"""["']?\s*=""", re.MULTILINE).search(text, start)
    return None if found is None else text.count("\n", 0, found.start()) + 1
