"""Poetry: `poetry add --lock [--group G] name@v` for a package pyproject.toml declares (it rewrites
the declaration as that exact version, as `poetry add` does), `poetry update --lock name` for one
it does not (a dependency of a dependency: adding it would make it a direct one).

`--lock` updates the lock without installing anything; the group is the one that declares the
package (a lock of lock-version 2.0 does not record groups).
"""

from __future__ import annotations

from envguard.fix.manifests import Request, Skip, declared, locker_action, sibling
from envguard.fix.model import Action
from envguard.model import MAIN

_ORIGINS = ("poetry", "project", "dependency-groups")


def plan(request: Request) -> Action:
    files = [sibling(request, "pyproject.toml")]
    declarations = declared(request, _ORIGINS)
    name, to = request.name, request.to
    if not declarations:
        return locker_action(request, "poetry", ("poetry", "update", "--lock", "--no-interaction", name), files)
    groups = sorted({group for d in declarations for group in d.groups or (MAIN,)})
    where = f"{declarations[0].path}:{declarations[0].line}"
    extras = [group.removeprefix("extra:") for group in groups if group.startswith("extra:")]
    if extras:
        raise Skip(f"{where} declares {name} in the extra {extras[0]}; `poetry add` would make it required: move it by hand")
    if len(groups) > 1:
        raise Skip(f"{name} is declared in several groups ({', '.join(groups)}, {where}); move each by hand")
    option = () if groups == [MAIN] else ("--group", groups[0])
    return locker_action(request, "poetry", ("poetry", "add", "--lock", "--no-interaction", *option, f"{name}@{to}"), files)
