"""`envguard verify`: real virtual environments (tests/wheels.py) against small locks of every kind."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest

from envguard.check import CheckResult
from envguard.cli import main
from envguard.errors import UsageError
from envguard.snapshot import write_snapshot
from envguard.sources.environment import read_environment
from envguard.verify import VerifyRequest, run_verify
from tests.kit import write
from tests.wheels import clean_environment, messy_environment

pytestmark = pytest.mark.skipif(os.name == "nt", reason="venv layout and shell scripts of POSIX systems")

TODAY = dt.date(2026, 1, 15)

UV_LOCK = """
version = 1
revision = 3
requires-python = ">=3.10"

[[package]]
name = "acme-testkit"
version = "1.0"
source = { registry = "https://pypi.org/simple" }
dependencies = [{ name = "pytest" }]

[package.optional-dependencies]
fast = [{ name = "speedups" }]

[[package]]
name = "devtool"
version = "1.0"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "iniconfig"
version = "2.1.0"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "myproject"
version = "0.1.0"
source = { editable = "." }
dependencies = [{ name = "acme-testkit", extra = ["fast"] }]

[package.dev-dependencies]
dev = [{ name = "devtool" }]

[[package]]
name = "pluggy"
version = "1.6.0"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "pytest"
version = "8.4.2"
source = { registry = "https://pypi.org/simple" }
dependencies = [{ name = "iniconfig" }, { name = "pluggy" }]

[[package]]
name = "speedups"
version = "2.0"
source = { registry = "https://pypi.org/simple" }
"""


def _poetry_package(name: str, version: str, groups: str, markers: str | None = None) -> str:
    marker = f"markers = {json.dumps(markers)}\n" if markers else ""
    return (
        f'[[package]]\nname = "{name}"\nversion = "{version}"\ndescription = ""\noptional = false\n'
        f'python-versions = ">=3.8"\ngroups = [{groups}]\n{marker}files = []\n\n'
    )


POETRY_LOCK = (
    _poetry_package("acme-testkit", "1.0", '"main"')
    + _poetry_package("colorama", "0.4.6", '"main"', 'sys_platform == "win32"')
    + _poetry_package("devtool", "1.0", '"dev"')
    + _poetry_package("iniconfig", "2.1.0", '"main"')
    + _poetry_package("pluggy", "1.6.0", '"main"')
    + _poetry_package("pytest", "8.4.2", '"main"')
    + _poetry_package("speedups", "2.0", '"main"')
    + '[metadata]\nlock-version = "2.1"\npython-versions = ">=3.10"\ncontent-hash = "0"\n'
)

REQUIREMENTS = """
acme-testkit==1.0
colorama==0.4.6 ; sys_platform == "win32"
iniconfig==2.1
pluggy==1.6.0
pytest==8.4.2
speedups==2.0
"""

POLICY = """
version: 1
pytest:
  allowed: ">=8"
plugins:
  unknown: error
  approved:
    acme-testkit: ">=1,<2"
    pytest-cov: "*"
