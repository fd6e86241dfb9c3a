"""What a run works out from one file's bytes, kept between runs while the file keeps them.

Discovery reads some files only to decide what they are: the content of a `requirements-*.txt`
says requirements or freeze, the `[tool.uv.workspace]` of a uv project's pyproject.toml which
directories its lock resolves. The policy's YAML is parsed on every run. In a monorepo these are
a few hundred small reads and parses (with importing PyYAML, about a tenth of a warm check of 500
services), and their answers change only when the file does.

An `Answers` is one sealed cache file (`envguard.cache.SealedFile`: discarded quietly when another
key, envguard or Python wrote it, and reported once when damaged or forged, as
`envguard.cache.report` says) of answers by key, each kept with
the record of the file it came from (`envguard.cache.FileRecord`: status and BLAKE2 hash, checked
as the inventory cache checks its files) or with the digest of the bytes it came from. A file
that cannot be read, and a computation that fails in a way that is not about the file's content,
keep nothing. Writing never fails a run.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

from envguard import cache
from envguard.errors import SourceError

_T = TypeVar("_T")

DISCOVERY = "discovery"
POLICY = "policy"


class Answers:
    """The answers of the cache file `<name>.bin` in `directory` (None: keep nothing)."""

    def __init__(self, directory: Path | None, root: Path, name: str) -> None:
        self.directory = directory
        self.root = root
        self._root = os.fspath(root)
        self.name = name
        self._magic = f"envguard {name} answers\n".encode("ascii")
        self._entries: dict[Any, tuple[Any, Any]] = {}
        self._used: set[Any] = set()
        self._changed = False
        self.forged: cache.Forged | None = None  # damage or forgery found, reported by `save`
        if directory is not None:
            self._read(directory / f"{name}.bin")

    def _read(self, path: Path) -> None:
        try:
            found = cache.SealedFile.read(path, self._magic).content
        except FileNotFoundError:
            return
        except cache.Forged as forged:
            self._forge(forged)
            return
        except Exception:  # noqa: BLE001 - unreadable, another key's or another envguard's: unused
            self._changed = True  # replaced by this run's answers
            return
        if type(found) is not dict:
            self._forge(cache.Forged(path, cache.MALFORMED))
            return
        self._entries = found

    def _forge(self, forged: cache.Forged) -> None:
        if self.forged is None:
            self.forged = forged
        self._changed = True  # rewritten without it, so that the next run has nothing to say

    def of_file(self, key: Any, compute: Callable[[], _T]) -> _T:
        """`compute()`, which reads one file through `envguard.sources._text`, or what it gave while
        that file still has the same content. What it raises is kept and raised again, if it read
        the file."""
        if self.directory is None:
            return compute()
        self._used.add(key)
        entry = self._entries.get(key)
        if entry is not None:
            try:
                record, answer = entry
                checked = cache.check_files(self._root, (record,))
                if checked is not None:
                    if checked[0] != record:
                        self._entries[key] = (checked[0], answer)
                        self._changed = True
                    return cast("_T", _given(answer))
            except SourceError:
                raise
            except Exception:  # noqa: BLE001 - not what was kept: made again, and reported
                self._forge(cache.Forged(self.directory / f"{self.name}.bin", cache.MALFORMED))
                del self._entries[key]
        with cache.recording(self.root) as recorder:
            try:
                answer = ("value", compute())
            except Exception as exc:
                answer = _kept_error(exc)
                if answer is None:
                    raise
        files = recorder.take()
        if len(files) == 1:
            self._entries[key] = (files[0], answer)
            self._changed = True
        return cast("_T", _given(answer))

    def of_bytes(self, key: Any, data: bytes, compute: Callable[[], _T]) -> _T:
        """`compute()`, which depends on `data` and `key` alone, or what it gave for the same."""
        if self.directory is None:
            return compute()
        full = (key, cache.digest(data))
        self._used.add(full)
        entry = self._entries.get(full)
        if entry is not None:
            try:
                return cast("_T", _given(entry[1]))
            except Exception:  # noqa: BLE001 - not what was kept: made again, and reported
                self._forge(cache.Forged(self.directory / f"{self.name}.bin", cache.MALFORMED))
                del self._entries[full]
        answer = ("value", compute())
        self._entries[full] = (None, answer)
        self._changed = True
        return cast("_T", _given(answer))

    def save(self) -> None:
        """Write the file if this run added or refreshed an answer (a failure keeps nothing), and
        report the damage or forgery found (`envguard.cache.report`).

        Answers this run did not ask for (files gone, a policy edited since) are kept up to as many
        as it did ask for, as the inventory cache keeps its entries: the file stays small.
        """
        if self.directory is None:
            return
        if self._changed:
            self._write(self.directory)
        if self.forged is not None:
            cache.report(self.root, self.directory, self.forged, rewritten=not self._changed)
            self.forged = None

    def _write(self, directory: Path) -> None:
        others = {key for key in self._entries if key not in self._used}
        spare = set(sorted(others, key=repr)[: len(self._used)])
        kept = {key: entry for key, entry in self._entries.items() if key in self._used or key in spare}
        writer = cache.SealedWriter(directory, None, self.name)
        if writer.write(directory / f"{self.name}.bin", self._magic, kept):
            self._changed = False


def _kept_error(exc: Exception) -> tuple[Any, ...] | None:
    """A SourceError as data (the file's content decided it); None for anything else."""
    if type(exc) is SourceError:
        return ("source-error", exc.path, exc.line, exc.message)
    return None


def _given(answer: Any) -> Any:
    if answer[0] == "source-error":
        raise SourceError(answer[1], answer[2], answer[3])
    return answer[1]
