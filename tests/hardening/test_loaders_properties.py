"""Property-based tests for every loader: whatever the bytes, an inventory or one clean error.

Inputs: arbitrary bytes and text, generated documents of the right syntax but any shape (wrong
types where the loader expects a table, numbers where it expects strings, ...), and mutations of
the real files in tests/fixtures, examples/monorepo/services and (when present beside the
checkout) ../shared/corpus: truncation, byte flips, duplicated and deleted lines (duplicate keys
and tables), deep nesting, huge numbers, other encodings and newlines, stray tokens, and long
repetitions of the characters the loaders' regular expressions work on.

The outcome of each is a `Loaded` or a `SourceError` whose str is one `path:line: message` line;
any other exception (RecursionError, MemoryError, ValueError, ...) fails, and so does taking
longer than TIME_LIMIT (see `time_limit`).

The second half pins the bugs these tests found, with the input that triggered each, and checks
that every rewritten regular expression matches exactly what the original did.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from envguard.errors import SourceError
from envguard.inventory import load_inventory
from envguard.model import Inventory, Loaded, Package
from envguard.snapshot import content_hash
from envguard.sources import _text, _toml, conda, detect, requirements
from tests.hardening import (
    CORPUS,
    EXAMPLE_SERVICES,
    FIXTURES,
    assert_one_line,
    fuzz_settings,
    time_limit,
)

# Every real example takes milliseconds; the limit is for hangs, with room for a loaded CI machine.
TIME_LIMIT = 5.0
FORMATS = sorted(detect.LOADERS)
# The name each format is read under (content-detected formats get a name that says nothing).
FILE_NAMES = {
    "uv": "uv.lock",
    "poetry": "poetry.lock",
    "pdm": "pdm.lock",
    "pipfile": "Pipfile.lock",
    "pylock": "pylock.toml",
    "requirements": "requirements.txt",
    "freeze": "freeze.txt",
    "pip-report": "pip-report.json",
    "pip-inspect": "pip-inspect.json",
    "pip-list": "pip-list.json",
    "conda": "environment.yml",
    "conda-meta": "conda-meta.json",
    "snapshot": "snapshot.json",
}


# --------------------------------------------------------------------------- the check


def check_load(fmt: str, path: Path, shown: str) -> Loaded | SourceError:
    """Load `path` as `fmt`: a Loaded of Packages with one-line warnings, or a one-line SourceError."""
    loader = detect.loader_for(fmt)
    with time_limit(TIME_LIMIT):
        try:
            loaded = loader(path, shown)
        except SourceError as exc:
            assert_one_line(exc)
            return exc
    assert isinstance(loaded, Loaded)
    for package in loaded.packages:
        assert isinstance(package, Package)
        assert isinstance(package.name, str) and package.name
        assert isinstance(package.line, int)
    for warning in loaded.warnings:
        assert_one_line(warning)
    return loaded


def check_detect(path: Path, shown: str) -> None:
    """Content detection, as discovery runs it on files whose name does not decide."""
    with time_limit(TIME_LIMIT):
        try:
            text = None if path.suffix == ".in" else _text.read_text(path, shown)
            assert detect.detect(path, text, shown) in detect.LOADERS
        except SourceError as exc:
            assert_one_line(exc)


@pytest.fixture(scope="module")
def arena(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("arena")


def write_and_check(arena: Path, fmt: str, data: bytes) -> Loaded | SourceError:
    directory = arena / "svc"
    directory.mkdir(exist_ok=True)
    path = directory / FILE_NAMES[fmt]
    path.write_bytes(data)
    return check_load(fmt, path, f"svc/{path.name}")


# --------------------------------------------------------------------------- arbitrary input


@pytest.mark.parametrize("fmt", FORMATS)
@fuzz_settings(max_examples=25)
@given(data=st.binary(max_size=2000))
def test_arbitrary_bytes(arena: Path, fmt: str, data: bytes) -> None:
    write_and_check(arena, fmt, data)


@pytest.mark.parametrize("fmt", FORMATS)
@fuzz_settings(max_examples=25)
@given(text=st.text(max_size=1000))
def test_arbitrary_text(arena: Path, fmt: str, text: str) -> None:
    write_and_check(arena, fmt, text.encode("utf-8", "surrogatepass"))


# --------------------------------------------------------------------------- generated documents

# Every key some loader looks for, and a few values with meaning to one.
KEYS = (
    "version", "package", "distribution", "packages", "name", "source", "registry", "git", "url",
    "path", "directory", "editable", "virtual", "dependencies", "optional-dependencies",
    "dev-dependencies", "resolution-markers", "environment-markers", "manifest", "members", "marker",
    "markers", "extra", "extras", "groups", "category", "metadata", "lock-version", "lock_version",
    "develop", "type", "sections", "default", "develop", "_meta", "hg", "svn", "bzr", "ref",
    "subdirectory", "file", "wheels", "sdist", "vcs", "archive", "default-groups", "installed",
    "direct_url", "dir_info", "vcs_info", "editable_project_location", "build", "channel", "schema",
    "interpreter", "implementation", "platform", "sha256", "requires", "pytest11", "value", "pip",
    "main", "dev", "x", "",
)
WORDS = (
    "pytest", "Pytest_Cov", "a", ".", "..", "/", "1", "1.0", "2.1", "9" * 30, "", " ", "*", "==1.0",
    ">=1,<2", "git", "path", "url", "registry", "editable", "directory", "file", "legacy",
    "python_version < '3.9'", "'dev' in dependency_groups", "extra == 'x'", "default", "develop",
    "main", "dev", "envguard.snapshot/1", "https://example.org/a-1.0.tar.gz", "git+https://g/r#egg=a",
    "-e .", "-r requirements.txt", "pip", "numpy=1.26=py_0", "x[version='>=1']", "\n", "\\", "\x00",
)
scalars = st.one_of(
    st.sampled_from(WORDS),
    st.text(max_size=10),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.booleans(),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=5),
    max_leaves=15,
)
tables = st.dictionaries(st.sampled_from(KEYS), values, max_size=7)
names = st.sampled_from(("pytest", "Pytest_Cov", "acme-lib", "a", "", " ", "é", "x" * 200)) | st.text(max_size=6)
versions = st.sampled_from(("1.0", "8.3.4", "2!1.0.post1+local", "1" * 5000, "", "not a version")) | values


def either(plausible: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the value a loader expects, sometimes anything."""
    return st.one_of(plausible, plausible, values)


