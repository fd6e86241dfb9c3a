"""YAML for the declaration readers: data that keeps the file and line of every value.

CI files (GitHub workflows and actions, GitLab pipelines, pre-commit configurations) are read
as YAML data whose every value knows where it was written, so that a declaration, a warning or
an error names `file:line`. The tree is built once per file, straight from the parser's events:

* PyYAML's C parser (libyaml) when it is installed, its pure-Python parser otherwise. Only the
  parser is used: PyYAML's own composer, in C, recurses once per nesting level and crashes the
  interpreter on a deeply nested file (`[[[[...`), so the tree is built here with an explicit
  stack, and nesting deeper than `MAX_DEPTH` is refused.
* Anchors, aliases and `<<` merge keys are supported (GitLab pipelines are built on them). An
  alias is the same node object as its anchor, so a file never takes more memory than it has
  text; but whoever walks the tree walks every alias, and ten lines of nested aliases (the
  "billion laughs") expand to a billion values. The values aliases add beyond what is written
  (a merge key's mapping included, being an alias) are counted, and a file that adds more than
  `MAX_ALIAS_EXPANSION` is refused.
* Merge keys follow YAML's merge-key specification as PyYAML implements it: the mapping's own
  keys win over merged ones; in `<<: [*a, *b]` the earlier mapping wins; of two `<<` keys in
  one mapping the later wins.
* Mapping keys are kept as written (`on` stays "on", where YAML 1.1 would read `true`); a
  repeated key keeps the last value, as PyYAML and GitLab's parser do.
* Scalars keep their text, style and resolved tag; what a value means (GitHub's YAML 1.2 reading
  of `3.10` as the number 3.1, say) is for each reader to decide.
* Tags are kept on every node (GitLab's `!reference [.job, script]` is a tagged sequence).

Malformed YAML raises a one-line `SourceError(shown, line, "invalid YAML: ...")`.

Speed, on a 106 KB workflow (astral-sh/uv's ci.yml): libyaml's events take 7 ms, the tree
built from them 7 ms more (PyYAML's own C composer: 7 ms in all; its pure-Python one: 110 ms).
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from envguard.errors import SourceError

__all__ = [
    "MAP_TAG",
    "MAX_ALIAS_EXPANSION",
    "MAX_DEPTH",
    "MERGE_TAG",
    "STR_TAG",
    "Map",
    "Node",
    "Scalar",
    "Seq",
    "describe",
    "load",
    "load_documents",
]

MAX_DEPTH = 100
MAX_ALIAS_EXPANSION = 1_000_000

STR_TAG = "tag:yaml.org,2002:str"
SEQ_TAG = "tag:yaml.org,2002:seq"
MAP_TAG = "tag:yaml.org,2002:map"
MERGE_TAG = "tag:yaml.org,2002:merge"
NULL_TAG = "tag:yaml.org,2002:null"


@dataclass(frozen=True)
class _Source:
    """The text of one file, for the scalars that need to look back at how they were written."""

    lines: tuple[str, ...]


@dataclass(frozen=True, eq=False, slots=True)
class Scalar:
    value: str  # the text, quotes and escapes processed
    tag: str  # explicit, or resolved by YAML 1.1's rules for plain scalars (PyYAML's resolver)
    style: str | None  # None for plain; "'", '"', "|" or ">"
    path: str  # the root-relative file it is written in
    line: int  # 1-based: where it starts (the `|` or `>` indicator of a block scalar)
    # Where it ends (0-based line and column, past its last character), for `lines_kept`.
    _end: tuple[int, int] = field(repr=False)
    _column: int = field(repr=False)
    _source: _Source = field(repr=False)

    @property
    def plain(self) -> bool:
        return self.style is None

    def lines_kept(self) -> tuple[str, int]:
        """The value as text whose line breaks fall where the file's do, and the line of its first line.

        A shell script must keep its lines for its commands' lines to be right. A literal block
        (`|`) does; a folded block (`>`), a multi-line plain or quoted scalar joins lines with a
        space. Their value is given back with a `\\` line continuation before each line break
        folding took away, which a shell reads as the space folding made (within double quotes
        too; within single quotes, where a shell keeps the backslash, it is a known difference).
        """
        if self.style == "|" or self._end[0] == self.line - 1:
            return self.value, self.line + 1 if self.style == "|" else self.line
        if self.style == ">":
            # The text starts on the line after the indicator (whose comment is no part of it).
            start = (self.line, 0)
        else:
            start = (self.line - 1, self._column)
        return _refold(self.value, self._raw(start), start[0] + 1), start[0] + 1

    def _raw(self, start: tuple[int, int]) -> str:
        lines = self._source.lines
        (start_line, start_column), (end_line, end_column) = start, self._end
        if start_line == end_line:
            return lines[start_line][start_column:end_column]
        middle = lines[start_line + 1 : end_line]
        tail = lines[end_line][:end_column] if end_line < len(lines) else ""
        return "\n".join([lines[start_line][start_column:], *middle, tail])


@dataclass(frozen=True, eq=False, slots=True)
class Seq:
    items: tuple[Node, ...]
    tag: str
    path: str
    line: int


@dataclass(frozen=True, eq=False, slots=True)
class Map:
    # key as written -> (the key's scalar, the value)
    entries: dict[str, tuple[Scalar, Node]]
    tag: str
    path: str
    line: int

    def get(self, key: str) -> Node | None:
        entry = self.entries.get(key)
        return entry[1] if entry is not None else None

    def key_line(self, key: str) -> int:
        return self.entries[key][0].line

    def items(self) -> Iterator[tuple[str, Node]]:
        for key, (_, value) in self.entries.items():
            yield key, value

    def __contains__(self, key: object) -> bool:
        return key in self.entries


Node = Scalar | Seq | Map

_KINDS = {
    STR_TAG: "a string",
    "tag:yaml.org,2002:int": "an integer",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:bool": "a boolean",
    NULL_TAG: "null",
    "tag:yaml.org,2002:timestamp": "a date",
}


def describe(node: Node | None) -> str:
    """What a value is, for messages: "a mapping", "a list", "a string", "null"."""
    if node is None:
        return "nothing"
    if isinstance(node, Map):
        return "a mapping"
    if isinstance(node, Seq):
        return "a list"
    if node.style is not None:
        return "a string"
    return _KINDS.get(node.tag, f"a value tagged {node.tag}")


def load(text: str, shown: str) -> Node | None:
    """The one document of `text` (None when it is empty); a second document is an error."""
    documents = _compose(text, shown, 1)
    return documents[0] if documents else None


def load_documents(text: str, shown: str, limit: int) -> list[Node | None]:
    """The documents of `text` (GitLab's `spec:` header is a document of its own), at most `limit`."""
    return _compose(text, shown, limit)


# ----------------------------------------------------------------------------- composing


@functools.cache
def _parser() -> tuple[type[Any], Any]:
    # Imported on first use: envguard's start-up does not pay for PyYAML (~30 ms).
    import yaml  # type: ignore[import-untyped, unused-ignore]

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader), yaml


