"""envguard.declared.nox: a noxfile's sessions and installs, from its syntax tree only."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from envguard.declared.nox import load
from envguard.errors import SourceError
from envguard.model import Loaded

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "declared" / "nox"
LEDGER = "services/ledger/noxfile.py"
KIOSK = "services/kiosk/noxfile.py"
BEACON = "services/beacon/noxfile.py"
REFUSED = (
    "nox refuses session.install in a session without a virtualenv (python=False or venv_backend 'none'); not read"
)


def _unresolved(written: str) -> str:
    """The install reader's warning for a word only the run knows."""
    return (
        f"cannot resolve {written!r} statically (it depends on the environment at run time); "
        "what it installs is not checked"
    )


def _copy(tmp_path: Path, name: str) -> Path:
    """The fixture as a service of a workspace rooted at tmp_path."""
    target = tmp_path / "services" / name
    shutil.copytree(FIXTURES / name, target)
    return target / "noxfile.py"


def _session(environment: str) -> str:
    return environment.rsplit(" session ", 1)[1]


def _rows(loaded: Loaded) -> list[tuple[str, str, str, str, int, str | None]]:
    return [(_session(d.environment), d.name, d.requirement, d.path, d.line, d.pinned_by) for d in loaded.declarations]


def _noxfile(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "noxfile.py"
    path.write_text(text, encoding="utf-8")
    return path


def test_ledger_every_install_of_every_session(tmp_path: Path) -> None:
    loaded = load(_copy(tmp_path, "ledger"), LEDGER)
    fixtures = "services/ledger/requirements/fixtures.txt"
    tests = [
        # The project, as the command names it.
        ("ledger", "-e .[test]", LEDGER, 26, None),
        # Constants are declared where they are defined; the -c of the first install pins
        # nothing of the second (each session.install is its own pip run).
        ("pytest", "pytest==8.4.2", LEDGER, 11, None),
        ("pytest-cov", "pytest-cov==7.1.0", LEDGER, 11, None),
        ("pytest-asyncio", "pytest-asyncio==1.3.0", LEDGER, 12, None),
        # Through the helper the session is passed to: the -r file at its own line, and what
        # the call passes to the helper's *more.
        ("factory-boy", "factory-boy==3.3.1", fixtures, 1, None),
        ("time-machine", "time-machine==2.19.0", LEDGER, 28, None),
    ]
    assert _rows(loaded) == [
        *(("tests-3.11", *row) for row in tests),
        *(("tests-3.12", *row) for row in tests),
        # name= names it; python= as one string adds no suffix.
        ("lint", "ruff", "ruff==0.8.4", LEDGER, 13, None),
        ("docs", "sphinx", "sphinx>=8", LEDGER, 40, None),
        ("docs", "furo", "furo", LEDGER, 40, None),
        ("compat-3.12(django='4.2')", "django", "django~=4.2.0", LEDGER, 48, None),
        ("compat-3.12(django='4.2')", "pytest-django", "pytest-django==4.9.0", LEDGER, 48, None),
        ("compat-3.12(django='5.1')", "django", "django~=5.1.0", LEDGER, 48, None),
        ("compat-3.12(django='5.1')", "pytest-django", "pytest-django==4.9.0", LEDGER, 48, None),
    ]
    assert loaded.declarations[0].environment == f"{LEDGER} session tests-3.11"
    assert all(d.install and d.origin == "nox" and d.directory is None for d in loaded.declarations)
    assert loaded.included == ("services/ledger/pyproject.toml", "services/ledger/constraints.txt", fixtures)


def test_ledger_what_only_the_run_knows_is_a_warning_at_its_line(tmp_path: Path) -> None:
    loaded = load(_copy(tmp_path, "ledger"), LEDGER)
    assert [(w.line, w.message.split(" statically")[0]) for w in loaded.warnings] == [
        (41, "cannot resolve 'EXTRA'"),
        (42, "cannot resolve 'f\"mkdocs=={os.environ[\\'MKDOCS\\']}\"'"),
    ]
    # `session.run("pytest", *session.posargs)` is no install: nothing to warn about.
    assert all(w.path == LEDGER for w in loaded.warnings)


def test_kiosk_matrix_every_install_of_every_session(tmp_path: Path) -> None:
    loaded = load(_copy(tmp_path, "kiosk"), KIOSK)
    base = "--constraints constraints/base.txt"  # uv's spelling: the default backend is uv
    # What constraints/py3.X.txt (named through session.python) pins of sqlalchemy.
    sqlalchemy_pin = {"3.12": "--constraints constraints/py3.12.txt", "3.13": None}
    tests = []
    for python in ("3.12", "3.13"):
        # Stacked parametrize: the decorator nearest the function varies fastest; its id comes first.
        for orm, database in (("2.0", "postgres"), ("1.4", "postgres"), ("2.0", "sqlite"), ("1.4", "sqlite")):
            orm_id = "sa2" if orm == "2.0" else f"orm={orm!r}"  # nox.param(..., id="sa2"), else name=repr(value)
            label = f"tests-{python}({orm_id}, database={database!r})"
            tests += [
                (label, "pytest", "pytest==8.4.2", KIOSK, 13, None),
                (label, "pytest-randomly", "pytest-randomly==3.16.0", KIOSK, 13, None),
                # A local of the session, its f-string over the parametrized orm.
                (label, "sqlalchemy", f"sqlalchemy~={orm}.0", KIOSK, 28, sqlalchemy_pin[python]),
                # The helper's -c, with what the call passes to *packages and extra=.
                (label, "kiosk-drivers", f"kiosk-drivers[{database}]", KIOSK, 30, base),
                (label, "kiosk", ".[test]", KIOSK, 21, None),
            ]
    assert _rows(loaded) == [
        *tests,
        ("api(lts)", "django", "django~=4.2.0", KIOSK, 37, None),
        ("api(lts)", "djangorestframework", "djangorestframework==3.15.2", KIOSK, 37, None),
        ("api(current)", "django", "django~=5.2.0", KIOSK, 37, None),
        ("api(current)", "djangorestframework", "djangorestframework==3.16.1", KIOSK, 37, None),
        # session.env["UV_CONSTRAINT"], per parametrized python: only py3.11.txt pins httpx.
        ("smoke(python='3.11')", "httpx", "httpx", KIOSK, 45, "UV_CONSTRAINT"),
        ("smoke(python='3.11')", "kiosk-client", "kiosk-client==2.1.0", KIOSK, 45, None),
        ("smoke(python='3.12')", "httpx", "httpx", KIOSK, 45, None),
        ("smoke(python='3.12')", "kiosk-client", "kiosk-client==2.1.0", KIOSK, 45, None),
        # venv_backend="virtualenv": pip, whose spelling is --constraint.
        ("load(users=10)", "locust", "locust>=2.37", KIOSK, 52, "--constraint constraints/base.txt"),
        ("load(users=250)", "locust", "locust>=2.37", KIOSK, 52, "--constraint constraints/base.txt"),
    ]
    assert tests[5][0] == "tests-3.12(orm='1.4', database='postgres')"
    assert loaded.warnings == ()
    assert loaded.included == (
        "services/kiosk/constraints/py3.12.txt",
        "services/kiosk/constraints/base.txt",
        "services/kiosk/pyproject.toml",
        "services/kiosk/constraints/py3.13.txt",
        "services/kiosk/constraints/py3.11.txt",
    )


def test_beacon_sessions_without_a_virtualenv_overrides_and_environment(tmp_path: Path) -> None:
    loaded = load(_copy(tmp_path, "beacon"), BEACON)
    assert _rows(loaded) == [
        # python=False: session.install is refused; `python -m pip install` runs.
        ("release", "twine", "twine>=6", BEACON, 15, None),
        # venv_backend="none" makes one session of a list of Pythons.
        ("audit", "pip-audit", "pip-audit==2.9.0", BEACON, 20, None),
        # The later `docs` replaces the first, in the first one's place.
        ("docs", "mkdocs-material", "mkdocs-material", BEACON, 7, None),
        ("docs", "mkdocstrings", "mkdocstrings[python]", BEACON, 7, None),
        ("docs", "mkdocs", "mkdocs>=1.6", BEACON, 53, None),
        # session.env["PIP_CONSTRAINT"] pins what the file pins; env={...: None} unsets it.
        ("typing", "mypy", "mypy", BEACON, 32, "PIP_CONSTRAINT"),
        ("typing", "types-requests", "types-requests", BEACON, 32, None),
        ("typing", "pyright", "pyright", BEACON, 35, None),
    ]
    assert [(w.line, w.message) for w in loaded.warnings] == [
        (13, REFUSED),
        # TOOLS is changed in place (line 6); a loop variable is known only when the loop runs.
        (14, _unresolved("*TOOLS")),
        (34, _unresolved("plugin")),
    ]
    assert loaded.included == ("services/beacon/constraints.txt",)


# Sessions nox lists that install nothing (an empty parametrization's do-nothing session).
INSTALL_NOTHING = {"beacon": {"nightly"}}


@pytest.mark.parametrize("name", ["ledger", "kiosk", "beacon"])
def test_session_names_agree_with_nox_list(tmp_path: Path, name: str) -> None:
    listed = json.loads((FIXTURES / name / "nox-list.json").read_text(encoding="utf-8"))
    loaded = load(_copy(tmp_path, name), f"services/{name}/noxfile.py")
    ours = list(dict.fromkeys(_session(d.environment) for d in loaded.declarations))
    assert ours == [e["session"] for e in listed if e["session"] not in INSTALL_NOTHING.get(name, set())]


def test_the_module_level_never_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _copy(tmp_path, "relay")
    monkeypatch.chdir(path.parent)
    # Its module level writes RAN beside it, imports a module that does not exist and raises SystemExit.
    loaded = load(path, "services/relay/noxfile.py")
    assert sorted(p.name for p in path.parent.iterdir()) == ["noxfile.py"]
    assert "a_module_that_does_not_exist" not in sys.modules
    assert [(_session(d.environment), d.requirement, d.line) for d in loaded.declarations] == [
        # py= (the older keyword) and `session.run("uv", "pip", "install", ...)`.
        ("unit-3.10", "pytest>=8", 16),
        ("unit-3.10", "pytest-timeout", 16),
        ("unit-3.13", "pytest>=8", 16),
        ("unit-3.13", "pytest-timeout", 16),
    ]
    # A function no session calls is not read.
    assert "never-read" not in {d.name for d in loaded.declarations}


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            "import nox\n\n@nox.session\ndef tests(session):\n    session.install('x'\n",
            5,
            "not valid Python: '(' was never closed",
        ),
        ("def f(:\n", 1, "not valid Python: invalid syntax"),
        # Deeper than the parser goes: one error, not a RecursionError.
        ("x = " + "(" * 300 + ")" * 300 + "\n", 1, "not valid Python: "),
    ],
)
def test_a_file_that_is_not_python_is_one_error(tmp_path: Path, text: str, line: int, message: str) -> None:
    with pytest.raises(SourceError) as raised:
        load(_noxfile(tmp_path, text), "noxfile.py")
    # The parser's wording varies between Python versions for the last case; the place does not.
    assert raised.value.line == line and raised.value.message.startswith(message)


