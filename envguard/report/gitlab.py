"""GitLab Code Quality report: a JSON array of CodeClimate-style issues.

Wire it with `artifacts: reports: codequality: gl-code-quality-report.json`.

Decisions:

* One issue per finding and file: a finding that points at several files (version drift across
  services) gets one issue at the first line in each file, so the merge-request diff view marks
  every lockfile to change.
* Severity: error -> "major", warning -> "minor"; a finding recorded in the baseline (it never
  fails the run) -> "info". Suppressed (waived) findings are omitted: the policy accepted them.
* Input errors are issues with check_name "input-error" and severity "critical" (the files they
  name were not checked); input warnings are "input-warning" issues with severity "info".
* `fingerprint` must be unique per issue and stable across runs: the SHA-256 (first 32 hex digits)
  of the baseline fingerprint (rule name, service, package), the file path and the issue's
  position among the issues that share both (normally 0). Versions and line numbers are left out,
  so bumping a version or re-locking does not show as "one fixed, one new".
* Paths are relative to the workspace root, like every other report.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from envguard.model import Diagnostic, Finding, Location, Severity

if TYPE_CHECKING:
    from envguard.check import CheckResult

_SEVERITIES = {Severity.ERROR: "major", Severity.WARNING: "minor"}


def render_check(result: CheckResult) -> str:
    from envguard.report.json import dumps

    return dumps(code_quality_document(result))


def code_quality_document(result: CheckResult) -> list[dict[str, Any]]:
    issues = [diagnostic_issue(e, "input-error", "critical") for e in result.errors]
    for finding in result.findings:
        if not finding.suppressed:
            issues.extend(finding_issues(finding, fallback_path(result, finding)))
    issues.extend(diagnostic_issue(w, "input-warning", "info") for w in result.warnings)
    return unique_fingerprints(issues)


def severity(finding: Finding) -> str:
    return "info" if finding.baselined else _SEVERITIES[finding.severity]


def files(locations: tuple[Location, ...]) -> list[Location]:
    """The first location in each file, in the finding's order."""
    seen: dict[str, Location] = {}
    for location in locations:
        if location.path and location.path not in seen:
            seen[location.path] = location
    return list(seen.values())


def finding_issues(finding: Finding, fallback: str) -> Iterator[dict[str, Any]]:
    from envguard.baseline import fingerprint

    key = fingerprint(finding)
    for location in files(finding.locations) or [Location(fallback, 1)]:
        yield {
            "description": f"{finding.rule} {finding.name}: {finding.message}",
            "check_name": finding.name,
            "fingerprint": key,  # made unique per issue by unique_fingerprints
            "severity": severity(finding),
            "location": {"path": location.path, "lines": {"begin": max(location.line or 1, 1)}},
        }


def diagnostic_issue(diagnostic: Diagnostic, check_name: str, level: str) -> dict[str, Any]:
    return {
        "description": diagnostic.message,
        "check_name": check_name,
        "fingerprint": _digest(check_name, diagnostic.message),
        "severity": level,
        "location": {"path": diagnostic.path or ".", "lines": {"begin": max(diagnostic.line or 1, 1)}},
    }


def unique_fingerprints(issues: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Replace each issue's key with a digest of (key, path, occurrence of that pair)."""
    seen: dict[tuple[str, str], int] = {}
    for issue in issues:
        pair = (issue["fingerprint"], issue["location"]["path"])
        occurrence = seen.get(pair, 0)
        seen[pair] = occurrence + 1
        issue["fingerprint"] = _digest(pair[0], pair[1], str(occurrence))
    return issues


def fallback_path(result: CheckResult, finding: Finding) -> str:
    """Where a finding without a location is shown: its service's first record, else the root."""
    for service in result.inventory.services:
        if service.name == finding.service and service.sources:
            return service.sources[0].path
    return "."


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()[:32]
