"""Two commands timed in turn (A B A B ...), with the ratio A/B taken pair by pair.

    python benchmarks/paired.py [-n 7] [--warmup 1] --a 'COMMAND A' --b 'COMMAND B'

A shared machine's speed drifts within minutes; a ratio of two medians taken at different times
carries that drift, a ratio of neighbouring runs mostly does not. Each run's CPU time (user + sys)
comes from the kernel's accounting of the finished process (`os.wait4`), its wall time from the
clock, its peak memory from the largest resident size the kernel saw (ru_maxrss). Output is
discarded. Prints, per command, the median CPU, wall and peak, and the median (min-max) of the
pairwise CPU and wall ratios A/B.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import time
from typing import NamedTuple


class Run(NamedTuple):
    cpu: float
    wall: float
    peak_mib: float


def run(argv: list[str]) -> Run:
    start = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = 0  # reaped here, not by Popen
    return Run(usage.ru_utime + usage.ru_stime, wall, usage.ru_maxrss / 1024)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=7, help="pairs counted")
    parser.add_argument("--warmup", type=int, default=1, help="pairs run first and not counted")
    parser.add_argument("--a", required=True, help="command A, split as a shell splits words")
    parser.add_argument("--b", required=True, help="command B")
    args = parser.parse_args()
    a, b = shlex.split(args.a), shlex.split(args.b)
    pairs: list[tuple[Run, Run]] = []
    for index in range(args.warmup + args.n):
        pair = (run(a), run(b))
        if index >= args.warmup:
            pairs.append(pair)
    for label, side in (("A", 0), ("B", 1)):
        runs = [pair[side] for pair in pairs]
        print(
            f"{label}: cpu {statistics.median(r.cpu for r in runs):.3f} s, wall {statistics.median(r.wall for r in runs):.3f} s, "
            f"peak {statistics.median(r.peak_mib for r in runs):.0f} MiB"
        )
    for figure in ("cpu", "wall"):
        ratios = [getattr(x, figure) / getattr(y, figure) for x, y in pairs]
        print(f"A/B {figure}: {statistics.median(ratios):.3f} ({min(ratios):.3f}-{max(ratios):.3f}), {len(pairs)} pairs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
