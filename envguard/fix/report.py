"""`envguard fix` output: the plan as text or `envguard.fix/1` JSON, and after `--apply` each
action's before and after."""

from __future__ import annotations

import json
import shlex

from envguard.fix.command import FixResult
from envguard.fix.model import Action, Outcome, plan_document


def render(result: FixResult, output_format: str) -> str:
    if output_format == "json":
        outcomes = None if result.outcomes is None else dict(enumerate(result.outcomes))
        return json.dumps(plan_document(result.plan, outcomes), indent=2, ensure_ascii=False) + "\n"
    return render_text(result)


def render_text(result: FixResult) -> str:
    plan = result.plan
    lines: list[str] = []
    if result.outcomes is None:
        for action in plan.actions:
            lines.append(_title(action))
            lines.extend(f"  {step}" for step in _steps(action))
    else:
        for outcome in result.outcomes:
            lines.append(_title(outcome.action))
            lines.extend(f"  {step}" for step in _steps(outcome.action))
            lines.append(f"  {_after(outcome)}")
    if plan.skipped:
        if lines:
            lines.append("")
        lines.append("skipped")
        lines.extend(f"  {s.service}  {s.package} ({s.rule}): {s.reason}" for s in plan.skipped)
    if lines:
        lines.append("")
    lines.append(_summary(result))
    return "\n".join(lines) + "\n"


def _title(action: Action) -> str:
    return f"{action.service}  {action.package} {', '.join(action.versions)} -> {action.to}  ({action.tool}, {action.rule})"


def _steps(action: Action) -> list[str]:
    steps = [f"edit {e.path}:{e.line}: {e.old.strip()}  ->  {e.new.strip()}" for e in action.edits]
    if action.command is not None:
        steps.append(f"run in {action.cwd}: {shlex.join(action.command)}")
    return steps


def _after(outcome: Outcome) -> str:
    before = ", ".join(outcome.action.versions)
    after = ", ".join(outcome.after) or "none"
    if outcome.status != "applied":
        log = f" (log: {outcome.log})" if outcome.log else ""
        return f"failed: {outcome.message}{log}"
    if outcome.remaining:
        return f"applied: before {before}, after {after}; still reported by {', '.join(outcome.remaining)}"
    return f"applied: before {before}, after {after}; no finding left"


def _summary(result: FixResult) -> str:
    plan = result.plan
    skipped = f", {len(plan.skipped)} skipped" if plan.skipped else ""
    if not plan.actions:
        return f"nothing to apply{skipped}"
    if result.outcomes is None:
        lockers = sum(1 for a in plan.actions if a.command is not None)
        edits = len(plan.actions) - lockers
        return (
            f"{len(plan.actions)} actions planned ({lockers} run a locker and need the package index, "
            f"{edits} only edit files){skipped}; apply them with --apply"
        )
    done = sum(1 for o in result.outcomes if o.done)
    failed = sum(1 for o in result.outcomes if o.status != "applied")
    left = len(result.outcomes) - done - failed
    return f"{len(result.outcomes)} actions: {done} done, {failed} failed, {left} applied but still reported{skipped}"
