"""`envguard fix` through envguard.cli.main: the plan, --apply on a requirements service, rollback, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from envguard.check import run_check
from envguard.cli import main
from tests.fix.kit import OFFLINE, monorepo, old_pluggy
from tests.fix.test_runner import snapshot
from tests.kit import write


def test_plan_lists_one_action_per_outlier(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = monorepo(tmp_path)
    old_pluggy(root, "billing", "gateway", "inventory", "notifications", "reports", "search")
    before = snapshot(root)
    assert main(["fix", str(root), "--package", "pluggy", "--no-cache"]) == 1
    out = capsys.readouterr().out
    assert out.splitlines() == [
        "billing  pluggy 0.13.1 -> 1.7.0  (uv, version-drift)",
        "  run in services/billing: uv lock --upgrade-package pluggy==1.7.0",
        "gateway  pluggy 0.13.1 -> 1.7.0  (poetry, version-drift)",
        "  run in services/gateway: poetry update --lock --no-interaction pluggy",
        "inventory  pluggy 0.13.1 -> 1.7.0  (pdm, version-drift)",
        "  run in services/inventory: pdm update --no-sync pluggy",
        "notifications  pluggy 0.13.1 -> 1.7.0  (pipenv, version-drift)",
        "  run in services/notifications: pipenv upgrade --dev pluggy==1.7.0",
        "reports  pluggy 0.13.1 -> 1.7.0  (edit, version-drift)",
        "  edit services/reports/requirements.txt:11: pluggy==0.13.1  ->  pluggy==1.7.0",
        "search  pluggy 0.13.1 -> 1.7.0  (pip-compile, version-drift)",
        "  run in services/search: pip-compile --generate-hashes requirements.in --upgrade-package pluggy==1.7.0",
        "",
        "6 actions planned (5 run a locker and need the package index, 1 only edit files); apply them with --apply",
    ]
    assert snapshot(root) == before


def test_plan_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = monorepo(tmp_path)
    old_pluggy(root, "reports")
    assert main(["fix", str(root), "--format", "json", "--only", "reports", "--no-cache"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert set(document) == {"schema", "actions", "skipped"}
    assert document["schema"] == "envguard.fix/1"
    pluggy = next(a for a in document["actions"] if a["package"] == "pluggy")
    assert pluggy == {
        "service": "reports",
        "package": "pluggy",
        "from": ["0.13.1"],
        "to": "1.7.0",
        "rule": "version-drift",
        "tool": "edit",
        "command": None,
        "cwd": None,
        "edits": [{"path": "services/reports/requirements.txt", "line": 11, "old": "pluggy==0.13.1", "new": "pluggy==1.7.0"}],
        "network": False,
        "files": ["services/reports/requirements.txt"],
    }
    assert {tuple(s) for s in document["skipped"]} == {("service", "package", "rule", "reason")}


def test_apply_on_a_requirements_service_changes_exactly_the_pin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = monorepo(tmp_path)
    old_pluggy(root, "reports", "billing")
    before = snapshot(root)
    assert main(["fix", str(root), "--apply", "--only", "reports", "--package", "pluggy", "--no-cache"]) == 0
    out = capsys.readouterr().out
    assert "  applied: before 0.13.1, after 1.7.0; no finding left" in out
    assert out.rstrip().endswith("1 actions: 1 done, 0 failed, 0 applied but still reported")
    after = snapshot(root)
    changed = {name for name in before if after[name] != before[name]}
    assert changed == {"services/reports/requirements.txt"}
    old, new = before["services/reports/requirements.txt"], after["services/reports/requirements.txt"]
    assert [pair for pair in zip(old.split(b"\n"), new.split(b"\n")) if pair[0] != pair[1]] == [
        (b"pluggy==0.13.1", b"pluggy==1.7.0")
    ]
    # The drift is gone for reports; billing, not applied, is still the outlier.
    drift = [f for f in run_check([root], load=OFFLINE).findings if f.package == "pluggy"]
    assert [(f.name, f.service) for f in drift] == [("version-drift", "billing")]


def test_a_locker_that_cannot_run_leaves_the_service_byte_identical(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = monorepo(tmp_path)
    old_pluggy(root, "search")
    before = snapshot(root)
    empty = tmp_path / "no-tools"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert main(["fix", str(root), "--apply", "--package", "pluggy", "--format", "json", "--no-cache"]) == 1
    (action,) = json.loads(capsys.readouterr().out)["actions"]
    assert action["outcome"] == {
        "status": "failed",
        "message": "pip-compile is not installed (not on PATH); its files were restored",
        "log": ".envguard-cache/fix/01-search-pluggy.log",
        "after": ["0.13.1"],
        "remaining": ["version-drift"],
    }
    assert snapshot(root) == before


def test_nothing_to_do(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "ws"
    write(root / "a" / "requirements.txt", "attrs==24.2.0\n")
    write(root / "b" / "requirements.txt", "attrs==24.2.0\n")
    assert main(["fix", str(root), "--no-cache"]) == 0
    assert capsys.readouterr().out == "nothing to apply\n"
    assert main(["fix", str(root), "--apply", "--no-cache"]) == 0


def test_bad_input_applies_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "ws"
    write(root / "a" / "requirements.txt", "attrs==22.0.0\n")
    write(root / "b" / "requirements.txt", "attrs==24.2.0\n")
    write(root / "c" / "poetry.lock", "[[package]\n")
    assert main(["fix", str(root), "--apply", "--no-cache"]) == 2
    captured = capsys.readouterr()
    assert "c/poetry.lock:1: " in captured.err
    assert "nothing applied: an input or the policy could not be read" in captured.err
    assert "a  attrs 22.0.0 -> 24.2.0  (edit, version-drift)" in captured.out
    assert (root / "a" / "requirements.txt").read_text() == "attrs==22.0.0\n"


def test_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fix", "--jobs", "0"]) == 2
    assert main(["fix", "--timeout", "-1"]) == 2
    assert main(["fix", "--select", "nothing"]) == 2
    assert "--select 'nothing' names no rule" in capsys.readouterr().err


def test_the_readme_example(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """README's `envguard fix --package pluggy` output, on the monorepo with pluggy 0.13.1 in billing and reports."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### `envguard fix`") :]
    shown = section[section.index("`envguard fix --package pluggy` prints:") :].split("```\n", 2)[1]
    root = monorepo(tmp_path)
    old_pluggy(root, "billing", "reports")
    assert main(["fix", str(root), "--package", "pluggy", "--no-cache"]) == 1
    assert capsys.readouterr().out == shown
    assert main(["fix", str(root), "--apply", "--only", "reports", "--package", "pluggy", "--no-cache"]) == 0
    assert "applied: before 0.13.1, after 1.7.0; no finding left" in capsys.readouterr().out
