"""POSIX shell scripts, read as far as finding installs needs: commands, their words and lines.

CI `run:` steps, GitLab `script:` lines and Dockerfile `RUN` instructions are shell. envguard
never runs them; it splits them the way a shell would (quotes, escapes, `\\` line
continuations, comments, here-documents, `;` `&&` `||` `|` `&` and newlines between commands)
and follows what changes the meaning of a later install:

* `cd DIR` (and `pushd`/`popd`) moves the directory later commands run in, until the end of the
  `( ... )` subshell it was made in;
* `NAME=value` and `export NAME=value` set variables; `NAME=value cmd` sets one for `cmd` only;
* `$NAME`, `${NAME}` expand to a value set statically (in the script, or given by the caller:
  a workflow's `env:`, a Dockerfile's `ARG` defaults and `ENV`).

What cannot be known without running anything (a variable nobody set, `$(...)`, backticks,
`${NAME:-default}` of an unset name, GitHub's `${{ ... }}`) makes the word `dynamic`: its
text keeps the expansion as written, and the caller warns instead of guessing. `sh -c '...'`
and `bash -c "..."` with a static script are read as scripts of their own.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from envguard._record import record

__all__ = ["Command", "Word", "commands"]


@record(frozen=True)
class Word:
    text: str
    line: int  # where the word starts (1-based, in the file that holds the script)
    dynamic: bool = False  # holds an expansion that cannot be resolved statically


@record(frozen=True)
class Command:
    """One simple command: its words after prefixes (`sudo`, `env`, assignments), and its context."""

    words: tuple[Word, ...]
    env: Mapping[str, str]  # variables set statically where it runs, its own assignments included
    # Variables set to something that cannot be known (`X=$(cmd)`, a `for` loop's name).
    unknown: frozenset[str]
    # The directory it runs in: relative to the script's start ("."), absolute after `cd /abs`,
    # None when unknown (`cd $DIR`, `cd -`).
    cwd: str | None


_OPERATORS = ("&&", "||", ";;", ";&", "|&", ";", "&", "|", "(", ")")
# `&>` and `>|` before the operators `&` and `|`; a leading descriptor number (`2>`).
_REDIRECT = re.compile(r"[0-9]*(?P<op>&>>|&>|<<-|<<<|<<|>>|>&|<&|<>|>\||>|<)")
_KEYWORDS = frozenset({"if", "then", "elif", "else", "fi", "do", "done", "while", "until", "!", "{", "}", "esac"})
_NAME_START = "_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_NAME_CHARS = _NAME_START + "0123456789"
_SPECIAL_PARAMETERS = "@*#?-$!0123456789"
_MAX_DEPTH = 8  # `sh -c` within `sh -c`: nobody writes more


@dataclass
class _State:
    env: dict[str, str]
    unknown: set[str]
    cwd: str | None
    dirs: list[str | None] = field(default_factory=list)  # pushd's stack

    def copy(self) -> _State:
        return _State(dict(self.env), set(self.unknown), self.cwd, list(self.dirs))


def commands(
    script: str,
    first_line: int = 1,
    env: Mapping[str, str] | None = None,
    cwd: str = ".",
    *,
    unknown: frozenset[str] = frozenset(),
) -> list[Command]:
    """The simple commands of `script`, whose first line is line `first_line` of its file.

    `env` holds variables set to values known statically, `unknown` those set to something
    that is not (they expand to dynamic words, never to nothing).
    """
    state = _State(dict(env or {}), set(unknown), cwd)
    found: list[Command] = []
    _run(script, first_line, state, found, 0)
    return found


# ----------------------------------------------------------------------------- tokens


@dataclass
class _Token:
    op: str | None  # an operator, "\n" for a line end, None for a word
    parts: list[tuple[str, str]] = field(default_factory=list)  # (kind, text): "lit", "var", "dyn"
    line: int = 0
    assignment: bool = False  # the word starts with NAME= (unquoted)


class _Lexer:
    def __init__(self, text: str, first_line: int) -> None:
        self.text = text
        self.pos = 0
        self.line = first_line
        self.heredocs: list[tuple[str, bool]] = []  # delimiters awaiting their bodies

    def tokens(self) -> list[_Token]:
        out: list[_Token] = []
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char == "\n":
                out.append(_Token("\n", line=self.line))
                self.pos += 1
                self.line += 1
                self._skip_heredocs()
            elif char in " \t\r":
                self.pos += 1
            elif char == "\\" and text.startswith("\\\n", self.pos):
                self.pos += 2
                self.line += 1
            elif char == "#":
                end = text.find("\n", self.pos)
                self.pos = len(text) if end == -1 else end
            elif self._redirect() or self._operator(out):
                continue
            else:
                out.append(self._word())
        return out

    def _operator(self, out: list[_Token]) -> bool:
        for op in _OPERATORS:
            if self.text.startswith(op, self.pos):
                out.append(_Token(op, line=self.line))
                self.pos += len(op)
                return True
        return False

    def _redirect(self) -> bool:
        """Skip a redirection and its target (`> file`, `2>&1`, `<<EOF`), remembering here-documents."""
        found = _REDIRECT.match(self.text, self.pos)
        if found is None:
            return False
        op = found.group("op")
        self.pos = found.end()
        text = self.text
        if op in (">&", "<&") and self.pos < len(text) and (text[self.pos].isdigit() or text[self.pos] == "-"):
            self.pos += 1  # 2>&1, >&-: a descriptor, no file
            return True
        while self.pos < len(text) and text[self.pos] in " \t":
            self.pos += 1
        target = self._word()
        if op in ("<<", "<<-"):
            self.heredocs.append(("".join(part for _, part in target.parts), op == "<<-"))
        return True

    def _skip_heredocs(self) -> None:
        text = self.text
        while self.heredocs:
            delimiter, strip_tabs = self.heredocs.pop(0)
            while self.pos < len(text):
                end = text.find("\n", self.pos)
                line = text[self.pos : len(text) if end == -1 else end]
                self.pos = len(text) if end == -1 else end + 1
                self.line += 1
                if (line.lstrip("\t") if strip_tabs else line) == delimiter:
                    break

    def _word(self) -> _Token:
        token = _Token(None, line=self.line)
        text = self.text
        literal: list[str] = []

        def flush() -> None:
            if literal:
                token.parts.append(("lit", "".join(literal)))
                literal.clear()

        first = True
        while self.pos < len(text):
            char = text[self.pos]
            if char in " \t\r\n;&|()<>":
                break
            if char == "\\":
                if text.startswith("\\\n", self.pos):
                    self.pos += 2
                    self.line += 1
                    continue
                literal.append(text[self.pos + 1 : self.pos + 2])
                self.pos += 2
            elif char == "'":
                end = text.find("'", self.pos + 1)
                end = len(text) if end == -1 else end
                body = text[self.pos + 1 : end]
                self.line += body.count("\n")
                literal.append(body)
                self.pos = end + 1
            elif char == '"':
                flush()
                self._double_quoted(token)
            elif char == "$" or char == "`":
                flush()
                kind, value = self._expansion()
                # Unquoted, a variable's value is split into words (`$pip install x` with pip="pip3 -q").
                token.parts.append(("split" if kind == "var" else kind, value))
            else:
                if first and char == "=":
                    # Only the text before the first "=" can make an assignment: deciding once
                    # keeps a word of many "=" linear (it was quadratic, found by fuzzing).
                    token.assignment = bool(literal) and _is_name("".join(literal))
                    first = False
                literal.append(char)
                self.pos += 1
                continue
            first = first and char not in "'\"\\$`"
        flush()
        return token

    def _double_quoted(self, token: _Token) -> None:
        text = self.text
        self.pos += 1
        literal: list[str] = []
        while self.pos < len(text) and text[self.pos] != '"':
            char = text[self.pos]
            if char == "\\" and self.pos + 1 < len(text) and text[self.pos + 1] in '$`"\\\n':
                if text[self.pos + 1] == "\n":
                    self.line += 1
                else:
                    literal.append(text[self.pos + 1])
                self.pos += 2
            elif char in "$`":
                if literal:
                    token.parts.append(("lit", "".join(literal)))
                    literal = []
                token.parts.append(self._expansion())
            else:
                if char == "\n":
                    self.line += 1
                literal.append(char)
                self.pos += 1
        self.pos += 1
        token.parts.append(("lit", "".join(literal)))

    def _expansion(self) -> tuple[str, str]:
        """At `$` or a backtick: ("var", name), ("default", "name\\0text") or ("dyn", the text as written)."""
        text = self.text
        start = self.pos
        if text[start] == "`":
            end = text.find("`", start + 1)
            return self._dynamic(start, len(text) if end == -1 else end + 1)
        nxt = text[start + 1 : start + 2]
        if text.startswith("${{", start):
            end = text.find("}}", start)
            return self._dynamic(start, len(text) if end == -1 else end + 2)
        if nxt == "(":
            return self._dynamic(start, self._closing(start + 1, "(", ")"))
        if nxt == "{":
            end = self._closing(start + 1, "{", "}")
            body = text[start + 2 : end - 1]
            self.pos = end
            self.line += body.count("\n")
            name_end = 0
            while name_end < len(body) and body[name_end] in _NAME_CHARS:
                name_end += 1
            name, rest = body[:name_end], body[name_end:]
            if name and not rest:
                return ("var", name)
            if name and rest[:2] in (":-", ":=") or (name and rest[:1] in ("-", "=")):
                default = rest[2:] if rest[:1] == ":" else rest[1:]
                return ("default", f"{name}\0{default}")
            return ("dyn", text[start:end])
        if nxt and nxt[0] in _NAME_START:
            end = start + 1
            while end < len(text) and text[end] in _NAME_CHARS:
                end += 1
            self.pos = end
            return ("var", text[start + 1 : end])
        if nxt and nxt in _SPECIAL_PARAMETERS:
            return self._dynamic(start, start + 2)
        self.pos = start + 1
        return ("lit", "$")

    def _dynamic(self, start: int, end: int) -> tuple[str, str]:
        self.line += self.text.count("\n", start, end)
        self.pos = end
        return ("dyn", self.text[start:end])

    def _closing(self, open_at: int, opening: str, closing: str) -> int:
        """The position after the bracket closing the one at `open_at` (quotes inside are skipped)."""
        depth = 0
        pos = open_at
        text = self.text
        while pos < len(text):
            char = text[pos]
            if char == "\\":
                pos += 2
                continue
            if char in "'\"":
                end = text.find(char, pos + 1)
                pos = len(text) if end == -1 else end + 1
                continue
            if char == opening:
                depth += 1
            elif char == closing:
                depth -= 1
                if depth == 0:
                    return pos + 1
            pos += 1
        return len(text)


def _is_name(text: str) -> bool:
    return bool(text) and text[0] in _NAME_START and all(c in _NAME_CHARS for c in text)


# ----------------------------------------------------------------------------- commands


def _run(script: str, first_line: int, state: _State, found: list[Command], depth: int) -> None:
    tokens = _Lexer(script, first_line).tokens()
    saved: list[_State] = []
    words: list[_Token] = []
    for token in [*tokens, _Token("\n")]:
        if token.op is None:
            words.append(token)
            continue
        if words:
            _command(words, state, found, depth)
            words = []
        if token.op == "(":
            saved.append(state.copy())
        elif token.op == ")" and saved:
            restored = saved.pop()
            state.env, state.unknown, state.cwd, state.dirs = restored.env, restored.unknown, restored.cwd, restored.dirs


def _command(tokens: list[_Token], state: _State, found: list[Command], depth: int) -> None:
    # Keywords open or close compound commands whose inner commands are what matters.
    while tokens and tokens[0].op is None and _literal(tokens[0]) in _KEYWORDS:
        tokens = tokens[1:]
    if not tokens:
        return
    head = _literal(tokens[0])
    if head in ("for", "select", "case"):
        # `for NAME in WORDS`: the loop variable takes values nobody can name statically.
        if head in ("for", "select") and len(tokens) > 1:
            state.unknown.add(_literal(tokens[1]) or "")
        return
    local: dict[str, str] = {}
    local_unknown: set[str] = set()
    index = 0
    while index < len(tokens) and tokens[index].assignment:
        word = _expand(tokens[index], {**state.env, **local}, (state.unknown - local.keys()) | local_unknown)
        name, _, value = word.text.partition("=")
        if word.dynamic:
            local.pop(name, None)
            local_unknown.add(name)
        else:
            local[name] = value
            local_unknown.discard(name)
        index += 1
    rest = tokens[index:]
    if not rest:  # NAME=value alone sets a shell variable for the rest of the script
        _assign(state, local, local_unknown)
        return
    env = {**state.env, **local}
    unknown = (state.unknown - local.keys()) | local_unknown
    words = [word for token in rest for word in _fields(token, env, unknown)]
    words = _strip_prefixes(words, env, unknown)
    if not words:
        return
    name = words[0].text
    if name in ("export", "readonly", "declare", "typeset"):
        for token in rest[1:]:
            if token.assignment:
                word = _expand(token, state.env, state.unknown)
                key, _, value = word.text.partition("=")
                _assign(state, {} if word.dynamic else {key: value}, {key} if word.dynamic else set())
        return
    if name == "unset":
        for word in words[1:]:
            state.env.pop(word.text, None)
            state.unknown.discard(word.text)
        return
    if name in ("cd", "pushd", "popd"):
        _change_directory(state, words)
        return
    if name in ("sh", "bash", "dash", "zsh") and len(words) >= 3 and words[1].text == "-c" and depth < _MAX_DEPTH:
        if not words[2].dynamic:
            inner = state.copy()
            inner.env.update(local)
            _run(words[2].text, words[2].line, inner, found, depth + 1)
        return
    found.append(Command(tuple(words), env, frozenset(unknown), state.cwd))


def _literal(token: _Token) -> str | None:
    """The token's text when it is plain text (no expansion)."""
    if any(kind != "lit" for kind, _ in token.parts):
        return None
    return "".join(text for _, text in token.parts)


