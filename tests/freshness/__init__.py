"""Tests of envguard.freshness: every fixture case against the locking tool's own verdict."""

from __future__ import annotations

import json
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "freshness"


def verdicts(tool: str) -> list[tuple[str, str, int]]:
    """(variant, case, the tool's exit code) for every case under fixtures/freshness/<tool>."""
    found = []
    for path in sorted((FIXTURES / tool).glob("*/verdicts.json")):
        for case, verdict in json.loads(path.read_text(encoding="utf-8"))["cases"].items():
            found.append((path.parent.name, case, verdict["exit"]))
    return found


def shown(tool: str, variant: str, case: str, name: str) -> str:
    """The lock's path relative to the fixtures root, as inventory passes it to a loader."""
    return f"{tool}/{variant}/{case}/{name}"
