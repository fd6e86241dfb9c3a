"""`envguard check`: inventory → policy → rules → waivers, as plain data."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from typing import TYPE_CHECKING

from envguard._record import record
from envguard.errors import SourceError, UsageError
from envguard.inventory import LoadOptions, load_workspace
from envguard.markers import Target, view
from envguard.assessment import Assessment, assess
from envguard.model import Diagnostic, Finding, Inventory, NormalizedName, Severity
from envguard.locate import reference_kind
from envguard.policy import BUILTIN_DISPLAY, Policy, PolicyError, ReferenceSpec, builtin_policy, load_policy, load_policy_reference
from envguard import references as _references
from envguard.references import References
from envguard.workspace import Workspace, relative

if TYPE_CHECKING:
    from envguard.answers import Answers
    from envguard.check_cache import CheckCache
    from envguard.references import Reference
    from envguard.rules.drift import DriftEntry, DriftMatrix, PackageDrift

FAIL_ON = ("error", "warning", "never")


@record(frozen=True)
class CheckResult:
    """What `envguard check` found, and what it was judged by."""

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
    # The reference environments read (`references:`, --reference), viewed for `target`.
    references: References = References()
    # The policy the findings were judged by; None when it could not be read.
    policy: Policy | None = None
    # The date exceptions were judged as of (--today); None when nothing was judged.
    today: dt.date | None = None
    # Each service's plugin table (envguard.plugin_table rows, by service name), when asked for.
    plugins: Mapping[str, tuple[Mapping[str, object], ...]] | None = None

    def exit_code(self, fail_on: str) -> int:
        if self.errors:
            return 2
        return 1 if failing(self.findings, fail_on) else 0


def failing(findings: tuple[Finding, ...], fail_on: str) -> list[Finding]:
    if fail_on == "never":
        return []
    levels = {Severity.ERROR} if fail_on == "error" else {Severity.ERROR, Severity.WARNING}
    return [f for f in findings if not f.suppressed and not f.baselined and f.severity in levels]


def resolve_policy(policy_path: str | Path | None, workspace: Workspace, answers: Answers | None = None) -> Policy:
    """--policy, else `policy` in [tool.envguard], else policies/ at the root, else the built-in one.

    Both may be any policy reference (a path, `package:NAME[/PATH]`, a pinned https URL); a path
    in --policy is relative to the current directory, one in the configuration to the root.
    A policy named on the command line may extend any file; one the repository itself points to
    may only extend files inside the workspace, unless --allow-outside-root. (A Path is still
    accepted from callers that have not moved to reference strings; it can only be a path.)
    With `answers`, policy files parsed before are not parsed again (envguard.answers).
    """
    if policy_path is not None:
        written = os.fspath(policy_path)
        return load_policy_reference(written, Path.cwd(), shown=Path(written).as_posix(), answers=answers)
    within = None if workspace.allow_outside_root else workspace.root
    configured = (workspace.config.raw or {}).get("policy")
    if isinstance(configured, str):
        return load_policy_reference(configured, workspace.root, within=within, answers=answers)
    policies = workspace.root / "policies"
    if policies.is_dir() and any(p.suffix in (".yaml", ".yml") for p in policies.iterdir()):
        return load_policy(policies, shown="policies", within=within, answers=answers)
    return builtin_policy()


@record(frozen=True)
class Prepared:
    """The workspace, its inventory, the policy and the reference environments, read, with their problems."""

    workspace: Workspace
    inventory: Inventory
    policy: Policy | None  # None when it could not be read; the reason is in `errors`
    errors: list[Diagnostic]
    warnings: list[Diagnostic]
    references: References = References()


def prepare(
    paths: list[Path],
    policy_path: str | None,
    source_format: str | None,
    load: LoadOptions = LoadOptions(),
    references: Sequence[ReferenceSpec] = (),
) -> Prepared:
    """Discover, load every service, the policy and its reference environments (with `references`,
    those of the command line, by name over the policy's); every problem becomes a diagnostic.

    Paths that are all inventory artifacts are read as the organisation they describe
    (`envguard.org`), with the policy of the current directory's workspace configuration.
    """
    from envguard.answers import POLICY, Answers
    from envguard.cache import default_directory

    artifacts = _artifact_paths(paths)
    if artifacts:
        workspace, inventory = _organisation(artifacts)
    else:
        workspace, inventory = load_workspace(paths, source_format, load)
    errors = list(inventory.errors)
    warnings = list(inventory.warnings)
    parsed = Answers(default_directory(workspace.root) if load.cache and not artifacts else None, workspace.root, POLICY)
    try:
        policy: Policy | None = resolve_policy(policy_path, workspace, parsed)
    except PolicyError as exc:
        message = f"{exc.key}: {exc.message}" if exc.key else exc.message
        errors.append(Diagnostic(exc.path, exc.line, message))
        policy = None
    parsed.save()
    wanted = _references.specs(policy or Policy(), references)
    if not wanted:
        return Prepared(workspace, inventory, policy, errors, warnings)
    names = {service.name for service in inventory.services}
    found, reference_errors, reference_warnings = _references.load_references(wanted, names)
    errors.extend(reference_errors)
    warnings.extend(reference_warnings)
    dropped = _references.not_services(inventory.services, found, workspace.root)
    if dropped:
        kept = tuple(service for service in inventory.services if service.name not in dropped)
        inventory = dataclasses.replace(inventory, services=kept)
    return Prepared(workspace, inventory, policy, errors, warnings, found)


def _artifact_paths(paths: list[Path]) -> list[Path]:
    """`paths` when every one is an inventory artifact; [] when none is."""
    if not any(path.suffix.lower() == ".json" for path in paths):
        return []  # a workspace (every pre-commit run): envguard.org is not imported
    from envguard.org.artifacts import is_artifact

    flags = [is_artifact(path) for path in paths]
    if not any(flags):
        return []
    if not all(flags):
        other = next(path for path, flag in zip(paths, flags) if not flag)
        raise UsageError(
            f"{other.as_posix()}: give either workspace paths or inventory artifacts, not both "
            "(write this workspace's artifact with `envguard inventory --format json -o FILE`)"
        )
    return paths


def _organisation(paths: list[Path]) -> tuple[Workspace, Inventory]:
    from envguard.org.organisation import load_artifacts
    from envguard.workspace import Config, load_config

    root = Path.cwd()
    errors: list[Diagnostic] = []
    try:
        config = load_config(root)
    except SourceError as exc:
        errors.append(Diagnostic(exc.path, exc.line, exc.message))
        config = Config(services={}, exclude=())
    inventory = load_artifacts(paths, root)
    if errors:
        inventory = dataclasses.replace(inventory, errors=(*errors, *inventory.errors))
    return Workspace(root, (), config), inventory


def run_check(
    paths: list[Path],
    *,
    policy_path: str | None = None,
    today: dt.date | None = None,
    source_format: str | None = None,
    target: Target = Target(),
    baseline: Path | None = None,
    changed: Sequence[Path] | None = None,
    select: frozenset[str] | None = None,
    load: LoadOptions = LoadOptions(),
    references: Sequence[ReferenceSpec] = (),
    plugins: bool = False,
) -> CheckResult:
    """Check the workspace of `paths`.

    With `changed` (files, as given on the command line) or `select` (rule codes), every service
    is still loaded and compared, but only the findings `envguard.select.filter_findings` keeps
    are returned. With `plugins`, the result also holds each service's plugin table (the HTML
    report shows it; the other formats do not need it).
    """
    prepared = prepare(paths, policy_path, source_format, load, references)
    errors, warnings = prepared.errors, prepared.warnings
    known: frozenset[str] = frozenset()
    if baseline is not None:
        from envguard.baseline import read_baseline

        try:
            known = read_baseline(baseline, baseline.as_posix())
        except SourceError as exc:
            errors.append(Diagnostic(exc.path, exc.line, exc.message))
    if prepared.policy is None:
        return CheckResult(prepared.inventory, (), (), sorted_diagnostics(errors), _beside(errors, warnings))
    inventory = view(prepared.inventory, target)
    environments = prepared.references.viewed(target)
    root = prepared.workspace.root
    store = None
    if load.cache and not inventory.repositories:  # artifacts are cheap to read and have no workspace
        from envguard.cache import default_directory
        from envguard.check_cache import CheckCache, context_key

        # The references' packages are part of the context: another runner image, another comparison.
        context = context_key(prepared.policy, target, environments.loaded)
        store = CheckCache(default_directory(root), root, context, prepared.workspace.listed)
    day = today or dt.date.today()
    evaluation = evaluate(inventory, prepared.policy, root, errors, warnings, day, target, store, environments)
    if store is not None:
        store.save()
    findings = evaluation.findings
    if known:
        from envguard.baseline import apply_baseline

        findings = apply_baseline(findings, known)
    scope: frozenset[str] | None = None
    if changed is not None or select is not None:
        from envguard.select import changed_services, filter_findings

        if changed is not None:
            shown = [_shown(path, root) for path in changed]
            watched = policy_paths(policy_path, prepared.workspace, prepared.policy, environments)
            scope = changed_services(shown, inventory, watched, evaluation.reads)
        findings = filter_findings(findings, services=scope, select=select, waivers=prepared.policy.exceptions)
    matrix = evaluation.matrix(f for f in findings if not f.suppressed)
    return CheckResult(
        inventory,
        prepared.policy.files,
        findings,
        sorted_diagnostics(errors),
        _beside(errors, warnings),
        matrix,
        target,
        scope,
        environments,
        prepared.policy,
        day,
        plugin_tables(inventory, prepared.policy, root) if plugins else None,
    )


def plugin_tables(inventory: Inventory, policy: Policy, root: Path) -> dict[str, tuple[Mapping[str, object], ...]]:
    """Each service's plugin table. Its configuration's problems are not collected again: the
    service's assessment (or the check cache, which kept them) reported them already."""
    from envguard.assessment import service_plugins
    from envguard.plugin_table import service_rows

    return {item.service.name: tuple(service_rows(item, policy)) for item in service_plugins(inventory, policy, root, [], [])}


