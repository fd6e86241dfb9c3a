"""envguard.specifiers: a declared specifier's versions against an approved range's."""

from __future__ import annotations

from typing import TYPE_CHECKING

import packaging
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

if TYPE_CHECKING:
    from packaging.ranges import VersionRange

from envguard.specifiers import Verdict, contains_any, judge

# packaging 26.1 changed how `>V` (V a pre- or dev-release) and `<V` (V a post-release) read PEP 440;
# envguard follows the newer, literal reading (see the module docstring).
LITERAL_PACKAGING = Version(packaging.__version__) >= Version("26.1")
# packaging 26.3 can compare specifier sets itself: an exact oracle.
HAS_RANGES = Version(packaging.__version__) >= Version("26.3")


@pytest.mark.parametrize(
    ("declared", "allowed", "kind"),
    [
        # >=
        (">=7", ">=7.0", "within"),
        (">=7.1", ">=7", "within"),
        (">=6", ">=7", "partly"),
        (">=4", ">=5,<6", "partly"),
        (">=7", "<7", "outside"),
        # no specifier at all
        (None, ">=7", "partly"),
        ("", ">=0", "within"),  # 0.dev0 sorts below 0, but no pre-release is counted
        ("", "", "within"),
        # <, <=
        ("<7", ">=7", "outside"),
        ("<5", ">=5,<6", "outside"),
        ("<=5", ">=5,<6", "partly"),
        ("<9", "<=9", "within"),
        ("<=9", "<9", "partly"),
        ("<9", "<9.0rc1", "within"),  # <9 admits no pre-release of 9 (and none is counted)
        # >: not the post-releases of the version itself
        (">5", ">=5,<6", "partly"),
        (">5", ">5", "within"),
        (">5", ">=5.0.1", "partly"),  # 5.0.0.1
        (">5", ">5.post3", "within"),
        (">=5,<6", ">5", "partly"),
        (">5.post1", ">5", "partly"),  # 5.post2
        # ==, !=
        ("==7.1.0", ">=7", "within"),
        ("==7.1", "==7.1.0", "within"),
        ("==6", ">=7", "outside"),
        (">=8,!=8.1", ">=8", "within"),
        (">=8", ">=8,!=8.1", "partly"),
        ("!=8.1", ">=8", "partly"),
        # prefixes
        ("==8.*", ">=8.0,<9", "within"),
        ("==8.*", ">=8.1", "partly"),
        ("==8.*", "<8", "outside"),
        ("!=8.*", ">=8,<9", "outside"),
        (">=7,!=8.*", ">=9", "partly"),
        ("==8.1.*", "~=8.1.0", "within"),
        # ~=
        ("~=8.1", ">=8,<9", "within"),
        ("~=8.1", ">=8.2", "partly"),
        ("~=8.1.0", ">=8.2", "outside"),
        ("~=8.1.0", "==8.1.*", "within"),
        ("~=8.1", "~=8.0", "within"),
        # nothing at all
        (">=2,<1", ">=1", "outside"),
        ("==1,!=1", ">=1", "outside"),
        # ===: one spelling
        ("===7.1.0", ">=7", "within"),
        ("===7.1.0", "<7", "outside"),
        ("===7.1.0,<7", ">=7", "outside"),
        (">=7", "===7.1.0", "partly"),
        ("==7.1.0", "===7.1.0", "partly"),  # 7.1.0.0, 7.1.0+cpu
        ("<7", "===7.1.0", "outside"),
        ("===foo", ">=7", "partly"),
        (">=7", "===foo", "partly"),
        ("===1.00", ">=1", "partly"),  # packaging releases disagree on what it matches
        # local versions
        ("==2.1.0+cpu", ">=2,<3", "within"),
        ("==2.1.0+cpu", "==2.1.0", "within"),
        ("==2.1.0", "==2.1.0+cpu", "partly"),
        ("==2.1.0+cpu", "==2.1.0+cu121", "outside"),
        (">=2", "!=2.1.0+cpu", "partly"),
        (">=2,!=2.1.0+cpu", "!=2.1.0+cpu", "within"),
        ("<=2.1.0", "<2.1.0.post1", "within"),  # 2.1.0+cpu sorts with 2.1.0
        # pre-releases count when the declared side names one ...
        (">=9.0rc1", ">=9", "partly"),
        (">=9", ">=9.0rc1", "within"),
        ("==8.*", ">=8.0rc1,<9", "within"),
        (">=9.0rc1,<9", ">=9", "outside"),
        # ... or when it admits nothing else (no clause names one here)
        ("==1.0.*,<=1.0,!=1.0", ">=1.0rc1", "partly"),
        ("==1.0.*,<=1.0,!=1.0", "<2", "within"),
        # epochs
        (">=1!1.0", ">=2", "within"),
        ("<1!0", ">=2", "partly"),
        ("<1!0", ">=1!2", "outside"),
        ("==1!2.*", "~=1!2.0", "within"),
        # dense releases: 1.0.0.1 lies between 1.0 and 1.0.1
        (">1.0,<1.0.1", "<2", "within"),
        (">1.0,<1.0.1", ">=2", "outside"),
    ],
)
def test_verdicts(declared: str | None, allowed: str, kind: str) -> None:
    verdict = judge(declared, allowed)
    assert verdict.kind == kind
    _assert_example(declared, allowed, verdict)


