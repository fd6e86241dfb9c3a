"""pip requirements files (hand-written, pip-compile, uv pip compile, uv export), read as pip reads them.

pip's own pipeline (`pip/_internal/req/req_file.py`) is reproduced step by step: split lines,
join `\\` continuations, strip comments, split the requirement from its options, parse the
options the way optparse would, follow `-r`/`-c`. Only the PEP 508 part goes to `packaging`.
pip-requirements-parser is not used: importing it alone costs more than this whole module
(35 ms against ~10 ms, measured on top of envguard.model), and it follows pip 22, whose option
set differs from today's pip.

Deliberate differences from pip: `${VAR}` is never expanded (the file is read without the
environment it is installed with, so such a version is kept raw); include cycles and URL
includes are errors instead of recursion or downloads; a local project directory is named from
its pyproject.toml `[project] name` instead of being built.
"""

from __future__ import annotations

import dataclasses
import functools
import operator
import os
import posixpath
import re
import urllib.parse
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import parse_sdist_filename, parse_wheel_filename

from envguard.errors import SourceError
from envguard.model import MAIN, Diagnostic, Kind, Loaded, Package, normalize
from envguard.sources._text import read_text

# pip's `(^|\s+)#.*$`; the look-behind tries `\s+` only where a run of whitespace starts, which
# finds the same comment without retrying every position of a long run (quadratic).
_COMMENT = re.compile(r"(^|(?<!\s)\s+)#.*$")
_ENV_VAR = re.compile(r"\$\{[A-Z0-9_]+\}")
_INCLUDE_URL = re.compile(r"^(http|https|file):", re.I)
_PROJECT_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.I)
_EGG = re.compile(r"[#&]egg=([^&]*)")
_VCS_SCHEME = re.compile(r"^(git|hg|svn|bzr)\+[a-z-]+$")
_VCS_PREFIXES = ("git+", "hg+", "svn+", "bzr+")
# pip's ARCHIVE_EXTENSIONS: what it installs as a file rather than as a project directory.
ARCHIVE_EXTENSIONS = (
    ".whl",
    ".zip",
    ".tar.gz",
    ".tgz",
    ".tar",
    ".tar.bz2",
    ".tbz",
    ".tar.xz",
    ".txz",
    ".tlz",
    ".tar.lz",
    ".tar.lzma",
)
_STRONG_HASHES = ("sha256", "sha384", "sha512")
# `name == 1.0 @ git+...`: not PEP 508, but written by hand and read by other scanners (syft).
_PINNED_URL = re.compile(
    r"^(?P<head>[A-Za-z0-9][A-Za-z0-9._-]*(\s*\[[^\]]*\])?)\s*===?\s*(?P<version>[^\s@;,]+)\s*@\s*(?P<url>\S+)$"
)
_SPEC_AFTER_NAME = re.compile(r"^\s*[A-Za-z0-9._-]+\s*(\[[^\]]*\])?(?P<spec>.*)$", re.S)

# The group a requirements file's name stands for: `requirements-dev.txt`, `dev-requirements.txt`,
# `requirements_dev.txt` and `requirements/dev.txt` are the "dev" group.
_GROUP_AFTER = re.compile(r"^requirements[-_.](?P<group>.+)$")
_GROUP_BEFORE = re.compile(r"^(?P<group>.+)[-_.]requirements$")
_LOCK_SUFFIX = re.compile(r"[-_.]lock(ed)?$")


@dataclass(frozen=True)
class _Option:
    name: str  # the long spelling, used in messages and to dispatch
    takes_value: bool
    per_requirement: bool = False


def _options() -> dict[str, _Option]:
    table: dict[str, _Option] = {}
    for spellings, takes_value, per_requirement in (
        (("-i", "--index-url", "--pypi-url"), True, False),
        (("--extra-index-url",), True, False),
        (("--no-index",), False, False),
        (("-c", "--constraint"), True, False),
        (("-r", "--requirement"), True, False),
        (("-e", "--editable"), True, False),
        (("-f", "--find-links"), True, False),
        (("--no-binary",), True, False),
        (("--only-binary",), True, False),
        (("--all-releases",), True, False),
        (("--only-final",), True, False),
        (("--no-deps-for",), True, False),
        (("--prefer-binary",), False, False),
        (("--require-hashes",), False, False),
        (("--no-require-hashes",), False, False),
        (("--pre",), False, False),
        (("--trusted-host",), True, False),
        (("--use-feature",), True, False),
        (("--hash",), True, True),
        (("-C", "--config-settings"), True, True),
        # Removed from pip (23.1 and 25.3) but still in many pip-compile outputs; pip ignored them
        # for wheels long before, so they are accepted and ignored.
        (("--global-option",), True, True),
        (("--install-option",), True, True),
    ):
        option = _Option(next(s for s in spellings if s.startswith("--")), takes_value, per_requirement)
        table.update((spelling, option) for spelling in spellings)
    return table