def policy_paths(
    policy_path: str | Path | None, workspace: Workspace, policy: Policy, references: References = References()
) -> list[str]:
    """Root-relative files and directories whose change can change the policy or the configuration.

    A package's or a URL's policy is left out: no change in the repository changes it. A
    reference environment's file counts as the policy's: it moves every snap-to target.
    """
    root = workspace.root
    candidates = [root / "policies", root / "envguard.toml", root / "pyproject.toml"]
    configured = (workspace.config.raw or {}).get("policy")
    if isinstance(configured, str) and reference_kind(configured) == "path":
        candidates.append(root / configured)
    written = None if policy_path is None else os.fspath(policy_path)
    if written is not None and reference_kind(written) == "path":
        candidates.append(Path(written))
    # Policy.files are shown relative to --policy's own base (the current directory), else to the root.
    base = Path.cwd() if policy_path is not None else root
    candidates.extend(
        base / shown for shown in policy.files if shown != BUILTIN_DISPLAY and reference_kind(shown) == "path"
    )
    candidates.extend(Path(reference.real) for reference in references.loaded if reference.real)
    return [_shown(path, root) for path in candidates]


def _shown(path: Path, root: Path) -> str:
    """`path` relative to `root`, its directory resolved (symlinked checkouts) but not the file itself."""
    absolute = path.absolute()
    if not absolute.name:
        return relative(absolute.resolve(), root)
    return relative(absolute.parent.resolve() / absolute.name, root)


