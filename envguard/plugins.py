"""Which packages of a service are pytest plugins, and which plugins its configuration enables.

A lockfile records names and versions, not entry points, so plugin status is decided by:
the `pytest-` name prefix (pytest's own convention), minus known non-plugins; a knowledge base
of distributions without the prefix that register `pytest11` entry points, keyed by version
range because some gained or lost their plugin over time; and the policy's own additions.
"""

from __future__ import annotations

import functools
import json
from typing import Any, Literal

from packaging.version import InvalidVersion, Version

from envguard._record import record
from envguard.model import Kind, Package, Service, normalize
from envguard.pytest_config import PytestConfig

Reason = Literal["name", "knowledge-base", "policy"]

# How a plugin use was found: a `Reason` for a package in the dependency records, or
#   "config"   -- `-p NAME` in addopts,
#   "conftest" -- `pytest_plugins` in the root conftest.py,
#   "disabled" -- `-p no:NAME` in addopts (recorded so that rules can see the block).
How = Literal["name", "knowledge-base", "policy", "config", "conftest", "disabled"]

_PREFIX = "pytest-"


@record(frozen=True)
class PluginUse:
    package: Package | None  # the record of the distribution, when the service has one
    name: str  # normalised distribution name; the name as written when it maps to none
    how: How
    path: str
    line: int | None
    option: str | None = None  # the configuration text behind it, e.g. "-p no:randomly"


@functools.lru_cache(maxsize=16384)  # a pure function, asked for every package of every service
def plugin_reason(name: str, version: str | None, also_plugins: frozenset[str]) -> Reason | None:
    """Why the distribution `name` at `version` is a pytest plugin, or None if it is not one.

    An unknown or unparseable version counts as a plugin wherever the knowledge base lists one:
    over-reporting a plugin is a finding to look at, missing one is a silent gap.
    """
    normalized = normalize(name)
    if normalized == "pytest":
        return None
    kb = _knowledge_base()
    if normalized.startswith(_PREFIX) and normalized not in kb.non_plugins:
        return "name"
    if any(_in_range(entry, version) for entry in kb.providers.get(normalized, ())):
        return "knowledge-base"
    if normalized in _normalized(also_plugins):
        return "policy"
    return None


@functools.cache
def _candidates(also_plugins: frozenset[str]) -> frozenset[str]:
    """The names without the `pytest-` prefix that plugin_reason may call a plugin."""
    return frozenset(_knowledge_base().providers) | _normalized(also_plugins)


@functools.cache
def _normalized(names: frozenset[str]) -> frozenset[str]:
    # Called once per package with the same policy set, so normalise that set only once.
    return frozenset(normalize(name) for name in names)


def detect_plugins(service: Service, also_plugins: frozenset[str], config: PytestConfig) -> tuple[PluginUse, ...]:
    """Plugins in the service's records plus those its pytest configuration loads or blocks, sorted by name."""
    # Sorting only what is used, not every package: a service holds hundreds, and comparing
    # frozen dataclasses field by field was most of this function's time.
    # Most packages are no plugin by name alone: ask plugin_reason only about the others.
    candidates = _candidates(also_plugins)
    local = Kind.LOCAL_PROJECT
    found = [
        (p, reason)
        for p in service.packages
        if (p.name.startswith(_PREFIX) or p.name in candidates)
        and p.kind is not local
        and (reason := plugin_reason(p.name, p.version, also_plugins))
    ]
    uses = [PluginUse(p, p.name, reason, p.path, p.line) for p, reason in sorted(found, key=_first)]
    if not config.plugin_args and not config.conftest_plugins:
        return tuple(sorted(uses, key=_order))

    # Every record of each distribution: a lock forked by markers holds several versions of one.
    present: dict[str, list[Package]] = {}
    for package in (p for p in service.packages if p.is_third_party):
        present.setdefault(package.name, []).append(package)

    for arg in config.plugin_args:
        if arg.disabled:
            # `-p no:X` blocks the registration names X and pytest_X (pytest's consider_pluginarg).
            dist = _resolve(arg.name, present)
            if dist is None and not arg.name.startswith("pytest_"):
                dist = _resolve(f"pytest_{arg.name}", present)
            uses.extend(_uses(dist or arg.name, present, "disabled", arg.path, arg.line, arg.option))
            continue
        dist = _resolve(arg.name, present)
        # A name that maps to no distribution is a module of the project itself or a built-in.
        if dist is not None:
            uses.extend(_uses(dist, present, "config", arg.path, arg.line, arg.option))

    for entry in config.conftest_plugins:
        dist = _resolve(entry.module, present)
        if dist is not None:
            option = f"pytest_plugins: {entry.module}"
            uses.extend(_uses(dist, present, "conftest", entry.path, entry.line, option))

    return tuple(sorted(uses, key=_order))


