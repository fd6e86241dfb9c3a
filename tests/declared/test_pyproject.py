"""envguard.declared.pyproject: PEP 621, PEP 735, Poetry, PDM, uv and setuptools-dynamic tables.

Oracles: PyPA's `dependency-groups` resolves every fixture's groups; poetry-core parses every
Poetry constraint and dependency table; setuptools' own reading of a dynamic project is
recorded beside it (setuptools-read.json).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import dependency_groups
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version as PackagingVersion
from poetry.core.constraints.version import Version as PoetryVersion
from poetry.core.constraints.version import parse_constraint
from poetry.core.factory import Factory

from envguard.declared import _poetry, pyproject
from envguard.declared._tomlpos import positions
from envguard.errors import SourceError
from envguard.model import Declaration, Kind, Loaded, normalize
from envguard.sources._toml import parse_toml
from tests.corpus import CORPUS
from tests.kit import FIXTURES, write

PYPROJECT = FIXTURES / "declared" / "pyproject"
ALL = sorted(path.parent.name for path in PYPROJECT.glob("*/pyproject.toml"))


def read(name: str) -> Loaded:
    return pyproject.load(PYPROJECT / name / "pyproject.toml", "pyproject.toml")


def by_environment(loaded: Loaded) -> dict[str, list[Declaration]]:
    found: dict[str, list[Declaration]] = defaultdict(list)
    for declaration in loaded.declarations:
        found[declaration.environment.removeprefix("pyproject.toml ")].append(declaration)
    return found


# ------------------------------------------------------------------------------- PEP 735 oracle


@pytest.mark.parametrize("name", ALL)
def test_dependency_groups_resolve_as_the_pypa_library_does(name: str) -> None:
    data = parse_toml((PYPROJECT / name / "pyproject.toml").read_text(), "pyproject.toml")
    if "dependency-groups" not in data:
        pytest.skip("no [dependency-groups]")
    groups = data["dependency-groups"]
    ours = by_environment(read(name))
    for group in groups:
        # The library keeps `orders[test]` as written; this reader also expands it (checked below).
        got = sorted(
            str(Requirement(d.requirement))
            for d in ours[f"[dependency-groups] {group}"]
            if "[project.optional-dependencies]" not in _header(PYPROJECT / name / d.path, d.line)
        )
        assert got == sorted(dependency_groups.resolve(groups, group)), group


def _header(path: Path, line: int) -> str:
    lines = path.read_text().splitlines()
    return next((text for text in reversed(lines[:line]) if text.startswith("[")), "")


def test_a_group_naming_the_project_expands_its_extras() -> None:
    ci = by_environment(read("uv-groups"))["[dependency-groups] ci"]
    assert [(d.line, d.name, d.kind) for d in ci] == [
        (17, "pytest", Kind.REGISTRY),
        (18, "pytest-cov", Kind.REGISTRY),
        (27, "hypothesis", Kind.REGISTRY),
        (30, "mypy", Kind.REGISTRY),
        (31, "ruff", Kind.REGISTRY),
        (36, "orders", Kind.LOCAL_PROJECT),
    ]
    assert {d.groups for d in ci} == {("ci",)}


def test_uv_tables_and_sources() -> None:
    environments = by_environment(read("uv-groups"))
    (httpx, tomli) = environments["[project] dependencies"]
    assert (httpx.name, httpx.kind, httpx.specifier, httpx.groups) == ("httpx", Kind.VCS, None, ("main",))
    assert (tomli.line, tomli.specifier, tomli.marker) == (12, ">=2", 'python_full_version < "3.11"')
    (constraint,) = environments["[tool.uv] constraint-dependencies"]
    (override,) = environments["[tool.uv] override-dependencies"]
    assert (constraint.origin, constraint.groups, constraint.specifier) == ("uv", (), "<3")
    assert (override.version, override.line) == ("3.7", 41)


@pytest.mark.parametrize(
    "text, line, message",
    [
        (
            '[dependency-groups]\na = [{include-group = "b"}]\nb = [{include-group = "a"}]\n',
            3,
            "cyclic dependency group include: a -> b -> a",
        ),
        (
            '[dependency-groups]\na = [\n  "x",\n  {include-group = "a"},\n]\n',
            4,
            "cyclic dependency group include: a -> a",
        ),
        ('[dependency-groups]\na = [{include-group = "nope"}]\n', 2, "includes unknown group 'nope'"),
        ('[dependency-groups]\na = [{include-group = "b", extra = 1}]\nb = []\n', 2, "invalid item"),
        ("[dependency-groups]\nTest = []\ntest = []\n", 3, "duplicate dependency group names"),
        ('[dependency-groups]\na = "pytest"\n', 2, "must be an array"),
    ],
)
def test_dependency_group_errors(tmp_path: Path, text: str, line: int, message: str) -> None:
    with pytest.raises(SourceError) as caught:
        pyproject.load(write(tmp_path / "pyproject.toml", text), "pyproject.toml")
    assert (caught.value.line, message in caught.value.message) == (line, True), caught.value.message


def test_group_includes_use_normalised_names(tmp_path: Path) -> None:
    text = '[dependency-groups]\nTest_Unit = ["pytest"]\nall = [{include-group = "test-unit"}, "ruff"]\n'
    loaded = pyproject.load(write(tmp_path / "pyproject.toml", text), "pyproject.toml")
    all_group = [(d.line, d.name, d.groups) for d in loaded.declarations if d.environment.endswith(" all")]
    assert all_group == [(2, "pytest", ("all",)), (3, "ruff", ("all",))]


# ------------------------------------------------------------------------------ PEP 621, errors


def test_a_service_keeps_its_test_tools_only_in_an_extra() -> None:
    loaded = read("service-extras")
    environments = by_environment(loaded)
    dev = environments["[project.optional-dependencies] dev"]
    assert [(d.line, d.name, d.version or d.specifier) for d in dev] == [
        (83, "pytest", "8.3.3"),
        (84, "pytest-asyncio", ">=0.24"),
        (85, "pytest-cov", ">=6.0"),
        (86, "pytest-mock", ">=3.14"),
        (87, "faker", ">=30.8"),
        (88, "factory-boy", ">=3.3.1"),
        (89, "freezegun", ">=1.5"),
        (90, "respx", ">=0.21"),
        (91, "devtools", ">=0.12"),
        (92, "ipdb", None),
    ]
    assert {(d.groups, d.origin, d.kind) for d in dev} == {(("extra:dev",), "project", Kind.REGISTRY)}
    # Nothing else declares the test tools: no dependency group, no other extra.
    tools = {d.name for d in dev}
    assert [d for d in loaded.declarations if d.name in tools and d not in dev] == []
    main = environments["[project] dependencies"]
    assert len(main) == 44 and {d.groups for d in main} == {("main",)}
    by_name: dict[str, Declaration] = {d.name: d for d in main}
    assert by_name["cryptography"].specifier == "<44,>=41.0.5"  # as written, not reordered
    assert (by_name["opsgenie-sdk"].version, by_name["opsgenie-sdk"].line) == ("2.1.5", 51)
    assert by_name["asyncpg"].marker == 'platform_python_implementation == "CPython"'
    # [tool.uv.sources] makes these a git checkout and an editable path.
    assert [(d.line, d.name, d.kind) for d in main[-2:]] == [
        (77, "beacon-rules", Kind.VCS),
        (78, "status-widgets", Kind.EDITABLE),
    ]
    assert [(d.line, d.name) for d in environments["[project.optional-dependencies] vendor"]] == [
        (96, "boto3"),
        (97, "hvac"),
    ]
    assert [(d.line, d.name, d.version) for d in environments["[dependency-groups] lint"]] == [
        (114, "ruff", "0.7.1"),
        (115, "mypy", None),
        (116, "types-pyyaml", None),
        (117, "types-python-dateutil", None),
    ]
    assert (loaded.included, loaded.warnings) == ((), ())


def test_extras_naming_the_project_stand_for_the_extras_they_name() -> None:
    environments = by_environment(read("library-extras"))

    def extra(name: str) -> list[tuple[int, str, Kind]]:
        return [(d.line, d.name, d.kind) for d in environments[f"[project.optional-dependencies] {name}"]]

    brotli = [(29, "brotli", Kind.REGISTRY), (30, "brotlicffi", Kind.REGISTRY)]
    assert extra("brotli") == brotli
    # `wirecall[brotli,zstd]`: the project itself (line 41), and those two extras at their lines.
    compression = [*brotli, (39, "zstandard", Kind.REGISTRY), (41, "wirecall", Kind.LOCAL_PROJECT)]
    assert extra("compression") == compression
    # Two levels: `wirecall[compression]` brings compression's own self-reference too.
    assert extra("all") == [
        *brotli,
        (33, "click", Kind.REGISTRY),
        (34, "pygments", Kind.REGISTRY),
        (35, "rich", Kind.REGISTRY),
        (37, "h2", Kind.REGISTRY),
        (38, "socksio", Kind.REGISTRY),
        (39, "zstandard", Kind.REGISTRY),
        (41, "wirecall", Kind.LOCAL_PROJECT),
        (43, "wirecall", Kind.LOCAL_PROJECT),
        (44, "wirecall", Kind.LOCAL_PROJECT),
    ]
    assert {d.groups for d in environments["[project.optional-dependencies] all"]} == {("extra:all",)}
    cli = {d.name: d.specifier for d in environments["[project.optional-dependencies] cli"]}
    assert cli == {"click": "==8.*", "pygments": "==2.*", "rich": ">=10,<14"}
    markers = {d.name: d.marker for d in environments["[project.optional-dependencies] brotli"]}
    assert markers == {
        "brotli": 'platform_python_implementation == "CPython"',
        "brotlicffi": 'platform_python_implementation != "CPython"',
    }
    main = environments["[project] dependencies"]
    assert [(d.line, d.name, d.specifier) for d in main] == [
        (18, "anyio", ">=4.4"),
        (19, "certifi", None),
        (20, "httpcore", "==1.*"),
        (21, "idna", ">=3.7"),
        (22, "typing-extensions", ">=4.12"),
    ]


def test_lines_are_those_of_the_strings() -> None:
    for name in ALL:
        path = PYPROJECT / name / "pyproject.toml"
        lines = path.read_text().splitlines()
        for declaration in read(name).declarations:
            if declaration.path == "pyproject.toml" and declaration.origin != "poetry":
                # The part before the marker: a marker's quotes may be escaped in the file.
                assert declaration.requirement.split(";")[0].strip() in lines[declaration.line - 1], (name, declaration)
            elif declaration.origin == "poetry":
                assert lines[declaration.line - 1].lstrip().startswith(("{", declaration.requirement.split(" =")[0]))


def test_a_file_declaring_nothing_is_empty(tmp_path: Path) -> None:
    loaded = pyproject.load(write(tmp_path / "pyproject.toml", "[tool.ruff]\nline-length = 100\n"), "pyproject.toml")
    assert loaded == Loaded(())
    loaded = pyproject.load(write(tmp_path / "pyproject.toml", '[project]\nname = "x"\n'), "pyproject.toml")
    assert loaded.declarations == ()


@pytest.mark.parametrize(
    "text, line, message",
    [
        ('[project]\ndependencies = [\n  "ok",\n  "not valid!",\n]\n', 4, "invalid requirement 'not valid!'"),
        ('[project]\ndependencies = "pytest"\n', 2, "must be an array of strings"),
        ("[project]\ndependencies = [\n  {x = 1},\n]\n", 3, "must contain only strings"),
        ('[project]\ndynamic = ["dependencies"]\ndependencies = []\n', 2, "both given and listed"),
        ("[project.optional-dependencies]\nTest = []\ntest = []\n", 3, "same name once normalised"),
        (
            '[project]\ndynamic = ["dependencies"]\n[tool.setuptools.dynamic]\ndependencies = {file = ["../x.txt"]}\n',
            4,
            "outside the project directory",
        ),
        ('[tool.poetry.dependencies]\nfoo = "^^1"\n', 2, "invalid Poetry dependency 'foo'"),
        ("[tool.poetry.dependencies]\nfoo = {version = 1}\n", 2, "`version` must be a string"),
    ],
)
def test_errors(tmp_path: Path, text: str, line: int, message: str) -> None:
    with pytest.raises(SourceError) as caught:
        pyproject.load(write(tmp_path / "pyproject.toml", text), "pyproject.toml")
    assert (caught.value.line, message in caught.value.message) == (line, True), caught.value.message


def test_other_dynamic_fields_are_warnings(tmp_path: Path) -> None:
    text = '[project]\nname = "x"\ndynamic = ["version", "dependencies"]\n'
    loaded = pyproject.load(write(tmp_path / "pyproject.toml", text), "pyproject.toml")
    assert [(w.line, w.message) for w in loaded.warnings] == [
        (3, "`dependencies` is dynamic (computed by the build backend): not read")
    ]


def test_setuptools_dynamic_files_match_setuptools() -> None:
    expected = json.loads((PYPROJECT / "setuptools-dynamic" / "setuptools-read.json").read_text())
    loaded = read("setuptools-dynamic")
    environments = by_environment(loaded)
    assert [d.requirement for d in environments["[project] dependencies"]] == expected["dependencies"]
    test = sorted(d.requirement for d in environments["[project.optional-dependencies] test"])
    assert test == sorted(expected["optional-dependencies"]["test"])
    assert loaded.included == ("requirements.in", "requirements-test.in", "requirements-extra.in")
    assert [(d.path, d.line) for d in environments["[project] dependencies"]] == [
        ("requirements.in", 2),
        ("requirements.in", 3),
        ("requirements.in", 5),
    ]


@pytest.mark.parametrize("name", ["service-extras", "library-extras", "pdm-groups", "poetry2-groups"])
def test_pep621_tables_match_setuptools(name: str) -> None:
    """setuptools' validated reading of [project] (setuptools-read.json): the strings, and what each extra installs."""
    expected = json.loads((PYPROJECT / name / "setuptools-read.json").read_text())
    project = normalize(str(parse_toml((PYPROJECT / name / "pyproject.toml").read_text(), name)["project"]["name"]))
    environments = by_environment(read(name))
    assert [d.requirement for d in environments["[project] dependencies"]] == expected["dependencies"]
    extras: dict[str, list[str]] = expected["optional-dependencies"]
    for extra in extras:
        # An extra naming the project stands for the extras it names, as pip installs it.
        wanted: set[str] = set()
        todo, seen = [extra], set()
        while todo:
            current = todo.pop()
            if current not in seen:
                seen.add(current)
                wanted.update(extras[current])
                for requirement in map(Requirement, extras[current]):
                    if normalize(requirement.name) == project:
                        todo.extend(sorted(requirement.extras))
        assert {d.requirement for d in environments[f"[project.optional-dependencies] {extra}"]} == wanted, extra


