"""Discovery and loading on a hostile file system: loops, unreadable places, files that vanish
mid-run, strange names; and output that is byte-identical whatever the hash seed or the order in
which the directories were created.

The tests run as root here, where chmod 000 does not stop reading: unreadable directories are
emulated by making os.scandir raise PermissionError (a real chmod test runs for other users).
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import envguard.inventory
import envguard.workspace
import envguard.sources._text
from envguard.cli import main
from envguard.errors import EnvguardError
from envguard.inventory import build_inventory, load_inventory
from envguard.model import Inventory
from envguard.workspace import Workspace, discover
from tests.hardening import EXAMPLE_SERVICES, assert_one_line, time_limit

LIMIT = 10.0
PIN = "pytest==8.3.4\n"


def write(path: Path, text: str = PIN) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def inventory_of(*paths: Path) -> Inventory:
    """The inventory, within the time bound, with every diagnostic one clean line."""
    with time_limit(LIMIT):
        inventory = load_inventory(list(paths))
    for diagnostic in inventory.errors + inventory.warnings:
        assert_one_line(diagnostic)
    return inventory


def services(inventory: Inventory) -> dict[str, list[str]]:
    return {s.name: [p.name for p in s.packages] for s in inventory.services}


def errors(inventory: Inventory) -> list[str]:
    return [str(e) for e in inventory.errors]


# --------------------------------------------------------------------------- symlink loops


def test_directory_symlink_loops_terminate(tmp_path: Path) -> None:
    write(tmp_path / "a" / "requirements.txt")
    write(tmp_path / "b" / "requirements.txt")
    (tmp_path / "a" / "self").symlink_to(".")
    (tmp_path / "a" / "up").symlink_to("..")
    (tmp_path / "a" / "to-b").symlink_to("../b")
    (tmp_path / "b" / "to-a").symlink_to("../a")
    (tmp_path / "root-loop").symlink_to(tmp_path)
    inventory = inventory_of(tmp_path)
    assert services(inventory) == {"a": ["pytest"], "b": ["pytest"]}
    assert errors(inventory) == []


def test_file_symlink_loops_lose_only_themselves(tmp_path: Path) -> None:
    write(tmp_path / "svc" / "requirements.txt")
    (tmp_path / "svc" / "poetry.lock").symlink_to("poetry.lock")  # a record: reported
    (tmp_path / "svc" / "notes").symlink_to("notes")  # not a record: ignored
    (tmp_path / "svc" / "ping.txt").symlink_to("pong.txt")
    (tmp_path / "svc" / "pong.txt").symlink_to("ping.txt")
    (tmp_path / "svc" / "requirements-dangling.txt").symlink_to("nowhere.txt")  # no file: no record
    inventory = inventory_of(tmp_path)
    assert services(inventory) == {"svc": ["pytest"]}
    assert errors(inventory) == ["svc/poetry.lock:1: cannot read file: Too many levels of symbolic links"]


def test_a_loop_given_as_the_path(tmp_path: Path) -> None:
    (tmp_path / "loop").symlink_to("loop")
    write(tmp_path / "svc" / "requirements.txt")
    with time_limit(LIMIT):
        try:
            inventory = load_inventory([tmp_path / "loop"])
        except EnvguardError as exc:
            assert_one_line(f"x:1: {exc}")
            return
    assert services(inventory) == {}


def test_include_loops_through_symlinks(tmp_path: Path) -> None:
    write(tmp_path / "svc" / "requirements.txt", "-r base.txt\npytest==8.3.4\n")
    write(tmp_path / "svc" / "real.txt", "-r requirements.txt\n")
    (tmp_path / "svc" / "base.txt").symlink_to("real.txt")
    inventory = inventory_of(tmp_path)
    assert errors(inventory) == [
        "svc/base.txt:1: include cycle: svc/requirements.txt -> svc/base.txt -> svc/requirements.txt"
    ]


# --------------------------------------------------------------------------- unreadable directories


def deny(monkeypatch: pytest.MonkeyPatch, *blocked: Path) -> None:
    """os.scandir raises PermissionError on `blocked`, as on a chmod 000 directory for a non-root user."""
    real_scandir = os.scandir
    refused = {os.path.realpath(path) for path in blocked}

    def scandir(path: Any = ".") -> Any:
        if os.path.realpath(path) in refused:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)


def test_an_unreadable_service_directory_is_an_error_and_the_rest_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "locked" / "requirements.txt")
    write(tmp_path / "open" / "requirements.txt")
    deny(monkeypatch, tmp_path / "locked")
    inventory = inventory_of(tmp_path)
    assert services(inventory) == {"open": ["pytest"]}
    assert errors(inventory) == ["locked:1: cannot list directory: Permission denied"]


def test_an_unreadable_directory_on_the_way_down(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "team" / "svc" / "requirements.txt")
    write(tmp_path / "open" / "requirements.txt")
    deny(monkeypatch, tmp_path / "team")
    inventory = inventory_of(tmp_path)
    assert services(inventory) == {"open": ["pytest"]}
    assert errors(inventory) == ["team:1: cannot list directory: Permission denied"]


def test_an_unreadable_workspace_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "svc" / "requirements.txt")
    deny(monkeypatch, tmp_path)
    inventory = inventory_of(tmp_path)
    assert services(inventory) == {}
    assert errors(inventory) == [".:1: cannot list directory: Permission denied"]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads a chmod 000 directory anyway")
def test_a_real_chmod_000_directory(tmp_path: Path) -> None:
    write(tmp_path / "locked" / "requirements.txt")
    write(tmp_path / "open" / "requirements.txt")
    (tmp_path / "locked").chmod(0)
    try:
        inventory = inventory_of(tmp_path)
    finally:
        (tmp_path / "locked").chmod(0o755)
    assert services(inventory) == {"open": ["pytest"]}
    assert errors(inventory) == ["locked:1: cannot list directory: Permission denied"]


@pytest.mark.parametrize("name", ["requirements.txt", "poetry.lock"])  # format by content / by name
def test_an_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    write(tmp_path / "a" / name)
    write(tmp_path / "b" / "requirements.txt")
    real_read_bytes = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.parent.name == "a":
            raise PermissionError(13, "Permission denied", str(self))
        return real_read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    inventory = inventory_of(tmp_path)
    assert services(inventory)["b"] == ["pytest"]
    assert services(inventory).get("a", []) == []
    assert errors(inventory) == [f"a/{name}:1: cannot read file: Permission denied"]


# --------------------------------------------------------------------------- files that vanish mid-run


def vanishing(monkeypatch: pytest.MonkeyPatch, action: Callable[[Workspace], None]) -> None:
    """Run `action` between discovery and loading, whoever calls them (the CLI here)."""
    real_discover = envguard.inventory.discover

    def discover_then_act(*args: Any, **kwargs: Any) -> Workspace:
        workspace = real_discover(*args, **kwargs)
        action(workspace)
        return workspace

    monkeypatch.setattr(envguard.inventory, "discover", discover_then_act)
    monkeypatch.setattr(envguard.workspace, "discover", discover_then_act)


@pytest.fixture
def three_services(tmp_path: Path) -> Path:
    write(tmp_path / "a" / "requirements.txt")
    write(tmp_path / "b" / "requirements.txt", "-r base.txt\n")
    write(tmp_path / "b" / "base.txt")
    write(tmp_path / "c" / "poetry.lock", (EXAMPLE_SERVICES / "orders" / "poetry.lock").read_text(encoding="utf-8"))
    return tmp_path


@pytest.mark.parametrize(
    ("service", "change", "expected"),
    [
        ("a", "delete", "a/requirements.txt:1: cannot read file: No such file or directory"),
        ("c", "delete", "c/poetry.lock:1: cannot read file: No such file or directory"),
        ("c", "directory", "c/poetry.lock:1: cannot read file: Is a directory"),
        ("c", "truncate", None),  # an empty poetry.lock is a lock of nothing
        ("b", "include", "b/requirements.txt:1: requirement file 'base.txt' not found"),
        ("a", "service", "a/requirements.txt:1: cannot read file: No such file or directory"),
    ],
)
def test_a_file_that_vanishes_after_discovery(
    three_services: Path, service: str, change: str, expected: str | None
) -> None:
    workspace = discover([three_services])
    (spec,) = [spec for spec in workspace.services if spec.name == service]
    (source,) = spec.sources
    path = workspace.root / source.path
    if change == "delete":
        path.unlink()
    elif change == "directory":
        path.unlink()
        path.mkdir()
    elif change == "truncate":
        path.write_bytes(b"")
    elif change == "include":
        (path.parent / "base.txt").unlink()
    else:
        shutil.rmtree(path.parent)
    with time_limit(LIMIT):
        inventory = build_inventory(workspace)
    assert errors(inventory) == ([expected] if expected else [])
    for diagnostic in inventory.errors:
        assert_one_line(diagnostic)
    # The run goes on: every other service is loaded in full.
    orders = [p.name for p in load_inventory([EXAMPLE_SERVICES / "orders"]).services[0].packages]
    complete = {"a": ["pytest"], "b": ["pytest"], "c": orders}
    assert {n: p for n, p in services(inventory).items() if n != service} == {
        n: p for n, p in complete.items() if n != service
    }


def test_a_file_that_vanishes_during_discovery(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Listed by os.scandir, gone when its content is read to tell its format."""
    write(tmp_path / "svc" / "requirements.txt")
    gone = write(tmp_path / "svc" / "requirements-dev.txt")
    real_read_text = envguard.sources._text.read_text

    def read_text(path: Path, display: str | None = None) -> str:
        if path == gone and gone.exists():
            gone.unlink()
        return real_read_text(path, display)

    monkeypatch.setattr(envguard.sources._text, "read_text", read_text)
    inventory = inventory_of(tmp_path)
    assert services(inventory) == {"svc": ["pytest"]}
    assert errors(inventory) == ["svc/requirements-dev.txt:1: cannot read file: No such file or directory"]


