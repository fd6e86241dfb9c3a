from __future__ import annotations

from pathlib import Path

import pytest

from envguard.errors import SourceError
from envguard.pytest_config import ConftestPlugin, PluginArg, PytestConfig, RequiredPlugin, read_pytest_config


def write(directory: Path, name: str, text: str) -> None:
    (directory / name).write_text(text, encoding="utf-8")


def read(directory: Path, shown: str = "svc") -> PytestConfig:
    return read_pytest_config(directory, shown)


def args(config: PytestConfig) -> list[tuple[str, bool, str, int | None]]:
    return [(a.name, a.disabled, a.path, a.line) for a in config.plugin_args]


def error(directory: Path) -> str:
    with pytest.raises(SourceError) as caught:
        read(directory)
    return str(caught.value)


# --- which file is the config -------------------------------------------------------------------


def test_a_directory_without_config_has_an_empty_config(tmp_path: Path) -> None:
    assert read(tmp_path) == PytestConfig()


@pytest.mark.parametrize(
    ("name", "text", "section", "line"),
    [
        ("pytest.ini", "[pytest]\naddopts = -p xdist\n", "[pytest]", 2),
        (".pytest.ini", "[pytest]\naddopts = -p xdist\n", "[pytest]", 2),
        ("pytest.toml", '[pytest]\naddopts = ["-p", "xdist"]\n', "[pytest]", 2),
        (".pytest.toml", '[pytest]\naddopts = ["-p", "xdist"]\n', "[pytest]", 2),
        ("pyproject.toml", '[tool.pytest.ini_options]\naddopts = "-p xdist"\n', "[tool.pytest.ini_options]", 2),
        ("pyproject.toml", '[tool.pytest.ini_options]\naddopts = ["-p", "xdist"]\n', "[tool.pytest.ini_options]", 2),
        ("pyproject.toml", '[tool.pytest]\naddopts = ["-p", "xdist"]\n', "[tool.pytest]", 2),
        ("tox.ini", "[tox]\nenvlist = py311\n\n[pytest]\naddopts = -p xdist\n", "[pytest]", 5),
        ("setup.cfg", "[metadata]\nname = x\n[tool:pytest]\naddopts = -p xdist\n", "[tool:pytest]", 4),
    ],
)
def test_p_is_read_from_every_config_file_kind(
    tmp_path: Path, name: str, text: str, section: str, line: int
) -> None:
    write(tmp_path, name, text)
    config = read(tmp_path)
    assert (config.path, config.section) == (f"svc/{name}", section)
    assert config.addopts == ("-p", "xdist")
    assert args(config) == [("xdist", False, f"svc/{name}", line)]


def test_pytest_ini_is_the_config_even_without_a_pytest_section(tmp_path: Path) -> None:
    write(tmp_path, "pytest.ini", "[other]\nkey = value\n")
    write(tmp_path, "pyproject.toml", '[tool.pytest.ini_options]\naddopts = "-p xdist"\n')
    config = read(tmp_path)
    assert (config.path, config.section, config.plugin_args) == ("svc/pytest.ini", None, ())


def test_pytest_toml_comes_before_pytest_ini(tmp_path: Path) -> None:
    write(tmp_path, "pytest.toml", '[pytest]\naddopts = ["-p", "randomly"]\n')
    write(tmp_path, "pytest.ini", "[pytest]\naddopts = -p xdist\n")
    assert [a.name for a in read(tmp_path).plugin_args] == ["randomly"]


