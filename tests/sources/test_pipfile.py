from __future__ import annotations

import json
from pathlib import Path

import pytest

from envguard.errors import SourceError
from envguard.model import DEV, MAIN, Kind, Package, normalize
from envguard.sources.pipfile import load
from tests.corpus import Case, cases

SHOWN = "svc/Pipfile.lock"
EXAMPLE_INDEX = "https://pypi.example.com/simple"

# Written for this test after the example in the research notes: every entry kind pipenv writes.
EXAMPLE = """\
{
    "_meta": {
        "hash": {"sha256": "0123abcd"},
        "pipfile-spec": 6,
        "requires": {"python_version": "3.11"},
        "sources": [{"name": "pypi", "url": "https://pypi.example.com/simple", "verify_ssl": true}]
    },
    "default": {
        "requests": {
            "extras": ["socks"],
            "hashes": ["sha256:58cd2187c01e70e6e26505bca751777aa9f2ee0b7f4300988b709f44e013003f"],
            "index": "pypi",
            "markers": "python_version >= '3.7'",
            "version": "==2.31.0"
        },
        "widgets": {"git": "https://github.com/acme/widgets.git", "ref": "5f1c0a7d3e0e4b2a9c0e6b6f2a1d3c4b5e6f7a8b"},
        "myapp": {"editable": true, "path": "."}
    },
    "develop": {
        "pytest": {"hashes": [], "index": "pypi", "version": "==7.4.4"}
    },
    "Docs_Extra": {
        "sphinx": {"hashes": [], "index": "pypi", "version": "==7.2.6"}
    }
}
"""


def _load(tmp_path: Path, text: str) -> tuple[Package, ...]:
    path = tmp_path / "Pipfile.lock"
    path.write_text(text, encoding="utf-8", newline="")
    return load(path, SHOWN).packages


def _error(tmp_path: Path, text: str) -> str:
    path = tmp_path / "Pipfile.lock"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SourceError) as raised:
        load(path, SHOWN)
    return str(raised.value)


def _lock(default: object, develop: object = None) -> str:
    return json.dumps({"_meta": {}, "default": default, "develop": develop or {}}, indent=4)


def _package(
    name: str,
    version: str | None,
    line: int,
    *,
    kind: Kind = Kind.REGISTRY,
    groups: tuple[str, ...] = (MAIN,),
    marker: str | None = None,
    source: str | None = "https://pypi.org/simple",
    hashed: bool | None = False,
) -> Package:
    return Package(normalize(name), version, kind, groups, marker, SHOWN, line, source=source, hashed=hashed)


def test_every_entry_kind_of_the_example(tmp_path: Path) -> None:
    assert _load(tmp_path, EXAMPLE) == (
        _package("requests", "2.31.0", 9, marker="python_version >= '3.7'", source=EXAMPLE_INDEX, hashed=True),
        _package("widgets", None, 16, kind=Kind.VCS, source="git+https://github.com/acme/widgets.git", hashed=None),
        _package("myapp", None, 17, kind=Kind.EDITABLE, source=".", hashed=None),
        _package("pytest", "7.4.4", 20, groups=(DEV,), source=EXAMPLE_INDEX),
        _package("sphinx", "7.2.6", 23, groups=("docs-extra",), source=EXAMPLE_INDEX),
    )


@pytest.mark.parametrize(
    ("written", "version", "specifier"),
    [
        ("==2.31.0", "2.31.0", None),
        ("== 2.31.0 ", "2.31.0", None),
        ("===2.31.0-custom", "2.31.0-custom", None),
        ("2.31.0", "2.31.0", None),  # pipenv reads a bare version as ==
        ("==2.*", None, "==2.*"),
        (">=2.0,<3", None, ">=2.0,<3"),
        ("~=2.31", None, "~=2.31"),
        ("==2.0,!=2.1", None, "==2.0,!=2.1"),
        ("*", None, None),
        ("", None, None),
    ],
)
def test_version_is_kept_only_for_exact_pins(
    tmp_path: Path, written: str, version: str | None, specifier: str | None
) -> None:
    (package,) = _load(tmp_path, _lock({"requests": {"version": written}}))
    assert (package.version, package.specifier) == (version, specifier)


