"""envguard.declared.setupcfg, checked against setuptools' own reading (setuptools-read.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from envguard.declared import setupcfg
from envguard.errors import SourceError
from tests.kit import FIXTURES, write

BASIC = FIXTURES / "declared" / "setupcfg" / "basic"


def test_matches_setuptools_read_configuration() -> None:
    expected = json.loads((BASIC / "setuptools-read.json").read_text())
    loaded = setupcfg.load(BASIC / "setup.cfg", "setup.cfg")
    main = [d for d in loaded.declarations if d.environment == "setup.cfg [options] install_requires"]
    assert [d.requirement for d in main] == expected["install_requires"]
    assert [(d.line, d.origin, d.groups) for d in main] == [
        (10, "setup-cfg", ("main",)),
        (13, "setup-cfg", ("main",)),
        (14, "setup-cfg", ("main",)),
        (16, "setup-cfg", ("main",)),
    ]
    for extra, requirements in expected["extras_require"].items():
        got = [
            d.requirement for d in loaded.declarations if d.environment == f"setup.cfg [options.extras_require] {extra}"
        ]
        assert sorted(got) == sorted(requirements), extra
    assert loaded.included == ("requirements-docs.txt",)
    importlib_metadata = next(d for d in main if d.name == "importlib-metadata")
    assert (importlib_metadata.specifier, importlib_metadata.marker) == (">=6", 'python_version < "3.10"')


def test_a_one_line_value_is_split_at_semicolons(tmp_path: Path) -> None:
    path = write(tmp_path / "setup.cfg", '[options]\ninstall_requires = foo; python_version<"3.8"\n')
    with pytest.raises(SourceError) as caught:
        setupcfg.load(path, "setup.cfg")
    assert caught.value.line == 2 and "invalid requirement 'python_version<\"3.8\"'" in caught.value.message


@pytest.mark.parametrize(
    "text, line, message",
    [
        ("[options]\ninstall_requires =\n    ok\n    not valid!\n", 4, "invalid requirement 'not valid!'"),
        ("[options]\ninstall_requires = a\ninstall_requires = b\n", 3, "invalid setup.cfg"),
        ("[options]\ninstall_requires = file: ../x.txt\n", 2, "outside the project directory"),
    ],
)
def test_errors(tmp_path: Path, text: str, line: int, message: str) -> None:
    with pytest.raises(SourceError) as caught:
        setupcfg.load(write(tmp_path / "setup.cfg", text), "setup.cfg")
    assert (caught.value.line, message in caught.value.message) == (line, True), caught.value.message


def test_nothing_declared(tmp_path: Path) -> None:
    assert (
        setupcfg.load(write(tmp_path / "setup.cfg", "[flake8]\nmax-line-length = 100\n"), "setup.cfg").declarations
        == ()
    )
