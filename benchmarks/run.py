"""envguard's benchmarks, side by side in one run: check against the parse floor and the import floor.

For each N (default 50, 500, 2000) a synthetic workspace (benchmarks/generate.py, seed 0) is
written once under --workdir, then timed:

  cold       `envguard check W` with no inventory cache (the first run; it writes the cache)
  no-cache   `envguard check --no-cache W` (or `ENVGUARD_NO_CACHE`-less CLIs: skipped)
  warm       `envguard check W` after one uv.lock changed since the run that wrote the cache
             (the service's own version, toggled between runs)
  moved      the same after a re-lock that moved one dependency of that uv.lock (its version,
             files and dependencies: every later line shifts), toggled between runs
  floor      `python benchmarks/parse_floor.py W`: read every file, parse it with tomllib, json
             or line splitting, nothing else, one process

and a one-service repository (examples/monorepo/services/billing) as pre-commit runs the hook
(`envguard check --changed uv.lock`, warm cache and cold) against the import floor
`python -c "import tomllib, json, yaml, packaging.version, packaging.specifiers, packaging.utils"`.

Every command runs --repeat times; the table shows medians. Peak memory is sampled every 10 ms
(Linux) over envguard and its worker processes, two ways: the largest sum of their resident sizes
(RSS), which counts every page a forked worker shares with its parent once per process, and the
largest sum of their proportional sizes (PSS, a shared page split among its sharers), which is the
memory the run takes from the machine (what a container's memory limit sees).

    python benchmarks/run.py [--sizes 50,500,2000] [--repeat 5] [--envguard CMD] [--python PY]

--envguard is the command to time (default: the `envguard` script beside --python); use a
non-editable install for the pre-commit numbers, as pre-commit makes one (`pip install .` into
its own virtualenv): an editable install adds its import hook to every start.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402

IMPORT_FLOOR = "import tomllib, json, yaml, packaging.version, packaging.specifiers, packaging.utils"


def _tree_memory(pid: int) -> tuple[int, int]:
    """(resident, proportional) bytes of `pid` and its descendants (Linux /proc), 0 when unknown."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    rss = pss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1]) * 1024
            elif line.startswith("Pss:"):
                pss = int(line.split()[1]) * 1024
    except OSError:
        pass
    for child in children:
        child_rss, child_pss = _tree_memory(int(child))
        rss, pss = rss + child_rss, pss + child_pss
    return rss, pss


