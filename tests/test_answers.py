"""envguard.answers: what discovery and the policy work out from files, kept between runs.

Nothing kept may change a result: every test compares against a run without the cache.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from envguard import answers as answers_module
from envguard import cache as cache_module
from envguard import policy as policy_module
from envguard.answers import Answers
from envguard.cache import default_directory
from envguard.check import resolve_policy
from envguard.errors import SourceError
from envguard.policy import PolicyError, load_policy
from envguard.sources import detect
from envguard.workspace import discover
from tests.kit import BILLING_LOCK, ROOT, add_service, write

FULL_POLICY = """\
version: 1
pytest:
  allowed: ">=7.0,<9"
plugins:
  unknown: error
  approved:
    pytest-cov: ">=5,<8"
    Pytest_Mock: "*"
  denied:
    nose: "unmaintained"
  also_plugins: [acme-fixtures]
installs:
  unpinned: error
  exempt: [pip, "setuptools*"]
sources:
  indexes: ["https://pypi.org/simple", "https://*.example.com/simple"]
  allow-vcs: ["git+https://github.com/acme/*"]
  allow-url: false
  allow-path: true
  require-hashes: true
  severity:
    hash-missing: warning
exceptions:
  - package: nose
    reason: legacy suite
    expires: 2031-01-31
    services: [billing, "legacy-*"]
    rule: denied-package
    owner: qa
drift:
  default: same-minor
  rules:
    - packages: ["pytest", "pytest-*"]
      services: ["!legacy-*"]
      groups: [dev]
      require: exact
    - packages: [django]
      require: { pinned: ">=4.2,<5" }
    - packages: [requests]
      require: { snap-to: billing }
references:
  image: runner-freeze.txt
