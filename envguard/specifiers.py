"""What a PEP 440 version specifier admits, compared with what an approved range admits.

A declared requirement (`pytest-cov>=4`) is judged by the versions it lets a resolver pick, not by
the one it happens to resolve to today: "within" when every version it admits is approved,
"outside" when none is, "partly" when some are and some are not.

Each side is turned into a set of versions and the sets are compared exactly, by interval
algebra. A set is a sorted list of open intervals between *cuts*: a cut sits just before a
version, just after it (and after its local versions, which every ordered comparison treats as
the version itself), or after every post-release of a release (`>1` excludes `1.post1`, and no
version is the first one above them all). Every clause is at most two intervals, so intersection
and complement stay small, and emptiness is decided by constructing a version inside an interval
(releases are dense: between 1 and 1.0.1 lies 1.0.0.1), never by sampling.

PEP 440 is read as packaging 26.1 and later read it: `>V` excludes the post-releases of V itself
(`>1.0rc1` admits `1.0.post1`), `<V` excludes the pre-releases of V itself (`<1.0.post1` admits
`1.0rc1`). packaging 26.0 and earlier exclude those of V's whole release instead; the two
readings differ only for `>` with a pre- or dev-release and `<` with a post-release.

Which versions count:
* Final and post-releases always.
* Pre- and dev-releases only when the declared specifier names one (`>=9.0rc1`) or admits
  nothing else: installers pick them only then (PEP 440: pre-releases are excluded unless
  explicitly requested or nothing else satisfies the specifier). So `==8.*` against `>=8.0,<9`
  is "within" although `8.0.dev0` matches the first and not the second, and `>=9.0rc1` against
  `>=9` is "partly": it admits 9.0rc1.
* Local versions (`2.1.0+cpu`, served by the PyTorch index) behave as their public version,
  except those a clause names (`==2.1.0+cpu`, `!=2.1.0+cpu`): those few are judged one by one.
* `===X` admits the single spelling X. When X is not the normalised spelling of a PEP 440
  version (`===foo`, `===1.00`), packaging releases disagree on what it matches, so the verdict
  is "partly" with no example: nothing can be said of which releases it stands for.

A declared specifier that admits no version at all (`>=2,<1`) admits none of the approved ones:
"outside", with no example.

The example of a "partly" or "outside" verdict is a version the declared specifier admits and
the approved range does not, preferably a short final release next to the approved range's edge
(`4` for `>=5,<8`, `8.3` for `>=8,<9` against `>=8.4`), which packaging's
`SpecifierSet.contains` confirms; failing those, the version the algebra found in the span.

`contains_any` is different: it asks whether any of the versions a record actually holds
satisfies a specifier, and an installed pre-release is as real as any other.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import field
from typing import Literal

from packaging.specifiers import InvalidSpecifier, Specifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from envguard._record import record

VerdictKind = Literal["within", "partly", "outside"]


@record(frozen=True)
class Verdict:
    kind: VerdictKind
    # A version the declared specifier admits and the approved range does not ("partly",
    # "outside"); None for "within", for a specifier that admits no version at all, and when
    # nothing can be said of what an `===` clause admits.
    example: str | None


# Pure, and asked again for every service declaring the same range against the same policy.
@functools.lru_cache(maxsize=4096)
def judge(declared: str | None, allowed: str) -> Verdict:
    """How the versions `declared` admits (None or "": every version) stand to those `allowed` admits.

    Raises InvalidSpecifier when either side is not PEP 440.
    """
    mine = SpecifierSet(declared or "")
    theirs = SpecifierSet(allowed)
    arbitrary = [clause.version for clause in (*mine, *theirs) if clause.operator == "==="]
    if not all(_spelled(text) for text in arbitrary):
        return Verdict("partly", None)
    single = [clause.version for clause in mine if clause.operator == "==="]
    if single:
        return _judge_single(str(Version(single[0])), mine, theirs)

    wanted, approved = _spans(mine), _spans(theirs)
    # Versions judged one by one: the local versions a clause names, and the spelling an approved
    # `===` admits (the spans count it nowhere).
    points = sorted({*_named_locals((*mine, *theirs)), *(Version(text) for text in arbitrary)})
    prereleases = _invites_prereleases(mine) or not _admits(wanted, points, mine, prereleases=False)
    if not _admits(wanted, points, mine, prereleases=prereleases):
        return Verdict("outside", None)

    def counted(version: Version, inside: bool) -> bool:
        return (prereleases or not version.is_prerelease) and (
            mine.contains(version, prereleases=True) and theirs.contains(version, prereleases=True) == inside
        )

    outside = _intersect(wanted, _complement(approved))
    inside = _intersect(wanted, approved)
    stray = [p for p in points if counted(p, inside=False)]
    if not _any_version(outside, prereleases) and not stray:
        return Verdict("within", None)
    example = _example(outside, approved, mine, theirs, prereleases) or str(stray[0])
    if _any_version(inside, prereleases) or any(counted(p, inside=True) for p in points):
        return Verdict("partly", example)
    return Verdict("outside", example)


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


def _spelled(text: str) -> bool:
    """Whether `===text` admits the same version under every packaging release: text is the
    normalised spelling of a PEP 440 version."""
    try:
        return str(Version(text)).lower() == text.lower()
    except InvalidVersion:
        return False


def _judge_single(text: str, mine: SpecifierSet, theirs: SpecifierSet) -> Verdict:
    """A declared `===text` admits that one spelling, if its other clauses admit it too."""
    if not mine.contains(text, prereleases=True):
        return Verdict("outside", None)
    if theirs.contains(text, prereleases=True):
        return Verdict("within", None)
    return Verdict("outside", text)


def _invites_prereleases(specifiers: SpecifierSet) -> bool:
    """packaging's rule: a clause other than `!=` or a `.*` prefix names a pre-release."""
    for clause in specifiers:
        if clause.operator == "!=" or clause.version.endswith(".*"):
            continue
        if Version(clause.version).is_prerelease:  # === clauses here are valid versions
            return True
    return False


