"""The HTML report as bytes: self-contained, its CSP matching what it inlines, every value escaped,
the same bytes for the same input, and the content the issue asks for (tests/report/
test_html_browser.py opens it in chromium)."""

from __future__ import annotations

import base64
import dataclasses
import fnmatch
import hashlib
import re
import shutil
import sys
from pathlib import Path

import pytest

from envguard.check import CheckResult, run_check
from envguard.cli import main
from envguard.errors import one_line
from envguard.model import Location
from envguard.report import html
from tests.kit import EXAMPLE, ROOT
from tests.report import BASELINED, DENIED, UNUSED, only, sample_result
from tests.report.html_pages import HOSTILE, TODAY, Parsed, hostile_result, large_result, monorepo_with_exceptions

# What a page may hold: no element that loads or embeds anything (img, link, iframe, object...).
ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3", "p", "ul", "li", "dl", "dt", "dd",
    "nav", "a", "main", "form", "label", "input", "select", "option", "button", "datalist", "section", "table",
    "thead", "tbody", "tr", "th", "td", "code", "pre", "span", "small", "b", "br", "div", "details", "summary",
    "footer", "script",
}  # fmt: skip


def _csp(parsed: Parsed) -> dict[str, str]:
    (meta,) = [e for e in parsed.elements if e.tag == "meta" and e.attributes.get("http-equiv") == "Content-Security-Policy"]
    directives = [part.strip().split(" ", 1) for part in meta.attributes["content"].split(";")]
    return {name: value for name, value in directives}


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def assert_self_contained(page: str) -> Parsed:
    parsed = Parsed(page)
    assert {e.tag for e in parsed.elements} <= ALLOWED_TAGS
    (style,), (script,) = parsed.styles, parsed.scripts
    csp = _csp(parsed)
    assert csp == {
        "default-src": "'none'",
        "style-src": _sha256(style),
        "script-src": _sha256(script),
        "base-uri": "'none'",
        "form-action": "'none'",
    }
    for element in parsed.elements:
        # No inline style or handler (the policy would block them), nothing that names a resource.
        assert not {name for name in element.attributes if name == "style" or name.startswith("on")}
        assert not {"src", "srcset", "action", "formaction", "poster", "data"} & set(element.attributes)
        if "href" in element.attributes:
            assert element.attributes["href"].startswith("#")
    assert not [e for e in parsed.elements if e.tag == "script" and e.attributes]
    return parsed


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> CheckResult:
    return monorepo_with_exceptions(tmp_path_factory.mktemp("html"))


@pytest.fixture(scope="module")
def monorepo(checked: CheckResult) -> str:
    return html.render_check(checked)


def test_the_page_is_self_contained_and_allows_only_its_own_style_and_script(monorepo: str) -> None:
    parsed = assert_self_contained(monorepo)
    package_data = ROOT / "envguard" / "data"
    assert parsed.styles == [(package_data / "report.css").read_text(encoding="utf-8")]
    assert parsed.scripts == [(package_data / "report.js").read_text(encoding="utf-8")]
    assert monorepo.startswith('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<meta http-equiv="Content-Security-Policy"')


def test_every_value_is_escaped() -> None:
    page = html.render_check(hostile_result())
    assert "<script>alert" not in page and "<img" not in page and "</table><" not in page
    parsed = assert_self_contained(page)
    text = parsed.all_text()
    # Each value reads back as it was, in text and in attributes alike.
    for shown in ("svc", "pkg", "message", "hint", "path", "reason", "owner", "policy", "plugin", "status", "env"):
        assert f"{shown}{HOSTILE}" in text, shown
    # Diagnostics are one line by construction (errors.one_line), in every report.
    assert f"broken{one_line(HOSTILE)}:1: error{one_line(HOSTILE)}" in text
    tips = [e.attributes["data-tip"] for e in parsed.having("data-tip")]
    assert tips == [f"8{HOSTILE} at lock{HOSTILE}:9; marker marker{HOSTILE}"]
    assert [e.attributes["data-target"] for e in parsed.having("data-target")] == [f"9{HOSTILE}"]
    assert parsed.finding_services() == [[f"svc{HOSTILE}"]] * 3