refs = st.fixed_dictionaries(
    {"name": either(names)},
    optional={"version": either(versions), "marker": either(st.sampled_from(WORDS)), "extra": either(st.lists(names))},
)
lock_package = st.fixed_dictionaries(
    {"name": either(names)},
    optional={
        "version": either(versions),
        "source": either(
            st.dictionaries(
                st.sampled_from(("registry", "git", "url", "path", "directory", "editable", "virtual", "type")),
                either(st.sampled_from(WORDS)),
                max_size=2,
            )
        ),
        "dependencies": either(st.lists(refs, max_size=3)),
        "optional-dependencies": either(st.dictionaries(names, st.lists(refs, max_size=2), max_size=2)),
        "dev-dependencies": either(st.dictionaries(names, st.lists(refs, max_size=2), max_size=2)),
        "resolution-markers": either(st.lists(st.sampled_from(WORDS), max_size=2)),
        "groups": either(st.lists(names, max_size=3)),
        "category": either(names),
        "markers": either(st.sampled_from(WORDS) | st.dictionaries(names, st.sampled_from(WORDS), max_size=2)),
        "marker": either(st.sampled_from(WORDS)),
        "develop": values,
        "editable": values,
        "directory": either(st.fixed_dictionaries({"path": either(st.sampled_from((".", "libs/a")))})),
        "vcs": values,
        "archive": values,
        "wheels": either(st.lists(tables, max_size=2)),
        "sdist": values,
        "git": values,
        "url": values,
        "path": values,
        "sections": either(st.lists(names, max_size=2)),
    },
)
packages = either(st.lists(lock_package, max_size=5))
pipfile_entry = st.fixed_dictionaries(
    {},
    optional={
        "version": either(versions),
        "markers": either(st.sampled_from(WORDS)),
        "editable": values,
        "git": values,
        "ref": values,
        "path": values,
        "file": values,
        "subdirectory": values,
    },
)
inspect_item = st.fixed_dictionaries(
    {"metadata": either(st.fixed_dictionaries({"name": either(names), "version": either(versions)}))},
    optional={
        "direct_url": either(st.dictionaries(st.sampled_from(("url", "dir_info", "vcs_info")), values, max_size=2))
    },
)
report_item = st.fixed_dictionaries(
    {
        "metadata": either(st.fixed_dictionaries({"name": either(names), "version": either(versions)})),
        "is_direct": either(st.booleans()),
    },
    optional={
        "download_info": either(
            st.dictionaries(st.sampled_from(("url", "dir_info", "vcs_info", "archive_info")), values, max_size=2)
        ),
        "requested_extras": values,
    },
)
snapshot_package = st.fixed_dictionaries(
    {
        "name": either(names),
        "version": either(versions),
        "kind": either(st.sampled_from(("registry", "url", "vcs", "path", "editable"))),
    },
    optional={
        "requires": either(st.lists(st.sampled_from(WORDS), max_size=2)),
        "pytest11": either(st.lists(tables, max_size=2)),
    },
)
conda_dependency = st.one_of(
    st.sampled_from(WORDS),
    st.text(max_size=12),
    st.fixed_dictionaries({"pip": either(st.lists(st.sampled_from(WORDS) | st.text(max_size=12), max_size=4))}),
    values,
)

