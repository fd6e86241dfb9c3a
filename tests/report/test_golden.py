"""Golden files: `envguard check examples/monorepo --today 2026-11-25` in every report format.

Compared byte for byte. After an intended change of output, regenerate them with

    ENVGUARD_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/report/test_golden.py

and review the diff of tests/report/golden/ before committing it.

SARIF's tool.driver.version and the HTML page's generator and footer are envguard's version: it
is replaced by "<envguard-version>" before comparing, so a release does not need new golden files.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from functools import cache
from pathlib import Path

import pytest

from envguard import __version__
from envguard.check import CheckResult, run_check
from envguard.report import REPORT_FORMATS, render_report
from tests.kit import EXAMPLE, ROOT

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("ENVGUARD_UPDATE_GOLDEN") == "1"
TODAY = dt.date(2026, 11, 25)

FILES = {
    "text": "monorepo.txt",
    "json": "monorepo.json",
    "sarif": "monorepo.sarif",
    "github": "monorepo.github.txt",
    "gitlab": "monorepo.gitlab.json",
    "junit": "monorepo.junit.xml",
    "markdown": "monorepo.md",
    "html": "monorepo.html",
}
_DRIVER_VERSION = re.compile(r'("driver": \{\n\s*"name": "envguard",\n\s*"version": )"[^"]*"')


@cache
def monorepo() -> CheckResult:
    return run_check([EXAMPLE], today=TODAY, plugins=True)  # the plugin tables, for html


def normalise(fmt: str, text: str) -> str:
    if fmt == "sarif":
        text, count = _DRIVER_VERSION.subn(r'\1"<envguard-version>"', text)
        assert count == 1
    if fmt == "html":  # the generator meta tag and the footer
        assert text.count(f"envguard {__version__}") == 2
        text = text.replace(f"envguard {__version__}", "envguard <envguard-version>")
    return text


def test_every_format_has_a_golden_file() -> None:
    assert set(FILES) == set(REPORT_FORMATS)


@pytest.mark.parametrize("fmt", sorted(FILES))
def test_golden(fmt: str) -> None:
    rendered = render_report(fmt, monorepo())
    assert str(ROOT) not in rendered and str(EXAMPLE) not in rendered  # no absolute paths
    if fmt == "sarif":
        assert f'"version": "{__version__}"' in rendered
    text = normalise(fmt, rendered)
    path = GOLDEN / FILES[fmt]
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
    assert path.is_file(), f"{path} is missing: run with ENVGUARD_UPDATE_GOLDEN=1"
    assert text.encode("utf-8") == path.read_bytes(), f"{path.name} differs: run with ENVGUARD_UPDATE_GOLDEN=1"
