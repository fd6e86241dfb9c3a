"""Exact pins in pyproject.toml (the declarations `envguard.declared.pyproject` reads), edited in place.

On the line that declares the pin only the version's characters change, so quoting, spacing,
comments, key order and every other line stay exactly as written: a style-preserving TOML
library (tomlkit) would keep most of that too, but costs 55-70 ms to import and a dependency,
for an edit that never needs more than one line. The edited file is parsed again before it
replaces the original (`check_toml`), so an edit can never leave invalid TOML behind.

The forms a declaration takes on its line:

* a PEP 508 string, in an array (`"pytest-cov==5.0.0",`), PEP 621, PEP 735, PDM, uv;
* a Poetry key (`pytest = "8.4.2"`, `"==8.4.2"`, `pytest = { version = "8.4.2", ... }`);
* the `version = "8.4.2"` line of a Poetry dependency written as its own table.
"""

from __future__ import annotations

import re

from envguard.fix.lines import line_text
from envguard.fix.model import Edit
from envguard.fix.requirements import name_pattern
from envguard.model import NormalizedName


def pin_edit(raw: bytes, path: str, line: int, name: NormalizedName, old: str, new: str) -> Edit | None:
    """The edit that moves the exact pin of `name` at `old` on `line` to `new`; None when the line
    holds no such pin (or more than one)."""
    text = line_text(raw, line)
    if text is None:
        return None
    spelled = name_pattern(name)
    version = re.escape(old)
    forms = (
        rf"""(?P<head>["']\s*{spelled}\s*(?:\[[^\]]*\])?\s*===?\s*){version}(?=[\s;,"'])""",
        rf"""(?P<head>^\s*["']?{spelled}["']?\s*=\s*["'](?:==)?){version}(?=["'])""",
        rf"""(?P<head>^\s*["']?{spelled}["']?\s*=\s*\{{[^}}]*?\bversion\s*=\s*["'](?:==)?){version}(?=["'])""",
        rf"""(?P<head>^\s*version\s*=\s*["'](?:==)?){version}(?=["'])""",
    )
    for form in forms:
        found = list(re.finditer(form, text, re.I))
        if len(found) == 1:
            match = found[0]
            return Edit(path, line, text, f"{text[:match.end('head')]}{new}{text[match.end():]}")
        if found:
            return None  # two pins of it on one line: not an edit to guess
    return None


def check_toml(data: bytes, shown: str) -> None:
    """Raise ValueError when `data` is no longer valid TOML."""
    from envguard.errors import SourceError
    from envguard.sources._toml import parse_toml

    try:
        parse_toml(data.decode("utf-8-sig"), shown)
    except (SourceError, UnicodeDecodeError) as exc:
        raise ValueError(f"{shown}: the edit would leave invalid TOML ({exc})") from None
