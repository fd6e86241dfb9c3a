"""PDM: `pdm add --no-sync [-dG G] name==v` for a package pyproject.toml declares (it rewrites the
declaration as that pin, as `pdm add` does), `pdm update --no-sync name` for one it does not.

`--no-sync` updates the lock without installing anything. A dependency group (PEP 735 or
`[tool.pdm.dev-dependencies]`) takes `-dG G`, an extra `-G X`, the main dependencies nothing.
"""

from __future__ import annotations

from envguard.fix.manifests import Request, Skip, declared, locker_action, sibling
from envguard.fix.model import Action
from envguard.model import MAIN

_ORIGINS = ("project", "dependency-groups", "pdm")


def plan(request: Request) -> Action:
    files = [sibling(request, "pyproject.toml")]
    declarations = declared(request, _ORIGINS)
    name, to = request.name, request.to
    if not declarations:
        return locker_action(request, "pdm", ("pdm", "update", "--no-sync", name), files)
    options = sorted({_group_option(d.origin, d.groups) for d in declarations})
    if len(options) > 1:
        where = f"{declarations[0].path}:{declarations[0].line}"
        raise Skip(f"{name} is declared in several groups ({where} and more); move each by hand")
    return locker_action(request, "pdm", ("pdm", "add", "--no-sync", *options[0], f"{name}=={to}"), files)


def _group_option(origin: str, groups: tuple[str, ...]) -> tuple[str, ...]:
    named = [group for group in groups if group != MAIN]
    if not named:
        return ()
    if named[0].startswith("extra:"):
        return ("-G", named[0].removeprefix("extra:"))
    return ("-dG", named[0]) if origin in ("dependency-groups", "pdm") else ("-G", named[0])
