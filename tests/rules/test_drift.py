from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pytest

from envguard.inventory import load_inventory
from envguard.markers import Target
from envguard.model import Diagnostic, Finding, Inventory, Kind, Location, Package, Service, Source, normalize
from envguard.policy import DriftRule, Policy, RequireKind, load_policy
from envguard.rules.drift import DriftMatrix, DriftRow, drift_findings, drift_matrix, move_command

REPO = Path(__file__).resolve().parents[2]
MONOREPO = REPO / "examples" / "monorepo"
FORK = REPO / "tests" / "fixtures" / "uv" / "project-fork"

UNIVERSAL = Target()

_FILES = {
    "uv": "uv.lock",
    "poetry": "poetry.lock",
    "pdm": "pdm.lock",
    "pipfile": "Pipfile.lock",
    "pylock": "pylock.toml",
    "requirements": "requirements.txt",
    "freeze": "requirements.txt",
}


# --------------------------------------------------------------------------- builders


def pkg(
    name: str,
    version: str | None,
    *,
    path: str = "svc/uv.lock",
    line: int = 1,
    groups: tuple[str, ...] = ("main",),
    marker: str | None = None,
    kind: Kind = Kind.REGISTRY,
    specifier: str | None = None,
) -> Package:
    return Package(normalize(name), version, kind, groups, marker, path, line, specifier)


def svc(name: str, versions: dict[str, str | None], *, fmt: str = "uv", groups: tuple[str, ...] = ("main",)) -> Service:
    """A service whose one record (of format `fmt`) locks `versions`, one line per package."""
    path = f"{name}/{_FILES.get(fmt, 'lock')}"
    packages = tuple(
        pkg(package, version, path=path, line=index + 1, groups=groups)
        for index, (package, version) in enumerate(sorted(versions.items()))
    )
    return Service(name, name, (Source(path, fmt),), packages)


def raw_service(name: str, *packages: Package, fmt: str = "uv") -> Service:
    paths = sorted({p.path for p in packages}) or [f"{name}/uv.lock"]
    return Service(name, name, tuple(Source(p, fmt) for p in paths), packages)


def inventory(*services: Service) -> Inventory:
    return Inventory("/root", services)


def rule(
    packages: tuple[str, ...],
    kind: RequireKind,
    value: str | None = None,
    *,
    services: tuple[str, ...] = (),
    groups: tuple[str, ...] = (),
    line: int = 3,
) -> DriftRule:
    return DriftRule(packages, services, groups, kind, value, "policy.yaml", line)


def policy(*rules: DriftRule, default: str = "same-major", **kwargs: object) -> Policy:
    return Policy(drift_default=default, drift_rules=rules, **kwargs)  # type: ignore[arg-type]


def formats_of(inv: Inventory) -> dict[str, str]:
    return {source.path: source.format for service in inv.services for source in service.sources}


def run(
    inv: Inventory, pol: Policy, target: Target = UNIVERSAL, formats: dict[str, str] | None = None
) -> tuple[list[Finding], list[Diagnostic]]:
    return drift_findings(inv, pol, target, formats_of(inv) if formats is None else formats)


