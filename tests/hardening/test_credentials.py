"""Credentials written into URLs never leave envguard: no report format, no inventory format, no
cache file and no inventory artifact holds the secret (envguard.redact)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from envguard.cli import INVENTORY_FORMATS, REPORT_FORMATS, main
from tests.kit import FIXTURES, write

SECRET = "hunter2-s3cr3t-t0ken"
STRICT = """\
version: 1
sources:
  indexes: ["https://pypi.example.com/simple"]
  allow-vcs: false
  allow-url: false
  require-hashes: true
"""


def _workspace(root: Path) -> Path:
    """Two services whose locks, requirements and CI steps carry the secret in every place a URL goes."""
    uv = root / "billing"
    shutil.copytree(FIXTURES / "uv" / "sources", uv)
    for name in ("uv.lock", "pyproject.toml"):
        path = uv / name
        text = path.read_text(encoding="utf-8")
        text = text.replace("https://pypi.internal", f"https://ci:{SECRET}@pypi.internal")
        text = text.replace("https://git.example.com", f"https://{SECRET}@git.example.com")
        path.write_text(text, encoding="utf-8")
    write(
        root / "search" / "requirements.txt",
        f"""\
        --index-url https://pypi.example.com/simple
        --extra-index-url https://__token__:{SECRET}@pypi.internal.example.com/simple
        six==1.17.0
        acme @ https://user:{SECRET}@files.example.com/acme-1.0-py3-none-any.whl
        lib @ git+https://{SECRET}@git.example.com/acme/lib@v1
        """,
    )
    write(
        root / "search" / "Dockerfile",
        f"""\
        FROM python:3.12
        RUN pip install --index-url http://ci:{SECRET}@mirror.example.com/simple idna==3.10 \\
            -r https://ci:{SECRET}@files.example.com/requirements.txt \\
            -c https://ci:{SECRET}@files.example.com/constraints.txt
        """,
    )
    write(
        root / "orders" / "freeze.txt",
        f"six @ https://{SECRET}@files.example.com/six-1.17.0-py2.py3-none-any.whl\n",
    )
    return root


def _grep(directory: Path) -> list[str]:
    found = []
    for folder, _, files in os.walk(directory):
        for name in files:
            path = Path(folder) / name
            if SECRET.encode() in path.read_bytes():
                found.append(str(path.relative_to(directory)))
    return found


def test_no_output_and_no_cache_holds_the_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _workspace(tmp_path / "repo")
    policy = write(tmp_path / "policy.yaml", STRICT)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    monkeypatch.chdir(root)
    outputs: list[str] = []

    def run(*args: str) -> int:
        code = main(list(args))
        captured = capsys.readouterr()
        outputs.append(captured.out + captured.err)
        return code

    for fmt in REPORT_FORMATS:
        # Twice: cold, then from the inventory and check caches.
        for _ in range(2):
            assert run("check", ".", "--policy", str(policy), "--format", fmt, "--today", "2026-12-08") == 1
        run("check", ".", "--format", fmt, "--today", "2026-12-08")
    for fmt in INVENTORY_FORMATS:
        assert run("inventory", ".", "--format", fmt) == 0
    run("plugins", ".", "--format", "json")
    run("diff", "billing", "search", "--format", "json")
    assert run("inventory", ".", "--format", "json", "--output", str(tmp_path / "repo.json")) == 0
    artifact = (tmp_path / "repo.json").read_text(encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for fmt in REPORT_FORMATS:
        run("check", "repo.json", "--policy", str(policy), "--format", fmt, "--today", "2026-12-08")

    everything = "\n".join(outputs)
    # The runs did see what the secret guards: the masked URLs are reported.
    assert "https://***@pypi.internal.example.com/simple" in everything
    assert "insecure-index" in everything and "source-not-allowed" in everything and "hash-missing" in everything
    assert SECRET not in everything
    assert SECRET not in artifact and "***@" in artifact
    assert (root / ".envguard-cache").is_dir()
    assert _grep(root / ".envguard-cache") == []
    assert _grep(tmp_path / "user-cache") == []


def test_an_artifact_written_before_masking_is_masked_when_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    document = {
        "schema": "envguard.inventory/1",
        "services": [
            {
                "name": "old",
                "path": ".",
                "packages": [
                    {"name": "six", "version": "1.17.0", "kind": "registry", "groups": [], "marker": None,
                     "path": "uv.lock", "line": 3, "source": f"https://ci:{SECRET}@pypi.example.com/simple"},
                ],
            }
        ],
    }  # fmt: skip
    artifact = tmp_path / "old.json"
    artifact.write_text(json.dumps(document), encoding="utf-8")
    for fmt in REPORT_FORMATS:
        assert main(["check", str(artifact), "--format", fmt]) == 1  # insecure-index: credentials
        captured = capsys.readouterr()
        assert SECRET not in captured.out + captured.err
        assert "insecure-index" in captured.out
