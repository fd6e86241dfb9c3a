"""From a discovered workspace to the normalised inventory: every source read, every error kept."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Collection, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from envguard._record import record
from envguard.errors import SourceError
from envguard.model import (
    MAIN,
    Declaration,
    Diagnostic,
    Inventory,
    LocalProject,
    Package,
    Service,
    Source,
    StaleLock,
    extra_group,
)
from envguard.sources import detect
from envguard.workspace import ServiceSpec, Workspace, discover

if TYPE_CHECKING:
    from multiprocessing.context import BaseContext

    from envguard.cache import FileRecord, Packed


def load_inventory(paths: list[Path], source_format: str | None = None) -> Inventory:
    return build_inventory(discover(paths, source_format))


# Called after each service is loaded with (services loaded, services in all, service name).
Progress = Callable[[int, int, str], None]


@record(frozen=True)
class LoadOptions:
    """How records are read; none of these changes a result, except allow_outside_root."""

    cache: bool = False
    jobs: int | None = None
    allow_outside_root: bool = False
    progress: Progress | None = None


def load_workspace(
    paths: list[Path], source_format: str | None, load: LoadOptions = LoadOptions()
) -> tuple[Workspace, Inventory]:
    """Discovery and loading as every command does them: the cache at the workspace root."""
    from envguard.cache import default_directory

    workspace = discover(paths, source_format, allow_outside_root=load.allow_outside_root, cache=load.cache)
    cache = default_directory(workspace.root) if load.cache else None
    return workspace, build_inventory(workspace, load.progress, cache=cache, jobs=load.jobs)

# Below this many bytes of records to parse, worker processes cost more than they save
# (measured: see docs/performance.md); `jobs` given explicitly always uses them.
PARALLEL_MIN_BYTES = 1_000_000


def build_inventory(
    workspace: Workspace,
    progress: Progress | None = None,
    *,
    cache: Path | None = None,
    jobs: int | None = None,
) -> Inventory:
    """Load every service of `workspace`.

    `cache` is the directory of the inventory cache (`envguard.cache.default_directory(root)`),
    None to read every file. `jobs` is the number of processes that parse records: None picks
    the usable CPUs when there is enough to parse, 1 parses in this process. Neither changes
    the result, only how fast it comes.
    """
    import gc

    # Loading makes millions of small objects and no reference cycles: the cyclic collector
    # would only walk them again and again (a quarter of the run). Restored on the way out.
    collecting = gc.isenabled()
    gc.disable()
    try:
        results = _load_services(workspace, progress, cache, jobs)
    finally:
        if collecting:
            gc.enable()
    errors: list[Diagnostic] = list(workspace.errors)
    warnings: list[Diagnostic] = []
    for _, service_errors, service_warnings in results:
        errors.extend(service_errors)
        warnings.extend(service_warnings)
    services = _services(workspace, [result[0] for result in results])
    return Inventory(
        root=str(workspace.root),
        services=services,
        errors=tuple(sorted(set(errors), key=_diagnostic_key)),
        warnings=tuple(sorted(set(warnings), key=_diagnostic_key)),
    )


_Result = tuple[Service, list[Diagnostic], list[Diagnostic]]


def _load_services(
    workspace: Workspace, progress: Progress | None, cache_dir: Path | None, jobs: int | None
) -> list[_Result]:
    """Each service's load, in workspace order, then the load of the shared CI files (if any)."""
    from envguard import cache as cache_module

    specs = workspace.services
    if workspace.shared:
        # The CI files load like one more service; _services hands their declarations out.
        specs = (*specs, ServiceSpec(SHARED, workspace.root, (), (), workspace.shared, workspace.allow_outside_root))
    root = workspace.root
    results: list[_Result | None] = [None] * len(specs)
    done = 0

    def report(index: int) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, len(specs), specs[index].name)

    store = cache_module.InventoryCache(cache_dir, root) if cache_dir is not None else None
    keys = [_cache_key(spec, root) for spec in specs]
    todo: list[int] = []
    for index in range(len(specs)):
        found = store.lookup(keys[index]) if store is not None else None
        if found is None:
            todo.append(index)
        else:
            results[index] = found
            report(index)

    record = store is not None
    shared: dict[object, object] = {}
    for index, result, packed, files in _load_many(specs, todo, root, record, jobs, report):
        if result is None:
            assert packed is not None  # a worker sends its result packed
            result = cache_module.unpack(packed, shared)
        if store is not None and packed is not None and files is not None and not packed[cache_module.ERRORS_AT]:
            # Loads with errors are not kept: a missing include leaves no file to watch.
            store.store(keys[index], packed, files)
            service = dataclasses.replace(result[0], fingerprint=cache_module.fingerprint(files))
            result = (service, result[1], result[2])
        results[index] = result
    if store is not None:
        store.save()
    return [result for result in results if result is not None]


