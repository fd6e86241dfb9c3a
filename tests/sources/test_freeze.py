from __future__ import annotations

from pathlib import Path

import pytest

from envguard.errors import SourceError
from envguard.model import Kind, Loaded, Package, normalize
from envguard.sources.freeze import load
from tests.corpus import Case, cases


@pytest.mark.parametrize("case", cases("freeze"))
def test_corpus(case: Case) -> None:
    loaded = load(case.file, case.expected["file"])
    # Every line of these fixtures is an exact pin, so the origin's list is the whole file.
    assert [(p.name, p.version, p.line) for p in loaded.packages] == [
        (normalize(p["name"]), p["version"], p["line"]) for p in case.expected["packages"]
    ]
    assert all(p.kind is Kind.REGISTRY and p.groups == () and p.marker is None for p in loaded.packages)


def _load(tmp_path: Path, text: str) -> Loaded:
    path = tmp_path / "freeze.txt"
    path.write_text(text, encoding="utf-8")
    return load(path, "envs/freeze.txt")


def _error(tmp_path: Path, text: str) -> str:
    with pytest.raises(SourceError) as caught:
        _load(tmp_path, text)
    return str(caught.value)


def test_pip_freeze_output(tmp_path: Path) -> None:
    text = (
        "# Editable install with no version control (mytool==0.3.0)\n"
        "-e /home/me/src/mytool\n"
        "-e git+https://github.com/acme/widgets.git@5f1c0a7d#egg=acme_widgets\n"
        "certifi @ file:///home/conda/feedstock_root/build_artifacts/certifi_1700000000000/work/certifi\n"
        "Django==4.2.11\n"
        "\n"
        "legacy-thing===1.0-custom\n"
        "requests @ git+https://github.com/psf/requests@0e322af87745eff34caffe4df68456ebc20d9068\n"
        "six @ https://files.example/six-1.16.0-py2.py3-none-any.whl#sha256=abc\n"
        "tool @ file:///wheels/tool-1.0.tar.gz\n"
        "torch==2.3.0+cu121\n"
        "typing_extensions==4.12.2\n"
        "zope.interface==6.2\n"
    )
    loaded = _load(tmp_path, text)
    assert [(p.name, p.version, p.kind, p.line) for p in loaded.packages] == [
        ("mytool", "0.3.0", Kind.EDITABLE, 2),
        ("acme-widgets", None, Kind.EDITABLE, 3),
        ("certifi", None, Kind.PATH, 4),
        ("django", "4.2.11", Kind.REGISTRY, 5),
        ("legacy-thing", "1.0-custom", Kind.REGISTRY, 7),
        ("requests", None, Kind.VCS, 8),
        ("six", None, Kind.URL, 9),
        ("tool", None, Kind.PATH, 10),
        ("torch", "2.3.0+cu121", Kind.REGISTRY, 11),
        ("typing-extensions", "4.12.2", Kind.REGISTRY, 12),
        ("zope-interface", "6.2", Kind.REGISTRY, 13),
    ]
    assert loaded.warnings == ()
    assert loaded.packages[0] == Package(
        normalize("mytool"), "0.3.0", Kind.EDITABLE, (), None, "envs/freeze.txt", 2, source="/home/me/src/mytool"
    )
    # Where each direct entry comes from, in the one spelling of every format (sources._origin);
    # freeze names no index and records no hashes.
    assert [(p.name, p.source, p.hashed) for p in loaded.packages] == [
        ("mytool", "/home/me/src/mytool", None),
        ("acme-widgets", "git+https://github.com/acme/widgets.git", None),
        ("certifi", "file:///home/conda/feedstock_root/build_artifacts/certifi_1700000000000/work/certifi", None),
        ("django", None, None),
        ("legacy-thing", None, None),
        ("requests", "git+https://github.com/psf/requests", None),
        ("six", "https://files.example/six-1.16.0-py2.py3-none-any.whl", None),
        ("tool", "file:///wheels/tool-1.0.tar.gz", None),
        ("torch", None, None),
        ("typing-extensions", None, None),
        ("zope-interface", None, None),
    ]


