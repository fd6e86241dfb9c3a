"""The inventory cache: what each service loaded to, kept until a file it was read from changes.

`envguard check` runs on every commit and in every pipeline, and most runs find most lockfiles as
the previous run left them. The cache keeps, per service, the result of `load_service` together
with every file the loaders read for it (the records, the requirements files they include, the
pyproject.toml of a `-e .` project): its path, size, modification and change times and a BLAKE2
hash of the exact bytes that were parsed. A later run reuses the entry when every file still has
the same status, or, when a status differs (a checkout, a copy), the same hash; otherwise the
service is loaded again. A file written less than two seconds before it was read is checked by
hash every time, since a second change within the timestamp resolution would leave no trace.

Entries whose load had errors are not kept: an error may come from a file that does not exist
yet (a missing `-r` include), which no fingerprint can record.

Storage: `.envguard-cache/inventory.bin` under the workspace root, next to a .gitignore of `*`
(and a CACHEDIR.TAG), so nothing shows up in `git status`. That file is the index: per service,
the files and what the load said, while the packages themselves are blobs in pack files under
`.envguard-cache/packs/` (see "sealed files" below), so that a warm run neither reads nor writes
the packages of services that did not change. The index's header names the cache schema, the
envguard (version and the size and time of each of its files), Python and packaging versions and
the model's fields; a header that differs, a checksum that does not match or anything
unreadable discards the whole cache, which the run then rewrites; a blob that does not match
its digest is a miss for its service. Files are written atomically (a temporary file renamed
over them), and writing never fails a run: a read-only checkout simply has no cache.

The index's checksum (its seal) is keyed with a secret kept outside the workspace, in the user's
cache directory (`$XDG_CACHE_HOME/envguard/cache-key`, else `~/.cache/envguard/cache-key`),
created on first use. A cache file committed to the scanned repository, or copied from another
machine, was not written with that key and is discarded: otherwise a repository could ship an
"inventory" that hides its own lockfile's contents. Without a usable key, there is no cache.

Before the seal, the index names the key it was sealed with: a key id, a BLAKE2 of the key that
does not reveal it. A file of another key id (another user's or machine's cache, a CI cache
restored without its key, a file of envguard before key ids) is discarded quietly, as it is what
sharing a cache directory gives. A file of this key id that is not what the key sealed (its seal
does not match, its content is malformed under a good seal, or a blob does not match the digest
the index holds) was damaged or forged: it is discarded too, and said in one warning line on
stderr, `path: warning: what; ignored, the cache is rewritten` (never in a report: a run's
results are those of `--no-cache`). The run then rewrites the cache, so the next one is quiet;
when it cannot, the warning says so.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import marshal
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

try:  # the BLAKE2 module itself: `hashlib` would load OpenSSL too, a few ms at every start
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - other Python implementations
    from hashlib import blake2b

from envguard import __version__
from envguard.model import Declaration, Diagnostic, Kind, Package, Service, Source, StaleLock, trusted_package

SCHEMA = 5  # 2: an index with its blobs in packs; 3: declarations; 4: sources and hashes; 5: key id
DIRECTORY = ".envguard-cache"
FILE = "inventory.bin"
_MAGIC = b"envguard inventory cache\n"
_DIGEST_SIZE = 32
_KEY_ID_SIZE = 16
_HEADER_SIZE = 16
# What a cache says of a file that its user's key sealed but that does not hold what was sealed.
MALFORMED = "the index is malformed under a good seal"
# A file modified this close to the moment it was read is verified by hash on every lookup.
_RACY_NS = 2_000_000_000

_PACKAGE_FIELDS = tuple(f.name for f in dataclasses.fields(Package))
_KINDS = {kind.value: kind for kind in Kind}

# A service's load: (Service, errors, warnings), as load_service returns it.
Result = tuple[Service, list[Diagnostic], list[Diagnostic]]
# The same as plain tuples of str/int/None, for marshal and for passing between processes.
Packed = tuple[Any, ...]
# A file a load read: (path relative to the root, size, mtime_ns, ctime_ns, inode, BLAKE2, racy).
FileRecord = tuple[str, int, int, int, int, bytes, bool]
# The size of a record that says: no file here.
_ABSENT = -1


def default_directory(root: Path) -> Path:
    return root / DIRECTORY


@functools.cache
def _secret() -> bytes | None:
    """This user's cache key (32 random bytes), created on first use; None when it cannot be."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = Path(base) / "envguard" / "cache-key"
    try:
        key = path.read_bytes()
        if len(key) == 32:
            return key
    except OSError:
        pass
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = os.urandom(32)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(key)
        return key
    except OSError:
        return None