_OPTIONS = _options()
_LONG_OPTIONS = sorted(s for s in _OPTIONS if s.startswith("--"))
# The options each kind of line may carry; pip drops the others.
_PER_REQUIREMENT_OPTIONS = frozenset(o.name for o in _OPTIONS.values() if o.per_requirement)
_FILE_OPTIONS = frozenset(o.name for o in _OPTIONS.values() if not o.per_requirement)
_EDITABLE_OPTIONS = frozenset({"--editable", "--config-settings"})


@dataclass(frozen=True)
class _Line:
    """One logical line: the requirement part and the options pip would parse from the rest."""

    number: int
    requirement: str
    options: tuple[tuple[str, str, str], ...]  # (spelling as written, long name, value or "")
    ignored: tuple[str, ...]  # positional words after the options, which optparse drops

    def values(self, name: str) -> list[str]:
        return [value for _, long_name, value in self.options if long_name == name]


@dataclass
class _Reader:
    packages: list[Package] = field(default_factory=list)
    included: list[str] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)
    # Files being read, outermost first: an include of one of them is a cycle.
    stack: list[tuple[Path, str]] = field(default_factory=list)
    # (file, as constraint, inherited group) already read: a diamond include adds nothing new.
    done: set[tuple[Path, bool, str]] = field(default_factory=set)
    allow_outside_root: bool = False
    # Entries of constraint files (-c): they pin what is installed, they install nothing.
    constraints: list[Package] = field(default_factory=list)
    # The requirement or editable text of each entry line, by (file, line), for `read_requested`;
    # None when no one asks (records).
    texts: dict[tuple[str, int], str] | None = None
    # Whether pip would install in hash-checking mode: some line has --hash or --require-hashes.
    hashed: bool = False
    # The display path of the directory relative paths start from, when the text read is no
    # file's (a command line): `shown` then names the file holding the command.
    anchor_shown: str | None = None


def load(path: Path, shown: str, *, allow_outside_root: bool = False) -> Loaded:
    """Read a requirements file and what it includes.

    `shown` is relative to the workspace root; a file it reaches through `-r`, `-c` or a local
    project's pyproject.toml above that root is refused unless `allow_outside_root`, so a scan
    of one repository never reads another's files by accident.
    """
    reader = _Reader(allow_outside_root=allow_outside_root)
    _read_file(reader, path, shown, _file_group(shown) or MAIN, constraint=False)
    return Loaded(
        packages=_merge(reader.packages),
        included=tuple(reader.included),
        warnings=tuple(reader.warnings),
    )


@dataclass(frozen=True)
class Requested:
    """What pip would be asked to install, for the readers of declarations (`envguard.declared`)."""

    # Each requirement or editable entry, with its text as written.
    entries: tuple[tuple[Package, str], ...]
    # The entries of every constraint file reached (-c): they pin, they install nothing.
    constraints: tuple[Package, ...]
    included: tuple[str, ...]
    warnings: tuple[Diagnostic, ...]
    # pip installs in hash-checking mode: some line carries --hash or --require-hashes.
    hashed: bool


def read_requested(path: Path, shown: str, *, constraint: bool = False, allow_outside_root: bool = False) -> Requested:
    """A requirements file named by an install command (`pip install -r`, or `-c` with `constraint`)."""
    reader = _Reader(allow_outside_root=allow_outside_root, texts={})
    _read_file(reader, path, shown, _file_group(shown) or MAIN, constraint=constraint)
    return _requested(reader)


