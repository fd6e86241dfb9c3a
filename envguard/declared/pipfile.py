"""Pipfile (the manifest pipenv locks; Pipfile.lock is a record, read by envguard.sources.pipfile).

`[packages]` is the `main` group, `[dev-packages]` the `dev` group, and any other table of
packages a pipenv category (groups: its normalised name, as the Pipfile.lock loader says).
`[source]`, `[requires]`, `[pipenv]` and `[scripts]` declare no package. Environment:
`Pipfile [dev-packages]`; origin `pipfile`.

An entry is `name = "<version>"` or a table. A version `*` (or none) admits everything; one
without an operator is `==` (pipenv's convert_deps_to_pip); the rest is a PEP 440 specifier,
checked as `name<version>` would be by pip. Tables: `version`, `extras`, `markers`, `index` (a
registry package), `git`/`hg`/`svn`/`bzr` with `ref` (vcs), `path` and `file` (path, or url for
a remote file), `editable = true` (editable); keys named after a marker variable
(`sys_platform = "== 'win32'"`) are markers too, joined with `markers` as pipenv joins them.
The requirement text is the entry as one line of TOML.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

from envguard.declared import _pep508
from envguard.declared._project import Reader
from envguard.declared._tomlpos import positions
from envguard.errors import SourceError
from envguard.model import DEV, MAIN, Declaration, Kind, Loaded, normalize
from envguard.sources._text import read_text
from envguard.sources._toml import parse_toml

_GROUPS = {"packages": MAIN, "dev-packages": DEV}
_NOT_PACKAGES = frozenset({"source", "requires", "pipenv", "scripts"})
_VCS = ("git", "hg", "svn", "bzr")
_OPERATOR = re.compile(r"^\s*(===|==|!=|~=|<=|>=|<|>)")
_REMOTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
# PEP 508 marker variables, which pipenv accepts as keys of a package table.
_MARKER_KEYS = (
    "os_name",
    "sys_platform",
    "platform_machine",
    "platform_python_implementation",
    "platform_release",
    "platform_system",
    "platform_version",
    "python_version",
    "python_full_version",
    "implementation_name",
    "implementation_version",
)


def load(path: Path, shown: str, *, allow_outside_root: bool = False) -> Loaded:
    from envguard.declared.pyproject import finish

    text = read_text(path, shown)
    data = parse_toml(text, shown)
    reader = Reader(shown, positions(text))
    for section, entries in data.items():
        if section in _NOT_PACKAGES:
            continue
        if not isinstance(entries, dict):
            raise reader.error((section,), f"[{section}] must be a table of packages")
        group = _GROUPS.get(section) or normalize(section)
        environment = f"{shown} [{section}]"
        for name, value in entries.items():
            reader.declarations.append(
                _declaration(reader, name, value, environment, group, reader.line((section, name)))
            )
    return finish(reader)


def _declaration(reader: Reader, name: str, value: Any, environment: str, group: str, line: int) -> Declaration:
    shown = reader.shown
    if isinstance(value, str):
        body: dict[str, Any] = {"version": value}
    elif isinstance(value, dict):
        body = value
    else:
        raise SourceError(shown, line, f"package {name!r} must be a version string or a table")
    for key, item in body.items():
        if key in ("editable",) and not isinstance(item, bool):
            raise SourceError(shown, line, f"`{key}` of package {name!r} must be a boolean")
        if key == "extras" and not (isinstance(item, list) and all(isinstance(extra, str) for extra in item)):
            raise SourceError(shown, line, f"`extras` of package {name!r} must be an array of strings")
        if key not in ("editable", "extras") and not isinstance(item, (str, bool)):
            raise SourceError(shown, line, f"`{key}` of package {name!r} must be a string")
    version, specifier = _version(name, body.get("version"), shown, line)
    kind = _kind(body)
    return Declaration(
        name=normalize(name),
        requirement=_pep508.toml_entry(name, value),
        version=version if kind is Kind.REGISTRY else None,
        specifier=specifier if kind is Kind.REGISTRY else None,
        kind=kind,
        marker=_marker(body, shown, line),
        environment=environment,
        origin="pipfile",
        path=shown,
        line=line,
        groups=(group,),
    )


def _version(name: str, value: Any, shown: str, line: int) -> tuple[str | None, str | None]:
    if not isinstance(value, str) or value.strip() in ("", "*"):
        return None, None
    written = value.strip()
    if not _OPERATOR.match(written):
        written = f"=={written}"
    try:
        requirement = Requirement(f"{name}{written}")
    except InvalidRequirement as exc:
        raise SourceError(
            shown, line, f"invalid version {value!r} of package {name!r}: {str(exc).splitlines()[0]}"
        ) from None
    specifiers = list(requirement.specifier)
    if len(specifiers) == 1 and _pep508.is_exact(specifiers[0].operator, specifiers[0].version):
        return specifiers[0].version, None
    return None, re.sub(r"\s+", "", written)


def _kind(body: dict[str, Any]) -> Kind:
    editable = body.get("editable") is True
    if any(isinstance(body.get(key), str) for key in _VCS):
        return Kind.EDITABLE if editable else Kind.VCS
    for key in ("path", "file"):
        location = body.get(key)
        if isinstance(location, str):
            if editable:
                return Kind.EDITABLE
            remote = _REMOTE.match(location) is not None and not location.lower().startswith("file:")
            return Kind.URL if remote else Kind.PATH
    return Kind.REGISTRY


def _marker(body: dict[str, Any], shown: str, line: int) -> str | None:
    parts = [f"({body['markers']})"] if isinstance(body.get("markers"), str) and body["markers"].strip() else []
    parts.extend(f"{key} {body[key]}" for key in _MARKER_KEYS if isinstance(body.get(key), str))
    if not parts:
        return None
    return _pep508.marker_or_error(" and ".join(parts), shown, line)
