from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from envguard.errors import SourceError
from envguard.model import MAIN, Kind, Loaded, Package, normalize
from envguard.sources import pylock
from tests.corpus import Case, cases

REJECTED_DESPITE_ORIGIN_SILENCE = {
    # trivy's analyzer swallows the parse error; a CI linter must not pass a lock it cannot read.
    "trivy__analyzer-pylock__broken",
}

_HEADER = 'lock-version = "1.0"\ncreated-by = "test"\n'


def _load(tmp_path: Path, text: str, name: str = "pylock.toml") -> Loaded:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return pylock.load(path, f"svc/{name}")


def _error(tmp_path: Path, text: str) -> str:
    with pytest.raises(SourceError) as exc:
        _load(tmp_path, text)
    return str(exc.value)


def _entry_start(text: str, name_line: int) -> int:
    """The `[[packages]]` header above a 1-based `name = ...` line, or that line for inline tables."""
    lines = text.split("\n")
    for number in range(name_line, 0, -1):
        if lines[number - 1].strip().startswith("[["):
            return number
    return name_line


@pytest.mark.parametrize("case", cases("pylock"))
def test_corpus(case: Case) -> None:
    expected = case.expected
    if expected["expect_error"] or case.id in REJECTED_DESPITE_ORIGIN_SILENCE:
        with pytest.raises(SourceError):
            pylock.load(case.file, "pylock.toml")
        return
    loaded = pylock.load(case.file, "pylock.toml")
    text = case.file.read_text(encoding="utf-8")
    found: dict[str, list[Package]] = {}
    for package in loaded.packages:
        found.setdefault(package.name, []).append(package)
    for item in expected["packages"]:
        matches = found[normalize(item["name"])]
        if "version" in item:
            assert item["version"] in [p.version for p in matches], item
        package = next(p for p in matches if "version" not in item or p.version == item["version"])
        if "line" in item:
            # The origin points at the `name` key; envguard at the header where the entry starts.
            assert package.line == _entry_start(text, item["line"]), item
        if item.get("relationship") == "root":
            assert package.kind is Kind.LOCAL_PROJECT
        if "commit" in item:
            assert package.kind is Kind.VCS
    if expected.get("complete", True):
        # osv-scalibr drops the project's own `directory = { path = "." }` entry and trivy keeps
        # it as the root; envguard keeps it as a local project, which is not third-party.
        # trivy keys packages by name@version, so a package locked once per environment is
        # listed once there; envguard keeps every entry, hence a comparison of sets.
        third_party = {(p.name, p.version) for p in loaded.packages if p.is_third_party}
        local = {p.name for p in loaded.packages if not p.is_third_party}
        wanted = {(normalize(i["name"]), i.get("version")) for i in expected["packages"]}
        assert third_party == {w for w in wanted if w[0] not in local}


# --- lock-version ---------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.0", "1.1", "1.12"])
def test_lock_version_1_x_is_read(tmp_path: Path, version: str) -> None:
    loaded = _load(tmp_path, f'lock-version = "{version}"\n[[packages]]\nname = "a"\nversion = "1"\n')
    assert [(p.name, p.version) for p in loaded.packages] == [("a", "1")]
    assert loaded.warnings == ()


@pytest.mark.parametrize(("value", "shown"), [('"2.0"', "'2.0'"), ('"666"', "'666'"), ("1.0", "1.0")])
def test_other_lock_version_is_refused(tmp_path: Path, value: str, shown: str) -> None:
    text = f'created-by = "x"\nlock-version = {value}\npackages = []\n'
    assert _error(tmp_path, text) == f"svc/pylock.toml:2: unsupported lock-version {shown} (only 1.x is supported)"


def test_missing_lock_version(tmp_path: Path) -> None:
    text = 'created-by = "x"\npackages = []\n'
    assert _error(tmp_path, text) == "svc/pylock.toml:1: not a pylock.toml file: no top-level `lock-version`"


@pytest.mark.parametrize("text", ["", "\n", "# nothing here\n"])
def test_empty_document_has_no_packages(tmp_path: Path, text: str) -> None:
    assert _load(tmp_path, text).packages == ()


