"""The plugin table: each service's pytest plugins, how each was recognised, what the policy says.

`envguard plugins` prints it (the rows of `envguard.plugins/1`) and the HTML report of `check`
shows it; both take the rows from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from envguard.assessment import ServicePlugins
    from envguard.model import Service
    from envguard.plugins import PluginUse
    from envguard.policy import Policy

RECOGNISED_BY = {
    "name": "recognised by its pytest- name",
    "knowledge-base": "registers a pytest11 entry point (envguard's knowledge base)",
    "policy": "listed in plugins.also_plugins",
    "config": "enabled with -p in the pytest configuration",
    "conftest": "enabled by pytest_plugins in conftest.py",
    "disabled": "blocked with -p no: in the pytest configuration",
}


def service_rows(item: ServicePlugins, policy: Policy) -> list[dict[str, Any]]:
    """The plugins a service's records hold or its configuration enables, then those its files declare."""
    from envguard.rules.declared import declared_plugins, declared_status

    rows = [{**_use_row(use, policy), "declared": False, "environment": None, "requirement": None} for use in item.uses]
    rows.extend(
        {
            "name": declaration.name,
            "version": declaration.version,
            "recognised": RECOGNISED_BY[how],
            "how": how,
            "status": declared_status(declaration, policy),
            "path": declaration.path,
            "line": declaration.line,
            "declared": True,
            "environment": declaration.environment,
            "requirement": declaration.requirement,
        }
        for declaration, how in declared_plugins(item.service, item.uses, policy)
    )
    return rows


def reference_rows(service: Service, policy: Policy) -> list[dict[str, Any]]:
    """The plugins of a reference environment's records: it has no configuration and declares nothing."""
    from envguard.plugins import detect_plugins
    from envguard.pytest_config import PytestConfig

    return [_use_row(use, policy) for use in detect_plugins(service, policy.also_plugins, PytestConfig())]


def _use_row(use: PluginUse, policy: Policy) -> dict[str, Any]:
    from envguard.rules.plugins import plugin_status

    return {
        "name": use.name,
        "version": use.package.version if use.package is not None else None,
        "recognised": RECOGNISED_BY[use.how],
        "how": use.how,
        "status": plugin_status(use, policy),
        "path": use.path,
        "line": use.line,
    }
