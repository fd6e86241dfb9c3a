"""`envguard init`: the starter policy loads, accepts the workspace it was written from, never clobbers."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from envguard.check import run_check
from envguard.cli import main
from envguard.model import Inventory, Severity
from envguard.policy import load_policy
from envguard.starter import covering_range, starter_policy
from envguard.versions import satisfies
from tests.kit import EXAMPLE, FREEZE, ORDERS_LOCK, add_service, write

TODAY = dt.date(2027, 1, 20)
PLUGIN_RULES = {"unapproved-plugin", "plugin-version-not-allowed"}


def init(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["init", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def monorepo(tmp_path: Path) -> Path:
    return Path(shutil.copytree(EXAMPLE, tmp_path / "monorepo"))


# --- covering_range ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("found", "expected"),
    [
        (["8.4.2"], ">=8.4,<9"),
        (["7.4.4", "8.3.5", "8.4.2", "9.2.0"], ">=7.4,<10"),
        (["1.3.0", "0.23.8"], ">=0.23,<2"),  # order does not matter
        (["4.1.0", "5.0.0", "6.3.0", "7.1.0"], ">=4.1,<8"),
        (["5"], ">=5.0,<6"),
        (["2026.10.19.post1"], ">=2026.10,<2027"),
        (["1.2.3+local"], ">=1.2,<2"),
        (["1.0.0rc1"], ">=1.0.0rc1,<2"),  # a pre-release sorts below 1.0
        (["2.0.0b1", "2.3"], ">=2.0.0b1,<3"),
        (["1.2.dev3"], ">=1.2.dev3,<2"),
        (["1!2.0"], ">=1!2.0,<1!3"),  # an epoch sorts above every version without one
        (["1.0", None], "*"),  # a record without a version cannot be placed in a range
        (["1.0", "not-a-version"], "*"),
        ([], "*"),
    ],
)
def test_covering_range(found: list[str | None], expected: str) -> None:
    assert covering_range(found) == expected


@pytest.mark.parametrize(
    "found",
    [["8.4.2"], ["0.23.8", "1.3.0"], ["1.0.0rc1"], ["2.0.0b1", "2.3"], ["1.2.dev3"], ["1!2.0"], ["3.1.1.post2"]],
)
def test_covering_range_covers_every_version_it_was_given(found: list[str]) -> None:
    spec = covering_range(found)
    assert all(satisfies(version, spec) for version in found), spec


# --- the starter policy ------------------------------------------------------------------------


def test_init_on_the_example_monorepo_approves_what_is_in_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = monorepo(tmp_path)
    target = root / "policies" / "envguard.yaml"
    assert init([str(root)], capsys) == (
        0, "", f"wrote {target}: 14 plugins approved; review it, then run `envguard check`\n",
    )
    policy = load_policy(target)
    assert dict(policy.approved) == {
        "anyio": ">=4.16,<5",
        # Declared without a pin and held by no record (payments' extra, the runner's Dockerfile).
        "faker": "*",
        "hypothesis": ">=6.139,<7",
        "pytest-asyncio": ">=0.23,<2",
        "pytest-benchmark": ">=5.3,<6",
        "pytest-cov": ">=4.1,<8",
        "pytest-html": ">=4.2,<5",
        "pytest-metadata": ">=3.1,<4",
        "pytest-mock": ">=3.17,<4",
        "pytest-randomly": ">=3.16,<4",
        "pytest-rerunfailures": "*",
        "pytest-sugar": ">=1.1,<2",
        "pytest-timeout": ">=2.4,<3",
        "pytest-xdist": ">=3.8,<4",
    }
    assert (policy.pytest_allowed, policy.unknown, dict(policy.denied), policy.also_plugins) == (
        ">=7.4,<10", "warning", {}, frozenset(),
    )
    assert (policy.exceptions, policy.drift_default) == ((), "same-major")
    assert [(r.packages, r.require_kind) for r in policy.drift_rules] == [
        (("pytest", "pytest-*"), "exact"),
        (("pip", "setuptools", "wheel"), "none"),
    ]
    text = target.read_text(encoding="utf-8")
    assert text.startswith("# envguard policy, written by `envguard init`")
    assert '    hypothesis: ">=6.139,<7"  # in use: 6.139.3, 6.170.17\n' in text
    assert '    pytest-cov: ">=4.1,<8"  # in use: 4.1.0, 5.0.0, 6.3.0, 7.1.0\n' in text


def test_check_with_the_starter_policy_passes_on_plugins(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = monorepo(tmp_path)
    assert init([str(root)], capsys)[0] == 0
    result = run_check([root], today=TODAY)
    assert result.policy_files == ("policies/envguard.yaml",)
    found = [f for f in result.findings if f.name in PLUGIN_RULES | {"pytest-version-not-allowed"}]
    # What a starter cannot approve: open ranges that files declare and no lock resolves (payments
    # has no lock; billing's is stale and misses pytest-timeout). Warnings, each saying so.
    assert {(f.service, f.package) for f in found} == {
        ("billing", "pytest-timeout"),
        ("payments", "pytest"),
        ("payments", "pytest-cov"),
        ("payments", "pytest-mock"),
        ("payments", "pytest-randomly"),
    }
    assert all(f.severity is Severity.WARNING for f in found)
    assert all("also admits versions outside" in f.message or "without a version" in f.message for f in found)
    assert result.errors == ()


def test_the_starter_policy_approves_plugins_loaded_only_by_configuration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add_service(tmp_path, "toolkit", FREEZE, extra={"pytest.ini": "[pytest]\naddopts = -p acme_wheel\n"})
    add_service(tmp_path, "orders", ORDERS_LOCK, extra={"pytest.ini": "[pytest]\naddopts = -p no:randomly\n"})
    assert init([str(tmp_path)], capsys)[0] == 0
    policy = load_policy(tmp_path / "policies" / "envguard.yaml")
    # acme-wheel has no version: any version; pytest-randomly is blocked with -p no:, so not in use.
    assert dict(policy.approved) == {
        "acme-wheel": "*",
        "hypothesis": ">=6.170,<7",
        "pytest-cov": ">=6.3,<8",
        "pytest-mock": ">=3.17,<4",
    }
    assert '    acme-wheel: "*"  # in use: ?\n' in (tmp_path / "policies" / "envguard.yaml").read_text(encoding="utf-8")
    strict = tmp_path / "policies" / "envguard.yaml"
    strict.write_text(strict.read_text(encoding="utf-8").replace("unknown: warning", "unknown: error"), encoding="utf-8")
    result = run_check([tmp_path], today=TODAY)
    assert ([f for f in result.findings if f.name in PLUGIN_RULES], result.errors) == ([], ())


def test_an_empty_workspace_gets_a_valid_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert init([str(tmp_path)], capsys)[0] == 0
    policy = load_policy(tmp_path / "policies" / "envguard.yaml")
    assert (dict(policy.approved), policy.pytest_allowed) == ({}, ">=8")


def test_starter_policy_text_loads(tmp_path: Path) -> None:
    text = starter_policy(Inventory(root=str(tmp_path), services=()), {})
    assert "  approved: {}\n" in text
    assert load_policy(write(tmp_path / "p.yaml", text)).approved == {}


# --- never overwrite without --force -----------------------------------------------------------


def test_init_never_overwrites_without_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    add_service(tmp_path, "orders", ORDERS_LOCK)
    target = write(tmp_path / "policies" / "envguard.yaml", "version: 1\n# hand-written\n")
    assert init([str(tmp_path)], capsys) == (2, "", f"envguard: {target} exists; use --force to overwrite it\n")
    assert target.read_text(encoding="utf-8") == "version: 1\n# hand-written\n"
    code, _, err = init([str(tmp_path), "--force"], capsys)
    assert (code, err) == (0, f"wrote {target}: 4 plugins approved; review it, then run `envguard check`\n")
    assert "pytest-randomly" in load_policy(target).approved


def test_force_replaces_a_policy_that_no_longer_loads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    add_service(tmp_path, "orders", ORDERS_LOCK)
    target = write(tmp_path / "policies" / "envguard.yaml", "version: 2\n")
    assert init([str(tmp_path), "--force"], capsys)[0] == 0
    assert load_policy(target).version == 1


def test_output_option_writes_elsewhere(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    add_service(tmp_path, "orders", ORDERS_LOCK)
    existing = write(tmp_path / "ci" / "policy.yaml", "version: 1\n")
    assert init([str(tmp_path), "--output", str(existing)], capsys)[0] == 2
    target = tmp_path / "ci" / "new" / "policy.yaml"
    assert init([str(tmp_path), "-o", str(target)], capsys)[0] == 0
    assert load_policy(target).approved.keys() == {"hypothesis", "pytest-cov", "pytest-mock", "pytest-randomly"}
    assert not (tmp_path / "policies").exists()


def test_init_refuses_a_workspace_it_cannot_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path / "services" / "broken" / "poetry.lock", "[[package]\n")
    code, out, err = init([str(tmp_path)], capsys)
    assert (code, out) == (2, "")
    assert err.startswith("services/broken/poetry.lock:")
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "policies").exists()
