"""run_check end to end on tmp workspaces built from real lockfiles, with small policies."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from envguard.check import CheckResult, finding_key, run_check
from envguard.model import Diagnostic, Location
from envguard.report.json import dumps, report_document
from envguard.report.text import render_check, summary_line
from tests.kit import (
    BILLING_LOCK,
    EXAMPLE,
    FIXTURES,
    FREEZE,
    NOTIFICATIONS_LOCK,
    ORDERS_LOCK,
    PIP_LOCK,
    PLAIN_REQUIREMENTS,
    POETRY18_LOCK,
    SERVICES,
    add_service,
    billing_as_locked,
    write,
)

TODAY = dt.date(2027, 1, 20)
FAIL_ON = ("error", "warning", "never")

POLICY = """\
version: 1
pytest:
  allowed: ">=8"
plugins:
  unknown: warning
  approved:
    pytest-cov: ">=5,<8"
    pytest-mock: ">=3.12,<4"
    pytest-xdist: "*"
    hypothesis: "*"
    anyio: "*"
  denied:
    pytest-randomly: "reorders tests; use pytest-random-order"
"""

SUGAR_EXCEPTION = """\
exceptions:
  - package: pytest-sugar
    services: [notifications]
    reason: "terminal output only, TICKET-42"
    expires: 2027-01-31
    owner: team-notify
