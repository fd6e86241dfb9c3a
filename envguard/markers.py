"""Environment markers evaluated for a target interpreter and platform (`--python`, `--platform`).

A target usually names only some dimensions (`--python 3.12`); a marker then applies when some
value of the dimensions left open makes it true, so `sys_platform == "win32"` stays in a
`--python 3.12` view while `python_version < "3.10"` drops out.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import re
from collections.abc import Callable
from typing import Any

from envguard._record import record
from envguard.errors import UsageError
from envguard.model import Inventory, Service

PLATFORMS = {
    "linux": {"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix"},
    "darwin": {"sys_platform": "darwin", "platform_system": "Darwin", "os_name": "posix"},
    "win32": {"sys_platform": "win32", "platform_system": "Windows", "os_name": "nt"},
}
IMPLEMENTATIONS = {
    "cpython": {"implementation_name": "cpython", "platform_python_implementation": "CPython"},
    "pypy": {"implementation_name": "pypy", "platform_python_implementation": "PyPy"},
}
# Interpreters a lock may reasonably target when no --python is given.
_PYTHONS = tuple(f"3.{minor}" for minor in range(7, 16))
_MACHINES = ("x86_64", "aarch64", "arm64", "AMD64")
_EXTRA = re.compile(r"""extra\s*==\s*["']([^"']+)["']|["']([^"']+)["']\s*==\s*extra""")
_IN_SET = re.compile(r"""["']([^"']+)["']\s+(?:not\s+)?in\s+(extras|dependency_groups)""")


@record(frozen=True)
class Target:
    """The environment findings are judged for (--python, --platform, --implementation); all None: any."""

    python: str | None = None
    platform: str | None = None
    implementation: str | None = None

    @property
    def universal(self) -> bool:
        return self.python is None and self.platform is None and self.implementation is None

    def describe(self) -> str:
        parts = [
            f"python {self.python}" if self.python else "",
            self.platform or "",
            self.implementation or "",
        ]
        return ", ".join(p for p in parts if p) or "universal"


def make_target(python: str | None, platform: str | None, implementation: str | None) -> Target:
    if python is not None and not re.fullmatch(r"3\.\d+(\.\d+)?", python):
        raise UsageError(f"--python {python!r}: give a version such as 3.12 or 3.12.4")
    if platform is not None and platform not in PLATFORMS:
        raise UsageError(f"--platform {platform!r}: choose from {', '.join(PLATFORMS)}")
    if implementation is not None and implementation not in IMPLEMENTATIONS:
        raise UsageError(f"--implementation {implementation!r}: choose from {', '.join(IMPLEMENTATIONS)}")
    return Target(python, platform, implementation)


def applies(marker: str | None, target: Target) -> bool:
    """Whether an entry with this marker is installed for `target`; unparseable markers apply."""
    if marker is None or target.universal:
        return True
    return _applies(marker, target)


@functools.lru_cache(maxsize=8192)
def _applies(marker: str, target: Target) -> bool:
    from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName

    try:
        parsed = Marker(marker)
    except InvalidMarker:
        return True
    environments = _environments(marker, target)
    if environments is None:
        return True
    for environment in environments:
        try:
            if parsed.evaluate(environment, context="lock_file"):  # type: ignore[arg-type]
                return True
        except (UndefinedComparison, UndefinedEnvironmentName, TypeError, ValueError):
            # ValueError: a version in the marker with a release number too long for int().
            return True
    return False


# Environments tried per marker at most. Each costs an evaluation as long as the marker, and a
# marker naming N extras needs N of them: a generated or hostile marker with thousands of extras
# took minutes. Beyond this, the marker applies, as an unparseable one does.
_MAX_ENVIRONMENTS = 5000


def _environments(marker: str, target: Target) -> list[dict[str, object]] | None:
    pythons = [target.python] if target.python else list(_PYTHONS) if "python" in marker else ["3.12"]
    platforms = [target.platform] if target.platform else list(PLATFORMS)
    implementations = [target.implementation] if target.implementation else list(IMPLEMENTATIONS)
    machines = list(_MACHINES) if "platform_machine" in marker else ["x86_64"]
    extras = [""] + sorted({a or b for a, b in _EXTRA.findall(marker)})
    named = sorted({name for name, _ in _IN_SET.findall(marker)})
    sets = [frozenset(), frozenset(named)] if named else [frozenset()]
    dimensions = (pythons, platforms, implementations, machines, extras, sets)
    if functools.reduce(lambda count, values: count * len(values), dimensions, 1) > _MAX_ENVIRONMENTS:
        return None
    environments = []
    for python, platform, implementation, machine, extra, chosen in itertools.product(
        pythons, platforms, implementations, machines, extras, sets
    ):
        full = python if python.count(".") == 2 else f"{python}.0"
        environments.append(
            {
                "python_version": ".".join(python.split(".")[:2]),
                "python_full_version": full,
                "implementation_version": full,
                "platform_machine": machine,
                "platform_release": "",
                "platform_version": "",
                "extra": extra,
                "extras": chosen,
                "dependency_groups": chosen,
                **PLATFORMS[platform],
                **IMPLEMENTATIONS[implementation],
            }
        )
    return environments


def view(inventory: Inventory, target: Target) -> Inventory:
    """The inventory as installed for `target`: entries whose marker excludes it drop out."""
    if target.universal:
        return inventory
    services = tuple(_viewed(service, target) for service in inventory.services)
    return dataclasses.replace(inventory, services=services)


def _viewed(service: Service, target: Target) -> Service:
    # Deferred: `envguard check` reads the packages and declarations only of the services its
    # cache cannot answer for.
    deferred = ("packages", "declarations")
    fields = {f.name: getattr(service, f.name) for f in dataclasses.fields(Service) if f.name not in deferred}
    makers: dict[str, Callable[[], tuple[Any, ...]]] = {
        "packages": lambda: tuple(p for p in service.packages if applies(p.marker, target)),
        "declarations": lambda: tuple(d for d in service.declarations if applies(d.marker, target)),
    }
    return Service.deferred(fields, makers)
