"""The text-level rules of tox 4's configuration: its INI dialect, factors and `{...}` substitution.

Everything here follows tox 4.67 (`tox/config/source/ini.py`, `loader/ini/factor.py`,
`loader/replacer.py`), read as the specification; tox itself is never imported (it costs more
than a whole envguard run, and it would evaluate the host's environment).

* INI: what `configparser.ConfigParser(interpolation=None)` reads (the parser tox uses), but
  keeping the line of every value line, which configparser drops. Its strict-mode errors
  (duplicate section or option, a line that is neither) are SourceErrors at their line.
* Factors: `py{311,312}-{cov,nocov}` and `py3{10-12}` name environments; `cov,!py311: dep`
  conditions a value line on them. tox also counts the platform (`linux`, `win32`) and the
  machine ISA (`x86_64`) as factors; a static reading knows neither, so a condition on one of
  them is taken to hold (the line is kept) and said so, rather than guessed for one platform.
* Substitution: `{[section]key}`, `{env:NAME:default}`, `{posargs:default}`, `[]`, `{/}`,
  `{:}`, escapes `\\{ \\} \\: \\[ \\]`. The engine is shared with tox.toml strings, which use the
  same syntax; where a reference points is the caller's `Lookup`. Two deliberate differences
  from tox: a substitution cycle is an error (tox gives up after 100 levels and keeps the text),
  and so is a `{` never closed (tox keeps it as text, which no requirement can contain).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import groupby, product

from envguard._record import record
from envguard.errors import SourceError

# (text, 1-based line of the file) for each line of a value.
Lines = list[tuple[str, int]]

DEFAULT_SECTION = "DEFAULT"

# ----------------------------------------------------------------------------- INI


@dataclass
class Value:
    line: int  # the `key = ...` line
    lines: Lines  # the value lines as configparser keeps them (stripped, comment lines dropped)


@dataclass
class Document:
    """An INI file: each section's options in file order (keys lowercased, as configparser does)."""

    sections: dict[str, dict[str, Value]]
    section_lines: dict[str, int]
    defaults: dict[str, Value]

    def get(self, section: str, key: str) -> Value | None:
        """The section's value for `key`, falling back to [DEFAULT] like a configparser section proxy."""
        values = self.sections.get(section)
        if values is None:
            return None
        return values.get(key) or self.defaults.get(key)

    def keys(self, section: str) -> list[str]:
        own = self.sections.get(section, {})
        return [*own, *(key for key in self.defaults if key not in own)]


_SECTION = re.compile(r"\[(?P<header>.+)\]")
_OPTION = re.compile(r"(?P<option>.*?)\s*(?P<vi>=|:)\s*(?P<value>.*)$")
_NON_SPACE = re.compile(r"\S")


def parse_ini(text: str, shown: str, place: Callable[[int], int] = lambda line: line) -> Document:
    """configparser's reading of `text`; `place` maps a line of `text` to the line reported."""
    sections: dict[str, dict[str, Value]] = {}
    section_lines: dict[str, int] = {}
    defaults: dict[str, Value] = {}
    current: dict[str, Value] | None = None
    name: str | None = None
    option: Value | None = None
    added: set[str | tuple[str, str]] = set()
    indent = 0
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        comment = stripped.startswith(("#", ";"))
        if comment or not stripped:
            # configparser keeps an empty line inside a value, never a comment line.
            if not comment and option is not None:
                option.lines.append(("", place(number)))
            continue
        level = _NON_SPACE.search(line).start()  # type: ignore[union-attr]  # the line is not blank
        if current is not None and option is not None and level > indent:
            option.lines.append((stripped, place(number)))
            continue
        indent = level
        header = _SECTION.match(stripped)
        if header:
            name = header.group("header")
            if name in added:
                raise SourceError(shown, place(number), f"section [{name}] is already defined")
            if name == DEFAULT_SECTION:
                current = defaults
            else:
                current = sections.setdefault(name, {})
                section_lines[name] = place(number)
                added.add(name)
            option = None
            continue
        if current is None:
            raise SourceError(shown, place(number), "the file does not start with a section header ([tox], [testenv])")
        found = _OPTION.match(stripped)
        if found is None or not found.group("option"):
            raise SourceError(shown, place(number), f"neither a section header nor `key = value`: {stripped!r}")
        key = found.group("option").rstrip().lower()
        where = (name or DEFAULT_SECTION, key)
        if where in added:
            raise SourceError(shown, place(number), f"option {key!r} is already set in section [{where[0]}]")
        added.add(where)
        option = Value(place(number), [(found.group("value").strip(), place(number))])
        current[key] = option
    for values in (*sections.values(), defaults):
        for value in values.values():
            # configparser's `"\n".join(lines).rstrip()`: trailing empty lines go.
            while len(value.lines) > 1 and not value.lines[-1][0]:
                value.lines.pop()
    return Document(sections, section_lines, defaults)


