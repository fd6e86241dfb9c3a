from __future__ import annotations

from pathlib import Path

import pytest

from envguard.errors import SourceError
from envguard.model import MAIN, Kind, Loaded, Package
from envguard.sources import poetry
from tests.corpus import Case, cases

# --- corpus -------------------------------------------------------------------------------------

# Fixtures whose origin accepts what envguard rejects, with the reason envguard differs.
REJECTED_BY_ENVGUARD = {
    "trivy__analyzer-poetry__sad": "Trivy's directory analyzer swallows the TOML error; a linter must report it",
}

# Fixtures where the origin's `dev` may come from pyproject.toml and a graph walk, which a loader
# does not do: a lock-version 2.0 file written by Poetry >= 1.5 says nothing about groups, and
# envguard reports () (unknown) for its packages rather than guessing.
DEV_FROM_PYPROJECT = {
    "trivy__analyzer-poetry__happy",
    "trivy__analyzer-poetry__happy-v2",
    "trivy__analyzer-poetry__optional-groups",
    "trivy__analyzer-poetry__with-groups",
}


def _header_lines(text: str) -> list[int]:
    return [number for number, line in enumerate(text.split("\n"), start=1) if line.strip() == "[[package]]"]


def _find(loaded: Loaded, expected: dict[str, object]) -> Package:
    found = [
        package
        for package in loaded.packages
        if package.name == expected["name"] and ("version" not in expected or package.version == expected["version"])
    ]
    assert len(found) == 1, f"{expected} found {len(found)} times"
    return found[0]


def _osv_groups(package: Package) -> list[str]:
    """osv-scalibr's groups for what envguard read: [] for anything in "main" or without groups."""
    return [] if not package.groups or MAIN in package.groups else list(package.groups)


@pytest.mark.parametrize("case", cases("poetry-lock"))
def test_corpus(case: Case) -> None:
    expected = case.expected
    if expected["expect_error"] or case.id in REJECTED_BY_ENVGUARD:
        with pytest.raises(SourceError) as error:
            poetry.load(case.file, "poetry.lock")
        assert str(error.value).startswith("poetry.lock:")
        return
    loaded = poetry.load(case.file, "poetry.lock")
    assert loaded.warnings == ()
    if expected.get("complete", True) and "package_count_min" not in expected:
        assert len(loaded.packages) == expected.get("package_count", len(expected["packages"]))
    headers = _header_lines(case.file.read_text(encoding="utf-8"))
    for item in expected["packages"]:
        package = _find(loaded, item)
        assert package.kind is (Kind.VCS if "commit" in item else Kind.REGISTRY)
        if "line" in item:
            # The origin points at the `name = ` line; envguard at the `[[package]]` header starting the entry.
            assert package.line == max(line for line in headers if line <= item["line"])
        # osv-scalibr reports ["optional"] for `optional = true`; envguard takes extras from `[extras]`.
        if "groups" in item and item["groups"] != ["optional"]:
            assert _osv_groups(package) == sorted(item["groups"])
        if "dev" in item:
            dev_only = bool(package.groups) and MAIN not in package.groups
            if case.id in DEV_FROM_PYPROJECT and (not package.groups or item["dev"]):
                # Unknown groups, or dev only because pyproject.toml's graph does not reach it.
                continue
            assert dev_only == item["dev"], item


# --- unit tests -------------------------------------------------------------------------------


def _load(tmp_path: Path, text: str) -> Loaded:
    path = tmp_path / "poetry.lock"
    path.write_text(text, encoding="utf-8")
    return poetry.load(path, "svc/poetry.lock")


def _error(tmp_path: Path, text: str) -> str:
    with pytest.raises(SourceError) as error:
        _load(tmp_path, text)
    return str(error.value)


def _summary(loaded: Loaded) -> list[tuple[str, str | None, str, tuple[str, ...], str | None, int]]:
    return [(p.name, p.version, p.kind.value, p.groups, p.marker, p.line) for p in loaded.packages]


