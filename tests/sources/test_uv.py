from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from envguard.errors import SourceError
from envguard.model import MAIN, Kind, Loaded, Package, extra_group, normalize
from envguard.sources import uv
from tests.corpus import Case, cases

# Corpus fixtures where envguard deliberately gives another answer than the origin.
ACCEPTED_DESPITE_ORIGIN_ERROR = {
    # trivy wants exactly one root. envguard inventories what is locked and does not enforce
    # uv's workspace rules: with two roots both are kept as local projects and walked from;
    # without a root every package is kept with no group, since nothing says how it is used.
    "trivy__uv__uv_multiple_roots": {"asyncio", "foo", "bar"},
    "trivy__uv__uv_without_root": {"asyncio"},
}
REJECTED_DESPITE_ORIGIN_SILENCE = {
    # trivy's analyzer swallows the parse error; a CI linter must not pass a lock it cannot read.
    "trivy__analyzer-uv__broken-lock",
}


def _load(tmp_path: Path, text: str) -> Loaded:
    path = tmp_path / "uv.lock"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return uv.load(path, "svc/uv.lock")


def _error(tmp_path: Path, text: str) -> str:
    with pytest.raises(SourceError) as exc:
        _load(tmp_path, text)
    return str(exc.value)


def _entry_start(text: str, name_line: int) -> int:
    """The `[[package]]` header above a 1-based `name = ...` line, or that line for inline tables."""
    lines = text.split("\n")
    for number in range(name_line, 0, -1):
        if lines[number - 1].strip().startswith("[["):
            return number
    return name_line


@pytest.mark.parametrize("case", cases("uv-lock"))
def test_corpus(case: Case) -> None:
    expected = case.expected
    if expected["expect_error"] or case.id in REJECTED_DESPITE_ORIGIN_SILENCE:
        if case.id in ACCEPTED_DESPITE_ORIGIN_ERROR:
            loaded = uv.load(case.file, "uv.lock")
            assert {p.name for p in loaded.packages} == ACCEPTED_DESPITE_ORIGIN_ERROR[case.id]
            return
        with pytest.raises(SourceError):
            uv.load(case.file, "uv.lock")
        return
    loaded = uv.load(case.file, "uv.lock")
    text = case.file.read_text(encoding="utf-8")
    found: dict[str, list[Package]] = {}
    for package in loaded.packages:
        found.setdefault(package.name, []).append(package)
    local = {p.name for p in loaded.packages if p.kind is Kind.LOCAL_PROJECT}
    for item in expected["packages"]:
        matches = found[normalize(item["name"])]
        if "version" in item:
            assert item["version"] in [p.version for p in matches], item
        package = next(p for p in matches if "version" not in item or p.version == item["version"])
        if "line" in item:
            # The origin points at the `name` key; envguard at the header where the entry starts.
            assert package.line == _entry_start(text, item["line"]), item
        # osv-scalibr lists the root extras that name a package directly; envguard also gives
        # those extras to what they pull in transitively, so only inclusion is checked.
        for group in item.get("groups", []):
            assert extra_group(group) in package.groups, item
        if item.get("dev") is True:
            assert package.groups and not any(g == MAIN or g.startswith("extra:") for g in package.groups), item
        if item.get("dev") is False:
            assert any(g == MAIN or g.startswith("extra:") for g in package.groups), item
        if item.get("relationship") == "root":
            assert package.kind is Kind.LOCAL_PROJECT
        if "commit" in item:
            assert package.kind is Kind.VCS
    if expected.get("complete", True):
        # Origins differ on the project root (osv-scalibr drops it); envguard keeps it as a local project.
        names = {normalize(item["name"]) for item in expected["packages"]}
        assert {p.name for p in loaded.packages if p.is_third_party} == names - local
        assert len([p for p in loaded.packages if p.is_third_party]) == len(names - local)


# --- versions and revisions ---------------------------------------------------------------


@pytest.mark.parametrize("revision", ["", "revision = 1\n", "revision = 3\n", "revision = 5\n"])
def test_every_revision_of_version_1_is_read(tmp_path: Path, revision: str) -> None:
    loaded = _load(tmp_path, f'version = 1\n{revision}\n[[package]]\nname = "a"\nversion = "1.0"\n')
    assert [(p.name, p.version) for p in loaded.packages] == [("a", "1.0")]


def test_other_schema_version_is_refused(tmp_path: Path) -> None:
    text = 'requires-python = ">=3.10"\nversion = 2\nrevision = 1\n'
    assert _error(tmp_path, text) == "svc/uv.lock:2: unsupported uv.lock version 2 (only version 1 is supported)"