@pytest.mark.parametrize(
    ("declared", "allowed", "example"),
    [
        ("<7", ">=7", "6"),
        (None, ">=7", "6"),
        (None, ">=5,<8", "4"),
        (">=2.3", ">=2.2,<3", "3"),
        (">=8,<9", ">=8.4", "8.3"),
        (">=8,<9", "<8.5", "8.5"),
        (">=7", "<=7.5", "7.6"),
        ("<9", ">=8", "7"),
        (">=9.0rc1", ">=9", "9.0rc1"),
        (">1.0,<1.0.1", ">=2", "1.0.0.1"),
        (">=2", "!=2.1.0+cpu", "2.1.0+cpu"),
        (">=7", "===7.1.0", "7"),
        ("==7.1.0", "===7.1.0", "7.1.0.0"),
        ("===7.1.0", "<7", "7.1.0"),
        (">=2,<1", ">=1", None),
        ("===foo", ">=7", None),
    ],
)
def test_examples_sit_at_the_edge_of_the_range(declared: str | None, allowed: str, example: str | None) -> None:
    assert judge(declared, allowed).example == example


def test_a_specifier_that_is_not_pep_440_is_refused() -> None:
    with pytest.raises(InvalidSpecifier):
        judge(">=x,y", ">=1")
    with pytest.raises(InvalidSpecifier):
        judge(">=1", "latest")


def test_contains_any_counts_installed_pre_releases_and_skips_what_is_no_version() -> None:
    assert contains_any(">=9", ["8.4.2", "9.1rc1"])
    assert not contains_any(">=9", ["8.4.2", "not a version"])
    assert contains_any("==2.0", ["2.0+cpu"])
    assert not contains_any("==2.0", [])
    with pytest.raises(ValueError):
        contains_any(">=", ["1"])


# --------------------------------------------------------------------------- against packaging

_RELEASES = ["0", "0.9", "1", "1.0.0.1", "1.0.1", "1.1", "1.4", "1.4.5", "1.5", "2", "2.0.1", "3", "1!1"]
_SUFFIXES = ["", ".post1", ".post2", ".dev0", ".dev1", "a1", "rc1", "rc1.post1", "rc2", ".post1.dev0"]
_LOCALS = ["1+cpu", "1.4.5+cpu", "2+cu121", "2+cpu"]
GRID = sorted(
    {Version(release + suffix) for release in _RELEASES for suffix in _SUFFIXES} | {Version(v) for v in _LOCALS}
)
_OPERATORS = [">=", ">", "<=", "<", "==", "!=", "~="]


