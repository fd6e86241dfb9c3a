"""hatch environments (`[tool.hatch.envs.*]` in pyproject.toml, `[envs.*]` in hatch.toml).

The rules are hatch's own (`hatch.project.config.ProjectConfig.envs`, hatch 1.16), followed in
its order:

1. Every environment of the file, plus `default` (always there) and hatch's internal
   environments the file configures (`hatch-test`, `hatch-static-analysis`, ...), which are
   their own template. Their built-in dependencies come from hatch, not from the file, and
   are not declared; neither is the built-in matrix of `hatch-test`.
2. Inheritance: `template` (default `default`; `detached = true` means no template and
   `skip-install`); every option the environment does not set comes from its template, the
   matrix excepted, `overrides` included. An unknown template or a cycle is an error.
3. Overrides: `overrides.matrix.<variable>` and `overrides.name.<regex>` depend only on the
   file and are applied (`dependencies`, `extra-dependencies`, `features`,
   `dependency-groups`, their `set-` forms, `skip-install`; entries with `if`).
   `overrides.platform.*`, `overrides.env.*` and entries conditioned on `platform` or `env`
   depend on the machine hatch runs on: they are not applied, and each one that changes what
   is installed is a warning at its line.
4. Matrices generate the environments `<env>.<values joined by ->` (`py` prefixed to a Python
   value, the `py`/`python` variable first, `matrix-name-format` applied to the others, no
   `default.` prefix), exactly as hatch names them.

Each environment declares its `dependencies` and `extra-dependencies` (at their lines, also
when inherited or added by an override), the requirements of its `features` (the project's
extras, at their lines in `[project.optional-dependencies]`, expanded as hatch's
resolve_extras does) and of its `dependency-groups`. Origin `hatch`, groups empty. Label: the
table (`pyproject.toml [tool.hatch.envs.test]`, `hatch.toml [envs.test]`), followed by the
generated name for a matrix environment (`pyproject.toml [tool.hatch.envs.test] test.py3.12`),
the name `hatch run` and `hatch env show` use. The project itself, which an environment
without `skip-install` also installs, brings its `[project] dependencies`: those are declared
once, in that environment of pyproject.toml, not again per hatch environment.

A requirement using hatch's context formatting (`{root:uri}`, `{env:VAR}`) cannot be read
statically: it is a warning, not a declaration.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any

from envguard.declared._project import Entry, Project, Reader, Target, declare
from envguard.declared._tomlpos import Path as KeyPath
from envguard.declared._tomlpos import positions
from envguard.errors import SourceError
from envguard.model import Kind, Loaded, normalize
from envguard.sources._text import read_text
from envguard.sources._toml import parse_toml

# hatch.env.internal.get_internal_env_config: each is its own template.
_INTERNAL = (
    "hatch-build",
    "hatch-check-code",
    "hatch-check-fmt",
    "hatch-check-types",
    "hatch-static-analysis",
    "hatch-test",
    "hatch-uv",
)
_LISTS = ("dependencies", "extra-dependencies", "features", "dependency-groups")
_CONTEXT = re.compile(r"\{[^{}]*\}")


def load(path: Path, shown: str, *, allow_outside_root: bool = False) -> Loaded:
    """hatch.toml: its `[envs.*]`, with the features and groups of the pyproject.toml beside it."""
    from envguard.declared.pyproject import finish, project_of

    text = read_text(path, shown)
    data = parse_toml(text, shown)
    if "envs" not in data:
        return Loaded(())
    reader = Reader(shown, positions(text))
    project = Project(None)
    pyproject = path.parent / "pyproject.toml"
    if pyproject.is_file():
        pyproject_shown = posixpath.join(posixpath.dirname(shown), "pyproject.toml")
        pyproject_text = read_text(pyproject, pyproject_shown)
        project_reader = Reader(pyproject_shown, positions(pyproject_text))
        project = project_of(project_reader, parse_toml(pyproject_text, pyproject_shown))
        reader.included.append(pyproject_shown)
    declare_environments(reader, project, data, (), {})
    return finish(reader)


@dataclass
class _Env:
    """One environment's options: list options as located entries, the rest as parsed."""

    values: dict[str, Any] = field(default_factory=dict)
    # The environment whose table wrote each option (inherited options keep their writer).
    owner: dict[str, str] = field(default_factory=dict)