@pytest.mark.parametrize(
    "text",
    [
        "x = 1\0\n",  # a NUL byte: ValueError before 3.12, SyntaxError since
        "x = " + "-" * 100_000 + "1\n",  # the parser's own stack
        'x = ' + " + ".join(['"a"'] * 20_000) + "\n",  # deeper than building the tree recurses
        'X = ' + " + ".join(['"a"'] * 3_000) + "\n",  # parsed, but deeper than reading it recurses
    ],
    ids=["nul-byte", "parser-stack", "tree-depth", "reading-depth"],
)
def test_input_too_deep_or_with_a_nul_byte_is_one_error(tmp_path: Path, text: str) -> None:
    with pytest.raises(SourceError) as raised:
        load(_noxfile(tmp_path, text), "noxfile.py")
    assert raised.value.path == "noxfile.py" and "\n" not in raised.value.message


def test_names_assigned_again_or_changed_are_not_constants(tmp_path: Path) -> None:
    path = _noxfile(
        tmp_path,
        "import nox\n"
        'PIN = "pytest==8.4.2"\n'
        'PIN = "pytest==7.4.4"\n'
        'DEPS = ["a==1"]\n'
        'DEPS += ["b==2"]\n'
        'LATER = "c==3"\n'
        'CHANGED = ["d==4"]\n'
        "\n"
        "def change():\n"
        "    global LATER\n"
        '    LATER = "c==4"\n'
        '    CHANGED[0] = "d==5"\n'
        "\n"
        "@nox.session\n"
        "def tests(session):\n"
        "    session.install(PIN, *DEPS, LATER, *CHANGED)\n",
    )
    loaded = load(path, "noxfile.py")
    assert loaded.declarations == ()
    assert [(w.line, w.message.split(" statically")[0]) for w in loaded.warnings] == [
        (16, "cannot resolve 'PIN'"),
        (16, "cannot resolve '*DEPS'"),
        (16, "cannot resolve 'LATER'"),
        (16, "cannot resolve '*CHANGED'"),
    ]


