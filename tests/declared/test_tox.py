"""envguard.declared.tox: every tox environment's installs, read as tox 4 itself reads them."""

from __future__ import annotations

import configparser
import json
import shlex
import time
from pathlib import Path
from typing import Any

import pytest

from envguard.declared import _tox_ini
from envguard.declared.tox import environments, load
from envguard.errors import SourceError
from envguard.model import Declaration
from tests.kit import ROOT, write

FIXTURES = ROOT / "tests" / "fixtures" / "declared" / "tox"
# Each fixture project and its tox configuration; `tox-config.json` is tox's reading (GENERATED.md).
CASES = {
    "ini-factors": "tox.ini",
    "ini-substitution": "tox.ini",
    "ini-extras": "tox.ini",
    "toml": "tox.toml",
    "pyproject-native": "pyproject.toml",
    "pyproject-legacy": "pyproject.toml",
    "layout-plugin-suite": "tox.ini",
    "layout-django-matrix": "tox.ini",
    "layout-tox-toml": "tox.toml",
}
# What tox adds to every environment's set_env.
INJECTED = frozenset(
    {
        "PIP_DISABLE_PIP_VERSION_CHECK",
        "PIP_USER",
        "PYTHONIOENCODING",
        "TOX_ENV_DIR",
        "TOX_ENV_NAME",
        "TOX_WORK_DIR",
        "VIRTUAL_ENV",
    }
)


def tox_reading(case: str) -> dict[str, dict[str, Any]]:
    """tox's own reading, its build environment (`.pkg`) left out."""
    envs: dict[str, dict[str, Any]] = json.loads((FIXTURES / case / "tox-config.json").read_text("utf-8"))["env"]
    return {name: values for name, values in envs.items() if not name.startswith(".pkg")}


def requirement(line: str) -> str:
    """One spelling per deps line: tox writes `-r{toxinidir}/x` as `-r /abs/x`, envguard keeps `-r./x`."""
    line = line.replace("{toxinidir}", ".")
    if not line.startswith("-"):
        return line
    words = shlex.split(line)
    if len(words[0]) > 2 and words[0][:2] in ("-r", "-c", "-e") and words[0][1] != "-":
        words = [words[0][:2], words[0][2:], *words[1:]]
    return " ".join(words)


def summary(
    declarations: tuple[Declaration, ...], environment: str
) -> list[tuple[str, str, int, str | None, str | None]]:
    return [
        (d.name, d.path, d.line, d.version or d.specifier, d.pinned_by)
        for d in declarations
        if d.environment.endswith(f"[{environment}]") or d.environment.endswith(f".{environment}]")
    ]


@pytest.mark.parametrize("case", CASES)
def test_every_environment_is_read_as_tox_reads_it(case: str) -> None:
    read = environments(FIXTURES / case / CASES[case], CASES[case])
    tox = tox_reading(case)
    mine = {environment.name: environment for environment in read.environments}
    assert list(mine) == list(tox)
    for name, expected in tox.items():
        environment = mine[name]
        # tox keeps the empty line an empty `{posargs:}` leaves; it installs nothing.
        assert [requirement(text) for text, _ in environment.deps] == [
            requirement(line) for line in expected["deps"] if line.strip()
        ], name
        assert list(environment.extras) == sorted(expected["extras"]), name
        assert list(environment.dependency_groups) == sorted(expected["dependency_groups"]), name
        set_env = {
            key: value.replace("{toxinidir}", ".") for key, value in expected["set_env"].items() if key not in INJECTED
        }
        assert dict(environment.set_env) == set_env, name
        assert environment.installs_package == (not expected["skip_install"] and expected["package"] != "skip"), name
        assert environment.constrain_package_deps == expected["constrain_package_deps"], name
        assert environment.use_frozen_constraints == expected["use_frozen_constraints"], name
        assert [requirement(text) for text, _ in environment.constraints] == [
            requirement(f"-c {line}") for line in expected["constraints"]
        ], name