def _assign(state: _State, values: dict[str, str], unknown: set[str]) -> None:
    state.env.update(values)
    state.unknown -= values.keys()
    for name in unknown:
        state.env.pop(name, None)
        state.unknown.add(name)


def _fields(token: _Token, env: Mapping[str, str], unknown: set[str] | frozenset[str]) -> list[Word]:
    """The words a token becomes: an unquoted variable's value splits at blanks, as a shell splits it."""
    if not any(kind == "split" for kind, _ in token.parts):
        return [_expand(token, env, unknown)]
    fields: list[list[tuple[str, str]]] = [[]]
    for kind, text in token.parts:
        if kind == "split" and text in env and text not in unknown:
            value = env[text]
            pieces = value.split()
            if value[:1].isspace() and fields[-1]:
                fields.append([])
            for index, piece in enumerate(pieces):
                if index:
                    fields.append([])
                fields[-1].append(("lit", piece))
            if pieces and value[-1:].isspace():
                fields.append([])
        else:
            fields[-1].append((kind, text))
    return [_expand(_Token(None, parts, token.line), env, unknown) for parts in fields if parts]


def _expand(token: _Token, env: Mapping[str, str], unknown: set[str] | frozenset[str]) -> Word:
    pieces: list[str] = []
    dynamic = False
    for kind, text in token.parts:
        if kind == "lit":
            pieces.append(text)
        elif kind in ("var", "split"):
            if text in env and text not in unknown:
                pieces.append(env[text])
            else:
                pieces.append(f"${{{text}}}")
                dynamic = True
        elif kind == "default":
            name, _, default = text.partition("\0")
            if name in env and name not in unknown:
                pieces.append(env[name])
            else:
                # The default applies only when nothing sets the variable, which a CI runner may.
                pieces.append(f"${{{name}:-{default}}}")
                dynamic = True
        else:
            pieces.append(text)
            dynamic = True
    return Word("".join(pieces), token.line, dynamic)


