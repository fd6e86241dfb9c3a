"""pyproject.toml: every environment it declares, one declaration per requirement at its line.

Tables read, and the environment label of each (the file part is the root-relative path):

* PEP 621 `[project] dependencies` (groups `main`) and `[project.optional-dependencies] <x>`
  (`extra:<x>`), origin `project`. A dynamic field is read where setuptools reads it statically,
  `[tool.setuptools.dynamic] dependencies = {file = [...]}`: each file line by line, as
  setuptools' `_parse_requirements_list` does (a line is one PEP 508 requirement; blank and
  `#` lines skipped; pip options are errors, as in setuptools), at its own line, the files in
  `Loaded.included`. setuptools refuses a file outside the project's directory, and so does
  this reader, whatever `allow_outside_root` says; a file that does not exist is a warning, as
  in setuptools. Any other dynamic field is a warning at the `dynamic` line.
* PEP 735 `[dependency-groups] <g>` (origin `dependency-groups`, groups `<g>` normalised), with
  `{include-group}` expanded (see `_project`).
* Poetry: `[tool.poetry.dependencies]` (`main`; `python` skipped), `[tool.poetry.group.<g>.
  dependencies]` (`<g>`, and its `include-groups`), `[tool.poetry.dev-dependencies]` (`dev`),
  constraints converted to PEP 440 by `_poetry`. Label `pyproject.toml [tool.poetry.dependencies]`
  (the table). Requirement text is the entry as one line of TOML (`pytest = "^8.0"`), since the
  file has no PEP 508 string. An `optional = true` entry belongs to the `[tool.poetry.extras]`
  that name it (groups `extra:<x>`), none if no extra does. Poetry 2 reads `[tool.poetry.
  dependencies]` beside a static `[project]` list only to enrich the entries named there (a
  source, a narrower constraint, which locking also applies): those are declared, and an entry
  naming anything else is a warning, since Poetry ignores it. The same holds for a poetry group
  beside a PEP 735 group of the same name.
* PDM `[tool.pdm.dev-dependencies] <g>` (origin `pdm`); `-e` entries are editable, with
  `file:///${PROJECT_ROOT}/` read as the project's directory.
* uv `[tool.uv] dev-dependencies` (origin `uv`, groups `dev`), `constraint-dependencies` and
  `override-dependencies` (groups empty). `[tool.uv.sources]` gives the kind of what it names
  (git: vcs, url, path, editable path, workspace member: the local project).
* hatch `[tool.hatch.envs.*]`: see `hatch`. A `hatch.toml` beside the file that has `envs`
  replaces these (hatch updates its configuration with hatch.toml's top-level keys): they are
  then skipped with a warning, and hatch.toml's own reader declares them.

Declarations are sorted by (path, line, environment, name). A file that declares nothing
gives an empty tuple.
"""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Any

from envguard.declared import _pep508
from envguard.declared._project import Entry, Groups, Project, Reader, Target, declare
from envguard.declared._tomlpos import Path as KeyPath
from envguard.declared._tomlpos import positions
from envguard.errors import SourceError
from envguard.model import DEV, MAIN, Declaration, Kind, Loaded, NormalizedName, extra_group, normalize
from envguard.sources._text import read_text
from envguard.sources._toml import parse_toml

# Top-level tables and [tool.*] tables that declare requirements; a file without any of them
# (most tool-configuration-only pyprojects) is returned empty before any line is looked for.
_TOOLS = ("poetry", "pdm", "uv", "hatch")


def load(path: Path, shown: str, *, allow_outside_root: bool = False) -> Loaded:
    text = read_text(path, shown)
    data = parse_toml(text, shown)
    tool = data.get("tool")
    tools = tool if isinstance(tool, dict) else {}
    if "project" not in data and "dependency-groups" not in data and not any(name in tools for name in _TOOLS):
        return Loaded(())
    reader = Reader(shown, positions(text))
    read_document(reader, data, path, allow_outside_root=allow_outside_root)
    return finish(reader)


def finish(reader: Reader) -> Loaded:
    declarations = sorted(dict.fromkeys(reader.declarations), key=_order)
    # A template's override warns once, not once per environment inheriting it.
    warnings = tuple(dict.fromkeys(reader.warnings))
    return Loaded((), tuple(dict.fromkeys(reader.included)), warnings, tuple(declarations))


