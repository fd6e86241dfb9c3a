"""A live Python environment: what is installed on an interpreter's `sys.path`, read exactly.

envguard runs the interpreter the user named (or its own, by default) once, in isolated mode
(`python -I -c PROBE`), and never anything else. The probe imports nothing but the standard
library, so it works in any environment of Python 3.8 or newer, and prints one JSON line after
a sentinel (so that a `sitecustomize` that prints does not confuse the reader). It lists every
distribution `importlib.metadata.distributions()` yields -- all of them, duplicates included,
in `sys.path` order, which is the order Python imports from and pytest loads plugins in.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from envguard._record import record
from envguard.errors import EnvguardError, SourceError
from envguard.model import Diagnostic, Kind, NormalizedName, Package, normalize

# Seconds the probe may take; a large environment is read in well under two.
TIMEOUT = 60.0
PYTEST11 = "pytest11"
_SENTINEL = "ENVGUARD-PROBE-1 "

# Runs inside the target interpreter: standard library only, Python 3.8 syntax, no output but
# the sentinel line. Marker values are computed the way packaging's default_environment() does.
PROBE = r"""
import json, os, platform, sys

def _full(info):
    version = "%d.%d.%d" % (info.major, info.minor, info.micro)
    if info.releaselevel != "final":
        version += info.releaselevel[0] + str(info.serial)
    return version

