"""Policy exceptions: suppression, and exception-expired / -expiring / -unused around the dates."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from envguard.model import Finding, Location, Severity
from envguard.plugins import detect_plugins
from envguard.policy import Policy, load_policy
from envguard.pytest_config import PytestConfig
from envguard.rules.catalog import BY_NAME
from envguard.rules.exceptions import EXPIRING_WITHIN_DAYS, apply_waivers
from envguard.rules.packages import denied_findings
from envguard.rules.plugins import plugin_findings
from tests.kit import SERVICES, fixture_service, write

ORDERS = SERVICES / "orders"  # poetry 2 lock: pytest-randomly 3.16.0 at poetry.lock:1114

HEAD = """\
version: 1
plugins:
  approved: {pytest-cov: "*", pytest-mock: "*", hypothesis: "*"}
exceptions:
"""  # the first exception starts on line 5

RANDOMLY = """\
  - package: pytest-randomly
    services: [orders]
    rule: unapproved-plugin
    reason: "migrating off it, TICKET-123"
    expires: 2027-01-31
    owner: team-orders
"""

UNAPPROVED = "pytest plugin pytest-randomly 3.16.0 is not approved by the policy (recognised by its pytest- name)"
STATE = "exception for unapproved-plugin for pytest-randomly (orders, owner team-orders)"


def load(tmp_path: Path, exceptions: str, extra: str = "") -> Policy:
    return load_policy(write(tmp_path / "policy.yaml", HEAD + exceptions + extra), shown="policy.yaml")


def raw_findings(pol: Policy) -> list[Finding]:
    service = fixture_service(ORDERS)
    uses = detect_plugins(service, pol.also_plugins, PytestConfig())
    return list(plugin_findings(service, uses, pol)) + list(denied_findings(service, pol))


def check(tmp_path: Path, exceptions: str, today: dt.date, extra: str = "") -> list[Finding]:
    pol = load(tmp_path, exceptions, extra)
    return apply_waivers(raw_findings(pol), pol.exceptions, today)


def brief(findings: list[Finding]) -> list[tuple[str, str, bool, str]]:
    return [(f.name, f.severity.value, f.suppressed, f.message) for f in findings]


@pytest.mark.parametrize(
    ("today", "suppressed", "own"),
    [
        (dt.date(2026, 6, 1), True, []),
        (dt.date(2027, 1, 16), True, []),  # 15 days left
        (dt.date(2027, 1, 17), True, [("exception-expiring", "warning", "expires in 14 days (2027-01-31)")]),
        (dt.date(2027, 1, 30), True, [("exception-expiring", "warning", "expires in 1 day (2027-01-31)")]),
        (dt.date(2027, 1, 31), True, [("exception-expiring", "warning", "expires today (2027-01-31)")]),
        (dt.date(2027, 2, 1), False, [("exception-expired", "error", "expired on 2027-01-31")]),
        (dt.date(2030, 1, 1), False, [("exception-expired", "error", "expired on 2027-01-31")]),
    ],
)
def test_around_the_expiry_date(
    tmp_path: Path, today: dt.date, suppressed: bool, own: list[tuple[str, str, str]]
) -> None:
    result = check(tmp_path, RANDOMLY, today)
    assert brief(result) == [("unapproved-plugin", "warning", suppressed, UNAPPROVED)] + [
        (name, severity, False, f"{STATE} {state}: migrating off it, TICKET-123") for name, severity, state in own
    ]


def test_expiring_window_is_fourteen_days() -> None:
    assert EXPIRING_WITHIN_DAYS == 14


def test_a_suppressed_finding_stays_with_its_exception(tmp_path: Path) -> None:
    pol = load(tmp_path, RANDOMLY)
    (original,) = raw_findings(pol)
    (finding,) = apply_waivers([original], pol.exceptions, dt.date(2026, 6, 1))
    assert finding == dataclasses.replace(original, exception=pol.exceptions[0])
    assert finding.suppressed and finding.severity is Severity.WARNING
    waiver = finding.exception
    assert waiver is not None
    assert (waiver.package, waiver.services, waiver.rule, waiver.reason, waiver.expires, waiver.owner) == (
        "pytest-randomly", ("orders",), "unapproved-plugin", "migrating off it, TICKET-123", "2027-01-31", "team-orders",
    )
    assert (waiver.path, waiver.line) == ("policy.yaml", 5)


def test_an_expired_exception_is_an_error_and_its_finding_comes_back(tmp_path: Path) -> None:
    pol = load(tmp_path, RANDOMLY)
    (original,) = raw_findings(pol)
    finding, expired = apply_waivers([original], pol.exceptions, dt.date(2027, 2, 1))
    assert finding == original and not finding.suppressed
    assert expired == Finding(
        rule="EG301",
        name="exception-expired",
        severity=Severity.ERROR,
        service="orders",
        package="pytest-randomly",
        version=None,
        message=f"{STATE} expired on 2027-01-31: migrating off it, TICKET-123",
        hint=BY_NAME["exception-expired"].fix,
        locations=(Location("policy.yaml", 5),),
    )


def test_an_exception_that_matches_nothing_is_unused(tmp_path: Path) -> None:
    sugar = '  - package: pytest_sugar\n    reason: "legacy output"\n    expires: 2027-06-30\n'
    result = check(tmp_path, sugar, dt.date(2026, 6, 1))
    assert brief(result) == [
        ("unapproved-plugin", "warning", False, UNAPPROVED),
        (
            "exception-unused",
            "warning",
            False,
            "exception for pytest-sugar (every service) matched no finding in this run: legacy output",
        ),
    ]
    assert result[1].rule == "EG303" and result[1].service == "every service"
    assert result[1].locations == (Location("policy.yaml", 5),)


def test_an_unused_exception_close_to_its_date_is_reported_as_unused(tmp_path: Path) -> None:
    sugar = '  - package: pytest-sugar\n    reason: "legacy output"\n    expires: 2027-06-30\n'
    result = check(tmp_path, sugar, dt.date(2027, 6, 29))
    assert [f.name for f in result] == ["unapproved-plugin", "exception-unused"]


def test_an_expired_exception_that_matches_nothing_is_reported_as_expired_only(tmp_path: Path) -> None:
    sugar = '  - package: pytest-sugar\n    reason: "legacy output"\n    expires: 2026-01-31\n'
    result = check(tmp_path, sugar, dt.date(2026, 6, 1))
    assert [f.name for f in result] == ["unapproved-plugin", "exception-expired"]


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("    rule: unapproved-plugin\n", True),
        ("    rule: denied-package\n", False),
        ("    rule: plugin-version-not-allowed\n", False),
        ("    services: [orders]\n", True),
        ("    services: [billing, gateway]\n", False),
        ("    services: ['ord*']\n", True),
        ("    services: ['*-api']\n", False),
        ("", True),  # no services, no rule: every service, every rule
    ],
)
def test_rule_and_service_selectors(tmp_path: Path, selector: str, matches: bool) -> None:
    waiver = "  - package: pytest-randomly\n" + selector + '    reason: "r"\n    expires: 2027-06-30\n'
    result = check(tmp_path, waiver, dt.date(2026, 6, 1))
    assert result[0].suppressed is matches
    assert [f.name for f in result[1:]] == ([] if matches else ["exception-unused"])


@pytest.mark.parametrize(("package", "matches"), [("pytest-*", True), ("Pytest_Randomly", True), ("pytest-random", False)])
def test_package_names_and_globs(tmp_path: Path, package: str, matches: bool) -> None:
    waiver = f'  - package: "{package}"\n    reason: "r"\n    expires: 2027-06-30\n'
    assert check(tmp_path, waiver, dt.date(2026, 6, 1))[0].suppressed is matches


def test_an_exception_without_a_rule_covers_a_denied_package(tmp_path: Path) -> None:
    denied = "  denied: {pytest-randomly: 'reorders tests; use pytest-random-order'}\n"
    waiver = '  - package: pytest-randomly\n    reason: "ticket-9"\n    expires: 2027-06-30\n'
    text = HEAD.replace("exceptions:\n", denied + "exceptions:\n") + waiver
    pol = load_policy(write(tmp_path / "policy.yaml", text), shown="policy.yaml")
    result = apply_waivers(raw_findings(pol), pol.exceptions, dt.date(2026, 6, 1))
    assert [(f.name, f.suppressed) for f in result] == [("denied-package", True)]
    assert result[0].message == "pytest-randomly 3.16.0 is denied by the policy: reorders tests; use pytest-random-order"


def test_a_renewed_exception_is_not_shadowed_by_the_expired_one_before_it(tmp_path: Path) -> None:
    old = '  - package: pytest-randomly\n    reason: "first round"\n    expires: 2026-12-31\n'
    renewed = '  - package: pytest-randomly\n    reason: "renewed, TICKET-7"\n    expires: 2027-06-30\n'
    result = check(tmp_path, old + renewed, dt.date(2027, 1, 15))
    assert [(f.name, f.suppressed) for f in result] == [("unapproved-plugin", True), ("exception-expired", False)]
    assert result[0].exception is not None and result[0].exception.reason == "renewed, TICKET-7"
    assert result[1].locations == (Location("policy.yaml", 5),)


def test_exceptions_never_suppress_exception_findings(tmp_path: Path) -> None:
    old = '  - package: pytest-randomly\n    reason: "first round"\n    expires: 2026-12-31\n'
    everything = '  - package: "*"\n    reason: "blanket"\n    expires: 2027-06-30\n'
    result = check(tmp_path, old + everything, dt.date(2027, 1, 15))
    assert [(f.name, f.suppressed) for f in result] == [("unapproved-plugin", True), ("exception-expired", False)]


def test_no_exceptions_change_nothing(tmp_path: Path) -> None:
    pol = load(tmp_path, "")  # `exceptions:` with nothing under it
    assert pol.exceptions == ()
    found = raw_findings(pol)
    assert apply_waivers(found, (), dt.date(2026, 6, 1)) == found
