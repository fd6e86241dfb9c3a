"""Hardening tests: envguard on hostile, broken and strange input.

Every input must end in a result or in one clean `path:line: message` error, never in another
exception, a hang or runaway memory. The helpers here are shared by the three test modules.
"""

from __future__ import annotations

import contextlib
import re
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

from hypothesis import Phase, settings

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
EXAMPLE_SERVICES = ROOT / "examples" / "monorepo" / "services"
# Reference material beside the checkout: read in place when present, never copied into the repo.
CORPUS = ROOT.parent / "shared" / "corpus"

# What str() of a SourceError, PolicyError or Diagnostic must be: one line, `path:line: message`.
ONE_LINE = re.compile(r"[^\n]+:\d+: [^\n]+")


def assert_one_line(error: object) -> None:
    text = str(error)
    assert ONE_LINE.fullmatch(text), f"not a one-line `path:line: message`: {text!r}"
    # Nothing str.splitlines() would break at either (\r, \x85, \u2028, ...).
    assert len(text.splitlines()) == 1, f"holds a line break: {text!r}"


class Hang(BaseException):
    """Raised by `time_limit`; a BaseException, so that no `except Exception` in the code swallows it."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Interrupt the block after `seconds` (wall clock) with `Hang`.

    Hypothesis' `deadline` only judges an example once it ends; a hang never ends. SIGALRM is
    checked between bytecodes and inside `re` matching, so a runaway regex is stopped too.
    Without SIGALRM (Windows) or off the main thread the block just runs.
    """
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(signum: int, frame: object) -> None:
        raise Hang(f"took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# Derandomized (the same examples on every run, so CI never flakes on a new one) and without the
# example database. `deadline=None`: time is bounded by `time_limit`, a hard limit that a loaded CI
# machine does not trip on a slow-but-linear example the way a per-example deadline would. No
# "explain" phase: it re-runs a failure under a tracer that is slow enough to hit `time_limit`
# and hide the real failure behind a Hang.
def fuzz_settings(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink),
    )