def _order(declaration: Declaration) -> tuple[str, int, str, str, str]:
    return declaration.path, declaration.line, declaration.environment, declaration.name, declaration.requirement


def read_document(reader: Reader, data: dict[str, Any], path: Path, *, allow_outside_root: bool) -> Project:
    """Declare everything `data` (the parsed pyproject.toml at `path`) declares."""
    shown = reader.shown
    tool = reader.table(data.get("tool"), ("tool",), "tool")
    project_table = reader.table(data.get("project"), ("project",), "project")
    project = project_of(reader, data)
    kinds = _uv_kinds(reader, tool.get("uv"))
    _pep621(reader, project, project_table, tool, path, kinds)
    if project.groups is not None:
        for group in project.groups:
            target = Target(
                f"{shown} [dependency-groups] {project.groups.written[group]}", "dependency-groups", (group,)
            )
            for entry in project.groups.resolve(group):
                declare(reader, project, entry, target, kinds)
    if "poetry" in tool:
        _poetry(reader, project, data, reader.table(tool["poetry"], ("tool", "poetry"), "tool.poetry"), kinds)
    if "pdm" in tool:
        _pdm(reader, project, reader.table(tool["pdm"], ("tool", "pdm"), "tool.pdm"), path, allow_outside_root)
    if "uv" in tool:
        _uv(reader, project, reader.table(tool["uv"], ("tool", "uv"), "tool.uv"), kinds)
    if "hatch" in tool:
        hatch_config = reader.table(tool["hatch"], ("tool", "hatch"), "tool.hatch")
        if "envs" in hatch_config:
            _hatch(reader, project, hatch_config, path, kinds)
    return project


def project_of(reader: Reader, data: dict[str, Any]) -> Project:
    """The project's name, extras and groups (for self-references, hatch features and groups)."""
    table = reader.table(data.get("project"), ("project",), "project")
    name = table.get("name")
    project = Project(normalize(name) if isinstance(name, str) and name else None)
    extras = reader.table(
        table.get("optional-dependencies"), ("project", "optional-dependencies"), "project.optional-dependencies"
    )
    written: dict[str, str] = {}
    for extra, items in extras.items():
        key: KeyPath = ("project", "optional-dependencies", extra)
        normal = normalize(extra)
        if normal in written:
            raise reader.error(key, f"extras {written[normal]!r} and {extra!r} are the same name once normalised")
        written[normal] = extra
        project.extras[normal] = reader.strings(items, key, f"project.optional-dependencies.{extra}")
    if "dependency-groups" in data:
        table_groups = reader.table(data["dependency-groups"], ("dependency-groups",), "dependency-groups")
        project.groups = Groups(reader, table_groups, ("dependency-groups",))
    return project


def _pep621(
    reader: Reader, project: Project, table: dict[str, Any], tool: dict[str, Any], path: Path, kinds: dict[str, Kind]
) -> None:
    shown = reader.shown
    dynamic = table.get("dynamic", [])
    if not isinstance(dynamic, list) or not all(isinstance(item, str) for item in dynamic):
        raise reader.error(("project", "dynamic"), "`project.dynamic` must be an array of strings")
    main = Target(f"{shown} [project] dependencies", "project", (MAIN,))
    for entry in reader.strings(table.get("dependencies"), ("project", "dependencies"), "project.dependencies"):
        declare(reader, project, entry, main, kinds)
    extras_written: dict[str, str] = {
        normalize(extra): extra for extra in reader.table(table.get("optional-dependencies"), (), "")
    }
    for extra, entries in project.extras.items():
        target = Target(
            f"{shown} [project.optional-dependencies] {extras_written[extra]}", "project", (extra_group(extra),)
        )
        for entry in entries:
            declare(reader, project, entry, target, kinds)
    setuptools = tool.get("setuptools")
    files = setuptools.get("dynamic") if isinstance(setuptools, dict) else None
    files = files if isinstance(files, dict) else {}
    dynamic_line = reader.line(("project", "dynamic"))
    for field in ("dependencies", "optional-dependencies"):
        if field not in dynamic:
            continue
        if field in table:
            raise reader.error(("project", "dynamic"), f"`{field}` is both given and listed in `project.dynamic`")
        if field not in files:
            reader.warn(dynamic_line, f"`{field}` is dynamic (computed by the build backend): not read")
            continue
        key: KeyPath = ("tool", "setuptools", "dynamic", field)
        if field == "dependencies":
            _setuptools_files(reader, project, files[field], key, path, main, kinds)
            continue
        for extra, directive in reader.table(
            files[field], key, "tool.setuptools.dynamic.optional-dependencies"
        ).items():
            target = Target(f"{shown} [project.optional-dependencies] {extra}", "project", (extra_group(extra),))
            _setuptools_files(reader, project, directive, key + (extra,), path, target, kinds)


