"""The check cache (envguard.check_cache): a warm `check` reports exactly what a run without it does.

Every test compares a cached run_check with one made with --no-cache, after changing the
workspace the way users do: a dependency moved, lines shifted, a service added or removed,
pytest configuration written, the policy edited. The counting tests pin down that a warm run
only redoes the work a change calls for.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from envguard import cache as cache_module
from envguard import check as check_module
from envguard import check_cache
from envguard.check import CheckResult, run_check
from envguard.inventory import LoadOptions
from envguard.markers import Target
from envguard.rules import drift as drift_module
from tests.kit import EXAMPLE, write
from tests.test_check import POLICY as CHECK_POLICY
from tests.test_check import SUGAR_EXCEPTION

TODAY = dt.date(2027, 1, 20)

# The end-to-end policy of tests/test_check.py, with drift rules of every kind.
POLICY = CHECK_POLICY + SUGAR_EXCEPTION + """\
drift:
  default: same-minor
  rules:
    - packages: ["pytest", "pytest-*"]
      require: exact
    - packages: [idna]
      require: {pinned: ">=3.7,<4"}
    - packages: [anyio, sniffio]
      require: {snap-to: billing}
"""


def _workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".envguard-cache"))
    write(root / "policies" / "envguard.yaml", POLICY)
    return root


def _outcome(result: CheckResult) -> tuple[Any, ...]:
    services = [(s.name, s.path, s.sources, s.ignored) for s in result.inventory.services]
    return (result.findings, result.errors, result.warnings, result.matrix, result.policy_files, services)


def _check(root: Path, *, cache: bool, target: Target = Target(), **options: Any) -> CheckResult:
    return run_check([root], today=TODAY, target=target, load=LoadOptions(cache=cache, jobs=1), **options)


def _same_as_without_cache(root: Path, **options: Any) -> CheckResult:
    cached = _check(root, cache=True, **options)
    assert _outcome(cached) == _outcome(_check(root, cache=False, **options))
    return cached


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# --------------------------------------------------------------------------- workspace changes


def _bump_pytest(root: Path) -> None:
    _replace(root / "services" / "orders" / "poetry.lock", 'version = "8.4.2"', 'version = "8.4.1"')


def _shift_lines(root: Path) -> None:
    path = root / "services" / "reports" / "requirements.txt"
    path.write_text("# a comment moves every entry down a line\n" + path.read_text(encoding="utf-8"), encoding="utf-8")


def _remove_service(root: Path) -> None:
    shutil.rmtree(root / "services" / "gateway")


def _add_service(root: Path) -> None:
    shutil.copytree(root / "services" / "billing", root / "services" / "payroll")
    _replace(root / "services" / "payroll" / "uv.lock", 'version = "8.4.2"', 'version = "8.3.5"')


def _require_plugin_in_config(root: Path) -> None:
    write(root / "services" / "orders" / "pytest.ini", "[pytest]\nrequired_plugins = pytest-timeout\n")


def _conftest(root: Path) -> None:
    write(root / "services" / "gateway" / "conftest.py", 'pytest_plugins = ["sniffio"]\n')


def _break_config(root: Path) -> None:
    write(root / "services" / "inventory" / "tox.ini", "[pytest\naddopts = -p xdist\n")


def _edit_policy(root: Path) -> None:
    _replace(root / "policies" / "envguard.yaml", "default: same-minor", "default: exact")


def _move_reference(root: Path) -> None:
    """A change to the snap-to reference service moves the target of every other one."""
    _replace(root / "services" / "billing" / "uv.lock", 'name = "anyio"\nversion = "', 'name = "anyio"\nversion = "9')


CHANGES: dict[str, Callable[[Path], None]] = {
    "bump": _bump_pytest,
    "shift-lines": _shift_lines,
    "remove-service": _remove_service,
    "add-service": _add_service,
    "required-plugin": _require_plugin_in_config,
    "conftest": _conftest,
    "broken-config": _break_config,
    "policy": _edit_policy,
    "snap-to-reference": _move_reference,
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_warm_run_after_a_change_reports_what_a_cold_one_does(tmp_path: Path, change: str) -> None:
    root = _workspace(tmp_path)
    before = _same_as_without_cache(root)
    assert before.findings and before.matrix is not None and before.matrix.rows
    assert _same_as_without_cache(root) == before  # unchanged: all from the cache
    CHANGES[change](root)
    after = _same_as_without_cache(root)
    assert _outcome(after) != _outcome(before)
    assert _same_as_without_cache(root) == after


def test_any_sequence_of_changes(tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    order = sorted(CHANGES)
    random.Random(2027).shuffle(order)
    for change in order:
        CHANGES[change](root)
        _same_as_without_cache(root)
    # And back: the removed service and the deleted files come back, the cache catches up.
    shutil.rmtree(root / "services")
    shutil.copytree(EXAMPLE / "services", root / "services", ignore=shutil.ignore_patterns(".envguard-cache"))
    _same_as_without_cache(root)


def test_each_target_has_its_own_results(tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    for python in ("3.9", "3.13", "3.9"):
        _same_as_without_cache(root, target=Target(python=python))


def test_alternating_targets_keep_each_other_s_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _workspace(tmp_path)
    counts = _Counts(monkeypatch)
    for python in ("3.10", "3.13"):
        _check(root, cache=True, target=Target(python=python))
    counts.reset()
    for python in ("3.10", "3.13", "3.10"):
        _check(root, cache=True, target=Target(python=python))
        assert (counts.assessed, counts.compared) == ([], []), python


def test_only_the_most_recent_contexts_are_kept_with_their_packs(tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    directory = cache_module.default_directory(root)
    (directory / cache_module.PACKS).mkdir(parents=True)
    # envguard before per-context files: one check.bin and its packs, removed on the next write.
    (directory / "check.bin").write_bytes(b"old")
    (directory / cache_module.PACKS / "check-0123456789abcdef.pack").write_bytes(b"old")
    written: list[str] = []
    for index, python in enumerate(("3.9", "3.10", "3.11", "3.12", "3.13")):
        _check(root, cache=True, target=Target(python=python))
        (newest,) = set(p.stem for p in directory.glob("check-*.bin")) - set(written)
        written.append(newest)
        os.utime(directory / f"{newest}.bin", (1_000_000 + index, 1_000_000 + index))
    kept = sorted(p.stem for p in directory.glob("check-*.bin"))
    assert kept == sorted(written[-check_cache.MAX_CONTEXTS :]) and not (directory / "check.bin").exists()
    packs = sorted(p.name for p in (directory / cache_module.PACKS).glob("check-*.pack"))
    assert packs and all(name.startswith(tuple(f"{stem}-" for stem in kept)) for name in packs)


def test_changed_and_select_see_the_cached_services(tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    changed = [root / "services" / "orders" / "poetry.lock"]
    _same_as_without_cache(root, changed=changed)
    _bump_pytest(root)
    result = _same_as_without_cache(root, changed=changed, select=frozenset({"EG201"}))
    assert result.scope == frozenset({"orders"}) and result.findings


# --------------------------------------------------------------------------- only what changed


class _Counts:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.assessed: list[str] = []
        self.compared: list[str] = []
        assess, package_drift = check_module.assess, drift_module.package_drift

        def counting_assess(service: Any, *args: Any) -> Any:
            self.assessed.append(service.name)
            return assess(service, *args)

        def counting_drift(name: str, *args: Any) -> Any:
            self.compared.append(name)
            return package_drift(name, *args)  # type: ignore[arg-type]

        monkeypatch.setattr(check_module, "assess", counting_assess)
        monkeypatch.setattr(drift_module, "package_drift", counting_drift)

    def reset(self) -> None:
        self.assessed.clear()
        self.compared.clear()


def test_a_warm_run_redoes_only_what_changed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _workspace(tmp_path)
    counts = _Counts(monkeypatch)
    _check(root, cache=True)
    assert len(counts.assessed) == 11 and len(counts.compared) > 50
    counts.reset()
    _check(root, cache=True)
    assert (counts.assessed, counts.compared) == ([], [])

    # The service's own version: its entries of every other package are as they were.
    counts.reset()
    _replace(root / "services" / "billing" / "uv.lock", 'name = "billing"\nversion = "2.3.0"', 'name = "billing"\nversion = "2.3.1"')
    _check(root, cache=True)
    assert (counts.assessed, counts.compared) == (["billing"], [])

    # One dependency moved: that package is compared again, nothing else.
    counts.reset()
    _bump_pytest(root)
    _check(root, cache=True)
    assert (counts.assessed, counts.compared) == (["orders"], ["pytest"])

    # A pytest configuration file appears beside the records.
    counts.reset()
    _require_plugin_in_config(root)
    _check(root, cache=True)
    assert counts.assessed == ["orders"]


def test_entries_that_only_moved_lines_are_not_compared_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _workspace(tmp_path)
    counts = _Counts(monkeypatch)
    _same_as_without_cache(root)
    counts.reset()
    _shift_lines(root)
    cached = _check(root, cache=True)
    assert counts.compared == []
    assert _outcome(cached) == _outcome(_check(root, cache=False))
    assert any(l.path == "services/reports/requirements.txt" for f in cached.findings for l in f.locations)

    # A re-lock that moves one dependency: that package is compared again, the others only
    # take their new lines.
    counts.reset()
    lock = root / "services" / "billing" / "uv.lock"
    text = lock.read_text(encoding="utf-8")
    start = text.index('[[package]]\nname = "annotated-doc"')
    end = text.index("[[package]]", start + 1)
    block = text[start:end].replace('version = "0.0.7"', 'version = "0.0.8"')
    lock.write_text(text[:start] + "# moved\n" + block + text[end:], encoding="utf-8")
    cached = _check(root, cache=True)
    assert counts.compared == ["annotated-doc"]
    assert _outcome(cached) == _outcome(_check(root, cache=False))


def test_entries_that_changed_places_are_compared_again(tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    path = root / "services" / "reports" / "requirements.txt"
    _same_as_without_cache(root)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(reversed(lines)), encoding="utf-8")
    _same_as_without_cache(root)


def test_moved_lines_are_folded_into_the_members_after_a_while(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(check_cache, "_MAX_PATCHES", 1)
    root = _workspace(tmp_path)
    _same_as_without_cache(root)
    for service, record in [("reports", "requirements.txt"), ("search", "requirements.txt"), ("reports", "requirements.txt")]:
        path = root / "services" / service / record
        path.write_text("# one more line\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
        _same_as_without_cache(root)
    _bump_pytest(root)
    _same_as_without_cache(root)


def test_a_service_whose_configuration_cannot_be_read_is_assessed_every_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _workspace(tmp_path)
    _break_config(root)
    counts = _Counts(monkeypatch)
    first = _check(root, cache=True)
    assert first.errors
    counts.reset()
    second = _check(root, cache=True)
    assert counts.assessed == ["inventory"] and _outcome(second) == _outcome(first)


# --------------------------------------------------------------------------- the file


def _cache_files(root: Path) -> tuple[Path, list[Path]]:
    directory = cache_module.default_directory(root)
    (index,) = directory.glob("check-*.bin")
    return index, sorted((directory / cache_module.PACKS).glob("check-*.pack"))


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: b"",
        lambda data: data[: len(data) // 2],
        lambda data: data[:-1] + bytes([data[-1] ^ 1]),
    ],
    ids=["empty", "truncated", "flipped-bit"],
)
@pytest.mark.parametrize("where", ["index", "pack"])
def test_a_damaged_check_cache_is_not_trusted(tmp_path: Path, damage: Any, where: str) -> None:
    root = _workspace(tmp_path)
    _same_as_without_cache(root)
    index, packs = _cache_files(root)
    for path in [index] if where == "index" else packs:
        path.write_bytes(damage(path.read_bytes()))
    # A damaged pack is noticed when one of its blobs is read: change something that needs them.
    _bump_pytest(root)
    _same_as_without_cache(root)
    _same_as_without_cache(root)


def test_a_run_that_starts_over_leaves_no_temporary_pack(tmp_path: Path) -> None:
    """Blobs go to the next pack's temporary file as they are made: the blobs of an evaluation
    abandoned at a damaged blob must not stay behind beside the ones written afresh."""
    root = _workspace(tmp_path)
    _same_as_without_cache(root)
    _, packs = _cache_files(root)
    for path in packs:  # every blob
        path.write_bytes(bytes(path.stat().st_size))
    _bump_pytest(root)
    _same_as_without_cache(root)
    directory = cache_module.default_directory(root) / cache_module.PACKS
    assert [path.name for path in directory.iterdir() if path.name.startswith(".")] == []


def test_a_check_cache_written_with_another_key_is_discarded_quietly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _workspace(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "someone-else"))
    cache_module._secret.cache_clear()
    try:
        _check(root, cache=True)
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "me"))
        cache_module._secret.cache_clear()
        index, _ = _cache_files(root)
        # A context whose file name is that index's: the key is what fails, before the context.
        store = check_cache.CheckCache(index.parent, root, bytes.fromhex(index.stem.removeprefix("check-")))
        assert store.discarded == "Foreign: not written with this user's key" and store.forged is None
        capsys.readouterr()
        _same_as_without_cache(root)
        assert capsys.readouterr().err == ""
    finally:
        cache_module._secret.cache_clear()


def _stderr_of_checks(root: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """What two cached runs, each the same as one without the cache, said on stderr."""
    said = []
    for _ in range(2):
        capsys.readouterr()
        _same_as_without_cache(root)
        said.append(capsys.readouterr().err)
    return said


def test_a_forged_check_index_is_reported_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _workspace(tmp_path)
    _check(root, cache=True)
    index, _ = _cache_files(root)
    data = bytearray(index.read_bytes())
    data[-1] ^= 1  # in the payload, after the key id and the seal
    index.write_bytes(bytes(data))
    assert _stderr_of_checks(root, capsys) == [
        f".envguard-cache/{index.name}: warning: the index does not match its seal; ignored, the cache is rewritten\n",
        "",
    ]


def test_a_forged_blob_in_a_check_pack_is_reported_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _workspace(tmp_path)
    _check(root, cache=True)
    _, (pack,) = _cache_files(root)
    pack.write_bytes(bytes(byte ^ 1 for byte in pack.read_bytes()))  # every blob
    _bump_pytest(root)  # a changed service reads its entries as kept, a changed package its members
    assert _stderr_of_checks(root, capsys) == [
        f".envguard-cache/packs/{pack.name}: warning: a blob does not match the digest its index holds; "
        "ignored, the cache is rewritten\n",
        "",
    ]


def test_a_forged_check_cache_keeps_json_on_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from envguard.cli import main

    root = _workspace(tmp_path)
    args = ["check", "--format", "json", "--today", TODAY.isoformat(), str(root)]
    main([*args, "--no-cache"])
    expected = capsys.readouterr()
    main(args)
    capsys.readouterr()
    index, _ = _cache_files(root)
    data = bytearray(index.read_bytes())
    data[-1] ^= 1
    index.write_bytes(bytes(data))
    main(args)
    forged = capsys.readouterr()
    assert forged.out == expected.out
    warning = f".envguard-cache/{index.name}: warning: the index does not match its seal; ignored, the cache is rewritten\n"
    assert forged.err == warning + expected.err


def test_a_run_that_changed_nothing_touches_its_index_instead_of_rewriting_it(tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    past = 1_000_000_000  # no file of the workspace was written within the timestamp resolution
    for path in root.rglob("*"):
        os.utime(path, (past, past))
    _same_as_without_cache(root)
    _check(root, cache=True)  # the inventory cache took the files' status as they are now
    index, packs = _cache_files(root)
    os.utime(index, (past, past))
    before = (index.stat().st_ino, index.read_bytes(), packs)
    _same_as_without_cache(root)
    assert (index.stat().st_ino, index.read_bytes(), _cache_files(root)[1]) == before
    assert index.stat().st_mtime > past  # still the most recently used context
    _bump_pytest(root)
    _same_as_without_cache(root)
    assert _cache_files(root)[0].read_bytes() != before[1]


def test_a_warm_run_writes_only_what_changed_and_old_packs_go(tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    _check(root, cache=True)
    index, (first,) = _cache_files(root)
    _bump_pytest(root)
    _check(root, cache=True)
    _, packs = _cache_files(root)
    assert first in packs and len(packs) == 2
    (new,) = [p for p in packs if p != first]
    assert new.stat().st_size < first.stat().st_size / 4
    _bump_pytest_back = lambda: _replace(  # noqa: E731
        root / "services" / "orders" / "poetry.lock", 'version = "8.4.1"', 'version = "8.4.2"'
    )
    _bump_pytest_back()
    _check(root, cache=True)
    _, after = _cache_files(root)
    assert new not in after and first in after  # the blobs of the replaced pack are not used


def test_many_warm_runs_keep_a_bounded_number_of_packs(tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    lock = root / "services" / "orders" / "poetry.lock"
    for run in range(2 * cache_module._MAX_PACKS + 2):
        old, new = ('"8.4.2"', '"8.4.1"') if run % 2 == 0 else ('"8.4.1"', '"8.4.2"')
        _replace(lock, f"version = {old}", f"version = {new}")
        _check(root, cache=True)
        assert len(_cache_files(root)[1]) <= cache_module._MAX_PACKS + 1
    _same_as_without_cache(root)


def test_context_keys_do_not_depend_on_hash_order() -> None:
    from envguard.policy import Policy

    policy = Policy(also_plugins=frozenset({"alpha", "beta", "gamma"}), approved={"b": "*", "a": "*"})  # type: ignore[arg-type]
    same = Policy(also_plugins=frozenset({"gamma", "alpha", "beta"}), approved={"a": "*", "b": "*"})  # type: ignore[arg-type]
    assert check_cache.context_key(policy, Target()) == check_cache.context_key(same, Target())
    assert check_cache.context_key(policy, Target()) != check_cache.context_key(policy, Target(python="3.12"))


def test_a_pack_that_vanishes_while_compacting_costs_only_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _workspace(tmp_path)
    _check(root, cache=True)
    monkeypatch.setattr(cache_module, "_MAX_PACKS", 0)  # the next run compacts
    real_keep = cache_module.SealedWriter.keep

    def keep_after_the_packs_went(self: Any, ref: Any) -> Any:
        if ref[0] != self._pack:  # a blob of an earlier run's pack, not one this run wrote
            for pack in (cache_module.default_directory(root) / cache_module.PACKS).glob("*.pack"):
                pack.unlink()
            self._source._open.clear()  # as if this run had not opened them yet
        return real_keep(self, ref)

    monkeypatch.setattr(cache_module.SealedWriter, "keep", keep_after_the_packs_went)
    _bump_pytest(root)
    _same_as_without_cache(root)


def _random_change(root: Path, rng: random.Random) -> None:
    """One edit of the kind a day of commits makes, chosen by `rng`."""
    services = sorted(p for p in (root / "services").iterdir() if p.is_dir())
    service = rng.choice(services)
    records = sorted(p for p in service.iterdir() if p.suffix in (".lock", ".toml", ".txt") and p.name != "pyproject.toml")
    kind = rng.randrange(6)
    if kind == 0 and records:  # a version moves: `version = "X"` in a lock, `==X` in a requirements file
        path = rng.choice(records)
        text = path.read_text(encoding="utf-8")
        pins = list(re.finditer(r'^version = "[^"]+(?=")|==[\w.]+', text, re.M))
        if pins:
            end = rng.choice(pins).end()
            path.write_text(text[:end] + ".1" + text[end:], encoding="utf-8")
    elif kind == 1 and records:  # lines shift: a blank line more between two entries
        path = rng.choice(records)
        lines = path.read_text(encoding="utf-8").split("\n")
        blank = [i for i, line in enumerate(lines) if line == ""]
        if blank:
            lines.insert(rng.choice(blank), "")
            path.write_text("\n".join(lines), encoding="utf-8")
    elif kind == 2:  # a pytest configuration comes or goes
        ini = service / "pytest.ini"
        if ini.exists():
            ini.unlink()
        else:
            write(ini, f"[pytest]\nrequired_plugins = pytest-{rng.choice(['timeout', 'cov', 'mock'])}\n")
    elif kind == 3 and len(services) > 2:  # a service goes
        shutil.rmtree(service)
    elif kind == 4:  # a service comes back, or a copy of one appears
        name = rng.choice(sorted(p.name for p in (EXAMPLE / "services").iterdir()))
        target = root / "services" / (name if not (root / "services" / name).exists() else f"{name}-copy")
        if not target.exists():
            shutil.copytree(EXAMPLE / "services" / name, target, ignore=shutil.ignore_patterns(".envguard-cache"))
    elif records:  # a record is cut short: an error for that service, the others still checked
        path = rng.choice(records)
        text = path.read_text(encoding="utf-8")
        path.write_text(text[: len(text) // 2], encoding="utf-8")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_days_of_changes(tmp_path: Path, seed: int) -> None:
    root = _workspace(tmp_path)
    rng = random.Random(seed)
    _same_as_without_cache(root)
    for _ in range(8):
        _random_change(root, rng)
        _same_as_without_cache(root)
