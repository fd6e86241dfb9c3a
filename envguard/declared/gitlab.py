"""GitLab CI pipelines (`.gitlab-ci.yml`), read as the installs their jobs' scripts run.

The pipeline is built the way GitLab builds it, in GitLab's order
(`Gitlab::Ci::Config#build_config`):

1. YAML, with anchors, aliases and `<<` merge keys (see `_yaml`); a file that starts with a
   `spec:` header document is read from its second document.
2. `include`: local files (`include: 'path'`, `include: [{local: path}]`, `*` and `**`
   wildcards) are read, recursively, and deep-merged in order, the including file's own
   content last. Paths are relative to the project root (a leading `/` is optional); one outside
   the root is refused unless `--allow-outside-root`. A file included twice is merged once.
   Remote, project, template and component includes cannot be read here: a warning says so.
   An include's `rules:` are not evaluated (the file is read whatever they say).
3. `extends`: a key extending others (a string or a list) is the deep merge of its bases, in
   order, then itself; bases may extend further (GitLab's limit: 10 levels). An unknown base,
   a base that is not a mapping, or a cycle is an error, as in GitLab.
4. `!reference [.job, key, ...]` tags resolve to the value at that path of the merged
   configuration (after `extends`, so a reference sees inherited keys); references within it
   resolve in turn. A path that leads nowhere, or a chain of references that loops, is an error.

Deep merge is ActiveSupport's: mappings merge key by key, anything else (a script list
included) is replaced whole.

Jobs are the top-level keys that are not global keywords (`include`, `before_script`, `image`,
`services`, `after_script`, `variables`, `stages`, `cache`, `default`, `workflow`; `default` and
`workflow` only when they hold no `script`, as in GitLab's `Root#filter_jobs!`). Hidden jobs
(`.name`) are templates and do not run. A job's `before_script` (its own, else `default:`'s,
else the deprecated top-level one, as `inherit: default` allows) and `script` run in one shell,
in that order: a `cd` or `export` in `before_script` holds for `script`. `after_script` runs in
a shell of its own, in the project directory. Each item of a script (a string, or lists of them
nested up to 10 levels, as `!reference` makes) is a command at its own line; a multi-line item
keeps its lines (`_yaml.Scalar.lines_kept`).

Jobs start in the project directory: `Context(workdir=".")`, and each declaration's directory
is where its command runs. Variables are the top-level `variables`, then the job's (`inherit:
variables` allows), by name or in the `value:` form, with `$NAME` and `${NAME}` expanded from
the others unless `expand: false`. A value that names a variable envguard does not know
statically (`$CI_PROJECT_DIR`), and every variable `parallel: matrix:` sets, is passed on as set
but unknown (`Context.unknown`): the shell reader makes its expansions dynamic.

Environment labels are `<entry file> job <name>`: a job of an included file is a job of the
pipeline; each declaration's path and line are those of the file its command is written in.
"""

from __future__ import annotations

import bisect
import dataclasses
import os
import posixpath
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from envguard._record import record
from envguard.declared import _yaml
from envguard.declared.install import Context, root_of, script
from envguard.errors import SourceError
from envguard.model import Declaration, Diagnostic, Loaded
from envguard.sources._text import read_text

__all__ = ["load"]

ORIGIN = "gitlab"
MAX_INCLUDES = 150  # GitLab's default limit on the files one pipeline includes
MAX_EXTENDS = 10
MAX_SCRIPT_NESTING = 10
REFERENCE_TAG = "!reference"
# Not jobs (GitLab's Root: reserved entries, plus `default` and `workflow` unless they hold a script).
_GLOBAL_KEYWORDS = frozenset(
    {"include", "before_script", "image", "services", "after_script", "variables", "stages", "cache"}
)
_MAYBE_JOBS = frozenset({"default", "workflow"})
# The file the shell reader is told a job's script is in: the script joins items of several
# files, and what it reports there is mapped back to each item's own file and line.
_JOINED = "\x00gitlab-script"


def load(path: Path, shown: str, *, allow_outside_root: bool = False) -> Loaded:
    """The installs of every job of a GitLab pipeline and the local files it includes."""
    reader = _Reader(root_of(path, shown), shown, allow_outside_root)
    config = reader.read(path, shown, None)
    config = _extend(config)
    config = _References(config).resolve(config)
    for name, job in _jobs(config):
        reader.job(name, job, config)
    return Loaded(
        (),
        tuple(reader.included),
        tuple(dict.fromkeys(reader.warnings)),
        tuple(dict.fromkeys(reader.declarations)),
    )


