"""Package rules: denied-package and pytest-version-not-allowed."""

from __future__ import annotations

from collections.abc import Iterator

from envguard.model import Finding, Package, Service, Severity
from envguard.policy import Policy
from envguard.rules._common import by_version, finding, judge, locations, shown_version


def denied_findings(service: Service, policy: Policy) -> Iterator[Finding]:
    denied = policy.denied
    third_party = [p for p in service.packages if p.name in denied and p.is_third_party]
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
    grouped: dict[tuple[str | None, str | None], list[Package]] = {}
    for package in pytest:
        grouped.setdefault((package.version, package.specifier or None), []).append(package)
    for (version, specifier), entries in sorted(grouped.items(), key=lambda i: (i[0][0] or "", i[0][1] or "")):
        verdict, example = judge(version, specifier, allowed)
        if verdict == "within":
            continue
        if version is not None or verdict == "outside":
            what = version if version is not None else f"required as pytest{specifier}, which admits no version in"
            message = f"pytest {what} is outside pytest.allowed {allowed}" if version else f"pytest is {what} pytest.allowed {allowed}"
            yield finding("pytest-version-not-allowed", service.name, "pytest", version, message, locations(entries))
            continue
        why = f"required as pytest{specifier}, which also admits versions outside" if specifier else "not pinned in the record, so nothing keeps it within"
        yield finding(
            "pytest-version-not-allowed",
            service.name,
            "pytest",
            None,
            f"pytest is {why} pytest.allowed {allowed}" + (f" (it admits {example}, for example)" if example else ""),
            locations(entries),
            severity=Severity.WARNING,
            hint="Pin pytest at an allowed version (or lock it).",
        )