def test_pdm_editables_and_self_references(tmp_path: Path) -> None:
    write(tmp_path / "libs" / "core" / "pyproject.toml", '[project]\nname = "acme-core"\n')
    path = write(
        tmp_path / "pyproject.toml",
        """
        [project]
        name = "app"
        [project.optional-dependencies]
        test = ["pytest"]
        [tool.pdm.dev-dependencies]
        dev = [
            "-e file:///${PROJECT_ROOT}/libs/core",
            "app[test]",
        ]
    """,
    )
    loaded = pyproject.load(path, "pyproject.toml")
    dev = [(d.line, d.name, d.kind, d.origin, d.groups) for d in loaded.declarations if "pdm" in d.environment]
    assert dev == [
        (4, "pytest", Kind.REGISTRY, "pdm", ("dev",)),
        (7, "acme-core", Kind.EDITABLE, "pdm", ("dev",)),
        (8, "app", Kind.LOCAL_PROJECT, "pdm", ("dev",)),
    ]
    assert loaded.included == ("libs/core/pyproject.toml",)


def test_pdm_groups_beside_pep735_groups() -> None:
    loaded = read("pdm-groups")
    environments = by_environment(loaded)

    def entries(environment: str) -> list[tuple[int, str, Kind, str]]:
        return [(d.line, d.name, d.kind, d.origin) for d in environments[environment]]

    group = "dependency-groups"
    # `quarry[pytest]` is the project itself and its pytest extra, at the extra's lines.
    assert entries("[dependency-groups] test") == [
        (36, "pytest", Kind.REGISTRY, group),
        (37, "pytest-mock", Kind.REGISTRY, group),
        (54, "quarry", Kind.LOCAL_PROJECT, group),
        (55, "pytest-cov", Kind.REGISTRY, group),
        (56, "pytest-xdist", Kind.REGISTRY, group),
        (57, "pytest-rerunfailures", Kind.REGISTRY, group),
        (58, "pytest-httpserver", Kind.REGISTRY, group),
    ]
    assert entries("[tool.pdm.dev-dependencies] workflow") == [
        (73, "parver", Kind.REGISTRY, "pdm"),
        (74, "towncrier", Kind.REGISTRY, "pdm"),
    ]
    assert entries("[tool.pdm.dev-dependencies] plugins") == [
        (41, "keyring", Kind.REGISTRY, "pdm"),  # through `quarry[keyring]`
        (77, "quarry-core", Kind.EDITABLE, "pdm"),  # `-e file:///${PROJECT_ROOT}/plugins/quarry-core`
        (78, "quarry", Kind.LOCAL_PROJECT, "pdm"),
    ]
    assert {d.groups for d in environments["[tool.pdm.dev-dependencies] plugins"]} == {("plugins",)}
    # Extras of extras: all -> template -> copier, cookiecutter.
    assert [(d.line, d.name) for d in environments["[project.optional-dependencies] all"]] == [
        (39, "copier"),
        (40, "cookiecutter"),
        (41, "keyring"),
        (43, "quarry"),
        (44, "quarry"),
    ]
    assert loaded.included == ("plugins/quarry-core/pyproject.toml",)
    assert loaded.warnings == ()


