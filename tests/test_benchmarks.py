"""Smoke test of benchmarks/generate.py: a small synthetic workspace that envguard reads cleanly."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from envguard.check import run_check
from envguard.inventory import build_inventory
from envguard.sources import _fasttoml
from envguard.sources._text import read_text
from envguard.workspace import discover

ROOT = Path(__file__).resolve().parents[1]


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("envguard_bench_generate", ROOT / "benchmarks" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_generated_workspace_is_read_cleanly_with_drift_and_plugins(tmp_path: Path) -> None:
    generate = _generator()
    plans = generate.generate(tmp_path / "ws", len(generate.FORMATS), drift=1.0, unknown_plugins=1.0)
    assert sorted(p.fmt for p in plans) == sorted(generate.FORMATS)  # one service per format

    workspace = discover([tmp_path / "ws"])
    inventory = build_inventory(workspace, jobs=1)
    assert inventory.errors == ()
    # The root is a service too: its pre-commit configuration declares the hooks' environments.
    (root,) = [s for s in inventory.services if s.path == "."]
    assert (root.name, root.packages) == ("ws", ())
    services = [s for s in inventory.services if s.path != "."]
    assert [s.name for s in services] == sorted(p.name for p in plans)
    # Every lock is as fresh as its locker would write it, and the declaring files are read.
    assert [s.stale_locks for s in services] == [()] * len(services)
    origins = {d.origin for s in inventory.services for d in s.declarations}
    assert origins >= {"tox", "dockerfile", "github", "pre-commit", "project"}
    for service, plan in zip(services, sorted(plans, key=lambda p: p.name)):
        third_party = {p.name: p.version for p in service.packages if p.is_third_party}
        assert third_party.keys() >= plan.versions.keys(), service.name
        assert all(third_party[name] == version for name, version in plan.versions.items()), service.name
    # The TOML records are regular enough for the fast path, as the real ones are.
    for spec in workspace.services:
        for source in spec.sources:
            if source.path.endswith((".lock", ".toml")) and not source.path.endswith("Pipfile.lock"):
                _fasttoml.loads(read_text(workspace.root / source.path))

    result = run_check([tmp_path / "ws"])
    names = {f.name for f in result.findings}
    assert "unapproved-plugin" in names  # pytest-randomly / pytest-sugar
    assert "version-drift" in names


def test_the_same_seed_writes_the_same_bytes(tmp_path: Path) -> None:
    generate = _generator()
    generate.generate(tmp_path / "a", 3, seed=7)
    generate.generate(tmp_path / "b", 3, seed=7)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files)


def test_moving_a_dependency_changes_its_version_and_shifts_later_lines(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("envguard_bench_run", ROOT / "benchmarks" / "run.py")
    assert spec is not None and spec.loader is not None
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        run = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(run)
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    plans = _generator().generate(tmp_path / "ws", 8)
    name = next(p.name for p in plans if p.fmt == "uv")
    lock = tmp_path / "ws" / "services" / name / "uv.lock"
    original = lock.read_text(encoding="utf-8")

    def packages() -> list[tuple[str, str | None, int]]:
        (service,) = build_inventory(discover([lock]), jobs=1).services
        return [(p.name, p.version, p.line) for p in service.packages if p.is_third_party]

    before = packages()
    kept = tmp_path / "original-uv.lock"
    run._move_dependency(lock, kept)
    after = packages()
    assert after[0][1] == f"{before[0][1]}.post1"
    assert all(a[2] == b[2] - 1 for a, b in zip(after[1:], before[1:]))
    run._move_dependency(lock, kept)
    assert lock.read_text(encoding="utf-8") == original
    run._move_dependency(lock, kept)  # as a later process would: from the kept original
    assert packages() == after
