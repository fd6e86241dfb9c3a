"""pip requirements files (hand-written, pip-compile, uv pip compile, uv export), read as pip 26.3 reads them.

pip's own pipeline (`pip/_internal/req/req_file.py`, then `req/constructors.py`) is reproduced
step by step: decode as pip does (byte-order marks, a PEP 263 coding line, UTF-8), split lines,
join `\\` continuations, strip comments, split the requirement from its options, parse the
options the way optparse would with pip's option table, follow `-r`/`-c`, then read each
requirement as pip's `parse_req_from_line` and `parse_editable` do. Only the PEP 508 part goes
to `packaging`. tests/sources/test_requirements_pip.py compares this module with pip's own
parser on a generated corpus.

Deliberate differences from pip, all from reading without installing: relative paths start from
the directory of the file read first (pip's working directory when it is run there); `${VAR}`
is never expanded, as pip leaves a variable that is not set; a file that is not UTF-8 and
declares no encoding is an error (pip falls back to the locale's encoding); include cycles are
errors (as in pip) and URL includes are refused instead of downloaded; a project pip would have
to build to learn its name (a local directory, an sdist) is named from its pyproject.toml
`[project] name` or its file name, and is an error when neither tells it.
"""

from __future__ import annotations

import codecs
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

from envguard._record import record
from envguard.errors import SourceError
from envguard.model import MAIN, Diagnostic, Kind, Loaded, LocalProject, Package, normalize
from envguard.sources import _origin
from envguard.sources._text import read_bytes

# pip's `(^|\s+)#.*$`; the look-behind tries `\s+` only where a run of whitespace starts, which
# finds the same comment without retrying every position of a long run (quadratic).
_COMMENT = re.compile(r"(^|(?<!\s)\s+)#.*$")
_INCLUDE_URL = re.compile(r"^(http|https|file):", re.I)
_PROJECT_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.I)
_EGG = re.compile(r"[#&]egg=([^&]*)")
_VCS_PREFIXES = ("git+", "hg+", "svn+", "bzr+")
# pip's vcs.all_schemes, and the backends whose bare `name:` an editable may start with.
_VCS_SCHEMES = frozenset(
    {
        *(f"bzr+{s}" for s in ("http", "https", "ssh", "sftp", "ftp", "lp", "file")),
        *(f"git+{s}" for s in ("http", "https", "ssh", "git", "file")),
        *(f"hg+{s}" for s in ("file", "http", "https", "ssh", "static-http")),
        *(f"svn+{s}" for s in ("ssh", "http", "https", "svn", "file")),
    }
)
_VCS_BACKENDS = ("bzr", "git", "hg", "svn")
# pip's is_url: the schemes pip installs from.
_URL_SCHEMES = frozenset({"http", "https", "file", "ftp"}) | _VCS_SCHEMES
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
_SPEC_AFTER_NAME = re.compile(r"^\s*[A-Za-z0-9._-]+\s*(\[[^\]]*\])?(?P<spec>.*)$", re.S)

# pip's _decode_req_file: the marks in its order (UTF-16's little-endian mark starts UTF-32's),
# then a PEP 263 coding comment on one of the first two lines, then UTF-8.
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF16, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
)
_CODING = re.compile(rb"coding[:=]\s*([-\w.]+)")

# The group a requirements file's name stands for: `requirements-dev.txt`, `dev-requirements.txt`,
# `requirements_dev.txt` and `requirements/dev.txt` are the "dev" group.
_GROUP_AFTER = re.compile(r"^requirements[-_.](?P<group>.+)$")
_GROUP_BEFORE = re.compile(r"^(?P<group>.+)[-_.]requirements$")
_LOCK_SUFFIX = re.compile(r"[-_.]lock(ed)?$")


@record(frozen=True)
class _Option:
    name: str  # the long spelling, used in messages and to dispatch
    takes_value: bool
    per_requirement: bool = False


def _options() -> dict[str, _Option]:
    """pip 26.3's SUPPORTED_OPTIONS and SUPPORTED_OPTIONS_REQ, every spelling."""
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
        (("--prefer-binary",), False, False),
        (("--require-hashes",), False, False),
        (("--no-require-hashes",), False, False),
        (("--pre",), False, False),
        (("--all-releases",), True, False),
        (("--only-final",), True, False),
        (("--trusted-host",), True, False),
        (("--use-feature",), True, False),
        (("--hash",), True, True),
        (("-C", "--config-settings"), True, True),
    ):
        option = _Option(next(s for s in spellings if s.startswith("--")), takes_value, per_requirement)
        table.update((spelling, option) for spelling in spellings)
    return table