# ----------------------------------------------------------------------------- merging


def _merge(base: _yaml.Map, override: _yaml.Map) -> _yaml.Map:
    """ActiveSupport's deep_merge: mappings merge key by key; any other value replaces."""
    entries = dict(base.entries)
    for key, (key_node, value) in override.entries.items():
        old = entries.get(key)
        if old is not None and isinstance(old[1], _yaml.Map) and isinstance(value, _yaml.Map):
            value = _merge(old[1], value)
        entries[key] = (key_node, value)
    return _yaml.Map(entries, override.tag, override.path, override.line)


def _without(node: _yaml.Map, key: str) -> _yaml.Map:
    return _yaml.Map({k: v for k, v in node.entries.items() if k != key}, node.tag, node.path, node.line)


def _extend(config: _yaml.Map) -> _yaml.Map:
    """Every key's `extends` resolved (Gitlab::Ci::Config::Extendable)."""
    entries = dict(config.entries)
    done: set[str] = set()

    def extend(key: str, chain: tuple[str, ...]) -> _yaml.Node:
        key_node, value = entries[key]
        if key in done or not isinstance(value, _yaml.Map) or "extends" not in value:
            return value
        line = value.key_line("extends")
        if key in chain:
            raise SourceError(value.path, line, f"{key}: circular dependency in extends ({' -> '.join((*chain, key))})")
        if len(chain) > MAX_EXTENDS:
            raise SourceError(value.path, line, f"{key}: extends nested deeper than {MAX_EXTENDS} levels")
        merged = _yaml.Map({}, value.tag, value.path, value.line)
        for base in _names(value.get("extends"), value.path, key):
            if base not in entries:
                raise SourceError(value.path, line, f"{key}: unknown key in extends: {base!r}")
            found = extend(base, (*chain, key))
            if not isinstance(found, _yaml.Map):
                raise SourceError(value.path, line, f"{key}: extends {base!r}, which is not a mapping")
            merged = _merge(merged, found)
        result = _merge(merged, value)
        entries[key] = (key_node, result)
        done.add(key)
        return result

    for key in list(entries):
        extend(key, ())
    return _yaml.Map(entries, config.tag, config.path, config.line)


def _names(node: _yaml.Node | None, shown: str, key: str) -> list[str]:
    if isinstance(node, _yaml.Scalar):
        return [node.value]
    if isinstance(node, _yaml.Seq) and all(isinstance(item, _yaml.Scalar) for item in node.items):
        return [item.value for item in node.items if isinstance(item, _yaml.Scalar)]
    line = node.line if node is not None else None
    raise SourceError(shown, line, f"{key}: extends must be a job name or a list of them, not {_yaml.describe(node)}")


class _References:
    """`!reference` tags resolved against the merged configuration (Yaml::Tags::Resolver)."""

    def __init__(self, config: _yaml.Map) -> None:
        self.config = config
        self.done: dict[int, _yaml.Node] = {}  # by id: aliases share nodes

    def resolve(self, node: _yaml.Map) -> _yaml.Map:
        resolved = self.node(node, ())
        assert isinstance(resolved, _yaml.Map)
        return resolved

    def node(self, node: _yaml.Node, chain: tuple[tuple[str, ...], ...]) -> _yaml.Node:
        known = self.done.get(id(node))
        if known is not None:
            return known
        resolved: _yaml.Node
        if node.tag == REFERENCE_TAG:
            resolved = self.reference(node, chain)
        elif isinstance(node, _yaml.Seq):
            _check_tag(node)
            items = tuple(self.node(item, chain) for item in node.items)
            changed = any(new is not old for new, old in zip(items, node.items))
            resolved = _yaml.Seq(items, node.tag, node.path, node.line) if changed else node
        elif isinstance(node, _yaml.Map):
            _check_tag(node)
            entries = {key: (key_node, self.node(value, chain)) for key, (key_node, value) in node.entries.items()}
            changed = any(entries[key][1] is not value for key, (_, value) in node.entries.items())
            resolved = _yaml.Map(entries, node.tag, node.path, node.line) if changed else node
        else:
            _check_tag(node)
            resolved = node
        self.done[id(node)] = resolved
        return resolved

    def reference(self, node: _yaml.Node, chain: tuple[tuple[str, ...], ...]) -> _yaml.Node:
        if (
            not isinstance(node, _yaml.Seq)
            or not node.items
            or not all(isinstance(i, _yaml.Scalar) for i in node.items)
        ):
            raise SourceError(node.path, node.line, "!reference takes a list of keys, e.g. !reference [.setup, script]")
        path = tuple(item.value for item in node.items if isinstance(item, _yaml.Scalar))
        spelled = f"!reference [{', '.join(path)}]"
        if path in chain:
            raise SourceError(node.path, node.line, f"{spelled} is part of a circular chain of references")
        target: _yaml.Node | None = self.config
        for key in path:
            target = target.get(key) if isinstance(target, _yaml.Map) else None
        if target is None:
            raise SourceError(node.path, node.line, f"{spelled} could not be found")
        return self.node(target, (*chain, path))


