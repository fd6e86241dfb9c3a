"""nox: the installs of a noxfile's sessions, read from its syntax tree.

A noxfile is Python, and running it (or importing it, as `nox` does) would run whatever its
module level does. envguard never does: the file is parsed with `ast` and only literal values
are read.

* Sessions are the module-level functions decorated with `nox.session` (called or not, through
  any alias: `import nox as n`, `from nox import session`). The session's name is its `name=`
  when that is a string, else the function's name; with `python=` (a string, a list or tuple of
  strings, or a module-level constant holding one) there is one environment per Python, named
  as `nox --list` names them: `tests-3.12`. Parametrized sessions (`@nox.parametrize`) keep the
  name of their session: every variant installs what the function installs, and an install that
  depends on the parameter is not static (below).
* Installs: `session.install(...)` (whatever the session parameter is called), and
  `session.run(...)` / `session.run_install(...)` / `session.run_always(...)` whose words are a
  `pip install` or `uv pip install` command. Their arguments are pip's, and go to
  `envguard.declared.install`, so `-r`, `-c`, `-e .[test]` and options are read as everywhere
  else, relative to the noxfile's directory (where nox runs sessions).
* Static values: string literals, f-strings without fields, lists, tuples and `*starred` ones
  of those, and module-level constants (`DEPS = ["pytest==8.4.2"]`, assigned once). Anything
  else (a variable computed at run time, a call, a parameter) is a warning at its line: what it
  installs is not checked.
* A module-level helper called with the session (`install_test_deps(session)`) is read as part
  of each session that calls it, with the session parameter at the position it is passed.
"""

from __future__ import annotations

import ast
import dataclasses
import posixpath
from collections.abc import Iterator
from pathlib import Path

from envguard.declared.install import Context, arguments, find_install, root_of
from envguard.declared.shell import Word
from envguard.errors import SourceError
from envguard.model import Declaration, Diagnostic, Loaded
from envguard.sources._text import read_text

ORIGIN = "nox"
_RUNS = frozenset({"run", "run_install", "run_always"})

# A static string with the line it is written on (a constant's pins are fixed where it is
# defined), and a static value: one string, or a list of them.
_Text = tuple[str, int]
_Constants = dict[str, "_Text | list[_Text]"]


@dataclasses.dataclass(frozen=True)
class _Session:
    name: str
    # The `-3.12` suffixes nox gives a session whose python= is a list ("" for a single one).
    pythons: tuple[str, ...]
    # Each parametrized variant: its `(django='4.2')` suffix and the values it binds.
    variants: tuple[tuple[str, _Constants], ...]
    function: ast.FunctionDef


def load(path: Path, shown: str, *, allow_outside_root: bool = False) -> Loaded:
    """The declarations of every nox session in the noxfile `path`."""
    module = _parse(read_text(path, shown), shown)
    constants = _constants(module)
    functions = {node.name: node for node in module.body if isinstance(node, ast.FunctionDef)}
    root = root_of(path, shown)
    workdir = posixpath.dirname(shown) or "."
    declarations: list[Declaration] = []
    warnings: list[Diagnostic] = []
    included: list[str] = []
    for session in _sessions(module, constants, shown, warnings):
        parameter = _parameter(session.function)
        for suffix, bound in session.variants:
            labels = [f"{shown} session {session.name}{python}{suffix}" for python in session.pythons]
            context = Context(shown, labels[0], ORIGIN, root, workdir=workdir, allow_outside_root=allow_outside_root)
            found: list[Declaration] = []
            known = {**constants, **bound}
            for tool, words in _installs(session.function, parameter, functions, known, shown, warnings, set()):
                loaded = arguments(words, context, tool)
                found.extend(loaded.declarations)
                warnings.extend(loaded.warnings)
                included.extend(loaded.included)
            declarations.extend(dataclasses.replace(d, environment=label) for label in labels for d in found)
    return Loaded(
        (),
        tuple(dict.fromkeys(p for p in included if p != shown)),
        tuple(dict.fromkeys(warnings)),
        tuple(dict.fromkeys(declarations)),
    )