@record(frozen=True)
class Evaluation:
    """Every rule's findings over a workspace, and the comparisons drift made."""

    findings: tuple[Finding, ...]  # waivers applied, in finding_key order
    drift: tuple[PackageDrift, ...]  # per package, in name order
    reads: dict[str, tuple[str, ...]]  # service -> Assessment.reads

    def matrix(self, findings: Iterable[Finding]) -> DriftMatrix:
        """The drift matrix of the comparisons that produced `findings`."""
        from envguard.rules.drift import matrix_of

        return matrix_of(self.drift, findings)


def evaluate(
    inventory: Inventory,
    policy: Policy,
    root: Path,
    errors: list[Diagnostic],
    warnings: list[Diagnostic],
    today: dt.date,
    target: Target = Target(),
    store: CheckCache | None = None,
    references: References = References(),
) -> Evaluation:
    """Every rule over `inventory` (already viewed for `target`), with the check cache when `store`,
    and over `references` (viewed too): the package rules, and drift's snap-to them."""
    from envguard.references import reference_findings, unknown_snap_targets
    from envguard.rules.drift import unchecked_references
    from envguard.rules.exceptions import apply_waivers

    environments = references.by_name
    if store is None:
        assessments, drifts = _evaluate(inventory, policy, root, target, None, environments)
    else:
        from envguard.check_cache import Damaged

        try:
            assessments, drifts = _evaluate(inventory, policy, root, target, store, environments)
        except Damaged as damaged:
            store.forget(damaged)
            assessments, drifts = _evaluate(inventory, policy, root, target, store, environments)
    for assessment in assessments.values():
        errors.extend(assessment.errors)
        warnings.extend(assessment.warnings)
    errors.extend(unknown_snap_targets(policy, assessments.keys(), references))
    # Said already: a reference's own problems when it is read, and a target that is neither above.
    reported = references.named | {r.require_value or "" for r in policy.drift_rules if r.require_value not in assessments}
    warnings.extend(unchecked_references(drifts, policy, assessments.keys(), target, reported))
    findings = [f for assessment in assessments.values() for f in assessment.findings]
    findings.extend(f for drift in drifts.values() for f in drift.findings)
    findings.extend(f for reference in references.loaded for f in reference_findings(reference, policy))
    waived = tuple(sorted(apply_waivers(sorted(findings, key=finding_key), policy.exceptions, today), key=finding_key))
    reads = {name: assessment.reads for name, assessment in assessments.items()}
    return Evaluation(waived, tuple(drifts.values()), reads)


