"""`pip install` and `uv pip install` commands, read as the declarations they make.

Every reader of install commands (CI steps, Dockerfiles, tox `deps`, nox `session.install`)
hands its words here. An install declares each requirement it names and each one of the `-r`
files it reads (at that file's own line), all in the environment the caller names.

What pins an install besides its own specifier is recorded in `Declaration.pinned_by`, for the
`unpinned-install` rule:

* a constraints file (`-c`, `--constraint`, uv's `--constraints` and `--overrides`, or the
  `PIP_CONSTRAINT` / `UV_CONSTRAINT` / `UV_OVERRIDE` variables) that pins the package with
  `==`; a constraints file that cannot be read here (a URL, a variable, a file made by an
  earlier step) is taken to pin everything, and `pinned_by` says it was not read;
* hash-checking mode (`--require-hashes`, `PIP_REQUIRE_HASHES`, `UV_REQUIRE_HASHES`, or any
  `--hash` in a requirements file read), in which pip refuses anything not pinned with hashes.

Option tables are pip 26.3's and uv 0.13's (`pip install --help`, `uv pip install --help`).
pip, through optparse, takes any unique prefix of a long option; uv (clap) only the exact
spelling. An option the table does not know is reported: the word after it might be its value
or a requirement, and guessing either way could hide a finding. `--dry-run` installs nothing,
so such a command declares nothing.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from envguard._record import record
from envguard.declared.shell import Command, Word, commands
from envguard.errors import SourceError
from envguard.model import Declaration, Diagnostic, Kind, Loaded, Package

if TYPE_CHECKING:
    from envguard.sources.requirements import Requested

__all__ = ["Context", "arguments", "find_install", "requirement_lines", "root_of", "script"]

# A path argument (as written), and the shell's directory (see shell.Command.cwd) -> the file's
# root-relative path, or None when it is not part of the workspace as checked out.
Locate = Callable[[str, "str | None"], "str | None"]


@record(frozen=True)
class Context:
    """Where an install command stands, as the reader that found it knows."""

    shown: str  # the root-relative file that holds the command
    environment: str  # Declaration.environment of everything it declares
    origin: str  # Declaration.origin
    root: Path  # the workspace root
    # The root-relative directory the command starts in; None when that is no directory of the
    # workspace (a container image: then `locate` maps paths).
    workdir: str | None = "."
    env: Mapping[str, str] = field(default_factory=dict)  # variables set statically
    allow_outside_root: bool = False
    locate: Locate | None = None
    # Whether Declaration.directory is set (an install in a root-level CI file belongs to the
    # service of the directory it runs in).
    attribute: bool = False
    # Variables that are set, but to values not known statically (a Dockerfile ARG without a
    # default, a CI variable from a secret): an install reading them is not read as unset.
    unknown: frozenset[str] = frozenset()


def root_of(path: Path, shown: str) -> Path:
    """The workspace root, from a file's path and its root-relative display path."""
    parts = [part for part in shown.split("/") if part not in ("", ".")]
    if ".." in parts or not parts:
        return path.parent
    return path.parents[len(parts) - 1]


# ----------------------------------------------------------------------------- finding installs

