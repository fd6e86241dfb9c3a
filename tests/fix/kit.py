"""Helpers for the fix tests: a copy of the example monorepo with drift injected into its real records."""

from __future__ import annotations

import shutil
from pathlib import Path

from envguard.check import CheckResult, run_check
from envguard.fix.model import Plan
from envguard.fix.plan import build_plan
from envguard.inventory import LoadOptions
from tests.kit import EXAMPLE

OFFLINE = LoadOptions(cache=False)

# Where each service's record locks pluggy 1.7.0: (file, the line of its entry).
PLUGGY = {
    "billing": ("services/billing/uv.lock", 410),
    "gateway": ("services/gateway/poetry.lock", 348),
    "inventory": ("services/inventory/pdm.lock", 425),
    "notifications": ("services/notifications/Pipfile.lock", 743),
    "reports": ("services/reports/requirements.txt", 11),
    "search": ("services/search/requirements.txt", 256),
    "analytics": ("services/analytics/pylock.toml", 142),
}


def monorepo(tmp: Path) -> Path:
    root = tmp / "monorepo"
    shutil.copytree(EXAMPLE, root)
    return root


def inject(root: Path, path: str, line: int, old: str, new: str) -> None:
    """Replace the first `old` at or below `line` of `path` (an entry's version in its record)."""
    file = root / path
    lines = file.read_bytes().split(b"\n")
    for index in range(line - 1, min(line + 8, len(lines))):
        if old.encode() in lines[index]:
            lines[index] = lines[index].replace(old.encode(), new.encode(), 1)
            file.write_bytes(b"\n".join(lines))
            return
    raise AssertionError(f"{old} not found near {path}:{line}")


def old_pluggy(root: Path, *services: str) -> None:
    """pluggy 0.13.1 (a major behind the others' 1.7.0) in each of `services`' records."""
    for service in services:
        path, line = PLUGGY[service]
        inject(root, path, line, "1.7.0", "0.13.1")


def checked(root: Path, policy: str | None = None) -> CheckResult:
    return run_check([root], policy_path=policy, load=OFFLINE)


def planned(root: Path, policy: str | None = None, **narrow: tuple[str, ...]) -> Plan:
    result = checked(root, policy)
    assert result.policy is not None
    return build_plan(result.inventory, result.findings, result.policy, root, **narrow)
