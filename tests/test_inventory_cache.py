"""The inventory cache (envguard.cache) and parallel loading behind build_inventory(cache=, jobs=).

Neither may change a result: every test compares against a plain build_inventory(workspace, jobs=1).
"""

from __future__ import annotations

import io
import marshal
import os
import shutil
from pathlib import Path

import pytest

from envguard import cache as cache_module
from envguard.inventory import build_inventory
from envguard.model import Inventory
from envguard.workspace import discover
from tests.kit import BILLING_LOCK, NOTIFICATIONS_LOCK, ORDERS_LOCK, PLAIN_REQUIREMENTS, add_service, write


def _workspace(root: Path) -> Path:
    billing = add_service(root, "billing", BILLING_LOCK)
    # Declarations are cached with the records: a tox environment, a requirements file beside a lock.
    write(billing / "tox.ini", "[testenv]\ndeps =\n    pytest==8.3.5\n    cov: pytest-cov\n[tox]\nenv_list = py312-cov\n")
    orders = add_service(root, "orders", ORDERS_LOCK)
    write(orders / "requirements-ci.txt", "pytest-randomly==3.16.0\n")
    add_service(root, "notifications", NOTIFICATIONS_LOCK)
    search = add_service(root, "search", PLAIN_REQUIREMENTS)
    write(search / "requirements-dev.txt", "-r requirements.txt\npytest-timeout==2.4.0\n")
    return root


def _plain(root: Path) -> Inventory:
    return build_inventory(discover([root]), jobs=1)


def _cached(root: Path, **kwargs: object) -> tuple[Inventory, cache_module.InventoryCache]:
    """build_inventory with the cache, and the cache as the next run sees it (for its counters)."""
    directory = cache_module.default_directory(root)
    inventory = build_inventory(discover([root]), cache=directory, **kwargs)  # type: ignore[arg-type]
    return inventory, cache_module.InventoryCache(directory, root)


def _hits(root: Path) -> tuple[int, int]:
    store = cache_module.InventoryCache(cache_module.default_directory(root), root)
    workspace = discover([root])
    from envguard.inventory import _cache_key

    for spec in workspace.services:
        store.lookup(_cache_key(spec, root))
    return store.hits, store.misses