def _cache_key(spec: ServiceSpec, root: Path) -> tuple[object, ...]:
    from envguard.workspace import relative

    return (
        spec.name,
        relative(spec.directory, root),
        tuple((s.path, s.format) for s in spec.sources),
        tuple((s.path, s.format) for s in spec.ignored),
        tuple((s.path, s.format) for s in spec.declared),
        spec.allow_outside_root,
    )


# (index, result, the result packed (from a worker, or to be cached), files read when recorded)
_Loaded = tuple[int, "_Result | None", "Packed | None", "tuple[FileRecord, ...] | None"]


def _load_many(
    specs: tuple[ServiceSpec, ...],
    todo: list[int],
    root: Path,
    record: bool,
    jobs: int | None,
    report: Callable[[int], None],
) -> list[_Loaded]:
    """Load the services at `todo`, in worker processes when that pays."""
    workers = _workers(specs, todo, root, jobs)
    loaded: list[_Loaded] = []
    if workers > 1:
        loaded = _load_parallel(specs, todo, root, record, workers, report)
    finished = {item[0] for item in loaded}
    rest = [index for index in todo if index not in finished]
    for item in _load_chunk(root, [(index, specs[index]) for index in rest], record, in_process=True):
        loaded.append(item)
        report(item[0])
    return loaded


def _workers(specs: tuple[ServiceSpec, ...], todo: list[int], root: Path, jobs: int | None) -> int:
    if len(todo) < 2 or (jobs is not None and jobs <= 1):
        return 1
    if jobs is not None:
        return min(jobs, len(todo))
    available = _cpus()
    if available < 2:
        return 1
    size = 0
    for index in todo:
        for source in specs[index].sources:
            try:
                size += (root / source.path).stat().st_size
            except OSError:
                continue
        if size >= PARALLEL_MIN_BYTES * (1 if _fork_context() is not None else 8):
            return min(available, len(todo))
    return 1


def _cpus() -> int:
    import os

    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _fork_context() -> BaseContext | None:
    """fork where it is safe (Linux, no other thread): workers start in milliseconds, imports done."""
    import multiprocessing
    import sys
    import threading

    if sys.platform != "linux" or threading.active_count() > 1:
        return None
    try:
        return multiprocessing.get_context("fork")
    except ValueError:
        return None


