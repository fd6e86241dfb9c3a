"""Pages for the HTML report tests: the example monorepo with exceptions, and a result whose every
value is hostile markup; and a parser that lists what a page holds."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import shutil
from html.parser import HTMLParser
from pathlib import Path

from envguard.check import CheckResult, run_check
from envguard.model import Diagnostic, Finding, Inventory, Kind, Location, NormalizedName, Package, Service, Severity, Source
from envguard.policy import Policy
from envguard.rules.drift import DriftMatrix, DriftRow
from tests.kit import EXAMPLE, ROOT, write
from tests.report import DENIED, DRIFT, UNAPPROVED, WAIVER, sample_result

TODAY = dt.date(2026, 11, 25)

# The built-in policy with two exceptions: one expiring within the rule's 14 days, one later.
POLICY = f"""\
version: 1
extends: {(ROOT / "policies" / "default.yaml").as_posix()}
exceptions:
  - package: pytest-randomly
    services: [orders]
    reason: "migrating to pytest-random-order, TICKET-123"
    expires: 2026-12-01
    owner: team-orders
  - package: pytest-sugar
    services: [notifications]
    reason: "terminal output only"
    expires: 2027-06-30
    owner: team-notify
"""


def monorepo_with_exceptions(directory: Path) -> CheckResult:
    """The example monorepo, copied to `directory`, checked with POLICY (given as `policy.yaml`,
    from `directory`) and its plugin tables."""
    root = directory / "monorepo"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".envguard-cache"))
    write(directory / "policy.yaml", POLICY)
    before = Path.cwd()
    os.chdir(directory)
    try:
        return run_check([root], policy_path="policy.yaml", today=TODAY, plugins=True)
    finally:
        os.chdir(before)


HOSTILE = "<img src=x onerror=\"alert(1)\">&amp;'\"</td></table><script>alert(2)</script>\u2028"


def hostile_result() -> CheckResult:
    """The sample result with hostile markup in every name, version, path, message and reason."""
    h = HOSTILE
    waiver = dataclasses.replace(WAIVER, package=f"pkg{h}", reason=f"reason{h}", owner=f"owner{h}", path=f"p{h}.yaml", services=(f"svc{h}",))
    findings = tuple(
        dataclasses.replace(
            f,
            service=f"svc{h}",
            package=f"pkg{h}",
            version=f"1{h}",
            message=f"message{h}",
            hint=f"hint{h}",
            locations=(Location(f"path{h}", 3),),
            exception=waiver if f.exception is not None else None,
        )
        for f in (DRIFT, UNAPPROVED, DENIED)
    )
    # The heat-map's cell details come from the service's records.
    locked = Package(NormalizedName(f"pkg{h}"), f"8{h}", Kind.REGISTRY, (), f"marker{h}", f"lock{h}", 9)
    service = Service(f"svc{h}", f"svc{h}", (Source(f"lock{h}", "uv"),), (locked,))
    matrix = DriftMatrix((f"svc{h}",), (DriftRow(f"pkg{h}", ((f"svc{h}", f"8{h}"),), f"req{h}", f"9{h}"),))
    plugins = {f"svc{h}": ({"name": f"plugin{h}", "version": f"2{h}", "recognised": f"how{h}", "how": "name",
                            "status": f"status{h}", "path": f"pyproject{h}", "line": 4, "declared": True,
                            "environment": f"env{h}", "requirement": f"req{h}"},)}  # fmt: skip
    result = sample_result()
    return dataclasses.replace(
        result,
        inventory=dataclasses.replace(result.inventory, services=(*result.inventory.services, service)),
        policy_files=(f"policy{h}.yaml",),
        findings=findings,
        errors=(Diagnostic(f"broken{h}", 1, f"error{h}"),),
        warnings=(Diagnostic(f"odd{h}", 2, f"warning{h}"),),
        matrix=matrix,
        today=TODAY,
        policy=Policy(exceptions=(waiver,)),
        plugins=plugins,
    )


def large_result(services: int, packages: int, findings_per_service: int) -> CheckResult:
    """A synthetic organisation-sized result: every service in every drift row, findings and plugins for each."""
    names = [f"repo-{i // 25:02d}/service-{i:04d}" for i in range(services)]
    rows = []
    locked: dict[str, list[Package]] = {name: [] for name in names}
    for p in range(packages):
        versions = tuple(f"{1 + (i + p) % 3}.{i % 4}.{i % 7}" for i in range(services))
        for i, (name, version) in enumerate(zip(names, versions)):
            marker = "python_version >= '3.9'" if i % 5 == 0 else None
            locked[name].append(Package(NormalizedName(f"package-{p:02d}"), version, Kind.REGISTRY, (), marker, f"{name}/uv.lock", 100 + p))
        rows.append(DriftRow(f"package-{p:02d}", tuple(zip(names, versions)), "exact", "3.3.6"))
    findings = tuple(
        Finding("EG101", "unapproved-plugin", Severity.WARNING, name, f"pytest-plugin-{k}", "1.0.0",
                f"pytest plugin pytest-plugin-{k} 1.0.0 is not approved by the policy (recognised by its pytest- name)",
                "Remove the plugin from the service's dependencies, or add it to plugins.approved with the version range you reviewed.",
                (Location(f"{name}/uv.lock", 40 + k),))
        for name in names for k in range(findings_per_service)
    )  # fmt: skip
    plugin = {"name": "pytest-cov", "version": "7.1.0", "recognised": "recognised by its pytest- name", "how": "name",
              "status": "approved (>=5,<8)", "path": "", "line": 12, "declared": False, "environment": None, "requirement": None}  # fmt: skip
    plugins = {name: tuple(dict(plugin, name=f"pytest-plugin-{k}", path=f"{name}/uv.lock") for k in range(10)) for name in names}
    inventory_services = tuple(Service(name, name, (Source(f"{name}/uv.lock", "uv"),), tuple(locked[name])) for name in names)
    return dataclasses.replace(
        CheckResult(Inventory("/nowhere", inventory_services), ("policies",), findings, (), ()),
        matrix=DriftMatrix(tuple(names), tuple(rows)),
        today=TODAY,
        plugins=plugins,
    )


@dataclasses.dataclass
class Element:
    tag: str
    attributes: dict[str, str]


class Parsed(HTMLParser):
    """Every element with its attributes, the text outside style and script, and their contents."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.text: list[str] = []
        self.styles: list[str] = []
        self.scripts: list[str] = []
        self._inside: str | None = None
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(Element(tag, {name: value or "" for name, value in attrs}))
        if tag in ("style", "script"):
            self._inside = tag
            (self.styles if tag == "style" else self.scripts).append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == self._inside:
            self._inside = None

    def handle_data(self, data: str) -> None:
        if self._inside == "style":
            self.styles[-1] += data
        elif self._inside == "script":
            self.scripts[-1] += data
        else:
            self.text.append(data)

    def all_text(self) -> str:
        return "".join(self.text)

    def having(self, attribute: str) -> list[Element]:
        return [e for e in self.elements if attribute in e.attributes]

    def heat_cells(self) -> list[Element]:
        return [e for e in self.elements if e.tag == "td" and e.attributes.get("class", "").startswith("d-")]

    def finding_services(self) -> list[list[str]]:
        """The services each finding row names: `data-services` holds runs of indexes into the
        `l-names` list, as the page's script reads them."""
        start = next(i for i, e in enumerate(self.elements) if e.attributes.get("id") == "l-names")
        names = []
        for element in self.elements[start + 1 :]:
            if element.tag != "option":
                break
            names.append(element.attributes["value"])
        found = []
        for row in self.having("data-services"):
            services = []
            for run in row.attributes["data-services"].split(" "):
                first, _, last = run.partition("-")
                services.extend(names[int(first) : int(last or first) + 1])
            found.append(services)
        return found


__all__ = ["HOSTILE", "Parsed", "TODAY", "hostile_result", "large_result", "monorepo_with_exceptions"]
