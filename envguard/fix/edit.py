"""Pins envguard edits itself: a requirements, freeze or constraints record that no tool's header
claims, and the service's pyproject.toml pins of the same package (an installed project's
`pytest-cov==5.0.0` that its freeze records), so that record and declaration move together.

A file with `--hash` lines is not edited: the hashes would no longer match the version.
"""

from __future__ import annotations

from envguard.fix import requirements
from envguard.fix.manifests import Request, Skip, action_of, declared, manifest_edits, read
from envguard.fix.model import Action, Edit

_ORIGINS = ("project", "dependency-groups")


def plan(request: Request) -> Action:
    edits: list[Edit] = []
    for entry in sorted(request.entries, key=lambda p: (p.path, p.line)):
        raw = read(request.root, entry.path)
        if requirements.hashed(raw):
            raise Skip(
                f"{entry.path} has --hash lines, and no pip-compile or uv header says which tool wrote it; "
                f"re-lock it with that tool and {request.name}=={request.to}"
            )
        assert entry.version is not None  # only versioned entries are moved
        edit = requirements.pin_edit(raw, entry.path, entry.line, request.name, entry.version, request.to)
        if edit is None:
            raise Skip(f"{entry.path}:{entry.line} holds no exact pin of {request.name} to edit; move it by hand")
        edits.append(edit)
    edits.extend(manifest_edits(request, declared(request, _ORIGINS)))
    return edit_action(request, edits)


def edit_action(request: Request, edits: list[Edit]) -> Action:
    return action_of(request, "edit", None, edits, (edit.path for edit in edits))
