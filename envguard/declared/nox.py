"""nox: the installs of a noxfile's sessions, read from its syntax tree.

A noxfile is Python, and running it (or importing it, as `nox` does) would run whatever its
module level does. envguard never does: the file is parsed with `ast` and only literal values
are read. The file is read as written, without nox's command-line options (`--python`,
`--force-venv-backend`, ...).

Sessions, named as `nox --list` names them (nox 2026.10's `Manifest.make_session`):

* A session is a module-level function decorated with `nox.session`, called or not, through
  any alias (`import nox as n`, `from nox import session`). Its name is its `name=` when that
  is a non-empty string, else the function's name. Two sessions of one name: the later one
  wins, listed where the first was (nox's registry is a dict).
* `python=` (or `py=`): a string, a list or tuple of strings, or a module-level constant
  holding one (also `PYTHONS[-1]`, `PYTHONS[1:]`). A list gives one session per distinct
  Python, `tests-3.12`; a single string adds no suffix. With the `none` venv backend nox
  ignores a list: one session.
* `@nox.parametrize(names, values, ids=...)` and `nox.param(..., id=...)` give nox's
  `tests-3.12(django='4.2')`: the id, else `name=repr(value)` for each name. Stacked
  decorators multiply, the one nearest the function varying fastest. Each variant binds its
  string values, so `session.install(f"django=={django}")` is read per variant. A
  parametrization envguard cannot read is a warning, and its variants are read as one session
  named after the function; an empty one installs nothing (nox's do-nothing session).

Every listed session is its own environment, labelled `noxfile.py session tests-3.12(...)`
(the noxfile's root-relative path): one declaration per (listed session, requirement).

Installs:

* `session.install(...)` (whatever the session parameter is called) and `session.run(...)`,
  `session.run_install(...)`, `session.run_always(...)` whose words are a `pip install` or
  `uv pip install` command. The words go to `envguard.declared.install`, so `-r`, `-c`,
  `-e .[test]` and options are read as everywhere else, relative to the noxfile's directory
  (where nox runs sessions). `session.install` runs `uv pip install` when the session's venv
  backend (its `venv_backend=`, else `nox.options.default_venv_backend`, with
  `nox.options.force_venv_backend` over both; an option set more than once at module level is
  read at its last value, with a warning) is `uv` first (`uv|virtualenv`: nox takes uv where
  it is installed); in a session without a virtualenv (`python=False`, backend `none`) nox
  refuses `session.install`, and so it declares nothing (a warning says so).
* Variables set with `session.env["PIP_CONSTRAINT"] = ...` (for the installs after it) or an
  install's `env={...}` are handed over, so a constraints file they name pins.
* Every install in a session's code is read, whichever branch would run it.
* A module-level function called with the session (`install_deps(session, "pytest")`,
  positionally or by keyword) is read where it is called, as part of each session calling it,
  with the static arguments of that call bound to its parameters. A function no session calls
  is not read.

Static values: string literals, f-strings whose fields are static strings, lists, tuples,
`*starred` lists, `+` of those, and names assigned exactly once (module-level constants, a
function's own locals, bound parameters, `session.python` of the session being read). A name
also assigned elsewhere, augmented, declared `global`, or changed in place (`DEPS.append(...)`,
`DEPS[0] = ...`) anywhere in the file is not static. Anything else (an environment variable, a
call, a loop variable) reaches the install reader as a dynamic word, spelled as the file writes
it: the install reader warns at its line and keeps the command's other words in place, so
`-c COMPUTED` is a constraints file not read (taken to pin everything), never `-c` taking the
next requirement as its value.
"""

from __future__ import annotations

import ast
import dataclasses
import posixpath
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from envguard.declared.install import Context, arguments, find_install, root_of
from envguard.declared.shell import Word
from envguard.errors import SourceError
from envguard.model import Declaration, Diagnostic, Loaded
from envguard.sources._text import read_text