DOCUMENTS: dict[str, st.SearchStrategy[Any]] = {
    "uv": st.fixed_dictionaries(
        {"version": either(st.just(1))},
        optional={
            "package": packages,
            "distribution": packages,
            "manifest": either(st.fixed_dictionaries({"members": either(st.lists(names))})),
        },
    ),
    "poetry": st.fixed_dictionaries(
        {"package": packages},
        optional={
            "metadata": either(
                st.fixed_dictionaries({"lock-version": either(st.sampled_from(("2.1", "1.1", "3.0", "x", "9" * 5000)))})
            ),
            "extras": either(st.dictionaries(names, st.lists(names, max_size=3), max_size=3)),
        },
    ),
    "pdm": st.fixed_dictionaries(
        {"package": packages},
        optional={
            "metadata": either(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "lock_version": either(st.sampled_from(("4.5", "3.0", "5.0", "x", "0" * 5000 + "4"))),
                        "groups": either(st.lists(names, max_size=2)),
                    },
                )
            ),
        },
    ),
    "pylock": st.fixed_dictionaries(
        {"lock-version": either(st.sampled_from(("1.0", "1.5", "2.0")))},
        optional={"packages": packages, "default-groups": either(st.lists(names, max_size=2))},
    ),
    "pipfile": st.fixed_dictionaries(
        {"_meta": values},
        optional={
            "default": either(st.dictionaries(names, either(pipfile_entry), max_size=4)),
            "develop": either(st.dictionaries(names, either(pipfile_entry), max_size=4)),
            "docs": values,
        },
    ),
    "pip-inspect": st.fixed_dictionaries(
        {"version": either(st.sampled_from(("1", "0", "2"))), "installed": either(st.lists(inspect_item, max_size=4))}
    ),
    "pip-report": st.fixed_dictionaries(
        {"version": either(st.sampled_from(("1", "0", "2"))), "install": either(st.lists(report_item, max_size=4))}
    ),
    "pip-list": either(
        st.lists(
            st.fixed_dictionaries(
                {"name": either(names), "version": either(versions)},
                optional={"editable_project_location": values},
            ),
            max_size=4,
        )
    ),
    "conda-meta": st.fixed_dictionaries(
        {"name": either(names), "version": either(versions)}, optional={"build": values, "channel": values}
    ),
    "snapshot": st.fixed_dictionaries(
        {
            "schema": either(st.just("envguard.snapshot/1")),
            "interpreter": either(
                st.fixed_dictionaries(
                    {
                        "implementation": either(st.just("cpython")),
                        "version": either(st.just("3.12.4")),
                        "platform": either(st.just("linux")),
                        "markers": either(st.dictionaries(names, either(names), max_size=3)),
                    }
                )
            ),
            "packages": either(st.lists(snapshot_package, max_size=3)),
            "plugins": values,
        }
    ),
    "conda": st.fixed_dictionaries(
        {"dependencies": either(st.lists(conda_dependency, max_size=5))},
        optional={"name": values, "channels": values},
    ),
}
REQUIREMENT_PARTS = (
    "pytest", "Pytest_Cov", "a", "[extra]", "[", "]", "==1.0", ">=1,<2", "===1.0-x", "=1.0",
    " @ https://x/a-1.0.tar.gz", " @ git+https://g/r@v1#egg=a", " ; python_version < '3.9'", ";",
    " --hash=sha256:abc", " --hash md5:0", " \\", " # comment", "#", "-e .", "-e git+https://g/r#egg=a",
    "-e file:///tmp/x", "-r other.txt", "-r requirements.txt", "-c c.txt", "--index-url https://x",
    "--no-binary :all:", "-C k=v", "--pre", "--", "./local", "a-1.0-py3-none-any.whl", "a-1-x.whl",
    "https://[::1", "https://x]/a.whl", "file:///tmp/x", "${VAR}", "${", "\t", " ", "'", '"', "\\",
    "# Editable install with no version control (a==1.0)", "-e /tmp/x",
)
requirement_lines = st.lists(
    st.lists(st.sampled_from(REQUIREMENT_PARTS) | st.text(max_size=4), min_size=1, max_size=6).map("".join),
    max_size=8,
).map("\n".join)


def toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else toml_string(key)


def toml_string(text: str) -> str:
    return json.dumps(text).replace("\x7f", "\\u007f")


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml_document(document: dict[str, Any]) -> str:
    """Top-level arrays of tables as `[[key]]` blocks, the way lockers write them; the rest inline."""
    lines: list[str] = []
    blocks: list[tuple[str, list[dict[str, Any]]]] = []
    for key, value in document.items():
        if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
            blocks.append((key, value))
        else:
            lines.append(f"{toml_key(key)} = {toml_value(value)}")
    for key, items in blocks:
        for item in items:
            lines.append(f"[[{toml_key(key)}]]")
            lines.extend(f"{toml_key(k)} = {toml_value(v)}" for k, v in item.items())
    return "\n".join(lines) + "\n"


def serialize(fmt: str, document: Any) -> str:
    if fmt in ("uv", "poetry", "pdm", "pylock"):
        return toml_document(document)
    if fmt == "conda":
        return str(yaml.safe_dump(document, allow_unicode=True))
    if fmt == "snapshot" and isinstance(document, dict):
        document["sha256"] = content_hash(document)  # a valid hash: the content is read, not refused
    return json.dumps(document, indent=1)