def _parse(text: str, shown: str) -> ast.Module:
    try:
        return ast.parse(text, filename=shown)
    except SyntaxError as exc:
        raise SourceError(shown, exc.lineno, f"not valid Python: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise SourceError(shown, None, "too deeply nested to read") from None
    except ValueError as exc:  # a NUL byte, on Pythons before 3.12
        raise SourceError(shown, None, f"not valid Python: {exc}") from None


def _constants(module: ast.Module) -> _Constants:
    """Module-level names assigned exactly once to a static string or list/tuple of strings."""
    assigned: dict[str, list[ast.expr | None]] = {}
    for node in module.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                for name in _names(target):
                    assigned.setdefault(name, []).append(node.value if isinstance(target, ast.Name) else None)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)) and isinstance(node.target, ast.Name):
            assigned.setdefault(node.target.id, []).append(node.value if isinstance(node, ast.AnnAssign) else None)
    constants: _Constants = {}
    for name, values in assigned.items():
        expression = values[0]
        if len(values) != 1 or expression is None:
            continue  # reassigned or augmented: its value at run time is not the literal
        static = _static(expression, constants)
        if static is not None:
            constants[name] = static
    return constants


def _names(target: ast.expr) -> Iterator[str]:
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            yield from _names(element)
    elif isinstance(target, ast.Starred):
        yield from _names(target.value)


def _static(node: ast.expr, constants: _Constants) -> _Text | list[_Text] | None:
    """A string, or a list of strings (from a list, tuple or starred parts), or None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value, node.lineno
    if isinstance(node, ast.JoinedStr):
        pieces = [_field(value, constants) for value in node.values]
        return ("".join(p for p in pieces if p is not None), node.lineno) if None not in pieces else None
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    if isinstance(node, (ast.List, ast.Tuple)):
        parts: list[_Text] = []
        for element in node.elts:
            inner = element.value if isinstance(element, ast.Starred) else element
            value = _static(inner, constants)
            if value is None or isinstance(value, list) != isinstance(element, ast.Starred):
                return None
            parts.extend(value if isinstance(value, list) else (value,))
        return parts
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _static(node.left, constants), _static(node.right, constants)
        if isinstance(left, tuple) and isinstance(right, tuple):
            return left[0] + right[0], node.lineno
        if isinstance(left, list) and isinstance(right, list):
            return left + right
    return None


def _field(node: ast.expr, constants: _Constants) -> str | None:
    """A part of an f-string: literal text, or `{NAME}` of a static string."""
    if isinstance(node, ast.Constant):
        return str(node.value)
    if isinstance(node, ast.FormattedValue) and node.conversion == -1 and node.format_spec is None:
        value = _static(node.value, constants)
        return value[0] if isinstance(value, tuple) else None
    return None


def _sessions(module: ast.Module, constants: _Constants, shown: str, warnings: list[Diagnostic]) -> Iterator[_Session]:
    modules, decorators = _nox_names(module)
    for node in module.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            call = decorator if isinstance(decorator, ast.Call) else None
            target = call.func if call is not None else decorator
            if not _is_session(target, modules, decorators):
                continue
            name, pythons = node.name, tuple[str, ...](("",))
            for keyword in call.keywords if call is not None else ():
                if keyword.arg == "name" and isinstance(keyword.value, ast.Constant) and isinstance(keyword.value.value, str):
                    name = keyword.value.value
                elif keyword.arg in ("python", "py"):
                    pythons = _pythons(keyword.value, constants, shown, warnings)
            yield _Session(name, pythons, _variants(node, modules, constants, shown, warnings), node)
            break


def _nox_names(module: ast.Module) -> tuple[set[str], set[str]]:
    """The names nox is imported as, and the names its `session` decorator is imported as."""
    modules: set[str] = set()
    decorators: set[str] = set()
    for node in module.body:
        if isinstance(node, ast.Import):
            modules.update(alias.asname or alias.name for alias in node.names if alias.name == "nox")
        elif isinstance(node, ast.ImportFrom) and node.module == "nox":
            decorators.update(alias.asname or alias.name for alias in node.names if alias.name == "session")
    return modules, decorators


def _is_session(node: ast.expr, modules: set[str], decorators: set[str]) -> bool:
    if isinstance(node, ast.Attribute):
        return node.attr == "session" and isinstance(node.value, ast.Name) and node.value.id in modules
    return isinstance(node, ast.Name) and node.id in decorators


def _pythons(node: ast.expr, constants: _Constants, shown: str, warnings: list[Diagnostic]) -> tuple[str, ...]:
    """The name suffix of each Python the session runs on: `-3.12` from a list, none from a string."""
    if isinstance(node, ast.Constant) and node.value in (None, False):
        return ("",)
    value = _static(node, constants)
    if value is None:
        message = "the session's python= cannot be read statically; its environments are named after the session alone"
        warnings.append(Diagnostic(shown, node.lineno, message))
        return ("",)
    if isinstance(value, tuple):
        return ("",)
    return tuple(f"-{text}" for text, _ in value) or ("",)


def _variants(
    function: ast.FunctionDef, modules: set[str], constants: _Constants, shown: str, warnings: list[Diagnostic]
) -> tuple[tuple[str, _Constants], ...]:
    """The variants of `@nox.parametrize("name", [values])`: nox's `(name='value')` id and binding.

    One parametrize decorator of static strings (or `nox.param(value, id=...)`) is read; anything
    else keeps the session's name, and installs that use the parameter are not static.
    """
    found = [
        d
        for d in function.decorator_list
        if isinstance(d, ast.Call)
        and isinstance(d.func, ast.Attribute)
        and d.func.attr == "parametrize"
        and isinstance(d.func.value, ast.Name)
        and d.func.value.id in modules
    ]
    if not found:
        return (("", {}),)
    decorator = found[0]
    names = _static(decorator.args[0], constants) if decorator.args else None
    values = decorator.args[1] if len(decorator.args) > 1 else None
    if len(found) > 1 or not isinstance(names, tuple) or "," in names[0] or not isinstance(values, (ast.List, ast.Tuple)):
        message = "this parametrization cannot be read statically; its variants are read as one session"
        warnings.append(Diagnostic(shown, decorator.lineno, message))
        return (("", {}),)
    name = names[0].strip()
    variants: list[tuple[str, _Constants]] = []
    for element in values.elts:
        label: str | None = None
        if isinstance(element, ast.Call) and isinstance(element.func, ast.Attribute) and element.func.attr == "param":
            ids = [k.value for k in element.keywords if k.arg == "id"]
            label = ids[0].value if ids and isinstance(ids[0], ast.Constant) and isinstance(ids[0].value, str) else None
            element = element.args[0] if element.args else element
        if not isinstance(element, ast.Constant) or not isinstance(element.value, (str, int, float, bool)):
            message = "a parametrized value cannot be read statically; its variants are read as one session"
            warnings.append(Diagnostic(shown, element.lineno, message))
            return (("", {}),)
        bound: _Constants = {name: (str(element.value), element.lineno)} if isinstance(element.value, str) else {}
        variants.append((f"({label or f'{name}={element.value!r}'})", bound))
    return tuple(variants) or (("", {}),)


def _parameter(function: ast.FunctionDef) -> str | None:
    """The name of the function's first parameter: the session, in a nox session."""
    positional = [*function.args.posonlyargs, *function.args.args]
    return positional[0].arg if positional else None