def timed(command: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> tuple[float, int, tuple[int, int]]:
    """(wall seconds, exit code, peak (resident, proportional) bytes of the process tree)."""
    peak = (0, 0)
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.wait(0.01):
            rss, pss = _tree_memory(process.pid)
            peak = (max(peak[0], rss), max(peak[1], pss))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = process.communicate()
    elapsed = time.perf_counter() - start
    stop.set()
    sampler.join()
    if process.returncode not in (0, 1):
        raise SystemExit(f"{shlex.join(command)} exited {process.returncode}:\n{stderr.decode(errors='replace')}")
    return elapsed, process.returncode, peak


def median(command: list[str], repeat: int, before=None, cwd: Path | None = None, env=None) -> tuple[float, tuple[int, int]]:
    times: list[float] = []
    peak = (0, 0)
    for _ in range(repeat):
        if before is not None:
            before()
        elapsed, _, (rss, pss) = timed(command, cwd, env)
        times.append(elapsed)
        peak = (max(peak[0], rss), max(peak[1], pss))
    return statistics.median(times), peak


def machine(python: str) -> str:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    version = subprocess.run([python, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True, text=True).stdout.strip()
    return f"{usable} usable cores ({os.cpu_count()} online), {cpu}; Python {version} ({python}); {platform.platform()}"


def _toggle(path: Path, service: str) -> None:
    """Change one lockfile: the service's own version, 0.1.0 <-> 0.1.1 (a re-lock after a bump)."""
    text = path.read_text(encoding="utf-8")
    old = f'name = "{service}"\nversion = "0.1.0"'
    new = f'name = "{service}"\nversion = "0.1.1"'
    path.write_text(text.replace(old, new) if old in text else text.replace(new, old), encoding="utf-8")


def _move_dependency(path: Path, original: Path) -> None:
    """Re-lock one dependency of a uv.lock to another version and back, each a change of its own.

    The first package's version moves, its file names with it, and it drops one of its own
    dependencies: every later line of the lock shifts, as after a real re-lock. `original`
    keeps the lock as generated (outside the workspace), for "back" in any later process.
    """
    if not original.exists():
        shutil.copyfile(path, original)
    text = original.read_text(encoding="utf-8")
    if path.read_text(encoding="utf-8") != text:
        shutil.copyfile(original, path)
        return
    start = text.index("[[package]]")
    end = text.index("[[package]]", start + 1)
    block = text[start:end]
    version = block.split('version = "', 1)[1].split('"', 1)[0]
    moved = block.replace(version, version + ".post1")
    lines = moved.split("\n")
    dependency = next(i for i, line in enumerate(lines) if line.startswith("    { name = "))
    del lines[dependency]
    path.write_text(text[:start] + "\n".join(lines) + text[end:], encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="50,500,2000")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "envguard-bench")
    parser.add_argument("--python", default=sys.executable, help="interpreter of the floors (envguard's own)")
    parser.add_argument("--envguard", default=None, help="command to time (default: envguard beside --python)")
    parser.add_argument("--no-cache-flag", default="--no-cache", help="flag that turns the cache off ('' to skip)")
    args = parser.parse_args()

    python = args.python
    envguard = shlex.split(args.envguard) if args.envguard else [str(Path(python).parent / "envguard")]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # as installed: with .pyc
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"machine: {machine(python)}")
    print(f"envguard: {shlex.join(envguard)}")
    # Compile every module once, as an installation does.
    subprocess.run([*envguard, "--version"], env=env, stdout=subprocess.DEVNULL, check=True)

    rows = []
    for size in (int(n) for n in args.sizes.split(",")):
        workspace = args.workdir / f"ws{size}"
        marker = workspace / ".generated"
        if not marker.exists():
            plans = generate.generate(workspace, size)
            marker.write_text("\n".join(f"{p.name} {p.fmt}" for p in plans), encoding="utf-8")
        plans_text = marker.read_text(encoding="utf-8").splitlines()
        first_uv = next(line.split()[0] for line in plans_text if line.split()[1] == "uv")
        lockfile = workspace / "services" / first_uv / "uv.lock"
        cache = workspace / ".envguard-cache"
        megabytes = sum(f.stat().st_size for f in workspace.rglob("*") if f.is_file() and ".envguard-cache" not in f.parts) / 1e6

        check = [*envguard, "check", str(workspace)]
        floor, _ = median([python, str(HERE / "parse_floor.py"), str(workspace)], args.repeat, env=env)
        cold, cold_peak = median(check, args.repeat, before=lambda: shutil.rmtree(cache, ignore_errors=True), env=env)
        no_cache = None
        if args.no_cache_flag:
            no_cache, _ = median([*envguard, "check", args.no_cache_flag, str(workspace)], args.repeat, env=env)
        timed(check, env=env)  # the cache as the last run left it
        warm, _ = median(check, args.repeat, before=lambda: _toggle(lockfile, first_uv), env=env)
        original = args.workdir / f"ws{size}-{first_uv}-uv.lock"
        moved, _ = median(check, args.repeat, before=lambda: _move_dependency(lockfile, original), env=env)
        shutil.copyfile(original, lockfile)  # the workspace as generated, for the next run
        rows.append((size, megabytes, floor, cold, no_cache, warm, cold_peak))
        print(
            f"N={size:5} {megabytes:6.1f} MB  floor {floor:6.2f}s  cold {cold:6.2f}s ({cold / floor:.2f} x floor)"
            + (f"  no-cache {no_cache:6.2f}s" if no_cache is not None else "")
            + f"  warm {warm:6.3f}s ({warm / cold:.3f} x cold)  warm, a dependency moved {moved:6.3f}s"
            + f" ({moved / cold:.3f} x cold)  peak {cold_peak[0] / 2**20:4.0f} MiB RSS, {cold_peak[1] / 2**20:4.0f} MiB PSS",
            flush=True,
        )

    for small, large in zip(rows, rows[1:]):
        print(
            f"scaling {small[0]} -> {large[0]} services ({large[0] / small[0]:.1f} x): cold {large[3] / small[3]:.2f} x the time, "
            f"{large[6][1] / small[6][1]:.2f} x the peak PSS; floor {large[2] / small[2]:.2f} x"
        )

    # One service, as the pre-commit hook runs it: `envguard check --changed <files>` at the root.
    repo = args.workdir / "one-service"
    if not repo.exists():
        shutil.copytree(HERE.parent / "examples" / "monorepo" / "services" / "billing", repo)
    one = [*envguard, "check", "--changed", "uv.lock"]
    floor_one, _ = median([python, "-c", IMPORT_FLOOR], args.repeat * 4, env=env)
    timed(one, cwd=repo, env=env)
    warm_one, _ = median(one, args.repeat * 4, cwd=repo, env=env)
    cold_one, _ = median(one, args.repeat * 4, before=lambda: shutil.rmtree(repo / ".envguard-cache", ignore_errors=True), cwd=repo, env=env)
    print(
        f"one service (pre-commit): import floor {floor_one * 1000:.0f} ms; check warm {warm_one * 1000:.0f} ms "
        f"({warm_one / floor_one:.2f} x floor); check cold {cold_one * 1000:.0f} ms ({cold_one / floor_one:.2f} x floor)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