_PIP = re.compile(r"^pip(\d+(\.\d+)?)?(\.exe)?$")
_PYTHON = re.compile(r"^(python|pypy)(\d+(\.\d+)?)?[mtw]?(\.exe)?$|^py$")
# Interpreter flags grouped with -m (`-Im pip`, `-Impip`): flags that take no value, then m.
_GROUPED_M = re.compile(r"-[bBdEhiIOPqRsSuvVx]+m(\w*)")
# Interpreter options before `-m` that take a value.
_PYTHON_VALUE_OPTIONS = frozenset({"-W", "-X", "-c", "--check-hash-based-pycs"})
# pip's general options (accepted before the command name) that take a value.
_PIP_GENERAL_VALUES = (
    "--python",
    "--log",
    "--log-file",
    "--local-log",
    "--keyring-provider",
    "--proxy",
    "--retries",
    "--timeout",
    "--default-timeout",
    "--exists-action",
    "--trusted-host",
    "--cert",
    "--client-cert",
    "--cache-dir",
    "--use-feature",
    "--use-deprecated",
    "--resume-retries",
)
# uv's global options that take a value (before the `pip` subcommand).
_UV_GLOBAL_VALUES = frozenset(
    {
        "--directory",
        "--project",
        "--config-file",
        "--cache-dir",
        "--color",
        "--allow-insecure-host",
        "--python",
        "-p",
    }
)
# Runners whose arguments are a command: (name, its subcommand, options of theirs that take a value).
_RUNNERS: dict[str, tuple[str, frozenset[str]]] = {
    "poetry": ("run", frozenset({"-C", "--directory", "-P", "--project"})),
    "pdm": ("run", frozenset({"-p", "--project"})),
    "pipenv": ("run", frozenset()),
    "hatch": ("run", frozenset({"-e", "--env"})),
    "uv": ("run", frozenset({"--with", "--python", "-p", "--directory", "--project", "--group", "--extra", "--package"})),
    "conda": ("run", frozenset({"-n", "--name", "-p", "--prefix"})),
    "mamba": ("run", frozenset({"-n", "--name", "-p", "--prefix"})),
    "micromamba": ("run", frozenset({"-n", "--name", "-p", "--prefix"})),
}


def find_install(words: Sequence[Word]) -> tuple[str, list[Word]] | None:
    """("pip" or "uv", the words after `install`) when `words` run `pip install` or `uv pip install`."""
    words = list(words)
    for _ in range(4):  # `poetry run python -m pip install`: a runner, then the command it runs
        if not words or words[0].dynamic:
            return None
        name = posixpath.basename(words[0].text)
        runner = _RUNNERS.get(name)
        if runner is not None and len(words) > 1 and _after_options(words[1:], frozenset(), runner[0]) is not None:
            rest = _after_options(words[1:], frozenset(), runner[0])
            assert rest is not None
            words = _skip_options(rest, runner[1])
            continue
        break
    if not words or words[0].dynamic:
        return None
    name = posixpath.basename(words[0].text)
    if _PIP.match(name):
        return _pip_command(words[1:])
    if _PYTHON.match(name):
        rest = words[1:]
        while rest and rest[0].text.startswith("-") and rest[0].text not in ("-m", "-mpip", "-muv"):
            grouped = _GROUPED_M.fullmatch(rest[0].text)
            if grouped is not None:  # `python -Im pip`: flags, then -m with its module
                rest = [Word(f"-m{grouped.group(1)}", rest[0].line), *rest[1:]]
                break
            rest = rest[2:] if rest[0].text in _PYTHON_VALUE_OPTIONS else rest[1:]
        if rest and rest[0].text in ("-mpip", "-muv"):
            module, rest = rest[0].text[2:], rest[1:]
        elif len(rest) >= 2 and rest[0].text == "-m":
            module, rest = rest[1].text, rest[2:]
        else:
            return None
        if module == "pip":
            return _pip_command(rest)
        return _uv_command(rest) if module == "uv" else None
    if name in ("uv", "uv.exe"):
        return _uv_command(words[1:])
    return None


def _after_options(words: list[Word], values: frozenset[str], subcommand: str) -> list[Word] | None:
    """The words after `subcommand` (options before it skipped), or None when it is not there."""
    index = 0
    while index < len(words) and words[index].text.startswith("-"):
        index += 2 if words[index].text in values else 1
    if index < len(words) and words[index].text == subcommand:
        return words[index + 1 :]
    return None


def _skip_options(words: list[Word], values: frozenset[str]) -> list[Word]:
    index = 0
    while index < len(words) and words[index].text.startswith("-"):
        if words[index].text == "--":
            return words[index + 1 :]
        index += 2 if words[index].text in values else 1
    return words[index:]


