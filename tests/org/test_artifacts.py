"""Inventory artifacts read back: one repository's artifact says what checking it says, and three
repositories' artifacts say what one monorepo holding all three says."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from envguard.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "monorepo"
POLICY = Path(__file__).resolve().parents[2] / "policies"
REPOSITORIES = {
    "payments-repo": ("billing", "payments", "orders"),
    "search-repo": ("search", "reports", "analytics"),
    "ops-repo": ("gateway", "inventory", "notifications", "runner"),
}
TODAY = "2026-12-07"


@pytest.fixture(scope="module")
def organisation(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A monorepo `mono/` whose top-level directories are three repositories, and each one's artifact."""
    root = tmp_path_factory.mktemp("org")
    for repository, services in REPOSITORIES.items():
        for service in services:
            shutil.copytree(EXAMPLE / "services" / service, root / "mono" / repository / "services" / service)
        assert main(["inventory", str(root / "mono" / repository), "--format", "json", "--no-cache",
                     "-o", str(root / f"{repository}.json")]) == 0
    return root


def _check(*arguments: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any], str]:
    code = main(["check", *arguments, "--policy", str(POLICY), "--format", "json", "--no-cache", "--today", TODAY])
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


def _unqualified(text: str) -> str:
    return re.sub(r"\b(?:payments|search|ops)-repo/(?!services/)", "", text)


def _comparable(finding: dict[str, Any], qualified: bool) -> tuple[Any, ...]:
    service, message = finding["service"], finding["message"]
    if qualified:
        service, message = _unqualified(service), _unqualified(message)
    # Drift messages list the services in name order, which qualification changes.
    return (
        finding["rule"],
        tuple(sorted(service.split(", "))),
        finding["package"],
        finding["version"],
        tuple((loc["path"], loc["line"]) for loc in finding["locations"]),
        tuple(sorted(re.split(r"[;:.] ", message))),
        finding["suppressed"],
    )