def test_locals_shadow_constants_and_helpers_take_their_arguments(tmp_path: Path) -> None:
    path = _noxfile(
        tmp_path,
        "import nox\n"
        'DEPS = ["module==1"]\n'
        'PYTHONS = ["3.11", "3.12"]\n'
        "\n"
        'def install(session, *extra, pin="pinned==1.0"):\n'
        "    session.install(pin, *extra)\n"
        "\n"
        "@nox.session(python=PYTHONS[-1])\n"
        "def tests(s):\n"
        '    DEPS = ["local==2"]\n'
        "    s.install(*DEPS)\n"
        '    install(pin="other==4", session=s)\n'
        '    install(s, "extra==5")\n'
        "    install(s, *s.posargs)\n",
    )
    loaded = load(path, "noxfile.py")
    assert [(_session(d.environment), d.requirement, d.line) for d in loaded.declarations] == [
        # The local DEPS, not the module's; PYTHONS[-1] is one Python: no suffix.
        ("tests", "local==2", 10),
        # The session passed by keyword, and pin= with it.
        ("tests", "other==4", 12),
        # pin's default, and what the call passes to *extra.
        ("tests", "pinned==1.0", 5),
        ("tests", "extra==5", 13),
    ]
    # After an argument only the run knows, *extra is not static; pin= still is.
    assert [(w.line, w.message.split(" statically")[0]) for w in loaded.warnings] == [(6, "cannot resolve '*extra'")]