def _pip_command(words: list[Word]) -> tuple[str, list[Word]] | None:
    index = 0
    while index < len(words) and words[index].text.startswith("-"):
        spelling = words[index].text.partition("=")[0]
        takes = "=" not in words[index].text and _pip_general_takes_value(spelling)
        index += 2 if takes else 1
    if index < len(words) and words[index].text == "install":
        return "pip", words[index + 1 :]
    return None


def _pip_general_takes_value(spelling: str) -> bool:
    if not spelling.startswith("--"):
        return False
    matches = {name for name in _PIP_GENERAL_VALUES if name.startswith(spelling)}
    return spelling in _PIP_GENERAL_VALUES or len(matches) == 1


def _uv_command(words: list[Word]) -> tuple[str, list[Word]] | None:
    rest = _after_options(words, _UV_GLOBAL_VALUES, "pip")
    if rest is None:
        return None
    rest = _after_options(rest, _UV_GLOBAL_VALUES, "install")
    return ("uv", rest) if rest is not None else None


# ----------------------------------------------------------------------------- option tables

# What each option does to the declarations; every other known option is only skipped.
_REQUIREMENT, _CONSTRAINT, _EDITABLE, _HASHES, _DRY_RUN, _NEEDS_PROJECT = (
    "requirement",
    "constraint",
    "editable",
    "hashes",
    "dry-run",
    "project",
)
# Where index requirements come from (Declaration.source): the index that replaces the default,
# one more place to look (an extra index, a --find-links location), no index at all.
_INDEX, _EXTRA_INDEX, _NO_INDEX = "index", "extra-index", "no-index"


@record(frozen=True)
class _Option:
    name: str  # the long spelling
    takes_value: bool
    effect: str | None = None


def _table(entries: Iterable[tuple[tuple[str, ...], bool, str | None]]) -> dict[str, _Option]:
    table: dict[str, _Option] = {}
    for spellings, takes_value, effect in entries:
        option = _Option(next((s for s in spellings if s.startswith("--")), spellings[0]), takes_value, effect)
        table.update((spelling, option) for spelling in spellings)
    return table


_PIP_OPTIONS = _table(
    [
        (("-r", "--requirement"), True, _REQUIREMENT),
        (("-c", "--constraint"), True, _CONSTRAINT),
        (("-e", "--editable"), True, _EDITABLE),
        (("--require-hashes",), False, _HASHES),
        (("--dry-run",), False, _DRY_RUN),
        (("--group",), True, _NEEDS_PROJECT),
        (("--requirements-from-script",), True, _NEEDS_PROJECT),
        (("-i", "--index-url", "--pypi-url"), True, _INDEX),
        (("--extra-index-url",), True, _EXTRA_INDEX),
        (("-f", "--find-links"), True, _EXTRA_INDEX),
        (("--no-index",), False, _NO_INDEX),
        *(
            ((spelling,), True, None)
            for spelling in (
                "--build-constraint",
                "-t",
                "--target",
                "--platform",
                "--python-version",
                "--implementation",
                "--abi",
                "--root",
                "--prefix",
                "--src",
                "--source",
                "--source-dir",
                "--source-directory",
                "--upgrade-strategy",
                "-C",
                "--config-settings",
                "--progress-bar",
                "--root-user-action",
                "--report",
                "--all-releases",
                "--only-final",
                "--no-binary",
                "--only-binary",
                "--refresh-package",
                "--uploaded-prior-to",
                "--global-option",
                *_PIP_GENERAL_VALUES,
            )
        ),
        *(
            ((spelling,), False, None)
            for spelling in (
                "--no-deps",
                "--no-dependencies",
                "--only-deps",
                "--only-dependencies",
                "--user",
                "--no-user",
                "-U",
                "--upgrade",
                "--force-reinstall",
                "-I",
                "--ignore-installed",
                "--ignore-requires-python",
                "--no-build-isolation",
                "--use-pep517",
                "--check-build-dependencies",
                "--break-system-packages",
                "--compile",
                "--no-compile",
                "--no-warn-script-location",
                "--no-warn-conflicts",
                "--no-require-hashes",
                "--no-clean",
                "--pre",
                "--prefer-binary",
                "-h",
                "--help",
                "--debug",
                "--isolated",
                "--require-virtualenv",
                "--require-venv",
                "-v",
                "--verbose",
                "-q",
                "--quiet",
                "--no-input",
                "--no-proxy-env",
                "--no-cache-dir",
                "--disable-pip-version-check",
                "--no-color",
                "--no-python-version-warning",
            )
        ),
    ]
)
_PIP_LONG = sorted(spelling for spelling in _PIP_OPTIONS if spelling.startswith("--"))

