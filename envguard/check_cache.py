"""The check cache: what `envguard check` found per service and per package, kept until an input changes.

A warm run must cost a fraction of a cold one even when one lockfile changed (issue 7: at most a
tenth), and with hundreds of services the rules alone take longer than that. So `check` keeps,
next to the inventory cache (`envguard.cache`), the two stages of its evaluation:

* per service, its assessment (`envguard.assessment.Assessment`: the plugin and package findings,
  the pytest configuration's diagnostics) and its drift entries per package. It is reused while
  the service has the same name, directory and sources, its records the same content
  (`Service.fingerprint`, which the inventory cache verified) and every pytest configuration
  file the same content, or still no file.
* per package, the drift entries of every service that holds it and what comparing them found
  (`envguard.rules.drift.PackageDrift`). Only the packages whose members changed are compared
  again: those whose entries differ in a service assessed afresh, and those of a service that
  is gone. A changed lockfile usually moves a few packages; the others keep their result.

Everything else a run reports (waivers and their dates, baselines, --changed and --select,
snap-to references that are missing) is worked out again every time: it is cheap.

A file is only valid for one context: the policy (every field of it), the target (--python,
--platform, --implementation) and the envguard code (`cache._header`). Each context has its own
file, `.envguard-cache/check-<context>.bin`, and the `MAX_CONTEXTS` most recently written are
kept: a pipeline that checks one workspace for several Pythons, or a developer switching policy
branches, finds its results again instead of emptying the cache on every switch. Storage,
sealing and discarding work as for the inventory cache: blobs in `.envguard-cache/packs/`,
`check-<context>-*.pack`, checksummed with the user's key, marshal only. A file of another key
is discarded quietly; one of this user's key that its seal or its blobs' digests show damaged or
forged is discarded and reported once, as `envguard.cache.report` says. A blob that does not
match its digest raises Damaged, and `check.evaluate` starts over without the cache.
"""

from __future__ import annotations

import dataclasses
import enum
import marshal
import os
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from envguard import cache
from envguard.cache import (
    MALFORMED,
    FileRecord,
    Forged,
    Ref,
    SealedFile,
    SealedWriter,
    check_files,
    digest_of,
    recording,
)
from envguard.model import Diagnostic, Finding, Location, NormalizedName, Service, Severity

if TYPE_CHECKING:
    from envguard.assessment import Assessment
    from envguard.rules.drift import DriftEntry, PackageDrift

# A few targets or policies at once (3.10 to 3.13 in one matrix); each file costs a few MB at most.
MAX_CONTEXTS = 4
_MAGIC = b"envguard check cache\n"
# Entries that only moved lines are kept beside a package's members blob, up to this many
# services; then the blob is written anew with them.
_MAX_PATCHES = 16

# A service's drift entries of one package, packed (see _pack_entries).
_Packed = tuple[Any, ...]
Compare = Callable[[NormalizedName, Sequence[tuple[str, Sequence["DriftEntry"]]]], "PackageDrift"]


def context_key(*parts: object) -> bytes:
    """Digest of the values a run's results depend on besides its files (policy, target)."""
    return digest_of(tuple(_canonical(part) for part in parts))


