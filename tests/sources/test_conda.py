from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from envguard.errors import SourceError
from envguard.model import MAIN, Diagnostic, Kind, Loaded, Package, normalize
from envguard.sources.conda import load, load_meta
from tests.corpus import Case, cases

SHOWN = "svc/environment.yml"

# After the research notes' example (conda env export style plus hand-written specs).
EXAMPLE = """\
name: myenv
channels:
  - conda-forge
  - defaults
dependencies:
  - python=3.11            # "=" is conda's fuzzy match
  - numpy==1.26.4
  - scipy>=1.11,<1.13
  - conda-forge::pandas=2.2.2=py311h14de704_1
  - libgcc-ng[version='>=12']
  - pip
  - pip:
      - requests==2.31.0
      - -r requirements-extra.txt
      - --index-url https://pypi.example.com/simple
      - -e ./src/mytool
prefix: /home/me/miniconda3/envs/myenv
"""


def _write(tmp_path: Path, text: str, name: str = "environment.yml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _load(tmp_path: Path, text: str) -> Loaded:
    return load(_write(tmp_path, text), SHOWN)


def _error(tmp_path: Path, text: str) -> str:
    with pytest.raises(SourceError) as raised:
        _load(tmp_path, text)
    return str(raised.value)


def _package(
    name: str,
    version: str | None,
    line: int,
    *,
    specifier: str | None = None,
    kind: Kind = Kind.REGISTRY,
    marker: str | None = None,
) -> Package:
    return Package(normalize(name), version, kind, (MAIN,), marker, SHOWN, line, specifier)


def test_example_environment(tmp_path: Path) -> None:
    loaded = _load(tmp_path, EXAMPLE)
    assert loaded.packages == (
        _package("python", None, 6, specifier="=3.11"),
        _package("numpy", "1.26.4", 7),
        _package("scipy", None, 8, specifier=">=1.11,<1.13"),
        _package("pandas", "2.2.2", 9),
        _package("libgcc-ng", None, 10, specifier=">=12"),
        _package("pip", None, 11),
        _package("requests", "2.31.0", 13),
    )
    assert loaded.warnings == (
        Diagnostic(SHOWN, 14, "'-r requirements-extra.txt' in the 'pip' list is not followed: scan that file on its own"),
        Diagnostic(SHOWN, 16, "cannot tell which package './src/mytool' installs (add '#egg=<name>'); skipped"),
    )


@pytest.mark.parametrize(
    ("spec", "name", "version", "specifier"),
    [
        ("numpy", "numpy", None, None),
        # conda's fuzzy "=": 1.26 admits every 1.26.x (MatchSpec writes it "1.26*").
        ("numpy=1.26", "numpy", None, "=1.26"),
        ("numpy=1.26.4", "numpy", None, "=1.26.4"),
        ("numpy=1.26.4=py311h_0", "numpy", "1.26.4", None),
        ("numpy 1.26", "numpy", "1.26", None),
        ("numpy==1.26.4", "numpy", "1.26.4", None),
        ("numpy = 1.26", "numpy", None, "=1.26"),
        ("numpy>=1.0,<2", "numpy", None, ">=1.0,<2"),
        ("numpy >=1.0, <2", "numpy", None, ">=1.0,<2"),
        ("numpy >= 1.0", "numpy", None, ">=1.0"),
        ("numpy !=1.1", "numpy", None, "!=1.1"),
        ("numpy=1.2|1.3", "numpy", None, "=1.2|1.3"),
        ("python=3.11.*", "python", None, "=3.11.*"),
        ("python 3.11.*", "python", None, "3.11.*"),
        ("python 3.11.4 h955ad1f_0", "python", "3.11.4", None),
        ("conda-forge::pandas=2.2.2=py311h14de704_1", "pandas", "2.2.2", None),
        ("conda-forge/linux-64::pandas", "pandas", None, None),
        ("https://conda.example.com/conda-forge::pandas==2.2.2", "pandas", "2.2.2", None),
        ("openssl=1.1.1w=h7f8727e_0", "openssl", "1.1.1w", None),
        ("libgcc-ng[version='>=12']", "libgcc-ng", None, ">=12"),
        ('numpy[version="1.26.4", build=py311*]', "numpy", "1.26.4", None),
        ("numpy[build=py311*]", "numpy", None, None),
        ("numpy[version='>=1.0,<2']", "numpy", None, ">=1.0,<2"),
        ("numpy=1.26[build=py311*]", "numpy", None, "=1.26"),
        ("numpy # needed for the tests", "numpy", None, None),
        ("Python.App", "python-app", None, None),
        # PEP 503 normalisation applies to conda names too.
        ("_libgcc_mutex=0.1=conda_forge", "-libgcc-mutex", "0.1", None),
    ],
)
def test_conda_specs(tmp_path: Path, spec: str, name: str, version: str | None, specifier: str | None) -> None:
    text = f"dependencies:\n  - {json.dumps(spec)}\n"
    (package,) = _load(tmp_path, text).packages
    assert (package.name, package.version, package.specifier, package.kind) == (name, version, specifier, Kind.REGISTRY)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("requests==2.31.0", ("requests", "2.31.0", None, Kind.REGISTRY, None)),
        ("requests===2.31.0", ("requests", "2.31.0", None, Kind.REGISTRY, None)),
        ("Flask>=1.1.0", ("flask", None, ">=1.1.0", Kind.REGISTRY, None)),
        ("flask", ("flask", None, None, Kind.REGISTRY, None)),
        ("pkg==1.0.*", ("pkg", None, "==1.0.*", Kind.REGISTRY, None)),
        (
            "requests[socks] >=2,<3 ; python_version >= '3.8'",
            ("requests", None, ">=2,<3", Kind.REGISTRY, 'python_version >= "3.8"'),
        ),
        ("requests==2.31.0 --hash=sha256:abcd", ("requests", "2.31.0", None, Kind.REGISTRY, None)),
        ("widgets @ git+https://github.com/acme/widgets.git@v1", ("widgets", None, None, Kind.VCS, None)),
        ("gadget @ https://files.example.com/gadget-2.0.tar.gz", ("gadget", None, None, Kind.URL, None)),
        ("local @ file:///srv/src/local", ("local", None, None, Kind.PATH, None)),
        ("git+https://github.com/acme/widgets.git#egg=widgets", ("widgets", None, None, Kind.VCS, None)),
        ("-e git+https://github.com/acme/widgets.git#egg=widgets", ("widgets", None, None, Kind.EDITABLE, None)),
        ("requests (>= 2, < 3)", ("requests", None, ">=2,<3", Kind.REGISTRY, None)),
        ("--editable=./src/tool#egg=my_tool", ("my-tool", None, None, Kind.EDITABLE, None)),
        ("./wheels/gadget-2.0.tar.gz#egg=gadget", ("gadget", None, None, Kind.PATH, None)),
    ],
)
def test_pip_entries(tmp_path: Path, line: str, expected: tuple[object, ...]) -> None:
    text = f"dependencies:\n  - pip:\n      - {json.dumps(line)}\n"
    (package,) = _load(tmp_path, text).packages
    assert (package.name, package.version, package.specifier, package.kind, package.marker) == expected
    assert (package.groups, package.line) == ((MAIN,), 3)


