"""GitHub Actions workflows and local composite actions, read as the installs their steps run.

Every `run:` step of every job is a shell script, handed to `install.script` with the line of
its first line in the file (a `run: |` block starts on the line after `run:`; a folded `>` or
multi-line plain or quoted script keeps its words on their own lines, see
`_yaml.Scalar.lines_kept`). The environment is `<file> job <job id>, step <name>` (`step N`,
1-based, for a step without a name); the origin is "github"; each declaration's directory is
the directory the step runs in.

What a step's context is, as GitHub evaluates it:

* The shell: the step's `shell`, else the job's, else the workflow's `defaults.run.shell`;
  `bash`, `sh` (and custom `bash -e {0}` forms) are read. A script for `pwsh`, `powershell`,
  `cmd`, `python` or another interpreter is not read; it draws a warning only when it visibly
  runs `pip install` or `uv pip install`, since envguard then knows it misses an install. A step
  without a shell is read as POSIX shell whatever its runner: on Windows runners the default
  is PowerShell, but `runs-on` is often an expression, and the install lines CI files hold read
  the same in both.
* The directory: the step's `working-directory`, else the job's, else the workflow's
  `defaults.run.working-directory`, else the workspace root; relative to the root, or starting
  with `${{ github.workspace }}`. A directory that holds any other expansion (`$HOME`, an
  expression envguard cannot evaluate) or is absolute is unknown, and the install API warns for
  what depends on it.
* The variables: the workflow's `env`, then the job's, then the step's. A value set from an
  expression envguard cannot evaluate (`${{ secrets.X }}`) is passed on as set but unknown
  (`Context.unknown`): `$X` is dynamic, and a `PIP_CONSTRAINT` so set pins at run time.
* Expressions `${{ ... }}` are substituted before the shell sees the script, as GitHub does:
  `env.X`, `matrix.x` (also `matrix.x.y`, `matrix['x']`), `inputs.x` inside actions, quoted
  literals, and `a || b` of those. Anything else (`github.*`, `steps.*`, functions, `&&`) stays
  as written, which the shell reader marks dynamic (a warning where it matters).

Matrices: a job's static `strategy.matrix` is expanded by GitHub's rules (the product of its
lists, then `exclude`, then `include`: an include entry extends every combination it
overwrites no original value of, or is a combination of its own). A step is evaluated for every
combination; only when combinations give it different scripts, directories, shells or install
variables is it declared once per distinct one, with the matrix values it uses in the label
(`job test (python 3.12), step Install`); otherwise once, unlabelled. A matrix given by an
expression (`fromJSON(...)`) leaves `matrix.*` unresolved.

Local composite actions (`uses: ./path`) are read through the workflow that calls them, step by
step, with the caller's `with:` inputs (else the inputs' defaults), variables and matrix, each
step in the directory it names (a job's defaults do not reach into an action, as on GitHub):
`... job test, step Setup (action ./.github/actions/setup, step Install)`. The action's
declarations carry its own file and lines. An action file loaded on its own (`action.yml`) is
checked for being well formed and declares nothing: it runs only as a step of the workflows
that call it, where its inputs are known, and declaring it on its own as well would report each
of its installs twice. Nested local actions are followed up to GitHub's depth limit (10).
Reusable workflows (`jobs.<id>.uses: ./.github/workflows/x.yml`) are not followed: the called
workflow is loaded on its own, where `${{ inputs.* }}` stays unresolved.

Workflow values are read by YAML 1.2's rules, as GitHub reads them: `3.10` is the number 3.1,
`yes` is a string.
"""

from __future__ import annotations

import itertools
import json
import math
import posixpath
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from envguard._record import record
from envguard.declared import _yaml
from envguard.declared.install import Context, root_of, script
from envguard.errors import SourceError
from envguard.model import Declaration, Diagnostic, Loaded
from envguard.sources._text import read_text

__all__ = ["load"]

ORIGIN = "github"
MAX_ACTION_DEPTH = 10  # GitHub's limit on composite actions nested in composite actions
MAX_COMBINATIONS = 256  # GitHub's limit on the jobs one matrix makes

