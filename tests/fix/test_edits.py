"""Pin edits, offline: requirements, freeze, constraints and pyproject.toml lines; only the version changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from envguard.fix import pyproject, requirements
from envguard.fix.lines import line_text, replaced, write_atomically
from envguard.fix.model import Action, Edit
from envguard.fix.runner import apply_action
from envguard.model import normalize
from tests.kit import EXAMPLE, FIXTURES


@pytest.mark.parametrize(
    ("line", "name", "expected"),
    [
        ("pytest==8.4.2", "pytest", "pytest==9.0"),
        ("Jinja2==8.4.2", "jinja2", "Jinja2==9.0"),
        ("typing_extensions == 8.4.2 ; python_version < '3.12'", "typing-extensions", "typing_extensions == 9.0 ; python_version < '3.12'"),
        ("  coverage[toml]===8.4.2 \\", "coverage", "  coverage[toml]===9.0 \\"),
        ("pytest==8.4.2  # via -r requirements.in", "pytest", "pytest==9.0  # via -r requirements.in"),
        ("pytest==8.4.2.post1", "pytest", None),
        ("pytest>=8.4.2", "pytest", None),
        ("pytest-cov==8.4.2", "pytest", None),
    ],
)
def test_requirements_pin(line: str, name: str, expected: str | None) -> None:
    edit = requirements.pin_edit(f"# head\n{line}\n".encode(), "r.txt", 2, normalize(name), "8.4.2", "9.0")
    assert (edit.new if edit else None) == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('    "pytest-cov==5.0.0",', '    "pytest-cov==7.1.0",'),
        ("dev = ['pytest-cov ==5.0.0', 'x==5.0.0']", "dev = ['pytest-cov ==7.1.0', 'x==5.0.0']"),
        ('pytest-cov = "5.0.0"', 'pytest-cov = "7.1.0"'),
        ('pytest_cov = "==5.0.0"  # pinned', 'pytest_cov = "==7.1.0"  # pinned'),
        ('pytest-cov = { version = "5.0.0", optional = true }', 'pytest-cov = { version = "7.1.0", optional = true }'),
        ('version = "5.0.0"', 'version = "7.1.0"'),
        ('"pytest-cov==5.0.0", "pytest-cov==5.0.0; python_version<\'3\'",', None),
        ('pytest-cov = "^5.0.0"', None),
    ],
)
def test_pyproject_pin(line: str, expected: str | None) -> None:
    edit = pyproject.pin_edit(f"[x]\n{line}\n".encode(), "pyproject.toml", 2, normalize("pytest-cov"), "5.0.0", "7.1.0")
    assert (edit.new if edit else None) == expected


def test_line_ends_and_byte_order_marks_are_kept() -> None:
    raw = "\ufeffpytest==8.4.2\r\nother==1\r\n".encode()
    assert line_text(raw, 1) == "pytest==8.4.2"
    edit = requirements.pin_edit(raw, "r.txt", 1, normalize("pytest"), "8.4.2", "9.0")
    assert edit is not None
    assert replaced(raw, [edit]) == "\ufeffpytest==9.0\r\nother==1\r\n".encode()


def test_a_changed_line_is_not_edited() -> None:
    edit = Edit("r.txt", 1, "pytest==8.4.2", "pytest==9.0")
    with pytest.raises(ValueError, match=r"r.txt:1 changed since the plan"):
        replaced(b"pytest==8.4.3\n", [edit])


def test_write_atomically_keeps_the_mode_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    path.write_bytes(b"a==1\n")
    path.chmod(0o640)
    write_atomically(path, b"a==2\n")
    assert path.read_bytes() == b"a==2\n"
    assert path.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["requirements.txt"]


def test_header_of_real_compiled_files() -> None:
    head = requirements.header((FIXTURES / "pip-tools" / "hashes-constraint" / "dev.txt").read_bytes())
    assert head == requirements.Header("pip-compile", ("pip-compile", "--generate-hashes", "--output-file=dev.txt", "dev.in"))
    head = requirements.header((FIXTURES / "uv" / "pip-compile" / "requirements.txt").read_bytes())
    assert head is not None and head.tool == "uv-pip-compile"
    assert requirements.header((EXAMPLE / "services" / "reports" / "requirements.txt").read_bytes()) is None
    assert requirements.hashed((EXAMPLE / "services" / "search" / "requirements.txt").read_bytes())
    assert not requirements.hashed((EXAMPLE / "services" / "reports" / "requirements.txt").read_bytes())


def _edit_action(path: str, edits: tuple[Edit, ...]) -> Action:
    return Action("svc", normalize("pytest-cov"), ("5.0.0",), "7.1.0", "version-drift", "edit", None, None, edits, False, (path,))


def _no_command(*args: object) -> int:
    raise AssertionError("an edit runs no command")


def test_applying_a_freeze_edit_changes_exactly_the_pin(tmp_path: Path) -> None:
    freeze = tmp_path / "requirements.txt"
    original = (EXAMPLE / "services" / "reports" / "requirements.txt").read_bytes()
    freeze.write_bytes(original)
    edit = requirements.pin_edit(original, "requirements.txt", 14, normalize("pytest-cov"), "5.0.0", "7.1.0")
    assert edit is not None
    outcome = apply_action(_edit_action("requirements.txt", (edit,)), tmp_path, tmp_path / "log", 5, _no_command)
    assert (outcome.status, outcome.message) == ("applied", "")
    assert freeze.read_bytes() == original.replace(b"pytest-cov==5.0.0\n", b"pytest-cov==7.1.0\n")


def test_applying_a_compiled_requirements_edit_keeps_its_comments(tmp_path: Path) -> None:
    file = tmp_path / "requirements.txt"
    original = (FIXTURES / "pip-tools" / "plain" / "requirements.txt").read_bytes()
    file.write_bytes(original)
    line = original.split(b"\n").index(b"pytest==8.4.2") + 1
    edit = requirements.pin_edit(original, "requirements.txt", line, normalize("pytest"), "8.4.2", "8.3.5")
    assert edit is not None
    action = _edit_action("requirements.txt", (edit,))
    assert apply_action(action, tmp_path, tmp_path / "log", 5, _no_command).status == "applied"
    assert file.read_bytes() == original.replace(b"\npytest==8.4.2\n", b"\npytest==8.3.5\n")


def test_applying_a_pyproject_edit_is_style_preserving(tmp_path: Path) -> None:
    manifest = tmp_path / "pyproject.toml"
    original = (EXAMPLE / "services" / "reports" / "pyproject.toml").read_bytes()
    manifest.write_bytes(original)
    edit = pyproject.pin_edit(original, "pyproject.toml", 15, normalize("pytest-cov"), "5.0.0", "7.1.0")
    assert edit is not None
    assert apply_action(_edit_action("pyproject.toml", (edit,)), tmp_path, tmp_path / "log", 5, _no_command).status == "applied"
    assert manifest.read_bytes() == original.replace(b'"pytest-cov==5.0.0"', b'"pytest-cov==7.1.0"')


def test_an_edit_that_would_break_the_toml_is_not_written(tmp_path: Path) -> None:
    manifest = tmp_path / "pyproject.toml"
    manifest.write_bytes(b'[project]\nname = "x"\n')
    edit = Edit("pyproject.toml", 2, 'name = "x"', 'name = "x')
    outcome = apply_action(_edit_action("pyproject.toml", (edit,)), tmp_path, tmp_path / "log", 5, _no_command)
    assert outcome.status == "failed"
    assert "the edit would leave invalid TOML" in outcome.message
    assert manifest.read_bytes() == b'[project]\nname = "x"\n'
