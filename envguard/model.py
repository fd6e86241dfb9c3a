"""The normalised inventory every loader produces and every later stage reads."""

from __future__ import annotations

import dataclasses
import enum
import functools
from collections.abc import Callable
from dataclasses import field
from typing import TYPE_CHECKING, Any, NewType

from envguard._record import record
from envguard.errors import one_line
from envguard.redact import redact

if TYPE_CHECKING:
    from envguard.pytest_config import PytestConfig

NormalizedName = NewType("NormalizedName", str)


@functools.lru_cache(maxsize=16384)  # the same few thousand names, hundreds of thousands of times
def normalize(name: str) -> NormalizedName:
    """PEP 503 normalisation: `Foo.Bar_baz` and `foo-bar-baz` are the same project.

    packaging.utils.canonicalize_name's steps, not a call to it: importing packaging.utils imports
    packaging.tags, and with it logging, platform and subprocess, a tenth of a pre-commit run.
    """
    value = name.lower().replace("_", "-").replace(".", "-")
    while "--" in value:
        value = value.replace("--", "-")
    return NormalizedName(value)


class Kind(str, enum.Enum):
    REGISTRY = "registry"
    URL = "url"
    VCS = "vcs"
    PATH = "path"
    EDITABLE = "editable"
    LOCAL_PROJECT = "local project"


_LOCAL_PROJECT = Kind.LOCAL_PROJECT

# Group vocabulary shared by every loader, so that rules never need to know the format:
# "main" is the default/production set, dependency groups keep their own (normalised) name,
# extras are "extra:<name>". An empty tuple means the file does not say.
MAIN = "main"
DEV = "dev"


def extra_group(extra: str) -> str:
    return f"extra:{normalize(extra)}"


# Slots: an organisation's check holds 600,000 of these; slotted, each takes a quarter less memory
# than with inline attribute values (half of a materialised __dict__) and is read several times faster.
@record(frozen=True, order=True, slots=True)
class Package:
    """One locked or installed entry of a record: a distribution, where it comes from, in which groups."""

    name: NormalizedName
    version: str | None
    kind: Kind
    groups: tuple[str, ...]
    marker: str | None
    path: str
    line: int
    # Only for requirement lines without an exact pin: the specifier as written (e.g. ">=2,<3").
    specifier: str | None = None
    # Where the record says the entry comes from, credentials masked (envguard.redact): the index
    # URL of a registry entry (None when the record does not say: pip freeze, a requirements file
    # without --index-url), else the VCS URL (`git+https://host/repo`, without the
    # revision), the archive URL or the local path, as envguard.sources._origin spells them.
    # Loaders share one string per distinct value: an organisation holds 600,000 entries.
    source: str | None = None
    # Whether the record holds hashes of what it downloads: True or False for index and URL
    # entries of formats that can record them, None where the format cannot (freeze, pip list,
    # conda) or nothing is downloaded (VCS checkouts, local paths, the project itself).
    hashed: bool | None = None

    @property
    def is_third_party(self) -> bool:
        return self.kind is not _LOCAL_PROJECT  # a module global: Kind.X is a slower lookup


_new = object.__new__
PACKAGE_SETTERS = tuple(Package.__dict__[name].__set__ for name in Package.__slots__)
if Package.__slots__ != ("name", "version", "kind", "groups", "marker", "path", "line", "specifier", "source", "hashed"):
    raise ImportError("envguard.model.trusted_package does not match the fields of Package")


def trusted_package(
    name: NormalizedName,
    version: str | None,
    kind: Kind,
    groups: tuple[str, ...],
    marker: str | None,
    path: str,
    line: int,
    specifier: str | None,
    source: str | None = None,
    hashed: bool | None = None,
) -> Package:
    """`Package(...)` for values already checked, at half the cost of the generated __init__ (a
    frozen dataclass sets each field through object.__setattr__): for the readers of many
    entries, the caches and inventory artifacts."""
    package = _new(Package)
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
    return package