def test_the_cli_reports_a_vanished_file_and_prints_the_rest(
    three_services: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    vanishing(monkeypatch, lambda workspace: (workspace.root / "a" / "requirements.txt").unlink())
    assert main(["inventory", str(three_services), "--format", "json"]) == 2
    captured = capsys.readouterr()
    assert '"name": "c"' in captured.out
    assert captured.err == "a/requirements.txt:1: cannot read file: No such file or directory\n"


# --------------------------------------------------------------------------- strange names

NAMES = (
    "my service",
    "  leading and trailing  ",
    "café",  # NFC
    unicodedata.normalize("NFD", "café"),  # the same name, decomposed: another directory on Linux
    "服务",
    "🚀 rocket",
    "-starts-with-dash",
    "--format",
    "semi;colon",
    "quote'and\"double",
    "back\\slash",
    "percent%41",
    "dollar$HOME",
    "star*?[glob]",
    "new\nline",
    "tab\there",
)


def _mkdir_all(root: Path, names: tuple[str, ...]) -> list[str]:
    made = []
    for name in names:
        try:
            write(root / name / "requirements.txt")
        except OSError:  # a file system that refuses the name
            continue
        made.append(name)
    return made


def test_strange_directory_names(tmp_path: Path) -> None:
    made = _mkdir_all(tmp_path, NAMES)
    inventory = inventory_of(tmp_path)
    assert sorted(services(inventory)) == sorted(made)
    assert all(packages == ["pytest"] for packages in services(inventory).values())
    assert errors(inventory) == []


def test_strange_file_names(tmp_path: Path) -> None:
    for name in ("requirements dev.txt", "requirements-ü.txt", "requirements\n.txt", "requirements-🚀.txt"):
        write(tmp_path / "svc" / name, "pytest=8\n")  # invalid: the errors name the files
    inventory = inventory_of(tmp_path)
    assert len(inventory.errors) == 4
    assert "svc/requirements\\n.txt:1: invalid requirement" in "\n".join(errors(inventory))


@pytest.mark.skipif(sys.platform == "darwin" or os.name == "nt", reason="needs a file system that takes any bytes")
def test_undecodable_names(tmp_path: Path) -> None:
    raw = os.fsencode(tmp_path / "ws") + b"/caf\xe9"
    os.makedirs(raw)
    with open(raw + b"/requirements.txt", "w", encoding="utf-8") as handle:
        handle.write(PIN)
    with open(raw + b"/requirements-\xff.txt", "w", encoding="utf-8") as handle:
        handle.write("pytest=8\n")
    inventory = inventory_of(tmp_path / "ws")
    assert services(inventory) == {os.fsdecode(b"caf\xe9"): ["pytest"]}
    assert len(inventory.errors) == 1
    # Out through a strict UTF-8 stdout and into a file: the names go out as the bytes they are.
    output = tmp_path / "inventory.json"
    for extra in ([], ["--format", "json"], ["--format", "json", "--output", str(output)]):
        result = subprocess.run(
            [sys.executable, "-m", "envguard", "inventory", str(tmp_path / "ws"), *extra],
            capture_output=True,
            env=dict(os.environ, PYTHONIOENCODING="utf-8"),
            timeout=60,
            check=False,
        )
        assert result.returncode == 2, result.stderr
        assert b"internal error" not in result.stderr
        assert b"caf\xe9" in result.stdout + (output.read_bytes() if output.exists() else b"")


# --------------------------------------------------------------------------- determinism


def _build_shuffled(root: Path, seed: int) -> None:
    """The example monorepo plus strange names and broken files, created in a shuffled order."""
    rng = random.Random(seed)
    entries: list[tuple[Path, bytes]] = [
        (path.relative_to(EXAMPLE_SERVICES.parent), path.read_bytes())
        for path in EXAMPLE_SERVICES.rglob("*")
        if path.is_file()
    ]
    extra = {
        "services/café/requirements.txt": PIN,
        "services/my service/requirements.txt": "pytest==8.3.4\npluggy==1.5.0\n",
        "services/broken/poetry.lock": "[[package]\n",
        "services/broken/requirements.txt": "pytest=8\n",
        "services/warned/poetry.lock": '[metadata]\nlock-version = "9.0"\n',
        "libs/a/requirements.txt": "b==1\na==1\n",
        "libs/z/requirements.txt": "a==2\n",
    }
    entries += [(Path(name), text.encode("utf-8")) for name, text in extra.items()]
    rng.shuffle(entries)
    for relative, data in entries:
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def test_inventory_json_is_identical_across_hash_seeds_and_creation_orders(tmp_path: Path) -> None:
    outputs = set()
    for run, seed in enumerate(("0", "1", "4242")):
        workspace = tmp_path / f"ws{run}"
        _build_shuffled(workspace, run)
        env = dict(os.environ, PYTHONHASHSEED=seed)
        result = subprocess.run(
            # --name: the repository's name would otherwise be each directory's own.
            [sys.executable, "-m", "envguard", "inventory", str(workspace), "--format", "json", "--name", "ws"],
            capture_output=True,
            env=env,
            cwd=tmp_path,
            timeout=60,
            check=False,
        )
        assert result.returncode == 2, result.stderr  # the broken files
        assert b"internal error" not in result.stderr
        outputs.add((result.stdout, result.stderr))
    assert len(outputs) == 1


def test_discovery_does_not_depend_on_directory_listing_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _build_shuffled(tmp_path, 7)
    real_scandir = os.scandir
    baseline = load_inventory([tmp_path])
    for seed in range(3):
        rng = random.Random(seed)

        def scandir(path: Any = ".") -> Iterator[os.DirEntry[str]]:
            entries = list(real_scandir(path))
            rng.shuffle(entries)
            return iter(entries)

        monkeypatch.setattr(os, "scandir", scandir)
        assert load_inventory([tmp_path]) == baseline
        monkeypatch.setattr(os, "scandir", real_scandir)
    assert build_inventory(discover([tmp_path])) == baseline
