"""envguard.select: --select rules and --changed files, as pure functions over findings."""

from __future__ import annotations

import pytest

from envguard.errors import UsageError
from envguard.markers import Target
from envguard.model import Finding, Inventory, Kind, Location, Package, Service, Severity, Source, Waiver, normalize
from envguard.policy import DriftRule, Policy
from envguard.rules.catalog import RULES
from envguard.rules.drift import drift_findings
from envguard.select import changed_services, filter_findings, parse_select

# --------------------------------------------------------------------------- builders


def package(name: str, version: str, path: str) -> Package:
    return Package(normalize(name), version, Kind.REGISTRY, ("main",), None, path, 1)


def service(name: str, directory: str, *packages: Package, record: str = "uv.lock") -> Service:
    source = f"{directory}/{record}" if directory != "." else record
    return Service(name, directory, (Source(source, "uv"),), packages)


def found(name: str, service: str, *, involved: tuple[str, ...] = (), package: str = "pkg",
          where: tuple[Location, ...] = ()) -> Finding:
    rule = next(r for r in RULES if r.name == name)
    return Finding(rule.code, rule.name, Severity.ERROR, service, package, None, "m", "h", where, involved=involved)


def waiver(package: str, *, services: tuple[str, ...] = (), rule: str | None = None, line: int = 3) -> Waiver:
    return Waiver(package, "r", "2027-01-01", services, rule, None, "policies/envguard.yaml", line)


def waiver_finding(name: str, w: Waiver) -> Finding:
    """What apply_waivers reports about an exception: its services as text, its own location."""
    scope = ", ".join(w.services) if w.services else "every service"
    return found(name, scope, package=w.package, where=(Location(w.path, w.line),))


INVENTORY = Inventory(
    root="/repo",
    services=(
        service("billing", "services/billing", package("shared-lib", "1.0", "libs/shared/requirements.txt")),
        service("orders", "services/orders"),
        service("orders-worker", "services/orders/worker"),
        service("search", "services/search", record="requirements.txt"),
    ),
)
POLICY_PATHS = ["policies", "envguard.toml", "pyproject.toml"]


# --------------------------------------------------------------------------- --select


def codes(*names: str) -> frozenset[str]:
    return frozenset(r.code for r in RULES if r.name in names)


PLUGIN_CODES = frozenset(r.code for r in RULES if r.code.startswith("EG1"))


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["plugins"], PLUGIN_CODES),
        (["drift"], codes("version-drift", "pinned-version-mismatch", "snap-to-mismatch")),
        (["exceptions"], codes("exception-expired", "exception-expiring", "exception-unused")),
        (["unapproved-plugin"], codes("unapproved-plugin")),
        (["EG201"], codes("version-drift")),
        (["eg201"], codes("version-drift")),
        (["EG20"], codes("version-drift", "pinned-version-mismatch", "snap-to-mismatch")),
        (["Version-Drift, EG103"], codes("version-drift", "denied-package")),
        (["drift", "EG301"], codes("version-drift", "pinned-version-mismatch", "snap-to-mismatch", "exception-expired")),
        (["plugins,", " "], PLUGIN_CODES),
    ],
)
def test_parse_select(values: list[str], expected: frozenset[str]) -> None:
    assert parse_select(values) == expected


def test_parse_select_nothing_selects_everything() -> None:
    assert parse_select([]) is None
    assert parse_select([" , "]) is None


@pytest.mark.parametrize("value", ["plugin", "EG9", "EG1011", "drift,nope"])
def test_parse_select_unknown(value: str) -> None:
    with pytest.raises(UsageError, match="names no rule"):
        parse_select([value])


def test_select_keeps_matching_rules_only() -> None:
    findings = [found("unapproved-plugin", "orders"), found("version-drift", "orders, search")]
    assert filter_findings(findings, services=None, select=parse_select(["plugins"])) == (findings[0],)
    assert filter_findings(findings, services=None, select=parse_select(["EG201"])) == (findings[1],)
    assert filter_findings(findings, services=None, select=None) == tuple(findings)


def test_select_exception_findings_follow_the_rule_they_waive() -> None:
    plugin = waiver("pytest-sugar", rule="unapproved-plugin", line=3)
    drift = waiver("numpy", rule="version-drift", line=9)
    anything = waiver("legacy-*", line=15)
    findings = [waiver_finding("exception-expired", w) for w in (plugin, drift, anything)]
    waivers = (plugin, drift, anything)
    by_plugins = filter_findings(findings, services=None, select=parse_select(["plugins"]), waivers=waivers)
    assert [f.package for f in by_plugins] == ["pytest-sugar", "legacy-*"]
    by_drift = filter_findings(findings, services=None, select=parse_select(["drift"]), waivers=waivers)
    assert [f.package for f in by_drift] == ["numpy", "legacy-*"]
    by_family = filter_findings(findings, services=None, select=parse_select(["exceptions"]), waivers=waivers)
    assert by_family == tuple(findings)
    # Without the policy's exceptions, only the finding's own rule counts.
    assert filter_findings(findings, services=None, select=parse_select(["plugins"])) == ()


# --------------------------------------------------------------------------- changed files -> services


