from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from envguard import __version__
from envguard.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "monorepo"


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--version"], capsys) == (0, f"envguard {__version__}\n", "")


def test_python_dash_m_and_console_script_agree() -> None:
    module = subprocess.run([sys.executable, "-m", "envguard", "--version"], capture_output=True, text=True)
    assert (module.returncode, module.stdout) == (0, f"envguard {__version__}\n")
    script = shutil.which("envguard", path=str(Path(sys.executable).parent))
    if script is not None:
        console = subprocess.run([script, "--version"], capture_output=True, text=True)
        assert console.stdout == module.stdout


def test_unknown_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["inventory", "--bogus"], capsys)
    assert code == 2
    assert "usage: envguard inventory" in err
    assert "envguard: error: unrecognized arguments: --bogus" in err
    assert "Traceback" not in err


def test_no_arguments_print_the_help_as_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run([], capsys)
    assert (code, out) == (2, "")
    assert err.startswith("usage: envguard ")
    assert "inventory" in err and "snapshot" in err
    assert err.rstrip().endswith("130 interrupted.")


@pytest.mark.parametrize("command", ["inventory", "check", "plugins", "init", "explain", "diff", "verify", "snapshot"])
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run([command, "--help"], capsys)
    assert (code, err) == (0, "")
    assert out.startswith(f"usage: envguard {command} ")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["nonsense"], "argument COMMAND: invalid choice: 'nonsense' (choose from "),
        (["--debug"], "the following arguments are required: COMMAND"),
        (["check", "--version"], "unrecognized arguments: --version"),
        (["check", "--form", "json"], "unrecognized arguments: --form"),  # no abbreviations
        (["check", "--jobs", "0"], "argument -j/--jobs: 0 is not in the range x>=1"),
        (["check", "-j", "two"], "argument -j/--jobs: 'two' is not an integer"),
        (["check", "--root", "pyproject.toml"], "argument --root: 'pyproject.toml' is a file, not a directory"),
        (["diff", "a"], "the following arguments are required: B"),
        (["explain", "a", "b"], "unrecognized arguments: b"),
        (["init", "--output"], "argument -o/--output: expected one argument"),
        (["inventory", "-f", "sarif"], "argument -f/--format: invalid choice: 'sarif'"),
    ],
)
def test_usage_errors_are_exit_2_with_usage_and_one_error_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    code, out, err = run(argv, capsys)
    assert (code, out) == (2, "")
    assert err.startswith("usage: envguard")
    assert err.splitlines()[-1].startswith(f"envguard: error: {message}")