def _check_tag(node: _yaml.Node) -> None:
    if node.tag.startswith("!") and node.tag != "!":
        raise SourceError(node.path, node.line, f"unknown YAML tag {node.tag} (GitLab knows only !reference)")


# ----------------------------------------------------------------------------- jobs


def _jobs(config: _yaml.Map) -> Iterator[tuple[str, _yaml.Map]]:
    for name, node in config.items():
        if name in _GLOBAL_KEYWORDS or name.startswith("."):
            continue
        if name in _MAYBE_JOBS and not (isinstance(node, _yaml.Map) and "script" in node):
            continue
        if not isinstance(node, _yaml.Map):
            raise SourceError(node.path, node.line, f"job {name!r} must be a mapping, not {_yaml.describe(node)}")
        yield name, node


@record(frozen=True)
class _Item:
    """One command of a script: its text, and where it is written."""

    text: str
    path: str
    first_line: int


class _Reader:
    def __init__(self, root: Path, shown: str, allow_outside_root: bool) -> None:
        self.root = root
        self.shown = shown
        self.allow_outside_root = allow_outside_root
        self.included: list[str] = []
        self.read_files: set[str] = set()
        self.declarations: list[Declaration] = []
        self.warnings: list[Diagnostic] = []

    # -- files and includes

    def read(self, path: Path, shown: str, including: tuple[str, int] | None) -> _yaml.Map:
        """A file's configuration, its includes merged in."""
        self.read_files.add(shown)
        documents = _yaml.load_documents(read_text(path, shown), shown, 2)
        content = documents[-1] if documents else None
        if len(documents) == 2 and not (isinstance(documents[0], _yaml.Map) and "spec" in documents[0]):
            raise SourceError(
                shown,
                documents[1].line if documents[1] else None,
                "a second YAML document, after one that is no spec: header",
            )
        if not isinstance(content, _yaml.Map):
            where = including or (shown, content.line if content is not None else 1)
            what = "included file" if including else "a GitLab CI configuration"
            raise SourceError(
                where[0], where[1], f"{what} {shown!r} must hold a mapping, not {_yaml.describe(content)}"
            )
        include = content.get("include")
        if include is None:
            return content
        merged = _yaml.Map({}, content.tag, content.path, content.line)
        for target, line in self.includes(include, shown):
            for found in self.local(target, line, shown):
                if found in self.read_files:
                    continue
                if len(self.included) >= MAX_INCLUDES:
                    raise SourceError(shown, line, f"more than {MAX_INCLUDES} included files")
                self.included.append(found)
                merged = _merge(merged, self.read(self.root / found, found, (shown, line)))
        return _merge(merged, _without(content, "include"))

    def includes(self, node: _yaml.Node, shown: str) -> Iterator[tuple[str, int]]:
        """The local paths an `include:` names, with their lines; a warning for each other kind."""
        items = node.items if isinstance(node, _yaml.Seq) else (node,)
        for item in items:
            if isinstance(item, _yaml.Scalar) and _yaml.describe(item) == "a string":
                if re.match(r"^https?://", item.value):
                    self.unread(shown, item.line, f"remote include {item.value!r}")
                else:
                    yield item.value, item.line
            elif isinstance(item, _yaml.Map):
                local = item.get("local")
                if isinstance(local, _yaml.Scalar):
                    yield local.value, local.line
                elif local is not None:
                    raise SourceError(shown, local.line, f"include local: must be a path, not {_yaml.describe(local)}")
                else:
                    kind = next(
                        (key for key in ("remote", "project", "template", "component", "artifact") if key in item), None
                    )
                    named = item.get(kind) if kind is not None else None
                    what = f" {named.value!r}" if isinstance(named, _yaml.Scalar) else ""
                    self.unread(shown, item.line, f"{kind or 'this'} include{what}")
            else:
                raise SourceError(shown, item.line, f"include must be a path or a mapping, not {_yaml.describe(item)}")

    def unread(self, shown: str, line: int, what: str) -> None:
        self.warnings.append(
            Diagnostic(
                shown,
                line,
                f"{what} is not in the workspace; envguard does not read it, and the jobs it defines are not checked",
            )
        )

    def local(self, target: str, line: int, shown: str) -> list[str]:
        """The root-relative files a local include names (several for a wildcard)."""
        if "$" in target:
            self.warnings.append(
                Diagnostic(
                    shown,
                    line,
                    f"include {target!r} names a variable; envguard does not read it, and the jobs it defines are not checked",
                )
            )
            return []
        relative = posixpath.normpath(target.strip().lstrip("/")) if target.strip().lstrip("/") else "."
        if (relative == ".." or relative.startswith("../")) and not self.allow_outside_root:
            raise SourceError(
                shown,
                line,
                f"included file {target!r} is outside the workspace root; pass --allow-outside-root to read it",
            )
        if not relative.endswith((".yml", ".yaml")):
            raise SourceError(shown, line, f"included file {target!r} does not have a YAML extension (.yml or .yaml)")
        if "*" in relative:
            # GitLab's `**.yml` (any depth) is pathlib's `**/*.yml`.
            pattern = "/".join(
                f"**/{part.replace('**', '*')}" if "**" in part and part != "**" else part
                for part in relative.split("/")
            )
            matches = (Path(os.path.relpath(p, self.root)).as_posix() for p in self.root.glob(pattern) if p.is_file())
            return sorted(matches)
        if not (self.root / relative).is_file():
            raise SourceError(shown, line, f"included file {target!r} does not exist")
        return [relative]

    # -- jobs

    def job(self, name: str, job: _yaml.Map, config: _yaml.Map) -> None:
        inherit = job.get("inherit")
        default = config.get("default")
        if default is not None and not isinstance(default, _yaml.Map):
            raise SourceError(default.path, default.line, f"default must be a mapping, not {_yaml.describe(default)}")
        environment = f"{self.shown} job {name}"
        env, unknown = self.variables(config, job, _inherits(inherit, "variables", None))
        unknown |= _matrix_names(job.get("parallel"))

        def inherited(keyword: str) -> _yaml.Node | None:
            if keyword in job:
                return job.get(keyword)
            if not _inherits(inherit, "default", keyword):
                return None
            if isinstance(default, _yaml.Map) and keyword in default:
                return default.get(keyword)
            return config.get(keyword)  # the deprecated top-level form of `default:`

        session = [*self.items(inherited("before_script"), name), *self.items(job.get("script"), name)]
        self.run(session, environment, env, unknown)
        self.run(self.items(inherited("after_script"), name), environment, env, unknown)

    def items(self, node: _yaml.Node | None, job: str, depth: int = 0) -> list[_Item]:
        if node is None or isinstance(node, _yaml.Scalar) and node.tag == _yaml.NULL_TAG:
            return []
        if isinstance(node, _yaml.Scalar):
            text, first_line = node.lines_kept()
            return [_Item(text, node.path, first_line)]
        if isinstance(node, _yaml.Map):
            raise SourceError(node.path, node.line, f"job {job!r}: a script holds commands (strings), not a mapping")
        if depth >= MAX_SCRIPT_NESTING:
            raise SourceError(
                node.path, node.line, f"job {job!r}: script lists nested deeper than {MAX_SCRIPT_NESTING} levels"
            )
        return [item for inner in node.items for item in self.items(inner, job, depth + 1)]

    def run(self, items: list[_Item], environment: str, env: dict[str, str], unknown: frozenset[str]) -> None:
        """One shell session: the items joined, read at once, each finding mapped back to its item."""
        if (
            not items
            or not any("install" in item.text for item in items)
            and not any("install" in v for v in env.values())
        ):
            return  # no command can spell `install` (a shortcut: most jobs install nothing)
        starts: list[int] = []
        line = 1
        for item in items:
            starts.append(line)
            line += item.text.count("\n") + 1

        def place(virtual: int) -> tuple[str, int]:
            index = max(bisect.bisect_right(starts, virtual) - 1, 0)
            return items[index].path, items[index].first_line + virtual - starts[index]

        context = Context(
            _JOINED,
            environment,
            ORIGIN,
            self.root,
            workdir=".",
            env=env,
            allow_outside_root=self.allow_outside_root,
            attribute=True,
            unknown=unknown,
        )
        try:
            loaded = script("\n".join(item.text for item in items), 1, context)
        except SourceError as exc:
            if exc.path != _JOINED:
                raise
            path, number = place(exc.line or 1)
            raise SourceError(path, number, exc.message) from None
        for declaration in loaded.declarations:
            if declaration.path == _JOINED:
                path, number = place(declaration.line)
                declaration = dataclasses.replace(declaration, path=path, line=number)
            self.declarations.append(declaration)
        for warning in loaded.warnings:
            if warning.path == _JOINED:
                path, number = place(warning.line or 1)
                warning = Diagnostic(path, number, warning.message)
            self.warnings.append(warning)
        self.included.extend(path for path in loaded.included if path not in self.included)

    def variables(
        self, config: _yaml.Map, job: _yaml.Map, inherit: bool | frozenset[str]
    ) -> tuple[dict[str, str], frozenset[str]]:
        """The variables where the job's scripts run: those known statically, and the names of the others."""
        raw: dict[str, tuple[str, bool]] = {}  # name -> (value, expand)
        globals_ = _variables(config.get("variables"))
        for name, value in globals_.items():
            if inherit is True or isinstance(inherit, frozenset) and name in inherit:
                raw[name] = value
        raw.update(_variables(job.get("variables")))
        known: dict[str, str | None] = {}

        def expand(name: str, seen: tuple[str, ...]) -> str | None:
            if name in known:
                return known[name]
            if name not in raw or name in seen:
                return None
            text, expands = raw[name]
            value: str | None = text
            if expands:
                value = _expand(text, lambda other: expand(other, (*seen, name)))
            known[name] = value
            return value

        static = {name: found for name in raw if (found := expand(name, ())) is not None}
        return static, frozenset(raw) - frozenset(static)