_UV_OPTIONS = _table(
    [
        (("-r", "--requirements", "--requirement"), True, _REQUIREMENT),
        (("-c", "--constraints", "--constraint"), True, _CONSTRAINT),
        (("--overrides", "--override"), True, _CONSTRAINT),
        (("-e", "--editable"), True, _EDITABLE),
        (("--require-hashes",), False, _HASHES),
        (("--dry-run",), False, _DRY_RUN),
        (("--group",), True, _NEEDS_PROJECT),
        (("--extra",), True, _NEEDS_PROJECT),
        (("--all-extras",), False, _NEEDS_PROJECT),
        (("--default-index", "-i", "--index-url"), True, _INDEX),
        (("--index", "--extra-index-url"), True, _EXTRA_INDEX),
        (("-f", "--find-links"), True, _EXTRA_INDEX),
        (("--no-index",), False, _NO_INDEX),
        *(
            ((spelling,), True, None)
            for spelling in (
                "--no-editable-package",
                "--excludes",
                "-b",
                "--build-constraints",
                "--cert",
                "-t",
                "--target",
                "--prefix",
                "--no-binary",
                "--only-binary",
                "--python-version",
                "--python-platform",
                "--output-format",
                "--torch-backend",
                "--index-strategy",
                "--keyring-provider",
                "-P",
                "--upgrade-package",
                "--upgrade-group",
                "--resolution",
                "--prerelease",
                "--prerelease-package",
                "--fork-strategy",
                "--exclude-newer",
                "--exclude-newer-package",
                "--no-sources-package",
                "--reinstall-package",
                "--link-mode",
                "-C",
                "--config-setting",
                "--config-settings-package",
                "--no-build-isolation-package",
                "--cache-dir",
                "--refresh-package",
                "-p",
                "--python",
                "--color",
                "--allow-insecure-host",
                "--directory",
                "--project",
                "--config-file",
            )
        ),
        *(
            ((spelling,), False, None)
            for spelling in (
                "--no-editable",
                "--no-deps",
                "--no-verify-hashes",
                "--require-build-hashes",
                "--system",
                "--break-system-packages",
                "--no-break-system-packages",
                "--no-build",
                "--exact",
                "--strict",
                "--check",
                "--user",
                "-U",
                "--upgrade",
                "--no-sources",
                "--reinstall",
                "--compile-bytecode",
                "--no-build-isolation",
                "-n",
                "--no-cache",
                "--no-cache-dir",  # a hidden alias uv accepts (checked with uv 0.13.9)
                "--refresh",
                "--managed-python",
                "--no-managed-python",
                "--no-python-downloads",
                "-q",
                "--quiet",
                "-v",
                "--verbose",
                "--system-certs",
                "--native-tls",
                "--offline",
                "--no-progress",
                "--no-config",
                "-h",
                "--help",
            )
        ),
    ]
)

_ENV_CONSTRAINTS = {"pip": ("PIP_CONSTRAINT",), "uv": ("UV_CONSTRAINT", "UV_OVERRIDE")}
_ENV_HASHES = {"pip": "PIP_REQUIRE_HASHES", "uv": "UV_REQUIRE_HASHES"}
# The variables of the index options: (the default index, more indexes, space-separated).
_ENV_INDEXES = {
    "pip": (("PIP_INDEX_URL",), ("PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS")),
    "uv": (("UV_DEFAULT_INDEX", "UV_INDEX_URL"), ("UV_INDEX", "UV_EXTRA_INDEX_URL", "UV_FIND_LINKS")),
}
_FALSE = frozenset({"", "0", "false", "no", "off"})


