from __future__ import annotations

import pytest
from packaging.utils import canonicalize_name

from envguard.model import normalize


@pytest.mark.parametrize(
    "name",
    ["Django", "oslo.concurrency", "Foo.Bar_baz", "foo-bar-baz", "a__b", "a-_.-b", "A...B", "-x-", "_", "", "Ünïcode_Name", "zope.interface"],
)
def test_normalize_is_packagings_canonical_name(name: str) -> None:
    # Written out rather than imported (packaging.utils pulls packaging.tags into every start):
    # it must stay packaging's PEP 503 normalisation.
    assert normalize(name) == canonicalize_name(name)