@pytest.mark.parametrize(
    ("changed", "expected"),
    [
        (["services/billing/uv.lock"], {"billing"}),
        (["services/billing/pyproject.toml", "services/search/pytest.ini"], {"billing", "search"}),
        (["./services/search/requirements.txt"], {"search"}),
        # The deepest service directory takes the file; the parent service keeps its own files.
        (["services/orders/worker/uv.lock"], {"orders-worker"}),
        (["services/orders/uv.lock"], {"orders"}),
        (["services/orders/tests/conftest.py"], {"orders"}),
        # A file a source includes (requirements -r) belongs to the service reading it.
        (["libs/shared/requirements.txt"], {"billing"}),
        (["docs/requirements.txt", "README.md"], set()),
        (["services/billingx/uv.lock"], set()),
        ([], set()),
    ],
)
def test_changed_services(changed: list[str], expected: set[str]) -> None:
    assert changed_services(changed, INVENTORY, POLICY_PATHS) == frozenset(expected)


@pytest.mark.parametrize(
    "policy_file", ["policies/envguard.yaml", "policies/teams/ml.yml", "envguard.toml", "pyproject.toml", "ci/rules.yaml"]
)
def test_a_policy_change_selects_every_service(policy_file: str) -> None:
    assert changed_services(["services/billing/uv.lock", policy_file], INVENTORY, [*POLICY_PATHS, "ci/rules.yaml"]) is None


def test_a_service_pyproject_is_not_the_root_one() -> None:
    assert changed_services(["services/orders/pyproject.toml"], INVENTORY, POLICY_PATHS) == frozenset({"orders"})


def test_root_service_takes_files_no_other_service_holds() -> None:
    inventory = Inventory("/repo", (service("app", "."), service("worker", "worker")))
    assert changed_services(["uv.lock"], inventory, []) == frozenset({"app"})
    assert changed_services(["tools/requirements-dev.txt"], inventory, []) == frozenset({"app"})
    assert changed_services(["worker/uv.lock"], inventory, []) == frozenset({"worker"})
    assert changed_services(["../elsewhere/uv.lock"], inventory, []) == frozenset()


# --------------------------------------------------------------------------- findings of changed services


def test_findings_of_changed_services_only() -> None:
    findings = [found("denied-package", "orders"), found("unapproved-plugin", "search")]
    assert filter_findings(findings, services={"orders"}, select=None) == (findings[0],)
    assert filter_findings(findings, services=set(), select=None) == ()
    assert filter_findings(findings, services=None, select=None) == tuple(findings)


def test_drift_is_kept_when_any_compared_service_changed() -> None:
    # orders is the outlier; billing and search hold the common version.
    drift = found("version-drift", "orders", involved=("billing", "orders", "search"))
    assert filter_findings([drift], services={"billing"}, select=None) == (drift,)
    assert filter_findings([drift], services={"orders"}, select=None) == (drift,)
    assert filter_findings([drift], services={"gateway"}, select=None) == ()


def test_drift_without_involved_falls_back_to_the_outliers() -> None:
    drift = found("version-drift", "orders, search")
    assert filter_findings([drift], services={"search"}, select=None) == (drift,)
    assert filter_findings([drift], services={"billing"}, select=None) == ()


def test_exception_findings_follow_their_services() -> None:
    scoped = waiver("pytest-sugar", services=("notifications",), line=3)
    globbed = waiver("numpy", services=("ml-*",), line=9)
    everywhere = waiver("legacy", line=15)
    waivers = (scoped, globbed, everywhere)
    findings = [waiver_finding("exception-unused", w) for w in waivers]

    def kept(services: set[str], with_waivers: bool = True) -> list[str | None]:
        result = filter_findings(findings, services=services, select=None, waivers=waivers if with_waivers else ())
        return [f.package for f in result]

    assert kept({"notifications"}) == ["pytest-sugar", "legacy"]
    assert kept({"ml-core"}) == ["numpy", "legacy"]
    assert kept({"orders"}) == ["legacy"]
    assert kept(set()) == []
    # From the finding's text alone, the same answer.
    assert kept({"ml-core"}, with_waivers=False) == ["numpy", "legacy"]
    assert filter_findings(findings, services=None, select=None) == tuple(findings)


def test_services_and_select_combine() -> None:
    findings = [
        found("unapproved-plugin", "orders"),
        found("unapproved-plugin", "search"),
        found("version-drift", "search", involved=("orders", "search")),
    ]
    assert filter_findings(findings, services={"orders"}, select=parse_select(["plugins"])) == (findings[0],)


# --------------------------------------------------------------------------- drift sets `involved`


def test_version_drift_names_every_compared_service() -> None:
    inventory = Inventory(
        "/repo",
        (
            service("a", "a", package("attrs", "23.1.0", "a/uv.lock")),
            service("b", "b", package("attrs", "23.1.0", "b/uv.lock")),
            service("c", "c", package("attrs", "24.2.0", "c/uv.lock")),
            service("d", "d", package("idna", "3.7", "d/uv.lock")),
        ),
    )
    (drift,), _ = drift_findings(inventory, Policy(drift_default="exact"), Target(), {})
    assert (drift.name, drift.involved) == ("version-drift", ("a", "b", "c"))
    assert drift.service in ("a, b", "c")
    assert filter_findings([drift], services={"a"}, select=None) == (drift,)


def test_snap_to_names_the_reference_service() -> None:
    inventory = Inventory(
        "/repo",
        (
            service("core", "core", package("numpy", "2.1.0", "core/uv.lock")),
            service("jobs", "jobs", package("numpy", "1.26.4", "jobs/uv.lock")),
        ),
    )
    snap = DriftRule(("numpy",), (), (), "snap-to", "core", "policy.yaml", 3)
    (mismatch,), _ = drift_findings(inventory, Policy(drift_rules=(snap,)), Target(), {})
    assert (mismatch.name, mismatch.service, mismatch.involved) == ("snap-to-mismatch", "jobs", ("core", "jobs"))
    assert filter_findings([mismatch], services={"core"}, select=None) == (mismatch,)