_POSIX_SHELLS = frozenset({"bash", "sh"})
_VISIBLE_INSTALL = re.compile(r"\b(pip[0-9.]*|-m\s*pip|uv\s+pip)\s+install\b")
_EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)
_WORKSPACE = re.compile(r"^\$\{\{\s*github\.workspace\s*\}\}(?=/|$)", re.IGNORECASE)


def load(path: Path, shown: str, *, allow_outside_root: bool = False) -> Loaded:
    """The installs of a workflow's `run:` steps; nothing for a composite action loaded on its own."""
    document = _yaml.load(read_text(path, shown), shown)
    reader = _Reader(root_of(path, shown), allow_outside_root)
    if posixpath.basename(shown) in ("action.yml", "action.yaml"):
        reader.parse_action(document, shown)
        return Loaded(())
    reader.workflow(document, shown)
    # A step evaluated for several matrix combinations warns once for what they share.
    warnings = tuple(dict.fromkeys(reader.warnings))
    return Loaded((), tuple(reader.included), warnings, tuple(dict.fromkeys(reader.declarations)))


# ----------------------------------------------------------------------------- values


_NULL = re.compile(r"^(null|Null|NULL|~|)$")
_BOOL = re.compile(r"^(true|True|TRUE|false|False|FALSE)$")
_INT = re.compile(r"^[-+]?[0-9]+$|^0o[0-7]+$|^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$|^[-+]?\.(inf|Inf|INF)$|^\.(nan|NaN|NAN)$")


def _scalar_value(scalar: _yaml.Scalar) -> object:
    """A scalar as GitHub reads it: YAML 1.2's core schema for plain scalars."""
    text = scalar.value
    if not scalar.plain:
        return text
    if _NULL.match(text):
        return None
    if _BOOL.match(text):
        return text.lower() == "true"
    if _INT.match(text):
        return int(text, 0) if text.startswith(("0o", "0x")) else int(text)
    if _FLOAT.match(text):
        return float(text.lower())
    return text


def _to_string(value: object) -> str | None:
    """How an expression's value reads in a script; None for an object or array."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e21:
            return str(int(value))
        return "Infinity" if value == math.inf else "-Infinity" if value == -math.inf else repr(value)
    if isinstance(value, (dict, list)):
        return None
    return str(value)


def _data(node: _yaml.Node) -> object:
    """A node as plain data (matrix values, `with:` inputs)."""
    if isinstance(node, _yaml.Scalar):
        return _scalar_value(node)
    if isinstance(node, _yaml.Seq):
        return [_data(item) for item in node.items]
    return {key: _data(value) for key, value in node.items()}


def _truthy(value: object) -> bool:
    return value not in (None, False, "", 0)


# ----------------------------------------------------------------------------- expressions


class _Unknown(Exception):
    """An expression envguard cannot evaluate."""


@dataclass
class _Scope:
    """The contexts an expression can read, and the matrix values it read."""

    env: Mapping[str, str | None]  # None: set, but not known statically
    matrix: Mapping[str, object] | None  # None: not known statically
    inputs: Mapping[str, str | None] | None = None  # inside an action; keys lower-cased
    used: list[tuple[str, ...]] = field(default_factory=list)


_OPERAND = re.compile(
    r"""\s*('(?:[^']|'')*'|[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*|\[\s*'(?:[^']|'')*'\s*\])*|[-+.\w]+)\s*"""
)
_PROPERTY = re.compile(r"""\.([A-Za-z_][\w-]*)|\[\s*'((?:[^']|'')*)'\s*\]""")
_NAME = re.compile(r"[A-Za-z_][\w-]*")
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?|0[xX][0-9a-fA-F]+")


def _substitute(text: str, scope: _Scope) -> str:
    """`text` with every `${{ ... }}` envguard can evaluate replaced by its value."""
    if "${{" not in text:
        return text

    def replace(found: re.Match[str]) -> str:
        try:
            value = _to_string(_evaluate(found.group(1), scope))
        except _Unknown:
            return found.group(0)
        return found.group(0) if value is None else value

    return _EXPRESSION.sub(replace, text)


