from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from envguard.model import Kind, Package, Service, normalize
from envguard.plugins import PluginUse, detect_plugins, plugin_reason
from envguard.pytest_config import ConftestPlugin, PluginArg, PytestConfig

NONE: frozenset[str] = frozenset()


def kb_text() -> str:
    return resources.files("envguard").joinpath("data").joinpath("pytest_plugins.json").read_text(encoding="utf-8")


def kb() -> Any:
    return json.loads(kb_text())


def package(name: str, version: str | None = "1.0", kind: Kind = Kind.REGISTRY, line: int = 1) -> Package:
    return Package(normalize(name), version, kind, ("main",), None, "svc/uv.lock", line)


def service(*packages: Package) -> Service:
    return Service("svc", "svc", (), packages)


def config(*args: str, conftest: tuple[str, ...] = ()) -> PytestConfig:
    plugin_args = tuple(
        PluginArg(arg[3:] if arg.startswith("no:") else arg, arg.startswith("no:"), "svc/pytest.ini", 2)
        for arg in args
    )
    modules = tuple(ConftestPlugin(module, "svc/conftest.py", 1) for module in conftest)
    return PytestConfig("svc/pytest.ini", "[pytest]", (), plugin_args, (), modules)


def summary(uses: tuple[PluginUse, ...]) -> list[tuple[str, str, bool]]:
    return [(use.name, use.how, use.package is not None) for use in uses]


# --- plugin_reason ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["pytest-xdist", "pytest_cov", "Pytest.Django", "pytest-subtests", "pytest-celery"])
def test_the_pytest_prefix_makes_a_plugin(name: str) -> None:
    assert plugin_reason(name, "1.0", NONE) == "name"


@pytest.mark.parametrize(
    "name",
    ["pytest", "pytest-runner", "pytest-watch", "pytest_watcher", "pytest-fixture-config", "pytest-embedded-serial"],
)
def test_pytest_and_known_non_plugins_are_not_plugins(name: str) -> None:
    assert plugin_reason(name, "1.0", NONE) is None


@pytest.mark.parametrize("name", ["hypothesis", "anyio", "Faker", "typeguard", "pyfakefs", "ddtrace", "time_machine"])
def test_knowledge_base_plugins_without_the_prefix(name: str) -> None:
    assert plugin_reason(name, "99.0", NONE) == "knowledge-base"


@pytest.mark.parametrize("name", ["requests", "factory-boy", "freezegun", "pytestify", "pytest"])
def test_ordinary_packages_are_not_plugins(name: str) -> None:
    assert plugin_reason(name, "1.0", NONE) is None


@pytest.mark.parametrize(
    ("name", "version", "expected"),
    [
        ("celery", "3.1.26", None),
        ("celery", "4.0.0", "knowledge-base"),
        ("celery", "4.4.7", "knowledge-base"),
        ("celery", "5.0.0", None),
        ("celery", "5.4.0", None),
        ("mimesis", "13.1.0", None),
        ("mimesis", "14.0.0", "knowledge-base"),
        ("mimesis", "18.0.1", "knowledge-base"),
        ("mimesis", "19.0.0", None),
        ("aiomisc", "16.3.5", "knowledge-base"),
        ("aiomisc", "16.3.6", None),
        ("aiomisc", "17.5.0", None),
        ("aresponses", "2.1.5", "knowledge-base"),  # under its old entry-point name
        ("aresponses", "3.0.0", "knowledge-base"),
    ],
)
def test_plugin_status_follows_the_version_range(name: str, version: str, expected: str | None) -> None:
    assert plugin_reason(name, version, NONE) == expected


@pytest.mark.parametrize("version", [None, "not-a-version", ""])
def test_an_unknown_version_counts_as_a_plugin(version: str | None) -> None:
    assert plugin_reason("celery", version, NONE) == "knowledge-base"


