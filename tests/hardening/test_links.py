"""Symbolic links out of the workspace root are refused like `../` paths (issue 16, item 4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from envguard.inventory import build_inventory, load_inventory
from envguard.workspace import discover
from tests.kit import write

OUTSIDE = "a symbolic link to a file outside the workspace root; pass --allow-outside-root to read it"


@pytest.fixture
def layout(tmp_path: Path) -> Path:
    """ws/ (the root) beside out/, which holds what the links lead to."""
    write(tmp_path / "out" / "requirements.txt", "pytest==8.3.2\n")
    write(tmp_path / "out" / "shared" / "pins.txt", "pytest-cov==6.0.0\n")
    write(tmp_path / "ws" / "pyproject.toml", "[tool.envguard]\n")
    return tmp_path


def test_a_linked_record_outside_the_root_is_an_error_and_others_are_still_read(layout: Path) -> None:
    root = layout / "ws"
    (root / "svc").mkdir()
    (root / "svc" / "requirements.txt").symlink_to(layout / "out" / "requirements.txt")
    write(root / "other" / "requirements.txt", "pytest==8.4.2\n")
    inventory = load_inventory([root])
    assert [(e.path, e.message) for e in inventory.errors] == [("svc/requirements.txt", OUTSIDE)]
    assert [s.name for s in inventory.services if s.packages] == ["other"]


def test_an_include_through_a_linked_directory_is_refused(layout: Path) -> None:
    root = layout / "ws"
    (root / "svc").mkdir()
    (root / "svc" / "shared").symlink_to(layout / "out" / "shared", target_is_directory=True)
    write(root / "svc" / "tox.ini", "[tox]\nenv_list = py\n[testenv]\ndeps = -r shared/pins.txt\n")
    write(root / "svc" / "requirements.txt", "-r shared/pins.txt\n")
    inventory = load_inventory([root])
    assert {(e.path, e.message) for e in inventory.errors} == {("svc/shared/pins.txt", OUTSIDE)}


def test_allow_outside_root_reads_them(layout: Path) -> None:
    root = layout / "ws"
    (root / "svc").mkdir()
    (root / "svc" / "requirements.txt").symlink_to(layout / "out" / "requirements.txt")
    inventory = build_inventory(discover([root], allow_outside_root=True))
    assert not inventory.errors
    (service,) = inventory.services
    assert [(p.name, p.version) for p in service.packages] == [("pytest", "8.3.2")]


def test_a_link_inside_the_root_is_read(layout: Path) -> None:
    root = layout / "ws"
    write(root / "common" / "requirements.txt", "pytest==8.4.2\n")
    (root / "svc").mkdir()
    (root / "svc" / "requirements.txt").symlink_to(root / "common" / "requirements.txt")
    inventory = load_inventory([root])
    assert not inventory.errors
