"""pip's own reading of a requirements file, for the differential test (test_requirements_pip.py).

pip's parser is internal API: `pip_api()` skips with the reason when it has moved. The oracle
runs what `pip install -r requirements.txt` runs before it resolves, in the file's directory:
`parse_requirements`, `install_req_from_parsed_requirement` for each entry, and the constraint
checks the resolver makes first. An entry pip could only name by building it is named as
envguard documents it (a local project's pyproject.toml `[project] name`, an sdist's file name)
or reported as unnamed: envguard must then refuse that line.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from packaging.utils import canonicalize_name, parse_sdist_filename
from packaging.version import Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - tomli is a runtime dependency below 3.11
    import tomli as tomllib

# The pip release whose reading envguard follows (envguard/sources/requirements.py).
FOLLOWED = Version("26.3")
# The oldest pip whose changes since are known to the cases (their `since`).
OLDEST = Version("23.2")

# (file, line, name, version, marker, constraint): one entry as both readers report it.
Entry = tuple[str, int, str, "str | None", "str | None", bool]

_COMES_FROM = re.compile(r"^-[rc] (?P<file>.*) \(line (?P<line>\d+)\)$")


@dataclass(frozen=True)
class Rejected:
    reason: str


@dataclass(frozen=True)
class Unnamed:
    """pip accepted the file, but only a build would name the entry at (file, line)."""

    file: str
    line: int


Reading = frozenset[Entry] | Rejected | Unnamed


@dataclass(frozen=True)
class PipApi:
    version: Version
    parse: Callable[..., Iterator[Any]]
    make: Callable[[Any], Any]
    check_constraint: Callable[[Any], str]
    session: Any


def pip_api() -> PipApi:
    """The running pip's parser, or a skip that says why the comparison cannot run."""
    version = Version(metadata.version("pip"))
    if version < OLDEST:
        pytest.skip(f"pip {version} is older than {OLDEST}, the oldest pip this comparison knows")
    try:
        from pip._internal.network.session import PipSession
        from pip._internal.req.constructors import install_req_from_parsed_requirement
        from pip._internal.req.req_file import parse_requirements
        from pip._internal.req.req_install import check_invalid_constraint_type
    except ImportError as exc:
        pytest.skip(f"pip {version}'s internal requirements API moved ({exc}); update tests/sources/pip_oracle.py")
    return PipApi(version, parse_requirements, install_req_from_parsed_requirement, check_invalid_constraint_type, PipSession())


@contextlib.contextmanager
def _quiet_in(directory: Path) -> Iterator[None]:
    """pip resolves relative paths from its working directory and logs what it tolerates."""
    previous = os.getcwd()
    os.chdir(directory)
    logging.disable(logging.CRITICAL)
    try:
        # optparse prints its usage before pip turns its error into an exception.
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(logging.NOTSET)
        os.chdir(previous)


def pip_reading(api: PipApi, root: Path, entry: str = "requirements.txt") -> Reading:
    entries: set[Entry] = set()
    unnamed: Unnamed | None = None
    with _quiet_in(root):
        try:
            for parsed in api.parse(entry, session=api.session):
                requirement = api.make(parsed)
                if parsed.constraint:
                    problem = api.check_constraint(requirement)
                    if problem:
                        return Rejected(problem)
                found = _COMES_FROM.match(parsed.comes_from)
                assert found is not None, parsed.comes_from
                file = os.path.relpath(os.path.join(root, found.group("file")), root).replace(os.sep, "/")
                line = int(found.group("line"))
                name = canonicalize_name(requirement.req.name) if requirement.req else _built_name(requirement.link)
                if name is None:
                    unnamed = unnamed or Unnamed(file, line)
                    continue
                marker = str(requirement.markers) if requirement.markers else None
                entries.add((file, line, name, _pinned(requirement.req), marker, bool(parsed.constraint)))
        except Exception as exc:  # whatever pip raises, it refuses the file
            return Rejected(f"{type(exc).__name__}: {exc}")
    return unnamed or frozenset(entries)


def _pinned(requirement: Any) -> str | None:
    """The version of a single `==` (not `.*`) or `===` specifier, as envguard reports it."""
    if requirement is None:
        return None
    specifiers = list(requirement.specifier)
    if len(specifiers) != 1:
        return None
    operator, version = specifiers[0].operator, specifiers[0].version
    exact = operator == "===" or (operator == "==" and not version.endswith(".*"))
    return str(version) if exact else None


def _built_name(link: Any) -> str | None:
    """The name a build would give: a local project's `[project] name`, else an sdist's file name."""
    if link.scheme == "file":
        try:
            path = Path(link.file_path)
        except ValueError:
            return None
        if path.is_dir():
            try:
                project = tomllib.loads((path / "pyproject.toml").read_text(encoding="utf-8")).get("project", {})
            except (OSError, tomllib.TOMLDecodeError):
                return None
            name = project.get("name") if isinstance(project, dict) else None
            return canonicalize_name(name) if isinstance(name, str) else None
    try:
        return canonicalize_name(parse_sdist_filename(link.filename)[0])
    except ValueError:
        return None
