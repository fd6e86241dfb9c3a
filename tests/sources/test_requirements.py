from __future__ import annotations

import posixpath
import shutil
from pathlib import Path
from typing import Any

import pytest
from packaging.specifiers import SpecifierSet

from envguard.errors import SourceError
from envguard.model import Diagnostic, Kind, Loaded, Package, normalize
from envguard.sources.requirements import load, read_requested
from tests.corpus import Case, cases

# --------------------------------------------------------------------------------------------
# Corpus
# --------------------------------------------------------------------------------------------

# Fixtures envguard rejects where the origin skipped lines or tolerated a cycle. Each gives the
# error envguard raises and, where the rest of the file is still worth comparing, the lines of
# the entry file to blank so that it loads (None: nothing left to compare).
_REJECTED: dict[str, tuple[str, tuple[int, ...] | None]] = {
    # pip rejects every line of this file; the origin skips them one by one.
    "osv-scalibr__invalid": (
        "invalid.txt:1: invalid requirement: Expected semicolon (after name with no version specifier) or end",
        None,
    ),
    # Include cycles are errors in envguard (and in pip 26); the origins stop recursing.
    "osv-scalibr__loop": ("other-loop.txt:2: include cycle: loop.txt -> other-loop.txt -> loop.txt", None),
    "osv-scanner__cyclic-r-self": (
        "cyclic-r-self.txt:1: include cycle: cyclic-r-self.txt -> cyclic-r-self.txt",
        (1,),
    ),
    "osv-scanner__cyclic-r-complex-1": (
        "pip/cyclic-r-complex-2.txt:1: include cycle: "
        "pip/cyclic-r-complex-1.txt -> pip/cyclic-r-complex-2.txt -> pip/cyclic-r-complex-1.txt",
        None,
    ),
    # The fixture names a constraints file that the origin does not have; pip fails on it too.
    "osv-scalibr__example": ("example.txt:22: constraint file 'constraints.txt' not found", (22,)),
    # pip rejects `--global-option` (since 25.3), `--config-settings` without KEY=VALUE, `--hash`
    # without algo:digest, empty versions and words between the requirement and its options; the
    # origin skips them.
    "osv-scalibr__per_req_options": (
        "per_req_options.txt:3: unknown pip option '--global-option' (pip 25.3 removed --global-option)",
        (3, 5, 7, 13, 20, 24, 28, 30, 36),
    ),
    "osv-scanner__with-per-requirement-options": (
        "with-per-requirement-options.txt:12: unknown pip option '--global-option' (pip 25.3 removed --global-option)",
        (12,),
    ),
    # pip has no variable MY_VARIABLE_1 to expand, so `qwert==${MY_VARIABLE_1}` is no requirement.
    "osv-scalibr__env_var": (
        "env_var.txt:2: invalid requirement: Expected semicolon (after name with no version specifier) or end "
        "(a ${VARIABLE} is not expanded: pip expands only variables that are set, envguard none)",
        (2,),
    ),
    # `-e` of a plain https URL, a missing -r file, the unknown option `--requirements`, a
    # nameless `==2.3.4` and `name == 1.0 @ url` are all pip errors; the origin skips those lines
    # (all but the last, which it reads).
    "syft__requires": (
        "requirements.txt:8: 'https://github.com/pecan/pecan.git' is not a valid editable requirement: "
        "give a local project directory or a VCS URL (git+..., hg+..., svn+..., bzr+...)",
        (8, 9, 10, 23, 26),
    ),
    # pip starts a comment only at a `#` after whitespace: `Jinja2==3.0.0#comment` is invalid.
    "trivy__pip__requirements_comments": (
        "requirements_comments.txt:6: invalid requirement: "
        "Expected comma (within version specifier), semicolon (after version specifier) or end",
        (6,),
    ),
    # `==5.*.*` and `==4.*.1` are not valid specifiers; the origin skips them.
    "trivy__pip__requirements_compatible": (
        "requirements_compatible.txt:4: invalid requirement: "
        ".* suffix cannot be used with pre-release, post-release, dev or local versions",
        (4, 5),
    ),
    # A line with a specifier and no name.
    "trivy__pip__requirements_no_version": (
        "requirements_no_version.txt:3: invalid requirement: "
        "Expected package name at the start of dependency specifier",
        (3,),
    ),
    # Template placeholders are not requirements.
    "trivy__pip__requirements_with_templating_engine": (
        "requirements_with_templating_engine.txt:1: invalid requirement: "
        "Expected package name at the start of dependency specifier",
        None,
    ),
}

# The errors the origins expect, with envguard's wording.
_EXPECTED_ERRORS = {
    "osv-scanner__with-bad-r-option": "with-bad-r-option.txt:3: requirement file './does-not-exist.txt' not found",
    "syft__glob-paths__src": (
        "requirements.txt:1: invalid requirement: Expected semicolon (after name with no version specifier) or end"
    ),
}

# (case, normalised name) -> the version envguard reports where the origin reports another.
_VERSION_OVERRIDES = {
    # pip strips every backslash at the end of `bar == 4.5\\` and joins the next line: 4.5.6.
    ("osv-scanner__line-continuation", "bar"): "4.5.6",
}


# Packages the origin reports from a line that pip rejects (so envguard blanks it, see _REJECTED).
_REJECTED_PACKAGES = {
    "syft__requires": {"githubsampleproject"},  # `GithubSampleProject == 3.7.1 @ git+https://...`
    "osv-scanner__with-per-requirement-options": {"barproject"},  # `--global-option`
}


def _origin_reports(case: Case, package: Package) -> bool:
    """Which of envguard's packages the origin's rule (see `semantics`) would report at all."""
    origin = case.id.split("__")[0]
    if origin in ("osv-scalibr", "osv-scanner") or "minimum-version" in case.expected["semantics"]:
        return package.kind is Kind.REGISTRY  # URL, path and -e lines are skipped
    return package.version is not None  # syft, trivy: exact pins only