@pytest.mark.parametrize(
    ("entry", "kind", "version"),
    [
        ({"git": "https://github.com/acme/w.git", "ref": "abc"}, Kind.VCS, None),
        ({"git": "https://github.com/acme/w.git", "ref": "main", "editable": True}, Kind.EDITABLE, None),
        ({"hg": "https://hg.example.com/w", "ref": "abc"}, Kind.VCS, None),
        ({"svn": "svn+https://svn.example.com/w"}, Kind.VCS, None),
        ({"bzr": "bzr+https://bzr.example.com/w"}, Kind.VCS, None),
        ({"git": "https://github.com/acme/w.git", "version": "==1.0"}, Kind.VCS, "1.0"),
        ({"path": "./libs/w"}, Kind.PATH, None),
        ({"path": "./libs/w", "editable": True}, Kind.EDITABLE, None),
        ({"file": "https://files.example.com/w-1.0.tar.gz"}, Kind.URL, None),
        ({"file": "file:///srv/wheels/w-1.0-py3-none-any.whl"}, Kind.PATH, None),
        ({"file": "wheels/w-1.0-py3-none-any.whl"}, Kind.PATH, None),
        ({"version": "==1.0", "index": "private"}, Kind.REGISTRY, "1.0"),
    ],
)
def test_source_kinds(tmp_path: Path, entry: dict[str, object], kind: Kind, version: str | None) -> None:
    (package,) = _load(tmp_path, _lock({"w": entry}))
    assert (package.kind, package.version) == (kind, version)


def test_same_version_in_default_and_develop_is_one_package_in_both_groups(tmp_path: Path) -> None:
    text = _lock({"six": {"version": "==1.16.0"}}, {"Six": {"version": "==1.16.0"}})
    assert _load(tmp_path, text) == (_package("six", "1.16.0", 4, groups=(DEV, MAIN)),)


def test_develop_first_still_merges_into_the_first_occurrence(tmp_path: Path) -> None:
    text = '{"develop": {"six": {"version": "==1.16.0"}},\n "default": {"six": {"version": "==1.16.0"}}}'
    assert _load(tmp_path, text) == (_package("six", "1.16.0", 1, groups=(DEV, MAIN)),)


def test_different_versions_markers_or_sources_stay_separate(tmp_path: Path) -> None:
    default = {
        "six": {"version": "==1.16.0"},
        "attrs": {"version": "==23.1.0", "markers": "python_version < '3.8'"},
        "w": {"git": "https://github.com/acme/w.git", "ref": "aaa"},
    }
    develop = {
        "six": {"version": "==1.15.0"},
        "attrs": {"version": "==23.1.0"},
        "w": {"git": "https://github.com/acme/w.git", "ref": "bbb"},
    }
    found = [(p.name, p.version, p.marker, p.groups) for p in _load(tmp_path, _lock(default, develop))]
    assert found == [
        ("six", "1.16.0", None, (MAIN,)),
        ("attrs", "23.1.0", "python_version < '3.8'", (MAIN,)),
        ("w", None, None, (MAIN,)),
        ("six", "1.15.0", None, (DEV,)),
        ("attrs", "23.1.0", None, (DEV,)),
        ("w", None, None, (DEV,)),
    ]


def test_lines_are_exact_when_package_names_equal_entry_keys(tmp_path: Path) -> None:
    # A package called `version` follows an entry that has a "version" key: a text search for
    # `"version":` would stop inside the earlier entry.
    text = _lock({"path": {"path": ".", "editable": True}, "version": {"version": "==0.1"}})
    assert [(p.name, p.line) for p in _load(tmp_path, text)] == [("path", 4), ("version", 8)]


def test_escaped_keys_are_found(tmp_path: Path) -> None:
    text = '{\n"default": {\n"\\u0073ix": {"version": "==1.16.0"},\n"caf\\u00e9": {"version": "==1"}}}'
    assert [(p.name, p.line) for p in _load(tmp_path, text)] == [("six", 3), ("café", 4)]


def test_minified_file_puts_every_package_on_line_1(tmp_path: Path) -> None:
    text = '{"_meta":{},"default":{"a":{"version":"==1"},"b":{"version":"==2"}},"develop":{"c":{"version":"==3"}}}'
    assert [p.line for p in _load(tmp_path, text)] == [1, 1, 1]