def test_poetry2_project_with_poetry_groups() -> None:
    loaded = read("poetry2-groups")
    environments = by_environment(loaded)
    main: dict[str, Declaration] = {d.name: d for d in environments["[project] dependencies"]}
    assert len(main) == 19 and {d.origin for d in main.values()} == {"project"}
    assert (main["requests"].line, main["requests"].specifier) == (19, ">=2.26,<3.0")
    assert (main["xattr"].specifier, main["xattr"].marker) == (">=1.0.0,<2.0.0", 'sys_platform == "darwin"')
    # [tool.poetry.dependencies] beside [project]: the enrichments, at their own lines.
    assert [(d.line, d.name, d.specifier, d.origin) for d in environments["[tool.poetry.dependencies]"]] == [
        (57, "requests", None, "poetry"),
        (58, "dulwich", ">=0.22.6,<0.22.8", "poetry"),
    ]
    test: dict[str, Declaration] = {d.name: d for d in environments["[tool.poetry.group.test.dependencies]"]}
    assert (test["pytest-xdist"].specifier, test["pytest-xdist"].groups) == (">=3.6", ("test",))
    assert (test["pytest"].specifier, test["pytest"].line) == (">=8.3,<9.0", 78)
    assert (test["pytest-tmp-files"].specifier, test["pytest-tmp-files"].marker) == (
        ">=0.0.2,<0.0.3",
        'sys_platform == "win32"',
    )
    # include-groups: test's and typing's entries at their own lines, in group ci.
    ci = environments["[tool.poetry.group.ci.dependencies]"]
    assert [d.line for d in ci] == [74, 75, 76, 77, 78, 79, 80, 81, 82, 84, 87, 88, 95]
    assert {d.groups for d in ci} == {("ci",)}
    optional = environments["[tool.poetry.group.release-runners.dependencies]"]
    assert [(d.name, d.specifier) for d in optional] == [
        ("pytest-github-actions-annotate-failures", ">=0.2.0,<0.3.0"),
        ("twine", ">=5.1,<5.2"),
    ]
    assert loaded.warnings == ()


