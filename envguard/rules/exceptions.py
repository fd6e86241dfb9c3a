"""Policy exceptions (waivers): suppress what they match, and report their own state."""

from __future__ import annotations

import dataclasses
import datetime as dt

from envguard.model import Finding, Location, Waiver
from envguard.rules.catalog import BY_NAME
from envguard.policy import selector_matches, service_matches

EXPIRING_WITHIN_DAYS = 14
_OWN_RULES = frozenset({"exception-expired", "exception-expiring", "exception-unused"})


def waiver_matches(waiver: Waiver, finding: Finding) -> bool:
    if finding.name in _OWN_RULES or finding.package is None:
        return False
    if waiver.rule is not None and waiver.rule != finding.name:
        return False
    return selector_matches((waiver.package,), finding.package) and service_matches(waiver.services, finding.service)


def apply_waivers(findings: list[Finding], waivers: tuple[Waiver, ...], today: dt.date) -> list[Finding]:
    """Mark suppressed findings and add exception-expired / -expiring / -unused findings.

    An expired waiver suppresses nothing: the finding it covered is reported again beside it.
    """
    result: list[Finding] = []
    used: set[int] = set()
    for finding in findings:
        # The first exception still in force suppresses it: an expired one must not shadow a
        # renewed one written after it (expired exceptions are reported whether matched or not).
        for index, waiver in enumerate(waivers):
            if waiver_matches(waiver, finding) and not _expired(waiver, today):
                used.add(index)
                finding = dataclasses.replace(finding, exception=waiver)
                break
        result.append(finding)
    for index, waiver in enumerate(waivers):
        if _expired(waiver, today):
            result.append(_waiver_finding("exception-expired", waiver, f"expired on {waiver.expires}"))
        elif index not in used:
            result.append(_waiver_finding("exception-unused", waiver, "matched no finding in this run"))
        elif _days_left(waiver, today) <= EXPIRING_WITHIN_DAYS:
            days = _days_left(waiver, today)
            when = "today" if days == 0 else f"in {days} day{'s' if days != 1 else ''}"
            result.append(_waiver_finding("exception-expiring", waiver, f"expires {when} ({waiver.expires})"))
    return result


def _days_left(waiver: Waiver, today: dt.date) -> int:
    return (dt.date.fromisoformat(waiver.expires) - today).days


def _expired(waiver: Waiver, today: dt.date) -> bool:
    return _days_left(waiver, today) < 0


def _waiver_finding(name: str, waiver: Waiver, state: str) -> Finding:
    rule = BY_NAME[name]
    scope = ", ".join(waiver.services) if waiver.services else "every service"
    target = f"{waiver.rule} for {waiver.package}" if waiver.rule else waiver.package
    owner = f", owner {waiver.owner}" if waiver.owner else ""
    return Finding(
        rule=rule.code,
        name=rule.name,
        severity=rule.severity,
        service=scope,
        package=waiver.package,
        version=None,
        message=f"exception for {target} ({scope}{owner}) {state}: {waiver.reason}",
        hint=rule.fix,
        locations=(Location(waiver.path, waiver.line),),
    )