ORIGIN = "nox"
_RUNS = frozenset({"run", "run_install", "run_always"})
# List methods that change the list in place: a name they are called on holds no constant.
_MUTATORS = frozenset({"append", "extend", "insert", "remove", "pop", "clear", "sort", "reverse"})
# What envguard reads of `from nox import ...`.
_NOX_NAMES = frozenset({"session", "parametrize", "param", "options"})
_REFUSED = (
    "nox refuses session.install in a session without a virtualenv (python=False or venv_backend 'none'); not read"
)
_UNSEEN = "cannot be read statically; a constraint it sets is not seen"

# A static string with the line it is written on (a constant's pins are fixed where it is
# defined), a static value (one string, or a list of them), and the names holding one; the
# session's Python is held under its dotted name (`session.python`).
_Text = tuple[str, int]
_Value = _Text | list[_Text]
_Scope = dict[str, _Value]
# A name a scope binds, the value of its plain `NAME = value` (else None), and its line.
_Binding = tuple[str, ast.expr | None, int]
# One install: the tool, its words after `install`, the variables set, those set to unknown values.
_Install = tuple[str, tuple[Word, ...], tuple[tuple[str, str], ...], frozenset[str]]


def load(path: Path, shown: str, *, allow_outside_root: bool = False) -> Loaded:
    """The declarations of every nox session in the noxfile `path`."""
    text = read_text(path, shown)
    module = _parse(text, shown)
    try:
        return _Reader(module, text, path, shown, allow_outside_root).read()
    except RecursionError:
        # A file ast.parse accepts can still nest expressions deeper than reading them recurses.
        raise SourceError(shown, None, "too deeply nested to read") from None