@pytest.mark.parametrize(("value", "shown"), [('"1"', "'1'"), ("true", "True"), ("1.0", "1.0")])
def test_version_must_be_the_integer_1(tmp_path: Path, value: str, shown: str) -> None:
    expected = f"svc/uv.lock:1: unsupported uv.lock version {shown} (only version 1 is supported)"
    assert _error(tmp_path, f"version = {value}\n") == expected


def test_missing_version_is_refused(tmp_path: Path) -> None:
    text = '[[package]]\nname = "a"\nversion = "1"\n'
    assert _error(tmp_path, text) == "svc/uv.lock:1: not a uv.lock file: no top-level `version`"


@pytest.mark.parametrize("text", ["", "\n\n", "# nothing locked yet\n"])
def test_empty_document_has_no_packages(tmp_path: Path, text: str) -> None:
    assert _load(tmp_path, text).packages == ()


def test_no_packages(tmp_path: Path) -> None:
    assert _load(tmp_path, 'version = 1\nrequires-python = ">=3.12"\n').packages == ()


def test_not_toml(tmp_path: Path) -> None:
    assert _error(tmp_path, "version = 1\nthis is not toml\n").startswith("svc/uv.lock:2: invalid TOML: ")


# --- packages, sources, markers, lines -----------------------------------------------------


def test_sources_map_to_kinds(tmp_path: Path) -> None:
    loaded = _load(
        tmp_path,
        """\
        version = 1
        revision = 3

        [[package]]
        name = "Reg_Pkg"
        version = "1.0"
        source = { registry = "https://pypi.example.com/simple" }

        [[package]]
        name = "flat"
        version = "1.0"
        source = { registry = "../local_index" }

        [[package]]
        name = "gitpkg"
        version = "0.8.1"
        source = { git = "https://github.com/x/y?tag=v1#84748be16341b76e073d117329f7f5f4ee2941ad" }

        [[package]]
        name = "urlpkg"
        version = "2.0"
        source = { url = "https://files.example.com/urlpkg-2.0.tar.gz", subdirectory = "sub" }

        [[package]]
        name = "wheelfile"
        version = "3.0"
        source = { path = "dist/wheelfile-3.0-py3-none-any.whl" }

        [[package]]
        name = "vendored"
        version = "4.0"
        source = { directory = "../vendored" }

        [[package]]
        name = "linked"
        source = { editable = "../linked" }

        [[package]]
        name = "app"
        version = "0.1.0"
        source = { editable = "." }

        [[package]]
        name = "nosource"
        version = "5.0"
        """,
    )
    assert [(p.name, p.version, p.kind) for p in loaded.packages] == [
        ("reg-pkg", "1.0", Kind.REGISTRY),
        ("flat", "1.0", Kind.REGISTRY),
        ("gitpkg", "0.8.1", Kind.VCS),
        ("urlpkg", "2.0", Kind.URL),
        ("wheelfile", "3.0", Kind.PATH),
        ("vendored", "4.0", Kind.PATH),
        # Not a workspace member: an editable path dependency, third-party for envguard.
        ("linked", None, Kind.EDITABLE),
        ("app", "0.1.0", Kind.LOCAL_PROJECT),
        # Hand-made locks may leave `source` out; a name and a version pin as an index does.
        ("nosource", "5.0", Kind.REGISTRY),
    ]
    assert [p.line for p in loaded.packages] == [4, 9, 14, 19, 24, 29, 34, 38, 43]
    assert all(p.path == "svc/uv.lock" for p in loaded.packages)


def test_workspace_members_are_local_projects(tmp_path: Path) -> None:
    loaded = _load(
        tmp_path,
        """\
        version = 1

        [manifest]
        members = ["Lib_A", "lib-b", "root"]

        [[package]]
        name = "lib-a"
        source = { editable = "packages/lib-a" }

        [[package]]
        name = "lib-b"
        version = "1.0"
        source = { directory = "packages/lib-b" }

        [[package]]
        name = "root"
        version = "0.1.0"
        source = { virtual = "." }
        """,
    )
    assert [(p.name, p.version, p.kind) for p in loaded.packages] == [
        ("lib-a", None, Kind.LOCAL_PROJECT),
        ("lib-b", "1.0", Kind.LOCAL_PROJECT),
        ("root", "0.1.0", Kind.LOCAL_PROJECT),
    ]
    assert not any(p.is_third_party for p in loaded.packages)


