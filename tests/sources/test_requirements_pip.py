"""envguard's requirements reader against pip's own parser, on generated and hand-written files.

Each case is a small tree of files read by pip (tests/sources/pip_oracle.py) and by
`envguard.sources.requirements`: both must give the same (file, line, name, version, marker,
constraint) entries, or both refuse the file. envguard follows pip 26.3; a case that touches a
behaviour pip changed since an older release carries that release (`since`) and is compared
only with a pip at least that new (envguard still reads it, and must not crash).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import Version

from envguard.errors import SourceError
from envguard.sources.requirements import load, read_requested
from tests.sources.pip_oracle import FOLLOWED, Entry, PipApi, Rejected, Unnamed, pip_api, pip_reading

# Variables the cases name, which must not be set (pip would expand them).
_UNSET = ("EG_UNSET_VERSION", "EG_UNSET_TOKEN", "EG_UNSET_NAME")
_GENERATED = 300

# Releases where pip's reading changed, for the cases that touch each change.
PACKAGING_22 = Version("24.1")  # pip vendors packaging >= 22: no legacy versions, no URL checks
CYCLES = Version("24.3")  # include cycles are errors (before: endless recursion)
BOM_ORDER = Version("25.0")  # UTF-32's byte-order mark is tested before UTF-16's
EDITABLE_LINE = Version("25.0")  # a line with -e is editable, its requirement part included
SPACED_EXTRAS = Version("25.3")  # `./dir [extra]`: the path loses the space before its extras
SPECIFIER_DUPLICATES = Version("26.1")  # packaging 26.1 keeps `==1.0,==1.0` as two specifiers
WHEEL_NAMES = Version("25.1")  # wheel file names parsed by packaging, the version normalised
BARE_EGG = Version("26.0")  # `#egg=` must be a bare project name
RELEASE_CONTROL = Version("26.0")  # --all-releases, --only-final
NO_REQUIRE_HASHES = Version("26.2")
GLOBAL_OPTION_REMOVED = Version("25.3")

# pip's option table by release: the base every pip since 23.2 has, then what changed.
_BASE_OPTIONS = frozenset(
    {
        "--index-url",
        "--pypi-url",
        "--extra-index-url",
        "--no-index",
        "--constraint",
        "--requirement",
        "--editable",
        "--find-links",
        "--no-binary",
        "--only-binary",
        "--prefer-binary",
        "--require-hashes",
        "--pre",
        "--trusted-host",
        "--use-feature",
        "--hash",
        "--config-settings",
    }
)
_TABLE_CHANGES = (GLOBAL_OPTION_REMOVED, RELEASE_CONTROL, NO_REQUIRE_HASHES)
# `--use-feature` values and the release since which pip accepts each (None: every release).
_FEATURES: dict[str, Version | None] = {
    "fast-deps": None,
    "truststore": None,
    "no-binary-enable-wheel-cache": None,
    "build-constraint": Version("25.3"),
    "inprocess-build-deps": Version("26.0"),
    "venv-isolation": Version("26.2"),
    "2020-resolver": None,  # long gone: refused by every pip compared
    "nonsense": None,
}


def _table(at: Version) -> frozenset[str]:
    table = set(_BASE_OPTIONS)
    if at < GLOBAL_OPTION_REMOVED:
        table.add("--global-option")
    if at >= RELEASE_CONTROL:
        table |= {"--all-releases", "--only-final"}
    if at >= NO_REQUIRE_HASHES:
        table.add("--no-require-hashes")
    return frozenset(table)


def _resolve(spelling: str, table: frozenset[str]) -> str | None:
    if spelling in table:
        return spelling
    matches = [name for name in table if name.startswith(spelling)]
    return matches[0] if len(matches) == 1 else ("ambiguous" if matches else None)


def spelling_since(spelling: str) -> Version | None:
    """The newest release before which optparse resolves a long option spelling otherwise."""
    current = _resolve(spelling, _table(FOLLOWED))
    for boundary in reversed(_TABLE_CHANGES):
        if _resolve(spelling, _table(Version(f"{boundary}.dev0"))) != current:
            return boundary
    return None


def _latest(*versions: Version | None) -> Version | None:
    known = [v for v in versions if v is not None]
    return max(known) if known else None


@dataclass(frozen=True)
class Case:
    files: Mapping[str, bytes]
    since: Version | None = None


# --------------------------------------------------------------------------------------------
# The comparison
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def api() -> PipApi:
    return pip_api()


@pytest.fixture(autouse=True)
def _variables_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _UNSET:
        monkeypatch.delenv(name, raising=False)


def _envguard_reading(root: Path) -> frozenset[Entry] | SourceError:
    entry = root / "requirements.txt"
    try:
        requested = read_requested(entry, "requirements.txt", allow_outside_root=True)
    except SourceError as exc:
        return exc
    installed = {(p.path, p.line, p.name, p.version, p.marker, False) for p, _ in requested.entries}
    loaded = load(entry, "requirements.txt", allow_outside_root=True)
    assert {(p.path, p.line, p.name, p.version, p.marker, False) for p in loaded.packages} == installed
    return frozenset(installed | {(p.path, p.line, p.name, p.version, p.marker, True) for p in requested.constraints})


def compare(api: PipApi, case: Case, root: Path) -> bool:
    """Both readings of `case`, written in the new directory `root`, agree; False when the running
    pip is too old to compare it."""
    for name, data in case.files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    ours = _envguard_reading(root)
    if case.since is not None and api.version < case.since:
        return False
    theirs = pip_reading(api, root)
    shown = {name: data.decode("utf-8", "backslashreplace") for name, data in case.files.items()}
    context = f"pip {api.version} on {shown}"
    if isinstance(theirs, Unnamed):
        assert isinstance(ours, SourceError), f"{context}: only a build names {theirs}, envguard reads {ours}"
        assert "cannot tell the project name" in ours.message, f"{context}: {ours}"
        assert (ours.path, ours.line) == (theirs.file, theirs.line), f"{context}: {ours}"
    elif isinstance(theirs, Rejected):
        assert isinstance(ours, SourceError), f"{context}: pip refuses it ({theirs.reason}), envguard reads {ours}"
    else:
        assert not isinstance(ours, SourceError), f"{context}: pip reads {sorted(theirs)}, envguard refuses: {ours}"
        assert ours == theirs, f"{context}: pip {sorted(theirs)} != envguard {sorted(ours)}"
    return True


# --------------------------------------------------------------------------------------------
# Hand-written cases: every form pip documents or tolerates, and the corners of each
# --------------------------------------------------------------------------------------------

_PROJECT = b'[project]\nname = "Proj.Name"\nversion = "1.0"\n'
_HASH = "sha256:" + "a" * 64
_WHEEL = "pkg-1.0-py3-none-any.whl"


def _text(text: str, since: Version | None = None, **files: str | bytes) -> Case:
    contents = {"requirements.txt": text.encode("utf-8")}
    contents.update({name.replace("__", "/").replace("_DOT_", "."): _bytes(data) for name, data in files.items()})
    return Case(contents, since)


def _bytes(data: str | bytes) -> bytes:
    return data if isinstance(data, bytes) else data.encode("utf-8")


HAND: dict[str, Case] = {
    # Named requirements, specifiers, extras, markers.
    "pin": _text("requests==2.31.0\n"),
    "arbitrary-equality": _text("foo===1.0-custom\n"),
    "prefix-match": _text("foo==1.*\n"),
    "range": _text("foo>=2,<3\n"),
    "legacy-parentheses": _text("foo (>=2, <3)\n"),
    "spaces-in-pin": _text("foo == 1.2-alpha\n"),
    "two-pins": _text("foo==1.0,==1.0\n", SPECIFIER_DUPLICATES),
    "extras": _text("foo[bar, baz]==2.0\n"),
    "bad-extras": _text("foo[bar baz]==2.0\n"),
    "marker": _text("foo==1.0; python_version < '3.8'\n"),
    "marker-no-space": _text("foo==1.0;python_version<'3.8'\n"),
    "marker-empty": _text("foo==1.0;\n"),
    "marker-invalid": _text("foo==1.0; python_version ~= \n"),
    "marker-extra": _text('foo==1.0 ; extra == "test"\n'),
    "marker-and-or": _text("foo; os_name == 'nt' and (python_version < '3.12' or sys_platform == 'win32')\n"),
    "two-markers": _text("torch==2.5.1+cpu ; sys_platform == 'linux'\ntorch==2.5.1 ; sys_platform == 'darwin'\n"),
    "legacy-version": _text("foo==1.0-custom\n", PACKAGING_22),
    "no-name": _text("==1.0\n"),
    "single-equals": _text("foo=1.0\n"),
    "conda-export": _text("numpy=1.18.1=pypi_0\n"),
    "empty-version": _text("asdf==\n", PACKAGING_22),
    "two-words": _text("example archive\n"),
    "pinned-before-url": _text("foo==1.0 @ https://h.example/foo-1.0.tar.gz\n"),
    "variable-version": _text("foo==${EG_UNSET_VERSION}\n", PACKAGING_22),
    "variable-name": _text("${EG_UNSET_NAME}==1.0\n"),
    "variable-in-url": _text("foo @ https://${EG_UNSET_TOKEN}@h.example/foo-1.0.tar.gz\n"),
    "variable-in-index": _text("--extra-index-url https://${EG_UNSET_TOKEN}@h.example/simple\nfoo\n"),
    # Comments, continuations, blank lines, line endings.
    "comments": _text("# header\n\nfoo==1.0  # trailing\n   # indented\nbar\n"),
    "hash-glued": _text("Jinja2==3.0.0#comment\n", PACKAGING_22),
    "continuation": _text("foo==1.0 \\\n    --hash=" + _HASH + " \\\n    --hash=" + _HASH + "\nbar==2.0\n"),
    "continuation-in-version": _text("foo==\\\n\\\n \\\n1.2.3\n"),
    "double-backslash": _text("bar == 4.5\\\\\n.6\n"),
    "comment-ends-continuation": _text("qux==1.0 \\\n# a comment\nnext==2\n"),
    "comment-line-backslash": _text("# not continued \\\nlast==1.0\n"),
    "continuation-at-eof": _text("last==1.0 \\"),
    "comment-after-join": _text("baz == 7.8.9 # \\\nbaz == 1.2.3\n"),
    "crlf": _text("foo==1.0\r\nbar==2.0\r\n"),
    "cr-only": _text("foo==1.0\rbar==2.0\r"),
    "form-feed": _text("foo==1.0\x0cbar==2.0\n"),
    "tab-before-option": _text("foo==1.0\t--hash=" + _HASH + "\n"),
    "tabs-around": _text("\tfoo==1.0\t\n"),
    "empty": _text(""),
    "only-comments": _text("# only\n   # comments\n\n"),
    # Options, their values and abbreviations.
    "index-options": _text(
        "-i https://pypi.example/simple\n--index-url=https://pypi.example/simple\n--pypi-url https://x.example\n"
        '--extra-index-url "https://other.example/simple"\n--no-index\n-f ./wheels\n--find-links=https://h.example\n'
        "--trusted-host host.example\nfoo\n"
    ),
    "binary-options": _text("--no-binary :all:\n--only-binary=numpy,scipy\n--no-binary :none:\n--prefer-binary\nfoo\n"),
    "hash-options": _text("--require-hashes\nfoo==1.0 --hash=" + _HASH + " --hash sha512:def\n"),
    "no-require-hashes": _text("--no-require-hashes\nfoo\n", NO_REQUIRE_HASHES),
    "release-control": _text("--pre\n--all-releases :all:\n--only-final numpy\nfoo\n", RELEASE_CONTROL),
    "release-control-dash": _text("--only-final -x\n", RELEASE_CONTROL),
    "config-settings": _text("foo==1.0 -C key=value --config-settings=k=v\n"),
    "config-settings-bad": _text("foo==1.0 -C bar\n"),
    "hash-bad": _text("foo==1.0 --hash=wrongformat\n"),
    "hash-empty": _text("foo==1.0 --hash=\n"),
    "hash-md5": _text("foo==1.0 --hash=md5:abc\n"),
    "hash-without-requirement": _text("--hash=" + _HASH + "\nfoo\n"),
    "no-binary-dash": _text("--no-binary -x\n"),
    "pre-with-value": _text("--pre=yes\n"),
    "missing-value": _text("-r\n"),
    "hash-missing-value": _text("foo==1.0 --hash\n"),
    "value-is-an-option": _text("--index-url --pre\nfoo\n"),
    "unknown-option": _text("foo==1.0 --frobnicate\n"),
    "unknown-short": _text("-x foo\n"),
    "requirements-typo": _text("--requirements other.txt\n"),
    "abbrev-i": _text("--i https://x.example/simple\nfoo==1\n", GLOBAL_OPTION_REMOVED),
    "abbrev-in": _text("--in https://x.example/simple\nfoo==1\n"),
    "abbrev-ex": _text("--ex https://x.example/simple\nfoo\n"),
    "abbrev-no-d": _text("--no-d x\nfoo==1\n"),
    "abbrev-no": _text("--no x\n"),
    "abbrev-no-b": _text("--no-b :all:\nfoo\n"),
    "abbrev-pr": _text("--pr\n"),
    "abbrev-pre": _text("--pre\nfoo\n"),
    "abbrev-req": _text("--req other.txt\n", other_DOT_txt="foo==1\n"),
    "abbrev-e": _text("--e git+https://h.example/r.git#egg=x\n"),
    "abbrev-on": _text("--on :all:\n", RELEASE_CONTROL),
    "abbrev-g": _text("--g x\n", GLOBAL_OPTION_REMOVED),
    "global-option": _text("foo==1.0 --global-option=--x\n", GLOBAL_OPTION_REMOVED),
    "install-option": _text("foo==1.0 --install-option=--x\n"),
    "build-option": _text("foo==1.0 --build-option=--x\n"),
    "use-feature-fast-deps": _text("--use-feature=fast-deps\nfoo\n"),
    "use-feature-venv-isolation": _text("--use-feature venv-isolation\nfoo\n", Version("26.2")),
    "use-feature-bad": _text("--use-feature=nonsense\n"),
    "short-glued": _text("-ihttps://x.example/simple\nfoo\n"),
    "dash-line": _text("-foo==1.0\n"),
    "lone-dash": _text("foo==1.0 - bar\n"),
    "double-dash": _text("foo==1.0 -- --hash=nothing\n"),
    "trailing-words": _text("foo==1.0 --hash=" + _HASH + " trailing words\n"),
    "words-before-options": _text("foo==1.0 unexpected --hash=" + _HASH + "\n"),
    "option-on-requirement-line": _text("bar==1.0 --index-url https://x.example/simple\n"),
    "unclosed-quote": _text('--index-url "https://unclosed\n'),
    "quoted-value": _text("--index-url 'https://q.example/simple'\nfoo\n"),
    "escaped-space": _text("--find-links ./my\\ wheels\nfoo\n"),
    "nbsp-in-value": _text("--trusted-host a\xa0b\nfoo\n"),
    "two-requirement-files": _text("-r a.txt -r b.txt\n", a_DOT_txt="a==1\n", b_DOT_txt="b==1\n"),
    "requirement-and-editable": _text("foo==1.0 -e ./x\n", EDITABLE_LINE),
    # URLs, VCS, wheels and sdists.
    "named-url": _text("pkg @ https://h.example/pkg-1.0.tar.gz\n"),
    "named-url-marker": _text("pkg @ https://h.example/pkg-1.0.tar.gz ; python_version >= '3'\n"),
    "named-url-glued-marker": _text("pkg @ https://h.example/pkg-1.0.tar.gz;python_version >= '3'\n"),
    "named-vcs": _text("pkg @ git+https://github.com/o/pkg.git@v1.0#subdirectory=src\n"),
    "named-hg": _text("pkg @ hg+https://hg.example/pkg\n"),
    "named-file": _text("pkg @ file:///srv/pkg\n"),
    "named-file-relative": _text("pkg @ file:./pkg\n", PACKAGING_22),
    "named-file-remote": _text("pkg @ file://otherhost/srv/pkg\n"),
    "named-wheel-url": _text("pkg @ https://h.example/" + _WHEEL + "\n"),
    "named-url-hash": _text("pkg @ https://h.example/pkg-1.0.tar.gz#sha256=abc  # comment\n"),
    "wheel-url": _text("https://h.example/" + _WHEEL + "\n"),
    "wheel-url-marker": _text("https://h.example/" + _WHEEL + "; python_version>='3'\n"),
    "wheel-url-spaced-marker": _text("https://h.example/" + _WHEEL + " ; python_version>='3'\n"),
    "wheel-url-glued-marker": _text("https://h.example/" + _WHEEL + ";python_version>='3'\n"),
    "wheel-url-tab-marker": _text("https://h.example/" + _WHEEL + ";\tpython_version>='3'\n"),
    "wheel-url-fragment-marker": _text("https://h.example/" + _WHEEL + "#sha256=abc;python_version>='3'\n"),
    "wheel-url-auth": _text("https://user:tok@h.example/simple/" + _WHEEL + "\n"),
    "wheel-url-trailing-slash": _text("https://h.example/" + _WHEEL + "/\n"),
    "wheel-url-query": _text("https://h.example/" + _WHEEL + "?download=1\n"),
    "wheel-underscores": _text("https://h.example/some_pkg-1.0-py3-none-any.whl\n"),
    "wheel-build-tag": _text("https://h.example/pkg-1.0-1-py3-none-any.whl\n"),
    "wheel-unnormalised": _text("https://h.example/foo-1.0.0_post1-py3-none-any.whl\n", WHEEL_NAMES),
    "wheel-leading-zero": _text("https://h.example/foo-01.0-py3-none-any.whl\n", WHEEL_NAMES),
    "wheel-bad-name": _text("https://h.example/not-a-wheel.whl\n"),
    "wheel-upper-suffix": _text("https://h.example/pkg-1.0-py3-none-any.WHL\n"),
    "wheel-path": _text("./" + _WHEEL + "\n", **{_WHEEL.replace(".", "_DOT_"): b""}),
    "wheel-path-missing": _text("./wheels/" + _WHEEL + "\n"),
    "wheel-bare-file-name": _text(_WHEEL + "\n"),
    "wheel-path-marker": _text("./" + _WHEEL + ";python_version>='3'\n"),
    "wheel-file-url": _text("file:./" + _WHEEL + "; python_version>='3'\n"),
    "wheel-file-url-glued": _text("file:./" + _WHEEL + ";python_version>='3'\n"),
    "wheel-path-extras": _text("./" + _WHEEL + "[extra]\n"),
    "wheel-at-in-path": _text("./x@2/" + _WHEEL + "\n"),
    "sdist-url": _text("https://h.example/Some.Pkg-1.0.tar.gz\n"),
    "sdist-zip": _text("https://h.example/foo-2.0.zip\n"),
    "sdist-bz2": _text("https://h.example/foo-2.0.tar.bz2\n"),
    "archive-without-name": _text("https://h.example/download\n"),
    "archive-zip-without-version": _text("https://github.com/o/r/archive/main.zip\n"),
    "sdist-path": _text("./dist/foo-1.0.tar.gz\n"),
    "double-tar": _text("./foo-1.0.tar.tar\n"),
    "egg-url": _text("git+https://github.com/o/repo.git@v1#egg=My_Pkg\n"),
    "egg-and-subdirectory": _text("git+https://github.com/o/repo.git#egg=pkg&subdirectory=src\n"),
    "egg-not-bare": _text("git+https://h.example/r.git#egg=pkg[extra]\n", BARE_EGG),
    "egg-with-marker": _text("git+https://h.example/r.git#egg=pkg;python_version>='3'\n", BARE_EGG),
    "egg-with-space": _text("git+https://host.example/r.git#egg=bad name\n"),
    "egg-on-wheel": _text("https://h.example/" + _WHEEL + "#egg=pkg;python_version>='3'\n", BARE_EGG),
    "vcs-without-egg": _text("git+https://github.com/o/r.git\n"),
    "git-scheme-bare": _text("git://github.com/o/r.git#egg=x\n"),
    "svn-url": _text("svn+svn://svn.example/r#egg=x\n"),
    "bzr-lp": _text("bzr+lp:project#egg=x\n"),
    "unknown-vcs-scheme": _text("git+foo://h.example/r#egg=x\n"),
    "ftp-url": _text("ftp://h.example/foo-1.0.tar.gz\n"),
    "ipv6-ok": _text("foo @ https://[::1]/foo-1.0.tar.gz\n"),
    "ipv6-named-open": _text("foo @ https://[::1/foo-1.0.tar.gz\n"),
    "ipv6-named-close": _text("foo @ https://::1]/foo-1.0.tar.gz\n"),
    "ipv6-bare-open": _text("https://[::1/foo-1.0-py3-none-any.whl\n"),
    "ipv6-bare-close": _text("https://x]/a-1.0.tar.gz\n"),
    "ipv6-editable": _text("-e git+https://[::1/r.git#egg=foo\n"),
    "upper-file-scheme": _text("FILE:./" + _WHEEL + "\n"),
    "remote-file-url": _text("file://otherhost/srv/" + _WHEEL + "\n"),
    "localhost-file-url": _text("file://localhost/srv/" + _WHEEL + "\n"),
    "windows-path": _text("C:\\wheels\\" + _WHEEL + "\n"),
    # Local directories.
    "directory": _text("./proj\n", proj__pyproject_DOT_toml=_PROJECT),
    "directory-trailing-slash": _text("proj/\n", proj__pyproject_DOT_toml=_PROJECT),
    "directory-extras": _text("./proj[dev]\n", proj__pyproject_DOT_toml=_PROJECT),
    "directory-spaced-extras": _text("./proj [dev]\n", SPACED_EXTRAS, proj__pyproject_DOT_toml=_PROJECT),
    "directory-bad-extras": _text("./proj[a b]\n", proj__pyproject_DOT_toml=_PROJECT),
    "directory-marker": _text("./proj; python_version >= '3'\n", proj__pyproject_DOT_toml=_PROJECT),
    "directory-bare-name": _text("proj\n", proj__pyproject_DOT_toml=_PROJECT),
    "directory-not-installable": _text("./empty\n", empty__keep=b""),
    "directory-missing": _text("./missing/dir\n"),
    "directory-without-name": _text("./dynamic\n", dynamic__pyproject_DOT_toml=b"[build-system]\nrequires = []\n"),
    "directory-url": _text("file:./proj\n", proj__pyproject_DOT_toml=_PROJECT),
    "directory-url-parent": _text("file:../x/proj\n"),
    "directory-url-absolute-missing": _text("file:///nonexistent/proj\n"),
    "directory-named-url": _text("proj @ file:///nonexistent/proj\n"),
    # Editables.
    "editable-directory": _text("-e ./proj\n", proj__pyproject_DOT_toml=_PROJECT),
    "editable-directory-extras": _text("-e ./proj[dev]\n", proj__pyproject_DOT_toml=_PROJECT),
    "editable-bare-directory": _text("-e proj\n", proj__pyproject_DOT_toml=_PROJECT),
    "editable-file-url": _text("-e file:./proj\n", proj__pyproject_DOT_toml=_PROJECT),
    "editable-file-url-egg": _text("-e file:///nonexistent#egg=foo\n"),
    "editable-file-url-missing": _text("-e file:./missing\n"),
    "editable-missing-directory": _text("-e ./missing\n"),
    "editable-vcs": _text("--editable=git+https://github.com/o/repo.git@abc#egg=acme_widgets\n"),
    "editable-git-scheme": _text("-e git://github.com/o/repo.git#egg=other\n"),
    "editable-vcs-without-egg": _text("-e git+https://github.com/o/r.git\n"),
    "editable-named-url": _text("-e foo @ git+https://github.com/o/r.git ; python_version >= '3'\n"),
    "editable-https": _text("-e https://github.com/pecan/pecan.git\n"),
    "editable-requirement": _text("-e foo==1.0\n"),
    "editable-egg-extras": _text("-e git+https://h.example/r.git#egg=foo[bar]\n", BARE_EGG),
    "editable-upper-file": _text("-e FILE:./proj\n", proj__pyproject_DOT_toml=_PROJECT),
    "editable-two": _text("-e ./proj -e ./other\n", proj__pyproject_DOT_toml=_PROJECT),
    "editable-hash": _text("-e git+https://h.example/r.git#egg=baz --hash=" + _HASH + "\n"),
    # Encodings and byte-order marks.
    "utf8-bom": Case({"requirements.txt": b"\xef\xbb\xbffoo==1.0\n"}),
    "utf16-bom-crlf": Case(
        {"requirements.txt": "\ufeffattrs==20.3.0 \\\r\n  --hash=sha256:abc\r\nsix==1.0\r\n".encode("utf-16-le")}
    ),
    "utf16-be-bom": Case({"requirements.txt": "\ufefffoo==1.0\n".encode("utf-16-be")}),
    "utf32-le-bom": Case({"requirements.txt": "foo==1.0\n".encode("utf-32")}, BOM_ORDER),
    "utf32-be-bom": Case({"requirements.txt": "\ufefffoo==1.0\n".encode("utf-32-be")}),
    "utf16-without-bom": Case({"requirements.txt": "foo==1.0\n".encode("utf-16-le")}),
    "latin1-coding": Case({"requirements.txt": "# -*- coding: latin-1 -*-\nfoo==1.0  # café\n".encode("latin-1")}),
    "latin1-coding-second-line": Case({"requirements.txt": "\n# coding=latin-1\nfoo==1.0 # é\n".encode("latin-1")}),
    "latin1-coding-third-line": Case({"requirements.txt": "\n\n# coding=latin-1\nfoo==1.0 # é\n".encode("latin-1")}),
    "latin1-undeclared": Case({"requirements.txt": "foo==1.0  # café\n".encode("latin-1")}),
    "coding-unknown": Case({"requirements.txt": b"# coding: no-such-codec\nfoo==1.0\n"}),
    "coding-utf16-declared": Case({"requirements.txt": b"# coding: utf-16\nfoo\n"}),
    "invalid-utf8": Case({"requirements.txt": b"foo==1.0\n\xff\n"}),
    "nul-in-comment": Case({"requirements.txt": b"foo==1.0  # \x00\n"}),
    "nul-in-requirement": Case({"requirements.txt": b"fo\x00o==1.0\n"}),
    "non-ascii-name": _text("café==1.0\n"),
    # Includes, constraints, chains and cycles.
    "include": _text("-r base.txt\nfoo\n", base_DOT_txt="bar==1\n"),
    "include-long-spelling": _text("--requirement=base.txt\n", base_DOT_txt="bar==1\n"),
    "include-glued": _text("-rsub/base.txt\n", sub__base_DOT_txt="bar==1\n"),
    "include-chain": _text(
        "-r sub/a.txt\nx==1\n", sub__a_DOT_txt="-r ../b.txt\na==1\n", b_DOT_txt="-c sub/c.txt\nb==1\n", sub__c_DOT_txt="b<2\n"
    ),
    "include-diamond": _text("-r a.txt\n-r b.txt\n", a_DOT_txt="-r c.txt\n", b_DOT_txt="-r c.txt\n", c_DOT_txt="c==1\n"),
    "include-missing": _text("foo==1\n-r missing.txt\n"),
    "include-directory": _text("-r folder\n", folder__keep=b""),
    "include-self": _text("foo==1\n-r requirements.txt\n", CYCLES),
    "include-cycle": _text("-r a.txt\n", CYCLES, a_DOT_txt="-r sub/b.txt\n", sub__b_DOT_txt="x==1\n-r ../requirements.txt\n"),
    "include-cycle-dot-spelling": _text("-r ./a.txt\n", CYCLES, a_DOT_txt="-r ./requirements.txt\n"),
    "constraint": _text("requests\n-c c.txt\n", c_DOT_txt="requests<3\nurllib3==2.0 ; python_version >= '3'\n"),
    "constraint-long": _text("--constraint=c.txt\n", c_DOT_txt="requests==2.0\n"),
    "constraint-then-requirement": _text("-c c.txt -r r.txt\n", c_DOT_txt="a<2\n", r_DOT_txt="b==1\n"),
    "constraint-includes-requirements": _text("-c c.txt\n", c_DOT_txt="urllib3<2\n-r extra.txt\n", extra_DOT_txt="idna==3.7\n"),
    "constraint-extras": _text("foo\n-c c.txt\n", c_DOT_txt="foo[bar]==1.0\n"),
    "constraint-editable": _text("-c c.txt\n", c_DOT_txt="-e git+https://h.example/r.git#egg=x\n"),
    "constraint-directory": _text("-c c.txt\n", c_DOT_txt="./proj\n", proj__pyproject_DOT_toml=_PROJECT),
    "constraint-wheel-path": _text("-c c.txt\n", c_DOT_txt="./" + _WHEEL + "\n"),
    "constraint-wheel-extras": _text("-c c.txt\n", c_DOT_txt="./" + _WHEEL + "[x]\n"),
    "constraint-sdist-url": _text("-c c.txt\n", c_DOT_txt="https://h.example/foo-1.0.tar.gz\n"),
    "constraint-egg-url": _text("-c c.txt\n", c_DOT_txt="git+https://h.example/r.git#egg=foo\n"),
    "constraint-named-url": _text("-c c.txt\n", c_DOT_txt="foo @ https://h.example/foo-1.0.tar.gz\n"),
    "constraint-invalid": _text("-c c.txt\n", PACKAGING_22, c_DOT_txt="urllib3 >=\n"),
    "constraint-missing": _text("-c ./missing.txt\n"),
    "paths-from-the-first-file": _text(
        "-r sub/more.txt\n", sub__more_DOT_txt="./proj\n", proj__pyproject_DOT_toml=_PROJECT
    ),
    "editable-from-nested-file": _text(
        "-r sub/more.txt\n", sub__more_DOT_txt="-e ./proj\n", proj__pyproject_DOT_toml=_PROJECT
    ),
    "wheel-from-nested-file": _text("-r sub/more.txt\n", sub__more_DOT_txt="./" + _WHEEL + "\n"),
    "include-nested-error": _text("-r requirements/base.txt\n", requirements__base_DOT_txt="ok==1\n\nnot valid\n"),
}


def test_the_corpus_has_500_cases() -> None:
    assert len(HAND) + _GENERATED >= 500


@pytest.mark.parametrize("name", sorted(HAND))
def test_hand_written_case(api: PipApi, name: str, tmp_path: Path) -> None:
    if not compare(api, HAND[name], tmp_path.resolve()):
        pytest.skip(f"pip {api.version} predates pip {HAND[name].since}'s reading, which envguard follows")


# --------------------------------------------------------------------------------------------
# Generated cases
# --------------------------------------------------------------------------------------------

Piece = tuple[str, "Version | None"]
T = TypeVar("T")


def _piece(text: str, since: Version | None = None) -> Piece:
    return text, since


def _join(*pieces: Piece) -> Piece:
    return "".join(text for text, _ in pieces), _latest(*(since for _, since in pieces))


def _mostly(valid: list[T], invalid: list[T]) -> st.SearchStrategy[T]:
    """One line of a file is refused, the whole file is: most pieces are valid ones (hypothesis
    takes one strategy repeated in one_of once, so the weights are in the list)."""
    return st.sampled_from(valid * 6 + invalid)


_names = _mostly(["requests", "Django", "zope.interface", "Foo_Bar", "a", "pytest-cov", "x1"], ["foo-", "-x"])
_versions = _mostly(
    ["1.0", "2.31.0", "1!2.0", "1.0rc1", "1.0.post1", "1.0.dev3", "1.0+local.7", "01.0"],
    ["1.0-custom", "${EG_UNSET_VERSION}", "abc", "1..0"],
)


@st.composite
def _specifiers(draw: st.DrawFn) -> Piece:
    version = draw(_versions)
    form = draw(st.sampled_from(["", "==", "===", ">=", "~=", "!=", "==*", "range", " == ", "parens", "<"]))
    text = {"": "", "==*": f"=={version}.*", "range": f">={version},<9", "parens": f" (>={version})"}.get(
        form, f"{form}{version}"
    )
    try:
        Requirement("x" + text)
    except InvalidRequirement:  # not PEP 440 (`>=1.0+local`, `~=1`): a legacy specifier before 24.1
        return _piece(text, PACKAGING_22)
    return _piece(text)


_extras = _mostly(["", "", "", "[security]", "[a,b]", "[ a ]", "[]"], ["[a b]", "[a"])
_markers = _mostly(
    [
        "",
        "",
        "; python_version >= '3.8'",
        ";sys_platform=='linux'",
        " ; extra == 'test'",
        '; os_name == "nt" and python_version < "3.12"',
        ";",
        "; platform_machine in 'x86_64 aarch64'",
    ],
    ["; python_version >= ", "; nonsense == '1'"],
)
_line_options = _mostly(
    ["", "", f" --hash={_HASH}", " --hash sha512:abc", " -C key=val", " --config-settings=k=v"],
    [" --hash=md5:abc", " --hash=abc", " -C"],
)
_comments = _mostly(["", "", "  # a comment", " #", "\t# tab comment"], ["#glued"])


@st.composite
def _named(draw: st.DrawFn) -> Piece:
    specifier = draw(_specifiers())
    text = draw(_names) + draw(_extras) + specifier[0] + draw(_markers) + draw(_line_options) + draw(_comments)
    return _piece(text, specifier[1])


_hosts = _mostly(
    ["https://files.example/p", "http://[::1]:8080/p", "https://user:tok@h.example/simple", "ftp://h.example"],
    ["https://[::1/p", "https://h]/p"],
)
_artifacts = _mostly(
    [
        ("pkg-1.0-py3-none-any.whl", None),
        ("Foo_Bar-2.0-cp311-cp311-manylinux_2_17_x86_64.whl", None),
        ("foo-1.0.tar.gz", None),
        ("Foo-Bar-2.0.zip", None),
        ("foo-1.0.tar.bz2", None),
    ],
    [("foo-1.0.0_post1-py3-none-any.whl", WHEEL_NAMES), ("foo.whl", WHEEL_NAMES), ("archive.zip", None), ("", None)],
)
_fragments = _mostly(
    [("", None), ("", None), ("#egg=foo", None), (f"#{_HASH.replace(':', '=')}", None), ("#egg=foo&subdirectory=src", None)],
    [("#egg=foo[bar]", BARE_EGG), ("#subdirectory=x", None)],
)
_vcs = _mostly(
    [
        "git+https://github.com/o/r.git",
        "git+https://github.com/o/r.git@v1.0",
        "hg+https://hg.example/r",
        "svn+svn://svn.example/r",
        "bzr+lp:project",
        "git+ssh://git@github.com/o/r.git@main",
    ],
    ["git://github.com/o/r.git", "git+foo://h.example/r"],
)
_url_markers = st.sampled_from(["", "; python_version >= '3'", ";python_version>='3'", " ; sys_platform == 'linux'"])


@st.composite
def _url(draw: st.DrawFn) -> Piece:
    if draw(st.booleans()):
        artifact, since = draw(_artifacts)
        base = f"{draw(_hosts)}/{artifact}"
    else:
        base, since = draw(_vcs), None
    fragment, fragment_since = draw(_fragments)
    url = base + fragment
    marker = draw(_url_markers)
    if draw(st.booleans()):
        return _piece(f"{draw(_names)}{draw(_extras)} @ {url}{' ' if marker.startswith(';') else ''}{marker}", fragment_since)
    return _piece(url + marker, _latest(since, fragment_since))


# Local projects and archives each generated case may name; _files writes them.
_locals = _mostly(
    [
        "./proj",
        "proj/",
        "./proj[dev]",
        "file:./proj",
        "-e ./proj",
        "-e file:./proj",
        "-e proj",
        "./pkg-1.0-py3-none-any.whl",
        "pkg-1.0-py3-none-any.whl",
        "./dist/foo-1.0.tar.gz",
        "./nowheel-1.0-py3-none-any.whl",
    ],
    ["./empty", "./missing", "-e ./missing"],
)
_editables = _mostly(
    [
        "-e git+https://github.com/o/r.git#egg=foo",
        "--editable=git+https://h.example/r.git@abc#egg=acme_widgets",
        "-e foo @ git+https://github.com/o/r.git",
        "-e git://github.com/o/r#egg=foo",
    ],
    ["-e git+https://github.com/o/r.git", "-e https://h.example/foo.tar.gz#egg=foo", "-e foo==1.0"],
)


_EVERY_OPTION = _table(Version("23.2")) | _table(FOLLOWED) | {"--install-option", "--build-option"}
# Mostly options every pip since 23.2 has, spelled out; else any abbreviation of any option.
_spellings = st.one_of(
    st.sampled_from(sorted(_BASE_OPTIONS) * 2),
    st.sampled_from(sorted({name[:cut] for name in _EVERY_OPTION for cut in range(3, len(name) + 1)})),
)


_VALUES = {
    "--index-url": "https://x.example/simple",
    "--pypi-url": "https://x.example/simple",
    "--extra-index-url": "'https://y.example/simple'",
    "--find-links": "./wheels",
    "--no-binary": ":all:",
    "--only-binary": "numpy,scipy",
    "--all-releases": ":all:",
    "--only-final": "numpy",
    "--trusted-host": "h.example",
    "--hash": _HASH,
    "--config-settings": "k=v",
    "--global-option": "--no-user-cfg",
    "--install-option": "--prefix=/x",
    "--build-option": "--x",
    "--requirement": "a.txt",
    "--constraint": "c.txt",
    "--editable": "./proj",
}


@st.composite
def _option_line(draw: st.DrawFn) -> Piece:
    spelling = draw(_spellings)
    since = spelling_since(spelling)
    resolved = _resolve(spelling, _table(FOLLOWED)) or spelling
    if resolved == "--use-feature":
        feature = draw(st.sampled_from(list(_FEATURES)))
        return _piece(f"{spelling}={feature}", _latest(since, _FEATURES[feature]))
    value = _VALUES.get(resolved)
    if value is None and resolved not in _table(FOLLOWED):
        value = draw(st.sampled_from(["", "x"]))
    if not value:
        return _piece(spelling, since)
    return _piece(f"{spelling}{draw(st.sampled_from([' ', '=']))}{value}", since)


def _weighted(*choices: tuple[st.SearchStrategy[Piece], int]) -> st.SearchStrategy[Piece]:
    return st.sampled_from([strategy for strategy, weight in choices for _ in range(weight)]).flatmap(lambda s: s)


_LINE_KINDS = (
    (_named(), 4),
    (_url(), 2),
    (_locals.map(_piece), 1),
    (_editables.map(_piece), 1),
    (_option_line(), 2),
    (_mostly(["", "# a comment", "   "], ["\\"]).map(_piece), 1),
)
_INCLUDES = _mostly(["-r a.txt", "-r sub/b.txt", "-c c.txt", "--requirement=a.txt"], ["-r missing.txt"])
# a.txt's own: none names a.txt (a cycle is added on purpose, with its `since`).
_NESTED_INCLUDES = _mostly(["-r sub/b.txt", "-c c.txt", "--constraint=c.txt"], ["-r missing.txt"])
_LINES = {
    "requirements": st.lists(_weighted(*_LINE_KINDS, (_INCLUDES.map(_piece), 1)), min_size=1, max_size=5),
    "nested": st.lists(_weighted(*_LINE_KINDS, (_NESTED_INCLUDES.map(_piece), 1)), max_size=5),
    "included": st.lists(_weighted(*_LINE_KINDS), max_size=5),
    # A constraints file holds names, mostly: pip refuses the rest.
    "constraints": st.lists(_weighted((_named(), 6), (_url(), 1), (_locals.map(_piece), 1)), max_size=4),
}


# Not st.integers(0, 7) == 0: hypothesis draws the smallest integer far more often than that.
_ONE_IN_EIGHT = st.sampled_from([False] * 7 + [True])


@st.composite
def _file(draw: st.DrawFn, kind: str, cycle: str | None = None) -> Piece:
    lines = draw(_LINES[kind])
    if cycle is not None and draw(_ONE_IN_EIGHT):
        lines.append(_piece(cycle, CYCLES))
    out: list[str] = []
    for text, _ in lines:
        if " " in text and draw(_ONE_IN_EIGHT):  # a continuation at a space
            head, _, tail = text.partition(" ")
            text = f"{head} \\\n  {tail}"
        out.append(text)
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    return _piece(newline.join(out) + draw(st.sampled_from(["", newline])), _latest(*(since for _, since in lines)))


_ENCODINGS: dict[str, tuple[Callable[[str], bytes], Version | None]] = {
    "utf-8": (lambda text: text.encode("utf-8"), None),
    "utf-8-bom": (lambda text: text.encode("utf-8-sig"), None),
    "utf-16": (lambda text: text.encode("utf-16"), None),
    "utf-32": (lambda text: text.encode("utf-32"), BOM_ORDER),
    "latin-1-declared": (lambda text: ("# -*- coding: latin-1 -*-\n" + text + "\n# café\n").encode("latin-1", "replace"), None),
    "latin-1": (lambda text: (text + "\n# café\n").encode("latin-1", "replace"), None),
}


@st.composite
def generated_cases(draw: st.DrawFn) -> Case:
    entry_text, since = draw(_file("requirements"))
    encoding = draw(st.sampled_from(["utf-8"] * 12 + sorted(_ENCODINGS)))
    encode, encoding_since = _ENCODINGS[encoding]
    files: dict[str, bytes] = {"requirements.txt": encode(entry_text)}
    sinces: list[Version | None] = [since, encoding_since]
    for name, kind, cycle in (
        ("a.txt", "nested", "-r requirements.txt"),
        ("sub/b.txt", "included", "-r ../a.txt"),
        ("c.txt", "constraints", None),
    ):
        text, file_since = draw(_file(kind, cycle))
        files[name] = text.encode("utf-8")
        sinces.append(file_since)
    files["proj/pyproject.toml"] = _PROJECT
    files["empty/.keep"] = b""
    files["pkg-1.0-py3-none-any.whl"] = b""
    return Case(files, _latest(*sinces))


def test_generated_cases(api: PipApi, tmp_path: Path) -> None:
    compared: list[bool] = []
    directories = (tmp_path.resolve() / str(number) for number in itertools.count())

    @settings(
        max_examples=_GENERATED,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )
    @given(case=generated_cases())
    def check(case: Case) -> None:
        root = next(directories)
        root.mkdir()
        compared.append(compare(api, case, root))

    check()
    assert len(compared) >= _GENERATED
    if api.version >= FOLLOWED:
        assert all(compared)
    # A good part of the corpus means the same to every pip since 23.2.
    assert sum(compared) >= len(compared) // 4, f"pip {api.version} compared only {sum(compared)} of {len(compared)}"
