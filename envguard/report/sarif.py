"""SARIF 2.1.0, for GitHub code scanning (`github/codeql-action/upload-sarif`) and other SARIF viewers.

One run, one tool (`envguard`), deterministic: no timestamps, no absolute paths of the workspace.

Decisions:

* `tool.driver.rules` lists every catalog rule in catalog order, whether reported or not, so a
  result's `ruleIndex` is stable across runs and every rule's help is available to the viewer.
* Levels: a finding's severity maps error -> "error", warning -> "warning"; a finding recorded in
  the baseline (it never fails the run) becomes "note". Suppressed findings keep their level and
  carry `suppressions` (kind "external": the waiver lives in the policy, not in the lockfile).
* When any finding is baselined, every result carries `baselineState`: "unchanged" for baselined
  ones, "new" for the others (SARIF wants it on all results or on none).
* `locations` holds the first location only (GitHub uses only the first); the others are
  `relatedLocations`. URIs are relative to the workspace root (`uriBaseId` "%SRCROOT%"), so
  uploading from the repository root gives repository-relative paths when envguard checks the
  repository root; paths outside the workspace (installed METADATA files) become `file:` URIs.
* `partialFingerprints["envguard/v1"]` is the baseline fingerprint (rule name, service, package):
  stable across upgrades, re-locking and reformatting. GitHub computes its own
  `primaryLocationLineHash` on upload.
* Input errors and warnings (unreadable files, unusable policy entries) are
  `invocations[0].toolExecutionNotifications`; `executionSuccessful` is false when there is an error.
"""

from __future__ import annotations

from pathlib import PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from envguard.model import Diagnostic, Finding, Location, Severity, Waiver
from envguard.rules.catalog import RULES, Rule

if TYPE_CHECKING:
    from envguard.check import CheckResult

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "envguard/v1"

_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning"}


def render_check(result: CheckResult) -> str:
    from envguard.report.json import dumps

    return dumps(sarif_document(result))


def sarif_document(result: CheckResult) -> dict[str, Any]:
    from envguard import __version__

    run: dict[str, Any] = {
        "tool": {"driver": driver(__version__)},
        "originalUriBaseIds": {SRCROOT: {"description": {"text": "The root of the workspace envguard checked."}}},
        "invocations": [invocation(result.errors, result.warnings)],
        "results": results(result.findings),
        "columnKind": "unicodeCodePoints",
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def driver(version: str) -> dict[str, Any]:
    return {
        "name": "envguard",
        "version": version,
        "rules": [rule_descriptor(rule) for rule in RULES],
    }


def rule_descriptor(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": f"{rule.summary} {rule.why}"},
        "help": {"text": help_text(rule), "markdown": help_markdown(rule)},
        "defaultConfiguration": {"level": _LEVELS[rule.severity]},
        "properties": {"tags": ["envguard", _family(rule.code)]},
    }


def help_text(rule: Rule) -> str:
    return f"{rule.summary}\n\nWhy it matters: {rule.why}\n\nHow to fix: {rule.fix}"


def help_markdown(rule: Rule) -> str:
    return (
        f"**{rule.code} {rule.name}**: {rule.summary}\n\n"
        f"**Why it matters.** {rule.why}\n\n"
        f"**How to fix.** {rule.fix}"
    )


def _family(code: str) -> str:
    families = {"1": "plugins", "2": "drift", "3": "exceptions", "4": "environment"}
    return families.get(code[2:3], "other")


def level(finding: Finding) -> str:
    return "note" if finding.baselined and not finding.suppressed else _LEVELS[finding.severity]


def results(findings: tuple[Finding, ...]) -> list[dict[str, Any]]:
    indexes = {rule.code: index for index, rule in enumerate(RULES)}
    with_state = any(f.baselined for f in findings)
    return [sarif_result(f, indexes.get(f.rule), with_state) for f in findings]


def sarif_result(finding: Finding, rule_index: int | None, with_state: bool = False) -> dict[str, Any]:
    from envguard.baseline import fingerprint

    item: dict[str, Any] = {"ruleId": finding.rule}
    if rule_index is not None:
        item["ruleIndex"] = rule_index
    item["level"] = level(finding)
    item["message"] = {"text": message_text(finding)}
    physical = [loc for loc in (physical_location(location) for location in finding.locations) if loc is not None]
    if physical:
        item["locations"] = [{"physicalLocation": physical[0]}]
    if len(physical) > 1:
        item["relatedLocations"] = [
            {"id": number, "physicalLocation": loc} for number, loc in enumerate(physical[1:], start=1)
        ]
    item["partialFingerprints"] = {FINGERPRINT_KEY: fingerprint(finding)}
    if finding.exception is not None:
        item["suppressions"] = [suppression(finding.exception)]
    if with_state:
        item["baselineState"] = "unchanged" if finding.baselined else "new"
    item["properties"] = {
        "name": finding.name,
        "service": finding.service,
        "package": finding.package,
        "version": finding.version,
    }
    return item


def message_text(finding: Finding) -> str:
    return f"{finding.message}\nHint: {finding.hint}" if finding.hint else finding.message


def suppression(waiver: Waiver) -> dict[str, Any]:
    item: dict[str, Any] = {"kind": "external", "status": "accepted", "justification": waiver.reason}
    where = physical_location(Location(waiver.path, waiver.line)) if waiver.path else None
    if where is not None:
        item["location"] = {"physicalLocation": where}
    item["properties"] = {"expires": waiver.expires, "owner": waiver.owner}
    return item


def physical_location(location: Location) -> dict[str, Any] | None:
    artifact = artifact_location(location.path)
    if artifact is None:
        return None
    return {"artifactLocation": artifact, "region": {"startLine": max(location.line or 1, 1)}}


def artifact_location(path: str) -> dict[str, Any] | None:
    """Workspace-relative paths get the %SRCROOT% base; absolute ones become file: URIs."""
    if not path:
        return None
    if PureWindowsPath(path).is_absolute() and PureWindowsPath(path).drive:
        return {"uri": PureWindowsPath(path).as_uri()}
    if PurePosixPath(path).is_absolute():
        return {"uri": "file://" + quote(path, safe="/")}
    return {"uri": quote(path, safe="/"), "uriBaseId": SRCROOT}


def invocation(errors: tuple[Diagnostic, ...], warnings: tuple[Diagnostic, ...]) -> dict[str, Any]:
    notifications = [notification(e, "error") for e in errors] + [notification(w, "warning") for w in warnings]
    item: dict[str, Any] = {"executionSuccessful": not errors}
    if notifications:
        item["toolExecutionNotifications"] = notifications
    return item


def notification(diagnostic: Diagnostic, notification_level: str) -> dict[str, Any]:
    item: dict[str, Any] = {"level": notification_level, "message": {"text": diagnostic.message}}
    where = physical_location(Location(diagnostic.path, diagnostic.line))
    if where is not None:
        item["locations"] = [{"physicalLocation": where}]
    return item