def _canonical(value: object) -> Any:
    """`value` as plain, marshal-able data that does not depend on hash order (sets)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        return (type(value).__name__, *(_canonical(getattr(value, f.name)) for f in fields))
    if isinstance(value, enum.Enum):
        return _canonical(value.value)
    if isinstance(value, Mapping):
        return tuple(sorted(((_canonical(k), _canonical(v)) for k, v in value.items()), key=repr))
    if isinstance(value, (set, frozenset)):
        return tuple(sorted((_canonical(item) for item in value), key=repr))
    if isinstance(value, (list, tuple)):
        return tuple(_canonical(item) for item in value)
    return value


class Damaged(Exception):
    """A blob the run needed does not hold what the index says: the run starts over without the file.

    `where` is the file at fault when it is not the index (a pack). `quiet` when the pack is
    gone, which a concurrent run that compacted the cache explains: no damage to report.
    """

    def __init__(self, what: str, where: Path | None = None, quiet: bool = False) -> None:
        super().__init__(what)
        self.what = what
        self.where = where
        self.quiet = quiet


class CheckCache:
    """The check cache of one workspace and context; `save` writes what this run found."""

    def __init__(
        self, directory: Path, root: Path, context: bytes, listed: Mapping[str, frozenset[str]] | None = None
    ) -> None:
        self.directory = directory
        self.root = root
        self._listed = listed  # Workspace.listed, for check_files
        self._root = os.fspath(root)
        self._context = context
        self.name = file_name(context)
        self._file: SealedFile | None = None
        # What the file holds, then what this run keeps. Blobs are a Ref into _file, or bytes
        # made this run.
        # service name -> (key, fingerprint, pytest configuration files, packed Assessment,
        #                  blob: its packed drift entries per package)
        self._services: dict[str, tuple[Any, ...]] = {}
        self._kept: dict[str, tuple[Any, ...]] = {}
        # package -> (blob: its members, newer entries of some of them, packed PackageDrift)
        self._packages: dict[str, tuple[Ref | bytes, dict[str, _Packed], _Packed]] = {}
        self._fresh: dict[str, Assessment] = {}
        self._writer: SealedWriter | None = None  # the next file's, made at the first new blob
        self.discarded: str | None = None  # why an existing cache file was not used
        self.forged: Forged | None = None  # the first damage or forgery found, reported by `save`
        self._read()

    @property
    def path(self) -> Path:
        return self.directory / f"{self.name}.bin"

    def _read(self) -> None:
        try:
            found = SealedFile.read(self.path, _MAGIC)
        except FileNotFoundError:
            return
        except Forged as forged:
            self._forge(forged)
            return
        except Exception as exc:  # noqa: BLE001 - whatever is wrong with it, the file is not used
            self.discarded = f"{type(exc).__name__}: {exc}"
            return
        if type(found.content) is not tuple or len(found.content) != 3:
            self._forge(Forged(self.path, MALFORMED))
            return
        context, services, packages = found.content
        if context != self._context:
            return  # another policy, target or envguard: nothing in it applies
        if type(services) is not dict or type(packages) is not dict:
            self._forge(Forged(self.path, MALFORMED))
            return
        self._file, self._services, self._packages = found, services, packages

    def _forge(self, forged: Forged) -> None:
        self.discarded = f"{type(forged).__name__}: {forged}"
        if self.forged is None:
            self.forged = forged

    def forget(self, damaged: Damaged) -> None:
        """Drop everything read from the file, and what this run made from it."""
        self._file = None
        self._services, self._kept, self._packages, self._fresh = {}, {}, {}, {}
        if self._writer is not None:
            self._writer.discard()
            self._writer = None
        self.discarded = f"a damaged blob: {damaged}"
        if not damaged.quiet:
            self._forge(Forged(damaged.where or self.path, damaged.what))

    def _new(self, data: bytes) -> Ref:
        """A blob made this run, written to the next file's pack now rather than kept until `save`."""
        if self._writer is None:
            self._writer = SealedWriter(self.directory, self._file, self.name)
        return self._writer.add(data)

    def _load(self, blob: Ref | bytes) -> Any:
        try:
            if isinstance(blob, bytes):
                return marshal.loads(blob)
            if self._file is None:
                raise ValueError("no cache file")
            return marshal.loads(self._file.blob(blob))
        except OSError as exc:
            raise Damaged(str(exc), quiet=True) from exc
        except Forged as exc:
            raise Damaged(exc.what, exc.path) from exc
        except Exception as exc:  # noqa: BLE001 - whatever is wrong with it, the file is not used
            raise Damaged(MALFORMED) from exc

    # ----------------------------------------------------------------------- per service

    def assessment(
        self, service: Service, make: Callable[[], Assessment], watched: Callable[[], Iterable[Path]]
    ) -> Assessment:
        """The assessment of `service`: the kept one while nothing it depends on changed, else `make()`.

        `watched()` are the files beside the records that `make` may read (the pytest
        configuration): a kept assessment holds only while each of them has the same content,
        or is still not a file.
        """
        key = (service.path, _sources(service.sources), _sources(service.ignored), _sources(service.declared_sources))
        kept = self._services.get(service.name)
        if kept is not None and service.fingerprint is not None and kept[0] == key and kept[1] == service.fingerprint:
            try:
                files = check_files(self._root, kept[2], self._listed)
                if files is not None:
                    found = _unpack_assessment(kept[3])
                    self._kept[service.name] = (key, service.fingerprint, files, kept[3], kept[4])
                    return found
            except Exception:  # noqa: BLE001 - a malformed entry is made again, and the file rewritten
                self._forge(Forged(self.path, MALFORMED))
        with recording(self.root) as recorder:
            found = make()
        for path in watched():
            if not os.path.isfile(path):
                recorder.absent(path)
        self._fresh[service.name] = found
        # Kept even when it may not be reused, so that the packages know the service: without a
        # fingerprint (its records had errors), or with errors of its own (an unreadable file
        # leaves nothing to watch). `drift` adds its packed entries.
        reusable = service.fingerprint if not found.errors else None
        self._kept[service.name] = (key, reusable, recorder.take(), _pack_assessment(found), b"")
        return found

    # ----------------------------------------------------------------------- per package

    def drift(self, services: Collection[str], compare: Compare) -> dict[NormalizedName, PackageDrift]:
        """Every package's PackageDrift, compared again only where some service's entries changed.

        `services` names every service of this run; `compare` compares one package. Raises
        Damaged when a blob it needs is: `forget`, then assess every service again.
        """
        # What changed, per package: entries of a service assessed afresh that only moved to
        # other lines of their file (a re-lock that moved something above them), and anything
        # else (other entries, a service that came or went).
        moved: dict[str, dict[str, tuple[_Packed, _Packed]]] = {}  # package -> service -> (before, after)
        changed: set[str] = set()
        # package -> service assessed afresh -> its entries, packed and as they are
        fresh: dict[str, dict[str, _Packed]] = {}
        live: dict[str, dict[str, Sequence[DriftEntry]]] = {}
        for service, assessment in self._fresh.items():
            assert assessment.drift is not None  # made this run
            new: dict[str, _Packed] = {}
            for key, held in assessment.drift.items():
                new[key] = fresh.setdefault(key, {})[service] = _pack_entries(held)
                live.setdefault(key, {})[service] = held
            self._kept[service] = (*self._kept[service][:4], self._new(marshal.dumps(new)))
            previous = self._services.get(service)
            if previous is None:
                changed.update(new)
                continue
            old = self._entries(previous[4])
            for package in old.keys() | new.keys():
                before, after = old.get(package), new.get(package)
                if before == after:
                    continue
                if before is not None and after is not None and _only_lines_differ(before, after):
                    moved.setdefault(package, {})[service] = (before, after)
                else:
                    changed.add(package)
        for gone, previous in self._services.items():
            if gone not in services:
                changed.update(self._entries(previous[4]))
        changed.update(package for package in moved if package not in self._packages)

        results: dict[NormalizedName, PackageDrift] = {}
        packages: dict[str, tuple[Ref | bytes, dict[str, _Packed], _Packed]] = {}
        for package, (members_blob, patches, packed) in self._packages.items():
            if package in changed:
                continue
            kept = _unpack_drift(packed)
            if package in moved:
                remapped = _moved_lines(kept, moved[package].values())
                if remapped is None:
                    changed.add(package)  # entries that changed places: compare again
                    continue
                kept, packed = remapped, _pack_drift(remapped)
                patches = {**patches, **{service: after for service, (_, after) in moved[package].items()}}
                if len(patches) > _MAX_PATCHES:
                    members = {**dict(self._load(members_blob)), **patches}
                    members_blob, patches = self._new(marshal.dumps(tuple(sorted(members.items())))), {}
            packages[package] = (members_blob, patches, packed)
            results[NormalizedName(package)] = kept
        for package in sorted(changed):
            name = NormalizedName(package)
            before_members: dict[str, _Packed] = {}
            if package in self._packages:
                members_blob, patches, packed = self._packages[package]
                before_members = {**dict(self._load(members_blob)), **patches}
            members = {s: held for s, held in before_members.items() if s in services and s not in self._fresh}
            members.update(fresh.get(package, {}))
            current = live.get(package, {})
            if not members:
                continue
            ordered = tuple(sorted(members.items()))
            if package in self._packages and members == before_members:
                result = _unpack_drift(packed)
            else:
                result = compare(name, [(s, current.get(s) or _unpack_entries(s, name, held)) for s, held in ordered])
                packed = _pack_drift(result)
            packages[package] = (self._new(marshal.dumps(ordered)), {}, packed)
            results[name] = result
        self._packages = packages
        return {name: results[name] for name in sorted(results)}

    def _unchanged(self) -> bool:
        """Whether this run found just what the file holds (every pre-commit run that changed no
        input): writing it again cost such a run 3-4 % of its time (paired runs, 21 pairs)."""
        if self._file is None or self._fresh or self._writer is not None:
            return False
        _, services, packages = self._file.content
        return bool(self._kept == services and self._packages == packages)

    def _entries(self, blob: Ref | bytes) -> dict[str, _Packed]:
        """A service's packed drift entries per package, as kept."""
        found = self._load(blob)
        if type(found) is not dict:
            raise Damaged(MALFORMED)
        return found

    def save(self) -> None:
        """Write this run's services and packages, and report the damage or forgery found (`forged`)."""
        written = self._save()
        if self.forged is not None:
            cache.report(self.root, self.directory, self.forged, written)
            self.forged = None

    def _save(self) -> bool:
        """Write this run's services and packages; any failure leaves the run without a cache."""
        if self._unchanged():
            # Touched, not rewritten: the most recently used contexts are the ones kept.
            try:
                os.utime(self.path)
            except OSError:
                pass
            return True
        writer = self._writer or SealedWriter(self.directory, self._file, self.name)

        def put(blob: Ref | bytes) -> Ref:
            return writer.add(blob) if isinstance(blob, bytes) else writer.keep(blob)

        try:
            services = {name: (*record[:4], put(record[4])) for name, record in self._kept.items()}
            packages = {package: (put(members), *rest) for package, (members, *rest) in self._packages.items()}
        except (OSError, ValueError):  # a pack gone or cut short since it was read: compacting fails
            writer.discard()
            return False
        if not writer.write(self.path, _MAGIC, (self._context, services, packages)):
            return False
        _keep_recent_contexts(self.directory, self.name)
        return True


