"""setup.cfg: `[options] install_requires` and `[options.extras_require]`, read as setuptools does.

setuptools (`setuptools.dist._parse_config_files`, `setuptools.config.setupcfg`) reads the file
with `configparser.ConfigParser()` (option names kept as written, `%` interpolation, `#` and
`;` comment lines, no inline comments, indented continuation lines), then splits a value into
requirements with `_parse_list_semicolon`: one per non-empty line of a multi-line value, but a
one-line value is split at `;` (so `install_requires = foo; python_version<"3.8"` is two
requirements, the second invalid; the error says so). Items starting with `#` are dropped. A
value `file: a.txt, b.txt` is the files' text, read the same way, sandboxed to the directory
of setup.cfg as setuptools' `expand.read_files` is (a missing file is a warning, as there).

configparser reads the values; it keeps no lines, so a second walk over the lines (the same
rules as configparser's `_read` for comments, continuations and headers) places each piece.
Environments: `setup.cfg [options] install_requires` (origin `setup-cfg`, groups `main`),
`setup.cfg [options.extras_require] <extra>` (groups `extra:<extra>`).
"""

from __future__ import annotations

import configparser
import posixpath
import re
from pathlib import Path

from envguard.declared._project import Entry, Project, Reader, Target, declare
from envguard.declared._tomlpos import Positions
from envguard.errors import SourceError
from envguard.model import MAIN, Loaded, extra_group
from envguard.sources._text import read_text

_SECTION = re.compile(r"\[(?P<header>.+)\]")  # configparser's SECTCRE
_OPTION = re.compile(r"(?P<option>.*?)\s*(?P<vi>[=:])\s*(?P<value>.*)$")  # OPTCRE
_SECTIONS = ("options", "options.extras_require")

Pieces = list[tuple[int, str]]  # (line, stripped text) of each physical line of a value


def load(path: Path, shown: str, *, allow_outside_root: bool = False) -> Loaded:
    text = read_text(path, shown)
    if "install_requires" not in text and "extras_require" not in text:
        return Loaded(())
    parser = configparser.ConfigParser()
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # setuptools keeps names as written
    try:
        parser.read_string(text, shown)
    except configparser.Error as exc:
        raise SourceError(shown, getattr(exc, "lineno", None), f"invalid setup.cfg: {_first_line(exc)}") from None
    pieces = _value_lines(text)
    reader = Reader(shown, Positions({}))
    project = Project(None)
    if parser.has_option("options", "install_requires"):
        target = Target(f"{shown} [options] install_requires", "setup-cfg", (MAIN,))
        _declare(reader, project, parser, path, ("options", "install_requires"), pieces, target)
    if parser.has_section("options.extras_require"):
        for extra in parser.options("options.extras_require"):
            target = Target(f"{shown} [options.extras_require] {extra}", "setup-cfg", (extra_group(extra),))
            _declare(reader, project, parser, path, ("options.extras_require", extra), pieces, target)
    from envguard.declared.pyproject import finish

    return finish(reader)


def _declare(
    reader: Reader,
    project: Project,
    parser: configparser.ConfigParser,
    path: Path,
    key: tuple[str, str],
    pieces: dict[tuple[str, str], Pieces],
    target: Target,
) -> None:
    shown = reader.shown
    written = pieces.get(key, [])
    first = written[0][0] if written else None
    try:
        value = parser.get(*key)
    except configparser.Error as exc:
        raise SourceError(shown, first, f"invalid setup.cfg: {_first_line(exc)}") from None
    if value.startswith("file:"):
        for entry in _files(reader, value[len("file:") :], path, first):
            declare(reader, project, entry, target, {})
        return
    for entry in _items(value, written, shown, first):
        declare(reader, project, entry, target, {})


def _items(value: str, written: Pieces, shown: str, first: int | None) -> list[Entry]:
    """setuptools' _parse_list_semicolon, each item at the line it is written on."""
    if "\n" in value:
        lines = [line for line, piece in written if piece]
        items = [chunk.strip() for chunk in value.splitlines() if chunk.strip()]
        if len(lines) != len(items):  # an interpolation added lines: all at the option's line
            lines = [first or 1] * len(items)
        return [Entry(item, shown, line) for item, line in zip(items, lines) if not item.startswith("#")]
    items = [chunk.strip() for chunk in value.split(";") if chunk.strip()]
    return [Entry(item, shown, first or 1) for item in items if not item.startswith("#")]


def _files(reader: Reader, spec: str, path: Path, line: int | None) -> list[Entry]:
    """`file: a.txt, b.txt`: setuptools' expand.read_files joined, then split as a value."""
    base = posixpath.dirname(reader.shown)
    texts: list[tuple[str, str]] = []
    for name in (part.strip() for part in spec.split(",")):
        file_shown = posixpath.normpath(posixpath.join(base, name))
        relative = posixpath.relpath(file_shown, base or ".")
        if posixpath.isabs(name) or relative == ".." or relative.startswith("../"):
            raise SourceError(
                reader.shown, line, f"file {name!r} is outside the project directory (setuptools refuses it too)"
            )
        if not (path.parent / name).is_file():
            reader.warn(line, f"file {name!r} not found (setuptools skips it)")
            continue
        reader.included.append(file_shown)
        texts.append((file_shown, read_text(path.parent / name, file_shown)))
    joined = "\n".join(text for _, text in texts)
    if "\n" not in joined:
        return [
            Entry(item, texts[0][0], 1)
            for item in (c.strip() for c in joined.split(";"))
            if item and not item.startswith("#")
        ]
    entries: list[Entry] = []
    for file_shown, text in texts:
        for number, raw in enumerate(text.splitlines(), start=1):
            item = raw.strip()
            if item and not item.startswith("#"):
                entries.append(Entry(item, file_shown, number))
    return entries


def _value_lines(text: str) -> dict[tuple[str, str], Pieces]:
    """configparser's _read, keeping the line of each piece of the values in `_SECTIONS`."""
    found: dict[tuple[str, str], Pieces] = {}
    section: str | None = None
    current: Pieces | None = None
    indent = 0
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue  # blank lines join values as '' (dropped later), comments are skipped
        level = len(line) - len(line.lstrip())
        if current is not None and level > indent:
            current.append((number, stripped))
            continue
        indent = level
        header = _SECTION.match(stripped)
        if header:
            section, current = header.group("header"), None
            continue
        option = _OPTION.match(stripped)
        if section is None or option is None:
            current = None
            continue
        # Every option's continuation lines are followed, so that none is read as an option.
        current = found.setdefault((section, option.group("option").rstrip()), []) if section in _SECTIONS else []
        current.append((number, option.group("value").strip()))
    return found


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
