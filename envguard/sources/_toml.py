"""TOML parsing shared by the lockfile loaders, with line numbers tomllib does not give."""

from __future__ import annotations

import re
import sys
from typing import Any

from envguard.errors import SourceError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

_AT_LINE = re.compile(r"\(at line (\d+), column \d+\)")


def parse_toml(text: str, shown: str) -> dict[str, Any]:
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = _AT_LINE.search(message)
        line = int(found.group(1)) if found else getattr(exc, "lineno", None)
        reason = _AT_LINE.sub("", message).strip() or "invalid TOML"
        raise SourceError(shown, line, f"invalid TOML: {reason}") from None
    except RecursionError:
        raise SourceError(shown, None, "invalid TOML: nested too deeply") from None
    return data


def key_line(text: str, key: str) -> int | None:
    """First line that assigns `key` or opens a `[key]`/`[[key]]` table; only used to place errors."""
    quoted = r"""["']?""" + re.escape(key) + r"""["']?"""
    pattern = re.compile(r"(\[\[?\s*" + quoted + r"\s*\]|" + quoted + r"\s*=)")
    for number, line in enumerate(text.split("\n"), start=1):
        if pattern.match(line.strip()):
            return number
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


def entry_lines(text: str, key: str, count: int, names: list[str]) -> list[int]:
    """Lines where each of `count` array entries starts, whatever style the file uses.

    `[[key]]` headers are used when their number matches; otherwise (inline arrays, hand
    edits) each entry is placed at the next `name = "..."` line for its name, in order.
    """
    headers = array_table_lines(text, key)
    if len(headers) == count:
        return headers
    lines: list[int] = []
    candidates = list(_lines_outside_multiline_strings(text))
    position = 0
    for name in names:
        pattern = re.compile(r"""(^|[{,\s])name\s*=\s*["']""" + re.escape(name) + r"""["']""")
        found = 1
        for index in range(position, len(candidates)):
            number, line = candidates[index]
            if pattern.search(line):
                found, position = number, index + 1
                break
        lines.append(found)
    return lines


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