# ------------------------------------------------------------------------------- Poetry oracle

_BASES = [
    "0",
    "0.0",
    "0.0.0",
    "0.0.3",
    "0.1",
    "0.2.3",
    "1",
    "1.0",
    "1.2",
    "1.2.3",
    "1.2.3.4",
    "2.0.0",
    "1!2.0",
    "1.0a1",
    "1.0.0rc2",
    "1.0.post1",
    "1.0.dev3",
    "2.0b1.post2",
]
_OPERATORS = ["^", "~", "~=", ">=", ">", "<", "<=", "==", "!=", "", "=", "<>"]
_SPECIAL = [
    "*",
    "x",
    "X",
    "1.x",
    "1.*",
    "1.2.*",
    "==1.2.*",
    "!=1.2.*",
    "0.*.*",
    ">=1.2.*",
    "<2.*",
    ">=1,<2",
    ">=1 <2",
    ">= 1, < 2",
    ">=1,<2,",
    ">1.0,!=1.5,<=2.0",
    "^1.2,<1.9",
    "~1.2 <1.2.5",
    "dev",
    ">=2.0a1",
    "^1.2.3b1",
    "~1.2.3rc1",
    "^0.0",
    "^0",
    "~0",
    "v1.2",
    "^v2",
    "1.2-beta.1",
    "==1.0+local",
    ">=1.0.post2 <3",
    # unions
    "^1 || ^2",
    "^1.0 || ^3.0",
    "<1.5 || >1.5",
    "1.0 || 2.0",
    "~1.2 || ~1.4",
    "!=1.5 || >=3",
    "<1 || >=1",
    ">=1.2 <1.5 || >=2",
    "^0.2 | ^0.4",
    ">=3 || <2",
    "1.0 || 1.0",
]
CONSTRAINTS = [op + base for op in _OPERATORS for base in _BASES] + _SPECIAL
_GRID = sorted(
    {
        base + suffix
        for base in [
            "0",
            "0.0.1",
            "0.0.3",
            "0.0.4",
            "0.1",
            "0.1.5",
            "0.2.3",
            "0.2.9",
            "0.3",
            "0.4.1",
            "1",
            "1.0.1",
            "1.1",
            "1.2",
            "1.2.2",
            "1.2.3",
            "1.2.4",
            "1.2.5",
            "1.3",
            "1.4",
            "1.5",
            "1.9",
            "2",
            "2.0.1",
            "2.5",
            "3",
            "3.1",
            "4",
            "10",
            "1!1.0",
            "1!2.0",
            "1.2.3.4",
            "1.2.3.5",
        ]
        for suffix in ["", "a1", "b2", "rc1", ".post1", ".dev0", ".dev1", "a1.dev0", "+local"]
    },
    key=PackagingVersion,
)
# The one documented difference outside unions: poetry-core intersects `!=V` with another
# constraint as `<V || >V`, whose `>V` also excludes V's post-releases; PEP 440's `!=V` admits them.