# ----------------------------------------------------------------------------- reading an install


@dataclass
class _Install:
    """What one install command asks for, gathered before the declarations are made."""

    words: list[tuple[str, int, bool]] = field(default_factory=list)  # (text, line, editable)
    files: list[tuple[str, int]] = field(default_factory=list)  # -r targets, with the line naming them
    constraints: list[tuple[str, int, str]] = field(default_factory=list)  # (target, line, as written)
    hashed: str | None = None  # what turns on hash-checking mode
    dry_run: bool = False
    index: str | None = None  # the index that replaces the default one
    extra_indexes: list[str] = field(default_factory=list)
    no_index: bool = False


def script(text: str, first_line: int, context: Context) -> Loaded:
    """Every pip or uv install in a shell script whose first line is line `first_line` of its file."""
    declarations: list[Declaration] = []
    included: list[str] = []
    warnings: list[Diagnostic] = []
    for command in commands(text, first_line, context.env, unknown=context.unknown):
        found = find_install(command.words)
        if found is None:
            continue
        tool, words = found
        loaded = _install(tool, words, context, command)
        declarations.extend(loaded.declarations)
        included.extend(path for path in loaded.included if path not in included)
        warnings.extend(loaded.warnings)
    return Loaded((), tuple(included), tuple(warnings), tuple(declarations))


def arguments(words: Sequence[Word], context: Context, tool: str = "pip") -> Loaded:
    """The declarations of `pip install WORDS` (`uv pip install` with tool="uv"), run from the context's workdir."""
    return _install(tool, list(words), context, Command(tuple(words), dict(context.env), frozenset(), "."))


def requirement_lines(lines: Sequence[tuple[str, int]], context: Context) -> Loaded:
    """Lines of requirements as tox `deps` holds them: a requirement, or options such as `-r file`, a line each."""
    from envguard.sources.requirements import _shell_split

    words: list[Word] = []
    for text, number in lines:
        stripped = text.strip()
        if not stripped:
            continue
        if stripped.startswith("-"):
            try:
                split = _shell_split(stripped)
            except ValueError as exc:
                raise SourceError(context.shown, number, f"cannot split {stripped!r}: {exc}") from None
            words.extend(Word(part, number) for part in split)
        else:
            words.append(Word(stripped, number))
    return arguments(words, context)


def _install(tool: str, words: list[Word], context: Context, command: Command) -> Loaded:
    warnings: list[Diagnostic] = []
    install = _parse(tool, words, context, warnings)
    if install.dry_run:
        return Loaded((), (), tuple(warnings))
    env = command.env
    for name in _ENV_CONSTRAINTS[tool]:
        value = env.get(name)
        if value is not None and name not in command.unknown:
            install.constraints.extend((target, words[0].line if words else 0, name) for target in value.split())
        elif name in command.unknown:
            install.constraints.append(("", 0, f"{name} (set at run time)"))
    hashes = env.get(_ENV_HASHES[tool])
    if hashes is not None and hashes.strip().lower() not in _FALSE:
        install.hashed = install.hashed or _ENV_HASHES[tool]
    _index_variables(tool, install, command)
    return _declare(install, context, command.cwd, warnings)


def _index_variables(tool: str, install: _Install, command: Command) -> None:
    """The index variables a command runs with, under the options it gives (which win)."""
    primary, extra = _ENV_INDEXES[tool]
    known = {name: value for name, value in command.env.items() if name not in command.unknown and value.strip()}
    if install.index is None:
        install.index = next((known[name].strip() for name in primary if name in known), None)
    for name in extra:
        install.extra_indexes.extend(known[name].split() if name in known else ())


