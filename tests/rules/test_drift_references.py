"""snap-to a reference environment: the example monorepo against a runner image's real `pip freeze`
(tests/fixtures/references) and a constraints file.

The expected services are computed here from the fixture data itself (the freeze's lines, and
the services' records as `envguard inventory` loads them), not copied from envguard's output.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from envguard.check import CheckResult, run_check
from envguard.inventory import load_inventory
from envguard.model import normalize
from tests.kit import EXAMPLE, FIXTURES

REFERENCES = FIXTURES / "references"
FREEZE = REFERENCES / "runner-freeze.txt"
CONSTRAINTS = REFERENCES / "constraints-3.12.txt"


def freeze_pins(path: Path) -> dict[str, tuple[str, int]]:
    """name -> (version, line) of a freeze, read with nothing but the text."""
    pins = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        name, _, version = line.partition("==")
        pins[normalize(name)] = (version, number)
    return pins


def constraint_specs(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, spec = re.match(r"([A-Za-z0-9._-]+)(.*)", line.strip()).groups()  # type: ignore[union-attr]
            found[normalize(name)] = spec
    return found


def service_versions() -> dict[str, dict[str, set[str]]]:
    """service -> package -> versions of its records (third-party, with a version)."""
    inventory = load_inventory([EXAMPLE])
    found: dict[str, dict[str, set[str]]] = {}
    for service in inventory.services:
        for package in service.packages:
            if package.is_third_party and package.version is not None:
                found.setdefault(service.name, {}).setdefault(package.name, set()).add(package.version)
    return found


def policy_file(tmp_path: Path, reference: str, packages: str = '["*"]', extra: str = "") -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(
        "version: 1\n"
        f"references:\n  image: {reference}\n"
        f"{extra}"
        "drift:\n  default: none\n  rules:\n"
        f"    - packages: {packages}\n      require: {{ snap-to: image }}\n",
        encoding="utf-8",
    )
    return path


def mismatches(result: CheckResult) -> set[tuple[str, str]]:
    return {(f.service, f.package or "") for f in result.findings if f.name == "snap-to-mismatch"}


def test_snap_to_a_runner_freeze_reports_exactly_the_services_that_differ(tmp_path: Path) -> None:
    pins = freeze_pins(FREEZE)
    expected = {
        (service, name)
        for service, packages in service_versions().items()
        for name, versions in packages.items()
        if name in pins and any(Version(v) != Version(pins[name][0]) for v in versions)
    }
    assert expected  # the example drifts from the image: pytest in four services, pytest-cov in four
    result = run_check([EXAMPLE], policy_path=str(policy_file(tmp_path, str(FREEZE))))
    assert result.errors == ()
    assert mismatches(result) == expected
    # Named with its file and line, with each service's own tool in the hint; the reference's
    # line is a location too, after the service's own.
    (inventory_pytest,) = [f for f in result.findings if (f.name, f.service, f.package) == ("snap-to-mismatch", "inventory", "pytest")]
    version, line = pins["pytest"]
    assert f"differs from {version} in reference image ({FREEZE.as_posix()}:{line})" in inventory_pytest.message
    assert inventory_pytest.hint == f"inventory: pdm update pytest (target {version})"
    assert [(loc.path, loc.line) for loc in inventory_pytest.locations][-1] == (FREEZE.as_posix(), line)
    assert inventory_pytest.involved == ("inventory",)


def test_the_reference_is_no_service(tmp_path: Path) -> None:
    policy = policy_file(tmp_path, str(FREEZE), packages='["pytest", "pytest-*"]')
    result = run_check([EXAMPLE], policy_path=str(policy))
    assert len(result.inventory.services) == len(load_inventory([EXAMPLE]).services)
    assert result.matrix is not None
    assert "image" not in result.matrix.services and "reference image" not in result.matrix.services
    rows = {row.package: row.requirement for row in result.matrix.rows}
    assert rows["pytest"] == f"snap-to reference image {freeze_pins(FREEZE)['pytest'][0]}"
    assert not any(f.name == "version-drift" for f in result.findings)
    assert [r.name for r in result.references.loaded] == ["image"]


def test_packages_the_reference_does_not_hold_are_not_compared(tmp_path: Path) -> None:
    # starlette is in billing and gateway at different versions; the image has none.
    result = run_check([EXAMPLE], policy_path=str(policy_file(tmp_path, str(FREEZE), packages='["starlette"]')))
    assert mismatches(result) == set()
    assert result.errors == () and not any("starlette" in w.message for w in result.warnings)


def test_a_constraints_file_means_within_its_pins(tmp_path: Path) -> None:
    specs = constraint_specs(CONSTRAINTS)
    expected = {
        (service, name)
        for service, packages in service_versions().items()
        for name, versions in packages.items()
        if name in specs and not all(Version(v) in SpecifierSet(specs[name]) for v in versions)
    }
    assert expected
    result = run_check([EXAMPLE], policy_path=str(policy_file(tmp_path, str(CONSTRAINTS))))
    assert result.errors == ()
    assert mismatches(result) == expected
    assert [(r.name, r.format) for r in result.references.loaded] == [("image", "constraints")]
    (cov,) = [f for f in result.findings if (f.name, f.service, f.package) == ("snap-to-mismatch", "notifications", "pytest-cov")]
    assert "pytest-cov 4.1.0 in notifications is outside >=7,<8 in reference image" in cov.message
    # The highest version in use within the range, with the service's own tool.
    assert "Suggested target: 7.1.0." in cov.message
    assert cov.hint == "notifications: pipenv upgrade --dev pytest-cov==7.1.0"


def test_format_constraints_reads_any_name_as_constraints(tmp_path: Path) -> None:
    pins = tmp_path / "pins.txt"
    pins.write_text("pytest>=8,<8.4\n", encoding="utf-8")
    entry = f"\n    path: {pins}\n    format: constraints"
    result = run_check([EXAMPLE], policy_path=str(policy_file(tmp_path, entry, packages='["pytest"]')))
    expected = {
        (service, "pytest")
        for service, packages in service_versions().items()
        if "pytest" in packages and not all(Version(v) in SpecifierSet(">=8,<8.4") for v in packages["pytest"])
    }
    assert mismatches(result) == expected


@pytest.mark.parametrize("matching", [True, False])
def test_services_matching_the_reference_report_nothing(tmp_path: Path, matching: bool) -> None:
    service = tmp_path / "ws" / "svc"
    service.mkdir(parents=True)
    (service / "requirements.txt").write_text("pytest==8.4.2\npluggy==1.7.0\n", encoding="utf-8")
    reference = tmp_path / "image.txt"
    reference.write_text("pytest==8.4.2\npluggy==" + ("1.7.0" if matching else "1.6.0") + "\n", encoding="utf-8")
    result = run_check([tmp_path / "ws"], policy_path=str(policy_file(tmp_path, str(reference))))
    assert mismatches(result) == (set() if matching else {("svc", "pluggy")})


def test_a_reference_file_inside_the_workspace_is_not_also_a_service(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    (workspace / "svc").mkdir(parents=True)
    (workspace / "svc" / "requirements.txt").write_text("pytest==8.3.5\n", encoding="utf-8")
    (workspace / "ci").mkdir()
    (workspace / "ci" / "runner-freeze.txt").write_bytes(FREEZE.read_bytes())
    (workspace / "policies").mkdir()
    policy_file(workspace / "policies", "../ci/runner-freeze.txt")
    result = run_check([workspace])
    assert [s.name for s in result.inventory.services] == ["svc"]
    assert mismatches(result) == {("svc", "pytest")}
    (only,) = [f for f in result.findings if f.name == "snap-to-mismatch"]
    assert "reference image (ci/runner-freeze.txt:7)" in only.message
