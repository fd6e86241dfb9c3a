"""GitHub workflow commands: escaping, one annotation per active finding, a final summary notice."""

from __future__ import annotations

import dataclasses

import pytest

from envguard.model import Diagnostic, Location
from envguard.report import github
from tests.report import BASELINED, DENIED, DRIFT, UNAPPROVED, only, sample_result


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("plain text", "plain text"),
        ("100%", "100%25"),
        ("%0A is not a newline", "%250A is not a newline"),
        ("a\nb", "a%0Ab"),
        ("a\r\nb", "a%0D%0Ab"),
        ("a: b, c", "a: b, c"),  # : and , are fine in the message
        ("::error::injected", "::error::injected"),
    ],
)
def test_escape_data(raw: str, escaped: str) -> None:
    assert github.escape_data(raw) == escaped


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("services/a/uv.lock", "services/a/uv.lock"),
        ("a: b, c", "a%3A b%2C c"),
        ("50%,:", "50%25%2C%3A"),
        ("line\r\nbreak", "line%0D%0Abreak"),
        ("envguard (EG101 unapproved-plugin)", "envguard (EG101 unapproved-plugin)"),
    ],
)
def test_escape_property(raw: str, escaped: str) -> None:
    assert github.escape_property(raw) == escaped


def test_command() -> None:
    assert github.command("notice", [], "hi") == "::notice::hi"
    assert github.command("error", [("file", "a,b.txt"), ("line", "3")], "x\ny") == "::error file=a%2Cb.txt,line=3::x%0Ay"


def test_end_to_end_escaping_keeps_each_annotation_on_one_line() -> None:
    out = github.render_check(only(UNAPPROVED))
    lines = out.splitlines()
    assert out.endswith("\n") and len(lines) == 2
    assert lines[0] == (
        "::warning file=services/orders/odd%2Cname%3A1.lock,line=7,title=envguard (EG101 unapproved-plugin)"
        "::100%25 odd: a, b%0D%0Ac | d%0AHint: Remove it."
    )
    assert lines[1] == "::notice title=envguard::2 services checked: 0 errors, 1 warning, 0 suppressed"


def test_first_location_annotated_others_in_the_message() -> None:
    (line, _) = github.render_check(only(DRIFT)).splitlines()
    assert line.startswith("::error file=services/billing/uv.lock,line=579,title=envguard (EG201 version-drift)::")
    assert "%0AAlso at: services/orders/poetry.lock:1039%0AHint: billing: uv lock" in line
    assert "%0Aorders: poetry add pytest@8.4.2" in line


def test_suppressed_and_baselined_findings_are_not_annotated() -> None:
    lines = github.render_check(only(DENIED, BASELINED)).splitlines()
    assert lines == ["::notice title=envguard::2 services checked: 0 errors, 0 warnings, 1 suppressed, 1 in the baseline"]


def test_errors_before_warnings_and_input_problems_annotated() -> None:
    lines = github.render_check(sample_result()).splitlines()
    commands = [line.split(" ", 1)[0].split("::")[1] for line in lines]
    # input error, drift error, warnings (findings, then input warning), summary
    assert commands == ["error", "error", "warning", "warning", "warning", "notice"]
    assert lines[0] == (
        "::error file=services/orders/pyproject.toml,line=3,title=envguard::invalid TOML: expected '=', got ','"
    )
    assert lines[-2] == "::warning file=policies/plugins.yaml,line=2,title=envguard::unknown key 'extra'"
    assert all(line.startswith("::") for line in lines)


def test_annotation_without_location() -> None:
    bare = dataclasses.replace(DRIFT, locations=())
    assert github.annotation(bare).startswith("::error title=envguard (EG201 version-drift)::")
    assert github.location_properties(Location("x.lock", None)) == [("file", "x.lock"), ("line", "1")]
    assert github.diagnostic_annotation(Diagnostic("", None, "no services"), "error") == (
        "::error title=envguard::no services"
    )
