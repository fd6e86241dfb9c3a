from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from envguard.errors import UsageError
from envguard.model import Source
from envguard.workspace import discover

UV_LOCK = 'version = 1\nrequires-python = ">=3.10"\n'


def write(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def names(root: Path) -> list[str]:
    return [s.name for s in discover([root]).services]


def test_every_directory_with_a_record_is_a_service(tmp_path: Path) -> None:
    write(tmp_path / "services/billing/uv.lock", UV_LOCK)
    write(tmp_path / "services/orders/poetry.lock")
    write(tmp_path / "libs/shared/requirements.txt", "requests==2.32.3\n")
    write(tmp_path / "docs/index.md", "# not a service\n")
    assert names(tmp_path) == ["billing", "orders", "shared"]


def test_colliding_directory_names_use_the_relative_path(tmp_path: Path) -> None:
    write(tmp_path / "team-a/api/uv.lock", UV_LOCK)
    write(tmp_path / "team-b/api/uv.lock", UV_LOCK)
    write(tmp_path / "worker/uv.lock", UV_LOCK)
    assert names(tmp_path) == ["team-a/api", "team-b/api", "worker"]


def test_lockfile_wins_over_exported_requirements(tmp_path: Path) -> None:
    write(tmp_path / "svc/uv.lock", UV_LOCK)
    write(tmp_path / "svc/requirements.txt", "requests==2.32.3\n")
    write(tmp_path / "svc/poetry.lock")
    (service,) = discover([tmp_path]).services
    assert service.sources == (Source("svc/uv.lock", "uv"),)
    assert service.ignored == (Source("svc/poetry.lock", "poetry"),)
    # A requirements file beside a lock is what some install reads: read as its declarations.
    assert service.declared == (Source("svc/requirements.txt", "requirements"),)


def test_precedence_follows_the_documented_order(tmp_path: Path) -> None:
    write(tmp_path / "svc/Pipfile.lock", "{}")
    write(tmp_path / "svc/pdm.lock")
    write(tmp_path / "svc/pylock.toml")
    (service,) = discover([tmp_path]).services
    assert [s.format for s in service.sources] == ["pdm"]


def test_requirements_and_freeze_files_of_one_directory_are_all_read(tmp_path: Path) -> None:
    write(tmp_path / "svc/requirements.txt", "requests>=2\n")
    write(tmp_path / "svc/requirements-dev.txt", "pytest==8.3.4\n")
    (service,) = discover([tmp_path]).services
    assert service.sources == (
        Source("svc/requirements-dev.txt", "freeze"),
        Source("svc/requirements.txt", "requirements"),
    )


def test_skipped_directories(tmp_path: Path) -> None:
    write(tmp_path / "svc/uv.lock", UV_LOCK)
    for skipped in (".git", ".tox", "node_modules", "__pypackages__", "build", "dist", "x.egg-info", ".hidden"):
        write(tmp_path / "svc" / skipped / "uv.lock", UV_LOCK)
    write(tmp_path / "svc/my-venv/pyvenv.cfg", "home = /usr/bin\n")
    write(tmp_path / "svc/my-venv/lib/python3.12/site-packages/foo/uv.lock", UV_LOCK)
    assert names(tmp_path) == ["svc"]


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")
def test_symlink_loops_terminate(tmp_path: Path) -> None:
    write(tmp_path / "svc/uv.lock", UV_LOCK)
    os.symlink(tmp_path, tmp_path / "svc/loop")
    os.symlink(tmp_path / "svc", tmp_path / "alias")
    assert names(tmp_path) == ["svc"]


def test_a_file_is_one_service_named_after_its_directory(tmp_path: Path) -> None:
    lock = write(tmp_path / "payments/uv.lock", UV_LOCK)
    workspace = discover([lock])
    assert [(s.name, s.sources) for s in workspace.services] == [("payments", (Source("uv.lock", "uv"),))]


def test_input_files_are_not_records(tmp_path: Path) -> None:
    infile = write(tmp_path / "svc/requirements.in", "requests\n")
    workspace = discover([infile])
    assert workspace.services == ()
    assert [str(e) for e in workspace.errors] == [
        "requirements.in:1: *.in files are inputs to pip-compile, not records; give the compiled file"
    ]


def test_source_format_overrides_detection(tmp_path: Path) -> None:
    odd = write(tmp_path / "svc/locked-deps.txt", "requests==2.32.3\n")
    workspace = discover([odd], source_format="requirements")
    assert workspace.services[0].sources == (Source("locked-deps.txt", "requirements"),)


def test_unknown_source_format_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown --source-format 'yarn'"):
        discover([tmp_path], source_format="yarn")


def test_configured_services_and_excludes(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.envguard]\nservices = { pay = "apps/payments" }\n')
    write(tmp_path / "apps/payments/uv.lock", UV_LOCK)
    write(tmp_path / "apps/other/uv.lock", UV_LOCK)
    assert names(tmp_path) == ["pay"]


def test_exclude_globs(tmp_path: Path) -> None:
    write(tmp_path / "envguard.toml", 'exclude = ["legacy/*"]\n')
    write(tmp_path / "legacy/old/uv.lock", UV_LOCK)
    write(tmp_path / "new/uv.lock", UV_LOCK)
    assert names(tmp_path) == ["new"]


def test_bad_configuration_is_reported_with_its_file(tmp_path: Path) -> None:
    write(tmp_path / "envguard.toml", "exclude = 3\n")
    write(tmp_path / "svc/uv.lock", UV_LOCK)
    workspace = discover([tmp_path])
    assert [str(e) for e in workspace.errors] == ["envguard.toml:1: envguard.toml exclude must be a list of glob strings"]
    assert [s.name for s in workspace.services] == ["svc"]


def test_discovery_order_does_not_depend_on_creation_order(tmp_path: Path) -> None:
    for name in ("zeta", "alpha", "mid"):
        write(tmp_path / name / "uv.lock", UV_LOCK)
    assert names(tmp_path) == ["alpha", "mid", "zeta"]


def test_paths_with_spaces_and_non_ascii_names(tmp_path: Path) -> None:
    write(tmp_path / "my service/uv.lock", UV_LOCK)
    write(tmp_path / "zahlungsdienst-ü/uv.lock", UV_LOCK)
    assert names(tmp_path) == ["my service", "zahlungsdienst-ü"]


def test_unknown_configuration_keys_are_reported_at_their_line(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[project]\nname = "x"\n\n[tool.envguard]\nexclude = []\nservise = {}\n')
    workspace = discover([tmp_path])
    assert [str(e) for e in workspace.errors] == [
        "pyproject.toml:6: [tool.envguard] has unknown key 'servise' (known: exclude, policy, services)"
    ]


def test_each_directory_is_listed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Discovery runs before every check: the walk and the choice of records share one listing.
    write(tmp_path / "services/billing/uv.lock", UV_LOCK)
    write(tmp_path / "services/orders/requirements.txt", "requests==2.32.3\n")
    write(tmp_path / "docs/index.md", "# not a service\n")
    real_scandir = os.scandir
    listed: list[str] = []

    def scandir(path: str) -> Iterator[os.DirEntry[str]]:
        listed.append(os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    assert names(tmp_path) == ["billing", "orders"]
    # The root, docs, services and its two services, and the two places of CI files at the root.
    assert len(listed) == len(set(listed)) == 7
    assert {os.path.relpath(path, tmp_path) for path in listed} >= {".github/workflows", ".github/actions"}


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")
def test_a_directory_reached_only_through_links_is_shown_under_the_first_link(tmp_path: Path) -> None:
    write(tmp_path / "outside/ext/uv.lock", UV_LOCK)
    (tmp_path / "ws").mkdir()
    os.symlink(tmp_path / "outside", tmp_path / "ws/b-link")
    os.symlink(tmp_path / "outside", tmp_path / "ws/a-link")
    (service,) = discover([tmp_path / "ws"]).services
    assert (service.name, service.sources) == ("ext", (Source("a-link/ext/uv.lock", "uv"),))
    assert service.directory == tmp_path / "ws/a-link/ext"