def test_policy_additions_are_plugins() -> None:
    assert plugin_reason("acme-test-helpers", "1.0", frozenset({"acme-test-helpers"})) == "policy"
    assert plugin_reason("Acme_Test.Helpers", "1.0", frozenset({"acme-test-helpers"})) == "policy"
    assert plugin_reason("acme-test-helpers", "1.0", frozenset({"Acme_Test_Helpers"})) == "policy"


def test_policy_can_declare_a_known_non_plugin_but_not_pytest() -> None:
    assert plugin_reason("pytest-watch", "4.2.0", frozenset({"pytest-watch"})) == "policy"
    assert plugin_reason("celery", "5.4.0", frozenset({"celery"})) == "policy"
    assert plugin_reason("pytest", "8.3.0", frozenset({"pytest"})) is None


def test_the_intrinsic_reason_wins_over_the_policy() -> None:
    assert plugin_reason("pytest-xdist", "3.6.1", frozenset({"pytest-xdist"})) == "name"
    assert plugin_reason("anyio", "4.0", frozenset({"anyio"})) == "knowledge-base"


# --- the knowledge base file --------------------------------------------------------------------


def test_the_knowledge_base_is_sorted_and_deterministic() -> None:
    data = kb()
    assert "verified table of pytest11 entry points" in data["source"]
    for section in ("non_plugins", "providers", "entry_points", "modules"):
        assert list(data[section]) == sorted(data[section]), section
    assert kb_text() == json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def test_knowledge_base_names_are_normalised_and_well_formed() -> None:
    data = kb()
    for name, reason in data["non_plugins"].items():
        assert name == canonicalize_name(name) and name.startswith("pytest-") and reason
    for name, entries in data["providers"].items():
        assert name == canonicalize_name(name) and not name.startswith("pytest-") and name != "pytest"
        assert entries == sorted(entries, key=lambda e: (e["entry_point"], e.get("since", ""), e["module"]))
        for entry in entries:
            assert set(entry) <= {"entry_point", "module", "since", "until", "note"} and entry["module"]
            if "since" in entry and "until" in entry:
                assert Version(entry["since"]) < Version(entry["until"])
            # Every entry point a provider registers can be named with -p.
            assert entry["entry_point"] in data["entry_points"]
    for distribution in [*data["entry_points"].values(), *data["modules"].values()]:
        assert distribution == canonicalize_name(distribution)


def test_entry_point_names_map_to_distributions() -> None:
    entry_points = kb()["entry_points"]
    assert entry_points["xdist"] == "pytest-xdist"
    assert entry_points["xdist.looponfail"] == "pytest-xdist"
    # pytest-cov's entry point is "pytest_cov"; `-p no:cov` reaches it through pytest's pytest_ rule.
    assert entry_points["pytest_cov"] == "pytest-cov"
    assert entry_points["hypothesispytest"] == "hypothesis"
    assert entry_points["fakefs"] == "pyfakefs"
    assert entry_points["celery"] == "pytest-celery"


# --- detect_plugins -----------------------------------------------------------------------------


def test_lockfile_plugins_are_detected_in_name_order() -> None:
    svc = service(
        package("requests"),
        package("pytest-xdist", "3.6.1"),
        package("pytest", "8.3.0"),
        package("hypothesis", "6.100.0"),
        package("pytest-runner", "6.0"),
        package("celery", "5.4.0"),
        package("acme-helpers"),
    )
    uses = detect_plugins(svc, frozenset({"acme-helpers"}), PytestConfig())
    assert summary(uses) == [
        ("acme-helpers", "policy", True),
        ("hypothesis", "knowledge-base", True),
        ("pytest-xdist", "name", True),
    ]
    assert uses[2].package == package("pytest-xdist", "3.6.1")
    assert (uses[2].path, uses[2].line, uses[2].option) == ("svc/uv.lock", 1, None)


def test_local_projects_are_not_third_party_plugins() -> None:
    svc = service(package("pytest-inhouse", kind=Kind.LOCAL_PROJECT), package("pytest-mock", kind=Kind.EDITABLE))
    assert summary(detect_plugins(svc, NONE, PytestConfig())) == [("pytest-mock", "name", True)]