"""


@pytest.fixture(scope="module")
def envs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("verify")
    clean, project = clean_environment(base)
    messy = messy_environment(base)
    write(project / "uv.lock", UV_LOCK)
    write(base / "poetry" / "poetry.lock", POETRY_LOCK)
    write(base / "poetry" / "pyproject.toml", '[project]\nname = "MyProject"\nversion = "0.1.0"\n')
    write(base / "elsewhere" / "requirements.txt", REQUIREMENTS)
    write(project / "requirements.txt", REQUIREMENTS)
    write(base / "policy.yaml", POLICY)
    return {
        "base": base,
        "clean": clean.python,
        "messy": messy.python,
        "project": project,
        "policy": base / "policy.yaml",
    }


def verify(envs: dict[str, Path], lock: str, env: str = "clean", **options: object) -> CheckResult:
    request = VerifyRequest(
        lock=envs["base"] / lock,
        python=str(envs[env]),
        policy=envs["policy"],
        today=TODAY,
        **options,  # type: ignore[arg-type]
    )
    return run_verify(request)


def found(result: CheckResult) -> set[tuple[str, str | None]]:
    assert result.errors == ()
    return {(f.name, f.package) for f in result.findings if not f.suppressed}


@pytest.mark.parametrize("lock", ["project/uv.lock", "poetry/poetry.lock", "project/requirements.txt"])
def test_an_environment_installed_from_the_lock_passes(envs: dict[str, Path], lock: str) -> None:
    # The project itself (editable) is recognised: a local project of the uv lock, the [project]
    # name next to the poetry lock, the directory it was installed from for requirements.txt.
    # colorama is locked for win32 only, so its absence is right; iniconfig 2.1 == 2.1.0.
    result = verify(envs, lock)
    assert found(result) == set()
    assert result.exit_code("error") == 0
    (service,) = result.inventory.services
    assert {p.name for p in service.packages} >= {"acme-testkit", "myproject", "pytest"}
    assert service.sources[-1].format == "environment"


@pytest.mark.parametrize("lock", ["project/uv.lock", "poetry/poetry.lock"])
def test_groups_select_what_must_be_installed(envs: dict[str, Path], lock: str) -> None:
    assert found(verify(envs, lock, groups=("dev",))) == {("missing-from-environment", "devtool")}
    assert found(verify(envs, lock, all_groups=True)) == {("missing-from-environment", "devtool")}


def test_the_project_is_not_in_a_lock_of_another_directory(envs: dict[str, Path]) -> None:
    result = verify(envs, "elsewhere/requirements.txt")
    assert found(result) == {("not-in-lock", "myproject")}
    assert found(verify(envs, "elsewhere/requirements.txt", ignore=("myproj*",))) == set()


def test_every_problem_of_a_messy_environment(envs: dict[str, Path]) -> None:
    result = verify(envs, "project/uv.lock", env="messy")
    assert found(result) == {
        ("lock-mismatch", "pytest"),  # 7.0.0 installed, 8.4.2 locked
        ("pytest-version-not-allowed", "pytest"),
        ("missing-from-environment", "speedups"),
        ("not-in-lock", "dupe-lib"),
        ("not-in-lock", "fancy"),
        ("not-in-lock", "other-kit"),
        ("not-in-lock", "pytest-cov"),
        ("not-in-lock", "stray"),  # pip is not reported: ignored unless the lock has it
        ("broken-requirement", "other-kit"),  # missing-dep
        ("broken-requirement", "fancy"),  # turbo-dep, for the extra other-kit asks for
        ("duplicate-installation", "dupe-lib"),
        ("entry-point-collision", "other-kit"),
        # Found by its pytest11 entry point although its name gives no hint.
        ("unapproved-plugin", "other-kit"),
    }
    assert result.exit_code("error") == 1
    by_rule = {(f.name, f.package): f for f in result.findings}
    mismatch = by_rule[("lock-mismatch", "pytest")]
    assert mismatch.message == "pytest 7.0.0 is installed, but the lock has 8.4.2"
    assert [loc.path for loc in mismatch.locations][0] == "uv.lock"
    assert mismatch.locations[1].path.endswith("pytest-7.0.0.dist-info/METADATA")
    broken = by_rule[("broken-requirement", "fancy")]
    assert broken.message == (
        "fancy 1.0 requires turbo-dep (for its extra 'turbo', which other-kit asks for), but turbo-dep is not installed"
    )
    duplicate = by_rule[("duplicate-installation", "dupe-lib")]
    assert "installed 2 times (1.0 in " in duplicate.message and "Python imports 1.0" in duplicate.message
    collision = by_rule[("entry-point-collision", "other-kit")]
    assert collision.message.startswith(
        "pytest11 entry point 'acme' is registered by acme-testkit 1.0 and other-kit 2.0"
    )


def test_plugin_policy_applies_to_entry_point_plugins(envs: dict[str, Path], tmp_path: Path) -> None:
    policy = write(
        tmp_path / "policy.yaml",
        """
        version: 1
        plugins:
          unknown: ignore
          approved:
            acme-testkit: "<1"
          denied:
            other-kit: "use acme-testkit"
        """,
    )
    result = run_verify(
        VerifyRequest(lock=envs["base"] / "project/uv.lock", python=str(envs["messy"]), policy=policy, today=TODAY)
    )
    plugin_rules = {(f.name, f.package) for f in result.findings if f.rule in ("EG101", "EG102", "EG103", "EG104")}
    assert plugin_rules == {("plugin-version-not-allowed", "acme-testkit"), ("denied-package", "other-kit")}


def test_policy_exceptions_suppress_environment_findings(envs: dict[str, Path], tmp_path: Path) -> None:
    policy = write(
        tmp_path / "policy.yaml",
        """
        version: 1
        exceptions:
          - package: stray
            rule: not-in-lock
            reason: debugging tool, removed next sprint
            expires: 2026-06-30
        """,
    )
    result = run_verify(
        VerifyRequest(lock=envs["base"] / "project/uv.lock", python=str(envs["messy"]), policy=policy, today=TODAY)
    )
    (stray,) = [f for f in result.findings if f.package == "stray"]
    assert stray.suppressed and stray.name == "not-in-lock"


def test_a_snapshot_verifies_like_the_live_environment(envs: dict[str, Path], tmp_path: Path) -> None:
    snapshot = tmp_path / "messy.json"
    write_snapshot(read_environment(str(envs["messy"])), snapshot)
    live = verify(envs, "project/uv.lock", env="messy")
    stored = run_verify(
        VerifyRequest(lock=envs["base"] / "project/uv.lock", snapshot=snapshot, policy=envs["policy"], today=TODAY)
    )
    assert found(stored) == found(live)
    assert all(loc.path in ("uv.lock", snapshot.as_posix()) for f in stored.findings for loc in f.locations)
    assert stored.inventory.services[0].sources[-1].format == "snapshot"


def test_a_broken_snapshot_is_an_error_diagnostic(envs: dict[str, Path], tmp_path: Path) -> None:
    bad = write(tmp_path / "env.json", "{}\n")
    result = run_verify(VerifyRequest(lock=envs["base"] / "project/uv.lock", snapshot=bad, today=TODAY))
    assert result.exit_code("error") == 2
    assert [e.message for e in result.errors] == ["not an envguard.snapshot/1 document (no 'schema')"]


def test_usage_errors() -> None:
    with pytest.raises(UsageError, match="either --lock FILE or --service NAME"):
        run_verify(VerifyRequest())
    with pytest.raises(UsageError, match="exclude each other"):
        run_verify(VerifyRequest(lock=Path("uv.lock"), groups=("dev",), all_groups=True))


# --------------------------------------------------------------------------- command line


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_verify_json(envs: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    args = ["verify", "--lock", str(envs["base"] / "project/uv.lock"), "--python", str(envs["messy"])]
    code, out, err = run(args + ["--policy", str(envs["policy"]), "--format", "json", "--today", "2026-01-15"], capsys)
    assert (code, err) == (1, "")
    document = json.loads(out)
    assert document["schema"] == "envguard.report/1"
    assert ("lock-mismatch", "pytest") in {(f["name"], f["package"]) for f in document["findings"]}
    code, out, _ = run(args + ["--fail-on", "never"], capsys)
    assert code == 0 and "EG405 duplicate-installation" in out


def test_cli_verify_a_service_of_a_workspace(envs: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    root = envs["base"]
    write(root / "services" / "api" / "requirements.txt", REQUIREMENTS)
    args = ["verify", "--service", "api", "--root", str(root), "--python", str(envs["clean"]), "--ignore", "myproject"]
    code, out, err = run(args + ["--groups", "dev,test", "--policy", str(envs["policy"])], capsys)
    assert (code, err) == (0, "")
    assert out.endswith("1 service checked: 0 errors, 0 warnings, 0 suppressed\n")
    code, _, err = run(["verify", "--service", "nope", "--root", str(root)], capsys)
    assert code == 2 and err.startswith("envguard: no service 'nope' under ")


@pytest.mark.parametrize("kind", ["text file", "missing", "not python"])
def test_cli_python_that_is_no_interpreter(
    envs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    target = tmp_path / "python"
    if kind == "text file":
        target.write_text("not a program\n", encoding="utf-8")
        target.chmod(0o755)
    elif kind == "not python":
        target.write_text("#!/bin/sh\necho 'Usage: something else' >&2\nexit 4\n", encoding="utf-8")
        target.chmod(0o755)
    code, out, err = run(["verify", "--lock", str(envs["base"] / "project/uv.lock"), "--python", str(target)], capsys)
    assert (code, out) == (2, "")
    assert err.startswith(f"envguard: {target}: ") and err.count("\n") == 1, err


def test_cli_snapshot_then_verify(envs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "env.json"
    code, out, err = run(["snapshot", "--python", str(envs["clean"]), "-o", str(output)], capsys)
    assert (code, out) == (0, "")
    assert err.startswith(f"wrote {output}: 6 packages, sha256 ")
    code, out, _ = run(["snapshot", "--python", str(envs["clean"])], capsys)
    assert code == 0 and out == output.read_text(encoding="utf-8")
    args = ["verify", "--lock", str(envs["project"] / "uv.lock"), "--snapshot", str(output)]
    args += ["--policy", str(envs["policy"])]
    code, out, err = run(args, capsys)
    assert (code, err) == (0, "")
    code, _, err = run(args + ["--python", str(envs["clean"])], capsys)
    assert code == 2 and "exclude each other" in err



def test_why_an_installed_package_is_not_in_the_lock() -> None:
    from envguard.model import Kind, Package, normalize
    from envguard.rules.environment import Selection, lock_findings
    from envguard.sources.environment import parse_report

    def dist(name: str) -> dict[str, object]:
        return {"metadata": f"/sp/{name}-1.0.dist-info", "location": "/sp", "name": name, "version": "1.0",
                "requires": [], "pytest11": [], "direct_url": None}

    environment = parse_report(
        {"markers": {"python_version": "3.12", "sys_platform": "linux"}, "distributions": [
            dist("devtool"), dist("winonly"), dist("pip"), dist("extra-pkg")]},
        "python",
    )
    locked = [
        Package(normalize("devtool"), "1.0", Kind.REGISTRY, ("dev",), None, "uv.lock", 3),
        Package(normalize("winonly"), "1.0", Kind.REGISTRY, ("main",), 'sys_platform == "win32"', "uv.lock", 7),
        Package(normalize("extra-pkg"), "1.0", Kind.REGISTRY, ("extra:cli",), None, "uv.lock", 9),
    ]
    messages = [f.message for f in lock_findings("api", locked, environment, Selection())]
    assert messages == [
        "devtool 1.0 is installed, but the lock has it only in groups not selected (dev; use --groups dev)",
        "extra-pkg 1.0 is installed, but the lock has it only in groups not selected (extra:cli; use --groups cli)",
        'winonly 1.0 is installed, but the lock has it only for other environments (sys_platform == "win32")',
    ]
    selected = lock_findings("api", locked, environment, Selection.of(["dev", "CLI"]))
    assert [f.package for f in selected] == ["winonly"]
