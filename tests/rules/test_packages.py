"""denied-package and pytest-version-not-allowed on real records."""

from __future__ import annotations

from pathlib import Path

import pytest

from envguard.model import Finding, Location, Severity
from envguard.plugins import detect_plugins
from envguard.policy import Policy, load_policy
from envguard.pytest_config import PytestConfig
from envguard.rules.catalog import BY_NAME
from envguard.rules.packages import denied_findings, pytest_version_findings
from envguard.rules.plugins import plugin_findings
from tests.kit import FIXTURES, SERVICES, fixture_service, write

PIP_LOCK = FIXTURES / "pip" / "lock"  # requests 2.34.2 (pylock.toml:132), pytest 8.4.2, acme-scratch (local)
PIP_COMPILE = FIXTURES / "uv" / "pip-compile"  # requests 2.32.5 / 2.34.2, pytest 8.4.2 / 9.2.0
PDM27 = FIXTURES / "pdm" / "pdm27-lock42"  # pytest 7.4.4 (pdm.lock:72), pytest-sugar 1.1.1
ANALYTICS = SERVICES / "analytics"  # pip lock of '.[test]': the project is a local directory entry
UV_WORKSPACE = FIXTURES / "uv" / "workspace"  # acme-core, acme-api (workspace members), freezegun


def policy(tmp_path: Path, body: str) -> Policy:
    return load_policy(write(tmp_path / "policy.yaml", "version: 1\n" + body))


# --- denied-package ----------------------------------------------------------------------------


def test_any_package_can_be_denied_with_its_reason(tmp_path: Path) -> None:
    pol = policy(tmp_path, 'plugins:\n  denied:\n    Requests: "use httpx (ADR-12)"\n')
    assert list(denied_findings(fixture_service(PIP_LOCK), pol)) == [
        Finding(
            rule="EG103",
            name="denied-package",
            severity=Severity.ERROR,
            service="lock",
            package="requests",
            version="2.34.2",
            message="requests 2.34.2 is denied by the policy: use httpx (ADR-12)",
            hint=BY_NAME["denied-package"].fix,
            locations=(Location("pylock.toml", 132),),
        )
    ]


def test_each_denied_version_is_one_finding_with_every_place(tmp_path: Path) -> None:
    pol = policy(tmp_path, 'plugins:\n  denied:\n    requests: "use httpx"\n')
    result = list(denied_findings(fixture_service(PIP_COMPILE), pol))
    assert [(f.version, f.locations) for f in result] == [
        ("2.32.5", (Location("requirements.txt", 65),)),
        ("2.34.2", (Location("requirements-hashes.txt", 412), Location("requirements.txt", 67))),
    ]


def test_a_denied_plugin_is_reported_once_as_denied(tmp_path: Path) -> None:
    pol = policy(
        tmp_path,
        'plugins:\n  unknown: error\n  approved: {pytest-cov: "*"}\n  denied:\n    pytest-sugar: "changes terminal output"\n',
    )
    service = fixture_service(PDM27)
    denied = list(denied_findings(service, pol))
    plugins = list(plugin_findings(service, detect_plugins(service, pol.also_plugins, PytestConfig()), pol))
    assert [(f.name, f.package, f.message) for f in denied + plugins] == [
        ("denied-package", "pytest-sugar", "pytest-sugar 1.1.1 is denied by the policy: changes terminal output"),
    ]


def test_a_denied_dependency_without_a_version(tmp_path: Path) -> None:
    # pip lock records the editable ./libs/acme-scratch dependency as a directory, with no version.
    pol = policy(tmp_path, 'plugins:\n  denied:\n    acme_scratch: "archived; use acme-utils"\n')
    (finding,) = denied_findings(fixture_service(PIP_LOCK), pol)
    assert (finding.package, finding.version, finding.message, finding.locations) == (
        "acme-scratch",
        None,
        "acme-scratch (no version) is denied by the policy: archived; use acme-utils",
        (Location("pylock.toml", 4),),
    )


@pytest.mark.parametrize(
    ("directory", "denied"),
    [
        (PIP_LOCK, "httpx"),  # not in the records
        (PIP_LOCK, "requests-mock"),  # a different project, however similar the name
        (ANALYTICS, "analytics"),  # the locked project itself, not a dependency
        (UV_WORKSPACE, "acme-core"),  # a workspace member
    ],
)
def test_nothing_denied_in_the_records(tmp_path: Path, directory: Path, denied: str) -> None:
    pol = policy(tmp_path, f'plugins:\n  denied:\n    {denied}: "no"\n')
    assert list(denied_findings(fixture_service(directory), pol)) == []


def test_no_denied_list_no_findings() -> None:
    assert list(denied_findings(fixture_service(PIP_COMPILE), Policy())) == []


# --- pytest-version-not-allowed ----------------------------------------------------------------


def test_pytest_below_the_allowed_range(tmp_path: Path) -> None:
    pol = policy(tmp_path, 'pytest:\n  allowed: ">=8.0"\n')
    assert list(pytest_version_findings(fixture_service(PDM27), pol)) == [
        Finding(
            rule="EG104",
            name="pytest-version-not-allowed",
            severity=Severity.ERROR,
            service="pdm27-lock42",
            package="pytest",
            version="7.4.4",
            message="pytest 7.4.4 is outside pytest.allowed >=8.0",
            hint=BY_NAME["pytest-version-not-allowed"].fix,
            locations=(Location("pdm.lock", 72),),
        )
    ]


def test_only_the_versions_outside_the_range_are_reported(tmp_path: Path) -> None:
    pol = policy(tmp_path, 'pytest:\n  allowed: ">=8,<9"\n')
    (finding,) = pytest_version_findings(fixture_service(PIP_COMPILE), pol)
    assert (finding.version, finding.message, finding.locations) == (
        "9.2.0",
        "pytest 9.2.0 is outside pytest.allowed >=8,<9",
        (Location("requirements-hashes.txt", 397), Location("requirements.txt", 52)),
    )


@pytest.mark.parametrize(
    ("allowed", "reported"),
    [
        (">=7.4.4", []),
        ("==7.4.4", []),
        ("~=7.4", []),
        ("*", []),
        (">7.4.4", ["7.4.4"]),
        ("<7.4.4", ["7.4.4"]),
        ("!=7.4.4", ["7.4.4"]),
        (">=8", ["7.4.4"]),
    ],
)
def test_pytest_range_boundaries(tmp_path: Path, allowed: str, reported: list[str]) -> None:
    pol = policy(tmp_path, f'pytest:\n  allowed: "{allowed}"\n')
    assert [f.version for f in pytest_version_findings(fixture_service(PDM27), pol)] == reported


def test_no_pytest_constraint_allows_every_version() -> None:
    assert Policy().pytest_allowed is None
    assert list(pytest_version_findings(fixture_service(PDM27), Policy())) == []
