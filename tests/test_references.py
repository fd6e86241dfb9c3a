"""Reference environments (envguard.references): reading them, the package rules over them, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from envguard.check import run_check
from envguard.cli import main
from envguard.model import Location
from envguard.references import parse_option
from tests.kit import EXAMPLE, FIXTURES

REFERENCES = FIXTURES / "references"
FREEZE = REFERENCES / "runner-freeze.txt"


def workspace(tmp_path: Path, pytest_version: str = "8.3.5") -> Path:
    root = tmp_path / "ws"
    (root / "svc").mkdir(parents=True)
    (root / "svc" / "requirements.txt").write_text(f"pytest=={pytest_version}\n", encoding="utf-8")
    return root


def policy(tmp_path: Path, references: str, rule_target: str = "image", more: str = "") -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(
        f"version: 1\nreferences:\n{references}\n{more}"
        f"drift:\n  rules:\n    - packages: [pytest]\n      require: {{ snap-to: {rule_target} }}\n",
        encoding="utf-8",
    )
    return path


def lines(result: object) -> list[str]:
    return [str(d) for d in result.errors]  # type: ignore[attr-defined]


def test_plugin_rules_judge_the_reference(tmp_path: Path) -> None:
    path = policy(tmp_path, f"  image: {FREEZE}", more='plugins:\n  approved:\n    pytest-cov: ">=5,<7"\n')
    result = run_check([workspace(tmp_path)], policy_path=str(path))
    found = {(f.service, f.name, f.package) for f in result.findings if f.service.startswith("reference")}
    # pytest-sugar is not approved; pytest-cov 7.1.0 is outside >=5,<7; xdist and timeout are unknown too.
    assert ("reference image", "unapproved-plugin", "pytest-sugar") in found
    assert ("reference image", "plugin-version-not-allowed", "pytest-cov") in found
    (sugar,) = [f for f in result.findings if f.service == "reference image" and f.package == "pytest-sugar"]
    line = next(n for n, text in enumerate(FREEZE.read_text().splitlines(), 1) if text.startswith("pytest-sugar=="))
    assert sugar.locations == (Location(FREEZE.as_posix(), line),)
    assert len(result.inventory.services) == 1  # still one service


def test_denied_and_pytest_range_apply_to_the_reference(tmp_path: Path) -> None:
    more = 'pytest:\n  allowed: "<8.4"\nplugins:\n  denied:\n    pytest-sugar: "changes the output CI parses"\n'
    result = run_check([workspace(tmp_path)], policy_path=str(policy(tmp_path, f"  image: {FREEZE}", more=more)))
    names = {f.name for f in result.findings if f.service == "reference image"}
    assert {"denied-package", "pytest-version-not-allowed"} <= names


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("  image: missing.txt", "{policy}:3: references.image: missing.txt: no such file"),
        ("  image: package:not-installed-anywhere", "{policy}:3: references.image: package:not-installed-anywhere: "
         "distribution not-installed-anywhere is not installed (pip install not-installed-anywhere)"),
        ("  image: https://example.com/freeze.txt", "{policy}:3: references.image: https://example.com/freeze.txt: "
         "a policy URL needs its content hash: append #sha256=<64 hex digits>"),
    ],
)
def test_a_reference_that_cannot_be_found_is_one_error_and_the_rest_is_checked(
    tmp_path: Path, entry: str, expected: str
) -> None:
    path = policy(tmp_path, entry, more='plugins:\n  unknown: error\n')
    root = workspace(tmp_path)
    (root / "svc" / "requirements.txt").write_text("pytest==8.3.5\npytest-randomly==3.16.0\n", encoding="utf-8")
    result = run_check([root], policy_path=str(path))
    assert lines(result) == [expected.format(policy=path.as_posix())]
    assert result.exit_code("error") == 2
    # The services are still checked; the broken reference is not also "neither a service nor a reference".
    assert [f.name for f in result.findings] == ["unapproved-plugin"]
    assert not result.warnings


def test_a_broken_reference_file_names_its_line(tmp_path: Path) -> None:
    broken = tmp_path / "image-freeze.txt"
    broken.write_text("pytest==8.4.2\nthis is not a pin\n", encoding="utf-8")
    result = run_check([workspace(tmp_path)], policy_path=str(policy(tmp_path, f"  image: {broken}")))
    (error,) = lines(result)
    assert error.startswith(f"{broken.as_posix()}:2: ")
    assert result.exit_code("never") == 2


def test_an_unknown_format_is_one_error(tmp_path: Path) -> None:
    odd = tmp_path / "image.cfg"
    odd.write_text("image:\n  pytest: 8.4.2\n", encoding="utf-8")
    result = run_check([workspace(tmp_path)], policy_path=str(policy(tmp_path, f"  image: {odd}")))
    assert lines(result) == [f"{odd.as_posix()}:1: not a recognised dependency file; use --source-format to say what it is"]


def test_snap_to_naming_neither_a_service_nor_a_reference_is_an_error(tmp_path: Path) -> None:
    path = policy(tmp_path, f"  image: {FREEZE}", rule_target="imgae")
    result = run_check([workspace(tmp_path)], policy_path=str(path))
    assert lines(result) == [
        f"{path.as_posix()}:6: drift rule snap-to: 'imgae' is neither a service nor a reference; did you mean 'image'?"
    ]
    assert not result.warnings


def test_a_reference_named_like_a_service_is_an_error_and_the_name_stays_the_service(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    (root / "other").mkdir()
    (root / "other" / "requirements.txt").write_text("pytest==8.4.2\n", encoding="utf-8")
    path = policy(tmp_path, f"  other: {FREEZE}", rule_target="other")
    result = run_check([root], policy_path=str(path))
    assert lines(result) == [
        f"{path.as_posix()}:3: references.other: 'other' is also a service of the inventory; "
        "rename the reference (snap-to other means the service)"
    ]
    (mismatch,) = [f for f in result.findings if f.name == "snap-to-mismatch"]
    assert "used by the reference service other" in mismatch.message


def test_an_artifact_of_several_services_is_refused_and_one_service_is_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    several = tmp_path / "monorepo.json"
    assert main(["inventory", str(EXAMPLE), "--format", "json", "--output", str(several)]) == 0
    one = tmp_path / "billing.json"
    assert main(["inventory", str(EXAMPLE / "services" / "billing"), "--format", "json", "--output", str(one)]) == 0
    capsys.readouterr()
    root = workspace(tmp_path)
    result = run_check([root], policy_path=str(policy(tmp_path, f"  image: {several}")))
    (error,) = lines(result)
    assert error.startswith(f"{several.as_posix()}:1: a reference is one environment, and this inventory artifact holds ")
    result = run_check([root], policy_path=str(policy(tmp_path, f"  image: {one}")))
    assert lines(result) == []
    assert [(r.format, r.name) for r in result.references.loaded] == [("inventory", "image")]
    (mismatch,) = [f for f in result.findings if f.name == "snap-to-mismatch"]
    assert "differs from 8.4.2 in reference image (uv.lock:" in mismatch.message


def test_a_snapshot_is_a_reference(tmp_path: Path) -> None:
    snapshot = tmp_path / "image.json"
    assert main(["snapshot", "--output", str(snapshot)]) == 0  # this interpreter: pytest is installed
    result = run_check([workspace(tmp_path, "0.0.1")], policy_path=str(policy(tmp_path, f"  image: {snapshot}")))
    assert lines(result) == []
    assert [r.format for r in result.references.loaded] == ["snapshot"]
    assert [f.service for f in result.findings if f.name == "snap-to-mismatch"] == ["svc"]


@pytest.mark.parametrize(
    ("value", "message"),
    [("image", "write NAME=PATH"), ("=x.txt", "a reference name is"), ("a/b=x.txt", "a reference name is")],
)
def test_reference_option_syntax(value: str, message: str) -> None:
    from envguard.errors import UsageError

    with pytest.raises(UsageError, match=message):
        parse_option(value)
