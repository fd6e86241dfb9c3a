"""tox environments, read as the declarations of what each one installs.

One reader for the three places tox 4 keeps its configuration, told apart by file name and
content: `tox.ini` (INI), `tox.toml` (TOML, tox 4.21+), and `pyproject.toml`'s `[tool.tox]`
(native TOML tables, or the `legacy_tox_ini` string, an INI file inside a TOML string whose
lines are reported at their lines in pyproject.toml). A pyproject.toml without `[tool.tox]`
declares nothing here.

Every concrete environment tox itself would list (`tox config -e ALL`) gets its own
declarations, labelled `tox.ini [testenv:py312-cov]`, `tox.toml [env.py312-cov]`,
`pyproject.toml [tool.tox.env.py312-cov]` or `pyproject.toml [tool.tox] legacy_tox_ini
[testenv:py312-cov]`:

* `deps`, after factor conditions, inheritance (`[testenv]`, `base = ...`, `env_run_base`)
  and substitution, go to `install.requirement_lines`, so `-r`/`-c` files are followed and
  `PIP_CONSTRAINT` in `set_env` pins. A `-c` or `--constraint` in `install_command`, and the
  files of the `constraints` setting, are handed over as `-c` lines of the same install: tox
  adds them to every pip call of the environment.
* `extras` (when the environment installs the package: no `skip_install`, no `package = skip`)
  and `dependency_groups` (installed either way) are the project's own pyproject.toml entries,
  read by `envguard.declared.pyproject`, declared again in the environment with their
  pyproject.toml line. They are pinned by what pins the environment's installs, and also,
  with `constrain_package_deps`, by the environment's `deps`: tox then installs the package's
  dependencies under a constraints file of the deps as written (their `==` pins), or, with
  `use_frozen_constraints`, of everything the deps installed (so any package named in deps).

Environments: `env_list` with its generative forms, every `[testenv:NAME]` section (its name
may be generative too), and, as tox 4 does, each factor combination a condition names that
no environment has (`docs: sphinx` defines `docs`). Labels only group these environments;
tox defines none from them.

tox reads the first of tox.ini, setup.cfg (with `[tox:tox]`), pyproject.toml (with
`[tool.tox]`) and tox.toml it finds in a directory; a configuration it would not read declares
nothing here (with a warning saying which file it reads instead). Line numbers of TOML keys and
array items come from `_tomlpos`, which the pyproject reader uses too.

What needs the machine tox runs on is not guessed: `{env:NAME}` not set by the environment's
own `set_env` reads as its default (what tox does where NAME is unset) and says so;
`{posargs}` reads as its default; an unknown reference (`{envsitepackagesdir}`) drops its line
with a warning. The text rules (INI dialect, factors, substitution) are in `_tox_ini`.
"""

from __future__ import annotations

import dataclasses
import json
import posixpath
import re
import shlex
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from envguard._record import record
from envguard.declared import _tox_ini as ini
from envguard.declared._tomlpos import positions
from envguard.declared._tox_ini import Expander, Lines, Lookup, Raw
from envguard.declared.install import Context, find_install, requirement_lines, root_of
from envguard.errors import SourceError
from envguard.model import Declaration, Diagnostic, Loaded, extra_group, normalize
from envguard.sources._text import read_text
from envguard.sources._toml import parse_toml

if TYPE_CHECKING:
    import ast

__all__ = ["Environment", "Reading", "environments", "load"]

ORIGIN = "tox"
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off", ""})
# tox's own keys whose values are known without running anything; the paths are relative to
# the tox file's directory, where every install starts.
_ROOT_KEYS = frozenset({"toxinidir", "tox_root"})
_NAME_KEYS = frozenset({"envname", "env_name"})
_WORK_DIR_KEYS = frozenset({"work_dir", "toxworkdir"})
# What tox runs when the configuration names no environment at all.
_DEFAULT_ENVIRONMENT = "py"
_REFERENCE = re.compile(r"^(?:\[(?P<section>[^\]]*)\])?(?P<key>[-a-zA-Z0-9_]+)(?::(?P<default>.*))?$", re.DOTALL)
_CONSTRAINT_OPTIONS = ("-c", "--constraint", "--constraints")
_Key = tuple["str | int", ...]  # a key path of a TOML document (array elements by index)
# set_env variables that change what an install does (PIP_CONSTRAINT, UV_CONSTRAINT, PIP_REQUIRE_HASHES).
_INSTALL_VARIABLES = ("PIP_", "UV_")


@record(frozen=True)
class Environment:
    """One concrete tox environment, as far as installs go."""

    name: str
    label: str  # Declaration.environment
    deps: tuple[tuple[str, int], ...]  # requirement and option lines after substitution
    extras: tuple[str, ...]  # normalised, sorted
    dependency_groups: tuple[str, ...]
    set_env: Mapping[str, str]
    installs_package: bool
    constrain_package_deps: bool
    use_frozen_constraints: bool
    # `-c FILE` lines of the `constraints` setting, which tox adds to every install.
    constraints: tuple[tuple[str, int], ...]
    # What `install_command` adds to every install that matters here: `-c FILE`, `--require-hashes`.
    install_options: tuple[tuple[str, int], ...]
    line: int  # where the environment is defined (for warnings about it as a whole)


@dataclass
class Reading:
    """A tox configuration's environments, and what reading them could not resolve."""

    environments: list[Environment]
    warnings: list[Diagnostic] = field(default_factory=list)
    included: tuple[str, ...] = ()  # files read besides the configuration


