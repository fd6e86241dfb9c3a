"""The TOML fast path (`envguard.sources._fasttoml`) against tomllib, the full parser.

The contract: whatever the fast path accepts, tomllib accepts and parses to an equal document,
with the `[[key]]` header lines `_toml.array_table_lines` finds; whatever it does not accept
it refuses with `Unsupported`, and the loaders then give what tomllib alone gives. Checked on
every TOML file of the fixtures, the example monorepo and the shared corpus (when present),
on the loaders' results (errors included), on hand-made edge cases and on generated documents.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from envguard.errors import SourceError
from envguard.sources import _fasttoml, _toml, detect
from envguard.sources._text import read_text
from tests.corpus import CORPUS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
_LOCK_FORMATS = {"uv", "poetry", "pdm", "pylock"}


def _toml_files() -> list[Any]:
    found: list[Path] = []
    for base in (ROOT / "tests" / "fixtures", ROOT / "examples", CORPUS):
        if base.is_dir():
            found.extend(
                p for p in base.rglob("*") if p.is_file() and (p.suffix in (".toml", ".lock") or p.name == "Pipfile")
            )
    files = sorted(p for p in found if p.name != "Pipfile.lock")
    if not any(CORPUS in p.parents for p in files):
        files_params = [pytest.param(p, id=str(p.relative_to(ROOT))) for p in files]
        return files_params + [pytest.param(None, marks=pytest.mark.skip(reason=f"{CORPUS} not present"), id="no-corpus")]
    return [pytest.param(p, id=str(p.relative_to(CORPUS.parent) if CORPUS in p.parents else p.relative_to(ROOT))) for p in files]


TOML_FILES = _toml_files()


def _text(path: Path) -> str | None:
    try:
        return read_text(path)
    except SourceError:
        return None  # not text at all: neither parser sees it


@pytest.mark.parametrize("path", TOML_FILES)
def test_fast_path_equals_tomllib_on_every_real_file(path: Path) -> None:
    text = _text(path)
    if text is None:
        return
    try:
        expected: Any = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError, RecursionError) as exc:
        expected = exc
    try:
        document, headers = _fasttoml.loads(text)
    except (_fasttoml.Unsupported, ValueError, RecursionError):
        return  # the loaders then use tomllib
    assert not isinstance(expected, Exception), f"fast path accepted what tomllib rejects: {expected}"
    assert document == expected
    for key, lines in headers.items():
        assert lines == _toml.array_table_lines(text, key)


@pytest.mark.parametrize("path", TOML_FILES)
def test_loaders_give_the_same_inventory_with_and_without_the_fast_path(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fmt = detect.format_for_name(path.name)
    if fmt not in _LOCK_FORMATS:
        return
    loader = detect.loader_for(fmt)

    def load() -> Any:
        try:
            return loader(path, "svc/" + path.name)
        except SourceError as exc:
            return ("error", exc.path, exc.line, exc.message)

    monkeypatch.setattr(_toml, "FAST_PATH", True)
    fast = load()
    monkeypatch.setattr(_toml, "FAST_PATH", False)
    assert fast == load()


def test_the_real_locks_take_the_fast_path() -> None:
    """The point of it: every lock a tool wrote in the fixtures is read without tomllib."""
    locks = [p for p in (ROOT / "tests" / "fixtures").rglob("*") if detect.format_for_name(p.name) in _LOCK_FORMATS]
    locks += [p for p in (ROOT / "examples").rglob("*") if detect.format_for_name(p.name) in _LOCK_FORMATS]
    assert len(locks) >= 10
    for path in locks:
        _fasttoml.loads(read_text(path))  # raises Unsupported otherwise


# --------------------------------------------------------------------------- edge cases

ACCEPTED = {
    "empty": "",
    "comments and blank lines": "# header\n\n   # indented comment\n\t\na = 1\n",
    "scalars": 'a = "x"\nb = 12\nc = -3\nd = true\ne = false\nf = \'lit\'\ng = ""\n',
    "escapes": 'a = "say \\"hi\\"\\t\\\\ \\u00e9 \\U0001F600"\n',
    "datetimes": "a = 2026-01-06T11:45:21Z\nb = 2026-01-06T11:45:21.123456789+01:30\nc = 2026-01-06T11:45:21.5\n",
    "inline tables": 'a = { x = 1, y = "2" }\nb = {}\nc = { n = { m = [1, 2] }, t = 2026-01-06T11:45:21Z }\n',
    "arrays": 'a = [1, "b", [2], { c = 3 }]\nb = []\nc = [ ]\nd = ["x",]\n',
    "multi-line arrays": 'a = [\n    "x",\n    { y = 1 },\n    [1, 2],\n]\nb = [\n]\nc = [\n  "last without comma"\n]\n',
    "pylock wheels": (
        '[[packages]]\nname = "a"\nwheels = [{ url = "u", upload-time = 2026-01-06T11:45:19Z, size = 1, '
        'hashes = { sha256 = "h" } }, { url = "v", size = 2, hashes = { sha256 = "i" } }]\n'
    ),
    "tables": "[a]\nx = 1\n[a.b]\ny = 2\n[c.d]\nz = 3\n[c]\nw = 4\n",
    "arrays of tables": "[[p]]\nn = 1\n[p.s]\nt = 1\n[[p.w]]\nu = 1\n[[p.w]]\nu = 2\n[[p]]\nn = 2\n[p.s]\nt = 2\n",
    "quoted keys": '"a b" = 1\n[t]\n"" = 2\n',
}

REFUSED = {
    "multi-line basic string": 'a = """\nx"""\n',
    "multi-line literal string": "a = '''x'''\n",
    "dotted key": "a.b = 1\n",
    "comment after a value": "a = 1 # no\n",
    "float": "a = 1.5\n",
    "local date": "a = 2026-01-06\n",
    "space in a datetime": "a = 2026-01-06 11:45:21Z\n",
    "underscored integer": "a = 1_000\n",
    "hex integer": "a = 0x1F\n",
    "indented statement": "  a = 1\n",
    "spaced header": "[ a ]\n",
    "quoted header": '["a"]\n',
    "two elements on a line": 'a = [\n  1, 2,\n]\n',
    "comment in an array": "a = [\n  # c\n  1,\n]\n",
    "missing comma": "a = [\n  1\n  2\n]\n",
    "array not closed": "a = [\n  1,\n",
    "CR line end": "a = 1\r\n",
    # Everything tomllib rejects, so that its message is the one reported.
    "duplicate key": "a = 1\na = 2\n",
    "duplicate key in an inline table": "a = { x = 1, x = 2 }\n",
    "duplicate key in a flat inline table": 'a = [\n  { url = "u", url = "v" },\n]\n',
    "table defined twice": "[a]\n[a]\n",
    "table over a value": "a = 1\n[a]\n",
    "table into an inline table": "a = { x = 1 }\n[a.b]\n",
    "table into a static array": "a = [{ x = 1 }]\n[a.b]\n",
    "array of tables over a table": "[a]\n[[a]]\n",
    "table over an array of tables": "[[a]]\n[a]\n",
    "trailing comma in an inline table": "a = { x = 1, }\n",
    "control character": 'a = "\x01"\n',
    "bad escape": 'a = "\\q"\n',
    "surrogate escape": 'a = "\\ud800"\n',
    "invalid date": "a = 2026-02-30T00:00:00Z\n",
    "leading zero": "a = 01\n",
    "bare word": "a = yes\n",
    "nothing after =": "a =\n",
}


@pytest.mark.parametrize("text", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_accepted_documents_equal_tomllib(text: str) -> None:
    document, _ = _fasttoml.loads(text)
    assert document == tomllib.loads(text)


@pytest.mark.parametrize("text", REFUSED.values(), ids=REFUSED.keys())
def test_anything_else_is_left_to_tomllib(text: str) -> None:
    with pytest.raises(_fasttoml.Unsupported):
        _fasttoml.loads(text)
    # parse_toml still gives tomllib's answer: the same document, or its error.
    try:
        expected: Any = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        with pytest.raises(SourceError, match="invalid TOML"):
            _toml.parse_toml(text, "x.toml")
        return
    assert _toml.parse_toml(text, "x.toml") == expected


def test_header_lines_are_reported_for_top_level_arrays_only() -> None:
    text = '[[package]]\nname = "a"\n\n[[package.wheels]]\nx = 1\n\n[[package]]\nname = "b"\n'
    _, headers = _fasttoml.loads(text)
    assert headers == {"package": [1, 7]}


def test_datetimes_match_tomllib_to_the_microsecond() -> None:
    text = "a = 2026-01-06T11:45:21.1234567Z\nb = 2026-01-06T11:45:21-05:00\n"
    document, _ = _fasttoml.loads(text)
    assert document == tomllib.loads(text)
    assert document["a"].tzinfo is dt.timezone.utc
    assert document["b"].utcoffset() == dt.timedelta(hours=-5)


def test_environment_switch_turns_the_fast_path_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_toml, "FAST_PATH", False)
    document, headers = _toml.parse_lock("[[package]]\nname = 'a'\n", "x.toml")
    assert document == {"package": [{"name": "a"}]} and headers is None


# --------------------------------------------------------------------------- generated documents

_keys = st.sampled_from(["name", "version", "url", "hash", "a-b", "x_1", '"q k"', "size"])
_scalars = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters='"\\\x7f'), max_size=8).map(
        lambda s: '"' + "".join(c for c in s if c >= " " or c == "\t") + '"'
    ),
    st.integers(-(10**6), 10**6).map(str),
    st.sampled_from(["true", "false", "2026-01-06T11:45:21Z", "'lit'", '"es\\"c"']),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda items: "[" + ", ".join(items) + "]"),
        st.lists(st.tuples(_keys, inner), max_size=3).map(
            lambda pairs: "{ " + ", ".join(f"{k} = {v}" for k, v in pairs) + " }" if pairs else "{}"
        ),
    ),
    max_leaves=6,
)
_statements = st.one_of(
    st.tuples(_keys, _values).map(lambda kv: f"{kv[0]} = {kv[1]}"),
    st.tuples(_keys, st.lists(_values, max_size=3)).map(
        lambda kv: f"{kv[0]} = [\n" + "".join(f"    {v},\n" for v in kv[1]) + "]"
    ),
    st.sampled_from(["[[package]]", "[package.source]", "[metadata]", "[[package.wheels]]", "# comment", ""]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_statements, max_size=12))
def test_generated_documents_agree_with_tomllib(lines: list[str]) -> None:
    text = "\n".join(lines) + "\n"
    try:
        expected: Any = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        expected = None
    try:
        document, headers = _fasttoml.loads(text)
    except _fasttoml.Unsupported:
        return
    assert expected is not None, "accepted a document tomllib rejects"
    assert document == expected
    assert headers.get("package", []) == _toml.array_table_lines(text, "package")
