"""Reading a live environment: the probe, run in real virtual environments built by tests/wheels.py."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from envguard.model import Kind, normalize
from envguard.sources.environment import (
    Distribution,
    PROBE,
    InterpreterError,
    find_interpreter,
    marker_applies,
    parse_report,
    read_environment,
)
from tests.wheels import (
    Venv,
    add_path_dir,
    build_wheel,
    clean_environment,
    install,
    install_wheel,
    make_venv,
    messy_environment,
)

pytestmark = pytest.mark.skipif(os.name == "nt", reason="venv layout and shell scripts of POSIX systems")


@pytest.fixture(scope="module")
def venvs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Venv, Venv, Path]:
    base = tmp_path_factory.mktemp("environment")
    clean, project = clean_environment(base)
    return clean, messy_environment(base), project


def test_reads_every_distribution(venvs: tuple[Venv, Venv, Path]) -> None:
    clean, _, project = venvs
    environment = read_environment(str(clean.python))
    assert environment.source == str(clean.python)
    assert environment.warnings == ()
    assert sorted((d.name, d.version, d.kind) for d in environment.distributions) == [
        ("acme-testkit", "1.0", Kind.REGISTRY),
        ("iniconfig", "2.1.0", Kind.REGISTRY),
        ("myproject", "0.1.0", Kind.EDITABLE),
        ("pluggy", "1.6.0", Kind.REGISTRY),
        ("pytest", "8.4.2", Kind.REGISTRY),
        ("speedups", "2.0", Kind.REGISTRY),
    ]
    by_name: dict[str, Distribution] = {d.name: d for d in environment.distributions}
    acme = by_name["acme-testkit"]
    assert acme.pytest11 == (("acme", "acme_testkit.plugin"),)
    assert acme.requires == ("pytest>=7", "speedups>=2; extra == 'fast'")
    assert acme.path == str(clean.site_packages / "acme_testkit-1.0.dist-info" / "METADATA")
    assert (acme.line, acme.location) == (1, str(clean.site_packages))
    assert by_name["myproject"].url == project.resolve().as_uri()


def test_the_interpreter_reports_its_own_marker_environment(venvs: tuple[Venv, Venv, Path]) -> None:
    interpreter = read_environment(str(venvs[0].python)).interpreter
    version = ".".join(str(part) for part in sys.version_info[:3])
    assert (interpreter.version, interpreter.implementation, interpreter.platform) == (
        version,
        sys.implementation.name,
        sys.platform,
    )
    markers = interpreter.marker_environment()
    assert markers["python_version"] == f"{sys.version_info.major}.{sys.version_info.minor}"
    assert markers["sys_platform"] == sys.platform
    assert set(markers) >= {"implementation_name", "os_name", "platform_machine", "python_full_version"}


def test_duplicates_are_kept_in_sys_path_order(venvs: tuple[Venv, Venv, Path]) -> None:
    messy = venvs[1]
    copies = read_environment(str(messy.python)).installed()[normalize("dupe-lib")]
    assert [(d.version, d.location) for d in copies] == [
        ("1.0", str(messy.site_packages)),
        ("2.0", str(messy.root / "extra-path")),
    ]


def test_a_venv_directory_names_its_interpreter(venvs: tuple[Venv, Venv, Path]) -> None:
    assert find_interpreter(venvs[0].root) == str(venvs[0].python)
    assert read_environment(venvs[0].root).interpreter.executable.startswith(str(venvs[0].root))


def test_isolated_one_directory_twice_and_unreadable_metadata(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    venv = make_venv(tmp_path / "venv")
    install(venv, "single", "1.0")
    # The same directory twice on sys.path (directly and through a symlink) is one installation.
    real = tmp_path / "shared"
    install_wheel(build_wheel(tmp_path / "wheels", "shared-lib", "3.0"), real)
    (tmp_path / "alias").symlink_to(real)
    add_path_dir(venv, real)
    add_path_dir(venv, tmp_path / "alias")
    # Metadata without a name is skipped with a warning, not fatal.
    (venv.site_packages / "broken-0.1.dist-info").mkdir()
    (venv.site_packages / "broken-0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\n", encoding="utf-8")
    # -I: PYTHONPATH does not leak into the environment read.
    outside = tmp_path / "outside"
    install_wheel(build_wheel(tmp_path / "wheels", "leaked", "1.0"), outside)
    monkeypatch.setenv("PYTHONPATH", str(outside))
    environment = read_environment(str(venv.python))
    assert sorted(d.name for d in environment.distributions) == ["shared-lib", "single"]
    (warning,) = environment.warnings
    assert warning.path.endswith("broken-0.1.dist-info/METADATA")
    assert warning.message == "distribution metadata without Name or Version; skipped"


@pytest.mark.parametrize(
    ("script", "message"),
    [
        (None, "no such interpreter; give the path of a Python interpreter, e.g. .venv/bin/python"),
        ("#!/bin/sh\necho 'bad option' >&2\nexit 3\n", "is not a Python interpreter or failed (exit 3): bad option"),
        ("#!/bin/sh\necho hello\n", "is not a Python interpreter (it printed no envguard report)"),
        ("#!/bin/sh\nkill -9 $$\n", "crashed (signal 9) while listing its distributions"),
        ("plain text, not a program\n", "cannot be run (Exec format error); is it a Python interpreter?"),
    ],
)
def test_interpreter_errors_are_one_line(tmp_path: Path, script: str | None, message: str) -> None:
    target = tmp_path / "python"
    if script is not None:
        target.write_text(script, encoding="utf-8")
        target.chmod(0o755)
    with pytest.raises(InterpreterError) as caught:
        read_environment(str(target))
    assert str(caught.value) == f"{target}: {message}"


def test_a_file_that_is_not_executable(tmp_path: Path) -> None:
    target = tmp_path / "uv.lock"
    target.write_text("version = 1\n", encoding="utf-8")
    with pytest.raises(InterpreterError, match="is not executable"):
        read_environment(str(target))


def test_an_interpreter_that_hangs_times_out(tmp_path: Path) -> None:
    target = tmp_path / "python"
    target.write_text("#!/bin/sh\nexec sleep 10\n", encoding="utf-8")
    target.chmod(0o755)
    with pytest.raises(InterpreterError, match=r"did not answer within 0\.3 s"):
        read_environment(str(target), timeout=0.3)


def test_a_directory_without_an_interpreter(tmp_path: Path) -> None:
    with pytest.raises(InterpreterError, match="is a directory without bin/python"):
        find_interpreter(tmp_path)


def test_probe_is_one_constant_and_stdlib_only() -> None:
    imports = [line.strip() for line in PROBE.splitlines() if line.strip().startswith(("import", "from"))]
    assert imports == ["import json, os, platform, sys", "import importlib.metadata as md"]


def test_parse_report_tolerates_odd_entries() -> None:
    report = {
        "executable": "/x/python",
        "implementation": "cpython",
        "version": "3.12.1",
        "platform": "linux",
        "markers": {"python_version": "3.12"},
        "distributions": [
            {"metadata": "/sp/a-1.dist-info", "location": "/sp", "name": "A", "version": "1", "requires": [],
             "pytest11": [], "direct_url": "{not json"},
            {"metadata": "/sp/b-1.dist-info", "location": "/sp", "error": "OSError: denied"},
            {"metadata": "/sp/c-1.dist-info", "location": "/sp", "name": "C", "version": "1", "requires": [],
             "pytest11": [], "direct_url": '{"url": "https://example.com/c.whl", "archive_info": {}}'},
        ],
    }
    environment = parse_report(report, "/x/python")
    assert [(d.name, d.kind, d.url) for d in environment.distributions] == [
        ("a", Kind.REGISTRY, None),
        ("c", Kind.URL, "https://example.com/c.whl"),
    ]
    assert [w.message for w in environment.warnings] == [
        "A: direct_url.json is not a valid PEP 610 record; ignored",
        "unreadable distribution metadata (OSError: denied); skipped",
    ]
    with pytest.raises(InterpreterError, match="needs Python 3.8"):
        parse_report({"error": "needs Python 3.8 or newer"}, "python2")


def test_marker_applies() -> None:
    linux = {"python_version": "3.12", "python_full_version": "3.12.1", "sys_platform": "linux"}
    assert marker_applies(None, linux)
    assert marker_applies('python_version >= "3.10"', linux)
    assert not marker_applies('sys_platform == "win32"', linux)
    assert not marker_applies('extra == "cli"', linux)
    assert marker_applies('extra == "cli"', linux, extras=frozenset({"CLI"}))
    assert marker_applies('extra == "cli"', linux, any_extra=True)
    assert not marker_applies("'dev' in dependency_groups", linux)
    assert marker_applies("'dev' in dependency_groups", linux, groups=frozenset({"dev"}))
    assert marker_applies("not a marker", linux)  # unparseable: kept, never silently dropped
