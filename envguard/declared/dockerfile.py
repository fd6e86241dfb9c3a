"""Dockerfiles and Containerfiles, read as BuildKit reads them, for the installs their `RUN`s make.

Nothing is built or run. The file is split the way BuildKit's parser splits it
(`frontend/dockerfile/parser`, read as the specification): parser directives (`# escape=`,
`# syntax=`) on the first lines only; line continuations with the escape character, where a
comment line or an empty line inside a continuation is dropped; instructions case-insensitive;
`--flags` before the arguments; JSON (exec) form where the arguments are a JSON array of strings
(any other text, `[ -f x ]` included, is shell form, as for Docker); here-documents after
`RUN`, `COPY` and `ADD` lines (`<<EOF`, `<<-EOT`, `<<"EOF"`, several per instruction).

Every `FROM` starts a stage, the environment of what its `RUN`s install:
`<file> stage <name>` for a named stage, `<file> stage <n>` (1-based) for an unnamed one.
What a `RUN` sees is followed statically:

* variables: `ARG name=default` (the default; an `ARG` without one, or a value nobody can know,
  stays unknown, and the shell reading then warns where it is used) and `ENV` (both forms), in
  the order Docker applies them. ARGs before the first `FROM` are only for `FROM` lines, unless a
  stage declares them again without a value. A stage built `FROM` an earlier stage inherits its
  ENV, WORKDIR, SHELL and files; an ARG ends with its stage;
* the image directory a `RUN` starts in (`WORKDIR`, absolute or relative to the one before).
  A stage from an outside image starts in `/`: an image that sets another WORKDIR is not read;
* which image paths hold which build-context files: `COPY`/`ADD src... dest` (globs, directory
  copies, `--parents`, `--from=<earlier stage>` followed into that stage; `--from=<image>`,
  URLs, archives, heredoc sources and unknown variables bring files that are not the
  workspace's) and `RUN --mount=type=bind,source=x,target=/y` for that `RUN`. The build context
  is taken to be the Dockerfile's own directory, as `docker build -f` from there would have it;
  a compose file or CI job may name another context, which a Dockerfile cannot say.
  `.dockerignore` is not applied: a requirements file it leaves out would be one pip cannot read.

`RUN` in shell form goes to `install.script` with the lines of the Dockerfile (continuations are
given to the shell reader as `\\` line ends, whatever the escape character, so that each word
keeps its own line). A `RUN <<EOF` script is its heredoc's body, read as shell unless a `#!`
line names another interpreter (BuildKit runs such a body as a file); in any other `RUN` with
heredocs the instruction line and its bodies are one shell script, as BuildKit hands it to the
shell, and a body fed to `sh`/`bash` on standard input is read as a script. Exec form
(`RUN ["pip", "install", "x"]`, or `["sh", "-c", "..."]`) is read word by word. Under a
`SHELL` that is no POSIX shell (`pwsh`, `cmd`) shell-form `RUN`s are not read, with a warning.
`ONBUILD` instructions run in other images' builds and are not read.

A file Docker refuses (an unterminated heredoc, a JSON array holding no strings, a `FROM` with
two arguments, a `RUN` without a command, ...) is a SourceError at its line. An instruction
Docker does not know is a warning: the rest of the file still says what would be installed.
"""

from __future__ import annotations

import csv
import json
import posixpath
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from envguard._record import record
from envguard.declared import install
from envguard.declared.install import Context, root_of
from envguard.declared.shell import Word, commands
from envguard.errors import SourceError
from envguard.model import Declaration, Diagnostic, Loaded
from envguard.sources._text import read_text

__all__ = ["load"]