def _parse(text: str, shown: str) -> ast.Module:
    try:
        return ast.parse(text, filename=shown)
    except SyntaxError as exc:
        raise SourceError(shown, exc.lineno or None, f"not valid Python: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise SourceError(shown, None, "too deeply nested to read") from None
    except ValueError as exc:  # a NUL byte, on Pythons before 3.12
        raise SourceError(shown, None, f"not valid Python: {exc}") from None


@dataclasses.dataclass(frozen=True)
class _Nox:
    """The names a noxfile gives nox: modules (`import nox as n`) and imported parts (`from nox import session`)."""

    modules: frozenset[str]
    names: Mapping[str, str]  # local name -> the part of nox it is

    def means(self, node: ast.expr, part: str) -> bool:
        if isinstance(node, ast.Attribute):
            return node.attr == part and isinstance(node.value, ast.Name) and node.value.id in self.modules
        return isinstance(node, ast.Name) and self.names.get(node.id) == part


@dataclasses.dataclass(frozen=True)
class _Session:
    name: str
    # Each Python it is listed for: the `-3.12` nox adds to its name ("" for none), and session.python.
    pythons: tuple[tuple[str, _Text | None], ...]
    # Each parametrized variant: the `(django='4.2')` nox adds to its name, and the strings it binds.
    variants: tuple[tuple[str, _Scope], ...]
    function: ast.FunctionDef
    tool: str  # what session.install runs: "pip", or "uv" with nox's uv backend
    venv: bool  # False where nox refuses session.install


@dataclasses.dataclass
class _Env:
    """What a session run has set in `session.env` so far."""

    values: dict[str, str]
    unknown: set[str]


class _Reader:
    def __init__(self, module: ast.Module, text: str, path: Path, shown: str, allow_outside_root: bool) -> None:
        self.module = module
        # read_text gives universal newlines: these are the lines ast numbers.
        self.lines = text.split("\n")
        self.shown = shown
        self.root = root_of(path, shown)
        self.workdir = posixpath.dirname(shown) or "."
        self.allow_outside_root = allow_outside_root
        self.warnings: list[Diagnostic] = []
        nodes = list(_scope_nodes(module.body))
        self.nox = _imports(nodes)
        self.options = _options(nodes, self.nox)
        self.mutated = _mutated(module)
        self.constants = _constants(_bindings(nodes), {}, self.mutated)
        # A name defined twice is the later function when a session calls it.
        self.functions = {node.name: node for node in module.body if isinstance(node, ast.FunctionDef)}
        # What does not change between a session's variants, worked out once per function.
        self.function_bindings: dict[ast.FunctionDef, tuple[list[str], list[_Binding]]] = {}
        self.events: dict[ast.FunctionDef, list[ast.Call | ast.Assign]] = {}
        self.read_installs: dict[_Install, Loaded] = {}

    def read(self) -> Loaded:
        declarations: list[Declaration] = []
        included: list[str] = []
        for session in self._sessions():
            function = session.function
            positional = [*function.args.posonlyargs, *function.args.args]
            if not positional:
                continue  # nox calls the function with the session: it fails before installing
            parameter = positional[0].arg
            parameters = {a.arg for a in (*positional, *function.args.kwonlyargs)}
            for suffix, python in session.pythons:
                for signature, bound in session.variants:
                    given = dict(bound)
                    runs_on: _Value | None = python
                    if python is None and "python" in given and "python" not in parameters:
                        # nox takes a parametrized `python` as the session's Python then, not as an argument.
                        runs_on = given.pop("python")
                    if runs_on is not None:
                        given[f"{parameter}.python"] = runs_on
                    label = f"{self.shown} session {session.name}{suffix}{signature}"
                    env = _Env({}, set())
                    scope = self._scope(function, given)
                    for install in self._installs(function, parameter, scope, session, env, frozenset({function.name})):
                        loaded = self._read_install(install)
                        declarations.extend(dataclasses.replace(d, environment=label) for d in loaded.declarations)
                        included.extend(loaded.included)
        return Loaded(
            (),
            tuple(dict.fromkeys(p for p in included if p != self.shown)),
            tuple(dict.fromkeys(self.warnings)),
            tuple(dict.fromkeys(declarations)),
        )

    def _warn(self, line: int, message: str) -> None:
        self.warnings.append(Diagnostic(self.shown, line, message))

    # ------------------------------------------------------------------------------- sessions

    def _sessions(self) -> list[_Session]:
        sessions: dict[str, _Session] = {}
        for node in self.module.body:
            if not isinstance(node, ast.FunctionDef):
                continue
            decorator = next((d for d in node.decorator_list if self.nox.means(_called(d), "session")), None)
            if decorator is None:
                continue
            keywords = {k.arg: k.value for k in decorator.keywords if k.arg} if isinstance(decorator, ast.Call) else {}
            name = node.name
            if "name" in keywords:
                given = _static(keywords["name"], self.constants)
                if isinstance(given, tuple):
                    name = given[0] or name
                elif not _is_none(keywords["name"]):
                    message = "the session's name= cannot be read statically; it is named after its function"
                    self._warn(keywords["name"].lineno, message)
            python = keywords.get("python", keywords.get("py"))
            backend = self._backend(keywords.get("venv_backend"))
            no_venv = backend == "none" or (isinstance(python, ast.Constant) and python.value is False)
            sessions[name] = _Session(
                name,
                self._pythons(python, backend),
                self._variants(node),
                node,
                "uv" if backend == "uv" else "pip",
                not no_venv,
            )
        return list(sessions.values())

    def _backend(self, node: ast.expr | None) -> str:
        """The venv backend nox tries first for a session."""
        forced, default = self._option("force_venv_backend"), self._option("default_venv_backend")
        for choice in (forced, node, default):
            if choice is None or _is_none(choice):
                continue
            value = _static(choice, self.constants)
            if not isinstance(value, tuple):
                self._warn(choice.lineno, "the venv backend cannot be read statically; installs are read as pip's")
                return "virtualenv"
            if value[0]:
                return value[0].split("|")[0].strip()
        return "virtualenv"

    def _option(self, name: str) -> ast.expr | None:
        """The value module-level `nox.options.NAME = ...` sets: the last one, which wins where they all run."""
        values = self.options.get(name, [])
        if len(values) > 1:
            self._warn(values[-1].lineno, f"nox.options.{name} is set more than once; envguard reads the last value")
        return values[-1] if values else None

    def _pythons(self, node: ast.expr | None, backend: str) -> tuple[tuple[str, _Text | None], ...]:
        if node is None or _is_none(node) or (isinstance(node, ast.Constant) and node.value is False):
            return (("", None),)
        value = _static(node, self.constants)
        if value is None:
            message = "the session's python= cannot be read statically; its environments are named after the session"
            self._warn(node.lineno, message)
            return (("", None),)
        if isinstance(value, tuple):
            return (("", value),)
        if backend == "none":
            return (("", None),)
        unique = {text: (text, line) for text, line in reversed(value)}  # the first of each, in order
        return tuple((f"-{text}", unique[text]) for text in dict.fromkeys(text for text, _ in value))

    def _variants(self, function: ast.FunctionDef) -> tuple[tuple[str, _Scope], ...]:
        """The variants of the function's `@nox.parametrize` decorators, combined as nox's update_param_specs does."""
        combined: list[tuple[str, _Scope]] | None = None
        for decorator in reversed(function.decorator_list):
            if not (isinstance(decorator, ast.Call) and self.nox.means(decorator.func, "parametrize")):
                continue
            specs = self._parametrize(decorator)
            if specs is None:
                message = "this parametrization cannot be read statically; its variants are read as one session"
                self._warn(decorator.lineno, message)
                return (("", {}),)
            if combined is None:
                combined = specs
            else:
                combined = [
                    (f"{low}, {high}", {**low_bound, **high_bound})
                    for high, high_bound in specs
                    for low, low_bound in combined
                ]
        if combined is None:
            return (("", {}),)
        return tuple((f"({text})", bound) for text, bound in combined)

    def _parametrize(self, decorator: ast.Call) -> list[tuple[str, _Scope]] | None:
        """Each Param of one `nox.parametrize(arg_names, arg_values_list, ids)`: its id, and the strings it binds."""
        if any(isinstance(a, ast.Starred) for a in decorator.args) or any(k.arg is None for k in decorator.keywords):
            return None
        given = dict(zip(("arg_names", "arg_values_list", "ids"), decorator.args))
        given.update((k.arg, k.value) for k in decorator.keywords if k.arg)
        names_value = _static(given["arg_names"], self.constants) if "arg_names" in given else None
        if isinstance(names_value, tuple):
            names = [part.strip() for part in names_value[0].split(",") if part.strip()]
        elif isinstance(names_value, list):
            names = [text for text, _ in names_value]
        else:
            return None
        elements = self._elements(given.get("arg_values_list"))
        ids = self._ids(given.get("ids"))
        if elements is None or ids is None or not names:
            return None
        specs: list[tuple[str, _Scope]] = []
        for index, element in enumerate(elements):
            param = self._param(element, len(names))
            if param is None:
                return None
            values, identifier = param
            if identifier is None and index < len(ids):
                identifier = ids[index]
            text = identifier or ", ".join(f"{name}={value!r}" for name, (value, _) in zip(names, values))
            specs.append((text, {name: string for name, (_, string) in zip(names, values) if string is not None}))
        return specs

    def _elements(self, node: ast.expr | None) -> list[ast.expr | _Text] | None:
        """The values of a parametrization: a list or tuple is expanded; any other value is one value."""
        if node is None:
            return None
        if isinstance(node, (ast.List, ast.Tuple)):
            return None if any(isinstance(e, ast.Starred) for e in node.elts) else list(node.elts)
        value = _static(node, self.constants)
        if isinstance(value, list):
            return list(value)
        return [node] if isinstance(value, tuple) or _literal(node, self.constants) is not None else None

    def _ids(self, node: ast.expr | None) -> list[str | None] | None:
        if node is None or _is_none(node):
            return []
        if isinstance(node, (ast.List, ast.Tuple)):
            ids: list[str | None] = []
            for element in node.elts:
                value = _static(element, self.constants)
                if isinstance(value, tuple):
                    ids.append(value[0])
                elif _is_none(element):
                    ids.append(None)
                else:
                    return None
            return ids
        value = _static(node, self.constants)
        return [text for text, _ in value] if isinstance(value, list) else None

    def _param(
        self, element: ast.expr | _Text, count: int
    ) -> tuple[list[tuple[object, _Text | None]], str | None] | None:
        """One Param's values (each with the string it binds, if it is one) and its id."""
        if isinstance(element, tuple):
            return ([(element[0], element)], None) if count == 1 else None
        identifier: str | None = None
        if isinstance(element, ast.Call) and self.nox.means(element.func, "param"):
            nodes: Sequence[ast.expr] = element.args
            if any(isinstance(a, ast.Starred) for a in nodes):
                return None
            identifier = ""  # nox ignores `ids=` for a Param: its own id, else its values
            for keyword in element.keywords:
                if keyword.arg is None:
                    return None
                if keyword.arg == "id" and not _is_none(keyword.value):
                    value = _static(keyword.value, self.constants)
                    if not isinstance(value, tuple):
                        return None
                    identifier = value[0]
        elif count == 1:
            nodes = [element]
        elif isinstance(element, (ast.List, ast.Tuple)):
            nodes = element.elts
        else:
            return None
        values = [_literal(node, self.constants) for node in nodes]
        if len(values) != count:
            return None  # nox fails on it
        found = [value for value in values if value is not None]
        return (found, identifier) if len(found) == count else None

    # ------------------------------------------------------------------------------- installs

    def _scope(self, function: ast.FunctionDef, given: _Scope) -> _Scope:
        """What `function` can read statically: the module's constants it does not rebind, what it
        is given for parameters it does not reassign, and its own names assigned once."""
        found = self.function_bindings.get(function)
        if found is None:
            arguments_ = function.args
            parameters = [a.arg for a in (*arguments_.posonlyargs, *arguments_.args, *arguments_.kwonlyargs)]
            parameters += [a.arg for a in (arguments_.vararg, arguments_.kwarg) if a is not None]
            bindings: list[_Binding] = [(name, None, function.lineno) for name in parameters]
            bindings += _bindings(_scope_nodes(function.body))
            found = self.function_bindings[function] = (parameters, bindings)
        parameters, bindings = found
        counts = Counter(name for name, _, _ in bindings)
        scope = {name: value for name, value in self.constants.items() if name not in counts}
        # A parameter it reassigns holds what it is given only until then: not static.
        scope.update(
            (name, value) for name, value in given.items() if (name in parameters and counts[name] == 1) or "." in name
        )
        return _constants(bindings, scope, self.mutated)

    def _installs(
        self,
        function: ast.FunctionDef,
        session: str,
        scope: _Scope,
        run: _Session,
        env: _Env,
        visiting: frozenset[str],
    ) -> Iterator[_Install]:
        """Every install `function` makes through its session parameter `session`, in line order."""
        events = self.events.get(function)
        if events is None:
            nodes = (n for part in function.body for n in ast.walk(part) if isinstance(n, (ast.Call, ast.Assign)))
            events = self.events[function] = sorted(nodes, key=lambda n: (n.lineno, n.col_offset))
        for node in events:
            if isinstance(node, ast.Assign):
                self._set_env(node, session, scope, env)
                continue
            func = node.func
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == session:
                if func.attr == "install":
                    if run.venv:
                        yield run.tool, tuple(self._words(node, scope)), *self._call_env(node, scope, env)
                    else:
                        self._warn(node.lineno, _REFUSED)
                elif func.attr in _RUNS:
                    found = find_install(self._words(node, scope))
                    if found is not None:
                        yield found[0], tuple(found[1]), *self._call_env(node, scope, env)
            elif isinstance(func, ast.Name) and func.id in self.functions and func.id not in visiting:
                helper = self.functions[func.id]
                passed = self._passed(node, helper, session, scope)
                if passed is not None:
                    parameter, given = passed
                    scope_of_helper = self._scope(helper, given)
                    yield from self._installs(helper, parameter, scope_of_helper, run, env, visiting | {func.id})

    def _words(self, call: ast.Call, scope: _Scope) -> list[Word]:
        """The call's positional arguments as words; one that is not static is a dynamic word in its place."""
        words: list[Word] = []
        for argument in call.args:
            starred = isinstance(argument, ast.Starred)
            value = _static(argument.value if isinstance(argument, ast.Starred) else argument, scope)
            # nox takes strings: a list counts only when unpacked (`*DEPS`), a string only when not.
            if isinstance(value, list) and starred:
                words.extend(Word(text, line) for text, line in value)
            elif isinstance(value, tuple) and not starred:
                words.append(Word(*value))
            else:
                words.append(Word(self._written(argument), argument.lineno, dynamic=True))
        return words

    def _written(self, node: ast.expr) -> str:
        """`node` as the file writes it, on one line, for the warning that names it."""
        if node.end_lineno is None or node.end_col_offset is None:
            return ast.unparse(node)
        # Offsets count UTF-8 bytes.
        parts = [line.encode() for line in self.lines[node.lineno - 1 : node.end_lineno]]
        parts[-1] = parts[-1][: node.end_col_offset]
        parts[0] = parts[0][node.col_offset :]
        return " ".join(b"\n".join(parts).decode(errors="replace").split())

    def _passed(
        self, call: ast.Call, helper: ast.FunctionDef, session: str, scope: _Scope
    ) -> tuple[str, _Scope] | None:
        """The helper's parameter the call passes the session to, and the static values it passes the others."""
        arguments_ = helper.args
        positional = [a.arg for a in (*arguments_.posonlyargs, *arguments_.args)]
        given: _Scope = {}
        # Defaults are evaluated where the function is defined: in the module.
        for name, default in zip(reversed(positional), reversed(arguments_.defaults)):
            _bind(given, name, _static(default, self.constants))
        for keyword_only, keyword_default in zip(arguments_.kwonlyargs, arguments_.kw_defaults):
            if keyword_default is not None:
                _bind(given, keyword_only.arg, _static(keyword_default, self.constants))
        flat: list[ast.expr | _Text] = []
        aligned = True
        for argument in call.args:
            value = _static(argument.value, scope) if isinstance(argument, ast.Starred) else None
            if isinstance(argument, ast.Starred) and not isinstance(value, list):
                aligned = False  # where the rest goes is known only when the call runs
                break
            flat.extend(value if isinstance(value, list) else (argument,))
        parameter: str | None = None
        for index, item in enumerate(flat[: len(positional)]):
            if isinstance(item, ast.Name) and item.id == session:
                parameter = positional[index]
            else:
                _bind(given, positional[index], item if isinstance(item, tuple) else _static(item, scope))
        if not aligned:
            for name in positional[len(flat) :]:
                given.pop(name, None)
        elif arguments_.vararg is not None:
            extra = [item if isinstance(item, tuple) else _static(item, scope) for item in flat[len(positional) :]]
            strings = [value for value in extra if isinstance(value, tuple)]
            _bind(given, arguments_.vararg.arg, strings if len(strings) == len(extra) else None)
        for keyword in call.keywords:
            if keyword.arg is None:
                continue  # a **mapping: the parameters it may set keep what they hold otherwise
            if isinstance(keyword.value, ast.Name) and keyword.value.id == session:
                parameter = keyword.arg
            else:
                _bind(given, keyword.arg, _static(keyword.value, scope))
        if parameter is None:
            return None
        python = scope.get(f"{session}.python")
        if python is not None:
            given[f"{parameter}.python"] = python
        return parameter, given

    def _set_env(self, node: ast.Assign, session: str, scope: _Scope, env: _Env) -> None:
        """`session.env["NAME"] = value`: the installs after it run with NAME set."""
        for target in node.targets:
            if not (
                isinstance(target, ast.Subscript)
                and isinstance(target.value, ast.Attribute)
                and target.value.attr == "env"
                and isinstance(target.value.value, ast.Name)
                and target.value.value.id == session
            ):
                continue
            key = _static(target.slice, scope)
            if not isinstance(key, tuple):
                continue  # a variable named at run time: nothing to hand over
            value = _static(node.value, scope)
            env.values.pop(key[0], None)
            env.unknown.discard(key[0])
            if isinstance(value, tuple):
                env.values[key[0]] = value[0]
            else:
                env.unknown.add(key[0])

    def _call_env(self, call: ast.Call, scope: _Scope, env: _Env) -> tuple[tuple[tuple[str, str], ...], frozenset[str]]:
        """The variables one install runs with: the session's, and its own `env={...}` (None unsets)."""
        values, unknown = dict(env.values), set(env.unknown)
        for keyword in call.keywords:
            if keyword.arg != "env":
                continue
            if not isinstance(keyword.value, ast.Dict):
                self._warn(keyword.value.lineno, f"this install's env= {_UNSEEN}")
                continue
            for key_node, value_node in zip(keyword.value.keys, keyword.value.values):
                key = _static(key_node, scope) if key_node is not None else None
                if not isinstance(key, tuple):
                    self._warn(value_node.lineno, f"a variable of this install's env= {_UNSEEN}")
                    continue
                value = _static(value_node, scope)
                values.pop(key[0], None)
                unknown.discard(key[0])
                if isinstance(value, tuple):
                    values[key[0]] = value[0]
                elif not _is_none(value_node):
                    unknown.add(key[0])
        return tuple(sorted(values.items())), frozenset(unknown)

    def _read_install(self, install: _Install) -> Loaded:
        """The declarations of one install, labelled by the caller; one made alike by several sessions is read once."""
        found = self.read_installs.get(install)
        if found is None:
            tool, words, env, unknown = install
            context = Context(
                self.shown,
                "",
                ORIGIN,
                self.root,
                workdir=self.workdir,
                env=dict(env),
                allow_outside_root=self.allow_outside_root,
                unknown=unknown,
            )
            found = arguments(words, context, tool)
            self.warnings.extend(found.warnings)
            self.read_installs[install] = found
        return found


# ----------------------------------------------------------------------------- static values


def _called(decorator: ast.expr) -> ast.expr:
    return decorator.func if isinstance(decorator, ast.Call) else decorator


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _bind(scope: _Scope, name: str, value: _Value | None) -> None:
    if value is None:
        scope.pop(name, None)
    else:
        scope[name] = value


def _static(node: ast.expr, scope: _Scope) -> _Value | None:
    """A string, or a list of strings (from a list, tuple or starred parts), or None."""
    if isinstance(node, ast.Constant):
        return (node.value, node.lineno) if isinstance(node.value, str) else None
    if isinstance(node, ast.JoinedStr):
        pieces = [_field(value, scope) for value in node.values]
        return ("".join(p for p in pieces if p is not None), node.lineno) if None not in pieces else None
    if isinstance(node, ast.Name):
        return scope.get(node.id)
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return scope.get(f"{node.value.id}.{node.attr}")
    if isinstance(node, (ast.List, ast.Tuple)):
        parts: list[_Text] = []
        for element in node.elts:
            inner = element.value if isinstance(element, ast.Starred) else element
            value = _static(inner, scope)
            if value is None or isinstance(value, list) != isinstance(element, ast.Starred):
                return None
            parts.extend(value if isinstance(value, list) else (value,))
        return parts
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _static(node.left, scope), _static(node.right, scope)
        if isinstance(left, tuple) and isinstance(right, tuple):
            return left[0] + right[0], node.lineno
        if isinstance(left, list) and isinstance(right, list):
            return left + right
        return None
    if isinstance(node, ast.Subscript):
        return _subscript(node, scope)
    return None


def _subscript(node: ast.Subscript, scope: _Scope) -> _Value | None:
    """`PYTHONS[-1]`, `PYTHONS[1:]` of a static list."""
    value = _static(node.value, scope)
    if not isinstance(value, list):
        return None
    if isinstance(node.slice, ast.Slice):
        parts = (node.slice.lower, node.slice.upper, node.slice.step)
        bounds = [None if part is None else _integer(part) for part in parts]
        given = [part for part in parts if part is not None]
        if sum(bound is not None for bound in bounds) != len(given) or bounds[2] == 0:
            return None
        return value[slice(*bounds)]
    index = _integer(node.slice)
    return value[index] if index is not None and -len(value) <= index < len(value) else None


def _integer(node: ast.expr) -> int | None:
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError):
        return None
    return value if type(value) is int else None


