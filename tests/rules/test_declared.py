"""envguard.rules.declared: the plugin and package rules over what files declare."""

from __future__ import annotations

import dataclasses

from envguard.model import Declaration, Finding, Kind, Location, NormalizedName, Package, Service, Severity, Source
from envguard.plugins import PluginUse
from envguard.policy import Policy
from envguard.rules.declared import declared_findings, declared_plugins, declared_status
from envguard.rules._common import finding

PYPROJECT = "services/payments/pyproject.toml"
EXTRA = f"{PYPROJECT} [project.optional-dependencies] test"
LOCK = "services/payments/uv.lock"

POLICY = Policy(
    pytest_allowed=">=8",
    approved={NormalizedName("pytest-cov"): ">=5,<8", NormalizedName("pytest-mock"): "*"},
    denied={NormalizedName("pytest-sugar"): "hides failures in CI logs"},
)


def declared(name: str, line: int, *, version: str | None = None, specifier: str | None = None, **changes: object) -> Declaration:
    declaration = Declaration(
        NormalizedName(name),
        f"{name}=={version}" if version else f"{name}{specifier or ''}",
        version,
        specifier,
        Kind.REGISTRY,
        None,
        EXTRA,
        "project",
        PYPROJECT,
        line,
    )
    return dataclasses.replace(declaration, **changes)  # type: ignore[arg-type]


def service(declarations: list[Declaration], packages: tuple[Package, ...] = ()) -> Service:
    sources = (Source(LOCK, "uv"),) if packages else ()
    return Service("payments", "services/payments", sources, packages, declarations=tuple(declarations))


def check(target: Service, uses: tuple[PluginUse, ...] = (), policy: Policy = POLICY) -> list[Finding]:
    return declared_findings(target, uses, policy, [])


def summary(findings: list[Finding]) -> list[tuple[str, str | None, Severity, tuple[int | None, ...]]]:
    return [(f.name, f.package, f.severity, tuple(l.line for l in f.locations)) for f in findings]


def test_an_unapproved_plugin_declared_only_in_an_extra_is_found_at_its_line() -> None:
    found = check(service([declared("pytest-randomly", 14)]))
    assert summary(found) == [("unapproved-plugin", "pytest-randomly", Severity.WARNING, (14,))]
    assert found[0].message == f"pytest plugin pytest-randomly is declared in {EXTRA} and not approved by the policy"


def test_a_denied_package_is_denied_wherever_it_is_declared() -> None:
    found = check(service([declared("pytest-sugar", 9, version="1.1.1"), declared("pytest-sugar", 20, version="1.1.1", environment="tox.ini [testenv]")]))
    assert summary(found) == [("denied-package", "pytest-sugar", Severity.ERROR, (9, 20))]
    assert found[0].version == "1.1.1"
    assert "denied by the policy: hides failures in CI logs" in found[0].message


def test_a_range_that_admits_no_approved_version_is_an_error() -> None:
    found = check(service([declared("pytest-cov", 5, specifier="<5")]))
    assert summary(found) == [("plugin-version-not-allowed", "pytest-cov", Severity.ERROR, (5,))]
    assert "declared as pytest-cov<5" in found[0].message and "admits no version in its approved range >=5,<8" in found[0].message


def test_a_range_that_also_admits_outside_versions_is_a_warning_with_an_example() -> None:
    found = check(service([declared("pytest-cov", 5, specifier=">=4")]))
    assert summary(found) == [("plugin-version-not-allowed", "pytest-cov", Severity.WARNING, (5,))]
    assert "which also admits versions outside its approved range >=5,<8" in found[0].message
    assert found[0].message.endswith("(it admits 4, for example)")


def test_a_range_within_the_approved_one_passes() -> None:
    assert check(service([declared("pytest-cov", 5, specifier=">=6,<7"), declared("pytest-mock", 6)])) == []


def test_an_unpinned_pytest_is_reported_as_unpinned_not_as_outside() -> None:
    found = check(service([declared("pytest", 3)]))
    assert summary(found) == [("pytest-version-not-allowed", "pytest", Severity.WARNING, (3,))]
    assert found[0].message == (
        f"pytest is declared without a version in {EXTRA}, so nothing keeps it within pytest.allowed >=8 "
        "(it admits 7, for example)"
    )
    assert "outside" not in found[0].message


