"""What every tool's planner shares: the move it is asked for, and the pins its manifests hold.

A locker resolves within what the manifest allows, so a manifest that pins the old version
(`pytest==8.4.2` in pyproject.toml, in requirements.in) would hold the package where it is: such
a pin is edited with the move. A range that excludes the target is not rewritten (that is a
decision about the service's dependencies, not a version to line up): the move is skipped and
the reason names the line to widen.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Sequence
from pathlib import Path

from envguard._record import record
from envguard.fix import pyproject
from envguard.fix.model import Action, Edit
from envguard.model import Declaration, NormalizedName, Package, Service
from envguard.rules.moves import Move
from envguard.versions import satisfies

# Declarations a locker reads from pyproject.toml (hatch environments and tool.tox are no locker's input).
PYPROJECT_ORIGINS = frozenset({"project", "dependency-groups", "poetry", "pdm", "uv"})


@record(frozen=True)
class Request:
    """One service's move of one package, as a tool's planner sees it."""

    service: Service
    name: NormalizedName
    entries: tuple[Package, ...]  # the entries of the service's records that move
    to: str
    rule: str
    move: Move  # as `envguard.rules.moves.move_of` chose it for the first entry
    root: Path

    @property
    def versions(self) -> tuple[str, ...]:
        from envguard.versions import sort_key

        return tuple(sorted({p.version for p in self.entries if p.version is not None}, key=sort_key))

    @property
    def record(self) -> str:
        return self.move.path

    @property
    def directory(self) -> str:
        """The record's directory, root-relative ("." for the root): where its locker runs."""
        return posixpath.dirname(self.record) or "."


class Skip(Exception):
    """The move cannot be planned; the message says why, in one line."""


def read(root: Path, path: str) -> bytes:
    try:
        return (root / path).read_bytes()
    except OSError as exc:
        raise Skip(f"{path} cannot be read: {exc.strerror or exc}") from None


def declared(request: Request, origins: Iterable[str] = PYPROJECT_ORIGINS) -> list[Declaration]:
    """The service's pyproject declarations of the package (of these origins), in file order."""
    wanted = frozenset(origins)
    return [
        d
        for d in request.service.declarations
        if d.name == request.name and d.origin in wanted and posixpath.basename(d.path) == "pyproject.toml"
    ]


def manifest_edits(request: Request, declarations: Sequence[Declaration]) -> list[Edit]:
    """Edits of the exact pins among `declarations` that hold an old version; Skip when one of
    them (or a range) excludes the target."""
    edits: list[Edit] = []
    for declaration in declarations:
        where = f"{declaration.path}:{declaration.line}"
        if declaration.version is not None and declaration.version in request.versions:
            edit = pyproject.pin_edit(
                read(request.root, declaration.path), declaration.path, declaration.line, request.name,
                declaration.version, request.to,
            )
            if edit is None:
                raise Skip(f"{where} pins {declaration.requirement}, in a form envguard cannot edit; move it by hand")
            edits.append(edit)
        elif not admits(declaration, request.to):
            raise Skip(f"{where} declares {declaration.requirement}, which excludes {request.to}; widen it, then plan again")
    return edits


def admits(declaration: Declaration, version: str) -> bool:
    if declaration.version is not None:
        return satisfies(version, f"=={declaration.version}")
    return not declaration.specifier or satisfies(version, declaration.specifier)


def locker_action(request: Request, tool: str, command: Sequence[str], files: Iterable[str], edits: Sequence[Edit] = ()) -> Action:
    """A move that runs `command` in the record's directory (after `edits`), protecting `files`."""
    touched = {*files, request.record, *(edit.path for edit in edits)}
    return action_of(request, tool, command, edits, touched)


def action_of(
    request: Request, tool: str, command: Sequence[str] | None, edits: Sequence[Edit], files: Iterable[str]
) -> Action:
    """The action that moves `request`: `edits`, then `command` in the record's directory when
    there is one (a locker, which may reach the index), changing at most `files`."""
    return Action(
        service=request.service.name,
        package=request.name,
        versions=request.versions,
        to=request.to,
        rule=request.rule,
        tool=tool,
        command=None if command is None else tuple(command),
        cwd=None if command is None else request.directory,
        edits=tuple(edits),
        network=command is not None,
        files=tuple(sorted(set(files))),
    )


def sibling(request: Request, name: str) -> str:
    """The root-relative path of `name` beside the record."""
    return posixpath.normpath(posixpath.join(request.directory, name))
