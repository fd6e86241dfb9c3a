"""Where a policy named by the user lives: a local path, an installed package, or a pinned URL.

A policy reference is written in one of three forms:

- a path on the local file system, relative to `base` (the current directory for `--policy`,
  the workspace root for `[tool.envguard] policy`, the referring file's directory for `extends`);
- `package:NAME` or `package:NAME/PATH`: a file shipped inside an installed distribution, found
  through its installed file list (the distribution is never imported);
- `https://...#sha256=HEX`: fetched once, checked against the hash, then read from the user's
  cache with no network.

Each form is resolved to a real file on disk (`Located.path`), so the policy loader reads every
kind the same way. `identity` is what cycle detection compares: the real path for files on disk
(a package's file is one too, so a local path and a `package:` reference to the same file are the
same policy), the content hash for a URL. The package and URL modules are imported only when a
reference of their kind is named: most runs use a local file or the built-in policy.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Final, Literal

from envguard._record import record
from envguard.errors import EnvguardError, one_line

PACKAGE_PREFIX: Final = "package:"
# `scheme://`: anything else is a path (a Windows drive, `C:\policy.yaml`, has no `//`).
_URL: Final = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")

Kind = Literal["path", "package", "url"]


class LocateError(EnvguardError):
    """A reference that names no usable policy file; str() is the one-line reason."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = one_line(message)

    def __str__(self) -> str:
        return self.message


@record(frozen=True)
class Located:
    """A policy file found on disk, how reports name it, and what makes it the same file."""

    path: Path
    shown: str
    identity: str
    kind: Kind = "path"
    # For a package's file: the reference its relative `extends` resolve against
    # (`package:NAME/DIR`), so that they stay among the same distribution's files.
    inside: str | None = None


def reference_kind(written: str) -> Kind:
    if written.startswith(PACKAGE_PREFIX):
        return "package"
    if _URL.match(written):
        return "url"
    return "path"


def locate(written: str, base: Path) -> Located:
    """The file `written` names; raises LocateError with a one-line reason when there is none."""
    kind = reference_kind(written)
    if kind == "package":
        from envguard.locate.package import locate_package

        return locate_package(written[len(PACKAGE_PREFIX):])
    if kind == "url":
        from envguard.locate.url import locate_url

        return locate_url(written)
    path = base / written
    try:
        identity = os.path.realpath(path)
    except ValueError:  # a NUL byte
        raise LocateError(f"not a valid path: {written!r}") from None
    return Located(path, written, identity)
