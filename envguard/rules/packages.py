"""Package rules: denied-package and pytest-version-not-allowed."""

from __future__ import annotations

from collections.abc import Iterator

from envguard.model import Finding, Service
from envguard.policy import Policy
from envguard.rules._common import by_version, finding, locations, shown_version
from envguard.versions import satisfies


def denied_findings(service: Service, policy: Policy) -> Iterator[Finding]:
    third_party = [p for p in service.packages if p.is_third_party and p.name in policy.denied]
    for (name, version), entries in sorted(by_version(third_party).items(), key=lambda i: (i[0][0], i[0][1] or "")):
        yield finding(
            "denied-package",
            service.name,
            name,
            version,
            f"{name} {shown_version(version)} is denied by the policy: {policy.denied[name]}",
            locations(entries),
        )


def pytest_version_findings(service: Service, policy: Policy) -> Iterator[Finding]:
    allowed = policy.pytest_allowed
    if allowed is None:
        return
    pytest = [p for p in service.packages if p.name == "pytest" and p.is_third_party]
    for (name, version), entries in sorted(by_version(pytest).items(), key=lambda i: i[0][1] or ""):
        if version is not None and satisfies(version, allowed):
            continue
        yield finding(
            "pytest-version-not-allowed",
            service.name,
            name,
            version,
            f"pytest {shown_version(version)} is outside pytest.allowed {allowed}",
            locations(entries),
        )
