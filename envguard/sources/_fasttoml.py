"""A fast reader for the regular TOML that locking tools write, with the lines tomllib drops.

uv, Poetry, PDM and pip/uv (pylock) all write their locks the same regular way: one statement
per line, `[table]` and `[[array]]` headers at the start of a line, multi-line arrays with one
element per line and the closing `]` alone, one-line inline tables, basic strings. Reading that
line by line with a handful of regular expressions is several times faster than tomllib, which
walks strings character by character in Python, and yields the line of every `[[package]]`
header on the way.

This is a verified fast path, not a second TOML implementation: `loads` accepts only a strict
subset of TOML 1.0 and raises `Unsupported` for anything else (multi-line strings, dotted keys,
comments after a value, floats, local dates, indented statements, quoted headers, ...), and the
caller then parses the file with tomllib. Whatever `loads` accepts, tomllib accepts too and
parses to an equal document (tests/sources/test_fastpath.py checks this on every fixture and
corpus file, and on generated documents); every table rule tomllib enforces (no key or table
defined twice, no header into an inline table or a static array, ...) makes `loads` give up,
so that tomllib reports the error with its own message.
"""

from __future__ import annotations

import functools
import re
from datetime import datetime, timedelta, timezone
from typing import Any


class Unsupported(Exception):
    """The text is outside the subset read here; parse it with tomllib."""


_STR_CHAR = r'[^"\\\x00-\x08\x0a-\x1f\x7f]'
_ESCAPE = r'\\(?:["\\btnfr]|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8})'
_BARE = r"[A-Za-z0-9_-]+"
_INT = r"[+-]?(?:0|[1-9][0-9]*)"

# Statement lines.
_KEY_EQ = re.compile(rf'({_BARE}|"{_STR_CHAR}*")[ \t]*=[ \t]*')
_KEY_STRING = re.compile(rf'({_BARE})[ \t]*=[ \t]*"({_STR_CHAR}*)"[ \t]*')
_TABLE = re.compile(rf"\[({_BARE}(?:\.{_BARE})*)\][ \t]*")
_ARRAY_TABLE = re.compile(rf"\[\[({_BARE}(?:\.{_BARE})*)\]\][ \t]*")
_COMMENT = re.compile(r"[ \t]*(?:#[^\x00-\x08\x0a-\x1f\x7f]*)?")
_SPACE = re.compile(r"[ \t]*")
_ARRAY_END = re.compile(r"[ \t]*\][ \t]*")

# Values.
_STRING = re.compile(rf'"({_STR_CHAR}*)"')
_ESCAPED_STRING = re.compile(rf'"((?:{_STR_CHAR}|{_ESCAPE})*)"')
_LITERAL = re.compile(r"'([^'\x00-\x08\x0a-\x1f\x7f]*)'")
_SCALAR = re.compile(r"[0-9A-Za-z_.:+-]+")
_INTEGER = re.compile(_INT)
_DATETIME = re.compile(
    r"([0-9]{4})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"T([01][0-9]|2[0-3]):([0-5][0-9]):([0-5][0-9])(?:\.([0-9]{1,6})[0-9]*)?"
    r"(?:(Z)|([+-])([01][0-9]|2[0-3]):([0-5][0-9]))?"
)
# The one-line inline table of strings and integers that fills every lock (wheels, files,
# dependencies): matched whole, then split into pairs, without a Python step per character.
_FLAT_VALUE = rf'(?:"{_STR_CHAR}*"|{_INT})'
_FLAT_INNER = rf"((?:{_BARE}[ \t]*=[ \t]*{_FLAT_VALUE}[ \t]*,[ \t]*)*{_BARE}[ \t]*=[ \t]*{_FLAT_VALUE})"
_FLAT_TABLE = re.compile(rf"\{{[ \t]*{_FLAT_INNER}[ \t]*\}}")
_FLAT_ELEMENT = re.compile(rf"[ \t]*\{{[ \t]*{_FLAT_INNER}[ \t]*\}}[ \t]*(?P<comma>,?)[ \t]*")
_FLAT_PAIR = re.compile(rf'({_BARE})[ \t]*=[ \t]*(?:"({_STR_CHAR}*)"|({_INT}))')
# One level more for pylock's `wheels = [{ url = "...", upload-time = 2025-01-01T00:00:00Z,
# size = 1, hashes = { sha256 = "..." } }, ...]`: datetimes, booleans and one nested flat table.
# Compiled on first use: they take longer to compile than a small lock takes to read.
_DT = (
    r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    r"(?:\.[0-9]+)?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])?"
)
_RICH_VALUE = rf'(?:"{_STR_CHAR}*"|{_DT}|{_INT}|true|false|\{{[ \t]*{_FLAT_INNER[1:-1]}[ \t]*\}})'
_RICH_INNER = rf"(?:{_BARE}[ \t]*=[ \t]*{_RICH_VALUE}[ \t]*,[ \t]*)*{_BARE}[ \t]*=[ \t]*{_RICH_VALUE}"


