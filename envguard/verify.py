"""`envguard verify`: an installed environment (or a snapshot of one) against its lock and the policy.

Markers of the lock are evaluated with the marker environment the interpreter itself reports,
so the comparison is for exactly that interpreter and platform. The result is a CheckResult
whose inventory holds one service: the environment, named after the lock's service.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from envguard._record import record
from envguard.check import CheckResult, finding_key, resolve_policy, sorted_diagnostics
from envguard.errors import SourceError, UsageError
from envguard.inventory import load_service
from envguard.model import Diagnostic, Finding, Inventory, Service, Source
from envguard.policy import Policy, PolicyError
from envguard.rules.environment import (
    Project,
    Selection,
    collision_findings,
    duplicate_findings,
    lock_findings,
    plugin_uses,
    requirement_findings,
)
from envguard.sources.environment import Environment
from envguard.workspace import ServiceSpec, Workspace, discover


@record(frozen=True)
class VerifyRequest:
    lock: Path | None = None  # a lock file; or
    service: str | None = None  # a service of the workspace at `root`
    root: Path | None = None
    python: str | None = None  # interpreter (or venv directory); None: the running one
    snapshot: Path | None = None  # instead of an interpreter
    groups: tuple[str, ...] = ()
    all_groups: bool = False
    ignore: tuple[str, ...] = ()
    policy: str | Path | None = None  # any policy reference (a path, package:, a pinned URL)
    source_format: str | None = None
    today: dt.date | None = None


def run_verify(request: VerifyRequest) -> CheckResult:
    _validate(request)
    workspace, spec = _locked_service(request)
    errors: list[Diagnostic] = list(workspace.errors)
    locked, service_errors, warnings = load_service(spec, workspace.root)
    errors.extend(service_errors)
    policy: Policy | None = None
    try:
        policy = resolve_policy(request.policy, workspace)
    except PolicyError as exc:
        errors.append(Diagnostic(exc.path, exc.line, f"{exc.key}: {exc.message}" if exc.key else exc.message))
    environment, source = (None, None) if errors else _environment(request, errors)
    inventory = Inventory(str(workspace.root), (_environment_service(locked, environment, source),))
    if errors or policy is None or environment is None:
        files = policy.files if policy is not None else ()
        return CheckResult(inventory, files, (), sorted_diagnostics(errors), sorted_diagnostics(warnings))
    warnings.extend(environment.warnings)
    findings = verify_findings(
        locked,
        environment,
        policy,
        selection=Selection.of(request.groups, request.all_groups),
        ignore=frozenset(_ignore_pattern(name) for name in request.ignore),
        project=_project(spec),
        ordered=request.snapshot is None,
        today=request.today or dt.date.today(),
    )
    return CheckResult(inventory, policy.files, findings, sorted_diagnostics(errors), sorted_diagnostics(warnings))


def verify_findings(
    locked: Service,
    environment: Environment,
    policy: Policy,
    *,
    selection: Selection = Selection(),
    ignore: frozenset[str] = frozenset(),
    project: Project = Project(),
    ordered: bool = True,
    today: dt.date | None = None,
) -> tuple[Finding, ...]:
    """Every verify finding for one locked service and one environment, waivers applied."""
    from envguard.rules.exceptions import apply_waivers
    from envguard.rules.packages import denied_findings, pytest_version_findings
    from envguard.rules.plugins import plugin_findings

    name = locked.name
    installed = _environment_service(locked, environment, None)
    findings: list[Finding] = []
    findings.extend(lock_findings(name, locked.packages, environment, selection, ignore=ignore, project=project))
    findings.extend(requirement_findings(name, environment))
    findings.extend(duplicate_findings(name, environment, ordered=ordered))
    findings.extend(collision_findings(name, environment, ordered=ordered))
    findings.extend(plugin_findings(installed, plugin_uses(environment, policy.also_plugins), policy))
    findings.extend(denied_findings(installed, policy))
    findings.extend(pytest_version_findings(installed, policy))
    waived = apply_waivers(sorted(findings, key=finding_key), policy.exceptions, today or dt.date.today())
    return tuple(sorted(waived, key=finding_key))


def _validate(request: VerifyRequest) -> None:
    if (request.lock is None) == (request.service is None):
        raise UsageError("give either --lock FILE or --service NAME")
    if request.root is not None and request.service is None:
        raise UsageError("--root goes with --service")
    if request.snapshot is not None and request.python is not None:
        raise UsageError("--snapshot and --python exclude each other: a snapshot is the environment")
    if request.all_groups and request.groups:
        raise UsageError("--groups and --all-groups exclude each other")


def _locked_service(request: VerifyRequest) -> tuple[Workspace, ServiceSpec]:
    if request.lock is not None:
        if request.lock.is_dir():
            raise UsageError(f"--lock {request.lock}: is a directory; give the lock file, or --service NAME")
        workspace = discover([request.lock], request.source_format)
        if not workspace.services:
            reasons = "; ".join(str(e) for e in workspace.errors) or "not a dependency record"
            raise UsageError(f"--lock {request.lock}: {reasons}")
        return workspace, workspace.services[0]
    root = request.root if request.root is not None else Path.cwd()
    if not root.is_dir():
        raise UsageError(f"--root {root}: not a directory")
    workspace = discover([root], request.source_format)
    for spec in workspace.services:
        if spec.name == request.service:
            return workspace, spec
    known = ", ".join(spec.name for spec in workspace.services) or "none"
    raise UsageError(f"no service {request.service!r} under {root} (services: {known})")


def _environment(request: VerifyRequest, errors: list[Diagnostic]) -> tuple[Environment | None, Source]:
    if request.snapshot is not None:
        from envguard.snapshot import FORMAT, load_snapshot

        shown = request.snapshot.as_posix()
        try:
            return load_snapshot(request.snapshot, shown).environment, Source(shown, FORMAT)
        except SourceError as exc:
            errors.append(Diagnostic(exc.path, exc.line, exc.message))
            return None, Source(shown, FORMAT)
    from envguard.sources.environment import read_environment

    environment = read_environment(request.python)  # InterpreterError: one line, exit 2
    return environment, Source(environment.source, "environment")


def _environment_service(locked: Service, environment: Environment | None, source: Source | None) -> Service:
    """The environment as the one service of the result: the lock's name, the environment's packages."""
    packages = tuple(sorted(environment.packages())) if environment is not None else ()
    sources = locked.sources + ((source,) if source is not None else ())
    return Service(locked.name, locked.path, sources, packages)


def _project(spec: ServiceSpec) -> Project:
    """The service's own project: named in its pyproject.toml, installed from its directory."""
    from envguard.sources._text import read_text
    from envguard.sources._toml import parse_toml

    names: set[str] = set()
    pyproject = spec.directory / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = parse_toml(read_text(pyproject, "pyproject.toml"), "pyproject.toml")
        except SourceError:
            data = {}
        for table in (data.get("project"), (data.get("tool") or {}).get("poetry")):
            if isinstance(table, dict) and isinstance(table.get("name"), str):
                from envguard.model import normalize

                names.add(normalize(table["name"]))
    return Project(frozenset(names), frozenset({os.path.realpath(spec.directory)}))


def _ignore_pattern(name: str) -> str:
    from envguard.model import normalize

    name = name.strip()
    return name.lower() if any(ch in name for ch in "*?[") else normalize(name)