def load(path: Path, shown: str, *, allow_outside_root: bool = False) -> Loaded:
    """The declarations of every environment of the tox configuration in `path` (see the module docstring)."""
    read = environments(path, shown)
    warnings = list(read.warnings)
    included: list[str] = list(read.included)
    root = root_of(path, shown)
    workdir = posixpath.dirname(shown) or "."
    declarations: list[Declaration] = []
    project = _Project(root, workdir, shown, allow_outside_root)
    cache: dict[tuple[object, ...], Loaded] = {}
    for environment in read.environments:
        context = Context(
            shown,
            environment.label,
            ORIGIN,
            root,
            workdir=workdir,
            env=dict(environment.set_env),
            allow_outside_root=allow_outside_root,
        )
        lines = [*environment.deps, *environment.constraints, *environment.install_options]
        key = (tuple(lines), tuple(sorted(environment.set_env.items())))
        loaded = cache.get(key)
        if loaded is None:
            loaded = cache[key] = requirement_lines(lines, context)
            warnings.extend(loaded.warnings)
            included.extend(loaded.included)
        deps = [dataclasses.replace(d, environment=environment.label) for d in loaded.declarations]
        declarations.extend(deps)
        declarations.extend(project.declarations(environment, context, deps, warnings, included))
    return Loaded(
        (),
        tuple(dict.fromkeys(p for p in included if p != shown)),
        tuple(dict.fromkeys(warnings)),
        tuple(dict.fromkeys(declarations)),
    )


def environments(path: Path, shown: str) -> Reading:
    """Every environment of the tox configuration in `path` (nothing for a pyproject.toml without tox)."""
    text = read_text(path, shown)
    name = posixpath.basename(shown)
    if name in ("pyproject.toml", "tox.toml"):
        shadow = _read_instead(path, shown)
        if shadow is not None:
            message = f"tox reads its configuration from {shadow} beside it, not from this file; not read"
            return Reading([], [Diagnostic(shown, None, message)], (shadow,))
    if name == "pyproject.toml":
        document = parse_toml(text, shown)
        tool = document.get("tool")
        table = tool.get("tox") if isinstance(tool, dict) else None
        if not isinstance(table, dict):
            return Reading([])
        if set(table) - {"legacy_tox_ini"}:
            return _TomlConfig(text, shown, document, ("tool", "tox"), True).read()
        legacy = table.get("legacy_tox_ini")
        if legacy is None:
            return Reading([])
        line = _legacy_line(text)
        if not isinstance(legacy, str):
            raise SourceError(shown, line, "`tool.tox.legacy_tox_ini` is not a string")
        place = _legacy_place(text, legacy, line)
        document_ini = ini.parse_ini(legacy, shown, place)
        return _IniConfig(document_ini, shown, f"{shown} [tool.tox] legacy_tox_ini ", True).read()
    project = _has_project(path.parent)
    if name.endswith(".toml"):
        return _TomlConfig(text, shown, parse_toml(text, shown), (), project).read()
    return _IniConfig(ini.parse_ini(text, shown), shown, f"{shown} ", project).read()


def _read_instead(path: Path, shown: str) -> str | None:
    """The file tox 4 takes its configuration from instead of this one, if any.

    tox tries tox.ini, setup.cfg (with `[tox:tox]`), pyproject.toml (with `[tool.tox]`), then
    tox.toml, and reads the first it finds.
    """
    directory = posixpath.dirname(shown)
    if (path.parent / "tox.ini").is_file():
        return posixpath.join(directory, "tox.ini")
    setup_cfg = path.parent / "setup.cfg"
    if setup_cfg.is_file() and re.search(
        r"^\[tox:tox\]", read_text(setup_cfg, posixpath.join(directory, "setup.cfg")), re.MULTILINE
    ):
        return posixpath.join(directory, "setup.cfg")
    pyproject = path.parent / "pyproject.toml"
    if path.name == "tox.toml" and pyproject.is_file():
        shown_pyproject = posixpath.join(directory, "pyproject.toml")
        try:
            tool = parse_toml(read_text(pyproject, shown_pyproject), shown_pyproject).get("tool")
        except SourceError:
            return None  # tox would fail on it; this file is read as it is
        table = tool.get("tox") if isinstance(tool, dict) else None
        if isinstance(table, dict) and table:
            return shown_pyproject
    return None


# ----------------------------------------------------------------------------- legacy_tox_ini lines


def _legacy_line(text: str) -> int | None:
    found = re.search(r"^[^\S\n]*(?:[\w.\"']+\.)?[\"']?legacy_tox_ini[\"']?[^\S\n]*=", text, re.MULTILINE)
    return None if found is None else text.count("\n", 0, found.start()) + 1


def _legacy_place(text: str, value: str, line: int | None) -> Callable[[int], int]:
    """Maps a line of the legacy_tox_ini string to its pyproject.toml line.

    Exact for a multi-line string (in triple quotes of either kind; TOML drops a newline right
    after the opening quotes). A string whose escapes change its line breaks (`\\n`, a
    line-ending backslash) has every line at the key's line.
    """
    if line is None:
        return lambda number: 1
    after = text.split("\n", line - 1)[-1]
    opening = re.match(r"[^=]*=[^\S\n]*(\"\"\"|\'\'\')(\n?)", after)
    if opening is None:
        return lambda number: line
    first = line + 1 if opening.group(2) else line
    quote = opening.group(1)
    end = after.find(quote, opening.end())
    written = after[opening.end() : end if end != -1 else None]
    if written.count("\n") != value.count("\n") or (quote == '"""' and re.search(r"\\[^\S\n]*\n", written)):
        return lambda number: line
    return lambda number: first + number - 1


# ----------------------------------------------------------------------------- shared pieces


def _builtin(key: str, environment: str, work_dir: bool) -> str | None:
    """tox's own keys known statically; `work_dir` is False when the configuration moves it."""
    if key in _ROOT_KEYS:
        return "."
    if key in _NAME_KEYS:
        return environment
    if key in _WORK_DIR_KEYS and work_dir:
        return "./.tox"
    return None


def _packages(package: str | None, project: bool) -> bool:
    """Whether tox builds and installs the project: by default only when it has a build file."""
    if package is None:
        return project
    return package.strip() != "skip"


