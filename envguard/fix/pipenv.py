"""Pipenv: `pipenv upgrade [--dev | --categories G] name==v`, which rewrites the Pipfile's entry and
the lock without installing anything; the category is the one Pipfile.lock records."""

from __future__ import annotations

from envguard.fix.manifests import Request, locker_action, sibling
from envguard.fix.model import Action
from envguard.rules.moves import pipenv_category


def plan(request: Request) -> Action:
    command = ("pipenv", "upgrade", *pipenv_category(request.move.group), f"{request.name}=={request.to}")
    return locker_action(request, "pipenv", command, [sibling(request, "Pipfile")])