def test_the_same_input_gives_the_same_bytes_wherever_it_is_checked(monorepo: str, tmp_path: Path) -> None:
    again = html.render_check(monorepo_with_exceptions(tmp_path))  # another copy, another absolute path
    assert again == monorepo
    assert str(tmp_path) not in monorepo


def test_summary_policy_and_judged_date(checked: CheckResult, monorepo: str) -> None:
    from envguard.policy import content_digest

    parsed = Parsed(monorepo)
    text = parsed.all_text()
    assert "11 services checked: 9 errors, 9 warnings, 2 suppressed" in text
    cards = [e for e in parsed.elements if e.tag == "li" and e.attributes.get("class", "").startswith("card ")]
    assert [c.attributes["class"] for c in cards] == [f"card card-{k}" for k in ("services", "errors", "warnings", "suppressed", "baselined")]
    assert "Judged as of2026-11-25" in text
    assert "Marker targetuniversal" in text
    facts = re.search(r'<dl class="facts">(.*?)</dl>', monorepo)
    assert facts is not None and "policy.yaml" in facts.group(1) and "default.yaml" in facts.group(1)
    assert checked.policy is not None
    assert f"<dt>Policy sha256</dt><dd><code>{content_digest(checked.policy)}</code>" in monorepo


def test_heatmap_cells_say_their_distance_in_words_and_carry_their_details(monorepo: str) -> None:
    parsed = Parsed(monorepo)
    columns = [e.attributes["data-package"] for e in parsed.elements if e.tag == "th" and "data-col" in e.attributes]
    assert columns == ["pytest", "pytest-asyncio", "pytest-cov", "starlette"]
    rows = [e.attributes["data-service"] for e in parsed.elements if e.tag == "tr" and "data-service" in e.attributes and "data-state" not in e.attributes]
    assert rows == ["analytics", "billing", "gateway", "inventory", "notifications", "orders", "reports", "runner", "search"]
    cells = parsed.heat_cells()
    assert len(cells) == len(rows) * len(columns)
    classes = {e.attributes["class"] for e in cells}
    assert classes == {"d-same", "d-major", "d-missing"}
    # A missing cell is empty (the stylesheet draws its dash); the others carry their entries.
    assert all(("data-tip" in e.attributes) == (e.attributes["class"] != "d-missing") for e in cells)
    # notifications' pytest: its version, where it is locked and its marker.
    notifications_pytest = cells[4 * len(columns)]
    assert notifications_pytest.attributes["class"] == "d-major"
    assert notifications_pytest.attributes["data-tip"] == (
        "7.4.4 at services/notifications/Pipfile.lock:751; marker python_version >= '3.7'"
    )
    targets = [e.attributes["data-target"] for e in parsed.elements if e.tag == "th" and "data-col" in e.attributes]
    assert targets == ["9.2.0", "1.3.0", "7.1.0", "1.10.0"]
    assert re.search(r'<td class="d-major" data-tip="[^"]*"><b>major</b>7\.4\.4</td>', monorepo)
    legend = re.search(r'<ul class="legend".*?</ul>', monorepo)
    assert legend is not None
    for word in ("same", "patch", "minor", "major", "other", "missing"):
        assert f"d-{word}" in legend.group(0)


def test_findings_grouped_by_family_with_hints_exceptions_and_locations(monorepo: str) -> None:
    parsed = Parsed(monorepo)
    families = [e.attributes["data-family"] for e in parsed.elements if e.tag == "section" and "data-family" in e.attributes]
    assert families == ["plugins", "drift", "exceptions", "declared"]
    rows = parsed.having("data-state")
    assert len(rows) == 20
    assert {r.attributes["data-family"] for r in rows} == set(families)
    assert [r.attributes["data-state"] for r in rows].count("suppressed") == 2
    # A suppressed finding shows its exception: reason, expiry, owner and where it is written.
    assert re.search(
        r"<span class=\"tag\">Exception</span> terminal output only: expires 2027-06-30, owner team-notify \(<code>[^<]*policy\.yaml:\d+</code>\)",
        monorepo,
    )
    assert '<span class="tag">Hint</span><pre>billing: uv lock --upgrade-package pytest==9.2.0\ngateway:' in monorepo
    assert "<li><code>services/gateway/poetry.lock:409</code></li>" in monorepo
    # The exception-expiring finding sits with its family, and the exceptions table puts it first.
    assert any(r.attributes["data-rule"] == "EG302" for r in rows)