def _first(item: tuple[Package, Reason]) -> Package:
    return item[0]


def _uses(
    dist: str, present: dict[str, list[Package]], how: How, path: str, line: int | None, option: str
) -> list[PluginUse]:
    """One use per record of `dist`, or one without a package when the service does not install it."""
    packages: list[Package | None] = [*sorted(present.get(dist, []))] or [None]
    return [PluginUse(package, dist, how, path, line, option) for package in packages]


_HOW_ORDER: dict[str, int] = {"name": 0, "knowledge-base": 0, "policy": 0, "config": 1, "conftest": 2, "disabled": 3}


def _order(use: PluginUse) -> tuple[str, int, str, int]:
    return (use.name, _HOW_ORDER[use.how], use.path, use.line or 0)


def _resolve(name: str, present: dict[str, list[Package]]) -> str | None:
    """The distribution behind a `-p`/`pytest_plugins` name, tried the way pytest does.

    pytest first looks for an installed entry point of that name, then imports it as a module.
    Where the service installs nothing that fits, the knowledge base's usual owner is named,
    so that rules can report a plugin that is enabled but not installed.
    """
    kb = _knowledge_base()
    providers = kb.by_entry_point.get(name, ())
    for dist, entry in providers:
        if dist in present and (entry is None or any(_in_range(entry, p.version) for p in present[dist])):
            return dist  # two distributions may share a name; the first installed one wins
    if name in kb.modules:
        return kb.modules[name]
    # An unknown module belongs to the installed distribution named like its top-level package.
    top = normalize(name.split(".", 1)[0])
    owners = sorted(dist for dist in {top} | kb.top_level_owners.get(top, set()) if dist in present)
    if len(owners) == 1:
        return owners[0]
    return providers[0][0] if providers else None


# ---------------------------------------------------------------------------------------------
# Knowledge base (envguard/data/pytest_plugins.json)


@record(frozen=True)
class _Entry:
    entry_point: str
    module: str
    since: Version | None
    until: Version | None  # exclusive


@record(frozen=True)
class _KnowledgeBase:
    non_plugins: frozenset[str]
    providers: dict[str, tuple[_Entry, ...]]
    # entry-point name -> (distribution, provider entry when the range matters); primary first
    by_entry_point: dict[str, tuple[tuple[str, _Entry | None], ...]]
    modules: dict[str, str]
    top_level_owners: dict[str, set[str]]


def _in_range(entry: _Entry, version: str | None) -> bool:
    if version is None or (entry.since is None and entry.until is None):
        return True
    try:
        parsed = Version(version)
    except (InvalidVersion, ValueError):  # ValueError: a release number too long for int()
        return True
    if entry.since is not None and parsed < entry.since:
        return False
    return entry.until is None or parsed < entry.until


@functools.cache
def _knowledge_base() -> _KnowledgeBase:
    from envguard._data import read_data

    text = read_data("pytest_plugins.json").decode("utf-8")
    return _parse_knowledge_base(json.loads(text))


def _parse_knowledge_base(data: Any) -> _KnowledgeBase:
    providers: dict[str, tuple[_Entry, ...]] = {
        normalize(dist): tuple(_entry(item) for item in entries) for dist, entries in data["providers"].items()
    }
    by_entry_point: dict[str, list[tuple[str, _Entry | None]]] = {}
    for dist, entries in sorted(providers.items()):
        for entry in entries:
            by_entry_point.setdefault(entry.entry_point, []).append((dist, entry))
    for ep, dist in data["entry_points"].items():
        primary = normalize(dist)
        pairs = by_entry_point.setdefault(ep, [])
        if all(other != primary for other, _ in pairs):
            pairs.append((primary, None))
        # The table's choice comes first; the sort is stable, so the rest stay alphabetical.
        pairs.sort(key=lambda pair: pair[0] != primary)
    modules: dict[str, str] = {module: normalize(dist) for module, dist in data["modules"].items()}
    top_level_owners: dict[str, set[str]] = {}
    for module, dist in modules.items():
        top_level_owners.setdefault(normalize(module.split(".", 1)[0]), set()).add(dist)
    return _KnowledgeBase(
        non_plugins=frozenset(normalize(name) for name in data["non_plugins"]),
        providers=providers,
        by_entry_point={ep: tuple(pairs) for ep, pairs in by_entry_point.items()},
        modules=modules,
        top_level_owners=top_level_owners,
    )


def _entry(item: dict[str, str]) -> _Entry:
    since, until = item.get("since"), item.get("until")
    return _Entry(
        entry_point=item["entry_point"],
        module=item["module"],
        since=Version(since) if since else None,
        until=Version(until) if until else None,
    )