def declare_environments(
    reader: Reader, project: Project, config: dict[str, Any], base: KeyPath, kinds: dict[str, Kind]
) -> None:
    """Declare every environment of `config` (tool.hatch, or a hatch.toml document) at `base`."""
    envs_key = base + ("envs",)
    header = ".".join((*(str(part) for part in base), "envs"))
    tables = reader.table(config.get("envs"), envs_key, header)
    envs: dict[str, _Env] = {}
    for name in _INTERNAL:
        if name in tables:
            envs[name] = _Env({"template": name}, {"template": name})
    for name, table in tables.items():
        env = envs.setdefault(name, _Env())
        for option, value in reader.table(table, envs_key + (name,), f"{header}.{name}").items():
            env.owner[option] = name
            env.values[option] = (
                _entries(reader, value, envs_key + (name, option), f"{header}.{name}.{option}")
                if option in _LISTS
                else value
            )
    envs.setdefault("default", _Env())
    done: set[str] = set()
    for name in envs:
        _inherit(reader, envs_key, envs, name, done, [])
    walk = _Walk(reader, project, envs_key, header, kinds)
    for name, env in envs.items():
        walk.environment(name, env)


def _entries(reader: Reader, value: Any, key: KeyPath, what: str) -> list[Entry]:
    return reader.strings(value, key, what)


def _inherit(
    reader: Reader, envs_key: KeyPath, envs: dict[str, _Env], name: str, done: set[str], active: list[str]
) -> None:
    """hatch's _populate_default_env_values."""
    if name in done:
        return
    env = envs[name]
    if env.values.pop("detached", False):
        env.values["template"] = name
        env.values["skip-install"] = True
        env.owner["skip-install"] = env.owner["template"] = name
    template = env.values.pop("template", "default")
    if not isinstance(template, str) or template not in envs:
        line = reader.line(envs_key + (env.owner.get("template", name), "template"))
        raise SourceError(reader.shown, line, f"environment {name!r} has an unknown template {template!r}")
    if name in active:
        chain = " -> ".join((*active, name))
        raise SourceError(
            reader.shown, reader.line(envs_key + (name,)), f"circular hatch template inheritance: {chain}"
        )
    if template == name:
        done.add(name)
        return
    active.append(name)
    parent = envs[template]
    _inherit(reader, envs_key, envs, template, done, active)
    for option, value in parent.values.items():
        if option != "matrix" and option not in env.values:
            env.values[option] = value
            env.owner[option] = parent.owner.get(option, template)
    done.add(name)
    active.pop()


