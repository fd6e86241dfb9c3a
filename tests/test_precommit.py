"""envguard as a pre-commit hook and a GitHub Action: the manifest, action.yml, and real pre-commit runs.

The real runs (marked `network`) let pre-commit do what it does for a user: clone the hook
repository, build a virtualenv and `pip install .` it (which needs the package index), then run
the hook in a throw-away git repository.

pre-commit clones a *git* repository at a revision. `try-repo` on a dirty checkout builds a
shadow commit from the tracked files only, so new, untracked files (a new module) would be
missing. The tests therefore snapshot the checkout as it is on disk (tracked and untracked files,
minus ignored ones) into a temporary git repository with one commit: the same on a clean CI clone
and on a work tree with uncommitted changes. `try-repo` keeps its environments in a private
temporary store and builds one on every call, so it runs once (a clean commit passes, then an
unapproved plugin fails); the other runs go through a `.pre-commit-config.yaml` and share one
PRE_COMMIT_HOME, so their environment is built once for the module.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from envguard.sources import detect
from tests.kit import BILLING_LOCK, ORDERS_LOCK, write

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / ".pre-commit-hooks.yaml"
ACTION = ROOT / "action.yml"

pytest.importorskip("pre_commit", reason="pre-commit is in the `test` extra: pip install -e '.[test]'")

# billing locks pytest-cov, pytest-mock, pytest-xdist, anyio and hypothesis; orders adds pytest-randomly.
POLICY = """\
version: 1
pytest:
  allowed: ">=7"
plugins:
  unknown: error
  approved:
    pytest-cov: ">=4"
    pytest-mock: "*"
    pytest-xdist: "*"
    hypothesis: "*"
    anyio: "*"
drift:
  default: none
"""


def _manifest() -> dict[str, dict[str, Any]]:
    hooks = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(hooks, list)
    return {hook["id"]: hook for hook in hooks}


def _pre_commit(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


# --------------------------------------------------------------------------- the manifest


def test_validate_manifest() -> None:
    result = _pre_commit("validate-manifest", str(MANIFEST), cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hooks_see_the_whole_workspace_in_one_process() -> None:
    hooks = _manifest()
    assert set(hooks) == {"envguard", "envguard-plugins"}
    for hook in hooks.values():
        assert hook["language"] == "python"
        assert hook["pass_filenames"] is True
        assert hook["require_serial"] is True
        assert hook["entry"].startswith("envguard check --changed")
        assert hook["minimum_pre_commit_version"] == "3.2.0"
    assert hooks["envguard-plugins"]["entry"] == "envguard check --changed --select plugins"
    assert hooks["envguard-plugins"]["files"] == hooks["envguard"]["files"]


MATCHED = [
    "uv.lock",
    "services/billing/uv.lock",
    "a/b/c/poetry.lock",
    "pdm.lock",
    "svc/Pipfile.lock",
    "pylock.toml",
    "svc/pylock.dev.toml",
    "requirements.txt",
    "svc/requirements-dev.txt",
    "svc/requirements_test.txt",
    "svc/Requirements.txt",
    "svc/test-requirements.txt",
    "svc/dev_requirements.txt",
    "svc/pip-freeze.txt",
    "svc/freeze.txt",
    "svc/pip-inspect.json",
    "svc/pip-inspect-ci.json",
    "svc/pip-list.json",
    "svc/environment.yml",
    "svc/environment.yaml",
    "policies/envguard.yaml",
    "policies/teams.yml",
    "platform/policies/envguard.yaml",
    "envguard.toml",
    "pyproject.toml",
    "services/billing/pyproject.toml",
    "svc/pytest.ini",
    "svc/.pytest.ini",
    "svc/pytest.toml",
    "svc/.pytest.toml",
    "svc/tox.ini",
    "svc/setup.cfg",
    "svc/conftest.py",
    "svc/tests/conftest.py",
]
NOT_MATCHED = [
    "README.md",
    "svc/uv.lock.bak",
    "svc/notes.txt",
    "svc/requirements.in",
    "svc/package-lock.json",
    "svc/setup.py",
    "svc/pyproject.toml.orig",
    "svc/myuv.lock",
    "policies/README.md",
    "svc/test_conftest.py",
]


@pytest.mark.parametrize("path", MATCHED)
def test_files_regex_matches(path: str) -> None:
    # pre-commit: re.search against the repository-relative path.
    for hook in _manifest().values():
        assert re.search(hook["files"], path), path


@pytest.mark.parametrize("path", NOT_MATCHED)
def test_files_regex_ignores(path: str) -> None:
    assert not re.search(_manifest()["envguard"]["files"], path)


@pytest.mark.parametrize(
    "name",
    [n for n in (p.rsplit("/", 1)[-1] for p in MATCHED) if detect.is_discoverable(n)],
)
def test_every_discovered_record_is_a_hook_file(name: str) -> None:
    assert re.search(_manifest()["envguard"]["files"], f"services/x/{name}")


def test_declaring_files_are_covered() -> None:
    """Every declaring file name, and the workspace's CI files, trigger the hook."""
    from envguard.declared import detect as declared_detect

    files = _manifest()["envguard"]["files"]
    for pattern, _ in declared_detect._BY_NAME:
        name = pattern.replace("*", "x")
        assert declared_detect.format_for_name(name) is not None
        assert re.search(files, f"services/x/{name}"), pattern
    for shared in (".github/workflows/test.yml", ".github/workflows/ci.yaml", ".github/actions/setup/action.yml", ".gitlab-ci.yml"):
        assert re.search(files, shared), shared
    assert not re.search(files, "docs/.github/workflows/test.yml")
    assert not re.search(files, ".github/dependabot.yml")