def test_p_name_maps_through_entry_points() -> None:
    svc = service(package("pytest-xdist", "3.6.1"))
    uses = detect_plugins(svc, NONE, config("xdist", "hypothesispytest"))
    assert summary(uses) == [
        ("hypothesis", "config", False),  # enabled but not installed: rules decide what that means
        ("pytest-xdist", "name", True),
        ("pytest-xdist", "config", True),
    ]
    assert (uses[2].path, uses[2].line, uses[2].option) == ("svc/pytest.ini", 2, "-p xdist")


def test_p_no_name_is_recorded_as_disabled() -> None:
    svc = service(package("pytest-randomly", "3.15.0"), package("pytest-cov", "5.0.0"))
    uses = detect_plugins(svc, NONE, config("no:randomly", "no:cov", "no:cacheprovider"))
    assert summary(uses) == [
        ("cacheprovider", "disabled", False),
        ("pytest-cov", "name", True),
        ("pytest-cov", "disabled", True),  # blocks the entry point "pytest_cov"
        ("pytest-randomly", "name", True),
        ("pytest-randomly", "disabled", True),
    ]
    assert [use.option for use in uses if use.how == "disabled"] == [
        "-p no:cacheprovider",
        "-p no:cov",
        "-p no:randomly",
    ]


def test_p_with_a_project_module_or_builtin_is_not_a_distribution() -> None:
    assert detect_plugins(service(), NONE, config("myproject.testing.plugin", "pytester")) == ()


def test_p_with_a_module_path_maps_to_the_installed_owner() -> None:
    svc = service(package("pytest-django", "4.9.0"), package("nicegui", "2.0"))
    uses = detect_plugins(svc, NONE, config("pytest_django.fixtures", "nicegui.testing.plugin", "xdist.plugin"))
    assert summary(uses) == [
        ("nicegui", "config", True),
        ("pytest-django", "name", True),
        ("pytest-django", "config", True),
        ("pytest-xdist", "config", False),
    ]


def test_a_shared_entry_point_name_resolves_to_the_installed_distribution() -> None:
    svc = service(package("qase-tavern", "1.0"))
    assert summary(detect_plugins(svc, NONE, config("qase_pytest"))) == [
        ("qase-tavern", "knowledge-base", True),
        ("qase-tavern", "config", True),
    ]


def test_entry_point_ranges_decide_between_old_and_new_owners() -> None:
    old = service(package("celery", "4.4.7"))
    assert [(u.name, u.how) for u in detect_plugins(old, NONE, config("celery"))] == [
        ("celery", "knowledge-base"),
        ("celery", "config"),
    ]
    # celery 5 has no entry point; pytest then imports the module `celery` itself.
    new = service(package("celery", "5.4.0"))
    assert summary(detect_plugins(new, NONE, config("celery"))) == [("celery", "config", True)]
    shim = service(package("celery", "5.4.0"), package("pytest-celery", "1.1.0"))
    assert ("pytest-celery", "config", True) in summary(detect_plugins(shim, NONE, config("celery")))


def test_conftest_pytest_plugins_map_to_distributions() -> None:
    svc = service(package("celery", "5.4.0"))
    uses = detect_plugins(svc, NONE, config(conftest=("celery.contrib.pytest", "tests.fixtures")))
    assert summary(uses) == [("celery", "conftest", True)]
    assert (uses[0].path, uses[0].option) == ("svc/conftest.py", "pytest_plugins: celery.contrib.pytest")


def test_detection_is_deterministic() -> None:
    packages = [package("pytest-xdist"), package("anyio"), package("pytest-cov"), package("faker")]
    first = detect_plugins(service(*packages), NONE, config("no:cov", "xdist"))
    second = detect_plugins(service(*reversed(packages)), NONE, config("no:cov", "xdist"))
    assert first == second
    assert [use.name for use in first] == sorted(use.name for use in first)
