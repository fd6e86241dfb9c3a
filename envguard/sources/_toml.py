"""TOML parsing shared by the lockfile loaders, with line numbers tomllib does not give."""

from __future__ import annotations

import bisect
import os
import re
import sys
from typing import Any

from envguard.errors import SourceError
from envguard.model import Diagnostic

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

_AT_LINE = re.compile(r"\(at line (\d+), column \d+\)")
# Tried only where a run of digits starts, so that the search stays linear.
_LONG_NUMBER = re.compile(r"(?<![0-9_])[0-9][0-9_]{4000,}")

# ENVGUARD_TOML_FAST_PATH=0 reads every file with tomllib alone (to rule the fast path out).
FAST_PATH = os.environ.get("ENVGUARD_TOML_FAST_PATH", "1") != "0"


def parse_toml(text: str, shown: str) -> dict[str, Any]:
    return parse_lock(text, shown)[0]


def parse_lock(text: str, shown: str) -> tuple[dict[str, Any], dict[str, list[int]] | None]:
    """The document, and the line of every top-level `[[key]]` header when the fast path read it.

    The fast path (`_fasttoml`) reads the regular TOML tools write and gives up on anything
    else, which tomllib then parses; both give the same document.
    """
    if FAST_PATH:
        from envguard.sources import _fasttoml

        try:
            return _fasttoml.loads(text)
        except (_fasttoml.Unsupported, ValueError, RecursionError):
            # An integer too long for int() or nesting too deep: tomllib reports it properly.
            pass
    return _full_parse(text, shown), None


def parse_document(text: str, shown: str) -> dict[str, Any]:
    """`parse_toml` with tomllib alone: for a small file read once a run (the configuration), where
    compiling the fast path's patterns costs more than it saves. Same document, same errors."""
    return _full_parse(text, shown)


def _full_parse(text: str, shown: str) -> dict[str, Any]:
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = _AT_LINE.search(message)
        line = int(found.group(1)) if found else getattr(exc, "lineno", None)
        if line is not None:
            # At the end of the document tomli names the empty line after the last newline and
            # tomllib the last line; the last line with content is the same for both.
            line = min(line, len(text.rstrip().split("\n")) or 1)
        reason = _AT_LINE.sub("", message).strip() or "invalid TOML"
        raise SourceError(shown, line, f"invalid TOML: {reason}") from None
    except RecursionError:
        raise SourceError(shown, None, "invalid TOML: nested too deeply") from None
    except ValueError:
        # tomllib leaves int() to fail on a decimal integer longer than sys.get_int_max_str_digits().
        found = _LONG_NUMBER.search(text)
        line = text.count("\n", 0, found.start()) + 1 if found else None
        raise SourceError(shown, line, "invalid TOML: an integer has too many digits") from None
    return data


def key_line(text: str, key: str) -> int | None:
    """First line that assigns `key` or opens a `[key]`/`[[key]]` table; only used to place errors."""
    # A match lies within one line and contains the key, so only the lines where the key occurs
    # are tried: a search of `^...` over the whole text tries every position of it (0.8 ms for a
    # 200 KB lock, paid for every lock read). `[^\S\n]` is whitespace within a line.
    quoted = r"""["']?""" + re.escape(key) + r"""["']?"""
    pattern = re.compile(r"[^\S\n]*(?:\[\[?[^\S\n]*" + quoted + r"[^\S\n]*\]|" + quoted + r"[^\S\n]*=)")
    found = text.find(key)
    while found != -1:
        start = text.rfind("\n", 0, found) + 1
        if pattern.match(text, start):
            return text.count("\n", 0, start) + 1
        end = text.find("\n", found)
        if end == -1:
            return None
        found = text.find(key, end + 1)
    return None


def array_of_tables(data: dict[str, Any], key: str, text: str, shown: str) -> list[dict[str, Any]]:
    """`data[key]` as the list of tables every lock format keeps its packages in (absent: empty)."""
    tables = data.get(key, [])
    if not isinstance(tables, list) or not all(isinstance(table, dict) for table in tables):
        raise SourceError(shown, key_line(text, key), f"`{key}` is not an array of tables")
    return tables


def array_table_lines(text: str, key: str) -> list[int]:
    """1-based lines of every `[[key]]` header, ignoring look-alikes inside multi-line strings.

    tomllib keeps no positions; the n-th header is the n-th element of the parsed array, which
    is how every locking tool writes its files.
    """
    header = re.compile(r"\[\[\s*" + re.escape(key) + r"\s*\]\]\s*(#.*)?$")
    lines: list[int] = []
    for number, line in _lines_outside_multiline_strings(text):
        if line.startswith("[[") and header.match(line):
            lines.append(number)
    return lines