def requested_words(
    words: Sequence[tuple[str, int, bool]],
    cwd: Path,
    cwd_shown: str,
    shown: str,
    *,
    allow_outside_root: bool = False,
) -> Requested:
    """Requirements given as arguments (`pip install "pytest>=8" -e ./lib`): (text, line, editable).

    Relative paths start from `cwd` (shown as `cwd_shown`); messages name `shown`, the file that
    holds the command.
    """
    reader = _Reader(allow_outside_root=allow_outside_root, anchor_shown=cwd_shown)
    # The functions below take a file and resolve paths from its directory: one in `cwd`, never read.
    here = cwd / "-"
    entries: list[tuple[Package, str]] = []
    for text, number, editable in words:  # several words share a line: texts go by position
        if editable:
            _editable(reader, text, here, shown, number, MAIN, constraint=False)
        else:
            _requirement(reader, text, here, shown, number, MAIN, constraint=False)
        entries.append((reader.packages[-1], f"-e {text}" if editable else text))
    return Requested(tuple(entries), (), tuple(reader.included), tuple(reader.warnings), False)


def _requested(reader: _Reader) -> Requested:
    assert reader.texts is not None
    texts = reader.texts
    entries = tuple((package, texts.get((package.path, package.line), package.name)) for package in reader.packages)
    return Requested(entries, tuple(reader.constraints), tuple(reader.included), tuple(reader.warnings), reader.hashed)


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """pip's join_lines + ignore_comments: (first physical line, content) for each non-empty line."""
    pending: list[str] = []
    first = 0
    for number, line in enumerate(text.splitlines(), start=1):
        is_comment = "#" in line and _COMMENT.match(line) is not None  # most lines have no "#"
        if line.endswith("\\") and not is_comment:
            if not pending:
                first = number
            # pip strips every backslash at both ends, so `4.5\\` continues too.
            pending.append(line.strip("\\"))
            continue
        if is_comment:
            # A comment ends a continuation and must still be recognised as one once joined.
            line = " " + line
        if pending:
            line, number, pending = "".join(pending) + line, first, []
        content = _strip_comment(line)
        if content:
            yield number, content
    if pending:
        content = _strip_comment("".join(pending))
        if content:
            yield first, content


def _strip_comment(line: str) -> str:
    # The regex is slow on long hash lines; most lines have no "#" at all.
    return (_COMMENT.sub("", line) if "#" in line else line).strip()


def _read_file(reader: _Reader, path: Path, shown: str, group: str, constraint: bool) -> None:
    key = _identity(path)
    reader.done.add((key, constraint, group))
    reader.stack.append((key, shown))
    text = read_text(path, shown)
    for number, content in _logical_lines(text):
        line = _parse_line(content, number, shown)
        if not reader.hashed and any(name in ("--hash", "--require-hashes") for _, name, _ in line.options):
            reader.hashed = True
        if line.requirement:
            if reader.texts is not None:
                reader.texts[(shown, number)] = line.requirement
            _note_ignored(reader, line, shown, per_requirement=True)
            _requirement(reader, line.requirement, path, shown, number, group, constraint)
        elif line.values("--editable"):
            if reader.texts is not None:
                reader.texts[(shown, number)] = f"-e {line.values('--editable')[0]}"
            _note_ignored(reader, line, shown, per_requirement=False, editable=True)
            _editable(reader, line.values("--editable")[0], path, shown, number, group, constraint)
        else:
            _note_ignored(reader, line, shown, per_requirement=False)
            _follow_include(reader, line, path, shown, group)
    reader.stack.pop()


def _parse_line(content: str, number: int, shown: str) -> _Line:
    split = _split_line(content)
    if isinstance(split, str):
        raise SourceError(shown, number, split)
    return _Line(number, *split)


_Split = tuple[str, tuple[tuple[str, str, str], ...], tuple[str, ...]]


@functools.lru_cache(maxsize=4096)
def _split_line(content: str) -> _Split | str:
    """(requirement, options, ignored words) of a logical line, or why pip refuses it.

    Cached: the files of a monorepo repeat the same pinned lines, hashes included (a pip-compile
    file spends most of its reading time here), and the result depends on the text alone.
    """
    # pip's break_args_options: the requirement ends at the first space-separated word
    # starting with "-"; only the rest is shell-split, so markers keep their quotes.
    words = content.split(" ")
    split = next((i for i, word in enumerate(words) if word.startswith("-")), len(words))
    requirement = " ".join(words[:split])
    rest = " ".join(words[split:])
    if not rest:
        return requirement, (), ()
    try:
        # Without quotes or escapes it is a plain whitespace split.
        tokens = _shell_split(rest) if any(c in rest for c in "'\"\\") else rest.split()
    except ValueError as exc:
        return f"cannot split options: {exc}"
    try:
        options, ignored = _parse_options(tokens, "", 0)
    except SourceError as exc:  # raised again with the file and line by _parse_line
        return exc.message
    return requirement, options, ignored


