"""Shared helpers for the check tests: real fixture lockfiles, copied into small tmp workspaces."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

from envguard.inventory import load_inventory
from envguard.model import Service

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
EXAMPLE = ROOT / "examples" / "monorepo"
SERVICES = EXAMPLE / "services"

# Real records, each written by the tool named in its GENERATED.md.
ORDERS_LOCK = SERVICES / "orders" / "poetry.lock"  # pytest 8.4.2, pytest-randomly 3.16.0, hypothesis
BILLING_LOCK = SERVICES / "billing" / "uv.lock"  # pytest 8.4.2, xdist, mock, cov 7.1.0, anyio, hypothesis
NOTIFICATIONS_LOCK = SERVICES / "notifications" / "Pipfile.lock"  # pytest 7.4.4, cov 4.1.0, sugar 1.1.1
GATEWAY_LOCK = SERVICES / "gateway" / "poetry.lock"  # pytest-asyncio 0.23.8, anyio 4.16.0
PLAIN_REQUIREMENTS = FIXTURES / "pip-tools" / "plain" / "requirements.txt"  # faker 40.63.0, pytest-django
PIP_LOCK = FIXTURES / "pip" / "lock" / "pylock.toml"  # hypothesis 6.170.17, requests 2.34.2
FREEZE = FIXTURES / "pip" / "venv-freeze" / "freeze.txt"  # acme-wheel (a wheel file, no version)
POETRY18_LOCK = FIXTURES / "poetry" / "poetry18-lock20" / "poetry.lock"  # anyio 4.16.0, asyncio 0.23.8


def fixture_service(directory: Path) -> Service:
    """The one service of a fixture directory, loaded in place (nothing is written there)."""
    inventory = load_inventory([directory])
    assert inventory.errors == ()
    (service,) = inventory.services
    return service


def add_service(root: Path, name: str, *records: Path, extra: dict[str, str] | None = None) -> Path:
    """services/<name>/ under `root` with copies of `records` and small text files from `extra`."""
    directory = root / "services" / name
    directory.mkdir(parents=True, exist_ok=True)
    for record in records:
        shutil.copyfile(record, directory / record.name)
    for filename, text in (extra or {}).items():
        write(directory / filename, text)
    return directory


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def billing_as_locked(root: Path) -> Path:
    """The example's billing lock is stale on purpose (examples/monorepo/GENERATED.md): put a copied
    billing manifest under `root` back as it was when locked."""
    manifest = root / "services" / "billing" / "pyproject.toml"
    if manifest.exists():
        text = manifest.read_text(encoding="utf-8")
        manifest.write_text(text.replace('    "pytest-timeout>=2.3",\n', ""), encoding="utf-8")
    return root
