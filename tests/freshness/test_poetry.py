from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from packaging.version import Version

from envguard.freshness import poetry as freshness
from envguard.model import StaleLock
from envguard.sources import _toml, poetry
from tests.freshness import FIXTURES, shown, verdicts

COMMITTED = Path(__file__).resolve().parents[2]


def _check(variant: str, case: str) -> StaleLock | None:
    path = FIXTURES / "poetry" / variant / case / "poetry.lock"
    stale = poetry.load(path, shown("poetry", variant, case, "poetry.lock")).stale_locks
    return stale[0] if stale else None


@pytest.mark.parametrize(("variant", "case", "exit_code"), verdicts("poetry"))
def test_agrees_with_poetry_check_lock(variant: str, case: str, exit_code: int) -> None:
    assert (_check(variant, case) is None) == (exit_code == 0)


def test_a_hash_mismatch_points_at_the_content_hash() -> None:
    found = _check("poetry2-project", "specifier-changed")
    assert found == StaleLock(
        tool="poetry",
        lock="poetry/poetry2-project/specifier-changed/poetry.lock",
        lock_line=154,
        manifest="poetry/poetry2-project/specifier-changed/pyproject.toml",
        line=None,
        reason="the content hash differs: the manifest changed after the lock was written",
    )


def test_the_lock_names_an_added_dependency_and_a_new_python() -> None:
    added = _check("poetry2-project", "dependency-added")
    python = _check("poetry18", "requires-python-changed")
    assert added is not None and (added.line, added.reason) == (
        9,
        "[project] dependencies has six>=1.16, which the lock does not record",
    )
    assert python is not None and (python.line, python.reason) == (
        9,
        "the Python requirement is ^3.11, the lock records ^3.10",
    )


def _data(variant: str, case: str = "fresh") -> dict[str, object]:
    text = (FIXTURES / "poetry" / variant / case / "pyproject.toml").read_text(encoding="utf-8")
    return _toml.parse_toml(text, "pyproject.toml")


def test_poetry_before_2_3_hashed_without_dependency_groups() -> None:
    data = _data("poetry2-project")
    current = freshness.content_hashes(data, Version("2.5.1"))
    older = freshness.content_hashes(data, Version("2.2.1"))
    assert len(current) == 1 and current < older and len(older) == 2


def test_poetry_1_hashes_tool_poetry_only() -> None:
    data = _data("poetry2-project")
    assert freshness.content_hashes(data, Version("1.8.5")).isdisjoint(freshness.content_hashes(data, Version("2.5.1")))
    legacy = _data("poetry18")
    assert freshness.content_hashes(legacy, Version("1.8.5")) == freshness.content_hashes(legacy, Version("2.5.1"))


def test_a_lock_without_a_content_hash_gives_no_verdict(tmp_path: Path) -> None:
    base = FIXTURES / "poetry" / "poetry18" / "dependency-added"
    shutil.copy(base / "pyproject.toml", tmp_path)
    text = (base / "poetry.lock").read_text(encoding="utf-8")
    (tmp_path / "poetry.lock").write_text(
        "\n".join(line for line in text.split("\n") if not line.startswith("content-hash")), encoding="utf-8"
    )
    assert poetry.load(tmp_path / "poetry.lock", "poetry.lock").stale_locks == ()


@pytest.mark.parametrize(
    "lock",
    [
        "tests/fixtures/poetry/poetry2-lock21/poetry.lock",
        "tests/fixtures/poetry/poetry18-lock20/poetry.lock",
        "tests/fixtures/poetry/poetry11-lock11/poetry.lock",
        "examples/monorepo/services/orders/poetry.lock",
        "examples/monorepo/services/gateway/poetry.lock",
    ],
)
def test_committed_locks_are_fresh(lock: str) -> None:
    assert poetry.load(COMMITTED / lock, lock).stale_locks == ()