# One piece of a POSIX shell word: plain characters, a '...' or "..." string, or an escaped character.
_SHELL_PIECE = re.compile(r"""[ \t\r\n]+|[^ \t\r\n'"\\]+|'[^']*'|"[^"\\]*(?:\\[\s\S][^"\\]*)*"|\\[\s\S]""")
_SHELL_DQ_ESCAPE = re.compile(r'\\(["\\])')
_SHELL_DQ_BODY = re.compile(r'[^"\\]*(?:\\[\s\S][^"\\]*)*')


def _shell_split(text: str) -> list[str]:
    """`shlex.split(text)`, in linear time: shlex grows each token a character at a time, which
    takes minutes for a quoted value a few megabytes long. Raises ValueError as shlex does."""
    words: list[str] = []
    word: list[str] | None = None
    position = 0
    while position < len(text):
        found = _SHELL_PIECE.match(text, position)
        if found is None:
            # shlex's two errors: a lone backslash at the end (inside an unclosed "..." too), or a
            # quote never closed.
            body = _SHELL_DQ_BODY.match(text, position + 1)
            dangling = text[position] == "\\" or (text[position] == '"' and body is not None and body.end() < len(text))
            raise ValueError("No escaped character" if dangling else "No closing quotation")
        piece, position = found.group(), found.end()
        first = piece[0]
        if first in " \t\r\n":
            if word is not None:
                words.append("".join(word))
            word = None
            continue
        if word is None:
            word = []
        if first == "'":
            word.append(piece[1:-1])
        elif first == '"':
            # Within double quotes a backslash escapes only `"` and itself.
            word.append(_SHELL_DQ_ESCAPE.sub(r"\1", piece[1:-1]))
        elif first == "\\":
            word.append(piece[1])
        else:
            word.append(piece)
    if word is not None:
        words.append("".join(word))
    return words


def _parse_options(
    tokens: list[str], shown: str, number: int
) -> tuple[tuple[tuple[str, str, str], ...], tuple[str, ...]]:
    """optparse's algorithm for pip's option table: long options may be abbreviated."""
    options: list[tuple[str, str, str]] = []
    ignored: list[str] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        if token == "--":
            ignored.extend(tokens[index:])
            break
        if token.startswith("--"):
            spelling, has_value, inline = token.partition("=")
            option = _OPTIONS[_long_option(spelling, shown, number)]
            if not option.takes_value:
                if has_value:
                    raise SourceError(shown, number, f"option {option.name} takes no value")
                options.append((spelling, option.name, ""))
                continue
            value: str | None = inline if has_value else None
        elif token.startswith("-") and len(token) > 1:
            spelling = token[:2]
            if spelling not in _OPTIONS:
                raise SourceError(shown, number, f"unknown pip option {spelling!r}")
            option = _OPTIONS[spelling]
            value = token[2:] or None
        else:
            ignored.append(token)
            continue
        if value is None:
            if index == len(tokens):
                raise SourceError(shown, number, f"option {spelling} needs a value")
            value = tokens[index]
            index += 1
        _check_value(option, spelling, value, shown, number)
        options.append((spelling, option.name, value))
    return tuple(options), tuple(ignored)


def _long_option(spelling: str, shown: str, number: int) -> str:
    if spelling in _OPTIONS:
        return spelling
    matches = [name for name in _LONG_OPTIONS if name.startswith(spelling)]
    if not matches:
        raise SourceError(shown, number, f"unknown pip option {spelling!r}")
    if len({_OPTIONS[name].name for name in matches}) > 1:
        raise SourceError(shown, number, f"ambiguous pip option {spelling!r} (could be {', '.join(matches)})")
    return matches[0]


