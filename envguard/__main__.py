from __future__ import annotations

from envguard.cli import run

run()
