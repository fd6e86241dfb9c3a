"""A pre-commit run split into several `envguard check --changed` processes reports each finding once.

The parts run as pre-commit runs them: separate processes of one parent (this test process),
with `PRE_COMMIT=1` in their environment.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from envguard import precommit_runs
from tests.kit import EXAMPLE, ROOT


def _part(root: Path, *files: str, options: tuple[str, ...] = (), pre_commit: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ENVGUARD_", "GITHUB_", "PRE_COMMIT"))}
    env["PYTHONPATH"] = str(ROOT)
    if pre_commit:
        env["PRE_COMMIT"] = "1"
    command = [sys.executable, "-m", "envguard", "check", "--changed", "--format", "json", *options, *files]
    return subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=60, check=False)


def _findings(part: subprocess.CompletedProcess[str]) -> list[tuple[str, str, str]]:
    return [(f["rule"], f["service"], f["message"]) for f in json.loads(part.stdout)["findings"]]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLE, tmp_path / "ws", ignore=shutil.ignore_patterns(".envguard-cache"))
    return tmp_path / "ws"


FIRST = ("services/billing/uv.lock",)
SECOND = ("services/orders/poetry.lock",)


def test_a_finding_two_parts_share_is_reported_by_the_first_only(root: Path) -> None:
    alone = _findings(_part(root, *SECOND, pre_commit=False))
    first, second = _part(root, *FIRST), _part(root, *SECOND)
    assert first.returncode == 1
    shared = set(_findings(first)) & set(alone)
    assert shared, "the example's drift findings involve both services"
    assert _findings(second) == [f for f in alone if f not in shared]
    assert f"{len(shared)} findings left out: an earlier part of this pre-commit run reported them" in second.stderr
    together = _findings(_part(root, *FIRST, *SECOND, pre_commit=False))
    assert sorted(_findings(first) + _findings(second)) == sorted(together)


def test_another_hook_of_the_same_run_reports_on_its_own(root: Path) -> None:
    _part(root, *FIRST)
    plugins = _part(root, *SECOND, options=("--select", "plugins"))
    assert _findings(plugins) == _findings(_part(root, *SECOND, options=("--select", "plugins"), pre_commit=False))
    assert "left out" not in plugins.stderr


def test_outside_pre_commit_nothing_is_recorded(root: Path) -> None:
    _part(root, *FIRST, pre_commit=False)
    assert not (root / ".envguard-cache" / precommit_runs.FILE).exists()
    assert _findings(_part(root, *FIRST, pre_commit=False)) == _findings(_part(root, *FIRST, pre_commit=False))


def test_a_record_of_another_run_or_a_damaged_one_is_ignored(root: Path) -> None:
    alone = _findings(_part(root, *SECOND, pre_commit=False))
    _part(root, *FIRST)
    record = root / ".envguard-cache" / precommit_runs.FILE
    written = json.loads(record.read_text(encoding="utf-8"))
    parent, start, options = json.loads(written["run"])
    assert parent == os.getpid() and (start is not None) == sys.platform.startswith("linux")
    record.write_text(json.dumps({**written, "run": json.dumps([parent, -1, options])}), encoding="utf-8")
    assert _findings(_part(root, *SECOND)) == alone  # another pre-commit process that had this pid
    record.write_text("{not json", encoding="utf-8")
    assert _findings(_part(root, *SECOND)) == alone