def _check_value(option: _Option, spelling: str, value: str, shown: str, number: int) -> None:
    """The checks pip's option callbacks make, which reject the whole file."""
    if option.name == "--hash":
        algorithm, colon, _ = value.partition(":")
        if not colon:
            message = f"{spelling} needs a hash name and a value, like sha256:abcde... (got {value!r})"
            raise SourceError(shown, number, message)
        if algorithm not in _STRONG_HASHES:
            message = f"{spelling} algorithm {algorithm!r} is not allowed; use sha256, sha384 or sha512"
            raise SourceError(shown, number, message)
    elif option.name == "--config-settings" and "=" not in value:
        raise SourceError(shown, number, f"{spelling} needs KEY=VALUE (got {value!r})")
    elif option.name in ("--no-binary", "--only-binary") and value.startswith("-"):
        raise SourceError(shown, number, f"{spelling} needs :all:, :none: or project names (got {value!r})")


def _note_ignored(
    reader: _Reader, line: _Line, shown: str, *, per_requirement: bool, editable: bool = False
) -> None:
    """pip accepts but silently drops these; a warning says so, since the author meant something."""
    if line.ignored:
        reader.warnings.append(
            Diagnostic(shown, line.number, f"pip ignores the text after the options: {' '.join(line.ignored)!r}")
        )
    if editable:
        where, kept = "an editable line", _EDITABLE_OPTIONS
    elif per_requirement:
        where, kept = "a requirement line", _PER_REQUIREMENT_OPTIONS
    else:
        where, kept = "a line without a requirement", _FILE_OPTIONS
    for spelling, name, _ in line.options:
        if name not in kept:
            reader.warnings.append(Diagnostic(shown, line.number, f"pip ignores {spelling} on {where}"))
    targets = line.values("--requirement") + line.values("--constraint")
    if not per_requirement and not editable and len(targets) > 1:
        reader.warnings.append(
            Diagnostic(shown, line.number, f"pip reads only the first file named on a line ({targets[0]!r})")
        )


def _follow_include(reader: _Reader, line: _Line, path: Path, shown: str, group: str) -> None:
    # pip reads only the first -r of a line, and a -c only when there is no -r.
    requirements, constraints = line.values("--requirement"), line.values("--constraint")
    if requirements:
        target, constraint = requirements[0], False
    elif constraints:
        target, constraint = constraints[0], True
    else:
        return
    what = "constraint file" if constraint else "requirement file"
    if _INCLUDE_URL.match(target):
        raise SourceError(shown, line.number, f"{what} {target!r} is a URL; envguard reads only local files")
    included = path.parent / target
    included_shown = posixpath.normpath(posixpath.join(posixpath.dirname(shown), target))
    _refuse_outside_root(reader, included_shown, target, what, shown, line.number)
    key = _identity(included)
    chain = [key_ for key_, _ in reader.stack]
    if key in chain:
        cycle = [s for _, s in reader.stack[chain.index(key) :]] + [included_shown]
        raise SourceError(shown, line.number, f"include cycle: {' -> '.join(cycle)}")
    found = _probe(included)
    if found is None:
        raise SourceError(shown, line.number, f"{what} {target!r} not found")
    if found != "file":
        raise SourceError(shown, line.number, f"{what} {target!r} is not a file")
    if included_shown not in reader.included:
        reader.included.append(included_shown)
    included_group = _file_group(included_shown) or group
    if (key, constraint, included_group) not in reader.done:
        _read_file(reader, included, included_shown, included_group, constraint)


def _identity(path: Path) -> Path:
    """The same file reached by two spellings (`./x.txt`, `../dir/x.txt`) is one file."""
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError):  # a symlink loop: the lexical path is all there is
        return Path(os.path.abspath(path))


def _probe(path: Path) -> str | None:
    """file, dir, other or None; a path the system refuses (too long, NUL) does not exist."""
    try:
        if path.is_file():
            return "file"
        if path.is_dir():
            return "dir"
        return "other" if path.exists() else None
    except (OSError, ValueError):
        return None


def _file_group(shown: str) -> str | None:
    """The group a file's own name stands for, or None for names that say nothing (base.txt)."""
    stem = posixpath.splitext(posixpath.basename(shown))[0].lower()
    if stem == "requirements":
        return MAIN
    found = _GROUP_AFTER.match(stem) or _GROUP_BEFORE.match(stem)
    if found:
        word = found.group("group")
    elif posixpath.basename(posixpath.dirname(shown)).lower() == "requirements":
        word = stem
    else:
        return None
    # requirements.lock / requirements-dev.lock.txt: "lock" says how it was made, not what for.
    word = _LOCK_SUFFIX.sub("", word)
    return MAIN if word in ("lock", "locked") else normalize(word)


