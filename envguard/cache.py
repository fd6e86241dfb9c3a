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

Storage: one file, `.envguard-cache/inventory.bin` under the workspace root, next to a
.gitignore of `*` (and a CACHEDIR.TAG), so nothing shows up in `git status`. Its header names
the cache schema, the envguard, Python and packaging versions and the model's fields; a header
that differs, a checksum that does not match or anything unreadable discards the whole file,
which the run then rewrites. It is written atomically (a temporary file renamed over it), and
never fails a run: a read-only checkout simply has no cache.

The checksum is keyed with a secret kept outside the workspace, in the user's cache directory
(`$XDG_CACHE_HOME/envguard/cache-key`, else `~/.cache/envguard/cache-key`), created on first
use. A cache file committed to the scanned repository, or copied from another machine, was not
written with that key and is discarded: otherwise a repository could ship an "inventory" that
hides its own lockfile's contents. Without a usable key, there is no cache.
"""

from __future__ import annotations

import dataclasses
import functools
import marshal
import operator
import os
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

try:  # the BLAKE2 module itself: `hashlib` would load OpenSSL too, a few ms at every start
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - other Python implementations
    from hashlib import blake2b

from envguard import __version__
from envguard.model import Diagnostic, Kind, Package, Service, Source

SCHEMA = 1
DIRECTORY = ".envguard-cache"
FILE = "inventory.bin"
_MAGIC = b"envguard inventory cache\n"
_DIGEST_SIZE = 32
# A file modified this close to the moment it was read is verified by hash on every lookup.
_RACY_NS = 2_000_000_000

_PACKAGE_FIELDS = tuple(f.name for f in dataclasses.fields(Package))
_KIND_AT = _PACKAGE_FIELDS.index("kind")
_PACKAGE_ROW = operator.attrgetter(*_PACKAGE_FIELDS)
_KINDS = {kind.value: kind for kind in Kind}
# Package is a plain frozen dataclass: its instances can be made from a field dict directly,
# several times faster than through the generated __init__ (which sets each field separately).
_DIRECT = not hasattr(Package, "__slots__") and not hasattr(Package, "__post_init__")

# A service's load: (Service, errors, warnings), as load_service returns it.
Result = tuple[Service, list[Diagnostic], list[Diagnostic]]
# The same as plain tuples of str/int/None, for marshal and for passing between processes.
Packed = tuple[Any, ...]
# A file a load read: (path relative to the root, size, mtime_ns, ctime_ns, inode, BLAKE2, racy).
FileRecord = tuple[str, int, int, int, int, bytes, bool]


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


def _seal(payload: bytes) -> bytes | None:
    secret = _secret()
    return None if secret is None else blake2b(payload, digest_size=_DIGEST_SIZE, key=secret).digest()


# --------------------------------------------------------------------------- packing


def pack(result: Result) -> Packed:
    service, errors, warnings = result
    packages = []
    for package in service.packages:
        row = list(_PACKAGE_ROW(package))
        row[_KIND_AT] = package.kind.value
        packages.append(tuple(row))
    return (
        service.name,
        service.path,
        tuple((s.path, s.format) for s in service.sources),
        tuple(packages),
        tuple((s.path, s.format) for s in service.ignored),
        tuple((d.path, d.line, d.message) for d in errors),
        tuple((d.path, d.line, d.message) for d in warnings),
    )


def unpack(packed: Packed) -> Result:
    name, path, sources, rows, ignored, errors, warnings = packed
    service = Service(
        name,
        path,
        tuple(Source(*s) for s in sources),
        tuple(_package(row) for row in rows),
        tuple(Source(*s) for s in ignored),
    )
    return service, [Diagnostic(*d) for d in errors], [Diagnostic(*d) for d in warnings]


def _package(row: tuple[Any, ...]) -> Package:
    if _DIRECT:
        fields = dict(zip(_PACKAGE_FIELDS, row))
        fields["kind"] = _KINDS[row[_KIND_AT]]
        package = object.__new__(Package)
        object.__setattr__(package, "__dict__", fields)
        return package
    values = list(row)
    values[_KIND_AT] = _KINDS[row[_KIND_AT]]
    return Package(*values)


# --------------------------------------------------------------------------- recording reads


class Recorder:
    """Collects, while services load, the files the loaders read (see _text.observer)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[str, FileRecord] = {}

    def __call__(self, path: Path, status: os.stat_result, data: bytes) -> None:
        relative = os.path.relpath(path, self.root)
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

    def take(self) -> tuple[FileRecord, ...]:
        files, self.files = tuple(sorted(self.files.values())), {}
        return files


