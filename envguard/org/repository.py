"""Which repository a workspace is: its name, and the commit and URL its `.git` records.

An inventory artifact names its repository, so that an organisation's artifacts can be told
apart and traced back to a commit. The identity is read from the files under `.git`, the way git
reads them, without running git: envguard runs no program for a scanned repository, and a CI
image may have no git at all.

- The git directory: `.git` in the workspace root or the nearest directory above it that has one
  (a `.git` directory without `HEAD` is no repository, and git looks further up too). A `.git`
  *file* (`gitdir: PATH`: linked worktrees, submodules) points at it, and a linked worktree's
  `commondir` at the directory shared with the main worktree, which holds the branches and
  `config`.
- The commit: `HEAD`, either a detached hash or `ref: refs/heads/NAME`, resolved through the
  loose ref files, then `packed-refs` (a loose ref is newer than its packed copy, as in git).
  A branch without commits yet has none: None.
- The URL: the first `url` of `[remote "origin"]` in `config` (what `git fetch` uses), else of
  the first remote in name order. CI checkouts embed tokens in it
  (`https://gitlab-ci-token:TOKEN@gitlab.example.com/...`) and artifacts are uploaded and shared,
  so an http(s) URL loses its user name and password; an ssh URL keeps its user (`git@`), which
  is a login name, not a secret.
- The name: `--name`, else the URL's last path component without `.git` (the directory
  `git clone` would make), else the name of the work tree's directory.

git's `config` syntax is parsed as git's own parser does (sections and subsections, case rules,
`#`/`;` comments, quotes, escapes, continuation lines), but `include` files and `insteadOf`
rewriting are not followed: the origin URL of a CI checkout is written literally. Reftable ref
storage (git 2.45+, `extensions.refStorage`) is a binary format and is not read. Whatever cannot
be read is None; content that is malformed (not merely absent) also gives one warning.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Final, NamedTuple

from envguard.errors import SourceError
from envguard.model import Diagnostic, Repository
from envguard.sources._text import read_text
from envguard.workspace import relative

__all__ = ["Repository", "public_url", "read_repository", "valid_name"]

_HASH: Final = re.compile(r"[0-9a-fA-F]{40}(?:[0-9a-fA-F]{24})?")  # SHA-1 or SHA-256
_SYMREF_DEPTH: Final = 5  # git's SYMREF_MAXDEPTH
_SSH_SCHEMES: Final = frozenset({"ssh", "git+ssh", "ssh+git"})
# The name of a repository whose work tree has none: the file-system root.
_NAMELESS: Final = "repository"


def read_repository(root: Path, name: str | None = None) -> tuple[Repository, tuple[Diagnostic, ...]]:
    """The repository the workspace at `root` (an absolute path) belongs to, and warnings about
    `.git` content that could not be used. `name` overrides the name the repository gives itself."""
    warnings: list[Diagnostic] = []
    located = _locate(root, warnings)
    if located is None:
        return Repository(name or _directory_name(root)), ()
    worktree, git_dir = located
    if git_dir is None:
        return Repository(name or _directory_name(worktree)), tuple(warnings)
    common = _common_dir(git_dir, root, warnings)
    config = _read_config(common / "config", root, warnings)
    commit = _head_commit(git_dir, common, config, root, warnings)
    url = _remote_url(config)
    chosen = name or (url and _name_from_url(url)) or _directory_name(worktree)
    return Repository(chosen, commit, url), tuple(warnings)


def valid_name(name: str) -> bool:
    """Whether `name` can name a repository: artifacts qualify services as `REPOSITORY/SERVICE`."""
    return bool(name) and "/" not in name and name.strip() == name


def public_url(url: str) -> str:
    """`url` without the credentials an http(s) URL may carry (`https://user:token@host/x` ->
    `https://host/x`); an ssh URL keeps its user name but loses any password."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        return url  # scp-like (`git@host:path`) or a local path: no password to hide
    end = min((i for i in (rest.find(c) for c in "/?#") if i != -1), default=len(rest))
    userinfo, at, host = rest[:end].rpartition("@")
    if not at:
        return url
    user = userinfo.partition(":")[0]
    kept = f"{user}@" if user and scheme.lower() in _SSH_SCHEMES else ""
    return f"{scheme}://{kept}{host}{rest[end:]}"


# --------------------------------------------------------------------------- the git directory


class _Text(NamedTuple):
    text: str | None
    shown: str


def _read(path: Path, root: Path, warnings: list[Diagnostic]) -> _Text:
    shown = relative(path, root)
    try:
        return _Text(read_text(path, shown), shown)
    except SourceError as exc:
        warnings.append(Diagnostic(exc.path, exc.line, exc.message))
        return _Text(None, shown)


def _locate(root: Path, warnings: list[Diagnostic]) -> tuple[Path, Path | None] | None:
    """The work tree and the git directory of the repository `root` is in; the git directory is
    None when a `.git` file says nothing usable; None when no directory up to `/` has `.git`."""
    for directory in (root, *root.parents):
        dot_git = directory / ".git"
        if _is_dir(dot_git):
            if _is_file(dot_git / "HEAD"):
                return directory, dot_git
            continue
        if _is_file(dot_git):
            return directory, _gitdir_of_file(dot_git, root, warnings)
    return None


