"""JSON parsing shared by the JSON loaders, with clean errors and entry line numbers.

`json.loads` keeps no positions and searching for `"key":` is fooled by the same key nested
in an earlier value (a package called `version` after an entry with a `"version"` key), by
escapes and by duplicates; walking the text with the standard decoder is exact and cheap.
The walking functions expect text that `parse_json` has already accepted.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left
from pathlib import Path
from typing import Any

from envguard._record import record
from envguard.errors import SourceError


@record(frozen=True)
class Document:
    """A parsed JSON file with what its loader needs to place entries on lines."""

    data: Any
    text: str
    lines: LineIndex
    start: int  # offset of the top-level value


def read_document(path: Path, shown: str) -> Document | None:
    """The parsed file, or None when it holds nothing but white space."""
    from envguard.sources._text import read_text

    text = read_text(path, shown)
    if not text.strip():
        return None
    data = parse_json(text, shown)
    return Document(data, text, LineIndex(text), root(text))


def parse_json(text: str, shown: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(shown, exc.lineno, f"invalid JSON: {exc.msg}") from None
    except RecursionError:
        raise SourceError(shown, None, "invalid JSON: nested too deeply") from None
    except ValueError:
        # int() refuses a decimal integer longer than sys.get_int_max_str_digits().
        found = _LONG_NUMBER.search(text)
        line = text.count("\n", 0, found.start()) + 1 if found else None
        raise SourceError(shown, line, "invalid JSON: an integer has too many digits") from None


# Tried only where a run of digits starts, so that the search stays linear.
_LONG_NUMBER = re.compile(r"(?<![0-9])[0-9]{4000,}")


_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")


class LineIndex:
    """1-based line of any offset in `text`, in logarithmic time."""

    def __init__(self, text: str) -> None:
        self._newlines = [found.start() for found in re.finditer("\n", text)]

    def line(self, offset: int) -> int:
        return bisect_left(self._newlines, offset) + 1


def _skip_space(text: str, offset: int) -> int:
    found = _SPACE.match(text, offset)
    return found.end() if found else offset


def root(text: str) -> int:
    """Offset of the document's top-level value."""
    return _skip_space(text, 0)


def members(text: str, start: int) -> dict[str, tuple[int, int]]:
    """key -> (offset of the key, offset of its value) for the object whose `{` is at `start`.

    A duplicated key maps to its last occurrence, the one whose value `json.loads` keeps.
    """
    found: dict[str, tuple[int, int]] = {}
    position = _skip_space(text, start + 1)
    while text[position] != "}":
        key, after_key = _DECODER.raw_decode(text, position)
        value = _skip_space(text, _skip_space(text, after_key) + 1)  # past the ':'
        found[key] = (position, value)
        position = _after_value(text, value)
    return found


def items(text: str, start: int) -> list[int]:
    """Offsets of the items of the array whose `[` is at `start`."""
    found: list[int] = []
    position = _skip_space(text, start + 1)
    while text[position] != "]":
        found.append(position)
        position = _after_value(text, position)
    return found


def _after_value(text: str, value: int) -> int:
    """Offset of the next member or item after the value at `value`, or of the closing bracket."""
    _, end = _DECODER.raw_decode(text, value)
    position = _skip_space(text, end)
    if text[position] == ",":
        position = _skip_space(text, position + 1)
    return position
