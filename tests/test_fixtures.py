"""Each real lockfile fixture against the locking tool's own export of the same lock.

The export is written by the tool itself (`uv export`, `poetry export`, `pdm export`,
`pipenv requirements`), so agreement means envguard reads the lock as the tool means it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from envguard.model import Kind, Package
from envguard.sources.detect import detect, loader_for
from envguard.sources._text import read_text

FIXTURES = Path(__file__).parent / "fixtures"

# (lock, exports, whether the exports list every locked package)
CASES = [
    ("uv/project-fork/uv.lock", ["export.txt"], True),
    ("uv/project-fork/pylock.toml", ["export.txt"], True),
    ("uv/workspace/uv.lock", ["export.txt"], True),
    ("poetry/poetry2-lock21/poetry.lock", ["export.txt"], True),
    ("poetry/poetry18-lock20/poetry.lock", ["export.txt"], True),
    ("poetry/poetry11-lock11/poetry.lock", ["export.txt"], True),
    ("pdm/groups-lock45/pdm.lock", ["export.txt"], True),
    # pdm 2.7 evaluates markers for the interpreter that runs the export and drops the rest.
    ("pdm/pdm27-lock42/pdm.lock", ["export.txt"], False),
    ("pipenv/categories/Pipfile.lock", ["export.txt", "export-docs.txt"], True),
]


def third_party(packages: tuple[Package, ...]) -> set[tuple[str, str | None]]:
    # The project itself appears as `-e .` in exports and as a local project in locks.
    return {(p.name, p.version) for p in packages if p.kind not in (Kind.LOCAL_PROJECT, Kind.EDITABLE)}


def load(path: Path) -> tuple[Package, ...]:
    shown = path.relative_to(FIXTURES).as_posix()
    text = read_text(path, shown)
    return loader_for(detect(path, text, shown))(path, shown).packages


@pytest.mark.parametrize(("lock", "exports", "complete"), CASES, ids=[c[0] for c in CASES])
def test_lock_agrees_with_the_tools_own_export(lock: str, exports: list[str], complete: bool) -> None:
    lock_path = FIXTURES / lock
    locked = third_party(load(lock_path))
    exported: set[tuple[str, str | None]] = set()
    for name in exports:
        exported |= third_party(load(lock_path.parent / name))
    assert exported, "the export lists no package"
    assert exported <= locked
    if complete:
        assert locked == exported


def test_every_fixture_directory_records_how_it_was_made() -> None:
    directories = {p.parent for p in FIXTURES.rglob("*") if p.is_file() and p.name != "README.md"}
    cases = {d for d in directories if (d / "GENERATED.md").exists()}
    for directory in directories:
        assert any(directory == case or case in directory.parents for case in cases), directory


def test_no_real_index_host_in_fixtures() -> None:
    for path in FIXTURES.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            for host in ("pypi.org", "files.pythonhosted.org"):
                assert f"//{host}" not in text, f"{path} names {host}"


def test_freeze_inspect_and_list_of_one_environment_agree() -> None:
    directory = FIXTURES / "pip/venv-freeze"
    by_file = {name: load(directory / name) for name in ("freeze.txt", "pip-inspect.json", "pip-list.json")}
    versions = {name: {(p.name, p.version) for p in packages} for name, packages in by_file.items()}
    assert versions["pip-inspect.json"] == versions["pip-list.json"]
    # pip freeze leaves out pip itself (and setuptools/wheel where installed), and writes no
    # version for VCS and direct-URL installs; everything else is the same.
    frozen = {name: version for name, version in versions["freeze.txt"]}
    inspected = {name: version for name, version in versions["pip-inspect.json"]}
    assert set(inspected) - set(frozen) <= {"pip", "setuptools", "wheel"}
    assert set(frozen) <= set(inspected)
    assert {n: v for n, v in frozen.items() if v is not None} == {
        n: inspected[n] for n, v in frozen.items() if v is not None
    }
    assert sorted(n for n, v in frozen.items() if v is None) == ["acme-utils", "acme-wheel"]
    kinds = {name: {(p.name, p.kind) for p in packages} for name, packages in by_file.items()}
    assert {k for k in kinds["freeze.txt"] if k[1] is Kind.EDITABLE} == {
        k for k in kinds["pip-inspect.json"] if k[1] is Kind.EDITABLE
    }