@pytest.mark.parametrize(
    "line",
    ["--index-url https://pypi.example.com/simple", "-i https://pypi.example.com/simple", "--pre", "# only a comment"],
)
def test_pip_options_that_name_no_package(tmp_path: Path, line: str) -> None:
    loaded = _load(tmp_path, f"dependencies:\n  - pip:\n      - {json.dumps(line)}\n")
    assert (loaded.packages, loaded.warnings) == ((), ())


@pytest.mark.parametrize(
    ("line", "warning"),
    [
        ("-c constraints.txt", "'-c constraints.txt' in the 'pip' list is not followed: scan that file on its own"),
        ("--requirement=more.txt", "'--requirement=more.txt' in the 'pip' list is not followed: scan that file on its own"),
        ("-e .", "cannot tell which package '.' installs (add '#egg=<name>'); skipped"),
        (
            "https://files.example.com/x-1.0.tar.gz",
            "cannot tell which package 'https://files.example.com/x-1.0.tar.gz' installs (add '#egg=<name>'); skipped",
        ),
    ],
)
def test_pip_lines_that_cannot_be_read_are_warnings(tmp_path: Path, line: str, warning: str) -> None:
    loaded = _load(tmp_path, f"dependencies:\n  - pip:\n      - {json.dumps(line)}\n")
    assert loaded.packages == ()
    assert loaded.warnings == (Diagnostic(SHOWN, 3, warning),)