@record(frozen=True, order=True)
class Declaration:
    """A requirement a file says to install, in one of the environments that file declares.

    Records (`Package`) say what was resolved or installed; declarations say what was asked
    for: a pyproject extra or dependency group, a tox environment's `deps`, a nox session's
    `session.install(...)`, a CI step's or a Dockerfile's `pip install`. One service may have
    both, and rules compare them (a stale lock, a CI pin that differs from the lock).
    """

    name: NormalizedName
    # The requirement as written, on one line: `pytest-cov>=5`, `-e .[test]`, `./dist/x.whl`.
    requirement: str
    # The exact pin (`==1.2`, `===1.2`), else None; `==1.*` is a range.
    version: str | None
    # The version specifier when it is not an exact pin (`>=5,<6`); None for none at all.
    specifier: str | None
    kind: Kind
    marker: str | None
    # Where the file declares it, for people: `pyproject.toml [project.optional-dependencies] test`,
    # `tox.ini [testenv:py312-cov]`, `.github/workflows/test.yml job payments, step Install`.
    environment: str
    # What declares it (the reader's id, and for pyproject.toml the table): "project",
    # "dependency-groups", "poetry", "pdm", "uv", "hatch", "setup-cfg", "pipfile", "tox", "nox",
    # "github", "gitlab", "dockerfile", "pre-commit", "requirements".
    origin: str
    path: str
    line: int
    groups: tuple[str, ...] = ()  # the group vocabulary of Package, where the file says
    # Installed directly by a command (CI, container, tox, nox), not resolved by a locker: the
    # install pins nothing that its own specifier, constraints or hashes do not.
    install: bool = False
    # What pins an install besides its own specifier: `-c constraints.txt`, `PIP_CONSTRAINT`,
    # `--require-hashes`; None when nothing does (or for a declaration that is no install).
    pinned_by: str | None = None
    # The root-relative directory the installing command runs in, when that is not the file's
    # own directory (a workflow step's `working-directory`): it decides the service.
    directory: str | None = None
    # Where it is installed from, as Package.source: the index an install command names
    # (`--index-url`, uv's `--default-index`), a VCS or archive URL, a local path; None for an
    # index requirement whose command names no index (pip's configuration decides).
    source: str | None = None

    def __post_init__(self) -> None:
        # A requirement line or a constraints option may quote a URL with a token in it.
        for name in ("requirement", "pinned_by", "environment"):
            value = getattr(self, name)
            if value is not None and redact(value) is not value:
                object.__setattr__(self, name, redact(value))

    @classmethod
    def of_package(cls, package: Package, requirement: str, environment: str, origin: str, **more: Any) -> Declaration:
        """The declaration of a requirement line the requirements parser read as `package` (at its
        own path and line unless `more` says otherwise); only an index package has an exact pin."""
        fields: dict[str, Any] = {"path": package.path, "line": package.line, "source": package.source, **more}
        return cls(
            name=package.name,
            requirement=requirement,
            version=package.version if package.kind is Kind.REGISTRY else None,
            specifier=package.specifier or None,
            kind=package.kind,
            marker=package.marker,
            environment=environment,
            origin=origin,
            **fields,
        )

    @property
    def is_third_party(self) -> bool:
        return self.kind is not _LOCAL_PROJECT


@record(frozen=True, order=True)
class StaleLock:
    """A lock that no longer matches its manifest, as the locking tool's own check would say."""

    tool: str  # "uv", "poetry", "pdm", "pipenv"
    lock: str  # the lock's root-relative path
    lock_line: int | None  # the lock line that records what no longer matches (a content hash)
    manifest: str  # the manifest's root-relative path (pyproject.toml, Pipfile)
    line: int | None  # the manifest line that differs, where one can be named
    reason: str  # one line: what differs, without the file names

    def __post_init__(self) -> None:
        # What differs may be an index URL with a token in it.
        object.__setattr__(self, "reason", redact(self.reason))


@record(frozen=True)
class Diagnostic:
    """A problem tied to a place in a file: warnings keep the run going, errors stop that source."""

    path: str
    line: int | None
    message: str

    def __post_init__(self) -> None:
        # One line whatever a file put in a name or key the message quotes (see errors.one_line).
        object.__setattr__(self, "path", one_line(self.path))
        object.__setattr__(self, "message", redact(one_line(self.message)))

    def __str__(self) -> str:
        return f"{self.path}:{self.line or 1}: {self.message}"


@record(frozen=True)
class LocalProject:
    """A local project a requirements file installs with extras (`-e .[cli,test]`, `./lib[test]`):
    what it installs is in its pyproject.toml, the dependencies and the extras named."""

    pyproject: str  # root-relative
    extras: tuple[str, ...]  # normalised
    path: str  # the requirements file and line that install it
    line: int


@record(frozen=True)
class Loaded:
    """What one loader read from one entry file (and the files it includes)."""

    packages: tuple[Package, ...]
    # Files read besides the entry file (requirements includes), for caching and display.
    included: tuple[str, ...] = ()
    warnings: tuple[Diagnostic, ...] = ()
    declarations: tuple[Declaration, ...] = ()
    # A lock that no longer matches its manifest (the lock loaders check it as they read).
    stale_locks: tuple[StaleLock, ...] = ()
    # Local projects installed with extras (requirements files), for their declarations.
    local_projects: tuple[LocalProject, ...] = ()


@record(frozen=True)
class Source:
    """A file a service is read from, and the format it is read as."""

    path: str
    format: str