# ----------------------------------------------------------------------------- factors

# tox 4.67's bounds for an open range (`py3{12-}`): they move with tox releases.
OPEN_RANGE_MIN = 11
OPEN_RANGE_MAX = 15
# Never more environment names from one expression: `{a,b}` twenty times is a million.
MAX_NAMES = 10_000

# What tox adds to an environment's factors besides its name: sys.platform and the machine ISA.
PLATFORM_FACTORS = frozenset(
    {
        "linux", "win32", "darwin", "cygwin", "msys", "aix", "freebsd", "openbsd", "netbsd", "sunos5",
        "emscripten", "wasi", "android", "ios",
        "x86", "x86_64", "arm64", "aarch64", "ppc", "ppc64", "ppc64le", "riscv64", "s390x", "sparc64",
        "loongarch64",
    }
)  # fmt: skip

_RANGE = re.compile(
    r"""
    (?P<src>
        (?<![\w.-])
        (?: (?P<start>\d+)-(?P<end>\d+) | (?P<open_start>\d+)- )
        | (?<=[{,])-(?P<open_end>\d+)
        | \d+
    )
    (?:,|\})
    """,
    re.VERBOSE,
)
_BRACE_GROUPS = re.compile(r"((?:\{[^}]+\})+)|,")
_BRACE = re.compile(r"\{([^}]+)\}")
_FACTOR = re.compile(r"(?:!?(?:\[!?|[\w.*?\]])(?:\[!?|[\w.*?\]-])*|^$)")
_CONDITION_END = re.compile(r":(\s|$)")


class FactorError(ValueError):
    """Not a factor expression (tox then reads the text as it is)."""


def expand_ranges(value: str) -> str:
    def expand(found: re.Match[str]) -> str:
        start, end = found.group("start"), found.group("end")
        open_start, open_end = found.group("open_start"), found.group("open_end")
        delimiter = found.group()[-1]
        if start and end:
            first, last = int(start), int(end)
            step = 1 if first < last else -1
            numbers = list(range(first, last + step, step))
        elif open_start:
            numbers = _open_range(int(open_start), None)
        elif open_end:
            numbers = _open_range(None, int(open_end))
        else:
            return found.group()
        if len(numbers) > MAX_NAMES:
            raise FactorError(found.group())
        return ",".join(map(str, numbers)) + delimiter

    return _RANGE.sub(expand, value)


def _open_range(start: int | None, stop: int | None) -> list[int]:
    first = OPEN_RANGE_MIN if start is None else start
    last = OPEN_RANGE_MAX if stop is None else stop
    return list(range(first, last + 1)) or [last if start is None else first]