def _named_locals(clauses: Iterable[Specifier]) -> set[Version]:
    found = set()
    for clause in clauses:
        if clause.operator in ("==", "!=") and not clause.version.endswith(".*"):
            version = Version(clause.version)
            if version.local is not None:
                found.add(version)
    return found


def _admits(
    spans: list[_Span], points: list[Version], specifiers: SpecifierSet, *, prereleases: bool
) -> bool:
    if _any_version(spans, prereleases):
        return True
    return any(
        (prereleases or not p.is_prerelease) and specifiers.contains(p, prereleases=True) for p in points
    )


# --------------------------------------------------------------------------- cuts and spans


@record(frozen=True, order=True)
class _Cut:
    """A place between two versions; compared by `key` alone.

    `where` is "before" or "after" `version` (a public version), "end" of the release of
    `version` (after every post-release of it), or "top" (after every version).
    """

    key: tuple[int, ...]
    version: Version | None = field(compare=False)
    where: str = field(compare=False)


# An open interval: the versions above the first cut and below the second.
_Span = tuple[_Cut, _Cut]

_PHASES = {"a": 1, "b": 2, "rc": 3}  # 0: dev-release of a final, 4: the final and its post-releases
_BEFORE, _AT, _AFTER, _END = 0, 1, 2, 5


def _block(epoch: int, release: tuple[int, ...]) -> tuple[int, ...]:
    """A release's place in the order: 1, 1.0 and 1.0.0 are one release, and 1 sorts before
    every longer release that starts with it (each number shifted up one, then 0 to end)."""
    while release and release[-1] == 0:
        release = release[:-1]
    return (0, epoch, *(number + 1 for number in release), 0)


def _key(version: Version) -> tuple[int, ...]:
    """The version's place in PEP 440 order, its local label aside."""
    if version.pre is not None:
        phase, number = _PHASES[version.pre[0]], version.pre[1]
    else:
        phase, number = (0 if version.post is None and version.dev is not None else 4), 0
    post = -1 if version.post is None else version.post
    dev = (0, version.dev) if version.dev is not None else (1, 0)
    return (*_block(version.epoch, version.release), phase, number, post, *dev)


def _before(version: Version) -> _Cut:
    return _Cut((*_key(version), _BEFORE), version, "before")


def _after(version: Version) -> _Cut:
    return _Cut((*_key(version), _AFTER), version, "after")


def _end(version: Version) -> _Cut:
    final = Version(_spell(version.epoch, version.release))
    return _Cut((*_block(version.epoch, version.release), _END), final, "end")