def _key_id() -> bytes | None:
    """What names this user's key in a cache file: a hash of it, with its own personalisation so
    that it is no seal of anything."""
    secret = _secret()
    return None if secret is None else blake2b(secret, digest_size=_KEY_ID_SIZE, person=b"envguard key id").digest()


def _seal(payload: bytes) -> bytes | None:
    secret = _secret()
    return None if secret is None else blake2b(payload, digest_size=_DIGEST_SIZE, key=secret).digest()


def report(root: Path, directory: Path, forged: Forged, rewritten: bool) -> None:
    """Say that a file of the cache in `directory` was damaged or forged: one warning line on
    stderr, where the CLI puts a run's diagnostics, and never in a report, which must be the
    report of a run without the cache."""
    from envguard.errors import one_line
    from envguard.workspace import relative

    if rewritten:
        then = "the cache is rewritten"
    else:  # then every run says it again: with what to do about it
        then = f"the cache could not be rewritten: remove {relative(directory, root)}/ or make it writable"
    print(f"{one_line(relative(forged.path, root))}: warning: {one_line(forged.what)}; ignored, {then}", file=sys.stderr)


class Foreign(ValueError):
    """A cache file sealed with another key than this user's, or by an envguard before key ids:
    what a shared or restored cache directory holds, discarded without a word."""


class Forged(ValueError):
    """A cache file that names this user's key but is not what the key sealed: damaged or forged,
    discarded and reported (see `report`)."""

    def __init__(self, path: Path, what: str) -> None:
        super().__init__(what)
        self.path = path
        self.what = what


# --------------------------------------------------------------------------- packing


def pack(result: Result) -> Packed:
    """A load as plain tuples: its meta (see _pack_meta) with the package rows at PACKAGES_AT."""
    meta = _pack_meta(*result)
    return (*meta[:PACKAGES_AT], tuple(package_row(package) for package in result[0].packages), *meta[PACKAGES_AT:])


# Where a packed load holds its package rows, and its errors.
PACKAGES_AT = 4
ERRORS_AT = 5


def _pack_meta(service: Service, errors: list[Diagnostic], warnings: list[Diagnostic]) -> Packed:
    """Everything of a load but its packages."""
    return (
        service.name,
        service.path,
        tuple((s.path, s.format) for s in service.sources),
        tuple((s.path, s.format) for s in service.ignored),
        tuple((d.path, d.line, d.message) for d in errors),
        tuple((d.path, d.line, d.message) for d in warnings),
        tuple((s.path, s.format) for s in service.declared_sources),
        tuple(declaration_row(d) for d in service.declarations),
        tuple(dataclasses.astuple(stale) for stale in service.stale_locks),
    )


def _split(packed: Packed) -> tuple[Packed, Any]:
    """(meta, package rows) of a packed load."""
    return (*packed[:PACKAGES_AT], *packed[PACKAGES_AT + 1 :]), packed[PACKAGES_AT]


