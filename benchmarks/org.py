"""The organisation benchmark: many repositories' inventory artifacts checked in one process.

    python benchmarks/org.py [--repositories 2000] [--packages 300] [--spread realistic|random] [--repeat 3]
                             [--workdir DIR] [--envguard CMD]

writes --repositories artifacts (`envguard.inventory/1`, seed 0) of one service each, with about
--packages locked entries drawn from a pool shared across the organisation, pytest and a few
approved plugins among them, versions spread as --spread says (most repositories on one version and
some behind, or the worst case where nearly every package drifts everywhere), and then
times, --repeat times in turn (after one run of each not counted):

  floor   `json.load` of every artifact, one process, nothing else
  check   `envguard check --no-cache --format json --output /dev/null ARTIFACT...`

and prints the medians, the median (min-max) of the ratios run by run, and the peak resident
memory of the check (Linux). Issue 13's target: the
check within 4 x the floor, at most 1 GB.
"""

from __future__ import annotations

import argparse
import json
import random
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import timed  # noqa: E402  (the same peak-memory sampling as the workspace benchmark)

PLUGINS = ("pytest-cov", "pytest-xdist", "pytest-mock", "pytest-asyncio", "pytest-timeout")
FORMATS = (("uv.lock", "uv"), ("poetry.lock", "poetry"), ("requirements.txt", "requirements"))


POOL = 1500
# Releases within the default policy's approved ranges, as a maintained organisation has them.
CURRENT = {
    "pytest": (8, 3, 2),
    "pytest-cov": (6, 1, 1),
    "pytest-xdist": (3, 6, 1),
    "pytest-mock": (3, 14, 1),
    "pytest-asyncio": (1, 1, 1),
    "pytest-timeout": (2, 3, 1),
}


def _current(name: str) -> tuple[int, int, int]:
    """The version most of the organisation is on: fixed per package, from its name."""
    if name in CURRENT:
        return CURRENT[name]
    seed = sum(ord(c) * (i + 1) for i, c in enumerate(name))
    return (1 + seed % 3, 2 + seed % 7, 1 + seed % 5)


def _version(name: str, spread: str, rng: random.Random) -> str:
    """A version of `name` as one repository locks it.

    `realistic`: as organisations are, most repositories on the current version and the rest one
    patch, minor or (rarely) major release behind (88/7/4/1 %). `random`: any of twelve versions,
    so that nearly every package drifts everywhere (the worst case for the drift rule and report).
    """
    if spread == "random":
        major = 8 if name == "pytest" else rng.choice((1, 1, 1, 2))
        return f"{major}.{rng.randrange(4)}.{rng.randrange(3)}"
    major, minor, patch = _current(name)
    draw = rng.random()
    if draw < 0.88:
        return f"{major}.{minor}.{patch}"
    if draw < 0.95:
        return f"{major}.{minor}.{patch - 1}"
    if draw < 0.99:
        return f"{major}.{minor - 1}.0"
    return f"{major - 1 if major > 1 else major}.{minor - 2}.0"


def artifact(index: int, packages: int, rng: random.Random, spread: str = "realistic") -> dict[str, object]:
    lock, fmt = FORMATS[index % len(FORMATS)]
    service = f"svc-{index:04d}"
    names = ["pytest", *PLUGINS[: 1 + index % len(PLUGINS)]]
    names += [f"lib-{n:04d}" for n in rng.sample(range(POOL), packages - len(names))]
    entries = []
    # Where the entries come from, as `envguard inventory` writes it: a lock names its index and
    # records hashes, a requirements file without --index-url and --hash neither.
    source, hashed = ("https://pypi.org/simple", True) if fmt != "requirements" else (None, False)
    for line, name in enumerate(names, start=1):
        entries.append({
            "name": name,
            "version": _version(name, spread, rng),
            "kind": "registry",
            "groups": ["dev"] if name.startswith("pytest") else ["main"],
            "marker": None,
            "path": lock,
            "line": line * 9,
            "specifier": None,
            "source": source,
            "hashed": hashed,
        })
    return {
        "schema": "envguard.inventory/1",
        "repository": {"name": f"repo-{index:04d}", "commit": f"{index:040x}", "url": None},
        "services": [{
            "name": service,
            "path": ".",
            "sources": [{"path": lock, "format": fmt}],
            "ignored_sources": [],
            "packages": entries,
            "declared_sources": [],
            "environments": [],
            "declarations": [],
            "stale_locks": [],
            "pytest": None,
        }],
        "errors": [],
        "warnings": [],
    }


def generate(directory: Path, repositories: int, packages: int, spread: str = "realistic") -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    rng = random.Random(0)
    paths = []
    for index in range(repositories):
        path = directory / f"repo-{index:04d}.json"
        if not path.exists():
            path.write_text(json.dumps(artifact(index, packages, rng, spread), indent=2), encoding="utf-8")
        paths.append(path)
    return paths


FLOOR = "import json, sys\nfor p in sys.argv[1:]:\n    with open(p, 'rb') as f: json.load(f)\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repositories", type=int, default=2000)
    parser.add_argument("--packages", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--spread", choices=("realistic", "random"), default="realistic",
                        help="how versions differ between repositories (see _version)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/envguard-org-bench"))
    parser.add_argument("--envguard", default=f"{sys.executable} -m envguard")
    args = parser.parse_args()
    paths = generate(
        args.workdir / f"{args.repositories}x{args.packages}-{args.spread}", args.repositories, args.packages, args.spread
    )
    files = [str(p) for p in paths]
    megabytes = sum(p.stat().st_size for p in paths) / 2**20
    check = [*shlex.split(args.envguard), "check", "--no-cache", "--format", "json", "--output", "/dev/null", *files]
    floors, runs = [], []
    # In turn, after one run of each not counted: a shared machine's speed drifts within minutes,
    # and the ratio of neighbouring runs carries little of that drift.
    for index in range(args.repeat + 1):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", FLOOR, *files], check=True)
        floor_seconds = time.perf_counter() - start
        run = timed(check)
        if index:
            floors.append(floor_seconds)
            runs.append(run)
    codes = {code for _, code, _ in runs}
    if not codes <= {0, 1}:
        print(f"envguard check exited {codes}", file=sys.stderr)
        return 2
    floor = statistics.median(floors)
    seconds = statistics.median(t for t, _, _ in runs)
    ratios = [t / f for (t, _, _), f in zip(runs, floors)]
    peak = max(rss for _, _, rss in runs)
    entries = args.repositories * args.packages
    print(f"{args.repositories} artifacts ({args.spread}), {entries:,} entries, {megabytes:.0f} MB: json.load floor {floor:.2f} s, "
          f"check {seconds:.2f} s, check / floor {statistics.median(ratios):.2f} x ({min(ratios):.2f}-{max(ratios):.2f}, "
          f"run by run), peak {peak / 2**20:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