def test_environment_defaults(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "inventory.json"
    monkeypatch.setenv("ENVGUARD_FORMAT", "json")
    monkeypatch.setenv("ENVGUARD_NO_CACHE", "1")
    monkeypatch.setenv("ENVGUARD_OUTPUT", str(target))  # inventory has no ENVGUARD_OUTPUT: stdout
    code, out, _ = run(["inventory", str(EXAMPLE)], capsys)
    assert code == 0
    assert json.loads(out)["schema"] == "envguard.inventory/1"
    assert not target.exists()
    # The command line wins over the environment, which is then not even read.
    monkeypatch.setenv("ENVGUARD_FORMAT", "sarif")
    code, out, _ = run(["inventory", str(EXAMPLE), "-f", "text"], capsys)
    assert code == 0 and out.endswith("11 services, 198 packages, 120 declared requirements\n")
    # An empty variable is unset.
    monkeypatch.setenv("ENVGUARD_FORMAT", "")
    code, out, _ = run(["inventory", str(EXAMPLE)], capsys)
    assert code == 0 and out.endswith("11 services, 198 packages, 120 declared requirements\n")


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ENVGUARD_FORMAT", "sarif", "argument -f/--format: invalid choice: 'sarif' (from ENVGUARD_FORMAT; choose from "),
        ("ENVGUARD_NO_CACHE", "maybe", "argument --no-cache: ENVGUARD_NO_CACHE='maybe' is not a boolean"),
    ],
)
def test_bad_environment_defaults_are_usage_errors(
    variable: str, value: str, message: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(variable, value)
    code, out, err = run(["inventory", str(EXAMPLE)], capsys)
    assert (code, out) == (2, "")
    assert message in err.splitlines()[-1]


def test_parsed_options(monkeypatch: pytest.MonkeyPatch) -> None:
    from envguard import cli

    seen: dict[str, object] = {}

    def fake_check(**options: object) -> int:
        seen.update(options)
        return 1

    monkeypatch.setattr(cli, "check", fake_check)
    for name in ("ENVGUARD_FORMAT", "ENVGUARD_OUTPUT", "ENVGUARD_NO_CACHE"):
        monkeypatch.delenv(name, raising=False)
    # Options and paths in any order (pre-commit appends the files after the hook's arguments),
    # short forms, `=` forms, repeatable options.
    argv = ["check", "a", "--select", "plugins", "b", "--changed", "-fjson", "-j2", "--select=drift",
            "--today", "2026-01-31", "-o", "out.json", "--no-cache", "--fail-on", "warning"]
    assert main(argv) == 1
    assert seen == {
        "paths": [Path("a"), Path("b")], "policy": None, "output_format": "json", "output": Path("out.json"),
        "fail_on": "warning", "source_format": None, "today": __import__("datetime").date(2026, 1, 31),
        "python": None, "platform": None, "implementation": None, "baseline": None, "write_baseline": None,
        "changed": True, "root": None, "no_cache": True, "jobs": 2, "allow_outside_root": False,
        "select": ["plugins", "drift"], "references": None,
    }
    seen.clear()
    monkeypatch.setenv("ENVGUARD_NO_CACHE", "0")
    assert main(["check", "--", "-odd-name"]) == 1  # after `--`, everything is a path
    assert (seen["paths"], seen["no_cache"], seen["output_format"], seen["fail_on"]) == ([Path("-odd-name")], False, "text", "error")


def test_main_returns_and_never_exits(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in ([], ["--help"], ["--version"], ["check", "--help"], ["check", "--bogus"], ["nonsense"]):
        code = main(argv)  # a SystemExit would fail the test
        assert code in (0, 2)
    capsys.readouterr()


def test_missing_path_is_one_clean_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(["inventory", str(tmp_path / "nope")], capsys)
    assert (code, out, err) == (2, "", f"envguard: {tmp_path / 'nope'}: no such file or directory\n")


def test_inventory_of_the_example_monorepo(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["inventory", str(EXAMPLE), "--format", "json"], capsys)
    assert (code, err) == (0, "")
    document = json.loads(out)
    assert document["schema"] == "envguard.inventory/1"
    services = {s["name"]: s for s in document["services"]}
    assert sorted(services) == [
        "analytics", "billing", "gateway", "inventory", "monorepo", "notifications", "orders", "payments",
        "reports", "runner", "search",
    ]  # fmt: skip
    formats = {name: [src["format"] for src in s["sources"]] for name, s in services.items()}
    assert formats == {
        "analytics": ["pylock"],
        "billing": ["uv"],
        "gateway": ["poetry"],
        "inventory": ["pdm"],
        # The root declares (its pre-commit hooks) and payments only declares (an extra, nox, CI).
        "monorepo": [],
        "notifications": ["pipfile"],
        "orders": ["poetry"],
        "payments": [],
        "reports": ["freeze"],
        "runner": ["requirements"],
        "search": ["requirements"],
    }
    declared = {name: sorted({src["format"] for src in s["declared_sources"]}) for name, s in services.items()}
    assert declared["payments"] == ["github", "nox", "pyproject"]
    assert declared["billing"] == ["pyproject", "tox"]
    assert declared["runner"] == ["dockerfile"]
    assert services["billing"]["stale_locks"][0]["lock"] == "services/billing/uv.lock"
    pytest_versions = {
        name: sorted({p["version"] for p in s["packages"] if p["name"] == "pytest"}) for name, s in services.items()
    }
    assert pytest_versions["notifications"] == ["7.4.4"]
    assert pytest_versions["analytics"] == ["9.2.0"]
    for service in document["services"]:
        for package in service["packages"]:
            assert set(package) == {"name", "version", "kind", "groups", "marker", "path", "line", "specifier", "source", "hashed"}
            assert package["path"].startswith(service["path"] + "/")
            assert package["line"] >= 1


def test_text_inventory_names_every_service_and_the_summary(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["inventory", str(EXAMPLE)], capsys)
    assert code == 0
    assert out.splitlines()[0].startswith("analytics (services/analytics): services/analytics/pylock.toml [pylock]")
    assert out.endswith("11 services, 198 packages, 120 declared requirements\n")


def test_a_broken_file_is_one_line_and_every_other_service_is_still_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace = tmp_path / "ws"
    shutil.copytree(EXAMPLE, workspace)
    lock = workspace / "services/billing/uv.lock"
    lock.write_text(lock.read_text(encoding="utf-8")[:4000], encoding="utf-8")  # truncated mid-table
    code, out, err = run(["inventory", str(workspace), "--format", "json"], capsys)
    assert code == 2
    document = json.loads(out)
    assert len(document["services"]) == 11
    assert [e["path"] for e in document["errors"]] == ["services/billing/uv.lock"]
    assert err.count("\n") == 1
    assert err.startswith("services/billing/uv.lock:")
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("path", "text", "message"),
    [
        (".github/workflows/ci.yml", "jobs:\n  search: [\n", r"\.github/workflows/ci\.yml:3: invalid YAML: .+"),
        ("services/billing/tox.ini", "[testenv\ndeps = pytest\n", r"services/billing/tox\.ini:1: .+"),
        ("services/payments/noxfile.py", "import nox\n\n@nox.session\ndef tests(session):\n    session.install('x'\n",
         r"services/payments/noxfile\.py:5: not valid Python: .+"),
        ("services/payments/pyproject.toml", "[project]\nname = \"payments\"\ndependencies = [\n", r"services/payments/pyproject\.toml:\d+: invalid TOML: .+"),
        ("services/runner/Dockerfile", "FROM python:3.12 AS test\nRUN <<EOF\npip install pytest\n", r"services/runner/Dockerfile:2: .+"),
        (".pre-commit-config.yaml", "repos:\n  - repo: local\n    hooks: {\n", r"\.pre-commit-config\.yaml:4: invalid YAML: .+"),
    ],
)
def test_a_broken_declaring_file_is_one_line_and_the_rest_is_still_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], path: str, text: str, message: str
) -> None:
    workspace = tmp_path / "ws"
    shutil.copytree(EXAMPLE, workspace)
    (workspace / path).write_text(text, encoding="utf-8")
    code, out, err = run(["check", str(workspace), "--format", "json"], capsys)
    assert code == 2
    assert "Traceback" not in err
    assert err.count("\n") == 1, err
    assert re.fullmatch(message, err.rstrip("\n")), err
    document = json.loads(out)
    assert [e["path"] for e in document["errors"]] == [path]
    # Every other service is still checked: the unapproved plugin of orders is still found.
    assert ("orders", "pytest-randomly") in {(f["service"], f["package"]) for f in document["findings"]}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"version = 1\x00\n", r"services/svc/uv\.lock:1: binary file \(contains NUL bytes\)$"),
        (b"version = 1\n\xff\xfe oops\n", r"services/svc/uv\.lock:2: not valid UTF-8 text \(byte 0xff\)$"),
        # The parser's own wording differs between tomllib and tomli versions; the place does not.
        (b"version = [\n", r"services/svc/uv\.lock:1: invalid TOML: .+$"),
    ],
)
def test_unreadable_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str
) -> None:
    (tmp_path / "services/svc").mkdir(parents=True)
    (tmp_path / "services/svc/uv.lock").write_bytes(content)
    code, _, err = run(["inventory", str(tmp_path)], capsys)
    assert code == 2
    assert re.match(message, err.rstrip("\n"))
    assert err.count("\n") == 1


