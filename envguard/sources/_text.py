"""Reading dependency files as text, the same way for every loader."""

from __future__ import annotations

import codecs
import os
from collections.abc import Callable
from pathlib import Path

from envguard.errors import SourceError

MAX_BYTES = 50 * 1024 * 1024

# Set by envguard.cache while a service loads: told of every file read, its status taken before
# the read and the bytes read, so that a cache entry knows exactly which content it came from.
observer: Callable[[Path, os.stat_result, bytes], None] | None = None
# Set by envguard.inventory while a service loads, unless --allow-outside-root: the resolved
# workspace root. The readers refuse `../` paths by their text; a symbolic link that leads out of
# the root is refused here, where every read passes.
confined_to: Path | None = None

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def read_text(path: Path, display: str | None = None) -> str:
    """Decode a file, honouring a byte-order mark; universal newlines, BOM removed."""
    shown = display if display is not None else str(path)
    return decode(read_bytes(path, shown), shown)


def read_bytes(path: Path, shown: str) -> bytes:
    """A file's bytes, for a loader that decodes them its own way (requirements files, as pip)."""
    if confined_to is not None and not _inside(path, confined_to):
        raise SourceError(
            shown, None, "a symbolic link to a file outside the workspace root; pass --allow-outside-root to read it"
        )
    try:
        status = path.stat()
        size = status.st_size
        if size > MAX_BYTES:
            raise SourceError(shown, None, f"file is too large ({size} bytes; the limit is {MAX_BYTES})")
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(shown, None, f"cannot read file: {exc.strerror or exc}") from None
    if observer is not None:
        observer(path, status, data)
    return data


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root)
    except ValueError:
        return False
    except OSError:  # a link loop: the read says what is wrong
        return True
    return True


def decode(data: bytes, shown: str) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            body = data[len(bom) :]
            try:
                text = body.decode(encoding)
            except UnicodeDecodeError as exc:
                raise SourceError(shown, None, f"not valid {encoding.upper()} text ({exc.reason})") from None
            return _normalize_newlines(text)
    nul = data.find(b"\x00")
    if nul != -1:
        raise SourceError(shown, data.count(b"\n", 0, nul) + 1, "binary file (contains NUL bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SourceError(shown, line, f"not valid UTF-8 text (byte 0x{data[exc.start]:02x})") from None
    return _normalize_newlines(text)


def _normalize_newlines(text: str) -> str:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text
