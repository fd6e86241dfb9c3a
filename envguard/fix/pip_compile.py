"""pip-compile and `uv pip compile`: the command the compiled file's header records, run again in
the file's directory with `--upgrade-package name==v`.

Every option the header records is kept (`--generate-hashes`, `--universal`, `--python-version`,
extras, indexes), except earlier upgrade requests. An input that pins the old version
(`pytest==8.4.2` in requirements.in) is edited with the move; an input or a `-c` constraint
that excludes the target skips it.
"""

from __future__ import annotations

import posixpath
from pathlib import PurePosixPath

from envguard.errors import SourceError
from envguard.fix import requirements
from envguard.fix.manifests import Request, Skip, declared, locker_action, manifest_edits, read
from envguard.fix.model import Action, Edit
from envguard.fix.requirements import Header
from envguard.versions import satisfies

# Recorded options that asked for upgrades on an earlier run: this run asks for its own.
_UPGRADE_FLAGS = frozenset({"-U", "--upgrade"})
_UPGRADE_OPTIONS = frozenset({"-P", "--upgrade-package"})
_OUTPUT = frozenset({"-o", "--output-file"})
_CONSTRAINT = frozenset({"-c", "--constraint"})
_REQUIREMENT_SUFFIXES = (".in", ".txt")


def plan(request: Request, head: Header) -> Action:
    words = 3 if head.tool == "uv-pip-compile" else 1
    argv = _without_upgrades(list(head.argv[words:]))
    output = _output(argv)
    name = posixpath.basename(request.record)
    inputs, constraints = _files(request, argv, output)
    if output is None and _default_output(head.tool, inputs) != name:
        argv += ["-o", name] if head.tool == "uv-pip-compile" else [f"--output-file={name}"]
    edits: list[Edit] = []
    files = [request.record]
    for word in inputs:
        path = posixpath.normpath(posixpath.join(request.directory, word))
        files.append(path)
        if word.endswith(_REQUIREMENT_SUFFIXES):
            edits.extend(_input_edits(request, path))
        elif posixpath.basename(word) == "pyproject.toml":
            edits.extend(manifest_edits(request, [d for d in declared(request) if d.path == path]))
    for word in constraints:
        _input_edits(request, posixpath.normpath(posixpath.join(request.directory, word)), constraint=True)
    command = (*head.argv[:words], *argv, "--upgrade-package", f"{request.name}=={request.to}")
    return locker_action(request, head.tool, command, files, edits)


def _without_upgrades(argv: list[str]) -> list[str]:
    kept: list[str] = []
    skip_value = False
    for word in argv:
        if skip_value:
            skip_value = False
        elif word in _UPGRADE_FLAGS or word.startswith("--upgrade-package="):
            continue
        elif word in _UPGRADE_OPTIONS:
            skip_value = True
        else:
            kept.append(word)
    return kept


def _output(argv: list[str]) -> str | None:
    for index, word in enumerate(argv):
        if word in _OUTPUT and index + 1 < len(argv):
            return argv[index + 1]
        if word.startswith("--output-file="):
            return word.partition("=")[2]
    return None


def _files(request: Request, argv: list[str], output: str | None) -> tuple[list[str], list[str]]:
    """(inputs, constraints): the words of the command that name files beside the record."""
    inputs: list[str] = []
    constraints: list[str] = []
    previous = ""
    for word in argv:
        if word.startswith("--constraint="):
            constraints.append(word.partition("=")[2])
        elif previous in _CONSTRAINT:
            constraints.append(word)
        elif not word.startswith("-") and word != output and (request.root / request.directory / word).is_file():
            inputs.append(word)
        previous = word
    return inputs, constraints


def _default_output(tool: str, inputs: list[str]) -> str | None:
    """The file the command writes without -o: pip-compile names it after its input, uv prints it."""
    if tool != "pip-compile" or not inputs:
        return None
    first = PurePosixPath(inputs[0])
    if first.suffix == ".in":
        return f"{first.stem}.txt"
    return "requirements.txt" if first.name in ("setup.py", "setup.cfg", "pyproject.toml") else None


def _input_edits(request: Request, path: str, *, constraint: bool = False) -> list[Edit]:
    """Edits of `path`'s pins of the old version; Skip when it (or a -c file it names) excludes the target.

    A `constraint` file (given with -c) is only checked: its pins are another file's to move.
    """
    from envguard.sources.requirements import read_requested

    try:
        requested = read_requested(request.root / path, path, constraint=constraint)
    except SourceError as exc:
        raise Skip(f"{exc.path}:{exc.line or 1}: {exc.message}") from None
    raw = read(request.root, path)
    edits: list[Edit] = []
    for package, written in requested.entries:
        if package.name != request.name:
            continue
        where = f"{package.path}:{package.line}"
        if package.version is not None and package.version in request.versions and package.path == path:
            edit = requirements.pin_edit(raw, path, package.line, request.name, package.version, request.to)
            if edit is None:
                raise Skip(f"{where} pins {written}, in a form envguard cannot edit; move it by hand")
            edits.append(edit)
        elif not _admits(package.version, package.specifier, request.to):
            raise Skip(f"{where} requires {written}, which excludes {request.to}; widen it, then plan again")
    for package in requested.constraints:
        if package.name == request.name and not _admits(package.version, package.specifier, request.to):
            shown = f"=={package.version}" if package.version else package.specifier
            raise Skip(
                f"{package.path}:{package.line} constrains {request.name}{shown}, which excludes {request.to}; "
                "move it there first"
            )
    return edits


def _admits(version: str | None, specifier: str | None, target: str) -> bool:
    if version is not None:
        return satisfies(target, f"=={version}")
    return not specifier or satisfies(target, specifier)