def factor_groups(value: str) -> list[list[tuple[str, bool]]]:
    """`{py,!pi}-{a,b},c` -> [[py, a], [py, b], [!pi, a], [!pi, b], [c]] as (factor, negated)."""
    groups: list[list[tuple[str, bool]]] = []
    for name in _expand(expand_ranges(value)):
        groups.append([(factor[1:], True) if factor.startswith("!") else (factor, False) for factor in name.split("-")])
    return groups


def _expand(value: str) -> Iterator[str]:
    count = 0
    for truthy, pieces in groupby(_BRACE_GROUPS.split(value), key=bool):
        if not truthy:
            continue
        elements = _BRACE.split("".join(p for p in pieces if p).strip())
        choices = [[item.strip() for item in element.split(",")] for element in elements]
        size = 1
        for choice in choices:
            size *= len(choice)
        count += size
        if count > MAX_NAMES:
            raise FactorError(f"more than {MAX_NAMES} names")
        for variant in product(*choices):
            name = "".join(variant)
            if not all(_FACTOR.fullmatch(factor) for factor in name.split("-")):
                raise FactorError(name)
            yield name


def expand_names(value: str) -> list[str]:
    """The environment names a generative expression (`py3{11-13}-{cov,nocov}`) stands for."""
    return ["-".join(factor for factor, _ in group) for group in factor_groups(value)]


@functools.lru_cache(maxsize=1024)  # asked for every key of every section of an environment's chain
def env_factors(name: str) -> frozenset[str]:
    try:
        return frozenset(factor for group in factor_groups(name) for factor, _ in group)
    except FactorError:
        return frozenset(name.split("-"))


@record(frozen=True)
class Condition:
    """The factor condition in front of a value line (`py311,cov-!win32: dep`)."""

    groups: tuple[tuple[tuple[str, bool], ...], ...]

    def holds(self, factors: frozenset[str]) -> tuple[bool, tuple[str, ...]]:
        """Whether the line applies, and the platform factors that holding assumed."""
        for group in self.groups:
            assumed: list[str] = []
            for factor, negated in group:
                if factor in PLATFORM_FACTORS and factor not in factors:
                    assumed.append(f"!{factor}" if negated else factor)
                elif (factor in factors) == negated:
                    break
            else:
                return True, tuple(assumed)
        return False, ()


@functools.lru_cache(maxsize=8192)  # every environment filters the same lines
def split_condition(line: str) -> tuple[Condition | None, str]:
    """The line's condition (None without one) and its content."""
    marker = _CONDITION_END.search(line)
    if marker is None:
        return None, line
    try:
        groups = factor_groups(line[: marker.start()].strip())
    except FactorError:
        return None, line
    return Condition(tuple(tuple(group) for group in groups)), line[marker.start() + 1 :].strip()


def condition_envs(lines: Lines) -> Iterator[str]:
    """The environment names the conditions of value lines spell (tox defines those it knows no factor of)."""
    for text, _ in lines:
        condition, _ = split_condition(text)
        if condition is not None:
            for group in condition.groups:
                yield "-".join(factor for factor, _ in group)


_COMMENT = re.compile(r"(\s)*(?<!\\)#.*")


@functools.lru_cache(maxsize=8192)
def _strip_comment(text: str) -> str:
    return _COMMENT.sub("", text).replace("\\#", "#") if "#" in text else text


@dataclass
class Filtered:
    lines: Lines
    # (line, the platform factors a kept line's condition assumed)
    assumed: list[tuple[int, tuple[str, ...]]] = field(default_factory=list)