def _setuptools_files(
    reader: Reader, project: Project, directive: Any, key: KeyPath, path: Path, target: Target, kinds: dict[str, Kind]
) -> None:
    """`{file = "x"}` or `{file = [...]}`: setuptools' expand.read_files, then its line rule."""
    if not isinstance(directive, dict) or "file" not in directive:
        raise reader.error(key, "a dynamic dependency list must be `{file = [...]}`")
    names = directive["file"]
    names = [names] if isinstance(names, str) else names
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise reader.error(key, "`file` must be a string or an array of strings")
    base = posixpath.dirname(reader.shown)
    for name in names:
        file_shown = posixpath.normpath(posixpath.join(base, name))
        relative = posixpath.relpath(file_shown, base or ".")
        if posixpath.isabs(name) or relative == ".." or relative.startswith("../"):
            raise reader.error(key, f"file {name!r} is outside the project directory (setuptools refuses it too)")
        file_path = path.parent / name
        if not file_path.is_file():
            reader.warn(reader.line(key), f"file {name!r} not found (setuptools skips it)")
            continue
        reader.included.append(file_shown)
        for number, line in enumerate(read_text(file_path, file_shown).splitlines(), start=1):
            stripped = line.strip()
            if stripped and not stripped.startswith("#"):
                declare(reader, project, Entry(line, file_shown, number), target, kinds)


# ---------------------------------------------------------------------------------------- Poetry


def _poetry(
    reader: Reader, project: Project, data: dict[str, Any], poetry: dict[str, Any], kinds: dict[str, Kind]
) -> None:
    shown = reader.shown
    base: KeyPath = ("tool", "poetry")
    project_table = data.get("project") if isinstance(data.get("project"), dict) else {}
    assert isinstance(project_table, dict)
    dynamic = project_table.get("dynamic", [])
    # Poetry 2 (factory._configure_package_dependencies): a static [project] list makes
    # [tool.poetry.dependencies] enrich it only; [tool.poetry.extras] is then ignored too.
    main_names: set[NormalizedName | None] | None = None
    if (project_table.get("dependencies") or project_table.get("optional-dependencies")) and not (
        "dependencies" in dynamic or "optional-dependencies" in dynamic
    ):
        main_names = {_name(entry) for entry in _pep621_entries(reader, project, project_table)}
    extras_of: dict[NormalizedName, set[str]] = {}
    if main_names is None:
        extras = reader.table(poetry.get("extras"), base + ("extras",), "tool.poetry.extras")
        for extra, names in extras.items():
            for entry in reader.strings(names, base + ("extras", extra), f"tool.poetry.extras.{extra}"):
                extras_of.setdefault(normalize(entry.text.split("[")[0].strip()), set()).add(extra_group(extra))
    items = _PoetryItems(reader, poetry, project, kinds, extras_of)
    if "dependencies" in poetry:
        target = Target(f"{shown} [tool.poetry.dependencies]", "poetry", (MAIN,))
        items.declare(base + ("dependencies",), target, main_names, "[project]")
    groups = reader.table(poetry.get("group"), base + ("group",), "tool.poetry.group")
    for group, config in groups.items():
        key = base + ("group", group)
        config = reader.table(config, key, f"tool.poetry.group.{group}")
        target = Target(f"{shown} [tool.poetry.group.{group}.dependencies]", "poetry", (normalize(group),))
        pep735 = project.groups is not None and normalize(group) in project.groups.written
        names = None
        if pep735:
            assert project.groups is not None
            direct = data["dependency-groups"][project.groups.written[normalize(group)]]
            names = {_name_of(item) for item in direct if isinstance(item, str)} or None
        items.declare(key + ("dependencies",), target, names, "[dependency-groups]")
        for entry in reader.strings(
            config.get("include-groups"), key + ("include-groups",), f"tool.poetry.group.{group}.include-groups"
        ):
            items.include(entry, group, target)
    if "dev-dependencies" in poetry:
        target = Target(f"{shown} [tool.poetry.dev-dependencies]", "poetry", (DEV,))
        items.declare(base + ("dev-dependencies",), target, None, "")