def _load_parallel(
    specs: tuple[ServiceSpec, ...],
    todo: list[int],
    root: Path,
    record: bool,
    workers: int,
    report: Callable[[int], None],
) -> list[_Loaded]:
    """Load in `workers` processes; whatever they could not load is left to the caller."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    # Largest first into the least loaded chunk, several chunks per worker to even out the end.
    sizes = {index: _size(root, specs[index]) for index in todo}
    chunks: list[list[tuple[int, ServiceSpec]]] = [[] for _ in range(min(len(todo), workers * 4))]
    weights = [0] * len(chunks)
    for index in sorted(todo, key=lambda i: -sizes[i]):
        lightest = weights.index(min(weights))
        chunks[lightest].append((index, specs[index]))
        weights[lightest] += sizes[index] + 1
    context = _fork_context() or multiprocessing.get_context("spawn")
    loaded: list[_Loaded] = []
    try:
        executor = ProcessPoolExecutor(max_workers=workers, mp_context=context)
    except (OSError, NotImplementedError, ImportError):  # no semaphores, no processes: load here
        return loaded
    try:
        pending: set[Future[list[_Loaded]]] = {
            executor.submit(_load_chunk, root, chunk, record, in_process=False) for chunk in chunks if chunk
        }
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                for item in future.result():
                    loaded.append(item)
                    report(item[0])
    except BrokenProcessPool:  # a worker died (killed, out of memory): the caller loads the rest
        pass
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
    return loaded


def _size(root: Path, spec: ServiceSpec) -> int:
    total = 0
    for source in spec.sources:
        try:
            total += (root / source.path).stat().st_size
        except OSError:
            continue
    return total


def _load_chunk(
    root: Path, chunk: list[tuple[int, ServiceSpec]], record: bool, *, in_process: bool
) -> list[_Loaded]:
    """Load services, here or in a worker (which sends plain tuples: several times faster to pass)."""
    import gc

    import contextlib

    from envguard import cache as cache_module

    collecting = gc.isenabled()
    gc.disable()
    try:
        with cache_module.recording(root) if record else contextlib.nullcontext() as recorder:
            loaded: list[_Loaded] = []
            for index, spec in chunk:
                result = load_service(spec, root)
                packed = cache_module.pack(result) if record or not in_process else None
                files = recorder.take() if recorder is not None else None
                loaded.append((index, result if in_process else None, packed, files))
            return loaded
    finally:
        if collecting:
            gc.enable()


def _installed_extras(
    project: LocalProject,
    root: Path,
    read: dict[str, tuple[Declaration, ...]],
    allow_outside_root: bool,
    errors: list[Diagnostic],
    warnings: list[Diagnostic],
) -> list[Declaration]:
    """What installing a local project with extras (`-e .[cli,test]`) declares: its pyproject's
    `[project]` dependencies and those extras, where that file declares them. An extra the project
    does not have is a warning, as pip gives one. `read` holds the declarations of the pyproject
    files the service reads anyway (its own): those are not read again."""
    from envguard.declared import detect as declared_detect

    declarations = read.get(project.pyproject)
    if declarations is None:
        try:
            path = root / project.pyproject
            loaded = declared_detect.load("pyproject", path, project.pyproject, allow_outside_root=allow_outside_root)
        except SourceError as exc:
            errors.append(Diagnostic(exc.path, exc.line, exc.message))
            return []
        declarations = read[project.pyproject] = loaded.declarations
    wanted = {MAIN, *(extra_group(extra) for extra in project.extras)}
    found = [d for d in declarations if d.origin == "project" and wanted.intersection(d.groups)]
    present = {group for d in found for group in d.groups}
    for extra in project.extras:
        if extra_group(extra) not in present:
            message = f"{project.pyproject} declares no requirements for the extra {extra!r}; pip installs the project without it"
            warnings.append(Diagnostic(project.path, project.line, message))
    return found


def load_service(spec: ServiceSpec, root: Path) -> tuple[Service, list[Diagnostic], list[Diagnostic]]:
    """The service `spec` describes, with its errors and warnings; no file outside `root` is read
    unless the spec allows it (`../` paths are refused by the readers, links here)."""
    from envguard.sources import _text

    previous = _text.confined_to
    _text.confined_to = None if spec.allow_outside_root else _resolved(root)
    try:
        return _load_service(spec, root)
    finally:
        _text.confined_to = previous


@functools.lru_cache(maxsize=8)
def _resolved(root: Path) -> Path:
    return root.resolve()


def _load_service(spec: ServiceSpec, root: Path) -> tuple[Service, list[Diagnostic], list[Diagnostic]]:
    errors: list[Diagnostic] = []
    warnings: list[Diagnostic] = []
    packages: set[Package] = set()
    declarations: set[Declaration] = set()
    stale: list[StaleLock] = []
    read: list[Source] = []
    included_elsewhere: set[str] = set()
    projects: list[LocalProject] = []
    for source in spec.sources:
        try:
            # The two formats that read files beside them (includes; workspace members).
            if source.format == "requirements":
                from envguard.sources.requirements import load as load_requirements

                loaded = load_requirements(root / source.path, source.path, allow_outside_root=spec.allow_outside_root)
            elif source.format == "uv":
                from envguard.sources.uv import load as load_uv

                loaded = load_uv(root / source.path, source.path, allow_outside_root=spec.allow_outside_root)
            else:
                loaded = detect.loader_for(source.format)(root / source.path, source.path)
        except SourceError as exc:
            errors.append(Diagnostic(exc.path, exc.line, exc.message))
            read.append(source)
            continue
        read.append(source)
        included_elsewhere.update(loaded.included)
        packages.update(loaded.packages)
        warnings.extend(loaded.warnings)
        stale.extend(loaded.stale_locks)
        projects.extend(loaded.local_projects)
    declared: list[Source] = []
    pyprojects: dict[str, tuple[Declaration, ...]] = {}  # declared pyproject.toml files, as read
    for source in spec.declared:
        from envguard.declared import detect as declared_detect  # only where something declares

        declared.append(source)
        try:
            loaded = declared_detect.load(
                source.format, root / source.path, source.path, allow_outside_root=spec.allow_outside_root
            )
        except SourceError as exc:
            errors.append(Diagnostic(exc.path, exc.line, exc.message))
            continue
        declarations.update(loaded.declarations)
        warnings.extend(loaded.warnings)
        projects.extend(loaded.local_projects)
        if source.format == "pyproject":
            pyprojects[source.path] = loaded.declarations
    for project in dict.fromkeys(projects):
        declarations.update(_installed_extras(project, root, pyprojects, spec.allow_outside_root, errors, warnings))
    # A requirements file that another one includes is part of that source, not a source of its own.
    sources = tuple(s for s in read if s.path not in included_elsewhere or len(read) == 1)
    ordered = tuple(sorted(packages, key=package_key))
    warnings.extend(_version_warnings(ordered))
    service = Service(
        spec.name,
        _service_path(spec, root),
        sources,
        ordered,
        spec.ignored,
        tuple(declared),
        tuple(sorted(declarations, key=declaration_key)),
        tuple(sorted(stale)),
    )
    return service, errors, warnings


# The pseudo-service that loads the workspace's CI files (Workspace.shared): never a service itself.
SHARED = "\0shared"


def _services(workspace: Workspace, loaded: list[Service]) -> tuple[Service, ...]:
    """The services of the workspace, named, with the shared CI files' declarations handed out.

    A directory is a service when it holds a record or declares something: a pyproject.toml
    without dependencies, or a tox.ini with only a [flake8] section, does not make one, and does
    not take a name from a service that does.
    """
    from envguard.workspace import service_names

    named = {spec.name for spec in workspace.services if spec.named}
    shared = next((service for service in loaded if service.name == SHARED), None)
    kept = [
        service
        for service in loaded
        if service.name != SHARED and (service.sources or service.declarations or service.name in named)
    ]
    if shared is not None:
        kept = _attribute(kept, shared)
    names = service_names(
        [(workspace.root / service.path, service.name if service.name in named else None) for service in kept],
        workspace.root,
    )
    renamed = [service if service.name == name else service.evolved(name=name) for service, name in zip(kept, names)]
    return tuple(sorted(renamed, key=lambda service: service.name))


def attribution(
    declarations: Iterable[Declaration], service_paths: Iterable[str], own_files: Collection[str]
) -> dict[str, list[Declaration]]:
    """Which service (by its root-relative path) each declaration of the workspace's CI files belongs to.

    An install belongs to the service holding the requirements file it reads, else to the
    deepest service whose directory it runs in, else to the workspace root ("."), which becomes
    a service for it: a workflow that installs test tools at the root is a test environment.
    `own_files` are the CI files themselves (a declaration at one of their lines reads no file).
    """
    import posixpath

    paths = set(service_paths)

    def deepest(path: str) -> str | None:
        while True:
            if path in paths:
                return path
            if path in (".", ""):
                return None
            path = posixpath.dirname(path) or "."

    handed: dict[str, list[Declaration]] = {}
    for declaration in declarations:
        owner = None
        if declaration.path not in own_files:
            owner = deepest(posixpath.dirname(declaration.path) or ".")
        if owner is None and declaration.directory is not None:
            owner = deepest(declaration.directory)
        handed.setdefault(owner or ".", []).append(declaration)
    return handed


def with_shared(service: Service, shared: Service, declarations: list[Declaration]) -> Service:
    """`service` with the CI declarations handed to it, and the CI files among its sources.

    Its fingerprint then covers the CI files too, so that the check cache sees a changed workflow.
    """
    from envguard.cache import digest

    # Labels start with the file that declares the environment (see Declaration.environment).
    sources = [
        source
        for source in shared.declared_sources
        if source not in service.declared_sources and any(d.environment.startswith(f"{source.path} ") for d in declarations)
    ]
    fingerprint = None
    if shared.fingerprint is not None and (service.fingerprint is not None or service.name == SHARED):
        fingerprint = digest((service.fingerprint or b"") + shared.fingerprint)

    def merged() -> tuple[Declaration, ...]:
        return tuple(sorted({*service.declarations, *declarations}, key=declaration_key))

    # Deferred: a warm check reads the declarations of the few services it assesses again, and
    # making those of every service a workflow installs into took 15 ms of 500 services' run.
    return service.evolved(
        {"declarations": merged},
        declared_sources=tuple(sorted((*service.declared_sources, *sources), key=lambda s: s.path)),
        fingerprint=fingerprint,
    )


def load_one(spec: ServiceSpec, workspace: Workspace) -> tuple[Service, list[Diagnostic], list[Diagnostic]]:
    """One service of `workspace`, with what the workspace's CI files declare for it (`envguard diff`)."""
    from envguard.workspace import relative

    service, errors, warnings = load_service(spec, workspace.root)
    if not workspace.shared:
        return service, errors, warnings
    shared_spec = ServiceSpec(SHARED, workspace.root, (), (), workspace.shared, workspace.allow_outside_root)
    shared, shared_errors, shared_warnings = load_service(shared_spec, workspace.root)
    paths = {relative(other.directory, workspace.root) for other in workspace.services}
    own = {source.path for source in shared.declared_sources}
    handed = attribution(shared.declarations, paths | {"."}, own).get(service.path, [])
    if not handed:
        return service, errors, warnings
    mine = {d.path for d in handed}
    relevant = [d for d in shared_errors + shared_warnings if d.path in mine or d.path in own]
    return with_shared(service, shared, handed), errors + [d for d in relevant if d in shared_errors], warnings + [
        d for d in relevant if d in shared_warnings
    ]