@functools.cache
def _rich() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """(one inline table, a one-line array of them, one key/value pair of such a table)."""
    table = re.compile(rf"\{{[ \t]*({_RICH_INNER})[ \t]*\}}")
    array = re.compile(
        rf"\[[ \t]*(?:\{{[ \t]*{_RICH_INNER}[ \t]*\}}[ \t]*,[ \t]*)*(?:\{{[ \t]*{_RICH_INNER}[ \t]*\}}[ \t]*)?\]"
    )
    pair = re.compile(
        rf'({_BARE})[ \t]*=[ \t]*(?:"({_STR_CHAR}*)"|({_DT})|({_INT})|(true|false)|\{{[ \t]*{_FLAT_INNER}[ \t]*\}})'
    )
    return table, array, pair


_STRING_ELEMENT = re.compile(rf'[ \t]*"({_STR_CHAR}*)"[ \t]*(?P<comma>,?)[ \t]*')
_ELEMENT_END = re.compile(r"[ \t]*(?P<comma>,?)[ \t]*")
_ESCAPES = {'"': '"', "\\": "\\", "b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r"}
_ESCAPE_PART = re.compile(r"\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)")


def loads(text: str) -> tuple[dict[str, Any], dict[str, list[int]]]:
    """The document, and the 1-based line of every top-level `[[key]]` header, by key.

    Raises Unsupported for anything outside the subset (including every invalid document).
    """
    root: dict[str, Any] = {}
    # Tables created by a header or on the way to one (the only ones a header may enter), the
    # ones a header defined (which no header may define again), and arrays made of [[...]].
    open_tables: set[int] = {id(root)}
    defined: set[int] = set()
    array_tables: set[int] = set()
    headers: dict[str, list[int]] = {}
    current = root
    lines = text.split("\n")
    count = len(lines)
    index = 0
    while index < count:
        line = lines[index]
        index += 1
        if not line:
            continue
        first = line[0]
        if first == "[":
            found = _ARRAY_TABLE.fullmatch(line)
            if found is not None:
                path = found.group(1).split(".")
                current = _append_table(root, path, open_tables, array_tables)
                if len(path) == 1:
                    headers.setdefault(path[0], []).append(index)
                continue
            found = _TABLE.fullmatch(line)
            if found is None:
                raise Unsupported(index)
            current = _define_table(root, found.group(1).split("."), open_tables, defined)
            continue
        if first == "#" or first == " " or first == "\t":
            # Comments and blank lines; an indented statement is left to tomllib.
            if _COMMENT.fullmatch(line) is None:
                raise Unsupported(index)
            continue
        found = _KEY_STRING.fullmatch(line)
        if found is not None:
            # `name = "anyio"`: most statements of a lock, in one step.
            key = found.group(1)
            if key in current:
                raise Unsupported(index)
            current[key] = found.group(2)
            continue
        found = _KEY_EQ.match(line)
        if found is None:
            raise Unsupported(index)
        key = found.group(1)
        if key[0] == '"':
            key = key[1:-1]
        if key in current:
            raise Unsupported(index)
        start = found.end()
        if line.endswith("[") and _SPACE.fullmatch(line, start, len(line) - 1) is not None:
            current[key], index = _multiline_array(lines, index)
            continue
        value, end = _value(line, start)
        if _SPACE.fullmatch(line, end) is None:
            raise Unsupported(index)
        current[key] = value
    return root, headers


def _define_table(
    root: dict[str, Any], path: list[str], open_tables: set[int], defined: set[int]
) -> dict[str, Any]:
    parent = _walk(root, path[:-1], open_tables)
    name = path[-1]
    table = parent.get(name)
    if table is None:
        table = parent[name] = {}
        open_tables.add(id(table))
    elif type(table) is not dict or id(table) not in open_tables or id(table) in defined:
        raise Unsupported(path)
    defined.add(id(table))
    return table