@pytest.mark.parametrize("fmt", sorted(DOCUMENTS))
@fuzz_settings(max_examples=30)
@given(data=st.data())
def test_generated_documents(arena: Path, fmt: str, data: st.DataObject) -> None:
    text = serialize(fmt, data.draw(DOCUMENTS[fmt], label="document"))
    write_and_check(arena, fmt, text.encode("utf-8"))


@pytest.mark.parametrize("fmt", ["requirements", "freeze"])
@fuzz_settings(max_examples=60)
@given(text=requirement_lines)
def test_generated_requirement_lines(arena: Path, fmt: str, text: str) -> None:
    write_and_check(arena, fmt, text.encode("utf-8"))
    path = arena / "svc" / "requirements-x.txt"
    path.write_text(text, encoding="utf-8")
    check_detect(path, "svc/requirements-x.txt")


# --------------------------------------------------------------------------- mutated real files

_NOT_RECORDS = {"expected.json", "GENERATED.md", "README.md", "pyproject.toml"}


def _seed_format(path: Path) -> str | None:
    if path.name in _NOT_RECORDS or path.suffix in (".in", ".md", ".py", ".ini", ".cfg"):
        return None
    by_name = detect.format_for_name(path.name)
    if by_name is not None:
        return by_name
    if path.suffix not in (".txt", ".json"):
        return None
    try:
        return detect.detect(path, _text.read_text(path, path.name), path.name)
    except SourceError:
        return None


def seeds(*roots: Path) -> list[tuple[Path, str]]:
    found = []
    for root in roots:
        if root.is_dir():
            for path in sorted(root.rglob("*")):
                fmt = _seed_format(path) if path.is_file() and "LICENSES" not in path.parts else None
                if fmt is not None:
                    found.append((path, fmt))
    return found


REPO_SEEDS = seeds(FIXTURES, EXAMPLE_SERVICES)
CORPUS_SEEDS = seeds(CORPUS)

# Fragments the loaders' regular expressions and tokenizers work on, for long repetitions.
HAZARDS = (
    " ", "\t", "\n", "\n\n", " \n", "[", "]", "[a", "a[", "[x]", "{", "}", "(", ")", "#", " #", "=", "==",
    "@", " @", "'", '"', '"\'', "\\", "\\\\", ";", "; ", ",", ", ", " ,", "|", " |", "a", "a ", "a-", "a.",
    "-", "--", "-e", ":", "/", "*", "!", "~", ">=1", "name = ", 'name = "a", ', "${A}", "${", "egg=", "#egg=",
    "&", "%", " in ", "'a' in extras or ", "extra == 'x' or ", "0", "9", "_", "é", "\u2028", "\x85",
)
TOKENS = (
    b"\x00", b"\xff", b"\xfe\xff", b"\xef\xbb\xbf", b"\xed\xa0\x80", b"\xc3", "\u2028".encode(), b"\xc2\x85",
    b'"', b"'", b'"""', b"'''", b"\\", b"#", b"=", b":", b"&a ", b"*a ", b"<<: *a\n", b"!!python/object:os.system ",
    b"\t", b"${A}", b"-e ", b"-r ", b"-r requirements.txt\n", b"-c ../../x\n", b"-r /etc/hostname\n",
    b"--hash=md5:0 ", b" @ file:///", b" ; python_version >= '", b"[", b"]", b"{", b"}", b",",
    b"\n[[package]]\n", b'\nname = "x"\n', b'\n"_meta": {},', b"\n---\n", b"\n...\n", b"%YAML 1.1\n", b"? ",
    b"1e400", b"NaN", b"-Infinity", b"\\u0000", b"\\ud800", b"\\U0010FFFF", b"1979-05-27T07:32:00Z",
    b"inf", b"0x_1", b"+nan",
)
ENCODINGS = ("utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-be", "utf-8-sig", "latin-1", "cp1252", "shift_jis")
NEWLINES = (b"\r\n", b"\r", b"\n\r", b"\n\n")

fractions = st.floats(min_value=0, max_value=1)
mutations = st.one_of(
    st.tuples(st.just("truncate"), fractions),
    st.tuples(st.just("flip"), st.lists(st.tuples(fractions, st.integers(0, 255)), min_size=1, max_size=8)),
    st.tuples(st.just("duplicate"), fractions, st.integers(1, 30)),
    st.tuples(st.just("delete"), fractions, st.integers(1, 10)),
    st.tuples(
        st.just("nest"),
        fractions,
        st.sampled_from((b"[", b"{", b"- ", b"[[", b'{"a":', b"a = [", b"  ", b"a:\n ")),
        st.sampled_from((60, 2000, 30000)),
    ),
    st.tuples(st.just("number"), fractions, st.sampled_from((400, 4301, 30000))),
    st.tuples(st.just("encode"), st.sampled_from(ENCODINGS)),
    st.tuples(st.just("newlines"), st.sampled_from(NEWLINES)),
    st.tuples(st.just("insert"), fractions, st.sampled_from(TOKENS)),
    st.tuples(st.just("repeat"), fractions, st.sampled_from(HAZARDS), st.sampled_from((2000, 30000))),
)


_VALUE_NUMBER = re.compile(rb"(?:(?<=[=:\[,] )|(?<=[=:\[,]))[0-9]+")