def _evaluate(expression: str, scope: _Scope) -> object:
    operands: list[str] = []
    position = 0
    while True:
        found = _OPERAND.match(expression, position)
        if found is None:
            raise _Unknown
        operands.append(found.group(1))
        position = found.end()
        if position == len(expression):
            break
        if not expression.startswith("||", position):
            raise _Unknown
        position += 2
    value: object = None
    for operand in operands:
        value = _operand(operand, scope)
        if _truthy(value):
            return value
    return value


def _operand(text: str, scope: _Scope) -> object:
    if text.startswith("'"):
        return text[1:-1].replace("''", "'")
    if text in ("true", "false", "null"):
        return None if text == "null" else text == "true"
    if _NUMBER.fullmatch(text):
        return int(text, 16) if text.lower().startswith("0x") else float(text)
    name = _NAME.match(text)
    if name is None:
        raise _Unknown
    context = name.group(0).lower()
    path = [plain or quoted.replace("''", "'") for plain, quoted in _PROPERTY.findall(text, name.end())]
    if context == "env":
        return _lookup_env(scope.env, path)
    if context == "matrix" and scope.matrix is not None:
        scope.used.append(tuple(path))
        return _lookup(scope.matrix, path)
    if context == "inputs" and scope.inputs is not None:
        if len(path) != 1:
            raise _Unknown
        value = scope.inputs.get(path[0].lower(), "")  # an input nobody declared reads as empty
        if value is None:
            raise _Unknown
        return value
    raise _Unknown


def _lookup_env(env: Mapping[str, str | None], path: list[str]) -> object:
    if len(path) != 1:
        raise _Unknown
    name = path[0]
    if name not in env:
        # The env context is a mapping: its keys are matched whatever their case.
        name = next((key for key in env if key.lower() == name.lower()), name)
    # A name set by no `env:` may be set by an earlier step (through $GITHUB_ENV): unknown.
    value = env.get(name)
    if value is None:
        raise _Unknown
    return value


def _lookup(data: object, path: list[str]) -> object:
    for name in path:
        if not isinstance(data, dict):
            return None
        key = name if name in data else next((k for k in data if k.lower() == name.lower()), None)
        data = data.get(key) if key is not None else None
    return data


# ----------------------------------------------------------------------------- matrices


def _combinations(strategy: _yaml.Node | None, shown: str) -> list[dict[str, object]] | None:
    """The matrix combinations of a job (`[{}]` without a matrix), None when not known statically."""
    if strategy is None:
        return [{}]
    if not isinstance(strategy, _yaml.Map):
        if isinstance(strategy, _yaml.Scalar) and "${{" in strategy.value:
            return None
        raise SourceError(shown, strategy.line, f"strategy must be a mapping, not {_yaml.describe(strategy)}")
    matrix = strategy.get("matrix")
    if matrix is None:
        return [{}]
    if isinstance(matrix, _yaml.Scalar) and "${{" in matrix.value:
        return None
    if not isinstance(matrix, _yaml.Map):
        raise SourceError(shown, matrix.line, f"strategy.matrix must be a mapping, not {_yaml.describe(matrix)}")
    axes: list[tuple[str, list[object]]] = []
    for key, node in matrix.items():
        if key in ("include", "exclude"):
            continue
        if isinstance(node, _yaml.Scalar) and "${{" in node.value:
            return None
        if not isinstance(node, _yaml.Seq):
            raise SourceError(shown, node.line, f"matrix value {key!r} must be a list, not {_yaml.describe(node)}")
        axes.append((key, [_data(item) for item in node.items]))
    extra = {key: _entries(matrix.get(key), key, shown) for key in ("include", "exclude")}
    if extra["include"] is None or extra["exclude"] is None:
        return None
    names = [key for key, _ in axes]
    combinations: list[dict[str, object]] = []
    # Lazily: a product of many long lists is refused once it passes GitHub's limit.
    for values in itertools.product(*(values for _, values in axes)) if axes else ():
        combination = dict(zip(names, values))
        if not any(_matches(combination, exclude) for exclude in extra["exclude"]):
            combinations.append(combination)
            if len(combinations) > MAX_COMBINATIONS:
                break
    originals = [frozenset(c) for c in combinations]
    added: list[dict[str, object]] = []
    for entry in extra["include"]:
        extended = False
        for combination, original in zip(combinations, originals):
            if all(key not in original or combination[key] == value for key, value in entry.items()):
                combination.update(entry)
                extended = True
        if not extended:
            added.append(dict(entry))
    combinations.extend(added)
    if len(combinations) > MAX_COMBINATIONS:
        raise SourceError(shown, matrix.line, f"a matrix makes at most {MAX_COMBINATIONS} jobs; this one makes more")
    return combinations or [{}]