def test_forks_are_kept_with_their_markers(tmp_path: Path) -> None:
    loaded = _load(
        tmp_path,
        """\
        version = 1
        resolution-markers = ["sys_platform == 'darwin'", "sys_platform != 'darwin'"]

        [[package]]
        name = "numpy"
        version = "1.26.4"
        source = { registry = "https://pypi.example.com/simple" }
        resolution-markers = [
            "python_full_version < '3.11' and sys_platform == 'darwin'",
            "python_full_version >= '3.11' and sys_platform == 'darwin'",
        ]

        [[package]]
        name = "numpy"
        version = "2.2.6"
        source = { registry = "https://pypi.example.com/simple" }
        resolution-markers = ["sys_platform != 'darwin'"]

        [[package]]
        name = "torch"
        version = "2.5.1"
        source = { registry = "https://cpu.example.com/simple" }
        resolution-markers = []
        """,
    )
    assert [(p.name, p.version, p.marker) for p in loaded.packages] == [
        (
            "numpy",
            "1.26.4",
            "python_full_version < '3.11' and sys_platform == 'darwin'"
            " or python_full_version >= '3.11' and sys_platform == 'darwin'",
        ),
        ("numpy", "2.2.6", "sys_platform != 'darwin'"),
        ("torch", "2.5.1", None),
    ]


def test_legacy_array_and_marker_names(tmp_path: Path) -> None:
    # uv before 0.2.35 wrote [[distribution]], before 0.3.0 `environment-markers`.
    loaded = _load(
        tmp_path,
        """\
        version = 1

        [[distribution]]
        name = "a"
        version = "1.0"
        source = { registry = "https://pypi.example.com/simple" }
        environment-markers = ["os_name == 'nt'"]
        """,
    )
    assert [(p.name, p.marker, p.line) for p in loaded.packages] == [("a", "os_name == 'nt'", 3)]


def test_lines_ignore_look_alikes_in_strings_and_subtables(tmp_path: Path) -> None:
    loaded = _load(
        tmp_path,
        '''\
        version = 1

        [[package]]
        name = "first"
        version = "1"
        description = """
        [[package]]
        name = "fake"
        """

        [package.tool.uv]
        name = "first-tool"

        [[package]]
        name = "second"
        version = "2"
        ''',
    )
    assert [(p.name, p.line) for p in loaded.packages] == [("first", 3), ("second", 14)]


# --- groups from the dependency graph ------------------------------------------------------

_GRAPH = """\
version = 1
revision = 3

[manifest]
members = ["app", "lib"]

[[package]]
name = "app"
version = "0.1.0"
source = { editable = "." }
dependencies = [
    { name = "lib" },
    { name = "httpx", extra = ["socks"] },
    { name = "numpy", version = "2.2.6", source = { registry = "https://pypi.example.com/simple" }, marker = "sys_platform != 'darwin'" },
]

[package.optional-dependencies]
CLI = [{ name = "rich" }]

[package.dev-dependencies]
Dev_Tools = [{ name = "pytest" }, { name = "rich" }]

[[package]]
name = "lib"
source = { editable = "lib" }
dependencies = [{ name = "certifi" }]

[package.dev-dependencies]
test = [{ name = "coverage" }]

[[package]]
name = "httpx"
version = "0.28.1"
source = { registry = "https://pypi.example.com/simple" }
dependencies = [{ name = "idna" }]

[package.optional-dependencies]
socks = [{ name = "socksio" }]
http2 = [{ name = "h2" }]

[[package]]
name = "idna"
version = "3.10"
source = { registry = "https://pypi.example.com/simple" }

[[package]]
name = "socksio"
version = "1.0.0"
source = { registry = "https://pypi.example.com/simple" }

[[package]]
name = "h2"
version = "4.2.0"
source = { registry = "https://pypi.example.com/simple" }

[[package]]
name = "numpy"
version = "1.26.4"
source = { registry = "https://pypi.example.com/simple" }
resolution-markers = ["sys_platform == 'darwin'"]

[[package]]
name = "numpy"
version = "2.2.6"
source = { registry = "https://pypi.example.com/simple" }
resolution-markers = ["sys_platform != 'darwin'"]

[[package]]
name = "rich"
version = "14.0.0"
source = { registry = "https://pypi.example.com/simple" }
dependencies = [{ name = "pygments" }]

[[package]]
name = "pygments"
version = "2.19.1"
source = { registry = "https://pypi.example.com/simple" }

[[package]]
name = "pytest"
version = "8.3.5"
source = { registry = "https://pypi.example.com/simple" }
dependencies = [{ name = "pygments" }]

[[package]]
name = "certifi"
version = "2025.1.31"
source = { registry = "https://pypi.example.com/simple" }

[[package]]
name = "coverage"
version = "7.6.0"
source = { registry = "https://pypi.example.com/simple" }

[[package]]
name = "orphan"
version = "1.0"
source = { registry = "https://pypi.example.com/simple" }
"""


