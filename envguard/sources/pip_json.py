"""What pip says is or would be installed: `pip inspect` reports, `pip list --format=json` output
and `pip install --report` installation reports.

Each describes one environment, not a dependency declaration: there are no groups and no markers.
An installation report is the resolution of a (usually --dry-run) `pip install`: the packages pip
would install for the interpreter that ran it, which its `environment` describes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from envguard.errors import SourceError
from envguard.model import Kind, Loaded, Package, normalize
from envguard.sources import _json, _origin

# "0" is the experimental report of pip 22.2-22.3, with the same layout as the stable "1".
_REPORT_VERSIONS = ("0", "1")


def load_inspect(path: Path, shown: str) -> Loaded:
    return _load_report(path, shown, "pip inspect report", "installed")


def load_report(path: Path, shown: str) -> Loaded:
    return _load_report(path, shown, "pip installation report", "install")


def _load_report(path: Path, shown: str, kind: str, array: str) -> Loaded:
    """A pip inspect or installation report: the same layout but for the name of the array."""
    document = _json.read_document(path, shown)
    if document is None:
        return Loaded(())
    data, text, lines, start = document.data, document.text, document.lines, document.start
    if not isinstance(data, dict):
        raise SourceError(shown, lines.line(start), f"a {kind} must be a JSON object")
    positions = _json.members(text, start)

    def key_line(key: str) -> int:
        return lines.line(positions[key][0]) if key in positions else lines.line(start)

    version = data.get("version")
    if version not in _REPORT_VERSIONS:
        found = "no 'version'" if version is None else f"version {version!r}"
        raise SourceError(shown, key_line("version"), f"unsupported {kind} ({found}; expected version '1')")
    entries = data.get(array)
    if not isinstance(entries, list):
        raise SourceError(shown, key_line(array), f"a {kind} needs an '{array}' array")
    offsets = _json.items(text, positions[array][1])
    read = _inspected if array == "installed" else _reported
    return Loaded(tuple(read(item, shown, lines.line(offset)) for item, offset in zip(entries, offsets)))


def load_list(path: Path, shown: str) -> Loaded:
    document = _json.read_document(path, shown)
    if document is None:
        return Loaded(())
    data, text, lines, start = document.data, document.text, document.lines, document.start
    if not isinstance(data, list):
        raise SourceError(shown, lines.line(start), "pip list output must be a JSON array (pip list --format=json)")
    offsets = _json.items(text, start)
    return Loaded(tuple(_listed(item, shown, lines.line(offset)) for item, offset in zip(data, offsets)))


def _inspected(item: Any, shown: str, line: int) -> Package:
    name, version = _metadata(item, "installed", "installed package", shown, line)
    direct = item.get("direct_url")
    return _package(name, version, _direct_kind(direct, name, shown, line), shown, line, _direct_source(direct))


def _reported(item: Any, shown: str, line: int) -> Package:
    name, version = _metadata(item, "install", "package", shown, line)
    is_direct = item.get("is_direct")
    if not isinstance(is_direct, bool):
        raise SourceError(shown, line, f"package '{name}' of the report has no 'is_direct' true or false")
    # download_info is where pip got the distribution: an index URL unless it was asked for directly.
    direct = item.get("download_info") if is_direct else None
    kind = _direct_kind(direct, name, shown, line, what="'download_info' of package")
    return _package(name, version, kind, shown, line, _direct_source(direct))


def _metadata(item: Any, array: str, noun: str, shown: str, line: int) -> tuple[str, str]:
    if not isinstance(item, dict):
        raise SourceError(shown, line, f"an entry of '{array}' must be a JSON object")
    metadata = item.get("metadata")
    if not isinstance(metadata, dict):
        raise SourceError(shown, line, f"an entry of '{array}' has no 'metadata' object")
    name = _name(metadata, f"an entry of '{array}' has no 'metadata.name'", shown, line)
    version = metadata.get("version")
    if not isinstance(version, str):
        raise SourceError(shown, line, f"{noun} '{name}' has no 'metadata.version'")
    return name, version


def _direct_kind(
    direct_url: Any, name: str, shown: str, line: int, *, what: str = "'direct_url' of installed package"
) -> Kind:
    """The kind a PEP 610 direct URL record implies; no record means it came from an index."""
    if direct_url is None:
        return Kind.REGISTRY
    if not isinstance(direct_url, dict):
        raise SourceError(shown, line, f"{what} '{name}' must be a JSON object")
    if "vcs_info" in direct_url:
        return Kind.VCS
    if "dir_info" in direct_url:
        dir_info = direct_url["dir_info"]
        return Kind.EDITABLE if isinstance(dir_info, dict) and dir_info.get("editable") is True else Kind.PATH
    url = direct_url.get("url")
    # An archive installed from the local disk is a path like any local directory.
    if isinstance(url, str) and url.lower().startswith("file:"):
        return Kind.PATH
    return Kind.URL


def _direct_source(direct_url: Any) -> str | None:
    """Package.source of a PEP 610 record `_direct_kind` has read (None: from an index, which
    neither report names)."""
    if not isinstance(direct_url, dict) or not isinstance(direct_url.get("url"), str):
        return None
    url: str = direct_url["url"]
    vcs_info = direct_url.get("vcs_info")
    if isinstance(vcs_info, dict):
        tool = vcs_info.get("vcs")
        return _origin.vcs(url, tool if isinstance(tool, str) else "git")
    if "dir_info" in direct_url or url.lower().startswith("file:"):
        return _origin.path(url)
    return _origin.archive(url)


def _listed(item: Any, shown: str, line: int) -> Package:
    if not isinstance(item, dict):
        raise SourceError(shown, line, "an entry of pip list output must be a JSON object")
    name = _name(item, "an entry of pip list output has no 'name'", shown, line)
    version = item.get("version")
    if not isinstance(version, str):
        raise SourceError(shown, line, f"package '{name}' of pip list output has no 'version'")
    # pip list cannot tell index installs from direct URL ones; only editables are marked.
    kind = Kind.EDITABLE if item.get("editable_project_location") is not None else Kind.REGISTRY
    return _package(name, version, kind, shown, line)


def _name(record: dict[str, Any], message: str, shown: str, line: int) -> str:
    name = record.get("name")
    if not isinstance(name, str) or not name.strip():
        raise SourceError(shown, line, message)
    return name


def _package(name: str, version: str, kind: Kind, shown: str, line: int, source: str | None = None) -> Package:
    return Package(
        name=normalize(name),
        version=version,
        kind=kind,
        groups=(),
        marker=None,
        path=shown,
        line=line,
        source=source,
    )