def _at(data: bytes, fraction: float) -> int:
    return min(len(data), int(fraction * len(data)))


def _line_span(data: bytes, fraction: float, count: int) -> tuple[int, int]:
    start = data.rfind(b"\n", 0, _at(data, fraction)) + 1
    end = start
    for _ in range(count):
        found = data.find(b"\n", end)
        end = len(data) if found == -1 else found + 1
    return start, end


def mutate(data: bytes, mutation: tuple[Any, ...]) -> bytes:
    kind = mutation[0]
    if kind == "truncate":
        return data[: _at(data, mutation[1])]
    if kind == "flip":
        flipped = bytearray(data)
        for fraction, byte in mutation[1]:
            if flipped:
                flipped[min(len(flipped) - 1, int(fraction * len(flipped)))] = byte
        return bytes(flipped)
    if kind in ("duplicate", "delete"):
        start, end = _line_span(data, mutation[1], mutation[2])
        return data[:end] + data[start:end] + data[end:] if kind == "duplicate" else data[:start] + data[end:]
    if kind == "nest":
        at, opener, depth = _at(data, mutation[1]), mutation[2], mutation[3]
        return data[:at] + opener * depth + data[at:]
    if kind == "number":
        # A number where a value starts (`= 1`, `: 1`, `[1`, `, 1`): parsed as an integer, not as
        # part of a string; else any run of digits (versions), else one inserted.
        at, digits = _at(data, mutation[1]), mutation[2]
        run = _VALUE_NUMBER.search(data, at) or _VALUE_NUMBER.search(data) or re.search(rb"[0-9]+", data)
        if run is None:
            return data[:at] + b"9" * digits + data[at:]
        return data[: run.start()] + b"9" * digits + data[run.end() :]
    if kind == "encode":
        return data.decode("utf-8", "replace").encode(mutation[1], "replace")
    if kind == "newlines":
        return data.replace(b"\n", mutation[1])
    if kind == "insert":
        at = _at(data, mutation[1])
        return data[:at] + mutation[2] + data[at:]
    at, fragment, count = _at(data, mutation[1]), mutation[2], mutation[3]
    return data[:at] + fragment.encode("utf-8") * count + data[at:]


class Copies:
    """Each seed's directory copied once (includes, local projects and siblings come along); a
    mutated file is written over its copy and put back after the check."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.made: dict[Path, Path] = {}

    def check(self, seed: Path, fmt: str, data: bytes) -> Loaded | SourceError:
        directory = self.made.get(seed.parent)
        if directory is None:
            directory = self.root / f"s{len(self.made)}" / "svc"
            shutil.copytree(seed.parent, directory)
            self.made[seed.parent] = directory
        path = directory / seed.name
        try:
            path.write_bytes(data)
            return check_load(fmt, path, f"svc/{seed.name}")
        finally:
            shutil.copyfile(seed, path)


@pytest.fixture(scope="module")
def copies(tmp_path_factory: pytest.TempPathFactory) -> Copies:
    return Copies(tmp_path_factory.mktemp("copies"))


def test_seeds_cover_every_format() -> None:
    found = {fmt for _, fmt in REPO_SEEDS} | set(INLINE_SEEDS)
    assert found == set(detect.LOADERS)


# Formats without a file in the repository: small real-shaped records, mutated the same way.
INLINE_SEEDS: dict[str, str] = {
    "conda": (
        "name: myenv\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.11\n  - numpy==1.26.4\n"
        "  - scipy>=1.11,<1.13\n  - conda-forge::pandas=2.2.2=py311h14de704_1\n  - libgcc-ng[version='>=12']\n"
        "  - pip\n  - pip:\n      - requests==2.31.0 # pinned\n      - -r requirements-extra.txt\n"
        "      - --index-url https://pypi.example.com/simple\n      - -e git+https://g/r#egg=tool\n"
    ),
    "conda-meta": json.dumps(
        {"name": "numpy", "version": "1.26.4", "build": "py311h64a7726_0", "channel": "conda-forge"},
        indent=2,
    ),
}


def _snapshot_seed() -> str:
    document: dict[str, Any] = {
        "schema": "envguard.snapshot/1",
        "interpreter": {
            "implementation": "cpython",
            "version": "3.12.4",
            "platform": "linux",
            "markers": {"os_name": "posix"},
        },
        "packages": [
            {"name": "pytest", "version": "8.3.4", "kind": "registry", "requires": ["pluggy>=1.5"],
             "pytest11": []},
            {"name": "pytest-cov", "version": "5.0.0", "kind": "registry", "requires": [],
             "pytest11": [{"name": "pytest_cov", "value": "pytest_cov.plugin"}]},
        ],
        "plugins": [{"entry_point": "pytest_cov", "distribution": "pytest-cov", "version": "5.0.0"}],
    }
    document["sha256"] = content_hash(document)
    return json.dumps(document, indent=2) + "\n"


INLINE_SEEDS["snapshot"] = _snapshot_seed()


@fuzz_settings(max_examples=160)
@given(seed=st.sampled_from(REPO_SEEDS), changes=st.lists(mutations, min_size=1, max_size=3))
def test_mutated_repository_files(copies: Copies, seed: tuple[Path, str], changes: list[tuple[Any, ...]]) -> None:
    path, fmt = seed
    data = path.read_bytes()
    for change in changes:
        data = mutate(data, change)
    copies.check(path, fmt, data)


@pytest.mark.parametrize("fmt", sorted(INLINE_SEEDS))
@fuzz_settings(max_examples=25)
@given(changes=st.lists(mutations, min_size=1, max_size=3))
def test_mutated_inline_records(arena: Path, fmt: str, changes: list[tuple[Any, ...]]) -> None:
    data = INLINE_SEEDS[fmt].encode("utf-8")
    for change in changes:
        data = mutate(data, change)
    write_and_check(arena, fmt, data)


@pytest.mark.skipif(not CORPUS_SEEDS, reason=f"{CORPUS} not present")
@fuzz_settings(max_examples=120)
@given(data=st.data())
def test_mutated_corpus_files(copies: Copies, data: st.DataObject) -> None:
    path, fmt = data.draw(st.sampled_from(CORPUS_SEEDS), label="seed")
    content = path.read_bytes()
    for change in data.draw(st.lists(mutations, min_size=1, max_size=3), label="changes"):
        content = mutate(content, change)
    copies.check(path, fmt, content)


def test_every_real_file_loads_unchanged(copies: Copies) -> None:
    """The seeds themselves: the baseline the mutations start from."""
    for path, fmt in REPO_SEEDS + CORPUS_SEEDS:
        copies.check(path, fmt, path.read_bytes())


@fuzz_settings(max_examples=30)
@given(seed=st.sampled_from(REPO_SEEDS), changes=st.lists(mutations, min_size=1, max_size=2))
def test_mutated_service_still_gives_an_inventory(
    tmp_path_factory: pytest.TempPathFactory, seed: tuple[Path, str], changes: list[tuple[Any, ...]]
) -> None:
    """Discovery, detection, loading and the inventory's version checks end to end."""
    path, _ = seed
    data = path.read_bytes()
    for change in changes:
        data = mutate(data, change)
    workspace = tmp_path_factory.mktemp("ws")
    (workspace / "svc").mkdir()
    (workspace / "svc" / path.name).write_bytes(data)
    (workspace / "ok").mkdir()
    (workspace / "ok" / "requirements.txt").write_text("pytest==8.3.4\n", encoding="utf-8")
    with time_limit(TIME_LIMIT):
        inventory = load_inventory([workspace])
    assert isinstance(inventory, Inventory)
    assert "ok" in [service.name for service in inventory.services]
    for diagnostic in inventory.errors + inventory.warnings:
        assert_one_line(diagnostic)
    shutil.rmtree(workspace)