def _field(node: ast.expr, scope: _Scope) -> str | None:
    """A part of an f-string: literal text, or `{NAME}` of a static string."""
    if isinstance(node, ast.Constant):
        return str(node.value)
    if isinstance(node, ast.FormattedValue) and node.conversion in (-1, ord("s")) and node.format_spec is None:
        value = _static(node.value, scope)
        return value[0] if isinstance(value, tuple) else None
    return None


def _literal(node: ast.expr, scope: _Scope) -> tuple[object, _Text | None] | None:
    """A parametrized value, for its repr in the session's name, with the string it binds if it is one."""
    text = _static(node, scope)
    if isinstance(text, tuple):
        return text[0], text
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError):
        return None
    return (value, None) if _plain(value) else None


def _plain(value: object) -> bool:
    """A value whose repr is the same in every run (a set's order is not)."""
    if isinstance(value, (tuple, list)):
        return all(_plain(item) for item in value)
    return value is None or isinstance(value, (str, bytes, int, float, complex))


# ----------------------------------------------------------------------------- scopes


def _imports(nodes: Sequence[ast.AST]) -> _Nox:
    """What the module's scope (`nodes`) names nox and its parts."""
    modules: set[str] = set()
    names: dict[str, str] = {}
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "nox" or (alias.name.startswith("nox.") and alias.asname is None):
                    modules.add(alias.asname or "nox")  # `import nox.project` binds nox too
        elif isinstance(node, ast.ImportFrom) and node.module == "nox" and node.level == 0:
            names.update((alias.asname or alias.name, alias.name) for alias in node.names if alias.name in _NOX_NAMES)
    return _Nox(frozenset(modules), names)


