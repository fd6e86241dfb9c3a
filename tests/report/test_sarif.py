"""SARIF 2.1.0: schema-valid, every catalog rule with its help, stable fingerprints, suppressions."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from envguard import __version__
from envguard.baseline import fingerprint
from envguard.model import Diagnostic, Location
from envguard.report import sarif
from envguard.rules.catalog import RULES
from tests.report import BASELINED, DENIED, DRIFT, INPUT_ERROR, UNAPPROVED, UNUSED, WAIVER, only, sample_result

# The official schema lives beside the repository (/work/shared/schemas), never inside it.
SCHEMA = Path(__file__).resolve().parents[2] / ".." / "shared" / "schemas" / "sarif-schema-2.1.0.json"


def document(result: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(sarif.render_check(result))
    return data


def run_of(result: Any) -> dict[str, Any]:
    run: dict[str, Any] = document(result)["runs"][0]
    return run


def test_valid_against_the_official_schema() -> None:
    if not SCHEMA.is_file():
        pytest.skip(f"SARIF schema not found at {SCHEMA}")
    import jsonschema

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator.check_schema(schema)
    validator = jsonschema.Draft4Validator(schema)
    for result in (sample_result(), only(), only(DENIED)):
        errors = sorted(validator.iter_errors(document(result)), key=lambda e: list(e.path))
        assert errors == [], [f"{list(e.path)}: {e.message}" for e in errors]


def test_top_level() -> None:
    data = document(sample_result())
    assert data["version"] == "2.1.0"
    assert data["$schema"].endswith("sarif-schema-2.1.0.json")
    (run,) = data["runs"]
    assert run["tool"]["driver"]["name"] == "envguard"
    assert run["tool"]["driver"]["version"] == __version__
    assert "%SRCROOT%" in run["originalUriBaseIds"]


def test_every_catalog_rule_in_catalog_order_with_help() -> None:
    rules = run_of(only())["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [rule.code for rule in RULES]
    for descriptor, rule in zip(rules, RULES):
        assert descriptor["name"] == rule.name
        assert descriptor["shortDescription"]["text"] == rule.summary
        assert rule.why in descriptor["fullDescription"]["text"]
        assert rule.fix in descriptor["help"]["text"]
        assert rule.fix in descriptor["help"]["markdown"]
        assert descriptor["defaultConfiguration"]["level"] == rule.severity.value


def test_result_fields_and_levels() -> None:
    results = run_of(sample_result())["results"]
    assert [r["ruleId"] for r in results] == ["EG201", "EG101", "EG103", "EG102", "EG303"]
    assert [r["level"] for r in results] == ["error", "warning", "error", "note", "warning"]
    codes = [rule.code for rule in RULES]
    assert all(codes[r["ruleIndex"]] == r["ruleId"] for r in results)
    drift = results[0]
    assert drift["message"]["text"].startswith(DRIFT.message + "\nHint: billing: uv lock")
    assert drift["partialFingerprints"] == {"envguard/v1": fingerprint(DRIFT)}
    assert drift["properties"]["service"] == "billing, orders"


def test_first_location_then_related_locations() -> None:
    (drift,) = run_of(only(DRIFT))["results"]
    assert drift["locations"] == [
        {
            "physicalLocation": {
                "artifactLocation": {"uri": "services/billing/uv.lock", "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": 579},
            }
        }
    ]
    (related,) = drift["relatedLocations"]
    assert related["id"] == 1
    assert related["physicalLocation"]["artifactLocation"]["uri"] == "services/orders/poetry.lock"
    assert related["physicalLocation"]["region"] == {"startLine": 1039}


def test_uris_are_percent_encoded_and_absolute_paths_become_file_uris() -> None:
    assert sarif.artifact_location("services/orders/odd,name:1.lock") == {
        "uri": "services/orders/odd%2Cname%3A1.lock",
        "uriBaseId": "%SRCROOT%",
    }
    assert sarif.artifact_location("a dir/uv.lock") == {"uri": "a%20dir/uv.lock", "uriBaseId": "%SRCROOT%"}
    assert sarif.artifact_location("/venv/lib/x-1.0.dist-info/METADATA") == {
        "uri": "file:///venv/lib/x-1.0.dist-info/METADATA"
    }
    assert sarif.artifact_location("C:/venv/Lib/METADATA") == {"uri": "file:///C:/venv/Lib/METADATA"}
    assert sarif.artifact_location("") is None
    # No line: the region starts at line 1 (SARIF lines are 1-based).
    assert sarif.physical_location(Location("uv.lock", None)) == {
        "artifactLocation": {"uri": "uv.lock", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 1},
    }


def test_suppressed_finding_carries_an_external_suppression() -> None:
    (result,) = run_of(only(DENIED))["results"]
    assert result["level"] == "error"
    (suppression,) = result["suppressions"]
    assert suppression["kind"] == "external"
    assert suppression["status"] == "accepted"
    assert suppression["justification"] == WAIVER.reason
    assert suppression["location"]["physicalLocation"]["artifactLocation"]["uri"] == "policies/plugins.yaml"
    assert suppression["location"]["physicalLocation"]["region"] == {"startLine": 12}
    assert suppression["properties"] == {"expires": "2027-01-31", "owner": "team-orders"}


def test_baseline_state_on_all_results_or_none() -> None:
    assert all("baselineState" not in r for r in run_of(only(DRIFT, UNAPPROVED))["results"])
    states = [r["baselineState"] for r in run_of(only(DRIFT, BASELINED))["results"]]
    assert states == ["new", "unchanged"]


def test_fingerprints_ignore_version_and_line() -> None:
    moved = dataclasses.replace(BASELINED, version="4.2.0", locations=(Location("services/billing/uv.lock", 1),))
    first = run_of(only(BASELINED))["results"][0]["partialFingerprints"]
    second = run_of(only(moved))["results"][0]["partialFingerprints"]
    assert first == second


def test_invocation_reports_input_problems() -> None:
    (invocation,) = run_of(sample_result())["invocations"]
    assert invocation["executionSuccessful"] is False
    error, warning = invocation["toolExecutionNotifications"]
    assert error["level"] == "error"
    assert error["message"]["text"] == INPUT_ERROR.message
    assert error["locations"][0]["physicalLocation"]["region"] == {"startLine": 3}
    assert warning["level"] == "warning"
    clean = run_of(only(UNUSED))["invocations"]
    assert clean == [{"executionSuccessful": True}]


def test_notification_without_a_file() -> None:
    item = sarif.notification(Diagnostic("", None, "no services found"), "error")
    assert item == {"level": "error", "message": {"text": "no services found"}}


def test_deterministic() -> None:
    assert sarif.render_check(sample_result()) == sarif.render_check(sample_result())
    text = sarif.render_check(sample_result())
    assert "Utc" not in text  # no timestamps
    assert "/nowhere/workspace" not in text  # the workspace's absolute path stays out
