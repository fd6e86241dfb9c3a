"""JUnit XML: parsed back with ElementTree; suites, test cases and counts."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from typing import Any

from envguard.model import Diagnostic, Source
from envguard.report import junit
from envguard.rules.catalog import RULES
from tests.report import BASELINED, DENIED, DRIFT, INPUT_ERROR, UNAPPROVED, UNUSED, only, sample_result

CHECK_RULES = [f"{r.code} {r.name}" for r in RULES if r.code[:3] in ("EG1", "EG2", "EG3")]


def parse(result: Any) -> ET.Element:
    text = junit.render_check(result)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites ')
    return ET.fromstring(text.encode("utf-8"))


def suite(root: ET.Element, name: str) -> ET.Element:
    (found,) = [s for s in root.findall("testsuite") if s.get("name") == name]
    return found


def case(root: ET.Element, suite_name: str, rule: str) -> ET.Element:
    (found,) = [c for c in suite(root, suite_name).findall("testcase") if c.get("name", "").startswith(rule + " ")]
    return found


def assert_counts(root: ET.Element) -> None:
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for testsuite in root.findall("testsuite"):
        cases = testsuite.findall("testcase")
        expected = {
            "tests": len(cases),
            "failures": sum(1 for c in cases if c.find("failure") is not None),
            "errors": sum(1 for c in cases if c.find("error") is not None),
            "skipped": sum(1 for c in cases if c.find("skipped") is not None),
        }
        assert {key: int(testsuite.get(key, "-1")) for key in expected} == expected
        for key, value in expected.items():
            totals[key] += value
    assert {key: int(root.get(key, "-1")) for key in totals} == totals


def test_suites_per_service_plus_workspace_and_counts() -> None:
    root = parse(sample_result())
    assert root.tag == "testsuites" and root.get("name") == "envguard"
    assert [s.get("name") for s in root.findall("testsuite")] == ["billing", "orders", "(workspace)"]
    assert_counts(root)
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == ("26", "2", "1", "0")  # 11 + 11 + input + 3 exception rules


def test_every_check_rule_is_a_test_case_passing_ones_included() -> None:
    root = parse(only())
    billing = suite(root, "billing")
    assert [c.get("name") for c in billing.findall("testcase")] == CHECK_RULES
    assert all(c.get("classname") == "envguard.billing" for c in billing.findall("testcase"))
    assert all(c.get("file") == "services/billing/uv.lock" for c in billing.findall("testcase"))
    assert [c.get("name") for c in suite(root, "(workspace)").findall("testcase")] == CHECK_RULES[-3:]
    assert root.get("failures") == "0"
    assert_counts(root)


def test_drift_finding_fails_each_named_service() -> None:
    root = parse(only(DRIFT))
    for name in ("billing", "orders"):
        failure = case(root, name, "EG201").find("failure")
        assert failure is not None
        assert failure.get("type") == "version-drift"
        assert failure.get("message") == DRIFT.message
        assert failure.text is not None
        assert "at services/billing/uv.lock:579, services/orders/poetry.lock:1039" in failure.text
        assert "hint: billing: uv lock --upgrade-package pytest==8.4.2\n        orders:" in failure.text
    assert_counts(root)


def test_warnings_suppressed_and_baselined_pass_with_system_out() -> None:
    root = parse(only(UNAPPROVED, DENIED, BASELINED))
    assert root.get("failures") == "0"
    warned = case(root, "orders", "EG101")
    assert warned.find("failure") is None
    out = warned.findtext("system-out")
    # CR LF survives as character references; the parsed text keeps the line break
    assert out is not None and out.startswith("warning: EG101 unapproved-plugin: 100% odd: a, b")
    suppressed = case(root, "orders", "EG103").findtext("system-out")
    assert suppressed is not None and "exception: migrating off it | TICKET-123 (expires 2027-01-31)" in suppressed
    baselined = case(root, "billing", "EG102").findtext("system-out")
    assert baselined is not None and baselined.startswith("baselined: EG102")


def test_several_failures_in_one_case() -> None:
    other = dataclasses.replace(DRIFT, package="pytest-cov", message="pytest-cov drifts")
    failure = case(parse(only(DRIFT, other)), "orders", "EG201").find("failure")
    assert failure is not None
    assert failure.get("message") == "2 findings: pytest; pytest-cov"


def test_workspace_findings_and_input_errors() -> None:
    root = parse(sample_result())
    assert case(root, "(workspace)", "EG303").findtext("system-out", "").startswith("warning: EG303")
    (input_case,) = [c for c in suite(root, "orders").findall("testcase") if c.get("name") == "input"]
    error = input_case.find("error")
    assert error is not None and error.get("type") == "input-error"
    assert error.get("message") == INPUT_ERROR.message
    # the input warning is in policies/, outside every service
    assert suite(root, "(workspace)").findtext("system-out") == "warning: policies/plugins.yaml:2: unknown key 'extra'"


def test_workspace_error_owner() -> None:
    paths = {"billing": "services/billing", "bill": "services/bill"}
    assert junit.diagnostic_owner(Diagnostic("services/billing/uv.lock", 1, "x"), paths) == "billing"
    assert junit.diagnostic_owner(Diagnostic("services/bill/uv.lock", 1, "x"), paths) == "bill"
    assert junit.diagnostic_owner(Diagnostic("policy.yaml", 1, "x"), paths) == junit.WORKSPACE


def test_owners() -> None:
    services = ["billing", "orders"]
    assert junit.owners(DRIFT, services) == ["billing", "orders"]
    assert junit.owners(UNUSED, services) == [junit.WORKSPACE]


def test_verify_results_get_verify_rules() -> None:
    result = only()
    service = result.inventory.services[0]
    env = dataclasses.replace(service, sources=service.sources + (Source("/usr/bin/python3", "environment"),))
    verify = dataclasses.replace(result, inventory=dataclasses.replace(result.inventory, services=(env,)))
    codes = [rule.code for rule in junit.applicable_rules(verify)]
    assert codes == ["EG101", "EG102", "EG103", "EG104", "EG401", "EG402", "EG403", "EG404", "EG405", "EG406",
                     "EG301", "EG302", "EG303"]


def test_invalid_xml_characters_replaced_and_attribute_newlines_kept() -> None:
    odd = dataclasses.replace(DRIFT, message="bad \x1b[31m char\nand a line & <tag>")
    root = parse(only(odd))
    failure = case(root, "billing", "EG201").find("failure")
    assert failure is not None
    assert failure.get("message") == "bad \ufffd[31m char\nand a line & <tag>"


def test_deterministic() -> None:
    assert junit.render_check(sample_result()) == junit.render_check(sample_result())