def test_files_without_a_pytest_section_are_passed_over(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[project]\nname = "svc"\n')
    write(tmp_path, "tox.ini", "[tox]\nenvlist = py311\n")
    write(tmp_path, "setup.cfg", "[tool:pytest]\naddopts = -p no:cacheprovider\n")
    config = read(tmp_path)
    assert config.path == "svc/setup.cfg"
    assert args(config) == [("cacheprovider", True, "svc/setup.cfg", 2)]


def test_the_first_config_wins_and_later_files_are_not_merged(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[tool.pytest.ini_options]\naddopts = "-p xdist"\n')
    write(tmp_path, "tox.ini", "[pytest]\naddopts = -p randomly\n")
    assert [a.name for a in read(tmp_path).plugin_args] == ["xdist"]


def test_an_empty_tool_pytest_table_is_not_a_config(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", "[tool.pytest]\n")
    write(tmp_path, "tox.ini", "[pytest]\naddopts = -p randomly\n")
    assert read(tmp_path).path == "svc/tox.ini"


def test_an_empty_ini_options_table_is_the_config(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", "[tool.pytest.ini_options]\n")
    write(tmp_path, "tox.ini", "[pytest]\naddopts = -p randomly\n")
    assert (read(tmp_path).path, read(tmp_path).plugin_args) == ("svc/pyproject.toml", ())


@pytest.mark.parametrize(("shown", "expected"), [(".", "pytest.ini"), ("", "pytest.ini"), ("a/b", "a/b/pytest.ini")])
def test_paths_are_joined_to_the_shown_directory(tmp_path: Path, shown: str, expected: str) -> None:
    write(tmp_path, "pytest.ini", "[pytest]\naddopts = -p xdist\n")
    assert read(tmp_path, shown).plugin_args[0].path == expected


# --- addopts ------------------------------------------------------------------------------------


def test_p_forms_and_lines_in_a_multi_line_ini_value(tmp_path: Path) -> None:
    write(
        tmp_path,
        "tox.ini",
        "[pytest]\n"
        "# a comment\n"
        "addopts =\n"  # 3
        "    -ra --strict-markers\n"  # 4
        "    # a comment line inside the value\n"  # 5
        "    -p xdist -pno:randomly\n"  # 6
        "\n"  # 7
        "    -p 'no:cacheprovider' -p\n"  # 8
        "    anyio\n"  # 9
        "    -pfaker\n"  # 10
        "markers = slow\n",
    )
    assert args(read(tmp_path)) == [
        ("xdist", False, "svc/tox.ini", 6),
        ("randomly", True, "svc/tox.ini", 6),
        ("cacheprovider", True, "svc/tox.ini", 8),
        ("anyio", False, "svc/tox.ini", 8),
        ("faker", False, "svc/tox.ini", 10),
    ]


def test_lines_of_a_multi_line_toml_string_and_list(tmp_path: Path) -> None:
    write(
        tmp_path,
        "pyproject.toml",
        '[project]\nname = "svc"\n\n'
        "[tool.pytest.ini_options]\n"  # 4
        'addopts = """\n'  # 5
        "  -ra\n"  # 6
        '  -p no:randomly"""\n'  # 7
        "required_plugins = [\n"  # 8
        '  "pytest-xdist>=3",\n'  # 9
        "  'pytest_cov',\n"  # 10
        "]\n",
    )
    config = read(tmp_path)
    assert args(config) == [("randomly", True, "svc/pyproject.toml", 7)]
    assert [(r.requirement, r.line) for r in config.required_plugins] == [("pytest-xdist>=3", 9), ("pytest_cov", 10)]


def test_toml_list_items_are_not_split(tmp_path: Path) -> None:
    # pytest takes list items as single arguments; "-p xdist" still works, as the -pNAME form.
    write(tmp_path, "pyproject.toml", '[tool.pytest.ini_options]\naddopts = ["-p xdist", "-pno:anyio", "-k", "-p x"]\n')
    config = read(tmp_path)
    assert config.addopts == ("-p xdist", "-pno:anyio", "-k", "-p x")
    assert [(a.name, a.disabled) for a in config.plugin_args] == [("xdist", False), ("anyio", True), ("x", False)]


def test_percent_signs_are_not_interpolated(tmp_path: Path) -> None:
    write(tmp_path, "pytest.ini", "[pytest]\naddopts = --cov-report=term:%(missing)s -p xdist\n")
    assert read(tmp_path).addopts == ("--cov-report=term:%(missing)s", "-p", "xdist")


def test_keys_are_case_sensitive_like_pytest(tmp_path: Path) -> None:
    write(tmp_path, "pytest.ini", "[pytest]\nAddopts = -p xdist\n")
    assert read(tmp_path).plugin_args == ()


def test_a_default_section_is_not_merged_into_pytest(tmp_path: Path) -> None:
    write(tmp_path, "tox.ini", "[DEFAULT]\naddopts = -p xdist\n[pytest]\nmarkers = slow\n")
    assert read(tmp_path).plugin_args == ()


def test_a_trailing_p_without_a_name_is_a_warning(tmp_path: Path) -> None:
    write(tmp_path, "pytest.ini", "[pytest]\naddopts = -ra -p\n")
    config = read(tmp_path)
    assert config.plugin_args == ()
    assert [str(w) for w in config.warnings] == ["svc/pytest.ini:2: addopts ends with -p and no plugin name"]


def test_p_no_without_a_name_is_a_warning(tmp_path: Path) -> None:
    write(tmp_path, "pytest.ini", "[pytest]\naddopts = -p no:\n")
    config = read(tmp_path)
    assert config.plugin_args == ()
    assert [str(w) for w in config.warnings] == ["svc/pytest.ini:2: addopts has -p 'no:' without a plugin name"]


def test_plugin_arg_option_text() -> None:
    assert PluginArg("randomly", True, "p", 1).option == "-p no:randomly"
    assert PluginArg("xdist", False, "p", 1).option == "-p xdist"


# --- required_plugins ---------------------------------------------------------------------------


def test_required_plugins_keep_the_raw_name(tmp_path: Path) -> None:
    write(tmp_path, "pytest.ini", "[pytest]\nrequired_plugins = pytest-xdist>=3 pytest_cov Acme-Bar>=1.0,<2\n")
    assert read(tmp_path).required_plugins == (
        RequiredPlugin("pytest-xdist>=3", "pytest-xdist", ">=3", "svc/pytest.ini", 2),
        RequiredPlugin("pytest_cov", "pytest_cov", "", "svc/pytest.ini", 2),
        RequiredPlugin("Acme-Bar>=1.0,<2", "Acme-Bar", "<2,>=1.0", "svc/pytest.ini", 2),
    )


def test_required_plugins_in_native_toml(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[tool.pytest]\nrequired_plugins = ["pytest-django>=4"]\n')
    (required,) = read(tmp_path).required_plugins
    assert (required.name, required.specifier, required.line) == ("pytest-django", ">=4", 2)


def test_an_invalid_requirement_is_kept_with_a_warning(tmp_path: Path) -> None:
    write(tmp_path, "setup.cfg", "[tool:pytest]\nrequired_plugins = pytest-xdist>>3\n")
    config = read(tmp_path)
    assert config.required_plugins == (RequiredPlugin("pytest-xdist>>3", None, "", "svc/setup.cfg", 2),)
    assert [str(w) for w in config.warnings] == [
        "svc/setup.cfg:2: required_plugins entry 'pytest-xdist>>3' is not a valid requirement"
    ]


# --- conftest.py --------------------------------------------------------------------------------


def test_conftest_pytest_plugins_forms(tmp_path: Path) -> None:
    write(
        tmp_path,
        "conftest.py",
        "import os\n"
        'pytest_plugins = ["celery.contrib.pytest",\n'  # 2
        '    "tests.fixtures"]\n'  # 3
        'if os.environ.get("CI"):\n'
        '    pytest_plugins += ("pytester",)\n'  # 5
        "try:\n"
        '    pytest_plugins = "a, b," + "c"\n'  # 7
        "except ImportError:\n"
        "    pytest_plugins: list[str] = []\n"
        "def helper():\n"
        '    pytest_plugins = ["never.read"]\n'
        "class Holder:\n"
        '    pytest_plugins = ["never.read"]\n',
    )
    assert read(tmp_path).conftest_plugins == (
        ConftestPlugin("celery.contrib.pytest", "svc/conftest.py", 2),
        ConftestPlugin("tests.fixtures", "svc/conftest.py", 3),
        ConftestPlugin("pytester", "svc/conftest.py", 5),
        ConftestPlugin("a", "svc/conftest.py", 7),
        ConftestPlugin("b", "svc/conftest.py", 7),
        ConftestPlugin("c", "svc/conftest.py", 7),
    )


def test_conftest_string_concatenation_is_not_split_early(tmp_path: Path) -> None:
    write(tmp_path, "conftest.py", 'pytest_plugins = "pytest_" + "django.fixtures"\n')
    assert [p.module for p in read(tmp_path).conftest_plugins] == ["pytest_django.fixtures"]


def test_conftest_is_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "EXECUTED"
    write(
        tmp_path,
        "conftest.py",
        f"open({str(marker)!r}, 'w').write('ran')\n"
        "import sys; sys.exit(3)\n"
        'pytest_plugins = "pytest_django.fixtures"\n',
    )
    assert [p.module for p in read(tmp_path).conftest_plugins] == ["pytest_django.fixtures"]
    assert not marker.exists()


def test_non_literal_pytest_plugins_is_a_warning(tmp_path: Path) -> None:
    write(tmp_path, "conftest.py", 'NAME = "x"\npytest_plugins = [NAME, "literal"]\npytest_plugins = load()\n')
    config = read(tmp_path)
    assert [p.module for p in config.conftest_plugins] == ["literal"]
    message = "pytest_plugins entry is not a string literal; envguard cannot read it without running conftest.py"
    assert [str(w) for w in config.warnings] == [f"svc/conftest.py:2: {message}", f"svc/conftest.py:3: {message}"]


def test_conftest_in_a_subdirectory_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    write(tmp_path / "tests", "conftest.py", 'pytest_plugins = ["x"]\n')
    assert read(tmp_path).conftest_plugins == ()


def test_a_conftest_syntax_error_is_a_clean_error(tmp_path: Path) -> None:
    write(tmp_path, "conftest.py", "import os\npytest_plugins = [\n")
    assert error(tmp_path) == "svc/conftest.py:2: invalid Python: '[' was never closed"


# --- malformed files ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("tox.ini", "[pytest]\naddopts = -ra\nthis is not a key\n", "svc/tox.ini:3: invalid INI: expected 'key = value', got 'this is not a key'"),
        ("pytest.ini", "addopts = -ra\n[pytest]\n", "svc/pytest.ini:1: invalid INI: text before the first [section] header"),
        ("pytest.ini", "[pytest]\naddopts = -ra\naddopts = -q\n", "svc/pytest.ini:3: invalid INI: duplicate key 'addopts' in [pytest]"),
        ("setup.cfg", "[tool:pytest]\n[tool:pytest]\n", "svc/setup.cfg:2: invalid INI: duplicate section [tool:pytest]"),
        (
            "setup.cfg",
            "[metadata]\nname = x\n[pytest]\naddopts = -ra\n",
            "svc/setup.cfg:3: [pytest] section in setup.cfg files is no longer supported, change to [tool:pytest] instead",
        ),
        ("pytest.ini", "[pytest]\naddopts = -k 'unclosed\n", "svc/pytest.ini:2: cannot split addopts: no closing quotation"),
        (
            "pyproject.toml",
            '[tool.pytest]\naddopts = "-p xdist"\n',
            "svc/pyproject.toml:2: addopts in [tool.pytest] must be a list of strings",
        ),
        (
            "pyproject.toml",
            "[tool.pytest.ini_options]\naddopts = [1]\n",
            "svc/pyproject.toml:2: addopts in [tool.pytest.ini_options] must be a list of strings",
        ),
        (
            "pyproject.toml",
            '[tool.pytest]\nminversion = "9"\n[tool.pytest.ini_options]\naddopts = "-ra"\n',
            "svc/pyproject.toml:3: cannot use both [tool.pytest] (native TOML) and [tool.pytest.ini_options] in one file",
        ),
        ("pyproject.toml", "[tool.pytest.ini_options\n", "svc/pyproject.toml:1: invalid TOML: Expected ']' at the end of a table declaration"),
        (
            "pytest.toml",
            'addopts = ["-ra"]\n',
            "svc/pytest.toml:1: pytest configuration must be under a [pytest] table (found top-level: addopts)",
        ),
    ],
)
def test_malformed_config_is_a_clean_one_line_error(tmp_path: Path, name: str, text: str, message: str) -> None:
    write(tmp_path, name, text)
    assert error(tmp_path) == message


def test_a_malformed_file_after_the_config_is_not_read(tmp_path: Path) -> None:
    write(tmp_path, "pytest.ini", "[pytest]\naddopts = -p xdist\n")
    write(tmp_path, "setup.cfg", "not ini at all\n")
    assert read(tmp_path).path == "svc/pytest.ini"
