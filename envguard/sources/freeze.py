"""`pip freeze` and `uv pip freeze` output: one installed distribution per line.

An environment does not say why a package is installed, so every package has no groups.
"""

from __future__ import annotations

import re
from pathlib import Path

from envguard.errors import SourceError
from envguard.model import Diagnostic, Kind, Loaded, Package, normalize
from envguard.sources._text import read_text
from envguard.sources.requirements import egg_name, source_of, url_kind

_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_EXTRAS = r"(?:\s*\[[^\]]*\])?"
# `Name==1.0`, or `Name===1.0-custom` for a version that is not PEP 440.
_PIN = re.compile(rf"(?P<name>{_NAME}){_EXTRAS}\s*===?\s*(?P<version>[^\s;]+)")
# `Name @ https://…`, `Name @ git+https://…@commit`, `Name @ file:///…` (PEP 610 direct URLs).
_DIRECT = re.compile(rf"(?P<name>{_NAME}){_EXTRAS}\s+@\s+(?P<url>\S+)")
_EDITABLE = re.compile(r"(?:-e\s+|--editable(?:=|\s+))(?P<target>\S.*)")
# pip writes the name and version of an editable it cannot describe by URL in a comment before it:
# `# Editable install with no version control (Name==1.0)`, `# Editable Git install with no
# remote (Name==1.0)`, `# Editable Git install (Name==1.0) with either a deleted local remote …`.
_EDITABLE_COMMENT = re.compile(rf"#\s*Editable\b[^(]*\(\s*(?P<name>{_NAME})\s*===?\s*(?P<version>[^()\s]+)\s*\)")

_NAMELESS = (
    "editable install {!r} has no project name here (pip writes it in a preceding"
    " '# Editable install ... (name==version)' comment); skipped"
)


def load(path: Path, shown: str) -> Loaded:
    text = read_text(path, shown)
    packages: list[Package] = []
    warnings: list[Diagnostic] = []
    described: re.Match[str] | None = None  # the editable comment waiting for its `-e` line
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            described = _EDITABLE_COMMENT.match(line) or described
            continue
        editable = _EDITABLE.fullmatch(line)
        if editable:
            target = editable.group("target").strip()
            package = _editable(target, described, shown, number)
            if package is None:
                warnings.append(Diagnostic(shown, number, _NAMELESS.format(target)))
            else:
                packages.append(package)
        else:
            packages.append(_requirement(line, shown, number))
        described = None
    return Loaded(packages=tuple(packages), warnings=tuple(warnings))


def _requirement(line: str, shown: str, number: int) -> Package:
    pin = _PIN.fullmatch(line)
    if pin:
        return Package(normalize(pin.group("name")), pin.group("version"), Kind.REGISTRY, (), None, shown, number)
    direct = _DIRECT.fullmatch(line)
    if direct:
        url = direct.group("url")
        return Package(normalize(direct.group("name")), None, url_kind(url), (), None, shown, number, source=source_of(url))
    shown_line = line if len(line) <= 60 else line[:57] + "..."
    raise SourceError(
        shown, number, f"not pip freeze output (expected 'name==version', 'name @ url' or '-e ...'): {shown_line!r}"
    )


def _editable(target: str, described: re.Match[str] | None, shown: str, number: int) -> Package | None:
    """`-e vcs+url#egg=name` names itself; a bare path (pip) or file: URL (uv) needs the comment."""
    egg = egg_name(target, shown, number)
    if egg is not None:
        return Package(normalize(egg), None, Kind.EDITABLE, (), None, shown, number, source=source_of(target))
    if described is None:
        return None
    name, version = normalize(described.group("name")), described.group("version")
    return Package(name, version, Kind.EDITABLE, (), None, shown, number, source=source_of(target))
