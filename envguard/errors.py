"""The error types envguard raises; the CLI maps each of them to exit code 2."""

from __future__ import annotations


class EnvguardError(Exception):
    """Any problem the user must fix before envguard can evaluate something."""


class SourceError(EnvguardError):
    """A dependency file that cannot be read: always carries the file and, where known, the line."""

    def __init__(self, path: str, line: int | None, message: str) -> None:
        super().__init__(path, line, message)
        self.path = path
        self.line = line
        self.message = message

    def __str__(self) -> str:
        return f"{self.path}:{self.line or 1}: {self.message}"


class UsageError(EnvguardError):
    """Arguments or configuration that make no sense together."""