# --------------------------------------------------------------------------- the bugs found

LONG = 100_000  # quadratic code takes minutes on this, linear code milliseconds


TOML_DIGITS = "invalid TOML: an integer has too many digits"
JSON_DIGITS = "invalid JSON: an integer has too many digits"


@pytest.mark.parametrize(
    ("fmt", "text", "message"),
    [
        # tomllib's int() on a 5000-digit integer: ValueError (Python's int max str digits).
        ("uv", "version = 1\n[[package]]\nname = 'a'\nsize = " + "9" * 5000 + "\n", f"svc/uv.lock:4: {TOML_DIGITS}"),
        ("pylock", "lock-version = '1.0'\nx = " + "9" * 5000 + "\npackages = []\n", f"svc/pylock.toml:2: {TOML_DIGITS}"),
        # The fast TOML path's int() too, and its recursion on nested inline arrays.
        ("poetry", "x = " + "1" * 5000 + "\n", f"svc/poetry.lock:1: {TOML_DIGITS}"),
        ("poetry", "x = " + "[" * 5000 + "]" * 5000 + "\n", "svc/poetry.lock:1: invalid TOML: nested too deeply"),
        # json.loads' int() on a long integer: ValueError in every JSON loader and in detection.
        ("pipfile", '{"_meta": {"x": ' + "9" * 5000 + "}}", f"svc/Pipfile.lock:1: {JSON_DIGITS}"),
        ("pip-list", "[\n" + "1" * 5000 + "]", f"svc/pip-list.json:2: {JSON_DIGITS}"),
        ("conda-meta", '{"name": "a", "size": ' + "7" * 5000 + "}", f"svc/conda-meta.json:1: {JSON_DIGITS}"),
        ("snapshot", '{"schema": ' + "1" * 5000 + "}", f"svc/snapshot.json:1: {JSON_DIGITS}"),
        # requirements: an unbalanced bracket in a URL's host made urlsplit raise ValueError.
        (
            "requirements",
            "https://x]/a-1.0.tar.gz\n",
            "svc/requirements.txt:1: invalid URL 'https://x]/a-1.0.tar.gz': Invalid IPv6 URL",
        ),
        (
            "requirements",
            "-e git+https://[::1/r#egg=a\n",
            "svc/requirements.txt:1: invalid URL 'git+https://[::1/r#egg=a': Invalid IPv6 URL",
        ),
        # A wheel or sdist file name with a 5000-digit version: ValueError from packaging.
        ("requirements", "./a-" + "1" * 5000 + "-py3-none-any.whl\n", None),
        ("requirements", "https://x/a-" + "1" * 5000 + ".tar.gz\n", None),
        # A name with a line break (JSON escape) broke the one-line `path:line: message`.
        (
            "pipfile",
            '{"default": {"a\\nb": 1}}',
            "svc/Pipfile.lock:1: package 'a\\nb' in section 'default' must be an object",
        ),
        (
            "conda",
            'dependencies:\n  - "numpy\\nx\\ny"\n',
            "svc/environment.yml:2: invalid conda package spec 'numpy\\nx\\ny'",
        ),
    ],
)
def test_found_bugs_end_in_a_clean_error(arena: Path, fmt: str, text: str, message: str | None) -> None:
    outcome = write_and_check(arena, fmt, text.encode("utf-8"))
    assert isinstance(outcome, SourceError)
    if message is not None:
        assert str(outcome) == message


