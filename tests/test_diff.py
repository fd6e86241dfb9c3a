from __future__ import annotations

from pathlib import Path

import pytest

from envguard.diff import (
    Change,
    DeclaredChange,
    DiffOptions,
    Pin,
    Side,
    compare,
    compare_declared,
    drift_level,
    package_patterns,
    resolve_side,
    run_diff,
)
from envguard.errors import UsageError
from envguard.markers import make_target
from envguard.model import Declaration, Kind, Package, normalize
from envguard.policy import DriftRule, Policy

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "monorepo"
FORK = ROOT / "tests" / "fixtures" / "uv" / "project-fork"


def pkg(
    name: str,
    version: str | None,
    *,
    kind: Kind = Kind.REGISTRY,
    marker: str | None = None,
    groups: tuple[str, ...] = ("main",),
) -> Package:
    return Package(normalize(name), version, kind, groups, marker, "x.txt", 1)


def side(name: str, *packages: Package, service: bool = False) -> Side:
    return Side(name, (), packages, service)


def declared(name: str, specifier: str | None = None, *, version: str | None = None, marker: str | None = None) -> Declaration:
    requirement = f"{name}=={version}" if version else f"{name}{specifier or ''}"
    return Declaration(normalize(name), requirement, version, specifier, Kind.REGISTRY, marker, "tox.ini [testenv]", "tox", "tox.ini", 3)


def declaring(name: str, *declarations: Declaration) -> Side:
    return Side(name, (), (), declarations=declarations)


def kinds(changes: tuple[Change, ...]) -> dict[str, str]:
    return {c.package: c.change for c in changes}


# --------------------------------------------------------------------------- compare


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("1.0", "2.0", "major"),
        ("1.1", "1.2", "minor"),
        ("1.1.1", "1.1.2", "patch"),
        ("2.0rc1", "2.0rc2", "pre"),
        ("2.0", "2.0.post1", "post"),
        ("2.0.dev1", "2.0.dev2", "dev"),
        ("2.0+cpu", "2.0+cu124", "local"),
        ("1.0", "not-a-version", "other"),
        ("2.0", "1.0", "major"),  # a downgrade is classified the same way
    ],
)
def test_each_change_kind(old: str, new: str, expected: str) -> None:
    changes, unchanged = compare(side("a", pkg("p", old)), side("b", pkg("p", new)))
    assert changes == (Change(normalize("p"), (Pin(old),), (Pin(new),), expected),)
    assert unchanged == 0


def test_only_on_one_side_and_unchanged() -> None:
    a = side("a", pkg("left", "1"), pkg("same", "1.0"), pkg("padded", "1.0"))
    b = side("b", pkg("right", "2"), pkg("same", "1.0"), pkg("padded", "1.0.0"))
    changes, unchanged = compare(a, b)
    assert kinds(changes) == {"left": "only-a", "right": "only-b"}
    assert [c.package for c in changes] == ["left", "right"]
    assert changes[0].b == () and changes[1].a == ()
    # PEP 440 equality: 1.0 and 1.0.0 are the same version.
    assert unchanged == 2


def test_entries_without_a_version_compare_as_no_version_plus_kind() -> None:
    a = side("a", pkg("vcs", None, kind=Kind.VCS), pkg("both", None, kind=Kind.URL), pkg("kinds", None, kind=Kind.VCS))
    b = side("b", pkg("vcs", "1.2"), pkg("both", None, kind=Kind.URL), pkg("kinds", None, kind=Kind.PATH))
    changes, unchanged = compare(a, b)
    assert kinds(changes) == {"kinds": "other", "vcs": "other"}
    vcs = next(c for c in changes if c.package == "vcs")
    assert (vcs.a_versions, vcs.b_versions) == ([None], ["1.2"])
    assert vcs.a[0].label == "(no version, vcs)"
    assert unchanged == 1


def test_local_projects_are_not_compared() -> None:
    a = side("a", pkg("app", "1.0", kind=Kind.LOCAL_PROJECT), pkg("x", "1"))
    b = side("b", pkg("app", "2.0", kind=Kind.LOCAL_PROJECT), pkg("x", "1"))
    assert compare(a, b) == ((), 1)


