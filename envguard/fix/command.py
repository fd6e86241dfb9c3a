"""`envguard fix`: check, plan, and with `apply` run the plan and check again.

Exit codes: 2 when an input or the policy could not be read (nothing is applied then: a plan
made from a partial inventory could move a service to the wrong version); when planning only,
1 when there are actions to apply, else 0; when applying, 0 when every action applied and no
finding of its rules is left for its service and package, else 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from envguard._record import record
from envguard.check import CheckResult, run_check
from envguard.errors import UsageError
from envguard.fix.model import Outcome, Plan
from envguard.fix.plan import MOVED_RULES, RULES, build_plan
from envguard.inventory import LoadOptions
from envguard.model import Finding
from envguard.rules.catalog import BY_NAME
from envguard.versions import sort_key

if TYPE_CHECKING:
    from envguard.fix.runner import Progress, RunCommand


@record(frozen=True)
class FixOptions:
    paths: tuple[Path, ...]
    policy: str | None = None
    select: frozenset[str] | None = None  # rule codes (envguard.select.parse_select)
    only: tuple[str, ...] = ()
    packages: tuple[str, ...] = ()
    apply: bool = False
    jobs: int = 1
    timeout: float = 600.0
    load: LoadOptions = LoadOptions()


@record(frozen=True)
class FixResult:
    before: CheckResult
    plan: Plan
    outcomes: tuple[Outcome, ...] | None  # None: planned only
    after: CheckResult | None  # the check after applying

    @property
    def exit_code(self) -> int:
        if self.before.errors or (self.after is not None and self.after.errors):
            return 2
        if self.outcomes is None:
            return 1 if self.plan.actions else 0
        return 0 if all(outcome.done for outcome in self.outcomes) else 1


def run_fix(options: FixOptions, *, run: RunCommand | None = None, progress: Progress | None = None) -> FixResult:
    """Check, plan and (with `options.apply`) apply; `run` replaces the command runner (tests)."""
    codes = frozenset(BY_NAME[name].code for name in RULES)
    if options.select is not None:
        codes &= options.select
    before = _check(options, codes)
    if before.inventory.repositories:
        raise UsageError("envguard fix changes a workspace's files: give it a workspace, not inventory artifacts")
    root = _root(before)
    plan = (
        build_plan(before.inventory, before.findings, before.policy, root, only=options.only, packages=options.packages)
        if before.policy is not None
        else Plan((), ())
    )
    if not options.apply or before.errors or not plan.actions:
        return FixResult(before, plan, None if not options.apply or before.errors else (), None)
    from envguard.fix.runner import apply_plan, run_command

    applied = apply_plan(plan, root, jobs=options.jobs, timeout=options.timeout, run=run or run_command, progress=progress)
    after = _check(options, codes)
    return FixResult(before, plan, tuple(_judged(outcome, after) for outcome in applied), after)


def _check(options: FixOptions, codes: frozenset[str]) -> CheckResult:
    return run_check(list(options.paths), policy_path=options.policy, select=codes, load=options.load)


def _root(result: CheckResult) -> Path:
    return Path(result.inventory.root)


def _judged(outcome: Outcome, after: CheckResult) -> Outcome:
    """`outcome` with the service's versions of the package after the re-check, and what still reports it."""
    action = outcome.action
    service = next((s for s in after.inventory.services if s.name == action.service), None)
    versions: Sequence[str] = ()
    if service is not None:
        versions = sorted({p.version for p in service.packages if p.name == action.package and p.version}, key=sort_key)
    remaining = sorted({f.name for f in after.findings if _reports(f, action.service, action.package)})
    return Outcome(action, outcome.status, outcome.message, outcome.log, tuple(versions), tuple(remaining))


def _reports(finding: Finding, service: str, package: str) -> bool:
    if finding.suppressed or finding.name not in MOVED_RULES or finding.package != package:
        return False
    names = finding.service.split(", ") if finding.name == "version-drift" else [finding.service]
    return service in names
