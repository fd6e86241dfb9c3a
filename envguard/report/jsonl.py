"""`envguard inventory --format jsonl`: one JSON object per line per package entry.

The artifact for questions no single machine holds the data for: every repository of an
organisation writes its rows, and DuckDB, BigQuery or Spark load thousands of such files as one
table (README, "Many repositories"). So the rows are flat, every row has every column (one
schema, whatever the entry), and a locked record and a declared requirement share it, told apart
by `source` (`locked` or `declared`). Declarations have no groups of their own where the file
says none, and records no environment: `[]` and null. `installed_from` is where the entry comes from
(Package.source: an index URL, a VCS or archive URL, a local path; credentials masked), `hashed`
whether its record holds hashes (null where the format cannot, and for declarations).

Rows come in service-name order, then in the inventory's own order (records, then
declarations). The same inventory gives the same bytes. Errors and warnings are not rows: they
are reported on stderr as for every format.

Thousands of repositories run this: each row costs one dict and one call of a single, reused
encoder (`json.dumps` with options builds a new encoder per call).
"""

from __future__ import annotations

import json
from typing import Any, Final

from envguard.model import Inventory, Repository

_ENCODE: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

COLUMNS: Final = (
    "repository", "commit", "service", "package", "version", "specifier", "kind", "groups", "marker",
    "source", "environment", "path", "line", "installed_from", "hashed",
)  # fmt: skip


def render_inventory(inventory: Inventory, repository: Repository) -> str:
    """Every package entry of `inventory` as a row of `repository`, each line ending in a newline."""
    lines: list[str] = []
    add = lines.append
    name, commit = repository.name, repository.commit
    for service in sorted(inventory.services, key=lambda s: s.name):
        head: dict[str, Any] = {"repository": name, "commit": commit, "service": service.name}
        for p in service.packages:
            add(_ENCODE({
                **head, "package": p.name, "version": p.version, "specifier": p.specifier, "kind": p.kind.value,
                "groups": p.groups, "marker": p.marker, "source": "locked", "environment": None,
                "path": p.path, "line": p.line, "installed_from": p.source, "hashed": p.hashed,
            }))  # fmt: skip
        for d in service.declarations:
            add(_ENCODE({
                **head, "package": d.name, "version": d.version, "specifier": d.specifier, "kind": d.kind.value,
                "groups": d.groups, "marker": d.marker, "source": "declared", "environment": d.environment,
                "path": d.path, "line": d.line, "installed_from": d.source, "hashed": None,
            }))  # fmt: skip
    lines.append("")
    return "\n".join(lines) if len(lines) > 1 else ""
