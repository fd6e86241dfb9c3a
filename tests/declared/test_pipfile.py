"""envguard.declared.pipfile: the Pipfile manifest."""

from __future__ import annotations

from pathlib import Path

import pytest

from envguard.declared import pipfile
from envguard.errors import SourceError
from envguard.model import Kind
from tests.kit import FIXTURES, write

PIPENV = FIXTURES / "pipenv" / "categories" / "Pipfile"  # written by pipenv (see its GENERATED.md)


def test_pipenv_written_pipfile() -> None:
    loaded = pipfile.load(PIPENV, "Pipfile")
    summary = [(d.line, d.environment, d.name, d.version, d.specifier, d.marker, d.groups) for d in loaded.declarations]
    assert summary == [
        (7, "Pipfile [packages]", "requests", None, ">=2.31", None, ("main",)),
        (8, "Pipfile [packages]", "jinja2", None, None, None, ("main",)),
        (9, "Pipfile [packages]", "pyyaml", None, ">=6.0", 'sys_platform == "linux"', ("main",)),
        (12, "Pipfile [dev-packages]", "pytest", None, ">=8,<9", None, ("dev",)),
        (13, "Pipfile [dev-packages]", "pytest-cov", None, None, None, ("dev",)),
        (14, "Pipfile [dev-packages]", "pytest-xdist", None, ">=3.5", None, ("dev",)),
        (17, "Pipfile [docs]", "markdown", None, ">=3.6", None, ("docs",)),
    ]
    assert {d.origin for d in loaded.declarations} == {"pipfile"}
    assert loaded.declarations[5].requirement == 'pytest-xdist = {version = ">=3.5", extras = ["psutil"]}'


def test_entry_forms(tmp_path: Path) -> None:
    path = write(
        tmp_path / "Pipfile",
        """
        [packages]
        a = "==1.0"
        b = "2.1"
        c = {git = "https://git.example.com/c.git", ref = "v1", editable = true}
        d = {path = "./libs/d"}
        e = {file = "https://files.example.com/e-1.0.tar.gz"}
        f = {version = "*", index = "internal", sys_platform = "== 'win32'", markers = "python_version >= '3.9'"}
        g = {git = "https://git.example.com/g.git"}
        [scripts]
        test = "pytest"
        [requires]
        python_version = "3.12"
    """,
    )
    loaded = pipfile.load(path, "Pipfile")
    assert [(d.name, d.version, d.kind, d.marker) for d in loaded.declarations] == [
        ("a", "1.0", Kind.REGISTRY, None),
        ("b", "2.1", Kind.REGISTRY, None),
        ("c", None, Kind.EDITABLE, None),
        ("d", None, Kind.PATH, None),
        ("e", None, Kind.URL, None),
        ("f", None, Kind.REGISTRY, 'python_version >= "3.9" and sys_platform == "win32"'),
        ("g", None, Kind.VCS, None),
    ]


@pytest.mark.parametrize(
    "text, line, message",
    [
        ('[packages]\na = ">>1"\n', 2, "invalid version '>>1' of package 'a'"),
        ("[packages]\na = 1\n", 2, "must be a version string or a table"),
        ('[packages]\na = {version = "*", markers = "nonsense"}\n', 2, "invalid marker"),
        ('packages = ["a"]\n', 1, "must be a table of packages"),
    ],
)
def test_errors(tmp_path: Path, text: str, line: int, message: str) -> None:
    with pytest.raises(SourceError) as caught:
        pipfile.load(write(tmp_path / "Pipfile", text), "Pipfile")
    assert (caught.value.line, message in caught.value.message) == (line, True), caught.value.message
