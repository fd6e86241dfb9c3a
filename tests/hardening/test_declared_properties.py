"""Property-based tests for the declaration readers and inventory artifacts: damaged real files.

Seeds: every declaring file in tests/fixtures/declared and the example monorepo (pyproject,
setup.cfg, hatch, Pipfile, tox, nox, Dockerfiles, pre-commit, GitHub workflows, GitLab CI), and
an inventory artifact of the example monorepo written by `envguard inventory --format json`.
Each is damaged with the byte-level mutations of test_loaders_properties (truncation, flips,
duplicated and deleted lines, deep nesting, huge numbers, encodings, repetitions) and, for the
artifact, by replacing one JSON value anywhere in the document with a value of another type.

The outcome of each is a result or a SourceError whose str is one `path:line: message` line,
within TIME_LIMIT; and in a workspace, a damaged declaring file of one service leaves the other
services checked and reported.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from envguard.check import run_check
from envguard.declared import detect
from envguard.errors import SourceError
from envguard.inventory import LoadOptions
from envguard.model import Declaration, Loaded
from envguard.org.artifacts import read_artifact
from tests.hardening import FIXTURES, ROOT, assert_one_line, fuzz_settings, time_limit
from tests.hardening.test_loaders_properties import mutate, mutations

TIME_LIMIT = 5.0
EXAMPLE = ROOT / "examples" / "monorepo"


def _format(path: Path) -> str | None:
    if path.name == detect.GITLAB_CI:
        return "gitlab"
    if path.parent.as_posix().endswith(detect.GITHUB_WORKFLOWS) and path.suffix in (".yml", ".yaml"):
        return "github"
    return detect.format_for_name(path.name)


def _seeds() -> list[tuple[Path, Path, str]]:
    """(tree, file, format) of every declaring file under the seed trees, in a stable order."""
    found = []
    for tree in (FIXTURES / "declared", EXAMPLE):
        for path in sorted(tree.rglob("*")):
            fmt = _format(path)
            if fmt is not None and path.is_file() and ".envguard-cache" not in path.parts:
                found.append((tree, path, fmt))
    return found


SEEDS = _seeds()


class Trees:
    """Each seed tree copied once (includes, local actions and siblings come along); a damaged
    file is written over its copy and put back after the check."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.made: dict[Path, Path] = {}

    def copy_of(self, tree: Path) -> Path:
        if tree not in self.made:
            self.made[tree] = self.root / f"t{len(self.made)}"
            shutil.copytree(tree, self.made[tree], ignore=shutil.ignore_patterns(".envguard-cache"))
        return self.made[tree]

    def check(self, tree: Path, seed: Path, fmt: str, data: bytes) -> Loaded | SourceError:
        copy = self.copy_of(tree)
        relative = seed.relative_to(tree)
        path = copy / relative
        try:
            path.write_bytes(data)
            return _read(fmt, path, relative.as_posix())
        finally:
            shutil.copyfile(seed, path)


def _read(fmt: str, path: Path, shown: str) -> Loaded | SourceError:
    with time_limit(TIME_LIMIT):
        try:
            loaded = detect.load(fmt, path, shown)
        except SourceError as exc:
            assert_one_line(exc)
            return exc
    assert isinstance(loaded, Loaded) and loaded.packages == ()
    for declaration in loaded.declarations:
        assert isinstance(declaration, Declaration) and declaration.name
    for warning in loaded.warnings:
        assert_one_line(warning)
    return loaded


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> Trees:
    return Trees(tmp_path_factory.mktemp("trees"))


def test_seeds_cover_every_declaring_format() -> None:
    assert {fmt for _, _, fmt in SEEDS} == set(detect.READERS) - {"requirements"}


def test_the_seeds_read_unchanged(trees: Trees) -> None:
    """The baseline the damage starts from; a few fixtures are broken on purpose (parser cases)."""
    refused = [seed for tree, seed, fmt in SEEDS if isinstance(trees.check(tree, seed, fmt, seed.read_bytes()), SourceError)]
    assert len(refused) * 10 <= len(SEEDS), refused


