"""Poetry's version constraints (`^1.2`, `~1.2`, `1.2.*`, `>=1 <2`, `^1 || ^2`) as PEP 440.

The grammar is poetry-core's `poetry.core.constraints.version.parser` (2.x), followed
statement by statement: the same `||` and `,`/space splits, the same single-constraint forms
tried in the same order, the same bounds (`^0.2.3` is `>=0.2.3,<0.3.0`, `~1` is `>=1,<2`,
`<>1` is read as `==1` and `>=1.2.*` as `>=1.2`, as poetry does). Each single constraint
becomes PEP 440 clauses; `,` is PEP 440's intersection, so an `and` list is the clauses
joined. poetry-core is the test oracle (tests/declared/test_pyproject.py compares the
versions each side admits on a grid), never a run-time dependency.

Unions (`||`) have no PEP 440 spelling. They are read as one declaration whose specifier is
the union's hull (the smallest range holding every alternative): exact when the alternatives
touch or overlap (`^1 || ^2` is `>=1,<3`), with a single excluded point written `!=V`
(`<1.5 || >1.5`), and otherwise wider than Poetry's, which `convert` says in a note the
reader turns into a warning. One declaration per alternative was the other choice; it was
rejected because every rule reads a declaration's specifier as a requirement on its own, so a
version admitted by one alternative would be reported as violating the other. The hull never
reports a version Poetry accepts. Known differences, all at a bound: the pre- and
post-releases of the version where two alternatives meet, which Poetry excludes and the hull
admits.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from packaging.markers import InvalidMarker
from packaging.version import VERSION_PATTERN, InvalidVersion, Version

from envguard._record import record
from envguard.model import Kind, normalize

_FLAGS = re.VERBOSE | re.IGNORECASE
_ANY = re.compile(r"(?i)^v?[xX*](\.[xX*])*$")
_TILDE = re.compile(rf"^~(?!=)\s*(?P<version>{VERSION_PATTERN})$", _FLAGS)
_TILDE_PEP440 = re.compile(rf"^~=\s*(?P<version>{VERSION_PATTERN})$", _FLAGS)
_CARET = re.compile(rf"^\^\s*(?P<version>{VERSION_PATTERN})$", _FLAGS)
_X_RANGE = re.compile(r"^(?P<op>!=|==)?\s*v?(?P<version>(\d+)(?:\.(\d+))?(?:\.(\d+))?)(?:\.\*)+$")
_BASIC = re.compile(rf"^(?P<op><>|!=|>=?|<=?|==?)?\s*(?P<version>{VERSION_PATTERN}|dev)(?P<wildcard>\.\*)?$", _FLAGS)
_OR = re.compile(r"\s*\|\|?\s*")
_AND = re.compile(r"(?<!^)(?<![\^~=>< ,]) *(?<!-)[, ](?!-) *(?!,|$)")

Clause = tuple[str, str]  # (PEP 440 operator, version text): ("==", "1.2.*") for a wildcard


@record(frozen=True)
class Converted:
    version: str | None  # an exact pin
    specifier: str | None  # otherwise the PEP 440 specifier; None admits every version
    note: str | None = None  # why the specifier admits more than Poetry does


class ConstraintError(ValueError):
    """A constraint poetry-core would not parse either."""


@functools.lru_cache(maxsize=4096)
def convert(constraint: str) -> Converted:
    """`constraint` (a Poetry version constraint) as PEP 440. Raises ConstraintError."""
    alternatives = alternatives_of(constraint)
    if len(alternatives) == 1:
        clauses = alternatives[0]
        if len(clauses) == 1 and clauses[0][0] == "==" and not clauses[0][1].endswith(".*"):
            return Converted(clauses[0][1], None)
        return Converted(None, _joined(clauses))
    specifier, exact = _hull(alternatives)
    note = None if exact else f"the union {constraint.strip()!r} is read as its hull {specifier or '*'!r}"
    return Converted(None, specifier, note)


def alternatives_of(constraint: str) -> list[list[Clause]]:
    """The `||` alternatives, each an intersection of clauses ([] admits everything)."""
    if constraint == "*":
        return [[]]
    alternatives: list[list[Clause]] = []
    for alternative in _OR.split(constraint.strip()):
        alternative = alternative.rstrip(",").rstrip()
        clauses: list[Clause] = []
        for single in _AND.split(alternative):
            clauses.extend(_single(single))
        alternatives.append(clauses)
    return alternatives


def _joined(clauses: list[Clause]) -> str | None:
    return ",".join(op + version for op, version in clauses) or None


def _single(constraint: str) -> list[Clause]:
    if _ANY.match(constraint):
        return []
    found = _TILDE.match(constraint)
    if found:
        version = _version(found.group("version"), constraint)
        release = version.release
        high = _next_major(version) if len(release) == 1 else _next_minor(version)
        return [(">=", str(version)), ("<", high)]
    found = _TILDE_PEP440.match(constraint)
    if found:
        version = _version(found.group("version"), constraint)
        parts = list(version.release)
        if len(parts) < 2:
            high = _next_major(version)
        else:
            parts[-2] += 1
            parts[-1] = 0
            high = _render(version.epoch, parts)
        return [(">=", str(version)), ("<", high)]
    found = _CARET.match(constraint)
    if found:
        version = _version(found.group("version"), constraint)
        return [(">=", str(version)), ("<", _next_breaking(version))]
    found = _X_RANGE.match(constraint)
    if found:
        version = _version(found.group("version"), constraint)
        return [("!=" if found.group("op") == "!=" else "==", f"{version}.*")]
    found = _BASIC.match(constraint)
    if found:
        op = found.group("op")
        text = found.group("version")
        version = _version("0.0-dev" if text == "dev" else text, constraint)
        if op in ("<", "<=", ">", ">="):
            return [(op, str(version))]
        if found.group("wildcard") is not None:
            if version.pre is not None or version.post is not None or version.dev is not None or version.local:
                raise ConstraintError(f"a wildcard after a pre-, post- or dev-release is not supported: {constraint}")
            return [("!=" if op == "!=" else "==", f"{version}.*")]
        return [("!=" if op == "!=" else "==", str(version))]
    raise ConstraintError(f"could not parse version constraint: {constraint}")


def _version(text: str, constraint: str) -> Version:
    try:
        return Version(text)
    except InvalidVersion:
        raise ConstraintError(f"could not parse version constraint: {constraint}") from None


def _render(epoch: int, release: list[int] | tuple[int, ...]) -> str:
    body = ".".join(str(part) for part in release)
    return f"{epoch}!{body}" if epoch else body


# poetry-core's Release.next_major/minor/patch: the precision written is kept (`^1.2` -> `<2.0`).
def _next_major(version: Version) -> str:
    release = version.release
    return _render(version.epoch, (release[0] + 1, *(0 for _ in release[1:])))


def _next_minor(version: Version) -> str:
    release = version.release
    minor = release[1] + 1 if len(release) > 1 else 1
    return _render(version.epoch, (release[0], minor, *(0 for _ in release[2:])))


def _next_patch(version: Version) -> str:
    release = version.release
    minor = release[1] if len(release) > 1 else 0
    patch = release[2] + 1 if len(release) > 2 else 1
    return _render(version.epoch, (release[0], minor, patch, *(0 for _ in release[3:])))


def _next_breaking(version: Version) -> str:
    release = version.release
    if release[0] > 0 or len(release) == 1:
        return _next_major(version)
    if release[1] > 0 or len(release) == 2:
        return _next_minor(version)
    return _next_patch(version)


# ---------------------------------------------------------------------------------------- hull

# A bound: (version it extends to, inclusive, version written); None is unbounded. They differ
# for `<V` with V a final release, which PEP 440 (and poetry-core) read as `<V.dev0`: `<1a1`
# reaches further than `<1`.
Bound = tuple[Version, bool, Version] | None


@dataclass
class _Interval:
    low: Bound
    high: Bound
    holes: bool  # the alternative also excludes points (`!=`), which a hull cannot keep


def _interval(clauses: list[Clause]) -> _Interval:
    low: Bound = None
    high: Bound = None
    holes = False
    for op, text in clauses:
        if op == "!=":
            holes = True
            continue
        lows: list[tuple[Version, bool, Version]] = []
        highs: list[tuple[Version, bool, Version]] = []
        if op == "==" and text.endswith(".*"):
            base = Version(text[:-2])
            parts = list(base.release)
            parts[-1] += 1
            start, end = Version(f"{base}.dev0"), Version(_render(base.epoch, parts) + ".dev0")
            lows.append((start, True, start))
            highs.append((end, False, end))
        else:
            version = Version(text)
            if op in (">=", ">", "=="):
                lows.append((version, op != ">", version))
            if op in ("<=", "==") or (op == "<" and (version.is_prerelease or version.is_postrelease)):
                highs.append((version, op != "<", version))
            elif op == "<":
                highs.append((Version(_render(version.epoch, version.release) + ".dev0"), False, version))
        for bound in lows:
            if low is None or _low_key(bound) > _low_key(low):
                low = bound
        for bound in highs:
            if high is None or _high_key(bound) < _high_key(high):
                high = bound
    return _Interval(low, high, holes)


def _low_key(bound: tuple[Version, bool, Version]) -> tuple[Version, int]:
    return bound[0], 0 if bound[1] else 1  # an exclusive low bound starts later


def _high_key(bound: tuple[Version, bool, Version]) -> tuple[Version, int]:
    return bound[0], 1 if bound[1] else 0  # an exclusive high bound ends sooner


def _empty(interval: _Interval) -> bool:
    low, high = interval.low, interval.high
    if low is None or high is None:
        return False
    return low[0] > high[0] or (low[0] == high[0] and not (low[1] and high[1]))


def _hull(alternatives: list[list[Clause]]) -> tuple[str | None, bool]:
    """The smallest PEP 440 range holding every alternative, and whether it is exactly their union.

    Two alternatives meeting at a version written on both sides (`<2 || >=2`) touch: the
    pre-releases of that version which both exclude are the documented difference.
    """
    intervals = [interval for interval in map(_interval, alternatives) if not _empty(interval)]
    if not intervals:
        return _joined(alternatives[0]), True
    exact = not any(interval.holes for interval in intervals)
    intervals.sort(key=lambda i: (0,) if i.low is None else (1, *_low_key(i.low)))
    points: list[str] = []
    high = intervals[0].high
    for interval in intervals[1:]:
        if high is None:
            break
        low = interval.low  # None only while every interval so far is unbounded below too
        if low is None or low[2] < high[2] or (low[2] == high[2] and (low[1] or high[1])):
            pass  # overlapping or touching
        elif low[2] == high[2]:
            points.append(f"!={low[2]}")  # `<V || >V`
        else:
            exact = False
        if interval.high is None or _high_key(interval.high) > _high_key(high):
            high = interval.high
    low_bound = intervals[0].low
    clauses: list[str] = []
    if low_bound is not None and high is not None and low_bound[2] == high[2] and low_bound[1] and high[1]:
        clauses.append(f"=={low_bound[2]}")
    else:
        if low_bound is not None:
            clauses.append(f"{'>=' if low_bound[1] else '>'}{low_bound[2]}")
        if high is not None:
            clauses.append(f"{'<=' if high[1] else '<'}{high[2]}")
    clauses.extend(points)
    return ",".join(clauses) or None, exact


# ------------------------------------------------------------------------------------- markers


@functools.lru_cache(maxsize=512)
def python_marker(constraint: str) -> str | None:
    """The marker poetry-core makes of a `python = "..."` constraint (create_nested_marker)."""
    parts: list[str] = []
    alternatives = alternatives_of(constraint)
    for clauses in alternatives:
        pieces = [piece for op, text in clauses for piece in _python_pieces(op, text)]
        if not pieces:
            return None  # one alternative admits every Python
        parts.append(" and ".join(pieces))
    if len(parts) == 1:
        return parts[0]
    return " or ".join(f"({part})" for part in parts)


def _python_pieces(op: str, text: str) -> list[str]:
    if text.endswith(".*"):
        base = Version(text[:-2])
        parts = list(base.release)
        parts[-1] += 1
        upper = _render(base.epoch, parts)
        if op == "!=":
            return [f"({_python_clause('<', base)} or {_python_clause('>=', Version(upper))})"]
        return [_python_clause(">=", base), _python_clause("<", Version(upper))]
    version = Version(text)
    if op == "!=":
        return [f"({_python_clause('<', version)} or {_python_clause('>', version)})"]
    return [_python_clause(op, version)]


def _python_clause(op: str, version: Version) -> str:
    precision = len(version.release)
    stable = _render(version.epoch, version.release)
    if precision >= 3:
        return f'python_full_version {op} "{stable if op not in ("==", "!=") else version}"'
    if op in (">", "<="):
        # python_version "3.8" > "3.8" is false on 3.8.5: compare the full version instead.
        padded = _render(version.epoch, (*version.release, 0, 0)[:3])
        return f'python_full_version {op} "{padded}"'
    return f'python_version {op} "{stable if op != "==" else version}"'


_STRING_COMPARISON = re.compile(r"""(?ix)^(?P<quote>['"])(?P<value>.+?)(?P=quote)\s*(?P<op>not\sin|in)$""")
_GENERIC = re.compile(r"^(?P<op>!=|==?=?)?\s*(?P<value>.+?)\s*$")


@functools.lru_cache(maxsize=256)
def platform_marker(constraint: str) -> str | None:
    """The marker of `platform = "linux || darwin"` (poetry-core's generic constraint parser)."""
    if constraint == "*":
        return None
    alternatives: list[str] = []
    for alternative in _OR.split(constraint.strip()):
        pieces: list[str] = []
        for single in re.split(r"\s*,\s*", alternative):
            found = _STRING_COMPARISON.match(single)
            if found:
                pieces.append(f'sys_platform {found.group("op")} "{found.group("value").strip()}"')
                continue
            found = _GENERIC.match(single)
            if found is None:
                raise ConstraintError(f"could not parse platform constraint: {constraint}")
            op = "!=" if found.group("op") == "!=" else "=="
            pieces.append(f'sys_platform {op} "{found.group("value").strip()}"')
        alternatives.append(" and ".join(pieces))
    if len(alternatives) == 1:
        return alternatives[0]
    return " or ".join(f"({part})" for part in alternatives)


# ---------------------------------------------------------------------------- dependency tables


@record(frozen=True)
class Dependency:
    """One Poetry dependency entry (`name = "^1"` or `name = {version = ..., ...}`), as PEP 440/508."""

    version: str | None
    specifier: str | None
    kind: Kind
    marker: str | None
    optional: bool
    extras: tuple[str, ...]
    note: str | None


_STRING_KEYS = (
    "version",
    "markers",
    "python",
    "platform",
    "git",
    "branch",
    "tag",
    "rev",
    "subdirectory",
    "path",
    "file",
    "url",
    "source",
)
_BOOLEAN_KEYS = ("optional", "develop", "allow-prereleases")


def dependency(item: object) -> Dependency:
    """poetry-core's Factory.create_dependency, reduced to what a declaration records."""
    if isinstance(item, str):
        converted = convert(item)
        return Dependency(converted.version, converted.specifier, Kind.REGISTRY, None, False, (), converted.note)
    if not isinstance(item, dict):
        raise ConstraintError("must be a version constraint string or a table")
    for key in _STRING_KEYS:
        if key in item and not isinstance(item[key], str):
            raise ConstraintError(f"`{key}` must be a string")
    for key in _BOOLEAN_KEYS:
        if key in item and not isinstance(item[key], bool):
            raise ConstraintError(f"`{key}` must be a boolean")
    extras = item.get("extras", [])
    if not isinstance(extras, list) or not all(isinstance(extra, str) for extra in extras):
        raise ConstraintError("`extras` must be an array of strings")
    develop = item.get("develop", False)
    version: str | None = None
    specifier: str | None = None
    note: str | None = None
    if "git" in item:
        kind = Kind.EDITABLE if develop else Kind.VCS
    elif "file" in item:
        kind = Kind.PATH
    elif "path" in item:
        kind = Kind.EDITABLE if develop else Kind.PATH
    elif "url" in item:
        kind = Kind.URL
    else:
        kind = Kind.REGISTRY
        converted = convert(item.get("version", "*"))
        version, specifier, note = converted.version, converted.specifier, converted.note
    marker = _marker(item)
    extras_normal = tuple(sorted({normalize(extra) for extra in extras}))
    return Dependency(version, specifier, kind, marker, bool(item.get("optional", False)), extras_normal, note)


def _marker(item: dict[str, Any]) -> str | None:
    from envguard.declared._pep508 import both, normal_marker

    try:
        marker = normal_marker(item["markers"]) if item.get("markers") else None
        if item.get("python"):
            python = python_marker(item["python"])
            marker = both(marker, normal_marker(python) if python else None)
        if item.get("platform"):
            platform = platform_marker(item["platform"])
            marker = both(marker, normal_marker(platform) if platform else None)
    except InvalidMarker as exc:
        reason = str(exc).splitlines()[0] if str(exc) else "invalid marker"
        raise ConstraintError(f"invalid marker: {reason}") from None
    return marker