def _load_case(case: Case, tmp_path: Path) -> tuple[Loaded | None, set[int]]:
    rejected = _REJECTED.get(case.id)
    if rejected is None:
        return load(case.file, case.expected["file"]), set()
    message, blanked = rejected
    with pytest.raises(SourceError) as caught:
        load(case.file, case.expected["file"])
    assert str(caught.value) == message
    if blanked is None:
        return None, set()
    copy = tmp_path / case.id
    shutil.copytree(case.directory, copy)
    entry = copy / case.expected["file"]
    lines = entry.read_bytes().split(b"\n")
    for number in blanked:
        lines[number - 1] = b""
    entry.write_bytes(b"\n".join(lines))
    return load(entry, case.expected["file"]), set(blanked)


def _matches(case: Case, package: Package, expected: dict[str, Any]) -> bool:
    declared = expected.get("declared_in")
    if declared:
        if (package.path, package.line) != (declared["file"], declared["line"]):
            return False
    elif "line" in expected:
        if (package.path, package.line) != (case.expected["file"], expected["line"]):
            return False
    elif case.id.startswith("osv-scanner__"):
        # This origin's groups are the stems of the files declaring the package.
        if posixpath.splitext(posixpath.basename(package.path))[0] not in expected["groups"]:
            return False
    if "version" not in expected:
        return True
    wanted: str | None = _VERSION_OVERRIDES.get((case.id, package.name), expected["version"])
    if package.specifier is None:
        return package.version == wanted
    # Unpinned: origins report null, a 0.0.0 placeholder or a bound of the range.
    return wanted in (None, "0.0.0") or SpecifierSet(package.specifier).contains(wanted, prereleases=True)


@pytest.mark.parametrize("case", cases("requirements"))
def test_corpus(case: Case, tmp_path: Path) -> None:
    if case.expected["expect_error"]:
        with pytest.raises(SourceError) as caught:
            load(case.file, case.expected["file"])
        assert str(caught.value) == _EXPECTED_ERRORS[case.id]
        return
    loaded, blanked = _load_case(case, tmp_path)
    if loaded is None:
        return
    rejected = _REJECTED_PACKAGES.get(case.id, set())
    expected = [
        p for p in case.expected["packages"] if p.get("line") not in blanked and normalize(p["name"]) not in rejected
    ]
    for wanted in expected:
        candidates = [p for p in loaded.packages if p.name == normalize(wanted["name"])]
        assert any(_matches(case, p, wanted) for p in candidates), (wanted, candidates)
    reported = {p.name for p in loaded.packages if _origin_reports(case, p)}
    assert reported == {normalize(p["name"]) for p in expected}
    assert all(len(p.groups) == 1 for p in loaded.packages)


def test_corpus_example_reads_every_line_form(tmp_path: Path) -> None:
    """The pip documentation example, with the constraints file it names."""
    from tests.corpus import CORPUS

    directory = CORPUS / "requirements" / "osv-scalibr__example"
    if not directory.is_dir():
        pytest.skip("corpus not present")
    shutil.copytree(directory, tmp_path / "case")
    (tmp_path / "case" / "constraints.txt").write_text("pytest<9\n")
    loaded = load(tmp_path / "case" / "example.txt", "example.txt")
    assert [(p.name, p.version, p.kind, p.line, p.specifier) for p in loaded.packages] == [
        ("pytest", None, Kind.REGISTRY, 3, ""),
        ("pytest-cov", None, Kind.REGISTRY, 4, ""),
        ("beautifulsoup4", None, Kind.REGISTRY, 5, ""),
        ("docopt", "0.6.1", Kind.REGISTRY, 8, None),
        ("requests", None, Kind.REGISTRY, 9, ">=2.8.1,==2.8.*"),
        ("urllib3", None, Kind.URL, 10, None),
        ("keyring", None, Kind.REGISTRY, 13, ">=4.1.1"),
        ("coverage", None, Kind.REGISTRY, 15, "!=3.5"),
        ("mopidy-dirble", None, Kind.REGISTRY, 17, "~=1.1"),
        ("pandas", "2.2.3", Kind.REGISTRY, 1, None),
        ("numpy", "1.9.2", Kind.URL, 25, None),
        ("wxpython-phoenix", "3.0.3.dev1820+49a8884", Kind.URL, 28, None),
    ]
    assert loaded.packages[4].marker == 'python_version < "2.7"'
    assert loaded.packages[9].path == "other-requirements.txt"
    assert loaded.included == ("other-requirements.txt", "constraints.txt")


# --------------------------------------------------------------------------------------------
# Helpers for inline files
# --------------------------------------------------------------------------------------------


def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _load(directory: Path, text: str, name: str = "requirements.txt") -> Loaded:
    return load(_write(directory, name, text), name)


def _error(directory: Path, text: str, name: str = "requirements.txt") -> str:
    with pytest.raises(SourceError) as caught:
        _load(directory, text, name)
    return str(caught.value)


def _one(directory: Path, text: str) -> Package:
    (package,) = _load(directory, text).packages
    return package


def _messages(warnings: tuple[Diagnostic, ...]) -> list[str]:
    return [str(w) for w in warnings]


# --------------------------------------------------------------------------------------------
# Lines, continuations, comments
# --------------------------------------------------------------------------------------------


def test_continuations_keep_the_first_line_number(tmp_path: Path) -> None:
    text = "# header\n\nfoo==1.0 \\\n    --hash=sha256:abc \\\n    --hash=sha256:def\nbar==2.0\n"
    loaded = _load(tmp_path, text)
    assert [(p.name, p.version, p.line) for p in loaded.packages] == [("foo", "1.0", 3), ("bar", "2.0", 6)]