@pytest.mark.parametrize(
    ("fmt", "version"),
    [("poetry", "9" * 5000), ("poetry", "2" + "0" * 5000), ("pdm", "8" * 5000), ("pdm", "0" * 5000 + "4.5")],
)
def test_lock_version_with_a_huge_major_is_a_warning(arena: Path, fmt: str, version: str) -> None:
    key = "lock-version" if fmt == "poetry" else "lock_version"
    outcome = write_and_check(arena, fmt, f'[metadata]\n{key} = "{version}"\n'.encode())
    assert isinstance(outcome, Loaded)
    assert len(outcome.warnings) == (0 if version.startswith("0") else 1)


def test_a_5000_digit_version_is_not_pep440_but_no_crash(tmp_path: Path) -> None:
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "requirements.txt").write_text(f"pytest=={'1' * 5000}\n", encoding="utf-8")
    inventory = load_inventory([tmp_path])
    (warning,) = inventory.warnings
    assert warning.message.endswith("is not PEP 440; compared as written")


def _quadratic_inputs() -> list[Any]:
    """Inputs on which a regular expression or tokenizer used to take time quadratic in the line."""
    return [
        # detect: `^\s+#` (re.M) retried from every line start of a run of blank lines.
        pytest.param("requirements", "\n" * LONG + "pytest==1\n", id="detect-blank-lines"),
        pytest.param("requirements", " \n" * LONG + "x\n", id="detect-space-lines"),
        # requirements: the comment regex `(^|\s+)#` from every position of a run of spaces.
        pytest.param("requirements", "a" + " " * LONG + "x #c\n", id="comment-after-spaces"),
        # requirements: a run of spaces inside a requirement (a regex for the `name == 1.0 @ url`
        # form, which pip rejects and envguard no longer reads, was quadratic on it).
        pytest.param("requirements", "a" + " " * LONG + "x\n", id="requirement-spaces"),
        # requirements: the extras suffix `^(.+)(\[[^\]]+\])$` on a line of brackets.
        pytest.param("requirements", "a" + "[" * LONG + "\n", id="extras-brackets"),
        pytest.param("requirements", "a" + "[" * LONG + "]]\n", id="extras-brackets-closed"),
        # requirements: shlex builds a token one character at a time.
        pytest.param("requirements", "a --hash '" + "x" * 2_000_000 + "'\n", id="shlex-long-token"),
        # conda: the pip comment regex and the spec-space regex on runs of spaces.
        pytest.param("conda", "dependencies:\n  - pip:\n    - 'numpy" + " " * LONG + "x #c'\n", id="conda-pip-comment"),
        pytest.param("conda", "dependencies:\n  - 'numpy 1" + " " * LONG + "x'\n", id="conda-spec-space"),
        # conda: `#(?:.*&)?egg=` retried `.*` from every `#` of a pip entry.
        pytest.param("conda", "dependencies:\n  - pip:\n    - './x" + "#egg=" * LONG + "'\n", id="conda-egg-fragment"),
        # TOML: entry lines searched again for every entry whose name is not written as is.
        pytest.param(
            "poetry",
            "package = [\n" + "".join(f'{{name = "\\u0061{i}", version = "1"}},\n' for i in range(20_000)) + "]\n",
            id="entry-lines-escaped-names",
        ),
    ]


@pytest.mark.parametrize(("fmt", "text"), _quadratic_inputs())
def test_linear_time_on_long_lines(arena: Path, fmt: str, text: str) -> None:
    start = time.perf_counter()
    write_and_check(arena, fmt, text.encode("utf-8"))
    if fmt in ("requirements", "freeze"):
        check_detect(arena / "svc" / "requirements.txt", "svc/requirements.txt")
    # Linear: well under a second here (the quadratic versions took from 10 s to many minutes).
    assert time.perf_counter() - start < 3.0


