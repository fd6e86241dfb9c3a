"""Pins in pip's requirement files (requirements, freeze, constraints, pip-compile's `.in`), and the
command a compiled file's header records.

A pin is edited in place: on the line that declares it, only the version after `==` changes.
"""

from __future__ import annotations

import re
import shlex

from envguard._record import record
from envguard.fix.lines import line_text
from envguard.fix.model import Edit
from envguard.model import NormalizedName

# The header pip-compile and uv write above what they compiled; the command is on one comment line.
_HEADER_COMMAND = re.compile(r"^#\s+((?:pip-compile|uv pip compile|uv export)\b.*?)\s*$")
_HEADER_LINES = 12
_HASH = re.compile(rb"(^|\s)--hash[= ]", re.M)


@record(frozen=True)
class Header:
    """What a compiled requirements file says compiled it."""

    tool: str  # "pip-compile", "uv-pip-compile" or "uv-export"
    argv: tuple[str, ...]  # the recorded command, split as a shell would


def name_pattern(name: NormalizedName) -> str:
    """A regular expression for every spelling of `name` (`Jinja2`, `typing_extensions`)."""
    return r"[-_.]+".join(re.escape(part) for part in name.split("-"))


def pin_edit(raw: bytes, path: str, line: int, name: NormalizedName, old: str, new: str) -> Edit | None:
    """The edit that moves the exact pin of `name` at `old` on `line` to `new`; None when the line
    holds no such pin."""
    text = line_text(raw, line)
    if text is None:
        return None
    pin = re.compile(rf"^(\s*{name_pattern(name)}\s*(?:\[[^\]]*\])?\s*===?\s*){re.escape(old)}(?=[\s;,\\#]|$)", re.I)
    found = pin.match(text)
    if found is None:
        return None
    return Edit(path, line, text, f"{found.group(1)}{new}{text[found.end():]}")


def hashed(raw: bytes) -> bool:
    """Whether any line carries `--hash`: pip then checks every file against the hashes written."""
    return _HASH.search(raw) is not None


def header(raw: bytes) -> Header | None:
    """The command recorded in the header of a file pip-compile, `uv pip compile` or `uv export` wrote."""
    for line in raw.split(b"\n")[:_HEADER_LINES]:
        if not line.startswith(b"#"):
            break
        found = _HEADER_COMMAND.match(line.decode("utf-8", "replace").rstrip("\r"))
        if found is None:
            continue
        try:
            argv = tuple(shlex.split(found.group(1)))
        except ValueError:
            return None
        if argv[:1] == ("pip-compile",):
            return Header("pip-compile", argv)
        if argv[:3] == ("uv", "pip", "compile"):
            return Header("uv-pip-compile", argv)
        return Header("uv-export", argv)
    return None
