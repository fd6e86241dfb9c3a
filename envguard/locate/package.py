"""`package:NAME[/PATH]`: a policy file shipped inside an installed Python distribution.

An organisation publishes its policy as a distribution (`pip install acme-envguard-policy==1.2.0`
in the runner) and every repository names it with `--policy package:acme-envguard-policy`.

The file is found through the distribution's installed file list (`RECORD`, via
`importlib.metadata`), never by importing it: importing runs the package's code, and a policy
must be readable without executing anything. NAME may be written in any spelling; it is compared
PEP 503-normalised with each installed distribution's own name, and the first match on
`sys.path` wins, as for `import`. Without PATH the distribution must ship exactly one file named
`envguard-policy.yaml`; with PATH it names the file by its path in the file list.

Reports name the file `package:NAME==VERSION` (plus `/PATH` when given), NAME normalised, so a
report says which release of the policy judged the run.
"""

from __future__ import annotations

import os
import posixpath
import re
from pathlib import Path
from typing import TYPE_CHECKING, Final

from envguard.locate import Located, LocateError
from envguard.model import normalize

if TYPE_CHECKING:
    from importlib.metadata import Distribution

DEFAULT_FILE: Final = "envguard-policy.yaml"
# PEP 508 names: what a distribution can be called at all.
_NAME: Final = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)


def locate_package(spec: str) -> Located:
    """The file `package:<spec>` names; `spec` is `NAME` or `NAME/PATH`."""
    name, slash, sub = spec.partition("/")
    if not _NAME.match(name):
        raise LocateError(f"{name!r} is not a distribution name (write package:NAME or package:NAME/PATH)")
    wanted = normalize(name)
    dist = _find(wanted)
    if dist is None:
        raise LocateError(f"distribution {wanted} is not installed (pip install {wanted})")
    pinned = f"package:{wanted}=={dist.version}"
    release = f"{wanted} {dist.version}"
    files = dist.files
    if files is None:
        raise LocateError(f"{release} is installed without a file list (RECORD); reinstall it with pip")
    listed = sorted(str(file.as_posix()) for file in files)
    if slash:
        relative = posixpath.normpath(sub.replace("\\", "/"))
        if not sub or relative not in listed:
            raise LocateError(f"{release} ships no file {sub!r}")
        shown = f"{pinned}/{relative}"
    else:
        candidates = [path for path in listed if posixpath.basename(path) == DEFAULT_FILE]
        if not candidates:
            raise LocateError(f"{release} ships no {DEFAULT_FILE}; name the file as package:{wanted}/PATH")
        if len(candidates) > 1:
            message = f"{release} ships {len(candidates)} files named {DEFAULT_FILE} ({', '.join(candidates)}); "
            raise LocateError(message + f"name one as package:{wanted}/PATH")
        relative = candidates[0]
        shown = pinned
    path = Path(str(dist.locate_file(relative)))
    if not path.is_file():
        raise LocateError(f"{release} lists {relative}, which is not on disk; reinstall it")
    inside = f"package:{wanted}/{posixpath.dirname(relative)}"
    return Located(path, shown, os.path.realpath(path), "package", inside)


def _find(wanted: str) -> Distribution | None:
    from importlib.metadata import distributions

    for dist in distributions():
        # A broken install may have no Name; it cannot be the one asked for.
        name = dist.metadata["Name"]
        if isinstance(name, str) and normalize(name) == wanted:
            return dist
    return None