def _has_project(directory: Path) -> bool:
    return any((directory / name).is_file() for name in ("pyproject.toml", "setup.py", "setup.cfg"))


def _boolean(value: str, shown: str, line: int, key: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise SourceError(shown, line, f"`{key}` is not a boolean: {value.strip()!r}")


def _names(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(sorted({normalize(value) for value in values if value}))


# tox's own placeholders in `install_command`, kept as written when the rest is substituted.
_PLACEHOLDERS = re.compile(r"\{(opts|packages)\}")


def _protect_placeholders(text: str) -> str:
    return _PLACEHOLDERS.sub(r"\\{\1\\}", text)


def _install_constraints(command: str, line: int) -> Lines:
    """`-c FILE` lines for the constraints an `install_command` names."""
    from envguard.declared.shell import commands

    found: Lines = []
    for parsed in commands(command, line):
        install = find_install(parsed.words)
        if install is None:
            continue
        words = [word.text for word in install[1]]
        index = 0
        while index < len(words):
            word = words[index]
            spelling, equals, value = word.partition("=")
            if spelling in _CONSTRAINT_OPTIONS and equals and value:
                found.append((f"-c {value}", line))
            elif word in _CONSTRAINT_OPTIONS and index + 1 < len(words):
                found.append((f"-c {words[index + 1]}", line))
                index += 1
            elif word.startswith("-c") and len(word) > 2 and not word.startswith("--"):
                found.append((f"-c {word[2:]}", line))
            elif word == "--require-hashes":
                found.append((word, line))
            index += 1
        for name in ("PIP_CONSTRAINT", "UV_CONSTRAINT"):
            if name in parsed.env:
                found.extend((f"-c {target}", line) for target in parsed.env[name].split())
    return found


def _requirement_lines(lines: Lines, shown: str) -> tuple[tuple[str, int], ...]:
    for text, number in lines:
        if "\n" in text:
            raise SourceError(shown, number, "a substitution within a requirement adds a line break")
    return tuple((text, number) for text, number in lines if text.strip())


def _warn(shown: str, expander: Expander, warnings: list[Diagnostic]) -> None:
    warnings.extend(Diagnostic(shown, line, message) for line, message in expander.warnings)
    expander.warnings.clear()


# ----------------------------------------------------------------------------- INI


class _IniConfig:
    """A tox.ini (or legacy_tox_ini) document and how tox 4 resolves its environments."""

    def __init__(self, document: ini.Document, shown: str, label_prefix: str, project: bool) -> None:
        self.document = document
        self.shown = shown
        self.label_prefix = label_prefix
        self.project = project
        # `[tox] no_package` (`skipsdist`): no environment installs the project.
        self.default_work_dir = not any(document.get("tox", key) for key in _WORK_DIR_KEYS)
        self.packaged = not any(
            value is not None and _boolean(" ".join(t for t, _ in value.lines), shown, value.line, key)
            for key in ("no_package", "skipsdist")
            for value in [document.get("tox", key)]
        )
        # name -> the first [testenv:...] section whose (generative) name includes it
        self.own: dict[str, str] = {}

    def read(self) -> Reading:
        read = Reading([])
        for name in self.names():
            read.environments.append(self.environment(name, read.warnings))
        read.warnings = list(dict.fromkeys(read.warnings))
        return read

    def names(self) -> list[str]:
        """`tox config -e ALL`'s environments, in its order."""
        names: dict[str, None] = {}
        known: set[str] = set()
        listed = self.document.get("tox", "env_list") or self.document.get("tox", "envlist")
        if listed is not None:
            filtered = ini.filter_value(listed.lines, frozenset())
            for text, number in filtered.lines if filtered else []:
                names.update(dict.fromkeys(self._expand(text, number)))
        known.update(factor for name in names for factor in name.split("-"))
        for section, line in self.document.section_lines.items():
            if section.startswith("testenv:"):
                for name in self._expand(section[len("testenv:") :], line):
                    self.own.setdefault(name, section)
                    names.setdefault(name)
                    known.update(name.split("-"))
        for section in self.document.sections:
            if section in ("tox", "testenv") or section.startswith("testenv:"):
                for key in self.document.keys(section):
                    value = self.document.get(section, key)
                    assert value is not None
                    for name in ini.condition_envs(value.lines):
                        if set(name.split("-")) - known:
                            names.setdefault(name)
        return list(names) or [_DEFAULT_ENVIRONMENT]

    def _expand(self, text: str, line: int) -> list[str]:
        try:
            return ini.expand_names(text)
        except ini.FactorError as exc:
            raise SourceError(self.shown, line, f"not an environment name or factor expression: {exc}") from None

    # The sections an environment reads a key from, nearest first.
    def chain(self, name: str) -> list[str]:
        own = self.own.get(name, f"testenv:{name}")
        chain = [own] if own in self.document.sections else []
        bases = ["testenv"]
        if chain and (value := self.document.get(own, "base")) is not None:
            filtered = ini.filter_value(value.lines, ini.env_factors(name))
            if filtered is not None:
                bases = _split_list(filtered.lines)
        for base in bases:
            # `[testenv:b]` may be spelt generatively (`[testenv:{a,b}]`), as for an environment's own section.
            for section in (base, self.own.get(base, f"testenv:{base}")):
                if section in self.document.sections and section not in chain:
                    chain.append(section)
        return chain

    def raw(self, name: str, keys: Sequence[str], sections: Sequence[str]) -> tuple[ini.Filtered, int] | None:
        """The value of the first of `keys` set in `sections` whose lines apply to `name`, with its line."""
        factors = ini.env_factors(name)
        for section in sections:
            for key in keys:
                value = self.document.get(section, key)
                if value is None:
                    continue
                filtered = ini.filter_value(value.lines, factors)
                if filtered is not None:
                    return filtered, value.line
                break  # tox moves on to the next section, as if this one had not set the key
        return None

    def environment(self, name: str, warnings: list[Diagnostic]) -> Environment:
        chain = self.chain(name)
        lookup = _IniLookup(self, name, chain)
        expander = Expander(self.shown, lookup)
        lookup.expander = expander

        def values(*keys: str) -> tuple[Lines, int | None]:
            found = self.raw(name, keys, chain)
            if found is None:
                return [], None
            filtered, line = found
            for number, assumed in filtered.assumed:
                conditions = ", ".join(assumed)
                warnings.append(
                    Diagnostic(self.shown, number, f"applies only on some platforms ({conditions}); read as applying")
                )
            return expander.lines(filtered.lines), line

        def scalar(*keys: str) -> tuple[str, int] | None:
            lines, line = values(*keys)
            return None if line is None else ("\n".join(text for text, _ in lines), line)

        def command() -> tuple[str, int] | None:
            found = self.raw(name, ["install_command"], chain)
            if found is None:
                return None
            lines = [(_protect_placeholders(text), number) for text, number in found[0].lines]
            return " ".join(text for text, _ in expander.lines(lines)), found[1]

        def flag(key: str) -> bool:
            found = scalar(key)
            return found is not None and _boolean(found[0], self.shown, found[1], key)

        set_env = lookup.static_set_env()
        deps, _ = values("deps")
        extras, _ = values("extras")
        groups, _ = values("dependency_groups")
        constraints, _ = values("constraints")
        package = scalar("package")
        install_command = command()
        installs = (
            self.packaged and not flag("skip_install") and _packages(package[0] if package else None, self.project)
        )
        environment = Environment(
            name=name,
            label=f"{self.label_prefix}[testenv:{name}]",
            deps=_requirement_lines(deps, self.shown),
            extras=_names(_split_list(extras)),
            dependency_groups=_names(_split_list(groups)),
            set_env=set_env,
            installs_package=installs,
            constrain_package_deps=flag("constrain_package_deps"),
            use_frozen_constraints=flag("use_frozen_constraints"),
            constraints=tuple((f"-c {text.strip()}", number) for text, number in constraints if text.strip()),
            install_options=tuple(_install_constraints(*install_command) if install_command else ()),
            line=self.document.section_lines.get(self.own.get(name, ""), 1),
        )
        _warn(self.shown, expander, warnings)
        return environment


def _split_list(lines: Lines) -> list[str]:
    """tox's list reading: one item a line when there are several lines, else comma separated."""
    texts = [text for text, _ in lines]
    joined = "\n".join(texts)
    separator = "\n" if "\n" in joined else ","
    return [item.strip() for item in joined.split(separator) if item.strip()]


class _IniLookup(Lookup):
    """References of one environment of a tox.ini: `{[section]key}`, tox's own keys, its set_env."""

    def __init__(self, config: _IniConfig, name: str, chain: list[str]) -> None:
        self.config = config
        self.name = name
        self.chain = chain
        self.expander: Expander | None = None
        self._set_env: dict[str, tuple[str, int]] | None = None

    def reference(self, text: str, line: int) -> Raw | str | None:
        found = _REFERENCE.match(text)
        if found is None:
            return None
        section, key, default = found.group("section", "key", "default")
        if section is None or section == "tox":
            builtin = _builtin(key, self.name, self.config.default_work_dir)
            if builtin is not None:
                return builtin
        if section is not None:
            document = self.config.document
            if document.get(section, key) is not None:
                value = self.config.raw(self.name, [key], [section])
                return Raw(f"[{section}]{key}", value[0].lines if value else [])
            if section.startswith("testenv:"):
                other = section[len("testenv:") :]
                value = self.config.raw(other, [key], self.config.chain(other))
                if value is not None:
                    return Raw(f"[{section}]{key}", value[0].lines)
        return default

    def set_env_lines(self) -> dict[str, tuple[str, int]]:
        if self._set_env is None:
            self._set_env = {}
            found = self.config.raw(self.name, ["set_env", "setenv"], self.chain)
            if found is not None:
                assert self.expander is not None
                lines = found[0].lines
                # A line that is a reference to other set_env lines (`{[testenv]set_env}`) brings them in.
                expanded: Lines = []
                for text, number in lines:
                    if "=" not in text and "{" in text:
                        expanded.extend(self.expander.lines([(text, number)]))
                    else:
                        expanded.append((text, number))
                self._set_env = _set_env_lines(expanded, self.config.shown, self.expander)
        return self._set_env

    def variable(self, name: str) -> Raw | None:
        found = self.set_env_lines().get(name)
        return None if found is None else Raw(f"env:{name}", [found])

    def static_set_env(self) -> dict[str, str]:
        assert self.expander is not None
        return _static_set_env(self.set_env_lines(), self.expander)


def _set_env_lines(lines: Lines, shown: str, expander: Expander) -> dict[str, tuple[str, int]]:
    values: dict[str, tuple[str, int]] = {}
    for text, number in lines:
        stripped = text.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("file|"):
            expander.warnings.append(
                (number, f"set_env file {stripped[5:]!r} is not read; its variables are not checked")
            )
            continue
        key, equals, value = stripped.partition("=")
        if not equals:
            raise SourceError(shown, number, f"set_env line is not NAME=value: {stripped!r}")
        values[key.strip()] = (value.strip(), number)
    return values


def _static_set_env(lines: Mapping[str, tuple[str, int]], expander: Expander) -> dict[str, str]:
    result: dict[str, str] = {}
    for key, (value, number) in lines.items():
        text = _set_env_value(key, [(value, number)], expander)
        if text is not None:
            result[key] = text
    return result


def _set_env_value(key: str, lines: Lines, expander: Expander) -> str | None:
    """A set_env value substituted; what cannot be resolved is only worth a warning for pip's and uv's variables."""
    before = len(expander.warnings)
    expander.chain.append(f"env:{key}")
    try:
        text = expander.text(*lines[0])
    finally:
        expander.chain.pop()
    if not key.startswith(_INSTALL_VARIABLES):
        del expander.warnings[before:]
    return text


# ----------------------------------------------------------------------------- TOML


class _TomlConfig:
    """tox.toml, or pyproject.toml's native `[tool.tox]`."""

    def __init__(self, text: str, shown: str, document: dict[str, Any], prefix: tuple[str, ...], project: bool) -> None:
        self.shown = shown
        self.document = document
        self.prefix = prefix
        self.project = project
        table: Any = document
        for key in prefix:
            table = table[key]
        self.table: dict[str, Any] = table
        self.packaged = not any(table.get(key) is True for key in ("no_package", "skipsdist"))
        self.default_work_dir = not any(key in table for key in _WORK_DIR_KEYS)
        self.positions = positions(text)
        self.generated: dict[str, str] = {}  # env_base-generated name -> its env_base table

    def read(self) -> Reading:
        read = Reading([])
        for name in self.names():
            read.environments.append(self.environment(name, read.warnings))
        read.warnings = list(dict.fromkeys(read.warnings))
        return read

    def _where(self, *keys: str) -> int:
        """The line of a key of the tox table."""
        return self.positions.line((*self.prefix, *keys))

    def line(self, path: _Key) -> int:
        """The line of a key path of the document."""
        return self.positions.line(path)

    def names(self) -> list[str]:
        names: dict[str, None] = {}
        listed = self.table.get("env_list", self.table.get("envlist", []))
        if not isinstance(listed, list):
            raise SourceError(self.shown, self._where("env_list"), "`env_list` is not an array")
        for item in listed:
            names.update(dict.fromkeys(self._list_item(item)))
        envs = self.table.get("env", {})
        if not isinstance(envs, dict):
            raise SourceError(self.shown, self._where("env"), "`env` is not a table")
        names.update(dict.fromkeys(envs))
        bases = self.table.get("env_base", {})
        if not isinstance(bases, dict):
            raise SourceError(self.shown, self._where("env_base"), "`env_base` is not a table")
        for base, table in bases.items():
            factors = table.get("factors") if isinstance(table, dict) else None
            if not isinstance(factors, list):
                raise SourceError(
                    self.shown, self._where("env_base", base), f"`env_base.{base}` has no `factors` array"
                )
            groups = (
                [self._group(g, ("env_base", base)) for g in factors]
                if factors and isinstance(factors[0], (list, dict))
                else [[str(f) for f in factors]]
            )
            for combination in _product(groups, self.shown, self._where("env_base", base)):
                generated = "-".join((base, *combination))
                self.generated[generated] = base
                names.setdefault(generated)
        return list(names) or [_DEFAULT_ENVIRONMENT]

    def _list_item(self, item: object) -> list[str]:
        where = self._where("env_list")
        if isinstance(item, str):
            return [item]
        if isinstance(item, dict) and "product" in item:
            groups = item["product"]
            if not isinstance(groups, list):
                raise SourceError(self.shown, where, "`product` in `env_list` is not an array")
            exclude = item.get("exclude") or []
            names = ["-".join(c) for c in _product([self._group(g, ("env_list",)) for g in groups], self.shown, where)]
            return [name for name in names if name not in exclude]
        if isinstance(item, dict):
            return self._group(item, ("env_list",))
        raise SourceError(self.shown, where, f"`env_list` item is neither a name nor a table: {item!r}")

    def _group(self, group: object, at: tuple[str, ...]) -> list[str]:
        """tox's factor group: a list of names, a `{prefix, start, stop}` range, a labelled one."""
        if isinstance(group, list) and all(isinstance(item, str) for item in group):
            return list(group)
        if isinstance(group, dict) and "prefix" in group:
            start, stop = group.get("start"), group.get("stop")
            if (
                (start is not None and type(start) is not int)
                or (stop is not None and type(stop) is not int)
                or start == stop is None
            ):
                raise SourceError(self.shown, self._where(*at), "a factor range needs integer `start` and/or `stop`")
            numbers = ini._open_range(start, stop) if start is None or stop is None else list(range(start, stop + 1))
            return [f"{group['prefix']}{number}" for number in numbers]
        if isinstance(group, dict) and len(group) == 1:
            (values,) = group.values()
            if isinstance(values, dict) and "prefix" in values:
                return self._group(values, at)
            if isinstance(values, dict) and isinstance(values.get("values"), list):
                return [str(value) for value in values["values"]]
            if isinstance(values, list):
                return [str(value) for value in values]
        raise SourceError(self.shown, self._where(*at), f"not a factor group: {group!r}")

    def tables(self, name: str) -> list[tuple[_Key, dict[str, Any]]]:
        """(key path in the document, table) an environment reads its keys from, nearest first."""
        envs = self.table.get("env", {})
        own = envs.get(name)
        chain: list[tuple[_Key, dict[str, Any]]] = []
        if isinstance(own, dict):
            chain.append(((*self.prefix, "env", name), own))
        if isinstance(own, dict) and "base" in own:
            bases = own["base"]
            if not isinstance(bases, list) or not all(isinstance(b, str) for b in bases):
                raise SourceError(self.shown, self._where("env", name, "base"), "`base` is not an array of strings")
        elif name in self.generated:
            bases = [f"env_base.{self.generated[name]}", "env_run_base"]
        else:
            bases = ["env_run_base"]
        for base in bases:
            if base.startswith("env_base."):
                paths: list[tuple[str, ...]] = [("env_base", base[len("env_base.") :])]
            else:
                paths = [(base,), ("env", base)]
            for path in paths:
                table = self._at(path)
                if isinstance(table, dict) and all((*self.prefix, *path) != p for p, _ in chain):
                    chain.append(((*self.prefix, *path), table))
        return chain

    def _install_options(self, unroll: _Unroll, found: tuple[object, _Key] | None) -> Lines:
        if found is None:
            return []
        value, path = found
        if isinstance(value, str):
            value = _protect_placeholders(value)
        elif isinstance(value, list):
            value = [_protect_placeholders(word) if isinstance(word, str) else word for word in value]
        words = unroll.value(value, path)
        line = self.line(path)
        if isinstance(words, list):
            return _install_constraints(shlex.join(str(word) for word, _ in words), line)
        return _install_constraints(words, line) if isinstance(words, str) else []

    def _at(self, path: Sequence[str]) -> object:
        current: object = self.table
        for key in path:
            if not isinstance(current, dict) or key not in current:
                return None
            current = current[key]
        return current

    def environment(self, name: str, warnings: list[Diagnostic]) -> Environment:
        chain = self.tables(name)
        unroll = _Unroll(self, name, chain, warnings)

        def raw(*keys: str) -> tuple[object, _Key] | None:
            for path, table in chain:
                for key in keys:
                    if key in table:
                        return table[key], (*path, key)
            return None

        def strings(key: str) -> Lines:
            found = raw(key)
            if found is None:
                return []
            value, path = found
            if isinstance(value, str) and key in ("deps", "constraints"):
                # tox reads a string there as the text of a requirements file.
                value = value.split("\n")
            items = unroll.value(value, path)
            if not isinstance(items, list):
                raise SourceError(self.shown, self.line(path), f"`{key}` is not an array")
            return [(item, line) for item, line in items if isinstance(item, str)]

        def flag(key: str) -> bool:
            found = raw(key)
            if found is None:
                return False
            value = unroll.value(found[0], found[1])
            if isinstance(value, str):
                return _boolean(value, self.shown, self.line(found[1]), key)
            if not isinstance(value, bool):
                raise SourceError(self.shown, self.line(found[1]), f"`{key}` is not a boolean")
            return value

        set_env = unroll.static_set_env()
        deps = strings("deps")
        extras = strings("extras")
        groups = strings("dependency_groups")
        constraints = strings("constraints")
        package = raw("package")
        package_value = unroll.value(*package) if package else None
        environment = Environment(
            name=name,
            label=f"{self.shown} [{'.'.join((*self.prefix, 'env'))}.{name}]",
            deps=_requirement_lines(deps, self.shown),
            extras=_names([text for text, _ in extras]),
            dependency_groups=_names([text for text, _ in groups]),
            set_env=set_env,
            installs_package=self.packaged
            and not flag("skip_install")
            and _packages(package_value if isinstance(package_value, str) else None, self.project),
            constrain_package_deps=flag("constrain_package_deps"),
            use_frozen_constraints=flag("use_frozen_constraints"),
            constraints=tuple((f"-c {text}", number) for text, number in constraints),
            install_options=tuple(self._install_options(unroll, raw("install_command"))),
            line=self._where("env", name),
        )
        _warn(self.shown, unroll.expander, warnings)
        return environment


def _product(groups: list[list[str]], shown: str, line: int) -> Iterator[tuple[str, ...]]:
    from itertools import product

    size = 1
    for group in groups:
        size *= len(group)
    if size > ini.MAX_NAMES:
        raise SourceError(shown, line, f"the factor groups make more than {ini.MAX_NAMES} environments")
    return product(*groups)


# A TOML value with its items placed: lists become [(item, line)], everything else stays as is.
_Located = Any


class _Unroll(Lookup):
    """tox's TOML `Unroll` for one environment: string substitution and `replace` tables."""

    def __init__(
        self,
        config: _TomlConfig,
        name: str,
        chain: list[tuple[_Key, dict[str, Any]]],
        warnings: list[Diagnostic],
    ) -> None:
        self.config = config
        self.name = name
        self.chain_tables = chain
        self.factors = ini.env_factors(name)
        self.expander = Expander(config.shown, self)
        self.warnings = warnings
        self._set_env: dict[str, tuple[object, _Key]] | None = None

    def value(self, value: object, path: _Key) -> _Located:
        """`value` (found at `path` of the document) unrolled; None when it cannot be resolved."""
        line = self.config.line(path)
        if isinstance(value, str):
            return self.expander.text(value, line)
        if isinstance(value, list):
            return self._list(value, path)
        if isinstance(value, dict):
            if "replace" in value:
                return self._directive(value, path, line)
            return {key: self.value(item, (*path, key)) for key, item in value.items()}
        return value

    def _list(self, items: list[object], path: _Key) -> list[tuple[object, int]]:
        result: list[tuple[object, int]] = []
        for index, item in enumerate(items):
            line = self.config.line((*path, index))
            if isinstance(item, dict) and "replace" in item:
                got = self._directive(item, (*path, index), line)
                if got is None:
                    continue
                if item.get("extend"):
                    if isinstance(got, list):
                        result.extend(got)
                    elif isinstance(got, str) and got:
                        result.append((got, line))
                    continue
                result.append((got, line))
            elif isinstance(item, str):
                text = self.expander.text(item, line)
                if text is not None:
                    result.extend((part, line) for part in text.split("\n"))
            else:
                result.append((self.value(item, (*path, index)), line))
        return result

    def _directive(self, table: dict[str, Any], path: _Key, line: int) -> _Located:
        kind = table.get("replace")
        if table.get("marker"):
            self.expander.warnings.append((line, "a `replace` table with a `marker` is not read; not checked"))
            return None
        if kind == "posargs":
            default = table.get("default", [])
            self.expander.warnings.append((line, f"posargs are given on the tox command line; read as {default!r}"))
            return self._list(default, (*path, "default")) if isinstance(default, list) else None
        if kind == "env":
            name = table.get("name")
            if not isinstance(name, str) or not name:
                raise SourceError(self.config.shown, line, '`replace = "env"` needs a `name` string')
            default = self.value(table.get("default", ""), (*path, "default"))
            if not isinstance(default, str):
                return None
            text = self.expander.variable(name, default, line)
            return text if isinstance(text, str) else "\n".join(t for t, _ in text)
        if kind == "ref":
            return self._reference(table, path, line)
        if kind == "if":
            return self._condition(table, path, line)
        self.expander.warnings.append((line, f"`replace = {kind!r}` is not resolved statically; not checked"))
        return None

    def _reference(self, table: dict[str, Any], path: _Key, line: int) -> _Located:
        environment, key, of = table.get("env"), table.get("key"), table.get("of")
        if isinstance(environment, str) and isinstance(key, str):
            ref = f"env.{environment}.{key}"
            target = self._env_value(environment, key)
            if target is None:
                return None
            value, at = target
        elif isinstance(of, list) and all(isinstance(part, str) for part in of):
            names: tuple[str, ...] = tuple(of)
            at = names
            ref = ".".join(names)
            value = self.config.document
            for part in at:
                if not isinstance(value, dict) or part not in value:
                    raise SourceError(self.config.shown, line, f"`ref` names {ref!r}, which is not in the file")
                value = value[part]
        else:
            raise SourceError(self.config.shown, line, '`replace = "ref"` needs `of` (an array) or `env` and `key`')
        chain = self.expander.chain
        if ref in chain:
            raise SourceError(
                self.config.shown, line, f"substitution cycle: {' -> '.join([*chain[chain.index(ref) :], ref])}"
            )
        chain.append(ref)
        try:
            return self.value(value, at)
        finally:
            chain.pop()

    def _env_value(self, environment: str, key: str) -> tuple[object, _Key] | None:
        for path, table in self.config.tables(environment):
            if key in table:
                return table[key], (*path, key)
        return None

    def _condition(self, table: dict[str, Any], path: _Key, line: int) -> _Located:
        condition = table.get("condition")
        if not isinstance(condition, str) or "then" not in table:
            raise SourceError(self.config.shown, line, '`replace = "if"` needs a `condition` string and `then`')
        import ast

        try:
            tree = ast.parse(condition, mode="eval")
            holds = bool(self._evaluate(tree.body, line))
        except (SyntaxError, RecursionError, ValueError) as exc:
            raise SourceError(self.config.shown, line, f"cannot read condition {condition!r}: {exc}") from None
        branch = "then" if holds else "else"
        return self.value(table.get(branch, ""), (*path, branch))

    def _evaluate(self, node: ast.expr, line: int) -> str | bool:
        import ast

        if isinstance(node, ast.BoolOp):
            values = [bool(self._evaluate(value, line)) for value in node.values]
            return all(values) if isinstance(node.op, ast.And) else any(values)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return not self._evaluate(node.operand, line)
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], (ast.Eq, ast.NotEq)):
            left, right = self._evaluate(node.left, line), self._evaluate(node.comparators[0], line)
            return (left == right) == isinstance(node.ops[0], ast.Eq)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name) and node.id == "env_name":
            return self.name
        namespace, key = _attribute(node)
        if namespace == "factor":
            if key in ini.PLATFORM_FACTORS and key not in self.factors:
                self.expander.warnings.append((line, f"condition on platform factor {key!r}; read as holding"))
                return True
            return key in self.factors
        if namespace == "env":
            found = self.variable(key)
            if found is None:
                self.expander.warnings.append((line, f"condition reads env.{key}, set where tox runs; read as unset"))
                return ""
            text = self.expander.text(found.lines[0][0], found.lines[0][1])
            return text or ""
        raise ValueError(f"unsupported expression {ast.dump(node)}")

    # Lookup: `{...}` in strings.
    def reference(self, text: str, line: int) -> Raw | str | None:
        found = _REFERENCE.match(text)
        if found is None:
            return None
        section, key, default = found.group("section", "key", "default")
        if section is None:
            return _builtin(key, self.name, self.config.default_work_dir) or default
        env_prefix = ".".join((*self.config.prefix, "env")) + "."
        if section.startswith(env_prefix):
            target = self._env_value(section[len(env_prefix) :], key)
            at: _Key = ()
            value: object = None
            if target is not None:
                value, at = target
        else:
            at = (*section.split("."), key)
            value = self._at_document(at)
        if value is None:
            return default
        if isinstance(value, list):
            items = [(item, self.config.line((*at, index))) for index, item in enumerate(value)]
            return Raw(f"[{section}]{key}", [(item, number) for item, number in items if isinstance(item, str)])
        if isinstance(value, str):
            return Raw(f"[{section}]{key}", [(value, self.config.line(at))])
        return (
            json.dumps(value)
            if isinstance(value, dict)
            else str(value).lower()
            if isinstance(value, bool)
            else str(value)
        )

    def set_env(self) -> dict[str, tuple[object, _Key]]:
        if self._set_env is None:
            self._set_env = {}
            for path, table in self.chain_tables:
                for key in ("set_env", "setenv"):
                    if key in table:
                        self._set_env = self._set_env_table(table[key], (*path, key))
                        return self._set_env
        return self._set_env

    def _set_env_table(self, value: object, path: _Key) -> dict[str, tuple[object, _Key]]:
        if isinstance(value, dict) and value.get("replace") == "ref" and isinstance(value.get("of"), list):
            of = tuple(value["of"])
            return self._set_env_table(self._at_document(of), of)
        if not isinstance(value, dict):
            raise SourceError(self.config.shown, self.config.line(path), "`set_env` is not a table")
        return {key: (item, (*path, key)) for key, item in value.items()}

    def _at_document(self, path: _Key) -> object:
        current: object = self.config.document
        for part in path:
            current = current.get(part) if isinstance(current, dict) else None
        return current

    def variable(self, name: str) -> Raw | None:
        found = self.set_env().get(name)
        if found is None:
            return None
        value, path = found
        line = self.config.line(path)
        if isinstance(value, dict):
            # Resolved as the variable itself, so that a `replace = "env"` of its own name reads the host's.
            self.expander.chain.append(f"env:{name}")
            try:
                resolved = self.value(value, path)
            finally:
                self.expander.chain.pop()
            # Already substituted: the text is escaped so that it is not substituted again.
            text = resolved if isinstance(resolved, str) else ""
            return Raw(f"env:{name}", [(re.sub(r"([\\{}:\[\]])", r"\\\1", text), line)])
        return Raw(f"env:{name}", [(str(value), line)])

    def static_set_env(self) -> dict[str, str]:
        result: dict[str, str] = {}
        for key in self.set_env():
            before = len(self.expander.warnings)
            raw = self.variable(key)  # a `replace` table is resolved here
            assert raw is not None
            text = _set_env_value(key, raw.lines, self.expander)
            if not key.startswith(_INSTALL_VARIABLES):
                del self.expander.warnings[before:]
            if text is not None:
                result[key] = text
        return result


