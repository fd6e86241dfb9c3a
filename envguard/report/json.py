"""The JSON documents: the stable, documented contracts every other format derives from."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from envguard.model import Declaration, Diagnostic, Finding, Inventory, Package, Repository, Service, Severity, StaleLock, Waiver

if TYPE_CHECKING:
    from envguard.check import CheckResult
    from envguard.pytest_config import PytestConfig

INVENTORY_SCHEMA = "envguard.inventory/1"


def dumps(document: Any) -> str:
    """`json.dumps(document, indent=2, ensure_ascii=False)` and a newline, the same bytes.

    Python before 3.13 indents in pure Python, a generator per value: an organisation's report
    (400,000 drift cells) took 0.37 s that way. Here a dict or list of many strings (a drift row's
    versions, a service list) is joined at once, three times faster; anything but dicts, lists,
    strings, ints, booleans and None goes to json.dumps (tests compare both on generated documents).
    """
    parts: list[str] = []
    try:
        _encode(document, "", parts.append)
    except _Unusual:
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    parts.append("\n")
    return "".join(parts)


class _Unusual(Exception):
    """A value _encode leaves to json.dumps (a float, a non-string key, ...)."""


_quoted = json.encoder.encode_basestring  # the C function json.dumps uses with ensure_ascii=False
_JOINED_PAST = 8  # a container of more strings than this is joined in one go


def _encode(value: Any, pad: str, add: Callable[[str], None]) -> None:
    kind = type(value)
    if kind is str:
        add(_quoted(value))
    elif value is None:
        add("null")
    elif value is True:
        add("true")
    elif value is False:
        add("false")
    elif kind is int:
        add(int.__repr__(value))
    elif kind is dict:
        if not value:
            add("{}")
            return
        inner = pad + "  "
        if any(type(key) is not str for key in value):
            raise _Unusual
        if len(value) > _JOINED_PAST and {type(item) for item in value.values()} == {str}:
            add("{\n" + inner + (",\n" + inner).join([_quoted(k) + ": " + _quoted(v) for k, v in value.items()]))
        else:
            add("{")
            first = True
            for key, item in value.items():
                add(("\n" if first else ",\n") + inner + _quoted(key) + ": ")
                first = False
                _encode(item, inner, add)
        add("\n" + pad + "}")
    elif kind is list or kind is tuple:
        if not value:
            add("[]")
            return
        inner = pad + "  "
        if len(value) > _JOINED_PAST and {type(item) for item in value} == {str}:
            add("[\n" + inner + (",\n" + inner).join([_quoted(item) for item in value]))
        else:
            add("[")
            first = True
            for item in value:
                add(("\n" if first else ",\n") + inner)
                first = False
                _encode(item, inner, add)
        add("\n" + pad + "]")
    else:
        raise _Unusual


def diagnostic(item: Diagnostic) -> dict[str, Any]:
    return {"path": item.path, "line": item.line, "message": item.message}


def package(item: Package) -> dict[str, Any]:
    return {
        "name": item.name,
        "version": item.version,
        "kind": item.kind.value,
        "groups": list(item.groups),
        "marker": item.marker,
        "path": item.path,
        "line": item.line,
        "specifier": item.specifier,
        "source": item.source,
        "hashed": item.hashed,
    }


def declaration(item: Declaration) -> dict[str, Any]:
    return {
        "name": item.name,
        "requirement": item.requirement,
        "version": item.version,
        "specifier": item.specifier,
        "kind": item.kind.value,
        "marker": item.marker,
        "environment": item.environment,
        "origin": item.origin,
        "groups": list(item.groups),
        "install": item.install,
        "pinned_by": item.pinned_by,
        "source": item.source,
        "path": item.path,
        "line": item.line,
    }


def stale_lock(item: StaleLock) -> dict[str, Any]:
    return {
        "tool": item.tool,
        "lock": item.lock,
        "lock_line": item.lock_line,
        "manifest": item.manifest,
        "line": item.line,
        "reason": item.reason,
    }


def environments(service: Service) -> list[dict[str, Any]]:
    """Each environment the service's files declare, with how many requirements it declares."""
    counts: dict[str, int] = {}
    for item in service.declarations:
        counts[item.environment] = counts.get(item.environment, 0) + 1
    return [{"name": name, "requirements": counts[name]} for name in sorted(counts)]


