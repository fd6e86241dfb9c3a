"""The central policy (schema version 1): loading, `extends`, merging and validation.

Values are built from PyYAML *nodes*, never from `safe_load`, so that every error can name
the file, the line and the key path (`policy.yaml:7: plugins.approved.pytest-cov: ...`), and
so that no YAML feature we did not ask for (aliases, custom tags, merge keys) can change what a
policy means.

Merge semantics (`merge(base, override)`, used for `extends` chains and policy directories):

* scalars (`pytest.allowed`, `plugins.unknown`, `drift.default`): the override's value wins
  when the override file writes the key; an unwritten key never resets the base;
* `plugins.approved` / `plugins.denied`: merged per package, the override wins; a package the
  override approves is dropped from the base's denied list and vice versa;
* `plugins.also_plugins`: union;
* `exceptions`: concatenated, base first;
* `drift.rules`: the override's rules first, then the base's, because the first matching rule
  decides and the more specific (overriding) file must get the first say;
* `installs.unpinned` is a scalar; `installs.exempt` is replaced as a whole by a file that
  writes it (a list that merged would make an exemption impossible to take back);
* `references`: merged by name, the override wins;
* `sources`: each key is a scalar (its lists, `indexes` and the `allow-*` globs, are replaced as a
  whole, like `installs.exempt`), and so is each rule of `sources.severity`.

A file reached twice (two files of a directory extending the same base) is applied once, at its
first position.

A policy, and each `extends`, may be any reference `envguard.locate` resolves: a local path,
`package:NAME[/PATH]` or a pinned https URL (`extends` also takes `{url, sha256}`). Cycles are
found by `Located.identity`, whatever kinds the chain mixes. A relative `extends` in a package's
file stays among that distribution's files; one in a fetched file is refused (the cache file has
no meaningful neighbours, and remote content must not name local files). The workspace limit
(`within`) applies to local paths only: the other kinds never read the repository.

`references` (reference environments, `envguard.references`) name files the same ways. Each is
resolved here against the file that names it, as `extends` is (relative to that file; among a
package's own files; never a local path from a fetched file), but not read: a missing or broken
reference is one error of the run, and the rest of the policy still applies.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import fnmatch
import functools
import os
import posixpath
import re
import stat
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol, TypeVar, cast, get_args

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from envguard._record import record
from envguard.errors import EnvguardError, one_line
from envguard.locate import Located, LocateError, locate, reference_kind
from envguard.model import NormalizedName, Waiver, normalize
from envguard.rules.catalog import RULES

if TYPE_CHECKING:
    from envguard.answers import Answers

SCHEMA_VERSION: Final = 1

# Every rule name a policy exception may name in `rule:`.
RULE_NAMES: Final[tuple[str, ...]] = tuple(rule.name for rule in RULES)

UnknownPlugins = Literal["error", "warning", "ignore"]
DriftLevel = Literal["exact", "same-minor", "same-major", "none"]
RequireKind = Literal["exact", "same-minor", "same-major", "none", "pinned", "snap-to"]

UNKNOWN_VALUES: Final[tuple[str, ...]] = get_args(UnknownPlugins)
DRIFT_LEVELS: Final[tuple[str, ...]] = get_args(DriftLevel)

# Hardening limits. Real policies are a few KiB and about 5 levels deep.
MAX_BYTES: Final = 1024 * 1024
MAX_DEPTH: Final = 50
# Pure-Python composing costs ~20 us a node; a real policy has a few hundred.
MAX_NODES: Final = 20_000
# `extends` recursion is bounded by the number of distinct files anyway; this keeps a
# generated chain from reaching Python's recursion limit.
MAX_EXTENDS: Final = 32

BUILTIN_DISPLAY: Final = "<builtin>/default-policy.yaml"

# Installers themselves: `pip install --upgrade pip` in every Dockerfile is not what drifts tests.
DEFAULT_UNPINNED_EXEMPT: Final[tuple[str, ...]] = ("pip", "setuptools", "wheel")


class PolicyError(EnvguardError):
    """An invalid or unreadable policy; str() is `file:line: key.path: message`.

    The key path is left out when the problem is not inside a key (unreadable file, bad YAML).
    """

    def __init__(self, path: str, line: int | None, key: str, message: str) -> None:
        super().__init__(path, line, key, message)
        # Keys come from the file and may hold line breaks: kept escaped, so the error is one line.
        self.path = one_line(path)
        self.line = line
        self.key = one_line(key)
        self.message = one_line(message)

    def __str__(self) -> str:
        where = f"{self.path}:{self.line or 1}:"
        return f"{where} {self.key}: {self.message}" if self.key else f"{where} {self.message}"


@record(frozen=True)
class DriftRule:
    """One `drift.rules` entry; selectors are normalised patterns, "!" negates."""

    packages: tuple[str, ...]
    services: tuple[str, ...]
    groups: tuple[str, ...]
    require_kind: RequireKind
    require_value: str | None  # the specifier for "pinned", the service for "snap-to"
    path: str = ""
    line: int | None = None


@record(frozen=True)
class ReferenceSpec:
    """One `references` entry (or `--reference NAME=REF`): where a reference environment is, not yet read."""

    name: str
    written: str  # as the policy or the command line writes it
    # What `envguard.locate` resolves: an absolute path, `package:NAME/PATH` or a pinned URL.
    location: str
    shown: str  # how reports name it until it is located
    format: str | None = None  # `format:` in the policy; None: told by its name and content
    path: str = ""  # the policy file that names it; "" for --reference
    line: int | None = None


# `sources.allow-*`: True lets every such entry through, a tuple the ones matching its globs
# (empty: none).
Allowed = bool | tuple[str, ...]
# The rules of `sources:` whose severity `sources.severity` sets.
SOURCE_RULES: Final[tuple[str, ...]] = ("source-not-allowed", "hash-missing", "insecure-index")


@record(frozen=True)
class Sources:
    """`sources:`, where packages may come from. The default lets everything through but an
    insecure index (see the built-in policy for why that one is on)."""

    # Index URLs or globs an index entry may come from; None: any index.
    indexes: tuple[str, ...] | None = None
    allow_vcs: Allowed = True
    allow_url: Allowed = True
    allow_path: Allowed = True
    # Every entry downloaded from an index or a URL must record its hashes (hash-missing).
    require_hashes: bool = False
    # Rule name -> error | warning | ignore, for each of SOURCE_RULES.
    severity: tuple[tuple[str, str], ...] = tuple((name, "error") for name in SOURCE_RULES)

    def severity_of(self, rule: str) -> str:
        return dict(self.severity)[rule]


@record(frozen=True)
class Policy:
    """A fully merged policy. `Policy()` is the empty policy (no plugin approved)."""

    files: tuple[str, ...] = ()
    version: int = SCHEMA_VERSION
    pytest_allowed: str | None = None  # None: any pytest version
    unknown: UnknownPlugins = "warning"
    approved: Mapping[NormalizedName, str] = field(default_factory=dict, hash=False)
    denied: Mapping[NormalizedName, str] = field(default_factory=dict, hash=False)
    also_plugins: frozenset[NormalizedName] = frozenset()
    exceptions: tuple[Waiver, ...] = ()
    drift_default: DriftLevel = "same-major"
    drift_rules: tuple[DriftRule, ...] = ()
    # unpinned-install: its severity ("ignore" turns the rule off), and the packages (names or
    # globs) that installs may leave unpinned.
    unpinned: UnknownPlugins = "warning"
    unpinned_exempt: tuple[str, ...] = DEFAULT_UNPINNED_EXEMPT
    # Scalar keys some file wrote out ("pytest.allowed", "plugins.unknown", "drift.default",
    # "installs.unpinned", "installs.exempt"), so that merging never lets a default override a
    # value the base chose.
    explicit: frozenset[str] = frozenset()
    # Reference environments by name (`references`), each resolved against the file naming it.
    references: Mapping[str, ReferenceSpec] = field(default_factory=dict, hash=False)
    sources: Sources = Sources()


# --------------------------------------------------------------------------- public API


def load_policy(
    path: Path, *, shown: str | None = None, within: Path | None = None, answers: Answers | None = None
) -> Policy:
    """Load a policy file, or a directory whose *.yaml/*.yml files merge in name order.

    `shown` is how `path` appears in messages and `Policy.files`; files reached through
    `extends` are shown relative to it. With `within` (the workspace root), an `extends` that
    leaves that directory is refused: a repository's policy must not pull in files from
    elsewhere on the machine unless the user allows it. With `answers` (`envguard.answers`),
    a file whose bytes were parsed before is not parsed again.
    """
    display = shown if shown is not None else path.as_posix()
    kind = _kind(path)
    if kind == "dir":
        layers = _directory_layers(path, display, within, answers)
    elif kind is not None:  # a pipe is fine here: `--policy <(generate-policy)`
        layers = _file_layers(Located(path, display, os.path.realpath(path)), (), within, answers)
    else:
        raise PolicyError(display, None, "", "policy file not found")
    return _fold(layers)


def load_policy_reference(
    written: str, base: Path, *, shown: str | None = None, within: Path | None = None, answers: Answers | None = None
) -> Policy:
    """Load the policy `written` names: a path relative to `base` (as `load_policy`, shown as
    `shown` or as written), `package:NAME[/PATH]` or `https://...#sha256=HEX`.

    `within` only limits local files: a package's or a URL's policy is the organisation's, and
    it is not in the repository anyway.
    """
    if reference_kind(written) == "path":
        return load_policy(base / written, shown=written if shown is None else shown, within=within, answers=answers)
    try:
        located = locate(written, base)
    except LocateError as exc:
        raise PolicyError(written.partition("#")[0], None, "", exc.message) from None
    return _fold(_file_layers(located, (), None, answers))


def _kind(path: Path) -> Literal["file", "dir", "other"] | None:
    """What is at `path`; None when nothing is, or when the system refuses the path (a NUL byte,
    a name too long), which Path.exists() raises for instead."""
    try:
        mode = path.stat().st_mode
    except (OSError, ValueError):
        return None
    return "dir" if stat.S_ISDIR(mode) else "file" if stat.S_ISREG(mode) else "other"


# Where a policy's parts are written, not what they say: a policy copied elsewhere keeps its digest.
_NOT_CONTENT: Final = frozenset({"files", "explicit", "path", "line", "location", "written", "shown"})


def content_digest(policy: Policy) -> str:
    """sha256 of what the merged policy says (every rule, approval and exception), not of where
    its files are: the same policy gives the same digest in every checkout and on every machine."""
    import hashlib
    import json

    canonical = json.dumps(_content(policy), sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def _content(value: object) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        return {f.name: _content(getattr(value, f.name)) for f in fields if f.name not in _NOT_CONTENT}
    if isinstance(value, Mapping):
        return {str(key): _content(item) for key, item in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted(_content(item) for item in value)
    if isinstance(value, (list, tuple)):
        return [_content(item) for item in value]
    return value


def builtin_policy() -> Policy:
    """The policy shipped with envguard (a byte-identical copy of policies/default.yaml).

    Most runs use it, and parsing YAML in pure Python (with importing PyYAML) is a tenth of a
    pre-commit run: the package also ships it compiled to JSON, used only while it matches the
    YAML's checksum, so an edited YAML is never shadowed by a stale compilation.
    """
    import json
    import zlib

    from envguard._data import read_data

    data = read_data("default-policy.yaml")
    try:
        compiled = json.loads(read_data("default-policy.json"))
        if compiled.get("yaml_crc32") == zlib.crc32(data):
            return _policy_from_json(compiled["policy"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return _parse_builtin(data)


def _parse_builtin(data: bytes) -> Policy:
    layer = _parse_layer(data, BUILTIN_DISPLAY)
    if layer.extends is not None:
        raise PolicyError(BUILTIN_DISPLAY, layer.extends[1], "extends", "the built-in policy cannot extend another")
    return layer.policy


def compile_builtin(data: bytes) -> dict[str, Any]:
    """The JSON form of the built-in policy `builtin_policy` reads (see tests/test_policy.py)."""
    import zlib

    return {"yaml_crc32": zlib.crc32(data), "policy": _policy_to_json(_parse_builtin(data))}


def _policy_to_json(policy: Policy) -> dict[str, Any]:
    return {
        "files": list(policy.files),
        "version": policy.version,
        "pytest_allowed": policy.pytest_allowed,
        "unknown": policy.unknown,
        "approved": dict(policy.approved),
        "denied": dict(policy.denied),
        "also_plugins": sorted(policy.also_plugins),
        "exceptions": [dataclasses.asdict(w) for w in policy.exceptions],
        "drift_default": policy.drift_default,
        "drift_rules": [dataclasses.asdict(r) for r in policy.drift_rules],
        "unpinned": policy.unpinned,
        "unpinned_exempt": list(policy.unpinned_exempt),
        "explicit": sorted(policy.explicit),
        "references": {name: dataclasses.asdict(spec) for name, spec in policy.references.items()},
        "sources": dataclasses.asdict(policy.sources),
    }


def _policy_from_json(data: dict[str, Any]) -> Policy:
    def tuples(item: dict[str, Any]) -> dict[str, Any]:
        return {k: tuple(v) if isinstance(v, list) else v for k, v in item.items()}

    return Policy(
        files=tuple(data["files"]),
        version=data["version"],
        pytest_allowed=data["pytest_allowed"],
        unknown=data["unknown"],
        approved={NormalizedName(k): v for k, v in data["approved"].items()},
        denied={NormalizedName(k): v for k, v in data["denied"].items()},
        also_plugins=frozenset(NormalizedName(n) for n in data["also_plugins"]),
        exceptions=tuple(Waiver(**tuples(w)) for w in data["exceptions"]),
        drift_default=data["drift_default"],
        drift_rules=tuple(DriftRule(**tuples(r)) for r in data["drift_rules"]),
        unpinned=data["unpinned"],
        unpinned_exempt=tuple(data["unpinned_exempt"]),
        explicit=frozenset(data["explicit"]),
        references={name: ReferenceSpec(**spec) for name, spec in data["references"].items()},
        sources=_sources_from_json(data["sources"]),
    )


def _sources_from_json(data: dict[str, Any]) -> Sources:
    def allowed(value: Any) -> Allowed:
        return value if isinstance(value, bool) else tuple(value)

    return Sources(
        indexes=None if data["indexes"] is None else tuple(data["indexes"]),
        allow_vcs=allowed(data["allow_vcs"]),
        allow_url=allowed(data["allow_url"]),
        allow_path=allowed(data["allow_path"]),
        require_hashes=data["require_hashes"],
        severity=tuple((name, level) for name, level in data["severity"]),
    )


def merge(base: Policy, override: Policy) -> Policy:
    """Apply `override` on top of `base` (see the module docstring for the rules)."""
    approved = {name: spec for name, spec in base.approved.items() if name not in override.denied}
    approved.update(override.approved)
    denied = {name: why for name, why in base.denied.items() if name not in override.approved}
    denied.update(override.denied)
    return Policy(
        files=_unique(base.files + override.files),
        version=override.version,
        pytest_allowed=override.pytest_allowed if "pytest.allowed" in override.explicit else base.pytest_allowed,
        unknown=override.unknown if "plugins.unknown" in override.explicit else base.unknown,
        approved=approved,
        denied=denied,
        also_plugins=base.also_plugins | override.also_plugins,
        exceptions=_unique(base.exceptions + override.exceptions),
        drift_default=override.drift_default if "drift.default" in override.explicit else base.drift_default,
        drift_rules=_unique(override.drift_rules + base.drift_rules),
        unpinned=override.unpinned if "installs.unpinned" in override.explicit else base.unpinned,
        unpinned_exempt=override.unpinned_exempt if "installs.exempt" in override.explicit else base.unpinned_exempt,
        explicit=base.explicit | override.explicit,
        references=dict(sorted({**base.references, **override.references}.items())),
        sources=_merge_sources(base.sources, override.sources, override.explicit),
    )


def _merge_sources(base: Sources, override: Sources, explicit: frozenset[str]) -> Sources:
    def pick(key: str, name: str) -> Any:
        return getattr(override if f"sources.{key}" in explicit else base, name)

    severity = tuple(
        (rule, override.severity_of(rule) if f"sources.severity.{rule}" in explicit else base.severity_of(rule))
        for rule in SOURCE_RULES
    )
    return Sources(
        indexes=pick("indexes", "indexes"),
        allow_vcs=pick("allow-vcs", "allow_vcs"),
        allow_url=pick("allow-url", "allow_url"),
        allow_path=pick("allow-path", "allow_path"),
        require_hashes=pick("require-hashes", "require_hashes"),
        severity=severity,
    )


def selector_matches(patterns: Iterable[str], value: str) -> bool:
    """Selector semantics shared by drift rules: globs, "!" negates, empty matches all.

    A value matches when it matches at least one positive pattern (or there is none) and no
    negated one. Callers pass values normalised the same way as the patterns.
    """
    positive: list[str] = []
    negative: list[str] = []
    for pattern in patterns:
        (negative if pattern.startswith("!") else positive).append(pattern.removeprefix("!"))
    if positive and not any(fnmatch.fnmatchcase(value, p) for p in positive):
        return False
    return not any(fnmatch.fnmatchcase(value, p) for p in negative)


def service_matches(patterns: Iterable[str], service: str) -> bool:
    """`selector_matches` for service names, where an organisation qualifies them.

    Checking several repositories' artifacts names each service `REPOSITORY/NAME`; a selector
    written for one repository (`billing`, `services/*`) matches its services in every
    repository, and `payments-repo/billing` only that one.
    """
    if selector_matches(patterns, service):
        return True
    _, slash, local = service.partition("/")
    return bool(slash) and selector_matches(patterns, local) and not _negated(patterns, service)


def _negated(patterns: Iterable[str], value: str) -> bool:
    return any(p.startswith("!") and fnmatch.fnmatchcase(value, p[1:]) for p in patterns)


# --------------------------------------------------------------------------- merging

_T = TypeVar("_T")


def _unique(items: tuple[_T, ...]) -> tuple[_T, ...]:
    # Order-preserving de-duplication: a base reached twice contributes its items once.
    return tuple(dict.fromkeys(items))


def _fold(layers: Sequence[tuple[str, Policy]]) -> Policy:
    seen: set[str] = set()
    result: Policy | None = None
    for identity, policy in layers:
        if identity in seen:
            continue
        seen.add(identity)
        result = policy if result is None else merge(result, policy)
    assert result is not None  # callers never pass an empty list
    return result


# --------------------------------------------------------------------------- files, extends


@record(frozen=True)
class _Layer:
    """One policy file as parsed, before the files it extends are merged under it."""

    policy: Policy
    extends: tuple[str, int] | None  # the target as written, and the line of `extends`


def _directory_layers(
    path: Path, display: str, within: Path | None, answers: Answers | None
) -> list[tuple[str, Policy]]:
    try:
        # Dot-files are editor backups and lock files, never policy fragments.
        names = sorted(
            p.name
            for p in path.iterdir()
            if p.suffix in (".yaml", ".yml") and not p.name.startswith(".") and p.is_file()
        )
    except OSError as exc:
        raise PolicyError(display, None, "", f"cannot list policy directory: {exc.strerror or exc}") from None
    if not names:
        raise PolicyError(display, None, "", "no *.yaml or *.yml files in this policy directory")
    layers: list[tuple[str, Policy]] = []
    for name in names:
        file = path / name
        located = Located(file, posixpath.join(display, name), os.path.realpath(file))
        layers.extend(_file_layers(located, (), within, answers))
    return layers


def _file_layers(
    source: Located, trail: tuple[tuple[str, str], ...], within: Path | None, answers: Answers | None
) -> list[tuple[str, Policy]]:
    """The layers of one file, its bases first; `trail` is the extends chain that led here."""
    display = source.shown
    layer = _parsed_layer(_read(source.path, display), display, answers)
    if layer.policy.references:
        resolved = {name: _resolve_reference(source, spec, within) for name, spec in layer.policy.references.items()}
        layer = _Layer(dataclasses.replace(layer.policy, references=resolved), layer.extends)
    if layer.extends is None:
        return [(source.identity, layer.policy)]
    written, line = layer.extends
    trail = (*trail, (source.identity, display))
    target = _extends_target(source, written, line, within)
    for seen_identity, seen_display in trail:
        if seen_identity == target.identity:
            chain = " -> ".join([d for _, d in trail] + [seen_display])
            raise PolicyError(display, line, "extends", f"extends cycle: {chain}")
    if len(trail) >= MAX_EXTENDS:
        raise PolicyError(display, line, "extends", f"extends chain longer than {MAX_EXTENDS} files")
    return [*_file_layers(target, trail, within, answers), (source.identity, layer.policy)]


def _parsed_layer(data: bytes, display: str, answers: Answers | None) -> _Layer:
    """`_parse_layer`, or with `answers` what it gave for the same bytes and display before (as
    data: the built-in policy's JSON form, which `tests/test_policy.py` holds equal to the parse)."""
    if answers is None:
        return _parse_layer(data, display)

    def parse() -> dict[str, Any]:
        layer = _parse_layer(data, display)
        return {"policy": _policy_to_json(layer.policy), "extends": layer.extends}

    kept = answers.of_bytes(("policy-layer", display), data, parse)
    extends = kept["extends"]
    return _Layer(_policy_from_json(kept["policy"]), None if extends is None else (extends[0], extends[1]))


def _extends_target(source: Located, written: str, line: int, within: Path | None) -> Located:
    """The base file `extends: written` in `source` names, checked to be a readable file."""
    display = source.shown
    kind = reference_kind(written)
    if kind == "path" and source.kind == "url":
        # Relative to what? Not to the cache file; and a downloaded policy must not name local files.
        message = f"a policy fetched from a URL cannot extend a local path ({written}); use package: or a pinned URL"
        raise PolicyError(display, line, "extends", message)
    if kind == "path" and source.inside is not None and not os.path.isabs(written):
        # Among the same distribution's files, so that the report names them by package too.
        prefix, _, directory = source.inside.partition("/")
        relative = posixpath.normpath(posixpath.join(directory, written.replace("\\", "/")))
        if relative == ".." or relative.startswith("../"):
            message = f"{written} leaves the distribution's files; name another package as package:NAME/PATH"
            raise PolicyError(display, line, "extends", message)
        written, kind = f"{prefix}/{relative}", "package"
    if kind != "path":
        try:
            return locate(written, source.path.parent)
        except LocateError as exc:
            raise PolicyError(display, line, "extends", f"{written.partition('#')[0]}: {exc.message}") from None
    target = source.path.parent / written
    target_display = written if os.path.isabs(written) else _relative_display(display, written)
    try:
        target_identity = os.path.realpath(target)
    except ValueError:  # a NUL byte in the path
        raise PolicyError(display, line, "extends", f"not a valid path: {written!r}") from None
    if within is not None and not _inside(target_identity, within):
        message = f"{written} is outside the workspace root; pass --allow-outside-root to read it"
        raise PolicyError(display, line, "extends", message)
    kind_on_disk = _kind(target)
    if kind_on_disk == "dir":
        raise PolicyError(display, line, "extends", f"must name a policy file, not a directory: {target_display}")
    if kind_on_disk is None:
        raise PolicyError(display, line, "extends", f"base policy not found: {target_display}")
    if kind_on_disk == "other":
        # Reading a named pipe blocks until something writes to it, a device may never end.
        message = f"must name a regular file, not a pipe or device: {target_display}"
        raise PolicyError(display, line, "extends", message)
    return Located(target, target_display, target_identity)


def _resolve_reference(source: Located, spec: ReferenceSpec, within: Path | None) -> ReferenceSpec:
    """`spec` with the location its `written` names from `source`, by the rules of `extends`."""
    written, display, key = spec.written, source.shown, f"references.{spec.name}"
    kind = reference_kind(written)
    if kind != "path":
        return spec
    if source.kind == "url":
        message = f"a policy fetched from a URL cannot name a local reference ({written}); use package: or a pinned URL"
        raise PolicyError(display, spec.line, key, message)
    if source.inside is not None and not os.path.isabs(written):
        prefix, _, directory = source.inside.partition("/")
        relative = posixpath.normpath(posixpath.join(directory, written.replace("\\", "/")))
        if relative == ".." or relative.startswith("../"):
            message = f"{written} leaves the distribution's files; name another package as package:NAME/PATH"
            raise PolicyError(display, spec.line, key, message)
        located = f"{prefix}/{relative}"
        return dataclasses.replace(spec, location=located, shown=located)
    target = source.path.parent / written
    try:
        identity = os.path.realpath(target)
    except ValueError:  # a NUL byte in the path
        raise PolicyError(display, spec.line, key, f"not a valid path: {written!r}") from None
    if within is not None and not _inside(identity, within):
        message = f"{written} is outside the workspace root; pass --allow-outside-root to read it"
        raise PolicyError(display, spec.line, key, message)
    shown = written if os.path.isabs(written) else _relative_display(display, written)
    return dataclasses.replace(spec, location=os.path.abspath(target), shown=shown)


def _inside(real_path: str, root: Path) -> bool:
    real_root = os.path.realpath(root)
    return os.path.commonpath([real_path, real_root]) == real_root


def _relative_display(display: str, written: str) -> str:
    return posixpath.normpath(posixpath.join(posixpath.dirname(display), written.replace("\\", "/")))


def _read(path: Path, display: str) -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise PolicyError(display, None, "", f"cannot read policy: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise PolicyError(display, None, "", f"larger than {MAX_BYTES // 1024} KiB; not a policy file")
    return data


# --------------------------------------------------------------------------- text and YAML

# The characters YAML does not allow in a stream (PyYAML's Reader rejects them without a line):
# the complement of [\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff],
# written as the few small ranges it is, which compiles ten times faster at every start.
# Compiled when a policy file is first read (as every pattern below): the built-in policy needs none.
@functools.cache
def _non_printable() -> re.Pattern[str]:
    return re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")


def _decode(data: bytes, display: str) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        message = f"not UTF-8 text (byte 0x{data[exc.start]:02x}); a policy is a UTF-8 YAML file"
        raise PolicyError(display, line, "", message) from None
    bad = _non_printable().search(text)
    if bad is not None:
        line = text.count("\n", 0, bad.start()) + 1
        message = f"binary content (control character U+{ord(bad.group()):04X}); a policy is a UTF-8 YAML file"
        raise PolicyError(display, line, "", message)
    return text


class _Mark(Protocol):
    line: int


class _Node(Protocol):
    """The part of a PyYAML node we use (typed here so PyYAML's lack of stubs does not leak)."""

    id: str
    tag: str
    value: Any
    start_mark: _Mark


class _RefusedError(Exception):
    """Raised from inside the composer to stop at the first forbidden construct."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(line, message)
        self.line = line
        self.message = message


@functools.cache
def _loader_class() -> type[Any]:
    # Built on first use so that importing envguard.policy does not import yaml (~30 ms).
    import yaml  # type: ignore[import-untyped, unused-ignore]

    # Typed as Any: types-PyYAML, when installed, leaves the parser methods untyped.
    safe_loader: Any = yaml.SafeLoader

    class Loader(safe_loader):  # type: ignore[misc]
        depth = 0
        nodes = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            # Aliases are refused outright: they are the only way a small file can expand
            # into a huge tree, and a policy never needs them.
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                raise _RefusedError(
                    event.start_mark.line + 1,
                    f"YAML aliases (*{event.anchor}) are not allowed in a policy; write the value out",
                )
            self.depth += 1
            self.nodes += 1
            try:
                if self.depth > MAX_DEPTH:
                    line = self.peek_event().start_mark.line + 1
                    raise _RefusedError(line, f"nested deeper than {MAX_DEPTH} levels")
                if self.nodes > MAX_NODES:
                    line = self.peek_event().start_mark.line + 1
                    raise _RefusedError(line, f"more than {MAX_NODES} YAML values; not a policy file")
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

        def get_single_node(self) -> Any:
            # Same as PyYAML's, with our own message for a second document.
            self.get_event()
            document = None
            if not self.check_event(yaml.StreamEndEvent):
                document = self.compose_document()
            if not self.check_event(yaml.StreamEndEvent):
                line = self.peek_event().start_mark.line + 1
                raise _RefusedError(line, "a policy file holds one YAML document; found a second one")
            self.get_event()
            return document

    return Loader


def _compose(text: str, display: str) -> _Node:
    import yaml  # type: ignore[import-untyped, unused-ignore]

    loader: Any = None
    try:
        loader = _loader_class()(text)
        node: _Node | None = loader.get_single_node()
    except _RefusedError as exc:
        raise PolicyError(display, exc.line, "", exc.message) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise PolicyError(display, mark.line + 1 if mark else None, "", _yaml_message(exc)) from None
    except (yaml.YAMLError, RecursionError) as exc:
        raise PolicyError(display, None, "", f"invalid YAML: {exc}") from None
    finally:
        if loader is not None:
            loader.dispose()
    if node is None or (node.id == "scalar" and node.tag == _NULL):
        raise PolicyError(display, 1, "", "empty policy; it needs at least 'version: 1'")
    if node.id != "mapping":
        raise PolicyError(display, _line(node), "", f"expected a mapping at the top level, got {_describe(node)}")
    return node


def _yaml_message(exc: Any) -> str:
    problem = str(exc.problem or "syntax error")
    context = str(exc.context or "")
    message = f"invalid YAML: {problem}" + (f" ({context})" if context else "")
    # The two mistakes everyone makes with specifiers in YAML.
    if "alias" in context:
        message += '; a bare * starts a YAML alias: quote it ("*")'
    elif "block scalar" in context:
        message += '; quote specifiers that start with > or | (">=5,<6")'
    return message


# --------------------------------------------------------------------------- node helpers

_STR: Final = "tag:yaml.org,2002:str"
_INT: Final = "tag:yaml.org,2002:int"
_BOOL: Final = "tag:yaml.org,2002:bool"
_NULL: Final = "tag:yaml.org,2002:null"
_TIMESTAMP: Final = "tag:yaml.org,2002:timestamp"
_MAP: Final = "tag:yaml.org,2002:map"
_SEQ: Final = "tag:yaml.org,2002:seq"

_KINDS: Final = {
    _STR: "a string",
    _INT: "an integer",
    "tag:yaml.org,2002:float": "a number",
    _BOOL: "a boolean",
    _NULL: "null",
    _TIMESTAMP: "a date",
    _MAP: "a mapping",
    _SEQ: "a list",
}


def _line(node: _Node) -> int:
    return node.start_mark.line + 1


def _describe(node: _Node) -> str:
    return _KINDS.get(node.tag, f"a value tagged {node.tag}")


def _is_null(node: _Node) -> bool:
    return node.id == "scalar" and node.tag == _NULL


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


@record(frozen=True)
class _File:
    """The policy file being parsed, for its errors."""

    display: str

    def fail(self, node: _Node | None, key: str, message: str) -> PolicyError:
        return PolicyError(self.display, _line(node) if node is not None else None, key, message)


def _entries(f: _File, node: _Node | None, key: str) -> list[tuple[str, _Node, _Node]]:
    """(key, key node, value node) of a mapping; absent or null counts as empty, so that
    commented-out sections (`approved:` with every entry commented) stay valid."""
    if node is None or _is_null(node):
        return []
    if node.id != "mapping" or node.tag != _MAP:
        raise f.fail(node, key, f"expected a mapping, got {_describe(node)}")
    first_seen: dict[str, int] = {}
    entries: list[tuple[str, _Node, _Node]] = []
    for key_node, value_node in node.value:
        if key_node.id != "scalar" or key_node.tag != _STR:
            raise f.fail(key_node, key, f"keys must be strings, got {_describe(key_node)}")
        name = str(key_node.value)
        # PyYAML silently keeps the last duplicate; in a policy that hides a mistake.
        if name in first_seen:
            message = f"duplicate key (first written on line {first_seen[name]})"
            raise f.fail(key_node, _child(key, name), message)
        first_seen[name] = _line(key_node)
        entries.append((name, key_node, value_node))
    return entries


def _fields(f: _File, node: _Node, key: str, allowed: Sequence[str], required: Sequence[str] = ()) -> dict[str, _Node]:
    found: dict[str, _Node] = {}
    for name, key_node, value_node in _entries(f, node, key):
        if name not in allowed:
            raise f.fail(key_node, _child(key, name), _unknown_key(name, allowed))
        found[name] = value_node
    for name in required:
        if name not in found:
            raise f.fail(node, _child(key, name), "missing required key")
    return found


def _unknown_key(name: str, allowed: Sequence[str]) -> str:
    import difflib  # only for a misspelt key: ~3 ms at start otherwise

    close = difflib.get_close_matches(name, allowed, n=1)
    if close:
        return f"unknown key; did you mean '{close[0]}'?"
    return "unknown key; expected one of: " + ", ".join(allowed)


def _items(f: _File, node: _Node | None, key: str) -> list[tuple[str, _Node]]:
    if node is None or _is_null(node):
        return []
    if node.id != "sequence" or node.tag != _SEQ:
        raise f.fail(node, key, f"expected a list, got {_describe(node)}")
    return [(f"{key}[{index}]", item) for index, item in enumerate(node.value)]


def _string(f: _File, node: _Node, key: str) -> str:
    if node.id != "scalar" or node.tag != _STR:
        message = f"expected a string, got {_describe(node)}"
        if node.id == "scalar" and node.tag in _KINDS and node.tag != _NULL:
            message += f" ({node.value}); put it in quotes"
        raise f.fail(node, key, message)
    text = str(node.value).strip()
    if not text:
        raise f.fail(node, key, "must not be empty")
    return text


def _specifier(f: _File, node: _Node, key: str) -> str:
    text = _string(f, node, key)
    try:
        SpecifierSet(text)
    except InvalidSpecifier:
        message = f"invalid specifier {text!r}"
        if re.fullmatch(r"v?\d+(\.\d+)*", text):
            message += f" (did you mean '=={text}' or '>={text}'?)"
        raise f.fail(node, key, message) from None
    return text


def _choice(f: _File, node: _Node, key: str, choices: Sequence[str]) -> str:
    text = _string(f, node, key)
    if text not in choices:
        raise f.fail(node, key, f"unknown value {text!r}; expected one of: " + ", ".join(choices))
    return text


@functools.cache
def _date_pattern() -> re.Pattern[str]:
    return re.compile(r"\d{4}-\d{2}-\d{2}")


def _date(f: _File, node: _Node, key: str) -> str:
    # An unquoted date arrives with the YAML timestamp tag; a quoted one as a string.
    if node.id != "scalar" or node.tag not in (_TIMESTAMP, _STR):
        raise f.fail(node, key, f"expected a date (YYYY-MM-DD), got {_describe(node)}")
    text = str(node.value).strip()
    try:
        if not _date_pattern().fullmatch(text):
            raise ValueError(text)
        return _dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise f.fail(node, key, f"invalid date {text!r}; expected YYYY-MM-DD") from None


def _rule_name(f: _File, node: _Node, key: str) -> str:
    text = _string(f, node, key)
    if text not in RULE_NAMES:
        import difflib

        close = difflib.get_close_matches(text, RULE_NAMES, n=1)
        hint = f"did you mean '{close[0]}'?" if close else "expected one of: " + ", ".join(RULE_NAMES)
        raise f.fail(node, key, f"unknown rule {text!r}; {hint}")
    return text


# --------------------------------------------------------------------------- names, patterns

@functools.cache
def _name_pattern() -> re.Pattern[str]:
    return re.compile(r"[A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9]", re.IGNORECASE)


@functools.cache
def _name_glob() -> re.Pattern[str]:
    return re.compile(r"[A-Z0-9._*?\[\]-]+", re.IGNORECASE)


def _package_name(f: _File, node: _Node, key: str, text: str) -> NormalizedName:
    if not _name_pattern().fullmatch(text):
        raise f.fail(node, key, f"invalid package name {text!r}")
    return normalize(text)


def _normalize_glob(pattern: str) -> str:
    # PEP 503 normalisation applied to a glob: the wildcards pass through unchanged.
    return re.sub(r"[-_.]+", "-", pattern).lower()


def _pattern_parts(f: _File, node: _Node, key: str, *, negation: bool) -> tuple[str, str]:
    """("!" or "", rest) of a selector; "!" is refused where negation means nothing."""
    text = _string(f, node, key)
    if not text.startswith("!"):
        return "", text
    if not negation:
        raise f.fail(node, key, "'!' negation is only supported in drift rule selectors")
    if text == "!":
        raise f.fail(node, key, "'!' needs a pattern after it")
    return "!", text[1:]


def _package_pattern(f: _File, node: _Node, key: str, *, negation: bool) -> str:
    bang, body = _pattern_parts(f, node, key, negation=negation)
    if not _name_glob().fullmatch(body):
        raise f.fail(node, key, f"invalid package name or glob {bang + body!r}")
    return bang + _normalize_glob(body)


def _waiver_package(f: _File, node: _Node, key: str) -> str:
    return _package_pattern(f, node, key, negation=False)


def _waiver_service(f: _File, node: _Node, key: str) -> str:
    return "".join(_pattern_parts(f, node, key, negation=False))


def _rule_package(f: _File, node: _Node, key: str) -> str:
    return _package_pattern(f, node, key, negation=True)


def _rule_service(f: _File, node: _Node, key: str) -> str:
    return "".join(_pattern_parts(f, node, key, negation=True))


def _rule_group(f: _File, node: _Node, key: str) -> str:
    # Loaders normalise group names ("Dev" -> "dev", "extra:Foo_Bar" -> "extra:foo-bar"),
    # so selectors are normalised the same way.
    bang, body = _pattern_parts(f, node, key, negation=True)
    prefix = "extra:" if body.startswith("extra:") else ""
    rest = body[len(prefix) :]
    if not _name_glob().fullmatch(rest):
        raise f.fail(node, key, f"invalid group name or glob {bang + body!r}")
    return bang + prefix + _normalize_glob(rest)


_Parse = Callable[[_File, _Node, str], str]


def _patterns(f: _File, node: _Node | None, key: str, parse: _Parse) -> tuple[str, ...]:
    return tuple(parse(f, item, path) for path, item in _items(f, node, key))


# --------------------------------------------------------------------------- one file

_TOP_KEYS: Final = ("version", "extends", "pytest", "plugins", "installs", "sources", "exceptions", "drift", "references")
_INSTALL_KEYS: Final = ("unpinned", "exempt")
_SOURCES_KEYS: Final = ("indexes", "allow-vcs", "allow-url", "allow-path", "require-hashes", "severity")
_PYTEST_KEYS: Final = ("allowed",)
_PLUGIN_KEYS: Final = ("unknown", "approved", "denied", "also_plugins")
_EXCEPTION_KEYS: Final = ("package", "services", "rule", "reason", "expires", "owner")
_DRIFT_KEYS: Final = ("default", "rules")
_RULE_KEYS: Final = ("packages", "services", "groups", "require")
_REQUIRE_KEYS: Final = ("pinned", "snap-to")
_REFERENCE_KEYS: Final = ("path", "url", "sha256", "format")
# What a reference may be read as: every record format, a constraints file (each listed
# package within its specifier) and an inventory artifact of one service.
REFERENCE_FORMATS: Final[tuple[str, ...]] = (
    "constraints",
    "freeze",
    "requirements",
    "uv",
    "poetry",
    "pdm",
    "pipfile",
    "pylock",
    "pip-report",
    "pip-inspect",
    "pip-list",
    "conda",
    "snapshot",
    "inventory",
)
# A reference's name: never a qualified organisation service (`repo/name`), never a path.
@functools.cache
def reference_name() -> re.Pattern[str]:
    return re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _parse_layer(data: bytes, display: str) -> _Layer:
    f = _File(display)
    root = _compose(_decode(data, display), display)
    # The version is checked before anything else: a newer schema may have keys we don't know.
    by_name = {name: (key_node, value) for name, key_node, value in _entries(f, root, "")}
    if "version" not in by_name:
        raise f.fail(root, "version", "missing required key (the first line of a policy is 'version: 1')")
    _version(f, by_name["version"][1])
    fields = _fields(f, root, "", _TOP_KEYS)

    explicit: set[str] = set()
    pytest_allowed = _pytest_section(f, fields.get("pytest"), explicit)
    unknown, approved, denied, also = _plugins_section(f, fields.get("plugins"), explicit)
    waivers = _items(f, fields.get("exceptions"), "exceptions")
    exceptions = tuple(_exception(f, item, path) for path, item in waivers)
    drift_default, drift_rules = _drift_section(f, fields.get("drift"), explicit)
    unpinned, exempt = _installs_section(f, fields.get("installs"), explicit)
    sources = _sources_section(f, fields.get("sources"), explicit)
    references = _references_section(f, fields.get("references"))

    extends = None
    if "extends" in fields:
        node = fields["extends"]
        extends = (_extends(f, node), _line(by_name["extends"][0]))

    policy = Policy(
        files=(display,),
        pytest_allowed=pytest_allowed,
        unknown=cast(UnknownPlugins, unknown),
        approved=approved,
        denied=denied,
        also_plugins=also,
        exceptions=exceptions,
        drift_default=cast(DriftLevel, drift_default),
        drift_rules=drift_rules,
        unpinned=cast(UnknownPlugins, unpinned),
        unpinned_exempt=exempt,
        explicit=frozenset(explicit),
        references=references,
        sources=sources,
    )
    return _Layer(policy, extends)


def _sources_section(f: _File, node: _Node | None, explicit: set[str]) -> Sources:
    """`sources:`; each key written is recorded in `explicit` (`sources.indexes`, ...)."""
    if node is None or _is_null(node):
        return Sources()
    fields = _fields(f, node, "sources", _SOURCES_KEYS)
    found: dict[str, Any] = {}
    if "indexes" in fields and not _is_null(fields["indexes"]):
        found["indexes"] = _source_patterns(f, fields["indexes"], "sources.indexes")
    for key in ("allow-vcs", "allow-url", "allow-path"):
        if key in fields:
            found[key.replace("-", "_")] = _allowed(f, fields[key], f"sources.{key}")
    if "require-hashes" in fields:
        found["require_hashes"] = _boolean(f, fields["require-hashes"], "sources.require-hashes")
    severity = dict(Sources().severity)
    for rule, key_node, value in _entries(f, fields.get("severity"), "sources.severity"):
        key = f"sources.severity.{rule}"
        if rule not in SOURCE_RULES:
            raise f.fail(key_node, key, _unknown_key(rule, SOURCE_RULES))
        severity[rule] = _choice(f, value, key, UNKNOWN_VALUES)
        explicit.add(key)
    explicit.update(f"sources.{key}" for key in fields if key != "severity")
    return Sources(**found, severity=tuple(severity.items()))


def _allowed(f: _File, node: _Node, key: str) -> Allowed:
    """`true` (everything), `false` (nothing) or a list of globs."""
    if node.id == "scalar" and node.tag == _BOOL:
        return _boolean(f, node, key)
    if node.id != "sequence":
        raise f.fail(node, key, f"expected true, false or a list of URL or path globs, got {_describe(node)}")
    return _source_patterns(f, node, key)


def _source_patterns(f: _File, node: _Node, key: str) -> tuple[str, ...]:
    patterns = tuple(_string(f, item, path) for path, item in _items(f, node, key))
    for (path, item), pattern in zip(_items(f, node, key), patterns):
        if " " in pattern:
            raise f.fail(item, path, f"a URL or path has no spaces: {pattern!r}")
    return patterns


def _boolean(f: _File, node: _Node, key: str) -> bool:
    if node.id != "scalar" or node.tag != _BOOL:
        raise f.fail(node, key, f"expected true or false, got {_describe(node)}")
    return str(node.value).strip().lower() in ("true", "yes", "on")


def _references_section(f: _File, node: _Node | None) -> dict[str, ReferenceSpec]:
    """`references: {NAME: REF}` or `{NAME: {path: REF | url: URL, sha256: HEX, format: FORMAT}}`."""
    found: dict[str, ReferenceSpec] = {}
    for name, key_node, value in _entries(f, node, "references"):
        key = f"references.{name}"
        if not reference_name().fullmatch(name):
            raise f.fail(key_node, key, "a reference name is letters, digits, '.', '_' and '-' (no '/')")
        fmt = None
        if value.id == "mapping":
            fields = _fields(f, value, key, _REFERENCE_KEYS)
            if ("path" in fields) == ("url" in fields):
                raise f.fail(value, key, "expected exactly one of 'path' or 'url' (with 'sha256')")
            if "path" in fields:
                if "sha256" in fields:
                    raise f.fail(fields["sha256"], f"{key}.sha256", "goes with 'url', not 'path'")
                written = _string(f, fields["path"], f"{key}.path")
            else:
                written = _pinned_url(f, value, fields, key)
            if "format" in fields:
                fmt = _choice(f, fields["format"], f"{key}.format", REFERENCE_FORMATS)
        else:
            written = _string(f, value, key)
        found[name] = ReferenceSpec(name, written, written, written.partition("#")[0], fmt, f.display, _line(key_node))
    return dict(sorted(found.items()))


def _installs_section(f: _File, node: _Node | None, explicit: set[str]) -> tuple[str, tuple[str, ...]]:
    if node is None:
        return "warning", DEFAULT_UNPINNED_EXEMPT
    fields = _fields(f, node, "installs", _INSTALL_KEYS)
    unpinned = "warning"
    if "unpinned" in fields:
        unpinned = _choice(f, fields["unpinned"], "installs.unpinned", UNKNOWN_VALUES)
        explicit.add("installs.unpinned")
    exempt = DEFAULT_UNPINNED_EXEMPT
    if "exempt" in fields:
        exempt = _patterns(f, fields["exempt"], "installs.exempt", _waiver_package)
        explicit.add("installs.exempt")
    return unpinned, exempt


def _version(f: _File, node: _Node) -> None:
    if node.id != "scalar" or node.tag != _INT:
        raise f.fail(node, "version", f"expected the integer {SCHEMA_VERSION}, got {_describe(node)}")
    if str(node.value).strip() != str(SCHEMA_VERSION):
        message = f"unsupported policy version {node.value}; this envguard reads version {SCHEMA_VERSION}"
        raise f.fail(node, "version", message)


def _extends(f: _File, node: _Node) -> str:
    """The base as a reference string: a path, `package:...`, a pinned URL, or `{url, sha256}`."""
    if node.id == "mapping":
        return _pinned_url(f, node, _fields(f, node, "extends", ("url", "sha256")), "extends")
    return _string(f, node, "extends")


def _pinned_url(f: _File, node: _Node, fields: dict[str, _Node], key: str) -> str:
    """`{url, sha256}` (the fields of `node`) as the reference string `url#sha256=HEX`."""
    for name in ("url", "sha256"):
        if name not in fields:
            raise f.fail(node, f"{key}.{name}", "missing required key")
    url = _string(f, fields["url"], f"{key}.url")
    digest = _string(f, fields["sha256"], f"{key}.sha256")
    if "#" in url:
        raise f.fail(fields["url"], f"{key}.url", "must not have a #fragment; the hash goes in sha256")
    if not re.fullmatch(r"[0-9a-fA-F]{64}", digest):
        raise f.fail(fields["sha256"], f"{key}.sha256", "must be 64 hexadecimal digits")
    return f"{url}#sha256={digest}"


def _pytest_section(f: _File, node: _Node | None, explicit: set[str]) -> str | None:
    if node is None:
        return None
    fields = _fields(f, node, "pytest", _PYTEST_KEYS)
    allowed = fields.get("allowed")
    if allowed is None or _is_null(allowed):
        return None
    explicit.add("pytest.allowed")
    # "*" lets an overriding file lift a base's constraint; it is stored as "no constraint".
    if allowed.id == "scalar" and allowed.tag == _STR and str(allowed.value).strip() == "*":
        return None
    return _specifier(f, allowed, "pytest.allowed")


def _plugins_section(
    f: _File, node: _Node | None, explicit: set[str]
) -> tuple[str, dict[NormalizedName, str], dict[NormalizedName, str], frozenset[NormalizedName]]:
    if node is None:
        return "warning", {}, {}, frozenset()
    fields = _fields(f, node, "plugins", _PLUGIN_KEYS)
    unknown = "warning"
    if "unknown" in fields:
        unknown = _choice(f, fields["unknown"], "plugins.unknown", UNKNOWN_VALUES)
        explicit.add("plugins.unknown")

    approved: dict[NormalizedName, str] = {}
    approved_at: dict[NormalizedName, tuple[str, int]] = {}
    for name, key_node, value in _entries(f, fields.get("approved"), "plugins.approved"):
        key = f"plugins.approved.{name}"
        normal = _unique_name(f, key_node, key, name, approved_at)
        if _is_null(value):
            raise f.fail(value, key, 'expected a version specifier, got null (write "*" to allow any version)')
        text = _string(f, value, key)
        approved[normal] = text if text == "*" else _specifier(f, value, key)

    denied: dict[NormalizedName, str] = {}
    denied_at: dict[NormalizedName, tuple[str, int]] = {}
    for name, key_node, value in _entries(f, fields.get("denied"), "plugins.denied"):
        key = f"plugins.denied.{name}"
        normal = _unique_name(f, key_node, key, name, denied_at)
        if normal in approved_at:
            written, line = approved_at[normal]
            raise f.fail(key_node, key, f"also approved as '{written}' on line {line}")
        if _is_null(value):
            raise f.fail(value, key, "expected the reason it is denied, got null")
        denied[normal] = _string(f, value, key)

    also: set[NormalizedName] = set()
    for path, item in _items(f, fields.get("also_plugins"), "plugins.also_plugins"):
        also.add(_package_name(f, item, path, _string(f, item, path)))
    return unknown, approved, denied, frozenset(also)


def _unique_name(
    f: _File, key_node: _Node, key: str, name: str, seen: dict[NormalizedName, tuple[str, int]]
) -> NormalizedName:
    normal = _package_name(f, key_node, key, name)
    if normal in seen:
        written, line = seen[normal]
        raise f.fail(key_node, key, f"same package as '{written}' on line {line} (names are PEP 503-normalised)")
    seen[normal] = (name, _line(key_node))
    return normal


def _exception(f: _File, node: _Node, key: str) -> Waiver:
    fields = _fields(f, node, key, _EXCEPTION_KEYS, required=("package", "reason", "expires"))
    rule = fields.get("rule")
    owner = fields.get("owner")
    return Waiver(
        package=_waiver_package(f, fields["package"], f"{key}.package"),
        reason=_string(f, fields["reason"], f"{key}.reason"),
        expires=_date(f, fields["expires"], f"{key}.expires"),
        services=_patterns(f, fields.get("services"), f"{key}.services", _waiver_service),
        rule=None if rule is None or _is_null(rule) else _rule_name(f, rule, f"{key}.rule"),
        owner=None if owner is None or _is_null(owner) else _string(f, owner, f"{key}.owner"),
        path=f.display,
        line=_line(node),
    )


def _drift_section(f: _File, node: _Node | None, explicit: set[str]) -> tuple[str, tuple[DriftRule, ...]]:
    if node is None:
        return "same-major", ()
    fields = _fields(f, node, "drift", _DRIFT_KEYS)
    default = "same-major"
    if "default" in fields:
        default = _choice(f, fields["default"], "drift.default", DRIFT_LEVELS)
        explicit.add("drift.default")
    items = _items(f, fields.get("rules"), "drift.rules")
    return default, tuple(_drift_rule(f, item, path) for path, item in items)


def _drift_rule(f: _File, node: _Node, key: str) -> DriftRule:
    fields = _fields(f, node, key, _RULE_KEYS, required=("packages", "require"))
    packages = _patterns(f, fields["packages"], f"{key}.packages", _rule_package)
    if not packages:
        raise f.fail(fields["packages"], f"{key}.packages", "must list at least one package name or glob")
    kind, value = _require(f, fields["require"], f"{key}.require")
    return DriftRule(
        packages=packages,
        services=_patterns(f, fields.get("services"), f"{key}.services", _rule_service),
        groups=_patterns(f, fields.get("groups"), f"{key}.groups", _rule_group),
        require_kind=kind,
        require_value=value,
        path=f.display,
        line=_line(node),
    )


def _require(f: _File, node: _Node, key: str) -> tuple[RequireKind, str | None]:
    if node.id == "mapping":
        fields = _fields(f, node, key, _REQUIRE_KEYS)
        if len(fields) != 1:
            raise f.fail(node, key, "expected exactly one of 'pinned' or 'snap-to'")
        if "pinned" in fields:
            return "pinned", _specifier(f, fields["pinned"], f"{key}.pinned")
        return "snap-to", _string(f, fields["snap-to"], f"{key}.snap-to")
    if node.id != "scalar" or node.tag != _STR:
        message = (
            f"expected one of {', '.join(DRIFT_LEVELS)} or a mapping with 'pinned' or 'snap-to', got {_describe(node)}"
        )
        raise f.fail(node, key, message)
    return cast(RequireKind, _choice(f, node, key, DRIFT_LEVELS)), None
