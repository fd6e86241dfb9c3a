"""What `envguard fix` plans and what applying it did, as plain data (the `envguard.fix/1` schema)."""

from __future__ import annotations

from typing import Any

from envguard._record import record
from envguard.model import NormalizedName

SCHEMA = "envguard.fix/1"

# Action.tool: the locker that moves the record, or "edit" for a pin envguard edits itself.
TOOLS = ("uv", "poetry", "pdm", "pipenv", "pip-compile", "uv-pip-compile", "edit")


@record(frozen=True)
class Edit:
    """One line of a file, as it is (`old`) and as the action leaves it (`new`); only a version differs."""

    path: str  # root-relative
    line: int  # 1-based
    old: str  # the line without its line end
    new: str


@record(frozen=True)
class Action:
    """Move one service's `package` from `versions` to `to`: the edits first, then the command."""

    service: str
    package: NormalizedName
    versions: tuple[str, ...]  # the service's versions of it now ("from")
    to: str
    rule: str  # the rule whose finding chose the target
    tool: str  # one of TOOLS
    command: tuple[str, ...] | None  # argv, run in `cwd`; None for an edit
    cwd: str | None  # root-relative directory the command runs in
    edits: tuple[Edit, ...]
    network: bool  # the command resolves against the package index
    files: tuple[str, ...]  # root-relative files the action may change, restored if it fails

    def document(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "package": self.package,
            "from": list(self.versions),
            "to": self.to,
            "rule": self.rule,
            "tool": self.tool,
            "command": list(self.command) if self.command is not None else None,
            "cwd": self.cwd,
            "edits": [{"path": e.path, "line": e.line, "old": e.old, "new": e.new} for e in self.edits],
            "network": self.network,
            "files": list(self.files),
        }


@record(frozen=True)
class Skipped:
    """A finding `envguard fix` does not act on, and why."""

    service: str
    package: str
    rule: str
    reason: str  # one line

    def document(self) -> dict[str, Any]:
        return {"service": self.service, "package": self.package, "rule": self.rule, "reason": self.reason}


@record(frozen=True)
class Plan:
    actions: tuple[Action, ...]  # by service, then package
    skipped: tuple[Skipped, ...]  # by service, package, rule


@record(frozen=True)
class Outcome:
    """What applying one action did, and what the check found afterwards."""

    action: Action
    status: str  # "applied", "failed"
    message: str  # one line: why it failed, or "" when it applied
    log: str | None  # the action's log file, root-relative (None: nothing was run)
    after: tuple[str, ...] = ()  # the service's versions of the package after the re-check
    remaining: tuple[str, ...] = ()  # rules still reporting the service and package

    @property
    def done(self) -> bool:
        return self.status == "applied" and not self.remaining

    def document(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "message": self.message,
            "log": self.log,
            "after": list(self.after),
            "remaining": list(self.remaining),
        }


def plan_document(plan: Plan, outcomes: dict[int, Outcome] | None = None) -> dict[str, Any]:
    """`envguard.fix/1`; with `outcomes` (by action index), each action also carries its `outcome`."""
    actions = []
    for index, action in enumerate(plan.actions):
        item = action.document()
        if outcomes is not None:
            outcome = outcomes.get(index)
            item["outcome"] = outcome.document() if outcome is not None else None
        actions.append(item)
    return {"schema": SCHEMA, "actions": actions, "skipped": [s.document() for s in plan.skipped]}
