"""A service's pytest configuration, read statically: which plugins it loads, blocks or requires.

Nothing is imported or executed. Ini files go through configparser, TOML files through
tomllib, and the root conftest.py through `ast`, so a conftest with side effects is harmless.

Which file counts mirrors pytest 9 (`_pytest/config/findpaths.py`): the candidates below are
tried in order and the first one that holds pytest configuration is THE config file; later
files are never merged in. `pytest.toml`, `.pytest.toml`, `pytest.ini` and `.pytest.ini` are
the config file even without a pytest section. Unlike pytest, only the service directory itself
is searched (not its parents): envguard assumes CI runs pytest from the service directory.
"""

from __future__ import annotations

import ast
import configparser
import io
import json
import re
import shlex
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from envguard._record import record
from envguard.errors import SourceError
from envguard.model import Diagnostic
from envguard.sources._text import read_text
from envguard.sources._toml import parse_toml


@record(frozen=True)
class PluginArg:
    """One `-p NAME` / `-pNAME` / `-p no:NAME` from addopts; NAME is an entry-point or module name."""

    name: str
    disabled: bool
    path: str
    line: int | None

    @property
    def option(self) -> str:
        return f"-p no:{self.name}" if self.disabled else f"-p {self.name}"


@record(frozen=True)
class RequiredPlugin:
    """One `required_plugins` entry."""

    requirement: str  # as written
    # The raw distribution name: pytest compares it to the `Name:` metadata without PEP 503
    # normalisation, so `pytest_foo` and `pytest-foo` are different to it. None if unparseable.
    name: str | None
    specifier: str
    path: str
    line: int | None


@record(frozen=True)
class ConftestPlugin:
    """One entry of `pytest_plugins` in the root conftest.py (a module or, from pytest 9.2, an entry-point name)."""

    module: str
    path: str
    line: int | None


@record(frozen=True)
class PytestConfig:
    path: str | None = None  # the config file pytest would select; None if there is none
    section: str | None = None  # e.g. "[tool.pytest.ini_options]"; None for a section-less pytest.ini
    addopts: tuple[str, ...] = ()
    plugin_args: tuple[PluginArg, ...] = ()
    required_plugins: tuple[RequiredPlugin, ...] = ()
    conftest_plugins: tuple[ConftestPlugin, ...] = ()
    warnings: tuple[Diagnostic, ...] = ()


# A value with the 1-based line it was written on (None where the file gives no clue).
_Token = tuple[str, int | None]


@record(frozen=True)
class _Found:
    section: str | None
    addopts: tuple[_Token, ...] = ()
    required: tuple[_Token, ...] = ()


_Loader = Callable[[str, str], _Found | None]


def read_pytest_config(directory: Path, shown_dir: str) -> PytestConfig:
    """Read the config file pytest would use in `directory`, plus the root conftest's `pytest_plugins`.

    `shown_dir` is how `directory` appears in messages; every recorded path is joined to it.
    Raises SourceError for files pytest itself would refuse.
    """
    found: _Found | None = None
    shown_config: str | None = None
    for name, loader in _CANDIDATES:
        candidate = directory / name
        if not candidate.is_file():
            continue
        shown = _join(shown_dir, name)
        found = loader(read_text(candidate, shown), shown)
        if found is not None:
            shown_config = shown
            break

    warnings: list[Diagnostic] = []
    plugin_args: tuple[PluginArg, ...] = ()
    required: tuple[RequiredPlugin, ...] = ()
    if found is not None and shown_config is not None:
        plugin_args = _plugin_args(found.addopts, shown_config, warnings)
        required = _required_plugins(found.required, shown_config, warnings)

    conftest = directory / "conftest.py"
    conftest_plugins: tuple[ConftestPlugin, ...] = ()
    if conftest.is_file():
        shown = _join(shown_dir, "conftest.py")
        conftest_plugins = _conftest_plugins(read_text(conftest, shown), shown, warnings)

    return PytestConfig(
        path=shown_config,
        section=found.section if found is not None else None,
        addopts=tuple(value for value, _ in found.addopts) if found is not None else (),
        plugin_args=plugin_args,
        required_plugins=required,
        conftest_plugins=conftest_plugins,
        warnings=tuple(warnings),
    )