def test_duplicate_keys_use_the_value_json_keeps(tmp_path: Path) -> None:
    text = '{\n"default": {"a": {"version": "==1"}},\n"default": {\n"b": {"version": "==2"}}}'
    assert [(p.name, p.version, p.line) for p in _load(tmp_path, text)] == [("b", "2", 4)]


def test_crlf_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "Pipfile.lock"
    path.write_bytes(b"\xef\xbb\xbf" + _lock({"six": {"version": "==1.16.0"}}).replace("\n", "\r\n").encode())
    assert [(p.name, p.line) for p in load(path, SHOWN).packages] == [("six", 4)]


@pytest.mark.parametrize("text", ["", "  \n", "{}", '{"_meta": {"pipfile-spec": 6}}', '{"default": {}, "develop": {}}'])
def test_files_without_packages(tmp_path: Path, text: str) -> None:
    assert _load(tmp_path, text) == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("this is not json!\n", "1: invalid JSON: Expecting value"),
        ('{"default": {}\n"develop": {}}', "2: invalid JSON: Expecting ',' delimiter"),
        ('\n["requests"]', "2: Pipfile.lock must be a JSON object"),
        ('{\n"default": ["requests"]}', "2: section 'default' must be an object of packages"),
        ('{"_meta": {},\n"develop": null}', "2: section 'develop' must be an object of packages"),
        ('{"default": {},\n"docs": "sphinx"}', "2: section 'docs' must be an object of packages"),
        ('{"default": {\n"requests": "==2.31.0"}}', "2: package 'requests' in section 'default' must be an object"),
        ('{"default": {\n"": {"version": "==1"}}}', "2: package with an empty name in section 'default'"),
        ('{"default": {\n"a": {"version": 1.0}}}', "2: 'version' of package 'a' must be a string"),
        ('{"default": {\n"a": {"markers": ["x"]}}}', "2: 'markers' of package 'a' must be a string"),
        ('{"default": {\n"a": {"git": true}}}', "2: 'git' of package 'a' must be a string"),
        ('{"default": {\n"a": {"path": 1}}}', "2: 'path' of package 'a' must be a string"),
    ],
)
def test_malformed_files(tmp_path: Path, text: str, message: str) -> None:
    assert _error(tmp_path, text) == f"{SHOWN}:{message}"


# Origins that read only the `default` section; envguard also reads `develop` and custom categories.
def _default_only(case: Case) -> bool:
    return "only the 'default' section" in case.expected["semantics"]


# Packages envguard reports without a version where the origin drops the entry altogether.
UNPINNED = {
    # osv-scalibr skips entries without a `==` version; envguard keeps the editable git checkouts.
    "osv-scalibr__no-version": {("markupsafe", Kind.EDITABLE), ("itsdangerous", Kind.EDITABLE)},
}


@pytest.mark.parametrize("case", cases("pipfile-lock"))
def test_corpus(case: Case) -> None:
    shown = case.expected["file"]
    if case.expected["expect_error"]:
        with pytest.raises(SourceError) as raised:
            load(case.file, shown)
        assert str(raised.value).startswith(f"{shown}:")
        return
    packages = load(case.file, shown).packages
    assert {(p.name, p.kind) for p in packages if p.version is None} == UNPINNED.get(case.id, set())
    compared = [p for p in packages if p.version is not None and (MAIN in p.groups or not _default_only(case))]
    expected = case.expected["packages"]
    assert sorted((p.name, p.version) for p in compared) == sorted((normalize(e["name"]), e["version"]) for e in expected)
    for entry in expected:
        (package,) = [p for p in compared if p.name == normalize(entry["name"]) and p.version == entry["version"]]
        if "groups" in entry:
            # osv-scalibr reports a package of both sections once without a group (it is production);
            # envguard keeps both groups, so "no group" means "main is among them".
            assert (package.groups == (DEV,)) if entry["groups"] == ["dev"] else (MAIN in package.groups)
        if "line" in entry:
            assert package.line == entry["line"]
        assert package.path == shown