def _entries(node: _yaml.Node | None, key: str, shown: str) -> list[dict[str, object]] | None:
    if node is None:
        return []
    if isinstance(node, _yaml.Scalar) and "${{" in node.value:
        return None
    if not isinstance(node, _yaml.Seq) or not all(isinstance(item, _yaml.Map) for item in node.items):
        raise SourceError(shown, node.line, f"matrix {key} must be a list of mappings")
    return [cast("dict[str, object]", _data(item)) for item in node.items]


def _matches(combination: Mapping[str, object], exclude: Mapping[str, object]) -> bool:
    return all(key in combination and _partial(combination[key], value) for key, value in exclude.items())


def _partial(value: object, pattern: object) -> bool:
    if isinstance(value, dict) and isinstance(pattern, dict):
        return all(key in value and _partial(value[key], sub) for key, sub in pattern.items())
    return value == pattern


# ----------------------------------------------------------------------------- reading


@record(frozen=True)
class _Action:
    shown: str
    steps: tuple[_yaml.Map, ...]
    defaults: dict[str, _yaml.Scalar | None]  # input id (lower-cased) -> its default


@record(frozen=True)
class _Run:
    """One `run:` step as it runs in one matrix combination."""

    shown: str
    label: str  # the step part of the environment label
    text: str
    first_line: int
    line: int  # the `run:` key's line, for warnings about the whole script
    shell: str  # as written (`bash -e {0}`), expressions substituted
    workdir: str | None
    env: dict[str, str]  # variables known statically
    unknown: frozenset[str]  # variables set to what envguard cannot evaluate

    def key(self) -> tuple[object, ...]:
        # What decides the installs: the script, the shell, the directory, and the variables the
        # script names or the install readers look at.
        relevant = {
            name: value
            for name, value in self.env.items()
            if name.startswith(("PIP_", "UV_")) or re.search(rf"\${{?{re.escape(name)}\b", self.text)
        }
        static = tuple(sorted(relevant.items()))
        return (self.shown, self.text, self.first_line, self.shell, self.workdir, static, self.unknown)


@record(frozen=True)
class _Job:
    shown: str
    job_id: str
    env: dict[str, str | None]  # the workflow's env
    shell: _yaml.Scalar | None
    workdir: _yaml.Scalar | None