LOCK_1_1 = """\
[[package]]
name = "pytest"
version = "7.4.4"
description = "pytest: simple powerful testing with Python"
category = "dev"
optional = false
python-versions = ">=3.7"

[package.dependencies]
colorama = {version = "*", markers = "sys_platform == \\"win32\\""}

[[package]]
name = "Requests"
version = "2.31.0"
description = "Python HTTP for Humans."
category = "main"
optional = false
python-versions = ">=3.7"

[package.extras]
socks = ["PySocks (>=1.5.6,!=1.5.7)"]

[metadata]
lock-version = "1.1"
python-versions = "^3.10"
content-hash = "0123abcd"

[metadata.files]
pytest = [
    {file = "pytest-7.4.4-py3-none-any.whl", hash = "sha256:b090"},
]
requests = []
"""


def test_lock_1_1_category_gives_main_or_dev(tmp_path: Path) -> None:
    loaded = _load(tmp_path, LOCK_1_1)
    assert _summary(loaded) == [
        ("pytest", "7.4.4", "registry", ("dev",), None, 1),
        ("requests", "2.31.0", "registry", ("main",), None, 12),
    ]
    assert loaded.packages[0].path == "svc/poetry.lock"
    assert loaded.warnings == ()


def test_pre_1_0_layout_with_metadata_hashes_and_single_marker(tmp_path: Path) -> None:
    loaded = _load(
        tmp_path,
        """\
[[package]]
category = "main"
description = "Backport"
marker = "python_version < \\"3.4\\""
name = "enum34"
optional = false
python-versions = "*"
version = "1.1.6"

[metadata]
content-hash = "abc"
python-versions = "*"

[metadata.hashes]
enum34 = ["644837f692e5f550741432dd3f223bbb9852018674981b1664e5dc339387588a"]
""",
    )
    assert _summary(loaded) == [("enum34", "1.1.6", "registry", ("main",), 'python_version < "3.4"', 1)]


def test_lock_2_0_without_category_has_unknown_groups(tmp_path: Path) -> None:
    loaded = _load(
        tmp_path,
        """\
# This file is automatically @generated by Poetry 1.7.1 and should not be changed by hand.

[[package]]
name = "idna"
version = "3.7"
description = ""
optional = false
python-versions = ">=3.5"
files = [
    {file = "idna-3.7.tar.gz", hash = "sha256:028"},
]

[[package]]
name = "attrs"
version = "23.1.0"
description = ""
category = "dev"
optional = false
python-versions = ">=3.7"
files = []

[metadata]
lock-version = "2.0"
python-versions = "^3.10"
content-hash = "0123"
""",
    )
    assert _summary(loaded) == [
        ("idna", "3.7", "registry", (), None, 3),
        ("attrs", "23.1.0", "registry", ("dev",), None, 13),
    ]


LOCK_2_1 = """\
# This file is automatically @generated by Poetry 2.1.3 and should not be changed by hand.

[[package]]
name = "colorama"
version = "0.4.6"
description = "Cross-platform colored terminal text."
optional = false
python-versions = ">=3.7"
groups = ["main", "Dev_Tools"]
markers = {main = "platform_system == \\"Windows\\"", dev-tools = "sys_platform == \\"win32\\""}
files = []

[[package]]
name = "mylib"
version = "0.1.0"
description = ""
optional = true
python-versions = "^3.10"
groups = ["main"]
markers = "extra == \\"plugins\\""
files = []
develop = true

[package.source]
type = "directory"
url = "../mylib"

[[package]]
name = "widgets"
version = "1.0.0"
description = ""
optional = false
python-versions = "*"
groups = ["main"]
files = []
develop = false

[package.source]
type = "git"
url = "https://github.com/acme/widgets.git"
reference = "v1.0"
resolved_reference = "5f1c0a7d3e0e4b2a9c0e6b6f2a1d3c4b5e6f7a8b"

[extras]
plugins = ["MyLib"]

[metadata]
lock-version = "2.1"
python-versions = "^3.10"
content-hash = "0123abcd"
"""