def _pep621_entries(reader: Reader, project: Project, table: dict[str, Any]) -> list[Entry]:
    entries = reader.strings(table.get("dependencies"), ("project", "dependencies"), "project.dependencies")
    for extra in project.extras.values():
        entries.extend(extra)
    return entries


def _name(entry: Entry) -> NormalizedName:
    return _pep508.parse(entry.text, entry.path, entry.line).name


def _name_of(text: str) -> NormalizedName | None:
    parsed = _pep508._parsed(text)
    return None if isinstance(parsed, str) else parsed.name


class _PoetryItems:
    """Poetry dependency tables, declared into a target (their own, or a group that includes them)."""

    def __init__(
        self,
        reader: Reader,
        poetry: dict[str, Any],
        project: Project,
        kinds: dict[str, Kind],
        extras_of: dict[NormalizedName, set[str]],
    ) -> None:
        self.reader, self.poetry, self.project, self.kinds, self.extras_of = reader, poetry, project, kinds, extras_of
        self.including: list[str] = []

    def declare(self, key: KeyPath, target: Target, names: set[NormalizedName | None] | None, beside: str) -> None:
        reader = self.reader
        table = reader.table(_get(self.poetry, key[2:]), key, ".".join(str(part) for part in key))
        for name, value in table.items():
            if name.lower() == "python":
                continue
            normal = normalize(name)
            if names is not None and normal not in names:
                reader.warn(
                    reader.line(key + (name,)), f"Poetry ignores {name!r}: it is not in the {beside} list it enriches"
                )
                continue
            values = value if isinstance(value, list) else [value]
            for index, item in enumerate(values):
                where = key + (name, index) if isinstance(value, list) else key + (name,)
                self._item(name, item, where, target)

    def _item(self, name: str, item: Any, where: KeyPath, target: Target) -> None:
        from envguard.declared import _poetry

        reader = self.reader
        line = reader.line(where)
        try:
            found = _poetry.dependency(item)
        except _poetry.ConstraintError as exc:
            raise SourceError(reader.shown, line, f"invalid Poetry dependency {name!r}: {exc}") from None
        if found.note is not None:
            reader.warn(line, f"{name}: {found.note}")
        groups = target.groups
        if found.optional:
            groups = tuple(sorted(self.extras_of.get(normalize(name), ())))
        kind = found.kind
        if kind is Kind.REGISTRY and self.project.name == normalize(name):
            kind = Kind.LOCAL_PROJECT
        reader.declarations.append(
            Declaration(
                name=normalize(name),
                requirement=_pep508.toml_entry(name, item),
                version=found.version if kind is Kind.REGISTRY else None,
                specifier=found.specifier if kind is Kind.REGISTRY else None,
                kind=kind,
                marker=found.marker,
                environment=target.environment,
                origin=target.origin,
                path=reader.shown,
                line=line,
                groups=groups,
            )
        )

    def include(self, entry: Entry, group: str, target: Target) -> None:
        """`include-groups = ["x"]`: x's dependencies join `group` (poetry-core's include_dependency_group)."""
        reader, wanted = self.reader, normalize(entry.text)
        if wanted == normalize(group) or wanted in self.including:
            raise SourceError(reader.shown, entry.line, f"group {group!r} includes itself through {entry.text!r}")
        groups = self.poetry.get("group") or {}
        poetry_group = next((name for name in groups if normalize(name) == wanted), None)
        pep735 = self.project.groups is not None and wanted in self.project.groups.written
        if poetry_group is None and not pep735:
            raise SourceError(
                reader.shown, entry.line, f"group {group!r} includes group {entry.text!r}, which is not defined"
            )
        self.including.append(normalize(group))
        if pep735:
            assert self.project.groups is not None
            for included in self.project.groups.resolve(wanted):
                declare(reader, self.project, included, target, self.kinds)
        if poetry_group is not None:
            key: KeyPath = ("tool", "poetry", "group", poetry_group)
            self.declare(key + ("dependencies",), target, None, "")
            for nested in reader.strings(groups[poetry_group].get("include-groups"), key + ("include-groups",), ""):
                self.include(nested, poetry_group, target)
        self.including.pop()


def _get(table: dict[str, Any], path: KeyPath) -> Any:
    value: Any = table
    for part in path:
        if not isinstance(value, dict):
            return None
        value = value.get(str(part))
    return value


