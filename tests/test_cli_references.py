"""`--reference NAME=REF` on `check` and `plugins`; a reference shipped in an installed package."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from envguard.cli import main
from tests.kit import EXAMPLE, FIXTURES
from tests.locate.test_package import installed, site  # noqa: F401 - the installed fixture distributions

FREEZE = FIXTURES / "references" / "runner-freeze.txt"
PACKAGED = "package:acme-envguard-policy/acme_envguard_policy/runner-freeze.txt"


def policy(tmp_path: Path, references: str = "") -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(
        f"version: 1\n{references}drift:\n  default: none\n  rules:\n"
        "    - packages: [pytest, pytest-cov]\n      require: { snap-to: image }\n",
        encoding="utf-8",
    )
    return path


def check_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, object], str]:
    code = main(["check", "--format", "json", "--no-cache", *args])
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


def snapped(document: dict[str, object]) -> set[tuple[str, str]]:
    return {(f["service"], f["package"]) for f in document["findings"] if f["name"] == "snap-to-mismatch"}  # type: ignore[index, union-attr]


def test_reference_option_adds_one_and_the_report_lists_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, document, _ = check_json(
        capsys, str(EXAMPLE), "--policy", str(policy(tmp_path)), "--reference", f"image={FREEZE}"
    )
    assert code == 1
    assert ("inventory", "pytest") in snapped(document) and ("orders", "pytest-cov") in snapped(document)
    import hashlib

    (reference,) = document["references"]  # type: ignore[misc]
    assert reference == {
        "name": "image", "path": str(FREEZE), "format": "freeze",
        "sha256": hashlib.sha256(FREEZE.read_bytes()).hexdigest(),
        "packages": len(FREEZE.read_text().splitlines()), "defined": "--reference", "line": None,
    }
    assert document["summary"]["services"] == 11  # type: ignore[index]


def test_reference_option_replaces_the_policy_s_by_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    same = tmp_path / "pins-freeze.txt"
    same.write_text("pytest==7.4.4\npytest-cov==4.1.0\n", encoding="utf-8")
    path = policy(tmp_path, f"references:\n  image: {FREEZE}\n")
    _, document, _ = check_json(capsys, str(EXAMPLE), "--policy", str(path), "--reference", f"image={same}")
    services = {service for service, _ in snapped(document)}
    assert "notifications" not in services and "billing" in services


def test_a_missing_reference_file_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, document, err = check_json(
        capsys, str(EXAMPLE), "--policy", str(policy(tmp_path)), "--reference", "image=nowhere/freeze.txt"
    )
    assert code == 2
    assert "nowhere/freeze.txt:1: --reference image: no such file" in err.splitlines()
    assert document["findings"]  # everything else still checked


def test_bad_reference_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--reference", "image"]) == 2
    assert "write NAME=PATH" in capsys.readouterr().err


def test_a_reference_from_an_installed_package(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    by_file = check_json(capsys, str(EXAMPLE), "--policy", str(policy(tmp_path)), "--reference", f"image={FREEZE}")[1]
    path = policy(tmp_path, f"references:\n  image: {PACKAGED}\n")
    code, by_package, _ = check_json(capsys, str(EXAMPLE), "--policy", str(path))
    assert code == 1
    assert snapped(by_package) == snapped(by_file)
    (reference,) = by_package["references"]  # type: ignore[misc]
    assert reference["path"] == "package:acme-envguard-policy==1.2.0/acme_envguard_policy/runner-freeze.txt"
    assert (reference["defined"], reference["line"]) == (str(path), 3)


def test_plugins_lists_the_reference_s_plugins(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins", str(EXAMPLE), "--format", "json", "--reference", f"image={FREEZE}"]) == 0
    document = json.loads(capsys.readouterr().out)
    (reference,) = document["references"]
    assert reference["name"] == "image" and reference["path"] == str(FREEZE)
    status = {row["name"]: row["status"] for row in reference["plugins"]}
    assert status["pytest-sugar"] == "not approved (plugins.unknown: warning)"
    assert status["pytest-cov"] == "approved (>=5,<8)"
    assert "image" not in {service["name"] for service in document["services"]}
    assert main(["plugins", str(EXAMPLE), "--reference", f"image={FREEZE}"]) == 0
    assert f"reference image ({FREEZE})" in capsys.readouterr().out.splitlines()