def test_continuation_rules_follow_pip(tmp_path: Path) -> None:
    text = (
        "foo==\\\n\\\n \\\n1.2.3\n"  # a version split over lines
        "bar == 4.5\\\\\n.6\n"  # every trailing backslash is stripped
        "baz == 7.8.9 # \\\nbaz == 1.2.3\n"  # the comment is stripped after joining
        "qux==1.0 \\\n# a comment ends the continuation\n"
        "# comment lines ending in a backslash do not continue \\\n"
        "last==1.0 \\"  # continuation at the end of the file
    )
    loaded = _load(tmp_path, text)
    assert [(p.name, p.version, p.line) for p in loaded.packages] == [
        ("foo", "1.2.3", 1),
        ("bar", "4.5.6", 5),
        ("baz", "7.8.9", 7),
        ("qux", "1.0", 9),
        ("last", "1.0", 12),
    ]


def test_hash_inside_a_url_is_not_a_comment(tmp_path: Path) -> None:
    package = _one(tmp_path, "pkg @ https://host.example/pkg-1.0.tar.gz#sha256=abc  # trailing comment\n")
    assert (package.name, package.kind) == ("pkg", Kind.URL)


def test_hash_without_space_before_it_is_part_of_the_requirement(tmp_path: Path) -> None:
    assert _error(tmp_path, "Jinja2==3.0.0#comment\n") == (
        "requirements.txt:1: invalid requirement: "
        "Expected comma (within version specifier), semicolon (after version specifier) or end"
    )


def test_empty_and_comment_only_files(tmp_path: Path) -> None:
    assert _load(tmp_path, "").packages == ()
    assert _load(tmp_path, "# only\n   # comments\n\n").packages == ()


def test_utf16_file_with_crlf(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    path.write_bytes("\ufeffattrs==20.3.0 \\\r\n  --hash=sha256:abc\r\nsix==1.0\r\n".encode("utf-16-le"))
    loaded = load(path, "requirements.txt")
    assert [(p.name, p.version, p.line) for p in loaded.packages] == [("attrs", "20.3.0", 1), ("six", "1.0", 3)]


# --------------------------------------------------------------------------------------------
# Requirement forms
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "version", "specifier"),
    [
        ("Foo.Bar==1.0", "1.0", None),
        ("foo == 1.2-alpha", "1.2-alpha", None),
        ("foo===1.0-custom", "1.0-custom", None),
        ("foo==1.0+cpu", "1.0+cpu", None),
        ("foo==1.*", None, "==1.*"),
        ("foo>=2, <3", None, ">=2,<3"),
        ("foo (>=2, <3)", None, ">=2,<3"),
        ("foo!=3.5", None, "!=3.5"),
        ("foo~=1.1", None, "~=1.1"),
        ("foo==1.0,==1.0", None, "==1.0,==1.0"),
        ("foo", None, ""),
        ("foo[bar, baz]==2.0", "2.0", None),
    ],
)
def test_versions_and_specifiers(tmp_path: Path, line: str, version: str | None, specifier: str | None) -> None:
    package = _one(tmp_path, line + "\n")
    assert (package.version, package.specifier, package.kind) == (version, specifier, Kind.REGISTRY)


def test_package_fields(tmp_path: Path) -> None:
    package = _one(tmp_path, "Zope.Interface[x]==5.4.0;python_version<'3.8'\n")
    assert package == Package(
        name=normalize("zope-interface"),
        version="5.4.0",
        kind=Kind.REGISTRY,
        groups=("main",),
        marker='python_version < "3.8"',
        path="requirements.txt",
        line=1,
        hashed=False,  # a requirements file can hold hashes; this line has none
    )


def test_same_package_under_disjoint_markers_is_kept_twice(tmp_path: Path) -> None:
    text = "torch==2.5.1+cpu ; sys_platform == 'linux'\ntorch==2.5.1 ; sys_platform == 'darwin'\n"
    assert [(p.version, p.marker) for p in _load(tmp_path, text).packages] == [
        ("2.5.1+cpu", 'sys_platform == "linux"'),
        ("2.5.1", 'sys_platform == "darwin"'),
    ]


@pytest.mark.parametrize(
    ("line", "name", "version", "kind"),
    [
        ("pkg @ https://host.example/pkg-1.0.tar.gz", "pkg", None, Kind.URL),
        ("pkg @ git+https://github.com/o/pkg.git@v1.0#subdirectory=src", "pkg", None, Kind.VCS),
        ("pkg @ hg+https://hg.example/pkg", "pkg", None, Kind.VCS),
        ("pkg @ file:///srv/pkg", "pkg", None, Kind.PATH),
        ("pkg @ file:///srv/pkg-1.0-py3-none-any.whl", "pkg", None, Kind.PATH),
        # pip pins a bare wheel to the name and version of its file name; an sdist it must build.
        ("https://host.example/some_pkg-1.0-py3-none-any.whl", "some-pkg", "1.0", Kind.URL),
        ("https://host.example/Some.Pkg-1.0.tar.gz", "some-pkg", None, Kind.URL),
        ("git+https://github.com/o/repo.git@v1#egg=My_Pkg", "my-pkg", None, Kind.VCS),
        ("./wheels/numpy-1.9.2-cp34-none-win32.whl", "numpy", "1.9.2", Kind.URL),
        ("numpy-1.9.2-cp34-none-win32.whl", "numpy", "1.9.2", Kind.URL),
    ],
)
def test_direct_references(tmp_path: Path, line: str, name: str, version: str | None, kind: Kind) -> None:
    package = _one(tmp_path, line + "\n")
    assert (package.name, package.version, package.kind, package.specifier) == (name, version, kind, None)


def test_url_marker_needs_a_space_after_the_semicolon(tmp_path: Path) -> None:
    package = _one(tmp_path, "https://host.example/pkg-1.0-py3-none-any.whl; python_version >= '3'\n")
    assert (package.name, package.marker) == ("pkg", 'python_version >= "3"')


