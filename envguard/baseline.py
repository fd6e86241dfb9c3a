"""Baselines: accept today's findings, fail only on new ones.

A finding's fingerprint is its rule name, service and package, never its version or line, so a
baseline survives upgrades, re-locking and reformatting of the files it points at.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

from envguard.errors import SourceError
from envguard.model import Finding

SCHEMA = "envguard.baseline/1"


def fingerprint(finding: Finding) -> str:
    key = "\x00".join((finding.name, finding.service, finding.package or ""))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def baseline_document(findings: tuple[Finding, ...]) -> dict[str, Any]:
    entries = {
        fingerprint(f): {"fingerprint": fingerprint(f), "rule": f.name, "service": f.service, "package": f.package}
        for f in findings
        if not f.suppressed
    }
    return {"schema": SCHEMA, "findings": [entries[k] for k in sorted(entries, key=lambda k: _order(entries[k]))]}


def write_baseline(path: Path, findings: tuple[Finding, ...]) -> None:
    path.write_text(json.dumps(baseline_document(findings), indent=2) + "\n", encoding="utf-8")


def read_baseline(path: Path, shown: str) -> frozenset[str]:
    from envguard.sources._json import parse_json
    from envguard.sources._text import read_text

    data = parse_json(read_text(path, shown), shown)
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise SourceError(shown, 1, f"not an envguard baseline (expected \"schema\": \"{SCHEMA}\")")
    entries = data.get("findings")
    if not isinstance(entries, list) or not all(
        isinstance(e, dict) and isinstance(e.get("fingerprint"), str) for e in entries
    ):
        raise SourceError(shown, 1, "baseline \"findings\" must be a list of objects with a \"fingerprint\"")
    return frozenset(e["fingerprint"] for e in entries)


def apply_baseline(findings: tuple[Finding, ...], known: frozenset[str]) -> tuple[Finding, ...]:
    return tuple(dataclasses.replace(f, baselined=True) if fingerprint(f) in known else f for f in findings)


def _order(entry: dict[str, Any]) -> tuple[str, str, str]:
    return (entry["service"], entry["rule"], entry["package"] or "")