def test_duplicate_specs_are_kept_in_order(tmp_path: Path) -> None:
    text = "dependencies:\n  - numpy=1.26\n  - pip:\n    - numpy==1.26.4\n"
    assert [(p.name, p.version, p.line) for p in _load(tmp_path, text).packages] == [
        ("numpy", None, 2),
        ("numpy", "1.26.4", 4),
    ]


def test_aliases_are_read_where_they_are_used(tmp_path: Path) -> None:
    text = "x-common: &common six=1.16\ndependencies:\n  - *common\n  - pip: &pip\n      - attrs==23.1.0\n"
    found = [(p.name, p.version, p.line) for p in _load(tmp_path, text).packages]
    assert found == [("six", None, 1), ("attrs", "23.1.0", 5)]


def test_a_pip_list_repeated_through_an_alias_is_read_once(tmp_path: Path) -> None:
    text = "x-pip: &pip\n  - attrs==23.1.0\ndependencies:\n  - pip: *pip\n  - pip: *pip\n  - pip: [attrs==23.1.0]\n"
    assert [(p.name, p.line) for p in _load(tmp_path, text).packages] == [("attrs", 2), ("attrs", 6)]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "# nothing yet\n",
        "~\n",
        "name: empty\nchannels: [conda-forge]\n",
        "name: empty\ndependencies:\n",
        "dependencies: []\n",
        "dependencies:\n  - pip:\n",
        "dependencies:\n  - pip: []\n",
    ],
)
def test_environments_without_packages(tmp_path: Path, text: str) -> None:
    assert _load(tmp_path, text) == Loaded(())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("dependencies: [numpy, pandas\n", "2: invalid YAML: while parsing a flow sequence, did not find expected ',' or ']'"),
        ("name: a\n---\nname: b\n", "2: invalid YAML: expected a single document in the stream, but found another document"),
        ("dependencies:\n  - a\n - b\n", "3: invalid YAML: while parsing a block mapping, did not find expected key"),
        ("a: &x 1\nb: *y\n", "2: invalid YAML: found undefined alias"),
        ("dependencies:\n  - a\x07b\n", "2: invalid YAML: character U+0007 is not allowed"),
        ("\n- numpy\n", "2: an environment file must be a YAML mapping"),
        ("bogus\n", "1: an environment file must be a YAML mapping"),
        ("dependencies:\n  numpy: 1\n", "2: 'dependencies' must be a list"),
        ("dependencies:\n  - [numpy]\n", "2: an entry of 'dependencies' must be a package spec or a 'pip:' list"),
        ("dependencies:\n  -\n", "2: an entry of 'dependencies' must be a package spec or a 'pip:' list"),
        ("dependencies:\n  - numpy: 1.26\n", "2: unsupported entry 'numpy' in 'dependencies' (only 'pip:' lists are read)"),
        ("dependencies:\n  - pip: requests\n", "2: 'pip' must be a list of requirements"),
        ("dependencies:\n  - pip:\n    - {a: 1}\n", "3: an entry of the 'pip' list must be a requirement string"),
        ("dependencies:\n  - '>=1.0'\n", "2: invalid conda package spec '>=1.0'"),
        ("dependencies:\n  - numpy*\n", "2: invalid conda package spec 'numpy*'"),
        ("dependencies:\n  - numpy[version='1'\n", "2: invalid conda package spec 'numpy[version='1'': unbalanced '[...]'"),
        ("dependencies:\n  - numpy[1.2]\n", "2: invalid conda package spec 'numpy[1.2]': expected key=value in '[...]'"),
    ],
)
def test_malformed_environments(tmp_path: Path, text: str, message: str) -> None:
    assert _error(tmp_path, text) == f"{SHOWN}:{message}"


def test_invalid_pip_requirement(tmp_path: Path) -> None:
    assert _error(tmp_path, "dependencies:\n  - pip:\n    - requests==>2\n") == (
        "svc/environment.yml:3: invalid pip requirement 'requests==>2': "
        "Expected semicolon (after name with no version specifier) or end"
    )