def test_local_directory_is_named_from_its_pyproject(tmp_path: Path) -> None:
    _write(tmp_path, "libs/tool/pyproject.toml", '[project]\nname = "Acme.Tool"\nversion = "1.0"\n')
    loaded = _load(tmp_path, "./libs/tool\n")
    assert [(p.name, p.version, p.kind) for p in loaded.packages] == [("acme-tool", None, Kind.PATH)]
    assert loaded.included == ("libs/tool/pyproject.toml",)


def test_editable_forms(tmp_path: Path) -> None:
    _write(tmp_path, "pyproject.toml", '[project]\nname = "service"\n')
    _write(tmp_path, "libs/tool/pyproject.toml", '[project]\nname = "tool"\n')
    text = (
        "-e .\n"
        "-e ./libs/tool[dev]\n"
        "--editable=git+https://github.com/o/repo.git@abc#egg=acme_widgets\n"
        "-e git://github.com/o/repo.git#egg=other\n"
        f"-e file://{tmp_path}/libs/tool\n"
    )
    # The absolute path reaches outside any workspace root: read only when allowed.
    loaded = load(_write(tmp_path, "requirements.txt", text), "requirements.txt", allow_outside_root=True)
    assert [(p.name, p.version, p.kind, p.line) for p in loaded.packages] == [
        ("service", None, Kind.EDITABLE, 1),
        ("tool", None, Kind.EDITABLE, 2),
        ("acme-widgets", None, Kind.EDITABLE, 3),
        ("other", None, Kind.EDITABLE, 4),
        ("tool", None, Kind.EDITABLE, 5),
    ]
    assert loaded.included[:2] == ("pyproject.toml", "libs/tool/pyproject.toml")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("-r ../../common.txt", "requirement file '../../common.txt' is outside the workspace root"),
        ("-c ../../constraints.txt", "constraint file '../../constraints.txt' is outside the workspace root"),
        ("-e ../../libs/tool", "local project '../../libs/tool' is outside the workspace root"),
        ("-e {tmp}/libs/tool", "local project '{tmp}/libs/tool' is outside the workspace root"),
    ],
)
def test_files_outside_the_workspace_root_are_refused(tmp_path: Path, line: str, message: str) -> None:
    line, message = line.format(tmp=tmp_path), message.format(tmp=tmp_path)
    service = tmp_path / "ws" / "svc"
    _write(tmp_path, "common.txt", "requests==2.32.3\n")
    _write(tmp_path, "constraints.txt", "requests==2.32.3\n")
    _write(tmp_path, "libs/tool/pyproject.toml", '[project]\nname = "tool"\n')
    path = _write(service, "requirements.txt", line + "\n")
    with pytest.raises(SourceError) as caught:
        load(path, "svc/requirements.txt")
    assert str(caught.value) == f"svc/requirements.txt:1: {message}; pass --allow-outside-root to read it"


def test_allow_outside_root_reads_them(tmp_path: Path) -> None:
    _write(tmp_path, "common.txt", "requests==2.32.3\n")
    path = _write(tmp_path / "ws" / "svc", "requirements.txt", "-r ../../common.txt\npytest==8.3.4\n")
    loaded = load(path, "svc/requirements.txt", allow_outside_root=True)
    assert [(p.name, p.path) for p in loaded.packages] == [("requests", "../common.txt"), ("pytest", "svc/requirements.txt")]


def test_environment_variables_are_never_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # As pip reads them when the variables are not set: a URL keeps them as written.
    monkeypatch.setenv("TOKEN", "secret")
    text = (
        "--extra-index-url https://${TOKEN}@pkgs.example/simple\n"
        "qux @ https://${TOKEN}@host.example/qux-1.0.tar.gz\n"
        "https://${TOKEN}@host.example/wheels/quux-2.0-py3-none-any.whl\n"
    )
    loaded = _load(tmp_path, text)
    assert [(p.name, p.version, p.kind) for p in loaded.packages] == [("qux", None, Kind.URL), ("quux", "2.0", Kind.URL)]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("asdf==", "invalid requirement: Expected semicolon (after name with no version specifier) or end"),
        ("==1.0", "invalid requirement: Expected package name at the start of dependency specifier"),
        ("example archive", "invalid requirement: Expected semicolon (after name with no version specifier) or end"),
        (
            "foo=1.0",
            "invalid requirement: Expected semicolon (after name with no version specifier) or end "
            "('=' is not a version operator: use '==' for a pin)",
        ),
        (
            "numpy=1.18.1=pypi_0",
            "invalid requirement: Expected semicolon (after name with no version specifier) or end "
            "('=' is not a version operator: use '==' for a pin)",
        ),
        (
            "./missing/dir",
            "invalid requirement: Expected package name at the start of dependency specifier "
            "(it looks like a path, but there is no directory './missing/dir')",
        ),
        (
            "foo==1.0; python_version ~= ",
            "invalid requirement: bad marker: Expected a marker variable or quoted string",
        ),
        (
            "${NAME}==1.0",
            "invalid requirement: Expected package name at the start of dependency specifier "
            "(a ${VARIABLE} is not expanded: pip expands only variables that are set, envguard none)",
        ),
        (
            "foo==1.0 unexpected --hash=sha256:abc",
            "invalid requirement: "
            "Expected comma (within version specifier), semicolon (after version specifier) or end",
        ),
        (
            "https://host.example/download",
            "cannot tell the project name of 'https://host.example/download'; "
            "write it as '<name> @ https://host.example/download'",
        ),
        (
            "https://host.example/not-a-wheel.whl",
            "invalid wheel file name 'not-a-wheel.whl': "
            "Invalid wheel filename (wrong number of parts): 'not-a-wheel'",
        ),
        ("git+https://host.example/r.git#egg=bad name", "invalid #egg= project name 'bad name'"),
        (
            "-e https://github.com/pecan/pecan.git",
            "'https://github.com/pecan/pecan.git' is not a valid editable requirement: "
            "give a local project directory or a VCS URL (git+..., hg+..., svn+..., bzr+...)",
        ),
        (
            "-e git+https://github.com/o/r.git",
            "cannot tell the project name of editable 'git+https://github.com/o/r.git'; "
            "write it as '<name> @ git+https://github.com/o/r.git'",
        ),
    ],
)
def test_invalid_requirements(tmp_path: Path, line: str, message: str) -> None:
    assert _error(tmp_path, "ok==1.0\n" + line + "\n") == f"requirements.txt:2: {message}"


