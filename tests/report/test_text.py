"""The text report: one finding, diagnostic or row per line, whatever the names hold."""

from __future__ import annotations

import shutil
from pathlib import Path

from envguard.check import run_check
from envguard.inventory import load_inventory
from envguard.report.text import render_check, render_inventory
from tests.kit import SERVICES

FORGED = "evil\n::error file=x::forged\r"


def _workspace(tmp_path: Path) -> Path:
    # orders locks an older pytest-cov than billing: it is the outlier, named in the hint.
    shutil.copytree(SERVICES / "orders", tmp_path / FORGED, ignore=shutil.ignore_patterns(".envguard-cache"))
    shutil.copytree(SERVICES / "billing", tmp_path / "billing", ignore=shutil.ignore_patterns(".envguard-cache"))
    return tmp_path


def test_a_line_break_in_a_service_name_cannot_start_a_line(tmp_path: Path) -> None:
    """A CI log takes a line that starts with `::error` as a command: a name must not make one."""
    root = _workspace(tmp_path)
    result = run_check([root])
    assert any(FORGED in f.message for f in result.findings)  # the drift finding names both services
    for text in (render_check(result), render_inventory(load_inventory([root]))):
        assert not any(line.startswith("::") for line in text.splitlines())
        assert "evil\\n::error file=x::forged\\r" in text
    drift = next(f for f in result.findings if f.name == "version-drift" and FORGED in f.service)
    assert drift.hint.count("\n") == len(drift.hint.splitlines()) - 1  # one line per outlier service


def test_the_drift_matrix_columns_line_up_with_escaped_names(tmp_path: Path) -> None:
    result = run_check([_workspace(tmp_path)])
    lines = render_check(result).splitlines()
    start = lines.index("drift matrix")
    header, first = lines[start + 1], lines[start + 2]
    column = header.index("evil")
    assert first[column - 2 : column] == "  " and first[column] != " "