def test_discovery_patterns_are_covered() -> None:
    """Every name pattern envguard discovers, instantiated, triggers the hook."""
    patterns = [p for p, _ in detect._BY_NAME] + list(detect._DISCOVERED_TEXT + detect._DISCOVERED_JSON)
    files = _manifest()["envguard"]["files"]
    for pattern in patterns:
        name = pattern.replace("*", "x")
        assert detect.is_discoverable(name)
        assert re.search(files, f"services/x/{name}"), pattern


# --------------------------------------------------------------------------- the GitHub Action


def test_action_installs_its_own_checkout_and_runs_check() -> None:
    action = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    assert action["runs"]["using"] == "composite"
    assert set(action["inputs"]) >= {"paths", "format", "policy", "fail-on", "output"}
    assert action["inputs"]["format"]["default"] == "github"
    steps = action["runs"]["steps"]
    install, run = steps
    assert install["env"]["ENVGUARD_ACTION_PATH"] == "${{ github.action_path }}"
    assert "pip install" in install["run"]
    # Inputs reach the script through the environment only (no expression in the script text).
    for step in steps:
        assert "${{" not in step["run"]
    assert "check" in run["run"]


def test_action_script_runs_envguard(tmp_path: Path) -> None:
    """The check step's script, run by bash against this environment's envguard."""
    bash = shutil.which("bash")
    envguard = Path(sys.executable).with_name("envguard")
    if bash is None or not envguard.exists():
        pytest.skip("needs bash and the envguard console script next to the interpreter")
    action = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    script = action["runs"]["steps"][1]["run"]
    workspace = tmp_path / "repo"
    write(workspace / "policies" / "envguard.yaml", POLICY)
    (workspace / "services" / "orders").mkdir(parents=True)
    shutil.copyfile(ORDERS_LOCK, workspace / "services" / "orders" / "poetry.lock")
    outputs = tmp_path / "outputs"
    env = {
        **os.environ,
        "ENVGUARD_BIN": str(envguard),
        "INPUT_PATHS": ".",
        "INPUT_FORMAT": "github",
        "INPUT_POLICY": "",
        "INPUT_FAIL_ON": "error",
        "INPUT_OUTPUT": "report.sarif",
        "GITHUB_OUTPUT": str(outputs),
    }
    env.pop("GITHUB_STEP_SUMMARY", None)
    result = subprocess.run([bash, "-e", "-c", script], cwd=workspace, env=env, capture_output=True, text=True)
    assert result.returncode == 1, result.stderr
    assert outputs.read_text(encoding="utf-8") == "exit-code=1\n"
    assert "pytest-randomly" in (workspace / "report.sarif").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- real pre-commit runs