def _excluded_post_release(version: str, constraint: str) -> bool:
    parsed = PackagingVersion(version)
    excluded = [PackagingVersion(v) for v in re.findall(r"!=\s*v?([0-9][^,\s|]*)", constraint)]
    return parsed.is_postrelease and any(
        parsed.release == (v.release + (0,) * 4)[: len(parsed.release)]
        or v.release == (parsed.release + (0,) * 4)[: len(v.release)]
        for v in excluded
    )


def _admitted_by_poetry(constraint: str) -> list[bool]:
    parsed = parse_constraint(constraint)
    return [parsed.allows(PoetryVersion.parse(version)) for version in _GRID]


def _admitted_by_us(converted: _poetry.Converted) -> list[bool]:
    specifiers = SpecifierSet(f"=={converted.version}" if converted.version else converted.specifier or "")
    return [specifiers.contains(version, prereleases=True) for version in _GRID]


def _boundary(version: str, constraint: str) -> bool:
    """A pre-, post-, dev- or local release of a version the constraint names: where a union's pieces meet."""
    parsed = PackagingVersion(version)
    named = {PackagingVersion(v).release for v in re.findall(r"\d+(?:\.\d+)*", constraint)}
    padded = {release + (0,) * (4 - len(release)) for release in named}
    return parsed.release + (0,) * (4 - len(parsed.release)) in padded and (
        parsed.is_prerelease or parsed.is_postrelease or parsed.local is not None
    )


