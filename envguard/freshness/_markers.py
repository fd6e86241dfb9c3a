"""Whether two environment markers say the same thing, as uv's marker algebra decides it.

uv keeps markers as decision diagrams, so two requirements are equal when their markers are true
in exactly the same environments (`python_version <= '3.10'` is `python_full_version < '3.11'`),
within the Python range the lock's `requires-python` allows (uv simplifies markers against it).
Rather than rebuild that algebra, both markers are evaluated in every environment that can tell
them apart: each variable takes the values the markers name, a value just below and just above
each version they name, and one value neither names. Between those points every comparison keeps
its truth value, so agreeing on all of them is agreeing everywhere.

`python_version` is derived from `python_full_version` (a 3.10.x interpreter has both), and
`platform_system` values that uv rewrites to `sys_platform` (`Windows` -> `win32`, ...) are
rewritten the same way, so that uv's equalities hold here too.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Sequence

from packaging.markers import InvalidMarker, Marker
from packaging.specifiers import InvalidSpecifier, Specifier
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

# A release as a tuple of three numbers; None is "no bound".
Release = tuple[int, int, int]
Bound = tuple[Release, bool] | None  # (release, inclusive)

_PYTHON = ("python_version", "python_full_version")
_VERSION_OPERATORS = ("<", "<=", ">", ">=", "==", "!=", "~=")
_PLATFORM_SYSTEM = {
    "Windows": "win32",
    "Darwin": "darwin",
    "Linux": "linux",
    "AIX": "aix",
    "Emscripten": "emscripten",
    "Android": "android",
}
_FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!=", "===": "==="}
# A value no marker names (markers cannot contain NUL).
_OTHER = "\x00"
# More environments than this and the markers are compared as text only.
_MAX_ENVIRONMENTS = 4096

# (variable, operator, value); `contains`/`not contains` is `"value" in variable`.
Atom = tuple[str, str, str]
# An atom, or ("and" | "or", children).
Node = Atom | tuple[str, tuple["Node", ...]]


class Unsupported(Exception):
    """A marker this module cannot evaluate (unparsable, or comparing two variables)."""


def equivalent(first: str | None, second: str | None, lower: Bound, upper: Bound) -> bool | None:
    """True when both markers hold in the same environments within the Python bounds; None: cannot tell."""
    if (first or None) == (second or None):
        return True
    return _equivalent(first or "", second or "", lower, upper)


@functools.lru_cache(maxsize=4096)
def _equivalent(first: str, second: str, lower: Bound, upper: Bound) -> bool | None:
    try:
        trees = [parse(text) for text in (first, second)]
    except Unsupported:
        return None
    atoms = [atom for tree in trees for atom in _atoms(tree)]
    pythons = _python_samples(atoms, lower, upper)
    others = _other_samples(atoms)
    names = sorted(others)
    count = len(pythons)
    for name in names:
        count *= len(others[name])
    if count > _MAX_ENVIRONMENTS:
        return None
    for python, values in itertools.product(pythons, itertools.product(*(others[name] for name in names))):
        environment = dict(zip(names, values))
        environment["python_full_version"] = ".".join(map(str, python))
        environment["python_version"] = f"{python[0]}.{python[1]}"
        if evaluate(trees[0], environment) != evaluate(trees[1], environment):
            return False
    return True


@functools.lru_cache(maxsize=4096)
def parse(text: str) -> Node:
    """The marker as a tree of atoms; the empty marker is `and` of nothing, always true."""
    if not text.strip():
        return ("and", ())
    try:
        marker = Marker(text)
    except InvalidMarker:
        raise Unsupported(text) from None
    return _tree(marker._markers)


def _tree(items: Sequence[object]) -> Node:
    # packaging keeps `a and b or c` flat: `or` separates groups whose members are and-ed.
    groups: list[list[Node]] = [[]]
    for item in items:
        if item == "or":
            groups.append([])
        elif item != "and":
            groups[-1].append(_tree(item) if isinstance(item, list) else _atom(item))
    ands: list[Node] = [group[0] if len(group) == 1 else ("and", tuple(group)) for group in groups]
    return ands[0] if len(ands) == 1 else ("or", tuple(ands))


def _atom(item: object) -> Atom:
    if not isinstance(item, tuple) or len(item) != 3:
        raise Unsupported(repr(item))
    left, op, right = item
    kinds = (type(left).__name__, type(right).__name__)
    operator = str(op.value)
    if kinds == ("Variable", "Value"):
        variable, value = str(left.value), str(right.value)
    elif kinds == ("Value", "Variable"):
        variable, value = str(right.value), str(left.value)
        if operator in ("in", "not in"):
            operator = "contains" if operator == "in" else "not contains"
        elif operator in _FLIPPED:
            operator = _FLIPPED[operator]
        else:
            raise Unsupported(operator)
    else:
        raise Unsupported("a marker comparing two variables or two values")
    if variable == "platform_system" and value in _PLATFORM_SYSTEM and operator in ("==", "!="):
        variable, value = "sys_platform", _PLATFORM_SYSTEM[value]
    if variable == "extra":
        value = canonicalize_name(value)
    return (variable, operator, value)


def _atoms(node: Node) -> Iterable[Atom]:
    if node[0] in ("and", "or") and isinstance(node[1], tuple):
        for child in node[1]:
            yield from _atoms(child)
    else:
        yield node  # type: ignore[misc]


def evaluate(node: Node, environment: dict[str, str]) -> bool:
    if node[0] == "and" and isinstance(node[1], tuple):
        return all(evaluate(child, environment) for child in node[1])
    if node[0] == "or" and isinstance(node[1], tuple):
        return any(evaluate(child, environment) for child in node[1])
    variable, operator, value = node  # type: ignore[misc]
    return _compare(environment.get(variable, ""), operator, value, variable)


@functools.lru_cache(maxsize=65536)
def _compare(actual: str, operator: str, value: str, variable: str) -> bool:
    if variable == "extra":
        actual = canonicalize_name(actual) if actual != _OTHER else actual
    if operator == "contains":
        return value in actual
    if operator == "not contains":
        return value not in actual
    if operator == "in":
        return actual in value
    if operator == "not in":
        return actual not in value
    if operator in _VERSION_OPERATORS:
        try:
            return Specifier(f"{operator}{value}").contains(Version(actual), prereleases=True)
        except (InvalidSpecifier, InvalidVersion):
            pass
    # What is not a version compares as text.
    if operator in ("==", "==="):
        return actual == value
    if operator == "!=":
        return actual != value
    if operator == "<":
        return actual < value
    if operator == "<=":
        return actual <= value
    if operator == ">":
        return actual > value
    if operator == ">=":
        return actual >= value
    return False


def release(text: str) -> Release | None:
    """The first three numbers of a version (`3.11` -> (3, 11, 0)), None for no version."""
    try:
        parts = Version(text.rstrip(".*")).release
    except InvalidVersion:
        return None
    padded = (*parts, 0, 0)[:3]
    return (padded[0], padded[1], padded[2])


def _next(point: Release) -> Release:
    return (point[0], point[1], point[2] + 1)


def _previous(point: Release) -> Release:
    if point[2] > 0:
        return (point[0], point[1], point[2] - 1)
    if point[1] > 0:
        return (point[0], point[1] - 1, 99)
    return (max(point[0] - 1, 0), 99, 99)


def _change_points(variable: str, operator: str, value: str) -> list[Release]:
    """Versions where a comparison on a Python version may change its truth value."""
    point = release(value)
    if point is None:
        return []
    parts = value.rstrip(".*").split(".")
    points = [point]
    if variable == "python_version" and len(parts) <= 2:
        points.append((point[0], point[1] + 1, 0))
    if value.endswith(".*"):
        points.append((point[0] + 1, 0, 0) if len(parts) == 1 else (point[0], point[1] + 1, 0))
    if operator == "~=":
        points.append((point[0] + 1, 0, 0) if len(parts) <= 2 else (point[0], point[1] + 1, 0))
    return points


def _python_samples(atoms: list[Atom], lower: Bound, upper: Bound) -> list[Release]:
    points: set[Release] = set()
    for variable, operator, value in atoms:
        if variable in _PYTHON:
            points.update(_change_points(variable, operator, value))
    for bound in (lower, upper):
        if bound is not None:
            points.add(bound[0])
    if not points:
        points.add((3, 12, 0))
    samples = {sample for point in points for sample in (point, _next(point), _previous(point))}
    return sorted(sample for sample in samples if within(sample, lower, upper)) or [min(samples)]


def within(version: Release, lower: Bound, upper: Bound) -> bool:
    if lower is not None and (version < lower[0] or (version == lower[0] and not lower[1])):
        return False
    if upper is not None and (version > upper[0] or (version == upper[0] and not upper[1])):
        return False
    return True


def _other_samples(atoms: list[Atom]) -> dict[str, list[str]]:
    values: dict[str, set[str]] = {}
    for variable, operator, value in atoms:
        if variable in _PYTHON:
            continue
        found = values.setdefault(variable, {_OTHER, ""})
        found.add(value)
        found.update(value.replace(",", " ").split())
        point = release(value)
        if point is not None and operator in _VERSION_OPERATORS:
            found.update(".".join(map(str, sample)) for sample in (_next(point), _previous(point)))
    return {variable: sorted(found) for variable, found in values.items()}