def test_a_symlink_loop_in_a_service_loses_only_that_entry(tmp_path: Path) -> None:
    service = tmp_path / "svc"
    service.mkdir()
    (service / "requirements.txt").write_text("pytest==8.3.4\n", encoding="utf-8")
    (service / "loop").symlink_to("loop")
    (service / "requirements-dev.txt").symlink_to("requirements-dev.txt")
    inventory = load_inventory([tmp_path])
    assert [p.name for s in inventory.services for p in s.packages] == ["pytest"]
    assert [str(e) for e in inventory.errors] == [
        "svc/requirements-dev.txt:1: cannot read file: Too many levels of symbolic links"
    ]


# --------------------------------------------------------------------------- rewrites match the originals

OLD_COMMENT = re.compile(r"(^|\s+)#.*$")
OLD_EXTRAS_SUFFIX = re.compile(r"^(.+)(\[[^\]]+\])$")
OLD_PIP_COMPILE_MARKS = re.compile(
    r"autogenerated by pip-compile|uv pip compile|uv export|^\s+#\s+via\b|--hash[= ]|^\s*-[rcif]\b|^\s*--", re.M
)
OLD_SPEC_SPACE = re.compile(r"\s*([,|])\s*|([<>=!~]=?)\s+")
small_text = st.text(alphabet=st.sampled_from(" \t\n\x0b\x85#[]a-=@'\"\\;,|<>!~.:/ervia"), max_size=30)


@fuzz_settings(max_examples=400)
@given(text=small_text)
def test_rewritten_regexes_match_the_originals(text: str) -> None:
    assert requirements._COMMENT.sub("", text) == OLD_COMMENT.sub("", text)
    assert conda._PIP_COMMENT.sub("", text) == OLD_COMMENT.sub("", text)
    assert bool(requirements._COMMENT.match(text)) == bool(OLD_COMMENT.match(text))
    assert requirements._without_extras(text) == OLD_EXTRAS_SUFFIX.sub(r"\1", text)
    assert bool(detect._PIP_COMPILE_MARKS.search(text)) == bool(OLD_PIP_COMPILE_MARKS.search(text))

    def joined(found: re.Match[str]) -> str:
        return found.group(1) or found.group(2)

    assert conda._SPEC_SPACE.sub(joined, text) == OLD_SPEC_SPACE.sub(joined, text)


OLD_CONDA_EGG = re.compile(r"#(?:.*&)?egg=(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)")


@fuzz_settings(max_examples=400)
@given(parts=st.lists(st.sampled_from(("#", "&", "egg=", "a", "b", "\n", "=", ".", "-", "x#egg=", "&egg=")), max_size=14))
def test_conda_egg_name_is_the_original_search(parts: list[str]) -> None:
    text = "".join(parts)
    old = OLD_CONDA_EGG.search(text)
    assert conda._egg_name(text) == (old.group("name") if old else None)


def _shlex_or_error(split: Callable[[str], list[str]], text: str) -> list[str] | str:
    try:
        return split(text)
    except ValueError as exc:
        return str(exc)


@fuzz_settings(max_examples=400)
@given(text=st.text(alphabet=st.sampled_from(" \t\r\n'\"\\ab-=#é"), max_size=25))
def test_shell_split_is_shlex_split(text: str) -> None:
    assert _shlex_or_error(requirements._shell_split, text) == _shlex_or_error(shlex.split, text)


def _old_entry_lines(text: str, count: int, names: list[str]) -> list[int]:
    lines: list[int] = []
    candidates = list(_toml._lines_outside_multiline_strings(text))
    position = 0
    for name in names:
        pattern = re.compile(r"""(^|[{,\s])name\s*=\s*["']""" + re.escape(name) + r"""["']""")
        found = 1
        for index in range(position, len(candidates)):
            number, line = candidates[index]
            if pattern.search(line):
                found, position = number, index + 1
                break
        lines.append(found)
    return lines


entry_names = st.sampled_from(("a", "b", "", "name", "a b", "x=", "{")) | st.text(alphabet="ab =,{}", max_size=4)
entry_line = st.lists(
    st.sampled_from(("name", " ", "=", '"', "'", "{", ",", "a", "b", "\t", "x", "name = ", 'name = "a"', "name='b'")),
    max_size=8,
).map("".join)


@fuzz_settings(max_examples=300)
@given(lines=st.lists(entry_line, max_size=8), wanted=st.lists(entry_names, max_size=6))
def test_entry_lines_finds_what_the_per_name_search_found(lines: list[str], wanted: list[str]) -> None:
    text = "\n".join(lines)
    assert _toml.entry_lines(text, "package", -1, wanted) == _old_entry_lines(text, -1, wanted)


def test_a_marker_naming_thousands_of_extras_is_decided_quickly() -> None:
    """--python/--platform views evaluated a marker once per extra it names: quadratic in its length."""
    from envguard.markers import applies, make_target

    marker = "(" + " or ".join(f'extra == "e{i}"' for i in range(5000)) + ') and python_version < "2"'
    start = time.perf_counter()
    with time_limit(TIME_LIMIT):
        assert applies(marker, make_target("3.12", None, None))  # too many to try: it applies
    assert time.perf_counter() - start < 2.0
    assert not applies('extra == "a" and python_version < "2"', make_target("3.12", None, None))