"""

# Version drift between services has its own tests; these policies switch it off so that each
# test here sees only the rules it is about.
NO_DRIFT = "drift:\n  default: none\n"
ISSUE_RULES = {
    "unapproved-plugin", "plugin-version-not-allowed", "denied-package", "pytest-version-not-allowed",
    "required-plugin-missing", "exception-expired", "exception-expiring", "exception-unused",
}

# The documented envguard.report/1 contract: the keys the issue lists, plus `locations`,
# `baselined`, `drift` and `warnings`, which README's contract section documents as part of the
# same schema version.
REPORT_KEYS = {"schema", "policy", "findings", "summary", "drift", "repositories", "references", "errors", "warnings"}
FINDING_KEYS = {
    "rule", "name", "severity", "service", "package", "version", "message", "hint",
    "path", "line", "locations", "suppressed", "exception", "baselined",
}
SUMMARY_KEYS = {"services", "errors", "warnings", "suppressed", "baselined"}
DIAGNOSTIC_KEYS = {"path", "line", "message"}
EXCEPTION_KEYS = {"package", "services", "rule", "reason", "expires", "owner", "path", "line"}


def workspace(root: Path, order: tuple[str, ...] = ("orders", "notifications", "billing")) -> Path:
    """Three services of the example monorepo, copied with their own pytest configuration."""
    records = {
        "orders": (ORDERS_LOCK, SERVICES / "orders" / "pyproject.toml"),  # addopts -p randomly
        "notifications": (NOTIFICATIONS_LOCK,),
        "billing": (BILLING_LOCK, SERVICES / "billing" / "pyproject.toml"),  # -p xdist ... -p no:cacheprovider
    }
    for name in order:
        add_service(root, name, *records[name])
    return billing_as_locked(root)


def brief(result: CheckResult) -> list[tuple[str, str, str, str, str | None, str | None, bool]]:
    return [(f.service, f.rule, f.name, f.severity.value, f.package, f.version, f.suppressed) for f in result.findings]


def codes(result: CheckResult) -> tuple[int, ...]:
    return tuple(result.exit_code(fail_on) for fail_on in FAIL_ON)


# --- findings end to end -----------------------------------------------------------------------


def test_every_rule_on_three_real_services(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    policy = write(root / "policy.yaml", POLICY + SUGAR_EXCEPTION + NO_DRIFT)
    result = run_check([root], policy_path=policy, today=TODAY)
    assert brief(result) == [
        ("notifications", "EG101", "unapproved-plugin", "warning", "pytest-sugar", "1.1.1", True),
        ("notifications", "EG102", "plugin-version-not-allowed", "error", "pytest-cov", "4.1.0", False),
        ("notifications", "EG104", "pytest-version-not-allowed", "error", "pytest", "7.4.4", False),
        ("notifications", "EG302", "exception-expiring", "warning", "pytest-sugar", None, False),
        ("orders", "EG103", "denied-package", "error", "pytest-randomly", "3.16.0", False),
    ]
    assert [f.message for f in result.findings] == [
        "pytest plugin pytest-sugar 1.1.1 is not approved by the policy (recognised by its pytest- name)",
        "approved plugin pytest-cov 4.1.0 is outside its approved range >=5,<8",
        "pytest 7.4.4 is outside pytest.allowed >=8",
        "exception for pytest-sugar (notifications, owner team-notify) expires in 11 days (2027-01-31): "
        "terminal output only, TICKET-42",
        "pytest-randomly 3.16.0 is denied by the policy: reorders tests; use pytest-random-order",
    ]
    assert [f.locations for f in result.findings] == [
        (Location("services/notifications/Pipfile.lock", 778),),
        (Location("services/notifications/Pipfile.lock", 760),),
        (Location("services/notifications/Pipfile.lock", 751),),
        (Location(policy.as_posix(), 15),),
        # The lock's line first, then the line of the manifest that declares it.
        (Location("services/orders/poetry.lock", 1114), Location("services/orders/pyproject.toml", 19)),
    ]
    assert (result.errors, result.policy_files) == ((), (policy.as_posix(),))
    assert codes(result) == (1, 1, 0)


def test_the_text_report_is_grouped_by_service_with_a_summary(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    write(root / "policies" / "envguard.yaml", POLICY + SUGAR_EXCEPTION + NO_DRIFT)
    result = run_check([root], today=TODAY)
    assert render_check(result) == (
        "notifications\n"
        "  suppressed EG101 unapproved-plugin: pytest plugin pytest-sugar 1.1.1 is not approved by the policy "
        "(recognised by its pytest- name)\n"
        "             at services/notifications/Pipfile.lock:778\n"
        "             exception: terminal output only, TICKET-42 (expires 2027-01-31; policies/envguard.yaml:15)\n"
        "  error      EG102 plugin-version-not-allowed: approved plugin pytest-cov 4.1.0 is outside its approved "
        "range >=5,<8\n"
        "             at services/notifications/Pipfile.lock:760\n"
        "             hint: Move the plugin into the approved range with the service's locking tool, or widen the "
        "range in the policy after review.\n"
        "  error      EG104 pytest-version-not-allowed: pytest 7.4.4 is outside pytest.allowed >=8\n"
        "             at services/notifications/Pipfile.lock:751\n"
        "             hint: Upgrade (or pin) pytest into the allowed range with the service's locking tool.\n"
        "  warning    EG302 exception-expiring: exception for pytest-sugar (notifications, owner team-notify) "
        "expires in 11 days (2027-01-31): terminal output only, TICKET-42\n"
        "             at policies/envguard.yaml:15\n"
        "             hint: Fix the underlying finding before the date, or renew the exception.\n"
        "\n"
        "orders\n"
        "  error      EG103 denied-package: pytest-randomly 3.16.0 is denied by the policy: reorders tests; use "
        "pytest-random-order\n"
        "             at services/orders/poetry.lock:1114, services/orders/pyproject.toml:19\n"
        "             hint: Remove the package (the reason usually names the replacement), or add a time-limited "
        "exception.\n"
        "\n"
        "policy: policies/envguard.yaml\n"
        "3 services checked: 3 errors, 1 warning, 1 suppressed\n"
    )
    assert summary_line(result) == "3 services checked: 3 errors, 1 warning, 1 suppressed"


def test_a_clean_workspace_reports_only_the_policy_and_the_summary(tmp_path: Path) -> None:
    root = tmp_path
    add_service(root, "billing", BILLING_LOCK, SERVICES / "billing" / "pyproject.toml")
    billing_as_locked(root)
    result = run_check([root], policy_path=write(root / "policy.yaml", POLICY + NO_DRIFT), today=TODAY)
    assert result.findings == ()
    assert render_check(result) == (
        f"policy: {(root / 'policy.yaml').as_posix()}\n1 service checked: 0 errors, 0 warnings, 0 suppressed\n"
    )
    assert codes(result) == (0, 0, 0)


def test_the_example_monorepo_with_the_built_in_policy() -> None:
    result = run_check([EXAMPLE], today=TODAY)
    assert result.policy_files == ("<builtin>/default-policy.yaml",)
    assert [item for item in brief(result) if item[2] in ISSUE_RULES] == [
        # billing's stale lock misses pytest-timeout, so its declared range alone decides.
        ("billing", "EG102", "plugin-version-not-allowed", "warning", "pytest-timeout", None, False),
        ("gateway", "EG102", "plugin-version-not-allowed", "error", "pytest-asyncio", "0.23.8", False),
        ("notifications", "EG101", "unapproved-plugin", "warning", "pytest-sugar", "1.1.1", False),
        ("notifications", "EG102", "plugin-version-not-allowed", "error", "pytest-cov", "4.1.0", False),
        ("orders", "EG101", "unapproved-plugin", "warning", "pytest-randomly", "3.16.0", False),
        # payments declares only: an extra, a nox session, a CI step.
        ("payments", "EG101", "unapproved-plugin", "warning", "pytest-randomly", None, False),
        ("payments", "EG102", "plugin-version-not-allowed", "error", "pytest-asyncio", "0.23.8", False),
        ("payments", "EG102", "plugin-version-not-allowed", "warning", "pytest-cov", None, False),
        ("payments", "EG102", "plugin-version-not-allowed", "warning", "pytest-mock", None, False),
        ("runner", "EG101", "unapproved-plugin", "warning", "pytest-sugar", "1.1.1", False),
    ]
    declared = [item for item in brief(result) if item[1].startswith("EG5")]
    assert declared == [
        ("billing", "EG501", "unpinned-install", "warning", "pytest-cov", None, False),
        ("billing", "EG502", "lock-out-of-date", "error", None, None, False),
        ("billing", "EG503", "environment-mismatch", "error", "pytest", "8.3.5", False),
        ("payments", "EG501", "unpinned-install", "warning", "pytest-cov", None, False),
        ("runner", "EG501", "unpinned-install", "warning", "pytest-rerunfailures", None, False),
    ]
    assert (len(result.inventory.services), result.errors) == (11, ())


def test_knowledge_base_plugins_in_real_locks_end_to_end(tmp_path: Path) -> None:
    add_service(tmp_path, "django-app", PLAIN_REQUIREMENTS)  # faker 40.63.0 via factory-boy
    add_service(tmp_path, "lab", PIP_LOCK)  # hypothesis 6.170.17
    add_service(tmp_path, "legacy", POETRY18_LOCK)  # anyio 4.16.0
    policy = write(
        tmp_path / "policy.yaml",
        'version: 1\nplugins:\n  unknown: error\n  approved: {pytest-cov: "*", pytest-django: "*", pytest-asyncio: "*"}\n'
        + NO_DRIFT,
    )
    result = run_check([tmp_path], policy_path=policy, today=TODAY)
    assert [(f.service, f.name, f.severity.value, f.package, f.version) for f in result.findings] == [
        ("django-app", "unapproved-plugin", "error", "faker", "40.63.0"),
        ("lab", "unapproved-plugin", "error", "hypothesis", "6.170.17"),
        ("legacy", "unapproved-plugin", "error", "anyio", "4.16.0"),
    ]
    assert {f.message.rsplit("(", 1)[1] for f in result.findings} == {"registers a pytest11 entry point)"}
    assert codes(result) == (1, 1, 0)


def test_a_plugin_enabled_only_with_dash_p_in_a_config_file(tmp_path: Path) -> None:
    # acme-wheel is an internal wheel with no plugin-like name; tox.ini's addopts loads it with -p.
    add_service(tmp_path, "toolkit", FREEZE, extra={"tox.ini": "[pytest]\naddopts = -p acme_wheel.fixtures\n"})
    policy = write(tmp_path / "policy.yaml", 'version: 1\nplugins:\n  approved: {pytest-cov: "*", pytest-mock: "*"}\n')
    result = run_check([tmp_path], policy_path=policy, today=TODAY)
    assert [(f.name, f.package, f.message) for f in result.findings] == [
        (
            "unapproved-plugin",
            "acme-wheel",
            "pytest plugin acme-wheel (no version) is not approved by the policy "
            "(enabled with -p in the pytest configuration)",
        )
    ]
    assert codes(result) == (0, 1, 0)
    (tmp_path / "services" / "toolkit" / "tox.ini").unlink()
    assert run_check([tmp_path], policy_path=policy, today=TODAY).findings == ()


def test_required_plugins_end_to_end(tmp_path: Path) -> None:
    add_service(
        tmp_path,
        "orders",
        ORDERS_LOCK,
        extra={"pytest.ini": "[pytest]\nrequired_plugins = pytest-mock>=3.14 pytest-timeout>=2\n"},
    )
    policy = write(tmp_path / "policy.yaml", 'version: 1\nplugins:\n  unknown: ignore\n')
    result = run_check([tmp_path], policy_path=policy, today=TODAY)
    assert [(f.name, f.package, f.message, f.locations) for f in result.findings] == [
        (
            "required-plugin-missing",
            "pytest-timeout",
            "required_plugins names pytest-timeout>=2, but the service's records have no pytest-timeout",
            (Location("services/orders/pytest.ini", 2),),
        )
    ]


BILLING_PLUGINS = 'pytest-cov: "*", pytest-mock: "*", pytest-xdist: "*", hypothesis: "*", anyio: "*"'


# --- exit codes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        # billing is clean under every policy below; notifications is the one that varies.
        (f"plugins:\n  approved: {{{BILLING_PLUGINS}, pytest-sugar: '*'}}\n", (0, 0, 0)),
        (f"plugins:\n  approved: {{{BILLING_PLUGINS}}}\n", (0, 1, 0)),
        (f"plugins:\n  unknown: error\n  approved: {{{BILLING_PLUGINS}}}\n", (1, 1, 0)),
        ('pytest:\n  allowed: ">=8"\nplugins:\n  unknown: ignore\n', (1, 1, 0)),
        # every finding suppressed: nothing fails, whatever the threshold
        (
            'pytest:\n  allowed: ">=8"\nplugins:\n  unknown: ignore\nexceptions:\n'
            '  - {package: pytest, services: [notifications], reason: "upgrade in Q1", expires: 2027-06-30}\n',
            (0, 0, 0),
        ),
    ],
)
def test_exit_code_for_each_fail_on(tmp_path: Path, policy: str, expected: tuple[int, int, int]) -> None:
    workspace(tmp_path, ("notifications", "billing"))
    written = write(tmp_path / "p.yaml", "version: 1\n" + policy + NO_DRIFT)
    result = run_check([tmp_path], policy_path=written, today=TODAY)
    assert codes(result) == expected


@pytest.mark.parametrize(
    ("today", "expected", "names"),
    [
        (dt.date(2027, 1, 16), (0, 0, 0), ["unapproved-plugin"]),
        (dt.date(2027, 1, 17), (0, 1, 0), ["unapproved-plugin", "exception-expiring"]),
        (dt.date(2027, 1, 31), (0, 1, 0), ["unapproved-plugin", "exception-expiring"]),
        (dt.date(2027, 2, 1), (1, 1, 0), ["unapproved-plugin", "exception-expired"]),
    ],
)
def test_the_injected_clock_decides_expiry(
    tmp_path: Path, today: dt.date, expected: tuple[int, int, int], names: list[str]
) -> None:
    add_service(tmp_path, "notifications", NOTIFICATIONS_LOCK)
    policy = 'version: 1\nplugins:\n  unknown: error\n  approved: {pytest-cov: "*", pytest-mock: "*"}\n' + SUGAR_EXCEPTION
    result = run_check([tmp_path], policy_path=write(tmp_path / "p.yaml", policy), today=today)
    assert [f.name for f in result.findings] == names
    assert result.findings[0].suppressed is (today <= dt.date(2027, 1, 31))
    assert codes(result) == expected


def test_an_unreadable_lock_is_exit_2_after_checking_the_rest(tmp_path: Path) -> None:
    workspace(tmp_path, ("orders",))
    write(tmp_path / "services" / "broken" / "poetry.lock", '[[package]]\nname = "x"\nversion = \n')
    result = run_check([tmp_path], policy_path=write(tmp_path / "p.yaml", POLICY + NO_DRIFT), today=TODAY)
    assert [d.path for d in result.errors] == ["services/broken/poetry.lock"]
    assert [(f.service, f.name) for f in result.findings] == [("orders", "denied-package")]
    assert codes(result) == (2, 2, 2)
    document = report_document(result)
    assert document["summary"] == {"services": 2, "errors": 1, "warnings": 0, "suppressed": 0, "baselined": 0}
    assert [set(e) for e in document["errors"]] == [DIAGNOSTIC_KEYS]


# --- policy lookup -----------------------------------------------------------------------------

STRICT = 'version: 1\nplugins:\n  unknown: error\n  approved: {pytest-cov: "*", pytest-mock: "*", hypothesis: "*"}\n'
LAX = 'version: 1\nplugins:\n  unknown: ignore\n'


def orders_only(root: Path) -> Path:
    add_service(root, "orders", ORDERS_LOCK)
    return root


def test_without_any_policy_the_built_in_one_is_used(tmp_path: Path) -> None:
    result = run_check([orders_only(tmp_path)], today=TODAY)
    assert result.policy_files == ("<builtin>/default-policy.yaml",)
    assert brief(result) == [("orders", "EG101", "unapproved-plugin", "warning", "pytest-randomly", "3.16.0", False)]


def test_policies_directory_at_the_root_merges_in_name_order(tmp_path: Path) -> None:
    root = orders_only(tmp_path)
    write(root / "policies" / "10-org.yaml", STRICT)
    write(root / "policies" / "20-team.yaml", "version: 1\nplugins:\n  approved: {pytest-randomly: '>=3.16,<4'}\n")
    write(root / "policies" / "README.md", "not a policy\n")
    result = run_check([root], today=TODAY)
    assert result.policy_files == ("policies/10-org.yaml", "policies/20-team.yaml")
    assert result.findings == ()


def test_policy_files_reached_through_extends_are_named(tmp_path: Path) -> None:
    root = orders_only(tmp_path)
    write(root / "org" / "base.yaml", STRICT)
    write(root / "policies" / "team.yaml", "version: 1\nextends: ../org/base.yaml\n")
    result = run_check([root], today=TODAY)
    assert result.policy_files == ("org/base.yaml", "policies/team.yaml")
    assert [(f.name, f.severity.value) for f in result.findings] == [("unapproved-plugin", "error")]


def test_tool_envguard_policy_wins_over_the_policies_directory(tmp_path: Path) -> None:
    root = orders_only(tmp_path)
    write(root / "policies" / "envguard.yaml", STRICT)
    write(root / "ci" / "envguard-policy.yaml", LAX)
    write(root / "pyproject.toml", '[tool.envguard]\npolicy = "ci/envguard-policy.yaml"\n')
    result = run_check([root], today=TODAY)
    assert result.policy_files == ("ci/envguard-policy.yaml",)
    assert result.findings == ()


@pytest.mark.parametrize("as_directory", [False, True])
def test_the_policy_option_wins_over_everything(tmp_path: Path, as_directory: bool) -> None:
    root = orders_only(tmp_path)
    write(root / "policies" / "envguard.yaml", LAX)
    write(root / "pyproject.toml", '[tool.envguard]\npolicy = "policies"\n')
    given = write(tmp_path / "elsewhere" / "strict.yaml", STRICT)
    path = given.parent if as_directory else given
    result = run_check([root], policy_path=path, today=TODAY)
    assert result.policy_files == (given.as_posix(),)
    assert [f.name for f in result.findings] == ["unapproved-plugin"]


# --- unreadable policy -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "option", "expected"),
    [
        (
            {"policies/envguard.yaml": "version: 2\n"},
            None,
            Diagnostic("policies/envguard.yaml", 1, "version: unsupported policy version 2; this envguard reads version 1"),
        ),
        (
            {"policies/envguard.yaml": 'version: 1\nplugins:\n  approved:\n    pytest-cov: ">=5,<<6"\n'},
            None,
            Diagnostic("policies/envguard.yaml", 4, "plugins.approved.pytest-cov: invalid specifier '>=5,<<6'"),
        ),
        (
            {"pyproject.toml": '[tool.envguard]\npolicy = "missing.yaml"\n'},
            None,
            Diagnostic("missing.yaml", None, "policy file not found"),
        ),
        ({}, "nowhere.yaml", Diagnostic("nowhere.yaml", None, "policy file not found")),
    ],
)
def test_an_unreadable_policy_is_exit_2_and_the_inventory_is_still_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str], option: str | None, expected: Diagnostic
) -> None:
    monkeypatch.chdir(tmp_path)
    root = workspace(tmp_path / "ws")
    for name, text in files.items():
        write(root / name, text)
    result = run_check([root], policy_path=Path(option) if option else None, today=TODAY)
    assert result.errors == (expected,)
    assert (result.findings, result.policy_files) == ((), ())
    assert [s.name for s in result.inventory.services] == ["billing", "notifications", "orders"]
    assert codes(result) == (2, 2, 2)
    document = report_document(result)
    assert document["summary"] == {"services": 3, "errors": 0, "warnings": 0, "suppressed": 0, "baselined": 0}
    assert document["errors"] == [{"path": expected.path, "line": expected.line, "message": expected.message}]
    assert render_check(result).endswith(
        "policy: (none: the policy could not be read)\n3 services checked: 0 errors, 0 warnings, 0 suppressed\n"
    )


# --- JSON contract and ordering ----------------------------------------------------------------


def test_json_report_keys_exactly(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    policy = write(root / "policy.yaml", POLICY + SUGAR_EXCEPTION + NO_DRIFT)
    document = json.loads(dumps(report_document(run_check([root], policy_path=policy, today=TODAY))))
    assert set(document) == REPORT_KEYS
    assert document["schema"] == "envguard.report/1"
    assert document["policy"] == [policy.as_posix()]
    assert document["summary"] == {"services": 3, "errors": 3, "warnings": 1, "suppressed": 1, "baselined": 0}
    assert set(document["summary"]) == SUMMARY_KEYS
    assert (document["errors"], document["warnings"]) == ([], [])
    assert len(document["findings"]) == 5
    for item in document["findings"]:
        assert set(item) == FINDING_KEYS
        assert item["severity"] in ("error", "warning")
        assert (item["path"], item["line"]) == (item["locations"][0]["path"], item["locations"][0]["line"])
    suppressed = document["findings"][0]
    assert suppressed["suppressed"] is True
    assert set(suppressed["exception"]) == EXCEPTION_KEYS
    assert suppressed["exception"] == {
        "package": "pytest-sugar",
        "services": ["notifications"],
        "rule": None,
        "reason": "terminal output only, TICKET-42",
        "expires": "2027-01-31",
        "owner": "team-notify",
        "path": policy.as_posix(),
        "line": 15,
    }
    assert document["findings"][4] == {
        "rule": "EG103",
        "name": "denied-package",
        "severity": "error",
        "service": "orders",
        "package": "pytest-randomly",
        "version": "3.16.0",
        "message": "pytest-randomly 3.16.0 is denied by the policy: reorders tests; use pytest-random-order",
        "hint": "Remove the package (the reason usually names the replacement), or add a time-limited exception.",
        "path": "services/orders/poetry.lock",
        "line": 1114,
        "locations": [
            {"path": "services/orders/poetry.lock", "line": 1114},
            {"path": "services/orders/pyproject.toml", "line": 19},
        ],
        "suppressed": False,
        "exception": None,
        "baselined": False,
    }


def test_reports_do_not_depend_on_creation_order_or_repetition(tmp_path: Path) -> None:
    a = workspace(tmp_path / "a", ("orders", "notifications", "billing"))
    b = workspace(tmp_path / "b", ("billing", "notifications", "orders"))
    shutil.copyfile(write(tmp_path / "policy.yaml", POLICY + SUGAR_EXCEPTION + NO_DRIFT), a / "policy.yaml")
    shutil.copyfile(tmp_path / "policy.yaml", b / "policy.yaml")
    documents = []
    for root in (a, b, a):
        result = run_check([root], policy_path=root / "policy.yaml", today=TODAY)
        assert list(result.findings) == sorted(result.findings, key=finding_key)
        document = report_document(result)
        document["policy"] = []  # the only absolute path in the report
        for item in document["findings"]:
            if item["path"].endswith("policy.yaml"):
                item["path"] = item["locations"][0]["path"] = "policy.yaml"
            if item["exception"]:
                item["exception"]["path"] = "policy.yaml"
        documents.append(dumps(document))
    assert documents[0] == documents[1] == documents[2]


def test_several_versions_of_one_plugin_are_ordered_by_version(tmp_path: Path) -> None:
    add_service(tmp_path, "fork", FIXTURES / "uv" / "project-fork" / "uv.lock")
    policy = write(
        tmp_path / "p.yaml",
        'version: 1\nplugins:\n  approved: {anyio: "*", pytest-cov: "*", pytest-xdist: "*", '
        'pytest-mock: ">=3.16", hypothesis: ">=6.150"}\n' + NO_DRIFT,
    )
    result = run_check([tmp_path], policy_path=policy, today=TODAY)
    assert [(f.package, f.version) for f in result.findings] == [
        ("hypothesis", "6.141.1"),
        ("pytest-mock", "3.15.1"),
    ]