# conda-meta records -------------------------------------------------------------------------

META_SHOWN = "env/conda-meta/numpy-1.26.4-py311h64a7726_0.json"


def _meta(tmp_path: Path, text: str) -> Loaded:
    return load_meta(_write(tmp_path, text, "record.json"), META_SHOWN)


def test_meta_record(tmp_path: Path) -> None:
    record = {"build": "py311h64a7726_0", "channel": "https://conda.example.com/conda-forge", "name": "NumPy", "version": "1.26.4"}
    text = json.dumps(record, indent=2)
    assert _meta(tmp_path, text) == Loaded((Package(normalize("numpy"), "1.26.4", Kind.REGISTRY, (), None, META_SHOWN, 4),))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", f"{META_SHOWN}:1: empty conda-meta record"),
        ("not\nvalid\njson\n", f"{META_SHOWN}:1: invalid JSON: Expecting value"),
        ("[]", f"{META_SHOWN}:1: a conda-meta record must be a JSON object"),
        ("{}", f"{META_SHOWN}:1: conda-meta record has no 'name'"),
        ('{"name": 3, "version": "1"}', f"{META_SHOWN}:1: conda-meta record has no 'name'"),
        ('{\n"name": "numpy"}', f"{META_SHOWN}:2: conda-meta record of 'numpy' has no 'version'"),
        ('{\n"name": "numpy", "version": 1.2}', f"{META_SHOWN}:2: conda-meta record of 'numpy' has no 'version'"),
    ],
)
def test_meta_malformed(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(SourceError) as raised:
        _meta(tmp_path, text)
    assert str(raised.value) == message


# Corpus ---------------------------------------------------------------------------------------

# dependabot drops every conda entry of an environment as soon as one is fully qualified
# (name=version=build, i.e. `conda env export` output) and never reports the bare `pip` entry;
# envguard keeps them all: they are what the environment holds.
EXTRA_NAMES = {
    "dependabot__environment_no_pip_no_support": {"python", "numpy", "r-base", "git"},
    "dependabot__environment_pip_only_support": {"python", "numpy"},
    "dependabot__environment_simple": {"pip"},
}
_RANGE = re.compile(r"[<>!~]")


def _check_version(package: Package, entry: dict[str, object]) -> None:
    requirement = entry.get("requirement")
    if isinstance(requirement, str) and _RANGE.match(requirement):
        # dependabot reports the lower bound of a range as the version; envguard keeps the range.
        assert (package.version, package.specifier) == (None, requirement)
    elif "version" in entry and package.specifier == f"={entry['version']}":
        # conda's fuzzy "=4.0.3" (any 4.0.3.x): dependabot reports it as the version, envguard
        # keeps the range.
        assert package.version is None
    elif "version" in entry:
        assert package.version == entry["version"]


@pytest.mark.parametrize("case", cases("conda"))
def test_corpus(case: Case) -> None:
    shown = case.expected["file"]
    loader = load_meta if shown.startswith("conda-meta/") else load
    if case.expected["expect_error"]:
        with pytest.raises(SourceError) as raised:
            loader(case.file, shown)
        assert str(raised.value).startswith(f"{shown}:")
        return
    loaded = loader(case.file, shown)
    assert loaded.warnings == ()
    packages = loaded.packages
    expected = case.expected["packages"]
    for entry in expected:
        found = [p for p in packages if p.name == normalize(entry["name"])]
        assert found, entry["name"]
        # The nested `pip:` list comes after the conda specs: the origin's pip entry is the last match.
        package = found[-1] if entry.get("manager") == "pip" or entry.get("groups") == ["pip"] else found[0]
        _check_version(package, entry)
        if "line" in entry:
            assert package.line == entry["line"]
        # dependabot's "dependencies"/"pip" groups and the conda-meta "no groups" map to the shared vocabulary.
        assert package.groups == (() if loader is load_meta else (MAIN,))
    if case.expected.get("complete", True):
        names = {normalize(e["name"]) for e in expected} | EXTRA_NAMES.get(case.id, set())
        assert {p.name for p in packages} == names
    assert len(packages) >= case.expected.get("package_count_min", 0)