def test_local_directory_without_a_project_name(tmp_path: Path) -> None:
    (tmp_path / "legacy").mkdir()
    assert _error(tmp_path, "-e ./legacy\n") == (
        "requirements.txt:1: cannot tell the project name of './legacy': "
        "no pyproject.toml there (envguard does not run setup.py)"
    )
    _write(tmp_path, "dynamic/pyproject.toml", "[build-system]\nrequires = []\n")
    assert _error(tmp_path, "./dynamic\n") == (
        "requirements.txt:1: cannot tell the project name of './dynamic': "
        "dynamic/pyproject.toml has no valid [project] name"
    )
    _write(tmp_path, "broken/pyproject.toml", "[project\n")
    assert _error(tmp_path, "./broken\n").startswith("broken/pyproject.toml:1: invalid TOML: ")


# --------------------------------------------------------------------------------------------
# Options
# --------------------------------------------------------------------------------------------


def test_every_pip_option_is_accepted(tmp_path: Path) -> None:
    text = (
        "-i https://pypi.example/simple\n"
        "--index-url=https://pypi.example/simple\n"
        "--pypi-url https://pypi.example/simple\n"
        '--extra-index-url "https://other.example/simple"\n'
        "--no-index\n"
        "-f ./wheels\n"
        "--find-links=https://host.example/links\n"
        "--no-binary :all:\n"
        "--only-binary=numpy,scipy\n"
        "--prefer-binary\n"
        "--require-hashes\n"
        "--no-require-hashes\n"
        "--pre\n"
        "--all-releases :all:\n"
        "--only-final numpy\n"
        "--trusted-host host.example\n"
        "--use-feature=fast-deps\n"
        "--extra-index https://abbreviated.example/simple\n"
        "--i https://abbreviated.example/simple\n"
        "foo==1.0 --hash=sha256:abc --hash sha512:def -C key=value --config-settings=k=v\n"
    )
    loaded = _load(tmp_path, text)
    assert [(p.name, p.line) for p in loaded.packages] == [("foo", 20)]
    assert loaded.warnings == ()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("--requirements other.txt", "unknown pip option '--requirements'"),
        ("foo==1.0 --frobnicate", "unknown pip option '--frobnicate'"),
        ("-x foo", "unknown pip option '-x'"),
        (
            "--no value",
            "ambiguous pip option '--no' (could be --no-binary, --no-index, --no-require-hashes)",
        ),
        ("-r", "option -r needs a value"),
        ("foo==1.0 --hash", "option --hash needs a value"),
        ("--pre=yes", "option --pre takes no value"),
        (
            "foo==1.0 --hash=wrongformat",
            "--hash needs a hash name and a value, like sha256:abcde... (got 'wrongformat')",
        ),
        ("foo==1.0 --hash=", "--hash needs a hash name and a value, like sha256:abcde... (got '')"),
        ("foo==1.0 --hash=md5:abc", "--hash algorithm 'md5' is not allowed; use sha256, sha384 or sha512"),
        ("foo==1.0 -C bar", "-C needs KEY=VALUE (got 'bar')"),
        ("--no-binary -x", "--no-binary needs :all:, :none: or project names (got '-x')"),
        ('--index-url "https://unclosed', "cannot split options: No closing quotation"),
    ],
)
def test_invalid_options(tmp_path: Path, line: str, message: str) -> None:
    assert _error(tmp_path, line + "\n") == f"requirements.txt:1: {message}"


def test_options_pip_ignores_give_warnings(tmp_path: Path) -> None:
    _write(tmp_path, "a.txt", "a==1\n")
    _write(tmp_path, "b.txt", "b==1\n")
    text = (
        "foo==1.0 --hash=sha256:abc trailing words\n"
        "bar==1.0 --index-url https://x.example/simple\n"
        "--hash=sha256:abc\n"
        "-r a.txt -r b.txt\n"
        "-e git+https://h.example/r.git#egg=baz --hash=sha256:abc\n"
    )
    loaded = _load(tmp_path, text)
    assert [p.name for p in loaded.packages] == ["foo", "bar", "a", "baz"]
    assert _messages(loaded.warnings) == [
        "requirements.txt:1: pip ignores the text after the options: 'trailing words'",
        "requirements.txt:2: pip ignores --index-url on a requirement line",
        "requirements.txt:3: pip ignores --hash on a line without a requirement",
        "requirements.txt:4: pip reads only the first file named on a line ('a.txt')",
        "requirements.txt:5: pip ignores --hash on an editable line",
    ]


def test_a_line_starting_with_an_option_letter_is_an_option(tmp_path: Path) -> None:
    # optparse reads `-foo==1.0` as `-f oo==1.0` (find-links), exactly as pip does.
    assert _load(tmp_path, "-foo==1.0\n").packages == ()


# --------------------------------------------------------------------------------------------
# Includes and constraints
# --------------------------------------------------------------------------------------------


