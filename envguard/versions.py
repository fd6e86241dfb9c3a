"""PEP 440 comparisons in one place, tolerant of versions that are not PEP 440."""

from __future__ import annotations

import functools

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version


# An organisation's locks hold tens of thousands of distinct version strings; a smaller cache
# thrashes once they pass its size (about 500 bytes an entry).
@functools.lru_cache(maxsize=65536)
def parse(version: str) -> Version | None:
    try:
        return Version(version)
    except (InvalidVersion, ValueError):  # ValueError: a release number too long for int()
        return None


@functools.lru_cache(maxsize=1024)
def _specifier(text: str) -> SpecifierSet | None:
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        return None


def satisfies(version: str, specifier: str) -> bool:
    """Whether `version` is inside `specifier`; pre-releases count (a lock that has one, uses it).

    A version that is not PEP 440 satisfies only "*" (or an empty specifier): it cannot be
    placed in a range, and passing it silently would hide it.
    """
    if specifier.strip() in ("", "*"):
        return True
    parsed = parse(version)
    spec = _specifier(specifier)
    if parsed is None or spec is None:
        return False
    try:
        return spec.contains(parsed, prereleases=True)
    except ValueError:  # a release number in the specifier too long for int()
        return False


# How far apart two versions may be under a drift level. Pre-, post- and dev-releases and local
# versions are part of the version under "exact" (2.5.1+cpu is not 2.5.1+cu124, 1.0rc1 is not 1.0);
# "same-minor" and "same-major" look at the release numbers only, so 1.2.0rc1 is the same minor as
# 1.2.3 and 2.5.1+cpu the same major as 2.0.0. A version that is not PEP 440 only equals itself.
LEVELS = ("exact", "same-minor", "same-major")


def drift_key(version: str, level: str) -> tuple[object, ...]:
    parsed = parse(version)
    if parsed is None:
        return ("raw", version)
    if level == "exact":
        return ("pep440", parsed)
    release = parsed.release + (0, 0)
    return ("pep440", release[0]) if level == "same-major" else ("pep440", release[0], release[1])


def classify(a: str, b: str) -> str:
    """The kind of change from `a` to `b`: major, minor, patch, pre, post, dev, local or other."""
    old, new = parse(a), parse(b)
    if old is None or new is None:
        return "other"
    left, right = old.release + (0, 0, 0), new.release + (0, 0, 0)
    if left[0] != right[0]:
        return "major"
    if left[1] != right[1]:
        return "minor"
    if left != right:
        return "patch"
    if old.pre != new.pre:
        return "pre"
    if old.post != new.post:
        return "post"
    if old.dev != new.dev:
        return "dev"
    if old.local != new.local:
        return "local"
    return "other"


def sort_key(version: str | None) -> tuple[int, object, str]:
    """PEP 440 order, non-PEP 440 versions after them by text, missing versions first."""
    if version is None:
        return (0, (), "")
    parsed = parse(version)
    if parsed is None:
        return (2, (), version)
    return (1, parsed, version)


# How far a version is from a target, nearest first: the HTML heat-map's colours. "patch" is any
# difference below the minor version (patch, pre-, post-, dev-release or local version);
# "other" a version that cannot be placed (not PEP 440).
DISTANCES = ("same", "patch", "minor", "major", "other")


def distance(version: str, target: str) -> str:
    if drift_key(version, "exact") == drift_key(target, "exact"):
        return "same"
    kind = classify(target, version)
    return kind if kind in ("minor", "major", "other") else "patch"