def test_an_exact_pin_outside_the_range_is_an_error_like_a_locked_version() -> None:
    found = check(service([declared("pytest", 3, version="7.4.4")]))
    assert summary(found) == [("pytest-version-not-allowed", "pytest", Severity.ERROR, (3,))]
    assert found[0].version == "7.4.4"


def test_a_loose_range_the_lock_resolves_is_judged_by_the_lock_alone() -> None:
    lock = (Package(NormalizedName("pytest-cov"), "7.1.0", Kind.REGISTRY, ("dev",), None, LOCK, 40),)
    assert check(service([declared("pytest-cov", 5, specifier=">=4")], lock)) == []


def test_a_loose_install_without_any_specifier_is_left_to_unpinned_install() -> None:
    loose = declared("pytest-cov", 5, install=True, origin="github", environment="ci.yml job test, step Install")
    assert check(service([loose])) == []
    constrained = declared("pytest-cov", 5, specifier=">=4", install=True, pinned_by="-c constraints.txt")
    assert check(service([constrained])) == []


def test_a_declared_package_the_record_already_reports_joins_that_finding() -> None:
    lock = (Package(NormalizedName("pytest-randomly"), "3.16.0", Kind.REGISTRY, ("dev",), None, LOCK, 30),)
    target = service([declared("pytest-randomly", 14, version="3.16.0")], lock)
    records = [
        finding(
            "unapproved-plugin",
            "payments",
            "pytest-randomly",
            "3.16.0",
            "pytest plugin pytest-randomly 3.16.0 is not approved by the policy",
            (Location(LOCK, 30),),
        )
    ]
    assert summary(records) == [("unapproved-plugin", "pytest-randomly", Severity.WARNING, (30,))]
    merged = declared_findings(target, (), POLICY, records)
    assert [f.locations for f in merged] == [(Location(LOCK, 30), Location(PYPROJECT, 14))]
    assert merged[0].message == records[0].message


def test_a_package_is_a_plugin_when_the_configuration_enables_it() -> None:
    # `acme-fixtures` carries no pytest- name, but `-p acme_fixtures` in addopts makes it a plugin.
    uses = (PluginUse(None, "acme-fixtures", "config", "pyproject.toml", 30),)
    entries = [declared("acme-fixtures", 12)]
    assert summary(check(service(entries), uses)) == [("unapproved-plugin", "acme-fixtures", Severity.WARNING, (12,))]
    assert check(service(entries)) == []


def test_a_disabled_plugin_is_no_plugin_of_the_suite() -> None:
    uses = (PluginUse(None, "pytest-randomly", "disabled", "pyproject.toml", 30),)
    assert check(service([declared("pytest-randomly", 14)]), uses) == []
    assert declared_plugins(service([declared("pytest-randomly", 14)]), uses, POLICY) == []


def test_local_projects_are_not_judged() -> None:
    local = declared("payments", 3, kind=Kind.LOCAL_PROJECT, requirement="-e .[test]")
    assert check(service([local])) == []


def test_declared_status_says_what_the_policy_says_of_each_declaration() -> None:
    assert declared_status(declared("pytest-cov", 5, specifier=">=6,<7"), POLICY) == "approved (>=5,<8)"
    assert declared_status(declared("pytest-cov", 5, specifier="<5"), POLICY) == (
        "declared as pytest-cov<5, which admits no version in the approved range >=5,<8"
    )
    assert declared_status(declared("pytest-cov", 5), POLICY) == (
        "declared as pytest-cov, which also admits versions outside the approved range >=5,<8"
    )
    assert declared_status(declared("pytest-sugar", 5), POLICY) == "denied: hides failures in CI logs"
    assert declared_status(declared("pytest-randomly", 5), POLICY) == "not approved (plugins.unknown: warning)"


def test_findings_do_not_depend_on_declaration_order() -> None:
    entries = [
        declared("pytest-randomly", 14),
        declared("pytest-cov", 5, specifier=">=4"),
        declared("pytest", 3),
        declared("pytest-sugar", 9),
        declared("pytest-randomly", 2, environment="tox.ini [testenv]"),
    ]
    assert check(service(entries)) == check(service(list(reversed(entries))))
