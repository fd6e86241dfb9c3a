"""One module per output format; each renders a finished result and never recomputes it.

Every report module exposes `render_check(result) -> str`; the JSON document is the reference
the others derive from. Modules are imported only for the format asked for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from envguard.check import CheckResult

# format name -> module under envguard.report
REPORT_FORMATS: dict[str, str] = {
    "text": "text",
    "json": "json",
    "sarif": "sarif",
    "github": "github",
    "gitlab": "gitlab",
    "junit": "junit",
    "markdown": "markdown",
    "html": "html",
}


def render_report(fmt: str, result: CheckResult, *, colour: bool = False) -> str:
    module = importlib.import_module(f"envguard.report.{REPORT_FORMATS[fmt]}")
    if fmt == "text":
        return str(module.render_check(result, colour=colour))
    return str(module.render_check(result))
