from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from envguard.freshness import _markers
from envguard.freshness import uv as freshness
from envguard.model import StaleLock
from envguard.sources import _toml, uv
from tests.freshness import FIXTURES, shown, verdicts


def _check(variant: str, case: str) -> StaleLock | None:
    path = FIXTURES / "uv" / variant / case / "uv.lock"
    loaded = uv.load(path, shown("uv", variant, case, "uv.lock"))
    assert len(loaded.stale_locks) <= 1
    return loaded.stale_locks[0] if loaded.stale_locks else None


@pytest.mark.parametrize(("variant", "case", "exit_code"), verdicts("uv"))
def test_agrees_with_uv_lock_check(variant: str, case: str, exit_code: int) -> None:
    assert (_check(variant, case) is None) == (exit_code == 0)


def test_a_changed_specifier_names_both_sides() -> None:
    found = _check("project", "specifier-changed")
    assert found == StaleLock(
        tool="uv",
        lock="uv/project/specifier-changed/uv.lock",
        lock_line=44,
        manifest="uv/project/specifier-changed/pyproject.toml",
        line=7,
        reason="[project] dependencies has attrs>=24.1, the lock records attrs>=23.2",
    )


def test_an_added_dependency_points_at_the_package_metadata() -> None:
    found = _check("project", "dependency-added")
    assert found is not None
    assert (found.lock_line, found.line) == (41, 13)
    assert found.reason == "[project] dependencies has packaging>=24, which the lock does not record"


def test_a_member_change_names_the_member_manifest() -> None:
    found = _check("workspace", "member-dependency-added")
    assert found is not None
    assert found.manifest == "uv/workspace/member-dependency-added/packages/acme-core/pyproject.toml"
    assert found.line == 6


def test_a_path_dependency_is_validated_too() -> None:
    found = _check("project", "path-dependency-changed")
    assert found is not None
    assert found.manifest.endswith("libs/util/pyproject.toml")


def test_sources_and_versions_are_part_of_the_comparison() -> None:
    sources = _check("project", "sources-changed")
    version = _check("project", "version-changed")
    assert (
        sources is not None and "(directory libs/util)" in sources.reason and "(editable libs/util)" in sources.reason
    )
    assert version is not None and version.reason == "[project] version is 1.3.0, the lock records 1.2.0"


def test_no_manifest_no_verdict(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "uv" / "project" / "dependency-added" / "uv.lock", tmp_path / "uv.lock")
    assert uv.load(tmp_path / "uv.lock", "uv.lock").stale_locks == ()


def test_an_unreadable_manifest_gives_no_verdict(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "uv" / "project" / "fresh" / "uv.lock", tmp_path / "uv.lock")
    (tmp_path / "pyproject.toml").write_text("[project\n", encoding="utf-8")
    assert uv.load(tmp_path / "uv.lock", "uv.lock").stale_locks == ()


def _workspace_outside(tmp_path: Path) -> tuple[Path, str]:
    """A service whose path dependency lies above the scanned root (`svc/`)."""
    base = FIXTURES / "uv" / "project" / "path-dependency-changed"
    root = tmp_path / "scan"
    (root / "svc").mkdir(parents=True)
    shutil.copy(base / "uv.lock", root / "svc" / "uv.lock")
    text = (
        (base / "pyproject.toml").read_text(encoding="utf-8").replace('path = "libs/util"', 'path = "../../libs/util"')
    )
    (root / "svc" / "pyproject.toml").write_text(text, encoding="utf-8")
    shutil.copytree(base / "libs", tmp_path / "libs")
    lock = (root / "svc" / "uv.lock").read_text(encoding="utf-8").replace('"libs/util"', '"../../libs/util"')
    (root / "svc" / "uv.lock").write_text(lock, encoding="utf-8")
    return root / "svc" / "uv.lock", "svc/uv.lock"


def test_a_project_outside_the_root_is_read_only_when_allowed(tmp_path: Path) -> None:
    path, lock_shown = _workspace_outside(tmp_path)
    text = path.read_text(encoding="utf-8")
    data = _toml.parse_toml(text, lock_shown)
    assert freshness.check(data, text, path, lock_shown) is None
    found = freshness.check(data, text, path, lock_shown, allow_outside_root=True)
    assert found is not None and "packaging>=24" in found.reason


def _project(tmp_path: Path, pyproject: str, lock: str) -> StaleLock | None:
    (tmp_path / "pyproject.toml").write_text(textwrap.dedent(pyproject), encoding="utf-8")
    (tmp_path / "uv.lock").write_text(textwrap.dedent(lock), encoding="utf-8")
    stale = uv.load(tmp_path / "uv.lock", "uv.lock").stale_locks
    return stale[0] if stale else None


_LOCK = """\
    version = 1
    revision = 3
    requires-python = ">=3.10"

    [[package]]
    name = "svc"
    version = "1.0"
    source = { virtual = "." }

    [package.metadata]
    requires-dist = [{ name = "tomli", marker = "python_full_version < '3.11'" }]
    """


def test_markers_are_compared_by_meaning(tmp_path: Path) -> None:
    pyproject = """\
        [project]
        name = "svc"
        version = "1.0"
        requires-python = ">=3.10"
        dependencies = ["tomli; python_version <= '3.10' and python_version >= '3.6'"]
        """
    assert _project(tmp_path, pyproject, _LOCK) is None
    changed = pyproject.replace("<= '3.10'", "< '3.12'")
    found = _project(tmp_path, changed, _LOCK)
    assert found is not None and found.reason.endswith("the lock records tomli; python_full_version < '3.11'")


def test_dynamic_dependencies_give_no_verdict(tmp_path: Path) -> None:
    pyproject = """\
        [project]
        name = "svc"
        version = "1.0"
        requires-python = ">=3.10"
        dynamic = ["dependencies"]
        """
    assert _project(tmp_path, pyproject, _LOCK) is None


def test_marker_equivalence() -> None:
    lower = ((3, 10, 0), True)
    assert _markers.equivalent("platform_system == 'Windows'", "sys_platform == 'win32'", lower, None)
    assert _markers.equivalent("python_version >= '3.8'", None, lower, None)
    assert not _markers.equivalent("python_full_version <= '3.10.99'", "python_full_version < '3.11'", lower, None)
    assert _markers.equivalent(
        "extra == 'Fast' and python_version >= '3.11'", "python_full_version >= '3.11' and extra == 'fast'", lower, None
    )
    assert _markers.equivalent("python_version ~= '3.10'", None, lower, ((4, 0, 0), False))


def test_credentials_in_an_index_url_do_not_make_a_fresh_lock_stale(tmp_path: Path) -> None:
    # uv compares indexes without their credentials: a token in the configured URL, or one an
    # older lock still holds, is the same index.
    source = FIXTURES.parent / "uv" / "sources"
    shutil.copytree(source, tmp_path / "ws")
    lock, manifest = tmp_path / "ws" / "uv.lock", tmp_path / "ws" / "pyproject.toml"
    assert uv.load(lock, "uv.lock").stale_locks == ()
    internal, secret = "https://pypi.internal.example.com/simple", "https://ci:t0ken@pypi.internal.example.com/simple"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace(internal, secret), encoding="utf-8")
    assert uv.load(lock, "uv.lock").stale_locks == ()
    lock.write_text(lock.read_text(encoding="utf-8").replace(internal, secret), encoding="utf-8")
    assert uv.load(lock, "uv.lock").stale_locks == ()