def _parse(tool: str, words: list[Word], context: Context, warnings: list[Diagnostic]) -> _Install:
    table = _PIP_OPTIONS if tool == "pip" else _UV_OPTIONS
    install = _Install()
    index = 0
    only_positional = False
    while index < len(words):
        word = words[index]
        index += 1
        text = word.text
        if only_positional or not text.startswith("-") or text == "-":
            if word.dynamic:
                _dynamic(word, context, warnings)
            else:
                install.words.append((text, word.line, False))
            continue
        if text == "--":
            only_positional = True
            continue
        option, value, index = _option(tool, table, words, index, word, context)
        if option is None:
            # Its value, if it takes one, would be read as a requirement: stop rather than guess.
            warnings.append(
                Diagnostic(
                    context.shown,
                    word.line,
                    f"{tool} install option {text.partition('=')[0]!r} is unknown to envguard; "
                    "the rest of this command is not checked",
                )
            )
            break
        if value is not None and value.dynamic and option.effect in (_REQUIREMENT, _CONSTRAINT, _EDITABLE):
            if option.effect == _CONSTRAINT:
                install.constraints.append(("", value.line, f"{option.name} {value.text} (not read)"))
            else:
                _dynamic(value, context, warnings)
            continue
        if option.effect == _REQUIREMENT and value is not None and tool == "uv" and _is_project_file(value.text):
            warnings.append(_project_metadata(context, value.line, f"{option.name} {value.text}"))
        elif option.effect == _REQUIREMENT and value is not None:
            install.files.append((value.text, value.line))
        elif option.effect == _CONSTRAINT and value is not None:
            install.constraints.append((value.text, value.line, f"{option.name} {value.text}"))
        elif option.effect == _EDITABLE and value is not None:
            install.words.append((value.text, value.line, True))
        elif option.effect == _HASHES:
            install.hashed = "--require-hashes"
        elif option.effect == _DRY_RUN:
            install.dry_run = True
        elif option.effect == _NEEDS_PROJECT:
            warnings.append(_project_metadata(context, word.line, option.name))
        elif option.effect == _INDEX and value is not None and not value.dynamic:
            install.index = value.text
        elif option.effect == _EXTRA_INDEX and value is not None and not value.dynamic:
            install.extra_indexes.append(value.text)
        elif option.effect == _NO_INDEX:
            install.no_index = True
    return install


def _is_project_file(target: str) -> bool:
    return posixpath.basename(target) in ("pyproject.toml", "setup.cfg", "setup.py")


def _project_metadata(context: Context, line: int, spelled: str) -> Diagnostic:
    return Diagnostic(
        context.shown, line, f"{spelled} installs requirements from a project's metadata; envguard does not read them here"
    )


def _option(
    tool: str, table: dict[str, _Option], words: list[Word], index: int, word: Word, context: Context
) -> tuple[_Option | None, Word | None, int]:
    """The option `word` spells, its value (from the word itself or the next one), and the next index."""
    text = word.text
    if text.startswith("--"):
        spelling, has_value, inline = text.partition("=")
        option = table.get(spelling)
        if option is None and tool == "pip":
            # optparse's rule: a prefix of exactly one spelling (aliases count as spellings).
            matches = [name for name in _PIP_LONG if name.startswith(spelling)]
            option = table[matches[0]] if len(matches) == 1 else None
        if option is None:
            return None, None, index
        if not option.takes_value:
            return option, None, index
        if has_value:
            return option, Word(inline, word.line, word.dynamic), index
    else:
        option = table.get(text[:2])
        if option is None:
            return None, None, index
        if not option.takes_value:
            # Grouped flags (`-qU`): each letter its own flag; a letter that takes a value ends the group.
            for position in range(2, len(text)):
                inner = table.get(f"-{text[position]}")
                if inner is None:
                    return None, None, index
                if inner.takes_value:
                    rest = text[position + 1 :].removeprefix("=")
                    if rest:
                        return inner, Word(rest, word.line, word.dynamic), index
                    return _value_from_next(inner, words, index, word, context)
            return option, None, index
        if len(text) > 2:
            return option, Word(text[2:].removeprefix("=") if tool == "uv" else text[2:], word.line, word.dynamic), index
    return _value_from_next(option, words, index, word, context)