@pytest.mark.parametrize("case", [case for case, name in CASES.items() if name == "tox.ini"])
def test_ini_values_are_configparsers(case: str) -> None:
    text = (FIXTURES / case / "tox.ini").read_text("utf-8")
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    document = _tox_ini.parse_ini(text, "tox.ini")
    assert list(document.sections) == parser.sections()
    for section in parser.sections():
        for key in parser[section]:
            value = document.get(section, key)
            assert value is not None
            assert "\n".join(line for line, _ in value.lines) == parser[section][key], (section, key)
            # Each line is at its place in the file.
            lines = text.split("\n")
            assert all(not line or line in lines[number - 1] for line, number in value.lines)


def test_declarations_follow_files_and_constraints() -> None:
    loaded = load(FIXTURES / "ini-substitution" / "tox.ini", "tox.ini")
    assert summary(loaded.declarations, "testenv:unit") == [
        ("attrs", "tox.ini", 6, "24.2.0", None),
        ("idna", "tox.ini", 8, ">=3.7", "PIP_CONSTRAINT"),  # constraints/base.txt pins it
        ("six", "tox.ini", 17, "1.16.0", None),
        ("pytest", "requirements/unit.txt", 1, "8.3.2", None),
        ("requests", "requirements/unit.txt", 2, ">=2.31", "PIP_CONSTRAINT"),
    ]
    # install_command's `-c` pins the deps' own requirements file.
    assert ("rich", "requirements/constrained.txt", 1, ">=13", "--constraint ./constraints/extra.txt") in summary(
        loaded.declarations, "testenv:constrained"
    )
    assert {d.origin for d in loaded.declarations} == {"tox"}
    assert all(d.install for d in loaded.declarations)
    assert "constraints/extra.txt" in loaded.included and "requirements/hashed.txt" in loaded.included
    assert [str(w) for w in loaded.warnings] == [
        "tox.ini:17: {env:EXTRA_DEP} depends on the environment tox runs in; read as its default 'six==1.16.0'",
        "tox.ini:18: {posargs:} is given on the tox command line; read as ''",
    ]


def test_extras_and_groups_come_from_the_projects_pyproject() -> None:
    loaded = load(FIXTURES / "ini-extras" / "tox.ini", "tox.ini")
    extra_test = [
        ("pytest-cov", "pyproject.toml", 12, ">=5", None),
        ("hypothesis", "pyproject.toml", 13, "6.112.1", None),
        ("freezegun", "pyproject.toml", 14, None, None),
    ]
    assert summary(loaded.declarations, "testenv:py312") == [("pytest", "tox.ini", 6, "8.3.2", None), *extra_test]
    # package = skip and skip_install install no extras; dependency groups are installed anyway.
    assert summary(loaded.declarations, "testenv:nopkg") == [("pytest", "tox.ini", 6, "8.3.2", None)]
    assert summary(loaded.declarations, "testenv:skipped") == [("pytest", "tox.ini", 6, "8.3.2", None)]
    assert summary(loaded.declarations, "testenv:groups") == [
        ("pytest", "tox.ini", 6, "8.3.2", None),
        ("ipython", "pyproject.toml", 19, ">=8", None),
        ("ruff", "pyproject.toml", 20, "0.6.9", None),
        ("ruff", "pyproject.toml", 20, "0.6.9", None),  # in `lint`, and in `dev` through include-group
    ]
    # constrain_package_deps: the deps' == pins constrain the package's dependencies ...
    constrained = summary(loaded.declarations, "testenv:constrained")
    assert ("pytest-cov", "pyproject.toml", 12, ">=5", "constrain_package_deps (its == pin in deps)") in constrained
    assert ("freezegun", "pyproject.toml", 14, None, None) in constrained
    # ... and with use_frozen_constraints whatever the deps installed, pinned or not.
    frozen = summary(loaded.declarations, "testenv:frozen")
    assert (
        "pytest-cov",
        "pyproject.toml",
        12,
        ">=5",
        "use_frozen_constraints (the versions its deps installed)",
    ) in frozen
    assert ("freezegun", "pyproject.toml", 14, None, None) in frozen
    extras = [d for d in loaded.declarations if d.path == "pyproject.toml"]
    assert {d.origin for d in extras} == {"tox"} and all(d.install for d in extras)
    assert {d.groups for d in extras} == {("extra:test",), ("extra:docs",), ("dev",), ("lint",)}
    assert loaded.included == ("pyproject.toml",)