def test_missing_packages_array(tmp_path: Path) -> None:
    expected = "svc/pylock.toml:1: no `packages` array (PEP 751 requires one, even if empty)"
    assert _error(tmp_path, _HEADER) == expected


def test_empty_packages_array(tmp_path: Path) -> None:
    assert _load(tmp_path, _HEADER + "packages = []\n").packages == ()


def test_not_toml(tmp_path: Path) -> None:
    assert _error(tmp_path, _HEADER + "[[packages]\n").startswith("svc/pylock.toml:3: invalid TOML: ")


def test_named_lock_file(tmp_path: Path) -> None:
    loaded = _load(tmp_path, _HEADER + '[[packages]]\nname = "a"\nversion = "1"\n', name="pylock.dev.toml")
    assert [(p.name, p.path, p.line) for p in loaded.packages] == [("a", "svc/pylock.dev.toml", 3)]


# --- packages and sources -------------------------------------------------------------------


def test_sources_map_to_kinds(tmp_path: Path) -> None:
    loaded = _load(
        tmp_path,
        _HEADER
        + """\
[[packages]]
name = "Wheel_Only"
version = "1.0"
index = "https://pypi.example.com/simple/"
wheels = [{ url = "https://files.example.com/w-1.0-py3-none-any.whl", hashes = { sha256 = "00" } }]

[[packages]]
name = "sdist-only"
version = "2.0"
[packages.sdist]
url = "https://files.example.com/sdist-only-2.0.tar.gz"
hashes = { sha256 = "00" }

[[packages]]
name = "widgets"
[packages.vcs]
type = "git"
url = "https://github.com/acme/widgets.git"
commit-id = "5f1c0a7d3e0e4b2a9c0e6b6f2a1d3c4b5e6f7a8b"

[[packages]]
name = "remote"
archive = { url = "https://example.com/remote-3.0.tar.gz", hashes = { sha256 = "00" } }

[[packages]]
name = "local-archive"
archive = { path = "dist/local_archive-4.0-py3-none-any.whl", hashes = { sha256 = "00" } }

[[packages]]
name = "vendored"
directory = { path = "vendor/vendored" }

[[packages]]
name = "linked"
directory = { path = "../linked", editable = true }

[[packages]]
name = "myapp"
directory = { path = ".", editable = true }

[[packages]]
name = "bare"
version = "5.0"
""",
    )
    assert [(p.name, p.version, p.kind, p.line) for p in loaded.packages] == [
        ("wheel-only", "1.0", Kind.REGISTRY, 3),
        ("sdist-only", "2.0", Kind.REGISTRY, 9),
        ("widgets", None, Kind.VCS, 16),
        ("remote", None, Kind.URL, 23),
        ("local-archive", None, Kind.PATH, 27),
        ("vendored", None, Kind.PATH, 31),
        ("linked", None, Kind.EDITABLE, 35),
        ("myapp", None, Kind.LOCAL_PROJECT, 39),
        # No source at all (seen in the wild): a name and a version pin as an index does.
        ("bare", "5.0", Kind.REGISTRY, 43),
    ]


def test_two_projects_at_dot_are_not_guessed(tmp_path: Path) -> None:
    loaded = _load(
        tmp_path,
        _HEADER
        + """\
packages = [
  { name = "one", directory = { path = "." } },
  { name = "two", directory = { path = "./", editable = true } },
]
""",
    )
    assert [(p.name, p.kind, p.line) for p in loaded.packages] == [
        ("one", Kind.PATH, 4),
        ("two", Kind.EDITABLE, 5),
    ]


def test_project_listed_per_environment_is_still_the_project(tmp_path: Path) -> None:
    loaded = _load(
        tmp_path,
        _HEADER
        + """\
packages = [
  { name = "app", marker = "sys_platform == 'linux'", directory = { path = "." } },
  { name = "app", marker = "sys_platform == 'win32'", directory = { path = "." } },
]
""",
    )
    assert [p.kind for p in loaded.packages] == [Kind.LOCAL_PROJECT, Kind.LOCAL_PROJECT]