def only(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, [f.message for f in findings]
    return findings[0]


@pytest.fixture(scope="module")
def monorepo() -> Inventory:
    inv = load_inventory([MONOREPO])
    assert not inv.errors
    return inv


@pytest.fixture(scope="module")
def fork() -> Service:
    (service,) = load_inventory([FORK]).services
    return dataclasses.replace(service, name="fork")


# --------------------------------------------------------------------------- the example monorepo


def test_monorepo_pytest_exact(monorepo: Inventory) -> None:
    findings, diagnostics = run(monorepo, policy(rule(("pytest", "pytest-*"), "exact", line=4)))
    assert diagnostics == []
    pytest_finding = next(f for f in findings if f.package == "pytest")
    assert pytest_finding.rule == "EG201"
    assert pytest_finding.name == "version-drift"
    assert pytest_finding.service == "billing, gateway, inventory, notifications, orders, reports, runner, search"
    assert pytest_finding.version is None
    assert pytest_finding.message == (
        "pytest is not on the same version across services (drift rule policy.yaml:4 requires exact): "
        "analytics 9.2.0; billing 8.4.2; gateway 8.4.2; inventory 8.3.5; notifications 7.4.4; orders 8.4.2; "
        "reports 8.4.2; runner 8.4.2; search 8.4.2. Suggested target: 9.2.0, the highest version in use."
    )
    assert pytest_finding.hint.splitlines() == [
        "billing: uv lock --upgrade-package pytest==9.2.0",
        "gateway: poetry add --group dev pytest@9.2.0",
        "inventory: pdm update pytest (target 9.2.0)",
        "notifications: pipenv upgrade --dev pytest==9.2.0",
        "orders: poetry add --group dev pytest@9.2.0",
        "reports: set pytest==9.2.0 in services/reports/requirements.txt",
        "runner: pip-compile --upgrade-package pytest==9.2.0",
        "search: pip-compile --upgrade-package pytest==9.2.0",
    ]
    assert pytest_finding.locations == (
        Location("services/billing/uv.lock", 579),
        Location("services/gateway/poetry.lock", 383),
        Location("services/inventory/pdm.lock", 584),
        Location("services/notifications/Pipfile.lock", 751),
        Location("services/orders/poetry.lock", 1039),
        Location("services/reports/requirements.txt", 13),
        Location("services/runner/requirements-runner.txt", 21),
        Location("services/search/requirements.txt", 412),
    )
    # pytest-* under exact too: every plugin locked at two versions or more is reported.
    assert {f.package for f in findings} == {"pytest", "pytest-asyncio", "pytest-cov", "starlette"}


def test_monorepo_pytest_cov_same_major(monorepo: Inventory) -> None:
    findings, _ = run(monorepo, policy())
    cov = next(f for f in findings if f.package == "pytest-cov")
    assert cov.service == "gateway, notifications, orders, reports"
    assert cov.message == (
        "pytest-cov is not on the same major version across services (drift.default requires same-major): "
        "analytics 7.1.0; billing 7.1.0; gateway 5.0.0; inventory 7.1.0; notifications 4.1.0; orders 6.3.0; "
        "reports 5.0.0; runner 7.1.0; search 7.1.0. Suggested target: 7.1.0, the highest version in use."
    )
    assert cov.hint.splitlines() == [
        "gateway: poetry add --group dev pytest-cov@7.1.0",
        "notifications: pipenv upgrade --dev pytest-cov==7.1.0",
        "orders: poetry add --group dev pytest-cov@7.1.0",
        "reports: set pytest-cov==7.1.0 in services/reports/requirements.txt",
    ]
    assert [loc.path for loc in cov.locations] == [
        "services/gateway/poetry.lock",
        "services/notifications/Pipfile.lock",
        "services/orders/poetry.lock",
        "services/reports/requirements.txt",
    ]
    # pytest 7/8/9 differ in major too; 8.3.5 and 8.4.2 do not.
    pytest_finding = next(f for f in findings if f.package == "pytest")
    assert pytest_finding.service == "billing, gateway, inventory, notifications, orders, reports, runner, search"


def test_monorepo_same_minor_catches_minor_drift(monorepo: Inventory) -> None:
    findings, _ = run(monorepo, policy(default="same-minor"))
    hypothesis = next(f for f in findings if f.package == "hypothesis")
    assert hypothesis.service == "inventory"
    assert "inventory 6.139.3" in hypothesis.message
    assert hypothesis.hint == "inventory: pdm update hypothesis (target 6.170.17)"


def test_monorepo_none_default_reports_nothing(monorepo: Inventory) -> None:
    assert run(monorepo, policy(default="none")) == ([], [])


def test_monorepo_issue_policy_from_yaml(monorepo: Inventory, tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(
        """\
version: 1
drift:
  default: same-major
  rules:
    - packages: ["pytest", "pytest-*"]
      require: exact
    - packages: ["django"]
      require: { pinned: ">=4.2,<4.3" }
    - packages: ["numpy"]
      require: { snap-to: ml-core }
    - packages: ["pip", "setuptools", "wheel"]
      require: none
    - packages: ["*"]
      services: ["legacy/*"]
      groups: [dev]
      require: none
""",
        encoding="utf-8",
    )
    loaded = load_policy(path, shown="policy.yaml")
    findings, diagnostics = run(monorepo, loaded)
    assert diagnostics == [
        Diagnostic(
            "policy.yaml",
            9,
            "drift rule snap-to: service 'ml-core' is not in the inventory; numpy not checked against it",
        )
    ]
    assert not any(f.package == "numpy" for f in findings)
    by_package = {f.package: f for f in findings}
    assert "drift rule policy.yaml:5 requires exact" in by_package["pytest"].message
    assert by_package["starlette"].message.startswith("starlette is not on the same major version")


def test_monorepo_policy_approved_range_limits_the_suggestion(monorepo: Inventory) -> None:
    pol = policy(approved={normalize("pytest-cov"): ">=5,<7"})
    cov = next(f for f in run(monorepo, pol)[0] if f.package == "pytest-cov")
    assert cov.message.endswith("Suggested target: 6.3.0, the highest version in use within plugins.approved >=5,<7.")
    assert cov.service == "analytics, billing, gateway, inventory, notifications, reports, runner, search"
    assert "billing: uv lock --upgrade-package pytest-cov==6.3.0" in cov.hint.splitlines()


def test_monorepo_pytest_allowed_limits_the_suggestion(monorepo: Inventory) -> None:
    pol = policy(rule(("pytest",), "exact"), pytest_allowed=">=8,<9")
    found = next(f for f in run(monorepo, pol)[0] if f.package == "pytest")
    assert found.message.endswith("Suggested target: 8.4.2, the highest version in use within pytest.allowed >=8,<9.")
    assert found.service == "analytics, inventory, notifications"


def test_monorepo_matrix(monorepo: Inventory) -> None:
    pol = policy(rule(("pytest",), "exact"))
    findings, _ = run(monorepo, pol)
    matrix = drift_matrix(monorepo, pol, UNIVERSAL, findings)
    assert matrix.services == (
        "analytics", "billing", "gateway", "inventory", "notifications", "orders", "reports", "runner", "search"
    )  # fmt: skip
    assert [row.package for row in matrix.rows] == ["pytest", "pytest-asyncio", "pytest-cov", "starlette"]
    # Each row with the target its findings suggest.
    assert matrix.dense(matrix.rows[0]) == ("9.2.0", "8.4.2", "8.4.2", "8.3.5", "7.4.4", "8.4.2", "8.4.2", "8.4.2", "8.4.2")
    assert matrix.rows[0][2:] == ("exact", "9.2.0")
    assert matrix.rows[1] == DriftRow(
        "pytest-asyncio", (("gateway", "0.23.8"), ("inventory", "1.3.0")), "same-major", "1.3.0"
    )  # only the services that hold it
    assert matrix.dense(matrix.rows[1]) == ("", "", "0.23.8", "1.3.0", "", "", "", "", "")
    # Only the rows of the findings given, and only the columns they use.
    asyncio = [f for f in findings if f.package == "pytest-asyncio"]
    assert drift_matrix(monorepo, pol, UNIVERSAL, asyncio) == DriftMatrix(
        ("gateway", "inventory"),
        (DriftRow("pytest-asyncio", (("gateway", "0.23.8"), ("inventory", "1.3.0")), "same-major", "1.3.0"),),
    )
    assert drift_matrix(monorepo, pol, UNIVERSAL, []) == DriftMatrix((), ())


def test_monorepo_service_selector_with_negation(monorepo: Inventory) -> None:
    # Everything but pytest in analytics and notifications is exempt: only the 8.x services compare.
    pol = policy(rule(("pytest",), "exact", services=("!analytics", "!notifications")), rule(("*",), "none"))
    found = only(run(monorepo, pol)[0])
    assert found.service == "inventory"
    assert found.message.startswith(
        "pytest is not on the same version across services (drift rule policy.yaml:3 requires exact): "
        "billing 8.4.2; gateway 8.4.2; inventory 8.3.5;"
    )


# --------------------------------------------------------------------------- levels and versions


def test_exact_treats_trailing_zeros_as_equal() -> None:
    inv = inventory(svc("a", {"attrs": "1.0"}), svc("b", {"attrs": "1.0.0"}))
    assert run(inv, policy(default="exact")) == ([], [])


@pytest.mark.parametrize(
    ("level", "drifts"), [("exact", True), ("same-minor", False), ("same-major", False)]
)  # fmt: skip
def test_local_versions(level: str, drifts: bool) -> None:
    inv = inventory(
        svc("cpu", {"torch": "2.5.1+cpu"}), svc("gpu", {"torch": "2.5.1+cu124"}), svc("old", {"torch": "2.0.0"})
    )
    findings, _ = run(inv, policy(default=level))
    if level == "same-minor":
        assert only(findings).service == "old"
        return
    if not drifts:
        assert findings == []
        return
    found = only(findings)
    # 2.5.1+cu124 sorts after 2.5.1+cpu, so it is the suggestion.
    assert found.service == "cpu, old"
    assert found.message.endswith("Suggested target: 2.5.1+cu124, the highest version in use.")
    assert found.hint.splitlines() == [
        "cpu: uv lock --upgrade-package torch==2.5.1+cu124",
        "old: uv lock --upgrade-package torch==2.5.1+cu124",
    ]


def test_prerelease_differs_under_exact_not_under_same_minor() -> None:
    inv = inventory(svc("a", {"lib": "1.2.0rc1"}), svc("b", {"lib": "1.2.0"}))
    found = only(run(inv, policy(default="exact"))[0])
    assert found.service == "a"
    assert found.message.endswith("a 1.2.0rc1; b 1.2.0. Suggested target: 1.2.0, the highest version in use.")
    assert run(inv, policy(default="same-minor"))[0] == []


def test_final_release_preferred_over_a_newer_prerelease() -> None:
    inv = inventory(svc("a", {"lib": "2.0.0rc1"}), svc("b", {"lib": "1.9.0"}), svc("c", {"lib": "1.8.0"}))
    found = only(run(inv, policy())[0])
    assert found.service == "a"
    assert found.message.endswith("Suggested target: 1.9.0, the highest version in use.")


def test_prerelease_suggested_when_nothing_else_qualifies() -> None:
    inv = inventory(svc("a", {"lib": "2.0.0b1"}), svc("b", {"lib": "2.0.0rc1"}))
    found = only(run(inv, policy(default="exact"))[0])
    assert found.service == "a"
    assert "Suggested target: 2.0.0rc1" in found.message


def test_raw_versions_only_equal_themselves() -> None:
    same = inventory(svc("a", {"tool": "2024.01-custom"}), svc("b", {"tool": "2024.01-custom"}))
    assert run(same, policy(default="exact")) == ([], [])
    mixed = inventory(svc("a", {"tool": "2024.01-custom"}), svc("b", {"tool": "2024.1"}))
    # Under same-major 2024.1 has major 2024, but the raw version is compared as text.
    found = only(run(mixed, policy(default="same-major"))[0])
    assert found.service == "a"
    assert found.message.endswith("Suggested target: 2024.1, the highest version in use.")


def test_no_suggestion_falls_back_to_the_most_common_version() -> None:
    inv = inventory(
        svc("a", {"tool": "build-7"}),
        svc("b", {"tool": "build-7"}),
        svc("c", {"tool": "build-9"}),
    )
    found = only(run(inv, policy(default="exact"))[0])
    assert found.service == "c"
    assert found.message == (
        "tool is not on the same version across services (drift.default requires exact): "
        "a build-7; b build-7; c build-9. No version in use is a PEP 440 version; "
        "the outliers are the services not on the most common version build-7."
    )
    assert found.hint == "Choose a version of tool and move c to it with each service's locking tool."
    assert found.locations == (Location("c/uv.lock", 1),)


def test_no_version_within_the_approved_range() -> None:
    pol = policy(approved={normalize("pytest-xdist"): ">=4"})
    inv = inventory(
        svc("a", {"pytest-xdist": "3.8.0"}), svc("b", {"pytest-xdist": "2.5.0"}), svc("c", {"pytest-xdist": "3.6.1"})
    )
    found = only(run(inv, pol)[0])
    assert found.service == "b"
    assert found.message.endswith(
        "No version in use is within plugins.approved >=4; "
        "the outliers are the services not on the most common version 3.8.0."
    )
    assert found.hint == (
        "Choose a version of pytest-xdist within plugins.approved >=4 "
        "and move b to it with each service's locking tool."
    )


def test_tie_for_most_common_goes_to_the_higher_version() -> None:
    inv = inventory(svc("a", {"tool": "v-1"}), svc("b", {"tool": "v-2"}))
    assert only(run(inv, policy(default="exact"))[0]).service == "a"


def test_versionless_entries_are_noted_not_compared() -> None:
    inv = inventory(
        svc("a", {"attrs": "23.1.0"}),
        svc("b", {"attrs": "24.2.0"}),
        raw_service("c", pkg("attrs", None, path="c/requirements.txt", kind=Kind.VCS)),
    )
    found = only(run(inv, policy())[0])
    assert found.service == "a"
    assert found.message.endswith(
        "a 23.1.0; b 24.2.0. Suggested target: 24.2.0, the highest version in use. "
        "Not compared (no version in the record): c."
    )
    # One versioned service and one without: nothing to compare.
    assert run(inventory(svc("a", {"attrs": "23.1.0"}), raw_service("c", pkg("attrs", None))), policy()) == ([], [])


def test_local_projects_are_not_compared() -> None:
    inv = inventory(
        raw_service("a", pkg("shared", "1.0", kind=Kind.LOCAL_PROJECT)),
        raw_service("b", pkg("shared", "2.0", kind=Kind.LOCAL_PROJECT)),
    )
    assert run(inv, policy(default="exact")) == ([], [])


def test_one_service_is_never_drift() -> None:
    inv = inventory(raw_service("a", pkg("lib", "1.0", marker="python_version < '3.10'"), pkg("lib", "2.0", line=2)))
    assert run(inv, policy(default="exact")) == ([], [])


# --------------------------------------------------------------------------- markers


def test_marker_fork_universal_view(fork: Service) -> None:
    inv = inventory(fork, svc("app", {"numpy": "2.5.5"}))
    pol = policy(rule(("numpy",), "exact"), default="none")
    found = only(run(inv, pol)[0])
    assert found.service == "fork"
    assert found.message == (
        "numpy is not on the same version across services (drift rule policy.yaml:3 requires exact): "
        "app 2.5.5; fork 2.0.2 [python_full_version < '3.10'], 2.2.6 [python_full_version == '3.10.*'], "
        "2.4.6 [python_full_version == '3.11.*'], 2.5.5 [python_full_version >= '3.12']. "
        "Suggested target: 2.5.5, the highest version in use."
    )
    assert found.locations == (Location("uv.lock", 817), Location("uv.lock", 872), Location("uv.lock", 937))
    assert found.hint == "fork: uv lock --upgrade-package numpy==2.5.5"
    # All 2.x: the same major in every view.
    assert run(inv, policy(rule(("numpy",), "same-major"), default="none")) == ([], [])


def test_marker_fork_target_view(fork: Service) -> None:
    inv = inventory(fork, svc("app", {"numpy": "2.5.5", "pytest": "9.2.0"}))
    pol = policy(default="exact")
    assert run(inv, pol, Target(python="3.12")) == ([], [])
    found = {f.package: f for f in run(inv, pol, Target(python="3.9"))[0]}
    assert found["numpy"].message.startswith(
        "numpy is not on the same version across services (drift.default requires exact): app 2.5.5; fork 2.0.2. "
    )
    assert found["pytest"].service == "fork"
    assert found["pytest"].locations == (Location("uv.lock", 1156),)


def test_marker_fork_matrix(fork: Service) -> None:
    inv = inventory(fork, svc("app", {"numpy": "2.5.5"}))
    pol = policy(rule(("numpy",), "exact"), default="none")
    findings, _ = run(inv, pol)
    assert drift_matrix(inv, pol, UNIVERSAL, findings) == DriftMatrix(
        ("app", "fork"), (DriftRow("numpy", (("app", "2.5.5"), ("fork", "2.0.2, 2.2.6, 2.4.6, 2.5.5")), "exact", "2.5.5"),)
    )


# --------------------------------------------------------------------------- rule resolution


def test_first_matching_rule_decides() -> None:
    inv = inventory(svc("a", {"pytest": "8.3.5", "pip": "24.0"}), svc("b", {"pytest": "8.4.2", "pip": "25.1"}))
    pol = policy(rule(("pytest",), "exact"), rule(("pytest", "pip"), "none", line=5), rule(("*",), "exact", line=7))
    found = only(run(inv, pol)[0])
    assert found.package == "pytest"
    assert "drift rule policy.yaml:3 requires exact" in found.message


def test_resolution_is_per_entry_and_rules_compare_separately() -> None:
    inv = inventory(
        svc("legacy/a", {"requests": "2.20.0"}),
        svc("legacy/b", {"requests": "2.31.0"}),
        svc("c", {"requests": "2.32.3"}),
        svc("d", {"requests": "2.32.4"}),
    )
    pol = policy(rule(("requests",), "same-major", services=("legacy/*",)), default="exact")
    found = only(run(inv, pol)[0])
    assert found.service == "c"
    assert "c 2.32.3; d 2.32.4." in found.message
    assert "legacy" not in found.message


def test_services_selector_none_for_legacy() -> None:
    inv = inventory(svc("legacy/a", {"six": "1.10.0"}), svc("b", {"six": "1.16.0"}), svc("c", {"six": "1.16.0"}))
    pol = policy(rule(("*",), "none", services=("legacy/*",)), default="exact")
    assert run(inv, pol) == ([], [])
    negated = policy(rule(("*",), "none", services=("!legacy/*",)), default="exact")
    assert run(inv, negated) == ([], [])  # only legacy/a is compared, alone


def test_groups_selector() -> None:
    inv = inventory(
        svc("a", {"ruff": "0.5.0"}, groups=("dev",)),
        svc("b", {"ruff": "0.6.0"}, groups=("dev",)),
        svc("c", {"ruff": "0.4.0"}, groups=("lint", "main")),
    )
    pol = policy(rule(("*",), "none", groups=("dev",)), default="exact")
    assert run(inv, pol) == ([], [])  # c alone is compared
    # "!dev": every entry with a group other than dev; unknown groups never match a group selector.
    unknown = raw_service("d", pkg("ruff", "0.3.0", path="d/poetry.lock", groups=()))
    pol = policy(rule(("*",), "none", groups=("!dev",)), default="exact")
    found = only(run(inventory(*inv.services, unknown), pol)[0])
    assert found.service == "a, d"
    assert "a 0.5.0; b 0.6.0; d 0.3.0." in found.message


def test_package_glob_with_negation() -> None:
    inv = inventory(
        svc("a", {"pytest-cov": "6.0", "pytest-mock": "3.0"}), svc("b", {"pytest-cov": "7.0", "pytest-mock": "3.1"})
    )
    pol = policy(rule(("pytest-*", "!pytest-cov"), "exact"), default="none")
    assert only(run(inv, pol)[0]).package == "pytest-mock"


# --------------------------------------------------------------------------- pinned


def test_pinned() -> None:
    inv = inventory(
        svc("a", {"django": "4.1.13"}, fmt="poetry"),
        svc("b", {"django": "4.2.16"}),
        svc("c", {"django": "5.0.1"}, fmt="pipfile"),
        svc("d", {"django": "4.2.7"}),
        svc("e", {"django": "custom-build"}, fmt="freeze"),
    )
    pol = policy(rule(("django",), "pinned", ">=4.2,<4.3", line=9))
    findings, diagnostics = run(inv, pol)
    assert diagnostics == []
    assert [(f.rule, f.name, f.service, f.version) for f in findings] == [
        ("EG202", "pinned-version-mismatch", "a", "4.1.13"),
        ("EG202", "pinned-version-mismatch", "c", "5.0.1"),
        ("EG202", "pinned-version-mismatch", "e", "custom-build"),
    ]
    assert findings[0].message == (
        "django 4.1.13 in a is outside the pinned range >=4.2,<4.3 (drift rule policy.yaml:9). "
        "Suggested target: 4.2.16, the highest version in use within pinned >=4.2,<4.3."
    )
    assert [f.hint for f in findings] == [
        "a: poetry add django@4.2.16",
        "c: pipenv upgrade django==4.2.16",
        "e: set django==4.2.16 in e/requirements.txt",
    ]
    assert findings[0].locations == (Location("a/poetry.lock", 1),)


def test_pinned_without_a_version_in_range() -> None:
    inv = inventory(svc("a", {"django": "4.1.13"}), svc("b", {"django": "5.0.1"}))
    findings, _ = run(inv, policy(rule(("django",), "pinned", ">=4.2,<4.3")))
    assert [f.service for f in findings] == ["a", "b"]
    assert findings[1].message == (
        "django 5.0.1 in b is outside the pinned range >=4.2,<4.3 (drift rule policy.yaml:3). "
        "No version in use is within pinned >=4.2,<4.3."
    )
    assert findings[1].hint == (
        "Choose a version of django within pinned >=4.2,<4.3 and move b to it with each service's locking tool."
    )


def test_pin_in_one_service_bounds_the_suggestion_for_the_others() -> None:
    inv = inventory(
        svc("a", {"numpy": "1.26.4"}),
        svc("b", {"numpy": "2.1.0"}),
        svc("c", {"numpy": "2.0.2"}),
        svc("pinned", {"numpy": "2.0.2"}),
    )
    pol = policy(rule(("numpy",), "pinned", "<2.1", services=("pinned",)), default="exact")
    found = only(run(inv, pol)[0])
    assert found.service == "a, b"
    assert found.message.endswith("Suggested target: 2.0.2, the highest version in use within pinned <2.1.")


def test_pinned_prerelease_and_multiple_versions_in_one_service() -> None:
    inv = inventory(
        raw_service(
            "a",
            pkg("lib", "2.0.0rc1", path="a/uv.lock", marker="python_version >= '3.12'"),
            pkg("lib", "1.5.0", path="a/uv.lock", line=2, marker="python_version < '3.12'"),
        ),
        svc("b", {"lib": "1.9.0"}),
    )
    found = only(run(inv, policy(rule(("lib",), "pinned", "<2")))[0])
    assert found.service == "a"
    assert found.version == "2.0.0rc1"
    assert found.message.startswith("lib 2.0.0rc1 in a is outside the pinned range <2 ")
    assert found.hint == "a: uv lock --upgrade-package lib==1.9.0"


# --------------------------------------------------------------------------- snap-to


def test_snap_to() -> None:
    inv = inventory(
        svc("ml-core", {"numpy": "1.26.4"}),
        svc("a", {"numpy": "1.26.4.0"}),
        svc("b", {"numpy": "2.0.2"}, fmt="pdm"),
        svc("c", {"numpy": "1.26.3"}),
    )
    pol = policy(rule(("numpy",), "snap-to", "ml-core", line=11))
    findings, diagnostics = run(inv, pol)
    assert diagnostics == []
    assert [(f.rule, f.name, f.service, f.version) for f in findings] == [
        ("EG203", "snap-to-mismatch", "b", "2.0.2"),
        ("EG203", "snap-to-mismatch", "c", "1.26.3"),
    ]
    assert findings[0].message == (
        "numpy 2.0.2 in b differs from 1.26.4 used by the reference service ml-core (drift rule policy.yaml:11). "
        "Suggested target: 1.26.4."
    )
    assert [f.hint for f in findings] == [
        "b: pdm update numpy (target 1.26.4)",
        "c: uv lock --upgrade-package numpy==1.26.4",
    ]
    matrix = drift_matrix(inv, pol, UNIVERSAL, findings)
    assert matrix == DriftMatrix(
        ("a", "b", "c", "ml-core"),
        (DriftRow("numpy", (("a", "1.26.4.0"), ("b", "2.0.2"), ("c", "1.26.3"), ("ml-core", "1.26.4")), "snap-to ml-core", "1.26.4"),),
    )


def test_snap_to_missing_reference_service_warns_once_per_rule() -> None:
    inv = inventory(svc("a", {"numpy": "1.0", "scipy": "1.0"}), svc("b", {"numpy": "2.0", "scipy": "1.1"}))
    pol = policy(rule(("numpy", "scipy"), "snap-to", "ml-core", line=6))
    assert run(inv, pol) == (
        [],
        [
            Diagnostic(
                "policy.yaml",
                6,
                "drift rule snap-to: service 'ml-core' is not in the inventory; numpy, scipy not checked against it",
            )
        ],
    )


def test_snap_to_reference_lacks_the_package() -> None:
    inv = inventory(svc("ml-core", {"numpy": "1.26.4"}), svc("a", {"scipy": "1.0", "numpy": "1.0"}))
    pol = policy(rule(("numpy", "scipy"), "snap-to", "ml-core", line=6))
    findings, diagnostics = run(inv, pol)
    assert [f.package for f in findings] == ["numpy"]
    assert diagnostics == [
        Diagnostic(
            "policy.yaml",
            6,
            "drift rule snap-to: service 'ml-core' has no version of scipy; scipy not checked against it",
        )
    ]


def test_snap_to_reference_missing_in_the_target_view() -> None:
    inv = inventory(
        raw_service("ml-core", pkg("numpy", "1.26.4", path="ml-core/uv.lock", marker="python_version < '3.12'")),
        svc("a", {"numpy": "2.0.0"}),
    )
    pol = policy(rule(("numpy",), "snap-to", "ml-core"))
    assert [f.service for f in run(inv, pol)[0]] == ["a"]
    findings, diagnostics = run(inv, pol, Target(python="3.12"))
    assert findings == []
    assert diagnostics == [
        Diagnostic(
            "policy.yaml",
            3,
            "drift rule snap-to: service 'ml-core' has no version of numpy for python 3.12; "
            "numpy not checked against it",
        )
    ]


def test_snap_to_forked_reference_accepts_any_of_its_versions() -> None:
    inv = inventory(
        raw_service(
            "ml-core",
            pkg("numpy", "2.0.2", path="ml-core/uv.lock", marker="python_version < '3.10'"),
            pkg("numpy", "2.2.6", path="ml-core/uv.lock", line=2, marker="python_version >= '3.10'"),
        ),
        svc("a", {"numpy": "2.2.6"}),
        svc("b", {"numpy": "2.1.0"}),
    )
    found = only(run(inv, policy(rule(("numpy",), "snap-to", "ml-core")))[0])
    assert found.service == "b"
    assert "differs from 2.0.2, 2.2.6 used by the reference service ml-core" in found.message
    assert found.hint == "b: uv lock --upgrade-package numpy==2.2.6"


# --------------------------------------------------------------------------- commands


@pytest.mark.parametrize(
    ("fmt", "groups", "compiled", "expected"),
    [
        ("uv", ("dev",), False, "uv lock --upgrade-package pytest==8.4.2"),
        ("poetry", ("main",), False, "poetry add pytest@8.4.2"),
        ("poetry", ("dev", "main"), False, "poetry add pytest@8.4.2"),
        ("poetry", (), False, "poetry add pytest@8.4.2"),
        ("poetry", ("test",), False, "poetry add --group test pytest@8.4.2"),
        ("poetry", ("extra:cov",), False, "poetry add pytest@8.4.2"),
        ("pdm", ("test",), False, "pdm update pytest (target 8.4.2)"),
        ("pipfile", ("main",), False, "pipenv upgrade pytest==8.4.2"),
        ("pipfile", ("dev",), False, "pipenv upgrade --dev pytest==8.4.2"),
        ("pipfile", ("docs",), False, "pipenv upgrade --categories docs pytest==8.4.2"),
        ("requirements", ("main",), True, "pip-compile --upgrade-package pytest==8.4.2"),
        ("requirements", ("main",), False, "set pytest==8.4.2 in svc/lockfile"),
        ("freeze", (), False, "set pytest==8.4.2 in svc/lockfile"),
        ("pylock", ("main",), False, "re-lock svc/lockfile with pytest==8.4.2"),
        ("conda", (), False, "re-lock svc/lockfile with pytest==8.4.2"),
        (None, (), False, "re-lock svc/lockfile with pytest==8.4.2"),
    ],
)
def test_move_command(fmt: str | None, groups: tuple[str, ...], compiled: bool, expected: str) -> None:
    package = pkg("pytest", "7.4.4", path="svc/lockfile", groups=groups)
    assert move_command(package, "8.4.2", fmt, compiled=compiled) == expected


def test_requirements_file_with_ranges_is_not_pip_compile_output() -> None:
    hand = raw_service(
        "hand",
        pkg("attrs", "22.0.0", path="hand/requirements.txt"),
        pkg("click", None, path="hand/requirements.txt", line=2, specifier=">=8"),
        fmt="requirements",
    )
    compiled = raw_service("compiled", pkg("attrs", "21.0.0", path="compiled/requirements.txt"), fmt="requirements")
    inv = inventory(hand, compiled, svc("new", {"attrs": "24.2.0"}))
    assert only(run(inv, policy())[0]).hint.splitlines() == [
        "compiled: pip-compile --upgrade-package attrs==24.2.0",
        "hand: set attrs==24.2.0 in hand/requirements.txt",
    ]


def test_formats_mapping_chooses_the_command() -> None:
    inv = inventory(svc("a", {"attrs": "22.0.0"}), svc("b", {"attrs": "24.2.0"}))
    found = only(run(inv, policy(), formats={"a/uv.lock": "pylock"})[0])
    assert found.hint == "a: re-lock a/uv.lock with attrs==24.2.0"


def test_included_file_takes_the_format_of_the_only_source() -> None:
    service = Service(
        "a",
        "a",
        (Source("a/requirements.txt", "requirements"),),
        (pkg("attrs", "22.0.0", path="a/requirements/base.txt"),),
    )
    inv = inventory(service, svc("b", {"attrs": "24.2.0"}))
    assert only(run(inv, policy(), formats={})[0]).hint == "a: pip-compile --upgrade-package attrs==24.2.0"


def test_several_outlier_entries_in_one_service() -> None:
    service = raw_service(
        "a",
        pkg("attrs", "22.0.0", path="a/poetry.lock", groups=("dev",)),
        pkg("attrs", "21.0.0", path="a/requirements.txt", line=4),
    )
    sources = (Source("a/poetry.lock", "poetry"), Source("a/requirements.txt", "freeze"))
    service = dataclasses.replace(service, sources=sources)
    inv = inventory(service, svc("b", {"attrs": "24.2.0"}))
    found = only(run(inv, policy())[0])
    assert found.hint == "a: set attrs==24.2.0 in a/requirements.txt; poetry add --group dev attrs@24.2.0"
    assert found.locations == (Location("a/poetry.lock", 1), Location("a/requirements.txt", 4))


# --------------------------------------------------------------------------- determinism


def test_output_does_not_depend_on_input_order(monorepo: Inventory) -> None:
    pol = policy(rule(("pytest", "pytest-*"), "exact"), default="same-minor")
    expected = run(monorepo, pol)
    shuffled = list(monorepo.services)
    random.Random(7).shuffle(shuffled)
    services = tuple(
        dataclasses.replace(s, packages=tuple(random.Random(3).sample(s.packages, len(s.packages)))) for s in shuffled
    )
    again = dataclasses.replace(monorepo, services=services)
    assert run(again, pol) == expected
    findings = expected[0]
    assert drift_matrix(again, pol, UNIVERSAL, findings) == drift_matrix(monorepo, pol, UNIVERSAL, findings)


def test_suppressed_findings_still_in_the_matrix(monorepo: Inventory) -> None:
    from envguard.model import Waiver

    pol = policy(default="same-major")
    findings, _ = run(monorepo, pol)
    waived = [dataclasses.replace(f, exception=Waiver("*", "legacy", "2999-01-01")) for f in findings]
    assert drift_matrix(monorepo, pol, UNIVERSAL, waived) == drift_matrix(monorepo, pol, UNIVERSAL, findings)


# --------------------------------------------------------------------------- organisations


def test_a_listing_of_many_services_names_them_by_version() -> None:
    # 24 services on 8.3.2, three behind: past 20 services one line per service is unreadable.
    names = [f"svc-{n:02d}" for n in range(27)]
    versions = {name: "8.3.2" for name in names[:24]} | {"svc-24": "7.4.0", "svc-25": "7.4.0", "svc-26": "6.2.5"}
    found = only(run(inventory(*(svc(name, {"pytest": v}) for name, v in versions.items())), policy())[0])
    assert found.message == (
        "pytest is not on the same major version across services (drift.default requires same-major): "
        "6.2.5 in svc-26; 7.4.0 in svc-24, svc-25; 8.3.2 in 24 services (svc-00, svc-01, svc-02 and 21 more). "
        "Suggested target: 8.3.2, the highest version in use."
    )
    assert found.service == "svc-24, svc-25, svc-26"
    assert found.involved == tuple(names)


def test_a_listing_of_twenty_services_keeps_one_entry_per_service() -> None:
    services = [svc(f"svc-{n:02d}", {"pytest": "8.3.2" if n else "7.4.0"}) for n in range(20)]
    found = only(run(inventory(*services), policy())[0])
    assert "svc-00 7.4.0; svc-01 8.3.2; " in found.message
    assert found.message.count("8.3.2") == 19 + 1  # each service, and the suggested target


def test_poetry_hint_takes_the_group_from_the_pyproject_when_the_lock_records_none() -> None:
    # Poetry's lock-version 2.0 records no groups: `poetry add name@v` would move a dev
    # dependency to the main ones. The group comes from the declaring pyproject table instead.
    from envguard.model import Declaration

    def declared(name: str, groups: tuple[str, ...], line: int) -> Declaration:
        return Declaration(
            name=normalize(name), requirement=f"{name}>=1", version=None, specifier=">=1", kind=Kind.REGISTRY,
            marker=None, environment="app/pyproject.toml [tool.poetry.group.test.dependencies]", origin="poetry",
            path="app/pyproject.toml", line=line, groups=groups,
        )  # fmt: skip

    app = dataclasses.replace(
        raw_service("app", pkg("pytest", "8.1.0", path="app/poetry.lock", groups=()),
                    pkg("anyio", "3.7.1", path="app/poetry.lock", groups=(), line=2), fmt="poetry"),
        declarations=(declared("pytest", ("test",), 3), declared("anyio", ("main",), 4)),
    )  # fmt: skip
    other = svc("other", {"pytest": "9.0.2", "anyio": "4.4.0"})
    found = {f.package: f.hint for f in run(inventory(app, other), policy())[0]}
    assert found["pytest"].startswith("app: poetry add --group test pytest@9.0.2")
    assert found["anyio"].startswith("app: poetry add anyio@4.4.0")  # main: no option