def test_tox_toml_and_pyproject_tables() -> None:
    loaded = load(FIXTURES / "toml" / "tox.toml", "tox.toml")
    assert summary(loaded.declarations, "env.py311-cov") == [
        ("pytest", "tox.toml", 6, "8.3.2", None),
        ("pytest-cov", "tox.toml", 7, "6.0.0", None),  # the `replace = "if"` on factor cov
        ("six", "tox.toml", 8, "1.16.0", None),
        ("requests", "requirements/py311-cov.txt", 1, ">=2.31", "PIP_CONSTRAINT"),
        ("hypothesis", "pyproject.toml", 10, ">=6", None),
        ("requests", "pyproject.toml", 10, "2.32.3", None),
    ]
    # The env's own set_env.PIP_CONSTRAINT replaces env_run_base's whole set_env table.
    assert ("mypy", "tox.toml", 20, ">=1.11", "PIP_CONSTRAINT") in summary(loaded.declarations, "env.type")
    assert ("types-requests", "pyproject.toml", 13, ">=2.32", None) in summary(loaded.declarations, "env.type")
    native = load(FIXTURES / "pyproject-native" / "pyproject.toml", "pyproject.toml")
    assert {d.environment for d in native.declarations} == {
        "pyproject.toml [tool.tox.env.3.12]",
        "pyproject.toml [tool.tox.env.lint]",
    }
    assert summary(native.declarations, "tool.tox.env.lint") == [
        ("ruff", "pyproject.toml", 23, "0.6.9", None),
        ("coverage", "pyproject.toml", 18, ">=7.6", None),  # through `replace = "ref"`: its own line
    ]


def test_a_plugin_suites_layout() -> None:
    loaded = load(FIXTURES / "layout-plugin-suite" / "tox.ini", "tox.ini")
    # `dependency_groups = dev` is `ferrule[test]`: the test extra at its lines, then the project itself.
    dev = [
        ("attrs", "pyproject.toml", 29, ">=23.1", None),
        ("hypothesis", "pyproject.toml", 30, ">=6.100", None),
        ("pexpect", "pyproject.toml", 31, ">=4.9", None),
        ("coverage", "pyproject.toml", 33, ">=7.5", None),
        ("pytest-xdist", "pyproject.toml", 34, ">=3.5", None),
        ("pyyaml", "pyproject.toml", 35, None, None),
        ("xmlschema", "pyproject.toml", 36, None, None),
        ("ferrule", "pyproject.toml", 44, None, None),
    ]
    assert summary(loaded.declarations, "testenv:py311") == dev
    assert summary(loaded.declarations, "testenv:py310-numpy") == [("numpy", "tox.ini", 58, ">=1.26", None), *dev]
    assert summary(loaded.declarations, "testenv:py310-hypothesismain") == [
        ("hypothesis", "tox.ini", 62, None, None),  # the git URL, besides the extra's range
        *dev,
    ]
    # min's `-c tests/minimum.txt` pins pluggy and pytest, which no deps line or group names.
    assert summary(loaded.declarations, "testenv:py312-min") == dev
    # A `-c` inside the -r file pins what the file installs.
    assert summary(loaded.declarations, "testenv:docs") == [
        ("sphinx", "docs/requirements.txt", 3, ">=8", "a constraint in docs/pins.txt"),
        ("furo", "docs/requirements.txt", 4, ">=2024.8.6", None),
        ("sphinx-copybutton", "docs/requirements.txt", 5, None, None),
        ("sphinxcontrib-programoutput", "docs/requirements.txt", 6, ">=0.17", None),
        ("myst-parser", "docs/requirements.txt", 7, ">=3", None),
    ]
    compat = summary(loaded.declarations, "testenv:compat")
    assert [(name, path, line) for name, path, line, _, _ in compat] == [
        (name, "tests/compat/requirements.txt", number)
        for number, name in enumerate(
            ["anyio", "django", "pytest-asyncio", "pytest-cov", "pytest-django", "pytest-randomly", "pytest-timeout"],
            start=1,
        )
    ]
    release = [
        ("build", "tox.ini", 105, ">=1.2", None),
        ("twine", "tox.ini", 106, ">=5.1", None),
        ("towncrier", "tox.ini", 107, ">=24", None),
    ]
    assert summary(loaded.declarations, "testenv:release") == release
    assert summary(loaded.declarations, "testenv:changelog") == release  # `{[testenv:release]deps}`
    # An empty `dependency_groups =` clears [testenv]'s.
    assert summary(loaded.declarations, "testenv:lint") == [("pre-commit", "tox.ini", 72, ">=4.0", None)]
    assert loaded.included == (
        "pyproject.toml",
        "tests/minimum.txt",
        "docs/requirements.txt",
        "docs/pins.txt",
        "tests/compat/requirements.txt",
    )
    assert loaded.warnings == ()


