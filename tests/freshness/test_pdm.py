from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from packaging.version import Version

from envguard.freshness import pdm as freshness
from envguard.model import StaleLock
from envguard.sources import _toml, pdm
from tests.freshness import FIXTURES, shown, verdicts

COMMITTED = Path(__file__).resolve().parents[2]


def _check(variant: str, case: str) -> StaleLock | None:
    path = FIXTURES / "pdm" / variant / case / "pdm.lock"
    stale = pdm.load(path, shown("pdm", variant, case, "pdm.lock")).stale_locks
    return stale[0] if stale else None


@pytest.mark.parametrize(("variant", "case", "exit_code"), verdicts("pdm"))
def test_agrees_with_pdm_lock_check(variant: str, case: str, exit_code: int) -> None:
    assert (_check(variant, case) is None) == (exit_code == 0)


def test_an_added_group_dependency_is_named() -> None:
    found = _check("pdm229", "group-dependency-added")
    assert found == StaleLock(
        tool="pdm",
        lock="pdm/pdm229/group-dependency-added/pdm.lock",
        lock_line=8,
        manifest="pdm/pdm229/group-dependency-added/pyproject.toml",
        line=15,
        reason="[dependency-groups] dev has six>=1.16, which the lock does not record",
    )


def test_a_changed_specifier_the_lock_still_satisfies_names_no_line() -> None:
    found = _check("pdm27", "specifier-changed")
    assert found is not None and found.line is None


def _lock_copy(tmp_path: Path, variant: str, case: str, old: str, new: str) -> Path:
    base = FIXTURES / "pdm" / variant / case
    shutil.copy(base / "pyproject.toml", tmp_path)
    text = (base / "pdm.lock").read_text(encoding="utf-8")
    assert old in text
    (tmp_path / "pdm.lock").write_text(text.replace(old, new), encoding="utf-8")
    return tmp_path / "pdm.lock"


def test_the_scheme_follows_the_lock_version(tmp_path: Path) -> None:
    # pdm 2.7's hash (lock_version 4.2) read as a 4.5.0 lock: pdm 2.20+ hashes `resolution`, not `overrides`.
    path = _lock_copy(tmp_path, "pdm27", "fresh", 'lock_version = "4.2"', 'lock_version = "4.5.0"')
    assert pdm.load(path, "pdm.lock").stale_locks != ()


def test_lock_inputs_locks_give_no_verdict(tmp_path: Path) -> None:
    path = _lock_copy(tmp_path, "pdm229", "dependency-added", "[metadata]\n", "[metadata]\nlock_inputs = {}\n")
    assert pdm.load(path, "pdm.lock").stale_locks == ()


def test_a_lock_from_pdm_1_gives_no_verdict(tmp_path: Path) -> None:
    path = _lock_copy(tmp_path, "pdm27", "dependency-added", 'lock_version = "4.2"', 'lock_version = "3.1"')
    assert pdm.load(path, "pdm.lock").stale_locks == ()


def test_schemes_per_lock_version() -> None:
    text = (FIXTURES / "pdm" / "pdm229" / "fresh" / "pyproject.toml").read_text(encoding="utf-8")
    data = _toml.parse_toml(
        text.replace("[tool.pdm]\n", "[tool.pdm]\noverrides = { idna = '>=3' }\n"), "pyproject.toml"
    )
    root = FIXTURES / "pdm" / "pdm229" / "fresh"
    hashes = {
        version: freshness.content_hashes(data, Version(version), "sha256", root)
        for version in ("4.0", "4.2", "4.4.1", "4.4.2", "4.5.0", "4.5.1")
    }
    assert len(hashes["4.4.1"]) == 2 and hashes["4.2"] < hashes["4.4.1"]
    assert hashes["4.0"] == hashes["4.2"]  # `tool.pdm.overrides` either way
    assert hashes["4.4.2"] != hashes["4.5.0"]  # 4.5 hashes the PEP 735 groups, 4.4.2 only pdm's own
    assert hashes["4.5.0"] == hashes["4.5.1"]  # not a workspace


def test_a_workspace_hashes_its_members(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "packages" / "core").mkdir(parents=True)
    (root / "packages" / "core" / "pyproject.toml").write_text(
        '[project]\nname = "core"\nversion = "1"\n', encoding="utf-8"
    )
    data = {"project": {"name": "ws"}, "tool": {"pdm": {"workspace": {"members": ["packages/*"]}}}}
    before = freshness.content_hashes(data, Version("4.5.1"), "sha256", root)
    (root / "packages" / "core" / "pyproject.toml").write_text(
        '[project]\nname = "core"\nversion = "1"\ndependencies = ["six"]\n', encoding="utf-8"
    )
    assert freshness.content_hashes(data, Version("4.5.1"), "sha256", root) != before
    assert freshness.content_hashes(data, Version("4.5.0"), "sha256", root) != before


@pytest.mark.parametrize(
    "lock",
    [
        "tests/fixtures/pdm/groups-lock45/pdm.lock",
        "tests/fixtures/pdm/pdm27-lock42/pdm.lock",
        "examples/monorepo/services/inventory/pdm.lock",
    ],
)
def test_committed_locks_are_fresh(lock: str) -> None:
    assert pdm.load(COMMITTED / lock, lock).stale_locks == ()