def test_nested_includes_keep_their_own_paths_and_lines(tmp_path: Path) -> None:
    _write(tmp_path, "svc/requirements/base.txt", "# base\nrequests==2.31.0\n-r ../../shared/common.txt\n")
    _write(tmp_path, "shared/common.txt", "six==1.16.0\n")
    path = _write(tmp_path, "svc/requirements.txt", "flask==3.0.0\n-r requirements/base.txt\nclick==8.1.7\n")
    loaded = load(path, "svc/requirements.txt")
    assert [(p.name, p.path, p.line, p.groups) for p in loaded.packages] == [
        ("flask", "svc/requirements.txt", 1, ("main",)),
        ("requests", "svc/requirements/base.txt", 2, ("base",)),
        ("six", "shared/common.txt", 1, ("base",)),
        ("click", "svc/requirements.txt", 3, ("main",)),
    ]
    assert loaded.included == ("svc/requirements/base.txt", "shared/common.txt")


def test_included_files_take_their_own_group_or_the_includers(tmp_path: Path) -> None:
    _write(tmp_path, "requirements.txt", "django==5.0\n")
    _write(tmp_path, "common.txt", "six==1.0\n")
    _write(tmp_path, "requirements-test.txt", "pytest==8.0\n-r common.txt\n")
    text = "-r requirements.txt\n-r common.txt\n-r requirements-test.txt\nruff==0.4\n"
    loaded = _load(tmp_path, text, "requirements-dev.txt")
    assert [(p.name, p.path, p.groups) for p in loaded.packages] == [
        ("django", "requirements.txt", ("main",)),
        ("six", "common.txt", ("dev", "test")),  # one line, read for two groups
        ("pytest", "requirements-test.txt", ("test",)),
        ("ruff", "requirements-dev.txt", ("dev",)),
    ]


def test_a_file_included_twice_is_reported_once(tmp_path: Path) -> None:
    _write(tmp_path, "base.txt", "django==0.1.0\n")
    _write(tmp_path, "test.txt", "-r ./base.txt\nrequests==1.2.3\n")
    loaded = _load(tmp_path, "-r base.txt\n-r test.txt\nrequests==1.2.3\n")
    assert [(p.name, p.path, p.line) for p in loaded.packages] == [
        ("django", "base.txt", 1),
        ("requests", "test.txt", 2),
        ("requests", "requirements.txt", 3),
    ]
    assert loaded.included == ("base.txt", "test.txt")


def test_constraints_are_read_but_record_no_package(tmp_path: Path) -> None:
    _write(tmp_path, "constraints.txt", "urllib3<2\n-r extra.txt\n")
    _write(tmp_path, "extra.txt", "idna==3.7\n")
    loaded = _load(tmp_path, "requests\n--constraint constraints.txt\n")
    # pip reads a -r inside a constraints file as requirements, not constraints.
    assert [(p.name, p.path) for p in loaded.packages] == [("requests", "requirements.txt"), ("idna", "extra.txt")]
    assert loaded.included == ("constraints.txt", "extra.txt")


@pytest.mark.parametrize(
    ("constraint", "message"),
    [
        ("urllib3 >=", "invalid requirement: Expected semicolon (after name with no version specifier) or end"),
        ("urllib3[socks]<2", "constraints cannot have extras"),
        ("-e git+https://h.example/r.git#egg=x", "editable requirements are not allowed as constraints"),
        ("./somewhere", "unnamed requirements are not allowed as constraints ('./somewhere')"),
    ],
)
def test_invalid_constraints(tmp_path: Path, constraint: str, message: str) -> None:
    _write(tmp_path, "somewhere/pyproject.toml", '[project]\nname = "somewhere"\n')
    _write(tmp_path, "c.txt", "# constraints\n" + constraint + "\n")
    assert _error(tmp_path, "requests\n-c c.txt\n") == f"c.txt:2: {message}"


def test_include_errors(tmp_path: Path) -> None:
    message = "requirements.txt:2: requirement file 'missing.txt' not found"
    assert _error(tmp_path, "foo==1\n-r missing.txt\n") == message
    assert _error(tmp_path, "-c ./missing.txt\n") == "requirements.txt:1: constraint file './missing.txt' not found"
    (tmp_path / "folder").mkdir()
    assert _error(tmp_path, "-r folder\n") == "requirements.txt:1: requirement file 'folder' is not a file"
    assert _error(tmp_path, "-r https://host.example/reqs.txt\n") == (
        "requirements.txt:1: requirement file 'https://host.example/reqs.txt' is a URL; "
        "envguard reads only local files"
    )
    assert _error(tmp_path, '-c "file:///tmp/c.txt"\n') == (
        "requirements.txt:1: constraint file 'file:///tmp/c.txt' is a URL; envguard reads only local files"
    )


def test_include_cycles(tmp_path: Path) -> None:
    assert _error(tmp_path, "foo==1\n-r requirements.txt\n") == (
        "requirements.txt:2: include cycle: requirements.txt -> requirements.txt"
    )
    _write(tmp_path, "b.txt", "-r sub/c.txt\n")
    _write(tmp_path, "sub/c.txt", "x==1\n-r ../a.txt\n")
    message = "sub/c.txt:2: include cycle: a.txt -> b.txt -> sub/c.txt -> a.txt"
    assert _error(tmp_path, "-r b.txt\n", "a.txt") == message


def test_errors_in_included_files_name_that_file(tmp_path: Path) -> None:
    _write(tmp_path, "requirements/base.txt", "ok==1\n\nnot valid\n")
    assert _error(tmp_path, "-r requirements/base.txt\n") == (
        "requirements/base.txt:3: invalid requirement: "
        "Expected semicolon (after name with no version specifier) or end"
    )