def test_a_django_matrix_layout() -> None:
    loaded = load(FIXTURES / "layout-django-matrix" / "tox.ini", "tox.ini")
    ci = "--constraint ./constraints/ci.txt"  # [testenv]'s install_command
    test = [
        ("dj-database-url", "pyproject.toml", 35, ">=2.2", None),
        ("pytest", "pyproject.toml", 37, "==8.*", ci),
        ("pytest-cov", "pyproject.toml", 38, "==5.*", None),
        ("pytest-django", "pyproject.toml", 39, ">=4.9,<5", None),
    ]
    optional = [
        ("django-filter", "pyproject.toml", 49, None, ci),
        ("markdown", "pyproject.toml", 50, ">=3.6", ci),
        ("psycopg", "pyproject.toml", 51, ">=3.2", None),
        ("pyyaml", "pyproject.toml", 52, ">=6.0,<7", ci),
        ("legacy-cgi", "pyproject.toml", 53, None, None),
        ("uritemplate", "pyproject.toml", 54, ">=4.1", None),
    ]
    assert summary(loaded.declarations, "testenv:py311-dj50") == [
        ("django", "pyproject.toml", 57, ">=5.0,<5.1", None),
        *optional,
        *test,
    ]
    assert summary(loaded.declarations, "testenv:py313-djmain") == [
        ("django", "pyproject.toml", 59, None, None),  # a URL: no version to compare
        *optional,
        *test,
    ]
    assert summary(loaded.declarations, "testenv:dist") == [*optional, *test]
    assert summary(loaded.declarations, "testenv:no-optional") == test
    assert summary(loaded.declarations, "testenv:docs") == [
        ("mkdocs", "pyproject.toml", 43, "1.6.1", None),
        ("mkdocs-material", "pyproject.toml", 44, "9.5.39", None),
        ("mkdocstrings", "pyproject.toml", 45, ">=0.26", None),
    ]
    # min's own install_command drops CI's pins; constrain_package_deps pins the extra by its deps.
    assert summary(loaded.declarations, "testenv:min") == [
        ("djangorestframework", "tox.ini", 42, "3.15.1", None),
        ("django-filter", "tox.ini", 43, "23.5", None),
        ("django-filter", "pyproject.toml", 23, ">=23.5", "constrain_package_deps (its == pin in deps)"),
        ("django", "pyproject.toml", 56, ">=4.2,<5.0", None),
        *[(name, path, line, spec, None) for name, path, line, spec, _ in test],
    ]
    assert {d.groups for d in loaded.declarations if d.environment.endswith("[testenv:min]")} == {
        (),
        ("extra:filters",),
        ("django42",),
        ("test",),
    }
    assert loaded.included == ("constraints/ci.txt", "pyproject.toml")
    assert loaded.warnings == ()


