"""Access to ../shared/corpus: real files from other parsers' test suites with their expectations.

The corpus is reference material beside the checkout, never copied into it; tests that use it
are skipped when it is absent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


@dataclass(frozen=True)
class Case:
    id: str
    directory: Path
    file: Path
    expected: dict[str, Any]


def cases(format_dir: str) -> list[Any]:
    """pytest params, one per corpus fixture of `format_dir`; a single skipped param without corpus."""
    base = CORPUS / format_dir
    if not base.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"{base} not present"), id="no-corpus")]
    params = []
    for directory in sorted(p for p in base.iterdir() if p.is_dir()):
        expected = json.loads((directory / "expected.json").read_text(encoding="utf-8"))
        case = Case(directory.name, directory, directory / expected["file"], expected)
        params.append(pytest.param(case, id=directory.name))
    return params