"""


def _counting(monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> list[object]:
    calls: list[object] = []
    original = getattr(module, name)

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


def _monorepo(root: Path) -> Path:
    billing = add_service(root, "billing", BILLING_LOCK)
    write(billing / "requirements-ci.txt", "pytest-randomly==3.16.0\n")  # beside a lock: declares
    search = root / "search"
    write(search / "requirements-dev.txt", "pytest==8.3.5\nhypothesis==6.100.0\n")  # freeze-like
    write(search / "requirements-test.txt", "-r requirements-dev.txt\npytest-timeout>=2\n")
    write(root / "broken" / "requirements-bin.txt", "pytest==8\x00\n")  # binary: an error, kept too
    ws = root / "uvws"
    write(ws / "pyproject.toml", '[project]\nname = "ws"\nversion = "1"\n[tool.uv.workspace]\nmembers = ["libs/*"]\n')
    write(ws / "uv.lock", BILLING_LOCK.read_text(encoding="utf-8"))
    write(ws / "libs" / "a" / "pyproject.toml", '[project]\nname = "a"\nversion = "1"\ndependencies = ["anyio"]\n')
    return root


def test_discovery_is_the_same_with_answers_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _monorepo(tmp_path)
    plain = discover([root])
    first = discover([root], cache=True)
    assert first == plain
    assert (default_directory(root) / "discovery.bin").is_file()
    detected = _counting(monkeypatch, detect, "detect")
    second = discover([root], cache=True)
    assert second == plain and detected == []  # every text file's format, and the error, kept

    # A file that changes is looked at again; one whose status alone changes (a copy) is not.
    write(root / "search" / "requirements-dev.txt", "-r base.txt\npytest==8.3.5\n")
    os.utime(root / "services" / "billing" / "requirements-ci.txt", ns=(1, 1))
    write(root / "uvws" / "pyproject.toml", '[project]\nname = "ws"\nversion = "1"\n')  # no members now
    third = discover([root], cache=True)
    assert [Path(call[0]).name for call in detected] == ["requirements-dev.txt"]  # type: ignore[index]
    assert third == discover([root]) and third != plain
    assert discover([root], cache=True) == third


def test_no_cache_keeps_nothing(tmp_path: Path) -> None:
    root = _monorepo(tmp_path)
    discover([root])
    assert not default_directory(root).exists()


def test_an_answer_that_does_not_depend_on_the_file_is_not_kept(tmp_path: Path) -> None:
    store = Answers(tmp_path / "cache", tmp_path, answers_module.DISCOVERY)

    def unreadable() -> str:
        raise SourceError("x.txt", None, "cannot read file: No such file or directory")

    calls = []

    def counted() -> str:
        calls.append(1)
        return unreadable()

    for _ in range(2):
        with pytest.raises(SourceError):
            store.of_file(("format", "x.txt"), counted)
    assert len(calls) == 2  # no file was read: nothing to keep it by

    def other() -> str:
        raise RuntimeError("not about the file")

    with pytest.raises(RuntimeError):
        store.of_file(("format", "y.txt"), other)


def test_a_damaged_file_is_not_used_and_said_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _monorepo(tmp_path)
    discover([root], cache=True)
    kept = default_directory(root) / "discovery.bin"
    data = bytearray(kept.read_bytes())
    data[-1] ^= 1
    kept.write_bytes(bytes(data))
    capsys.readouterr()
    assert discover([root], cache=True) == discover([root])
    said = capsys.readouterr().err
    assert said.startswith(".envguard-cache/discovery.bin: warning: ") and "the cache is rewritten" in said
    assert discover([root], cache=True) == discover([root])
    assert capsys.readouterr().err == ""


def test_another_users_file_is_not_used_and_not_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _monorepo(tmp_path)
    discover([root], cache=True)
    monkeypatch.setattr(cache_module, "_secret", lambda: b"another user's key, 32 bytes ...")
    detected = _counting(monkeypatch, detect, "detect")
    capsys.readouterr()
    assert discover([root], cache=True) == discover([root])
    assert detected and capsys.readouterr().err == ""


def _policy_files() -> list[Path]:
    return [ROOT / "policies" / "default.yaml", ROOT / "examples" / "policies" / "runner-image.yaml"] + sorted(
        (ROOT / "tests" / "fixtures" / "locate").rglob("*.yaml")
    )


@pytest.mark.parametrize("text", [FULL_POLICY, *(p.read_text(encoding="utf-8") for p in _policy_files())])
def test_a_kept_policy_layer_is_the_parsed_one(tmp_path: Path, text: str) -> None:
    data = text.encode("utf-8")
    parsed = policy_module._parse_layer(data, "policies/p.yaml")
    store = Answers(tmp_path, tmp_path, answers_module.POLICY)
    made = policy_module._parsed_layer(data, "policies/p.yaml", store)
    store.save()
    again = policy_module._parsed_layer(data, "policies/p.yaml", Answers(tmp_path, tmp_path, answers_module.POLICY))
    for layer in (made, again):
        # Equal, and alike in every order a report could show (sets have none: hash order).
        assert layer == parsed
        assert policy_module.content_digest(layer.policy) == policy_module.content_digest(parsed.policy)
        for name in ("approved", "denied", "references"):
            assert list(getattr(layer.policy, name).items()) == list(getattr(parsed.policy, name).items())


def test_policy_parsed_once_while_its_bytes_stay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _monorepo(tmp_path)
    write(root / "runner-freeze.txt", "pytest==8.3.5\n")
    write(root / "policies" / "base.yaml", FULL_POLICY)
    write(root / "policies" / "team.yaml", "version: 1\nextends: base.yaml\nplugins:\n  unknown: warning\n")
    workspace = discover([root])
    plain = resolve_policy(None, workspace)

    def kept() -> Answers:
        return Answers(default_directory(root), root, answers_module.POLICY)

    first_store = kept()
    assert resolve_policy(None, workspace, first_store) == plain
    first_store.save()
    parses = _counting(monkeypatch, policy_module, "_parse_layer")
    assert resolve_policy(None, workspace, kept()) == plain
    assert parses == []
    write(root / "policies" / "team.yaml", "version: 1\nextends: base.yaml\nplugins:\n  unknown: ignore\n")
    store = kept()
    changed = resolve_policy(None, workspace, store)
    assert [call[1] for call in parses] == ["policies/team.yaml"]  # type: ignore[index]
    assert changed == resolve_policy(None, workspace) != plain
    store.save()
    # A broken file is an error every time, never kept.
    write(root / "policies" / "team.yaml", "version: 1\nplugins: [\n")
    for _ in range(2):
        with pytest.raises(PolicyError):
            load_policy(root / "policies", shown="policies", answers=kept())