# Go's `[\t\v\f\r ]+` (parser.reWhitespace): what separates an instruction from its arguments.
_WHITESPACE = re.compile(r"[\t\v\f\r ]+")
# RE2's `\s` is ASCII, `[\t\n\f\r ]`: Python's would also take Unicode spaces.
_DIRECTIVE = re.compile(r"^([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*$")
_HEREDOC = re.compile(r"^(\d*)<<(-?)[\t\n\f\r ]*([^<]*)$")
_DIRECTIVES = frozenset({"syntax", "escape", "check"})
_HEREDOC_INSTRUCTIONS = frozenset({"run", "copy", "add"})
_INSTRUCTIONS = frozenset(
    {
        "add",
        "arg",
        "cmd",
        "copy",
        "entrypoint",
        "env",
        "expose",
        "from",
        "healthcheck",
        "label",
        "maintainer",
        "onbuild",
        "run",
        "shell",
        "stopsignal",
        "user",
        "volume",
        "workdir",
    }
)
_STAGE_NAME = re.compile(r"^[a-z][a-z0-9-_.]*$")
_POSIX_SHELLS = frozenset({"sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "yash", "posh", "busybox"})
_DEFAULT_SHELL = ("/bin/sh", "-c")
# What ADD unpacks instead of copying (its contents are not known without reading the archive).
_ARCHIVES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tbz2", ".tar.xz", ".txz", ".tar.zst", ".tzst")
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://|^git@")
_GLOB = re.compile(r"[*?\[]")
# The frontend images that parse the syntax this module reads.
_STANDARD_FRONTEND = re.compile(r"^(?:(?:docker\.io/)?docker/)?dockerfile(?:-upstream)?(?:[:@].*)?$")

# ----------------------------------------------------------------------------- the parser


@record(frozen=True)
class _Heredoc:
    name: str
    fd: int
    chomp: bool  # `<<-`: leading tabs are removed from the body and the terminator
    body: str  # the body's lines, each with its newline
    first_line: int  # the line of the body's first line
    end: str  # the terminator line as written


@record(frozen=True)
class _Instruction:
    keyword: str  # lower case
    flags: tuple[str, ...]  # `--name=value` words before the arguments, quotes removed
    args: str  # the arguments, continuations joined, stripped
    line: int
    # The physical lines the instruction is joined from, continuation characters removed; a
    # comment or empty line inside a continuation is there as "" (it adds nothing but a line).
    segments: tuple[tuple[str, int], ...]
    offset: int  # where `args` starts in the joined text
    heredocs: tuple[_Heredoc, ...] = ()


@record(frozen=True)
class _Parsed:
    escape: str
    syntax: str | None
    syntax_line: int | None
    instructions: tuple[_Instruction, ...]


def _parse(text: str, shown: str) -> _Parsed:
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    escape, syntax, syntax_line = _directives(lines, shown)
    instructions: list[_Instruction] = []
    index = 0
    while index < len(lines):
        number = index + 1
        first = lines[index].lstrip()
        index += 1
        if first.startswith("#"):
            continue
        content, more = _continuation(first, escape)
        if not more and not content:
            continue
        segments = [(content, number)]
        while more and index < len(lines):
            raw = lines[index]
            index += 1
            stripped = raw.lstrip()
            if not stripped or stripped.startswith("#"):
                segments.append(("", index))
                continue
            content, more = _continuation(raw, escape)
            segments.append((content, index))
        instruction = _instruction(tuple(segments), escape)
        joined = "".join(text for text, _ in segments)
        if "<<" in joined and _takes_heredocs(instruction, escape, shown):
            heredocs: list[_Heredoc] = []
            for name, fd, chomp in _heredoc_words(joined):
                body: list[str] = []
                start = index + 1
                while True:
                    if index >= len(lines):
                        raise SourceError(shown, number, f"unterminated heredoc: no line {name!r} ends it")
                    raw = lines[index]
                    index += 1
                    if (raw.lstrip("\t") if chomp else raw) == name:
                        break
                    body.append(raw + "\n")
                heredocs.append(_Heredoc(name, fd, chomp, "".join(body), start, raw))
            instruction = _Instruction(
                instruction.keyword,
                instruction.flags,
                instruction.args,
                instruction.line,
                instruction.segments,
                instruction.offset,
                tuple(heredocs),
            )
        instructions.append(instruction)
    if not instructions:
        raise SourceError(shown, None, "no instructions (Docker refuses a Dockerfile without any)")
    return _Parsed(escape, syntax, syntax_line, tuple(instructions))


def _directives(lines: Sequence[str], shown: str) -> tuple[str, str | None, int | None]:
    """The escape character and the `syntax` directive: `# key=value` lines before anything else."""
    escape, syntax, syntax_line = "\\", None, None
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        stripped = line.lstrip()
        if not stripped.startswith("#"):
            break
        found = _DIRECTIVE.match(stripped[1:].lstrip())
        if found is None or found.group(1).lower() not in _DIRECTIVES:
            break
        key, value = found.group(1).lower(), found.group(2)
        if key in seen:
            raise SourceError(shown, number, f"only one {key} parser directive can be used")
        seen.add(key)
        if key == "escape":
            if value not in ("`", "\\"):
                raise SourceError(shown, number, f"invalid escape token {value!r}: it must be ` or \\")
            escape = value
        elif key == "syntax":
            syntax, syntax_line = value, number
    return escape, syntax, syntax_line


def _continuation(line: str, escape: str) -> tuple[str, bool]:
    """The line without its continuation character, and whether it continues (BuildKit's regex)."""
    trimmed = line.rstrip(" \t")
    if trimmed.endswith(escape) and (len(trimmed) == 1 or trimmed[-2] != escape):
        return trimmed[:-1], True
    return line, False


def _instruction(segments: tuple[tuple[str, int], ...], escape: str) -> _Instruction:
    joined = "".join(text for text, _ in segments)
    start = len(joined) - len(joined.lstrip())
    body = joined.strip()
    gap = _WHITESPACE.search(body)
    if gap is None:
        return _Instruction(body.lower(), (), "", segments[0][1], segments, len(joined))
    rest = body[gap.end() :]
    flags, at = _builder_flags(rest, escape)
    args = rest[at:]
    offset = start + gap.end() + at + len(args) - len(args.lstrip())
    return _Instruction(body[: gap.start()].lower(), flags, args.strip(), segments[0][1], segments, offset)


def _builder_flags(line: str, escape: str) -> tuple[tuple[str, ...], int]:
    """BuildKit's extractBuilderFlags: the leading `--flag` words, and where the arguments start."""
    words: list[str] = []
    pos, end = 0, len(line)
    while True:
        while pos < end and line[pos].isspace():
            pos += 1
        if pos >= end or not line.startswith("--", pos):
            return tuple(words), min(pos, end)
        word: list[str] = []
        quote: str | None = None
        blank_ok = False
        while pos < end:
            char = line[pos]
            if quote is None and char.isspace():
                break
            pos += 1
            if quote is None and char in "'\"":
                quote, blank_ok = char, True
                continue
            if quote is not None and char == quote:
                quote = None
                continue
            if char == escape:
                if pos == end:
                    quote = None
                    continue
                char = line[pos]
                pos += 1
            word.append(char)
        text = "".join(word)
        if text == "--":
            return tuple(words), pos
        if blank_ok or text:
            words.append(text)


def _takes_heredocs(instruction: _Instruction, escape: str, shown: str) -> bool:
    keyword, args = instruction.keyword, instruction.args
    if keyword == "onbuild":
        inner = _instruction(((args, instruction.line),), escape)
        keyword, args = inner.keyword, inner.args
    return keyword in _HEREDOC_INSTRUCTIONS and _json_array(args, shown, instruction.line) is None


def _heredoc_words(line: str) -> Iterator[tuple[str, int, bool]]:
    """(name, descriptor, chomp) of each heredoc word of an instruction line, in order."""
    for word in _raw_words(line):
        name = _heredoc_name(word)
        if name is not None:
            found = _HEREDOC.match(word)
            assert found is not None
            yield name, int(found.group(1) or 0), found.group(2) == "-"


def _heredoc_name(word: str) -> str | None:
    """The delimiter of a heredoc word (`<<EOF`, `<<-"END"`, `3<<X`), or None (BuildKit's ParseHeredoc)."""
    found = _HEREDOC.match(word)
    if found is None or not found.group(3):
        return None
    names = _raw_words(found.group(3), unquote=True)
    return names[0] if len(names) == 1 else None


def _raw_words(text: str, *, unquote: bool = False) -> list[str]:
    """Words as BuildKit's lexer splits them for heredocs: quotes and `\\` escapes group, `<< ` joins."""
    words: list[str] = []
    word: list[str] = []
    started = False
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char in " \t\n":
            if started:
                words.append("".join(word))
            word, started = [], False
            pos += 1
            continue
        started = True
        if char in "'\"":
            end = text.find(char, pos + 1)
            while char == '"' and end != -1 and text[end - 1] == "\\":
                end = text.find(char, end + 1)
            end = len(text) if end == -1 else end
            word.append(text[pos + 1 : end] if unquote else text[pos : end + 1])
            pos = end + 1
        elif char == "\\":
            word.append(text[pos + 1 : pos + 2] if unquote else text[pos : pos + 2])
            pos += 2
        elif text.startswith("<<", pos):
            # `<< EOF` is one word for BuildKit: the blanks after `<<` belong to it.
            after = pos + 2
            while after < len(text) and text[after] in " \t":
                after += 1
            word.append(text[pos:after])
            pos = after
        else:
            word.append(char)
            pos += 1
    if started:
        words.append("".join(word))
    return words


def _json_array(text: str, shown: str, line: int) -> list[str] | None:
    """The words of an exec-form (JSON array) argument, or None for shell form, as Docker decides."""
    text = text.lstrip()
    if not text.startswith("["):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    except RecursionError:
        value = [[]]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise SourceError(shown, line, "when using JSON array syntax, arrays must be comprised of strings only")
    return value


def _line_at(instruction: _Instruction, position: int) -> int:
    """The file line of character `position` of the instruction's arguments."""
    target = instruction.offset + position
    start = 0
    for text, line in instruction.segments:
        if target < start + len(text):
            return line
        start += len(text)
    return instruction.segments[-1][1]


def _script(instruction: _Instruction) -> tuple[str, int]:
    """The arguments as a shell script whose lines are the file's, and the line it starts at."""
    pieces: list[str] = []
    first_line = instruction.line
    start = 0
    for text, line in instruction.segments:
        end = start + len(text)
        if not pieces:
            if end > instruction.offset:
                pieces.append(text[max(instruction.offset - start, 0) :])
                first_line = line
        else:
            pieces.append(text)
        start = end
    # The shell reader joins `\` line ends as Docker joined the continuations, and counts lines.
    return "\\\n".join(pieces).rstrip(), first_line


# ----------------------------------------------------------------------------- Docker words


class _Unresolved(Exception):
    """A variable whose value is not known statically."""


class _Lexer:
    """BuildKit's word processing (`frontend/dockerfile/shell/lex.go`) for COPY, ENV, WORKDIR, ..."""

    def __init__(self, text: str, variables: Mapping[str, str | None], escape: str) -> None:
        self.text = text
        self.variables = variables
        self.escape = escape
        self.pos = 0

    def word(self, stop: str | None = None, raw_escapes: bool = False) -> str:
        out: list[str] = []
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if stop is not None and char == stop:
                self.pos += 1
                return "".join(out)
            if char == "$":
                out.append(self._dollar())
            elif char == "'":
                end = text.find("'", self.pos + 1)
                if end == -1:
                    raise ValueError("unexpected end of statement while looking for matching single-quote")
                out.append(text[self.pos + 1 : end])
                self.pos = end + 1
            elif char == '"':
                out.append(self._double_quoted())
            else:
                self.pos += 1
                if char == self.escape:
                    if raw_escapes:
                        out.append(char)
                    if self.pos >= len(text):
                        break
                    char = text[self.pos]
                    self.pos += 1
                out.append(char)
        if stop is not None:
            raise ValueError(f"unexpected end of statement while looking for matching {stop}")
        return "".join(out)

    def _double_quoted(self) -> str:
        out: list[str] = []
        text = self.text
        self.pos += 1
        while True:
            if self.pos >= len(text):
                raise ValueError("unexpected end of statement while looking for matching double-quote")
            char = text[self.pos]
            if char == '"':
                self.pos += 1
                return "".join(out)
            if char == "$":
                out.append(self._dollar())
                continue
            self.pos += 1
            if char == self.escape:
                if self.pos >= len(text):
                    continue
                if text[self.pos] in ('"', "$", self.escape):
                    char = text[self.pos]
                    self.pos += 1
            out.append(char)

    def _dollar(self) -> str:
        text = self.text
        self.pos += 1
        if not text.startswith("{", self.pos):
            name = self._name()
            return self._value(name) if name else "$"
        self.pos += 1
        if self.pos >= len(text):
            raise ValueError("syntax error: missing '}'")
        if text[self.pos] in "{}:":
            raise ValueError("syntax error: bad substitution")
        name = self._name()
        if self.pos >= len(text):
            raise ValueError("syntax error: missing '}'")
        modifier = text[self.pos]
        self.pos += 1
        if modifier == "}":
            return self._value(name)
        null_is_unset = modifier == ":"
        if null_is_unset:
            modifier = text[self.pos : self.pos + 1]
            self.pos += 1
        if modifier not in ("-", "+", "?", "#", "%", "/"):
            raise ValueError(f"unsupported modifier ({modifier}) in substitution")
        word = self.word("}", raw_escapes=modifier in "#%/")
        value = self.variables.get(name)
        # Pattern removal and replacement are not evaluated: their result counts as unknown.
        if value is None or modifier in "#%/":
            raise _Unresolved(name)
        empty = null_is_unset and value == ""
        if modifier == "-":
            return word if empty else value
        if modifier == "+":
            return "" if empty else word
        if empty:
            raise ValueError(f"{name}: {word or 'is not allowed to be empty'}")
        return value

    def _name(self) -> str:
        text = self.text
        start = self.pos
        if start < len(text) and text[start].isdigit():
            while self.pos < len(text) and text[self.pos].isdigit():
                self.pos += 1
            return text[start : self.pos]
        if start < len(text) and text[start] in "*#@?!$-":
            self.pos += 1
            return text[start]
        while self.pos < len(text) and (text[self.pos].isalnum() or text[self.pos] == "_"):
            self.pos += 1
        return text[start : self.pos]

    def _value(self, name: str) -> str:
        value = self.variables.get(name)
        if value is None:
            raise _Unresolved(name)
        return value


def _expand(text: str, variables: Mapping[str, str | None], escape: str, shown: str, line: int) -> str | None:
    """A Docker word with its quotes removed and variables expanded; None when one is unknown."""
    try:
        return _Lexer(text, variables, escape).word()
    except _Unresolved:
        return None
    except ValueError as exc:
        raise SourceError(shown, line, str(exc)) from None


def _docker_words(text: str, escape: str) -> list[str]:
    """BuildKit's parseWords: words split at blanks outside quotes, quotes and escapes kept."""
    words: list[str] = []
    word: list[str] = []
    quote: str | None = None
    blank_ok = False
    pos = 0
    while pos < len(text):
        char = text[pos]
        pos += 1
        if quote is None:
            if char.isspace():
                if word or blank_ok:
                    words.append("".join(word))
                word, blank_ok = [], False
                continue
            if char in "'\"":
                quote, blank_ok = char, True
            elif char == escape:
                if pos == len(text):
                    continue
                word.append(char)
                char = text[pos]
                pos += 1
        elif char == quote:
            quote = None
        elif char == escape and quote != "'":
            if pos == len(text):
                quote = None
                continue
            word.append(char)
            char = text[pos]
            pos += 1
        word.append(char)
    if word or blank_ok:
        words.append("".join(word))
    return words


# ----------------------------------------------------------------------------- stages and files


@record(frozen=True)
class _Entry:
    """An image path and where its files come from: the build context, an earlier stage, or elsewhere."""

    image: str  # absolute, normalised
    context: str | None = None  # the build-context path (relative to the context directory)
    stage: _Stage | None = None  # or the stage it is copied from ...
    path: str = ""  # ... and the image path there


@dataclass(eq=False)
class _Stage:
    label: str
    name: str | None
    env: dict[str, str | None] = field(default_factory=dict)  # None: set to something unknown
    args: dict[str, str | None] = field(default_factory=dict)
    workdir: str | None = "/"
    shell: tuple[str, ...] = _DEFAULT_SHELL
    copies: list[_Entry] = field(default_factory=list)
    directories: set[str] = field(default_factory=lambda: {"/"})

    def variables(self) -> dict[str, str | None]:
        # ENV overrides an ARG of the same name (Dockerfile reference, "Using ARG variables").
        return {**self.args, **self.env}


def _clean(path: str) -> str:
    normal = posixpath.normpath(path)
    return "/" + normal.lstrip("/") if normal.startswith("//") else normal


def _context_relative(source: str) -> str:
    """A COPY source within the build context: `..` cannot leave it, `/x` is `x` (BuildKit's rule)."""
    return posixpath.normpath("/" + source).lstrip("/") or "."


def _under(path: str, prefix: str) -> str | None:
    """`path` relative to `prefix` ("." for itself), or None when it is not inside it."""
    if path == prefix:
        return "."
    base = prefix.rstrip("/") + "/"
    return path[len(base) :] if path.startswith(base) else None


def _context_path(entries: Sequence[_Entry], image: str) -> str | None:
    """The build-context path that image path `image` holds, through the copies made so far."""
    for entry in reversed(entries):
        rest = _under(image, entry.image)
        if rest is None:
            continue
        if entry.context is not None:
            return posixpath.normpath(posixpath.join(entry.context, rest))
        if entry.stage is not None:
            return _context_path(entry.stage.copies, _clean(posixpath.join(entry.path, rest)))
        return None
    # A directory no COPY brought whole (`COPY pyproject.toml src ./` then `pip install .`) is
    # the context directory the files copied into it under their own names come from, if they
    # all come from the same one (a file copied under another name says nothing about it).
    found: set[str] = set()
    for entry in entries:
        tail = _under(entry.image, image)
        if tail is None or tail == ".":
            continue
        mapped = _context_path(entries, entry.image)
        if mapped is not None and (mapped == tail or mapped.endswith("/" + tail)):
            found.add(mapped[: -len(tail)].rstrip("/") or ".")
    return found.pop() if len(found) == 1 else None


# ----------------------------------------------------------------------------- the reader


@dataclass
class _Reader:
    shown: str
    root: Path
    context: Path  # the build context on disk: the Dockerfile's directory
    directory: str  # its root-relative path
    escape: str
    allow_outside_root: bool
    meta: dict[str, str | None] = field(default_factory=dict)  # ARGs before the first FROM
    stages: list[_Stage] = field(default_factory=list)
    declarations: list[Declaration] = field(default_factory=list)
    included: list[str] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)

    def warn(self, line: int, message: str) -> None:
        self.warnings.append(Diagnostic(self.shown, line, message))

    def add(self, loaded: Loaded) -> None:
        self.declarations.extend(loaded.declarations)
        self.included.extend(path for path in loaded.included if path not in self.included)
        self.warnings.extend(loaded.warnings)

    def expand(self, text: str, variables: Mapping[str, str | None], line: int) -> str | None:
        return _expand(text, variables, self.escape, self.shown, line)

    # ------------------------------------------------------------------ instructions

    def read(self, instruction: _Instruction) -> None:
        keyword = instruction.keyword
        if keyword not in _INSTRUCTIONS:
            self.warn(instruction.line, f"unknown instruction {keyword.upper()!r}: Docker refuses it; not read")
            return
        if keyword == "from":
            self.stages.append(self.start_stage(instruction))
            return
        if not self.stages:
            if keyword != "arg":
                raise SourceError(
                    self.shown,
                    instruction.line,
                    f"{keyword.upper()} before the first FROM: there is no build stage yet",
                )
            self.meta.update(self.arguments(instruction, self.meta))
            return
        stage = self.stages[-1]
        if keyword == "arg":
            stage.args.update(self.arguments(instruction, stage.variables()))
        elif keyword == "env":
            stage.env.update(self.environment(instruction, stage.variables()))
        elif keyword == "workdir":
            self.workdir(stage, instruction)
        elif keyword == "shell":
            shell = _json_array(instruction.args, self.shown, instruction.line)
            if not shell:
                raise SourceError(self.shown, instruction.line, 'SHELL needs a JSON array such as ["/bin/bash", "-c"]')
            stage.shell = tuple(shell)
        elif keyword in ("copy", "add"):
            self.copy(stage, instruction)
        elif keyword == "run":
            self.run(stage, instruction)

    def start_stage(self, instruction: _Instruction) -> _Stage:
        words = _WHITESPACE.split(instruction.args) if instruction.args else []
        name: str | None = None
        if len(words) == 3 and words[1].lower() == "as":
            name = words[2].lower()
            if not _STAGE_NAME.match(name):
                raise SourceError(
                    self.shown,
                    instruction.line,
                    f"invalid name for build stage: {words[2]!r}, name can't start with a number or contain symbols",
                )
        elif len(words) != 1:
            raise SourceError(self.shown, instruction.line, "FROM requires either one or three arguments")
        label = f"{self.shown} stage {name or len(self.stages) + 1}"
        base_name = self.expand(words[0], self.meta, instruction.line)
        base = self.stage_named(base_name) if base_name is not None else None
        if base is None:
            return _Stage(label, name)
        return _Stage(
            label,
            name,
            env=dict(base.env),
            workdir=base.workdir,
            shell=base.shell,
            copies=list(base.copies),
            directories=set(base.directories),
        )

    def stage_named(self, reference: str, *, index: bool = False) -> _Stage | None:
        """An earlier stage by name (case-insensitive) or, with `index` (`--from=0`), by 0-based index."""
        if index and reference.isdigit():
            number = int(reference)
            return self.stages[number] if number < len(self.stages) else None
        return next((stage for stage in self.stages if stage.name == reference.lower()), None)

    def arguments(self, instruction: _Instruction, variables: Mapping[str, str | None]) -> dict[str, str | None]:
        words = _docker_words(instruction.args, self.escape)
        if not words:
            raise SourceError(self.shown, instruction.line, "ARG requires at least one argument")
        values: dict[str, str | None] = {}
        for word in words:
            name, has_value, value = word.partition("=")
            if not name:
                raise SourceError(self.shown, instruction.line, "ARG names can not be blank")
            if has_value:
                values[name] = self.expand(value, variables, instruction.line)
            else:
                # `ARG NAME` in a stage takes the default of the ARG before the first FROM.
                values[name] = self.meta.get(name) if self.stages else None
        return values

    def environment(self, instruction: _Instruction, variables: Mapping[str, str | None]) -> dict[str, str | None]:
        words = _docker_words(instruction.args, self.escape)
        if not words:
            raise SourceError(self.shown, instruction.line, "ENV requires at least one argument")
        pairs: list[tuple[str, str]] = []
        if "=" not in words[0]:
            parts = _WHITESPACE.split(instruction.args, maxsplit=1)
            if len(parts) < 2:
                raise SourceError(self.shown, instruction.line, "ENV must have two arguments")
            pairs.append((parts[0], parts[1]))
        else:
            for word in words:
                if "=" not in word:
                    raise SourceError(
                        self.shown, instruction.line, f"can't find = in {word!r}; ENV must be of the form name=value"
                    )
                key, _, value = word.partition("=")
                pairs.append((key, value))
        if any(not key for key, _ in pairs):
            raise SourceError(self.shown, instruction.line, "ENV names can not be blank")
        # Every value of one ENV is expanded with the variables as they were before it.
        return {key: self.expand(value, variables, instruction.line) for key, value in pairs}

    def workdir(self, stage: _Stage, instruction: _Instruction) -> None:
        if not instruction.args:
            raise SourceError(self.shown, instruction.line, "WORKDIR requires exactly one argument")
        value = self.expand(instruction.args, stage.variables(), instruction.line)
        if value is None or not (posixpath.isabs(value) or stage.workdir is not None):
            stage.workdir = None
            return
        stage.workdir = _clean(posixpath.join(stage.workdir or "/", value))
        stage.directories.add(stage.workdir)

    def copy(self, stage: _Stage, instruction: _Instruction) -> None:
        keyword = instruction.keyword.upper()
        words = _json_array(instruction.args, self.shown, instruction.line)
        if words is None:
            words = _WHITESPACE.split(instruction.args) if instruction.args else []
        if len(words) < 2:
            raise SourceError(
                self.shown,
                instruction.line,
                f"{keyword} requires at least two arguments: the sources and a destination",
            )
        variables = stage.variables()
        flags = dict(_flag(flag) for flag in instruction.flags)
        parents = flags.get("parents", "false").lower() != "false"  # `--parents` or `--parents=true`
        destination = self.expand(words[-1], variables, instruction.line)
        if destination is None:
            return
        if not posixpath.isabs(destination) and stage.workdir is None:
            return
        target = _clean(posixpath.join(stage.workdir or "/", destination))
        sources = words[:-1]
        into = (
            destination.endswith("/")
            or posixpath.basename(destination) in (".", "..")
            or len(sources) > 1
            or any(_GLOB.search(source) for source in sources)
            or target in stage.directories
            or parents
        )
        source_stage: _Stage | None = None
        outside = False  # the files come from an image, not from this build
        if flags.get("from"):
            reference = self.expand(flags["from"], variables, instruction.line)
            source_stage = self.stage_named(reference, index=True) if reference is not None else None
            outside = source_stage is None
        for source in sources:
            inline = _heredoc_name(source)
            if inline is not None:  # the file's text is the heredoc: no workspace file
                stage.copies.append(_Entry(_clean(posixpath.join(target, inline)) if into else target))
                continue
            expanded = self.expand(source, variables, instruction.line)
            if expanded is None or outside or _URL.match(expanded):
                # Files that are not the workspace's hide what an earlier COPY put there.
                if not into:
                    stage.copies.append(_Entry(target))
                elif expanded is not None and not _GLOB.search(expanded):
                    name = expanded.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
                    stage.copies.append(_Entry(_clean(posixpath.join(target, name))))
                continue
            if instruction.keyword == "add" and expanded.lower().endswith(_ARCHIVES):
                continue  # unpacked into the destination: its files are not known here
            if source_stage is not None:
                self.copy_from_stage(stage, source_stage, _clean("/" + expanded), target, into)
            else:
                for found in self.context_sources(_context_relative(expanded)):
                    stage.copies.append(self.context_entry(found, target, into, parents))
        if into:
            stage.directories.add(target)

    def copy_from_stage(self, stage: _Stage, source: _Stage, path: str, target: str, into: bool) -> None:
        if into:
            known = _context_path(source.copies, path)
            if known is None or not (self.context / known).is_dir():
                target = _clean(posixpath.join(target, posixpath.basename(path)))
        stage.copies.append(_Entry(target, stage=source, path=path))

    def context_sources(self, source: str) -> list[str]:
        """The build-context paths a COPY source names: itself, or what its glob matches."""
        if not _GLOB.search(source):
            return [source]
        try:
            matches = sorted(path.relative_to(self.context).as_posix() for path in self.context.glob(source))
        except (OSError, ValueError):  # a pattern pathlib refuses, an unreadable directory
            return []
        return matches

    def context_entry(self, source: str, target: str, into: bool, parents: bool) -> _Entry:
        if parents:
            return _Entry(_clean(posixpath.join(target, source)), context=source)
        if into and not (self.context / source).is_dir():
            return _Entry(_clean(posixpath.join(target, posixpath.basename(source))), context=source)
        return _Entry(target, context=source)

    def mounts(self, stage: _Stage, instruction: _Instruction) -> list[_Entry]:
        """What `RUN --mount=...` puts over the image for that command."""
        entries: list[_Entry] = []
        variables = stage.variables()
        for flag in instruction.flags:
            name, value = _flag(flag)
            if name != "mount":
                continue
            try:
                fields = next(csv.reader([value]), [])
            except csv.Error as exc:
                raise SourceError(self.shown, instruction.line, f"invalid --mount value {value!r}: {exc}") from None
            options: dict[str, str | None] = {}
            for item in fields:
                key, _, raw = item.partition("=")
                options[key.strip().lower()] = self.expand(raw, variables, instruction.line)
            where = options.get("target") or options.get("dst") or options.get("destination")
            if not where or (not posixpath.isabs(where) and stage.workdir is None):
                continue
            target = _clean(posixpath.join(stage.workdir or "/", where))
            if (options.get("type") or "bind") != "bind":
                entries.append(_Entry(target))  # a cache, secret or tmpfs hides what is there
                continue
            if any(options[key] is None for key in ("source", "src", "from") if key in options):
                entries.append(_Entry(target))
                continue
            source = options.get("source") or options.get("src") or ""
            origin = options.get("from")
            if origin:
                from_stage = self.stage_named(origin, index=True)
                path = _clean("/" + (source or ""))
                entries.append(
                    _Entry(target, stage=from_stage, path=path) if from_stage is not None else _Entry(target)
                )
            else:
                entries.append(_Entry(target, context=_context_relative(source or "")))
        return entries

    def locate(self, stage: _Stage, entries: Sequence[_Entry], arg: str, cwd: str | None) -> str | None:
        """install.Context.locate: the workspace file an image path of a RUN holds, or None."""
        if arg.startswith("~"):
            return None
        if posixpath.isabs(arg):
            image = _clean(arg)
        else:
            if cwd is None:
                return None
            start = cwd if posixpath.isabs(cwd) else stage.workdir and posixpath.join(stage.workdir, cwd)
            if start is None:
                return None
            image = _clean(posixpath.join(start, arg))
        found = _context_path(entries, image)
        if found is None:
            return None
        return posixpath.normpath(posixpath.join(self.directory, found))

    # ------------------------------------------------------------------ RUN

    def run(self, stage: _Stage, instruction: _Instruction) -> None:
        entries = [*stage.copies, *self.mounts(stage, instruction)]

        def locate(arg: str, cwd: str | None) -> str | None:
            return self.locate(stage, entries, arg, cwd)

        context = Context(
            self.shown,
            stage.label,
            "dockerfile",
            self.root,
            workdir=None,
            env={key: value for key, value in stage.variables().items() if value is not None},
            allow_outside_root=self.allow_outside_root,
            locate=locate,
        )
        words = _json_array(instruction.args, self.shown, instruction.line)
        if words is not None:
            if not words:
                raise SourceError(self.shown, instruction.line, "RUN has no command (an empty JSON array)")
            self.exec_form(instruction, words, context)
            return
        if not instruction.args:
            raise SourceError(self.shown, instruction.line, "RUN has no command")
        if instruction.args.startswith('["'):
            self.warn(
                instruction.line,
                "RUN looks like exec form but is not valid JSON: Docker runs it with the shell as written; not read",
            )
            return
        if instruction.heredocs:
            self.heredoc_run(stage, instruction, context)
            return
        if self.foreign_shell(stage, instruction):
            return
        text, first_line = _script(instruction)
        self.add(install.script(text, first_line, context))

    def foreign_shell(self, stage: _Stage, instruction: _Instruction) -> bool:
        if _shell_name(stage.shell[0]) in _POSIX_SHELLS:
            return False
        self.warn(
            instruction.line,
            f"RUN runs under SHELL {json.dumps(list(stage.shell))}, which is not a POSIX shell; not read",
        )
        return True

    def exec_form(self, instruction: _Instruction, words: list[str], context: Context) -> None:
        positions = [found.start() for found in re.finditer(r'"(?:[^"\\]|\\.)*"', instruction.args)]
        lines = [_line_at(instruction, at) for at in positions] if len(positions) == len(words) else []
        placed = [Word(text, lines[index] if lines else instruction.line) for index, text in enumerate(words)]
        script = _shell_script_argument(placed)
        if script is not None:
            self.add(install.script(script.text, script.line, context))
            return
        found = install.find_install(placed)
        if found is not None:
            tool, rest = found
            self.add(install.arguments(rest, context, tool))

    def heredoc_run(self, stage: _Stage, instruction: _Instruction, context: Context) -> None:
        first = instruction.heredocs[0]
        if _heredoc_name(instruction.args) is not None:
            # `RUN <<EOF`: the body is the script (BuildKit's dispatchRun).
            body = _chomped(first)
            if body.startswith("#!"):
                interpreter = _shebang(body.partition("\n")[0])
                if interpreter in _POSIX_SHELLS:
                    self.add(install.script(body, first.first_line, context))
                return
            if not self.foreign_shell(stage, instruction):
                self.add(install.script(body, first.first_line, context))
            return
        if self.foreign_shell(stage, instruction):
            return
        line_text, first_line = _script(instruction)
        bodies = "".join(heredoc.body + heredoc.end + "\n" for heredoc in instruction.heredocs)
        self.add(install.script(f"{line_text}\n{bodies}", first_line, context))
        found = commands(line_text, first_line, context.env)
        feeding = [command for command in found if _reads_script_from_stdin(command.words)]
        stdin = [heredoc for heredoc in instruction.heredocs if heredoc.fd == 0]
        if feeding and len(found) == 1 and stdin:
            self.add(install.script(_chomped(stdin[-1]), stdin[-1].first_line, context))
        elif feeding:
            self.warn(
                instruction.line,
                f"cannot tell which here-document {feeding[0].words[0].text!r} reads as its script; not read",
            )


def _flag(flag: str) -> tuple[str, str]:
    """("mount", "type=cache,...") from `--mount=type=cache,...`."""
    name, _, value = flag.removeprefix("--").partition("=")
    return name.lower(), value


def _shell_name(program: str) -> str:
    name = posixpath.basename(program.replace("\\", "/")).lower()
    return name.removesuffix(".exe")


def _shebang(line: str) -> str:
    words = line[2:].split()
    if words and _shell_name(words[0]) == "env":
        words = [word for word in words[1:] if not word.startswith("-")]
    return _shell_name(words[0]) if words else ""


def _chomped(heredoc: _Heredoc) -> str:
    if not heredoc.chomp:
        return heredoc.body
    return "".join(line.lstrip("\t") for line in heredoc.body.splitlines(keepends=True))


def _reads_script_from_stdin(words: Sequence[Word]) -> bool:
    """`bash`, `sh -ex`, `sh -s`: a shell that runs what its standard input holds."""
    if not words or _shell_name(words[0].text) not in _POSIX_SHELLS:
        return False
    options = words[1:]
    return all(word.text.startswith(("-", "+")) and "c" not in word.text.lstrip("-+") for word in options)


def _shell_script_argument(words: Sequence[Word]) -> Word | None:
    """The script of exec-form `["sh", "-c", "script"]` (options such as `-e`, `-o pipefail` allowed)."""
    if not words or _shell_name(words[0].text) not in _POSIX_SHELLS:
        return None
    index = 1
    while index < len(words) and words[index].text.startswith(("-", "+")):
        option = words[index].text
        if option in ("-o", "+o"):
            index += 2
            continue
        if not option.startswith("--") and "c" in option[1:]:
            return words[index + 1] if index + 1 < len(words) else None
        index += 1
    return None


def _check_syntax(reader: _Reader, parsed: _Parsed) -> None:
    if parsed.syntax is not None and parsed.syntax_line is not None and not _STANDARD_FRONTEND.match(parsed.syntax):
        reader.warn(
            parsed.syntax_line,
            f"# syntax={parsed.syntax} names a frontend other than docker/dockerfile; read as a standard Dockerfile",
        )


def load(path: Path, shown: str, *, allow_outside_root: bool = False) -> Loaded:
    """The declarations of a Dockerfile's RUN instructions, a stage each."""
    text = read_text(path, shown)
    parsed = _parse(text, shown)
    reader = _Reader(
        shown=shown,
        root=root_of(path, shown),
        context=path.parent,
        directory=posixpath.dirname(shown) or ".",
        escape=parsed.escape,
        allow_outside_root=allow_outside_root,
    )
    _check_syntax(reader, parsed)
    for instruction in parsed.instructions:
        if instruction.keyword != "onbuild":
            reader.read(instruction)
    return Loaded((), tuple(reader.included), tuple(reader.warnings), tuple(reader.declarations))