def config_files(directory: Path) -> list[Path]:
    """Every file `read_pytest_config(directory, ...)` may read."""
    return [directory / name for name, _ in _CANDIDATES] + [directory / "conftest.py"]


def _join(shown_dir: str, name: str) -> str:
    return (PurePosixPath(shown_dir) / name).as_posix()


# ---------------------------------------------------------------------------------------------
# Options -> plugin arguments


def _plugin_args(tokens: tuple[_Token, ...], shown: str, warnings: list[Diagnostic]) -> tuple[PluginArg, ...]:
    """Mirror pytest's `consider_preparse`: `-p NAME`, `-pNAME`, with `no:` meaning "block"."""
    result: list[PluginArg] = []
    index = 0
    while index < len(tokens):
        option, line = tokens[index]
        index += 1
        if option == "-p":
            if index >= len(tokens):
                warnings.append(Diagnostic(shown, line, "addopts ends with -p and no plugin name"))
                break
            value = tokens[index][0]
            index += 1
        elif option.startswith("-p"):
            value = option[2:]
        else:
            continue
        value = value.strip()
        disabled = value.startswith("no:")
        name = value[3:] if disabled else value
        if not name:
            warnings.append(Diagnostic(shown, line, f"addopts has -p {value!r} without a plugin name"))
            continue
        result.append(PluginArg(name, disabled, shown, line))
    return tuple(result)


def _required_plugins(
    tokens: tuple[_Token, ...], shown: str, warnings: list[Diagnostic]
) -> tuple[RequiredPlugin, ...]:
    if not tokens:
        return ()
    # Imported here: packaging.requirements costs ~4 ms at start, and few projects set required_plugins.
    from packaging.requirements import InvalidRequirement, Requirement

    result: list[RequiredPlugin] = []
    for requirement, line in tokens:
        try:
            parsed = Requirement(requirement)
        except InvalidRequirement:
            # pytest does not reject it either: it reports the entry as a missing plugin at run time.
            warnings.append(
                Diagnostic(shown, line, f"required_plugins entry {requirement!r} is not a valid requirement")
            )
            result.append(RequiredPlugin(requirement, None, "", shown, line))
            continue
        result.append(RequiredPlugin(requirement, parsed.name, str(parsed.specifier), shown, line))
    return tuple(result)