def pytest_config(config: PytestConfig) -> dict[str, Any] | None:
    """What a check of the artifact needs of the service's pytest configuration; None when it has none."""
    if config.path is None and not (config.plugin_args or config.required_plugins or config.conftest_plugins):
        return None
    return {
        "path": config.path,
        "section": config.section,
        "addopts": list(config.addopts),
        "plugin_args": [{"name": a.name, "disabled": a.disabled, "path": a.path, "line": a.line} for a in config.plugin_args],
        "required_plugins": [
            {"requirement": r.requirement, "name": r.name, "specifier": r.specifier, "path": r.path, "line": r.line}
            for r in config.required_plugins
        ],
        "conftest_plugins": [{"module": c.module, "path": c.path, "line": c.line} for c in config.conftest_plugins],
    }


def repository_identity(item: Repository) -> dict[str, Any]:
    return {"name": item.name, "commit": item.commit, "url": item.url}


def inventory_document(
    inventory: Inventory, configs: Mapping[str, PytestConfig] | None = None, repository: Repository | None = None
) -> dict[str, Any]:
    """The inventory artifact; with `configs` (by service name), each service's pytest configuration;
    with `repository`, which repository (and commit) it describes."""
    return {
        "schema": INVENTORY_SCHEMA,
        **({"repository": repository_identity(repository)} if repository is not None else {}),
        "services": [
            {
                "name": service.name,
                "path": service.path,
                "sources": [{"path": s.path, "format": s.format} for s in service.sources],
                "ignored_sources": [{"path": s.path, "format": s.format} for s in service.ignored],
                "packages": [package(p) for p in service.packages],
                "declared_sources": [{"path": s.path, "format": s.format} for s in service.declared_sources],
                "environments": environments(service),
                "declarations": [declaration(d) for d in service.declarations],
                "stale_locks": [stale_lock(s) for s in service.stale_locks],
                **({"pytest": pytest_config(configs[service.name])} if configs is not None else {}),
            }
            for service in inventory.services
        ],
        "errors": [diagnostic(e) for e in inventory.errors],
        "warnings": [diagnostic(w) for w in inventory.warnings],
    }


REPORT_SCHEMA = "envguard.report/1"


def waiver(item: Waiver | None) -> dict[str, Any] | None:
    if item is None:
        return None
    return {
        "package": item.package,
        "services": list(item.services),
        "rule": item.rule,
        "reason": item.reason,
        "expires": item.expires,
        "owner": item.owner,
        "path": item.path,
        "line": item.line,
    }


def finding(item: Finding) -> dict[str, Any]:
    first = item.locations[0] if item.locations else None
    return {
        "rule": item.rule,
        "name": item.name,
        "severity": item.severity.value,
        "service": item.service,
        "package": item.package,
        "version": item.version,
        "message": item.message,
        "hint": item.hint,
        "path": first.path if first else None,
        "line": first.line if first else None,
        "locations": [{"path": loc.path, "line": loc.line} for loc in item.locations],
        "suppressed": item.suppressed,
        "exception": waiver(item.exception),
        "baselined": item.baselined,
    }


def summary(result: CheckResult) -> dict[str, int]:
    active = [f for f in result.findings if not f.suppressed and not f.baselined]
    return {
        "services": len(result.inventory.services),
        "errors": sum(1 for f in active if f.severity is Severity.ERROR),
        "warnings": sum(1 for f in active if f.severity is Severity.WARNING),
        "suppressed": sum(1 for f in result.findings if f.suppressed),
        "baselined": sum(1 for f in result.findings if f.baselined and not f.suppressed),
    }