def _attribute(node: ast.expr) -> tuple[str | None, str]:
    import ast

    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return node.value.id, node.attr
    if (
        isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Name)
        and isinstance(node.slice, ast.Constant)
        and isinstance(node.slice.value, str)
    ):
        return node.value.id, node.slice.value
    return None, ""


# ----------------------------------------------------------------------------- the project's own extras and groups


class _Project:
    """The pyproject.toml beside the tox file: the extras and dependency groups environments install."""

    def __init__(self, root: Path, workdir: str, shown: str, allow_outside_root: bool) -> None:
        self.root = root
        self.shown = shown
        self.pyproject = posixpath.normpath(posixpath.join(workdir, "pyproject.toml"))
        self.allow_outside_root = allow_outside_root
        self._declared: dict[str, list[Declaration]] | None = None
        self._problem: Diagnostic | None = None
        self._probes: dict[tuple[object, ...], dict[int, str | None]] = {}
        self._included: tuple[str, ...] = ()  # pyproject.toml and the files it reads

    def _pins(self, found: list[Declaration], environment: Environment, context: Context) -> dict[int, str | None]:
        """What pins each of `found` (by position, from 1) when installed in this environment.

        What pins an install of their requirements here: the same call of the install reader,
        each requirement on a line numbered by its position. Most environments have nothing that
        pins (and share what does), so the call is made once per distinct set of constraints.
        """
        options = tuple(text for text, _ in (*environment.constraints, *environment.install_options))
        variables = tuple(sorted((k, v) for k, v in environment.set_env.items() if k.startswith(_INSTALL_VARIABLES)))
        if not options and not variables:
            return {}
        key = (tuple(d.requirement for d in found), options, variables)
        if key not in self._probes:
            probe = [(declaration.requirement, index) for index, declaration in enumerate(found, start=1)]
            lines = [*probe, *((text, 0) for text in options)]
            self._probes[key] = {d.line: d.pinned_by for d in requirement_lines(lines, context).declarations}
        return self._probes[key]

    def _read(self) -> dict[str, list[Declaration]]:
        if self._declared is None:
            self._declared = {}
            path = self.root / self.pyproject
            if not path.is_file():
                self._problem = Diagnostic(
                    self.shown,
                    None,
                    "there is no pyproject.toml beside it to read extras and dependency groups from; not checked",
                )
                return self._declared
            try:
                from envguard.declared import pyproject
            except ImportError:
                self._problem = Diagnostic(
                    self.shown, None, "extras and dependency groups are not read yet; not checked"
                )
                return self._declared
            try:
                loaded = pyproject.load(path, self.pyproject, allow_outside_root=self.allow_outside_root)
            except SourceError as exc:
                self._problem = Diagnostic(self.shown, None, f"extras and dependency groups not read: {exc}")
                return self._declared
            self._included = (self.pyproject, *loaded.included)
            for declaration in loaded.declarations:
                for group in declaration.groups:
                    # tox installs extras through the built package's metadata (PEP 621 or Poetry
                    # extras alike), and dependency groups only from PEP 735 `[dependency-groups]`.
                    if group.startswith("extra:") or declaration.origin == "dependency-groups":
                        self._declared.setdefault(group, []).append(declaration)
        return self._declared

    def declarations(
        self,
        environment: Environment,
        context: Context,
        deps: Sequence[Declaration],
        warnings: list[Diagnostic],
        included: list[str],
    ) -> list[Declaration]:
        wanted = [extra_group(extra) for extra in environment.extras] if environment.installs_package else []
        wanted += list(environment.dependency_groups)
        if not wanted:
            return []
        declared = self._read()
        if self._problem is not None:
            warnings.append(dataclasses.replace(self._problem, line=environment.line))
            return []
        included.extend(self._included)
        found: list[Declaration] = []
        for group in wanted:
            if group not in declared:
                what = (
                    f"extra {group[len('extra:') :]!r}" if group.startswith("extra:") else f"dependency group {group!r}"
                )
                warnings.append(
                    Diagnostic(self.shown, environment.line, f"{environment.label}: {what} is not in {self.pyproject}")
                )
            found.extend(declared.get(group, []))
        return self._pinned(found, environment, context, deps)

    def _pinned(
        self, found: list[Declaration], environment: Environment, context: Context, deps: Sequence[Declaration]
    ) -> list[Declaration]:
        pins = self._pins(found, environment, context)
        exact = {d.name for d in deps if d.version is not None}
        named = {d.name for d in deps}
        result = []
        for index, declaration in enumerate(found, start=1):
            pinned_by = pins.get(index)
            if pinned_by is None and environment.constrain_package_deps and declaration.version is None:
                if environment.use_frozen_constraints and declaration.name in named:
                    pinned_by = "use_frozen_constraints (the versions its deps installed)"
                elif declaration.name in exact:
                    pinned_by = "constrain_package_deps (its == pin in deps)"
            result.append(
                dataclasses.replace(
                    declaration,
                    environment=environment.label,
                    origin=ORIGIN,
                    install=True,
                    pinned_by=None if declaration.version is not None else pinned_by,
                )
            )
        return result