def _append_table(
    root: dict[str, Any], path: list[str], open_tables: set[int], array_tables: set[int]
) -> dict[str, Any]:
    parent = _walk(root, path[:-1], open_tables)
    name = path[-1]
    array = parent.get(name)
    if array is None:
        array = parent[name] = []
        array_tables.add(id(array))
    elif type(array) is not list or id(array) not in array_tables:
        raise Unsupported(path)
    table: dict[str, Any] = {}
    array.append(table)
    open_tables.add(id(table))
    return table


def _walk(root: dict[str, Any], path: list[str], open_tables: set[int]) -> dict[str, Any]:
    """The table a header path leads to, creating missing tables; only through header tables."""
    table = root
    for name in path:
        child = table.get(name)
        if child is None:
            child = table[name] = {}
            open_tables.add(id(child))
        elif type(child) is list:
            # Only an array of tables (all of whose tables are open) can be entered.
            if not child or id(child[-1]) not in open_tables:
                raise Unsupported(path)
            child = child[-1]
        elif type(child) is not dict or id(child) not in open_tables:
            raise Unsupported(path)
        table = child
    return table


def _multiline_array(lines: list[str], index: int) -> tuple[list[Any], int]:
    """The elements of an array opened at the end of line `index`, one per line, and the next line."""
    items: list[Any] = []
    count = len(lines)
    while index < count:
        line = lines[index]
        index += 1
        # The two element shapes of every lock, each matched with its comma in one step.
        flat = _flat_element(line)
        if flat is not None:
            table, comma = flat
            items.append(table.copy())  # the cached table is shared by every line like this one
        else:
            found = _STRING_ELEMENT.fullmatch(line)
            if found is not None:
                items.append(found.group(1))
            elif _ARRAY_END.fullmatch(line) is not None:
                return items, index
            else:
                start = _SPACE.match(line).end()  # type: ignore[union-attr]
                value, end = _value(line, start)
                items.append(value)
                found = _ELEMENT_END.fullmatch(line, end)
                if found is None:
                    raise Unsupported(index)
            comma = bool(found.group("comma"))
        if not comma:
            # The last element: only the closing bracket may follow.
            if index < count and _ARRAY_END.fullmatch(lines[index]) is not None:
                return items, index + 1
            raise Unsupported(index)
    raise Unsupported(index)


@functools.lru_cache(maxsize=8192)
def _flat_element(line: str) -> tuple[dict[str, Any], bool] | None:
    """The flat inline table a whole array line holds, and whether a comma follows it; else None.

    Cached by the line's text: these lines are most of a lock (`{ name = "anyio" }` under every
    package that depends on it, the wheels of a version every service locks) and repeat within a
    lock and across the locks of a monorepo; a repeated line is then a look-up and a copy.
    """
    found = _FLAT_ELEMENT.fullmatch(line)
    if found is None:
        return None
    return _flat_table(found), bool(found.group("comma"))


def _flat_table(found: re.Match[str]) -> dict[str, Any]:
    pairs = _FLAT_PAIR.findall(found.group(1))
    table = {key: int(number) if number else string for key, string, number in pairs}
    if len(table) != len(pairs):
        raise Unsupported("duplicate key")
    return table


def _rich_table(inner: str) -> dict[str, Any]:
    table: dict[str, Any] = {}
    pairs = _rich()[2].findall(inner)
    for key, string, moment, number, boolean, nested in pairs:
        if number:
            table[key] = int(number)
        elif moment:
            found = _DATETIME.fullmatch(moment)
            if found is None:
                raise Unsupported(moment)
            table[key] = _datetime(found)
        elif boolean:
            table[key] = boolean == "true"
        elif nested:
            flat = _FLAT_PAIR.findall(nested)
            table[key] = {name: int(value) if value else text for name, text, value in flat}
            if len(table[key]) != len(flat):
                raise Unsupported("duplicate key")
        else:
            table[key] = string
    if len(table) != len(pairs):
        raise Unsupported("duplicate key")
    return table


@functools.lru_cache(maxsize=2048)
def _rich_array(text: str) -> tuple[list[dict[str, Any]], int] | None:
    """The one-line array of inline tables `text` starts with (pylock's `wheels = [...]`) and its
    length, else None. Cached by the text, like `_flat_element`: the same version's wheels are
    the same line in every lock that holds it."""
    table_pattern, array_pattern, _ = _rich()
    found = array_pattern.match(text)
    if found is None:
        return None
    end = found.end()
    return [_rich_table(table.group(1)) for table in table_pattern.finditer(text, 0, end)], end