# --------------------------------------------------------------------------------------------
# Groups from file names
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shown", "groups"),
    [
        ("requirements.txt", ("main",)),
        ("svc/requirements.lock", ("main",)),
        ("requirements.lock.txt", ("main",)),
        ("requirements-dev.txt", ("dev",)),
        ("dev-requirements.txt", ("dev",)),
        ("requirements_dev.txt", ("dev",)),
        ("requirements/dev.txt", ("dev",)),
        ("requirements-dev.lock", ("dev",)),
        ("Requirements-Test_Unit.txt", ("test-unit",)),
        ("docs-requirements.txt", ("docs",)),
        ("requirements/Prod.txt", ("prod",)),
        ("requirements/requirements.txt", ("main",)),
        ("constraints.txt", ("main",)),
        ("pinned.txt", ("main",)),
    ],
)
def test_groups_from_file_names(tmp_path: Path, shown: str, groups: tuple[str, ...]) -> None:
    path = _write(tmp_path, "file.txt", "foo==1.0\n")
    (package,) = load(path, shown).packages
    assert package.groups == groups


def test_read_errors_are_source_errors(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    path.write_bytes(b"foo==1.0\n\xff\n")
    with pytest.raises(SourceError) as caught:
        load(path, "requirements.txt")
    assert str(caught.value) == (
        "requirements.txt:2: not valid UTF-8 text (byte 0xff); "
        "declare the encoding in a first-line comment such as '# -*- coding: latin-1 -*-'"
    )


def test_paths_the_system_refuses_are_clean_errors(tmp_path: Path) -> None:
    long_path = "./" + "x" * 5000
    assert _error(tmp_path, f"-r {long_path}\n") == f"requirements.txt:1: requirement file {long_path!r} not found"
    assert _error(tmp_path, f"{long_path}\n").startswith("requirements.txt:1: invalid requirement: ")


# --------------------------------------------------------------------------------------------
# Where envguard read otherwise than pip 26.3 (issue 17); test_requirements_pip.py compares
# these and many more with pip itself
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["--i", "--in", "--ind", "--index"])
def test_abbreviations_unique_in_current_pip_are_read(tmp_path: Path, spelling: str) -> None:
    # pip removed --install-option in 23.1: `--i` is --index-url alone.
    loaded = _load(tmp_path, f"{spelling} https://x.example/simple\nfoo==1\n")
    assert [(p.name, p.version) for p in loaded.packages] == [("foo", "1")]


def test_a_wheel_url_with_a_marker_after_a_semicolon(tmp_path: Path) -> None:
    package = _one(tmp_path, "https://h.example/pkg-1.0-py3-none-any.whl; python_version >= '3'\n")
    assert (package.name, package.version, package.marker) == ("pkg", "1.0", 'python_version >= "3"')
    # pip splits a marker from a URL only at "; ": without the space, all of it is the URL, whose
    # file is then no wheel and whose project only a download would name.
    assert _error(tmp_path, "https://h.example/pkg-1.0-py3-none-any.whl;python_version>='3'\n").endswith(
        "(pip reads the text after ';' as part of the URL: write '; ' before a marker)"
    )


@pytest.mark.parametrize("line", ["file:./proj", "file:proj", "-e file:./proj"])
def test_a_directory_file_url_is_named_from_its_project(tmp_path: Path, line: str) -> None:
    _write(tmp_path, "proj/pyproject.toml", '[project]\nname = "Proj.Name"\n')
    loaded = _load(tmp_path, line + "\n")
    assert [(p.name, p.version) for p in loaded.packages] == [("proj-name", None)]
    assert loaded.included == ("proj/pyproject.toml",)


def test_extras_in_a_constraints_file_are_refused_as_by_pip(tmp_path: Path) -> None:
    # pip 26.3's resolver still refuses them before resolving ("Constraints cannot have extras").
    _write(tmp_path, "c.txt", "foo[bar]==1.0\n")
    assert _error(tmp_path, "foo\n-c c.txt\n") == "c.txt:1: constraints cannot have extras"


@pytest.mark.parametrize(
    "first_lines", ["# -*- coding: latin-1 -*-\n", "#!/bin/true\n# vim: set fileencoding=latin-1 :\n"]
)
def test_a_coding_line_sets_the_encoding(tmp_path: Path, first_lines: str) -> None:
    path = tmp_path / "requirements.txt"
    path.write_bytes((first_lines + "foo==1.0  # café\n").encode("latin-1"))
    assert [(p.name, p.line) for p in load(path, "requirements.txt").packages] == [("foo", first_lines.count("\n") + 1)]


def test_an_unknown_coding_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    path.write_bytes(b"# coding: no-such-codec\nfoo==1.0\n")
    with pytest.raises(SourceError) as caught:
        load(path, "requirements.txt")
    assert str(caught.value) == "requirements.txt:1: unknown encoding 'no-such-codec' in the coding line"


def test_a_variable_in_a_version_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # pip expands ${VAR} anywhere when it is set; envguard reads as pip does when it is not.
    monkeypatch.setenv("VERSION", "1.0")
    assert _error(tmp_path, "foo==${VERSION}\n") == (
        "requirements.txt:1: invalid requirement: Expected semicolon (after name with no version specifier) or end "
        "(a ${VARIABLE} is not expanded: pip expands only variables that are set, envguard none)"
    )


def test_a_pin_before_a_url_is_refused(tmp_path: Path) -> None:
    assert _error(tmp_path, "foo==1.0 @ https://h.example/foo-1.0.tar.gz\n") == (
        "requirements.txt:1: invalid requirement: "
        "Expected comma (within version specifier), semicolon (after version specifier) or end"
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("foo==1.0 --global-option=--x", "unknown pip option '--global-option' (pip 25.3 removed --global-option)"),
        ("foo==1.0 --install-option=--x", "unknown pip option '--install-option' (pip 23.1 removed --install-option)"),
        ("foo==1.0 --glob x", "unknown pip option '--glob' (pip 25.3 removed --global-option)"),
    ],
)
def test_removed_per_requirement_options_are_refused(tmp_path: Path, line: str, message: str) -> None:
    assert _error(tmp_path, line + "\n") == f"requirements.txt:1: {message}"