def _value_from_next(option: _Option, words: list[Word], index: int, word: Word, context: Context) -> tuple[_Option, Word, int]:
    if index >= len(words):
        raise SourceError(context.shown, word.line, f"option {word.text} needs a value")
    return option, words[index], index + 1


def _dynamic(word: Word, context: Context, warnings: list[Diagnostic]) -> None:
    warnings.append(
        Diagnostic(
            context.shown,
            word.line,
            f"cannot resolve {word.text!r} statically (it depends on the environment at run time); "
            "what it installs is not checked",
        )
    )


def _declare(install: _Install, context: Context, cwd: str | None, warnings: list[Diagnostic]) -> Loaded:
    from envguard.sources.requirements import read_requested

    included: list[str] = []
    entries: list[tuple[Package, str]] = []
    constraint_pins: dict[str, str] = {}  # name -> the constraint source that pins it
    pins_everything: str | None = None
    hashed = install.hashed

    base = _directory(context, cwd)
    if install.words:
        words = []
        written: dict[tuple[str, int], str] = {}  # a mapped path -> the path as the command writes it
        for text, number, editable in install.words:
            if not _looks_local(text):
                words.append((text, number, editable))
            elif context.locate is not None:
                # A path in a container image: the workspace file a COPY brought there.
                path, bracket, extras = text.partition("[")
                found = context.locate(path.rstrip("/") or "/", cwd)
                if found is None:
                    warnings.append(_unknown_directory(context, number, text))
                else:
                    mapped = f"./{found}" + (bracket + extras if bracket else "")
                    written[(mapped, number)] = text
                    words.append((mapped, number, editable))
            elif base is None:
                warnings.append(_unknown_directory(context, number, text))
            else:
                words.append((text, number, editable))
        if context.locate is not None:
            base = "."
        # Named requirements do not depend on the directory.
        requested = _read_words(words, base or ".", context, warnings)
        entries.extend((package, written.get((text, package.line), text)) for package, text in requested.entries)
        included.extend(requested.included)
        warnings.extend(requested.warnings)

    for target, number in install.files:
        found = _file(target, number, context, cwd, warnings, "requirements file")
        if found is None:
            continue
        requested = read_requested(
            context.root / found, found, allow_outside_root=context.allow_outside_root
        )
        included.extend([found, *requested.included])
        warnings.extend(requested.warnings)
        entries.extend(requested.entries)
        for package in requested.constraints:
            if package.version is not None:
                constraint_pins.setdefault(package.name, f"a constraint in {package.path}")
        if requested.hashed and hashed is None:
            hashed = f"--hash in {found}"

    for target, number, spelled in install.constraints:
        if not target:
            pins_everything = pins_everything or spelled
            continue
        found = _file(target, number, context, cwd, None, "constraints file")
        if found is None:
            pins_everything = pins_everything or f"{spelled} (not read)"
            continue
        requested = read_requested(
            context.root / found, found, constraint=True, allow_outside_root=context.allow_outside_root
        )
        included.extend([found, *requested.included])
        warnings.extend(requested.warnings)
        for package in requested.constraints:
            if package.version is not None:
                constraint_pins.setdefault(package.name, spelled)

    directory = None
    if context.attribute and context.workdir is not None and cwd is not None and not posixpath.isabs(cwd):
        directory = posixpath.normpath(posixpath.join(context.workdir, cwd))
    from envguard.sources._origin import any_of

    indexes = any_of(([] if install.no_index or install.index is None else [install.index]) + install.extra_indexes)
    declarations = [
        _declaration(
            package,
            text,
            context,
            constraint_pins.get(package.name) or pins_everything or hashed,
            directory,
            # A requirements file naming its own index keeps it.
            indexes if package.kind is Kind.REGISTRY and package.source is None else package.source,
        )
        for package, text in entries
    ]
    # A file named twice in one command is installed once.
    return Loaded((), tuple(dict.fromkeys(included)), tuple(warnings), tuple(dict.fromkeys(declarations)))