def test_marker_forks_compare_as_sets_then_highest_versions() -> None:
    old = 'python_version < "3.10"'
    new = 'python_version >= "3.10"'
    forked = side("a", pkg("p", "1.0", marker=old), pkg("p", "2.0", marker=new))
    same = side("b", pkg("p", "2.0", marker=new), pkg("p", "1.0", marker=old))
    assert compare(forked, same) == ((), 1)

    changes, _ = compare(forked, side("b", pkg("p", "2.1")))
    assert changes == (Change(normalize("p"), (Pin("1.0"), Pin("2.0")), (Pin("2.1"),), "minor"),)
    # Highest versions equal but the sets differ: still a change, shown with every version.
    changes, _ = compare(forked, side("b", pkg("p", "2.0")))
    assert kinds(changes) == {"p": "other"}
    assert changes[0].a_versions == ["1.0", "2.0"]


def test_target_drops_entries_for_other_interpreters_and_platforms() -> None:
    a = side(
        "a",
        pkg("p", "1.0", marker='python_version < "3.10"'),
        pkg("p", "2.0", marker='python_version >= "3.10"'),
        pkg("colorama", "0.4.6", marker='sys_platform == "win32"'),
    )
    b = side("b", pkg("p", "2.0"))
    options = DiffOptions(target=make_target("3.12", "linux", None))
    assert compare(a, b, options) == ((), 1)
    changes, _ = compare(a, b, DiffOptions(target=make_target("3.9", None, None)))
    assert kinds(changes) == {"colorama": "only-a", "p": "major"}


def test_versions_are_sorted_with_sort_key_and_unversioned_first() -> None:
    a = side("a", pkg("p", "10.0"), pkg("p", "9.0"), pkg("p", None, kind=Kind.VCS), pkg("p", "1.0rc1"))
    changes, _ = compare(a, side("b"))
    assert changes[0].a_versions == [None, "1.0rc1", "9.0", "10.0"]


def test_package_patterns_filter_normalised_and_negated() -> None:
    patterns = package_patterns(["Pytest_*", "!pytest.cov"])
    assert patterns == ("pytest-*", "!pytest-cov")
    a = side("a", pkg("pytest-cov", "1"), pkg("pytest-mock", "1"), pkg("requests", "1"))
    changes, unchanged = compare(a, side("b"), DiffOptions(packages=patterns))
    assert kinds(changes) == {"pytest-mock": "only-a"}
    assert unchanged == 0
    with pytest.raises(UsageError, match="--packages"):
        package_patterns(["!"])


# --------------------------------------------------------------------------- policy


def rule(packages: tuple[str, ...], kind: str = "none", *, services: tuple[str, ...] = (),
         groups: tuple[str, ...] = ()) -> DriftRule:
    return DriftRule(packages, services, groups, kind, None)  # type: ignore[arg-type]


def test_drift_level_first_package_rule_else_default() -> None:
    policy = Policy(drift_default="same-major", drift_rules=(rule(("pytest-*",), "exact"), rule(("pytest*",))))
    assert drift_level(policy, "pytest-cov") == "exact"
    assert drift_level(policy, "pytest") == "none"
    assert drift_level(policy, "requests") == "same-major"


def test_drift_level_services_selector_needs_both_named_services() -> None:
    policy = Policy(drift_rules=(rule(("p",), services=("billing", "orders")),))
    assert drift_level(policy, "p", services=("billing", "orders")) == "none"
    assert drift_level(policy, "p", services=("billing", "gateway")) == "same-major"
    # Paths have no service name: the selector is ignored.
    assert drift_level(policy, "p", services=None) == "none"


def test_drift_level_groups_selector_when_groups_are_known() -> None:
    policy = Policy(drift_rules=(rule(("*",), groups=("dev",)),))
    assert drift_level(policy, "p", groups=("main", "dev")) == "none"
    assert drift_level(policy, "p", groups=("main",)) == "same-major"
    assert drift_level(policy, "p", groups=()) == "none"


def test_policy_only_leaves_out_packages_whose_rule_is_none() -> None:
    policy = Policy(drift_default="none", drift_rules=(rule(("kept",), "exact"),))
    a = side("a", pkg("kept", "1"), pkg("dropped", "1"), pkg("same", "1"))
    b = side("b", pkg("kept", "2"), pkg("dropped", "2"), pkg("same", "1"))
    changes, unchanged = compare(a, b, DiffOptions(policy=policy))
    assert kinds(changes) == {"kept": "major"}
    assert unchanged == 0


# --------------------------------------------------------------------------- resolving


def test_a_service_name_resolves_in_the_workspace() -> None:
    found, errors, _ = resolve_side("billing", EXAMPLE)
    assert (found.name, found.service, errors) == ("billing", True, [])
    assert [(s.path, s.format) for s in found.sources] == [("services/billing/uv.lock", "uv")]


