"""Applying a plan: each action's edits, then its command, with a timeout, a log and a rollback.

* Before an action changes anything, the bytes of every file it may change (`Action.files`)
  are kept. When an edit does not apply, the tool is missing, the command fails or times out,
  or the run is interrupted, each of those files is put back exactly as it was (a file the
  action created is removed), by atomic replace.
* Actions run in parallel up to `jobs`, except that actions sharing a file or a directory run
  one after the other, in plan order (two lockers in one directory would race for its lock).
* Each action writes its log, the command, its output and what was restored, to
  `.envguard-cache/fix/NN-SERVICE-PACKAGE.log` under the workspace root (the last run's only).
* The command runner is a parameter (`RunCommand`), so that tests can replace it.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO, TextIO

from envguard.fix.lines import replaced, write_atomically
from envguard.fix.model import Action, Outcome, Plan
from envguard.fix.pyproject import check_toml

# (argv, cwd, timeout in seconds, log) -> exit code, or None when it timed out.
RunCommand = Callable[[Sequence[str], Path, float, BinaryIO], "int | None"]
# (done, total, the action just finished): progress for people at a terminal.
Progress = Callable[[int, int, Outcome], None]

LOGS = "fix"
# Lockers must never stop for a question: nobody is there to answer it.
_NON_INTERACTIVE = {
    "CI": "1",
    "PIP_NO_INPUT": "1",
    "POETRY_NO_INTERACTION": "1",
    "PIPENV_YES": "1",
    "PIPENV_NOSPIN": "1",
    "PDM_NON_INTERACTIVE": "1",
}


class _Failed(Exception):
    """An action could not be applied; the message says why, in one line."""


def run_command(argv: Sequence[str], cwd: Path, timeout: float, log: BinaryIO) -> int | None:
    """Run `argv` in `cwd`, its output into `log`; the exit code, or None after killing it at `timeout`."""
    posix = os.name == "posix"
    process = subprocess.Popen(
        list(argv),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, **_NON_INTERACTIVE},
        start_new_session=posix,  # a process group: a timeout ends the tool's own children too
    )
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        if posix:
            import signal

            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
        process.wait()
        return None
    except BaseException:
        process.kill()
        process.wait()
        raise


def apply_plan(
    plan: Plan,
    root: Path,
    *,
    jobs: int = 1,
    timeout: float = 600.0,
    run: RunCommand = run_command,
    progress: Progress | None = None,
) -> tuple[Outcome, ...]:
    """Apply every action of `plan` (files under `root`); the outcomes in plan order."""
    from envguard.cache import default_directory, prepare_directory

    directory = default_directory(root)
    prepare_directory(directory)
    logs = directory / LOGS
    logs.mkdir(exist_ok=True)
    for old in logs.glob("*.log"):  # one run's logs: an earlier run's would be taken for this one's
        old.unlink()
    actions = plan.actions
    outcomes: dict[int, Outcome] = {}
    total = len(actions)

    def lane(indexes: list[int]) -> None:
        for index in indexes:
            log = logs / _log_name(index, actions[index])
            outcome = apply_action(actions[index], root, log, timeout, run)
            outcomes[index] = outcome
            if progress is not None:
                progress(len(outcomes), total, outcome)

    lanes = _lanes(actions)
    if jobs <= 1 or len(lanes) <= 1:
        for indexes in lanes:
            lane(indexes)
    else:
        with ThreadPoolExecutor(max_workers=min(jobs, len(lanes))) as pool:
            for future in [pool.submit(lane, indexes) for indexes in lanes]:
                future.result()
    return tuple(outcomes[index] for index in range(total))


def apply_action(action: Action, root: Path, log_path: Path, timeout: float, run: RunCommand) -> Outcome:
    """Apply one action; on any failure every file it may change is restored byte for byte."""
    saved = {name: _content(root / name) for name in action.files}
    shown = log_path.relative_to(root).as_posix() if log_path.is_relative_to(root) else str(log_path)
    with open(log_path, "wb") as log:
        _say(log, f"# envguard fix: {action.service} {action.package} {', '.join(action.versions)} -> {action.to} ({action.tool})")
        try:
            _apply(action, root, timeout, run, log)
        except _Failed as exc:
            _say(log, f"# failed: {exc}")
            _say(log, f"# {_restore(root, saved)}")
            return Outcome(action, "failed", f"{exc}; its files were restored", shown)
        except BaseException:
            _say(log, f"# interrupted; {_restore(root, saved)}")
            raise
        _say(log, "# applied")
    return Outcome(action, "applied", "", shown)


def _apply(action: Action, root: Path, timeout: float, run: RunCommand, log: BinaryIO) -> None:
    for path in sorted({edit.path for edit in action.edits}):
        edits = [edit for edit in action.edits if edit.path == path]
        try:
            data = replaced((root / path).read_bytes(), edits)
            if path.endswith(".toml"):
                check_toml(data, path)
            write_atomically(root / path, data)
        except (OSError, ValueError) as exc:
            raise _Failed(str(exc)) from None
        for edit in edits:
            _say(log, f"# edited {edit.path}:{edit.line}: {edit.old.strip()} -> {edit.new.strip()}")
    if action.command is None:
        return
    assert action.cwd is not None
    _say(log, f"# in {action.cwd}: {shlex.join(action.command)}")
    log.flush()
    try:
        code = run(action.command, root / action.cwd, timeout, log)
    except FileNotFoundError:
        raise _Failed(f"{action.command[0]} is not installed (not on PATH)") from None
    except OSError as exc:
        raise _Failed(f"{action.command[0]} could not be run: {exc.strerror or exc}") from None
    log.flush()
    if code is None:
        raise _Failed(f"{action.command[0]} did not finish within {timeout:g} s")
    if code != 0:
        raise _Failed(f"{action.command[0]} exited with {code}")


def _content(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _restore(root: Path, saved: dict[str, bytes | None]) -> str:
    """Put every file back as `saved` holds it; what was done, for the log."""
    done: list[str] = []
    for name, content in sorted(saved.items()):
        path = root / name
        current = _content(path)
        if current == content:
            continue
        if content is None:
            path.unlink()
            done.append(f"removed {name}")
        else:
            write_atomically(path, content)
            done.append(f"restored {name}")
    return "; ".join(done) if done else "no file had changed"


def _lanes(actions: Sequence[Action]) -> list[list[int]]:
    """Actions grouped so that two sharing a file or a directory fall into one lane, in plan order."""
    parent = list(range(len(actions)))

    def find(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    owner: dict[str, int] = {}
    for index, action in enumerate(actions):
        keys = [f"file:{name}" for name in action.files]
        if action.cwd is not None:
            keys.append(f"dir:{action.cwd}")
        for key in keys:
            if key in owner:
                parent[find(index)] = find(owner[key])
            else:
                owner[key] = index
    lanes: dict[int, list[int]] = {}
    for index in range(len(actions)):
        lanes.setdefault(find(index), []).append(index)
    return sorted(lanes.values())


def _log_name(index: int, action: Action) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{action.service}-{action.package}")
    return f"{index + 1:02d}-{safe}.log"


def _say(log: BinaryIO, line: str) -> None:
    log.write(line.encode("utf-8", "backslashreplace") + b"\n")


def progress_printer(stream: TextIO | None = None) -> Progress | None:
    """A counter on stderr when it is a terminal (never in CI)."""
    out = stream if stream is not None else sys.stderr
    if os.environ.get("CI") or not out.isatty():
        return None

    def show(done: int, total: int, outcome: Outcome) -> None:
        action = outcome.action
        end = "\n" if done == total else ""
        out.write(f"\r\x1b[Kenvguard fix: {done}/{total} ({action.service} {action.package}: {outcome.status})"[:200] + end)
        out.flush()

    return show
