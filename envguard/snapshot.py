"""Environment snapshots: a portable fingerprint of what one interpreter has installed.

Schema `envguard.snapshot/1` (a JSON object, keys in this order, written with two-space indent):

    {
      "schema": "envguard.snapshot/1",
      "interpreter": {
        "implementation": "cpython",          # sys.implementation.name
        "version": "3.12.4",                  # platform.python_version()
        "platform": "linux",                  # sys.platform
        "markers": {...}                      # PEP 508 marker environment, keys sorted; without
                                              # platform_release and platform_version (the kernel)
      },
      "packages": [                           # sorted by name; copies of one name in sys.path order
        {
          "name": "acme-testkit",             # PEP 503 normalised
          "version": "1.0",
          "kind": "registry",                 # registry | url | vcs | path | editable
          "requires": ["pytest>=7"],          # Requires-Dist as written
          "pytest11": [{"name": "acme", "value": "acme_testkit.plugin"}]
        }
      ],
      "plugins": [                            # every pytest11 entry point, sorted by entry point,
        {"entry_point": "acme",               # then distribution; derived from "packages"
         "distribution": "acme-testkit", "version": "1.0"}
      ],
      "sha256": "..."                         # see below
    }

`sha256` is the SHA-256 hex digest of the canonical JSON of every other key
(`json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`, UTF-8).
Nothing machine-specific is recorded (no paths, no interpreter location, no kernel version), so
two environments built from one lock on one Python and platform have byte-identical snapshots,
and equal hashes mean equal environments. A file whose hash does not match its content is
rejected: a fingerprint that was edited is no fingerprint.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from envguard._record import record
from envguard.errors import SourceError
from envguard.model import Kind, Loaded, Service, Source, normalize
from envguard.sources.environment import VOLATILE_MARKERS, Distribution, Environment, Interpreter

SCHEMA = "envguard.snapshot/1"
FORMAT = "snapshot"
_KINDS = {kind.value: kind for kind in Kind if kind is not Kind.LOCAL_PROJECT}


@record(frozen=True)
class Snapshot:
    path: str  # the file, as shown in messages and locations
    environment: Environment  # distributions carry the snapshot path and the line of their entry
    sha256: str


# --------------------------------------------------------------------------- writing


def snapshot_document(environment: Environment) -> dict[str, Any]:
    """The `envguard.snapshot/1` document of an environment, hash included."""
    interpreter = environment.interpreter
    markers = {key: value for key, value in interpreter.markers if key not in VOLATILE_MARKERS}
    ordered = sorted(enumerate(environment.distributions), key=lambda pair: (pair[1].name, pair[0]))
    packages = [
        {
            "name": dist.name,
            "version": dist.version,
            "kind": dist.kind.value,
            "requires": list(dist.requires),
            "pytest11": [{"name": name, "value": value} for name, value in dist.pytest11],
        }
        for _, dist in ordered
    ]
    plugins = sorted(
        (
            {"entry_point": name, "distribution": dist.name, "version": dist.version}
            for _, dist in ordered
            for name, _ in dist.pytest11
        ),
        key=lambda item: (item["entry_point"], item["distribution"], item["version"]),
    )
    document: dict[str, Any] = {
        "schema": SCHEMA,
        "interpreter": {
            "implementation": interpreter.implementation,
            "version": interpreter.version,
            "platform": interpreter.platform,
            "markers": dict(sorted(markers.items())),
        },
        "packages": packages,
        "plugins": plugins,
    }
    document["sha256"] = content_hash(document)
    return document


def content_hash(document: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of every key but `sha256`."""
    content = {key: value for key, value in document.items() if key != "sha256"}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def write_snapshot(environment: Environment, output: Path) -> str:
    """Write the snapshot of `environment` to `output`; returns its hash."""
    document = snapshot_document(environment)
    output.write_text(dumps(document), encoding="utf-8")
    return str(document["sha256"])


# --------------------------------------------------------------------------- reading


