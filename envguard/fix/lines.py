"""Files as lines of bytes: read one line, replace some, write the whole file back atomically.

Every edit `envguard fix` makes goes through here, so that a file keeps its encoding, its line
ends (LF or CRLF), its byte order mark and every byte outside the edited versions, and so that a
reader (or a crash) never sees a half-written file: the new content is written beside the file
and moved over it in one `os.replace`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from envguard.fix.model import Edit

_BOM = "\ufeff"


def line_text(raw: bytes, number: int) -> str | None:
    """Line `number` (1-based) of `raw` without its line end or byte order mark; None past the end
    or when it is not UTF-8."""
    lines = raw.split(b"\n")
    if not 1 <= number <= len(lines):
        return None
    try:
        text = lines[number - 1].decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text.removeprefix(_BOM).removesuffix("\r")


def replaced(raw: bytes, edits: Iterable[Edit]) -> bytes:
    """`raw` with each edit's line replaced; ValueError when a line no longer reads `old`."""
    lines = raw.split(b"\n")
    for edit in edits:
        current = line_text(raw, edit.line)
        if current != edit.old:
            raise ValueError(f"{edit.path}:{edit.line} changed since the plan (it no longer reads {edit.old.strip()!r})")
        line = lines[edit.line - 1].decode("utf-8")
        head = _BOM if line.startswith(_BOM) else ""
        tail = "\r" if line.endswith("\r") else ""
        lines[edit.line - 1] = f"{head}{edit.new}{tail}".encode("utf-8")
    return b"\n".join(lines)


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data` in one step, keeping its permission bits."""
    try:
        mode: int | None = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = None
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".envguard-fix", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
