"""Inventory artifacts (`envguard.inventory/1`) read back as the services they hold.

Every repository of an organisation uploads `envguard inventory --format json`; one scheduled job
gives them all to `envguard check`. Reading an artifact must therefore be cheap (2,000 of them,
600,000 package entries, in a few times what `json.load` takes) and strict: a hand-edited or
truncated artifact is one `path:line: message` and the other artifacts are still checked.

The entries are trusted to have the shape `envguard inventory` writes; building each object
does not validate it field by field (that would cost more than parsing the JSON). When building
fails, the slow path (`_explain`) walks the document again and names the first entry and field
that is wrong.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

from envguard._record import record
from envguard.errors import SourceError
from envguard.model import (
    Declaration,
    Diagnostic,
    Inventory,
    Kind,
    NormalizedName,
    Package,
    Repository,
    Service,
    Source,
    StaleLock,
    PACKAGE_SETTERS,
    normalize,
)
from envguard.redact import redact
from envguard.pytest_config import ConftestPlugin, PluginArg, PytestConfig, RequiredPlugin, read_pytest_config

SCHEMA: Final = "envguard.inventory/1"
_SCHEMA_PREFIX: Final = "envguard.inventory/"

_KINDS: Final[dict[str, Kind]] = {kind.value: kind for kind in Kind}


@record(frozen=True)
class Artifact:
    """One artifact's services, with paths and names as its repository wrote them."""

    shown: str  # the artifact file as given
    repository: Repository
    services: tuple[Service, ...]
    errors: tuple[Diagnostic, ...] = ()
    warnings: tuple[Diagnostic, ...] = ()


def recorded_pytest(
    inventory: Inventory, root: Path
) -> tuple[dict[str, PytestConfig], list[Diagnostic], list[Diagnostic]]:
    """Each service's pytest configuration, read now so that the artifact carries it: whoever
    checks the artifact has the records but not the repository's files. Also the errors and
    warnings reading them gave, as `envguard check` of the repository would report them."""
    configs: dict[str, PytestConfig] = {}
    errors: list[Diagnostic] = []
    warnings: list[Diagnostic] = []
    for service in inventory.services:
        try:
            config = read_pytest_config(root / service.path, service.path)
        except SourceError as exc:
            errors.append(Diagnostic(exc.path, exc.line, exc.message))
            config = PytestConfig()
        warnings.extend(config.warnings)
        configs[service.name] = config
    return configs, errors, warnings


def is_artifact(path: Path) -> bool:
    """Whether `path` looks like an inventory artifact: a JSON file whose first 4 KiB name the
    `envguard.inventory/` schema (`envguard inventory` writes it first). Any other file is left to
    the record loaders, which say what is wrong with it."""
    if path.suffix.lower() != ".json" or not path.is_file():
        return False
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    return _SCHEMA_PREFIX.encode() in head


