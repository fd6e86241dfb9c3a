"""PEP 508 requirement strings, read into the fields of a `Declaration`.

Every pyproject-family reader declares requirement strings; a monorepo repeats the same few
hundred of them (`pytest>=8`) in hundreds of files, so each distinct text is parsed once per
process (`_parsed` is cached) and the per-file cost is a dictionary look-up.
"""

from __future__ import annotations

import functools
import re

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement, Requirement

from envguard._record import record
from envguard.errors import SourceError
from envguard.model import Declaration, Kind, NormalizedName, normalize

# The specifier part of `name[extras] spec ; marker`, as written.
_AFTER_NAME = re.compile(r"^\s*[A-Za-z0-9][A-Za-z0-9._-]*\s*(?:\[[^\]]*\])?\s*(?P<spec>[^;@]*)")
_SPACE = re.compile(r"\s+")


@record(frozen=True)
class Parsed:
    """What a requirement string says, independent of where it is written."""

    name: NormalizedName
    version: str | None
    specifier: str | None
    kind: Kind
    marker: str | None
    extras: tuple[str, ...]  # normalised, sorted
    source: str | None = None  # of a direct reference (`name @ url`), as Package.source


def parse(text: str, shown: str, line: int) -> Parsed:
    """`text` read as PEP 508; an invalid one is a SourceError at `line`."""
    parsed = _parsed(text)
    if isinstance(parsed, str):
        raise SourceError(shown, line, f"invalid requirement {one_line(text)!r}: {parsed}")
    return parsed


@functools.lru_cache(maxsize=8192)
def _parsed(text: str) -> Parsed | str:
    """The parse, or the reason it failed (cached too: a bad string is reported once per file)."""
    from envguard.sources.requirements import source_of, url_kind

    try:
        requirement = Requirement(text)
    except InvalidRequirement as exc:
        return str(exc).splitlines()[0] if str(exc) else "not PEP 508"
    marker = normal_marker(str(requirement.marker)) if requirement.marker is not None else None
    name = normalize(requirement.name)
    extras = tuple(sorted({normalize(extra) for extra in requirement.extras}))
    if requirement.url is not None:
        return Parsed(name, None, None, url_kind(requirement.url), marker, extras, source_of(requirement.url))
    specifiers = list(requirement.specifier)
    if len(specifiers) == 1 and is_exact(specifiers[0].operator, specifiers[0].version):
        return Parsed(name, specifiers[0].version, None, Kind.REGISTRY, marker, extras)
    return Parsed(name, None, specifier_text(text) if specifiers else None, Kind.REGISTRY, marker, extras)


def is_exact(operator: str, version: str) -> bool:
    return operator == "===" or (operator == "==" and not version.endswith(".*"))


def specifier_text(text: str) -> str | None:
    """The specifier as written, without spaces or the legacy parentheses (packaging reorders it)."""
    found = _AFTER_NAME.match(text)
    spec = found.group("spec").strip() if found else ""
    if spec.startswith("(") and spec.endswith(")"):
        spec = spec[1:-1]
    return _SPACE.sub("", spec) or None


@functools.lru_cache(maxsize=1024)
def normal_marker(text: str) -> str:
    """str(Marker(text)): the few markers a workspace uses, normalised once. Raises InvalidMarker."""
    return str(Marker(text))


def marker_or_error(text: str, shown: str, line: int) -> str:
    try:
        return normal_marker(text)
    except InvalidMarker as exc:
        reason = str(exc).splitlines()[0] if str(exc) else "invalid marker"
        raise SourceError(shown, line, f"invalid marker {one_line(text)!r}: {reason}") from None


def one_line(text: str) -> str:
    """A requirement as written, on one line (TOML strings may hold newlines)."""
    return " ".join(text.split()) if "\n" in text or "\r" in text else text


def declaration(
    parsed: Parsed,
    text: str,
    *,
    environment: str,
    origin: str,
    path: str,
    line: int,
    groups: tuple[str, ...],
    marker: str | None = None,
    kind: Kind | None = None,
) -> Declaration:
    """The declaration of `parsed` (written as `text`); `marker`/`kind` replace the parsed ones."""
    chosen = kind or parsed.kind
    return Declaration(
        name=parsed.name,
        requirement=one_line(text),
        version=parsed.version if chosen is Kind.REGISTRY else None,
        specifier=parsed.specifier if chosen is Kind.REGISTRY else None,
        kind=chosen,
        marker=parsed.marker if marker is None else marker,
        environment=environment,
        origin=origin,
        path=path,
        line=line,
        groups=groups,
        source=parsed.source,
    )


def both(first: str | None, second: str | None) -> str | None:
    """Two markers that must both hold, as one normalised marker."""
    if first is None or second is None:
        return first if second is None else second
    return normal_marker(f"({first}) and ({second})")


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def toml_entry(name: str, value: object) -> str:
    """`name = value` as one line of TOML: how a table-style entry (Poetry, Pipfile) is shown."""
    return f"{_toml_key(name)} = {_toml_value(value)}"


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _toml_value(key)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        import json

        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_key(str(k))} = {_toml_value(v)}" for k, v in value.items()) + "}"
    return str(value)
