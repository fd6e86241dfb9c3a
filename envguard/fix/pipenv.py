"""Pipenv: `pipenv upgrade [--dev | --categories G] name==v`, which rewrites the Pipfile's entry and
the lock without installing anything; the category is the one Pipfile.lock records."""

from __future__ import annotations

from envguard.fix.manifests import Request, locker_action, sibling
from envguard.fix.model import Action


def plan(request: Request) -> Action:
    group = request.move.group
    option: tuple[str, ...] = () if group is None else ("--dev",) if group == "dev" else ("--categories", group)
    command = ("pipenv", "upgrade", *option, f"{request.name}=={request.to}")
    return locker_action(request, "pipenv", command, [sibling(request, "Pipfile")])