def read_artifact(path: Path, shown: str, *, qualify: bool = False, shared: Shared | None = None) -> Artifact:
    """The services of the artifact at `path`. Raises SourceError for an unusable artifact.

    With `qualify` (several repositories are read together), every service is named
    `REPOSITORY/NAME` and every path is placed under a directory named after the repository, as if
    the repositories were checked out side by side in one monorepo: then every rule, report and
    policy selector works on the organisation exactly as on a monorepo that holds them all.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(shown, None, f"cannot read inventory artifact: {exc.strerror or exc}") from None
    try:
        document = json.loads(data)
    except json.JSONDecodeError as exc:
        raise SourceError(shown, exc.lineno, f"invalid JSON: {exc.msg} (a truncated artifact?)") from None
    except UnicodeDecodeError:
        raise SourceError(shown, None, "not UTF-8 text; an inventory artifact is a UTF-8 JSON file") from None
    except (RecursionError, ValueError):
        raise SourceError(shown, None, "invalid JSON: nested too deeply or an integer too long") from None
    return artifact_of(document, shown, fallback_name=_name_from_file(path), qualify=qualify, shared=shared)


def artifact_of(
    document: Any, shown: str, fallback_name: str, *, qualify: bool = False, shared: Shared | None = None
) -> Artifact:
    """The services of a parsed artifact document (see `read_artifact`)."""
    if not isinstance(document, dict):
        raise SourceError(shown, 1, f"an inventory artifact is a JSON object, not {_type(document)}")
    schema = document.get("schema")
    if schema != SCHEMA:
        if isinstance(schema, str) and schema.startswith(_SCHEMA_PREFIX):
            message = f"unsupported inventory schema {schema!r}; this envguard reads {SCHEMA!r}"
        else:
            message = f"not an inventory artifact: schema is {schema!r}, expected {SCHEMA!r}"
        raise SourceError(shown, 1, message)
    repository = _repository(document.get("repository"), shown, fallback_name)
    services_data = document.get("services")
    if not isinstance(services_data, list):
        raise SourceError(shown, 1, f"services: expected a list, got {_type(services_data)}")
    build = _Build(repository.name if qualify else None, shared)
    try:
        services = tuple(build.service(item) for item in services_data)
        errors = tuple(build.diagnostic(item) for item in document.get("errors", ()))
        warnings = tuple(build.diagnostic(item) for item in document.get("warnings", ()))
    except (KeyError, TypeError, ValueError, AttributeError):
        raise SourceError(shown, 1, _explain(document, build)) from None
    names = [service.name for service in services]
    if len(set(names)) != len(names):
        duplicate = next(name for name in names if names.count(name) > 1)
        raise SourceError(shown, 1, f"services: two services are named {duplicate!r}")
    return Artifact(shown, repository, services, errors, warnings)


def _name_from_file(path: Path) -> str:
    """The repository name of an artifact that does not say: its file name (`payments.json`)."""
    name = path.name
    for suffix in (".json", ".inventory", ".envguard"):
        name = name.removesuffix(suffix)
    return name or path.name


def _repository(value: Any, shown: str, fallback_name: str) -> Repository:
    if value is None:
        return Repository(fallback_name)
    if not isinstance(value, dict):
        raise SourceError(shown, 1, f"repository: expected an object, got {_type(value)}")
    name = value.get("name")
    if name is None:
        name = fallback_name
    if not isinstance(name, str) or not name or "/" in name or name.strip() != name:
        raise SourceError(shown, 1, f"repository.name: expected a name without '/', got {name!r}")
    parts = []
    for key in ("commit", "url"):
        part = value.get(key)
        if part is not None and not isinstance(part, str):
            raise SourceError(shown, 1, f"repository.{key}: expected a string or null, got {_type(part)}")
        parts.append(part)
    return Repository(name, parts[0], parts[1])


# --------------------------------------------------------------------------- building (fast path)


def _text(value: Any) -> str:
    if type(value) is not str:
        raise TypeError(value)
    return value


def _optional(value: Any) -> str | None:
    if value is not None and type(value) is not str:
        raise TypeError(value)
    return value


def _line(value: Any) -> int:
    if type(value) is not int or value < 1:
        raise TypeError(value)
    return value


def _optional_line(value: Any) -> int | None:
    return None if value is None else _line(value)


def _flag(value: Any) -> bool:
    if type(value) is not bool:
        raise TypeError(value)
    return value


def _optional_flag(value: Any) -> bool | None:
    return None if value is None else _flag(value)


def _source(value: Any) -> str | None:
    return None if value is None else redact(_text(value))


def _groups(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        raise TypeError(value)
    groups = tuple(value)
    for group in groups:
        if type(group) is not str:
            raise TypeError(value)
    return groups


class Shared:
    """The names, versions and group lists of the artifacts read together, each distinct one
    checked and built once. An organisation's 600,000 entries hold a few thousand of each:
    sharing them saves memory, and the comparisons that read them for every entry touch a few
    thousand objects instead of 600,000 scattered ones."""

    def __init__(self) -> None:
        self.names: dict[str, NormalizedName] = {}
        self.versions: dict[str, str] = {}
        self.groups: dict[tuple[Any, ...], tuple[str, ...]] = {}
        # As written -> credentials masked: an artifact an older envguard wrote may hold them.
        self.sources: dict[str, str] = {}


class _Build:
    """Builds the model objects of one artifact, placing its paths under `repository/` when qualifying."""

    def __init__(self, repository: str | None, shared: Shared | None = None) -> None:
        self.repository = repository
        self.prefix = f"{repository}/" if repository is not None else ""
        self.shared = Shared() if shared is None else shared
        self._paths: dict[str, str] = {}  # the repository's own

    def path(self, value: Any) -> str:
        return self.prefix + _text(value) if self.prefix else _text(value)

    def optional_path(self, value: Any) -> str | None:
        return None if value is None else self.path(value)

    def directory(self, value: Any) -> str:
        text = _text(value)
        if self.repository is None:
            return text
        return self.repository if text in ("", ".") else self.prefix + text

    def service(self, item: dict[str, Any]) -> Service:
        name = _text(item["name"])
        pytest = item.get("pytest")
        return Service(
            name=name if self.repository is None else self.prefix + name,
            path=self.directory(item["path"]),
            sources=self.sources(item.get("sources", ())),
            packages=self.packages(item["packages"]),
            ignored=self.sources(item.get("ignored_sources", ())),
            declared_sources=self.sources(item.get("declared_sources", ())),
            declarations=tuple(map(self.declaration, item.get("declarations", ()))),
            stale_locks=tuple(map(self.stale_lock, item.get("stale_locks", ()))),
            # An artifact written without one: the repository's files are not here to read.
            pytest_config=PytestConfig() if pytest is None else self.pytest_config(pytest),
            repository=self.repository,
        )

    def sources(self, items: Any) -> tuple[Source, ...]:
        return tuple(Source(self.path(item["path"]), _text(item["format"])) for item in items)

    def packages(self, items: Any) -> tuple[Package, ...]:
        """`tuple(map(self.package, items))`, the same checks, at a third of its cost: 600,000
        entries of an organisation go through here (see benchmarks/org.py)."""
        if type(items) is not list:
            raise TypeError(items)
        names, versions, groups_of, paths = self.shared.names, self.shared.versions, self.shared.groups, self._paths
        sources = self.shared.sources
        built = []
        new = object.__new__
        (
            set_name,
            set_version,
            set_kind,
            set_groups,
            set_marker,
            set_path,
            set_line,
            set_specifier,
            set_source,
            set_hashed,
        ) = PACKAGE_SETTERS
        for item in items:
            raw_name, version, raw_path, line = item["name"], item["version"], item["path"], item["line"]
            kind, raw_groups, marker, specifier = _KINDS[item["kind"]], item["groups"], item["marker"], item.get("specifier")
            # Optional: artifacts written before envguard recorded sources have neither.
            source, hashed = item.get("source"), item.get("hashed")
            if source is not None:
                shared_source = sources.get(source)
                if shared_source is None:
                    shared_source = sources[source] = redact(_text(source))
                source = shared_source
            name = names.get(raw_name)
            if name is None:
                name = names[raw_name] = normalize(_text(raw_name))
            if version is not None:
                version = versions.setdefault(version, version)
            path = paths.get(raw_path)
            if path is None:
                path = paths[raw_path] = self.path(raw_path)
            key = tuple(raw_groups) if type(raw_groups) is list else ()
            groups = groups_of.get(key)
            if groups is None or type(raw_groups) is not list:
                groups = groups_of[key] = _groups(raw_groups)
            if (
                (version is not None and type(version) is not str)
                or (marker is not None and type(marker) is not str)
                or (specifier is not None and type(specifier) is not str)
                or (hashed is not None and type(hashed) is not bool)
                or type(line) is not int
                or line < 1
            ):
                self.package(item)  # raises, naming what is wrong
            # trusted_package, spelt out: a Python call less for each of 600,000 entries
            package = new(Package)
            set_name(package, name)
            set_version(package, version)
            set_kind(package, kind)
            set_groups(package, groups)
            set_marker(package, marker)
            set_path(package, path)
            set_line(package, line)
            set_specifier(package, specifier)
            set_source(package, source)
            set_hashed(package, hashed)
            built.append(package)
        return tuple(built)

    def package(self, item: dict[str, Any]) -> Package:
        return Package(
            normalize(_text(item["name"])),
            _optional(item["version"]),
            _KINDS[item["kind"]],
            _groups(item["groups"]),
            _optional(item["marker"]),
            self.path(item["path"]),
            _line(item["line"]),
            _optional(item.get("specifier")),
            _source(item.get("source")),
            _optional_flag(item.get("hashed")),
        )

    def declaration(self, item: dict[str, Any]) -> Declaration:
        return Declaration(
            name=normalize(_text(item["name"])),
            requirement=_text(item["requirement"]),
            version=_optional(item["version"]),
            specifier=_optional(item["specifier"]),
            kind=_KINDS[item["kind"]],
            marker=_optional(item["marker"]),
            # Every reader names an environment after its root-relative file first (`tox.ini [testenv:py]`).
            environment=self.path(item["environment"]),
            origin=_text(item["origin"]),
            path=self.path(item["path"]),
            line=_line(item["line"]),
            groups=_groups(item.get("groups", ())),
            install=_flag(item.get("install", False)),
            pinned_by=_optional(item.get("pinned_by")),
            source=_source(item.get("source")),
        )

    def stale_lock(self, item: dict[str, Any]) -> StaleLock:
        return StaleLock(
            tool=_text(item["tool"]),
            lock=self.path(item["lock"]),
            lock_line=_optional_line(item["lock_line"]),
            manifest=self.path(item["manifest"]),
            line=_optional_line(item["line"]),
            reason=_text(item["reason"]),
        )

    def pytest_config(self, item: dict[str, Any]) -> PytestConfig:
        return PytestConfig(
            path=self.optional_path(item["path"]),
            section=_optional(item["section"]),
            addopts=tuple(map(_text, item.get("addopts", ()))),
            plugin_args=tuple(
                PluginArg(_text(arg["name"]), _flag(arg["disabled"]), self.path(arg["path"]), _optional_line(arg["line"]))
                for arg in item.get("plugin_args", ())
            ),
            required_plugins=tuple(
                RequiredPlugin(
                    _text(req["requirement"]),
                    _optional(req["name"]),
                    _text(req["specifier"]),
                    self.path(req["path"]),
                    _optional_line(req["line"]),
                )
                for req in item.get("required_plugins", ())
            ),
            conftest_plugins=tuple(
                ConftestPlugin(_text(entry["module"]), self.path(entry["path"]), _optional_line(entry["line"]))
                for entry in item.get("conftest_plugins", ())
            ),
        )

    def diagnostic(self, item: dict[str, Any]) -> Diagnostic:
        return Diagnostic(self.path(item["path"]), _optional_line(item["line"]), _text(item["message"]))


# --------------------------------------------------------------------------- explaining (slow path)

_Builder = Callable[[Any], object]


def _explain(document: dict[str, Any], build: _Build) -> str:
    """The first entry and field of `document` that the fast path could not build."""
    for key, builder, items in _entries(document, build):
        try:
            builder(items)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            return f"{key}: {_problem(builder, items, exc)}"
    return "an entry does not have the shape envguard inventory writes"


def _entries(document: dict[str, Any], build: _Build) -> Iterator[tuple[str, _Builder, Any]]:
    for index, service in enumerate(document["services"]):
        where = f"services[{index}]"
        if not isinstance(service, dict):
            yield where, build.service, service
            continue
        for field_name, builder in (
            ("packages", build.package),
            ("declarations", build.declaration),
            ("stale_locks", build.stale_lock),
        ):
            entries = service.get(field_name, ())
            if not isinstance(entries, list):
                yield f"{where}.{field_name}", _not_list, entries
                continue
            for number, entry in enumerate(entries):
                yield f"{where}.{field_name}[{number}]", builder, entry
        if service.get("pytest") is not None:
            yield f"{where}.pytest", build.pytest_config, service["pytest"]
        yield where, build.service, service
    for field_name in ("errors", "warnings"):
        entries = document.get(field_name, ())
        if not isinstance(entries, list):
            yield field_name, _not_list, entries
            continue
        for number, entry in enumerate(entries):
            yield f"{field_name}[{number}]", build.diagnostic, entry


def _not_list(value: Any) -> object:
    raise TypeError(value)


def _problem(builder: _Builder, item: Any, exc: Exception) -> str:
    if builder is _not_list:
        return f"expected a list, got {_type(item)}"
    if not isinstance(item, dict):
        return f"expected an object, got {_type(item)}"
    if isinstance(exc, KeyError):
        key = exc.args[0] if exc.args else "?"
        if "kind" in item and key == item["kind"]:
            return f"kind: unknown kind {key!r}; expected one of {', '.join(sorted(_KINDS))}"
        return f"missing key {key!r}"
    bad = exc.args[0] if exc.args else None
    for key, value in item.items():
        if value is bad:
            return f"{key}: unexpected {_type(value)} {json.dumps(value)[:60]}"
    return "an entry does not have the shape envguard inventory writes"


def _type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)
