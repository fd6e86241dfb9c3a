"""The HTML report in a real browser: Debian's headless chromium, driven over its debugging pipe
(tests/report/chromium.py). Each test asserts on the rendered DOM: what is shown, what a filter
hides, where the keyboard focus goes and what it shows. Skipped where chromium is not installed
(.ci/run installs it)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from envguard.cli import main
from envguard.report import html
from tests.kit import EXAMPLE
from tests.report.chromium import Chromium, Page, find_chromium
from tests.report.html_pages import HOSTILE, hostile_result, large_result, monorepo_with_exceptions

pytestmark = pytest.mark.skipif(
    find_chromium() is None,
    reason="chromium is not installed: the HTML report's browser tests need Debian's chromium "
    "(apt-get install chromium; .ci/run installs it when it is missing)",
)

# Tab presses that reach the heat-map from the top of the page: the section links, then the filters.
_MAX_TABS = 30


@pytest.fixture(scope="module")
def browser() -> Iterator[Chromium]:
    with Chromium.start() as started:
        yield started


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("browser")
    path = directory / "report.html"
    path.write_text(html.render_check(monorepo_with_exceptions(directory)), encoding="utf-8")
    return path


@pytest.fixture
def page(browser: Chromium, report: Path) -> Iterator[Page]:
    opened = browser.open(report)
    yield opened
    assert opened.problems() == []  # no CSP violation, no script error
    opened.close()


def _count(page: Page, selector: str) -> int:
    return int(page.evaluate(f"document.querySelectorAll({json.dumps(selector)}).length"))


def _shown(page: Page, selector: str) -> list[str]:
    """The text of each element matching `selector` that is rendered (not hidden by a filter)."""
    script = f"""Array.from(document.querySelectorAll({json.dumps(selector)}))
        .filter(e => e.getClientRects().length > 0).map(e => e.textContent.trim())"""
    found: list[str] = page.evaluate(script)
    return found


def _settle(page: Page) -> None:
    """The filters apply on the next animation frame: wait for two."""
    page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def test_services_drift_rows_findings_and_plugins_are_rendered(page: Page) -> None:
    assert page.evaluate("document.documentElement.hasAttribute('data-ready')") is True
    assert _shown(page, "table.heat tbody th") == [
        "analytics", "billing", "gateway", "inventory", "notifications", "orders", "reports", "runner", "search"
    ]  # fmt: skip
    columns = "Array.from(document.querySelectorAll('table.heat thead th[data-package]')).map(e => e.dataset.package)"
    assert page.evaluate(columns) == ["pytest", "pytest-asyncio", "pytest-cov", "starlette"]
    assert len(_shown(page, "tr[data-state]")) == 20
    assert len(_shown(page, "details.plugins > summary")) == 11
    # The filters are for people with the script: it shows them and says what is shown.
    assert _shown(page, "#f-status") == ["Showing 20 of 20 findings; 9 of 9 services and 4 of 4 packages in the heat-map."]
    # Words, not only colours: each cell says its distance.
    labels = set(_shown(page, "table.heat td b"))
    assert labels == {"same", "major"}
    # A missing cell's dash (and "missing" for screen readers) comes from the stylesheet.
    missing = page.evaluate("getComputedStyle(document.querySelector('table.heat td.d-missing'), '::before').content")
    assert missing == '"—" / "missing"'
    colours = page.evaluate(
        "[...new Set(Array.from(document.querySelectorAll('table.heat td')).map(e => getComputedStyle(e).backgroundColor))].length"
    )
    assert colours >= 3


def test_a_service_glob_filters_findings_heatmap_and_plugins(page: Page) -> None:
    page.evaluate("document.getElementById('f-service').focus()")
    page.type("gate*")
    _settle(page)
    assert _shown(page, "table.heat tbody th") == ["gateway"]
    services = page.evaluate(
        "Array.from(document.querySelectorAll('tr[data-state]')).filter(e => !e.hidden).map(e => e.cells[2].textContent)"
    )
    assert services and all("gateway" in s for s in services)
    assert len(services) < 20
    assert [s.split()[0] for s in _shown(page, "details.plugins > summary")] == ["gateway"]
    assert _shown(page, "#f-status")[0].startswith(f"Showing {len(services)} of 20 findings; 1 of 9 services")
    # A family with nothing left is hidden with its heading.
    assert page.evaluate("document.querySelector('section.family[data-family=\"exceptions\"]').hidden") is True
    # Clearing brings everything back.
    page.evaluate("document.querySelector('#filters button[type=reset]').click()")
    _settle(page)
    assert len(_shown(page, "tr[data-state]")) == 20


def test_package_severity_and_family_filters(page: Page) -> None:
    page.evaluate("document.getElementById('f-package').focus()")
    page.type("pytest-cov")
    _settle(page)
    heat = "Array.from(document.querySelectorAll('table.heat thead th[data-package]')).filter(e => e.getClientRects().length).map(e => e.dataset.package)"
    assert page.evaluate(heat) == ["pytest-cov"]
    assert set(page.evaluate("Array.from(document.querySelectorAll('tr[data-state]')).filter(e => !e.hidden).map(e => e.dataset.package)")) == {"pytest-cov"}
    # Severity and family are selects: change them as a keyboard user would, then let the change event fire.
    page.evaluate("{ const s = document.getElementById('f-state'); s.value = 'error'; s.dispatchEvent(new Event('change', {bubbles: true})) }")
    page.evaluate("{ const f = document.getElementById('f-family'); f.value = 'drift'; f.dispatchEvent(new Event('change', {bubbles: true})) }")
    _settle(page)
    rows = page.evaluate(
        "Array.from(document.querySelectorAll('tr[data-state]')).filter(e => !e.hidden).map(e => [e.dataset.rule, e.dataset.state])"
    )
    assert rows == [["EG201", "error"]]
    page.evaluate("{ const f = document.getElementById('f-package'); f.value = 'nothing-like-it'; f.dispatchEvent(new Event('input', {bubbles: true})) }")
    _settle(page)
    assert _shown(page, "#no-match") == ["No finding matches the filters."]


def test_keyboard_focus_reaches_the_heatmap_and_shows_cell_details(page: Page) -> None:
    for _ in range(_MAX_TABS):
        page.press("Tab", 9)
        if page.evaluate("!!document.activeElement.closest('table.heat')"):
            break
    else:
        pytest.fail("Tab never reached the heat-map")
    # One tab stop for the whole grid: the first cell, analytics' pytest.
    assert page.evaluate("document.activeElement.parentElement.dataset.service") == "analytics"
    assert _shown(page, "#cell-details") == [
        "analytics · pytest: same from the target 9.2.0\n9.2.0 at services/analytics/pylock.toml:175"
    ]
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    # Arrow keys move through the grid; each cell's version, file:line and marker follow the focus.
    for _ in range(4):
        page.press("ArrowDown", 40)
    assert _shown(page, "#cell-details") == [
        "notifications · pytest: major from the target 9.2.0\n"
        "7.4.4 at services/notifications/Pipfile.lock:751; marker python_version >= '3.7'"
    ]
    page.press("ArrowRight", 39)
    page.press("ArrowRight", 39)
    assert _shown(page, "#cell-details")[0].startswith("notifications · pytest-cov: major from the target 7.1.0\n4.1.0 at ")
    page.press("End", 35)
    assert page.evaluate("document.activeElement.cellIndex") == 4
    # The next Tab leaves the grid: it is one stop, not thirty-six.
    page.press("Tab", 9)
    assert page.evaluate("!document.activeElement.closest('table.heat')") is True
    assert _count(page, "table.heat td[tabindex='0']") == 1


def test_pointing_at_a_cell_shows_its_details(page: Page) -> None:
    page.evaluate("document.querySelector('table.heat tbody tr[data-service=gateway] td').scrollIntoView({block: 'center'})")
    box = page.evaluate(
        "(() => { const r = document.querySelector('table.heat tbody tr[data-service=gateway] td').getBoundingClientRect();"
        " return [r.x + r.width / 2, r.y + r.height / 2]; })()"
    )
    page.call("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": box[0], "y": box[1]})
    assert _shown(page, "#cell-details")[0].startswith("gateway · pytest: major from the target 9.2.0\n8.4.2 at services/gateway/poetry.lock:383")


def test_findings_sort_by_any_column_both_ways(page: Page) -> None:
    rows = "Array.from(document.querySelectorAll('section[data-family=plugins] tr[data-state]')).map(e => e.dataset.package)"
    before = page.evaluate(rows)
    page.evaluate("document.querySelector('section[data-family=plugins] button[data-sort=package]').click()")
    ascending = page.evaluate(rows)
    assert ascending == sorted(before)
    assert page.evaluate("document.querySelector('section[data-family=plugins] button[data-sort=package]').parentElement.getAttribute('aria-sort')") == "ascending"
    page.evaluate("document.querySelector('section[data-family=plugins] button[data-sort=package]').click()")
    assert page.evaluate(rows) == sorted(before, reverse=True)
    # Every family's table follows the same column.
    assert page.evaluate("document.querySelector('section[data-family=drift] button[data-sort=package]').parentElement.getAttribute('aria-sort')") == "descending"


def test_it_prints_without_the_controls_and_with_every_table(page: Page) -> None:
    page.call("Emulation.setEmulatedMedia", {"media": "print"})
    assert page.evaluate("getComputedStyle(document.getElementById('filters')).display") == "none"
    assert page.evaluate("getComputedStyle(document.querySelector('.scroll')).overflow") == "visible"
    pdf = page.call("Page.printToPDF", {"printBackground": True})["data"]
    assert len(pdf) > 10_000


def test_the_policy_blocks_what_was_not_inlined(browser: Chromium, report: Path, tmp_path: Path) -> None:
    """Were a value ever written unescaped, the page's policy would still run none of it."""
    injected = tmp_path / "injected.html"
    text = report.read_text(encoding="utf-8")
    injected.write_text(text.replace("<main>", "<main><script>window.injected = 1</script><img src='x.png'>", 1), encoding="utf-8")
    opened = browser.open(injected)
    try:
        assert opened.evaluate("window.injected === undefined") is True
        problems = opened.problems()
        assert len(problems) == 2 and all("Content Security Policy" in p for p in problems)
        assert opened.evaluate("document.documentElement.hasAttribute('data-ready')") is True  # its own script runs
    finally:
        opened.close()


