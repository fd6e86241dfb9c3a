"""JUnit XML for Jenkins (junit plugin) and GitLab (`artifacts: reports: junit: envguard.xml`).

    <testsuites name="envguard" tests= failures= errors= skipped=>
      <testsuite name="<service>" ...>
        <testcase name="EG201 version-drift" classname="envguard.<service>" file="<service's record>">
          <failure message="..." type="version-drift">details</failure>

Decisions:

* One <testsuite> per service, one <testcase> per service and applicable rule, passing ones
  included, so that GitLab shows "resolved" when a failure goes away. The rules that apply are
  those of `envguard check` (EG1xx, EG2xx, EG3xx) or, for an `envguard verify` result (its service
  is read from an environment or a snapshot), those of verify (EG101-EG104, EG3xx, EG4xx); a rule
  that has a finding always gets its test case.
* A finding belongs to every service its `service` field names (a drift finding names all its
  outlier services, "billing, gateway"); one that names no service of the inventory ("every
  service", a glob of a policy exception) goes to a last suite, "(workspace)", which always holds
  the exception rules (EG301-EG303).
* Active error findings are <failure type="<rule name>">; the message attribute is the finding's
  message (or "N findings: ..." for several), the text lists each finding with its locations and
  hint. Warnings do not fail a test case (the report cannot know --fail-on): they, suppressed and
  baselined findings are listed in the test case's <system-out>.
* Input errors are an extra test case "input" with an <error> in the suite of the service whose
  directory holds the file (else "(workspace)"); input warnings go to that suite's <system-out>.
* Counts (tests, failures, errors, skipped) are on every suite and on <testsuites>; nothing is
  skipped. No timings: output is deterministic.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from envguard.model import Diagnostic, Finding, Inventory, Severity
from envguard.rules.catalog import RULES, Rule

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

    from envguard.check import CheckResult

WORKSPACE = "(workspace)"
_CHECK_FAMILIES = ("EG1", "EG2", "EG3")
_VERIFY_CODES = ("EG101", "EG102", "EG103", "EG104")
_VERIFY_FORMATS = frozenset({"environment", "snapshot"})
# Characters XML 1.0 cannot hold, even escaped.
_INVALID_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass
class Suite:
    name: str
    file: str | None = None
    findings: list[Finding] = field(default_factory=list)
    errors: list[Diagnostic] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)


def render_check(result: CheckResult) -> str:
    import xml.etree.ElementTree as ET

    root = testsuites_element(result)
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def is_verify(inventory: Inventory) -> bool:
    return any(source.format in _VERIFY_FORMATS for service in inventory.services for source in service.sources)


def applicable_rules(result: CheckResult) -> list[Rule]:
    """Catalog rules the command behind `result` evaluates, plus any rule that has a finding."""
    if is_verify(result.inventory):
        wanted = {r.code for r in RULES if r.code in _VERIFY_CODES or r.code.startswith(("EG3", "EG4"))}
    else:
        wanted = {r.code for r in RULES if r.code.startswith(_CHECK_FAMILIES)}
    wanted.update(f.rule for f in result.findings)
    return [rule for rule in RULES if rule.code in wanted]


def owners(finding: Finding, services: Iterable[str]) -> list[str]:
    """The services a finding belongs to: the names in its `service` field that are services."""
    named = {part.strip() for part in finding.service.split(",")}
    return [name for name in services if name in named] or [WORKSPACE]


def diagnostic_owner(diagnostic: Diagnostic, paths: dict[str, str]) -> str:
    """The service whose directory holds the file (longest match), else the workspace."""
    matches = [
        (len(path), name)
        for name, path in paths.items()
        if path in ("", ".") or diagnostic.path == path or diagnostic.path.startswith(path.rstrip("/") + "/")
    ]
    return max(matches)[1] if matches else WORKSPACE


def suites(result: CheckResult) -> list[Suite]:
    services = result.inventory.services
    by_name = {
        s.name: Suite(s.name, s.sources[0].path if s.sources else None) for s in sorted(services, key=lambda s: s.name)
    }
    by_name[WORKSPACE] = Suite(WORKSPACE)
    for finding in result.findings:
        for owner in owners(finding, by_name):
            by_name[owner].findings.append(finding)
    paths = {s.name: s.path for s in services}
    for error in result.errors:
        by_name[diagnostic_owner(error, paths)].errors.append(error)
    for warning in result.warnings:
        by_name[diagnostic_owner(warning, paths)].warnings.append(warning)
    return list(by_name.values())


def suite_rules(suite: Suite, rules: Sequence[Rule]) -> list[Rule]:
    """Services get every applicable rule; the workspace suite the exception rules and rules with findings."""
    if suite.name != WORKSPACE:
        return list(rules)
    reported = {f.rule for f in suite.findings}
    return [rule for rule in rules if rule.code.startswith("EG3") or rule.code in reported]


def failures(findings: Sequence[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity is Severity.ERROR and not f.suppressed and not f.baselined]


def finding_details(finding: Finding) -> str:
    state = "suppressed" if finding.suppressed else "baselined" if finding.baselined else finding.severity.value
    where = ", ".join(f"{loc.path}:{loc.line or 1}" for loc in finding.locations) or "-"
    lines = [f"{state}: {finding.rule} {finding.name}: {finding.message}", f"  at {where}"]
    if finding.exception is not None:
        waiver = finding.exception
        lines.append(f"  exception: {waiver.reason} (expires {waiver.expires})")
    elif finding.hint:
        first, *rest = finding.hint.split("\n")
        lines.append(f"  hint: {first}")
        lines.extend(f"        {line}" for line in rest)
    return "\n".join(lines)


def failure_message(findings: Sequence[Finding]) -> str:
    if len(findings) == 1:
        return findings[0].message
    return f"{len(findings)} findings: " + "; ".join(f.package or f.message for f in findings)


def xml_text(text: str) -> str:
    return _INVALID_XML.sub("\ufffd", text)


def classname(service: str) -> str:
    # Jenkins splits classname at its last dot: package "envguard", class "<service>".
    return "envguard." + service.replace(".", "_")


def testcase_element(suite: Suite, rule: Rule) -> Element:
    import xml.etree.ElementTree as ET

    case = ET.Element("testcase", {"name": f"{rule.code} {rule.name}", "classname": classname(suite.name)})
    if suite.file:
        case.set("file", suite.file)
    mine = [f for f in suite.findings if f.rule == rule.code]
    failed = failures(mine)
    if failed:
        failure = ET.SubElement(case, "failure", {"message": xml_text(failure_message(failed)), "type": rule.name})
        failure.text = xml_text("\n\n".join(finding_details(f) for f in failed))
    failed_ids = {id(f) for f in failed}
    others = [f for f in mine if id(f) not in failed_ids]
    if others:
        ET.SubElement(case, "system-out").text = xml_text("\n\n".join(finding_details(f) for f in others))
    return case


def input_element(suite: Suite) -> Element:
    import xml.etree.ElementTree as ET

    case = ET.Element("testcase", {"name": "input", "classname": classname(suite.name)})
    first = suite.errors[0]
    error = ET.SubElement(case, "error", {"message": xml_text(first.message), "type": "input-error"})
    error.text = xml_text("\n".join(str(e) for e in suite.errors))
    return case


def suite_element(suite: Suite, rules: Sequence[Rule]) -> Element:
    import xml.etree.ElementTree as ET

    cases = [testcase_element(suite, rule) for rule in suite_rules(suite, rules)]
    if suite.errors:
        cases.append(input_element(suite))
    element = ET.Element("testsuite", {"name": suite.name, **counts(cases)})
    element.extend(cases)
    if suite.warnings:
        ET.SubElement(element, "system-out").text = xml_text("\n".join(f"warning: {w}" for w in suite.warnings))
    return element


def counts(cases: Sequence[Element]) -> dict[str, str]:
    return {
        "tests": str(len(cases)),
        "failures": str(sum(1 for c in cases if c.find("failure") is not None)),
        "errors": str(sum(1 for c in cases if c.find("error") is not None)),
        "skipped": str(sum(1 for c in cases if c.find("skipped") is not None)),
    }


def testsuites_element(result: CheckResult) -> Element:
    import xml.etree.ElementTree as ET

    rules = applicable_rules(result)
    elements = [suite_element(s, rules) for s in suites(result)]
    elements = [e for e in elements if len(e)]  # a workspace suite with nothing to hold
    totals = {
        key: str(sum(int(e.get(key, "0")) for e in elements)) for key in ("tests", "failures", "errors", "skipped")
    }
    root = ET.Element("testsuites", {"name": "envguard", **totals})
    root.extend(elements)
    return root
