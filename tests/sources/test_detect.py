from __future__ import annotations

import fnmatch
import itertools

from envguard.declared import detect as declared_detect
from envguard.sources import detect

PATTERNS = [
    *(pattern for pattern, _ in detect._BY_NAME),
    *detect._DISCOVERED_TEXT,
    *detect._DISCOVERED_JSON,
    *(pattern for pattern, _ in declared_detect._BY_NAME),
    "[*].txt",
    "a?c.lock",
    "x[0-9]*",
    "*",
    "",
]
NAMES = [
    "uv.lock", "poetry.lock", "pylock.toml", "pylock.dev.toml", "pylock..toml", "environment.yml",
    "requirements.txt", "requirements-dev.txt", "dev-requirements.txt", "dev_requirements.txt",
    "freeze.txt", "my-freeze-2.txt", "pip-report.json", "pip-list-3.json", "pyproject.toml",
    "Dockerfile", "Dockerfile.dev", "api.Dockerfile", "build.dockerfile", "Containerfile.ci",
    ".pre-commit-config.yaml", "*.txt", "[*].txt", "abc.lock", "x9y", "x", "", "README.md",
]


def test_name_matches_is_fnmatchcase() -> None:
    for name, pattern in itertools.product(NAMES, PATTERNS):
        assert detect.name_matches(name, pattern) == fnmatch.fnmatchcase(name, pattern), (name, pattern)