def filter_value(lines: Lines, factors: frozenset[str]) -> Filtered | None:
    """tox's `IniLoader.process_raw`: comments out, lines of other factors out, `\\` lines joined.

    None when the value has content but no line applies: tox then reads the key from the next
    section of the environment's chain, as if this one had not set it.
    """
    cleaned = [(_strip_comment(text), number) for text, number in lines if not text.startswith("#")]
    result = Filtered([])
    kept: Lines = []
    continuing = False
    skipping = False
    for text, number in cleaned:
        condition, content = split_condition(text)
        if condition is None:
            if skipping and not continuing and not content.endswith("\\"):
                skipping = False
                continue
            if content:
                kept.append((content, number))
                continuing = content.endswith("\\")
            skipping = False
            continue
        holds, assumed = condition.holds(factors)
        if holds:
            kept.append((content, number))
            if assumed:
                result.assumed.append((number, assumed))
            continuing = content.endswith("\\")
            skipping = False
        else:
            skipping = content.endswith("\\")
    # tox's test is on the joined text: one kept line without content is no value either.
    if not "".join(text for text, _ in kept) and len(kept) <= 1 and any(text.strip() for text, _ in cleaned):
        return None
    # `"\n".join(kept).replace("\\\n", "")`: a line ending in a backslash takes the next one in.
    joined: Lines = []
    pending: tuple[str, int] | None = None
    for text, number in kept:
        if pending is not None:
            text, number = pending[0] + text, pending[1]
            pending = None
        if text.endswith("\\"):
            pending = (text[:-1], number)
        else:
            joined.append((text, number))
    if pending is not None:
        joined.append((pending[0] + "\\", pending[1]))
    result.lines = joined
    return result


# ----------------------------------------------------------------------------- substitution

MAX_DEPTH = 100
_ESCAPABLE = frozenset(":{}[]")


@record(frozen=True)
class Expression:
    """One `{...}` (or `[]`): its `:`-separated arguments, each a sequence of text and expressions."""

    args: tuple[tuple[str | Expression, ...], ...]
    text: str  # as written, for messages


class Unterminated(ValueError):
    pass


def parse(text: str) -> list[str | Expression]:
    """The text and expressions of one line; raises Unterminated for a `{` never closed."""
    parts, _ = _parse(text, 0, inside=False)
    return parts[0]


def _parse(text: str, position: int, *, inside: bool) -> tuple[list[list[str | Expression]], int]:
    args: list[list[str | Expression]] = []
    current: list[str | Expression] = []
    start = position
    while position < len(text):
        char = text[position]
        if (
            char == "\\"
            and position + 1 < len(text)
            and (text[position + 1] in _ESCAPABLE or text[position + 1] == "\\")
        ):
            current.append(text[position + 1] if text[position + 1] in _ESCAPABLE else "\\\\")
            position += 2
            continue
        if inside and char == "}":
            args.append(current)
            return args, position + 1
        if inside and char == ":":
            args.append(current)
            current = []
            position += 1
            continue
        if text.startswith("[]", position):
            current.append(Expression((("posargs",),), "[]"))
            position += 2
            continue
        if char == "{":
            inner, end = _parse(text, position + 1, inside=True)
            current.append(Expression(tuple(tuple(arg) for arg in inner), text[position:end]))
            position = end
            continue
        stop = min((at for at in (text.find(c, position + 1) for c in "\\{[}:") if at != -1), default=len(text))
        current.append(text[position:stop])
        position = stop
    if inside:
        raise Unterminated(text[start - 1 :])
    args.append(current)
    return args, position


@record(frozen=True)
class Raw:
    """A referenced value to be substituted in turn; `key` names it in cycle messages."""

    key: str
    lines: Lines


class Lookup:
    """Where references point; the defaults resolve nothing (each format overrides what it has)."""

    def reference(self, text: str, line: int) -> Raw | str | None:
        """`{text}` that is no built-in: a raw value, final text, or None when unknown."""
        return None

    def variable(self, name: str) -> Raw | None:
        """`{env:name}` from the environment's own set_env, None when it does not set it."""
        return None