def _requirement(
    reader: _Reader, text: str, path: Path, shown: str, number: int, group: str, constraint: bool
) -> None:
    # pip splits the marker off first, at "; " after a URL (which may contain ";") else at ";".
    separator = "; " if _is_url(text) else ";"
    body, _, marker_text = text.partition(separator)
    body, marker = body.strip(), _marker(marker_text.strip(), shown, number)
    location = _location(body, path.parent)
    if location is None:
        package = _named(body, marker, shown, number, group, constraint)
    else:
        target, kind = location
        if constraint and kind is Kind.PATH and not _is_url(target):
            raise SourceError(shown, number, f"unnamed requirements are not allowed as constraints ({body!r})")
        name = _unnamed_name(reader, target, kind, path, shown, number)
        package = Package(normalize(name), None, kind, (group,), marker, shown, number)
    (reader.constraints if constraint else reader.packages).append(package)


def _location(body: str, base: Path) -> tuple[str, Kind] | None:
    """A bare URL, archive or directory (pip's _get_url_from_path), or None for a named requirement."""
    if _is_url(body):
        return body, url_kind(body)
    target = _without_extras(body)
    if _looks_like_path(body) and _probe(base / target) == "dir":
        return target, Kind.PATH
    if target.lower().endswith(ARCHIVE_EXTENSIONS):
        before_at, at, _ = body.partition("@")
        # `name @ https://…/x.whl` is a named requirement, `./x@2.whl` a file name.
        if not at or _looks_like_path(before_at):
            return target, Kind.URL
    return None


def _named(body: str, marker: str | None, shown: str, number: int, group: str, constraint: bool) -> Package:
    masked, variables = _mask_variables(body)
    try:
        requirement = _parsed_requirement(masked)
    except InvalidRequirement as exc:
        pinned = _PINNED_URL.match(body)
        if pinned:
            return _pinned_url(pinned, marker, shown, number, group)
        raise SourceError(shown, number, f"invalid requirement: {_reason(exc, body)}") from None
    if any(token in requirement.name for token in variables):
        message = "invalid requirement: the project name cannot come from an environment variable"
        raise SourceError(shown, number, message)
    if constraint and requirement.extras:
        raise SourceError(shown, number, "constraints cannot have extras")
    name = normalize(requirement.name)
    if requirement.url is not None:
        return Package(name, None, url_kind(requirement.url), (group,), marker, shown, number)
    specifiers = list(requirement.specifier)
    if len(specifiers) == 1 and _is_exact(specifiers[0].operator, specifiers[0].version):
        version = _unmask(specifiers[0].version, variables)
        return Package(name, version, Kind.REGISTRY, (group,), marker, shown, number)
    return Package(name, None, Kind.REGISTRY, (group,), marker, shown, number, specifier=_specifier_text(body))


@functools.lru_cache(maxsize=8192)
def _parsed_requirement(text: str) -> Requirement:
    """`Requirement(text)`, once per distinct text: the files of a monorepo pin the same few
    hundred requirements again and again (a third of the time of reading them). Never mutated."""
    return Requirement(text)


def _is_exact(comparison: str, version: str) -> bool:
    return comparison == "===" or (comparison == "==" and not version.endswith(".*"))


def _pinned_url(found: re.Match[str], marker: str | None, shown: str, number: int, group: str) -> Package:
    try:
        requirement = Requirement(f"{found.group('head')} @ {found.group('url')}")
    except InvalidRequirement as exc:
        raise SourceError(shown, number, f"invalid requirement: {_reason(exc, found.string)}") from None
    kind = url_kind(requirement.url or found.group("url"))
    return Package(normalize(requirement.name), found.group("version"), kind, (group,), marker, shown, number)


def _specifier_text(body: str) -> str:
    """The specifier as written, without spaces or the legacy parentheses (packaging reorders it)."""
    found = _SPEC_AFTER_NAME.match(body)
    spec = found.group("spec").strip() if found else ""
    if spec.startswith("(") and spec.endswith(")"):
        spec = spec[1:-1]
    return re.sub(r"\s+", "", spec)