# ------------------------------------------------------------------------------------- PDM and uv


def _pdm(reader: Reader, project: Project, pdm: dict[str, Any], path: Path, allow_outside_root: bool) -> None:
    key: KeyPath = ("tool", "pdm", "dev-dependencies")
    for group, items in reader.table(pdm.get("dev-dependencies"), key, "tool.pdm.dev-dependencies").items():
        target = Target(f"{reader.shown} [tool.pdm.dev-dependencies] {group}", "pdm", (normalize(group),))
        for entry in reader.strings(items, key + (group,), f"tool.pdm.dev-dependencies.{group}"):
            if entry.text.startswith("-e"):
                _editable(reader, entry, target, path, allow_outside_root)
            else:
                declare(reader, project, entry, target, {})


def _editable(reader: Reader, entry: Entry, target: Target, path: Path, allow_outside_root: bool) -> None:
    """A PDM `-e <path or VCS URL>` entry, read as pip reads `-e` (envguard.sources.requirements)."""
    from envguard.sources.requirements import requested_words

    value = entry.text[2:].strip()
    value = value.replace("file:///${PROJECT_ROOT}/", "./").replace("${PROJECT_ROOT}", ".")
    requested = requested_words(
        [(value, entry.line, True)],
        path.parent,
        posixpath.dirname(reader.shown),
        reader.shown,
        allow_outside_root=allow_outside_root,
    )
    reader.included.extend(requested.included)
    reader.warnings.extend(requested.warnings)
    for package, _ in requested.entries:
        reader.declarations.append(
            Declaration(
                package.name,
                _pep508.one_line(entry.text),
                None,
                None,
                package.kind,
                package.marker,
                target.environment,
                target.origin,
                reader.shown,
                entry.line,
                target.groups,
            )
        )


def _uv(reader: Reader, project: Project, uv: dict[str, Any], kinds: dict[str, Kind]) -> None:
    for field, groups in (("dev-dependencies", (DEV,)), ("constraint-dependencies", ()), ("override-dependencies", ())):
        key: KeyPath = ("tool", "uv", field)
        target = Target(f"{reader.shown} [tool.uv] {field}", "uv", groups)
        for entry in reader.strings(uv.get(field), key, f"tool.uv.{field}"):
            declare(reader, project, entry, target, kinds)


def _uv_kinds(reader: Reader, uv: Any) -> dict[str, Kind]:
    """What `[tool.uv.sources]` makes of the names it lists: where uv installs them from."""
    if not isinstance(uv, dict) or "sources" not in uv:
        return {}
    key: KeyPath = ("tool", "uv", "sources")
    kinds: dict[str, Kind] = {}
    for name, source in reader.table(uv["sources"], key, "tool.uv.sources").items():
        entries = source if isinstance(source, list) else [source]
        found = set()
        for entry in entries:
            if not isinstance(entry, dict):
                raise reader.error(key + (name,), f"the source of {name!r} must be a table or an array of tables")
            found.add(_uv_kind(entry))
        if len(found) == 1:
            kinds[normalize(name)] = found.pop()
        else:
            reader.warn(
                reader.line(key + (name,)),
                f"{name!r} has sources of several kinds (by marker): read as a registry package",
            )
    return kinds


def _uv_kind(source: dict[str, Any]) -> Kind:
    if source.get("workspace") is True:
        return Kind.LOCAL_PROJECT
    if "git" in source:
        return Kind.VCS
    if "url" in source:
        return Kind.URL
    if "path" in source:
        return Kind.EDITABLE if source.get("editable") is True else Kind.PATH
    return Kind.REGISTRY


# ----------------------------------------------------------------------------------------- hatch


def _hatch(reader: Reader, project: Project, config: dict[str, Any], path: Path, kinds: dict[str, Kind]) -> None:
    from envguard.declared import hatch

    beside = path.parent / "hatch.toml"
    if beside.is_file():
        beside_shown = posixpath.join(posixpath.dirname(reader.shown), "hatch.toml")
        if "envs" in parse_toml(read_text(beside, beside_shown), beside_shown):
            reader.included.append(beside_shown)
            message = f"{beside_shown} defines the hatch environments: [tool.hatch.envs] here is not used"
            reader.warn(reader.line(("tool", "hatch", "envs")), message)
            return
    hatch.declare_environments(reader, project, config, ("tool", "hatch"), kinds)