def test_three_repositories_give_the_findings_of_the_monorepo_holding_them(
    organisation: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    artifacts = [str(organisation / f"{name}.json") for name in REPOSITORIES]
    code, org, _ = _check(*artifacts, capsys=capsys)
    mono_code, mono, _ = _check(str(organisation / "mono"), capsys=capsys)
    assert code == mono_code == 1
    assert len(org["findings"]) == len(mono["findings"]) > 10
    assert sorted(_comparable(f, True) for f in org["findings"]) == sorted(_comparable(f, False) for f in mono["findings"])
    assert {f["service"].split("/")[0] for f in org["findings"] if "," not in f["service"]} <= set(REPOSITORIES)
    # Plugin findings of the pytest configuration travel in the artifact (search's pytest.ini).
    assert any(f["rule"].startswith("EG1") for f in org["findings"])


def test_artifacts_in_any_order_give_the_same_bytes(organisation: Path, capsys: pytest.CaptureFixture[str]) -> None:
    artifacts = [str(organisation / f"{name}.json") for name in REPOSITORIES]
    first = _check(*artifacts, capsys=capsys)
    second = _check(*reversed(artifacts), capsys=capsys)
    assert first == second


def test_one_artifact_says_what_checking_its_repository_says(
    organisation: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repository = organisation / "mono" / "payments-repo"
    from_artifact = _check(str(organisation / "payments-repo.json"), capsys=capsys)
    from_checkout = _check(str(repository), capsys=capsys)
    assert from_artifact == from_checkout


def test_the_artifact_carries_the_pytest_configuration(organisation: Path) -> None:
    document = json.loads((organisation / "search-repo.json").read_text(encoding="utf-8"))
    search = next(s for s in document["services"] if s["name"] == "search")
    assert search["pytest"]["path"] == "services/search/pytest.ini"


def test_a_selector_without_a_repository_matches_that_service_in_every_repository(
    organisation: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    artifacts = [str(organisation / f"{name}.json") for name in REPOSITORIES]
    _, before, _ = _check(*artifacts, capsys=capsys)
    target = next(f for f in before["findings"] if f["rule"] == "EG101")
    local = target["service"].split("/", 1)[1]
    for service, expected in ((local, True), (target["service"], True), (f"other-repo/{local}", False)):
        policy = tmp_path / f"policy-{expected}-{service.count('/')}.yaml"
        policy.write_text(
            f"version: 1\nextends: {POLICY / 'default.yaml'}\nexceptions:\n"
            f"  - package: {target['package']}\n    services: [{service!r}]\n"
            f"    reason: migrating\n    expires: 2027-01-31\n",
            encoding="utf-8",
        )
        main(["check", *artifacts, "--policy", str(policy), "--format", "json", "--no-cache", "--today", TODAY])
        after = json.loads(capsys.readouterr().out)
        same = next(f for f in after["findings"] if f["rule"] == "EG101" and f["package"] == target["package"]
                    and f["service"] == target["service"])
        assert same["suppressed"] is expected, service


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"schema": "envguard.inventory/2", "services": []}', "unsupported inventory schema 'envguard.inventory/2'"),
        ('{"schema": "envguard.inventory/1", "services": [{"name": "x", "pa', "invalid JSON"),
        ('{"schema": "envguard.inventory/1", "services": [{"name": "x", "path": ".", "packages": [{"name": "a"}]}]}',
         "services[0].packages[0]: missing key 'version'"),
        ('{"schema": "envguard.inventory/1", "services": [{"name": "x", "path": ".", "packages": [{"name": "a", '
         '"version": "1", "kind": "wheel", "groups": [], "marker": null, "path": "r.txt", "line": 1}]}]}',
         "services[0].packages[0]: kind: unknown kind 'wheel'"),
        ('{"schema": "envguard.inventory/1", "repository": {"name": "a/b"}, "services": []}', "repository.name"),
        ('{"schema": "envguard.inventory/1", "services": [{"name": "x", "path": ".", "packages": [{"name": "a", '
         '"version": "1", "kind": "registry", "groups": [], "marker": null, "path": "r.txt", "line": 1, '
         '"hashed": "yes"}]}]}',
         "services[0].packages[0]: hashed: unexpected a string"),
        ('{"schema": "envguard.inventory/1", "services": [{"name": "x", "path": ".", "packages": [{"name": "a", '
         '"version": "1", "kind": "registry", "groups": [], "marker": null, "path": "r.txt", "line": 1, '
         '"source": 7}]}]}',
         "services[0].packages[0]: source: unexpected a number"),
    ],
)
def test_a_bad_artifact_is_one_line_and_the_others_are_still_checked(
    organisation: Path, tmp_path: Path, content: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "broken.json"
    bad.write_text(content, encoding="utf-8")
    code, report, err = _check(str(organisation / "payments-repo.json"), str(bad), capsys=capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "broken.json:" in lines[0], err
    assert "Traceback" not in err
    assert any(f["service"].startswith("payments-repo/") for f in report["findings"])


def test_two_artifacts_claiming_one_repository(organisation: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "zz-copy.json"
    document = json.loads((organisation / "payments-repo.json").read_text(encoding="utf-8"))
    document["repository"] = {"name": "payments-repo", "commit": None, "url": None}
    copy.write_text(json.dumps(document), encoding="utf-8")
    code, report, err = _check(str(organisation / "payments-repo.json"), str(copy), str(organisation / "ops-repo.json"),
                               capsys=capsys)
    assert code == 2
    assert err.count("\n") == 1 and "zz-copy.json:1: repository 'payments-repo' is already described by" in err
    assert {f["service"].split("/")[0] for f in report["findings"] if "," not in f["service"]} == {
        "payments-repo", "ops-repo"
    }


def test_artifacts_and_workspaces_are_not_mixed(organisation: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", str(organisation / "payments-repo.json"), str(organisation / "mono" / "ops-repo")])
    assert code == 2
    assert "give either workspace paths or inventory artifacts" in capsys.readouterr().err


def test_reports_summarise_each_repository(organisation: Path, capsys: pytest.CaptureFixture[str]) -> None:
    artifacts = [str(organisation / f"{name}.json") for name in REPOSITORIES]
    _, report, _ = _check(*artifacts, capsys=capsys)
    rows = {row["name"]: row for row in report["repositories"]}
    assert sorted(rows) == sorted(REPOSITORIES)
    assert {name: row["services"] for name, row in rows.items()} == {n: len(s) for n, s in REPOSITORIES.items()}
    active = [f for f in report["findings"] if not f["suppressed"]]
    assert sum(row["errors"] + row["warnings"] for row in rows.values()) == len(active)
    for name, row in rows.items():
        taking_part = [r for r in report["drift"]["rows"] if any(s.startswith(f"{name}/") for s in r["versions"])]
        assert row["drift_rows"] == len(taking_part)
    for output_format, heading in (("text", "repositories"), ("markdown", "#### Repositories")):
        main(["check", *artifacts, "--policy", str(POLICY), "--format", output_format, "--no-cache", "--today", TODAY])
        assert heading in capsys.readouterr().out.splitlines()
    # One repository: no organisation summary, the report of that repository alone.
    _, single, _ = _check(artifacts[0], capsys=capsys)
    assert single["repositories"] == []


def test_diff_reads_a_one_service_artifact_as_that_service(
    organisation: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sides = []
    for service in ("search", "gateway"):
        repository = tmp_path / service
        shutil.copytree(EXAMPLE / "services" / service, repository)
        artifact = tmp_path / f"{service}.json"
        assert main(["inventory", str(repository), "--format", "json", "--no-cache", "-o", str(artifact)]) == 0
        sides.append((repository, artifact))
    (search, search_artifact), (gateway, gateway_artifact) = sides
    capsys.readouterr()
    main(["diff", str(search), str(gateway), "--format", "json"])
    from_checkouts = json.loads(capsys.readouterr().out)
    main(["diff", str(search_artifact), str(gateway_artifact), "--format", "json"])
    from_artifacts = json.loads(capsys.readouterr().out)
    assert from_artifacts["changes"] == from_checkouts["changes"] and from_artifacts["changes"]
    assert main(["diff", str(organisation / "payments-repo.json"), str(search_artifact)]) == 2
    assert "holds several (billing, orders, payments)" in capsys.readouterr().err


def test_sources_and_hashes_travel_in_the_artifact_and_older_artifacts_still_read(tmp_path: Path) -> None:
    from envguard.inventory import load_inventory
    from envguard.org.artifacts import read_artifact

    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "uv" / "sources"
    shutil.copytree(fixture, tmp_path / "repo")
    artifact = tmp_path / "repo.json"
    assert main(["inventory", str(tmp_path / "repo"), "--format", "json", "--no-cache", "-o", str(artifact)]) == 0
    (service,) = read_artifact(artifact, "repo.json").services
    (loaded,) = load_inventory([tmp_path / "repo"]).services
    assert service.packages == loaded.packages
    assert {p.name: (p.source, p.hashed) for p in service.packages}["six"] == ("https://pypi.internal.example.com/simple", True)
    document = json.loads(artifact.read_text(encoding="utf-8"))
    for package in document["services"][0]["packages"]:
        del package["source"], package["hashed"]
    for declaration in document["services"][0]["declarations"]:
        del declaration["source"]
    artifact.write_text(json.dumps(document), encoding="utf-8")
    (older,) = read_artifact(artifact, "repo.json").services
    assert {(p.source, p.hashed) for p in older.packages} == {(None, None)}
    assert [p.name for p in older.packages] == [p.name for p in loaded.packages]