def _editable(
    reader: _Reader, value: str, path: Path, shown: str, number: int, group: str, constraint: bool
) -> None:
    if constraint:
        raise SourceError(shown, number, "editable requirements are not allowed as constraints")
    target = _without_extras(value)
    if not _is_url(target) and _probe(path.parent / target) == "dir":
        name = _project_name(reader, target, path, shown, number)
        reader.packages.append(Package(normalize(name), None, Kind.EDITABLE, (group,), None, shown, number))
        return
    if target.lower().startswith("file:"):
        local = urllib.parse.unquote(_split_url(target, shown, number).path)
        name = egg_name(target, shown, number) or _project_name(reader, local, path, shown, number, label=target)
        reader.packages.append(Package(normalize(name), None, Kind.EDITABLE, (group,), None, shown, number))
        return
    url = value
    for vcs in ("git", "hg", "svn", "bzr"):
        if url.lower().startswith(f"{vcs}:"):
            url = f"{vcs}+{url}"
    if not _VCS_SCHEME.match(_split_url(url, shown, number).scheme.lower()):
        raise SourceError(
            shown,
            number,
            f"{value!r} is not a valid editable requirement: "
            "give a local project directory or a VCS URL (git+..., hg+..., svn+..., bzr+...)",
        )
    egg = egg_name(url, shown, number)
    if egg is None:
        raise SourceError(shown, number, f"cannot tell the project name of editable {value!r}; add #egg=<name>")
    reader.packages.append(Package(normalize(egg), None, Kind.EDITABLE, (group,), None, shown, number))


def _unnamed_name(reader: _Reader, target: str, kind: Kind, path: Path, shown: str, number: int) -> str:
    """pip's order: wheel file name, then #egg=; then (envguard only) pyproject.toml or sdist name."""
    filename = _file_name(target, shown, number)
    if filename.lower().endswith(".whl"):
        try:
            return parse_wheel_filename(filename)[0]
        except ValueError as exc:  # InvalidWheelFilename, or a version too long for int()
            raise SourceError(shown, number, f"invalid wheel file name {filename!r}: {exc}") from None
    egg = egg_name(target, shown, number)
    if egg is not None:
        return egg
    if kind is Kind.PATH and not _is_url(target):
        return _project_name(reader, target, path, shown, number)
    try:
        return parse_sdist_filename(filename)[0]
    except ValueError:  # InvalidSdistFilename, or a version too long for int()
        raise SourceError(
            shown, number, f"cannot tell the project name of {target!r}; write it as '<name> @ {target}'"
        ) from None


def _refuse_outside_root(reader: _Reader, reached: str, target: str, what: str, shown: str, number: int) -> None:
    outside = reached == ".." or reached.startswith("../") or posixpath.isabs(target.replace("\\", "/"))
    if outside and not reader.allow_outside_root:
        raise SourceError(
            shown, number, f"{what} {target!r} is outside the workspace root; pass --allow-outside-root to read it"
        )


def _split_url(url: str, shown: str, number: int) -> urllib.parse.SplitResult:
    try:
        return urllib.parse.urlsplit(url)
    except ValueError as exc:  # an unbalanced `[` or `]` in the host ("Invalid IPv6 URL")
        raise SourceError(shown, number, f"invalid URL {url!r}: {exc}") from None


def _without_extras(text: str) -> str:
    """`name[extra]` without its extras: what pip's `^(.+)(\\[[^\\]]+\\])$` keeps of it, found
    without the regex's backtracking, which is quadratic on a long line of brackets."""
    if not text.endswith("]"):
        return text
    last = len(text) - 1
    # The last `[` after every other `]`, with at least one character before it and inside.
    start = text.rfind("[", max(text.rfind("]", 0, last) + 1, 1), last - 1)
    return text[:start] if start != -1 else text


def _file_name(target: str, shown: str, number: int) -> str:
    if _is_url(target):
        return urllib.parse.unquote(posixpath.basename(_split_url(target, shown, number).path))
    return posixpath.basename(target.replace("\\", "/"))


