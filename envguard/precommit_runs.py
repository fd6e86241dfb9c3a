"""One report per pre-commit run, however many processes pre-commit splits it into.

pre-commit passes a hook's files on the command line and, when they exceed the platform's
argument length (`pre-commit run --all-files` in a large monorepo), splits them into several
invocations of the hook, one after the other under `require_serial`. Each `envguard check
--changed` process then reports the findings of its files' services, and a finding that several
services share (drift, or everything when a policy file changed) would be printed by every part.

So under pre-commit (`PRE_COMMIT=1`, which it sets for every hook) each part records the
findings and diagnostics it reported in `.envguard-cache/pre-commit-run.json`, keyed by the run:
the pre-commit process (envguard's parent: its pid and, on Linux, its start time, so a reused pid
is another run), the hook's options (the `envguard` and `envguard-plugins` hooks of one run
report independently) and the workspace. A later part of the same run leaves out what an earlier
part printed; it still exits 1 or 2 for them only through the earlier part, which is enough, as
pre-commit fails the hook when any part fails. Outside pre-commit nothing is read or written.
Without a start time (not Linux), a record older than `_UNTIMED_SECONDS` belongs to no run.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from envguard import cache

if TYPE_CHECKING:
    from envguard.check import CheckResult

FILE = "pre-commit-run.json"
_UNTIMED_SECONDS = 600
_DRIFT_RULES = frozenset({"version-drift", "pinned-version-mismatch", "snap-to-mismatch"})


def run_identity(options: tuple[object, ...]) -> str | None:
    """This pre-commit run and hook, or None outside pre-commit."""
    if os.environ.get("PRE_COMMIT") != "1":
        return None
    parent = os.getppid()
    return json.dumps([parent, _start_time(parent), [repr(option) for option in options]])


def _start_time(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            stat = handle.read()
    except OSError:
        return None
    # Field 22, counted after the parenthesised command name (which may hold spaces).
    fields = stat[stat.rfind(")") + 2 :].split()
    return int(fields[19]) if len(fields) > 19 and fields[19].isdigit() else None


def leave_out_reported(result: CheckResult, run: str) -> tuple[CheckResult, int]:
    """`result` without what an earlier part of this run reported, and how many findings that was;
    records what this part reports."""
    directory = cache.default_directory(Path(result.inventory.root))
    seen = _read(directory / FILE, run)
    findings = tuple(f for f in result.findings if _key(f) not in seen)
    errors = tuple(d for d in result.errors if _key(d) not in seen)
    warnings = tuple(d for d in result.warnings if _key(d) not in seen)
    _write(directory, run, seen | {_key(item) for item in (*findings, *errors, *warnings)})
    matrix = result.matrix
    if matrix is not None:
        drifting = {f.package for f in findings if f.name in _DRIFT_RULES}
        matrix = dataclasses.replace(matrix, rows=tuple(row for row in matrix.rows if row.package in drifting))
    left_out = len(result.findings) - len(findings)
    return dataclasses.replace(result, findings=findings, errors=errors, warnings=warnings, matrix=matrix), left_out


def _key(item: object) -> str:
    # Frozen dataclasses of strings, numbers and enums: their repr is their whole, stable content.
    # The cache's BLAKE2: hashlib's SHA-256 would load OpenSSL, a few ms of every hook run.
    return cache.digest(repr(item).encode("utf-8")).hex()


def _read(path: Path, run: str) -> frozenset[str]:
    try:
        with open(path, encoding="utf-8") as handle:
            found: Any = json.load(handle)
        untimed = json.loads(run)[1] is None
        if untimed and time.time() - path.stat().st_mtime > _UNTIMED_SECONDS:
            return frozenset()
    except (OSError, ValueError):
        return frozenset()
    if not isinstance(found, dict) or found.get("run") != run or not isinstance(found.get("reported"), list):
        return frozenset()
    return frozenset(item for item in found["reported"] if isinstance(item, str))


def _write(directory: Path, run: str, reported: frozenset[str]) -> None:
    text = json.dumps({"run": run, "reported": sorted(reported)}, indent=0) + "\n"
    try:
        cache.prepare_directory(directory)
        cache.write_atomically(directory / FILE, [text.encode("utf-8")])
    except OSError:
        return  # a read-only checkout: every part reports all it finds, as before
