"""What a PEP 440 version specifier admits, compared with what an approved range admits.

A declared requirement (`pytest-cov>=4`) is judged by the versions it lets a resolver pick, not by
the one it happens to resolve to today: "within" when every version it admits is approved,
"outside" when none is, "partly" when some are and some are not.

Both sides are sets of versions built from a handful of clauses, and every clause changes its
answer only at the versions it names (and at the PEP 440 edges around them: the pre-releases of
a release, its post-releases, the next release of a prefix). So the sets are compared on
candidates drawn from those places: each version either side names, the releases just below and
above it at every position of its release number, its post-release, and (see below) its
pre-releases, plus a version below and a version above everything. packaging's own
`SpecifierSet.contains` then decides membership of each candidate, so envguard never reimplements
PEP 440's rules, only where to look; the tests compare the verdicts with packaging on a dense grid
of versions.

Which versions count:
* Final and post-releases always.
* Pre- and dev-releases only when either side names one (`>=9.0rc1`): installers pick them only
  then (PEP 440: tools SHOULD exclude pre-releases unless explicitly requested), so `==8.*`
  against `>=8.0,<9` is "within" although `8.0.dev0` matches the first and not the second.
* Local versions (`+cpu`) never: package indexes do not serve them.

`contains_any` is different: it asks whether any of the versions a record actually holds
satisfies a specifier, and an installed pre-release is as real as any other.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from packaging.specifiers import InvalidSpecifier, Specifier, SpecifierSet
from packaging.version import InvalidVersion, Version

VerdictKind = Literal["within", "partly", "outside"]

# Far enough below and above any real release to stand for "every version before / after".
_LOWEST = "0"
_HIGHEST = "99999"


@dataclass(frozen=True)
class Verdict:
    kind: VerdictKind
    # A version the declared specifier admits and the approved range does not ("partly",
    # "outside"); None for "within", and for a specifier that admits no version at all.
    example: str | None


# Pure, and asked again for every service declaring the same range against the same policy.
@functools.lru_cache(maxsize=4096)
def judge(declared: str | None, allowed: str) -> Verdict:
    """How the versions `declared` admits (None or "": every version) stand to those `allowed` admits.

    Raises InvalidSpecifier when either side is not PEP 440.
    """
    mine = SpecifierSet(declared or "")
    theirs = SpecifierSet(allowed)
    if any(clause.operator == "===" and not _is_version(clause.version) for clause in (*mine, *theirs)):
        return Verdict("partly", None)  # an arbitrary string: which releases it stands for is unknown
    candidates = _candidates((*mine, *theirs))
    admitted = [v for v in candidates if mine.contains(v, prereleases=True)]
    if not admitted:  # `>=2,<1`: no version at all, so none of the approved ones
        return Verdict("outside", None)
    outside = [v for v in admitted if not theirs.contains(v, prereleases=True)]
    if not outside:
        return Verdict("within", None)
    inside = [v for v in admitted if theirs.contains(v, prereleases=True)]
    if not inside:
        approved = [v for v in candidates if theirs.contains(v, prereleases=True)]
        return Verdict("outside", str(_nearest(outside, approved)))
    return Verdict("partly", str(_nearest(outside, inside)))


def contains_any(specifier: str, versions: Iterable[str]) -> bool:
    """Whether `specifier` admits any of `versions` (pre-releases included); versions that are
    not PEP 440 admit nothing. Raises InvalidSpecifier (a ValueError) for a bad specifier."""
    wanted = SpecifierSet(specifier)
    for text in versions:
        try:
            version = Version(text)
        except InvalidVersion:
            continue
        if wanted.contains(version, prereleases=True):
            return True
    return False


def _is_version(text: str) -> bool:
    try:
        Version(text)
    except InvalidVersion:
        return False
    return True


def _candidates(clauses: tuple[Specifier, ...]) -> list[Version]:
    """The versions the sets are compared on (see the module docstring), sorted."""
    named = [version for clause in clauses for version in _named(clause)]
    prereleases = any(v.is_prerelease for v in named)
    found: set[Version] = {Version(_LOWEST), Version(_HIGHEST)}
    for version in named:
        found.add(Version(version.public))
        for release in _around(version.release):
            found.update(_forms(version.epoch, release, prereleases))
        found.update(_beside(version))
    kept = (v for v in found if v.local is None and (prereleases or not v.is_prerelease))
    return sorted(kept)


def _named(clause: Specifier) -> list[Version]:
    """The versions a clause names: `~=1.4.5` names 1.4.5 and 1.5, `==1.4.*` names 1.4 and 1.5."""
    text = clause.version
    if clause.operator == "===":  # judge() has set aside the arbitrary strings
        return [Version(text)]
    if text.endswith(".*"):
        prefix = Version(text[:-2])
        return [prefix, _bump(prefix, len(prefix.release) - 1)]
    version = Version(text)
    if clause.operator == "~=":
        return [version, _bump(version, len(version.release) - 2)]
    return [version]


def _bump(version: Version, position: int) -> Version:
    release = version.release[:position] + (version.release[position] + 1,)
    return Version(_write(version.epoch, release))


def _around(release: tuple[int, ...]) -> set[tuple[int, ...]]:
    """The release itself, one more component (1.4 -> 1.4.1), and the releases one below and one
    above at every position (1.4 -> 0, 2, 1.3, 1.5)."""
    found = {release, release + (1,)}
    for position, number in enumerate(release):
        found.add(release[:position] + (number + 1,))
        if number > 0:
            found.add(release[:position] + (number - 1,))
    return found


def _forms(epoch: int, release: tuple[int, ...], prereleases: bool) -> list[Version]:
    written = _write(epoch, release)
    forms = [written, f"{written}.post1"]
    if prereleases:
        forms += [f"{written}.dev0", f"{written}a1", f"{written}rc1"]
    return [Version(form) for form in forms]


def _beside(version: Version) -> list[Version]:
    """The versions next to a pre-, post- or dev-release that its own number decides."""
    base = _write(version.epoch, version.release)
    found: list[str] = []
    if version.pre is not None:
        letter, number = version.pre
        found += [f"{base}{letter}{number + 1}", f"{base}{letter}{number}.post1"]
    if version.post is not None:
        found += [f"{base}.post{version.post + 1}", f"{base}.post{version.post}.dev0"]
        if version.post > 0:
            found.append(f"{base}.post{version.post - 1}")
    if version.dev is not None:
        found.append(f"{version.public.rsplit('.dev', 1)[0]}.dev{version.dev + 1}")
    return [Version(text) for text in found]


def _write(epoch: int, release: tuple[int, ...]) -> str:
    written = ".".join(str(part) for part in release)
    return f"{epoch}!{written}" if epoch else written


def _nearest(choices: list[Version], targets: list[Version]) -> Version:
    """The choice a person would name: a final release if there is one, the one closest to the
    targets in version order (the edge of the range), the lowest among equals."""
    finals = [v for v in choices if not (v.is_prerelease or v.is_postrelease)] or choices
    if not targets:
        return max(finals)
    ordered = sorted(set(finals) | set(targets))
    at = {version: index for index, version in enumerate(ordered)}
    target_positions = [at[t] for t in targets]
    return min(finals, key=lambda v: (min(abs(at[v] - p) for p in target_positions), v))


__all__ = ["InvalidSpecifier", "Verdict", "contains_any", "judge"]