# Commands that run the rest of their words as a command: (name, options that take a value).
_PREFIXES: dict[str, frozenset[str]] = {
    "sudo": frozenset({"-u", "-g", "-h", "-p", "-C", "-D", "-R", "-T", "-U", "--user", "--group"}),
    "env": frozenset({"-u", "--unset", "-C", "--chdir", "-S", "--split-string"}),
    "time": frozenset(),
    "nice": frozenset({"-n", "--adjustment"}),
    "nohup": frozenset(),
    "exec": frozenset({"-a"}),
    "command": frozenset(),
    "xvfb-run": frozenset({"-n", "-s", "-f", "-e", "-p", "--server-num", "--server-args", "--auth-file", "--error-file"}),
    "timeout": frozenset({"-k", "-s", "--kill-after", "--signal"}),
}


def _strip_prefixes(words: list[Word], env: dict[str, str], unknown: set[str] | frozenset[str]) -> list[Word]:
    while words and words[0].text in _PREFIXES:
        takes_value = _PREFIXES[words[0].text]
        head = words[0].text
        words = words[1:]
        while words and words[0].text.startswith("-"):
            option = words[0].text
            words = words[1:]
            if option in takes_value and words:
                words = words[1:]
        if head == "timeout" and words:
            words = words[1:]  # the duration
        if head == "env":
            while words and "=" in words[0].text and _is_name(words[0].text.partition("=")[0]):
                name, _, value = words[0].text.partition("=")
                env[name] = value
                words = words[1:]
    return words


def _change_directory(state: _State, words: list[Word]) -> None:
    name = words[0].text
    if name == "popd":
        state.cwd = state.dirs.pop() if state.dirs else None
        return
    targets = [w for w in words[1:] if not w.text.startswith("-") or w.text == "-"]
    if name == "pushd":
        state.dirs.append(state.cwd)
    if not targets or targets[0].dynamic or targets[0].text in ("-", "~") or targets[0].text.startswith("~"):
        state.cwd = None  # home, the previous directory, or a variable: not known statically
        return
    target = targets[0].text
    if posixpath.isabs(target):
        state.cwd = posixpath.normpath(target)  # a path in a container image means something to its reader
    elif state.cwd is not None:
        state.cwd = posixpath.normpath(posixpath.join(state.cwd, target))