def _gitdir_of_file(dot_git: Path, root: Path, warnings: list[Diagnostic]) -> Path | None:
    """The git directory a `.git` file names (`gitdir: PATH`, relative to the file's directory)."""
    text, shown = _read(dot_git, root, warnings)
    if text is None:
        return None
    first = text.split("\n", 1)[0].rstrip()
    if not first.startswith("gitdir:") or not first[len("gitdir:") :].strip():
        warnings.append(Diagnostic(shown, 1, "not a git link: expected 'gitdir: PATH'"))
        return None
    git_dir = dot_git.parent / first[len("gitdir:") :].strip()
    if not _is_file(git_dir / "HEAD"):
        warnings.append(Diagnostic(shown, 1, f"gitdir {relative(git_dir, root)} is not a git directory"))
        return None
    return git_dir


def _common_dir(git_dir: Path, root: Path, warnings: list[Diagnostic]) -> Path:
    """Where the branches and config of a linked worktree's git directory live (itself otherwise)."""
    path = git_dir / "commondir"
    if not _is_file(path):
        return git_dir
    text, shown = _read(path, root, warnings)
    target = (text or "").split("\n", 1)[0].strip()
    if not target:
        if text is not None:
            warnings.append(Diagnostic(shown, 1, "commondir is empty"))
        return git_dir
    return git_dir / target


def _directory_name(directory: Path) -> str:
    name = directory.name
    return name if valid_name(name) else _NAMELESS


def _is_file(path: Path) -> bool:
    return _mode(path, stat.S_ISREG)


def _is_dir(path: Path) -> bool:
    return _mode(path, stat.S_ISDIR)