def check_against_poetry(constraint: str) -> None:
    try:
        expected = _admitted_by_poetry(constraint)
    except ValueError:  # ParseConstraintError and friends: poetry rejects it, so must we
        with pytest.raises(_poetry.ConstraintError):
            _poetry.convert(constraint)
        return
    try:
        converted = _poetry.convert(constraint)
    except _poetry.ConstraintError as exc:
        assert "wildcard after a pre-" in str(exc), constraint
        return
    ours = _admitted_by_us(converted)
    if converted.note is not None:
        # Never narrower than Poetry: a version Poetry admits is never reported.
        assert all(o for o, e in zip(ours, expected) if e), constraint
        return
    differ = [v for v, o, e in zip(_GRID, ours, expected) if o != e]
    if "|" in constraint:
        assert all(e <= o for o, e in zip(ours, expected)), constraint
        assert all(_boundary(v, constraint) for v in differ), (constraint, differ)
    else:
        assert all(_excluded_post_release(v, constraint) for v in differ), (constraint, converted, differ)


@pytest.mark.parametrize("constraint", CONSTRAINTS)
def test_poetry_constraints_admit_what_poetry_core_admits(constraint: str) -> None:
    check_against_poetry(constraint)


_VERSIONS = st.builds(
    lambda release, pre: ".".join(map(str, release)) + pre,
    st.lists(st.integers(0, 3), min_size=1, max_size=4),
    st.sampled_from(["", "", "", "a1", "rc1", ".post1", ".dev0"]),
)
_SINGLE = st.builds(lambda op, v: op + v, st.sampled_from(_OPERATORS), _VERSIONS)
_AND = st.lists(_SINGLE, min_size=1, max_size=3).map(",".join)


@settings(max_examples=150, deadline=None)
@given(st.lists(_AND, min_size=1, max_size=3).map(" || ".join))
def test_generated_poetry_constraints(constraint: str) -> None:
    check_against_poetry(constraint)


def test_poetry_conversions_named_in_the_brief() -> None:
    assert _poetry.convert("^1.2.3").specifier == ">=1.2.3,<2.0.0"
    assert _poetry.convert("^0.2.3").specifier == ">=0.2.3,<0.3.0"
    assert _poetry.convert("^0.0.3").specifier == ">=0.0.3,<0.0.4"
    assert _poetry.convert("~1.2.3").specifier == ">=1.2.3,<1.3.0"
    assert _poetry.convert("~1").specifier == ">=1,<2"
    assert _poetry.convert("1.2.*").specifier == "==1.2.*"
    assert _poetry.convert("*") == _poetry.Converted(None, None)
    assert _poetry.convert("1.4") == _poetry.Converted("1.4", None)
    assert _poetry.convert(">=1 <2").specifier == ">=1,<2"
    assert _poetry.convert("^1 || ^2") == _poetry.Converted(None, ">=1,<3")
    assert _poetry.convert("<1.5 || >1.5").specifier == "!=1.5"
    assert _poetry.convert("1.0 || 2.0").note == "the union '1.0 || 2.0' is read as its hull '>=1.0,<=2.0'"


_PYTHONS = [
    "2.7.18",
    "3.0.0",
    "3.7.9",
    "3.8.0",
    "3.8.1",
    "3.8.5",
    "3.9.0",
    "3.9.2",
    "3.10.0",
    "3.10.4",
    "3.11.0",
    "3.12.1",
    "4.0.0",
    "4.1.0",
]
_ENVIRONMENTS = [
    {
        "python_full_version": p,
        "python_version": ".".join(p.split(".")[:2]),
        "sys_platform": s,
        "os_name": "posix",
        "platform_python_implementation": "CPython",
    }
    for p in _PYTHONS
    for s in ("linux", "darwin", "win32")
]