def test_lock_2_1_groups_markers_sources_and_extras(tmp_path: Path) -> None:
    assert _summary(_load(tmp_path, LOCK_2_1)) == [
        (
            "colorama",
            "0.4.6",
            "registry",
            ("dev-tools", "main"),
            '(platform_system == "Windows") or (sys_platform == "win32")',
            3,
        ),
        ("mylib", "0.1.0", "editable", ("extra:plugins", "main"), 'extra == "plugins"', 13),
        ("widgets", "1.0.0", "vcs", ("main",), None, 28),
    ]


def _marker_of(tmp_path: Path, groups: str, markers: str) -> str | None:
    loaded = _load(tmp_path, f'[[package]]\nname = "a"\nversion = "1"\ngroups = {groups}\nmarkers = {markers}\n')
    return loaded.packages[0].marker


def test_marker_table_shared_by_every_group_is_that_marker(tmp_path: Path) -> None:
    assert _marker_of(tmp_path, '["main", "dev"]', "{main = 'os_name == \"nt\"', dev = 'os_name == \"nt\"'}") == (
        'os_name == "nt"'
    )


def test_marker_table_with_a_group_missing_is_unconditional(tmp_path: Path) -> None:
    assert _marker_of(tmp_path, '["main", "dev"]', "{dev = 'os_name == \"nt\"'}") is None


def test_marker_table_with_an_empty_marker_is_unconditional(tmp_path: Path) -> None:
    assert _marker_of(tmp_path, '["main", "dev"]', "{main = '', dev = 'os_name == \"nt\"'}") is None


def test_marker_table_without_groups_joins_its_markers(tmp_path: Path) -> None:
    loaded = _load(tmp_path, "[[package]]\nname = 'a'\nversion = '1'\nmarkers = {x = 'a == \"1\"', y = 'b == \"2\"'}\n")
    assert loaded.packages[0].marker == '(a == "1") or (b == "2")'


def test_empty_marker_string_is_no_marker(tmp_path: Path) -> None:
    assert _marker_of(tmp_path, '["main"]', "''") is None


def test_extras_add_extra_groups_to_every_package_they_list(tmp_path: Path) -> None:
    loaded = _load(
        tmp_path,
        """\
[[package]]
name = "redis"
version = "5.2.1"
optional = true
groups = ["main"]

[[package]]
name = "async-timeout"
version = "5.0.1"
optional = true
groups = ["main"]

[[package]]
name = "hiredis"
version = "3.0.0"
optional = false
groups = ["main"]

[extras]
cache = ["redis", "hiredis (>=3.0)"]
Fast_Cache = ["Redis"]
""",
    )
    assert [(p.name, p.groups) for p in loaded.packages] == [
        ("redis", ("extra:cache", "extra:fast-cache", "main")),
        # Pulled in by redis only: `[extras]` does not name it, so no extra is known for it.
        ("async-timeout", ("main",)),
        ("hiredis", ("extra:cache", "main")),
    ]


