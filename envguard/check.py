"""`envguard check`: inventory → policy → rules → waivers, as plain data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from typing import TYPE_CHECKING

from envguard.errors import SourceError
from envguard.inventory import LoadOptions, load_workspace
from envguard.markers import Target, view
from envguard.model import Diagnostic, Finding, Inventory, Service, Severity
from envguard.policy import BUILTIN_DISPLAY, Policy, PolicyError, builtin_policy, load_policy
from envguard.workspace import Workspace, relative

if TYPE_CHECKING:
    from envguard.plugins import PluginUse
    from envguard.pytest_config import PytestConfig
    from envguard.rules.drift import DriftMatrix

FAIL_ON = ("error", "warning", "never")


@dataclass(frozen=True)
class CheckResult:
    inventory: Inventory
    policy_files: tuple[str, ...]
    findings: tuple[Finding, ...]
    errors: tuple[Diagnostic, ...]
    warnings: tuple[Diagnostic, ...]
    # Packages (rows) × services (columns) of every drift finding; None when drift was not evaluated.
    matrix: DriftMatrix | None = None
    target: Target = Target()
    # The services whose findings are reported (`check --changed`); None: every service.
    scope: frozenset[str] | None = None

    def exit_code(self, fail_on: str) -> int:
        if self.errors:
            return 2
        return 1 if failing(self.findings, fail_on) else 0


def failing(findings: tuple[Finding, ...], fail_on: str) -> list[Finding]:
    if fail_on == "never":
        return []
    levels = {Severity.ERROR} if fail_on == "error" else {Severity.ERROR, Severity.WARNING}
    return [f for f in findings if not f.suppressed and not f.baselined and f.severity in levels]


def resolve_policy(policy_path: Path | None, workspace: Workspace) -> Policy:
    """--policy, else `policy` in [tool.envguard], else policies/ at the root, else the built-in one.

    A policy named on the command line may extend any file; one the repository itself points to
    may only extend files inside the workspace, unless --allow-outside-root.
    """
    if policy_path is not None:
        return load_policy(policy_path, shown=policy_path.as_posix())
    within = None if workspace.allow_outside_root else workspace.root
    configured = (workspace.config.raw or {}).get("policy")
    if isinstance(configured, str):
        return load_policy(workspace.root / configured, shown=configured, within=within)
    policies = workspace.root / "policies"
    if policies.is_dir() and any(p.suffix in (".yaml", ".yml") for p in policies.iterdir()):
        return load_policy(policies, shown="policies", within=within)
    return builtin_policy()


@dataclass(frozen=True)
class Prepared:
    workspace: Workspace
    inventory: Inventory
    policy: Policy | None  # None when it could not be read; the reason is in `errors`
    errors: list[Diagnostic]
    warnings: list[Diagnostic]


def prepare(
    paths: list[Path], policy_path: Path | None, source_format: str | None, load: LoadOptions = LoadOptions()
) -> Prepared:
    """Discover, load every service and the policy; every problem becomes a diagnostic."""
    workspace, inventory = load_workspace(paths, source_format, load)
    errors = list(inventory.errors)
    warnings = list(inventory.warnings)
    try:
        policy: Policy | None = resolve_policy(policy_path, workspace)
    except PolicyError as exc:
        message = f"{exc.key}: {exc.message}" if exc.key else exc.message
        errors.append(Diagnostic(exc.path, exc.line, message))
        policy = None
    return Prepared(workspace, inventory, policy, errors, warnings)


def run_check(
    paths: list[Path],
    *,
    policy_path: Path | None = None,
    today: dt.date | None = None,
    source_format: str | None = None,
    target: Target = Target(),
    baseline: Path | None = None,
    changed: Sequence[Path] | None = None,
    select: frozenset[str] | None = None,
    load: LoadOptions = LoadOptions(),
) -> CheckResult:
    """Check the workspace of `paths`.

    With `changed` (files, as given on the command line) or `select` (rule codes), every service
    is still loaded and compared, but only the findings `envguard.select.filter_findings` keeps
    are returned.
    """
    prepared = prepare(paths, policy_path, source_format, load)
    errors, warnings = prepared.errors, prepared.warnings
    known: frozenset[str] = frozenset()
    if baseline is not None:
        from envguard.baseline import read_baseline

        try:
            known = read_baseline(baseline, baseline.as_posix())
        except SourceError as exc:
            errors.append(Diagnostic(exc.path, exc.line, exc.message))
    if prepared.policy is None:
        return CheckResult(prepared.inventory, (), (), sorted_diagnostics(errors), sorted_diagnostics(warnings))
    inventory = view(prepared.inventory, target)
    root = prepared.workspace.root
    findings, matrix = evaluate(inventory, prepared.policy, root, errors, warnings, today or dt.date.today(), target)
    if known:
        from envguard.baseline import apply_baseline

        findings = apply_baseline(findings, known)
    scope: frozenset[str] | None = None
    if changed is not None or select is not None:
        from envguard.rules.drift import drift_matrix
        from envguard.select import changed_services, filter_findings

        if changed is not None:
            shown = [_shown(path, root) for path in changed]
            scope = changed_services(shown, inventory, policy_paths(policy_path, prepared.workspace, prepared.policy))
        kept = filter_findings(findings, services=scope, select=select, waivers=prepared.policy.exceptions)
        if kept != findings:
            findings = kept
            matrix = drift_matrix(inventory, prepared.policy, target, [f for f in kept if not f.suppressed])
    return CheckResult(
        inventory,
        prepared.policy.files,
        findings,
        sorted_diagnostics(errors),
        sorted_diagnostics(warnings),
        matrix,
        target,
        scope,
    )


def policy_paths(policy_path: Path | None, workspace: Workspace, policy: Policy) -> list[str]:
    """Root-relative files and directories whose change can change the policy or the configuration."""
    root = workspace.root
    candidates = [root / "policies", root / "envguard.toml", root / "pyproject.toml"]
    configured = (workspace.config.raw or {}).get("policy")
    if isinstance(configured, str):
        candidates.append(root / configured)
    if policy_path is not None:
        candidates.append(policy_path)
    # Policy.files are shown relative to --policy's own base (the current directory), else to the root.
    base = Path.cwd() if policy_path is not None else root
    candidates.extend(base / shown for shown in policy.files if shown != BUILTIN_DISPLAY)
    return [_shown(path, root) for path in candidates]


def _shown(path: Path, root: Path) -> str:
    """`path` relative to `root`, its directory resolved (symlinked checkouts) but not the file itself."""
    absolute = path.absolute()
    if not absolute.name:
        return relative(absolute.resolve(), root)
    return relative(absolute.parent.resolve() / absolute.name, root)


@dataclass(frozen=True)
class ServicePlugins:
    service: Service
    config: PytestConfig
    uses: tuple[PluginUse, ...]


def service_plugins(
    inventory: Inventory, policy: Policy, root: Path, errors: list[Diagnostic], warnings: list[Diagnostic]
) -> list[ServicePlugins]:
    """Each service's pytest configuration and the plugins it installs, enables or blocks."""
    from envguard.plugins import detect_plugins
    from envguard.pytest_config import PytestConfig, read_pytest_config

    result = []
    for service in inventory.services:
        try:
            config = read_pytest_config(root / service.path, service.path)
        except SourceError as exc:
            errors.append(Diagnostic(exc.path, exc.line, exc.message))
            config = PytestConfig()
        warnings.extend(config.warnings)
        result.append(ServicePlugins(service, config, detect_plugins(service, policy.also_plugins, config)))
    return result