def _evaluate(
    inventory: Inventory,
    policy: Policy,
    root: Path,
    target: Target,
    store: CheckCache | None,
    references: Mapping[str, Reference],
) -> tuple[dict[str, Assessment], dict[NormalizedName, PackageDrift]]:
    """Each service's assessment, by name, and each package's drift, by name."""
    from envguard.rules.drift import Resolver, compare_all, package_drift

    resolver = Resolver(policy)
    assessments: dict[str, Assessment] = {}
    for service in sorted(inventory.services, key=lambda s: s.name):
        if store is None:
            assessments[service.name] = assess(service, policy, root, target, resolver)
        else:
            make = functools.partial(assess, service, policy, root, target, resolver)
            watched = functools.partial(_pytest_files, root / service.path)
            assessments[service.name] = store.assessment(service, make, watched)

    if store is not None:

        def compare(name: NormalizedName, members: Sequence[tuple[str, Sequence[DriftEntry]]]) -> PackageDrift:
            return package_drift(name, members, policy, references)

        return assessments, store.drift(assessments.keys(), compare)
    entries = []
    for name, assessment in assessments.items():
        assert assessment.drift is not None  # made this run: there is no cache
        entries.append((name, assessment.drift))
    return assessments, compare_all(entries, policy, references)


def _pytest_files(directory: Path) -> list[Path]:
    # Asked only when an assessment is made: a warm run that keeps every one never imports the reader.
    from envguard.pytest_config import config_files

    return config_files(directory)


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


def _beside(errors: list[Diagnostic], warnings: list[Diagnostic]) -> tuple[Diagnostic, ...]:
    """The warnings that say something the errors do not: a broken pyproject.toml is an error of
    its declarations' reader and a warning of the pytest configuration's, in the same words."""
    said = {(d.path, d.line, d.message) for d in errors}
    return sorted_diagnostics([d for d in warnings if (d.path, d.line, d.message) not in said])


def sorted_diagnostics(items: list[Diagnostic]) -> tuple[Diagnostic, ...]:
    return tuple(sorted(set(items), key=lambda d: (d.path, d.line or 0, d.message)))