def test_exceptions_expiring_soon_come_first_with_days_left(monorepo: str) -> None:
    table = re.search(r'<table class="exceptions">.*?</table>', monorepo, re.S)
    assert table is not None
    states = re.findall(r'<tr class="x-([a-z-]+)"><td><span class="xstate">', table.group(0))
    assert states == ["expiring", "in-force"]
    assert "migrating to pytest-random-order, TICKET-123</td><td>team-orders</td><td>2026-12-01 <span class=\"note\">(in 6 days)</span>" in table.group(0)
    assert "1 expired or expiring within the rule's window; then by expiry date." in monorepo


def test_each_service_lists_its_plugins_and_how_each_was_recognised(monorepo: str) -> None:
    parsed = Parsed(monorepo)
    tables = [e.attributes["data-service"] for e in parsed.elements if e.tag == "details" and e.attributes.get("class") == "plugins"]
    assert tables == ["analytics", "billing", "gateway", "inventory", "monorepo", "notifications", "orders", "payments",
                      "reports", "runner", "search"]  # fmt: skip
    assert all("open" in e.attributes for e in parsed.elements if e.tag == "details")  # few services and findings: all open
    orders = monorepo[monorepo.index('<details class="plugins" data-service="orders"') :]
    orders = orders[: orders.index("</details>")]
    assert "<td><code>pytest-randomly</code></td><td>3.16.0</td><td>recognised by its pytest- name</td>" in orders
    assert "enabled with -p in the pytest configuration" in orders or "registers a pytest11 entry point" in orders


def test_the_sample_result_shows_every_state() -> None:
    page = html.render_check(dataclasses.replace(sample_result(), today=TODAY))
    parsed = assert_self_contained(page)
    states = [e.attributes["data-state"] for e in parsed.having("data-state")]
    assert sorted(states) == ["baselined", "error", "suppressed", "warning", "warning"]
    text = parsed.all_text()
    assert "2 services checked: 1 error, 2 warnings, 1 suppressed, 1 in the baseline" in text
    assert "services/orders/pyproject.toml:3: invalid TOML: expected '=', got ','" in text
    assert "policies/plugins.yaml:2: unknown key 'extra'" in text
    # Neither the policy nor the plugin tables were part of this result: no section pretends to.
    assert 'id="exceptions"' not in page and 'id="plugins"' not in page


def test_no_finding_no_drift() -> None:
    page = html.render_check(dataclasses.replace(only(), matrix=None))
    assert '<p class="empty">No findings.</p>' in page and 'id="drift"' not in page
    assert_self_contained(page)


def test_an_exception_for_every_service_matches_every_service_filter() -> None:
    parsed = Parsed(html.render_check(only(UNUSED, DENIED, BASELINED)))
    (unused,) = [e for e in parsed.having("data-state") if e.attributes["data-rule"] == "EG303"]
    assert "data-all" in unused.attributes