def test_a_directory_is_one_service_with_paths_as_written() -> None:
    found, errors, _ = resolve_side(str(EXAMPLE / "services" / "orders"))
    assert errors == [] and found.service is False
    assert [s.path for s in found.sources] == [(EXAMPLE / "services/orders/poetry.lock").as_posix()]
    assert all(p.path.startswith(found.name + "/") for p in found.packages)


def test_an_existing_path_wins_over_a_service_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "billing").mkdir()
    (tmp_path / "billing" / "requirements.txt").write_text("x==1\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    found, _, _ = resolve_side("billing", EXAMPLE)
    assert [s.path for s in found.sources] == ["billing/requirements.txt"]


def test_an_unknown_name_suggests_close_service_names() -> None:
    with pytest.raises(UsageError, match=r"did you mean 'billing'\?"):
        resolve_side("biling", EXAMPLE)
    with pytest.raises(UsageError, match=r"its services: analytics, billing"):
        resolve_side("zzz", EXAMPLE)


def test_a_directory_without_records_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no dependency file in this directory; it is a workspace of 11 services"):
        resolve_side(str(EXAMPLE))


def test_unreadable_sources_are_errors_not_exceptions(tmp_path: Path) -> None:
    (tmp_path / "uv.lock").write_text("version = [\n", encoding="utf-8")
    (tmp_path / "requirements.txt").write_text("x==1\n", encoding="utf-8")
    result = run_diff(str(tmp_path / "uv.lock"), str(tmp_path / "requirements.txt"))
    assert result.exit_code() == 2
    assert [str(e).split(": ")[0] for e in result.errors] == [f"{(tmp_path / 'uv.lock').as_posix()}:1"]
    assert result.changes == ()


def test_run_diff_of_fork_lock_and_an_export(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("numpy==2.5.5\npytest==9.2.0\ncoverage==7.17.4\n", encoding="utf-8")
    args = (str(FORK / "uv.lock"), str(requirements))
    only = ("numpy", "pytest", "coverage")
    assert run_diff(*args, packages=only, target=make_target("3.12", None, None)).exit_code() == 0
    result = run_diff(*args, packages=only, target=make_target("3.9", None, None))
    assert kinds(result.changes) == {"coverage": "minor", "numpy": "minor", "pytest": "major"}
    universal = run_diff(*args, packages=only)
    numpy = next(c for c in universal.changes if c.package == "numpy")
    assert numpy.a_versions == ["2.0.2", "2.2.6", "2.4.6", "2.5.5"]
    assert (numpy.b_versions, numpy.change) == (["2.5.5"], "other")


# --------------------------------------------------------------------------- declarations


def test_declared_requirements_compare_by_meaning_not_by_spelling() -> None:
    a = declaring("a", declared("pytest-cov", ">=5,<6"), declared("pytest", version="8.4.2"), declared("pytest-mock"))
    b = declaring("b", declared("pytest-cov", "<6,>=5"), declared("pytest", version="8.4.2"), declared("pytest-mock"))
    assert compare_declared(a, b) == ()


def test_each_package_declared_differently_is_one_change_with_both_sides() -> None:
    a = declaring("a", declared("pytest", version="8.3.5"), declared("pytest-cov", ">=7"), declared("faker"))
    b = declaring(
        "b",
        declared("pytest", version="8.4.2"),
        declared("pytest-cov", ">=7"),
        declared("pytest-randomly"),
        declared("faker", marker='python_version < "3.12"'),
    )
    assert compare_declared(a, b) == (
        DeclaredChange(normalize("faker"), ("",), ('; python_version < "3.12"',)),
        DeclaredChange(normalize("pytest"), ("==8.3.5",), ("==8.4.2",)),
        DeclaredChange(normalize("pytest-randomly"), (), ("",)),
    )


def test_declared_differences_make_a_diff_differ(tmp_path: Path) -> None:
    for name, cov in (("a", "pytest-cov==7.1.0"), ("b", "pytest-cov==6.3.0")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "requirements.txt").write_text("pytest==8.4.2\n", encoding="utf-8")
        (tmp_path / name / "tox.ini").write_text(f"[testenv]\ndeps =\n    {cov}\n", encoding="utf-8")
    result = run_diff(str(tmp_path / "a"), str(tmp_path / "b"))
    assert result.changes == ()
    assert [(c.package, c.a, c.b) for c in result.declared] == [("pytest-cov", ("==7.1.0",), ("==6.3.0",))]
    assert result.exit_code() == 1
    # tox's default environment when the file lists none is `py`.
    assert result.a.environments == (f"{(tmp_path / 'a').as_posix()}/tox.ini [testenv:py]",)
    assert [(s.path, s.format) for s in result.a.declared_sources] == [((tmp_path / "a" / "tox.ini").as_posix(), "tox")]