def _start(epoch: int, release: tuple[int, ...]) -> _Cut:
    """Before the first version of a release (its .dev0), and so after every smaller release."""
    return _before(Version(_spell(epoch, release, dev=0)))


_BOTTOM = _before(Version("0.dev0"))  # 0.dev0 is the lowest version there is
_TOP = _Cut((1,), None, "top")
_EVERY: list[_Span] = [(_BOTTOM, _TOP)]


def _spans(specifiers: SpecifierSet) -> list[_Span]:
    """The versions every clause admits, local versions a clause names and `===` aside."""
    found = _EVERY
    for clause in specifiers:
        found = _intersect(found, _clause_spans(clause))
    return found


def _clause_spans(clause: Specifier) -> list[_Span]:
    operator, text = clause.operator, clause.version
    if operator == "===":
        return []  # one spelling, judged on its own
    if text.endswith(".*"):  # packaging allows only epoch and release before it
        prefix = Version(text[:-2])
        span = (_start(prefix.epoch, prefix.release), _start(prefix.epoch, _bump(prefix.release)))
        return [span] if operator == "==" else _complement([span])
    version = Version(text)
    if version.local is not None:  # only == and != take one; those versions are judged one by one
        return [] if operator == "==" else _EVERY
    if operator == "==":
        return [(_before(version), _after(version))]
    if operator == "!=":
        return _complement([(_before(version), _after(version))])
    if operator == ">=":
        return [(_before(version), _TOP)]
    if operator == "<=":
        return [(_BOTTOM, _after(version))]
    if operator == "<":
        # `<2` admits no pre-release of 2 (nor `<2.post1` one of 2.post1): they sort below it.
        below = version if version.is_prerelease else Version(f"{version}.dev0")
        return [(_BOTTOM, _before(below))]
    if operator == ">":
        return [(_above(version), _TOP)]
    # ~=1.4.5 is >=1.4.5 and ==1.4.*
    return [(_before(version), _start(version.epoch, _bump(version.release[:-1])))]


def _above(version: Version) -> _Cut:
    """Where `>version` starts: after its post-releases, unless it is one (or a dev-release,
    which has none)."""
    if version.is_postrelease or version.dev is not None:
        return _after(version)
    if version.pre is None:
        return _end(version)
    letter, number = version.pre
    return _before(Version(_spell(version.epoch, version.release, pre=(letter, number + 1), dev=0)))


def _bump(release: tuple[int, ...]) -> tuple[int, ...]:
    return (*release[:-1], release[-1] + 1)


def _intersect(first: list[_Span], second: list[_Span]) -> list[_Span]:
    found: list[_Span] = []
    i = j = 0
    while i < len(first) and j < len(second):
        low, high = max(first[i][0], second[j][0]), min(first[i][1], second[j][1])
        if low < high:
            found.append((low, high))
        if first[i][1] < second[j][1]:
            i += 1
        else:
            j += 1
    return found


def _complement(spans: list[_Span]) -> list[_Span]:
    found: list[_Span] = []
    low = _BOTTOM
    for start, end in spans:
        if low < start:
            found.append((low, start))
        low = end
    if low < _TOP:
        found.append((low, _TOP))
    return found


# --------------------------------------------------------------------------- versions inside spans


def _any_version(spans: list[_Span], prereleases: bool) -> bool:
    return any(_inside(low, high, prereleases) is not None for low, high in spans)


def _inside(low: _Cut, high: _Cut, prereleases: bool) -> Version | None:
    """A version between the cuts (a final or post-release unless `prereleases`), or None when
    there is none: the lowest one in the release of `low`, else a final release between the
    releases of the two cuts."""
    assert low.version is not None  # only the top cut has none, and nothing lies above it
    if low.where != "end":
        candidate = _lowest_from(low.version, low.where == "after", prereleases)
        if _at(candidate) < high.key:
            return candidate
    between = _release_between(low.version, high)
    return between if between is not None and _at(between) < high.key else None


def _at(version: Version) -> tuple[int, ...]:
    return (*_key(version), _AT)