def test_oversized_files_are_refused_without_reading_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lock = tmp_path / "svc" / "uv.lock"
    lock.parent.mkdir()
    with lock.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024 + 1)
    code, _, err = run(["inventory", str(tmp_path)], capsys)
    assert code == 2
    assert err == "svc/uv.lock:1: file is too large (52428801 bytes; the limit is 52428800)\n"


def test_utf16_crlf_and_bom_files_load(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name, encoding in (("a", "utf-16"), ("b", "utf-8-sig")):
        path = tmp_path / name / "requirements.txt"
        path.parent.mkdir()
        path.write_bytes("pytest==8.3.4\r\npluggy==1.5.0\r\n".encode(encoding))
    code, out, _ = run(["inventory", str(tmp_path), "--format", "json"], capsys)
    assert code == 0
    versions = [[(p["name"], p["version"]) for p in s["packages"]] for s in json.loads(out)["services"]]
    assert versions == [[("pluggy", "1.5.0"), ("pytest", "8.3.4")]] * 2


def test_output_is_identical_whatever_the_hash_seed(tmp_path: Path) -> None:
    outputs = set()
    for seed in ("0", "1", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        result = subprocess.run(
            [sys.executable, "-m", "envguard", "inventory", str(EXAMPLE), "--format", "json"],
            capture_output=True,
            env=env,
            check=True,
        )
        outputs.add(result.stdout)
    assert len(outputs) == 1


def test_output_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "inventory.json"
    code, out, _ = run(["inventory", str(EXAMPLE), "--format", "json", "--output", str(target)], capsys)
    assert (code, out) == (0, "")
    assert json.loads(target.read_text(encoding="utf-8"))["schema"] == "envguard.inventory/1"


def test_nothing_from_the_scanned_repository_is_executed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    marker = tmp_path / "executed"
    payload = f"open({str(marker)!r}, 'w').write('x')\n"
    service = tmp_path / "svc"
    service.mkdir()
    for name in ("conftest.py", "setup.py", "noxfile.py"):
        (service / name).write_text(payload, encoding="utf-8")
    (service / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "backend"\nbackend-path = ["."]\n'
        '[project]\nname = "svc"\nversion = "1"\n',
        encoding="utf-8",
    )
    (service / "backend.py").write_text(payload, encoding="utf-8")
    (service / "requirements.txt").write_text("-e .\npytest==8.3.4\n", encoding="utf-8")
    code, _, _ = run(["inventory", str(tmp_path)], capsys)
    assert code == 0
    assert not marker.exists()
