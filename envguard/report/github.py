"""GitHub Actions workflow commands: one annotation per finding, then one summary notice.

    ::error file=services/gateway/poetry.lock,line=409,title=envguard (EG102 plugin-version-not-allowed)::...

Decisions:

* One annotation per active finding, at its first location; the message names the other
  locations ("Also at: ...") and ends with the hint. Errors come first, then warnings, so that
  errors survive GitHub's per-job cap on annotations (10 errors and 10 warnings per step, 50 per job).
* Suppressed (waived) and baselined findings get no annotation: they do not fail the run and would
  use up the annotation budget. Their counts are in the final summary notice; the full report,
  suppressed findings included, is in the Markdown step summary the CLI writes to
  $GITHUB_STEP_SUMMARY.
* Input errors become `::error` annotations and input warnings `::warning` annotations, at their
  file and line.
* The last line is `::notice title=envguard::<summary>`; nothing else is written.
* Escaping follows the actions toolkit: in the message `%` -> `%25`, CR -> `%0D`, LF -> `%0A`;
  in property values additionally `:` -> `%3A` and `,` -> `%2C`. Every command is therefore one
  line, whatever a package name or message holds.

File paths are relative to the workspace root; annotations land on the right file when envguard
checks the repository root (the usual `envguard check` in the checkout).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from envguard.model import Diagnostic, Finding, Location, Severity

if TYPE_CHECKING:
    from envguard.check import CheckResult

_COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning"}


def escape_data(text: str) -> str:
    """A command's message: `%`, CR and LF percent-encoded (`%` first)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A command's property value: as the message, plus `:` and `,`."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, properties: Sequence[tuple[str, str]], message: str) -> str:
    """`::name key=value,key=value::message` with every part escaped."""
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties)
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def location_properties(location: Location | None) -> list[tuple[str, str]]:
    if location is None or not location.path:
        return []
    return [("file", location.path), ("line", str(location.line or 1))]


def finding_message(finding: Finding) -> str:
    lines = [finding.message]
    others = [loc for loc in finding.locations[1:] if loc.path]
    if others:
        lines.append("Also at: " + ", ".join(f"{loc.path}:{loc.line or 1}" for loc in others))
    if finding.hint:
        lines.append(f"Hint: {finding.hint}")
    return "\n".join(lines)


def annotation(finding: Finding) -> str:
    first = finding.locations[0] if finding.locations else None
    properties = location_properties(first) + [("title", f"envguard ({finding.rule} {finding.name})")]
    return command(_COMMANDS[finding.severity], properties, finding_message(finding))


def diagnostic_annotation(diagnostic: Diagnostic, name: str) -> str:
    properties = location_properties(Location(diagnostic.path, diagnostic.line)) + [("title", "envguard")]
    return command(name, properties, diagnostic.message)


def annotated(findings: Sequence[Finding]) -> list[Finding]:
    """Active findings, errors before warnings, otherwise in report order."""
    active = [f for f in findings if not f.suppressed and not f.baselined]
    return sorted(active, key=lambda f: f.severity is not Severity.ERROR)


def render_check(result: CheckResult) -> str:
    from envguard.report.text import summary_line

    lines = [diagnostic_annotation(e, "error") for e in result.errors]
    lines.extend(annotation(f) for f in annotated(result.findings))
    lines.extend(diagnostic_annotation(w, "warning") for w in result.warnings)
    lines.append(command("notice", [("title", "envguard")], summary_line(result)))
    return "\n".join(lines) + "\n"