def _probe():
    try:
        import importlib.metadata as md
    except ImportError:
        return {"error": "needs Python 3.8 or newer"}
    markers = {
        "implementation_name": sys.implementation.name,
        "implementation_version": _full(sys.implementation.version),
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "platform_python_implementation": platform.python_implementation(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    }
    seen = set()
    found = []
    for dist in md.distributions():
        where = getattr(dist, "_path", None)
        if where is not None:
            # One directory reached twice (a path entry and a symlink to it) is one installation.
            real = os.path.realpath(str(where))
            if real in seen:
                continue
            seen.add(real)
        item = {"metadata": None if where is None else str(where)}
        try:
            item["location"] = str(dist.locate_file(""))
        except Exception:
            item["location"] = None
        try:
            meta = dist.metadata
            item["name"] = meta["Name"] if meta is not None else None
            item["version"] = meta["Version"] if meta is not None else None
            item["requires"] = list(dist.requires or [])
            item["pytest11"] = [[ep.name, ep.value] for ep in dist.entry_points if ep.group == "pytest11"]
            item["direct_url"] = dist.read_text("direct_url.json")
        except Exception as exc:
            item["error"] = "%s: %s" % (type(exc).__name__, exc)
        found.append(item)
    return {
        "executable": sys.executable,
        "implementation": sys.implementation.name,
        "version": platform.python_version(),
        "platform": sys.platform,
        "markers": markers,
        "path": list(sys.path),
        "distributions": found,
    }

sys.stdout.write("ENVGUARD-PROBE-1 " + json.dumps(_probe()) + "\n")
sys.stdout.flush()
"""

# Marker variables that describe the running kernel, not the environment: kept for evaluating
# markers on a live interpreter, left out of snapshots so that a fingerprint survives a reboot.
VOLATILE_MARKERS = ("platform_release", "platform_version")
_EXTRA = re.compile(r"""extra\s*==\s*["']([^"']+)["']|["']([^"']+)["']\s*==\s*extra""")
_IN_SET = re.compile(r"""["']([^"']+)["']\s+(?:not\s+)?in\s+(?:extras|dependency_groups)""")


class InterpreterError(EnvguardError):
    """The named interpreter is missing, is no Python, crashed or hung; always one line."""

    def __init__(self, python: str, message: str) -> None:
        super().__init__(python, message)
        self.python = python
        self.message = message

    def __str__(self) -> str:
        return f"{self.python}: {self.message}"


@record(frozen=True)
class Interpreter:
    executable: str
    version: str  # python_full_version, e.g. "3.12.4"
    implementation: str  # sys.implementation.name, e.g. "cpython"
    platform: str  # sys.platform, e.g. "linux"
    markers: tuple[tuple[str, str], ...]  # the marker environment, sorted by variable

    def marker_environment(self) -> dict[str, str]:
        return dict(self.markers)


@record(frozen=True)
class Distribution:
    """One installed copy of a distribution; a duplicate installation is two of these."""

    name: NormalizedName
    version: str
    kind: Kind
    requires: tuple[str, ...]  # Requires-Dist, as written
    pytest11: tuple[tuple[str, str], ...]  # (entry-point name, object reference)
    path: str  # where it is recorded: the METADATA file, or the snapshot file
    line: int
    location: str = ""  # the sys.path directory it was found in ("" in a snapshot)
    url: str | None = None  # the PEP 610 direct URL, when it was installed from one

    def package(self) -> Package:
        return Package(
            name=self.name,
            version=self.version,
            kind=self.kind,
            groups=(),
            marker=None,
            path=self.path,
            line=self.line,
        )


@record(frozen=True)
class Environment:
    """What one interpreter sees: distributions in `sys.path` order, the first copy wins."""

    source: str  # the interpreter's path, or the snapshot file it was read from
    interpreter: Interpreter
    distributions: tuple[Distribution, ...]
    warnings: tuple[Diagnostic, ...] = ()

    def packages(self) -> tuple[Package, ...]:
        return tuple(dist.package() for dist in self.distributions)

    def installed(self) -> dict[NormalizedName, list[Distribution]]:
        """Name -> every installed copy, the one Python imports first."""
        found: dict[NormalizedName, list[Distribution]] = {}
        for dist in self.distributions:
            found.setdefault(dist.name, []).append(dist)
        return found


def find_interpreter(python: str | os.PathLike[str] | None) -> str:
    """The interpreter to run: the path given, a venv directory's interpreter, a command on PATH."""
    if python is None:
        return sys.executable or "python3"
    text = os.fspath(python)
    path = Path(text)
    if path.is_dir():
        for candidate in (path / "bin" / "python", path / "Scripts" / "python.exe"):
            if candidate.exists():
                return str(candidate)
        raise InterpreterError(text, "is a directory without bin/python; give the interpreter of the environment")
    if path.exists():
        return text
    if os.sep not in text and (os.altsep is None or os.altsep not in text):
        found = shutil.which(text)
        if found is not None:
            return found
    raise InterpreterError(text, "no such interpreter; give the path of a Python interpreter, e.g. .venv/bin/python")


def read_environment(python: str | os.PathLike[str] | None = None, *, timeout: float = TIMEOUT) -> Environment:
    """Run the probe in `python` (default: the running interpreter) and read what it reports."""
    executable = find_interpreter(python)
    shown = os.fspath(python) if python is not None else executable
    try:
        completed = subprocess.run(
            [executable, "-I", "-c", PROBE],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise InterpreterError(shown, f"did not answer within {timeout:g} s") from None
    except PermissionError:
        raise InterpreterError(shown, "is not executable; give the path of a Python interpreter") from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InterpreterError(shown, f"cannot be run ({reason}); is it a Python interpreter?") from None
    stdout = completed.stdout.decode("utf-8", "replace")
    line = next((raw for raw in reversed(stdout.splitlines()) if raw.startswith(_SENTINEL)), None)
    if completed.returncode != 0 or line is None:
        return _failed(shown, completed.returncode, completed.stderr.decode("utf-8", "replace"))
    try:
        data = json.loads(line[len(_SENTINEL):])
    except json.JSONDecodeError:
        raise InterpreterError(shown, "printed a report envguard cannot read") from None
    return parse_report(data, shown)


def _failed(shown: str, code: int, stderr: str) -> Environment:
    last = next((raw.strip() for raw in reversed(stderr.splitlines()) if raw.strip()), "")
    detail = f": {last[:200]}" if last else ""
    if code < 0:
        raise InterpreterError(shown, f"crashed (signal {-code}) while listing its distributions{detail}")
    if code != 0:
        raise InterpreterError(shown, f"is not a Python interpreter or failed (exit {code}){detail}")
    raise InterpreterError(shown, "is not a Python interpreter (it printed no envguard report)")


def parse_report(data: Any, shown: str) -> Environment:
    """The probe's JSON report as an Environment; `shown` names the interpreter in messages."""
    if not isinstance(data, dict):
        raise InterpreterError(shown, "printed a report envguard cannot read")
    if isinstance(data.get("error"), str):
        raise InterpreterError(shown, data["error"])
    markers = data.get("markers")
    items = data.get("distributions")
    if not isinstance(markers, dict) or not isinstance(items, list):
        raise InterpreterError(shown, "printed a report envguard cannot read")
    interpreter = Interpreter(
        executable=str(data.get("executable") or shown),
        version=str(data.get("version", "")),
        implementation=str(data.get("implementation", "")),
        platform=str(data.get("platform", "")),
        markers=tuple(sorted((str(k), str(v)) for k, v in markers.items())),
    )
    warnings: list[Diagnostic] = []
    distributions = []
    for item in items:
        dist = _distribution(item, warnings)
        if dist is not None:
            distributions.append(dist)
    return Environment(shown, interpreter, tuple(distributions), tuple(warnings))


def _distribution(item: Any, warnings: list[Diagnostic]) -> Distribution | None:
    if not isinstance(item, dict):
        return None
    metadata = item.get("metadata") if isinstance(item.get("metadata"), str) else None
    where = _metadata_file(metadata) if metadata else str(item.get("location") or "<unknown>")
    name, version = item.get("name"), item.get("version")
    if isinstance(item.get("error"), str):
        warnings.append(Diagnostic(where, None, f"unreadable distribution metadata ({item['error']}); skipped"))
        return None
    if not isinstance(name, str) or not name.strip() or not isinstance(version, str):
        warnings.append(Diagnostic(where, None, "distribution metadata without Name or Version; skipped"))
        return None
    kind, url = Kind.REGISTRY, None
    raw_url = item.get("direct_url")
    if isinstance(raw_url, str):
        kind, url = _direct(raw_url, name, where, warnings)
    requires = tuple(str(r) for r in item.get("requires") or () if isinstance(r, str))
    entry_points = tuple(
        (str(pair[0]), str(pair[1]))
        for pair in item.get("pytest11") or ()
        if isinstance(pair, list) and len(pair) == 2
    )
    return Distribution(
        name=normalize(name),
        version=version,
        kind=kind,
        requires=requires,
        pytest11=entry_points,
        path=where,
        line=1,
        location=str(item.get("location") or ""),
        url=url,
    )


def _metadata_file(metadata: str) -> str:
    """The file that names the distribution: METADATA in a .dist-info, PKG-INFO in an .egg-info."""
    if metadata.endswith(".dist-info"):
        return os.path.join(metadata, "METADATA")
    if metadata.endswith(".egg-info") and os.path.isdir(metadata):
        return os.path.join(metadata, "PKG-INFO")
    return metadata


def _direct(text: str, name: str, where: str, warnings: list[Diagnostic]) -> tuple[Kind, str | None]:
    from envguard.sources.pip_json import _direct_kind

    try:
        data = json.loads(text)
        kind = _direct_kind(data, name, where, 1)
    except (json.JSONDecodeError, SourceError):
        warnings.append(Diagnostic(where, None, f"{name}: direct_url.json is not a valid PEP 610 record; ignored"))
        return Kind.REGISTRY, None
    url = data.get("url") if isinstance(data, dict) else None
    return kind, url if isinstance(url, str) else None


def marker_applies(
    marker: str | None,
    environment: Mapping[str, str],
    *,
    extras: frozenset[str] = frozenset(),
    groups: frozenset[str] = frozenset(),
    any_extra: bool = False,
) -> bool:
    """Whether `marker` holds for this interpreter; unparseable or undecidable markers hold.

    `extras` are the extras selected (an `extra == "x"` marker holds for any of them), `groups`
    the dependency groups (PEP 751 `'dev' in dependency_groups`). With `any_extra`, every extra
    and group a marker names counts as selected.
    """
    if marker is None or not marker.strip():
        return True
    return _marker_applies(marker, tuple(sorted(environment.items())), extras, groups, any_extra)


@functools.lru_cache(maxsize=4096)
def _marker_applies(
    marker: str,
    environment: tuple[tuple[str, str], ...],
    extras: frozenset[str],
    groups: frozenset[str],
    any_extra: bool,
) -> bool:
    from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName

    try:
        parsed = Marker(marker)
    except InvalidMarker:
        return True
    named = sorted({a or b for a, b in _EXTRA.findall(marker)})
    selected = {normalize(e) for e in extras}
    sets = {normalize(name) for name in extras | groups}
    if any_extra:
        sets |= {normalize(name) for name in _IN_SET.findall(marker)}
    candidates = [""] + [e for e in named if any_extra or normalize(e) in selected]
    base: dict[str, str | frozenset[str]] = {
        **{key: "" for key in VOLATILE_MARKERS},
        **dict(environment),
        "extras": frozenset(sets),
        "dependency_groups": frozenset(sets),
    }
    for extra in candidates:
        try:
            if parsed.evaluate({**base, "extra": extra}, context="lock_file"):
                return True
        except (UndefinedComparison, UndefinedEnvironmentName, TypeError, ValueError):
            return True
    return False
