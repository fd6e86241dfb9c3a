"""Markdown for pull-request comments and job summaries: tables, escaping, folded suppressions."""

from __future__ import annotations

import dataclasses
import re

import pytest

from envguard.report import markdown
from tests.report import BASELINED, DENIED, DRIFT, UNAPPROVED, only, sample_result


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("plain text 1.0", "plain text 1.0"),
        ("a | b", "a \\| b"),
        ("<builtin>/policy.yaml", "\\<builtin\\>/policy.yaml"),
        ("*not* _emphasis_ `code` [link]", "\\*not\\* \\_emphasis\\_ \\`code\\` \\[link\\]"),
        ("back\\slash & ~strike~", "back\\\\slash \\& \\~strike\\~"),
    ],
)
def test_escape_text(raw: str, escaped: str) -> None:
    assert markdown.escape_text(raw) == escaped


def test_table_cell_escapes_pipes_and_breaks_lines() -> None:
    assert markdown.table_cell("a | b\nc\r\nd\re") == "a \\| b<br>c<br>d<br>e"


def test_finding_row_stays_one_table_row() -> None:
    text = markdown.render_check(only(UNAPPROVED))
    (row,) = [line for line in text.splitlines() if line.startswith("| warning")]
    assert row == (
        "| warning | `EG101` unapproved-plugin | `pytest-odd` 1.0 | 100% odd: a, b<br>c \\| d<br>**Hint:** Remove it. "
        "| `services/orders/odd,name:1.lock:7` |"
    )
    assert len(re.split(r"(?<!\\)\|", row)) == 7  # five cells between the outer pipes


def test_pipe_in_a_code_span_is_escaped() -> None:
    odd = dataclasses.replace(UNAPPROVED, package="a|b")
    assert "| `a\\|b` 1.0 |" in markdown.render_check(only(odd))


def test_layout() -> None:
    text = markdown.render_check(sample_result())
    lines = text.splitlines()
    assert lines[0] == "### envguard check"
    assert lines[2] == "**2 services checked: 1 error, 2 warnings, 1 suppressed, 1 in the baseline**"
    headings = [line for line in lines if line.startswith("#### ")]
    assert headings == [
        "#### `billing`, `orders`",
        "#### `every service`",
        "#### `orders`",
        "#### Drift matrix",
        "#### Errors (these inputs could not be checked)",
        "#### Warnings",
    ]
    assert "| `pytest` | 8.4.2 | 7.4.4 \\| x | exact |" in lines
    assert "| Package | `billing` | `orders` | Required |" in lines
    assert "- `services/orders/pyproject.toml:3`: invalid TOML: expected '=', got ','" in lines
    assert "Policy: `policies/plugins.yaml`" in lines
    assert text.endswith("</details>\n")


def test_suppressed_and_baselined_are_folded() -> None:
    text = markdown.render_check(only(DRIFT, DENIED, BASELINED))
    first_details = text.index("<details>")
    assert "pytest-randomly" not in text[:first_details]
    assert "pytest-cov" not in text[:first_details]
    assert "<summary>1 suppressed by policy exceptions</summary>\n\n| Rule | Service |" in text
    assert "<summary>1 recorded in the baseline</summary>" in text
    (row,) = [line for line in text.splitlines() if "`EG103`" in line]
    assert "migrating off it \\| TICKET-123<br>expires 2027-01-31, owner team-orders (`policies/plugins.yaml:12`)" in row


def test_clean_run() -> None:
    text = markdown.render_check(only())
    assert "No findings." in text
    assert "<details>" not in text
    assert "Drift matrix" in text  # the sample matrix is still given


def test_markdown_diff_still_available() -> None:
    assert callable(markdown.render_diff)