def _check(root: str, record: FileRecord) -> FileRecord | None:
    """The record of the file as it is now if it still has the content the entry was made from."""
    relative, size, mtime, ctime, inode, digest, racy = record
    path = os.path.join(root, relative)
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
    )


class InventoryCache:
    """The entries of one workspace's cache file; `save` writes it back when this run changed it."""

    def __init__(self, directory: Path, root: Path) -> None:
        self.directory = directory
        self.root = root
        self._root = os.fspath(root)
        self._entries: dict[Any, bytes] = {}
        self._used: set[Any] = set()
        self._changed = False
        self.hits = 0
        self.misses = 0
        self.discarded: str | None = None  # why an existing cache file was not used
        self._read()

    def _read(self) -> None:
        path = self.directory / FILE
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return
        except OSError as exc:
            self.discarded = f"unreadable: {exc.strerror or exc}"
            return
        try:
            self._entries = self._decode(data)
        except Exception as exc:  # noqa: BLE001 - whatever is wrong with it, the file is not used
            self.discarded = f"{type(exc).__name__}: {exc}"
            self._changed = True  # replace it
            self._entries = {}

    @staticmethod
    def _decode(data: bytes) -> dict[Any, bytes]:
        if not data.startswith(_MAGIC):
            raise ValueError("not an envguard cache file")
        start = len(_MAGIC)
        digest, payload = data[start : start + _DIGEST_SIZE], data[start + _DIGEST_SIZE :]
        seal = _seal(payload)
        if seal is None or seal != digest:
            raise ValueError("not written by this user's envguard (checksum mismatch)")
        header, entries = marshal.loads(payload)
        if header != _header():
            raise ValueError("written by another envguard, Python or cache schema")
        if type(entries) is not dict or not all(type(value) is bytes for value in entries.values()):
            raise ValueError("malformed")
        return entries

    def lookup(self, key: Any) -> Result | None:
        self._used.add(key)
        raw = self._entries.get(key)
        if raw is None:
            self.misses += 1
            return None
        try:
            files, packed = marshal.loads(raw)
            checked = []
            for record in files:
                now = _check(self._root, record)
                if now is None:
                    self.misses += 1
                    return None
                checked.append(now)
            result = unpack(packed)
        except Exception:  # noqa: BLE001 - a damaged entry is a miss
            self.misses += 1
            return None
        if checked != list(files):
            self.store(key, packed, checked)
        self.hits += 1
        return result

    def store(self, key: Any, packed: Packed, files: Iterable[FileRecord]) -> None:
        self._entries[key] = marshal.dumps((tuple(files), packed))
        self._used.add(key)
        self._changed = True

    def save(self) -> None:
        """Write the file if this run changed it; any failure leaves the run without a cache.

        Entries this run did not look at (services removed, or outside the paths checked this
        time) are kept, up to as many as it did look at, so the file stays within twice the
        workspace.
        """
        if not self._changed:
            return
        others = [key for key in self._entries if key not in self._used]
        kept = set(self._used) | set(others[: len(self._used)])
        entries = {key: value for key, value in self._entries.items() if key in kept}
        payload = marshal.dumps((_header(), entries))
        digest = _seal(payload)
        if digest is None:
            return
        import tempfile

        try:
            self._prepare_directory()
            handle, temporary = tempfile.mkstemp(prefix=".inventory-", dir=self.directory)
            try:
                os.chmod(temporary, 0o644)  # mkstemp's 0600 would keep a shared CI cache from others
                with os.fdopen(handle, "wb") as out:
                    out.write(_MAGIC + digest + payload)
                os.replace(temporary, self.directory / FILE)
            except BaseException:
                os.unlink(temporary)
                raise
        except OSError:
            return
        self._changed = False

    def _prepare_directory(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        ignore = self.directory / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# Created by envguard: its inventory cache, safe to delete.\n*\n", encoding="utf-8")
        tag = self.directory / "CACHEDIR.TAG"
        if not tag.exists():
            tag.write_text(
                "Signature: 8a477f597d28d172789f06886806bc55\n"
                "# This file is a cache directory tag created by envguard.\n",
                encoding="utf-8",
            )
