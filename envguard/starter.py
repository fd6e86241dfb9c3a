"""`envguard init`: a starter policy that accepts today's workspace, for adoption in steps."""

from __future__ import annotations

import json
from collections.abc import Iterable

from envguard import versions
from envguard.model import Inventory, Package

_HEADER = """\
# envguard policy, written by `envguard init` from the workspace as it is today.
# Every pytest plugin in use is approved with a range that covers the versions in use, so the
# first `envguard check` passes on plugins; tighten the ranges and set `unknown: error` once the
# list is reviewed. Reference: policies/default.yaml and policies/policy.schema.json.

# Schema version of this file (required).
version: 1
"""

_DRIFT = """
# Waivers: each needs a reason and an expiry date; suppressed findings stay visible.
#   - package: pytest-randomly
#     services: [orders]
#     rule: unapproved-plugin
#     reason: "migrating off it, TICKET-123"
#     expires: 2027-01-31
#     owner: team-orders
exceptions: []

drift:
  # How far apart one package's versions may be across services: exact | same-minor |
  # same-major | none. The first rule whose selectors match a package decides.
  default: same-major
  rules:
    # pytest and its plugins: CI results are comparable only on identical versions.
    - packages: ["pytest", "pytest-*"]
      require: exact
    # Installer tooling follows the CI image, not the service.
    - packages: ["pip", "setuptools", "wheel"]
      require: none
"""


def covering_range(found: Iterable[str | None]) -> str:
    """A specifier from the lowest version in use (major.minor) to below the next major of the highest.

    "*" when any version in use has no PEP 440 version to place.
    """
    parsed = [versions.parse(v) if v is not None else None for v in found]
    if not parsed or any(v is None for v in parsed):
        return "*"
    present = [v for v in parsed if v is not None]
    low, high = min(present), max(present)
    floor = _with_epoch(low.epoch, f"{low.major}.{low.minor}")
    parsed_floor = versions.parse(floor)
    if parsed_floor is not None and parsed_floor > low:
        floor = low.public  # a pre- or dev release sorts below its own major.minor
    return f">={floor},<{_with_epoch(high.epoch, str(high.major + 1))}"


def _with_epoch(epoch: int, release: str) -> str:
    return f"{epoch}!{release}" if epoch else release


def starter_policy(inventory: Inventory, plugins: dict[str, list[Package]]) -> str:
    """The policy text; `plugins` maps each plugin in use to every locked or declared entry of it."""
    pytest_versions = [p.version for s in inventory.services for p in s.packages if p.name == "pytest"]
    # Declared pins of pytest count; a declared range cannot be covered by a bounded one.
    pytest_versions += [d.version for s in inventory.services for d in s.declarations if d.name == "pytest" and d.version]
    lines = [_HEADER, "pytest:"]
    lines.append("  # pytest versions every service may use (a PEP 440 specifier).")
    lines.append(f"  allowed: {json.dumps(covering_range(pytest_versions) if pytest_versions else '>=8')}")
    lines.append("")
    lines.append("plugins:")
    lines.append("  # Plugins not approved below: error | warning | ignore.")
    lines.append("  unknown: warning")
    lines.append("  # Plugins in use today, each with a range covering the versions in use (\"*\": any).")
    if plugins:
        lines.append("  approved:")
        for name in sorted(plugins):
            in_use = sorted({p.version or "?" for p in plugins[name]})
            spec = covering_range(p.version for p in plugins[name])
            lines.append(f"    {name}: {json.dumps(spec)}  # in use: {', '.join(in_use)}")
    else:
        lines.append("  approved: {}")
    lines.append("  # Packages no service may use, with the reason shown to whoever adds them.")
    lines.append("  denied: {}")
    lines.append("  # Internal distributions that register pytest11 entry points under another name.")
    lines.append("  also_plugins: []")
    return "\n".join(lines) + "\n" + _DRIFT
