"""envguard.declared.nox: a noxfile's sessions and installs, from its syntax tree only."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from envguard.declared.nox import load
from envguard.errors import SourceError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "declared" / "nox"
LEDGER = "services/ledger/noxfile.py"


def _copy(tmp_path: Path, name: str) -> Path:
    target = tmp_path / "services" / name
    shutil.copytree(FIXTURES / name, target)
    return target / "noxfile.py"


def _session(environment: str) -> str:
    return environment.rsplit(" session ", 1)[1]


def test_every_install_of_every_session_with_its_line(tmp_path: Path) -> None:
    loaded = load(_copy(tmp_path, "ledger"), LEDGER)
    found = [(_session(d.environment), d.requirement, d.path, d.line) for d in loaded.declarations]
    tests = [
        ("-e .[test]", LEDGER, 26),
        # Constants are pinned where they are defined.
        ("pytest==8.4.2", LEDGER, 11),
        ("pytest-cov==7.1.0", LEDGER, 11),
        ("pytest-asyncio==1.3.0", LEDGER, 12),
        # Through the helper the session is passed to, from the -r file at its own line.
        ("factory-boy==3.3.1", "services/ledger/requirements/fixtures.txt", 1),
    ]
    assert found == [
        *(("tests-3.11", *entry) for entry in tests),
        *(("tests-3.12", *entry) for entry in tests),
        ("lint", "ruff==0.8.4", LEDGER, 13),
        ("docs", "sphinx>=8", LEDGER, 40),
        ("docs", "furo", LEDGER, 40),
        ("compat-3.12(django='4.2')", "django~=4.2.0", LEDGER, 48),
        ("compat-3.12(django='4.2')", "pytest-django==4.9.0", LEDGER, 48),
        ("compat-3.12(django='5.1')", "django~=5.1.0", LEDGER, 48),
        ("compat-3.12(django='5.1')", "pytest-django==4.9.0", LEDGER, 48),
    ]
    assert all(d.install and d.origin == "nox" for d in loaded.declarations)
    assert loaded.declarations[0].environment == f"{LEDGER} session tests-3.11"
    # Each session.install is its own pip run: the -c of the first pins nothing of the second.
    assert {d.pinned_by for d in loaded.declarations if d.requirement == "pytest-cov==7.1.0"} == {None}
    assert loaded.included == (
        "services/ledger/pyproject.toml",
        "services/ledger/constraints.txt",
        "services/ledger/requirements/fixtures.txt",
    )


def test_session_names_agree_with_nox_list() -> None:
    listed = json.loads((FIXTURES / "ledger" / "nox-list.json").read_text(encoding="utf-8"))
    loaded = load(FIXTURES / "ledger" / "noxfile.py", "ledger/noxfile.py")
    ours = list(dict.fromkeys(_session(d.environment) for d in loaded.declarations))
    assert ours == [entry["session"] for entry in listed]


def test_what_only_the_run_knows_is_a_warning_at_its_line(tmp_path: Path) -> None:
    loaded = load(_copy(tmp_path, "ledger"), LEDGER)
    assert [(w.line, w.message.split(" statically")[0]) for w in loaded.warnings] == [
        (21, "cannot read '*more'"),
        (41, "cannot read 'EXTRA'"),
        (42, "cannot read 'f\"mkdocs=={os.environ[\\'MKDOCS\\']}\"'"),
    ]
    # `session.run("pytest", *session.posargs)` is no install: nothing to warn about.
    assert all(w.line != 29 for w in loaded.warnings)


def test_the_module_level_never_runs(tmp_path: Path) -> None:
    path = _copy(tmp_path, "relay")
    loaded = load(path, "services/relay/noxfile.py")
    assert not (path.parent / "RAN").exists()
    assert [(_session(d.environment), d.requirement, d.line) for d in loaded.declarations] == [
        ("unit-3.10", "pytest>=8", 16),
        ("unit-3.10", "pytest-timeout", 16),
        ("unit-3.13", "pytest>=8", 16),
        ("unit-3.13", "pytest-timeout", 16),
    ]
    assert "never-read" not in {d.name for d in loaded.declarations}


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("import nox\n\n@nox.session\ndef tests(session):\n    session.install('x'\n", 5, "not valid Python: '(' was never closed"),
        ("def f(:\n", 1, "not valid Python: invalid syntax"),
        # Deeper than the parser goes: one error, not a RecursionError.
        ("x = " + "(" * 300 + ")" * 300 + "\n", 1, "not valid Python: "),
    ],
)
def test_a_file_that_is_not_python_is_one_error(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = tmp_path / "noxfile.py"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SourceError) as raised:
        load(path, "noxfile.py")
    # The parser's wording varies between Python versions for the last case; the place does not.
    assert raised.value.line == line and raised.value.message.startswith(message)


def test_reassigned_names_are_not_constants(tmp_path: Path) -> None:
    path = tmp_path / "noxfile.py"
    path.write_text(
        'import nox\nPIN = "pytest==8.4.2"\nPIN = "pytest==7.4.4"\nDEPS = ["a==1"]\nDEPS += ["b==2"]\n\n'
        "@nox.session\ndef tests(session):\n    session.install(PIN, *DEPS)\n",
        encoding="utf-8",
    )
    loaded = load(path, "noxfile.py")
    assert loaded.declarations == ()
    assert [w.line for w in loaded.warnings] == [9, 9]