def test_hostile_values_render_as_text(browser: Chromium, tmp_path: Path) -> None:
    path = tmp_path / "hostile.html"
    path.write_text(html.render_check(hostile_result()), encoding="utf-8")
    opened = browser.open(path)
    try:
        assert opened.problems() == []
        assert opened.evaluate("document.querySelectorAll('img, body script').length") == 1  # its own script only
        services = opened.evaluate("Array.from(document.querySelectorAll('table.heat tbody th')).map(e => e.textContent)")
        assert services == [f"svc{HOSTILE}"]
    finally:
        opened.close()


def test_the_diff_page_filters_its_changes(browser: Chromium, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "diff.html"
    assert main(["diff", "billing", "orders", "--root", str(EXAMPLE), "--format", "html", "-o", str(path)]) == 1
    capsys.readouterr()
    opened = browser.open(path)
    try:
        assert len(_shown(opened, "tr[data-change]")) == 22
        opened.evaluate("{ const s = document.getElementById('f-change'); s.value = 'major'; s.dispatchEvent(new Event('change', {bubbles: true})) }")
        _settle(opened)
        assert _shown(opened, "tr[data-change] td:first-child") == ["pytest-cov"]
        assert _shown(opened, "#f-status") == ["Showing 1 of 22 changes."]
        assert opened.problems() == []
    finally:
        opened.close()


def test_a_500_service_report_renders_in_under_3_s_and_weighs_under_5_mb(browser: Chromium, tmp_path: Path) -> None:
    """Heavier than the 500-service benchmark workspace (docs/performance.md): 12 drift rows over
    every service, 3 findings and 10 plugins each."""
    path = tmp_path / "large.html"
    started = time.monotonic()
    page_text = html.render_check(large_result(500, 12, 3))
    rendered = time.monotonic() - started
    path.write_text(page_text, encoding="utf-8")
    assert path.stat().st_size < 5_000_000
    assert rendered < 3.0
    opened = browser.open(path)
    try:
        seconds = min(opened.navigate(path) for _ in range(2))
        assert seconds < 3.0, f"{seconds:.2f} s to load and paint"
        assert opened.evaluate("document.querySelectorAll('table.heat tbody tr').length") == 500
        assert opened.problems() == []
    finally:
        opened.close()
