"""The error types envguard raises; the CLI maps each of them to exit code 2."""

from __future__ import annotations

# What str.splitlines() breaks at. A path, name or key read from a file may hold any of them; they
# are kept escaped in messages, so that `path:line: message` is always one line.
_LINE_BREAKS = {
    code: f"\\u{code:04x}" if code > 0xFF else f"\\x{code:02x}"
    for code in (0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029)
}
_LINE_BREAKS.update({0x0A: "\\n", 0x0D: "\\r"})


def one_line(text: str) -> str:
    """`text` with every line break escaped (`\\n`, `\\r`, `\\x0b`, ...)."""
    return text.translate(_LINE_BREAKS)


class EnvguardError(Exception):
    """Any problem the user must fix before envguard can evaluate something."""


class SourceError(EnvguardError):
    """A dependency file that cannot be read: always carries the file and, where known, the line."""

    def __init__(self, path: str, line: int | None, message: str) -> None:
        super().__init__(path, line, message)
        self.path = one_line(path)
        self.line = line
        self.message = one_line(message)

    def __str__(self) -> str:
        return f"{self.path}:{self.line or 1}: {self.message}"


class UsageError(EnvguardError):
    """Arguments or configuration that make no sense together."""
