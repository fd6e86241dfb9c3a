"""The check, plugins, init and explain commands through envguard.cli.main: output and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from envguard.cli import main
from envguard.rules.catalog import RULES
from tests.kit import (
    BILLING_LOCK,
    FREEZE,
    NOTIFICATIONS_LOCK,
    ORDERS_LOCK,
    SERVICES,
    add_service,
    billing_as_locked,
    write,
)

TODAY = "2027-01-20"
PLUGIN_RULES = {"unapproved-plugin", "plugin-version-not-allowed", "pytest-version-not-allowed"}

POLICY = """\
version: 1
pytest:
  allowed: ">=8"
plugins:
  approved:
    pytest-cov: ">=5,<8"
    pytest-mock: ">=3.12,<4"
    pytest-xdist: "*"
    hypothesis: "*"
    anyio: "*"
  denied:
    pytest-randomly: "reorders tests; use pytest-random-order"
exceptions:
  - package: pytest-sugar
    services: [notifications]
    reason: "terminal output only, TICKET-42"
    expires: 2027-01-31
drift:
  default: none  # drift has its own tests
"""


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ENVGUARD_FORMAT", raising=False)
    monkeypatch.delenv("ENVGUARD_OUTPUT", raising=False)
    monkeypatch.chdir(tmp_path)


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    assert "internal error" not in captured.err
    return code, captured.out, captured.err


def workspace(root: Path, *names: str) -> Path:
    records = {
        "orders": (ORDERS_LOCK, SERVICES / "orders" / "pyproject.toml"),
        "notifications": (NOTIFICATIONS_LOCK,),
        "billing": (BILLING_LOCK, SERVICES / "billing" / "pyproject.toml"),
    }
    for name in names or tuple(records):
        add_service(root, name, *records[name])
    return billing_as_locked(root)


# --- check -------------------------------------------------------------------------------------


def test_check_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    workspace(tmp_path)
    write(tmp_path / "policy.yaml", POLICY)
    code, out, err = run(["check", ".", "--policy", "policy.yaml", "--today", TODAY], capsys)
    assert (code, err) == (1, "")
    lines = out.splitlines()
    assert [line for line in lines if line and not line.startswith(" ")] == [
        "notifications",
        "orders",
        "policy: policy.yaml",
        "3 services checked: 3 errors, 1 warning, 1 suppressed",
    ]
    assert [line.split(":")[0].strip() for line in lines if line.startswith("  ") and not line.startswith("   ")] == [
        "suppressed EG101 unapproved-plugin",
        "error      EG102 plugin-version-not-allowed",
        "error      EG104 pytest-version-not-allowed",
        "warning    EG302 exception-expiring",
        "error      EG103 denied-package",
    ]
    assert "             exception: terminal output only, TICKET-42 (expires 2027-01-31; policy.yaml:14)" in lines


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (("notifications", "orders", "billing"), {"error": 1, "warning": 1, "never": 0}),
        (("orders", "billing"), {"error": 1, "warning": 1, "never": 0}),  # the denied plugin is an error
    ],
)
def test_check_exit_codes_with_findings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], names: tuple[str, ...], expected: dict[str, int]
) -> None:
    workspace(tmp_path, *names)
    write(tmp_path / "policy.yaml", POLICY)
    for fail_on, code in expected.items():
        assert run(["check", "--policy", "policy.yaml", "--today", TODAY, "--fail-on", fail_on], capsys)[0] == code


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (
            'version: 1\nplugins:\n  approved: {pytest-cov: "*", pytest-mock: "*", pytest-xdist: "*", '
            'hypothesis: "*", anyio: "*"}\n',
            (0, 0, 0),
        ),
        ('version: 1\nplugins:\n  approved: {pytest-cov: "*", pytest-mock: "*"}\n', (0, 1, 0)),
        ('version: 1\nplugins:\n  unknown: error\n  approved: {pytest-cov: "*", pytest-mock: "*"}\n', (1, 1, 0)),
    ],
)
def test_check_exit_codes_clean_warnings_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], policy: str, expected: tuple[int, int, int]
) -> None:
    workspace(tmp_path, "billing")  # xdist, mock, cov, anyio, hypothesis
    write(tmp_path / "policy.yaml", policy)
    codes = tuple(
        run(["check", "--policy", "policy.yaml", "--fail-on", fail_on], capsys)[0] for fail_on in ("error", "warning", "never")
    )
    assert codes == expected
    # the default threshold is error
    assert run(["check", "--policy", "policy.yaml"], capsys)[0] == expected[0]


def test_check_today_decides_expiry(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    workspace(tmp_path, "notifications")
    write(tmp_path / "policy.yaml", POLICY.replace('  allowed: ">=8"', '  allowed: "*"').replace('">=5,<8"', '"*"'))
    assert run(["check", "--policy", "policy.yaml", "--today", "2027-01-31"], capsys)[0] == 0
    code, out, _ = run(["check", "--policy", "policy.yaml", "--today", "2027-02-01"], capsys)
    assert code == 1
    assert "  error      EG301 exception-expired: exception for pytest-sugar (notifications) expired on 2027-01-31: " \
        "terminal output only, TICKET-42" in out.splitlines()
    assert out.endswith("1 service checked: 1 error, 1 warning, 0 suppressed\n")


def test_check_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    workspace(tmp_path)
    write(tmp_path / "policy.yaml", POLICY)
    code, out, err = run(["check", "--policy", "policy.yaml", "--today", TODAY, "--format", "json"], capsys)
    assert (code, err) == (1, "")
    document = json.loads(out)
    assert set(document) == {"schema", "policy", "findings", "summary", "drift", "repositories", "references", "errors", "warnings"}
    assert (document["schema"], document["policy"]) == ("envguard.report/1", ["policy.yaml"])
    assert document["summary"] == {"services": 3, "errors": 3, "warnings": 1, "suppressed": 1, "baselined": 0}
    assert [(f["service"], f["rule"], f["name"], f["suppressed"]) for f in document["findings"]] == [
        ("notifications", "EG101", "unapproved-plugin", True),
        ("notifications", "EG102", "plugin-version-not-allowed", False),
        ("notifications", "EG104", "pytest-version-not-allowed", False),
        ("notifications", "EG302", "exception-expiring", False),
        ("orders", "EG103", "denied-package", False),
    ]


def test_check_output_file_keeps_the_summary_on_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    workspace(tmp_path)
    write(tmp_path / "policy.yaml", POLICY)
    args = ["check", "--policy", "policy.yaml", "--today", TODAY, "-f", "json", "-o", "report.json"]
    assert run(args, capsys) == (1, "", "3 services checked: 3 errors, 1 warning, 1 suppressed\n")
    assert json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))["summary"]["suppressed"] == 1


@pytest.mark.parametrize("fail_on", ["error", "warning", "never"])
def test_check_with_an_unreadable_policy_reports_the_inventory_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fail_on: str
) -> None:
    workspace(tmp_path)
    write(tmp_path / "policies" / "envguard.yaml", "version: 2\n")
    code, out, err = run(["check", "--fail-on", fail_on], capsys)
    assert code == 2
    assert out == "policy: (none: the policy could not be read)\n3 services checked: 0 errors, 0 warnings, 0 suppressed\n"
    assert err == "policies/envguard.yaml:1: version: unsupported policy version 2; this envguard reads version 1\n"


def test_check_json_with_an_unreadable_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    workspace(tmp_path, "orders")
    code, out, err = run(["check", "--policy", "missing.yaml", "--format", "json"], capsys)
    assert (code, err) == (2, "missing.yaml:1: policy file not found\n")
    document = json.loads(out)
    assert (document["policy"], document["findings"]) == ([], [])
    assert document["errors"] == [{"path": "missing.yaml", "line": None, "message": "policy file not found"}]
    assert document["summary"]["services"] == 1


def test_check_with_an_unreadable_lock_still_checks_the_rest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    workspace(tmp_path, "orders")
    write(tmp_path / "services" / "broken" / "uv.lock", "version = [\n")
    write(tmp_path / "policy.yaml", POLICY)
    code, out, err = run(["check", "--policy", "policy.yaml", "--today", TODAY, "--fail-on", "never"], capsys)
    assert code == 2
    assert "  error      EG103 denied-package: pytest-randomly 3.16.0 is denied by the policy: reorders tests; " \
        "use pytest-random-order" in out.splitlines()
    assert err.startswith("services/broken/uv.lock:1: invalid TOML: ")
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["check", "--today", "2027-13-01"], "argument --today: '2027-13-01' is not an ISO date (YYYY-MM-DD)"),
        (["check", "--fail-on", "sometimes"], "argument --fail-on: invalid choice: 'sometimes' (choose from "),
        (["check", "--format", "xml"], "argument -f/--format: invalid choice: 'xml'"),
        (["check", "nope"], "envguard: nope: no such file or directory"),
        (["check", "--source-format", "cobol"], "envguard: unknown --source-format 'cobol'"),
    ],
)
def test_check_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    workspace(tmp_path, "orders")
    code, out, err = run(args, capsys)
    assert (code, out) == (2, "")
    assert message in err


# --- plugins -----------------------------------------------------------------------------------


def test_plugins_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    workspace(tmp_path, "orders")
    add_service(tmp_path, "toolkit", FREEZE, extra={"pytest.ini": "[pytest]\naddopts = -p acme_wheel -p no:randomly\n"})
    write(tmp_path / "policy.yaml", POLICY)
    code, out, err = run(["plugins", "--policy", "policy.yaml"], capsys)
    assert (code, err) == (0, "")
    assert out == (
        "orders\n"
        "  hypothesis 6.170.17: approved (*)\n"
        "      registers a pytest11 entry point (envguard's knowledge base) at services/orders/poetry.lock:438\n"
        "  pytest-cov 6.3.0: approved (>=5,<8)\n"
        "      recognised by its pytest- name at services/orders/poetry.lock:1066\n"
        "  pytest-mock 3.17.0: approved (>=3.12,<4)\n"
        "      recognised by its pytest- name at services/orders/poetry.lock:1091\n"
        "  pytest-randomly 3.16.0: denied: reorders tests; use pytest-random-order\n"
        "      recognised by its pytest- name at services/orders/poetry.lock:1114\n"
        "  pytest-randomly 3.16.0: denied: reorders tests; use pytest-random-order\n"
        "      enabled with -p in the pytest configuration at services/orders/pyproject.toml:28\n"
        # What the manifest declares, each judged by what its range admits.
        '  pytest-cov = "^6.0" (declared): approved (>=5,<8)\n'
        "      recognised by its pytest- name, in [tool.poetry.group.dev.dependencies] at services/orders/pyproject.toml:17\n"
        '  pytest-mock = "^3.14" (declared): approved (>=3.12,<4)\n'
        "      recognised by its pytest- name, in [tool.poetry.group.dev.dependencies] at services/orders/pyproject.toml:18\n"
        '  pytest-randomly = "^3.15" (declared): denied: reorders tests; use pytest-random-order\n'
        "      recognised by its pytest- name, in [tool.poetry.group.dev.dependencies] at services/orders/pyproject.toml:19\n"
        '  hypothesis = "^6.100" (declared): approved (*)\n'
        "      registers a pytest11 entry point (envguard's knowledge base), in [tool.poetry.group.dev.dependencies] "
        "at services/orders/pyproject.toml:20\n"
        "\n"
        "toolkit\n"
        "  acme-wheel -: not approved (plugins.unknown: warning)\n"
        "      enabled with -p in the pytest configuration at services/toolkit/pytest.ini:2\n"
        "  pytest-cov 7.1.0: approved (>=5,<8)\n"
        "      recognised by its pytest- name at services/toolkit/freeze.txt:17\n"
        "  pytest-mock 3.17.0: approved (>=3.12,<4)\n"
        "      recognised by its pytest- name at services/toolkit/freeze.txt:18\n"
        "  pytest-randomly -: disabled by -p no:randomly\n"
        "      blocked with -p no: in the pytest configuration at services/toolkit/pytest.ini:2\n"
        "\n"
        "policy: policy.yaml\n"
    )


def test_plugins_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    workspace(tmp_path, "billing")
    code, out, err = run(["plugins", "--format", "json"], capsys)
    assert (code, err) == (0, "")
    document = json.loads(out)
    assert (document["schema"], document["policy"]) == ("envguard.plugins/1", ["<builtin>/default-policy.yaml"])
    (service,) = document["services"]
    assert service["name"] == "billing"
    for row in service["plugins"]:
        keys = {"name", "version", "recognised", "how", "status", "path", "line", "declared", "environment", "requirement"}
        assert set(row) == keys
    records = [row for row in service["plugins"] if not row["declared"]]
    assert [(row["name"], row["how"]) for row in records] == [
        ("anyio", "knowledge-base"),
        ("anyio", "config"),
        ("cacheprovider", "disabled"),
        ("hypothesis", "knowledge-base"),
        ("pytest-cov", "name"),
        ("pytest-cov", "config"),
        ("pytest-mock", "name"),
        ("pytest-mock", "config"),
        ("pytest-xdist", "name"),
        ("pytest-xdist", "config"),
    ]


def test_plugins_with_an_unreadable_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    workspace(tmp_path, "orders")
    write(tmp_path / "policies" / "envguard.yaml", "version: 1\nplugins: [pytest-cov]\n")
    code, out, err = run(["plugins"], capsys)
    assert (code, out) == (2, "policy: \n")
    assert err == "policies/envguard.yaml:2: plugins: expected a mapping, got a list\n"


# --- init --------------------------------------------------------------------------------------


def test_init_then_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    workspace(tmp_path)
    target = Path("policies") / "envguard.yaml"
    assert run(["init"], capsys) == (
        0, "", f"wrote {target}: 7 plugins approved; review it, then run `envguard check`\n",
    )
    assert run(["init"], capsys) == (2, "", f"envguard: {target} exists; use --force to overwrite it\n")
    code, out, _ = run(["check", "--format", "json"], capsys)
    document = json.loads(out)
    assert (document["policy"], document["errors"]) == (["policies/envguard.yaml"], [])
    assert [f for f in document["findings"] if f["name"] in PLUGIN_RULES] == []
    assert run(["init", "--force"], capsys)[0] == 0


def test_init_on_a_missing_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["init", "nope"], capsys) == (2, "", "envguard: nope: no such file or directory\n")


# --- explain -----------------------------------------------------------------------------------


def test_explain_lists_every_rule(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["explain"], capsys)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert len(lines) == len(RULES)
    assert [line.split()[:2] for line in lines] == [[rule.code, rule.name] for rule in RULES]
    assert lines[0] == (
        "EG101  unapproved-plugin            warning  "
        "A pytest plugin that the policy does not list under plugins.approved, locked in a record or declared "
        "(a pyproject extra or group, tox, nox, a CI step, a Dockerfile)."
    )


@pytest.mark.parametrize("name", ["unapproved-plugin", "EG101", "eg101", "Unapproved-Plugin"])
def test_explain_one_rule_by_name_or_code(capsys: pytest.CaptureFixture[str], name: str) -> None:
    code, out, err = run(["explain", name], capsys)
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == "EG101 unapproved-plugin (default severity: warning)"
    assert "\nWhat it checks: A pytest plugin that the policy does not list under plugins.approved, locked" in out
    assert out.endswith("limited to this rule with `rule: unapproved-plugin`.\n")


@pytest.mark.parametrize(
    "name",
    [
        "plugin-version-not-allowed", "denied-package", "pytest-version-not-allowed", "required-plugin-missing",
        "exception-expired", "exception-expiring", "exception-unused",
    ],
)
def test_explain_every_rule_of_the_issue(capsys: pytest.CaptureFixture[str], name: str) -> None:
    code, out, _ = run(["explain", name], capsys)
    assert code == 0
    assert out.splitlines()[0].split()[1] == name


def test_explain_an_unknown_rule_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["explain", "unknown-rule"], capsys) == (
        2, "", "envguard: unknown rule 'unknown-rule'; `envguard explain` lists them\n",
    )


# --- no traceback, whatever the input ----------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["check", "--policy", "empty-dir"],
        ["check", "--policy", "not-yaml.yaml"],
        ["check", "--policy", "services"],
        ["check", "services/orders/poetry.lock"],
        ["check", "--format", "json", "--policy", "not-yaml.yaml"],
        ["plugins", "--policy", "empty-dir"],
        ["plugins", "services/orders/poetry.lock"],
        ["init", "--output", "services"],
        ["explain", ""],
        ["explain", "EG999"],
        ["check", "--today", ""],
    ],
)
def test_no_traceback_anywhere(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    workspace(tmp_path, "orders")
    (tmp_path / "empty-dir").mkdir()
    write(tmp_path / "not-yaml.yaml", "version: 1\nplugins: {approved: [\n")
    code, _, err = run(args, capsys)  # run() asserts there is no traceback and no internal error
    assert code in (0, 1, 2)
    if code == 2:
        assert err


def test_github_format_appends_the_markdown_summary_to_the_step_summary(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import shutil

    # A directory name that is not UTF-8 arrives as a lone surrogate: the summary keeps its bytes.
    name = os.fsdecode(b"bad\xff")
    shutil.copytree(SERVICES / "billing", tmp_path / "ws" / name, ignore=shutil.ignore_patterns(".envguard-cache"))
    shutil.copytree(SERVICES / "orders", tmp_path / "ws" / "orders", ignore=shutil.ignore_patterns(".envguard-cache"))
    summary = write(tmp_path / "summary.md", "earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert main(["check", "--no-cache", "--format", "github", str(tmp_path / "ws")]) == 1
    assert b"::notice title=envguard::" in capsysbinary.readouterr().out
    written = summary.read_bytes()
    assert written.startswith(b"earlier step\n### envguard check")
    assert b"bad\xff" in written