def test_a_value_only_the_run_knows_keeps_the_other_words_in_place(tmp_path: Path) -> None:
    (tmp_path / "constraints.txt").write_text("pytest==8.4.2\n", encoding="utf-8")
    path = _noxfile(
        tmp_path,
        "import os\nimport nox\n\n@nox.session\ndef tests(session):\n"
        '    session.install("-c", os.environ["CONSTRAINTS"], "pytest")\n'
        '    session.install("-c", "constraints.txt", "pytest>=8")\n',
    )
    loaded = load(path, "noxfile.py")
    # Never `-c pytest`: the unknown constraints file is taken to pin everything.
    assert [(d.requirement, d.pinned_by) for d in loaded.declarations] == [
        ("pytest", '--constraint os.environ["CONSTRAINTS"] (not read)'),
        ("pytest>=8", "--constraint constraints.txt"),
    ]
    assert loaded.warnings == ()


def test_what_cannot_be_read_about_a_session_is_a_warning(tmp_path: Path) -> None:
    path = _noxfile(
        tmp_path,
        "import nox\nfrom nox import session as s\n"
        'nox.options.force_venv_backend = "none"\n'
        "\n"
        "@s(python=nox.project.python_versions(PYPROJECT))\n"
        '@nox.parametrize("django", range(3))\n'
        "def tests(session, django):\n"
        '    session.run("pip", "install", f"django=={django}")\n'
        '    session.install("refused")\n',
    )
    loaded = load(path, "noxfile.py")
    assert loaded.declarations == ()
    assert [(w.line, w.message) for w in loaded.warnings] == [
        (5, "the session's python= cannot be read statically; its environments are named after the session"),
        (6, "this parametrization cannot be read statically; its variants are read as one session"),
        (8, _unresolved('f"django=={django}"')),
        (9, REFUSED),
    ]


def test_reading_is_deterministic(tmp_path: Path) -> None:
    path = _copy(tmp_path, "kiosk")
    first = load(path, KIOSK)
    assert all(load(path, KIOSK) == first for _ in range(3))


def test_an_option_set_twice_is_read_at_its_last_value(tmp_path: Path) -> None:
    (tmp_path / "constraints.txt").write_text("httpx==0.28.1\n", encoding="utf-8")
    path = _noxfile(
        tmp_path,
        "import nox\n"
        'nox.options.default_venv_backend = "virtualenv"\n'
        'nox.options.default_venv_backend = "uv"\n'
        "\n"
        "@nox.session\n"
        "def tests(session):\n"
        '    session.install("-c", "constraints.txt", "httpx")\n',
    )
    loaded = load(path, "noxfile.py")
    # uv's spelling of the constraint: session.install ran `uv pip install`.
    assert [(d.requirement, d.pinned_by) for d in loaded.declarations] == [("httpx", "--constraints constraints.txt")]
    assert [(w.line, w.message) for w in loaded.warnings] == [
        (3, "nox.options.default_venv_backend is set more than once; envguard reads the last value")
    ]