def file_name(context: bytes) -> str:
    """`check-<context>`: the stem of a context's index file and the prefix of its packs."""
    return f"check-{context.hex()[:16]}"


def _keep_recent_contexts(directory: Path, current: str) -> None:
    """Delete the index files and packs of all but the MAX_CONTEXTS most recently written contexts,
    and the one `check.bin` of envguard before per-context files (its packs: `check-<16 hex>.pack`)."""
    try:
        indexes = [entry for entry in os.scandir(directory) if _INDEX.fullmatch(entry.name)]
        ranked = sorted(indexes, key=lambda entry: (entry.name != f"{current}.bin", -entry.stat().st_mtime, entry.name))
    except OSError:
        return
    gone = {entry.name[: -len(".bin")] for entry in ranked[MAX_CONTEXTS:]}
    for stem in sorted(gone):
        _unlink(directory / f"{stem}.bin")
    legacy = directory / "check.bin"
    if legacy.exists():
        _unlink(legacy)
    elif not gone:
        return
    try:
        packs = [entry.name for entry in os.scandir(directory / cache.PACKS)]
    except OSError:
        return
    prefixes = tuple(f"{stem}-" for stem in gone)
    for name in packs:
        if name.startswith(prefixes) or _LEGACY_PACK.fullmatch(name):
            _unlink(directory / cache.PACKS / name)