@fuzz_settings(max_examples=320)
@given(seed=st.sampled_from(SEEDS), changes=st.lists(mutations, min_size=1, max_size=3))
def test_damaged_declaring_files(trees: Trees, seed: tuple[Path, Path, str], changes: list[tuple[Any, ...]]) -> None:
    tree, path, fmt = seed
    data = path.read_bytes()
    for change in changes:
        data = mutate(data, change)
    trees.check(tree, path, fmt, data)


# --------------------------------------------------------------------------- artifacts


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    from envguard.cli import main

    directory = tmp_path_factory.mktemp("artifact")
    workspace = directory / "monorepo"
    shutil.copytree(EXAMPLE, workspace, ignore=shutil.ignore_patterns(".envguard-cache"))
    output = directory / "inventory.json"
    assert main(["inventory", str(workspace), "--format", "json", "--output", str(output), "--no-cache"]) in (0, 2)
    return output.read_bytes()


_WRONG = st.sampled_from(
    (None, True, -1, 0, 2**70, 1e308, "", "x" * 5000, "a\nb", "::error::x", [], {}, [[[[[]]]]], {"a": {"b": {}}})
)


def _replace_one(document: Any, choices: list[int], value: Any) -> Any:
    """`document` with the value reached by following `choices` (indexes into the children met)
    replaced by `value`; stops where a scalar is reached."""
    if not choices or not isinstance(document, (dict, list)) or not document:
        return value
    keys = list(document) if isinstance(document, dict) else list(range(len(document)))
    key = keys[choices[0] % len(keys)]
    copy: Any = dict(document) if isinstance(document, dict) else list(document)
    copy[key] = _replace_one(document[key], choices[1:], value)
    return copy


def _read_artifact(path: Path) -> None:
    with time_limit(TIME_LIMIT):
        try:
            read_artifact(path, "inventory.json")
        except SourceError as exc:
            assert_one_line(exc)


@fuzz_settings(max_examples=60)
@given(changes=st.lists(mutations, min_size=1, max_size=3))
def test_damaged_artifact_bytes(tmp_path_factory: pytest.TempPathFactory, artifact: bytes, changes: list[tuple[Any, ...]]) -> None:
    data = artifact
    for change in changes:
        data = mutate(data, change)
    path = tmp_path_factory.mktemp("bytes") / "inventory.json"
    path.write_bytes(data)
    _read_artifact(path)


@fuzz_settings(max_examples=60)
@given(choices=st.lists(st.integers(0, 10_000), min_size=1, max_size=8), value=_WRONG)
def test_artifact_values_of_the_wrong_type(
    tmp_path_factory: pytest.TempPathFactory, artifact: bytes, choices: list[int], value: Any
) -> None:
    path = tmp_path_factory.mktemp("values") / "inventory.json"
    path.write_text(json.dumps(_replace_one(json.loads(artifact), choices, value)), encoding="utf-8")
    _read_artifact(path)


# --------------------------------------------------------------------------- end to end

SERVICE_SEEDS = [(tree, path, fmt) for tree, path, fmt in SEEDS if tree == EXAMPLE and "services" in path.parts]


@fuzz_settings(max_examples=20)
@given(seed=st.sampled_from(SERVICE_SEEDS), changes=st.lists(mutations, min_size=1, max_size=2))
def test_a_damaged_declaring_file_leaves_the_other_services_reported(
    trees: Trees, seed: tuple[Path, Path, str], changes: list[tuple[Any, ...]]
) -> None:
    tree, path, fmt = seed
    copy = trees.copy_of(tree)
    data = path.read_bytes()
    for change in changes:
        data = mutate(data, change)
    target = copy / path.relative_to(tree)
    damaged_service = path.relative_to(tree).parts[1]
    try:
        target.write_bytes(data)
        with time_limit(4 * TIME_LIMIT):
            result = run_check([copy], load=LoadOptions(cache=False, jobs=1))
    finally:
        shutil.copyfile(path, target)
    for diagnostic in (*result.errors, *result.warnings):
        assert_one_line(diagnostic)
    names = {service.name for service in result.inventory.services}
    assert {"billing", "orders", "gateway"} - {damaged_service} <= names
