from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from envguard.freshness import pipenv as freshness
from envguard.model import StaleLock
from envguard.sources import _toml, pipfile
from tests.freshness import FIXTURES, shown, verdicts

COMMITTED = Path(__file__).resolve().parents[2]


def _check(variant: str, case: str) -> StaleLock | None:
    path = FIXTURES / "pipenv" / variant / case / "Pipfile.lock"
    stale = pipfile.load(path, shown("pipenv", variant, case, "Pipfile.lock")).stale_locks
    return stale[0] if stale else None


@pytest.mark.parametrize(("variant", "case", "exit_code"), verdicts("pipenv"))
def test_agrees_with_pipenv_verify(variant: str, case: str, exit_code: int) -> None:
    assert (_check(variant, case) is None) == (exit_code == 0)


def test_requires_is_compared_with_what_the_lock_records() -> None:
    found = _check("pipenv", "requires-python-changed")
    assert found == StaleLock(
        tool="pipenv",
        lock="pipenv/pipenv/requires-python-changed/Pipfile.lock",
        lock_line=4,
        manifest="pipenv/pipenv/requires-python-changed/Pipfile",
        line=17,
        reason="[requires] python_version is 3.12, the lock records 3.11",
    )


def test_an_added_package_is_named() -> None:
    found = _check("pipenv", "category-dependency-added")
    assert found is not None and (found.line, found.reason) == (
        15,
        '[docs] has six = ">=1.16", which the lock does not record',
    )


def test_names_as_written_are_accepted_as_plette_hashed_them() -> None:
    text = (FIXTURES / "pipenv" / "pipenv" / "name-respelled" / "Pipfile").read_text(encoding="utf-8")
    hashes = freshness.pipfile_hashes(_toml.parse_toml(text, "Pipfile"))
    assert len(hashes) == 2  # `Attrs`: pipenv 2026 normalises it, plette did not


def test_a_missing_source_is_hashed_as_pypi() -> None:
    with_source = _toml.parse_toml(
        '[[source]]\nname = "pypi"\nurl = "https://pypi.org/simple"\nverify_ssl = true\n\n[packages]\nsix = "*"\n',
        "Pipfile",
    )
    without = _toml.parse_toml('[packages]\nsix = "*"\n', "Pipfile")
    assert freshness.pipfile_hashes(with_source) == freshness.pipfile_hashes(without)


def test_a_lock_without_a_hash_is_stale(tmp_path: Path) -> None:
    base = FIXTURES / "pipenv" / "pipenv" / "fresh"
    shutil.copy(base / "Pipfile", tmp_path)
    data = json.loads((base / "Pipfile.lock").read_text(encoding="utf-8"))
    del data["_meta"]["hash"]
    (tmp_path / "Pipfile.lock").write_text(json.dumps(data, indent=4), encoding="utf-8")
    stale = pipfile.load(tmp_path / "Pipfile.lock", "Pipfile.lock").stale_locks
    assert [lock.reason for lock in stale] == ["the lock records no Pipfile hash"]


@pytest.mark.parametrize(
    "lock", ["tests/fixtures/pipenv/categories/Pipfile.lock", "examples/monorepo/services/notifications/Pipfile.lock"]
)
def test_committed_locks_are_fresh(lock: str) -> None:
    assert pipfile.load(COMMITTED / lock, lock).stale_locks == ()
