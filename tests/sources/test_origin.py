"""Package.source and Package.hashed of every record format, on the real fixtures with a second
index, a VCS, a URL and a path dependency (tests/fixtures/*/sources, see each GENERATED.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from envguard.model import Package
from envguard.sources import _origin, freeze, pdm, pip_json, pipfile, poetry, pylock, requirements, uv
from tests.kit import FIXTURES

INTERNAL = "https://pypi.internal.example.com/simple"
PYPI = "https://pypi.example.com/simple"
WIDGETS = "git+https://git.example.com/acme/widgets"
INICONFIG = (
    "https://files.example.com/packages/2c/e1/e6716421ea10d38022b952c159d5161ca1193197fb744506875fbb87ea7b/"
    "iniconfig-2.1.0-py3-none-any.whl"
)


def _rows(packages: tuple[Package, ...]) -> dict[str, tuple[str, str | None, bool | None]]:
    return {p.name: (p.kind.value, p.source, p.hashed) for p in packages}


def test_uv_lock() -> None:
    path = FIXTURES / "uv" / "sources" / "uv.lock"
    assert _rows(uv.load(path, "uv.lock").packages) == {
        "acme-local": ("path", "libs/acme-local", None),
        "acme-widgets": ("vcs", WIDGETS, None),  # `?tag=v1#<commit>` is the revision, not the place
        "billing": ("local project", None, None),
        "idna": ("registry", PYPI, True),
        "iniconfig": ("url", INICONFIG, True),
        "six": ("registry", INTERNAL, True),
    }


def test_uv_export_to_pylock() -> None:
    path = FIXTURES / "uv" / "sources" / "pylock.toml"
    assert _rows(pylock.load(path, "pylock.toml").packages) == {
        "acme-local": ("path", "libs/acme-local", None),
        "acme-widgets": ("vcs", WIDGETS, None),
        "idna": ("registry", PYPI, True),
        "iniconfig": ("url", INICONFIG, True),
        "six": ("registry", INTERNAL, True),
    }


def test_pip_lock_names_no_index() -> None:
    packages = pylock.load(FIXTURES / "pip" / "lock" / "pylock.toml", "pylock.toml").packages
    registry = [p for p in packages if p.kind.value == "registry"]
    assert registry and {(p.source, p.hashed) for p in registry} == {(None, True)}


def test_uv_export_to_requirements() -> None:
    path = FIXTURES / "uv" / "sources" / "export.txt"
    rows = _rows(requirements.load(path, "export.txt").packages)
    # The export names no index: pip's configuration decides, which the file does not say.
    assert rows == {
        "acme-local": ("path", "./libs/acme-local", None),
        "acme-widgets": ("vcs", WIDGETS, None),
        "idna": ("registry", None, True),
        "iniconfig": ("url", INICONFIG, True),
        "six": ("registry", None, True),
    }


def test_poetry_lock() -> None:
    path = FIXTURES / "poetry" / "sources" / "poetry.lock"
    assert _rows(poetry.load(path, "poetry.lock").packages) == {
        "acme-local": ("path", "libs/acme-local", None),
        "acme-widgets": ("vcs", WIDGETS + ".git", None),
        # Poetry writes no [package.source] for PyPI itself: the real PyPI, whatever the fixture's hosts.
        "idna": ("registry", "https://pypi.org/simple", True),
        "iniconfig": ("url", INICONFIG, True),
        "six": ("registry", INTERNAL, True),
    }


def test_poetry_before_lock_version_2_keeps_hashes_in_metadata_files() -> None:
    path = FIXTURES / "poetry" / "poetry11-lock11" / "poetry.lock"
    packages = poetry.load(path, "poetry.lock").packages
    assert packages and all(p.hashed is True for p in packages)


def test_pipfile_lock() -> None:
    path = FIXTURES / "pipenv" / "sources" / "Pipfile.lock"
    assert _rows(pipfile.load(path, "Pipfile.lock").packages) == {
        "acme-widgets": ("vcs", WIDGETS + ".git", None),
        "idna": ("registry", PYPI, True),  # index = "pypi"
        "six": ("registry", "http://pypi.internal.example.com/simple", True),  # index = "internal"
    }


def test_pipfile_lock_without_index_takes_the_first_source(tmp_path: Path) -> None:
    """pipenv installs a package that names no index from the first source only."""
    meta = {"sources": [{"name": "a", "url": "https://a.example.com/simple/"}, {"name": "b", "url": "https://b.example.com/simple"}]}
    default = {"x": {"version": "==1"}, "y": {"version": "==1", "index": "b"}, "z": {"version": "==1", "index": "gone"}}
    path = tmp_path / "Pipfile.lock"
    path.write_text(json.dumps({"_meta": meta, "default": default}), encoding="utf-8")
    assert {p.name: p.source for p in pipfile.load(path, "Pipfile.lock").packages} == {
        "x": "https://a.example.com/simple",
        "y": "https://b.example.com/simple",
        "z": None,  # an index no source names: the lock does not say where it points
    }
    path.write_text(json.dumps({"_meta": {}, "default": {"x": {"version": "==1"}}}), encoding="utf-8")
    assert [p.source for p in pipfile.load(path, "Pipfile.lock").packages] == ["https://pypi.org/simple"]


def test_pdm_indexes_come_from_the_pyproject_sources() -> None:
    """pdm.lock says no index; `[[tool.pdm.source]] include_packages = ["six"]` sends six to the
    internal index only, and everything else to PyPI, which no source replaces here."""
    path = FIXTURES / "pdm" / "sources" / "pdm.lock"
    assert _rows(pdm.load(path, "pdm.lock").packages) == {
        "acme-local": ("path", "./libs/acme-local", None),
        "acme-widgets": ("vcs", WIDGETS + ".git", None),
        "idna": ("registry", "https://pypi.org/simple", True),
        "six": ("registry", INTERNAL, True),
    }
    # A source named pypi replaces PyPI.
    replaced = pdm.load(FIXTURES / "pdm" / "groups-lock45" / "pdm.lock", "pdm.lock").packages
    assert {p.source for p in replaced} == {PYPI}


@pytest.mark.parametrize(
    ("sources", "expected"),
    [
        ("", "https://pypi.org/simple"),
        ('[[tool.pdm.source]]\nname = "extra"\nurl = "https://x.example.com/simple"\n', "https://pypi.org/simple https://x.example.com/simple"),
        ('[[tool.pdm.source]]\nname = "x"\nurl = "https://x.example.com/simple"\ninclude_packages = ["s*"]\n', "https://x.example.com/simple"),
        ('[[tool.pdm.source]]\nname = "x"\nurl = "https://x.example.com/simple"\ninclude_packages = ["other"]\n', "https://pypi.org/simple"),
        ('[[tool.pdm.source]]\nname = "x"\nurl = "https://x.example.com/simple"\nexclude_packages = ["six"]\n', "https://pypi.org/simple"),
    ],
)
def test_pdm_sources_select_indexes_per_package(tmp_path: Path, sources: str, expected: str) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "1"\n' + sources, encoding="utf-8")
    lock = tmp_path / "pdm.lock"
    lock.write_text('[metadata]\nlock_version = "4.5.0"\n\n[[package]]\nname = "six"\nversion = "1.17.0"\n', encoding="utf-8")
    (package,) = pdm.load(lock, "pdm.lock").packages
    assert package.source == expected


def test_pdm_lock_without_a_pyproject_says_no_index(tmp_path: Path) -> None:
    lock = tmp_path / "pdm.lock"
    lock.write_text('[metadata]\nlock_version = "4.5.0"\n\n[[package]]\nname = "six"\nversion = "1.17.0"\n', encoding="utf-8")
    assert [p.source for p in pdm.load(lock, "pdm.lock").packages] == [None]


def test_pip_compile_with_two_indexes() -> None:
    path = FIXTURES / "pip-tools" / "sources" / "requirements.txt"
    # --extra-index-url: pip takes each package from whichever index offers the best version.
    assert _rows(requirements.load(path, "requirements.txt").packages) == {
        "acme-widgets": ("vcs", WIDGETS + ".git", None),
        "idna": ("registry", f"{INTERNAL} {PYPI}", True),
        "six": ("registry", f"{INTERNAL} {PYPI}", True),
    }


def test_freeze_and_inspect() -> None:
    directory = FIXTURES / "pip" / "sources-freeze"
    assert _rows(freeze.load(directory / "freeze.txt", "freeze.txt").packages) == {
        "acme-widgets": ("vcs", WIDGETS + ".git", None),
        "iniconfig": ("url", INICONFIG, None),  # without its #sha256= fragment
        "six": ("registry", None, None),
    }
    inspected = _rows(pip_json.load_inspect(directory / "pip-inspect.json", "pip-inspect.json").packages)
    assert inspected["acme-widgets"] == ("vcs", WIDGETS + ".git", None)
    assert inspected["iniconfig"] == ("url", INICONFIG, None)
    assert inspected["six"] == ("registry", None, None)


@pytest.mark.parametrize(
    ("lines", "source"),
    [
        ("-i https://a.example.com/simple/\nsix==1.0\n", "https://a.example.com/simple"),
        ("--index-url https://a.example.com/simple\n--index-url https://b.example.com/simple\nsix==1.0\n", "https://b.example.com/simple"),
        ("--extra-index-url https://b.example.com/simple\nsix==1.0\n", "https://b.example.com/simple"),
        ("--no-index\n--find-links ./wheels\nsix==1.0\n", "./wheels"),
        ("six==1.0\n", None),
    ],
)
def test_requirements_index_options(tmp_path: Path, lines: str, source: str | None) -> None:
    path = tmp_path / "requirements.txt"
    path.write_text(lines, encoding="utf-8")
    (package,) = requirements.load(path, "requirements.txt").packages
    assert (package.source, package.hashed) == (source, False)


def test_requirements_index_options_of_an_included_file_apply_to_every_entry(tmp_path: Path) -> None:
    (tmp_path / "base.txt").write_text("--index-url https://a.example.com/simple\n", encoding="utf-8")
    path = tmp_path / "requirements.txt"
    path.write_text("six==1.0 --hash=sha256:" + "a" * 64 + "\n-r base.txt\n", encoding="utf-8")
    (package,) = requirements.load(path, "requirements.txt").packages
    assert (package.source, package.hashed) == ("https://a.example.com/simple", True)


@pytest.mark.parametrize(
    ("spell", "written", "expected"),
    [
        (_origin.index, "https://pypi.org/simple/", "https://pypi.org/simple"),
        (_origin.index, "https://user:secret@host.example.com/simple", "https://***@host.example.com/simple"),
        (_origin.vcs, "https://github.com/acme/lib?rev=v1#0123abc", "git+https://github.com/acme/lib"),
        (_origin.vcs, "git+ssh://git@github.com/acme/lib.git@v1#egg=lib", "git+ssh://git@github.com/acme/lib.git"),
        (_origin.vcs, "git+https://tok@github.com/acme/lib@v1", "git+https://***@github.com/acme/lib"),
        (_origin.archive, "https://h.example.com/x-1.0.tar.gz#sha256=00", "https://h.example.com/x-1.0.tar.gz"),
        (_origin.path, "file:///${PROJECT_ROOT}/libs/a", "./libs/a"),
        (_origin.path, "../libs/a", "../libs/a"),
    ],
)
def test_one_spelling_for_every_format(spell: object, written: str, expected: str) -> None:
    assert spell(written) == expected  # type: ignore[operator]


def test_hg_checkout_keeps_its_tool() -> None:
    assert _origin.vcs("https://hg.example.com/lib", "hg") == "hg+https://hg.example.com/lib"


def test_sources_are_shared_strings() -> None:
    first = uv.load(FIXTURES / "uv" / "sources" / "uv.lock", "a").packages
    second = poetry.load(FIXTURES / "poetry" / "sources" / "poetry.lock", "b").packages
    six = [p.source for p in (*first, *second) if p.name == "six"]
    assert six[0] is six[1] is sys.intern(INTERNAL)
