"""Many repositories' inventory artifacts combined into one inventory.

An organisation is read as a monorepo whose top-level directories are its repositories (see
`envguard.org.artifacts.read_artifact`): with one artifact the services keep the names and paths
their repository gave them, so checking a repository's artifact says what checking the
repository says; with several, every service is `REPOSITORY/NAME`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from envguard.errors import SourceError
from envguard.model import Diagnostic, Inventory, Service
from envguard.org.artifacts import Artifact, Shared, read_artifact


def load_artifacts(paths: Sequence[Path], root: Path) -> Inventory:
    """The inventory of the artifacts at `paths` (shown relative to `root` where they are inside it).

    An artifact that cannot be used is one error and is left out; a second artifact claiming a
    repository that an earlier one (in path order) already claimed is an error too: the same
    repository counted twice would drift against itself.
    """
    qualify = len(paths) > 1
    shown_paths = sorted({_shown(path, root): path for path in paths}.items())
    errors: list[Diagnostic] = []
    warnings: list[Diagnostic] = []
    claimed: dict[str, Artifact] = {}
    shared = Shared()
    for shown, path in shown_paths:
        try:
            artifact = read_artifact(path, shown, qualify=qualify, shared=shared)
        except SourceError as exc:
            errors.append(Diagnostic(exc.path, exc.line, exc.message))
            continue
        earlier = claimed.get(artifact.repository.name)
        if earlier is not None:
            message = (
                f"repository {artifact.repository.name!r} is already described by {earlier.shown}; "
                "this artifact is left out (give each repository's artifact once, or name them with "
                "`envguard inventory --name`)"
            )
            errors.append(Diagnostic(shown, 1, message))
            continue
        claimed[artifact.repository.name] = artifact
        errors.extend(artifact.errors)
        warnings.extend(artifact.warnings)
    artifacts = [claimed[name] for name in sorted(claimed)]
    services: list[Service] = [service for artifact in artifacts for service in artifact.services]
    services.sort(key=lambda service: service.name)
    return Inventory(
        root=root.as_posix(),
        services=tuple(services),
        errors=tuple(errors),
        warnings=tuple(warnings),
        repositories=tuple(artifact.repository for artifact in artifacts),
    )


def _shown(path: Path, root: Path) -> str:
    """`path` relative to `root` when inside it (the job's checkout), else as given."""
    absolute = path.absolute()
    try:
        return absolute.relative_to(root.absolute()).as_posix()
    except ValueError:
        return path.as_posix()