@pytest.mark.parametrize(
    ("source", "develop", "kind"),
    [
        ('{type = "git", url = "https://github.com/a/b.git", resolved_reference = "abc"}', "false", Kind.VCS),
        ('{type = "git", url = "https://github.com/a/b.git"}', "true", Kind.EDITABLE),
        ('{type = "directory", url = "../lib"}', "false", Kind.PATH),
        ('{type = "directory", url = "../lib"}', "true", Kind.EDITABLE),
        ('{type = "file", url = "dist/lib-1.0.tar.gz"}', "false", Kind.PATH),
        ('{type = "file", url = "C:\\\\dist\\\\lib-1.0.tar.gz"}', "false", Kind.PATH),
        ('{type = "file", url = "file:///srv/lib-1.0.tar.gz"}', "false", Kind.PATH),
        ('{type = "file", url = "https://example.com/lib-1.0.tar.gz"}', "false", Kind.URL),
        ('{type = "url", url = "https://example.com/lib-1.0-py3-none-any.whl"}', "false", Kind.URL),
        ('{type = "legacy", url = "https://pypi.example.com/simple", reference = "mirror"}', "false", Kind.REGISTRY),
    ],
)
def test_kind_from_source(tmp_path: Path, source: str, develop: str, kind: Kind) -> None:
    loaded = _load(tmp_path, f'[[package]]\nname = "lib"\nversion = "1.0"\ndevelop = {develop}\nsource = {source}\n')
    assert loaded.packages[0].kind is kind
    assert loaded.packages[0].version == "1.0"


def test_several_versions_of_one_package_are_all_kept(tmp_path: Path) -> None:
    loaded = _load(
        tmp_path,
        """\
[[package]]
name = "proto-plus"
version = "1.22.0"
groups = ["main"]
markers = "python_version < \\"3.10\\""

[[package]]
name = "Proto_Plus"
version = "1.23.0"
groups = ["main"]
markers = "python_version >= \\"3.10\\""

[[package]]
name = "torch"
version = "2.5.1+cpu"
""",
    )
    assert _summary(loaded) == [
        ("proto-plus", "1.22.0", "registry", ("main",), 'python_version < "3.10"', 1),
        ("proto-plus", "1.23.0", "registry", ("main",), 'python_version >= "3.10"', 7),
        ("torch", "2.5.1+cpu", "registry", (), None, 13),
    ]


def test_versions_are_kept_as_written(tmp_path: Path) -> None:
    text = '[[package]]\nname = "a"\nversion = "2.9.0.post0"\n[[package]]\nname = "b"\nversion = "weird"\n'
    loaded = _load(tmp_path, text)
    assert [p.version for p in loaded.packages] == ["2.9.0.post0", "weird"]


def test_names_outside_package_blocks_do_not_move_lines(tmp_path: Path) -> None:
    loaded = _load(
        tmp_path,
        '''\
description = """
[[package]]
name = "fake"
"""

[[package]]
other = "value"
name = "first-pkg"
version = "1.0.0"
description = """
[[package]]
name = "second-pkg"
"""

[package.tool.poetry]
name = "first-pkg-tool"

[[package]]
# name = "fake-pkg"
name_other = "not-this"
name = "second-pkg"
version = "2.0.0"
''',
    )
    assert [(p.name, p.line) for p in loaded.packages] == [("first-pkg", 6), ("second-pkg", 18)]


def test_inline_package_array_is_placed_by_name(tmp_path: Path) -> None:
    loaded = _load(
        tmp_path,
        'package = [\n  {name = "a", version = "1"},\n\n  {name = "b", version = "2"},\n]\n',
    )
    assert [(p.name, p.line) for p in loaded.packages] == [("a", 2), ("b", 4)]


@pytest.mark.parametrize("text", ["", "# nothing\n", "package = []\n", "[metadata]\nlock-version = '2.1'\n"])
def test_files_without_packages(tmp_path: Path, text: str) -> None:
    assert _load(tmp_path, text) == Loaded(packages=())


