"""envguard.specifiers: a declared specifier's versions against an approved range's."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from envguard.specifiers import Verdict, contains_any, judge


@pytest.mark.parametrize(
    ("declared", "allowed", "kind"),
    [
        (">=7", ">=7.0", "within"),
        (">=7.1", ">=7", "within"),
        (">=6", ">=7", "partly"),
        ("<7", ">=7", "outside"),
        (None, ">=7", "partly"),
        ("", ">=0", "within"),
        ("~=8.1", ">=8,<9", "within"),
        ("~=8.1", ">=8.2", "partly"),
        ("~=8.1.0", ">=8.2", "outside"),
        ("==8.*", ">=8.0,<9", "within"),
        ("==8.*", ">=8.1", "partly"),
        ("!=8.*", ">=8,<9", "outside"),
        (">=8,!=8.1", ">=8", "within"),
        (">=8", ">=8,!=8.1", "partly"),
        (">=4", ">=5,<6", "partly"),
        ("<5", ">=5,<6", "outside"),
        ("<=5", ">=5,<6", "partly"),
        ("<5.0.post1", ">=5,<6", "partly"),
        (">5", ">=5,<6", "partly"),
        (">5", ">5", "within"),
        (">=5,<6", ">5", "partly"),
        (">=2,<1", ">=1", "outside"),
        ("==7.1.0", ">=7", "within"),
        ("===7.1.0", ">=7", "within"),
        ("===foo", ">=7", "partly"),
        # A pre-release named on either side makes pre-releases count.
        (">=9.0rc1", ">=9", "partly"),
        (">=9", ">=9.0rc1", "within"),
        (">=1!1.0", ">=2", "within"),
        ("<1!0", ">=2", "partly"),
        ("<1!0", ">=1!2", "outside"),
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
        (">=8,<9", ">=8.4", "8.3"),
        ("<9", ">=8", "7"),
        (">=2,<1", ">=1", None),
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
    with pytest.raises(ValueError):
        contains_any(">=", ["1"])


# --------------------------------------------------------------------------- against packaging

_RELEASES = ["0.9", "1", "1.0.1", "1.1", "1.4", "1.4.5", "1.5", "2", "2.0.1", "3"]
_SUFFIXES = ["", ".post1", ".dev0", "a1", "rc1", "rc2"]
GRID = sorted({Version(release + suffix) for release in _RELEASES for suffix in _SUFFIXES})
_OPERATORS = [">=", ">", "<=", "<", "==", "!=", "~="]


@st.composite
def specifiers(draw: st.DrawFn) -> str:
    clauses = []
    for _ in range(draw(st.integers(0, 3))):
        operator = draw(st.sampled_from(_OPERATORS))
        release = draw(st.sampled_from(_RELEASES))
        if operator == "~=" and "." not in release:
            release += ".0"
        if operator in ("==", "!=") and draw(st.booleans()):
            clauses.append(f"{operator}{release}.*")
            continue
        clauses.append(f"{operator}{release}{draw(st.sampled_from(_SUFFIXES))}")
    return ",".join(clauses)


def _counted(version: Version, declared: str, allowed: str) -> bool:
    named = [Version(c.version.removesuffix(".*")) for c in (*SpecifierSet(declared), *SpecifierSet(allowed))]
    return not version.is_prerelease or any(v.is_prerelease for v in named)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(specifiers(), specifiers())
def test_verdicts_agree_with_packaging_on_every_version_of_a_dense_grid(declared: str, allowed: str) -> None:
    verdict = judge(declared, allowed)
    mine, theirs = SpecifierSet(declared), SpecifierSet(allowed)
    for version in GRID:
        if not _counted(version, declared, allowed) or not mine.contains(version, prereleases=True):
            continue
        if theirs.contains(version, prereleases=True):
            assert verdict.kind != "outside", (declared, allowed, version)
        else:
            assert verdict.kind != "within", (declared, allowed, version)
    _assert_example(declared, allowed, verdict)


def _assert_example(declared: str | None, allowed: str, verdict: Verdict) -> None:
    if verdict.kind == "within" or verdict.example is None:
        assert verdict.kind != "partly" or "===" in (declared or "") + allowed
        return
    example = Version(verdict.example)
    assert SpecifierSet(declared or "").contains(example, prereleases=True)
    assert not SpecifierSet(allowed).contains(example, prereleases=True)