def test_a_tox_toml_layout() -> None:
    loaded = load(FIXTURES / "layout-tox-toml" / "tox.toml", "tox.toml")
    color = [("colorama", "pyproject.toml", 25, ">=0.4.6", None), ("rich", "pyproject.toml", 25, ">=13.9", None)]
    test = [
        ("build", "pyproject.toml", 38, ">=1.2.2", None),
        ("covdefaults", "pyproject.toml", 39, ">=2.3", None),
        ("coverage", "pyproject.toml", 40, ">=7.6.4", None),
        ("pytest", "pyproject.toml", 41, ">=8.3.3", None),
        ("pytest-cov", "pyproject.toml", 42, ">=5", None),
        ("pytest-mock", "pyproject.toml", 43, ">=3.14", None),
        ("pytest-xdist", "pyproject.toml", 44, ">=3.6.1", None),
        ("setuptools", "pyproject.toml", 45, "<76,>=75.2", None),
        ("time-machine", "pyproject.toml", 46, ">=2.16", None),
    ]
    assert summary(loaded.declarations, "env.3.13t") == [*color, *test]
    # skip_install: env_run_base's extras are not installed, its groups are replaced.
    assert summary(loaded.declarations, "env.cov") == [
        ("covdefaults", "pyproject.toml", 61, ">=2.3", None),
        ("coverage", "pyproject.toml", 62, ">=7.6.4", None),
        ("diff-cover", "pyproject.toml", 63, ">=9.2", None),
    ]
    pinned = "--constraint ./constraints/type.txt"  # the `constraints` setting
    assert summary(loaded.declarations, "env.type") == [
        *color,
        ("pyyaml", "pyproject.toml", 26, ">=6.0.2", None),
        *test,  # `type` includes `test` and `release`
        ("mypy", "pyproject.toml", 49, ">=1.13", pinned),
        ("types-pyyaml", "pyproject.toml", 50, ">=6.0.12", pinned),
        ("gitpython", "pyproject.toml", 72, ">=3.1.43", None),
        ("packaging", "pyproject.toml", 73, ">=24.1", None),
        ("towncrier", "pyproject.toml", 74, ">=24.8", None),
    ]
    # `replace = "ref"` to another environment's deps: the lines are that environment's.
    assert summary(loaded.declarations, "env.bench") == [
        ("pyperf", "tox.toml", 132, ">=2.8", None),
        ("ipython", "tox.toml", 124, ">=8.28", None),
        ("pdbpp", "tox.toml", 124, ">=0.10.3", None),
        *color,
        *test,
    ]
    assert summary(loaded.declarations, "env.fix") == [("pre-commit", "pyproject.toml", 65, ">=4.0.1", None)]
    assert loaded.included == ("pyproject.toml", "constraints/type.txt")
    assert loaded.warnings == ()


def test_legacy_tox_ini_lines_are_pyproject_lines() -> None:
    loaded = load(FIXTURES / "pyproject-legacy" / "pyproject.toml", "pyproject.toml")
    assert summary(loaded.declarations, "testenv:py311-unit") == [
        ("pytest-randomly", "pyproject.toml", 20, "3.15.0", None),
        ("mock", "pyproject.toml", 22, ">=5", None),
        ("pytest", "pyproject.toml", 10, ">=8", None),
    ]
    assert loaded.declarations[0].environment == "pyproject.toml [tool.tox] legacy_tox_ini [testenv:py311-unit]"


def test_a_legacy_string_with_escaped_line_breaks_is_placed_at_its_key(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.tox]\nlegacy_tox_ini = "[testenv:e]\\ndeps = a==1\\n"\n')
    loaded = load(tmp_path / "pyproject.toml", "pyproject.toml")
    assert [(d.name, d.line) for d in loaded.declarations] == [("a", 2)]