class _Frame:
    """A sequence or mapping whose items are still being read."""

    __slots__ = ("anchor", "event", "expanded", "is_seq", "items")

    def __init__(self, event: Any, is_seq: bool) -> None:
        self.event = event
        self.is_seq = is_seq
        self.anchor: str | None = event.anchor
        self.items: list[Node] = []
        self.expanded = 1  # nodes it stands for once aliases are expanded, itself included


class _Composer:
    def __init__(self, text: str, shown: str) -> None:
        self.shown = shown
        self.source = _Source(tuple(text.split("\n")))
        self.anchors: dict[str, Node] = {}
        self.building: set[str] = set()  # anchors of collections still open: an alias to one is recursive
        # Expanded size of every node an anchor names; nodes without an anchor are never reused.
        self.sizes: dict[int, int] = {}
        self.written = 0  # nodes as written
        self.added = 0  # nodes aliases and merge keys add

    def documents(self, loader: Any, yaml: Any, limit: int) -> list[Node | None]:
        get_event = loader.get_event
        get_event()  # StreamStartEvent
        found: list[Node | None] = []
        stream_end = yaml.StreamEndEvent
        while not loader.check_event(stream_end):
            if len(found) == limit:
                line = loader.peek_event().start_mark.line + 1
                what = (
                    "a second YAML document; this file holds one" if limit == 1 else f"more than {limit} YAML documents"
                )
                raise SourceError(self.shown, line, what)
            get_event()  # DocumentStartEvent
            self.anchors.clear()
            found.append(self.document(loader, yaml))
        return found

    def document(self, loader: Any, yaml: Any) -> Node | None:
        scalar_event, alias_event = yaml.ScalarEvent, yaml.AliasEvent
        seq_start, map_start = yaml.SequenceStartEvent, yaml.MappingStartEvent
        document_end = yaml.DocumentEndEvent
        # PyYAML's implicit resolvers, by first character (what Resolver.resolve does, inlined:
        # it is called for every plain scalar).
        resolvers = loader.yaml_implicit_resolvers
        get_event = loader.get_event
        stack: list[_Frame] = []
        root: Node | None = None
        while True:
            event = get_event()
            kind = type(event)
            if kind is document_end:
                return root
            node: Node
            size = 1
            if kind is scalar_event:
                style = event.style or None  # the C parser gives "" for plain
                tag = event.tag
                if tag is None or tag == "!":
                    tag = STR_TAG
                    if style is None:
                        for candidate, pattern in resolvers.get(event.value[:1], ()):
                            if pattern.match(event.value):
                                tag = candidate
                                break
                end = event.end_mark
                node = Scalar(
                    event.value,
                    tag,
                    style,
                    self.shown,
                    event.start_mark.line + 1,
                    (end.line, end.column),
                    event.start_mark.column,
                    self.source,
                )
                self.written += 1
                if event.anchor is not None:
                    self.anchors[event.anchor] = node
                    self.sizes[id(node)] = 1
            elif kind is alias_event:
                node, size = self.alias(event)
            elif kind is seq_start or kind is map_start:
                if len(stack) >= MAX_DEPTH:
                    raise SourceError(self.shown, event.start_mark.line + 1, f"nested deeper than {MAX_DEPTH} levels")
                frame = _Frame(event, kind is seq_start)
                if frame.anchor is not None:
                    self.building.add(frame.anchor)
                stack.append(frame)
                continue
            else:  # SequenceEndEvent, MappingEndEvent
                frame = stack.pop()
                node, size = self.close(frame)
            if stack:
                stack[-1].items.append(node)
                stack[-1].expanded += size
            else:
                root = node

    def alias(self, event: Any) -> tuple[Node, int]:
        line = event.start_mark.line + 1
        if event.anchor in self.building:
            raise SourceError(
                self.shown, line, f"invalid YAML: alias *{event.anchor} refers to a value that contains it"
            )
        node = self.anchors.get(event.anchor)
        if node is None:
            raise SourceError(self.shown, line, f"invalid YAML: alias *{event.anchor} names no anchor before it")
        size = self.sizes[id(node)]
        self.grow(size, line)
        return node, size

    def grow(self, size: int, line: int) -> None:
        self.added += size
        if self.added > MAX_ALIAS_EXPANSION:
            raise SourceError(
                self.shown,
                line,
                f'YAML aliases expand this file by more than {MAX_ALIAS_EXPANSION} values; refused (a "billion laughs"?)',
            )

    def close(self, frame: _Frame) -> tuple[Node, int]:
        event = frame.event
        line = event.start_mark.line + 1
        self.written += 1
        node: Node
        if frame.is_seq:
            node = Seq(tuple(frame.items), event.tag or SEQ_TAG, self.shown, line)
        else:
            node = self.mapping(frame.items, event.tag or MAP_TAG, line)
        if frame.anchor is not None:
            self.building.discard(frame.anchor)
            self.anchors[frame.anchor] = node
            self.sizes[id(node)] = frame.expanded
        return node, frame.expanded

    def mapping(self, items: list[Node], tag: str, line: int) -> Map:
        merged: dict[str, tuple[Scalar, Node]] = {}
        own: dict[str, tuple[Scalar, Node]] = {}
        for index in range(0, len(items), 2):
            key, value = items[index], items[index + 1]
            if not isinstance(key, Scalar):
                raise SourceError(self.shown, key.line, f"a mapping key must be a string, not {describe(key)}")
            if key.tag == MERGE_TAG:
                merged.update(self.merge(key, value))
            else:
                own[key.value] = (key, value)
        if merged:
            merged.update(own)
            return Map(merged, tag, self.shown, line)
        return Map(own, tag, self.shown, line)

    def merge(self, key: Scalar, value: Node) -> dict[str, tuple[Scalar, Node]]:
        sources = value.items if isinstance(value, Seq) else (value,)
        entries: dict[str, tuple[Scalar, Node]] = {}
        for source in reversed(sources):  # earlier mappings win
            if not isinstance(source, Map):
                raise SourceError(
                    self.shown,
                    key.line,
                    f"a merge key (<<) takes a mapping or a list of mappings, not {describe(source)}",
                )
            entries.update(source.entries)
        # What the merge copies in came through aliases, counted there.
        return entries