class _Reader:
    def __init__(self, root: Path, allow_outside_root: bool) -> None:
        self.root = root
        self.allow_outside_root = allow_outside_root
        self.declarations: list[Declaration] = []
        self.warnings: list[Diagnostic] = []
        self.included: list[str] = []
        self.actions: dict[str, _Action | None] = {}

    # -- workflows

    def workflow(self, document: _yaml.Node | None, shown: str) -> None:
        top = _mapping(document, shown, 1, "a workflow")
        jobs = top.get("jobs")
        if not isinstance(jobs, _yaml.Map):
            line = top.key_line("jobs") if "jobs" in top else 1
            raise SourceError(shown, line, f"a workflow needs a 'jobs' mapping, not {_yaml.describe(jobs)}")
        no_scope = _Scope({}, {})
        workflow_env = self.env(top.get("env"), no_scope, shown)
        shell, workdir = _defaults(top.get("defaults"), shown)
        for job_id, node in jobs.items():
            job = _mapping(node, shown, jobs.key_line(job_id), f"job {job_id!r}")
            if "uses" in job:  # a reusable workflow: read when it is loaded on its own
                continue
            combinations = _combinations(job.get("strategy"), shown)
            steps = job.get("steps")
            if steps is None:
                continue
            if not isinstance(steps, _yaml.Seq):
                raise SourceError(
                    shown, steps.line, f"job {job_id!r}: steps must be a list, not {_yaml.describe(steps)}"
                )
            job_shell, job_workdir = _defaults(job.get("defaults"), shown)
            base = _Job(shown, job_id, dict(workflow_env), job_shell or shell, job_workdir or workdir)
            for index, step_node in enumerate(steps.items, start=1):
                step = _mapping(step_node, shown, step_node.line, f"job {job_id!r} step {index}")
                self.step(base, job.get("env"), step, index, combinations)

    def step(
        self,
        job: _Job,
        job_env: _yaml.Node | None,
        step: _yaml.Map,
        index: int,
        combinations: list[dict[str, object]] | None,
    ) -> None:
        variants: dict[tuple[object, ...], tuple[list[_Run], dict[str, object] | None, list[tuple[str, ...]]]] = {}
        choices: list[dict[str, object] | None] = list(combinations) if combinations is not None else [None]
        for combination in choices:
            scope = _Scope({}, combination)
            env = {**job.env, **self.env(job_env, scope, job.shown)}
            scope.env = env
            runs = list(self.runs(job, step, index, env, scope, 0, ()))
            if not runs:
                return
            key = tuple(run.key() for run in runs) if len(choices) > 1 else ()
            if key not in variants:
                variants[key] = (runs, combination, list(scope.used))
        labelled = len(variants) > 1
        for runs, combination, used in variants.values():
            label = _combination_label(combination, used) if labelled and combination is not None else None
            suffix = f" ({label})" if label is not None else ""
            for run in runs:
                try:
                    self.emit(run, f"{job.shown} job {job.job_id}{suffix}, {run.label}")
                except SourceError as exc:
                    # GitHub skips a step whose `if:` is false, often in the combinations that lack
                    # a matrix value its script uses: a script broken only there is not the file's error.
                    if label is None or "if" not in step:
                        raise
                    message = f"{exc.message} (for {label}, which the step's if: may skip); not checked"
                    self.warnings.append(Diagnostic(exc.path, exc.line, message))

    def runs(
        self,
        job: _Job,
        step: _yaml.Map,
        index: int,
        env: dict[str, str | None],
        scope: _Scope,
        depth: int,
        chain: tuple[str, ...],
    ) -> Iterator[_Run]:
        """The `run:` scripts a step runs: itself, or the steps of the local action it calls."""
        shown = job.shown if not chain else chain[-1]
        label = f"step {_step_name(step, index)}"
        step_env = {**env, **self.env(step.get("env"), scope, shown)}
        step_scope = _Scope(step_env, scope.matrix, scope.inputs, scope.used)
        run = step.get("run")
        if run is not None:
            if not isinstance(run, _yaml.Scalar):
                raise SourceError(shown, run.line, f"{label}: run must be a string, not {_yaml.describe(run)}")
            text, first_line = run.lines_kept()
            in_action = bool(chain)
            shell = _scalar(step.get("shell"), shown, "shell") or (None if in_action else job.shell)
            workdir = _scalar(step.get("working-directory"), shown, "working-directory") or (
                None if in_action else job.workdir
            )
            yield _Run(
                shown,
                label,
                _substitute(text, step_scope),
                first_line,
                step.key_line("run"),
                _substitute(shell.value, step_scope) if shell is not None else "bash",
                _workdir(workdir, step_scope),
                {name: value for name, value in step_env.items() if value is not None},
                frozenset(name for name, value in step_env.items() if value is None),
            )
            return
        uses = step.get("uses")
        if not isinstance(uses, _yaml.Scalar) or not uses.value.startswith("./"):
            return
        action = self.action(uses, shown, chain, depth)
        if action is None:
            return
        inputs = self.inputs(action, step.get("with"), step_scope, shown)
        inner_scope = _Scope(step_env, scope.matrix, inputs, scope.used)
        target = posixpath.normpath(uses.value)
        for inner_index, inner in enumerate(action.steps, start=1):
            for found in self.runs(job, inner, inner_index, step_env, inner_scope, depth + 1, (*chain, action.shown)):
                yield _Run(
                    found.shown,
                    f"{label} (action ./{target}, {found.label})",
                    found.text,
                    found.first_line,
                    found.line,
                    found.shell,
                    found.workdir,
                    found.env,
                    found.unknown,
                )

    def env(self, node: _yaml.Node | None, scope: _Scope, shown: str) -> dict[str, str | None]:
        if node is None or isinstance(node, _yaml.Scalar) and "${{" in node.value:
            return {}  # a whole `env:` from an expression: no name is known
        if not isinstance(node, _yaml.Map):
            raise SourceError(shown, node.line, f"env must be a mapping, not {_yaml.describe(node)}")
        values: dict[str, str | None] = {}
        for name, value in node.items():
            if not isinstance(value, _yaml.Scalar):
                raise SourceError(
                    shown, value.line, f"env {name}: the value must be a string, not {_yaml.describe(value)}"
                )
            text = _to_string(_scalar_value(value))
            substituted = _substitute(text or "", scope)
            values[name] = None if "${{" in substituted else substituted
        return values

    def emit(self, run: _Run, environment: str) -> None:
        shell = run.shell
        program = posixpath.basename(shell.split()[0]) if shell.split() else ""
        if program not in _POSIX_SHELLS:
            if _VISIBLE_INSTALL.search(run.text):
                self.warnings.append(
                    Diagnostic(
                        run.shown,
                        run.line,
                        f"this step runs its script with {shell!r}, which envguard does not read; its installs are not checked",
                    )
                )
            return
        if "install" not in run.text and not any("install" in value for value in run.env.values()):
            return  # no command can spell `install` (a shortcut: most steps install nothing)
        context = Context(
            run.shown,
            environment,
            ORIGIN,
            self.root,
            workdir=run.workdir,
            env=run.env,
            unknown=run.unknown,
            allow_outside_root=self.allow_outside_root,
            attribute=True,
        )
        loaded = script(run.text, run.first_line, context)
        self.declarations.extend(loaded.declarations)
        self.warnings.extend(loaded.warnings)
        self.included.extend(path for path in loaded.included if path not in self.included)

    # -- local actions

    def action(self, uses: _yaml.Scalar, shown: str, chain: tuple[str, ...], depth: int) -> _Action | None:
        target = posixpath.normpath(uses.value)
        if (target == ".." or target.startswith("../")) and not self.allow_outside_root:
            raise SourceError(
                shown,
                uses.line,
                f"local action {uses.value!r} is outside the workspace root; pass --allow-outside-root to read it",
            )
        directory = self.root / target
        found = next((directory / name for name in ("action.yml", "action.yaml") if (directory / name).is_file()), None)
        if found is None:
            self.warnings.append(
                Diagnostic(
                    shown,
                    uses.line,
                    f"local action {uses.value!r} has no action.yml in the workspace (made at run time?); its steps are not checked",
                )
            )
            return None
        action_shown = posixpath.normpath(posixpath.join(target, found.name))
        if action_shown in chain:
            cycle = " -> ".join((*chain, action_shown))
            raise SourceError(shown, uses.line, f"local actions call each other in a cycle: {cycle}")
        if depth >= MAX_ACTION_DEPTH:
            raise SourceError(shown, uses.line, f"local actions nested deeper than {MAX_ACTION_DEPTH} levels")
        if action_shown not in self.actions:
            document = _yaml.load(read_text(found, action_shown), action_shown)
            self.actions[action_shown] = self.parse_action(document, action_shown)
            if action_shown not in self.included:
                self.included.append(action_shown)
        return self.actions[action_shown]

    def parse_action(self, document: _yaml.Node | None, shown: str) -> _Action | None:
        """The steps of a composite action; None for another kind (JavaScript, Docker)."""
        top = _mapping(document, shown, 1, "an action")
        runs = top.get("runs")
        if not isinstance(runs, _yaml.Map):
            line = top.key_line("runs") if "runs" in top else 1
            raise SourceError(shown, line, f"an action needs a 'runs' mapping, not {_yaml.describe(runs)}")
        using = runs.get("using")
        if not isinstance(using, _yaml.Scalar) or using.value != "composite":
            return None
        steps = runs.get("steps")
        if not isinstance(steps, _yaml.Seq):
            line = steps.line if steps is not None else runs.key_line("using")
            raise SourceError(shown, line, f"a composite action needs a list of steps, not {_yaml.describe(steps)}")
        parsed = tuple(
            _mapping(node, shown, node.line, f"action step {index}") for index, node in enumerate(steps.items, start=1)
        )
        defaults: dict[str, _yaml.Scalar | None] = {}
        inputs = top.get("inputs")
        if inputs is not None:
            if not isinstance(inputs, _yaml.Map):
                raise SourceError(shown, inputs.line, f"inputs must be a mapping, not {_yaml.describe(inputs)}")
            for name, spec in inputs.items():
                default = spec.get("default") if isinstance(spec, _yaml.Map) else None
                defaults[name.lower()] = default if isinstance(default, _yaml.Scalar) else None
        return _Action(shown, parsed, defaults)

    def inputs(self, action: _Action, given: _yaml.Node | None, scope: _Scope, shown: str) -> dict[str, str | None]:
        """The action's inputs: what the caller gives (evaluated in its scope), else the defaults."""
        values: dict[str, str | None] = {}
        for name, default in action.defaults.items():
            if default is not None:
                text = _substitute(_to_string(_scalar_value(default)) or "", _Scope(scope.env, scope.matrix))
                values[name] = None if "${{" in text else text
            else:
                values[name] = ""  # GitHub gives an input nobody set as an empty string
        if given is None:
            return values
        if not isinstance(given, _yaml.Map):
            raise SourceError(shown, given.line, f"with must be a mapping, not {_yaml.describe(given)}")
        for name, node in given.items():
            if not isinstance(node, _yaml.Scalar):
                raise SourceError(
                    shown, node.line, f"with {name}: the value must be a string, not {_yaml.describe(node)}"
                )
            text = _substitute(_to_string(_scalar_value(node)) or "", scope)
            values[name.lower()] = None if "${{" in text else text
        return values