def _attribute(services: list[Service], shared: Service) -> list[Service]:
    """`services` with the declarations of the workspace's CI files (`shared`) added."""
    own = {source.path for source in shared.declared_sources}
    handed = attribution(shared.declarations, (service.path for service in services), own)
    result = list(services)
    if "." in handed and all(service.path != "." for service in services):
        result.append(Service(SHARED, ".", (), ()))  # named after the root by _services
    for index, service in enumerate(result):
        if service.path in handed:
            result[index] = with_shared(service, shared, handed[service.path])
    return result


def _service_path(spec: ServiceSpec, root: Path) -> str:
    from envguard.workspace import relative

    return relative(spec.directory, root)


def _version_warnings(packages: tuple[Package, ...]) -> list[Diagnostic]:
    warnings = []
    for package in packages:
        if _version_key(package.version)[0] == _NOT_PEP_440:
            warnings.append(
                Diagnostic(
                    package.path,
                    package.line,
                    f"{package.name}: version {package.version!r} is not PEP 440; compared as written",
                )
            )
    return warnings


def package_key(package: Package) -> tuple[str, tuple[int, object], str, str, str, int, str]:
    # The raw version breaks ties between equal versions written differently (1.0 vs 1.0.0).
    return (
        package.name,
        _version_key(package.version),
        package.version or "",
        package.marker or "",
        package.path,
        package.line,
        package.kind.value,
    )