def test_duplicates_per_environment_are_kept(tmp_path: Path) -> None:
    loaded = _load(
        tmp_path,
        _HEADER
        + """\
[[packages]]
name = "ham"
version = "3.0.0"
marker = "sys_platform == 'linux'"

[[packages]]
name = "ham"
version = "3.0.0"
marker = "sys_platform == 'win32'"
""",
    )
    assert [(p.version, p.marker, p.line) for p in loaded.packages] == [
        ("3.0.0", "sys_platform == 'linux'", 3),
        ("3.0.0", "sys_platform == 'win32'", 8),
    ]


def test_inline_array_lines(tmp_path: Path) -> None:
    loaded = _load(
        tmp_path,
        _HEADER
        + """\
packages = [
  { name = "a", version = "1" },
  # { name = "commented-out" },
  { version = "2", name = "b" },
]
""",
    )
    assert [(p.name, p.line) for p in loaded.packages] == [("a", 4), ("b", 6)]


# --- groups from markers --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("marker", "groups"),
    [
        (None, (MAIN,)),
        ("sys_platform == 'linux'", (MAIN,)),
        ("'dev' in dependency_groups", ("dev",)),
        ('"Dev_Tools" in dependency_groups', ("dev-tools",)),
        ("'CLI' in extras", ("extra:cli",)),
        ("'default' in dependency_groups", (MAIN,)),
        ("'default' in dependency_groups or 'cli' in extras", ("extra:cli", MAIN)),
        ("sys_platform == 'win32' and ('dev' in dependency_groups or 'test' in dependency_groups)", ("dev", "test")),
        # An exclusion names no group the package belongs to.
        ("'dev' not in dependency_groups", (MAIN,)),
    ],
)
def test_groups_come_from_the_marker(tmp_path: Path, marker: str | None, groups: tuple[str, ...]) -> None:
    entry = f"marker = {marker!r}\n" if marker is not None else ""
    text = 'lock-version = "1.0"\ndefault-groups = ["Default"]\n[[packages]]\nname = "a"\nversion = "1"\n' + entry
    package = _load(tmp_path, text).packages[0]
    assert package.groups == groups
    assert package.marker == marker


# --- errors ---------------------------------------------------------------------------------


def test_packages_must_be_an_array_of_tables(tmp_path: Path) -> None:
    expected = "svc/pylock.toml:3: `packages` is not an array of tables"
    assert _error(tmp_path, _HEADER + 'packages = "a"\n') == expected
    assert _error(tmp_path, _HEADER + 'packages = ["a"]\n') == expected


def test_package_without_name(tmp_path: Path) -> None:
    text = _HEADER + '[[packages]]\nname = "a"\n\n[[packages]]\nversion = "1"\n'
    assert _error(tmp_path, text) == "svc/pylock.toml:6: package without a `name`"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("version = 1", "`version` of package `a` is not a string"),
        ("marker = true", "`marker` of package `a` is not a string"),
        ('vcs = "git+https://x"', "`vcs` of package `a` is not a table"),
        ('directory = "."', "`directory` of package `a` is not a table"),
        ('archive = "x.tar.gz"', "`archive` of package `a` is not a table"),
        ('sdist = "x.tar.gz"', "`sdist` of package `a` is not a table"),
        ('wheels = { url = "x" }', "`wheels` of package `a` is not an array of tables"),
        (
            'vcs = { type = "git", url = "x", commit-id = "0" }\ndirectory = { path = "." }',
            "package `a` has more than one kind of source (vcs, directory)",
        ),
        (
            'archive = { url = "x" }\nwheels = []',
            "package `a` has more than one kind of source (archive, wheels)",
        ),
        ("directory = { editable = true }", "`directory.path` of package `a` is not a string"),
        ("archive = { size = 1 }", "`archive` of package `a` has neither `url` nor `path`"),
    ],
)
def test_malformed_package(tmp_path: Path, entry: str, message: str) -> None:
    text = _HEADER + f'[[packages]]\nname = "a"\n{entry}\n'
    assert _error(tmp_path, text) == f"svc/pylock.toml:3: {message}"


def test_malformed_default_groups(tmp_path: Path) -> None:
    text = _HEADER + 'default-groups = "default"\npackages = []\n'
    assert _error(tmp_path, text) == "svc/pylock.toml:1: `default-groups` is not an array of strings"