def _mode(path: Path, test: Callable[[int], bool]) -> bool:
    # Path.is_file lets PermissionError through (a `.git` of another user, mode 0700): such a
    # directory is no repository envguard can read, and no reason to stop.
    try:
        return test(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


# --------------------------------------------------------------------------- HEAD and refs


def _head_commit(
    git_dir: Path, common: Path, config: list[_Entry], root: Path, warnings: list[Diagnostic]
) -> str | None:
    if any(e.section == "extensions" and e.key == "refstorage" and (e.value or "").lower() == "reftable" for e in config):
        shown = relative(common / "config", root)
        warnings.append(Diagnostic(shown, None, "reftable ref storage is not read; the commit is unknown"))
        return None
    path = git_dir / "HEAD"
    for _ in range(_SYMREF_DEPTH):
        text, shown = _read(path, root, warnings)
        if text is None:
            return None
        target = text.split("\n", 1)[0].strip()
        if _HASH.fullmatch(target):
            return target.lower()
        ref = target[len("ref:") :].strip() if target.startswith("ref:") else ""
        if not _valid_ref(ref):
            warnings.append(Diagnostic(shown, 1, "expected a commit hash or 'ref: refs/...'"))
            return None
        loose = next((d / ref for d in (git_dir, common) if _is_file(d / ref)), None)
        if loose is None:
            return _packed(common / "packed-refs", ref, root, warnings)
        path = loose
    warnings.append(Diagnostic(relative(path, root), 1, f"symbolic refs nested deeper than {_SYMREF_DEPTH}"))
    return None


def _valid_ref(ref: str) -> bool:
    """A ref name that stays inside the git directory (the rules of git check-ref-format that matter here)."""
    parts = ref.split("/")
    return (
        len(parts) > 1
        and parts[0] == "refs"
        and all(part and not part.startswith(".") and not part.endswith(".lock") for part in parts)
        and ".." not in ref
        and "\\" not in ref
    )


def _packed(path: Path, ref: str, root: Path, warnings: list[Diagnostic]) -> str | None:
    """The commit `packed-refs` records for `ref`; None when it records none (an unborn branch)."""
    if not _is_file(path):
        return None
    text = _read(path, root, warnings).text
    suffix = " " + ref
    for line in (text or "").split("\n"):
        # `# pack-refs with: ...` is the header; `^HASH` the peeled target of the tag above it.
        if line.endswith(suffix) and not line.startswith(("#", "^")):
            commit = line[: -len(suffix)]
            return commit.lower() if _HASH.fullmatch(commit) else None
    return None


# --------------------------------------------------------------------------- config


class _Entry(NamedTuple):
    section: str  # lower case
    subsection: str | None  # as written in `[section "subsection"]`
    key: str  # lower case
    value: str | None  # None: a key without `=` (a boolean true)


def _read_config(path: Path, root: Path, warnings: list[Diagnostic]) -> list[_Entry]:
    if not _is_file(path):
        return []
    text, shown = _read(path, root, warnings)
    if text is None:
        return []
    parser = _ConfigParser(text)
    try:
        parser.parse()
    except _BadLine:
        warnings.append(Diagnostic(shown, parser.line, "bad config line; the entries after it are not read"))
    return parser.entries


def _remote_url(config: list[_Entry]) -> str | None:
    urls: dict[str, str] = {}
    for entry in config:
        if entry.section == "remote" and entry.subsection is not None and entry.key == "url" and entry.value:
            urls.setdefault(entry.subsection, entry.value)
    if not urls:
        return None
    return public_url(urls.get("origin") or urls[min(urls)])


class _BadLine(Exception):
    pass


class _ConfigParser:
    """git's config parser (config.c: git_parse_source, get_base_var, get_value, parse_value),
    character by character: config files are small, and git's rules are easier to follow so. The
    line of an error is the one git's "bad config line N" names."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0
        self.line = 1
        self.entries: list[_Entry] = []

    def next(self) -> str:
        """The next character; the end of the text reads as one more newline, as in git."""
        if self.at >= len(self.text):
            if self.at == len(self.text):
                self.at += 1
                self.line += 1
            return "\n"
        c = self.text[self.at]
        self.at += 1
        if c == "\n":
            self.line += 1
        return c

    @property
    def eof(self) -> bool:
        return self.at > len(self.text)

    def incomplete(self) -> _BadLine:
        """A line that ended too early: git names that line, not the next one."""
        self.line -= 1
        return _BadLine()

    def parse(self) -> None:
        section: tuple[str, str | None] = ("", None)  # git takes a key before any section, in none
        comment = False
        while True:
            c = self.next()
            if c == "\n":
                if self.eof:
                    return
                comment = False
            elif comment or c in _SPACE:
                continue
            elif c in "#;":
                comment = True
            elif c == "[":
                section = self.section()
            elif _is_alpha(c):
                key, value = self.variable(c)
                self.entries.append(_Entry(section[0], section[1], key, value))
            else:
                raise _BadLine

    def section(self) -> tuple[str, str | None]:
        name = ""
        while True:
            c = self.next()
            if self.eof:
                raise _BadLine
            if c == "]" and name:
                # `[remote.origin]`, the old spelling: all of it is case-insensitive.
                head, dot, tail = name.partition(".")
                return (head, tail) if dot else (name, None)
            if c in _SPACE:
                return self.subsection(name, c)
            if not (_is_key_char(c) or c == "."):
                raise _BadLine
            name += c.lower()

    def subsection(self, name: str, c: str) -> tuple[str, str | None]:
        while c in _SPACE:
            if c == "\n":
                raise self.incomplete()
            c = self.next()
        if c != '"' or not name:
            raise _BadLine
        subsection = ""
        while True:
            c = self.next()
            if c == "\\":
                c = self.next()
            elif c == '"':
                break
            if c == "\n":
                raise self.incomplete()
            subsection += c
        if self.next() != "]":
            raise _BadLine
        return name, subsection

    def variable(self, first: str) -> tuple[str, str | None]:
        key = first.lower()
        c = self.next()
        while not self.eof and _is_key_char(c):
            key += c.lower()
            c = self.next()
        while c in " \t":
            c = self.next()
        if c == "\n":
            return key, None
        if c != "=":
            raise _BadLine
        return key, self.value()

    def value(self) -> str:
        value = ""  # a config value is short: appending to a string is simplest
        quote = comment = False
        spaces = 0
        while True:
            c = self.next()
            if c == "\n":
                if quote:
                    raise self.incomplete()
                return value
            if comment:
                continue
            if c in _SPACE and not quote:
                # Leading and trailing blanks are dropped; each one between words is one space.
                spaces += 1 if value else 0
                continue
            if not quote and c in "#;":
                comment = True
                continue
            value += " " * spaces
            spaces = 0
            if c == "\\":
                escaped = _ESCAPES.get(self.next())
                if escaped is None:
                    raise _BadLine
                value += escaped
            elif c == '"':
                quote = not quote
            else:
                value += c


_SPACE: Final = frozenset(" \t\n\r")  # git's isspace (its own ctype, not the C locale's)
# `\` + newline continues the value on the next line; any other escape is an error in git.
_ESCAPES: Final = {"\n": "", "t": "\t", "b": "\b", "n": "\n", "\\": "\\", '"': '"'}


def _is_alpha(c: str) -> bool:
    return c.isascii() and c.isalpha()


def _is_key_char(c: str) -> bool:
    return c.isascii() and (c.isalnum() or c == "-")


# --------------------------------------------------------------------------- names


def _name_from_url(url: str) -> str | None:
    """The directory `git clone URL` would make: the last path component, without `.git`."""
    _, separator, rest = url.partition("://")
    if separator:
        slash = rest.find("/")
        rest = rest[slash:] if slash != -1 else ""
    path = rest.split("?", 1)[0].split("#", 1)[0] if separator else url
    path = path.rstrip("/\\").removesuffix("/.git").removesuffix(".git")
    name = re.split(r"[/\\:]", path)[-1]
    return name if valid_name(name) else None
