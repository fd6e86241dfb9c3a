"""What checking one service on its own finds, before drift compares it with the others.

`envguard.check` runs this for every service (through the check cache, `envguard.check_cache`,
which keeps assessments between runs); both import it, and it imports neither.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from envguard._record import record
from envguard.errors import SourceError
from envguard.markers import Target
from envguard.model import Diagnostic, Finding, Inventory, NormalizedName, Service
from envguard.policy import Policy

if TYPE_CHECKING:
    from envguard.plugins import PluginUse
    from envguard.pytest_config import PytestConfig
    from envguard.rules.drift import DriftEntry, Resolver


@record(frozen=True)
class ServicePlugins:
    """A service's pytest configuration and the plugins it installs, enables or blocks."""

    service: Service
    config: PytestConfig
    uses: tuple[PluginUse, ...]


def service_plugins(
    inventory: Inventory, policy: Policy, root: Path, errors: list[Diagnostic], warnings: list[Diagnostic]
) -> list[ServicePlugins]:
    """Each service's pytest configuration and the plugins it installs, enables or blocks."""
    return [_service_plugins(service, policy, root, errors, warnings) for service in inventory.services]


def _service_plugins(
    service: Service, policy: Policy, root: Path, errors: list[Diagnostic], warnings: list[Diagnostic]
) -> ServicePlugins:
    from envguard.plugins import detect_plugins
    from envguard.pytest_config import PytestConfig, read_pytest_config

    if service.pytest_config is not None:  # read when the artifact was written; its files are elsewhere
        config = service.pytest_config
    elif service.repository is not None:
        config = PytestConfig()
    else:
        try:
            config = read_pytest_config(root / service.path, service.path)
        except SourceError as exc:
            errors.append(Diagnostic(exc.path, exc.line, exc.message))
            config = PytestConfig()
    warnings.extend(config.warnings)
    return ServicePlugins(service, config, detect_plugins(service, policy.also_plugins, config))


@record(frozen=True)
class Assessment:
    """What checking one service on its own finds; drift then compares its entries with the others'."""

    findings: tuple[Finding, ...]  # plugin and package rules, before waivers
    errors: tuple[Diagnostic, ...]  # of its pytest configuration
    warnings: tuple[Diagnostic, ...]
    # Its drift entries per package (rules.drift.service_entries); None when the check cache
    # answered for the service, which keeps them with the packages instead.
    drift: dict[NormalizedName, list[DriftEntry]] | None
    reads: tuple[str, ...]  # the files its records and declarations come from (reads_of), for --changed


def assess(service: Service, policy: Policy, root: Path, target: Target, resolver: Resolver) -> Assessment:
    from envguard.rules.declared import declared_findings
    from envguard.rules.drift import service_entries
    from envguard.rules.installs import mismatch_findings, stale_lock_findings, unpinned_findings
    from envguard.rules.packages import denied_findings, pytest_version_findings
    from envguard.rules.plugins import plugin_findings, required_plugin_findings
    from envguard.rules.sources import source_findings

    errors: list[Diagnostic] = []
    warnings: list[Diagnostic] = []
    item = _service_plugins(service, policy, root, errors, warnings)
    findings = [
        *plugin_findings(service, item.uses, policy),
        *required_plugin_findings(service, item.config),
        *denied_findings(service, policy),
        *pytest_version_findings(service, policy),
        *source_findings(service, policy),
    ]
    if service.declarations or service.stale_locks:
        findings = declared_findings(service, item.uses, policy, findings)
        findings.extend(unpinned_findings(service, policy))
        findings.extend(mismatch_findings(service))
        findings.extend(stale_lock_findings(service))
    drift = service_entries(service, resolver, target)
    return Assessment(tuple(findings), tuple(errors), tuple(warnings), drift, reads_of(service))


def reads_of(service: Service) -> tuple[str, ...]:
    """The files a service's records and declarations come from: a change to one of them is a change to it."""
    reads = {package.path for package in service.packages}
    reads.update(declaration.path for declaration in service.declarations)
    reads.update(source.path for source in service.declared_sources)
    reads.update(stale.manifest for stale in service.stale_locks)
    return tuple(sorted(reads))