@record(frozen=True)
class Service:
    """A directory's records and declarations, normalised: what one deployable unit installs."""

    name: str
    path: str
    sources: tuple[Source, ...]
    packages: tuple[Package, ...]
    # Sources found in the service directory but not read because a stronger record exists.
    ignored: tuple[Source, ...] = ()
    # The files its declarations were read from (pyproject.toml, tox.ini, CI workflows, ...).
    declared_sources: tuple[Source, ...] = ()
    # A factory, not a class attribute: a deferred service (see `deferred`) makes it when read.
    declarations: tuple[Declaration, ...] = field(default_factory=tuple)
    stale_locks: tuple[StaleLock, ...] = ()
    # A digest of every file the packages were read from, when the inventory cache recorded
    # them: the check cache keeps the service's results under it. Not part of its value.
    fingerprint: bytes | None = field(default=None, compare=False, repr=False)
    # The pytest configuration an inventory artifact recorded (its files are not here to read);
    # None: read it from the service's directory.
    pytest_config: PytestConfig | None = field(default=None, compare=False, repr=False)
    # The repository an inventory artifact says the service belongs to; None for a workspace.
    repository: str | None = None

    @classmethod
    def deferred(cls, fields: dict[str, object], makers: dict[str, Callable[[], tuple[Any, ...]]]) -> Service:
        """A service whose `packages` (and `declarations`, when `makers` holds them) are made by
        their maker the first time they are read.

        `fields` are all its other fields. A warm `envguard check` takes most services' results
        from the check cache: making the packages and declarations of all of them (tens of
        thousands of objects) would cost more than the rest of the run.
        """
        service = object.__new__(cls)
        object.__setattr__(service, "__dict__", {**fields, "_deferred": dict(makers)})
        return service

    def evolved(self, later: dict[str, Callable[[], tuple[Any, ...]]] | None = None, **changes: object) -> Service:
        """`dataclasses.replace`, but fields that are still deferred (and not changed) stay so, and
        `later` ones are made by their maker when first read, as those of `deferred`."""
        later = later or {}
        fields = dict(self.__dict__)
        makers = {name: make for name, make in fields.pop("_deferred", {}).items() if name not in changes}
        makers.update(later)
        if not makers:
            return dataclasses.replace(self, **changes)  # type: ignore[arg-type]
        fields.update(changes)
        for name in later:
            fields.pop(name, None)  # made already: read through the maker again
        return Service.deferred(fields, makers)

    if not TYPE_CHECKING:  # mypy would take every misspelt attribute for this one

        def __getattr__(self, name):
            # Reached only for attributes the instance lacks: a deferred field.
            makers = self.__dict__.get("_deferred")
            make = makers.pop(name, None) if makers is not None else None
            if make is None:
                raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
            value = make()
            self.__dict__[name] = value
            if not makers:
                del self.__dict__["_deferred"]
            return value


@record(frozen=True)
class Repository:
    """A repository an inventory describes: its name, and its commit and URL where known."""

    name: str
    commit: str | None = None
    url: str | None = None


@record(frozen=True)
class Inventory:
    """Every service of a workspace (or an organisation's artifacts), with what could not be read."""

    root: str
    services: tuple[Service, ...]
    errors: tuple[Diagnostic, ...] = ()
    warnings: tuple[Diagnostic, ...] = field(default=())
    # The repositories inventory artifacts brought (envguard.org), in name order; () for a workspace.
    repositories: tuple[Repository, ...] = ()


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"


@record(frozen=True)
class Location:
    """A place a finding points at: a root-relative file and, where known, its line."""

    path: str
    line: int | None


@record(frozen=True)
class Waiver:
    """A policy exception: a finding it matches is reported as suppressed, never hidden."""

    package: str  # normalised name or glob
    reason: str
    expires: str  # ISO date
    services: tuple[str, ...] = ()  # names or globs; empty means every service
    rule: str | None = None  # rule name (e.g. "denied-package"); None means every rule
    owner: str | None = None
    path: str = ""
    line: int | None = None


@record(frozen=True)
class Finding:
    """What a rule found, in one service (or across services, for drift), with where and what to do."""

    rule: str  # stable code, e.g. "EG101"
    name: str  # stable name, e.g. "unapproved-plugin"
    severity: Severity
    service: str
    package: str | None
    version: str | None
    message: str
    hint: str
    locations: tuple[Location, ...]
    exception: Waiver | None = None
    # Recorded in the baseline given with --baseline: reported, but never fails the run.
    baselined: bool = False
    # Services taking part in a workspace-wide comparison (drift): a change to any of them can
    # make or clear the finding. Empty for findings about one service alone.
    involved: tuple[str, ...] = ()
    # The version the hint moves the finding's services to (drift rules), for `envguard fix`;
    # None where the rule suggests none.
    target: str | None = None

    def __post_init__(self) -> None:
        # Messages quote what files say (a source URL, a stale lock's reason): never a token.
        object.__setattr__(self, "message", redact(self.message))
        object.__setattr__(self, "hint", redact(self.hint))

    @property
    def suppressed(self) -> bool:
        return self.exception is not None