def entry_lines(
    text: str, key: str, count: int, names: list[str], seen: dict[str, list[int]] | None = None
) -> list[int]:
    """Lines where each of `count` array entries starts, whatever style the file uses.

    `[[key]]` headers are used when their number matches; otherwise (inline arrays, hand
    edits) each entry is placed at the next `name = "..."` line for its name, in order.
    `seen` is what `parse_lock` found, which spares a second pass over the text.
    """
    if seen is not None and len(seen.get(key, [])) == count:
        return list(seen.get(key, []))
    headers = array_table_lines(text, key)
    if len(headers) == count:
        return headers
    lines: list[int] = []
    candidates = list(_lines_outside_multiline_strings(text))
    # name -> the candidates (indexes, in order) that assign it: one pass over the text. Searching
    # the rest of the text for every name took time quadratic in the number of entries whenever
    # names were not found as written (escapes): minutes for a few thousand entries.
    assigned: dict[str, list[int]] = {}
    for index, (_, line) in enumerate(candidates):
        if "name" in line:
            for value in dict.fromkeys(found.group(1) for found in _NAME_VALUE.finditer(line)):
                assigned.setdefault(value, []).append(index)
    position = 0
    for name in names:
        number = 1
        # A name with a quote in it is no package name, and not looked for.
        hits = [] if '"' in name or "'" in name else assigned.get(name, [])
        at = bisect.bisect_left(hits, position)
        if at < len(hits):
            number, position = candidates[hits[at]][0], hits[at] + 1
        lines.append(number)
    return lines


# Every `name = "..."` of a line, overlapping ones too, with its value up to the next quote: for
# a name without quotes, what `(^|[{,\s])name\s*=\s*["']<name>["']` finds.
_NAME_VALUE = re.compile(r"""(?=(?:^|[{,\s])name\s*=\s*["']([^"']*)["'])""")


def _lines_outside_multiline_strings(text: str) -> list[tuple[int, str]]:
    """(line number, stripped line) for lines that begin outside a multi-line string."""
    result: list[tuple[int, str]] = []
    inside: str | None = None
    for number, line in enumerate(text.split("\n"), start=1):
        if inside is None:
            result.append((number, line.strip()))
        inside = _scan(line, inside)
    return result


def _scan(line: str, inside: str | None) -> str | None:
    """Return the multi-line string delimiter still open at the end of `line`."""
    i, n = 0, len(line)
    while i < n:
        if inside is not None:
            end = line.find(inside, i)
            while end != -1 and inside == '"""' and _escaped(line, end):
                end = line.find(inside, end + 1)
            if end == -1:
                return inside
            i = end + 3
            # A closing delimiter may be followed by up to two more quotes that belong to the string.
            while i < n and line[i] == inside[0]:
                i += 1
            inside = None
            continue
        char = line[i]
        if char == "#":
            return None
        if char in "\"'":
            if line.startswith(char * 3, i):
                inside = char * 3
                i += 3
                continue
            i = _skip_single_line_string(line, i)
            continue
        i += 1
    return inside


def _skip_single_line_string(line: str, start: int) -> int:
    quote = line[start]
    i = start + 1
    while i < len(line):
        if quote == '"' and line[i] == "\\":
            i += 2
            continue
        if line[i] == quote:
            return i + 1
        i += 1
    return i


def _escaped(line: str, index: int) -> bool:
    backslashes = 0
    while index - 1 - backslashes >= 0 and line[index - 1 - backslashes] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


def lock_version_warnings(
    metadata: dict[str, Any], key: str, newest: str, text: str, shown: str
) -> tuple[Diagnostic, ...]:
    """A warning for a lock written by a newer major version of its tool than envguard knows.

    The tool itself refuses another major version; envguard reads on, since the keys it needs
    have never moved, and says so.
    """
    version = metadata.get(key)
    if version is None:
        return ()
    line = key_line(text, key)
    if not isinstance(version, str):
        raise SourceError(shown, line, f"`metadata.{key}` is not a string")
    # At most 9 significant digits: int() of a 5000-digit major would raise; such a major is unknown anyway.
    major = re.match(r"0*(\d{1,9})(?!\d)", version)
    if major is None or int(major.group(1)) > int(newest.split(".")[0]):
        message = f"unknown {key} {version!r} (envguard knows up to {newest}); read as {newest}"
        return (Diagnostic(shown, line, message),)
    return ()