_INDEX = re.compile(r"check-[0-9a-f]{16}\.bin")
_LEGACY_PACK = re.compile(r"check-[0-9a-f]{16}\.pack")


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


# --------------------------------------------------------------------------- moved lines

def _only_lines_differ(old: _Packed, new: _Packed) -> bool:
    """Whether two packed entry lists are the same entries, some of them at other lines."""
    return len(old) == len(new) and all(
        a[:_LINE_AT] == b[:_LINE_AT] and a[_LINE_AT + 1 :] == b[_LINE_AT + 1 :] for a, b in zip(old, new)
    )


def _moved_lines(result: PackageDrift, moves: Iterable[tuple[_Packed, _Packed]]) -> PackageDrift | None:
    """`result` with the locations of entries that moved lines: (entries before, after) per service.

    The comparison reads lines only to order one service's entries of one version in one file:
    while every file keeps its entries in the same order, the findings stay the same but for
    their locations. None when some file does not.
    """
    from envguard.rules.drift import PackageDrift

    lines: dict[tuple[str, int], int] = {}
    for before, after in moves:
        for old, new in zip(before, after):
            if lines.setdefault((old[_PATH_AT], old[_LINE_AT]), new[_LINE_AT]) != new[_LINE_AT]:
                return None
    by_path: dict[str, list[tuple[int, int]]] = {}
    for (path, old_line), new_line in lines.items():
        by_path.setdefault(path, []).append((old_line, new_line))
    for pairs in by_path.values():
        pairs.sort()
        if any(a[1] >= b[1] for a, b in zip(pairs, pairs[1:])):
            return None
    findings = tuple(
        dataclasses.replace(
            f,
            locations=tuple(
                sorted(
                    (Location(l.path, lines.get((l.path, l.line or 0), l.line)) for l in f.locations),
                    key=lambda l: (l.path, l.line or 0),
                )
            ),
        )
        for f in result.findings
    )
    return PackageDrift(findings, result.rows, result.unchecked)