def test_organisation_input_summarises_each_repository(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    artifacts = []
    for repository, services in {"payments-repo": ("billing", "orders"), "ops-repo": ("gateway",)}.items():
        for service in services:
            shutil.copytree(EXAMPLE / "services" / service, tmp_path / repository / "services" / service)
        artifact = tmp_path / f"{repository}.json"
        assert main(["inventory", str(tmp_path / repository), "--format", "json", "--no-cache", "-o", str(artifact)]) == 0
        artifacts.append(str(artifact))
    output = tmp_path / "org.html"
    code = main(["check", *artifacts, "--format", "html", "-o", str(output), "--today", "2026-11-25"])
    capsys.readouterr()
    assert code == 1
    page = output.read_text(encoding="utf-8")
    assert_self_contained(page)
    table = re.search(r'<table class="repositories">.*?</table>', page, re.S)
    assert table is not None
    assert re.findall(r'<tr><th scope="row">([^<]+)</th>', table.group(0)) == ["ops-repo", "payments-repo"]
    # Every service and location names its repository.
    parsed = Parsed(page)
    services = {s for named in parsed.finding_services() for s in named}
    assert services and all(s.split("/", 1)[0] in ("ops-repo", "payments-repo") for s in services)
    assert all(e.attributes["data-path"].split("/", 1)[0] in ("ops-repo", "payments-repo") for e in parsed.having("data-state"))
    assert {e.attributes["data-service"] for e in parsed.elements if e.tag == "details" and e.attributes.get("class") == "plugins"} == {
        "ops-repo/gateway", "payments-repo/billing", "payments-repo/orders"
    }  # fmt: skip


def test_cli_check_writes_the_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "report.html"
    code = main(["check", str(EXAMPLE), "--format", "html", "-o", str(output), "--today", "2026-11-25"])
    _, err = capsys.readouterr()
    assert code == 1
    assert err.endswith("11 services checked: 9 errors, 10 warnings, 0 suppressed\n")
    page = output.read_text(encoding="utf-8")
    assert page == html.render_check(run_check([EXAMPLE], today=TODAY, plugins=True))
    assert 'id="plugins"' in page


def test_cli_diff_writes_the_page(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["diff", "billing", "orders", "--root", str(EXAMPLE), "--format", "html"])
    out, err = capsys.readouterr()
    assert (code, err) == (1, "")
    parsed = assert_self_contained(out)
    changes = {e.attributes["data-package"]: e.attributes["data-change"] for e in parsed.having("data-change")}
    assert changes["pytest-cov"] == "major" and changes["fastapi"] == "only-a" and changes["flask"] == "only-b"
    assert len(changes) == 22
    assert "<td><code>pytest-cov</code></td><td>7.1.0</td><td>6.3.0</td>" in out
    declared = re.search(r'<table class="declared">.*?</table>', out, re.S)
    assert declared is not None and "<td><code>pytest</code></td><td><code>==8.3.5</code>, <code>&gt;=8,&lt;9</code></td>" in declared.group(0)
    assert "22 packages differ; 17 unchanged." in out


def test_package_data_ships_the_stylesheet_and_the_script() -> None:
    """pyproject's package-data must match every file of envguard/data, or an installed envguard
    could not render a page."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["envguard"]
    data = ROOT / "envguard" / "data"
    shipped = [p.relative_to(data.parent).as_posix() for p in data.iterdir()]
    assert {"data/report.css", "data/report.js"} <= set(shipped)
    assert all(any(fnmatch.fnmatch(name, pattern) for pattern in patterns) for name in shipped)


def test_an_organisation_sized_report_is_aggregated() -> None:
    """Past the grid's budget, the heat-map keeps the packages most off target and the table every
    one; past _FULL_FINDINGS, each finding is shown in short and large families fold."""
    result = large_result(500, 60, 1)
    page = html.render_check(result)
    parsed = assert_self_contained(page)
    columns = [e.attributes["data-package"] for e in parsed.elements if e.tag == "th" and "data-col" in e.attributes]
    assert len(columns) == html._GRID_CELLS // 500 == 40
    assert columns == sorted(columns)  # shown in the matrix's order
    table = [e.attributes["data-package"] for e in parsed.elements if e.tag == "tr" and "data-package" in e.attributes and "data-change" not in e.attributes and "data-state" not in e.attributes]
    assert [name for name in table if name.startswith("package-")] == [f"package-{p:02d}" for p in range(60)]
    assert "the 40 of 60 with the most services off their target" in page
    assert "500 findings: each is shown in short" in page
    assert '<details class="rows">' in page  # 500 plugin findings: folded until opened
    assert not [e for e in parsed.elements if e.tag == "details" and e.attributes.get("class") == "plugins" and "open" in e.attributes]


def test_a_long_finding_is_cut_with_a_note(tmp_path: Path) -> None:
    long = dataclasses.replace(
        DENIED,
        message="m" * 2000,
        hint="\n".join(f"svc-{i}: uv lock" for i in range(30)),
        locations=tuple(Location(f"svc-{i}/uv.lock", 1) for i in range(20)),
        service=", ".join(f"svc-{i}" for i in range(15)),
        exception=None,
    )
    page = html.render_check(only(long))
    assert "m" * 1500 + ' <span class="more">… 500 more characters in the JSON report</span>' in page
    assert "svc-11: uv lock</pre> <span class=\"more\">… 18 more lines in the JSON report</span>" in page
    assert "… 8 more locations in the JSON report" in page and "… 3 more services in the JSON report" in page
    # Filtering still knows every service it names.
    assert Parsed(page).finding_services() == [[f"svc-{i}" for i in sorted(range(15), key=str)]]
