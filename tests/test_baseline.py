from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest

from envguard.baseline import fingerprint
from envguard.cli import main
from envguard.model import Finding, Location, Severity
from tests.kit import EXAMPLE

TODAY = "2026-11-25"


def finding(service: str = "orders", package: str = "pytest-randomly", version: str = "3.16.0", line: int = 7) -> Finding:
    return Finding("EG101", "unapproved-plugin", Severity.WARNING, service, package, version, "m", "h",
                   (Location("orders/poetry.lock", line),))


def test_fingerprint_ignores_version_and_line_but_not_rule_service_or_package() -> None:
    base = fingerprint(finding())
    assert fingerprint(finding(version="4.0.0", line=99)) == base
    assert fingerprint(finding(service="billing")) != base
    assert fingerprint(finding(package="pytest-sugar")) != base


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_baseline_round_trip_fails_only_on_new_findings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    workspace = tmp_path / "ws"
    shutil.copytree(EXAMPLE, workspace)
    baseline = tmp_path / "baseline.json"
    code, _, err = run(["check", str(workspace), "--today", TODAY, "--write-baseline", str(baseline)], capsys)
    assert code == 0
    assert err.startswith(f"wrote {baseline}: ")
    document = json.loads(baseline.read_text(encoding="utf-8"))
    assert document["schema"] == "envguard.baseline/1"
    assert {("unapproved-plugin", "orders"), ("unapproved-plugin", "payments")} == {
        (entry["rule"], entry["service"]) for entry in document["findings"] if entry["package"] == "pytest-randomly"
    }

    code, out, _ = run(["check", str(workspace), "--today", TODAY, "--baseline", str(baseline)], capsys)
    assert code == 0
    assert "baselined" in out

    # Upgrading a baselined package keeps it baselined: the fingerprint has no version.
    lock = workspace / "services/orders/poetry.lock"
    lock.write_text(lock.read_text(encoding="utf-8").replace('version = "3.16.0"', 'version = "3.17.0"'), "utf-8")
    code, _, _ = run(["check", str(workspace), "--today", TODAY, "--baseline", str(baseline)], capsys)
    assert code == 0

    # A plugin nobody baselined is new: the run fails again.
    shutil.copytree(workspace / "services/orders", workspace / "services/shipping")
    code, out, _ = run(["check", str(workspace), "--today", TODAY, "--baseline", str(baseline), "--format", "json"], capsys)
    assert code == 1
    new = [f for f in json.loads(out)["findings"] if not f["baselined"] and not f["suppressed"]]
    assert {f["service"] for f in new} >= {"shipping"}


def test_a_broken_baseline_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "baseline.json"
    bad.write_text('{"schema": "something-else"}', encoding="utf-8")
    code, _, err = run(["check", str(EXAMPLE), "--today", TODAY, "--baseline", str(bad)], capsys)
    assert code == 2
    assert f'{bad.as_posix()}:1: not an envguard baseline (expected "schema": "envguard.baseline/1")' in err


def test_check_output_does_not_depend_on_discovery_order(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outputs = set()
    services = sorted(p.name for p in (EXAMPLE / "services").iterdir())
    for seed in range(3):
        random.Random(seed).shuffle(services)
        workspace = tmp_path / f"ws{seed}"
        for name in services:  # created in a different order each time
            shutil.copytree(EXAMPLE / "services" / name, workspace / "services" / name)
        _, out, _ = run(["check", str(workspace), "--today", TODAY, "--format", "json"], capsys)
        outputs.add(out)
    assert len(outputs) == 1


def test_marker_target_narrows_the_view(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fork = Path(__file__).parent / "fixtures/uv/project-fork"
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    shutil.copyfile(fork / "uv.lock", tmp_path / "a" / "uv.lock")
    shutil.copyfile(fork / "export.txt", tmp_path / "b" / "requirements.txt")
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\ndrift:\n  default: exact\n", encoding="utf-8")
    args = ["check", str(tmp_path), "--policy", str(policy), "--today", TODAY, "--format", "json"]
    _, universal, _ = run(args, capsys)
    _, narrowed, _ = run([*args, "--python", "3.12"], capsys)
    assert json.loads(universal)["drift"]["target"] == "universal"
    assert json.loads(narrowed)["drift"]["target"] == "python 3.12"
    versions = {row["package"]: row["versions"] for row in json.loads(universal)["drift"]["rows"]}
    assert "numpy" not in versions  # the same forks on both sides: no drift, in any view
    numpy = {
        p["version"]
        for s in json.loads(run(["inventory", str(tmp_path / "a"), "--format", "json"], capsys)[1])["services"]
        for p in s["packages"]
        if p["name"] == "numpy"
    }
    assert len(numpy) == 4


def test_bad_target_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["check", str(EXAMPLE), "--platform", "beos"], capsys)
    assert code == 2
    assert err == "envguard: --platform 'beos': choose from linux, darwin, win32\n"
