"""Plugin rules: unapproved-plugin, plugin-version-not-allowed, required-plugin-missing."""

from __future__ import annotations

from collections.abc import Iterator

from envguard.model import Finding, Kind, Location, NormalizedName, Package, Service, Severity
from envguard.plugins import PluginUse
from envguard.policy import Policy
from envguard.pytest_config import PytestConfig
from envguard.rules._common import by_version, finding, judge, locations, shown_version
from envguard.versions import satisfies

_RECOGNISED = {
    "name": "recognised by its pytest- name",
    "knowledge-base": "registers a pytest11 entry point",
    "policy": "listed in plugins.also_plugins",
    # Packages that look like nothing, but that the pytest configuration loads as plugins.
    "config": "enabled with -p in the pytest configuration",
    "conftest": "enabled by pytest_plugins in conftest.py",
}


def installed_plugins(uses: tuple[PluginUse, ...]) -> list[Package]:
    """Plugin packages of the service's records that pytest would load.

    A plugin turned off with `-p no:NAME` is installed but never registered, so it runs no code.
    """
    disabled = {use.name for use in uses if use.how == "disabled"}
    found = [use.package for use in uses if use.package is not None and use.how in _RECOGNISED]
    return [package for package in found if package.name not in disabled]


def plugin_findings(service: Service, uses: tuple[PluginUse, ...], policy: Policy) -> Iterator[Finding]:
    how: dict[str, str] = {}
    for use in uses:  # sorted so that the package's own reason comes before its configuration
        if use.how in _RECOGNISED:
            how.setdefault(use.name, use.how)
    for (name, version), entries in sorted(by_version(installed_plugins(uses)).items(), key=_order):
        if name in policy.denied:
            continue  # denied-package says it, with the policy's reason
        where = locations(entries)
        if name in policy.approved:
            for specifier, same in _by_specifier(entries).items():
                registry = all(p.kind is Kind.REGISTRY for p in same)
                yield from _version_finding(
                    service.name, name, version, specifier, registry, policy.approved[name], locations(same)
                )
        elif policy.unknown != "ignore":
            yield finding(
                "unapproved-plugin",
                service.name,
                name,
                version,
                f"pytest plugin {name} {shown_version(version)} is not approved by the policy "
                f"({_RECOGNISED[how[name]]})",
                where,
                severity=Severity.ERROR if policy.unknown == "error" else Severity.WARNING,
            )


def _by_specifier(entries: list[Package]) -> dict[str | None, list[Package]]:
    """Entries without a version, apart by the specifier their requirement line gives (if any)."""
    grouped: dict[str | None, list[Package]] = {}
    for package in entries:
        grouped.setdefault(package.specifier or None, []).append(package)
    return grouped


def _version_finding(
    service: str,
    name: str,
    version: str | None,
    specifier: str | None,
    registry: bool,
    allowed: str,
    where: tuple[Location, ...],
) -> Iterator[Finding]:
    verdict, example = judge(version, specifier, allowed)
    if verdict == "within":
        return
    if version is not None:
        yield finding(
            "plugin-version-not-allowed",
            service,
            name,
            version,
            f"approved plugin {name} {version} is outside its approved range {allowed}",
            where,
        )
    elif verdict == "outside":
        yield finding(
            "plugin-version-not-allowed",
            service,
            name,
            None,
            f"approved plugin {name} is required as {name}{specifier}, which admits no version in its approved range {allowed}",
            where,
        )
    elif not registry and not specifier:
        # A VCS or path install cannot be compared with a range: say so rather than pass it.
        yield finding(
            "plugin-version-not-allowed",
            service,
            name,
            None,
            f"approved plugin {name} has no version in the record, so the approved range {allowed} cannot be checked",
            where,
            severity=Severity.WARNING,
            hint="Lock the plugin from the package index at an approved version.",
        )
    else:
        # A requirement line without a pin: the version is whatever the next install resolves.
        why = (
            f"is required as {name}{specifier}, which also admits versions outside"
            if specifier
            else "is required without a version, so nothing keeps it within"
        )
        yield finding(
            "plugin-version-not-allowed",
            service,
            name,
            None,
            f"approved plugin {name} {why} its approved range {allowed}" + (f" (it admits {example}, for example)" if example else ""),
            where,
            severity=Severity.WARNING,
            hint="Pin the plugin at an approved version (or lock it from the package index).",
        )


def required_plugin_findings(service: Service, config: PytestConfig) -> Iterator[Finding]:
    from envguard.model import normalize

    for required in config.required_plugins:
        if required.name is None:
            continue  # pytest_config reports unparseable entries as warnings
        name = normalize(required.name)
        present = [p for p in service.packages if p.name == name]
        where = (Location(required.path, required.line),)
        if not present:
            yield finding(
                "required-plugin-missing",
                service.name,
                name,
                None,
                f"required_plugins names {required.requirement}, but the service's records have no {name}",
                where,
            )
        elif required.specifier and not any(
            p.version is not None and satisfies(p.version, required.specifier) for p in present
        ):
            versions = ", ".join(sorted({shown_version(p.version) for p in present}))
            yield finding(
                "required-plugin-missing",
                service.name,
                name,
                present[0].version,
                f"required_plugins asks for {required.requirement}, but the service locks {name} {versions}",
                where,
            )


def _order(item: tuple[tuple[NormalizedName, str | None], list[Package]]) -> tuple[str, str]:
    return (item[0][0], item[0][1] or "")


def plugin_status(use: PluginUse, policy: Policy) -> str:
    """What the policy says of one plugin use, for `envguard plugins`."""
    if use.how == "disabled":
        return f"disabled by {use.option}"
    if use.package is None:
        return "enabled by configuration, but not in the service's records"
    name = use.package.name
    if name in policy.denied:
        return f"denied: {policy.denied[name]}"
    if name in policy.approved:
        allowed = policy.approved[name]
        version = use.package.version
        if allowed == "*" or (version is not None and satisfies(version, allowed)):
            return f"approved ({allowed})"
        return f"approved range {allowed} does not include {shown_version(version)}"
    return f"not approved (plugins.unknown: {policy.unknown})"