def test_groups_follow_the_graph_from_every_local_project(tmp_path: Path) -> None:
    groups = {(p.name, p.version): p.groups for p in _load(tmp_path, _GRAPH).packages}
    assert groups == {
        ("app", "0.1.0"): ("main",),
        ("lib", None): ("main",),
        ("httpx", "0.28.1"): ("main",),
        ("idna", "3.10"): ("main",),
        # Turned on by the `extra = ["socks"]` of the reference; `http2` is not.
        ("socksio", "1.0.0"): ("main",),
        ("h2", "4.2.0"): (),
        # The versioned reference picks one fork; the other is reached by nothing.
        ("numpy", "1.26.4"): (),
        ("numpy", "2.2.6"): ("main",),
        # An extra and a dependency group of the root, names normalised; inherited transitively.
        ("rich", "14.0.0"): ("dev-tools", "extra:cli"),
        ("pygments", "2.19.1"): ("dev-tools", "extra:cli"),
        ("pytest", "8.3.5"): ("dev-tools",),
        # A workspace member's own dependencies and groups count as well.
        ("certifi", "2025.1.31"): ("main",),
        ("coverage", "7.6.0"): ("test",),
        ("orphan", "1.0"): (),
    }


def test_a_lock_without_root_says_nothing_about_groups(tmp_path: Path) -> None:
    loaded = _load(
        tmp_path,
        """\
        version = 1

        [[package]]
        name = "a"
        version = "1"
        source = { registry = "https://pypi.example.com/simple" }
        dependencies = [{ name = "b" }]

        [[package]]
        name = "b"
        version = "2"
        source = { registry = "https://pypi.example.com/simple" }
        """,
    )
    assert [p.groups for p in loaded.packages] == [(), ()]


def test_cycles_terminate(tmp_path: Path) -> None:
    loaded = _load(
        tmp_path,
        """\
        version = 1

        [[package]]
        name = "root"
        source = { virtual = "." }
        dependencies = [{ name = "a" }]

        [[package]]
        name = "a"
        version = "1"
        dependencies = [{ name = "b", extra = ["x"] }]

        [[package]]
        name = "b"
        version = "1"
        dependencies = [{ name = "a" }]

        [package.optional-dependencies]
        x = [{ name = "b" }]
        """,
    )
    assert [p.groups for p in loaded.packages] == [("main",), ("main",), ("main",)]


def _ambiguous(reference: str) -> str:
    return f"""\
        version = 1

        [[package]]
        name = "root"
        source = {{ virtual = "." }}
        dependencies = [{reference}]

        [[package]]
        name = "dep"
        version = "1"
        resolution-markers = ["sys_platform == 'win32'"]

        [[package]]
        name = "dep"
        version = "2"
        resolution-markers = ["sys_platform != 'win32'"]
        """


@pytest.mark.parametrize(
    ("reference", "reached"),
    [
        # No version on an ambiguous name: every candidate may be the one.
        ('{ name = "dep" }', ["1", "2"]),
        # ... unless the edge marker is exactly one fork's marker.
        ("{ name = \"dep\", marker = \"sys_platform != 'win32'\" }", ["2"]),
        ("{ name = \"dep\", marker = \"os_name == 'nt'\" }", ["1", "2"]),
        ('{ name = "dep", version = "1" }', ["1"]),
        ('{ name = "dep", version = "3" }', []),
        ('{ name = "missing" }', []),
    ],
)
def test_references_to_several_versions(tmp_path: Path, reference: str, reached: list[str]) -> None:
    loaded = _load(tmp_path, _ambiguous(reference))
    assert [p.version for p in loaded.packages if p.name == "dep" and p.groups == ("main",)] == reached


