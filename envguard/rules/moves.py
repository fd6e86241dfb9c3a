"""How one locked entry moves to another version, with the tool that wrote its record.

Drift hints (`envguard.rules.drift`) print a move as a command; `envguard fix` plans and runs the
same move (`envguard.fix.plan`). Both ask `move_of`, so a hint never names another tool or group
than the one `envguard fix` would use.

Pure: the record's format and the entry's groups decide, no file is read.
"""

from __future__ import annotations

from collections.abc import Mapping

from envguard._record import record
from envguard.model import MAIN, Kind, NormalizedName, Package, Service

__all__ = ["Move", "declared_groups", "move_command", "move_of", "named_group", "pipenv_category", "record_format"]

# Move.tool for each record format a locker writes; requirements files are "pip-compile" when
# compiled, else edited ("edit"). Any other format has no known way to move it ("relock").
_TOOLS = {"uv": "uv", "poetry": "poetry", "pdm": "pdm", "pipfile": "pipenv"}


@record(frozen=True)
class Move:
    """Move package `name` of the record at `path` to `version` with `tool`."""

    tool: str  # "uv", "poetry", "pdm", "pipenv", "pip-compile", "edit" or "relock"
    name: NormalizedName
    version: str
    path: str  # the record
    group: str | None  # the dependency group it belongs to, when not the main one (None: main or unknown)

    @property
    def text(self) -> str:
        """The move as a hint writes it."""
        name, version, group = self.name, self.version, self.group
        if self.tool == "uv":
            return f"uv lock --upgrade-package {name}=={version}"
        if self.tool == "poetry":
            option = f"--group {group} " if group else ""
            return f"poetry add {option}{name}@{version}"
        if self.tool == "pdm":
            return f"pdm update {name} (target {version})"
        if self.tool == "pipenv":
            return " ".join(("pipenv", "upgrade", *pipenv_category(group), f"{name}=={version}"))
        if self.tool == "pip-compile":
            return f"pip-compile --upgrade-package {name}=={version}"
        if self.tool == "edit":
            return f"set {name}=={version} in {self.path}"
        return f"re-lock {self.path} with {name}=={version}"


def pipenv_category(group: str | None) -> tuple[str, ...]:
    """pipenv's option for a Pipfile category: none for the packages, `--dev`, `--categories G`."""
    return () if group is None else ("--dev",) if group == "dev" else ("--categories", group)


def move_of(
    package: Package, version: str, fmt: str | None, *, compiled: bool = False, group: str | None = None
) -> Move:
    """The move of `package` to `version`, for a record of format `fmt` (`compiled`: a requirements
    file that pip-compile wrote; `group`: the group its manifest declares it in, where the record
    does not say, see declared_groups)."""
    tool = _TOOLS.get(fmt or "")
    if tool is None:
        if fmt == "requirements" and compiled:
            tool = "pip-compile"
        elif fmt in ("requirements", "freeze"):
            tool = "edit"
        else:
            tool = "relock"
    return Move(tool, package.name, version, package.path, named_group(package) or group)


def move_command(
    package: Package, version: str, fmt: str | None, *, compiled: bool = False, group: str | None = None
) -> str:
    """The command (or edit) that moves `package` to `version` with the tool that wrote its record."""
    return move_of(package, version, fmt, compiled=compiled, group=group).text


# The pyproject.toml tables `poetry add` writes to: Poetry's own, PEP 621's and PEP 735's.
_POETRY_ORIGINS = ("poetry", "project", "dependency-groups")


def declared_groups(service: Service) -> dict[NormalizedName, str]:
    """The one named group (not main, not an extra) each package is declared in by the service's
    pyproject.toml, for the packages declared in exactly one group."""
    seen: dict[NormalizedName, set[str]] = {}
    for declaration in service.declarations:
        if declaration.origin in _POETRY_ORIGINS:
            seen.setdefault(declaration.name, set()).update(declaration.groups or (MAIN,))
    return {
        name: group
        for name, groups in seen.items()
        if len(groups) == 1 and (group := next(iter(groups))) != MAIN and not group.startswith("extra:")
    }


def named_group(package: Package) -> str | None:
    """The dependency group a package belongs to when it is not the main one; None for main/unknown."""
    if not package.groups or MAIN in package.groups:
        return None
    named = sorted(g for g in package.groups if not g.startswith("extra:"))
    return named[0] if named else None


def record_format(service: Service, path: str, formats: Mapping[str, str] = {}) -> tuple[str | None, bool]:
    """The format of the record at `path` of `service`, and whether pip-compile wrote it.

    `formats` maps a record path to its format where the service's sources do not say. A
    "requirements" record counts as pip-compile output when every index entry it holds is an
    exact pin (see _looks_compiled).
    """
    fmt = formats.get(path)
    if fmt is None:
        fmt = next((s.format for s in service.sources if s.path == path), None)
        if fmt is None and len(service.sources) == 1:
            # A file included by the service's only source (requirements -r): same format.
            fmt = service.sources[0].format
    return fmt, fmt == "requirements" and _looks_compiled(service, path)


def _looks_compiled(service: Service, path: str) -> bool:
    """Whether a requirements file looks generated by pip-compile: every index entry pinned exactly.

    Without the text, the entries are the evidence. A file of nothing but `==` pins that the
    loader still called "requirements" (not "freeze") carries pip-compile's marks: hashes,
    `# via` comments or options.
    """
    entries = [p for p in service.packages if p.path == path and p.kind is Kind.REGISTRY]
    return bool(entries) and all(p.version is not None and p.specifier is None for p in entries)