_OPTIONS = _options()
_LONG_OPTIONS = sorted(s for s in _OPTIONS if s.startswith("--"))
# Options pip no longer reads in requirements files, and the release that removed them: written
# by older pip-compile runs, they are now errors (pip's "no such option").
_REMOVED_OPTIONS = {"--install-option": "23.1", "--global-option": "25.3"}
# pip 26.3's `--use-feature` choices, ALWAYS_ENABLED_FEATURES included.
_FEATURES = (
    "fast-deps",
    "inprocess-build-deps",
    "venv-isolation",
    "truststore",
    "no-binary-enable-wheel-cache",
    "build-constraint",
)
# The options each kind of line may carry; pip drops the others.
_PER_REQUIREMENT_OPTIONS = frozenset(o.name for o in _OPTIONS.values() if o.per_requirement)
_FILE_OPTIONS = frozenset(o.name for o in _OPTIONS.values() if not o.per_requirement)
_EDITABLE_OPTIONS = frozenset({"--editable", "--config-settings"})


@record(frozen=True)
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
    # The directory relative requirement paths start from, absolute, and as shown: pip takes
    # them from its working directory, taken to be that of the file read first (or of the
    # command, for `requested_words`); `-r` and `-c` paths start from the including file.
    anchor: str
    anchor_shown: str
    packages: list[Package] = field(default_factory=list)
    local_projects: list[LocalProject] = field(default_factory=list)
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
    # The index options of every file read (pip applies them to the whole install, wherever
    # they are written): the last --index-url, every --extra-index-url and --find-links.
    index_url: str | None = None
    extra_indexes: list[str] = field(default_factory=list)
    no_index: bool = False


def _reader(path: Path, shown: str, allow_outside_root: bool, texts: dict[tuple[str, int], str] | None) -> _Reader:
    anchor = os.path.abspath(path.parent)
    return _Reader(anchor, posixpath.dirname(shown), allow_outside_root=allow_outside_root, texts=texts)


def load(path: Path, shown: str, *, allow_outside_root: bool = False) -> Loaded:
    """Read a requirements file and what it includes.

    `shown` is relative to the workspace root; a file it reaches through `-r`, `-c` or a local
    project's pyproject.toml above that root is refused unless `allow_outside_root`, so a scan
    of one repository never reads another's files by accident.
    """
    reader = _reader(path, shown, allow_outside_root, None)
    _read_file(reader, path, shown, _file_group(shown) or MAIN, constraint=False)
    return Loaded(
        packages=_merge(_with_indexes(reader)),
        included=tuple(reader.included),
        warnings=tuple(reader.warnings),
        local_projects=tuple(reader.local_projects),
    )


@record(frozen=True)
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
    local_projects: tuple[LocalProject, ...] = ()


def read_requested(path: Path, shown: str, *, constraint: bool = False, allow_outside_root: bool = False) -> Requested:
    """A requirements file named by an install command (`pip install -r`, or `-c` with `constraint`)."""
    reader = _reader(path, shown, allow_outside_root, {})
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
    reader = _Reader(os.path.abspath(cwd), cwd_shown, allow_outside_root=allow_outside_root)
    entries: list[tuple[Package, str]] = []
    for text, number, editable in words:  # several words share a line: texts go by position
        if editable:
            _editable(reader, text, shown, number, MAIN, constraint=False)
        else:
            _requirement(reader, text, shown, number, MAIN, constraint=False)
        entries.append((reader.packages[-1], f"-e {text}" if editable else text))
    return Requested(tuple(entries), (), tuple(reader.included), tuple(reader.warnings), False)


def _requested(reader: _Reader) -> Requested:
    assert reader.texts is not None
    texts = reader.texts
    packages = _with_indexes(reader)
    entries = tuple((package, texts.get((package.path, package.line), package.name)) for package in packages)
    return Requested(
        entries,
        tuple(reader.constraints),
        tuple(reader.included),
        tuple(reader.warnings),
        reader.hashed,
        tuple(reader.local_projects),
    )