def test_a_use_feature_value_must_be_a_feature_of_pip(tmp_path: Path) -> None:
    assert _load(tmp_path, "--use-feature=fast-deps\n--use-feature venv-isolation\n").packages == ()
    assert _error(tmp_path, "--use-feature=nonsense\n") == (
        "requirements.txt:1: --use-feature: 'nonsense' is no feature of pip 26.3 (choose from fast-deps, "
        "inprocess-build-deps, venv-isolation, truststore, no-binary-enable-wheel-cache, build-constraint)"
    )


@pytest.mark.parametrize("spelling", ["--no-d", "--no-deps-for"])
def test_an_abbreviation_of_no_option_is_refused(tmp_path: Path, spelling: str) -> None:
    assert _error(tmp_path, f"{spelling} x\n") == f"requirements.txt:1: unknown pip option {spelling!r}"


@pytest.mark.parametrize(
    "line",
    [
        "foo @ https://[::1/foo-1.0.tar.gz",
        "foo @ https://::1]/foo-1.0.tar.gz",
        "https://[::1/foo-1.0-py3-none-any.whl",
    ],
)
def test_a_malformed_ipv6_url_is_refused(tmp_path: Path, line: str) -> None:
    url = line.rpartition(" ")[2]
    assert _error(tmp_path, line + "\n") == f"requirements.txt:1: invalid URL {url!r}: Invalid IPv6 URL"


@pytest.mark.parametrize(
    ("line", "version"),
    [
        ("https://h.example/foo-1.0-py3-none-any.whl", "1.0"),
        ("./foo-1.0-py3-none-any.whl", "1.0"),
        ("file:./wheels/foo-2.0-1-cp311-cp311-linux_x86_64.whl", "2.0"),
        # pip 25.1 and later normalise the version of the file name, as packaging does.
        ("https://h.example/foo-01.0.0_post1-py3-none-any.whl", "1.0.0.post1"),
    ],
)
def test_a_wheel_is_pinned_to_its_file_names_version(tmp_path: Path, line: str, version: str) -> None:
    package = _one(tmp_path, line + "\n")
    assert (package.name, package.version) == ("foo", version)


# Found by the comparison with pip itself.


def test_a_line_with_a_requirement_and_editable_is_read_as_editable(tmp_path: Path) -> None:
    _write(tmp_path, "proj/pyproject.toml", '[project]\nname = "proj"\n')
    assert [(p.name, p.kind) for p in _load(tmp_path, "./proj -e ignored\n").packages] == [("proj", Kind.EDITABLE)]
    assert _error(tmp_path, "foo==1.0 -e ./x\n").startswith(
        "requirements.txt:1: 'foo==1.0' is not a valid editable requirement"
    )


def test_relative_paths_start_from_the_first_files_directory(tmp_path: Path) -> None:
    # pip resolves them from its working directory, wherever the file naming them is.
    _write(tmp_path, "proj/pyproject.toml", '[project]\nname = "proj"\n')
    _write(tmp_path, "sub/more.txt", "./proj\n-e ./proj\n./foo-1.0-py3-none-any.whl\n")
    loaded = _load(tmp_path, "-r sub/more.txt\n")
    assert [(p.name, p.kind, p.path) for p in loaded.packages] == [
        ("proj", Kind.PATH, "sub/more.txt"),
        ("proj", Kind.EDITABLE, "sub/more.txt"),
        ("foo", Kind.URL, "sub/more.txt"),
    ]


@pytest.mark.parametrize(
    ("constraint", "message"),
    [
        ("https://h.example/foo-1.0.tar.gz", "unnamed requirements are not allowed as constraints"),
        ("./foo-1.0-py3-none-any.whl[x]", "constraints cannot have extras"),
    ],
)
def test_a_constraint_must_be_named_without_a_build(tmp_path: Path, constraint: str, message: str) -> None:
    _write(tmp_path, "c.txt", constraint + "\n")
    assert _error(tmp_path, "-c c.txt\n").startswith(f"c.txt:1: {message}")
    _write(tmp_path, "c.txt", "./foo-1.0-py3-none-any.whl\n")
    loaded = read_requested(_write(tmp_path, "requirements.txt", "-c c.txt\n"), "requirements.txt")
    assert [(p.name, p.version) for p in loaded.constraints] == [("foo", "1.0")]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "https://h.example/foo-1.0-py3-none-any.whl#egg=foo[x]",
            "invalid #egg= project name 'foo[x]'",
        ),
        ("./empty", "directory './empty' is not installable: it has neither pyproject.toml nor setup.py"),
        ("./proj[a b]", "invalid extras in '[a b]': "),
        (
            "file://otherhost/srv/foo-1.0-py3-none-any.whl",
            "invalid URL 'file://otherhost/srv/foo-1.0-py3-none-any.whl': a file: URL must name a file on this machine",
        ),
        ("FILE:./foo-1.0-py3-none-any.whl", "invalid URL 'FILE:./foo-1.0-py3-none-any.whl': pip reads a file: URL"),
        ("git+foo://h.example/r#egg=x", "invalid requirement: "),
    ],
)
def test_what_pip_refuses_on_creating_a_requirement(tmp_path: Path, line: str, message: str) -> None:
    (tmp_path / "empty").mkdir()
    _write(tmp_path, "proj/pyproject.toml", '[project]\nname = "proj"\n')
    assert message in _error(tmp_path, line + "\n")


def test_options_split_only_at_shell_whitespace(tmp_path: Path) -> None:
    # shlex keeps a no-break space inside a word: one --hash, whose algorithm is sha256.
    package = _one(tmp_path, "foo==1.0 --hash=sha256:a\xa0--hash=md5:b\n")
    assert package.name == "foo"