def _value(line: str, pos: int) -> tuple[Any, int]:
    """The one-line value starting at `pos`, and where it ends."""
    if pos >= len(line):
        raise Unsupported(pos)
    char = line[pos]
    if char == '"':
        found = _STRING.match(line, pos)
        if found is not None:
            end = found.end()
            if end < len(line) and line[end] == '"':
                raise Unsupported("multi-line string")
            return found.group(1), end
        found = _ESCAPED_STRING.match(line, pos)
        if found is None or line.startswith('"""', pos):
            raise Unsupported(pos)
        return _ESCAPE_PART.sub(_unescape, found.group(1)), found.end()
    if char == "{":
        flat = _FLAT_TABLE.match(line, pos)
        if flat is not None:
            return _flat_table(flat), flat.end()
        rich = _rich()[0].match(line, pos)
        if rich is not None:
            return _rich_table(rich.group(1)), rich.end()
        return _inline_table(line, pos)
    if char == "[":
        found = _SPACE.match(line, pos + 1)
        if line.startswith("{", found.end()):  # type: ignore[union-attr]
            array = _rich_array(line[pos:])
            if array is not None:
                tables, length = array
                # Copies: the cached tables are shared by every line like this one.
                return [{k: v.copy() if type(v) is dict else v for k, v in t.items()} for t in tables], pos + length
        return _inline_array(line, pos)
    if char == "'":
        found = _LITERAL.match(line, pos)
        if found is None or line.startswith("'''", pos):
            raise Unsupported(pos)
        return found.group(1), found.end()
    found = _SCALAR.match(line, pos)
    if found is None:
        raise Unsupported(pos)
    token = found.group()
    if token == "true":
        return True, found.end()
    if token == "false":
        return False, found.end()
    if _INTEGER.fullmatch(token):
        return int(token), found.end()
    moment = _DATETIME.fullmatch(token)
    if moment is not None:
        return _datetime(moment), found.end()
    raise Unsupported(token)


def _inline_table(line: str, pos: int) -> tuple[dict[str, Any], int]:
    table: dict[str, Any] = {}
    pos = _SPACE.match(line, pos + 1).end()  # type: ignore[union-attr]
    if line.startswith("}", pos):
        return table, pos + 1
    while True:
        found = _KEY_EQ.match(line, pos)
        if found is None:
            raise Unsupported(pos)
        key = found.group(1)
        if key[0] == '"':
            key = key[1:-1]
        if key in table:
            raise Unsupported(pos)
        table[key], pos = _value(line, found.end())
        pos = _SPACE.match(line, pos).end()  # type: ignore[union-attr]
        if line.startswith(",", pos):
            pos = _SPACE.match(line, pos + 1).end()  # type: ignore[union-attr]
            continue
        if line.startswith("}", pos):
            return table, pos + 1
        raise Unsupported(pos)


def _inline_array(line: str, pos: int) -> tuple[list[Any], int]:
    items: list[Any] = []
    pos = _SPACE.match(line, pos + 1).end()  # type: ignore[union-attr]
    while True:
        if line.startswith("]", pos):
            return items, pos + 1
        value, pos = _value(line, pos)
        items.append(value)
        pos = _SPACE.match(line, pos).end()  # type: ignore[union-attr]
        if line.startswith(",", pos):
            pos = _SPACE.match(line, pos + 1).end()  # type: ignore[union-attr]
            continue
        if line.startswith("]", pos):
            return items, pos + 1
        raise Unsupported(pos)


def _unescape(found: re.Match[str]) -> str:
    escape = found.group(1)
    if escape[0] in "uU":
        codepoint = int(escape[1:], 16)
        if 0xD800 <= codepoint <= 0xDFFF or codepoint > 0x10FFFF:
            raise Unsupported("not a Unicode scalar value")
        return chr(codepoint)
    return _ESCAPES[escape]


def _datetime(found: re.Match[str]) -> datetime:
    year, month, day, hour, minute, second, micros, zulu, sign, offset_hour, offset_minute = found.groups()
    tz: timezone | None = None
    if zulu:
        tz = timezone.utc
    elif sign:
        factor = -1 if sign == "-" else 1
        tz = timezone(timedelta(hours=factor * int(offset_hour), minutes=factor * int(offset_minute)))
    try:
        return datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second),
            int(micros.ljust(6, "0")) if micros else 0, tzinfo=tz,
        )
    except ValueError:
        raise Unsupported("invalid date") from None
