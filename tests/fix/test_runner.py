"""Applying with the command runner replaced: argv, working directory, ordering, parallel lanes, rollback."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

import pytest

from envguard.fix.command import FixOptions, run_fix
from envguard.fix.model import Plan
from envguard.fix.runner import apply_plan, run_command
from tests.fix.kit import OFFLINE, monorepo, old_pluggy, planned

LOCKERS = ("billing", "gateway", "inventory", "notifications", "search")
_LOCKS_AND_MANIFESTS = frozenset(
    {"uv.lock", "poetry.lock", "pdm.lock", "Pipfile.lock", "Pipfile", "pyproject.toml", "requirements.txt", "requirements.in"}
)


class FakeTools:
    """Records each command; `fail` names services whose locker scribbles over its files and fails."""

    def __init__(self, root: Path, fail: Sequence[str] = (), code: int | None = 1, delay: float = 0.0) -> None:
        self.root = root
        self.fail = set(fail)
        self.code = code
        self.delay = delay
        self.calls: list[tuple[tuple[str, ...], str]] = []
        self.running: set[str] = set()
        self.overlaps: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, argv: Sequence[str], cwd: Path, timeout: float, log: BinaryIO) -> int | None:
        where = cwd.relative_to(self.root).as_posix()
        with self.lock:
            if where in self.running:
                self.overlaps.append(where)
            self.running.add(where)
            self.calls.append((tuple(argv), where))
        time.sleep(self.delay)
        log.write(b"fake tool output\n")
        service = Path(where).name
        with self.lock:
            self.running.discard(where)
        if service in self.fail:
            for name in sorted(p.name for p in cwd.iterdir() if p.name in _LOCKS_AND_MANIFESTS):
                (cwd / name).write_bytes(b"half-written by a crashing locker")
            (cwd / "new-file.lock").write_bytes(b"left behind")
            return self.code
        return 0


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and ".envguard-cache" not in p.parts}


def test_commands_run_in_plan_order_in_each_service_directory(tmp_path: Path) -> None:
    root = monorepo(tmp_path)
    old_pluggy(root, *LOCKERS, "reports")
    plan = Plan(tuple(a for a in planned(root).actions if a.package == "pluggy"), ())
    tools = FakeTools(root)
    outcomes = apply_plan(plan, root, jobs=1, run=tools)
    assert tools.calls == [(a.command, a.cwd) for a in plan.actions if a.command is not None]
    assert [c[1] for c in tools.calls] == [f"services/{name}" for name in LOCKERS]
    assert [(o.action.service, o.status) for o in outcomes] == [(a.service, "applied") for a in plan.actions]
    log = root / outcomes[0].log  # type: ignore[operator]
    assert log.read_text().splitlines() == [
        "# envguard fix: billing pluggy 0.13.1 -> 1.7.0 (uv)",
        "# in services/billing: uv lock --upgrade-package pluggy==1.7.0",
        "fake tool output",
        "# applied",
    ]


def test_a_failing_locker_leaves_the_files_byte_identical(tmp_path: Path) -> None:
    root = monorepo(tmp_path)
    old_pluggy(root, *LOCKERS)
    before = snapshot(root)
    plan = Plan(tuple(a for a in planned(root).actions if a.package == "pluggy"), ())
    tools = FakeTools(root, fail=LOCKERS)
    outcomes = apply_plan(plan, root, jobs=2, run=tools)
    assert {o.status for o in outcomes} == {"failed"}
    assert {o.message for o in outcomes} == {
        f"{tool} exited with 1; its files were restored" for tool in ("uv", "poetry", "pdm", "pipenv", "pip-compile")
    }
    after = snapshot(root)
    # Only the files the actions may change are theirs to restore; a locker's stray output stays.
    strays = {name for name in after if name.endswith("new-file.lock")}
    assert strays == {f"services/{name}/new-file.lock" for name in LOCKERS}
    for service in LOCKERS:
        (action,) = [o.action for o in outcomes if o.action.service == service]
        for name in action.files:
            assert after[name] == before[name], name
    log = (root / outcomes[0].log).read_text()  # type: ignore[operator]
    assert "# restored services/billing/pyproject.toml; restored services/billing/uv.lock" in log


def test_an_edited_input_is_restored_when_its_locker_fails(tmp_path: Path) -> None:
    root = monorepo(tmp_path)
    before = snapshot(root)
    (runner,) = [a for a in planned(root).actions if a.service == "runner"]
    assert runner.edits and runner.edits[0].path == "services/runner/requirements-runner.in"
    seen: list[bytes] = []

    def failing(argv: Sequence[str], cwd: Path, timeout: float, log: BinaryIO) -> int:
        seen.append((cwd / "requirements-runner.in").read_bytes())
        return 2

    (outcome,) = apply_plan(Plan((runner,), ()), root, run=failing)
    assert b"pytest==9.2.0" in seen[0]  # the edit came first, then the command
    assert outcome.message == "pip-compile exited with 2; its files were restored"
    assert snapshot(root) == before


def test_a_created_file_is_removed_on_failure(tmp_path: Path) -> None:
    root = monorepo(tmp_path)
    old_pluggy(root, "notifications")
    (action,) = [a for a in planned(root).actions if a.package == "pluggy"]
    pipfile = root / "services" / "notifications" / "Pipfile"
    pipfile.unlink()  # a file the action may write, absent before it ran
    FakeTools(root, fail=["notifications"])
    (outcome,) = apply_plan(Plan((action,), ()), root, run=FakeTools(root, fail=["notifications"]))
    assert outcome.status == "failed"
    assert not pipfile.exists()


def test_timeout_and_missing_tool(tmp_path: Path) -> None:
    root = monorepo(tmp_path)
    old_pluggy(root, "billing")
    before = snapshot(root)
    (action,) = [a for a in planned(root).actions if a.package == "pluggy"]
    (timed_out,) = apply_plan(Plan((action,), ()), root, timeout=0.5, run=FakeTools(root, fail=["billing"], code=None))
    assert timed_out.message == "uv did not finish within 0.5 s; its files were restored"

    def missing(argv: Sequence[str], cwd: Path, timeout: float, log: BinaryIO) -> int:
        raise FileNotFoundError(argv[0])

    (absent,) = apply_plan(Plan((action,), ()), root, run=missing)
    assert absent.message == "uv is not installed (not on PATH); its files were restored"
    after = snapshot(root)
    assert after.pop("services/billing/new-file.lock") == b"left behind"  # the fake's stray output
    assert after == before


def test_an_interrupted_action_is_rolled_back(tmp_path: Path) -> None:
    root = monorepo(tmp_path)
    old_pluggy(root, "gateway")
    before = snapshot(root)
    (action,) = [a for a in planned(root).actions if a.package == "pluggy"]

    def interrupted(argv: Sequence[str], cwd: Path, timeout: float, log: BinaryIO) -> int:
        (cwd / "poetry.lock").write_bytes(b"")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        apply_plan(Plan((action,), ()), root, run=interrupted)
    assert snapshot(root) == before


def test_actions_of_one_directory_never_run_at_once(tmp_path: Path) -> None:
    root = monorepo(tmp_path)
    old_pluggy(root, *LOCKERS)
    plan = planned(root)
    assert len([a for a in plan.actions if a.cwd == "services/gateway"]) >= 2
    tools = FakeTools(root, delay=0.02)
    apply_plan(Plan(tuple(a for a in plan.actions if a.command is not None), ()), root, jobs=4, run=tools)
    assert tools.overlaps == []
    gateway = [argv for argv, cwd in tools.calls if cwd == "services/gateway"]
    assert gateway == [a.command for a in plan.actions if a.cwd == "services/gateway"]


def test_run_fix_rechecks_and_reports_before_and_after(tmp_path: Path) -> None:
    root = monorepo(tmp_path)
    old_pluggy(root, "reports", "billing")
    before = snapshot(root)
    options = FixOptions(paths=(root,), apply=True, packages=("pluggy",), load=OFFLINE)
    result = run_fix(options, run=FakeTools(root, fail=["billing"]))
    assert result.exit_code == 1
    outcomes = {o.action.service: o for o in result.outcomes or ()}
    assert (outcomes["reports"].status, outcomes["reports"].after, outcomes["reports"].remaining) == ("applied", ("1.7.0",), ())
    assert outcomes["reports"].done
    assert (outcomes["billing"].status, outcomes["billing"].after) == ("failed", ("0.13.1",))
    assert outcomes["billing"].remaining == ("version-drift",)
    after = snapshot(root)
    assert {name for name in before if after.get(name) != before[name]} == {"services/reports/requirements.txt"}


def test_the_real_runner_captures_output_and_kills_at_the_timeout(tmp_path: Path) -> None:
    import sys

    with open(tmp_path / "log", "wb") as log:
        assert run_command([sys.executable, "-c", "print('hello'); import sys; sys.exit(3)"], tmp_path, 30, log) == 3
        started = time.monotonic()
        assert run_command([sys.executable, "-c", "import time; time.sleep(30)"], tmp_path, 0.5, log) is None
    assert time.monotonic() - started < 10
    assert (tmp_path / "log").read_bytes().startswith(b"hello")
