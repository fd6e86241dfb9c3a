"""A requirements or freeze file beside a lock, read as what it is there: a declaration.

Where a directory holds a lock (uv.lock, poetry.lock, ...), the lock is the service's record,
and a `requirements-ci.txt` beside it is what some pipeline installs instead: its entries are
declarations in the environment the file itself stands for (`services/x/requirements-ci.txt`),
so that a plugin installed from it is checked, and a pin that differs from the lock is seen.
"""

from __future__ import annotations

from pathlib import Path

from envguard.model import Declaration, Loaded


def load(path: Path, shown: str, *, allow_outside_root: bool = False) -> Loaded:
    from envguard.sources.requirements import read_requested

    requested = read_requested(path, shown, allow_outside_root=allow_outside_root)
    declarations = tuple(
        Declaration.of_package(package, text, shown, "requirements", groups=package.groups)
        for package, text in requested.entries
    )
    return Loaded((), requested.included, requested.warnings, declarations, local_projects=requested.local_projects)