def _split_args(value: str, shown: str, key: str, line_of: Callable[[int], int | None]) -> tuple[_Token, ...]:
    """shlex-split `value` as pytest does; `line_of` maps a 0-based line of `value` to a file line."""
    stream = io.StringIO(value)
    lexer = shlex.shlex(stream, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    tokens: list[_Token] = []
    try:
        while (token := lexer.get_token()) is not None:
            # The lexer has consumed the token and at most one delimiter after it, and that
            # delimiter belongs to the token's line, so the token ends on this value line.
            end = max(stream.tell() - 1, 0)
            tokens.append((token, line_of(value.count("\n", 0, end))))
    except ValueError as exc:
        raise SourceError(shown, line_of(0), f"cannot split {key}: {str(exc).lower()}") from None
    return tuple(tokens)


# ---------------------------------------------------------------------------------------------
# Ini files (pytest.ini, .pytest.ini, tox.ini, setup.cfg)

_SECTION_LINE = re.compile(r"\[(?P<header>.+)\]")  # configparser's SECTCRE
_OPTION_LINE = re.compile(r"(?P<option>.*?)\s*[=:]")


def _parse_ini(text: str, shown: str) -> configparser.ConfigParser:
    # No interpolation (`%` is common in addopts), no DEFAULT section merging (NUL cannot occur
    # in a decoded file), and case-sensitive keys: pytest's own ini parser keeps the case.
    parser = configparser.ConfigParser(interpolation=None, default_section="\x00", strict=True)
    parser.optionxform = str  # type: ignore[assignment, method-assign]
    try:
        parser.read_string(text, source=shown)
    except configparser.MissingSectionHeaderError as exc:
        raise SourceError(shown, exc.lineno, "invalid INI: text before the first [section] header") from None
    except configparser.DuplicateSectionError as exc:
        raise SourceError(shown, exc.lineno, f"invalid INI: duplicate section [{exc.section}]") from None
    except configparser.DuplicateOptionError as exc:
        raise SourceError(
            shown, exc.lineno, f"invalid INI: duplicate key {exc.option!r} in [{exc.section}]"
        ) from None
    except configparser.ParsingError as exc:
        line = _first_error_line(exc)
        content = repr(text.split("\n")[line - 1].strip()) if line is not None else "an unreadable line"
        raise SourceError(shown, line, f"invalid INI: expected 'key = value', got {content}") from None
    except configparser.Error as exc:
        raise SourceError(shown, None, f"invalid INI: {exc.message.splitlines()[0]}") from None
    return parser


def _first_error_line(exc: configparser.ParsingError) -> int | None:
    errors: list[Any] = list(exc.errors)
    # Python < 3.13 stores (lineno, repr(line)) pairs; later versions may store exceptions.
    first = errors[0] if errors else None
    line = first[0] if isinstance(first, tuple) and first else getattr(first, "lineno", None)
    return line if isinstance(line, int) else None


def _ini_section(text: str, shown: str, section: str) -> _Found | None:
    parser = _parse_ini(text, shown)
    if not parser.has_section(section):
        return None
    return _ini_found(parser, text, shown, section)


def _ini_found(parser: configparser.ConfigParser, text: str, shown: str, section: str) -> _Found:
    lines = text.split("\n")

    def values(key: str) -> tuple[_Token, ...]:
        if not parser.has_option(section, key):
            return ()
        located = _ini_value_lines(lines, section, key)

        def line_of(index: int) -> int | None:
            if index < len(located):
                return located[index]
            return located[0] if located else None

        return _split_args(parser.get(section, key), shown, key, line_of)

    return _Found(f"[{section}]", values("addopts"), values("required_plugins"))


def _ini_value_lines(lines: list[str], section: str, key: str) -> list[int]:
    """File lines of each line of configparser's value for `key` (configparser keeps no positions).

    configparser drops full-line comments from a multi-line value and keeps blank lines, so
    the n-th value line is the n-th non-comment line of the key's continuation block.
    """
    inside = False
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;" or line[:1].isspace():
            continue
        header = _SECTION_LINE.match(stripped)
        if header:
            inside = header.group("header") == section
            continue
        option = _OPTION_LINE.match(stripped)
        if inside and option and option.group("option") == key:
            return [index + 1, *_continuation_lines(lines, index)]
    return []


def _continuation_lines(lines: list[str], key_index: int) -> Iterator[int]:
    for index in range(key_index + 1, len(lines)):
        line = lines[index]
        stripped = line.strip()
        if not stripped:
            yield index + 1
        elif stripped[0] in "#;":
            continue
        elif line[:1].isspace():
            yield index + 1
        else:
            return


def _load_pytest_ini(text: str, shown: str) -> _Found:
    # pytest.ini is the config file even when it has no [pytest] section.
    return _ini_section(text, shown, "pytest") or _Found(None)


def _load_tox_ini(text: str, shown: str) -> _Found | None:
    return _ini_section(text, shown, "pytest")


def _load_setup_cfg(text: str, shown: str) -> _Found | None:
    parser = _parse_ini(text, shown)
    if parser.has_section("tool:pytest"):
        return _ini_found(parser, text, shown, "tool:pytest")
    if parser.has_section("pytest"):
        # pytest stops with this error rather than skipping the file (pytest#3086).
        raise SourceError(
            shown,
            _header_line(text.split("\n"), "pytest"),
            "[pytest] section in setup.cfg files is no longer supported, change to [tool:pytest] instead",
        )
    return None


def _header_line(lines: list[str], section: str) -> int | None:
    for index, line in enumerate(lines):
        header = _SECTION_LINE.match(line.strip())
        if header and header.group("header") == section:
            return index + 1
    return None


# ---------------------------------------------------------------------------------------------
# TOML files (pytest.toml, .pytest.toml, pyproject.toml)

_TABLE_HEADER = re.compile(r"""\s*\[\[?\s*[\w"']""")


def _load_pytest_toml(text: str, shown: str) -> _Found:
    data = parse_toml(text, shown)
    table = data.get("pytest")
    if table is None:
        loose = sorted(key for key, value in data.items() if not isinstance(value, dict))
        if loose:
            # pytest refuses these too: options outside the table are the usual mistake.
            message = f"pytest configuration must be under a [pytest] table (found top-level: {', '.join(loose)})"
            raise SourceError(shown, None, message)
        return _Found(None)  # pytest.toml is the config file even without a [pytest] table
    return _toml_found(text, shown, ("pytest",), table, native=True)


def _load_pyproject(text: str, shown: str) -> _Found | None:
    data = parse_toml(text, shown)
    tool = data.get("tool")
    table = tool.get("pytest") if isinstance(tool, dict) else None
    if table is None:
        return None
    if not isinstance(table, dict):
        raise SourceError(shown, None, "[tool.pytest] must be a table")
    native = {key: value for key, value in table.items() if key != "ini_options"}
    ini = table.get("ini_options")
    if native and ini is not None:
        raise SourceError(
            shown,
            _toml_header_line(text.split("\n"), ("tool", "pytest", "ini_options")),
            "cannot use both [tool.pytest] (native TOML) and [tool.pytest.ini_options] in one file",
        )
    if native:
        return _toml_found(text, shown, ("tool", "pytest"), native, native=True)
    if ini is None:
        return None  # only an empty [tool.pytest] table: pytest looks further
    if not isinstance(ini, dict):
        raise SourceError(shown, None, "[tool.pytest.ini_options] must be a table")
    return _toml_found(text, shown, ("tool", "pytest", "ini_options"), ini, native=False)


def _toml_found(text: str, shown: str, table: tuple[str, ...], values: Any, native: bool) -> _Found:
    section = "[" + ".".join(table) + "]"
    if not isinstance(values, dict):
        raise SourceError(shown, None, f"{section} must be a table")
    lines = text.split("\n")
    header = _toml_header_line(lines, table)

    def read(key: str) -> tuple[_Token, ...]:
        if key not in values:
            return ()
        line = _toml_key_line(lines, header, key) if header is not None else None
        return _toml_args(values[key], lines, shown, section, key, line or header, native)

    return _Found(section, read("addopts"), read("required_plugins"))


def _toml_args(
    value: Any, lines: list[str], shown: str, section: str, key: str, line: int | None, native: bool
) -> tuple[_Token, ...]:
    """pytest's "args" type: a list is taken as is, a string is shlex-split (ini mode only)."""
    if isinstance(value, list):
        if not all(isinstance(item, str) for item in value):
            raise SourceError(shown, line, f"{key} in {section} must be a list of strings")
        return _toml_list_lines(value, lines, line)
    if native:
        # pytest 9 rejects anything but a list in native TOML mode.
        raise SourceError(shown, line, f"{key} in {section} must be a list of strings")
    if isinstance(value, dict):
        raise SourceError(shown, line, f"{key} in {section} must be a string or a list of strings")
    text = value if isinstance(value, str) else str(value)  # pytest's ini mode stringifies scalars
    # tomllib drops the newline right after an opening triple quote.
    skip = 1 if line is not None and re.search(r"=\s*(\"\"\"|''')\s*$", lines[line - 1]) else 0
    return _split_args(text, shown, key, lambda index: None if line is None else line + index + skip)


def _toml_list_lines(items: list[str], lines: list[str], line: int | None) -> tuple[_Token, ...]:
    """Each item's line: the next line, from the key on, that holds it as a quoted string."""
    result: list[_Token] = []
    position = line - 1 if line is not None else None
    for item in items:
        found = None
        if position is not None:
            quoted = (json.dumps(item, ensure_ascii=False), f"'{item}'")
            for index in range(position, len(lines)):
                if index > position and _TABLE_HEADER.match(lines[index]):
                    break  # the array cannot run into the next table
                if any(form in lines[index] for form in quoted):
                    found, position = index + 1, index
                    break
        result.append((item, found or line))
    return tuple(result)


def _toml_header_line(lines: list[str], table: tuple[str, ...]) -> int | None:
    parts = r"\s*\.\s*".join(rf"""(?:{re.escape(part)}|"{re.escape(part)}"|'{re.escape(part)}')""" for part in table)
    pattern = re.compile(rf"\s*\[\s*{parts}\s*\]\s*(#.*)?$")
    for index, line in enumerate(lines):
        if pattern.match(line):
            return index + 1
    return None


def _toml_key_line(lines: list[str], header: int, key: str) -> int | None:
    pattern = re.compile(rf"""\s*(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')\s*=""")
    for index in range(header, len(lines)):
        line = lines[index]
        if _TABLE_HEADER.match(line):
            return None  # the next table started
        if pattern.match(line):
            return index + 1
    return None


# pytest's precedence order (findpaths.CONFIG_LOADERS_BY_NAME, pytest 9).
_CANDIDATES: tuple[tuple[str, _Loader], ...] = (
    ("pytest.toml", _load_pytest_toml),
    (".pytest.toml", _load_pytest_toml),
    ("pytest.ini", _load_pytest_ini),
    (".pytest.ini", _load_pytest_ini),
    ("pyproject.toml", _load_pyproject),
    ("tox.ini", _load_tox_ini),
    ("setup.cfg", _load_setup_cfg),
)


# ---------------------------------------------------------------------------------------------
# conftest.py


def _conftest_plugins(text: str, shown: str, warnings: list[Diagnostic]) -> tuple[ConftestPlugin, ...]:
    """Every literal `pytest_plugins` assignment at module level (including inside if/try/with).

    Which branch runs is unknowable without executing the file, so all of them are collected:
    a linter should see every plugin the conftest may load.
    """
    try:
        tree = ast.parse(text, filename=shown)
    except SyntaxError as exc:
        raise SourceError(shown, exc.lineno, f"invalid Python: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise SourceError(shown, None, f"invalid Python: {exc}") from None
    result: list[ConftestPlugin] = []
    seen: set[str] = set()
    for node in _module_level(tree.body):
        value = _pytest_plugins_value(node)
        if value is None:
            continue
        for module, line in _plugin_specs(value, shown, warnings):
            if module not in seen:
                seen.add(module)
                result.append(ConftestPlugin(module, shown, line))
    return tuple(result)


def _module_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements that run at import time: nested blocks yes, function and class bodies no."""
    for node in body:
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for field in ("body", "orelse", "finalbody"):
            nested = getattr(node, field, None)
            if isinstance(nested, list):
                yield from _module_level([child for child in nested if isinstance(child, ast.stmt)])
        for handler in getattr(node, "handlers", None) or ():
            if isinstance(handler, ast.ExceptHandler):
                yield from _module_level(handler.body)


def _pytest_plugins_value(node: ast.stmt) -> ast.expr | None:
    if isinstance(node, ast.Assign):
        if any(isinstance(target, ast.Name) and target.id == "pytest_plugins" for target in node.targets):
            return node.value
    elif isinstance(node, ast.AnnAssign):
        if isinstance(node.target, ast.Name) and node.target.id == "pytest_plugins":
            return node.value
    elif isinstance(node, ast.AugAssign):
        if isinstance(node.target, ast.Name) and node.target.id == "pytest_plugins":
            return node.value
    return None


def _plugin_specs(value: ast.expr, shown: str, warnings: list[Diagnostic]) -> Iterator[tuple[str, int]]:
    literal = _literal(value, shown, warnings)
    if literal is None:
        warnings.append(_not_literal(shown, value.lineno))
    elif isinstance(literal, str):
        # pytest splits a string on commas (`_get_plugin_specs_as_list`).
        for part in literal.split(","):
            if part.strip():
                yield part.strip(), value.lineno
    else:
        yield from literal


def _literal(node: ast.expr, shown: str, warnings: list[Diagnostic]) -> str | list[tuple[str, int]] | None:
    """A string, or the string items of a list/tuple, including `+` of either; None otherwise."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        items: list[tuple[str, int]] = []
        for element in node.elts:
            if isinstance(element, ast.Constant) and isinstance(element.value, str):
                items.append((element.value, element.lineno))
            else:
                warnings.append(_not_literal(shown, element.lineno))
        return items
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _literal(node.left, shown, warnings), _literal(node.right, shown, warnings)
        if isinstance(left, str) and isinstance(right, str):
            return left + right
        if isinstance(left, list) and isinstance(right, list):
            return left + right
    return None


def _not_literal(shown: str, line: int) -> Diagnostic:
    message = "pytest_plugins entry is not a string literal; envguard cannot read it without running conftest.py"
    return Diagnostic(shown, line, message)
