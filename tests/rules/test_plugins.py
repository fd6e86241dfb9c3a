"""unapproved-plugin, plugin-version-not-allowed and required-plugin-missing on real records."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from envguard.model import Finding, Kind, Location, Package, Service, Severity, normalize
from envguard.plugins import detect_plugins
from envguard.policy import Policy, load_policy
from envguard.pytest_config import PluginArg, PytestConfig, read_pytest_config
from envguard.rules.catalog import BY_NAME
from envguard.rules.plugins import installed_plugins, plugin_findings, required_plugin_findings
from tests.kit import FIXTURES, FREEZE, ORDERS_LOCK, fixture_service, write

PDM27 = FIXTURES / "pdm" / "pdm27-lock42"  # pytest-cov 7.1.0, pytest-sugar 1.1.1 (pdm.lock:97)
POETRY18 = FIXTURES / "poetry" / "poetry18-lock20"  # anyio 4.16.0, pytest-asyncio 0.23.8, pytest-cov 5.0.0
PLAIN = FIXTURES / "pip-tools" / "plain"  # faker 40.63.0, pytest-cov, pytest-django, factory-boy, django
PIP_LOCK = FIXTURES / "pip" / "lock"  # hypothesis 6.170.17, pytest-cov 7.1.0, requests
PIP_COMPILE = FIXTURES / "uv" / "pip-compile"  # pytest-randomly 4.0.1, 5.0.0, 5.1.0 (two files)
PROJECT_FORK = FIXTURES / "uv" / "project-fork"  # hypothesis 6.141.1, 6.168.5, 6.170.17
VENV_FREEZE = FIXTURES / "pip" / "venv-freeze"  # acme-wheel (a wheel file, no version)


def policy(tmp_path: Path, body: str) -> Policy:
    return load_policy(write(tmp_path / "policy.yaml", "version: 1\n" + body))


def findings(service: Service, pol: Policy, config: PytestConfig | None = None) -> list[Finding]:
    uses = detect_plugins(service, pol.also_plugins, config or PytestConfig())
    return list(plugin_findings(service, uses, pol))


def brief(items: list[Finding]) -> list[tuple[str, str, str, str | None, str | None]]:
    return [(f.rule, f.name, f.severity.value, f.package, f.version) for f in items]


def copied_service(tmp_path: Path, record: Path, config: dict[str, str]) -> tuple[Service, PytestConfig]:
    """A service directory holding a copy of `record` and the given pytest configuration files."""
    directory = tmp_path / "svc"
    directory.mkdir()
    shutil.copyfile(record, directory / record.name)
    for name, text in config.items():
        write(directory / name, text)
    service = fixture_service(directory)
    return service, read_pytest_config(directory, service.path)


# --- unapproved-plugin --------------------------------------------------------------------------


def test_unapproved_prefixed_plugin(tmp_path: Path) -> None:
    pol = policy(tmp_path, 'plugins:\n  approved:\n    pytest-cov: "*"\n')
    (finding,) = findings(fixture_service(PDM27), pol)
    assert finding == Finding(
        rule="EG101",
        name="unapproved-plugin",
        severity=Severity.WARNING,
        service="pdm27-lock42",
        package="pytest-sugar",
        version="1.1.1",
        message="pytest plugin pytest-sugar 1.1.1 is not approved by the policy (recognised by its pytest- name)",
        hint=BY_NAME["unapproved-plugin"].fix,
        locations=(Location("pdm.lock", 97),),
    )
    assert not finding.suppressed


@pytest.mark.parametrize(
    ("unknown", "expected"), [("error", [Severity.ERROR]), ("warning", [Severity.WARNING]), ("ignore", [])]
)
def test_unapproved_severity_follows_plugins_unknown(tmp_path: Path, unknown: str, expected: list[Severity]) -> None:
    pol = policy(tmp_path, f'plugins:\n  unknown: {unknown}\n  approved:\n    pytest-cov: "*"\n')
    assert [f.severity for f in findings(fixture_service(PDM27), pol)] == expected


def test_approved_plugins_are_not_reported(tmp_path: Path) -> None:
    pol = policy(tmp_path, 'plugins:\n  unknown: error\n  approved:\n    pytest-cov: "*"\n    Pytest_Sugar: ">=1"\n')
    assert findings(fixture_service(PDM27), pol) == []


@pytest.mark.parametrize(
    ("directory", "package", "version", "location"),
    [
        (PLAIN, "faker", "40.63.0", Location("requirements.txt", 15)),
        (PIP_LOCK, "hypothesis", "6.170.17", Location("pylock.toml", 44)),
        (POETRY18, "anyio", "4.16.0", Location("poetry.lock", 3)),
    ],
)
def test_plugins_known_only_from_the_knowledge_base(
    tmp_path: Path, directory: Path, package: str, version: str, location: Location
) -> None:
    # Everything with the pytest- prefix is approved: what is left is found through the knowledge base.
    approve = 'plugins:\n  unknown: error\n  approved:\n    pytest-cov: "*"\n    pytest-django: "*"\n    pytest-asyncio: "*"\n'
    (finding,) = findings(fixture_service(directory), policy(tmp_path, approve))
    assert (finding.name, finding.severity, finding.package, finding.version) == (
        "unapproved-plugin", Severity.ERROR, package, version,
    )
    assert finding.message == (
        f"pytest plugin {package} {version} is not approved by the policy (registers a pytest11 entry point)"
    )
    assert finding.locations == (location,)


@pytest.mark.parametrize("directory", [PLAIN, PIP_LOCK, POETRY18])
def test_knowledge_base_plugins_pass_once_approved(tmp_path: Path, directory: Path) -> None:
    approve = (
        'plugins:\n  unknown: error\n  approved:\n    pytest-cov: "*"\n    pytest-django: "*"\n'
        '    pytest-asyncio: "*"\n    faker: "*"\n    hypothesis: ">=6,<7"\n    anyio: ">=4,<5"\n'
    )
    assert findings(fixture_service(directory), policy(tmp_path, approve)) == []


def test_ordinary_packages_are_never_plugins(tmp_path: Path) -> None:
    # django, factory-boy, requests, coverage... sit in these records beside the plugins.
    pol = policy(tmp_path, "plugins:\n  unknown: error\n")
    reported = {f.package for d in (PLAIN, PIP_LOCK, POETRY18) for f in findings(fixture_service(d), pol)}
    assert reported == {"faker", "pytest-cov", "pytest-django", "hypothesis", "anyio", "pytest-asyncio"}


def test_also_plugins_makes_an_internal_distribution_a_plugin(tmp_path: Path) -> None:
    service = fixture_service(VENV_FREEZE)
    assert findings(service, policy(tmp_path, 'plugins:\n  approved: {pytest-cov: "*", pytest-mock: "*"}\n')) == []
    pol = policy(tmp_path, 'plugins:\n  approved: {pytest-cov: "*", pytest-mock: "*"}\n  also_plugins: [ACME_Wheel]\n')
    (finding,) = findings(service, pol)
    assert finding.message == (
        "pytest plugin acme-wheel (no version) is not approved by the policy (listed in plugins.also_plugins)"
    )
    # pip freeze and uv pip freeze both record it: one finding, both places.
    assert finding.locations == (Location("freeze.txt", 4), Location("uv-freeze.txt", 3))


def test_one_finding_per_version_in_version_order(tmp_path: Path) -> None:
    pol = policy(tmp_path, 'plugins:\n  approved:\n    pytest-cov: "*"\n')
    result = findings(fixture_service(PIP_COMPILE), pol)
    assert [(f.version, f.locations) for f in result] == [
        ("4.0.1", (Location("requirements.txt", 59),)),
        ("5.0.0", (Location("requirements.txt", 61),)),
        ("5.1.0", (Location("requirements-hashes.txt", 408), Location("requirements.txt", 63))),
    ]
    assert {f.package for f in result} == {"pytest-randomly"}


def test_a_denied_plugin_is_left_to_denied_package(tmp_path: Path) -> None:
    pol = policy(tmp_path, 'plugins:\n  unknown: error\n  approved: {pytest-cov: "<1"}\n  denied: {pytest-sugar: "noisy"}\n')
    assert [f.package for f in findings(fixture_service(PDM27), pol)] == ["pytest-cov"]


# --- plugins enabled or blocked by the pytest configuration -------------------------------------

ENABLE_ACME = {
    "pytest.ini": "[pytest]\naddopts = -ra -p acme_wheel\n",
    "pyproject.toml": '[tool.pytest.ini_options]\naddopts = "-ra -p acme_wheel"\n',
    "tox.ini": "[tox]\nenvlist = py311\n\n[pytest]\naddopts = -ra -p acme_wheel\n",
    "setup.cfg": "[metadata]\nname = svc\n\n[tool:pytest]\naddopts = -ra -p acme_wheel\n",
}


@pytest.mark.parametrize("config_file", sorted(ENABLE_ACME))
def test_a_plugin_turned_on_only_with_dash_p(tmp_path: Path, config_file: str) -> None:
    # acme-wheel has no pytest- name, is in no knowledge base and not in also_plugins: only `-p` loads it.
    service, config = copied_service(tmp_path, FREEZE, {config_file: ENABLE_ACME[config_file]})
    pol = policy(tmp_path, 'plugins:\n  approved: {pytest-cov: "*", pytest-mock: "*"}\n')
    assert findings(service, pol) == []  # without the configuration it is an ordinary package
    (finding,) = findings(service, pol, config)
    assert (finding.name, finding.package, finding.version, finding.severity) == (
        "unapproved-plugin", "acme-wheel", None, Severity.WARNING,
    )
    assert finding.message == (
        "pytest plugin acme-wheel (no version) is not approved by the policy "
        "(enabled with -p in the pytest configuration)"
    )
    assert finding.locations == (Location("freeze.txt", 4),)
    approved = policy(tmp_path, 'plugins:\n  approved: {pytest-cov: "*", pytest-mock: "*", acme-wheel: "*"}\n')
    assert findings(service, approved, config) == []


def test_a_plugin_turned_on_with_dash_p_is_checked_at_every_version_it_is_locked_at(tmp_path: Path) -> None:
    """A lock forked by markers holds one plugin at two versions: each is reported."""
    records = (
        Package(normalize("acme-fixtures"), "1.0", Kind.REGISTRY, ("main",), 'python_version < "3.12"', "svc/uv.lock", 10),
        Package(normalize("acme-fixtures"), "2.0", Kind.REGISTRY, ("main",), 'python_version >= "3.12"', "svc/uv.lock", 20),
    )
    service = Service("svc", "svc", (), records)
    config = PytestConfig(plugin_args=(PluginArg("acme_fixtures", False, "svc/pytest.ini", 2),))
    for allowed, version, line in ((">=2", "1.0", 10), ("<2", "2.0", 20)):
        pol = policy(tmp_path, f'plugins:\n  approved: {{acme-fixtures: "{allowed}"}}\n')
        (finding,) = findings(service, pol, config)
        assert (finding.name, finding.version, finding.locations) == (
            "plugin-version-not-allowed", version, (Location("svc/uv.lock", line),),
        )


def test_a_plugin_turned_on_by_conftest_pytest_plugins(tmp_path: Path) -> None:
    conftest = 'pytest_plugins = ["acme_wheel.fixtures"]\n'
    service, config = copied_service(tmp_path, FREEZE, {"conftest.py": conftest})
    pol = policy(tmp_path, 'plugins:\n  unknown: error\n  approved: {pytest-cov: "*", pytest-mock: "*"}\n')
    (finding,) = findings(service, pol, config)
    assert (finding.severity, finding.message) == (
        Severity.ERROR,
        "pytest plugin acme-wheel (no version) is not approved by the policy (enabled by pytest_plugins in conftest.py)",
    )


def test_the_package_s_own_reason_is_named_before_its_configuration(tmp_path: Path) -> None:
    # orders enables pytest-randomly with `-p randomly` too; the message names the pytest- prefix.
    service, config = copied_service(
        tmp_path, ORDERS_LOCK, {"pytest.ini": "[pytest]\naddopts = -p randomly -p hypothesispytest\n"}
    )
    pol = policy(tmp_path, 'plugins:\n  approved: {pytest-cov: "*", pytest-mock: "*"}\n')
    assert [f.message for f in findings(service, pol, config)] == [
        "pytest plugin hypothesis 6.170.17 is not approved by the policy (registers a pytest11 entry point)",
        "pytest plugin pytest-randomly 3.16.0 is not approved by the policy (recognised by its pytest- name)",
    ]


def test_dash_p_no_blocks_an_installed_plugin(tmp_path: Path) -> None:
    pol = policy(tmp_path, 'plugins:\n  approved: {pytest-cov: "*", pytest-mock: "*", hypothesis: "*"}\n')
    service, blocked = copied_service(tmp_path, ORDERS_LOCK, {"pytest.ini": "[pytest]\naddopts = -p no:randomly\n"})
    assert findings(service, pol, blocked) == []
    assert [f.package for f in findings(service, pol)] == ["pytest-randomly"]
    uses = detect_plugins(service, pol.also_plugins, blocked)
    assert "pytest-randomly" not in {p.name for p in installed_plugins(uses)}


def test_dash_p_naming_no_installed_distribution_is_not_a_finding(tmp_path: Path) -> None:
    service, config = copied_service(
        tmp_path, ORDERS_LOCK, {"pytest.ini": "[pytest]\naddopts = -p tests.helpers -p no:cacheprovider\n"}
    )
    pol = policy(tmp_path, 'plugins:\n  approved: {pytest-cov: "*", pytest-mock: "*", hypothesis: "*", pytest-randomly: "*"}\n')
    assert findings(service, pol, config) == []


# --- plugin-version-not-allowed ----------------------------------------------------------------


def test_approved_plugin_outside_its_range(tmp_path: Path) -> None:
    pol = policy(tmp_path, 'plugins:\n  approved: {anyio: "*", pytest-cov: ">=5,<8", pytest-asyncio: ">=1.0,<2"}\n')
    (finding,) = findings(fixture_service(POETRY18), pol)
    assert finding == Finding(
        rule="EG102",
        name="plugin-version-not-allowed",
        severity=Severity.ERROR,
        service="poetry18-lock20",
        package="pytest-asyncio",
        version="0.23.8",
        message="approved plugin pytest-asyncio 0.23.8 is outside its approved range >=1.0,<2",
        hint=BY_NAME["plugin-version-not-allowed"].fix,
        locations=(Location("poetry.lock", 476),),
    )


@pytest.mark.parametrize(
    ("spec", "reported"),
    [
        (">=5,<8", False),  # pytest-cov 5.0.0 is the lower bound itself
        ("==5.0.0", False),
        ("*", False),
        (">5", True),
        ("<5", True),
        ("~=5.1", True),
    ],
)
def test_range_boundaries(tmp_path: Path, spec: str, reported: bool) -> None:
    pol = policy(tmp_path, f'plugins:\n  approved: {{anyio: "*", pytest-asyncio: "*", pytest-cov: "{spec}"}}\n')
    expected = [("EG102", "plugin-version-not-allowed", "error", "pytest-cov", "5.0.0")] if reported else []
    assert brief(findings(fixture_service(POETRY18), pol)) == expected


def test_knowledge_base_plugin_outside_its_range(tmp_path: Path) -> None:
    pol = policy(
        tmp_path,
        'plugins:\n  approved: {anyio: "*", pytest-cov: "*", pytest-mock: "*", pytest-xdist: "*", '
        'hypothesis: "<6.150"}\n',
    )
    result = findings(fixture_service(PROJECT_FORK), pol)
    assert [(f.name, f.version, f.message) for f in result] == [
        ("plugin-version-not-allowed", "6.168.5", "approved plugin hypothesis 6.168.5 is outside its approved range <6.150"),
        ("plugin-version-not-allowed", "6.170.17", "approved plugin hypothesis 6.170.17 is outside its approved range <6.150"),
    ]


def test_a_plugin_without_a_version_cannot_be_checked_against_a_range(tmp_path: Path) -> None:
    also = "  also_plugins: [acme-wheel]\n"
    pol = policy(tmp_path, 'plugins:\n  approved: {pytest-cov: "*", pytest-mock: "*", acme-wheel: ">=1"}\n' + also)
    (finding,) = findings(fixture_service(VENV_FREEZE), pol)
    assert (finding.name, finding.severity, finding.version) == ("plugin-version-not-allowed", Severity.WARNING, None)
    assert finding.message == (
        "approved plugin acme-wheel has no version in the record, so the approved range >=1 cannot be checked"
    )
    assert finding.hint == "Lock the plugin from the package index at an approved version."
    star = policy(tmp_path, 'plugins:\n  approved: {pytest-cov: "*", pytest-mock: "*", acme-wheel: "*"}\n' + also)
    assert findings(fixture_service(VENV_FREEZE), star) == []


# --- required-plugin-missing -------------------------------------------------------------------


def required(tmp_path: Path, entries: str) -> tuple[Service, PytestConfig]:
    return copied_service(tmp_path, ORDERS_LOCK, {"pytest.ini": f"[pytest]\nrequired_plugins = {entries}\n"})


def test_required_plugin_missing_from_the_lock(tmp_path: Path) -> None:
    service, config = required(tmp_path, "pytest-mock pytest-timeout")
    assert list(required_plugin_findings(service, config)) == [
        Finding(
            rule="EG105",
            name="required-plugin-missing",
            severity=Severity.ERROR,
            service="svc",
            package="pytest-timeout",
            version=None,
            message="required_plugins names pytest-timeout, but the service's records have no pytest-timeout",
            hint=BY_NAME["required-plugin-missing"].fix,
            locations=(Location("pytest.ini", 2),),
        )
    ]


def test_required_plugin_locked_at_a_version_that_does_not_satisfy_it(tmp_path: Path) -> None:
    service, config = required(tmp_path, "pytest-mock>=3.18 pytest-randomly>=3")
    (finding,) = required_plugin_findings(service, config)
    assert (finding.package, finding.version, finding.message) == (
        "pytest-mock",
        "3.17.0",
        "required_plugins asks for pytest-mock>=3.18, but the service locks pytest-mock 3.17.0",
    )


@pytest.mark.parametrize("entries", ["pytest-mock>=3.14", "pytest_randomly", "hypothesis>=6", "pytest-cov==6.3.0"])
def test_required_plugins_the_lock_satisfies(tmp_path: Path, entries: str) -> None:
    service, config = required(tmp_path, entries)
    assert list(required_plugin_findings(service, config)) == []


def test_required_plugins_on_continuation_lines_point_at_their_line(tmp_path: Path) -> None:
    service, config = copied_service(
        tmp_path,
        ORDERS_LOCK,
        {"pytest.ini": "[pytest]\nrequired_plugins =\n    pytest-mock\n    pytest-xdist>=3\n"},
    )
    (finding,) = required_plugin_findings(service, config)
    assert (finding.package, finding.locations) == ("pytest-xdist", (Location("pytest.ini", 4),))


def test_no_configuration_requires_nothing() -> None:
    assert list(required_plugin_findings(fixture_service(PDM27), PytestConfig())) == []