def test_a_second_run_is_served_from_the_cache(tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    first, _ = _cached(root)
    assert first == _plain(root)
    assert _hits(root) == (4, 0)
    second, _ = _cached(root)
    assert second == first
    directory = cache_module.default_directory(root)
    assert (directory / ".gitignore").read_text(encoding="utf-8").splitlines()[-1] == "*"
    assert (directory / "CACHEDIR.TAG").read_text(encoding="utf-8").startswith("Signature: 8a477f597d28d172789f06886806bc55")


def test_a_changed_lockfile_is_read_again(tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    _cached(root)
    lock = root / "services" / "orders" / "poetry.lock"
    lock.write_text(lock.read_text(encoding="utf-8").replace('version = "8.4.2"', 'version = "8.4.3"', 1), encoding="utf-8")
    assert _hits(root) == (3, 1)
    inventory, _ = _cached(root)
    assert inventory == _plain(root)
    orders = next(s for s in inventory.services if s.name == "orders")
    assert any(p.version == "8.4.3" for p in orders.packages)


def test_a_changed_declaring_file_is_read_again(tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    first, _ = _cached(root)
    billing = next(s for s in first.services if s.name == "billing")
    assert [(d.name, d.environment) for d in billing.declarations] == [
        ("pytest", "services/billing/tox.ini [testenv:py312-cov]"),
        ("pytest-cov", "services/billing/tox.ini [testenv:py312-cov]"),
    ]
    tox = root / "services" / "billing" / "tox.ini"
    tox.write_text(tox.read_text(encoding="utf-8").replace("8.3.5", "8.4.2"), encoding="utf-8")
    assert _hits(root) == (3, 1)
    inventory, _ = _cached(root)
    assert inventory == _plain(root)
    billing = next(s for s in inventory.services if s.name == "billing")
    assert billing.declarations[0].version == "8.4.2"


def test_a_changed_include_is_read_again(tmp_path: Path) -> None:
    """The entry records every file the loader read, not only the record itself."""
    root = _workspace(tmp_path)
    _cached(root)
    base = root / "services" / "search" / "requirements.txt"
    base.write_text(base.read_text(encoding="utf-8") + "attrs==26.1.0\n", encoding="utf-8")
    assert _hits(root) == (3, 1)
    inventory, _ = _cached(root)
    assert inventory == _plain(root)


def test_the_pyproject_of_an_editable_project_is_watched(tmp_path: Path) -> None:
    root = tmp_path
    # A range makes it a requirements file (pip freeze output has only pins).
    service = add_service(root, "api", extra={"requirements.txt": "attrs>=26\n-e ./lib\n"})
    write(service / "lib" / "pyproject.toml", '[project]\nname = "acme-lib"\n')
    first, _ = _cached(root)
    assert [p.name for p in first.services[0].packages] == ["acme-lib", "attrs"]
    write(service / "lib" / "pyproject.toml", '[project]\nname = "acme-other"\n')
    second, _ = _cached(root)
    assert [p.name for p in second.services[0].packages] == ["acme-other", "attrs"]


def test_same_content_with_a_new_timestamp_is_a_hit(tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    _cached(root)
    lock = root / "services" / "billing" / "uv.lock"
    status = lock.stat()
    os.utime(lock, ns=(status.st_atime_ns, status.st_mtime_ns + 5_000_000_000))
    assert _hits(root) == (4, 0)


def test_a_copied_workspace_reuses_the_cache(tmp_path: Path) -> None:
    root = _workspace(tmp_path / "a")
    _cached(root)
    copy = tmp_path / "b"
    shutil.copytree(root, copy)  # new inodes and times, same content
    assert _hits(copy) == (4, 0)
    assert _cached(copy)[0] == _plain(copy)


FORGED = ".envguard-cache/inventory.bin: warning: the index does not match its seal; ignored, the cache is rewritten\n"


def _before_key_ids(data: bytes) -> bytes:
    """An index as envguard wrote it before key ids, with this user's key: the seal after the magic."""
    import marshal

    payload = marshal.dumps(((4,), {}, {}))
    seal = cache_module._seal(payload)
    assert seal is not None
    return cache_module._MAGIC + seal + payload


@pytest.mark.parametrize(
    ("damage", "said"),
    [
        # Nothing that names this user's key: another envguard's file, or none, quietly replaced.
        (lambda data: b"", ""),
        (lambda data: b"garbage", ""),
        (lambda data: data.replace(b"envguard inventory cache", b"envguard inventory cachf"), ""),
        (_before_key_ids, ""),
        # This user's key id, not what it sealed.
        (lambda data: data[: len(data) // 2], FORGED),
        (lambda data: data[:-1] + bytes([data[-1] ^ 1]), FORGED),
    ],
    ids=["empty", "garbage", "wrong-magic", "before-key-ids", "truncated", "flipped-bit"],
)
def test_a_damaged_cache_is_discarded_and_rewritten(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: object, said: str
) -> None:
    root = _workspace(tmp_path)
    _cached(root)
    path = cache_module.default_directory(root) / cache_module.FILE
    path.write_bytes(damage(path.read_bytes()))  # type: ignore[operator]
    store = cache_module.InventoryCache(cache_module.default_directory(root), root)
    assert store.discarded is not None
    capsys.readouterr()
    inventory, _ = _cached(root)
    assert inventory == _plain(root)
    assert capsys.readouterr().err == said
    assert _hits(root) == (4, 0)
    # Rewritten: the next run has nothing to say.
    assert _cached(root)[0] == _plain(root)
    assert capsys.readouterr().err == ""


def test_an_index_malformed_under_a_good_seal_is_reported_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """What only a holder of the key could write (or a bug): sealed, but not an index."""
    import marshal

    root = _workspace(tmp_path)
    _cached(root)
    path = cache_module.default_directory(root) / cache_module.FILE
    key_id = cache_module._key_id()
    assert key_id is not None
    good = cache_module.SealedFile.read(path, cache_module._MAGIC)
    entries = dict(good.content)
    entries[next(iter(entries))] = ("files", "meta")  # not (files, meta, rows)
    for content in ([], entries):
        sealed = cache_module._header_digest() + marshal.dumps((content, good.packs))
        seal = cache_module._seal(key_id + sealed)
        assert seal is not None
        path.write_bytes(cache_module._MAGIC + key_id + seal + sealed)
        capsys.readouterr()
        assert _cached(root)[0] == _plain(root)
        what = "the index is malformed under a good seal" if content == [] else "an entry of the index is malformed under a good seal"
        assert capsys.readouterr().err == f".envguard-cache/inventory.bin: warning: {what}; ignored, the cache is rewritten\n"
        assert _cached(root)[0] == _plain(root)
        assert capsys.readouterr().err == ""


def test_a_cache_from_another_envguard_version_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _workspace(tmp_path)
    _cached(root)
    monkeypatch.setattr(cache_module, "__version__", "99.0")
    cache_module._header.cache_clear()
    try:
        store = cache_module.InventoryCache(cache_module.default_directory(root), root)
        assert store.discarded is not None and "another envguard" in store.discarded
    finally:
        monkeypatch.undo()
        cache_module._header.cache_clear()


def test_loads_with_errors_are_not_kept(tmp_path: Path) -> None:
    root = tmp_path
    add_service(root, "broken", extra={"requirements.txt": "-r missing.txt\n"})
    first, _ = _cached(root)
    assert first.errors
    write(root / "services" / "broken" / "missing.txt", "attrs==26.1.0\n")
    second, _ = _cached(root)
    assert second == _plain(root) and not second.errors


def test_no_cache_reads_everything_and_writes_nothing(tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    inventory = build_inventory(discover([root]), cache=None)
    assert inventory == _plain(root)
    assert not cache_module.default_directory(root).exists()


def test_a_read_only_place_only_loses_the_cache(tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    blocker = tmp_path / "blocked"
    blocker.write_text("a file where the cache directory would go", encoding="utf-8")
    inventory = build_inventory(discover([root]), cache=blocker / "cache")
    assert inventory == _plain(root)


def test_the_cache_does_not_show_up_as_a_service(tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    _cached(root)
    assert [s.name for s in discover([root]).services] == ["billing", "notifications", "orders", "search"]


@pytest.mark.parametrize("jobs", [2, None])
def test_worker_processes_give_the_same_inventory(tmp_path: Path, jobs: int | None) -> None:
    root = _workspace(tmp_path)
    calls: list[tuple[int, int, str]] = []
    inventory = build_inventory(discover([root]), jobs=jobs, progress=lambda *args: calls.append(args))
    assert inventory == _plain(root)
    assert sorted(c[0] for c in calls) == [1, 2, 3, 4] and {c[2] for c in calls} == {s.name for s in inventory.services}
    # And with the cache written from the workers.
    assert _cached(root, jobs=2)[0] == inventory
    assert _hits(root) == (4, 0)


def test_pack_and_unpack_round_trip(tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    services = _plain(root).services
    assert sum(len(s.declarations) for s in services) == 3
    for service in services:
        result = (service, [], [])
        assert cache_module.unpack(cache_module.pack(result)) == result


def test_a_cache_written_with_another_key_is_discarded_quietly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A cache committed to the scanned repository (or copied from elsewhere) is never trusted;
    nor is it reported, since a CI cache restored on another runner is one too."""
    root = _workspace(tmp_path / "ws")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "someone-else"))
    cache_module._secret.cache_clear()
    try:
        _cached(root)
        assert _hits(root) == (4, 0)
        copy = tmp_path / "copy"
        shutil.copytree(root, copy)
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "me"))
        cache_module._secret.cache_clear()
        store = cache_module.InventoryCache(cache_module.default_directory(root), root)
        assert store.discarded == "Foreign: not written with this user's key" and store.forged is None
        assert _hits(root) == (0, 4)
        capsys.readouterr()
        assert _cached(copy)[0] == _plain(copy)
        assert capsys.readouterr().err == ""
        assert _hits(copy) == (4, 0)
    finally:
        cache_module._secret.cache_clear()


def test_a_damaged_pack_costs_only_the_services_it_holds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _workspace(tmp_path)
    _cached(root)
    (pack,) = (cache_module.default_directory(root) / cache_module.PACKS).glob("inventory-*.pack")
    data = bytearray(pack.read_bytes())
    data[len(data) // 2] ^= 1
    pack.write_bytes(bytes(data))
    hits, misses = _hits(root)
    assert (hits, misses) == (3, 1)
    capsys.readouterr()
    assert _cached(root)[0] == _plain(root)
    shown = f".envguard-cache/packs/{pack.name}"
    assert capsys.readouterr().err == f"{shown}: warning: a blob does not match the digest its index holds; ignored, the cache is rewritten\n"
    assert _hits(root) == (4, 0)
    assert _cached(root)[0] == _plain(root)
    assert capsys.readouterr().err == ""


def test_a_forged_entry_of_a_load_with_errors_is_not_kept(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A load with errors is not stored anew: the damaged entry must go all the same, or every
    run would report it."""
    root = _workspace(tmp_path)
    _cached(root)
    (pack,) = (cache_module.default_directory(root) / cache_module.PACKS).glob("inventory-*.pack")
    pack.write_bytes(bytes(byte ^ 1 for byte in pack.read_bytes()))
    write(root / "services" / "search" / "requirements-dev.txt", "-r missing.txt\n")
    capsys.readouterr()
    assert _cached(root)[0] == _plain(root)
    assert capsys.readouterr().err.count(": warning: a blob does not match") == 1
    assert _cached(root)[0] == _plain(root)
    assert capsys.readouterr().err == ""


def test_a_forgery_that_cannot_be_rewritten_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _workspace(tmp_path)
    _cached(root)
    path = cache_module.default_directory(root) / cache_module.FILE
    data = path.read_bytes()
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))

    def read_only(path: Path, parts: list[bytes]) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(cache_module, "write_atomically", read_only)
    capsys.readouterr()
    for _ in range(2):  # said on every run, with what to do
        assert _cached(root)[0] == _plain(root)
        assert capsys.readouterr().err == (
            ".envguard-cache/inventory.bin: warning: the index does not match its seal; ignored, "
            "the cache could not be rewritten: remove .envguard-cache/ or make it writable\n"
        )


def test_cached_packages_and_declarations_are_unpacked_when_first_read(tmp_path: Path) -> None:
    """A warm check takes most services' results from the check cache and never needs their
    packages or declarations."""
    root = _workspace(tmp_path)
    _cached(root)
    inventory, _ = _cached(root)
    service = inventory.services[0]
    assert service.name == "billing"
    assert "packages" not in vars(service) and "declarations" not in vars(service)
    assert service.fingerprint is not None
    assert service.packages == _plain(root).services[0].packages
    assert "packages" in vars(service) and "declarations" not in vars(service)
    assert service.declarations == _plain(root).services[0].declarations != ()
    assert "declarations" in vars(service)
    assert inventory == _plain(root)


def test_the_code_fingerprint_of_an_install_is_its_record_and_of_a_source_tree_its_file_times(tmp_path: Path) -> None:
    """A CI runner restoring the cache installs the same wheel with new file times: it must match."""
    package = tmp_path / "site-packages" / "envguard"
    write(package / "__init__.py", "")
    write(package / "rules" / "drift.py", "x = 1\n")
    source_tree = cache_module._code_fingerprint(str(package))
    os.utime(package / "rules" / "drift.py", ns=(0, 10**18))
    assert cache_module._code_fingerprint(str(package)) != source_tree  # edited in place

    record = "envguard/__init__.py,sha256=abc,0\nenvguard/rules/drift.py,sha256=def,6\nenvguard/__pycache__/x.pyc,,\n"
    write(tmp_path / "site-packages" / "envguard-0.1.0.dist-info" / "RECORD", record)
    installed = cache_module._code_fingerprint(str(package))
    os.utime(package / "rules" / "drift.py", ns=(0, 2 * 10**18))
    assert cache_module._code_fingerprint(str(package)) == installed
    write(tmp_path / "site-packages" / "envguard-0.1.0.dist-info" / "RECORD", record.replace("def", "xyz"))
    assert cache_module._code_fingerprint(str(package)) != installed


def test_packs_of_a_discarded_cache_go_once_no_run_can_be_reading_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _workspace(tmp_path)
    _cached(root)
    packs = cache_module.default_directory(root) / cache_module.PACKS
    (old,) = packs.glob("inventory-*.pack")
    monkeypatch.setattr(cache_module, "__version__", "99.0")  # another envguard: the cache is discarded
    cache_module._header.cache_clear()
    try:
        _cached(root)
        assert old.exists()  # a run of the other envguard may still be reading it
        os.utime(old, (0, 0))
        _cached(root)  # a run that writes nothing new leaves the directory alone
        lock = root / "services" / "billing" / "uv.lock"
        lock.write_text(lock.read_text(encoding="utf-8") + "\n", encoding="utf-8")
        _cached(root)
        assert not old.exists() and len(list(packs.glob("inventory-*.pack"))) == 2
    finally:
        monkeypatch.undo()
        cache_module._header.cache_clear()


def test_temporaries_of_a_crashed_write_go_once_no_write_can_own_them(tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    _cached(root)
    directory = cache_module.default_directory(root)
    # What a run killed between mkstemp and the rename leaves: an index and a pack temporary.
    stale = [directory / f".{cache_module.FILE}-k1ll3d", directory / cache_module.PACKS / ".inventory-0f0f.pack-k1ll3d"]
    fresh = directory / f".{cache_module.FILE}-wr1t1ng"  # a write running right now
    for path in (*stale, fresh):
        path.write_bytes(b"half")
    for path in stale:
        os.utime(path, (0, 0))
    lock = root / "services" / "billing" / "uv.lock"
    lock.write_text(lock.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    _cached(root)
    assert [path.exists() for path in stale] == [False, False] and fresh.exists()


def test_new_blobs_go_to_the_pack_as_they_are_made(tmp_path: Path) -> None:
    """A cold run writes each service's packages to the pack's temporary file when it stores
    them, not at the end (memory); the pack only takes its name once the index is written."""
    root = _workspace(tmp_path)
    directory = cache_module.default_directory(root)
    store = cache_module.InventoryCache(directory, root)
    packed = cache_module.pack((_plain(root).services[0], [], []))
    keys = [(f"copy {n}",) for n in range(2 * io.DEFAULT_BUFFER_SIZE // len(marshal.dumps(packed)) + 1)]
    for key in keys:  # more than the file object's buffer holds
        store.store(key, packed, ())
    packs = directory / cache_module.PACKS
    (temporary,) = packs.iterdir()
    assert temporary.name.startswith(".inventory-") and temporary.stat().st_size > io.DEFAULT_BUFFER_SIZE
    store.save()
    (pack,) = packs.iterdir()
    assert pack.name.endswith(".pack") and not pack.name.startswith(".")
    assert all(cache_module.InventoryCache(directory, root).lookup(key) is not None for key in keys)


def test_a_write_that_cannot_be_sealed_leaves_no_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _workspace(tmp_path)
    directory = cache_module.default_directory(root)
    store = cache_module.InventoryCache(directory, root)
    store.store(("key",), cache_module.pack((_plain(root).services[0], [], [])), ())
    monkeypatch.setattr(cache_module, "_seal", lambda payload: None)  # no usable key any more
    store.save()
    assert list((directory / cache_module.PACKS).iterdir()) == []
    assert not (directory / cache_module.FILE).exists()


def test_loads_unpacked_together_share_equal_values(tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    services = _plain(root).services
    shared: dict[object, object] = {}
    unpacked = [cache_module.unpack(cache_module.pack((service, [], [])), shared)[0] for service in services]
    assert unpacked == list(services)
    versions: dict[str, list[str]] = {}
    for service in unpacked:
        for package in service.packages:
            if package.version is not None:
                versions.setdefault(package.version, []).append(package.version)
    repeated = [same for same in versions.values() if len(same) > 1]
    assert repeated and all(all(v is same[0] for v in same) for same in repeated)


def test_a_file_still_absent_from_a_listed_directory_needs_no_stat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "PyTest.ini").write_text("[pytest]\n", encoding="utf-8")
    case_insensitive = (tmp_path / "svc" / "pytest.ini").is_file()
    absent = tuple((f"svc/{name}", cache_module._ABSENT, 0, 0, 0, b"", False) for name in ("tox.ini", "pytest.ini"))
    asked: list[str] = []
    real = os.path.isfile
    monkeypatch.setattr(cache_module.os.path, "isfile", lambda path: asked.append(path) or real(path))
    # PyTest.ini, case-folded as Workspace.listed holds it. tox.ini is not listed: still absent,
    # nothing asked. pytest.ini matches a listed name but for its case (a case-insensitive file
    # system finds it): asked of the file system.
    listed = {"svc": frozenset({"pytest.ini"})}
    assert cache_module.check_files(str(tmp_path), absent, listed) == (None if case_insensitive else absent)
    assert asked == [os.path.join(str(tmp_path), "svc/pytest.ini")]
    asked.clear()
    cache_module.check_files(str(tmp_path), absent)
    assert len(asked) == 2  # without listings every absent file is asked about