def _read_words(
    words: list[tuple[str, int, bool]], base: str, context: Context, warnings: list[Diagnostic]
) -> Requested:
    """The requirements named on the command line; a local project envguard cannot name is a warning."""
    from envguard.sources.requirements import Requested, requested_words

    entries: list[tuple[Package, str]] = []
    included: list[str] = []
    found_warnings: list[Diagnostic] = []
    for word in words:
        try:
            requested = requested_words(
                [word], context.root / base, base, context.shown, allow_outside_root=context.allow_outside_root
            )
        except SourceError as exc:
            if not (_looks_local(word[0]) or _REMOTE.match(word[0]) or word[2]):
                raise  # a named requirement pip would refuse too
            # A directory without pyproject.toml (setup.py), a file made by an earlier step, an
            # archive URL whose project only a build would name.
            warnings.append(Diagnostic(exc.path, exc.line, exc.message))
            continue
        entries.extend(requested.entries)
        included.extend(requested.included)
        found_warnings.extend(requested.warnings)
    return Requested(tuple(entries), (), tuple(included), tuple(found_warnings), False)


_REMOTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def _looks_local(text: str) -> bool:
    """A path of this machine (`.`, `./lib[test]`, `dist/x.whl`, `file:...`), not a name or a remote URL."""
    if text.lower().startswith("file:"):
        return True
    if _REMOTE.match(text) or " @ " in text or "@" in text.split("/", 1)[0]:
        return False
    return text.startswith((".", "/", "~")) or "/" in text


def _directory(context: Context, cwd: str | None) -> str | None:
    """The root-relative directory relative paths of the command start from; None when unknown."""
    if context.locate is not None:
        return context.locate(".", cwd)
    if context.workdir is None or cwd is None or posixpath.isabs(cwd):
        return None
    return posixpath.normpath(posixpath.join(context.workdir, cwd))


def _file(
    target: str, number: int, context: Context, cwd: str | None, warnings: list[Diagnostic] | None, what: str
) -> str | None:
    """The root-relative path of a file an option names, or None (with a warning when one is given)."""
    if re.match(r"^(https?|file|ftp):", target, re.I):
        if warnings is not None:
            warnings.append(Diagnostic(context.shown, number, f"{what} {target!r} is a URL; envguard reads only local files"))
        return None
    if context.locate is not None:
        found = context.locate(target, cwd)
    else:
        base = _directory(context, cwd)
        found = None if base is None or posixpath.isabs(target) else posixpath.normpath(posixpath.join(base, target))
    if found is None:
        if warnings is not None:
            warnings.append(_unknown_directory(context, number, target))
        return None
    if (found == ".." or found.startswith("../")) and not context.allow_outside_root:
        raise SourceError(
            context.shown, number, f"{what} {target!r} is outside the workspace root; pass --allow-outside-root to read it"
        )
    if not (context.root / found).is_file():
        if warnings is not None:
            warnings.append(
                Diagnostic(context.shown, number, f"{what} {target!r} is not in the workspace (made at run time?); not checked")
            )
        return None
    return found


def _unknown_directory(context: Context, number: int, target: str) -> Diagnostic:
    if context.locate is not None:
        why = "no file of the workspace is there (nothing copied it into the image), or the command's directory is not known statically"
    else:
        why = "the command runs in a directory not known statically"
    return Diagnostic(context.shown, number, f"cannot tell which file {target!r} is: {why}; not checked")


def _declaration(
    package: Package, text: str, context: Context, pinned_by: str | None, directory: str | None, source: str | None
) -> Declaration:
    exact = package.kind is Kind.REGISTRY and package.version is not None  # needs nothing else to pin it
    return Declaration.of_package(
        package,
        text,
        context.environment,
        context.origin,
        install=True,
        pinned_by=None if exact else pinned_by,
        directory=directory,
        source=source,
    )