# ----------------------------------------------------------------------------- small helpers


def _mapping(node: _yaml.Node | None, shown: str, line: int, what: str) -> _yaml.Map:
    if not isinstance(node, _yaml.Map):
        raise SourceError(
            shown, node.line if node is not None else line, f"{what} must be a mapping, not {_yaml.describe(node)}"
        )
    return node


def _scalar(node: _yaml.Node | None, shown: str, what: str) -> _yaml.Scalar | None:
    if node is None or isinstance(node, _yaml.Scalar):
        return node
    raise SourceError(shown, node.line, f"{what} must be a string, not {_yaml.describe(node)}")


def _defaults(node: _yaml.Node | None, shown: str) -> tuple[_yaml.Scalar | None, _yaml.Scalar | None]:
    """`defaults.run.shell` and `defaults.run.working-directory`."""
    if node is None:
        return None, None
    run = _mapping(node, shown, node.line, "defaults").get("run")
    if run is None:
        return None, None
    run = _mapping(run, shown, run.line, "defaults.run")
    return _scalar(run.get("shell"), shown, "shell"), _scalar(run.get("working-directory"), shown, "working-directory")


def _workdir(node: _yaml.Scalar | None, scope: _Scope) -> str | None:
    """The root-relative directory a step starts in, None when it is not known statically."""
    if node is None:
        return "."
    text = _WORKSPACE.sub(".", node.value.strip())
    text = _substitute(text, scope)
    if not text:
        return "."
    if "$" in text or text.startswith(("~", "/")) or re.match(r"^[A-Za-z]:[\\/]", text):
        return None
    return posixpath.normpath(text.replace("\\", "/"))


def _step_name(step: _yaml.Map, index: int) -> str:
    name = step.get("name")
    if isinstance(name, _yaml.Scalar) and name.value.strip():
        return " ".join(name.value.split())
    return str(index)


def _combination_label(combination: Mapping[str, object], used: Sequence[tuple[str, ...]]) -> str:
    """`python 3.12, os ubuntu-latest`: the matrix values a step used, in the matrix's order."""
    keys = list(combination)
    paths = sorted(
        {path for path in used if path and path[0] in combination}, key=lambda path: (keys.index(path[0]), path)
    )
    parts = [(".".join(path), _to_string(_lookup(combination, list(path)))) for path in paths]
    shown = [f"{name} {value}" for name, value in parts if value is not None]
    # Values that differ only where the label cannot show them (objects): the whole combination.
    return ", ".join(shown) or ", ".join(f"{key} {json.dumps(value)}" for key, value in combination.items())