def _compose(text: str, shown: str, limit: int) -> list[Node | None]:
    loader_class, yaml = _parser()
    loader: Any = None
    try:
        loader = loader_class(text)
        return _Composer(text, shown).documents(loader, yaml, limit)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise SourceError(shown, mark.line + 1 if mark else None, _message(exc)) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1 if isinstance(exc.position, int) else None
        code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "\0")
        raise SourceError(shown, line, f"invalid YAML: character U+{code:04X} is not allowed in YAML") from None
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        raise SourceError(shown, None, f"invalid YAML: {exc}") from None
    finally:
        if loader is not None:
            loader.dispose()


def _message(exc: Any) -> str:
    problem = str(exc.problem or "syntax error")
    context = str(exc.context or "")
    return f"invalid YAML: {problem}" + (f" ({context})" if context else "")


# ----------------------------------------------------------------------------- line-keeping text


def _refold(value: str, raw: str, first_line: int) -> str:
    """`value` with a line continuation wherever folding joined two of `raw`'s lines.

    Each non-blank character of the value is found, in order, in the text as written (folding
    changes only white space, and escapes shorten what they stand for); the line it was found on
    is the line it is on. Where that line is later than the output has reached, the blanks
    before the character get the line breaks back: as `\\` continuations where folding made a
    space (or nothing, for an escaped line break), as plain line breaks where the value kept one.
    """
    breaks = [index for index, char in enumerate(raw) if char == "\n"]
    out: list[str] = []
    blanks: list[str] = []
    line = first_line
    cursor = 0
    for char in value:
        if char in " \t\n":
            blanks.append(char)
            continue
        found = raw.find(char, cursor)
        if found == -1:  # an escape made a character the text does not hold: stop aligning
            out.extend(blanks)
            out.append(char)
            blanks = []
            cursor = len(raw)
            continue
        cursor = found + 1
        target = first_line + bisect.bisect_left(breaks, found)
        newlines = blanks.count("\n")
        out.extend(blanks)
        if target > line + newlines:
            missing = target - line - newlines
            out.append("\\\n" * missing if newlines == 0 else "\n" * missing)
            line = target
        else:
            line += newlines
        blanks = []
        out.append(char)
    out.extend(blanks)
    return "".join(out)