def test_newer_lock_version_is_read_with_a_warning(tmp_path: Path) -> None:
    loaded = _load(tmp_path, '[[package]]\nname = "a"\nversion = "1"\n\n[metadata]\nlock-version = "3.0"\n')
    assert [p.name for p in loaded.packages] == ["a"]
    assert [str(w) for w in loaded.warnings] == [
        "svc/poetry.lock:6: unknown lock-version '3.0' (envguard knows up to 2.1); read as 2.1"
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('x = 1\npackage = "a"\n', "svc/poetry.lock:2: `package` is not an array of tables"),
        ('[package]\nname = "a"\n', "svc/poetry.lock:1: `package` is not an array of tables"),
        ("package = [1, 2]\n", "svc/poetry.lock:1: `package` is not an array of tables"),
        ('\n[[package]]\nversion = "1"\n', "svc/poetry.lock:2: package without a `name`"),
        ('[[package]]\nname = ""\nversion = "1"\n', "svc/poetry.lock:1: package without a `name`"),
        ('[[package]]\nname = 3\nversion = "1"\n', "svc/poetry.lock:1: package without a `name`"),
        ('[[package]]\nname = "a"\n', "svc/poetry.lock:1: package `a` without a `version`"),
        ('[[package]]\nname = "a"\nversion = 1.0\n', "svc/poetry.lock:1: `version` of package `a` is not a string"),
        (
            '[[package]]\nname = "a"\nversion = "1"\ngroups = "main"\n',
            "svc/poetry.lock:1: `groups` of package `a` is not an array of strings",
        ),
        (
            '[[package]]\nname = "a"\nversion = "1"\ncategory = 1\n',
            "svc/poetry.lock:1: `category` of package `a` is not a string",
        ),
        (
            '[[package]]\nname = "a"\nversion = "1"\nmarkers = ["x"]\n',
            "svc/poetry.lock:1: `markers` of package `a` is neither a string nor a table of strings",
        ),
        (
            '[[package]]\nname = "a"\nversion = "1"\nmarkers = {main = 1}\n',
            "svc/poetry.lock:1: `markers` of package `a` is neither a string nor a table of strings",
        ),
        (
            '[[package]]\nname = "a"\nversion = "1"\nsource = "git"\n',
            "svc/poetry.lock:1: `source` of package `a` is not a table",
        ),
        (
            '[[package]]\nname = "a"\nversion = "1"\n[package.source]\nurl = "x"\n',
            "svc/poetry.lock:1: `source.type` of package `a` is missing or not a string",
        ),
        (
            '[[package]]\nname = "a"\nversion = "1"\nsource = {type = "file", url = 3}\n',
            "svc/poetry.lock:1: `source.url` of package `a` is not a string",
        ),
        (
            '[[package]]\nname = "a"\nversion = "1"\ndevelop = "yes"\nsource = {type = "directory", url = "."}\n',
            "svc/poetry.lock:1: `develop` of package `a` is not true or false",
        ),
        (
            '[[package]]\nname = "a"\nversion = "1"\nsource = {type = "hg", url = "https://x"}\n',
            "svc/poetry.lock:1: package `a` has an unknown source type `hg`"
            " (expected git, directory, file, url or legacy)",
        ),
        ('extras = ["a"]\n', "svc/poetry.lock:1: `extras` is not a table"),
        ('\n[extras]\ncache = "redis"\n', "svc/poetry.lock:2: `extras.cache` is not an array of strings"),
        (
            '[extras]\ncache = ["(redis)"]\n',
            "svc/poetry.lock:1: `extras.cache` lists '(redis)', which is not a package name",
        ),
        ('metadata = "x"\n', "svc/poetry.lock:1: `metadata` is not a table"),
        ('[metadata]\nlock-version = 2.1\n', "svc/poetry.lock:2: `metadata.lock-version` is not a string"),
    ],
)
def test_malformed_files_raise_source_errors(tmp_path: Path, text: str, message: str) -> None:
    assert _error(tmp_path, text) == message


def test_not_toml(tmp_path: Path) -> None:
    # The reason is tomllib's wording, which differs between Python versions.
    assert _error(tmp_path, 'name = "a"\nthis is not toml\n').startswith("svc/poetry.lock:2: invalid TOML: ")


def test_error_line_points_at_the_broken_entry(tmp_path: Path) -> None:
    text = LOCK_1_1.replace('name = "Requests"\nversion = "2.31.0"\n', 'name = "Requests"\n')
    assert _error(tmp_path, text) == "svc/poetry.lock:12: package `Requests` without a `version`"