def _project_name(
    reader: _Reader, target: str, path: Path, shown: str, number: int, label: str | None = None
) -> str:
    """The `[project] name` of a local project directory: reading it is cheaper and safer than a build."""
    from envguard.sources._toml import parse_toml

    label = label or target
    pyproject = path.parent / target / "pyproject.toml"
    base_shown = reader.anchor_shown if reader.anchor_shown is not None else posixpath.dirname(shown)
    pyproject_shown = posixpath.normpath(posixpath.join(base_shown, target, "pyproject.toml"))
    _refuse_outside_root(reader, pyproject_shown, target, "local project", shown, number)
    if _probe(pyproject) != "file":
        reason = "no pyproject.toml there (envguard does not run setup.py)"
        raise SourceError(shown, number, f"cannot tell the project name of {label!r}: {reason}")
    if pyproject_shown not in reader.included:
        reader.included.append(pyproject_shown)
    project = parse_toml(read_text(pyproject, pyproject_shown), pyproject_shown).get("project")
    name = project.get("name") if isinstance(project, dict) else None
    if not isinstance(name, str) or not _PROJECT_NAME.match(name):
        reason = f"{pyproject_shown} has no valid [project] name"
        raise SourceError(shown, number, f"cannot tell the project name of {label!r}: {reason}")
    return name


def _marker(text: str, shown: str, number: int) -> str | None:
    if not text:
        return None
    try:
        return _normal_marker(text)
    except InvalidMarker as exc:
        raise SourceError(shown, number, f"invalid requirement: bad marker: {_first_line(exc)}") from None


@functools.lru_cache(maxsize=256)
def _normal_marker(text: str) -> str:
    # Exported files repeat a handful of markers on hundreds of lines.
    return str(Marker(text))


def _reason(exc: InvalidRequirement, body: str) -> str:
    reason = _first_line(exc)
    if _looks_like_path(body) and "@" not in body:
        return f"{reason} (it looks like a path, but there is no directory {body!r})"
    if re.search(r"[A-Za-z0-9]=[^=]", body) and not re.search(r"==|!=|<=|>=|~=|<|>", body):
        # `numpy=1.18.1=pypi_0` is `conda list --export` output; `foo=1.0` a typo.
        reason += " ('=' is not a version operator: use '==' for a pin)"
    return reason


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _mask_variables(text: str) -> tuple[str, dict[str, str]]:
    """Replace `${VAR}` with digits packaging accepts anywhere a version or URL part may be."""
    variables: dict[str, str] = {}
    if "${" not in text:
        return text, variables

    def token(found: re.Match[str]) -> str:
        placeholder = f"90909{len(variables):04d}90909"
        variables[placeholder] = found.group(0)
        return placeholder

    return _ENV_VAR.sub(token, text), variables


def _unmask(text: str, variables: dict[str, str]) -> str:
    for placeholder, original in variables.items():
        text = text.replace(placeholder, original)
    return text


# Every field of a Package but its groups: what makes two entries the same line read twice.
_SAME_ENTRY = operator.attrgetter(*(f.name for f in dataclasses.fields(Package) if f.name != "groups"))


def _merge(packages: list[Package]) -> tuple[Package, ...]:
    """One entry per line read: a file included from two places keeps the union of the groups."""
    # dataclasses.replace only where groups change: it took a third of reading a hashed file.
    merged: dict[tuple[object, ...], Package] = {}
    for package in packages:
        key = _SAME_ENTRY(package)
        seen = merged.get(key)
        if seen is None and len(package.groups) == 1:
            merged[key] = package
            continue
        groups = set(package.groups) | set(seen.groups if seen else ())
        merged[key] = dataclasses.replace(package if seen is None else seen, groups=tuple(sorted(groups)))
    return tuple(merged.values())


def _is_url(text: str) -> bool:
    """pip's is_url: a scheme pip can install from (so `C:\\x` and `name @ url` are not URLs)."""
    scheme = text.split(":", 1)[0].lower() if ":" in text else ""
    return scheme in ("http", "https", "file", "ftp") or _VCS_SCHEME.match(scheme) is not None


def _looks_like_path(text: str) -> bool:
    return "/" in text or "\\" in text or text.startswith(".")


def url_kind(url: str) -> Kind:
    """vcs for git+/hg+/svn+/bzr+ URLs; a file: URL is a path (directory or archive), as in
    every lock format: "url" is kept for what is fetched from a remote host."""
    lowered = url.lower()
    if lowered.startswith(_VCS_PREFIXES):
        return Kind.VCS
    if lowered.startswith("file:"):
        return Kind.PATH
    return Kind.URL


def egg_name(url: str, shown: str, number: int) -> str | None:
    """The project name a `#egg=` fragment gives, which must be a bare name since pip 26."""
    found = _EGG.search(url)
    if found is None:
        return None
    name = found.group(1)
    if not _PROJECT_NAME.match(name):
        raise SourceError(shown, number, f"invalid #egg= project name {name!r}")
    return name