def test_editable_comments_of_every_kind(tmp_path: Path) -> None:
    text = (
        "# Editable Git install with no remote (Local_Lib==1.2)\n"
        "-e /src/local_lib\n"
        "# Editable Git install (Other==2.0) with either a deleted local remote or invalid URI:\n"
        "# '/tmp/gone'\n"
        "--editable=c:\\users\\me\\src\\other\n"
        "## The following requirements were added by pip freeze:\n"
        "six==1.16.0\n"
    )
    loaded = _load(tmp_path, text)
    assert [(p.name, p.version, p.kind, p.line) for p in loaded.packages] == [
        ("local-lib", "1.2", Kind.EDITABLE, 2),
        ("other", "2.0", Kind.EDITABLE, 5),
        ("six", "1.16.0", Kind.REGISTRY, 7),
    ]


def test_uv_pip_freeze_output(tmp_path: Path) -> None:
    text = (
        "-e file:///home/me/src/mytool\n"
        "acme-widgets @ git+https://github.com/acme/widgets.git@5f1c0a7d\n"
        "project @ https://example.com/project-1.0.0.tar.gz#subdirectory=src&sha256=aaaa\n"
        "typing-extensions==4.12.2\n"
    )
    loaded = _load(tmp_path, text)
    # uv writes no name for an editable; it is the user's own project, not a dependency.
    assert [(p.name, p.kind) for p in loaded.packages] == [
        ("acme-widgets", Kind.VCS),
        ("project", Kind.URL),
        ("typing-extensions", Kind.REGISTRY),
    ]
    assert [str(w) for w in loaded.warnings] == [
        "envs/freeze.txt:1: editable install 'file:///home/me/src/mytool' has no project name here "
        "(pip writes it in a preceding '# Editable install ... (name==version)' comment); skipped"
    ]


def test_a_comment_describes_only_the_next_line(tmp_path: Path) -> None:
    text = (
        "# Editable install with no version control (mytool==0.3.0)\n"
        "six==1.0\n"
        "## !! Could not determine repository location\n"
        "-e /src/x\n"
    )
    loaded = _load(tmp_path, text)
    assert [p.name for p in loaded.packages] == ["six"]
    assert [w.line for w in loaded.warnings] == [4]


@pytest.mark.parametrize(
    "line",
    [
        "requests>=2.0",
        "requests",
        "--index-url https://pypi.example/simple",
        "-r other.txt",
        "foo==1.0 ; python_version < '3.8'",
        "foo==1.0 --hash=sha256:abc",
        "WARNING: You are using pip version 20.0",
        "numpy=1.18.1=pypi_0",
    ],
)
def test_lines_that_are_not_freeze_output(tmp_path: Path, line: str) -> None:
    assert _error(tmp_path, "six==1.0\n" + line + "\n") == (
        "envs/freeze.txt:2: not pip freeze output (expected 'name==version', 'name @ url' or '-e ...'): " + repr(line)
    )


def test_long_lines_are_shortened_in_errors(tmp_path: Path) -> None:
    line = "x" * 30 + " " + "y" * 60
    assert _error(tmp_path, line + "\n").endswith(repr(line[:57] + "..."))


def test_invalid_egg_name(tmp_path: Path) -> None:
    assert _error(tmp_path, "-e git+https://h.example/r.git#egg=a b\n") == (
        "envs/freeze.txt:1: invalid #egg= project name 'a b'"
    )


def test_empty_file(tmp_path: Path) -> None:
    assert _load(tmp_path, "").packages == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-e /home/me/proj\nattrs==23.2.0\n", "freeze"),  # pip freeze: an absolute path
        ("-e file:///home/me/proj\nattrs==23.2.0\n", "freeze"),  # uv pip freeze
        ("-e git+https://example.com/x.git@abc#egg=x\nattrs==23.2.0\n", "freeze"),
        ("-e .[brotli,cli]\nattrs==23.2.0\n", "requirements"),  # httpx's own requirements.txt
        ("-e ./lib\nattrs==23.2.0\n", "requirements"),
        ("-e /home/me/proj[test]\nattrs==23.2.0\n", "requirements"),  # freeze never writes extras
    ],
)
def test_editables_a_freeze_never_writes_make_a_requirements_file(text: str, expected: str) -> None:
    from envguard.sources.detect import text_format

    assert text_format(text) == expected
