from __future__ import annotations

import sys

from envguard.cli import run

run()
