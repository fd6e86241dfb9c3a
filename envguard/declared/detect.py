"""Which reader reads a declaring file: by its name alone (declaring files have fixed names)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from envguard.model import Loaded
from envguard.sources.detect import name_matches

Reader = Callable[..., Loaded]  # load(path, shown, *, allow_outside_root=False) -> Loaded

# format id -> "module:function"; a module is imported only when a file of its kind is read.
READERS: dict[str, str] = {
    "pyproject": "envguard.declared.pyproject:load",
    "setup-cfg": "envguard.declared.setupcfg:load",
    "hatch": "envguard.declared.hatch:load",
    "pipenv": "envguard.declared.pipfile:load",
    "tox": "envguard.declared.tox:load",
    "nox": "envguard.declared.nox:load",
    "dockerfile": "envguard.declared.dockerfile:load",
    "pre-commit": "envguard.declared.precommit:load",
    "github": "envguard.declared.github:load",
    "gitlab": "envguard.declared.gitlab:load",
    # A requirements or freeze file beside a lock: what some install reads, not the record.
    "requirements": "envguard.declared.requirements:load",
}

_BY_NAME: tuple[tuple[str, str], ...] = (
    ("pyproject.toml", "pyproject"),
    ("setup.cfg", "setup-cfg"),
    ("hatch.toml", "hatch"),
    ("Pipfile", "pipenv"),
    ("tox.ini", "tox"),
    ("tox.toml", "tox"),
    ("noxfile.py", "nox"),
    ("Dockerfile", "dockerfile"),
    ("Containerfile", "dockerfile"),
    ("*.Dockerfile", "dockerfile"),
    ("*.dockerfile", "dockerfile"),
    ("Dockerfile.*", "dockerfile"),
    ("Containerfile.*", "dockerfile"),
    (".pre-commit-config.yaml", "pre-commit"),
    (".pre-commit-config.yml", "pre-commit"),
)

# Where a workspace keeps its CI configuration, relative to its root: read once for the whole
# workspace, each install given to the service of the directory it runs in.
GITHUB_WORKFLOWS = ".github/workflows"
GITHUB_ACTIONS = ".github/actions"
GITLAB_CI = ".gitlab-ci.yml"


def format_for_name(name: str) -> str | None:
    """The declaring format a file name implies, or None."""
    for pattern, fmt in _BY_NAME:
        if name_matches(name, pattern):
            return fmt
    return None


def reader_for(fmt: str) -> Reader:
    module_name, _, function = READERS[fmt].partition(":")
    reader: Reader = getattr(importlib.import_module(module_name), function)
    return reader


def load(fmt: str, path: Path, shown: str, *, allow_outside_root: bool = False) -> Loaded:
    """Read `path` (shown as `shown`) as a declaring file of format `fmt`."""
    loaded = reader_for(fmt)(path, shown, allow_outside_root=allow_outside_root)
    if fmt == "pyproject":
        from envguard.sources._text import read_text

        # tox reads its configuration from pyproject.toml too; most projects have none there.
        if "tool.tox" in read_text(path, shown):
            tox = reader_for("tox")(path, shown, allow_outside_root=allow_outside_root)
            loaded = Loaded(
                (),
                loaded.included + tuple(p for p in tox.included if p not in loaded.included),
                loaded.warnings + tox.warnings,
                loaded.declarations + tox.declarations,
            )
    return loaded
