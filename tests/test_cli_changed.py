"""`envguard check --changed FILE... [--root DIR] [--select RULES]` through envguard.cli.main."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from envguard.cli import main
from tests.kit import BILLING_LOCK, NOTIFICATIONS_LOCK, ORDERS_LOCK, add_service, write

TODAY = "2027-01-20"

# orders: pytest 8.4.2 + pytest-randomly (unapproved); billing: pytest 8.4.2, all approved;
# notifications: pytest 7.4.4 (the drift outlier) + pytest-sugar (waived, expiring soon).
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
exceptions:
  - package: pytest-sugar
    services: [notifications]
    rule: unapproved-plugin
    reason: "terminal output only, TICKET-42"
    expires: 2027-01-31
drift:
  default: none
  rules:
    - packages: [pytest]
      require: exact
"""

EVERYTHING = [
    ("EG101", "notifications", "pytest-sugar"),
    ("EG101", "orders", "pytest-randomly"),
    ("EG201", "notifications", "pytest"),
    ("EG302", "notifications", "pytest-sugar"),
]


@pytest.fixture(autouse=True)
def _workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ENVGUARD_FORMAT", raising=False)
    monkeypatch.delenv("ENVGUARD_OUTPUT", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    add_service(tmp_path, "orders", ORDERS_LOCK)
    add_service(tmp_path, "billing", BILLING_LOCK)
    add_service(tmp_path, "notifications", NOTIFICATIONS_LOCK)
    write(tmp_path / "policies" / "envguard.yaml", POLICY)
    write(tmp_path / "README.md", "# workspace\n")
    monkeypatch.chdir(tmp_path)


def check(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[tuple[str, str, str]], str]:
    """Exit code, (rule, service, package) of every finding reported as JSON, and stderr."""
    code = main(["check", "--format", "json", "--today", TODAY, *args])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    if not captured.out:
        return code, [], captured.err
    document = json.loads(captured.out)
    return code, sorted((f["rule"], f["service"], f["package"]) for f in document["findings"]), captured.err


def test_without_changed_everything_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    assert check(capsys=capsys) == (1, EVERYTHING, "")


def test_a_changed_lock_reports_its_service_and_the_drift_it_takes_part_in(capsys: pytest.CaptureFixture[str]) -> None:
    # billing itself is clean, but it is one of the services pytest is compared across.
    code, findings, err = check("--changed", "services/billing/uv.lock", capsys=capsys)
    assert (code, findings, err) == (1, [("EG201", "notifications", "pytest")], "")


def test_a_changed_lock_hides_other_services_plugin_findings(capsys: pytest.CaptureFixture[str]) -> None:
    code, findings, _ = check("--changed", "services/orders/poetry.lock", capsys=capsys)
    assert (code, findings) == (1, [("EG101", "orders", "pytest-randomly"), ("EG201", "notifications", "pytest")])


def test_the_exit_code_follows_the_reported_findings(capsys: pytest.CaptureFixture[str]) -> None:
    # billing's drift is an error; with only its plugin rules selected nothing is left.
    code, findings, _ = check("--changed", "services/billing/uv.lock", "--select", "plugins", capsys=capsys)
    assert (code, findings) == (0, [])


def test_select_plugins_keeps_the_exceptions_about_plugins(capsys: pytest.CaptureFixture[str]) -> None:
    code, findings, _ = check(
        "--changed", "services/notifications/Pipfile.lock", "--select", "plugins", capsys=capsys
    )
    assert (code, findings) == (0, [("EG101", "notifications", "pytest-sugar"), ("EG302", "notifications", "pytest-sugar")])


def test_select_without_changed(capsys: pytest.CaptureFixture[str]) -> None:
    code, findings, _ = check("--select", "drift", "--select", "EG302", capsys=capsys)
    assert (code, findings) == (1, [("EG201", "notifications", "pytest"), ("EG302", "notifications", "pytest-sugar")])


def test_a_policy_change_reports_every_service(capsys: pytest.CaptureFixture[str]) -> None:
    assert check("--changed", "policies/envguard.yaml", capsys=capsys) == (1, EVERYTHING, "")


def test_an_explicit_policy_file_counts_as_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path / "ci" / "rules.yaml", POLICY)
    args = ("--policy", "ci/rules.yaml", "--changed")
    assert check(*args, "ci/rules.yaml", capsys=capsys)[:2] == (1, EVERYTHING)
    assert check(*args, "services/billing/uv.lock", capsys=capsys)[:2] == (1, [("EG201", "notifications", "pytest")])


def test_unrelated_files_report_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "--today", TODAY, "--changed", "README.md", "docs/requirements.txt"])
    captured = capsys.readouterr()
    assert (code, captured.out) == (0, "")
    assert captured.err == "envguard: no changed file belongs to a service or the policy; nothing to check\n"


def test_root_option_and_paths_relative_to_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # pre-commit runs hooks from the repository root; the workspace may be a subdirectory of it.
    repo = tmp_path.parent / f"{tmp_path.name}-repo"
    repo.mkdir()
    (repo / "platform").symlink_to(tmp_path, target_is_directory=True)
    monkeypatch.chdir(repo)
    code, findings, _ = check("--root", "platform", "--changed", "platform/services/orders/poetry.lock", capsys=capsys)
    assert (code, findings) == (1, [("EG101", "orders", "pytest-randomly"), ("EG201", "notifications", "pytest")])


def test_root_without_changed_is_the_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path / "services")
    assert check("--root", str(tmp_path), capsys=capsys) == (1, EVERYTHING, "")


def test_text_report_of_a_changed_service(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "--today", TODAY, "--changed", "services/orders/poetry.lock", "--select", "plugins"])
    out = capsys.readouterr().out
    assert code == 1
    assert "pytest-randomly" in out
    assert "pytest-sugar" not in out
    assert "drift matrix" not in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--changed", "services/orders/poetry.lock", "--write-baseline", "b.json"], "--write-baseline"),
        (["--select", "plugins", "--write-baseline", "b.json"], "--write-baseline"),
        (["--root", ".", "services"], "either --root or workspace paths"),
        (["--select", "nonsense"], "names no rule"),
    ],
)
def test_usage_errors(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", *args]) == 2
    assert message in capsys.readouterr().err


WORKFLOW = """\
on: push
jobs:
  billing:
    runs-on: ubuntu-latest
    steps:
      - name: Install
        working-directory: services/billing
        run: pip install -r requirements-ci.txt
"""


def test_a_changed_workflow_reports_the_services_it_installs_into(capsys: pytest.CaptureFixture[str]) -> None:
    write(Path(".github/workflows/test.yml"), WORKFLOW)
    write(Path("services/billing/requirements-ci.txt"), "pytest-rerunfailures==16.1\n")
    expected = [("EG101", "billing", "pytest-rerunfailures"), ("EG201", "notifications", "pytest")]
    assert check("--changed", ".github/workflows/test.yml", capsys=capsys) == (1, expected, "")
    # The requirements file the step installs belongs to billing too.
    assert check("--changed", "services/billing/requirements-ci.txt", capsys=capsys) == (1, expected, "")
