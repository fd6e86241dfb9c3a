"""Planning on the example monorepo and the real fixtures: which tool, which command, which edits, what is skipped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from envguard.fix.model import Action, plan_document
from envguard.fix.plan import lower_bound
from envguard.rules.drift import drift_findings
from tests.fix.kit import monorepo, old_pluggy, planned
from tests.kit import add_service, write

STRICT_PLUGGY = """\
version: 1
drift:
  default: none
  rules:
    - packages: [pluggy]
      require: exact
"""


def by_service(actions: tuple[Action, ...], package: str) -> dict[str, Action]:
    return {a.service: a for a in actions if a.package == package}


def test_one_action_per_outlier_in_its_own_tool(tmp_path: Path) -> None:
    root = monorepo(tmp_path)
    old_pluggy(root, "billing", "gateway", "inventory", "notifications", "reports", "search", "analytics")
    plan = planned(root)
    actions = by_service(plan.actions, "pluggy")
    assert {name: a.tool for name, a in actions.items()} == {
        "billing": "uv",
        "gateway": "poetry",
        "inventory": "pdm",
        "notifications": "pipenv",
        "reports": "edit",
        "search": "pip-compile",
    }
    assert {name: (a.versions, a.to, a.rule) for name, a in actions.items()} == {
        name: (("0.13.1",), "1.7.0", "version-drift") for name in actions
    }
    # pluggy is no direct dependency of any of them: nothing declares it, so nothing is added.
    assert actions["billing"].command == ("uv", "lock", "--upgrade-package", "pluggy==1.7.0")
    assert actions["gateway"].command == ("poetry", "update", "--lock", "--no-interaction", "pluggy")
    assert actions["inventory"].command == ("pdm", "update", "--no-sync", "pluggy")
    assert actions["notifications"].command == ("pipenv", "upgrade", "--dev", "pluggy==1.7.0")
    assert actions["search"].command == (
        "pip-compile", "--generate-hashes", "requirements.in", "--upgrade-package", "pluggy==1.7.0",
    )
    for name in ("billing", "gateway", "inventory", "notifications", "search"):
        assert actions[name].cwd == f"services/{name}"
        assert actions[name].network and not actions[name].edits
    assert actions["billing"].files == ("services/billing/pyproject.toml", "services/billing/uv.lock")
    assert actions["notifications"].files == ("services/notifications/Pipfile", "services/notifications/Pipfile.lock")
    assert actions["search"].files == ("services/search/requirements.in", "services/search/requirements.txt")

    reports = actions["reports"]
    assert (reports.command, reports.cwd, reports.network) == (None, None, False)
    assert [(e.path, e.line, e.old, e.new) for e in reports.edits] == [
        ("services/reports/requirements.txt", 11, "pluggy==0.13.1", "pluggy==1.7.0")
    ]
    # pip lock records no command: nothing to run again.
    (analytics,) = [s for s in plan.skipped if s.package == "pluggy"]
    assert analytics.service == "analytics"
    assert analytics.reason == (
        "envguard fix has no tool for services/analytics/pylock.toml (pylock): "
        "re-lock services/analytics/pylock.toml with pluggy==1.7.0"
    )


def test_the_target_and_the_tool_are_the_hints(tmp_path: Path) -> None:
    """The plan moves each outlier to the version its hint names, with the tool its hint names."""
    root = monorepo(tmp_path)
    old_pluggy(root, "billing", "gateway", "reports")
    plan = planned(root)
    from envguard.check import run_check
    from envguard.inventory import LoadOptions

    result = run_check([root], load=LoadOptions(cache=False), select=frozenset({"EG201"}))
    (drift,) = [f for f in result.findings if f.package == "pluggy"]
    assert drift.target == "1.7.0"
    hinted = dict(line.split(": ", 1) for line in drift.hint.splitlines())
    assert hinted == {
        "billing": "uv lock --upgrade-package pluggy==1.7.0",
        "gateway": "poetry add pluggy@1.7.0",
        "reports": "set pluggy==1.7.0 in services/reports/requirements.txt",
    }
    tools = {a.service: a.tool for a in plan.actions if a.package == "pluggy"}
    assert tools == {"billing": "uv", "gateway": "poetry", "reports": "edit"}


def test_the_example_monorepo_as_it_is(tmp_path: Path) -> None:
    root = monorepo(tmp_path)
    plan = planned(root)
    actions = {(a.service, a.package): a for a in plan.actions}
    # Poetry: a declared package is added at the version in the group that declares it (the
    # gateway lock, lock-version 2.0, does not record groups; its pyproject.toml does).
    assert actions["gateway", "pytest-cov"].command == (
        "poetry", "add", "--lock", "--no-interaction", "--group", "dev", "pytest-cov@7.1.0",
    )
    assert actions["gateway", "starlette"].command == ("poetry", "add", "--lock", "--no-interaction", "starlette@1.10.0")
    # PDM: a PEP 735 group is a dev group (-dG).
    assert actions["inventory", "pytest"].command == ("pdm", "add", "--no-sync", "-dG", "test", "pytest==9.2.0")
    assert actions["notifications", "pytest-cov"].command == ("pipenv", "upgrade", "--dev", "pytest-cov==7.1.0")
    # pip-compile again with the header's options; the input's pin of the old version moves with it.
    runner = actions["runner", "pytest"]
    assert runner.command == (
        "pip-compile", "--no-strip-extras", "--output-file=requirements-runner.txt", "requirements-runner.in",
        "--upgrade-package", "pytest==9.2.0",
    )
    assert [(e.path, e.line, e.old, e.new) for e in runner.edits] == [
        ("services/runner/requirements-runner.in", 2, "pytest==8.4.2", "pytest==9.2.0")
    ]
    # A freeze of an installed project: the record's line and the project's pin move together.
    reports = actions["reports", "pytest-cov"]
    assert [(e.path, e.line, e.old.strip(), e.new.strip()) for e in reports.edits] == [
        ("services/reports/requirements.txt", 14, "pytest-cov==5.0.0", "pytest-cov==7.1.0"),
        ("services/reports/pyproject.toml", 15, '"pytest-cov==5.0.0",', '"pytest-cov==7.1.0",'),
    ]
    skipped = {(s.service, s.package, s.rule): s.reason for s in plan.skipped}
    # A range that excludes the target is the service's decision: nothing is widened.
    assert skipped["billing", "pytest", "version-drift"] == (
        "services/billing/pyproject.toml:13 declares pytest>=8,<9, which excludes 9.2.0; widen it, then plan again"
    )
    assert skipped["search", "pytest", "version-drift"] == (
        "services/search/requirements.in:5 requires pytest>=8,<9, which excludes 9.2.0; widen it, then plan again"
    )
    # Unapproved plugins are never removed.
    for service, plugin in (("orders", "pytest-randomly"), ("notifications", "pytest-sugar"), ("payments", "pytest-randomly")):
        assert skipped[service, plugin, "unapproved-plugin"].startswith("envguard fix never removes a plugin")
    # A pin in a noxfile is not envguard's to edit; a range has no version to move.
    assert skipped["payments", "pytest-asyncio", "plugin-version-not-allowed"].startswith(
        "services/payments/noxfile.py:5 pins pytest-asyncio==0.23.8 (nox): envguard fix edits"
    )
    assert skipped["payments", "pytest-cov", "plugin-version-not-allowed"].startswith("nothing pins a version to move")
    # One action per service and package, even where two rules report it.
    assert len(actions) == len(plan.actions)
    assert actions["gateway", "pytest-asyncio"].rule == "version-drift"


def test_plan_is_deterministic_and_offline(tmp_path: Path) -> None:
    root = monorepo(tmp_path)
    old_pluggy(root, "billing", "search")
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    first = json.dumps(plan_document(planned(root)))
    second = json.dumps(plan_document(planned(root)))
    assert first == second
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before


def test_only_and_package_narrow_the_plan(tmp_path: Path) -> None:
    root = monorepo(tmp_path)
    old_pluggy(root, "billing", "gateway")
    plan = planned(root, only=("gate*",), packages=("Pluggy",))
    assert [(a.service, a.package) for a in plan.actions] == [("gateway", "pluggy")]
    assert plan.skipped == ()
    plan = planned(root, packages=("!pytest*",))
    assert {a.package for a in plan.actions} == {"pluggy", "starlette"}


def test_pinned_and_snap_to_findings_move_too(tmp_path: Path) -> None:
    root = monorepo(tmp_path)
    policy = write(
        tmp_path / "policy.yaml",
        """\
        version: 1
        drift:
          default: none
          rules:
            - packages: [pluggy]
              require: {snap-to: orders}
            - packages: [iniconfig]
              require: {pinned: ">=2.3"}
        """,
    )
    old_pluggy(root, "reports")
    from tests.fix.kit import inject

    inject(root, "services/reports/requirements.txt", 6, "2.3.1", "2.1.0")
    plan = planned(root, str(policy))
    assert [(a.service, a.package, a.rule, a.to) for a in plan.actions] == [
        ("reports", "iniconfig", "pinned-version-mismatch", "2.3.1"),
        ("reports", "pluggy", "snap-to-mismatch", "1.7.0"),
    ]


def test_a_manifest_pin_of_the_old_version_moves_with_the_lock(tmp_path: Path) -> None:
    """`uv lock --upgrade-package` cannot leave a pin in pyproject.toml: the pin is edited first."""
    root = monorepo(tmp_path)
    old_pluggy(root, "billing")
    manifest = root / "services" / "billing" / "pyproject.toml"
    manifest.write_text(manifest.read_text().replace('"anyio>=4.4",', "'anyio>=4.4', 'pluggy == 0.13.1',"))
    (action,) = [a for a in planned(root).actions if a.package == "pluggy"]
    assert action.tool == "uv"
    assert [(e.path, e.line, e.old, e.new) for e in action.edits] == [
        (
            "services/billing/pyproject.toml", 18,
            "    'anyio>=4.4', 'pluggy == 0.13.1',", "    'anyio>=4.4', 'pluggy == 1.7.0',",
        )
    ]


def test_plugin_version_not_allowed_moves_within_the_range(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    write(root / "a" / "requirements.txt", "pytest-cov==4.1.0\npytest==8.4.2\n")
    write(root / "b" / "requirements.txt", "pytest-cov==5.0.0\npytest==8.4.2\n")
    write(root / "c" / "requirements.txt", "pytest-cov==9.0.0\npytest==8.4.2\n")
    write(
        root / "d" / "pyproject.toml",
        """\
        [project]
        name = "d"
        version = "1"
        [project.optional-dependencies]
        test = ["pytest-cov == 4.1.0 ; python_version >= '3.9'"]
        """,
    )
    policy = write(
        tmp_path / "policy.yaml",
        """\
        version: 1
        plugins:
          approved:
            pytest-cov: ">=5,<8"
        drift:
          default: none
        """,
    )
    plan = planned(root, str(policy))
    moved = {a.service: (a.tool, a.versions, a.to, [(e.old, e.new) for e in a.edits]) for a in plan.actions}
    assert moved == {
        "a": ("edit", ("4.1.0",), "5.0.0", [("pytest-cov==4.1.0", "pytest-cov==5.0.0")]),
        "c": ("edit", ("9.0.0",), "5.0.0", [("pytest-cov==9.0.0", "pytest-cov==5.0.0")]),
        "d": (
            "edit", ("4.1.0",), "5.0.0",
            [('test = ["pytest-cov == 4.1.0 ; python_version >= \'3.9\'"]', 'test = ["pytest-cov == 5.0.0 ; python_version >= \'3.9\'"]')],
        ),
    }


@pytest.mark.parametrize(
    ("allowed", "expected"),
    [(">=1.0,<2", "1.0"), ("~=2.3", "2.3"), ("==3.*", "3"), (">=1,>=1.5,<3", "1.5"), ("<2", None), (">1", None), ("!!", None)],
)
def test_lower_bound(allowed: str, expected: str | None) -> None:
    assert lower_bound(allowed) == expected


def test_lower_bound_when_no_version_in_use_is_approved(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    write(root / "a" / "requirements.txt", "pytest-cov==4.1.0\n")
    policy = write(tmp_path / "p.yaml", 'version: 1\nplugins:\n  approved:\n    pytest-cov: ">=5,<8"\n')
    (action,) = planned(root, str(policy)).actions
    assert (action.to, action.edits[0].new) == ("5", "pytest-cov==5")


def test_hashed_requirements_without_a_header_are_skipped(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    write(root / "a" / "requirements.txt", "pluggy==1.5.0 \\\n    --hash=sha256:" + "0" * 64 + "\n")
    write(root / "b" / "requirements.txt", "pluggy==1.7.0\n")
    policy = write(tmp_path / "p.yaml", STRICT_PLUGGY)
    plan = planned(root, str(policy))
    assert plan.actions == ()
    (skipped,) = plan.skipped
    assert skipped.reason.startswith("a/requirements.txt has --hash lines, and no pip-compile or uv header")


def test_uv_pip_compile_and_uv_export_headers(tmp_path: Path) -> None:
    from tests.kit import FIXTURES

    root = tmp_path / "ws"
    compiled = add_service(root, "compiled", *(FIXTURES / "uv" / "pip-compile" / n for n in ("requirements.txt", "requirements.in")))
    exported = root / "services" / "exported" / "requirements.txt"
    write(exported, "# This file was autogenerated by uv via the following command:\n#    uv export --format requirements-txt\nidna==3.1\n")
    write(root / "services" / "new" / "requirements.txt", "idna==3.20\n")
    policy = write(tmp_path / "p.yaml", STRICT_PLUGGY.replace("pluggy", "idna"))
    plan = planned(root, str(policy))
    assert compiled.is_dir()
    assert [(s.service, s.reason.split(":")[0]) for s in plan.skipped if s.package == "idna"] == [
        ("exported", "services/exported/requirements.txt was written by `uv export`")
    ]


def test_uv_pip_compile_runs_the_recorded_command(tmp_path: Path) -> None:
    from tests.kit import FIXTURES

    root = tmp_path / "ws"
    add_service(root, "compiled", *(FIXTURES / "uv" / "pip-compile" / n for n in ("requirements.txt", "requirements.in")))
    write(root / "services" / "new" / "requirements.txt", "idna==3.21\n")
    policy = write(tmp_path / "p.yaml", STRICT_PLUGGY.replace("pluggy", "idna"))
    (action,) = [a for a in planned(root, str(policy)).actions if a.service == "compiled"]
    assert action.tool == "uv-pip-compile"
    assert action.command == (
        "uv", "pip", "compile", "--universal", "--python-version", "3.9", "requirements.in", "-o", "requirements.txt",
        "--upgrade-package", "idna==3.21",
    )
    assert action.cwd == "services/compiled"


def test_drift_findings_carry_the_target() -> None:
    from envguard.markers import Target
    from envguard.model import Inventory, Kind, Package, Service, Source, normalize
    from envguard.policy import Policy

    def service(name: str, version: str) -> Service:
        package = Package(normalize("attrs"), version, Kind.REGISTRY, ("main",), None, f"{name}/uv.lock", 1)
        return Service(name, name, (Source(f"{name}/uv.lock", "uv"),), (package,))

    findings, _ = drift_findings(Inventory("/", (service("a", "22.0.0"), service("b", "24.2.0"))), Policy(), Target(), {})
    assert [(f.name, f.service, f.target) for f in findings] == [("version-drift", "a", "24.2.0")]
