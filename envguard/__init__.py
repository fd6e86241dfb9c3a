"""envguard: an environment-consistency linter for Python CI pipelines."""

from __future__ import annotations

__version__ = "0.1.0"
