"""Markdown rendering, for pull-request comments and CI job summaries."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from envguard.diff import DiffResult, Pin, Side

_CHANGE_LABELS = {"only-a": "only in a", "only-b": "only in b"}


def _cell(text: str) -> str:
    """Text safe inside a table cell (GFM): pipes escaped, even in code spans; no line breaks."""
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    # A code span containing backticks needs a longer fence than any run inside it.
    fence = "`"
    while fence in text:
        fence += "`"
    padded = f" {text} " if text.startswith("`") or text.endswith("`") else text
    return f"{fence}{padded}{fence}"


def render_diff(result: DiffResult) -> str:
    """A heading, the two sides, one table of changes sorted by package, the unchanged count."""
    lines = [
        f"### envguard diff: {_code(result.a.name)} → {_code(result.b.name)}",
        "",
        _side_line("a", result.a),
        _side_line("b", result.b),
    ]
    if not result.target.universal:
        lines.append(f"- target: {result.target.describe()}")
    lines.append("")
    if result.changes:
        header = ["Package", f"a: {_code(result.a.name)}", f"b: {_code(result.b.name)}", "Change"]
        lines.append("| " + " | ".join(_cell(cell) for cell in header) + " |")
        lines.append("|---|---|---|---|")
        for change in result.changes:
            cells = [
                _code(change.package),
                _versions(change.a),
                _versions(change.b),
                _CHANGE_LABELS.get(change.change, change.change),
            ]
            lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
        lines.append("")
        noun = "package differs" if len(result.changes) == 1 else "packages differ"
        lines.append(f"{len(result.changes)} {noun}; {result.unchanged} unchanged.")
    else:
        lines.append(f"No differences; {result.unchanged} unchanged.")
    return "\n".join(lines) + "\n"


def _side_line(letter: str, side: Side) -> str:
    if [s.path for s in side.sources] == [side.name]:  # a dependency file named on the command line
        return f"- {letter}: {_code(side.name)} ({side.sources[0].format})"
    sources = ", ".join(f"{_code(s.path)} ({s.format})" for s in side.sources) or "(no readable source)"
    return f"- {letter}: {_code(side.name)}: {sources}"


def _versions(pins: tuple[Pin, ...]) -> str:
    return ", ".join(pin.label for pin in pins) or "—"
