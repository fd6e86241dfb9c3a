"""uv: `uv lock --upgrade-package name==v` in the directory of the uv.lock (a workspace's root)."""

from __future__ import annotations

from envguard.fix.manifests import Request, declared, locker_action, manifest_edits, sibling
from envguard.fix.model import Action

# What uv lock reads of pyproject.toml: the project, its dependency groups, [tool.uv] constraints.
_ORIGINS = ("project", "dependency-groups", "uv")


def plan(request: Request) -> Action:
    declarations = declared(request, _ORIGINS)
    edits = manifest_edits(request, declarations)
    command = ("uv", "lock", "--upgrade-package", f"{request.name}=={request.to}")
    files = [sibling(request, "pyproject.toml"), *(d.path for d in declarations)]
    return locker_action(request, "uv", command, files, edits)