def _options(nodes: Sequence[ast.AST], nox: _Nox) -> dict[str, list[ast.expr]]:
    """The values module-level `nox.options.NAME = value` assignments give each NAME, in order."""
    found: dict[str, list[ast.expr]] = {}
    for node in nodes:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Attribute) and nox.means(target.value, "options"):
                    found.setdefault(target.attr, []).append(node.value)
    return found


def _scope_nodes(nodes: Sequence[ast.AST]) -> Iterator[ast.AST]:
    """The nodes of one scope in source order, parents first; a nested function, lambda or class
    only as its own node (what it binds inside is its own)."""
    stack = list(reversed(nodes))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            stack.extend(reversed(list(ast.iter_child_nodes(node))))


def _bindings(nodes: Iterable[ast.AST]) -> list[_Binding]:
    """Each name the nodes of a scope bind, with the value of a plain `NAME = value` (else None)."""
    valued: dict[int, ast.expr] = {}  # id of a target Name -> the value assigned to it
    found: list[_Binding] = []
    for node in nodes:
        if isinstance(node, ast.Assign):
            valued.update((id(t), node.value) for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and node.value is not None and isinstance(node.target, ast.Name):
            valued[id(node.target)] = node.value
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            found.append((node.id, valued.get(id(node)), node.lineno))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.append((node.name, None, node.lineno))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            found.extend((a.asname or a.name.split(".")[0], None, node.lineno) for a in node.names if a.name != "*")
        elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
            found.append((node.name, None, node.lineno))
        elif isinstance(node, ast.MatchMapping) and node.rest:
            found.append((node.rest, None, node.lineno))
    return found


def _mutated(module: ast.Module) -> frozenset[str]:
    """Names whose value may change after their assignment, wherever in the file that happens."""
    names: set[str] = set()
    for node in ast.walk(module):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _MUTATORS:
            if isinstance(node.func.value, ast.Name):
                names.add(node.func.value.id)
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, (ast.Store, ast.Del)):
            if isinstance(node.value, ast.Name):
                names.add(node.value.id)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            names.update(node.names)
    return frozenset(names)


def _constants(bindings: list[_Binding], scope: _Scope, mutated: frozenset[str]) -> _Scope:
    """`scope` with each name bound exactly once, to a static value, and never changed in place."""
    counts = Counter(name for name, _, _ in bindings)
    for name, value, _ in bindings:
        if value is not None and counts[name] == 1 and name not in mutated:
            static = _static(value, scope)
            if static is not None:
                scope[name] = static
    return scope