class _Walk:
    def __init__(
        self, reader: Reader, project: Project, envs_key: KeyPath, header: str, kinds: dict[str, Kind]
    ) -> None:
        self.reader, self.project, self.envs_key, self.header, self.kinds = reader, project, envs_key, header, kinds

    def environment(self, name: str, env: _Env) -> None:
        values = dict(env.values)
        owner = env.owner
        name_format = values.pop("matrix-name-format", "{value}")
        if not isinstance(name_format, str) or "{value}" not in name_format:
            raise self._error(owner, name, "matrix-name-format", "`matrix-name-format` must be a string with {value}")
        overrides = values.pop("overrides", {})
        overrides_key = self.envs_key + (owner.get("overrides", name), "overrides")
        if not isinstance(overrides, dict):
            raise self._error(owner, name, "overrides", "`overrides` must be a table")
        for source in ("platform", "env"):
            for condition, options in self._table(overrides.get(source), overrides_key + (source,)).items():
                self._machine_dependent(options, overrides_key + (source, condition), f"{source} {condition!r}")
        matrices = values.pop("matrix", None)
        label = f"{self.reader.shown} [{self.header}.{name}]"
        if matrices is None:
            self._declare(values, label)
            return
        if not isinstance(matrices, list):
            raise self._error(owner, name, "matrix", "`matrix` must be an array of tables")
        matrix_overrides = self._table(overrides.get("matrix"), overrides_key + ("matrix",))
        name_overrides = self._table(overrides.get("name"), overrides_key + ("name",))
        for index, matrix in enumerate(matrices):
            for generated, config in self._matrix(
                name,
                values,
                matrix,
                (name, "matrix", index),
                name_format,
                matrix_overrides,
                name_overrides,
                overrides_key,
            ):
                self._declare(config, f"{label} {generated}")

    def _matrix(
        self,
        name: str,
        values: dict[str, Any],
        matrix: Any,
        key: KeyPath,
        name_format: str,
        matrix_overrides: dict[str, Any],
        name_overrides: dict[str, Any],
        overrides_key: KeyPath,
    ) -> list[tuple[str, dict[str, Any]]]:
        reader = self.reader
        where = self.envs_key + key
        if not isinstance(matrix, dict) or not matrix:
            raise SourceError(
                reader.shown, reader.line(where), f"a matrix of environment {name!r} must be a non-empty table"
            )
        variables: dict[str, list[str]] = {}
        python = [variable for variable in ("py", "python") if variable in matrix]
        if len(python) > 1:
            raise SourceError(reader.shown, reader.line(where), "a matrix cannot have both `py` and `python`")
        for variable in (*python, *(v for v in matrix if v not in python)):
            options = matrix[variable]
            if not isinstance(options, list) or not options or not all(isinstance(o, str) and o for o in options):
                message = f"matrix variable {variable!r} must be a non-empty array of non-empty strings"
                raise SourceError(reader.shown, reader.line(where + (variable,)), message)
            if len(set(options)) != len(options):
                raise SourceError(
                    reader.shown, reader.line(where + (variable,)), f"matrix variable {variable!r} repeats a value"
                )
            variables[variable] = options
        generated: list[tuple[str, dict[str, Any]]] = []
        for combination in product(*variables.values()):
            chosen = dict(zip(variables, combination))
            config = {option: list(value) if isinstance(value, list) else value for option, value in values.items()}
            for variable, options in matrix_overrides.items():
                if variable in chosen:
                    self._apply(options, overrides_key + ("matrix", variable), chosen[variable], config)
            parts = []
            for position, (variable, value) in enumerate(chosen.items()):
                if position == 0 and python:
                    parts.append(value if value.startswith("py") else f"py{value}")
                else:
                    parts.append(name_format.format(variable=variable, value=value))
            env_name = "-".join(parts)
            for pattern, options in name_overrides.items():
                try:
                    matched = re.search(pattern, env_name) is not None
                except re.error as exc:
                    line = reader.line(overrides_key + ("name", pattern))
                    raise SourceError(reader.shown, line, f"invalid name override pattern {pattern!r}: {exc}") from None
                if matched:
                    self._apply(options, overrides_key + ("name", pattern), env_name, config)
            generated.append((env_name if name == "default" else f"{name}.{env_name}", config))
        return generated

    def _apply(self, options: Any, key: KeyPath, condition_value: str, config: dict[str, Any]) -> None:
        """hatch's apply_overrides, for the options that change what is installed."""
        reader = self.reader
        for raw_option, data in self._table(options, key).items():
            _, separator, option = raw_option.rpartition("set-")
            where = key + (raw_option,)
            if option in _LISTS:
                if not isinstance(data, list):
                    raise SourceError(reader.shown, reader.line(where), f"override `{raw_option}` must be an array")
                added: list[Entry] = []
                for index, item in enumerate(data):
                    line = reader.line(where + (index,))
                    if isinstance(item, str):
                        added.append(Entry(item, reader.shown, line))
                    elif isinstance(item, dict) and isinstance(item.get("value"), str):
                        if self._holds(item, condition_value, line, raw_option):
                            added.append(Entry(item["value"], reader.shown, line))
                    else:
                        message = f"override `{raw_option}` entries must be strings or tables with a string `value`"
                        raise SourceError(reader.shown, line, message)
                if separator:
                    config[option] = added
                else:
                    config[option] = [*config.get(option, []), *added]
            elif option == "skip-install":
                self._boolean(data, where, condition_value, config)

    def _boolean(self, data: Any, where: KeyPath, condition_value: str, config: dict[str, Any]) -> None:
        reader = self.reader
        items = data if isinstance(data, list) else [data]
        for index, item in enumerate(items):
            line = reader.line(where + (index,) if isinstance(data, list) else where)
            if isinstance(item, bool):
                config["skip-install"] = item
                return
            if isinstance(item, dict) and isinstance(item.get("value"), bool):
                if self._holds(item, condition_value, line, "skip-install"):
                    config["skip-install"] = item["value"]
                    return
                continue
            raise SourceError(
                reader.shown, line, "override `skip-install` must be a boolean or a table with a boolean `value`"
            )

    def _holds(self, item: dict[str, Any], condition_value: str, line: int, option: str) -> bool:
        """hatch's _resolve_condition, where the condition can be known without the machine."""
        allowed = item.get("if")
        if allowed is not None:
            if not isinstance(allowed, list):
                raise SourceError(self.reader.shown, line, f"`if` of an override of `{option}` must be an array")
            if condition_value not in allowed:
                return False
        machine = [condition for condition in ("platform", "env") if condition in item]
        if machine:
            self.reader.warn(
                line, f"override of `{option}` depends on the {' and '.join(machine)} hatch runs on: not applied"
            )
            return False
        return True

    def _machine_dependent(self, options: Any, key: KeyPath, what: str) -> None:
        for raw_option in self._table(options, key):
            option = raw_option.rpartition("set-")[2]
            if option in _LISTS or option == "skip-install":
                line = self.reader.line(key + (raw_option,))
                self.reader.warn(
                    line, f"override of `{option}` for {what} depends on the machine hatch runs on: not applied"
                )

    def _declare(self, config: dict[str, Any], label: str) -> None:
        reader, project = self.reader, self.project
        target = Target(label, "hatch", ())
        for option in ("dependencies", "extra-dependencies"):
            for entry in config.get(option, []):
                if _CONTEXT.search(entry.text):
                    reader.warn(entry.line, f"{entry.text!r} uses hatch context formatting: not read", entry.path)
                    continue
                declare(reader, project, entry, target, self.kinds)
        for entry in config.get("features", []):
            feature = normalize(entry.text)
            extra = project.extras.get(feature)
            if extra is None:
                reader.warn(entry.line, f"feature {entry.text!r} is not in [project.optional-dependencies]", entry.path)
                continue
            for included in extra:
                declare(reader, project, included, target, self.kinds)
        for entry in config.get("dependency-groups", []):
            if project.groups is None or normalize(entry.text) not in project.groups.written:
                reader.warn(entry.line, f"dependency group {entry.text!r} is not in [dependency-groups]", entry.path)
                continue
            for included in project.groups.resolve(entry.text):
                declare(reader, project, included, target, self.kinds)

    def _table(self, value: Any, key: KeyPath) -> dict[str, Any]:
        return self.reader.table(value, key, ".".join(str(part) for part in key))

    def _error(self, owner: dict[str, str], name: str, option: str, message: str) -> SourceError:
        line = self.reader.line(self.envs_key + (owner.get(option, name), option))
        return SourceError(self.reader.shown, line, f"environment {name!r}: {message}")