def _lowest_from(version: Version, strictly: bool, prereleases: bool) -> Version:
    """The lowest version of the same release at or (`strictly`) above `version`; the releases
    of one release number are well ordered, so there always is one."""
    epoch, release = version.epoch, version.release
    if prereleases:
        if not strictly:
            return version
        if version.dev is not None:  # 1.0rc1.dev3 -> 1.0rc1.dev4
            return Version(_spell(epoch, release, version.pre, version.post, version.dev + 1))
        post = 0 if version.post is None else version.post + 1  # 1.0rc1 -> 1.0rc1.post0.dev0
        return Version(_spell(epoch, release, version.pre, post, 0))
    if version.pre is None and version.post is not None and version.dev is not None:
        return Version(_spell(epoch, release, post=version.post))  # 1.0.post2.dev0 -> 1.0.post2
    if version.is_prerelease:
        return Version(_spell(epoch, release))  # every other pre-release sorts below the final
    if not strictly:
        return version
    return Version(_spell(epoch, release, post=0 if version.post is None else version.post + 1))


def _release_between(version: Version, high: _Cut) -> Version | None:
    """A final release above every version of `version`'s release and below `high`'s release."""
    release = _trimmed(version.release)
    if high.version is None or high.version.epoch > version.epoch:
        return Version(_spell(version.epoch, (release[0] + 1,) if release else (1,)))
    limit = _trimmed(high.version.release)
    if high.version.epoch < version.epoch or limit <= release:
        return None
    if limit[: len(release)] == release:  # 1 and 1.0.2: 1.0.0.1, one more 0 than the limit has
        rest = limit[len(release) :]
        zeros = next(position for position, number in enumerate(rest) if number)
        return Version(_spell(version.epoch, (*release, *(0,) * (zeros + 1), 1)))
    return Version(_spell(version.epoch, (*release, 1)))  # 1.4 and 1.5: 1.4.1


def _trimmed(release: tuple[int, ...]) -> tuple[int, ...]:
    while release and release[-1] == 0:
        release = release[:-1]
    return release


def _spell(
    epoch: int,
    release: tuple[int, ...],
    pre: tuple[str, int] | None = None,
    post: int | None = None,
    dev: int | None = None,
) -> str:
    text = ".".join(str(number) for number in release or (0,))
    if epoch:
        text = f"{epoch}!{text}"
    if pre is not None:
        text += f"{pre[0]}{pre[1]}"
    if post is not None:
        text += f".post{post}"
    if dev is not None:
        text += f".dev{dev}"
    return text


# --------------------------------------------------------------------------- examples


def _example(
    outside: list[_Span], approved: list[_Span], mine: SpecifierSet, theirs: SpecifierSet, prereleases: bool
) -> str | None:
    """A version of the lowest non-empty span of `outside`: a short release next to the edge the
    span shares with the approved range when one of those qualifies, else any version in it."""
    starts = {low.key for low, _ in approved}
    ends = {high.key for _, high in approved}

    def shows(text: str) -> bool:
        version = Version(text)
        return (
            (prereleases or not version.is_prerelease)
            and mine.contains(text, prereleases=True)
            and not theirs.contains(text, prereleases=True)
        )

    for low, high in outside:
        found = _inside(low, high, prereleases)
        if found is None:
            continue
        high_first = high.key in starts or (high.where != "top" and low.key not in ends)
        nearby = _below(high) + _above_cut(low) if high_first else _above_cut(low) + _below(high)
        for text in nearby:
            if shows(text):
                return text
        # Only an approved `===` can admit the version found: the same version spelt longer is not it.
        if shows(str(found)):
            return str(found)
        return _spell(found.epoch, (*found.release, 0), found.pre, found.post, found.dev)
    return None


def _below(high: _Cut) -> list[str]:
    """Short releases just below a cut: 8.3 and 7 below 8.4."""
    version = high.version
    if version is None:
        return []
    found = [str(version)] if high.where == "after" else []
    found.append(_spell(version.epoch, version.release))
    release = version.release
    for position in reversed(range(len(release))):
        if release[position] > 0:
            found.append(_spell(version.epoch, (*release[:position], release[position] - 1)))
    return found


def _above_cut(low: _Cut) -> list[str]:
    """Short releases just above a cut: 8.4 itself above `>=8.4`, 8.5 and 9 above `>8.4`."""
    version = low.version
    assert version is not None
    found = [str(version)] if low.where == "before" else []
    found.append(_spell(version.epoch, version.release))
    release = version.release
    for position in reversed(range(len(release))):
        found.append(_spell(version.epoch, (*release[:position], release[position] + 1)))
    return found


__all__ = ["InvalidSpecifier", "Verdict", "contains_any", "judge"]