@pytest.mark.parametrize(
    "python",
    [
        "^3.8",
        "~3.8",
        ">=3.8",
        ">3.8",
        "<3.10",
        "<=3.10",
        "3.8",
        "==3.8.1",
        "!=3.8",
        ">=3.8.1",
        ">3.8.1",
        "<=3.10.4",
        "3.8.*",
        "!=3.8.*",
        "~2.7 || ^3.6",
        ">3.8 || <3.0",
        "*",
        ">=3.8,<3.11",
        "^3.8.1",
        "~=3.8",
    ],
)
@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"platform": "linux"},
        {"platform": "!=win32"},
        {"platform": "linux || darwin"},
        {"markers": "os_name == 'posix'"},
    ],
)
def test_poetry_markers_hold_where_poetry_cores_hold(python: str, extra: dict[str, str]) -> None:
    item = {"version": "^1", "python": python, **extra}
    expected = Factory.create_dependency("foo", item).marker
    ours = _poetry.dependency(item).marker
    for environment in _ENVIRONMENTS:
        theirs = True if expected.is_any() else expected.validate(environment)
        assert (Marker(ours).evaluate(environment) if ours else True) == theirs, (ours, str(expected), environment)


def test_poetry_tables_agree_with_poetry_core() -> None:
    """Each group's dependencies, as poetry-core's Factory reads the same file."""
    directory = PYPROJECT / "poetry-legacy"
    package = Factory().create_poetry(directory).package
    ours = by_environment(read("poetry-legacy"))
    tables = {
        "main": "[tool.poetry.dependencies]",
        "test": "[tool.poetry.group.test.dependencies]",
        "lint": "[tool.poetry.group.lint.dependencies]",
        "dev": "[tool.poetry.dev-dependencies]",
    }
    for group, table in tables.items():
        theirs = package.dependency_group(group).dependencies
        mine = ours[table]
        assert sorted(d.name for d in mine) == sorted(str(d.name) for d in theirs), group
        for dependency in theirs:
            candidates = [d for d in mine if d.name == str(dependency.name)]
            match = [d for d in candidates if _same_marker(d.marker, dependency.marker)]
            assert len(match) == 1, dependency
            declaration = match[0]
            if declaration.kind is Kind.REGISTRY:
                converted = _poetry.Converted(declaration.version, declaration.specifier)
                admitted = [dependency.constraint.allows(PoetryVersion.parse(v)) for v in _GRID]
                ours_admitted = _admitted_by_us(converted)
                assert all(o for o, e in zip(ours_admitted, admitted) if e), dependency
            assert declaration.kind == _kind_of(dependency), dependency
    orjson = next(d for d in ours[tables["main"]] if d.name == "orjson")
    assert orjson.groups == ("extra:fast",)
    legacy = next(d for d in ours[tables["main"]] if d.name == "legacy-client")
    assert legacy.specifier == ">=1.2,<3.0"


def test_poetry2_groups_agree_with_poetry_core() -> None:
    """Every group poetry-core reads from a Poetry 2 file, [project] beside [tool.poetry]."""
    package = Factory().create_poetry(PYPROJECT / "poetry2-groups").package
    ours = by_environment(read("poetry2-groups"))
    groups = package.dependency_group_names(include_optional=True)
    assert sorted(groups) == ["ci", "dev", "main", "release-runners", "test", "typing"]
    for group in groups:
        theirs = package.dependency_group(group).dependencies
        if group == "main":  # [project] dependencies and the extras' (optional) entries
            mine = [d for table, found in ours.items() if table.startswith("[project") for d in found]
        else:
            mine = ours[f"[tool.poetry.group.{group}.dependencies]"]
        assert sorted(d.name for d in mine) == sorted(str(d.name) for d in theirs), group
        for dependency in theirs:
            (declaration,) = [d for d in mine if d.name == str(dependency.name)]
            assert _same_marker(declaration.marker, dependency.marker), dependency
            admitted = [dependency.constraint.allows(PoetryVersion.parse(v)) for v in _GRID]
            converted = _poetry.Converted(declaration.version, declaration.specifier)
            assert _admitted_by_us(converted) == admitted, dependency
    # What locking applies from [tool.poetry.dependencies]: a source, and a narrower range.
    locking = {str(d.name): d for d in package.dependency_group("main").dependencies_for_locking}
    enriched = ours["[tool.poetry.dependencies]"]
    assert {d.name: locking[d.name].source_name for d in enriched} == {"requests": "internal", "dulwich": "internal"}
    for declaration in enriched:
        if declaration.specifier is not None:
            converted = _poetry.Converted(None, declaration.specifier)
            admitted = [locking[declaration.name].constraint.allows(PoetryVersion.parse(v)) for v in _GRID]
            assert _admitted_by_us(converted) == admitted


def _same_marker(ours: str | None, theirs: object) -> bool:
    for environment in _ENVIRONMENTS:
        mine = Marker(ours).evaluate(environment) if ours else True
        expected = True if theirs.is_any() else theirs.validate(environment)  # type: ignore[attr-defined]
        if mine != expected:
            return False
    return True


def _kind_of(dependency: object) -> Kind:
    source_type = getattr(dependency, "source_type", None)
    if source_type == "git":
        return Kind.EDITABLE if getattr(dependency, "develop", False) else Kind.VCS
    if source_type == "directory":
        return Kind.EDITABLE if getattr(dependency, "develop", False) else Kind.PATH
    if source_type == "file":
        return Kind.PATH
    if source_type == "url":
        return Kind.URL
    return Kind.REGISTRY