def _decode(data: bytes, shown: str) -> str:
    """pip's _decode_req_file, with an error where pip would fall back to the locale's encoding."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _decoded(data[len(bom) :], encoding, shown)
    for number, line in enumerate(data.split(b"\n", 2)[:2], start=1):
        if line[:1] == b"#":
            found = _CODING.search(line)
            if found is not None:
                encoding = found.group(1).decode("ascii")
                try:
                    codecs.lookup(encoding)
                except LookupError:
                    raise SourceError(shown, number, f"unknown encoding {encoding!r} in the coding line") from None
                return _decoded(data, encoding, shown)
    # pip would try the locale's encoding next, which differs from machine to machine.
    hint = "; declare the encoding in a first-line comment such as '# -*- coding: latin-1 -*-'"
    return _decoded(data, "utf-8", shown, hint)


def _decoded(data: bytes, encoding: str, shown: str, hint: str = "") -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        if codecs.lookup(encoding).name != "utf-8":  # a line number needs a byte that is "\n"
            raise SourceError(shown, None, f"not valid {encoding} text ({exc.reason})") from None
        line = data.count(b"\n", 0, exc.start) + 1
        raise SourceError(shown, line, f"not valid UTF-8 text (byte 0x{data[exc.start]:02x}){hint}") from None


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
    text = _decode(read_bytes(path, shown), shown)
    for number, content in _logical_lines(text):
        line = _parse_line(content, number, shown)
        if not reader.hashed and any(name in ("--hash", "--require-hashes") for _, name, _ in line.options):
            reader.hashed = True
        editables = line.values("--editable")
        if line.requirement and not editables:
            if reader.texts is not None:
                reader.texts[(shown, number)] = line.requirement
            _note_ignored(reader, line, shown, per_requirement=True)
            hashed = any(name == "--hash" for _, name, _ in line.options)
            _requirement(reader, line.requirement, shown, number, group, constraint, hashed)
        elif editables:
            # pip reads a line with -e as an editable one: of its requirement part, if it has one.
            value = line.requirement or editables[0]
            if reader.texts is not None:
                reader.texts[(shown, number)] = f"-e {value}"
            _note_ignored(reader, line, shown, per_requirement=False, editable=True)
            _editable(reader, value, shown, number, group, constraint)
        else:
            _note_ignored(reader, line, shown, per_requirement=False)
            _index_options(reader, line)
            _follow_include(reader, line, path, shown, group)
    reader.stack.pop()


def _index_options(reader: _Reader, line: _Line) -> None:
    for _, name, value in line.options:
        if name == "--index-url":
            reader.index_url = value
        elif name in ("--extra-index-url", "--find-links"):
            reader.extra_indexes.append(value)
        elif name == "--no-index":
            reader.no_index = True


def _with_indexes(reader: _Reader) -> list[Package]:
    """The packages read, each index entry with the indexes the files name (Package.source).

    pip takes an index entry from whichever of them offers the best version; a file naming no
    index leaves it to pip's configuration (PyPI by default), which the file does not say.
    """
    indexes = [] if reader.no_index or reader.index_url is None else [reader.index_url]
    source = _origin.any_of(indexes + reader.extra_indexes)
    if source is None:
        return reader.packages
    return [
        dataclasses.replace(package, source=source) if package.kind is Kind.REGISTRY else package
        for package in reader.packages
    ]


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
        # Without quotes or escapes it is a plain split at shlex's whitespace (str.split() also
        # splits at other characters, which shlex keeps in a word).
        plain = rest.isascii() and "\x1f" not in rest and not any(c in rest for c in "'\"\\")
        tokens = rest.split() if plain else _shell_split(rest)
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
    """optparse's _match_abbrev: the option itself, or the only one the spelling begins."""
    if spelling in _OPTIONS:
        return spelling
    matches = [name for name in _LONG_OPTIONS if name.startswith(spelling)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise SourceError(shown, number, f"ambiguous pip option {spelling!r} (could be {', '.join(matches)})")
    removed = [f"pip {release} removed {name}" for name, release in _REMOVED_OPTIONS.items() if name.startswith(spelling)]
    reason = f" ({'; '.join(removed)})" if removed else ""
    raise SourceError(shown, number, f"unknown pip option {spelling!r}{reason}")


def _check_value(option: _Option, spelling: str, value: str, shown: str, number: int) -> None:
    """The checks pip's option types and callbacks make, which reject the whole file."""
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
    elif option.name in ("--no-binary", "--only-binary", "--all-releases", "--only-final") and value.startswith("-"):
        raise SourceError(shown, number, f"{spelling} needs :all:, :none: or project names (got {value!r})")
    elif option.name == "--use-feature" and value not in _FEATURES:
        message = f"{spelling}: {value!r} is no feature of pip 26.3 (choose from {', '.join(_FEATURES)})"
        raise SourceError(shown, number, message)


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


def _probe(path: Path | str) -> str | None:
    """file, dir, other or None; a path the system refuses (too long, NUL) does not exist."""
    try:
        if os.path.isfile(path):
            return "file"
        if os.path.isdir(path):
            return "dir"
        return "other" if os.path.exists(path) else None
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


@record(frozen=True)
class _Link:
    """What pip's Link makes of a URL; creating one checks the URL and its #egg= name."""

    url: str
    scheme: str
    netloc: str
    path: str  # unquoted
    egg: str | None

    @property
    def filename(self) -> str:
        name = _path_component(posixpath.basename(self.path.rstrip("/")))
        return name or _path_component(self.netloc.rpartition("@")[2])

    @property
    def is_wheel(self) -> bool:
        return _splitext(posixpath.basename(self.path.rstrip("/")))[1] == ".whl"


def _link(url: str, shown: str, number: int) -> _Link:
    parts = _split_url(url, shown, number)
    return _Link(url, parts.scheme, parts.netloc, urllib.parse.unquote(parts.path), egg_name(url, shown, number))


def _local_link(path: str) -> _Link:
    """pip's Link(path_to_url(path)) for an absolute, normalised path: a quoted path keeps no fragment."""
    return _Link("file://" + urllib.parse.quote(path), "file", "", path, None)


def _file_path(link: _Link, shown: str, number: int) -> str:
    """pip's url_to_path, which every file: link goes through when its requirement is made."""
    if not link.url.startswith("file:"):
        raise SourceError(shown, number, f"invalid URL {link.url!r}: pip reads a file: URL only in lower case")
    if link.netloc not in ("", "localhost"):
        raise SourceError(shown, number, f"invalid URL {link.url!r}: a file: URL must name a file on this machine")
    return link.path


def _requirement(
    reader: _Reader, text: str, shown: str, number: int, group: str, constraint: bool, hashed: bool | None = None
) -> None:
    """A requirement line, read as pip's parse_req_from_line and InstallRequirement read it;
    `hashed`: whether the line has --hash (None: a command line's requirement)."""
    # The marker goes first, at "; " after a URL (which may contain ";") else at ";".
    separator = "; " if _pip_is_url(text, shown, number) else ";"
    name, found, marker_text = text.partition(separator)
    marker = _marker(marker_text.strip(), shown, number) if found else None
    name = name.strip()
    if _pip_is_url(name, shown, number):
        link: _Link | None = _link(name, shown, number)
        kind, has_extras = url_kind(name), False
    else:
        link, has_extras = _local(reader, name, shown, number)
        kind = Kind.PATH if link is not None and _probe(link.path) == "dir" else Kind.URL
    if link is None:
        package = _named(name, marker, shown, number, group, constraint, hashed)
    else:
        if link.scheme == "file" and "../" in link.url:
            link = _local_link(os.path.normpath(os.path.join(reader.anchor, link.path)))
        package = _linked(reader, name, link, kind, has_extras, marker, shown, number, group, constraint, hashed)
    (reader.constraints if constraint else reader.packages).append(package)


def _local(reader: _Reader, name: str, shown: str, number: int) -> tuple[_Link | None, bool]:
    """pip's _get_url_from_path: the link of a local directory or archive, and whether extras follow it.

    None for a named requirement. pip makes the path absolute from its working directory and
    strips `[extras]` from the end before looking at it.
    """
    looks_like_path = _looks_like_path(name)
    if not looks_like_path and not _is_archive(_without_extras(name).rstrip()):
        return None, False  # most lines: a name without a slash, a dot or an archive suffix
    path, extras = _strip_extras(os.path.normpath(os.path.join(reader.anchor, name)), shown, number)
    if looks_like_path and _probe(path) == "dir":
        if _probe(os.path.join(path, "pyproject.toml")) != "file" and _probe(os.path.join(path, "setup.py")) != "file":
            raise SourceError(
                shown, number, f"directory {name!r} is not installable: it has neither pyproject.toml nor setup.py"
            )
        return _local_link(path), extras
    if not _is_archive(path):
        return None, False
    before_at, at, _ = name.partition("@")
    if at and _probe(path) != "file" and not _looks_like_path(before_at):
        return None, False  # `name @ https://…/x.whl` is a named requirement, `./x@2.whl` a file
    return _local_link(path), extras


def _strip_extras(path: str, shown: str, number: int) -> tuple[str, bool]:
    """pip's strip_extras: the path without a trailing `[extras]`, which must be valid ones."""
    stripped = _without_extras(path)
    if stripped == path:
        return path, False
    try:
        Requirement("placeholder" + path[len(stripped) :].lower())
    except InvalidRequirement as exc:
        raise SourceError(shown, number, f"invalid extras in {path[len(stripped):]!r}: {_first_line(exc)}") from None
    return stripped.rstrip(), True


def _linked(
    reader: _Reader,
    written: str,
    link: _Link,
    kind: Kind,
    has_extras: bool,
    marker: str | None,
    shown: str,
    number: int,
    group: str,
    constraint: bool,
    hashed: bool | None,
) -> Package:
    """A URL, archive or directory: named by a wheel's file name, else by #egg=, else unnamed."""
    version = None
    if link.is_wheel:
        name: str | None
        name, version = _wheel_pin(link, shown, number)
    else:
        name = link.egg
    local = _file_path(link, shown, number) if link.scheme == "file" else None
    if constraint and name is None:
        raise SourceError(shown, number, f"unnamed requirements are not allowed as constraints ({written!r})")
    if constraint and has_extras:
        raise SourceError(shown, number, "constraints cannot have extras")
    if name is None:
        # pip learns the name by building the project; envguard reads it where it can.
        directory = os.path.normpath(os.path.join(reader.anchor, local)) if local is not None else None
        if directory is not None and _probe(directory) == "dir":
            name = _project_name(reader, directory, shown, number, label=written)
        else:
            name = _sdist_name(written, link, shown, number)
    source = source_of(_without_extras(written).rstrip())
    return Package(normalize(name), version, kind, (group,), marker, shown, number, None, source, _hashes(kind, hashed))


def _hashes(kind: Kind, hashed: bool | None) -> bool | None:
    """Package.hashed: only what pip downloads (an index or archive URL) is checked by hash."""
    return hashed if kind is Kind.REGISTRY or kind is Kind.URL else None


def source_of(url: str) -> str:
    """Package.source of a direct reference: a VCS or archive URL, a file: URL or a path."""
    lowered = url.lower()
    if lowered.startswith(_VCS_PREFIXES):
        return _origin.vcs(url)
    if lowered.partition(":")[0] in ("http", "https", "ftp"):
        return _origin.archive(url)
    return _origin.path(url)


def _wheel_pin(link: _Link, shown: str, number: int) -> tuple[str, str]:
    """pip's Wheel: the name and version a wheel's file name gives (pip 25.1 normalises the version)."""
    try:
        name, version, _, _ = parse_wheel_filename(link.filename)
    except ValueError as exc:  # InvalidWheelFilename, or a version too long for int()
        raise SourceError(shown, number, f"invalid wheel file name {link.filename!r}: {exc}") from None
    return name, str(version)


def _sdist_name(written: str, link: _Link, shown: str, number: int) -> str:
    try:
        return parse_sdist_filename(link.filename)[0]
    except ValueError:  # InvalidSdistFilename, or a version too long for int()
        message = f"cannot tell the project name of {written!r}; write it as '<name> @ {written}'"
        if ";" in written:
            # `url;marker`: pip splits a marker from a URL only at "; ", so all of it is the URL.
            message += " (pip reads the text after ';' as part of the URL: write '; ' before a marker)"
        raise SourceError(shown, number, message) from None


def _named(
    body: str, marker: str | None, shown: str, number: int, group: str, constraint: bool, hashed: bool | None
) -> Package:
    try:
        requirement = _parsed_requirement(body)
    except InvalidRequirement as exc:
        raise SourceError(shown, number, f"invalid requirement: {_reason(exc, body)}") from None
    if constraint and requirement.extras:
        raise SourceError(shown, number, "constraints cannot have extras")
    name = normalize(requirement.name)
    if requirement.url is not None:
        link = _link(requirement.url, shown, number)
        if link.scheme == "file":
            _file_path(link, shown, number)
        kind = url_kind(requirement.url)
        source = source_of(requirement.url)
        return Package(name, None, kind, (group,), marker, shown, number, None, source, _hashes(kind, hashed))
    specifiers = list(requirement.specifier)
    if len(specifiers) == 1 and _is_exact(specifiers[0].operator, specifiers[0].version):
        return Package(name, specifiers[0].version, Kind.REGISTRY, (group,), marker, shown, number, hashed=hashed)
    return Package(
        name, None, Kind.REGISTRY, (group,), marker, shown, number, specifier=_specifier_text(body), hashed=hashed
    )


@functools.lru_cache(maxsize=8192)
def _parsed_requirement(text: str) -> Requirement:
    """`Requirement(text)`, once per distinct text: the files of a monorepo pin the same few
    hundred requirements again and again (a third of the time of reading them). Never mutated."""
    return Requirement(text)


def _is_exact(comparison: str, version: str) -> bool:
    return comparison == "===" or (comparison == "==" and not version.endswith(".*"))


def _specifier_text(body: str) -> str:
    """The specifier as written, without spaces or the legacy parentheses (packaging reorders it)."""
    found = _SPEC_AFTER_NAME.match(body)
    spec = found.group("spec").strip() if found else ""
    if spec.startswith("(") and spec.endswith(")"):
        spec = spec[1:-1]
    return re.sub(r"\s+", "", spec)


def _editable(reader: _Reader, value: str, shown: str, number: int, group: str, constraint: bool) -> None:
    """An editable requirement, read as pip's parse_editable reads it."""
    if constraint:
        raise SourceError(shown, number, "editable requirements are not allowed as constraints")
    marker = None
    try:
        direct: Requirement | None = _parsed_requirement(value)
    except InvalidRequirement:
        direct = None
    if direct is not None and direct.url:  # `name [extras] @ url ; marker`
        name: str | None = direct.name
        link = _link(direct.url, shown, number)
        marker = _normal_marker(str(direct.marker)) if direct.marker else None
        source = source_of(direct.url)
    else:
        without_extras, _ = _strip_extras(value, shown, number)
        source = source_of(without_extras)
        if _probe(os.path.join(reader.anchor, without_extras)) == "dir":
            link = _local_link(os.path.normpath(os.path.join(reader.anchor, without_extras)))
        elif without_extras.lower().startswith("file:"):
            link = _link(without_extras, shown, number)
        else:
            url = value
            backend = next((b for b in _VCS_BACKENDS if url.lower().startswith(f"{b}:")), None)
            link = _link(f"{backend}+{url}" if backend else url, shown, number)
            source = source_of(link.url)
        name = link.egg
    is_file = link.url.startswith("file:")
    if link.scheme not in _VCS_SCHEMES and not is_file:
        raise SourceError(
            shown,
            number,
            f"{value!r} is not a valid editable requirement: "
            "give a local project directory or a VCS URL (git+..., hg+..., svn+..., bzr+...)",
        )
    if name is None and not is_file:
        raise SourceError(shown, number, f"cannot tell the project name of editable {value!r}; write it as '<name> @ {value}'")
    if link.scheme == "file":
        directory = os.path.normpath(os.path.join(reader.anchor, _file_path(link, shown, number)))
        if name is None:
            if _probe(directory) != "dir":
                message = f"cannot tell the project name of editable {value!r}: there is no such directory"
                raise SourceError(shown, number, message)
            name = _project_name(reader, directory, shown, number, label=value)
        extras = tuple(sorted(direct.extras)) if direct is not None and direct.url else _extras_of(value)
        if extras:
            _install_extras(reader, directory, extras, value, shown, number)
    reader.packages.append(Package(normalize(name), None, Kind.EDITABLE, (group,), marker, shown, number, source=source))


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


def _pip_is_url(text: str, shown: str, number: int) -> bool:
    """pip's is_url: urlsplit finds a scheme pip installs from (so `C:\\x` and `name @ url` are not)."""
    return ":" in text and _split_url(text, shown, number).scheme in _URL_SCHEMES


def _without_extras(text: str) -> str:
    """`name[extra]` without its extras: what pip's `^(.+)(\\[[^\\]]+\\])$` keeps of it, found
    without the regex's backtracking, which is quadratic on a long line of brackets."""
    if not text.endswith("]"):
        return text
    last = len(text) - 1
    # The last `[` after every other `]`, with at least one character before it and inside.
    start = text.rfind("[", max(text.rfind("]", 0, last) + 1, 1), last - 1)
    return text[:start] if start != -1 else text


def _splitext(name: str) -> tuple[str, str]:
    """pip's splitext: os.path.splitext, taking `.tar` along (`x.tar.gz` ends in `.tar.gz`)."""
    base, ext = posixpath.splitext(name)
    if base.lower().endswith(".tar"):
        return base[:-4], base[-4:] + ext
    return base, ext


def _is_archive(path: str) -> bool:
    return _splitext(path)[1].lower() in ARCHIVE_EXTENSIONS


def _path_component(name: str) -> str:
    name = os.path.basename(name)
    return "" if name in ("", os.curdir, os.pardir) else name


def _looks_like_path(text: str) -> bool:
    """pip's _looks_like_path: a separator of this system, or a leading dot."""
    return os.sep in text or (os.altsep is not None and os.altsep in text) or text.startswith(".")


def _pyproject_of(reader: _Reader, directory: str, label: str, shown: str, number: int) -> tuple[Path, str]:
    """The pyproject.toml of a local project directory (absolute, normalised), and its
    root-relative path; refused outside the root (see _refuse_outside_root)."""
    relative = os.path.relpath(directory, reader.anchor).replace(os.sep, "/")
    pyproject_shown = posixpath.normpath(posixpath.join(reader.anchor_shown, relative, "pyproject.toml"))
    _refuse_outside_root(reader, pyproject_shown, label, "local project", shown, number)
    return Path(directory, "pyproject.toml"), pyproject_shown


def _extras_of(value: str) -> tuple[str, ...]:
    """The extras of an editable path or URL (`.[cli,test]`), normalised; checked by _strip_extras."""
    stripped = _without_extras(value)
    if stripped == value:
        return ()
    return tuple(sorted({normalize(extra) for extra in Requirement("placeholder" + value[len(stripped) :]).extras}))


def _install_extras(
    reader: _Reader, directory: str, extras: tuple[str, ...], label: str, shown: str, number: int
) -> None:
    """Note that the line installs the local project at `directory` with `extras`: the inventory
    reads what they install from its pyproject.toml (a project without one names no extras envguard
    can read)."""
    pyproject, pyproject_shown = _pyproject_of(reader, directory, label, shown, number)
    if _probe(pyproject) != "file":
        return
    if pyproject_shown not in reader.included:
        reader.included.append(pyproject_shown)
    reader.local_projects.append(LocalProject(pyproject_shown, extras, shown, number))


def _project_name(reader: _Reader, directory: str, shown: str, number: int, label: str) -> str:
    """The `[project] name` of a local project directory (absolute, normalised), as `label` names
    it: reading it is cheaper and safer than the build pip runs to learn it."""
    from envguard.sources._text import read_text
    from envguard.sources._toml import parse_toml

    pyproject, pyproject_shown = _pyproject_of(reader, directory, label, shown, number)
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
    if "${" in body:
        return f"{reason} (a ${{VARIABLE}} is not expanded: pip expands only variables that are set, envguard none)"
    if _looks_like_path(body) and "@" not in body:
        return f"{reason} (it looks like a path, but there is no directory {body!r})"
    if re.search(r"[A-Za-z0-9]=[^=]", body) and not re.search(r"==|!=|<=|>=|~=|<|>", body):
        # `numpy=1.18.1=pypi_0` is `conda list --export` output; `foo=1.0` a typo.
        reason += " ('=' is not a version operator: use '==' for a pin)"
    if "\x00" in body:
        reason += " (the line holds NUL characters: a UTF-16 file without a byte-order mark?)"
    return reason


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


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
