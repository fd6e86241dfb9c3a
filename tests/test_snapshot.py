"""Snapshots: fingerprint, round trip, loading errors, and the snapshot as a service for `diff`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from envguard.errors import SourceError
from envguard.model import Kind, Package, Source, normalize
from envguard.snapshot import (
    SCHEMA,
    content_hash,
    dumps,
    load,
    load_snapshot,
    snapshot_document,
    snapshot_service,
    write_snapshot,
)
from envguard.sources.environment import Environment, read_environment
from tests.wheels import clean_environment, install, make_venv, messy_environment

pytestmark = pytest.mark.skipif(os.name == "nt", reason="venv layout of POSIX systems")


@pytest.fixture(scope="module")
def envs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Environment]:
    base = tmp_path_factory.mktemp("snapshot")
    clean, _ = clean_environment(base / "one")
    twin, _ = clean_environment(base / "two")  # the same contents at another path
    messy = messy_environment(base)
    return {
        "clean": read_environment(str(clean.python)),
        "twin": read_environment(str(twin.python)),
        "messy": read_environment(str(messy.python)),
    }


def test_document_layout(envs: dict[str, Environment]) -> None:
    document = snapshot_document(envs["clean"])
    assert list(document) == ["schema", "interpreter", "packages", "plugins", "sha256"]
    assert document["schema"] == SCHEMA
    assert list(document["interpreter"]) == ["implementation", "version", "platform", "markers"]
    assert "platform_release" not in document["interpreter"]["markers"]
    assert [(p["name"], p["version"], p["kind"]) for p in document["packages"]] == [
        ("acme-testkit", "1.0", "registry"),
        ("iniconfig", "2.1.0", "registry"),
        ("myproject", "0.1.0", "editable"),
        ("pluggy", "1.6.0", "registry"),
        ("pytest", "8.4.2", "registry"),
        ("speedups", "2.0", "registry"),
    ]
    assert document["packages"][0]["pytest11"] == [{"name": "acme", "value": "acme_testkit.plugin"}]
    assert document["plugins"] == [{"entry_point": "acme", "distribution": "acme-testkit", "version": "1.0"}]
    assert document["sha256"] == content_hash(document)


def test_fingerprint_is_portable_and_sensitive(envs: dict[str, Environment]) -> None:
    clean, twin = snapshot_document(envs["clean"]), snapshot_document(envs["twin"])
    # Nothing machine-specific: two environments built alike at different paths are byte-identical.
    assert dumps(clean) == dumps(twin)
    assert "clean-venv" not in dumps(clean) and "/project" not in dumps(clean)
    assert snapshot_document(envs["messy"])["sha256"] != clean["sha256"]


def test_round_trip(envs: dict[str, Environment], tmp_path: Path) -> None:
    path = tmp_path / "env.json"
    digest = write_snapshot(envs["messy"], path)
    snapshot = load_snapshot(path, "env.json")
    assert snapshot.sha256 == digest
    assert snapshot.environment.interpreter.version == envs["messy"].interpreter.version

    def key(env: Environment) -> list[tuple[object, ...]]:
        return sorted((d.name, d.version, d.kind, d.requires, d.pytest11) for d in env.distributions)

    assert key(snapshot.environment) == key(envs["messy"])
    lines = path.read_text(encoding="utf-8").splitlines()
    for dist in snapshot.environment.distributions:
        assert dist.path == "env.json"
        assert lines[dist.line - 1] == "    {" and f'"name": "{dist.name}"' in lines[dist.line]
    # Writing what was read gives the same file again.
    assert dumps(snapshot_document(snapshot.environment)) == path.read_text(encoding="utf-8")


def test_snapshot_service(envs: dict[str, Environment], tmp_path: Path) -> None:
    path = tmp_path / "ci-env.json"
    write_snapshot(envs["clean"], path)
    service = snapshot_service(load_snapshot(path, "artifacts/ci-env.json"))
    assert (service.name, service.path, service.sources) == (
        "ci-env",
        "artifacts/ci-env.json",
        (Source("artifacts/ci-env.json", "snapshot"),),
    )
    acme = service.packages[0]
    shown = "artifacts/ci-env.json"
    assert acme == Package(normalize("acme-testkit"), "1.0", Kind.REGISTRY, (), None, shown, acme.line)
    assert acme.line > 1
    assert snapshot_service(load_snapshot(path, "x.json"), "api").name == "api"
    assert load(path, "x.json").packages == snapshot_service(load_snapshot(path, "x.json")).packages


def test_diff_of_two_snapshots(envs: dict[str, Environment], tmp_path: Path) -> None:
    write_snapshot(envs["clean"], tmp_path / "a.json")
    write_snapshot(envs["messy"], tmp_path / "b.json")
    a = snapshot_service(load_snapshot(tmp_path / "a.json", "a.json"))
    b = snapshot_service(load_snapshot(tmp_path / "b.json", "b.json"))
    versions_a: dict[str, str | None] = {p.name: p.version for p in a.packages}
    versions_b: dict[str, set[str | None]] = {}
    for package in b.packages:
        versions_b.setdefault(package.name, set()).add(package.version)
    assert versions_a["pytest"] == "8.4.2" and versions_b["pytest"] == {"7.0.0"}
    assert versions_b["dupe-lib"] == {"1.0", "2.0"}
    assert sorted(set(versions_a) - set(versions_b)) == ["myproject", "speedups"]

    from envguard.diff import Side, compare

    changes, unchanged = compare(Side("a", a.sources, a.packages), Side("b", b.sources, b.packages))
    summary: dict[str, str] = {change.package: change.change for change in changes}
    assert summary["pytest"] == "major"
    assert summary["speedups"] == "only-a" and summary["stray"] == "only-b"
    assert unchanged == 3  # acme-testkit, iniconfig, pluggy


def test_an_environment_change_changes_the_hash(tmp_path: Path) -> None:
    venv = make_venv(tmp_path / "venv")
    install(venv, "alpha", "1.0")
    before = snapshot_document(read_environment(str(venv.python)))["sha256"]
    install(venv, "beta", "1.0")
    assert snapshot_document(read_environment(str(venv.python)))["sha256"] != before


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("", 1, "empty file; expected an envguard.snapshot/1 document (`envguard snapshot -o FILE`)"),
        ("{\n  \"schema\": ", 2, "invalid JSON: Expecting value"),
        ("[]\n", 1, "not an envguard.snapshot/1 document (expected a JSON object)"),
        ('{\n  "schema": "envguard.report/1"\n}\n', 2, "not an envguard.snapshot/1 document ('envguard.report/1')"),
    ],
)
def test_bad_files(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = tmp_path / "env.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SourceError) as caught:
        load_snapshot(path, "env.json")
    assert (caught.value.path, caught.value.line, caught.value.message) == ("env.json", line, message)


def test_an_edited_snapshot_is_rejected(envs: dict[str, Environment], tmp_path: Path) -> None:
    path = tmp_path / "env.json"
    write_snapshot(envs["clean"], path)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('"8.4.2"', '"8.4.3"'), encoding="utf-8")
    with pytest.raises(SourceError, match="content hash does not match") as caught:
        load_snapshot(path, "env.json")
    assert caught.value.line == text.splitlines().index(next(l for l in text.splitlines() if '"sha256"' in l)) + 1


def test_a_bad_entry_names_its_line(envs: dict[str, Environment], tmp_path: Path) -> None:
    document = snapshot_document(envs["clean"])
    document["packages"][1]["kind"] = "local project"
    document["sha256"] = content_hash(document)
    path = tmp_path / "env.json"
    path.write_text(dumps(document), encoding="utf-8")
    with pytest.raises(SourceError) as caught:
        load_snapshot(path, "env.json")
    assert caught.value.message.startswith("package 'iniconfig': unknown kind 'local project'")
    assert caught.value.line is not None
    assert path.read_text(encoding="utf-8").splitlines()[caught.value.line] == '      "name": "iniconfig",'