def test_poetry_beside_project_enriches_only(tmp_path: Path) -> None:
    text = """
        [project]
        name = "svc"
        dependencies = ["requests>=2"]
        [tool.poetry.dependencies]
        requests = { version = "^2.31", source = "internal" }
        flask = "^3"
    """
    loaded = pyproject.load(write(tmp_path / "pyproject.toml", text), "pyproject.toml")
    assert [(d.origin, d.name, d.specifier) for d in loaded.declarations] == [
        ("project", "requests", ">=2"),
        ("poetry", "requests", ">=2.31,<3.0"),
    ]
    assert [(w.line, w.message) for w in loaded.warnings] == [
        (6, "Poetry ignores 'flask': it is not in the [project] list it enriches")
    ]


def test_poetry_include_groups(tmp_path: Path) -> None:
    text = """
        [tool.poetry.group.lint.dependencies]
        ruff = "^0.6"
        [tool.poetry.group.ci]
        include-groups = ["lint"]
        [tool.poetry.group.ci.dependencies]
        tox = "^4"
    """
    loaded = pyproject.load(write(tmp_path / "pyproject.toml", text), "pyproject.toml")
    ci = [(d.line, d.name, d.groups) for d in loaded.declarations if ".ci." in d.environment]
    assert ci == [(2, "ruff", ("ci",)), (6, "tox", ("ci",))]


# ------------------------------------------------------------------------ the shared corpus, in place

# Other parsers' test data beside this repository (read in place, never copied here): the
# pyproject.toml files their tests read together with a lock file.
CORPUS_PYPROJECTS = sorted(CORPUS.glob("*/*/pyproject.toml")) if CORPUS.is_dir() else []


def _origin_reading(directory: Path) -> tuple[bool | None, set[str]]:
    """Whether the corpus's origin could use this pyproject.toml (None: it does not say), and what it found in it.

    An origin that reads the file says so in `semantics` ("with a sibling pyproject.toml ..."),
    marks a package `direct` when the file declares it (main or any group), and sets no
    relationship at all when the file is not usable.
    """
    expected = json.loads((directory / "expected.json").read_text("utf-8"))
    if "sibling pyproject.toml" not in expected["semantics"]:
        return None, set()
    relationships = {package.get("relationship") for package in expected["packages"]}
    direct = {package["name"] for package in expected["packages"] if package.get("relationship") == "direct"}
    return (relationships != {None}), direct


@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is not beside this repository")
@pytest.mark.parametrize("path", CORPUS_PYPROJECTS, ids=lambda path: path.parent.relative_to(CORPUS).as_posix())
def test_corpus_pyprojects_load_or_are_refused_cleanly(path: Path) -> None:
    shown = path.relative_to(CORPUS).as_posix()
    usable, direct = _origin_reading(path.parent)
    try:
        loaded = pyproject.load(path, shown)
    except SourceError as refused:
        assert usable is not True, f"the origin reads {shown}; envguard refused it: {refused}"
        assert refused.path == shown and refused.line is not None
        return
    assert usable is not False, f"the origin could not use {shown}; envguard read it"
    assert direct <= {d.name for d in loaded.declarations}


# ---------------------------------------------------------------------------- positions, speed


@pytest.mark.parametrize("name", ALL)
def test_positions_place_every_string_of_the_document(name: str) -> None:
    text = (PYPROJECT / name / "pyproject.toml").read_text()
    found = positions(text)
    lines = text.splitlines()

    def walk(value: object, path: tuple[str | int, ...]) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, (*path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, (*path, index))
        elif isinstance(value, str) and "\n" not in value and '"' not in value and "\\" not in value:
            line = found.exact(path)
            assert line is not None, path
            assert value in lines[line - 1] or isinstance(path[-1], str), (path, line)

    walk(parse_toml(text, "pyproject.toml"), ())


def test_positions_of_tricky_toml() -> None:
    text = '''a = """
[not.a.table]
x = "y"
"""
[t]
"quoted.key" = 1
b.c = [
  [1, 2], [],
  { d = "e" },  # comment ]
]
[[arr]]
x = 1
[[arr]]
x = 2
[[arr.sub]]
y = 'z'
'''
    found = positions(text)
    assert found.exact(("a",)) == 1
    assert found.exact(("not",)) is None
    assert found.exact(("t", "quoted.key")) == 6
    assert found.exact(("t", "b", "c", 2, "d")) == 9
    assert found.exact(("t", "b", "c", 1)) == 8
    assert found.exact(("arr", 1, "x")) == 14
    assert found.exact(("arr", 1, "sub", 0, "y")) == 16
    assert found.line(("t", "missing")) == 5
