"""Source rules: where packages come from (`sources:` in the policy).

* source-not-allowed (EG601): a record entry or a declared install from an index `indexes` does
  not list, or from a VCS, an archive URL or a local path that `allow-vcs`, `allow-url` or
  `allow-path` does not let through. An entry the installer may take from several indexes
  (`--extra-index-url`) is judged by each of them: any one not allowed lets a package in from it.
  An index entry whose record does not say where it comes from (pip freeze, a requirements file
  naming no index) is not judged: pip's configuration decides, not the file.
* hash-missing (EG602): with `require-hashes`, a record entry downloaded from an index or a URL
  whose record holds no hash (`Package.hashed is False`); formats that cannot hold hashes (a
  freeze, pip list, conda) are not judged.
* insecure-index (EG603): a source reached over plain http (other than this machine, which pip
  trusts too), or whose URL holds credentials, masked in every report (`envguard.redact`).

One finding per service, rule and package, at every entry's line. A policy glob matches the
source as `envguard.sources._origin` spells it, compared without its credentials, with the scheme
and host in lower case and without a trailing `/`.
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from envguard.model import Declaration, Finding, Kind, Location, Package, Service, Severity
from envguard.policy import Allowed, Policy
from envguard.redact import has_credentials
from envguard.rules._common import finding

_LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")
_REMOTE_SCHEMES = ("http", "https", "ftp")
_VCS_PREFIXES = ("git+", "hg+", "svn+", "bzr+")

Entry = Package | Declaration
# What is wrong with where an entry comes from, or None.
_Judge = Callable[[Entry], "str | None"]


def source_findings(service: Service, policy: Policy) -> Iterator[Finding]:
    sources = policy.sources
    checks = _Checks(policy)
    # The default policy restricts nothing but insecure sources: most runs judge only those, and
    # only the few distinct sources a service's entries share.
    restricted = sources.indexes is not None or not all(
        allowed is True for allowed in (sources.allow_vcs, sources.allow_url, sources.allow_path)
    )
    if not restricted and not sources.require_hashes:
        distinct = {p.source for p in service.packages} | {d.source for d in service.declarations}
        if not any(source is not None and checks.insecure_source(source) for source in distinct):
            return
    entries: list[Entry] = [p for p in service.packages if p.is_third_party]
    entries.extend(d for d in service.declarations if d.is_third_party)
    if not entries:
        return
    if restricted:
        yield from _grouped(service, "source-not-allowed", checks.not_allowed, entries, sources.severity_of("source-not-allowed"))
    if sources.require_hashes:
        unhashed = [p for p in service.packages if p.hashed is False and p.is_third_party]
        yield from _hash_missing(service, unhashed, sources.severity_of("hash-missing"))
    insecure = {source for source in {e.source for e in entries} if source is not None and checks.insecure_source(source)}
    if insecure:
        exposed = [e for e in entries if e.source in insecure]
        yield from _grouped(service, "insecure-index", checks.insecure, exposed, sources.severity_of("insecure-index"))


# --------------------------------------------------------------------------- judging one source


def comparable(text: str) -> str:
    """A source or a policy glob as compared: without credentials, the scheme and host in lower
    case and no trailing `/`; a local path normalised (`./libs/a/` -> `libs/a`)."""
    head, separator, rest = text.partition("://")
    if not separator:
        return posixpath.normpath(text) if text else text
    host, slash, path = rest.partition("/")
    host = host.rpartition("@")[2]
    return f"{head.lower()}://{host.lower()}{slash}{path}".rstrip("/")


def category(source: str, kind: Kind) -> str:
    """Which `allow-*` key decides a direct reference: vcs, url or path."""
    lowered = source.lower()
    if lowered.startswith(_VCS_PREFIXES) or (kind is Kind.VCS and "://" in lowered):
        return "vcs"
    if lowered.partition("://")[0] in _REMOTE_SCHEMES:
        return "url"
    return "path"


def _allows(allowed: Allowed, source: str) -> bool:
    if isinstance(allowed, bool):
        return allowed
    form = comparable(source)
    return any(fnmatch.fnmatchcase(form, comparable(pattern)) for pattern in allowed)


@dataclass
class _Checks:
    """The two judgements of a source, remembered per distinct source: a service's entries share
    a handful, and an organisation's 600,000 entries a few thousand."""

    policy: Policy

    def __post_init__(self) -> None:
        self._not_allowed: dict[tuple[str | None, Kind], str | None] = {}
        self._insecure: dict[str, str | None] = {}

    def not_allowed(self, entry: Entry) -> str | None:
        """Why `entry` may not come from where it does, or None."""
        key = (entry.source, entry.kind)
        if key not in self._not_allowed:
            self._not_allowed[key] = self._judge(entry.source, entry.kind)
        return self._not_allowed[key]

    def _judge(self, source: str | None, kind: Kind) -> str | None:
        sources = self.policy.sources
        if kind is Kind.REGISTRY:
            if source is None or sources.indexes is None:
                return None
            others = [index for index in source.split(" ") if not _allows(sources.indexes, index)]
            if not others:
                return None
            listed = ", ".join(sources.indexes) or "none"
            if " " in source:  # --extra-index-url: the installer takes the best version of any
                return f"from any of {source.replace(' ', ', ')}, and {_either(others)} is not an allowed index (sources.indexes: {listed})"
            return f"from {source}, not an allowed index (sources.indexes: {listed})"
        if source is None:
            return None  # a direct reference the record does not spell out (pip list)
        which = category(source, kind)
        allowed = {"vcs": sources.allow_vcs, "url": sources.allow_url, "path": sources.allow_path}[which]
        if _allows(allowed, source):
            return None
        noun = {"vcs": "a VCS checkout", "url": "a direct URL", "path": "a local path"}[which]
        return f"from {noun}, {source}, which sources.allow-{which} does not allow"

    def insecure(self, entry: Entry) -> str | None:
        """What is insecure about where `entry` comes from, or None."""
        return None if entry.source is None else self.insecure_source(entry.source)

    def insecure_source(self, source: str) -> str | None:
        if source not in self._insecure:
            self._insecure[source] = _insecurity(source)
        return self._insecure[source]