def test_same_version_from_two_indexes_is_told_apart_by_source(tmp_path: Path) -> None:
    loaded = _load(
        tmp_path,
        """\
        version = 1

        [[package]]
        name = "root"
        source = { virtual = "." }
        dependencies = [{ name = "torch", version = "2.5.1", source = { registry = "https://cpu.example.com" } }]

        [package.optional-dependencies]
        gpu = [{ name = "torch", version = "2.5.1", source = { registry = "https://gpu.example.com" } }]

        [[package]]
        name = "torch"
        version = "2.5.1"
        source = { registry = "https://cpu.example.com" }
        resolution-markers = ["extra != 'extra-4-root-gpu'"]

        [[package]]
        name = "torch"
        version = "2.5.1"
        source = { registry = "https://gpu.example.com" }
        resolution-markers = ["extra == 'extra-4-root-gpu'"]
        """,
    )
    assert [(p.version, p.groups) for p in loaded.packages if p.name == "torch"] == [
        ("2.5.1", ("main",)),
        ("2.5.1", ("extra:gpu",)),
    ]


# --- errors ---------------------------------------------------------------------------------


def test_package_must_be_an_array_of_tables(tmp_path: Path) -> None:
    assert _error(tmp_path, 'version = 1\npackage = "x"\n') == "svc/uv.lock:2: `package` is not an array of tables"
    assert _error(tmp_path, "version = 1\npackage = [1]\n") == "svc/uv.lock:2: `package` is not an array of tables"


def test_package_without_name(tmp_path: Path) -> None:
    text = 'version = 1\n\n[[package]]\nname = "a"\n\n[[package]]\nversion = "1"\n'
    assert _error(tmp_path, text) == "svc/uv.lock:6: package without a `name`"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("version = 1", "`version` of package `a` is not a string"),
        ('source = "pypi"', "`source` of package `a` is not a table"),
        ('source = { svn = "x" }', "package `a` has an unknown source type (svn)"),
        ("source = {}", "package `a` has an unknown source type (empty table)"),
        (
            'source = { registry = "x", git = "y" }',
            "package `a` has more than one source type (registry, git)",
        ),
        ("source = { registry = 1 }", "`source.registry` of package `a` is not a string"),
        ('resolution-markers = "x"', "`resolution-markers` of package `a` is not an array of strings"),
        ('dependencies = "b"', "`dependencies` of package `a` is not an array of tables"),
        ('dependencies = [{ version = "1" }]', "malformed entry in `dependencies` of package `a`"),
        ('dependencies = [{ name = "b", extra = "x" }]', "malformed entry in `dependencies` of package `a`"),
        ("optional-dependencies = []", "`optional-dependencies` of package `a` is not a table"),
        (
            'dev-dependencies = { dev = "b" }',
            "`dev-dependencies.dev` of package `a` is not an array of tables",
        ),
    ],
)
def test_malformed_package(tmp_path: Path, entry: str, message: str) -> None:
    text = f'version = 1\n\n[[package]]\nname = "a"\n{entry}\n'
    assert _error(tmp_path, text) == f"svc/uv.lock:3: {message}"


def test_malformed_manifest(tmp_path: Path) -> None:
    assert _error(tmp_path, 'version = 1\nmanifest = "x"\n') == "svc/uv.lock:1: `manifest` is not a table"
    text = "version = 1\n[manifest]\nmembers = [1]\n"
    assert _error(tmp_path, text) == "svc/uv.lock:1: `manifest.members` is not an array of strings"


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as exc:
        uv.load(tmp_path / "missing" / "uv.lock", "svc/uv.lock")
    assert str(exc.value).startswith("svc/uv.lock:1: cannot read file: ")



def _chain_lock(packages: int, groups: int) -> str:
    """A root whose every dev group reaches a chain of `packages` packages: packages x groups."""
    dev = "\n".join(f'g{g} = [{{ name = "p0" }}]' for g in range(groups))
    chain = "\n".join(
        f'[[package]]\nname = "p{i}"\nversion = "1"\n'
        + (f'dependencies = [{{ name = "p{i + 1}" }}]\n' if i + 1 < packages else "")
        for i in range(packages)
    )
    return f'version = 1\n\n[[package]]\nname = "root"\nsource = {{ virtual = "." }}\n\n[package.dev-dependencies]\n{dev}\n\n{chain}'


def test_a_graph_too_large_to_walk_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(uv, "MAX_WALK", 100)
    under = _load(tmp_path, _chain_lock(packages=10, groups=10))  # 100 combinations: read
    assert [p.groups for p in under.packages][1] == tuple(f"g{g}" for g in range(10))
    message = _error(tmp_path, _chain_lock(packages=10, groups=11))
    assert message == (
        "svc/uv.lock:1: lock too large to read: 11 packages in 12 groups reach more than 100"
        " (package, extra, group) combinations"
    )
