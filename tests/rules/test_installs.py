"""envguard.rules.installs: unpinned-install, environment-mismatch and lock-out-of-date."""

from __future__ import annotations

import dataclasses

from envguard.model import Declaration, Kind, Location, NormalizedName, Package, Service, Severity, Source, StaleLock
from envguard.policy import Policy
from envguard.rules.installs import mismatch_findings, stale_lock_findings, unpinned_findings

LOCK = "services/billing/uv.lock"
TOX = "services/billing/tox.ini"


def install(name: str, line: int, *, version: str | None = None, specifier: str | None = None, **changes: object) -> Declaration:
    declaration = Declaration(
        NormalizedName(name),
        f"{name}=={version}" if version else f"{name}{specifier or ''}",
        version,
        specifier,
        Kind.REGISTRY,
        None,
        f"{TOX} [testenv:py312]",
        "tox",
        TOX,
        line,
        install=True,
    )
    return dataclasses.replace(declaration, **changes)  # type: ignore[arg-type]


def locked(name: str, version: str, line: int) -> Package:
    return Package(NormalizedName(name), version, Kind.REGISTRY, ("dev",), None, LOCK, line)


def service(declarations: list[Declaration], packages: list[Package] = (), fmt: str = "uv") -> Service:  # type: ignore[assignment]
    sources = (Source(LOCK, fmt),) if packages else ()
    return Service("billing", "services/billing", sources, tuple(packages), declarations=tuple(declarations))


def test_unpinned_installs_are_one_finding_per_package_at_every_line() -> None:
    found = list(
        unpinned_findings(
            service(
                [
                    install("pytest-cov", 3),
                    install("pytest-cov", 9, environment=f"{TOX} [testenv:py311]"),
                    install("pytest-mock", 4, specifier=">=3"),
                    install("pytest", 5, version="8.4.2"),
                    install("hypothesis", 6, pinned_by="--constraint c.txt"),
                    install("pip", 7),
                    install("acme", 8, kind=Kind.VCS),
                ],
                [locked("pytest-cov", "7.1.0", 40)],
            ),
            Policy(),
        )
    )
    assert [(f.name, f.package, f.severity, f.locations) for f in found] == [
        ("unpinned-install", "pytest-cov", Severity.WARNING, (Location(TOX, 3), Location(TOX, 9))),
        ("unpinned-install", "pytest-mock", Severity.WARNING, (Location(TOX, 4),)),
    ]
    assert found[0].message == (
        f"pytest-cov is installed without a pin in {TOX} [testenv:py311] and 1 more: every run resolves it afresh"
    )
    assert found[0].hint.startswith(f"Pin it to the version {LOCK} records (pytest-cov==7.1.0)")
    assert "(pytest-mock>=3)" in found[1].message


def test_unpinned_install_follows_the_policy() -> None:
    declarations = [install("pytest-cov", 3), install("pip", 4), install("setuptools", 5)]
    strict = Policy(unpinned="error", unpinned_exempt=("setuptools",))
    assert [(f.package, f.severity) for f in unpinned_findings(service(declarations), strict)] == [
        ("pip", Severity.ERROR),
        ("pytest-cov", Severity.ERROR),
    ]
    assert list(unpinned_findings(service(declarations), Policy(unpinned="ignore"))) == []


def test_a_manifest_declaration_is_no_install() -> None:
    manifest = install("pytest-cov", 3, install=False, origin="project")
    assert list(unpinned_findings(service([manifest]), Policy())) == []


def test_a_pin_the_lock_does_not_hold_is_a_mismatch() -> None:
    found = list(
        mismatch_findings(
            service(
                [
                    install("pytest", 3, version="7.4.4"),
                    install("pytest-cov", 4, version="7.1"),  # PEP 440: equal to 7.1.0
                    install("pytest-xdist", 5, version="3.8.0"),  # not in the lock: no mismatch of versions
                    install("pytest-mock", 6, specifier="<3"),
                    install("hypothesis", 7, specifier=">=6"),
                ],
                [locked("pytest", "8.4.2", 10), locked("pytest-cov", "7.1.0", 20), locked("pytest-mock", "3.17.0", 30),
                 locked("hypothesis", "6.170.17", 40)],
            )
        )
    )
    assert [(f.package, f.version, f.locations) for f in found] == [
        ("pytest", "7.4.4", (Location(TOX, 3), Location(LOCK, 10))),
        ("pytest-mock", None, (Location(TOX, 6), Location(LOCK, 30))),
    ]
    assert found[0].message == (
        f"{TOX} [testenv:py312] installs pytest==7.4.4, but {LOCK} holds pytest 8.4.2: "
        "that environment tests something else than what was locked"
    )


def test_the_manifest_a_lock_is_made_from_is_not_a_mismatch() -> None:
    manifest = install("pytest", 3, version="7.4.4", origin="project", install=False)
    assert list(mismatch_findings(service([manifest], [locked("pytest", "8.4.2", 10)]))) == []
    # Beside a pylock.toml (no check of its freshness), the same declaration is compared.
    assert len(list(mismatch_findings(service([manifest], [locked("pytest", "8.4.2", 10)], fmt="pylock")))) == 1


def test_a_stale_lock_is_reported_at_both_files() -> None:
    stale = StaleLock("uv", LOCK, 12, "services/billing/pyproject.toml", 8, "[project] dependencies has httpx>=0.28")
    found = list(stale_lock_findings(dataclasses.replace(service([]), stale_locks=(stale,))))
    assert [(f.name, f.locations, f.hint) for f in found] == [
        (
            "lock-out-of-date",
            (Location("services/billing/pyproject.toml", 8), Location(LOCK, 12)),
            "Run `uv lock` in services/billing and commit the lock with the manifest.",
        )
    ]
    assert found[0].message == f"{LOCK} no longer matches services/billing/pyproject.toml: [project] dependencies has httpx>=0.28"
