"""versions.distance: how far a version is from a target, as the drift heat-map colours it."""

from __future__ import annotations

import pytest

from envguard.versions import DISTANCES, distance


@pytest.mark.parametrize(
    ("version", "target", "expected"),
    [
        ("8.4.2", "8.4.2", "same"),
        ("1.26.4.0", "1.26.4", "same"),  # PEP 440 equal, written differently
        ("8.4.1", "8.4.2", "patch"),
        ("1.0rc1", "1.0", "patch"),  # below the minor version: pre-, post-, dev-release, local
        ("2.5.1+cpu", "2.5.1+cu124", "patch"),
        ("8.3.5", "8.4.2", "minor"),
        ("9.2.0", "8.4.2", "major"),
        ("0.23.8", "1.3.0", "major"),
        ("nightly-7", "1.0", "other"),  # not PEP 440: cannot be placed
        ("nightly-7", "nightly-7", "same"),
    ],
)
def test_distance(version: str, target: str, expected: str) -> None:
    assert distance(version, target) == expected
    assert expected in DISTANCES