# --------------------------------------------------------------------------- packing


def _sources(sources: Iterable[Any]) -> tuple[tuple[str, str], ...]:
    return tuple((s.path, s.format) for s in sources)


# A packed entry: one flat tuple (a cold run packs every entry of every service), the drift
# fields, then cache.package_row of the package without its name, which the entry is kept under.
_PATH_AT, _LINE_AT = 8, 9


def _pack_entries(entries: Sequence[DriftEntry]) -> _Packed:
    row = cache.package_row
    return tuple([(e.rule, e.command_format, e.compiled, e.declared_group, *row(e.package)[1:]) for e in entries])


def _unpack_entries(service: str, name: NormalizedName, packed: _Packed) -> tuple[DriftEntry, ...]:
    from envguard.rules.drift import DriftEntry

    try:
        packages = [cache.unpack_package((name, *e[4:])) for e in packed]
        return tuple(DriftEntry(service, e[0], p, e[1], e[2], p.version, e[3]) for e, p in zip(packed, packages))
    except Exception as exc:  # noqa: BLE001 - not what _pack_entries wrote
        raise Damaged(f"{MALFORMED} (the entries of {name})") from exc


def _pack_diagnostic(d: Diagnostic) -> _Packed:
    return (d.path, d.line, d.message)


def _pack_finding(f: Finding) -> _Packed:
    # Waivers and baselines are applied after the cache, on every run.
    assert f.exception is None and not f.baselined
    where = tuple((location.path, location.line) for location in f.locations)
    return (f.rule, f.name, f.severity.value, f.service, f.package, f.version, f.message, f.hint, where, f.involved, f.target)


def _unpack_finding(packed: _Packed) -> Finding:
    rule, name, severity, service, package, version, message, hint, where, involved, target = packed
    locations = tuple(Location(path, line) for path, line in where)
    return Finding(
        rule, name, Severity(severity), service, package, version, message, hint, locations, involved=involved, target=target
    )


def _pack_assessment(a: Assessment) -> _Packed:
    return (
        tuple(_pack_finding(f) for f in a.findings),
        tuple(_pack_diagnostic(d) for d in a.errors),
        tuple(_pack_diagnostic(d) for d in a.warnings),
        a.reads,
    )


def _unpack_assessment(packed: _Packed) -> Assessment:
    from envguard.assessment import Assessment

    findings, errors, warnings, reads = packed
    return Assessment(
        tuple(_unpack_finding(f) for f in findings),
        tuple(Diagnostic(*d) for d in errors),
        tuple(Diagnostic(*d) for d in warnings),
        None,
        reads,
    )


def _pack_drift(d: PackageDrift) -> _Packed:
    rows = tuple((row.findings, row.package, row.requirement, row.cells) for row in d.rows)
    return (tuple(_pack_finding(f) for f in d.findings), rows, d.unchecked)


def _unpack_drift(packed: _Packed) -> PackageDrift:
    from envguard.rules.drift import MatrixRow, PackageDrift

    findings, rows, unchecked = packed
    return PackageDrift(tuple(_unpack_finding(f) for f in findings), tuple(MatrixRow(*row) for row in rows), unchecked)


__all__ = ["CheckCache", "Damaged", "FileRecord", "MAX_CONTEXTS", "context_key", "file_name"]