def _variables(node: _yaml.Node | None) -> dict[str, tuple[str, bool]]:
    if node is None:
        return {}
    if not isinstance(node, _yaml.Map):
        raise SourceError(node.path, node.line, f"variables must be a mapping, not {_yaml.describe(node)}")
    found: dict[str, tuple[str, bool]] = {}
    for name, value in node.items():
        expands = True
        if isinstance(value, _yaml.Map):  # the `value:` form
            flag = value.get("expand")
            expands = not (isinstance(flag, _yaml.Scalar) and flag.value.lower() == "false")
            inner = value.get("value")
            if inner is None:
                found[name] = ("", expands)
                continue
            value = inner
        if not isinstance(value, _yaml.Scalar):
            raise SourceError(
                value.path, value.line, f"variable {name}: the value must be a string, not {_yaml.describe(value)}"
            )
        found[name] = ("" if value.tag == _yaml.NULL_TAG and value.plain else value.value, expands)
    return found


_REFERENCE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def _expand(text: str, lookup: Callable[[str], str | None]) -> str | None:
    """`$NAME` and `${NAME}` replaced (`$$` is a `$`); None when a name is not known."""
    unknown = False

    def replace(found: re.Match[str]) -> str:
        nonlocal unknown
        if found.group(0) == "$$":
            return "$"
        value = lookup(found.group(1) or found.group(2))
        if value is None:
            unknown = True
            return ""
        return value

    result = _REFERENCE.sub(replace, text)
    return None if unknown else result


def _matrix_names(node: _yaml.Node | None) -> frozenset[str]:
    """The variables `parallel: matrix:` sets: each job it makes has its own values."""
    matrix = node.get("matrix") if isinstance(node, _yaml.Map) else None
    if not isinstance(matrix, _yaml.Seq):
        return frozenset()
    return frozenset(name for entry in matrix.items if isinstance(entry, _yaml.Map) for name in entry.entries)


def _inherits(node: _yaml.Node | None, what: str, keyword: str | None) -> bool | frozenset[str]:
    """`inherit: default/variables`: true, false, or a list of names; True when absent."""
    if not isinstance(node, _yaml.Map):
        return True
    value = node.get(what)
    if value is None:
        return True
    if isinstance(value, _yaml.Scalar):
        return value.value.lower() != "false"
    if isinstance(value, _yaml.Seq):
        names = frozenset(item.value for item in value.items if isinstance(item, _yaml.Scalar))
        return names if keyword is None else keyword in names
    raise SourceError(
        value.path, value.line, f"inherit: {what} must be true, false or a list, not {_yaml.describe(value)}"
    )
