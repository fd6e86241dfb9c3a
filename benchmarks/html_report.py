"""The HTML report in Debian's headless chromium: the documentation's screenshot, and render times.

    python benchmarks/html_report.py screenshot [--output docs/html-report.png]
    python benchmarks/html_report.py timing PATH... [--repeat 5] [--keep FILE]

`screenshot` renders `envguard check examples/monorepo --today 2026-11-25 --format html`, puts
the keyboard focus on a heat-map cell (so its details show) and saves the top of the page.
`timing` runs `envguard check PATH... --format html` with the interpreter running this script
(a workspace from benchmarks/generate.py, or inventory artifacts), then loads the page
`--repeat` times, each in a fresh tab: its size, the seconds envguard took, and the median
seconds from navigation to the load event and a painted frame, with chromium's own layout,
style and task times (Performance.getMetrics). The browser is driven over its debugging pipe by
tests/report/chromium.py, as the tests drive it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.report.chromium import Chromium  # noqa: E402  (the repository root is on the path now)

JUDGED = "2026-11-25"


def _check(paths: list[Path], output: Path) -> float:
    """Seconds `envguard check --format html` took; its findings make exit 1, which is expected."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "envguard", "check", *map(str, paths), "--format", "html", "-o", str(output), "--today", JUDGED],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    seconds = time.monotonic() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"envguard check exited {done.returncode}:\n{done.stderr}")
    return seconds


def screenshot(output: Path) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        page_file = Path(scratch) / "report.html"
        _check([ROOT / "examples" / "monorepo"], page_file)
        with Chromium.start() as browser:
            page = browser.open(page_file, width=1280, height=1500)
            page.call("Emulation.setScrollbarsHidden", {"hidden": True})
            page.evaluate("document.querySelector('table.heat tr[data-service=notifications] td').click()")
            page.evaluate("window.scrollTo(0, 0)")
            output.write_bytes(page.screenshot(full_page=False))
    print(f"wrote {output.relative_to(ROOT) if output.is_relative_to(ROOT) else output}")


def timing(paths: list[Path], repeat: int, keep: Path | None) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        page_file = keep or Path(scratch) / "report.html"
        checked = _check(paths, page_file)
        size = page_file.stat().st_size
        loads, layouts, styles, tasks = [], [], [], []
        with Chromium.start() as browser:
            for _ in range(repeat):
                page = browser.open(None)
                page.call("Performance.enable")
                loads.append(page.navigate(page_file))
                metrics = {m["name"]: m["value"] for m in page.call("Performance.getMetrics")["metrics"]}
                layouts.append(metrics["LayoutDuration"])
                styles.append(metrics["RecalcStyleDuration"])
                tasks.append(metrics["TaskDuration"])
                elements = page.evaluate("document.getElementsByTagName('*').length")
                page.close()
    print(
        f"{' '.join(map(str, paths))[:60]}: envguard {checked:.2f} s, page {size / 1e6:.2f} MB, {elements} elements; "
        f"load and paint {statistics.median(loads):.2f} s (median of {repeat}; min {min(loads):.2f}, max {max(loads):.2f}); "
        f"chromium: tasks {statistics.median(tasks):.2f} s, layout {statistics.median(layouts):.2f} s, "
        f"style {statistics.median(styles):.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    shot = commands.add_parser("screenshot", help="refresh the documentation's screenshot")
    shot.add_argument("--output", type=Path, default=ROOT / "docs" / "html-report.png")
    timed = commands.add_parser("timing", help="size and render time of a workspace's report")
    timed.add_argument("paths", type=Path, nargs="+", metavar="PATH", help="a workspace, or inventory artifacts")
    timed.add_argument("--repeat", type=int, default=5)
    timed.add_argument("--keep", type=Path, metavar="FILE", help="keep the page here")
    options = parser.parse_args()
    if options.command == "screenshot":
        screenshot(options.output.resolve())
    else:
        timing(options.paths, options.repeat, options.keep)


if __name__ == "__main__":
    main()