def unpack(packed: Packed, shared: dict[Any, Any] | None = None) -> Result:
    """A packed load as objects. With `shared`, one table for the loads of a run: equal versions,
    groups, markers and sources become one object (a worker's loads arrive with a string per
    entry; 500 services hold 58,000 version strings of 423 values, 8 MB of the run's peak)."""
    meta, rows = _split(packed)
    fields, errors, warnings = _unpack_meta(meta, None)
    fields["declarations"] = tuple(unpack_declaration(row) for row in fields["declarations"])  # type: ignore[attr-defined]
    if shared is None:
        packages = tuple(unpack_package(row) for row in rows)
    else:
        one = shared.setdefault
        packages = tuple(
            trusted_package(
                name, one(version, version), _KINDS[kind], one(groups, groups), one(marker, marker),
                path, line, specifier, one(source, source), hashed,
            )  # fmt: skip
            for name, version, kind, groups, marker, path, line, specifier, source, hashed in rows
        )
    service = Service(packages=packages, **fields)  # type: ignore[arg-type]
    return service, errors, warnings


def _unpack_deferred(files: tuple[FileRecord, ...], meta: Packed, rows: bytes) -> Result:
    """A cached result whose packages and declarations are made only when read (see Service.deferred)."""
    fields, errors, warnings = _unpack_meta(meta, fingerprint(files))
    rows_of_declarations = fields.pop("declarations")
    makers: dict[str, Callable[[], tuple[Any, ...]]] = {
        "packages": lambda: tuple(unpack_package(row) for row in marshal.loads(rows)),
        "declarations": lambda: tuple(unpack_declaration(row) for row in rows_of_declarations),  # type: ignore[attr-defined]
    }
    return Service.deferred(fields, makers), errors, warnings


def _unpack_meta(meta: Packed, print_: bytes | None) -> tuple[dict[str, object], list[Diagnostic], list[Diagnostic]]:
    """A service's fields but its packages, its errors and its warnings."""
    name, path, sources, ignored, errors, warnings, declared, declarations, stale = meta
    fields: dict[str, object] = {
        "name": name,
        "path": path,
        "sources": tuple(Source(*s) for s in sources),
        "ignored": tuple(Source(*s) for s in ignored),
        "declared_sources": tuple(Source(*s) for s in declared),
        "declarations": declarations,  # rows: made into Declarations by the caller
        "stale_locks": tuple(StaleLock(*row) for row in stale),
        "fingerprint": print_,
    }
    return fields, [Diagnostic(*d) for d in errors], [Diagnostic(*d) for d in warnings]


_DECLARATION_FIELDS = tuple(f.name for f in dataclasses.fields(Declaration))
_DECLARATION_KIND_AT = _DECLARATION_FIELDS.index("kind")


def declaration_row(declaration: Declaration) -> tuple[Any, ...]:
    row = [getattr(declaration, name) for name in _DECLARATION_FIELDS]
    row[_DECLARATION_KIND_AT] = declaration.kind.value
    return tuple(row)


def unpack_declaration(row: tuple[Any, ...]) -> Declaration:
    values = list(row)
    values[_DECLARATION_KIND_AT] = _KINDS[row[_DECLARATION_KIND_AT]]
    return Declaration(*values)


def fingerprint(files: Iterable[FileRecord]) -> bytes:
    """Digest of the paths and contents of `files`: equal whenever a load would read the same bytes."""
    return digest_of(tuple((record[0], record[5]) for record in files))


def digest(data: bytes) -> bytes:
    return blake2b(data, digest_size=16).digest()


def digest_of(value: Any) -> bytes:
    """Digest of a value made of tuples, dicts, str, bytes, int, bool and None: equal for equal values.

    Marshal format 2, as versions 3 and later mark which objects are shared or interned.
    """
    return digest(marshal.dumps(value, 2))


def package_row(package: Package) -> tuple[Any, ...]:
    """`package` as a tuple of str, int and None, in the order of its fields."""
    # Spelt out: 3 x faster than a getter of _PACKAGE_FIELDS, and a cold `check` packs every entry.
    p = package
    return (p.name, p.version, p.kind.value, p.groups, p.marker, p.path, p.line, p.specifier, p.source, p.hashed)


