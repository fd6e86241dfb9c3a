"""What pyproject.py and hatch.py share: located requirement strings, a project's extras and
its PEP 735 dependency groups, and the expansion of both into the environment that names them.

A requirement string is kept with the file and line it is written at (`Entry`), so that an
extra installed through a hatch `features` list, or a group reached by `{include-group}`, is
declared at its own line, in the environment that installs it.

Dependency groups are resolved as PEP 735 says and PyPA's `dependency-groups` library does
(names normalised, includes expanded depth-first in order, duplicates kept, a cycle or an
unknown group an error). That library is the test oracle and not used here: it keeps no line
numbers, and it would parse every requirement a second time.

A requirement naming the project itself (`myproject[test]` in an extra or a group, the usual
way to say "everything in test too") is what pip, uv and hatch resolve to the project's own
extras: it is declared as the local project, and the extras it names are expanded into the
including environment, their markers joined with its marker.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from envguard._record import record
from envguard.declared import _pep508
from envguard.declared._tomlpos import Path as KeyPath
from envguard.declared._tomlpos import Positions
from envguard.errors import SourceError
from envguard.model import Declaration, Diagnostic, Kind, NormalizedName, normalize


@record(frozen=True)
class Entry:
    """A requirement string as written, and where."""

    text: str
    path: str  # the root-relative file
    line: int


@dataclass
class Reader:
    """One file's walk: its positions, and what it has declared and warned so far."""

    shown: str
    positions: Positions
    declarations: list[Declaration] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)
    included: list[str] = field(default_factory=list)

    def line(self, path: KeyPath) -> int:
        return self.positions.line(path)

    def warn(self, line: int | None, message: str, path: str | None = None) -> None:
        self.warnings.append(Diagnostic(path or self.shown, line, message))

    def error(self, path: KeyPath, message: str) -> SourceError:
        return SourceError(self.shown, self.line(path), message)

    def table(self, value: Any, path: KeyPath, what: str) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.error(path, f"`{what}` must be a table")
        return value

    def strings(self, value: Any, path: KeyPath, what: str) -> list[Entry]:
        """An array of strings, each with its line; a wrong type is an error at its line."""
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(path, f"`{what}` must be an array of strings")
        entries: list[Entry] = []
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise self.error(path + (index,), f"`{what}` must contain only strings (item {index + 1} is not)")
            entries.append(Entry(item, self.shown, self.line(path + (index,))))
        return entries


@dataclass
class Project:
    """The project's own name, extras and dependency groups, for expansions."""

    name: NormalizedName | None
    # normalised extra -> its requirements
    extras: dict[str, list[Entry]] = field(default_factory=dict)
    groups: Groups | None = None


@record(frozen=True)
class Target:
    """The environment declarations go to."""

    environment: str
    origin: str
    groups: tuple[str, ...]


def declare(reader: Reader, project: Project, entry: Entry, target: Target, kinds: Mapping[str, Kind]) -> None:
    """Declare one requirement string, expanding a reference to the project's own extras."""
    _declare(reader, project, entry, target, kinds, None, ())


def _declare(
    reader: Reader,
    project: Project,
    entry: Entry,
    target: Target,
    kinds: Mapping[str, Kind],
    outer: str | None,
    expanding: tuple[str, ...],
) -> None:
    parsed = _pep508.parse(entry.text, entry.path, entry.line)
    marker = _pep508.both(outer, parsed.marker)
    own = project.name is not None and parsed.name == project.name and parsed.kind is Kind.REGISTRY
    kind = Kind.LOCAL_PROJECT if own else kinds.get(parsed.name)
    reader.declarations.append(
        _pep508.declaration(
            parsed,
            entry.text,
            environment=target.environment,
            origin=target.origin,
            path=entry.path,
            line=entry.line,
            groups=target.groups,
            marker=marker,
            kind=kind,
        )
    )
    if not own:
        return
    for extra in parsed.extras:
        if extra in expanding:
            continue  # `a = ["me[b]"]`, `b = ["me[a]"]`: pip stops at what it has already added
        entries = project.extras.get(extra)
        if entries is None:
            reader.warn(entry.line, f"the project has no extra {extra!r}", entry.path)
            continue
        for included in entries:
            _declare(reader, project, included, target, kinds, marker, (*expanding, extra))


class Groups:
    """PEP 735 `[dependency-groups]`, resolved with lines (see the module docstring)."""

    def __init__(self, reader: Reader, table: dict[str, Any], path: KeyPath) -> None:
        self._reader = reader
        self._path = path
        self.written: dict[str, str] = {}  # normalised -> as written
        for name in table:
            normal = normalize(name)
            if normal in self.written:
                raise reader.error(
                    path + (name,), f"duplicate dependency group names: {self.written[normal]!r} and {name!r}"
                )
            self.written[normal] = name
        self._table = table
        self._resolved: dict[str, list[Entry]] = {}

    def __iter__(self) -> Iterator[str]:
        return iter(self.written)

    def resolve(self, group: str) -> list[Entry]:
        return self._resolve(normalize(group), ())

    def _resolve(self, group: str, stack: tuple[str, ...]) -> list[Entry]:
        done = self._resolved.get(group)
        if done is not None:
            return done
        reader, written = self._reader, self.written[group]
        path = self._path + (written,)
        items = self._table[written]
        if not isinstance(items, list):
            raise reader.error(path, f"dependency group {written!r} must be an array")
        entries: list[Entry] = []
        for index, item in enumerate(items):
            where = path + (index,)
            if isinstance(item, str):
                entries.append(Entry(item, reader.shown, reader.line(where)))
                continue
            if not isinstance(item, dict) or tuple(item) != ("include-group",):
                raise reader.error(where, f"invalid item in dependency group {written!r}: {_shown(item)}")
            included = item["include-group"]
            if not isinstance(included, str):
                raise reader.error(where, f"include-group in dependency group {written!r} must be a string")
            target = normalize(included)
            if target == group or target in stack:
                chain = " -> ".join(self.written[name] for name in (*stack, group)) + f" -> {included}"
                raise reader.error(where, f"cyclic dependency group include: {chain}")
            if target not in self.written:
                raise reader.error(where, f"dependency group {written!r} includes unknown group {included!r}")
            entries.extend(self._resolve(target, (*stack, group)))
        self._resolved[group] = entries
        return entries


def _shown(item: object) -> str:
    text = repr(item)
    return text if len(text) <= 80 else text[:77] + "..."