def load_snapshot(path: Path, shown: str) -> Snapshot:
    """Read and validate a snapshot; every problem is a SourceError naming the file and line."""
    from envguard.sources import _json
    from envguard.sources._text import read_text

    text = read_text(path, shown)
    if not text.strip():
        raise SourceError(shown, 1, f"empty file; expected an {SCHEMA} document (`envguard snapshot -o FILE`)")
    data = _json.parse_json(text, shown)
    lines = _json.LineIndex(text)
    start = _json.root(text)
    if not isinstance(data, dict):
        raise SourceError(shown, lines.line(start), f"not an {SCHEMA} document (expected a JSON object)")
    positions = _json.members(text, start)

    def key_line(key: str) -> int:
        return lines.line(positions[key][0]) if key in positions else lines.line(start)

    if data.get("schema") != SCHEMA:
        found = repr(data["schema"]) if "schema" in data else "no 'schema'"
        raise SourceError(shown, key_line("schema"), f"not an {SCHEMA} document ({found})")
    interpreter = _interpreter(data.get("interpreter"), shown, key_line("interpreter"))
    packages = data.get("packages")
    if not isinstance(packages, list):
        raise SourceError(shown, key_line("packages"), "'packages' must be an array")
    offsets = _json.items(text, positions["packages"][1])
    distributions = tuple(
        _distribution(item, shown, lines.line(offset)) for item, offset in zip(packages, offsets)
    )
    recorded = data.get("sha256")
    if not isinstance(recorded, str):
        raise SourceError(shown, key_line("sha256"), "no 'sha256' content hash")
    if recorded != content_hash(data):
        raise SourceError(
            shown, key_line("sha256"), "content hash does not match the content: the snapshot was edited or truncated"
        )
    return Snapshot(shown, Environment(shown, interpreter, distributions), recorded)


def _interpreter(value: Any, shown: str, line: int) -> Interpreter:
    if not isinstance(value, dict):
        raise SourceError(shown, line, "'interpreter' must be an object")
    fields = {key: value.get(key) for key in ("implementation", "version", "platform")}
    markers = value.get("markers")
    if not all(isinstance(item, str) for item in fields.values()) or not isinstance(markers, dict):
        raise SourceError(shown, line, "'interpreter' needs implementation, version, platform and markers")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in markers.items()):
        raise SourceError(shown, line, "'interpreter.markers' must map marker names to strings")
    return Interpreter(
        executable=shown,
        version=str(fields["version"]),
        implementation=str(fields["implementation"]),
        platform=str(fields["platform"]),
        markers=tuple(sorted(markers.items())),
    )


def _distribution(item: Any, shown: str, line: int) -> Distribution:
    if not isinstance(item, dict):
        raise SourceError(shown, line, "an entry of 'packages' must be an object")
    name, version, kind = item.get("name"), item.get("version"), item.get("kind")
    if not isinstance(name, str) or not name.strip() or not isinstance(version, str):
        raise SourceError(shown, line, "an entry of 'packages' needs a 'name' and a 'version'")
    if kind not in _KINDS:
        raise SourceError(shown, line, f"package {name!r}: unknown kind {kind!r} (one of {', '.join(_KINDS)})")
    requires = item.get("requires", [])
    if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
        raise SourceError(shown, line, f"package {name!r}: 'requires' must be an array of strings")
    entry_points = item.get("pytest11", [])
    if not isinstance(entry_points, list) or not all(
        isinstance(ep, dict) and isinstance(ep.get("name"), str) and isinstance(ep.get("value"), str)
        for ep in entry_points
    ):
        raise SourceError(shown, line, f"package {name!r}: 'pytest11' must be an array of {{name, value}} objects")
    return Distribution(
        name=normalize(name),
        version=version,
        kind=_KINDS[str(kind)],
        requires=tuple(requires),
        pytest11=tuple((ep["name"], ep["value"]) for ep in entry_points),
        path=shown,
        line=line,
    )


# --------------------------------------------------------------------------- as an inventory


def snapshot_service(snapshot: Snapshot, name: str | None = None) -> Service:
    """The snapshot as a model.Service (for `diff` and the inventory): one package per entry.

    Packages keep their version and kind, have no groups and no marker, and point at the
    snapshot file and the line of their entry. The service is named `name`, else after the file.
    """
    packages = tuple(sorted(dist.package() for dist in snapshot.environment.distributions))
    return Service(
        name=name if name is not None else Path(snapshot.path).stem,
        path=snapshot.path,
        sources=(Source(snapshot.path, FORMAT),),
        packages=packages,
    )


def load(path: Path, shown: str) -> Loaded:
    """Loader signature of envguard.sources.detect (`"snapshot": "envguard.snapshot:load"`)."""
    return Loaded(snapshot_service(load_snapshot(path, shown)).packages)


def is_snapshot(data: Any) -> bool:
    """Whether parsed JSON is a snapshot (for content detection)."""
    return isinstance(data, dict) and data.get("schema") == SCHEMA