if _PACKAGE_FIELDS != ("name", "version", "kind", "groups", "marker", "path", "line", "specifier", "source", "hashed"):
    raise ImportError("envguard.cache.package_row does not match the fields of Package")


def unpack_package(row: tuple[Any, ...]) -> Package:
    name, version, kind, groups, marker, path, line, specifier, source, hashed = row
    return trusted_package(name, version, _KINDS[kind], groups, marker, path, line, specifier, source, hashed)


# --------------------------------------------------------------------------- recording reads


class Recorder:
    """Collects, while services load, the files the loaders read (see _text.observer)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._prefix = os.path.join(os.fspath(root), "")
        self.files: dict[str, FileRecord] = {}

    def __call__(self, path: Path, status: os.stat_result, data: bytes) -> None:
        relative = self._relative(path)
        racy = time.time_ns() - status.st_mtime_ns < _RACY_NS
        self.files[relative] = (
            relative,
            status.st_size,
            status.st_mtime_ns,
            status.st_ctime_ns,
            status.st_ino,
            blake2b(data, digest_size=16).digest(),
            racy,
        )

    def absent(self, path: Path) -> None:
        """Record that `path` is not a file: a run must look again once it is one."""
        relative = self._relative(path)
        self.files.setdefault(relative, (relative, _ABSENT, 0, 0, 0, b"", False))

    def _relative(self, path: Path) -> str:
        text = os.fspath(path)
        # Most files are below the root: a slice instead of relpath's normalisation of both paths.
        if text.startswith(self._prefix) and os.sep + "." not in text and os.sep * 2 not in text:
            return text[len(self._prefix) :]
        return os.path.relpath(text, self.root)

    def take(self) -> tuple[FileRecord, ...]:
        files, self.files = tuple(sorted(self.files.values())), {}
        return files


@contextlib.contextmanager
def recording(root: Path) -> Iterator[Recorder]:
    """A Recorder of every file read through `envguard.sources._text.read_text` in the block."""
    from envguard.sources import _text

    recorder = Recorder(root)
    previous = _text.observer
    _text.observer = recorder
    try:
        yield recorder
    finally:
        _text.observer = previous


def check_files(
    root: str, files: tuple[FileRecord, ...], listed: Mapping[str, frozenset[str]] | None = None
) -> tuple[FileRecord, ...] | None:
    """The records of `files` as they are now, None when any of them changed.

    `listed` holds the case-folded entry names of directories listed this run, by root-relative
    POSIX path (Workspace.listed): a file recorded as absent whose name is not among its
    directory's is still absent, without a stat.
    """
    checked = []
    for record in files:
        if record[1] == _ABSENT and listed is not None:
            directory, name = os.path.split(record[0])
            names = listed.get(directory.replace(os.sep, "/") or ".")
            if names is not None and name.casefold() not in names:
                checked.append(record)
                continue
        now = _check(root, record)
        if now is None:
            return None
        checked.append(now)
    return tuple(checked)


def _check(root: str, record: FileRecord) -> FileRecord | None:
    """The record of the file as it is now if it still has the content the entry was made from."""
    relative, size, mtime, ctime, inode, digest, racy = record
    path = os.path.join(root, relative)
    if size == _ABSENT:
        return None if os.path.isfile(path) else record
    try:
        status = os.stat(path)
        if status.st_size != size:
            return None
        if not racy and (status.st_mtime_ns, status.st_ctime_ns, status.st_ino) == (mtime, ctime, inode):
            return record
        with open(path, "rb") as handle:
            if blake2b(handle.read(), digest_size=16).digest() != digest:
                return None
    except OSError:
        return None
    # Same content, other status (a checkout, a copy) or a recent write: remember the status now.
    racy = time.time_ns() - status.st_mtime_ns < _RACY_NS
    return (relative, size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino, digest, racy)


# --------------------------------------------------------------------------- the cache file


@functools.cache
def _header() -> tuple[Any, ...]:
    import packaging

    service_fields = tuple(f.name for f in dataclasses.fields(Service))
    return (
        SCHEMA,
        __version__,
        sys.version,
        sys.implementation.cache_tag,
        marshal.version,
        getattr(packaging, "__version__", ""),
        _PACKAGE_FIELDS,
        service_fields,
        tuple(sorted(_KINDS)),
        _code_fingerprint(),
    )


def _header_digest() -> bytes:
    return digest_of(_header())


def _code_fingerprint(package: str = os.path.dirname(os.path.abspath(__file__))) -> bytes:
    """What this envguard's code is: its files' hashes as installed, else their sizes and times.

    An installed wheel lists a hash of each of its files in its RECORD: the same code on another
    machine (a CI runner restoring the cache) has the same fingerprint, though pip gave every file
    a new time. A source tree (an editable install) has no RECORD of its package and is edited in
    place under the same version number: there the size and time of each file tell its caches
    from the old code's.
    """
    prefix = os.path.basename(package) + "/"
    parent = os.path.dirname(package)
    try:
        records = [
            os.path.join(parent, name, "RECORD")
            for name in os.listdir(parent)
            if name.startswith(f"{os.path.basename(package)}-") and name.endswith(".dist-info")
        ]
        if len(records) == 1:
            with open(records[0], encoding="utf-8") as handle:
                hashed = sorted(
                    line for line in handle.read().splitlines() if line.startswith(prefix) and "__pycache__" not in line
                )
            if hashed:
                return digest_of(tuple(hashed))
    except (OSError, UnicodeDecodeError):
        pass
    stats = []
    for directory, subdirectories, files in os.walk(package):
        subdirectories[:] = sorted(d for d in subdirectories if d != "__pycache__")
        for name in sorted(files):
            try:
                status = os.stat(os.path.join(directory, name))
            except OSError:
                continue
            stats.append((os.path.relpath(os.path.join(directory, name), package), status.st_size, status.st_mtime_ns))
    return digest_of(tuple(stats))


# --------------------------------------------------------------------------- sealed files
#
# A cache is an index file (the magic line, the key id, the keyed checksum of the rest, the
# digest of the header, then marshal of (content, packs)) and blobs kept in pack files under
# packs/. The header is a digest ahead of the marshal data so that a cache written by another
# Python, whose marshal format this one may not read, is told apart before it is loaded and
# discarded quietly rather than found malformed. The index is small and
# checked whenever it is read. The blobs (packages, drift entries: most of the bytes) are checked
# against the digest the index holds for each, when one is read: a warm run reads few of them.
# Pack files are never changed: a run that makes new blobs writes them to one new pack, and
# points the next index at the packs it still uses. That keeps a warm run's writing to what
# changed; with hundreds of services, rewriting every blob would cost more than the rest of it.

PACKS = "packs"
# Rewrite every blob into one pack when more than this many packs are in use, or when less
# than half of their bytes are still used.
_MAX_PACKS = 16
# A pack no index uses is deleted once it is this old: a run that started before may use it.
_ORPHAN_SECONDS = 600

# A blob: pack file name, offset, length, digest.
Ref = tuple[str, int, int, bytes]


class SealedFile:
    """A cache index as read back: its content, checked, and its blobs, checked when read."""

    def __init__(self, path: Path, content: Any, packs: dict[str, tuple[int, int]]) -> None:
        self.path = path
        self.directory = path.parent
        self.content = content
        self.packs = packs  # pack name -> (size, bytes the index uses)
        self._open: dict[str, Any] = {}  # pack name -> mmap

    @classmethod
    def read(cls, path: Path, magic: bytes) -> SealedFile:
        """The file's content once its seal is checked.

        Foreign when another key (or none) wrote it, Forged when this user's key did not seal
        what it holds, ValueError when it is another envguard's or Python's; OSError
        (FileNotFoundError) when it cannot be read.
        """
        data = path.read_bytes()
        start = len(magic)
        key_id = _key_id()
        if not data.startswith(magic) or key_id is None or data[start : start + _KEY_ID_SIZE] != key_id:
            raise Foreign("not written with this user's key")
        start += _KEY_ID_SIZE
        seal, sealed = data[start : start + _DIGEST_SIZE], data[start + _DIGEST_SIZE :]
        if _seal(key_id + sealed) != seal:
            raise Forged(path, "the index does not match its seal")
        if sealed[:_HEADER_SIZE] != _header_digest():
            raise ValueError("written by another envguard, Python or cache schema")
        try:
            content, packs = marshal.loads(sealed[_HEADER_SIZE:])
        except Exception:  # noqa: BLE001 - whatever marshal makes of it, it is not what was sealed
            raise Forged(path, MALFORMED) from None
        if type(packs) is not dict:
            raise Forged(path, MALFORMED)
        return cls(path, content, packs)

    def blob(self, ref: Ref) -> bytes:
        """The blob `ref` points to; Forged when it is not what was written, OSError when its
        pack is gone (a concurrent run compacted the cache)."""
        pack, offset, length, expected = ref
        data: bytes = self._pack(pack)[offset : offset + length]
        if len(data) != length or digest(data) != expected:
            raise Forged(self.directory / PACKS / pack, "a blob does not match the digest its index holds")
        return data

    def _pack(self, name: str) -> Any:
        found = self._open.get(name)
        if found is None:
            import mmap

            if type(name) is not str or name not in self.packs or "/" in name or name.startswith("."):
                raise Forged(self.path, f"the index names an unknown pack {name!r}")
            with open(self.directory / PACKS / name, "rb") as handle:
                try:
                    found = self._open[name] = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
                except ValueError:  # empty: packs are written whole, never empty
                    raise Forged(self.directory / PACKS / name, "a pack is empty") from None
        return found

    def compacting(self) -> bool:
        """Whether the next index should have every blob written anew, into one pack."""
        size = sum(total for total, _ in self.packs.values())
        used = sum(live for _, live in self.packs.values())
        return len(self.packs) > _MAX_PACKS or used * 2 < size


class SealedWriter:
    """Writes the blobs of the next index to one new pack as they are made, then the index.

    Streaming them to the pack's temporary file keeps a cold run from holding every blob of the
    cache in memory until the end (12 MB of a 500-service check's peak). When the temporary file
    cannot be made or written (a read-only checkout, a full disk) nothing is kept: `write` would
    fail in the same directory.
    """

    def __init__(self, directory: Path, source: SealedFile | None, prefix: str) -> None:
        self._directory = directory
        self._source = source
        self._compact = source is not None and source.compacting()
        self._prefix = prefix
        self._pack = f"{prefix}-{os.urandom(8).hex()}.pack"
        self._out: Any = None  # the pack's temporary file, opened at the first blob
        self._temporary = ""
        self._broken = False  # the temporary file could not be made or written: nothing is written
        self._size = 0
        self._used: dict[str, int] = {}

    def add(self, data: bytes, known: bytes | None = None) -> Ref:
        """A new blob; `known` is its digest when it was written before."""
        ref = (self._pack, self._size, len(data), known if known is not None else digest(data))
        if self._out is None and not self._broken:
            self._open()
        if self._out is not None:
            try:
                self._out.write(data)
            except OSError:
                self._broken = True
                self.discard()
        self._size += len(data)
        self._used[self._pack] = self._size
        return ref

    def _open(self) -> None:
        import tempfile

        try:
            prepare_directory(self._directory)
            (self._directory / PACKS).mkdir(exist_ok=True)
            handle, self._temporary = tempfile.mkstemp(prefix=f".{self._pack}-", dir=self._directory / PACKS)
            self._out = os.fdopen(handle, "wb")
        except OSError:
            self._broken = True

    def keep(self, ref: Ref) -> Ref:
        """A blob of the index read this run, carried over to the next one (or one added already)."""
        if ref[0] == self._pack:
            return ref
        if self._compact:
            assert self._source is not None  # only a read index has refs
            pack, offset, length, known = ref
            return self.add(self._source._pack(pack)[offset : offset + length], known)
        self._used[ref[0]] = self._used.get(ref[0], 0) + ref[2]
        return ref

    def discard(self) -> None:
        """Remove the pack's temporary file: the index will not be written."""
        if self._out is None:
            return
        with contextlib.suppress(OSError):
            self._out.close()
        with contextlib.suppress(OSError):
            os.unlink(self._temporary)
        self._out = None

    def write(self, path: Path, magic: bytes, content: Any) -> bool:
        """Close the new pack, then write the index at `path` (atomically); False when it cannot be."""
        sizes = dict(self._source.packs) if self._source is not None else {}
        sizes[self._pack] = (self._size, 0)
        packs = {name: (sizes[name][0], used) for name, used in self._used.items()}
        key_id, sealed = _key_id(), _header_digest() + marshal.dumps((content, packs))
        seal = None if key_id is None else _seal(key_id + sealed)
        if key_id is None or seal is None or self._broken:  # no key: no cache
            self.discard()
            return False
        directory = path.parent
        try:
            if self._out is None:  # no new blob: the directory was not prepared for a pack
                prepare_directory(directory)
            else:
                self._out.close()
                os.chmod(self._temporary, 0o644)  # mkstemp's 0600 would keep a shared CI cache from others
                os.replace(self._temporary, directory / PACKS / self._pack)
                self._out = None
            write_atomically(path, [magic, key_id, seal, sealed])
        except OSError:
            self.discard()
            return False
        self._remove_orphans(directory / PACKS, packs)
        # A run killed between creating a temporary file and renaming it leaves the temporary
        # behind (`write_atomically` cleans up only what it sees fail).
        _remove_stale_temporaries(directory, f".{path.name}-")
        _remove_stale_temporaries(directory / PACKS, f".{self._prefix}-")
        return True

    def _remove_orphans(self, directory: Path, used: dict[str, tuple[int, int]]) -> None:
        """Delete this cache's packs that no index uses: those the index just replaced used, at
        once; others (a discarded index's, a crashed run's) once no run can still be reading them."""
        replaced = self._source.packs if self._source is not None else {}
        now = time.time()
        try:
            names = os.listdir(directory)
        except OSError:
            return
        for name in names:
            if name.startswith(f"{self._prefix}-") and name not in used:
                path = directory / name
                try:
                    if name in replaced or now - path.stat().st_mtime > _ORPHAN_SECONDS:
                        path.unlink()
                except OSError:
                    continue


def _remove_stale_temporaries(directory: Path, prefix: str) -> None:
    """Delete temporaries of `write_atomically` old enough that no running write still owns them."""
    now = time.time()
    try:
        names = [name for name in os.listdir(directory) if name.startswith(prefix)]
    except OSError:
        return
    for name in names:
        path = directory / name
        try:
            if now - path.stat().st_mtime > _ORPHAN_SECONDS:
                path.unlink()
        except OSError:
            continue


def write_atomically(path: Path, parts: list[bytes]) -> None:
    import tempfile

    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        os.chmod(temporary, 0o644)  # mkstemp's 0600 would keep a shared CI cache from others
        with os.fdopen(handle, "wb") as out:
            out.writelines(parts)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def prepare_directory(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    ignore = directory / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# Created by envguard: its caches, safe to delete.\n*\n", encoding="utf-8")
    tag = directory / "CACHEDIR.TAG"
    if not tag.exists():
        tag.write_text(
            "Signature: 8a477f597d28d172789f06886806bc55\n"
            "# This file is a cache directory tag created by envguard.\n",
            encoding="utf-8",
        )


class InventoryCache:
    """The entries of one workspace's cache file; `save` writes it back when this run changed it."""

    def __init__(self, directory: Path, root: Path) -> None:
        self.directory = directory
        self.root = root
        self._root = os.fspath(root)
        self._file: SealedFile | None = None
        # key -> (files, service without packages, packages: a blob of _file or of this run's new pack)
        self._entries: dict[Any, tuple[tuple[FileRecord, ...], Packed, Ref]] = {}
        self._used: set[Any] = set()
        self._changed = False
        self._writer: SealedWriter | None = None  # made at the first store
        self.hits = 0
        self.misses = 0
        self.discarded: str | None = None  # why an existing cache file, or an entry of it, was not used
        self.forged: Forged | None = None  # the first damage or forgery found, reported by `save`
        self._read()

    def _read(self) -> None:
        path = self.directory / FILE
        try:
            self._file = SealedFile.read(path, _MAGIC)
        except FileNotFoundError:
            return
        except OSError as exc:
            self.discarded = f"unreadable: {exc.strerror or exc}"
            return
        except Forged as forged:
            self._forge(forged)
            return
        except Exception as exc:  # noqa: BLE001 - whatever is wrong with it, the file is not used
            self.discarded = f"{type(exc).__name__}: {exc}"
            self._changed = True  # replace it
            return
        if type(self._file.content) is not dict:
            self._forge(Forged(path, MALFORMED))
            self._file = None
            return
        self._entries = self._file.content

    def _forge(self, forged: Forged) -> None:
        self.discarded = f"{type(forged).__name__}: {forged}"
        if self.forged is None:
            self.forged = forged
        self._changed = True  # rewritten without it, so that the next run has nothing to say

    def lookup(self, key: Any) -> Result | None:
        self._used.add(key)
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            return None
        try:
            files, meta, rows = entry
            checked = check_files(self._root, files)
            if checked is None:
                self.misses += 1
                return None
            # Checked now, unpacked only if a later stage reads the packages.
            data = self._blob(rows)
            result = _unpack_deferred(checked, meta, data)
        except OSError:  # its pack gone: a concurrent run compacted the cache
            self.misses += 1
            return None
        except Exception as exc:  # noqa: BLE001 - whatever is wrong with it, the entry is not used
            malformed = Forged(self.directory / FILE, "an entry of the index is malformed under a good seal")
            self._forge(exc if isinstance(exc, Forged) else malformed)
            del self._entries[key]  # else a load with errors, which is not stored, would keep it
            self.misses += 1
            return None
        if checked != files:
            self._entries[key] = (checked, meta, rows)
            self._changed = True
        self.hits += 1
        return result

    def _blob(self, ref: Ref) -> bytes:
        if self._file is None:
            raise ValueError("no cache file")
        return self._file.blob(ref)

    def store(self, key: Any, packed: Packed, files: Iterable[FileRecord]) -> None:
        meta, rows = _split(packed)
        if self._writer is None:
            self._writer = SealedWriter(self.directory, self._file, "inventory")
        self._entries[key] = (tuple(files), meta, self._writer.add(marshal.dumps(rows)))
        self._used.add(key)
        self._changed = True

    def save(self) -> None:
        """Write the file if this run changed it, and report the damage or forgery found (`forged`)."""
        self._save()
        if self.forged is not None:
            report(self.root, self.directory, self.forged, rewritten=not self._changed)
            self.forged = None

    def _save(self) -> None:
        """Write the file if this run changed it; any failure leaves the run without a cache.

        Entries this run did not look at (services removed, or outside the paths checked this
        time) are kept, up to as many as it did look at, so the file stays within twice the
        workspace.
        """
        if not self._changed:
            return
        others = [key for key in self._entries if key not in self._used]
        kept = set(self._used) | set(others[: len(self._used)])
        writer = self._writer or SealedWriter(self.directory, self._file, "inventory")
        entries = {}
        try:
            for key, (files, meta, rows) in self._entries.items():
                if key in kept:
                    entries[key] = (files, meta, writer.keep(rows))
        except (OSError, ValueError):  # a pack gone or cut short since it was read: compacting fails
            writer.discard()
            return
        if writer.write(self.directory / FILE, _MAGIC, entries):
            self._changed = False