@st.composite
def specifiers(draw: st.DrawFn, arbitrary: bool = True) -> str:
    clauses = []
    for _ in range(draw(st.integers(0, 3))):
        operator = draw(st.sampled_from(_OPERATORS))
        release = draw(st.sampled_from(_RELEASES))
        if operator == "~=" and "." not in release:
            release += ".0"
        if operator in ("==", "!=") and draw(st.integers(0, 3)) == 0:
            clauses.append(f"{operator}{release}.*")
            continue
        if operator in ("==", "!=") and draw(st.integers(0, 5)) == 0:
            clauses.append(f"{operator}{draw(st.sampled_from(_LOCALS))}")
            continue
        if arbitrary and draw(st.integers(0, 12)) == 0:
            clauses.append(f"==={release}")
            continue
        version = Version(release + draw(st.sampled_from(_SUFFIXES)))
        if not LITERAL_PACKAGING and (
            (operator == ">" and version.is_prerelease and not version.is_postrelease)
            or (operator == "<" and version.is_postrelease and not version.is_prerelease)
        ):
            operator = operator + "="  # where the two readings of PEP 440 differ
        clauses.append(f"{operator}{version}")
    return ",".join(clauses)


def _invites_prereleases(declared: str) -> bool:
    return any(
        c.operator != "!=" and not c.version.endswith(".*") and Version(c.version).is_prerelease
        for c in SpecifierSet(declared)
    )


@settings(max_examples=300, deadline=None, derandomize=True)
@given(specifiers(), specifiers())
def test_verdicts_agree_with_packaging_on_every_version_of_a_dense_grid(declared: str, allowed: str) -> None:
    verdict = judge(declared, allowed)
    mine, theirs = SpecifierSet(declared), SpecifierSet(allowed)
    # Pre-releases count only when the declared side names one (or admits nothing else, which
    # the grid cannot tell: they are then left out of the check).
    counted = [v for v in GRID if _invites_prereleases(declared) or not v.is_prerelease]
    for version in counted:
        if not mine.contains(version, prereleases=True):
            continue
        if theirs.contains(version, prereleases=True):
            assert verdict.kind != "outside", (declared, allowed, version)
        else:
            assert verdict.kind != "within", (declared, allowed, version)
    _assert_example(declared, allowed, verdict)


@pytest.mark.skipif(not HAS_RANGES, reason="packaging < 26.3 cannot compare specifier sets")
@settings(max_examples=300, deadline=None, derandomize=True)
@given(specifiers(arbitrary=False), specifiers(arbitrary=False))
def test_verdicts_agree_with_packagings_own_set_algebra(declared: str, allowed: str) -> None:
    def versions(specifier: str, prereleases: bool) -> VersionRange:
        # An empty set also admits strings that are no version at all: `>=0.dev0` is every version.
        return SpecifierSet(specifier or ">=0.dev0", prereleases=prereleases).to_range()

    prereleases = _invites_prereleases(declared) or versions(declared, prereleases=False).is_empty
    mine, theirs = versions(declared, prereleases), versions(allowed, prereleases)
    if mine.is_empty or mine.is_disjoint(theirs):
        expected = "outside"
    elif mine.is_subset(theirs):
        expected = "within"
    else:
        expected = "partly"
    verdict = judge(declared, allowed)
    assert verdict.kind == expected, (declared, allowed)
    assert (verdict.example is None) == (verdict.kind == "within" or mine.is_empty), (declared, allowed)
    if verdict.example is not None:  # a version the declared side would really let in
        assert mine.contains(verdict.example) and not theirs.contains(verdict.example), (declared, allowed)


def _assert_example(declared: str | None, allowed: str, verdict: Verdict) -> None:
    """The example is a version the declared side admits and the approved range does not; only
    "within", a declared side that admits nothing and an unreadable `===` go without one."""
    mine = SpecifierSet(declared or "")
    if verdict.example is None:
        if verdict.kind == "outside":  # admits nothing
            assert not any(mine.contains(v, prereleases=True) for v in GRID), (declared, allowed)
        else:
            assert verdict.kind == "within" or "===" in (declared or "") + allowed, (declared, allowed)
        return
    assert verdict.kind != "within"
    assert mine.contains(verdict.example, prereleases=True), (declared, allowed)
    assert not SpecifierSet(allowed).contains(verdict.example, prereleases=True), (declared, allowed)
