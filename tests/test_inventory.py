"""envguard.inventory: declarations beside records, CI installs handed to services, services named after loading."""

from __future__ import annotations

from pathlib import Path

import pytest

from envguard.inventory import attribution, load_inventory
from envguard.model import Declaration, Kind, NormalizedName
from tests.kit import BILLING_LOCK, add_service, write

WORKFLOW = ".github/workflows/ci.yml"


def declared(path: str, line: int, directory: str | None, name: str = "pytest-cov") -> Declaration:
    return Declaration(
        NormalizedName(name), name, None, None, Kind.REGISTRY, None, f"{WORKFLOW} job test, step Install", "github",
        path, line, install=True, directory=directory,
    )


def test_an_install_belongs_to_the_service_of_the_requirements_file_it_reads() -> None:
    item = declared("services/billing/requirements-ci.txt", 1, ".")
    assert attribution([item], ["services/billing", "services/orders", "."], {WORKFLOW}) == {"services/billing": [item]}


def test_else_to_the_deepest_service_it_runs_in() -> None:
    items = [declared(WORKFLOW, 3, "services/billing/src"), declared(WORKFLOW, 4, "services"), declared(WORKFLOW, 5, None)]
    handed = attribution(items, ["services/billing", "services"], {WORKFLOW})
    assert handed == {"services/billing": [items[0]], "services": [items[1]], ".": [items[2]]}


def test_else_to_the_root() -> None:
    item = declared(WORKFLOW, 3, "tools/lint")
    assert attribution([item], ["services/billing"], {WORKFLOW}) == {".": [item]}


def test_a_requirements_file_beside_a_lock_is_a_declaration(tmp_path: Path) -> None:
    add_service(tmp_path, "billing", BILLING_LOCK, extra={"requirements-ci.txt": "pytest-randomly==3.16.0\n"})
    inventory = load_inventory([tmp_path])
    (service,) = inventory.services
    assert [s.path for s in service.sources] == ["services/billing/uv.lock"]
    assert service.ignored == ()
    assert [(d.name, d.version, d.environment, d.origin, d.line) for d in service.declarations] == [
        ("pytest-randomly", "3.16.0", "services/billing/requirements-ci.txt", "requirements", 1)
    ]


def test_requirements_without_a_lock_stay_the_record(tmp_path: Path) -> None:
    add_service(tmp_path, "search", extra={"requirements.txt": "pytest==8.4.2\n", "requirements-dev.txt": "pytest-cov==7.1.0\n"})
    (service,) = load_inventory([tmp_path]).services
    assert [s.format for s in service.sources] == ["freeze", "freeze"]  # only exact pins: freeze output
    assert service.declarations == ()


def test_a_directory_that_declares_nothing_is_no_service_and_takes_no_name(tmp_path: Path) -> None:
    add_service(tmp_path, "api", BILLING_LOCK)
    write(tmp_path / "tools/api/requirements-ci.txt", "")  # no lock: an empty record, still a service
    write(tmp_path / "lint/api/tox.ini", "[flake8]\nmax-line-length = 100\n")  # declares nothing
    write(tmp_path / "pyproject.toml", "[tool.envguard]\nexclude = ['tools/*']\n")
    inventory = load_inventory([tmp_path])
    assert [service.name for service in inventory.services] == ["api"]


# --------------------------------------------------------------------------- local projects with extras

SHARED_PYPROJECT = """
    [project]
    name = "acme-shared"
    version = "1.0"
    dependencies = ["attrs==23.2.0"]
    [project.optional-dependencies]
    test = ["pytest==7.4.0", "pytest-sugar==1.0.0"]
    docs = ["mkdocs==1.6.1"]
"""


def test_a_local_project_installed_with_extras_declares_its_dependencies_and_those_extras(tmp_path: Path) -> None:
    # httpx's own requirements.txt begins with `-e .[brotli,cli,http2,socks,zstd]`.
    write(tmp_path / "libs/shared/pyproject.toml", SHARED_PYPROJECT)
    write(tmp_path / "services/app/requirements.txt", "-e ../../libs/shared[test]\npytest-xdist==3.6.1\n")
    inventory = load_inventory([tmp_path])
    assert not inventory.errors and not inventory.warnings
    (app,) = [s for s in inventory.services if s.name == "app"]
    assert [(p.name, p.kind) for p in app.packages] == [("acme-shared", Kind.EDITABLE), ("pytest-xdist", Kind.REGISTRY)]
    assert sorted((d.name, d.version, d.path, d.line) for d in app.declarations) == [
        ("attrs", "23.2.0", "libs/shared/pyproject.toml", 4),
        ("pytest", "7.4.0", "libs/shared/pyproject.toml", 6),
        ("pytest-sugar", "1.0.0", "libs/shared/pyproject.toml", 6),
    ]  # not the docs extra, which the line does not ask for


def test_an_extra_the_project_does_not_have_is_a_warning_at_the_installing_line(tmp_path: Path) -> None:
    write(tmp_path / "libs/shared/pyproject.toml", SHARED_PYPROJECT)
    write(tmp_path / "services/app/requirements.txt", "-e ../../libs/shared[tests]\n")
    inventory = load_inventory([tmp_path])
    assert [(w.path, w.line, w.message) for w in inventory.warnings] == [(
        "services/app/requirements.txt", 1,
        "libs/shared/pyproject.toml declares no requirements for the extra 'tests'; pip installs the project without it",
    )]  # fmt: skip


def test_a_project_of_the_service_itself_is_declared_once(tmp_path: Path) -> None:
    write(tmp_path / "app/pyproject.toml", SHARED_PYPROJECT)
    write(tmp_path / "app/requirements.txt", "-e .[test]\n")
    (app,) = load_inventory([tmp_path]).services
    assert len(app.declarations) == len({(d.path, d.line, d.name, d.environment) for d in app.declarations}) == 4


def test_a_project_outside_the_root_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "libs/shared/pyproject.toml", SHARED_PYPROJECT)
    write(tmp_path / "repo/app/requirements.txt", "-e ../../libs/shared[test]\n")
    inventory = load_inventory([tmp_path / "repo"])
    assert [(e.path, e.line) for e in inventory.errors] == [("app/requirements.txt", 1)]
    assert "outside the workspace root" in inventory.errors[0].message


def test_the_service_s_own_pyproject_is_read_once_for_its_extras(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from envguard.declared import detect as declared_detect

    write(tmp_path / "app/pyproject.toml", SHARED_PYPROJECT)
    write(tmp_path / "app/requirements.txt", "-e .[test]\n")
    reads: list[str] = []
    load = declared_detect.load

    def counted(fmt: str, path: Path, shown: str, **options: bool) -> object:
        reads.append(shown)
        return load(fmt, path, shown, **options)

    monkeypatch.setattr(declared_detect, "load", counted)
    (app,) = load_inventory([tmp_path]).services
    assert reads.count("app/pyproject.toml") == 1
    assert {d.name for d in app.declarations} == {"attrs", "pytest", "pytest-sugar", "mkdocs"}


def test_version_keys_are_parsed_once_and_the_memo_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from envguard import inventory

    monkeypatch.setattr(inventory, "_VERSION_KEYS", {})
    monkeypatch.setattr(inventory, "_MAX_VERSION_KEYS", 3)
    assert inventory._version_key("1.0") is inventory._version_key("1.0")
    assert inventory._version_key("not a version") == (inventory._NOT_PEP_440, "not a version")
    keys = [inventory._version_key(f"1.{minor}") for minor in range(10)]
    assert keys == sorted(keys) and len(inventory._VERSION_KEYS) <= 3