def repositories(result: CheckResult) -> list[dict[str, Any]]:
    """Per repository of an organisation check: its services, its findings by state, and the drift
    rows its services take part in. [] unless several repositories were checked.

    A finding belongs to the repository its first location is in: every path of an organisation
    starts with its repository's directory (envguard.org.artifacts).
    """
    known = result.inventory.repositories
    if len(known) < 2:
        return []
    rows: dict[str, dict[str, Any]] = {
        repository.name: {
            "name": repository.name,
            "commit": repository.commit,
            "url": repository.url,
            "services": 0,
            "errors": 0,
            "warnings": 0,
            "suppressed": 0,
            "drift_rows": 0,
        }
        for repository in known
    }
    owner: dict[str, str] = {}
    for service in result.inventory.services:
        if service.repository in rows:
            rows[service.repository]["services"] += 1
            owner[service.name] = service.repository
    for item in result.findings:
        first = item.locations[0].path if item.locations else ""
        row = rows.get(first.split("/", 1)[0])
        if row is None:
            continue
        state = "suppressed" if item.suppressed else None if item.baselined else f"{item.severity.value}s"
        if state is not None:
            row[state] += 1
    if result.matrix is not None:
        for matrix_row in result.matrix.rows:
            taking_part = {owner.get(service) for service, _ in matrix_row.cells}
            for name in taking_part:
                if name is not None:
                    rows[name]["drift_rows"] += 1
    return [rows[name] for name in sorted(rows)]


def drift(result: CheckResult) -> dict[str, Any]:
    matrix = result.matrix
    if matrix is None:
        return {"target": result.target.describe(), "services": [], "rows": []}
    return {
        "target": result.target.describe(),
        "services": list(matrix.services),
        "rows": [
            {
                "package": row.package,
                "requirement": row.requirement,
                "versions": dict(row.cells),
                "target": row.target,
            }
            for row in matrix.rows
        ],
    }


def references(result: CheckResult) -> list[dict[str, Any]]:
    """The reference environments read, by name: where each is, what it is, which content it had."""
    return [
        {
            "name": r.name,
            "path": r.path,
            "format": r.format,
            "sha256": r.sha256,
            "packages": sum(1 for p in r.packages if p.is_third_party),
            "defined": r.defined,
            "line": r.line,
        }
        for r in result.references.loaded
    ]


def report_document(result: CheckResult) -> dict[str, Any]:
    return {
        "schema": REPORT_SCHEMA,
        "policy": list(result.policy_files),
        "findings": [finding(f) for f in result.findings],
        "summary": summary(result),
        "drift": drift(result),
        "repositories": repositories(result),
        "references": references(result),
        "errors": [diagnostic(e) for e in result.errors],
        "warnings": [diagnostic(w) for w in result.warnings],
    }


PLUGINS_SCHEMA = "envguard.plugins/1"


def plugins_document(
    rows: Mapping[str, list[dict[str, Any]]],
    policy_files: tuple[str, ...],
    environments: Mapping[str, tuple[str, list[dict[str, Any]]]] = {},
) -> dict[str, Any]:
    """`environments` are the reference environments' plugins by name: (their file, the rows)."""
    return {
        "schema": PLUGINS_SCHEMA,
        "policy": list(policy_files),
        "services": [{"name": name, "plugins": rows[name]} for name in sorted(rows)],
        "references": [
            {"name": name, "path": environments[name][0], "plugins": environments[name][1]} for name in sorted(environments)
        ],
    }


if TYPE_CHECKING:
    from envguard.diff import DiffResult, Side

DIFF_SCHEMA = "envguard.diff/1"


def diff_document(result: DiffResult) -> dict[str, Any]:
    """The `envguard diff` contract: both sides, the changes sorted by package, the unchanged count."""
    return {
        "schema": DIFF_SCHEMA,
        "a": _diff_side(result.a),
        "b": _diff_side(result.b),
        "changes": [
            {"package": c.package, "a": c.a_versions, "b": c.b_versions, "change": c.change} for c in result.changes
        ],
        "unchanged": result.unchanged,
        "declared_changes": [{"package": c.package, "a": list(c.a), "b": list(c.b)} for c in result.declared],
    }


def _diff_side(side: Side) -> dict[str, Any]:
    return {
        "name": side.name,
        "sources": [{"path": s.path, "format": s.format} for s in side.sources],
        "declared_sources": [{"path": s.path, "format": s.format} for s in side.declared_sources],
        "environments": list(side.environments),
    }


def render_check(result: CheckResult) -> str:
    return dumps(report_document(result))