def _insecurity(source: str) -> str | None:
    problems = []
    for url in source.split(" "):
        scheme, separator, rest = url.partition("://")
        if not separator:
            continue
        host = rest.partition("/")[0].rpartition("@")[2].lower()
        bare_host = host if host.startswith("[") else host.partition(":")[0]
        parts = []
        if scheme.lower().rpartition("+")[2] == "http" and bare_host not in _LOCAL_HOSTS:
            parts.append("over plain http (anyone on the network path can change what is installed)")
        if has_credentials(url):
            parts.append("with credentials written in the URL (the secret is in the repository)")
        if parts:
            problems.append(f"{url} {' and '.join(parts)}")
    return "; ".join(problems) or None


def _either(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


# --------------------------------------------------------------------------- findings

def _grouped(service: Service, rule: str, judge: _Judge, entries: list[Entry], level: str) -> Iterator[Finding]:
    if level == "ignore":
        return
    found: dict[tuple[str, str], list[Entry]] = {}
    for entry in entries:
        why = judge(entry)
        if why is not None:
            found.setdefault((entry.name, why), []).append(entry)
    for (name, why), members in sorted(found.items()):
        where = _where(members)
        what = _verb(members)
        yield finding(
            rule,
            service.name,
            name,
            _version(members),
            f"{name} {what} {why}" if rule == "source-not-allowed" else f"{name} {what} from {why}",
            where,
            severity=Severity(level),
        )


def _hash_missing(service: Service, unhashed: list[Package], level: str) -> Iterator[Finding]:
    if level == "ignore":
        return
    by_name: dict[str, list[Package]] = {}
    for package in unhashed:
        by_name.setdefault(package.name, []).append(package)
    for name, members in sorted(by_name.items()):
        files = ", ".join(sorted({p.path for p in members}))
        yield finding(
            "hash-missing",
            service.name,
            name,
            _version(members),
            f"{name} is recorded without hashes in {files}, and sources.require-hashes asks for them: "
            "a changed file on the index would be installed unnoticed",
            _where(members),
            severity=Severity(level),
        )


def _verb(entries: Sequence[Entry]) -> str:
    locked = any(isinstance(e, Package) for e in entries)
    declared = [e for e in entries if isinstance(e, Declaration)]
    if not declared:
        return "is locked"
    said = "installed" if all(d.install for d in declared) else "declared"
    return f"is locked and {said}" if locked else f"is {said}"


def _where(entries: Sequence[Entry]) -> tuple[Location, ...]:
    """The records' lines first (the lock is where the source is decided), then the declarations'."""
    recorded = {Location(e.path, e.line) for e in entries if isinstance(e, Package)}
    declared = {Location(e.path, e.line) for e in entries if isinstance(e, Declaration)} - recorded
    return tuple(sorted(recorded, key=_order)) + tuple(sorted(declared, key=_order))


def _order(location: Location) -> tuple[str, int]:
    return location.path, location.line or 0


def _version(entries: Sequence[Entry]) -> str | None:
    versions = sorted({e.version for e in entries if e.version is not None})
    return versions[0] if len(versions) == 1 else None
