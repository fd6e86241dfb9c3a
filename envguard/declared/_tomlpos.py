"""Where each key and array element of a TOML document starts: the lines tomllib drops.

The declaration readers parse a file once with `envguard.sources._toml.parse_toml` and then
need the line of every requirement string and every dependency key. Searching the text for
each of them costs a pass per requirement and is fooled by the same text elsewhere (a comment,
a second table); this module walks the text once instead and records, for every key path, the
line of its key, and for every array element (`(..., "dependencies", 3)`), the line where the
element starts. `[[x]]` elements are numbered like array elements.

The text is one tomllib has already accepted, so the walk only tokenises: it never validates,
and anything it cannot place (a key spelled with an escape it does not decode the same way)
falls back to the nearest enclosing table's line through `Positions.line`.
"""

from __future__ import annotations

import re

Path = tuple["str | int", ...]

# One token per match; the leading blanks are skipped by the pattern itself. Multi-line
# strings are single tokens (their newlines are counted), so a `[` or `=` inside never
# looks like syntax. `[[`/`]]` are tokens so that an array-of-tables header is recognised.
_TOKEN = re.compile(
    r"""[ \t]*(
    \n
    | \#[^\n]*
    | \"\"\"(?:[^"\\]|\\[\s\S]|"{1,2}(?!"))*"{3,5}
    | '''(?:[^']|'{1,2}(?!'))*'{3,5}
    | "(?:[^"\\\n]|\\.)*"
    | '[^'\n]*'
    | \[\[ | \]\] | [\[\]{}=,.]
    | [^\s\[\]{}=,\#"'.]+
    )""",
    re.VERBOSE,
)
_ESCAPE = re.compile(r"\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)")
_SIMPLE_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\", "e": "\x1b"}

# Walk states.
_KEY, _VALUE, _AFTER = 0, 1, 2


class Positions:
    """The line of every key path and array element of one document."""

    __slots__ = ("_lines",)

    def __init__(self, lines: dict[Path, int]) -> None:
        self._lines = lines

    def line(self, path: Path) -> int:
        """The line of `path`, else of its nearest recorded ancestor, else 1."""
        lines = self._lines
        while path:
            found = lines.get(path)
            if found is not None:
                return found
            path = path[:-1]
        return 1

    def exact(self, path: Path) -> int | None:
        return self._lines.get(path)


def _key(token: str) -> str:
    if token[0] == '"':
        body = token[1:-1]
        return _ESCAPE.sub(_unescape, body) if "\\" in body else body
    if token[0] == "'":
        return token[1:-1]
    return token


def _unescape(found: re.Match[str]) -> str:
    code = found.group(1)
    if len(code) > 1:
        return chr(int(code[1:], 16))
    return _SIMPLE_ESCAPES.get(code, code)


def positions(text: str) -> Positions:
    """Walk `text` (valid TOML) once and record where everything starts."""
    lines: dict[Path, int] = {}
    aot: dict[Path, int] = {}  # array-of-tables path -> elements seen
    table: Path = ()
    # Open arrays and inline tables: [path, next index or -1 for an inline table].
    stack: list[list[object]] = []
    state = _KEY
    keys: list[str] = []
    key_line = 0
    header = 0  # 1 inside `[...]`, 2 inside `[[...]]`
    value_path: Path = ()
    line = 1
    for token in _TOKEN.findall(text):
        first = token[0]
        if first == "\n":
            line += 1
            if state == _AFTER and not stack:
                state = _KEY
            continue
        if first == "#":
            continue
        if state == _KEY:
            if header:
                if first == "]":
                    table = _header_path(keys, header == 2, aot)
                    lines[table] = key_line
                    _ancestors(lines, table, key_line)
                    keys, header, state = [], 0, _AFTER
                elif first != ".":
                    keys.append(_key(token))
                continue
            if first == "[" and not stack and not keys:
                header, key_line = (2 if token == "[[" else 1), line
                continue
            if first == "=":
                base = table if not stack else stack[-1][0]
                value_path = base + tuple(keys)  # type: ignore[operator]
                lines[value_path] = key_line
                if len(keys) > 1:
                    _ancestors(lines, value_path, key_line)
                keys, state = [], _VALUE
                continue
            if first == "}":  # an empty inline table, or a trailing `}` after a comma
                stack.pop()
                state = _AFTER
                continue
            if first in ".,":
                continue
            if not keys:
                key_line = line
            keys.append(_key(token))
            continue
        if state == _VALUE:
            if first == "]":  # an empty array, or after a trailing comma
                for _ in token:
                    stack.pop()
                state = _AFTER
                continue
            if stack and stack[-1][1] != -1:
                lines[value_path] = line
            if first == "[":
                stack.append([value_path, 0])
                if token == "[[":
                    value_path = value_path + (0,)
                    lines[value_path] = line
                    stack.append([value_path, 0])
                value_path = value_path + (0,)
                continue
            if first == "{":
                stack.append([value_path, -1])
                state = _KEY
                continue
            if token.startswith(('"""', "'''")):
                line += token.count("\n")
            state = _AFTER
            continue
        # _AFTER: the rest of a value (a float's digits, a datetime's time) up to its end.
        if first == ",":
            if stack:
                frame = stack[-1]
                if frame[1] == -1:
                    state = _KEY
                else:
                    frame[1] = index = frame[1] + 1  # type: ignore[operator]
                    value_path = frame[0] + (index,)  # type: ignore[operator]
                    state = _VALUE
        elif first in "]}":
            for _ in token:
                stack.pop()
        elif token.startswith(('"""', "'''")):
            line += token.count("\n")
    return Positions(lines)


def _header_path(keys: list[str], array: bool, aot: dict[Path, int]) -> Path:
    """The document path a header names: every array of tables on the way is its last element."""
    path: Path = ()
    last = len(keys) - 1
    for position, key in enumerate(keys):
        path = path + (key,)
        if array and position == last:
            count = aot.get(path, 0)
            aot[path] = count + 1
            path = path + (count,)
        elif path in aot:
            path = path + (aot[path] - 1,)
    return path


def _ancestors(lines: dict[Path, int], path: Path, line: int) -> None:
    """Tables a header or dotted key creates implicitly start where they are first named."""
    for end in range(1, len(path)):
        lines.setdefault(path[:end], line)
