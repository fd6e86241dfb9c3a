"""Each locker for real: a service locked by the tool at iniconfig 1.1.1, another at 2.0.0, and
`envguard fix --apply` moves the first with its own tool.

Marked `network`: the tools resolve against the package index. A test is skipped when its tool is
not on PATH or the index cannot be reached. The services are made here, by the tool itself, from
a few lines of manifest (the repository's fixtures name placeholder indexes under example.com).
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from envguard.fix.command import FixOptions, FixResult, run_fix
from envguard.model import normalize
from tests.fix.kit import OFFLINE, checked
from tests.fix.test_runner import snapshot

pytestmark = pytest.mark.network

INDEX = "https://pypi.org/simple/iniconfig/"


@functools.cache
def _index_reachable() -> str | None:
    import urllib.request

    try:
        with urllib.request.urlopen(INDEX, timeout=10) as response:  # noqa: S310 - a fixed https URL
            response.read(1)
    except OSError as exc:
        return f"the package index cannot be reached ({exc})"
    return None


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace whose `ref` service freezes iniconfig 2.0.0, with the tools kept to the index."""
    reason = _index_reachable()
    if reason is not None:
        pytest.skip(reason)
    for name in ("PIP_FIND_LINKS", "PIP_CONSTRAINT", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "UV_INDEX_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("POETRY_VIRTUALENVS_PATH", str(tmp_path / "venvs"))
    monkeypatch.setenv("PIPENV_VENV_IN_PROJECT", "1")
    monkeypatch.setenv("PIPENV_IGNORE_VIRTUALENVS", "1")
    monkeypatch.setenv("PDM_CHECK_UPDATE", "false")
    root = tmp_path / "ws"
    _write(root / "ref" / "requirements.txt", "iniconfig==2.0.0\n")
    return root


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (not on PATH)")
    return found


def _run(directory: Path, *argv: str) -> None:
    done = subprocess.run(argv, cwd=directory, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, f"{' '.join(argv)}:\n{done.stdout}\n{done.stderr}"


def _fixed(root: Path) -> FixResult:
    """Check that `svc` is the outlier at 1.1.1, apply the plan, and return what it did."""
    before = {f.service for f in checked(root).findings if f.name == "version-drift" and f.package == "iniconfig"}
    assert before == {"svc"}
    result = run_fix(FixOptions(paths=(root,), apply=True, packages=("iniconfig",), load=OFFLINE, timeout=300))
    (outcome,) = result.outcomes or ()
    log = (root / outcome.log).read_text() if outcome.log else ""
    assert outcome.done, f"{outcome.message}\n{log}"
    assert outcome.after == ("2.0.0",)
    versions = {p.version for s in checked(root).inventory.services if s.name == "svc" for p in s.packages if p.name == normalize("iniconfig")}
    assert versions == {"2.0.0"}
    assert result.exit_code == 0
    return result


def test_uv(workspace: Path) -> None:
    _tool("uv")
    _write(workspace / "svc" / "pyproject.toml", """
        [project]
        name = "svc"
        version = "0"
        requires-python = ">=3.10"
        dependencies = ["iniconfig"]
        """)
    _run(workspace / "svc", "uv", "lock", "--upgrade-package", "iniconfig==1.1.1")
    (action,) = _fixed(workspace).plan.actions
    assert action.command == ("uv", "lock", "--upgrade-package", "iniconfig==2.0.0")


def test_uv_failure_leaves_the_service_byte_identical(workspace: Path) -> None:
    """A target the index does not have: uv fails, and the lock and manifest are as they were."""
    _tool("uv")
    _write(workspace / "svc" / "pyproject.toml", """
        [project]
        name = "svc"
        version = "0"
        requires-python = ">=3.10"
        dependencies = ["iniconfig==1.1.1"]
        """)
    _run(workspace / "svc", "uv", "lock")
    _write(workspace / "ref" / "requirements.txt", "iniconfig==9999.0\n")
    before = snapshot(workspace)
    result = run_fix(FixOptions(paths=(workspace,), apply=True, packages=("iniconfig",), load=OFFLINE, timeout=300))
    (outcome,) = result.outcomes or ()
    # The manifest's pin moved first, then uv failed: both are back.
    assert [(e.old, e.new) for e in outcome.action.edits] == [
        ('dependencies = ["iniconfig==1.1.1"]', 'dependencies = ["iniconfig==9999.0"]')
    ]
    assert (outcome.status, outcome.message) == ("failed", "uv exited with 1; its files were restored")
    assert snapshot(workspace) == before
    assert result.exit_code == 1


def test_poetry(workspace: Path) -> None:
    _tool("poetry")
    _write(workspace / "svc" / "pyproject.toml", """
        [tool.poetry]
        name = "svc"
        version = "0"
        description = ""
        authors = ["A <a@example.com>"]
        package-mode = false

        [tool.poetry.dependencies]
        python = "^3.10"

        [tool.poetry.group.dev.dependencies]
        iniconfig = "1.1.1"
        """)
    _run(workspace / "svc", "poetry", "lock")
    (action,) = _fixed(workspace).plan.actions
    assert action.command == ("poetry", "add", "--lock", "--no-interaction", "--group", "dev", "iniconfig@2.0.0")
    assert 'iniconfig = "2.0.0"' in (workspace / "svc" / "pyproject.toml").read_text()


def test_pdm(workspace: Path) -> None:
    _tool("pdm")
    _write(workspace / "svc" / "pyproject.toml", """
        [project]
        name = "svc"
        version = "0"
        requires-python = ">=3.10"
        dependencies = []

        [dependency-groups]
        test = ["iniconfig==1.1.1"]

        [tool.pdm]
        distribution = false
        """)
    _run(workspace / "svc", "pdm", "lock", "-G", ":all")
    (action,) = _fixed(workspace).plan.actions
    assert action.command == ("pdm", "add", "--no-sync", "-dG", "test", "iniconfig==2.0.0")


def test_pipenv(workspace: Path) -> None:
    _tool("pipenv")
    _write(workspace / "svc" / "Pipfile", """
        [[source]]
        url = "https://pypi.org/simple"
        verify_ssl = true
        name = "pypi"

        [packages]

        [dev-packages]
        iniconfig = "==1.1.1"
        """)
    _run(workspace / "svc", "pipenv", "lock")
    (action,) = _fixed(workspace).plan.actions
    assert action.command == ("pipenv", "upgrade", "--dev", "iniconfig==2.0.0")


def test_pip_compile(workspace: Path) -> None:
    _tool("pip-compile")
    _write(workspace / "svc" / "requirements.in", "iniconfig\n")
    _run(workspace / "svc", "pip-compile", "--quiet", "--generate-hashes", "--upgrade-package", "iniconfig==1.1.1", "requirements.in")
    (action,) = _fixed(workspace).plan.actions
    # The header records the options that shape the output (not --quiet), and never the earlier -P.
    assert action.command == ("pip-compile", "--generate-hashes", "requirements.in", "--upgrade-package", "iniconfig==2.0.0")
    assert "--hash=sha256:" in (workspace / "svc" / "requirements.txt").read_text()


def test_uv_pip_compile(workspace: Path) -> None:
    _tool("uv")
    _write(workspace / "svc" / "requirements.in", "iniconfig\n")
    _run(workspace / "svc", "uv", "pip", "compile", "-q", "requirements.in", "-o", "requirements.txt", "-P", "iniconfig==1.1.1")
    (action,) = _fixed(workspace).plan.actions
    assert action.tool == "uv-pip-compile"
    assert action.command == (
        "uv", "pip", "compile", "requirements.in", "-o", "requirements.txt", "--upgrade-package", "iniconfig==2.0.0",
    )
