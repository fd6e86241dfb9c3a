"""Command line: thin typer commands around app functions, inside one error boundary.

Heavy modules (loaders, reporters) are imported inside the commands: envguard runs on every
commit through pre-commit, so start-up time is part of the product.
"""

from __future__ import annotations

import datetime as dt
import enum
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from envguard import __version__

if TYPE_CHECKING:
    from envguard.model import Diagnostic

app = typer.Typer(
    name="envguard",
    help="Environment-consistency linter for Python CI pipelines.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class InventoryFormat(str, enum.Enum):
    text = "text"
    json = "json"


def _print_version(value: bool) -> None:
    if value:
        print(f"envguard {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Show the version and exit.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for internal errors.")] = False,
) -> None:
    """Environment-consistency linter for Python CI pipelines."""


@app.command()
def inventory(
    paths: Annotated[
        Optional[list[Path]],  # noqa: UP007 - typer needs Optional on Python 3.10
        typer.Argument(help="Workspace directories or dependency files (default: the current directory)."),
    ] = None,
    output_format: Annotated[
        InventoryFormat, typer.Option("--format", "-f", help="Output format.", envvar="ENVGUARD_FORMAT")
    ] = InventoryFormat.text,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the report to this file.")] = None,  # noqa: UP007
    source_format: Annotated[
        Optional[str],  # noqa: UP007
        typer.Option("--source-format", help="Read every given file as this format (uv, poetry, pdm, pipfile, "
                     "pylock, requirements, freeze, pip-inspect, pip-list, conda, conda-meta)."),
    ] = None,
) -> int:
    """Load every dependency record into one normalised inventory per service."""
    from envguard.inventory import load_inventory
    from envguard.report import json as json_report
    from envguard.report import text as text_report

    result = load_inventory(list(paths or []), source_format)
    if output_format is InventoryFormat.json:
        rendered = json_report.dumps(json_report.inventory_document(result))
    else:
        rendered = text_report.render_inventory(result)
    _emit(rendered, output)
    _print_diagnostics(result.warnings, result.errors)
    return 2 if result.errors else 0


class CheckFormat(str, enum.Enum):
    text = "text"
    json = "json"


class FailOn(str, enum.Enum):
    error = "error"
    warning = "warning"
    never = "never"


PathsArgument = Annotated[
    Optional[list[Path]],  # noqa: UP007
    typer.Argument(help="Workspace directories or dependency files (default: the current directory)."),
]
PolicyOption = Annotated[
    Optional[Path],  # noqa: UP007
    typer.Option(
        "--policy",
        help="Policy file, or a directory whose *.yaml files merge in name order (default: `policy` in "
        "[tool.envguard], else policies/ at the workspace root, else the built-in policy).",
    ),
]
SourceFormatOption = Annotated[
    Optional[str],  # noqa: UP007
    typer.Option("--source-format", help="Read every given file as this format."),
]
OutputOption = Annotated[
    Optional[Path],  # noqa: UP007
    typer.Option("--output", "-o", help="Write the report to this file.", envvar="ENVGUARD_OUTPUT"),
]


def _today(value: Optional[str]) -> Optional[dt.date]:  # noqa: UP007
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO date (YYYY-MM-DD)") from None


@app.command()
def check(
    paths: PathsArgument = None,
    policy: PolicyOption = None,
    output_format: Annotated[
        CheckFormat, typer.Option("--format", "-f", help="Output format.", envvar="ENVGUARD_FORMAT")
    ] = CheckFormat.text,
    output: OutputOption = None,
    fail_on: Annotated[
        FailOn, typer.Option("--fail-on", help="Lowest unsuppressed severity that makes the exit code 1.")
    ] = FailOn.error,
    source_format: SourceFormatOption = None,
    today: Annotated[
        Optional[str],  # noqa: UP007
        typer.Option("--today", help="Judge exception expiry as of this ISO date (default: today)."),
    ] = None,
) -> int:
    """Check every service against the policy: plugins, denied packages, pytest versions, exceptions."""
    from envguard.check import run_check
    from envguard.report import json as json_report
    from envguard.report import text as text_report

    result = run_check(
        list(paths or []), policy_path=policy, today=_today(today), source_format=source_format
    )
    if output_format is CheckFormat.json:
        rendered = json_report.dumps(json_report.report_document(result))
    else:
        rendered = text_report.render_check(result)
    _emit(rendered, output)
    _print_diagnostics(result.warnings, result.errors)
    if output is not None:
        print(text_report.summary_line(result), file=sys.stderr)
    return result.exit_code(fail_on.value)


def _print_diagnostics(warnings: tuple[Diagnostic, ...], errors: tuple[Diagnostic, ...]) -> None:
    for warning in warnings:
        print(f"{warning.path}:{warning.line or 1}: warning: {warning.message}", file=sys.stderr)
    for error in errors:
        print(f"{error.path}:{error.line or 1}: {error.message}", file=sys.stderr)


def _emit(rendered: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(rendered)
        sys.stdout.flush()
        return
    output.write_text(rendered, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Run envguard; every outcome becomes an exit code (0 clean, 1 findings, 2 errors, 130 interrupted)."""
    from envguard.errors import EnvguardError

    args = sys.argv[1:] if argv is None else argv
    command = typer.main.get_command(app)
    try:
        result = command.main(args=args, prog_name="envguard", standalone_mode=False)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.TyperException as exc:  # usage errors: unknown option, bad value, no command
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        else:
            print(f"envguard: {exc}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, typer.Abort):
        print("envguard: interrupted", file=sys.stderr)
        return 130
    except EnvguardError as exc:
        print(f"envguard: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 2
    except Exception as exc:  # the boundary: no traceback reaches the user without --debug
        if "--debug" in args:
            raise
        print(f"envguard: internal error: {type(exc).__name__}: {exc} (run with --debug for details)", file=sys.stderr)
        return 2
    return result if isinstance(result, int) else 0