_GIT_ENV = {
    "GIT_AUTHOR_NAME": "envguard tests",
    "GIT_AUTHOR_EMAIL": "tests@envguard.invalid",
    "GIT_COMMITTER_NAME": "envguard tests",
    "GIT_COMMITTER_EMAIL": "tests@envguard.invalid",
    # No user or system configuration (signing, hooks, templates) leaks into the test repositories.
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}

# pip's words when the index cannot be reached (a missing distribution is a real failure).
_OFFLINE = re.compile(
    r"Failed to establish a new connection|Temporary failure in name resolution|Name or service not known"
    r"|Network is unreachable|Connection refused|ProxyError|SSLError|Read timed out|ConnectTimeout",
)


# Set when the tests themselves run inside a git hook; they would point git at the outer repository.
_GIT_REPO_VARIABLES = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY")


def _clean_environ() -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in _GIT_REPO_VARIABLES}
    return {**env, **_GIT_ENV}


def _git(*args: str, cwd: Path) -> str:
    env = _clean_environ()
    result = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr}"
    return result.stdout.strip()


def _index_url() -> str:
    configured = os.environ.get("PIP_INDEX_URL")
    if not configured:
        result = subprocess.run(
            [sys.executable, "-m", "pip", "config", "get", "global.index-url"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        configured = result.stdout.strip() if result.returncode == 0 else ""
    return configured.split()[0] if configured else "https://pypi.org/simple/"


def _index_reachable(url: str) -> bool:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "file":
        return Path(urllib.request.url2pathname(parts.path)).exists()
    try:
        urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=5).close()  # noqa: S310
    except urllib.error.HTTPError:
        return True  # the server answered
    except (urllib.error.URLError, OSError):
        return False
    return True


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """This checkout as it is on disk, committed into a fresh repository: (path, revision)."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        env=_clean_environ(),
        capture_output=True,
        check=False,
    )
    if listed.returncode != 0:
        pytest.skip("not a git checkout: pre-commit installs hooks from git repositories")
    url = _index_url()
    if not _index_reachable(url):
        pytest.skip(f"the package index {url} cannot be reached; pre-commit must pip-install envguard")
    snapshot = tmp_path_factory.mktemp("hook-repo")
    for name in listed.stdout.decode().split("\0"):
        source = ROOT / name
        if name and source.is_file():  # files deleted in the work tree are left out
            (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, snapshot / name)
    _git("init", "-q", cwd=snapshot)
    _git("add", "-A", cwd=snapshot)
    _git("commit", "-q", "--no-verify", "-m", "envguard snapshot", cwd=snapshot)
    return snapshot, _git("rev-parse", "HEAD", cwd=snapshot)


@pytest.fixture(scope="module")
def pre_commit_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """One PRE_COMMIT_HOME for the module: the hook environment is built on the first run only."""
    env = _clean_environ()
    env.update(PRE_COMMIT_HOME=str(tmp_path_factory.mktemp("pre-commit-home")), PRE_COMMIT_COLOR="never")
    for name in ("ENVGUARD_FORMAT", "ENVGUARD_OUTPUT", "GITHUB_STEP_SUMMARY", "PRE_COMMIT", "SKIP"):
        env.pop(name, None)
    return env


@pytest.fixture
def consumer(tmp_path: Path, hook_repo: tuple[Path, str]) -> Iterator[Path]:
    """A user's repository: billing (all plugins approved) and the policy, committed."""
    repo = tmp_path / "consumer"
    repo.mkdir()
    path, rev = hook_repo
    _git("init", "-q", cwd=repo)
    (repo / "services" / "billing").mkdir(parents=True)
    shutil.copyfile(BILLING_LOCK, repo / "services" / "billing" / "uv.lock")
    write(repo / "policies" / "envguard.yaml", POLICY)
    write(repo / "README.md", "# consumer\n")
    config = {
        "repos": [{"repo": str(path), "rev": rev, "hooks": [{"id": "envguard"}, {"id": "envguard-plugins"}]}]
    }
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    _git("add", "-A", cwd=repo)
    _git("commit", "-q", "--no-verify", "-m", "billing", cwd=repo)
    yield repo


def _add_orders(repo: Path) -> None:
    """orders locks pytest-randomly, which the policy does not approve (plugins.unknown: error)."""
    (repo / "services" / "orders").mkdir(parents=True)
    shutil.copyfile(ORDERS_LOCK, repo / "services" / "orders" / "poetry.lock")
    _git("add", "-A", cwd=repo)
    _git("commit", "-q", "--no-verify", "-m", "orders", cwd=repo)


def _checked(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    """Skip when pre-commit could not install envguard for lack of the index; fail on any other crash."""
    text = result.stdout + result.stderr
    if result.returncode not in (0, 1) and "pip" in text and _OFFLINE.search(text):
        pytest.skip(f"pre-commit could not pip-install envguard (no package index): {_OFFLINE.search(text)}")
    assert result.returncode in (0, 1), text
    assert "An unexpected error has occurred" not in text, text
    return result


@pytest.mark.network
def test_try_repo(consumer: Path, hook_repo: tuple[Path, str], pre_commit_env: dict[str, str]) -> None:
    path, _ = hook_repo
    clean = _checked(_pre_commit("try-repo", str(path), "envguard", "--all-files", cwd=consumer, env=pre_commit_env))
    assert clean.returncode == 0, clean.stdout
    assert re.search(r"^envguard\.+Passed$", clean.stdout, re.M), clean.stdout

    _add_orders(consumer)
    failed = _checked(
        _pre_commit(
            "try-repo", str(path), "envguard", "--files", "services/orders/poetry.lock", cwd=consumer, env=pre_commit_env
        )
    )
    assert failed.returncode == 1, failed.stdout
    assert re.search(r"^envguard\.+Failed$", failed.stdout, re.M), failed.stdout
    assert "- exit code: 1" in failed.stdout
    assert "EG101 unapproved-plugin" in failed.stdout
    assert "pytest-randomly" in failed.stdout


@pytest.mark.network
def test_run_all_files(consumer: Path, pre_commit_env: dict[str, str]) -> None:
    clean = _checked(_pre_commit("run", "--all-files", cwd=consumer, env=pre_commit_env))
    assert clean.returncode == 0, clean.stdout
    assert re.search(r"^envguard\.+Passed$", clean.stdout, re.M), clean.stdout
    assert re.search(r"^envguard \(pytest plugins\)\.+Passed$", clean.stdout, re.M), clean.stdout

    _add_orders(consumer)
    failed = _checked(_pre_commit("run", "envguard", "--all-files", cwd=consumer, env=pre_commit_env))
    assert failed.returncode == 1, failed.stdout
    assert "pytest-randomly" in failed.stdout


@pytest.mark.network
def test_run_files_reports_the_changed_services_only(consumer: Path, pre_commit_env: dict[str, str]) -> None:
    _add_orders(consumer)
    billing = _checked(
        _pre_commit("run", "envguard", "--files", "services/billing/uv.lock", cwd=consumer, env=pre_commit_env)
    )
    assert billing.returncode == 0, billing.stdout
    orders = _checked(
        _pre_commit("run", "envguard-plugins", "--files", "services/orders/poetry.lock", cwd=consumer,
                    env=pre_commit_env)
    )
    assert orders.returncode == 1, orders.stdout
    assert "pytest-randomly" in orders.stdout
    unrelated = _checked(_pre_commit("run", "envguard", "--files", "README.md", cwd=consumer, env=pre_commit_env))
    assert unrelated.returncode == 0
    assert re.search(r"^envguard\.+\(no files to check\)Skipped$", unrelated.stdout, re.M), unrelated.stdout
