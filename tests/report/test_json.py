"""envguard.report.json.dumps: the bytes of json.dumps(indent=2, ensure_ascii=False), faster."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from envguard.report.json import dumps

_TEXT = st.text(alphabet="ab\"\\\n\t\x00\x1fé☃\U0001f600", max_size=6)
_SCALARS = st.none() | st.booleans() | st.integers() | _TEXT
_DOCUMENTS = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=12) | st.dictionaries(_TEXT, inner, max_size=12),
    max_leaves=60,
)


def _expected(document: Any) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


@settings(max_examples=200, deadline=None, derandomize=True)
@given(_DOCUMENTS)
def test_same_bytes_as_json_dumps(document: Any) -> None:
    assert dumps(document) == _expected(document)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.lists(_TEXT, min_size=9, max_size=30), st.dictionaries(_TEXT, _TEXT, min_size=9, max_size=30))
def test_many_strings_joined_at_once_are_the_same_bytes(items: list[str], mapping: dict[str, str]) -> None:
    document = {"services": items, "rows": [{"versions": mapping}], "mixed": [*items, 1, None]}
    assert dumps(document) == _expected(document)


def test_what_it_does_not_encode_itself_goes_to_json_dumps() -> None:
    document = {"ratio": 0.5, "nan": float("nan"), "keys": {1: "one", None: "none"}, "tuple": ("a", 2)}
    assert dumps(document) == _expected(document)