_NOT_PEP_440 = 2
# Each distinct version parsed once per process: 500 services hold 65,000 entries of a few hundred
# versions, and each entry's version was parsed twice (the order, the warning), a tenth of a
# cold check's CPU. Bounded, so that hostile input cannot grow it without end.
_VERSION_KEYS: dict[str, tuple[int, object]] = {}
_MAX_VERSION_KEYS = 50_000


def _version_key(version: str | None) -> tuple[int, object]:
    if version is None:
        return (0, "")
    found = _VERSION_KEYS.get(version)
    if found is None:
        from packaging.version import InvalidVersion, Version

        try:
            found = (1, Version(version))
        except (InvalidVersion, ValueError):  # ValueError: a release number too long for int()
            found = (_NOT_PEP_440, version)
        if len(_VERSION_KEYS) >= _MAX_VERSION_KEYS:
            _VERSION_KEYS.clear()
        _VERSION_KEYS[version] = found
    return found


def declaration_key(declaration: Declaration) -> tuple[str, int, str, str, str]:
    return (declaration.path, declaration.line, declaration.environment, declaration.name, declaration.requirement)


def _diagnostic_key(diagnostic: Diagnostic) -> tuple[str, int, str]:
    return (diagnostic.path, diagnostic.line or 0, diagnostic.message)