def test_a_pyproject_without_tox_declares_nothing(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[project]\nname = "x"\nversion = "1"\n[tool.ruff]\nline-length = 100\n')
    assert load(tmp_path / "pyproject.toml", "pyproject.toml").declarations == ()


def read_ini(tmp_path: Path, text: str) -> dict[str, list[str]]:
    write(tmp_path / "tox.ini", text)
    return {e.name: [line for line, _ in e.deps] for e in environments(tmp_path / "tox.ini", "tox.ini").environments}


@pytest.mark.parametrize(
    "envlist, names",
    [
        ("py3{10-12}", ["py310", "py311", "py312"]),
        ("py3{12-10}", ["py312", "py311", "py310"]),
        ("{py311,py312}-django{42,50}", ["py311-django42", "py311-django50", "py312-django42", "py312-django50"]),
        ("a, b\n    c", ["a", "b", "c"]),
        ("py{311,312}-{cov,}", ["py311-cov", "py311-", "py312-cov", "py312-"]),
        ("py3.12, pypy3", ["py3.12", "pypy3"]),
    ],
)
def test_generative_environment_lists(tmp_path: Path, envlist: str, names: list[str]) -> None:
    assert list(read_ini(tmp_path, f"[tox]\nenvlist = {envlist}\n")) == names


def test_factor_conditions(tmp_path: Path) -> None:
    deps = read_ini(
        tmp_path,
        """
        [tox]
        envlist = py311-cov-django42, py312
        [testenv]
        deps =
            cov: a
            !cov: b
            py311,py312: c
            py3{11,12}: d
            cov-django42: e
            !py311-!cov: f
            py310: g
            py310: h \\
                continued
            i
        """,
    )
    assert deps == {
        "py311-cov-django42": ["a", "c", "d", "e", "i"],
        "py312": ["b", "c", "d", "f", "i"],
        # A condition on a factor no environment has defines an environment (tox 4 does so too).
        "py310": ["b", "f", "g", "h continued", "i"],
    }


def test_platform_conditions_are_read_as_holding(tmp_path: Path) -> None:
    write(tmp_path / "tox.ini", "[tox]\nenvlist = py312\n[testenv]\ndeps =\n    win32: pywin32\n    !linux: x\n    y\n")
    read = environments(tmp_path / "tox.ini", "tox.ini")
    assert [e.name for e in read.environments] == ["py312", "win32", "linux"]
    assert [line for line, _ in read.environments[0].deps] == ["pywin32", "x", "y"]
    assert [str(w) for w in read.warnings] == [
        "tox.ini:5: applies only on some platforms (win32); read as applying",
        "tox.ini:6: applies only on some platforms (!linux); read as applying",
    ]


def test_generative_sections_and_inheritance(tmp_path: Path) -> None:
    deps = read_ini(
        tmp_path,
        """
        [tox]
        envlist = py{311,312}-cov, other
        [testenv]
        deps = base
        [testenv:py{311,312}-cov]
        deps = {[testenv]deps}
            cov
        [testenv:other]
        base = py311-cov
        [testenv:empty]
        deps = nothing: x
        """,
    )
    # `empty`'s deps apply to no factor of it: tox reads them from [testenv] instead.
    assert deps == {
        "py311-cov": ["base", "cov"],
        "py312-cov": ["base", "cov"],
        "other": ["base", "cov"],  # its base is the generative section's
        "empty": ["base"],
        "nothing": ["base"],
    }


def test_substitution(tmp_path: Path) -> None:
    deps = read_ini(
        tmp_path,
        """
        [tox]
        envlist = e
        [a]
        x = {[b]y}-one
        [b]
        y = two
        [testenv]
        set_env =
            VERSION = 1.2
            SPEC = =={env:VERSION}
        deps =
            p{env:SPEC}
            q\\{not-a-reference\\}
            -r {toxinidir}{/}{envname}.txt
            {[a]x}
            {tty:on-tty:off-tty}
            {envsitepackagesdir}/x.whl
        """,
    )
    assert deps == {"e": ["p==1.2", "q{not-a-reference}", "-r ./e.txt", "two-one", "off-tty"]}
    warnings = [str(w) for w in environments(tmp_path / "tox.ini", "tox.ini").warnings]
    assert warnings == [
        "tox.ini:17: cannot resolve {envsitepackagesdir} statically; what this line installs is not checked"
    ]


@pytest.mark.parametrize(
    "text, line, message",
    [
        ("[testenv]\ndeps = a\n[testenv]\n", 3, "section [testenv] is already defined"),
        ("[testenv]\ndeps = a\ndeps = b\n", 3, "option 'deps' is already set in section [testenv]"),
        ("deps = a\n", 1, "does not start with a section header"),
        ("[testenv]\ndeps = a\nnot an option\n", 3, "neither a section header nor `key = value`"),
        ("[a]\nx = {[b]y}\n[b]\ny = {[a]x}\n[testenv]\ndeps = {[a]x}\n", 4, "substitution cycle: [a]x -> [b]y -> [a]x"),
        ("[testenv]\ndeps = {[testenv]deps}\n", 2, "substitution cycle: [testenv]deps -> [testenv]deps"),
        ("[testenv]\ndeps =\n    a\n    b{env:X\n", 4, "`{` is never closed"),
        (
            "[testenv]\nset_env =\n  A={env:B}\n  B={env:A}\ndeps = {env:A}\n",
            4,
            "set_env variables refer to each other in a cycle",
        ),
        ("[testenv]\nskip_install = maybe\n", 2, "`skip_install` is not a boolean"),
        ("[a]\nx = p\n  q\n[testenv]\ndeps = r{[a]x}\n", 5, "adds a line break"),
    ],
)
def test_malformed_ini(tmp_path: Path, text: str, line: int, message: str) -> None:
    write(tmp_path / "tox.ini", text)
    with pytest.raises(SourceError) as raised:
        environments(tmp_path / "tox.ini", "tox.ini")
    assert (raised.value.path, raised.value.line) == ("tox.ini", line)
    assert message in raised.value.message


@pytest.mark.parametrize(
    "text, line, message",
    [
        ('env_list = ["a"]\n[env.a]\ndeps = [\n  "x",\n  "y\n]\n', 5, "invalid TOML"),
        (
            '[env_run_base]\ndeps = [{ replace = "ref", of = ["env_run_base", "deps"], extend = true }]\n[env.a]\n',
            2,
            "substitution cycle: env_run_base.deps -> env_run_base.deps",
        ),
        ('[env.a]\ndeps = ["x{env:Y"]\n', 2, "`{` is never closed"),
        ('[env.a]\ndeps = [{ replace = "ref", of = ["nowhere"] }]\n', 2, "not in the file"),
        ('env_list = "a"\n', 1, "`env_list` is not an array"),
    ],
)
def test_malformed_toml(tmp_path: Path, text: str, line: int, message: str) -> None:
    write(tmp_path / "tox.toml", text)
    with pytest.raises(SourceError) as raised:
        environments(tmp_path / "tox.toml", "tox.toml")
    assert (raised.value.path, raised.value.line) == ("tox.toml", line)
    assert message in raised.value.message


def test_legacy_tox_ini_errors_name_pyproject_lines(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.tox]\nlegacy_tox_ini = """\n[testenv]\ndeps = a\ndeps = b\n"""\n')
    with pytest.raises(SourceError) as raised:
        environments(tmp_path / "pyproject.toml", "pyproject.toml")
    assert (raised.value.path, raised.value.line) == ("pyproject.toml", 5)


def test_install_command_constraints(tmp_path: Path) -> None:
    write(tmp_path / "c.txt", "a==1\n")
    write(
        tmp_path / "tox.ini",
        """
        [testenv:one]
        deps = a
        install_command = python -m pip install --constraint={toxinidir}/c.txt {opts} {packages}
        [testenv:two]
        deps = a
        install_command = env PIP_CONSTRAINT=c.txt uv pip install {packages}
        """,
    )
    loaded = load(tmp_path / "tox.ini", "tox.ini")
    assert [(d.environment, d.pinned_by) for d in loaded.declarations] == [
        ("tox.ini [testenv:one]", "--constraint ./c.txt"),
        ("tox.ini [testenv:two]", "--constraint c.txt"),
    ]
    write(tmp_path / "toml" / "c.txt", "a==1\n")
    write(
        tmp_path / "toml" / "tox.toml",
        '[env.one]\ndeps = ["a"]\ninstall_command = ["pip", "install", "-c", "{tox_root}/c.txt", "{packages}"]\n',
    )
    loaded = load(tmp_path / "toml" / "tox.toml", "toml/tox.toml")
    assert [d.pinned_by for d in loaded.declarations] == ["--constraint ./c.txt"]
    assert loaded.included == ("toml/c.txt",)


def test_extras_without_a_pyproject_are_a_warning(tmp_path: Path) -> None:
    write(tmp_path / "setup.py", "")
    write(tmp_path / "tox.ini", "[testenv:a]\nextras = test\ndeps = x\n")
    loaded = load(tmp_path / "tox.ini", "tox.ini")
    assert [d.name for d in loaded.declarations] == ["x"]
    assert [str(w) for w in loaded.warnings] == [
        "tox.ini:1: there is no pyproject.toml beside it to read extras and dependency groups from; not checked"
    ]


def test_unknown_extra_is_a_warning(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        '[project]\nname = "p"\nversion = "1"\n[project.optional-dependencies]\nt = ["x"]\n',
    )
    write(tmp_path / "tox.ini", "[testenv:a]\nextras = t, missing\n")
    loaded = load(tmp_path / "tox.ini", "tox.ini")
    assert [(d.name, d.path, d.line) for d in loaded.declarations] == [("x", "pyproject.toml", 5)]
    assert [str(w) for w in loaded.warnings] == [
        "tox.ini:1: tox.ini [testenv:a]: extra 'missing' is not in pyproject.toml"
    ]


def test_reading_is_deterministic_and_linear(tmp_path: Path) -> None:
    factors = ",".join(f"f{n}" for n in range(40))
    deps = "\n".join(f"    f{n}: package-{n}=={n}.0" for n in range(40))
    common = "\n".join(f"    common-{n}>={n}" for n in range(40))
    write(tmp_path / "tox.ini", f"[tox]\nenvlist = py3{{10-14}}-{{{factors}}}\n[testenv]\ndeps =\n{deps}\n{common}\n")
    started = time.perf_counter()
    loaded = load(tmp_path / "tox.ini", "tox.ini")
    elapsed = time.perf_counter() - started
    assert len({d.environment for d in loaded.declarations}) == 200
    assert len(loaded.declarations) == 200 * 41
    assert load(tmp_path / "tox.ini", "tox.ini") == loaded
    assert elapsed < 3.0


@pytest.mark.parametrize(
    "other, text",
    [
        ("tox.ini", "[testenv:a]\ndeps = x\n"),
        ("setup.cfg", "[metadata]\nname = p\n[tox:tox]\nenvlist = a\n"),
    ],
)
def test_a_configuration_tox_does_not_read_declares_nothing(tmp_path: Path, other: str, text: str) -> None:
    write(tmp_path / other, text)
    write(tmp_path / "pyproject.toml", '[tool.tox]\nenv_list = ["a"]\n[tool.tox.env.a]\ndeps = ["y"]\n')
    write(tmp_path / "tox.toml", '[env.a]\ndeps = ["z"]\n')
    for name in ("pyproject.toml", "tox.toml"):
        loaded = load(tmp_path / name, name)
        assert loaded.declarations == ()
        assert [str(w) for w in loaded.warnings] == [
            f"{name}:1: tox reads its configuration from {other} beside it, not from this file; not read"
        ]


def test_tox_toml_gives_way_to_pyprojects_tox_table(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        '[project]\nname = "p"\nversion = "1"\n[tool.tox]\nlegacy_tox_ini = "[testenv:a]"\n',
    )
    write(tmp_path / "tox.toml", '[env.a]\ndeps = ["z"]\n')
    assert load(tmp_path / "tox.toml", "tox.toml").included == ("pyproject.toml",)
    write(tmp_path / "pyproject.toml", '[project]\nname = "p"\nversion = "1"\n')
    assert [d.name for d in load(tmp_path / "tox.toml", "tox.toml").declarations] == ["z"]


def test_a_deps_string_in_toml_is_a_requirements_text(tmp_path: Path) -> None:
    write(tmp_path / "tox.toml", '[env.a]\ndeps = """\nx==1\ny>=2\n"""\n')
    assert [e.deps for e in environments(tmp_path / "tox.toml", "tox.toml").environments] == [
        (("x==1", 2), ("y>=2", 2))
    ]


def test_extras_are_pinned_by_what_pins_the_environments_installs(tmp_path: Path) -> None:
    write(tmp_path / "c.txt", "x==1.5\n")
    write(
        tmp_path / "pyproject.toml",
        '[project]\nname = "p"\nversion = "1"\n[project.optional-dependencies]\nt = ["x>=1", "y"]\n',
    )
    write(
        tmp_path / "tox.ini",
        """
        [testenv:env]
        extras = t
        set_env = PIP_CONSTRAINT = {toxinidir}/c.txt
        [testenv:command]
        extras = t
        install_command = pip install -c c.txt {packages}
        [testenv:free]
        extras = t
        """,
    )
    loaded = load(tmp_path / "tox.ini", "tox.ini")
    assert [(d.environment, d.name, d.pinned_by) for d in loaded.declarations] == [
        ("tox.ini [testenv:env]", "x", "PIP_CONSTRAINT"),
        ("tox.ini [testenv:env]", "y", None),
        ("tox.ini [testenv:command]", "x", "--constraint c.txt"),
        ("tox.ini [testenv:command]", "y", None),
        ("tox.ini [testenv:free]", "x", None),
        ("tox.ini [testenv:free]", "y", None),
    ]