@dataclass
class Expander:
    """Substitutes the values of one environment, collecting what it could not resolve."""

    shown: str
    lookup: Lookup
    warnings: list[tuple[int, str]] = field(default_factory=list)
    chain: list[str] = field(default_factory=list)

    def lines(self, lines: Lines) -> Lines:
        """Each line substituted; a line that is one reference to a multi-line value becomes its lines.

        A line that keeps an unresolved reference is dropped (it was warned about).
        """
        result: Lines = []
        for text, number in lines:
            if "{" not in text and "[]" not in text and "\\" not in text:
                result.append((text, number))
                continue
            parts = self._parse(text, number)
            alone = [part for part in parts if not (isinstance(part, str) and not part.strip())]
            if len(alone) == 1 and isinstance(alone[0], Expression):
                replaced = self._evaluate(alone[0], number)
                if replaced is None:
                    continue
                if isinstance(replaced, list):
                    result.extend(replaced)
                    continue
                result.append((replaced, number))
                continue
            joined = self._join(parts, number)
            if joined is not None:
                result.append((joined, number))
        return result

    def text(self, text: str, number: int) -> str | None:
        """One substituted string (a multi-line reference joined with newlines); None if unresolved."""
        return self._join(self._parse(text, number), number)

    def _parse(self, text: str, number: int) -> list[str | Expression]:
        try:
            return parse(text)
        except Unterminated as exc:
            raise SourceError(self.shown, number, f"`{{` is never closed in {str(exc)!r}") from None
        except RecursionError:
            raise SourceError(self.shown, number, "substitutions nested too deeply") from None

    def _join(self, parts: Sequence[str | Expression], number: int) -> str | None:
        pieces: list[str] = []
        for part in parts:
            if isinstance(part, str):
                pieces.append(part)
                continue
            replaced = self._evaluate(part, number)
            if replaced is None:
                return None
            pieces.append(replaced if isinstance(replaced, str) else "\n".join(text for text, _ in replaced))
        return "".join(pieces)

    def _evaluate(self, expression: Expression, number: int) -> Lines | str | None:
        args: list[str] = []
        for arg in expression.args:
            flat = self._join(arg, number)
            if flat is None:
                return None
            args.append(flat)
        name = args[0]
        if name == "/":
            return "/"
        if name == "" and args == ["", ""]:
            return ":"
        if name == "env" and len(args) > 1 and args[1]:
            return self.variable(args[1], ":".join(args[2:]), number)
        if name == "posargs":
            default = ":".join(args[1:])
            self.warnings.append((number, f"{expression.text} is given on the tox command line; read as {default!r}"))
            return default
        if name == "tty":
            # Not on a terminal, which is how CI runs: the second value.
            return args[2] if len(args) > 2 else ""
        found = self.lookup.reference(":".join(args), number)
        if isinstance(found, Raw):
            return self._raw(found, number)
        if found is None:
            self.warnings.append(
                (number, f"cannot resolve {expression.text} statically; what this line installs is not checked")
            )
        return found

    def variable(self, name: str, default: str, number: int) -> Lines | str:
        """`{env:name:default}`: the environment's set_env value, else the default (with a warning)."""
        key = f"env:{name}"
        if key in self.chain and self.chain[-1] != key:
            cycle = " -> ".join([*self.chain[self.chain.index(key) :], key])
            raise SourceError(self.shown, number, f"set_env variables refer to each other in a cycle: {cycle}")
        found = None if key in self.chain else self.lookup.variable(name)
        if found is None:
            self.warnings.append(
                (number, f"{{env:{name}}} depends on the environment tox runs in; read as its default {default!r}")
            )
            return default
        return self._raw(found, number)

    def _raw(self, raw: Raw, number: int) -> Lines:
        if raw.key in self.chain:
            cycle = " -> ".join([*self.chain[self.chain.index(raw.key) :], raw.key])
            raise SourceError(self.shown, number, f"substitution cycle: {cycle}")
        if len(self.chain) >= MAX_DEPTH:
            raise SourceError(self.shown, number, f"substitutions nested more than {MAX_DEPTH} levels deep")
        self.chain.append(raw.key)
        try:
            return self.lines(raw.lines)
        finally:
            self.chain.pop()