def _installs(
    function: ast.FunctionDef,
    session: str | None,
    functions: dict[str, ast.FunctionDef],
    constants: _Constants,
    shown: str,
    warnings: list[Diagnostic],
    visiting: set[str],
) -> Iterator[tuple[str, list[Word]]]:
    """(tool, pip arguments) of every install the function makes through `session`, in line order."""
    if session is None:
        return
    visiting = visiting | {function.name}
    calls = sorted((n for n in ast.walk(function) if isinstance(n, ast.Call)), key=lambda n: (n.lineno, n.col_offset))
    for call in calls:
        func = call.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == session:
            if func.attr == "install":
                yield "pip", _words(call, constants, shown, warnings)
            elif func.attr in _RUNS:
                # What a command that is no install cannot read (`*session.posargs`) does not matter.
                unread: list[Diagnostic] = []
                found = find_install(_words(call, constants, shown, unread))
                if found is not None:
                    warnings.extend(unread)
                    yield found[0], found[1]
        elif isinstance(func, ast.Name) and func.id in functions and func.id not in visiting:
            at = [i for i, arg in enumerate(call.args) if isinstance(arg, ast.Name) and arg.id == session]
            if at:
                helper = functions[func.id]
                positional = [*helper.args.posonlyargs, *helper.args.args]
                if at[0] < len(positional):
                    yield from _installs(helper, positional[at[0]].arg, functions, constants, shown, warnings, visiting)


def _words(call: ast.Call, constants: _Constants, shown: str, warnings: list[Diagnostic]) -> list[Word]:
    words: list[Word] = []
    for argument in call.args:
        inner = argument.value if isinstance(argument, ast.Starred) else argument
        value = _static(inner, constants)
        # nox takes strings: a list counts only when unpacked (`*DEPS`).
        if value is None or isinstance(value, list) != isinstance(argument, ast.Starred):
            warnings.append(
                Diagnostic(
                    shown,
                    argument.lineno,
                    f"cannot read {ast.unparse(argument)!r} statically (a value computed when the session runs); "
                    "what it installs is not checked",
                )
            )
            continue
        words.extend(Word(text, line) for text, line in (value if isinstance(value, list) else [value]))
    return words
