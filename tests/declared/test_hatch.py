"""envguard.declared.hatch: hatch environments, checked against `hatch env show --json`."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from envguard.declared import hatch, pyproject
from envguard.errors import SourceError
from envguard.model import Declaration, Kind, Loaded
from tests.kit import FIXTURES, write

HATCH = FIXTURES / "declared" / "hatch"
INTERNAL = (
    "hatch-build",
    "hatch-check-code",
    "hatch-check-fmt",
    "hatch-check-types",
    "hatch-static-analysis",
    "hatch-test",
    "hatch-uv",
)


def read(directory: Path) -> Loaded:
    if (directory / "hatch.toml").is_file():
        return hatch.load(directory / "hatch.toml", "hatch.toml")
    return pyproject.load(directory / "pyproject.toml", "pyproject.toml")


def hatch_environments(loaded: Loaded) -> dict[str, list[Declaration]]:
    """Declarations by hatch environment name (the generated name, else the table's)."""
    found: dict[str, list[Declaration]] = defaultdict(list)
    for declaration in loaded.declarations:
        if declaration.origin != "hatch":
            continue
        table, _, generated = declaration.environment.partition("] ")
        found[generated or table.rsplit(".", 1)[-1].rstrip("]")].append(declaration)
    return found


def project_extras(directory: Path) -> dict[str, set[str]]:
    """What each extra installs, expanded as hatch's resolve_extras does (one level suffices here)."""
    from envguard.sources._toml import parse_toml

    data = parse_toml((directory / "pyproject.toml").read_text(), "pyproject.toml")
    return {key.lower(): set(value) for key, value in data.get("project", {}).get("optional-dependencies", {}).items()}


@pytest.mark.parametrize("name", ["matrix-overrides", "hatch-toml", "internal-envs"])
def test_dependency_sets_match_hatch_env_show(name: str) -> None:
    directory = HATCH / name
    shown = json.loads((directory / "env-show.json").read_text())
    ours = hatch_environments(read(directory))
    features = project_extras(directory)
    project = _document(directory)["project"]
    assert isinstance(project, dict)
    for env_name, config in shown.items():
        if env_name.split(".")[0] in INTERNAL:
            continue  # hatch's own defaults; checked below for what the file adds
        own = {
            d.requirement
            for d in ours.get(env_name, [])
            if d.path.endswith(("pyproject.toml", "hatch.toml"))
            and "[project.optional-dependencies]" not in _table_of(directory, d)
        }
        expected = set(config.get("dependencies", [])) | set(config.get("extra-dependencies", []))
        for feature in config.get("features", []):
            expected |= _resolve_extras(features, feature.lower(), set(), project["name"])
        for group in config.get("dependency-groups", []):
            import dependency_groups

            data = json.loads(json.dumps(_document(directory)["dependency-groups"]))
            expected.update(dependency_groups.resolve(data, group))
        got = {d.requirement for d in ours.get(env_name, []) if d.kind is not Kind.LOCAL_PROJECT}
        # hatch writes an override's value back through packaging (`numpy<2,>=1.26`).
        assert _canonical(got) == _canonical(expected), env_name
        assert own <= got
    for env_name in ours:
        assert env_name in shown or env_name in INTERNAL, env_name


def _canonical(requirements: set[str]) -> set[str]:
    from packaging.requirements import Requirement

    return {str(Requirement(requirement)) for requirement in requirements}


def _resolve_extras(extras: dict[str, set[str]], extra: str, seen: set[str], project: str) -> set[str]:
    """hatch's resolve_extras: `demo[a,b]` inside an extra of demo stands for those extras."""
    from packaging.requirements import Requirement

    seen.add(extra)
    found: set[str] = set()
    for requirement in extras[extra]:
        parsed = Requirement(requirement)
        if parsed.name == project:
            for nested in parsed.extras - seen:
                found |= _resolve_extras(extras, nested, seen, project)
        else:
            found.add(requirement)
    return found


def _table_of(directory: Path, declaration: Declaration) -> str:
    lines = (directory / declaration.path).read_text().splitlines()
    header = next((line for line in reversed(lines[: declaration.line]) if line.startswith("[")), "")
    return header


def _document(directory: Path) -> dict[str, object]:
    from envguard.sources._toml import parse_toml

    return parse_toml((directory / "pyproject.toml").read_text(), "pyproject.toml")


def test_internal_environments_declare_what_the_file_adds() -> None:
    directory = HATCH / "internal-envs"
    shown = json.loads((directory / "env-show.json").read_text())
    loaded = read(directory)
    ours = hatch_environments(loaded)
    features = project_extras(directory)
    # hatch-test: the file's extra-dependencies and feature, not hatch's own pytest pins.
    added = {(d.path, d.line, d.requirement) for d in ours["hatch-test"]}
    assert added == {
        ("hatch.toml", 15, "hypothesis>=6.115"),
        ("hatch.toml", 16, "pytest-benchmark>=4.0"),
        ("hatch.toml", 17, "shapely>=2.0"),
        ("pyproject.toml", 22, "matplotlib>=3.9"),  # feature `plot`
    }
    runs = [name for name in shown if name.startswith("hatch-test.")]
    assert "hatch-test.py3.12" in runs  # hatch's built-in matrix, one environment per Python
    for env_name in runs:
        config = shown[env_name]
        installs = set(config["dependencies"]) | set(config["extra-dependencies"])
        for feature in config["features"]:
            installs |= _resolve_extras(features, feature, set(), "sextant")
        assert {requirement for _, _, requirement in added} <= installs, env_name
    # hatch fmt's environment: the file's ruff pin replaces hatch's.
    assert [(d.line, d.requirement) for d in ours["hatch-static-analysis"]] == [(28, "ruff==0.7.1")]
    assert shown["hatch-static-analysis"]["dependencies"] == ["ruff==0.7.1"]
    assert [(w.path, w.line, w.message) for w in loaded.warnings] == [
        (
            "hatch.toml",
            23,
            "override of `extra-dependencies` for platform 'windows' depends on the machine hatch runs on: not applied",
        )
    ]


def test_inheritance_matrices_and_features_beside_a_pyproject() -> None:
    loaded = read(HATCH / "internal-envs")
    ours = {
        name: sorted((d.path, d.line, d.requirement) for d in found)
        for name, found in hatch_environments(loaded).items()
    }
    cli = [("pyproject.toml", 19, "click>=8.1.7"), ("pyproject.toml", 20, "rich>=13.9")]
    ipython = ("hatch.toml", 6, "ipython>=8.28")
    assert ours["default"] == [ipython, *cli]
    # docs names default as its template: its extra-dependencies, its own feature (with a self-reference).
    assert ours["docs"] == [
        ipython,
        ("pyproject.toml", 22, "matplotlib>=3.9"),
        ("pyproject.toml", 24, "mkdocs-material>=9.5"),
        ("pyproject.toml", 25, "mkdocstrings[python]>=0.26"),
        ("pyproject.toml", 26, "sextant[plot]"),
    ]
    # types replaces default's extra-dependencies and adds a dependency group.
    assert ours["types"] == [
        ("hatch.toml", 31, "types-shapely>=2.0"),
        *cli,
        ("pyproject.toml", 34, "mypy>=1.13"),
        ("pyproject.toml", 35, "pandas-stubs>=2.2"),
    ]
    integration = [
        ("hatch.toml", 51, "pooch>=1.8"),
        ("hatch.toml", 52, "pytest>=8.3"),
        ("hatch.toml", 53, "pytest-xdist>=3.6"),
    ]
    assert ours["integration.py3.12-1"] == sorted([ipython, *integration, ("hatch.toml", 62, "numpy>=1.26,<2"), *cli])
    assert ours["integration.py3.13-2"] == sorted(
        [ipython, *integration, ("hatch.toml", 63, "numpy>=2.1"), *cli, ("pyproject.toml", 22, "matplotlib>=3.9")]
    )
    # bench's template is integration: its dependencies, not its matrix or what the matrix overrides add.
    assert ours["bench"] == sorted([*integration, ("hatch.toml", 70, "pytest-benchmark>=4.0"), *cli])
    assert ours["lint"] == [("hatch.toml", 78, "pre-commit>=4.0"), ("hatch.toml", 79, "codespell>=2.3")]
    assert "integration" not in ours  # only the generated environments exist
    assert loaded.included == ("pyproject.toml",)
    # pyproject.toml has no [tool.hatch.envs]: it declares its own tables only, no hatch environment.
    beside = pyproject.load(HATCH / "internal-envs" / "pyproject.toml", "pyproject.toml")
    assert {d.origin for d in beside.declarations} == {"project", "dependency-groups"}
    assert beside.warnings == ()


def test_labels_lines_and_warnings() -> None:
    loaded = read(HATCH / "matrix-overrides")
    by_label = defaultdict(list)
    for declaration in loaded.declarations:
        by_label[declaration.environment].append((declaration.line, declaration.requirement))
    assert sorted(by_label["pyproject.toml [tool.hatch.envs.test] test.py3.11-a"]) == [
        (12, "pytest>=8"),
        (13, "pytest-cov"),
        (19, "coverage[toml]>=7"),
        (23, "pytest-xdist"),
        (34, "bar"),
        (34, "foo==1"),
    ]
    assert sorted(by_label["pyproject.toml [tool.hatch.envs.lint]"]) == [(48, "mypy==1.11.2"), (48, "ruff>=0.5")]
    assert sorted(by_label["pyproject.toml [tool.hatch.envs.test] test.py3.13-5"]) == [
        (12, "pytest>=8"),
        (13, "pytest-cov"),
        (15, "mkdocs>=1.6"),
        (16, "demo[test,docs]"),
        (19, "coverage[toml]>=7"),
        (23, "pytest-xdist"),
        (37, "django~=5.0"),
    ]
    messages = sorted((w.line, w.message) for w in loaded.warnings)
    assert messages == [
        (
            40,
            "override of `extra-dependencies` for platform 'windows' depends on the machine hatch runs on: not applied",
        ),
        (59, "override of `dependencies` depends on the platform hatch runs on: not applied"),
    ]
    assert all(d.origin == "hatch" and d.groups == () for d in loaded.declarations if "hatch" in d.environment)


def test_hatch_toml_replaces_tool_hatch_envs_of_pyproject() -> None:
    loaded = pyproject.load(HATCH / "hatch-toml" / "pyproject.toml", "pyproject.toml")
    assert not [d for d in loaded.declarations if d.origin == "hatch"]
    assert [(w.line, w.message) for w in loaded.warnings] == [
        (17, "hatch.toml defines the hatch environments: [tool.hatch.envs] here is not used")
    ]
    assert "hatch.toml" in loaded.included
    from_toml = hatch.load(HATCH / "hatch-toml" / "hatch.toml", "hatch.toml")
    assert from_toml.included == ("pyproject.toml",)
    features = [d for d in from_toml.declarations if d.environment == "hatch.toml [envs.default]"]
    assert [(d.path, d.line, d.name) for d in features] == [
        ("hatch.toml", 3, "coverage"),
        ("pyproject.toml", 11, "pytest"),
        ("pyproject.toml", 11, "pytest-asyncio"),
    ]


@pytest.mark.parametrize(
    "text, line, message",
    [
        ('[tool.hatch.envs.a]\ntemplate = "b"\n', 2, "environment 'a' has an unknown template 'b'"),
        (
            '[tool.hatch.envs.a]\ntemplate = "b"\n[tool.hatch.envs.b]\ntemplate = "a"\n',
            None,
            "circular hatch template inheritance",
        ),
        ('[tool.hatch.envs.a]\ndependencies = "x"\n', 2, "must be an array of strings"),
        ('[tool.hatch.envs.a]\ndependencies = ["x y"]\n', 2, "invalid requirement 'x y'"),
        ('[[tool.hatch.envs.a.matrix]]\npy = ["3.1", "3.1"]\n', 2, "repeats a value"),
    ],
)
def test_errors(tmp_path: Path, text: str, line: int | None, message: str) -> None:
    path = write(tmp_path / "pyproject.toml", text)
    with pytest.raises(SourceError) as caught:
        pyproject.load(path, "pyproject.toml")
    assert message in caught.value.message
    if line is not None:
        assert caught.value.line == line


def test_context_formatting_is_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path / "pyproject.toml", '[tool.hatch.envs.a]\ndependencies = ["lib @ {root:uri}/lib", "x"]\n')
    loaded = pyproject.load(path, "pyproject.toml")
    assert [d.name for d in loaded.declarations] == ["x"]
    assert [w.line for w in loaded.warnings] == [2]
