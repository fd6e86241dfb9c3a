"""GitLab Code Quality: required fields, severities, unique and stable fingerprints."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from envguard.model import Location
from envguard.report import gitlab
from tests.report import BASELINED, DENIED, DRIFT, UNAPPROVED, UNUSED, only, sample_result

SEVERITIES = {"info", "minor", "major", "critical", "blocker"}


def issues(result: Any) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(gitlab.render_check(result))
    return data


def test_every_issue_has_the_required_fields() -> None:
    data = issues(sample_result())
    assert isinstance(data, list) and data
    for issue in data:
        assert isinstance(issue["description"], str) and issue["description"]
        assert isinstance(issue["check_name"], str)
        assert isinstance(issue["fingerprint"], str)
        assert issue["severity"] in SEVERITIES
        assert isinstance(issue["location"]["path"], str) and issue["location"]["path"]
        assert isinstance(issue["location"]["lines"]["begin"], int) and issue["location"]["lines"]["begin"] >= 1


def test_no_bom_and_a_json_array() -> None:
    text = gitlab.render_check(only())
    assert text == "[]\n"


def test_issues_mapping_and_order() -> None:
    data = issues(sample_result())
    summary = [(i["check_name"], i["severity"], i["location"]["path"], i["location"]["lines"]["begin"]) for i in data]
    assert summary == [
        ("input-error", "critical", "services/orders/pyproject.toml", 3),
        # one issue per file the drift finding points at
        ("version-drift", "major", "services/billing/uv.lock", 579),
        ("version-drift", "major", "services/orders/poetry.lock", 1039),
        ("unapproved-plugin", "minor", "services/orders/odd,name:1.lock", 7),
        # the suppressed denied-package finding is omitted; the baselined one is info
        ("plugin-version-not-allowed", "info", "services/billing/uv.lock", 300),
        ("exception-unused", "minor", "policies/plugins.yaml", 20),
        ("input-warning", "info", "policies/plugins.yaml", 2),
    ]
    assert data[1]["description"] == f"EG201 version-drift: {DRIFT.message}"


def test_suppressed_findings_are_omitted() -> None:
    assert issues(only(DENIED)) == []


def test_fingerprints_unique_and_stable_across_versions_and_lines() -> None:
    data = issues(sample_result())
    prints = [i["fingerprint"] for i in data]
    assert len(set(prints)) == len(prints)
    moved = dataclasses.replace(BASELINED, version="4.2.0", locations=(Location("services/billing/uv.lock", 9),))
    assert issues(only(BASELINED))[0]["fingerprint"] == issues(only(moved))[0]["fingerprint"]
    # a different file is a different issue
    elsewhere = dataclasses.replace(BASELINED, locations=(Location("services/billing/requirements.txt", 300),))
    assert issues(only(BASELINED))[0]["fingerprint"] != issues(only(elsewhere))[0]["fingerprint"]


def test_same_rule_service_package_and_file_still_unique() -> None:
    # Two versions of one unapproved plugin in one lock: two findings with one baseline fingerprint.
    other = dataclasses.replace(UNAPPROVED, version="2.0", locations=(Location(UNAPPROVED.locations[0].path, 90),))
    first, second = issues(only(UNAPPROVED, other))
    assert first["fingerprint"] != second["fingerprint"]
    assert issues(only(UNAPPROVED, other)) == [first, second]  # deterministic


def test_one_issue_per_file_at_its_first_line() -> None:
    twice = dataclasses.replace(
        UNUSED, locations=(Location("a/uv.lock", 5), Location("a/uv.lock", 9), Location("b/uv.lock", 2))
    )
    assert [(i["location"]["path"], i["location"]["lines"]["begin"]) for i in issues(only(twice))] == [
        ("a/uv.lock", 5),
        ("b/uv.lock", 2),
    ]


def test_finding_without_location_points_at_the_service_record() -> None:
    bare = dataclasses.replace(UNAPPROVED, locations=())
    assert issues(only(bare))[0]["location"] == {"path": "services/orders/poetry.lock", "lines": {"begin": 1}}
    nowhere = dataclasses.replace(UNUSED, locations=())
    assert issues(only(nowhere))[0]["location"]["path"] == "."