def evaluate(
    inventory: Inventory,
    policy: Policy,
    root: Path,
    errors: list[Diagnostic],
    warnings: list[Diagnostic],
    today: dt.date,
    target: Target = Target(),
) -> tuple[tuple[Finding, ...], DriftMatrix]:
    from envguard.rules.drift import drift_findings, drift_matrix
    from envguard.rules.exceptions import apply_waivers
    from envguard.rules.packages import denied_findings, pytest_version_findings
    from envguard.rules.plugins import plugin_findings, required_plugin_findings

    findings: list[Finding] = []
    for item in service_plugins(inventory, policy, root, errors, warnings):
        findings.extend(plugin_findings(item.service, item.uses, policy))
        findings.extend(required_plugin_findings(item.service, item.config))
        findings.extend(denied_findings(item.service, policy))
        findings.extend(pytest_version_findings(item.service, policy))
    formats = {source.path: source.format for service in inventory.services for source in service.sources}
    drift, drift_warnings = drift_findings(inventory, policy, target, formats)
    findings.extend(drift)
    warnings.extend(drift_warnings)
    waived = tuple(sorted(apply_waivers(sorted(findings, key=finding_key), policy.exceptions, today), key=finding_key))
    active = [f for f in waived if not f.suppressed]
    return waived, drift_matrix(inventory, policy, target, active)


def finding_key(finding: Finding) -> tuple[str, str, str, str, str, int]:
    first = finding.locations[0] if finding.locations else None
    return (
        finding.service,
        finding.rule,
        finding.package or "",
        finding.version or "",
        first.path if first else "",
        (first.line or 0) if first else 0,
    )


def sorted_diagnostics(items: list[Diagnostic]) -> tuple[Diagnostic, ...]:
    return tuple(sorted(set(items), key=lambda d: (d.path, d.line or 0, d.message)))
