"""Report formats: a small synthetic result that exercises every state a finding can be in."""

from __future__ import annotations

import dataclasses

from envguard.check import CheckResult
from envguard.model import Diagnostic, Finding, Inventory, Location, Service, Severity, Source, Waiver
from envguard.rules.drift import DriftMatrix, DriftRow

WAIVER = Waiver(
    package="pytest-randomly",
    reason="migrating off it | TICKET-123",
    expires="2027-01-31",
    services=("orders",),
    rule="denied-package",
    owner="team-orders",
    path="policies/plugins.yaml",
    line=12,
)

DRIFT = Finding(
    rule="EG201",
    name="version-drift",
    severity=Severity.ERROR,
    service="billing, orders",
    package="pytest",
    version=None,
    message="pytest is not on the same version across services: billing 8.4.2; orders 7.4.4.",
    hint="billing: uv lock --upgrade-package pytest==8.4.2\norders: poetry add pytest@8.4.2",
    locations=(Location("services/billing/uv.lock", 579), Location("services/orders/poetry.lock", 1039)),
)
# Every character the GitHub escaping cares about, in the message and in the file name.
UNAPPROVED = Finding(
    rule="EG101",
    name="unapproved-plugin",
    severity=Severity.WARNING,
    service="orders",
    package="pytest-odd",
    version="1.0",
    message="100% odd: a, b\r\nc | d",
    hint="Remove it.",
    locations=(Location("services/orders/odd,name:1.lock", 7),),
)
DENIED = Finding(
    rule="EG103",
    name="denied-package",
    severity=Severity.ERROR,
    service="orders",
    package="pytest-randomly",
    version="3.16.0",
    message="pytest-randomly 3.16.0 is denied by the policy: reorders tests",
    hint="Remove the package.",
    locations=(Location("services/orders/poetry.lock", 1114),),
    exception=WAIVER,
)
BASELINED = Finding(
    rule="EG102",
    name="plugin-version-not-allowed",
    severity=Severity.ERROR,
    service="billing",
    package="pytest-cov",
    version="4.1.0",
    message="approved plugin pytest-cov 4.1.0 is outside its approved range >=5,<8",
    hint="Move the plugin into the approved range.",
    locations=(Location("services/billing/uv.lock", 300),),
    baselined=True,
)
UNUSED = Finding(
    rule="EG303",
    name="exception-unused",
    severity=Severity.WARNING,
    service="every service",
    package="hypothesis",
    version=None,
    message="exception for hypothesis (every service) matched no finding in this run: old",
    hint="Delete the exception from the policy.",
    locations=(Location("policies/plugins.yaml", 20),),
)

SERVICES = (
    Service("billing", "services/billing", (Source("services/billing/uv.lock", "uv"),), ()),
    Service("orders", "services/orders", (Source("services/orders/poetry.lock", "poetry"),), ()),
)
INPUT_ERROR = Diagnostic("services/orders/pyproject.toml", 3, "invalid TOML: expected '=', got ','")
INPUT_WARNING = Diagnostic("policies/plugins.yaml", 2, "unknown key 'extra'")


def sample_result(*, errors: bool = True) -> CheckResult:
    return CheckResult(
        inventory=Inventory("/nowhere/workspace", SERVICES),
        policy_files=("policies/plugins.yaml",),
        findings=(DRIFT, UNAPPROVED, DENIED, BASELINED, UNUSED),
        errors=(INPUT_ERROR,) if errors else (),
        warnings=(INPUT_WARNING,),
        matrix=DriftMatrix(("billing", "orders"), (DriftRow("pytest", (("billing", "8.4.2"), ("orders", "7.4.4 | x")), "exact"),)),
    )


def only(*findings: Finding) -> CheckResult:
    """The sample result with just these findings and no input problems."""
    return dataclasses.replace(sample_result(errors=False), findings=findings, warnings=())
