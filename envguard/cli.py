"""Command line: thin typer commands around app functions, inside one error boundary.

Heavy modules (loaders, reporters) are imported inside the commands: envguard runs on every
commit through pre-commit, so start-up time is part of the product.
"""

from __future__ import annotations

import datetime as dt
import enum
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from envguard import __version__

if TYPE_CHECKING:
    from collections.abc import Callable

    from envguard.check import CheckResult, LoadOptions
    from envguard.model import Diagnostic, Package

app = typer.Typer(
    name="envguard",
    help="Environment-consistency linter for Python CI pipelines.",
    epilog="Exit codes: 0 clean; 1 findings at or above --fail-on (check, verify) or A and B differ "
    "(diff); 2 an input, the policy, the configuration or the command line could not be used; "
    "130 interrupted.",
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
    no_cache: NoCacheOption = False,
    jobs: JobsOption = None,
    allow_outside_root: AllowOutsideRootOption = False,
) -> int:
    """Load every dependency record into one normalised inventory per service."""
    from envguard.cache import default_directory
    from envguard.inventory import build_inventory
    from envguard.report import json as json_report
    from envguard.report import text as text_report
    from envguard.workspace import discover

    load = _load_options(no_cache, jobs, allow_outside_root, output_format.value)
    workspace = discover(list(paths or []), source_format, allow_outside_root=allow_outside_root)
    cache = default_directory(workspace.root) if load.cache else None
    result = build_inventory(workspace, load.progress, cache=cache, jobs=jobs)
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


class ReportFormat(str, enum.Enum):
    text = "text"
    json = "json"
    sarif = "sarif"
    github = "github"
    gitlab = "gitlab"
    junit = "junit"
    markdown = "markdown"


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


NoCacheOption = Annotated[
    bool,
    typer.Option("--no-cache", help="Read every file, neither using nor writing .envguard-cache/.",
                 envvar="ENVGUARD_NO_CACHE"),
]
JobsOption = Annotated[
    Optional[int],  # noqa: UP007
    typer.Option("--jobs", "-j", min=1, help="Processes that parse records (default: the usable CPUs, "
                 "when there is enough to parse)."),
]
AllowOutsideRootOption = Annotated[
    bool,
    typer.Option("--allow-outside-root", help="Let -r/-c includes, local projects and policy `extends` "
                 "read files above the workspace root."),
]


def _load_options(no_cache: bool, jobs: Optional[int], allow_outside_root: bool, output_format: str) -> LoadOptions:  # noqa: UP007
    from envguard.check import LoadOptions

    return LoadOptions(not no_cache, jobs, allow_outside_root, _progress_printer(output_format))


def _progress_printer(output_format: str) -> Optional[Callable[[int, int, str], None]]:  # noqa: UP007
    """A one-line counter on stderr for people at a terminal; nothing in CI or for CI formats."""
    if output_format not in ("text", "json", "markdown") or os.environ.get("CI") or not sys.stderr.isatty():
        return None

    def show(done: int, total: int, name: str) -> None:
        if total < 20:
            return  # a small workspace is done before a counter could be read
        end = "\n" if done == total else ""
        sys.stderr.write(f"\r\x1b[Kenvguard: loaded {done}/{total} services ({name})"[: 200] + end)
        sys.stderr.flush()

    return show


TargetPythonOption = Annotated[
    Optional[str],  # noqa: UP007
    typer.Option("--python", help="Evaluate markers for this Python version, e.g. 3.12 (default: every entry counts)."),
]
TargetPlatformOption = Annotated[
    Optional[str],  # noqa: UP007
    typer.Option("--platform", help="Evaluate markers for this platform: linux, darwin or win32."),
]
TargetImplementationOption = Annotated[
    Optional[str],  # noqa: UP007
    typer.Option("--implementation", help="Evaluate markers for this implementation: cpython or pypy."),
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
        ReportFormat, typer.Option("--format", "-f", help="Output format.", envvar="ENVGUARD_FORMAT")
    ] = ReportFormat.text,
    output: OutputOption = None,
    fail_on: Annotated[
        FailOn, typer.Option("--fail-on", help="Lowest unsuppressed severity that makes the exit code 1.")
    ] = FailOn.error,
    source_format: SourceFormatOption = None,
    today: Annotated[
        Optional[str],  # noqa: UP007
        typer.Option("--today", help="Judge exception expiry as of this ISO date (default: today)."),
    ] = None,
    python: TargetPythonOption = None,
    platform: TargetPlatformOption = None,
    implementation: TargetImplementationOption = None,
    baseline: Annotated[
        Optional[Path],  # noqa: UP007
        typer.Option("--baseline", help="Fail only on findings that are not in this baseline file."),
    ] = None,
    write_baseline: Annotated[
        Optional[Path],  # noqa: UP007
        typer.Option("--write-baseline", help="Record today's findings in this file (then exit 0 unless "
                     "an input could not be read)."),
    ] = None,
    changed: Annotated[
        bool,
        typer.Option("--changed", help="Read the arguments as changed files (as pre-commit passes them): every "
                     "service of --root is still compared, but only the findings of the services those files "
                     "belong to are reported (all of them when a policy file changed)."),
    ] = False,
    root: Annotated[
        Optional[Path],  # noqa: UP007
        typer.Option("--root", help="Workspace root (default: the current directory); with --changed, the "
                     "workspace the changed files belong to.", file_okay=False),
    ] = None,
    no_cache: NoCacheOption = False,
    jobs: JobsOption = None,
    allow_outside_root: AllowOutsideRootOption = False,
    select: Annotated[
        Optional[list[str]],  # noqa: UP007
        typer.Option("--select", metavar="RULES", help="Report only these rules: names, codes or code prefixes, "
                     "or the families plugins (EG1xx), drift (EG2xx), exceptions (EG3xx); repeatable or "
                     "comma-separated."),
    ] = None,
) -> int:
    """Check every service against the policy: plugins, denied packages, pytest versions, drift, exceptions."""
    from envguard.check import run_check
    from envguard.errors import UsageError
    from envguard.markers import make_target
    from envguard.report import text as text_report
    from envguard.select import parse_select

    selected = parse_select(select or [])
    if write_baseline is not None and (changed or selected is not None):
        raise UsageError(
            "--write-baseline records the whole workspace; it cannot be combined with --changed or --select"
        )
    if root is not None and paths and not changed:
        raise UsageError("give either --root or workspace paths, not both (or use --changed FILE...)")
    workspace = [root or Path(".")] if changed or root is not None else list(paths or [])
    result = run_check(
        workspace,
        policy_path=policy,
        today=_today(today),
        source_format=source_format,
        target=make_target(python, platform, implementation),
        baseline=baseline,
        changed=list(paths or []) if changed else None,
        select=selected,
        load=_load_options(no_cache, jobs, allow_outside_root, output_format.value),
    )
    if changed and result.scope == frozenset():
        print("envguard: no changed file belongs to a service or the policy; nothing to check", file=sys.stderr)
        return 0
    if write_baseline is not None:
        from envguard.baseline import write_baseline as write

        write(write_baseline, result.findings)
        print(f"wrote {write_baseline}: {len(result.findings)} findings recorded", file=sys.stderr)
        _print_diagnostics(result.warnings, result.errors)
        return 2 if result.errors else 0
    _emit_report(output_format, result, output)
    _print_diagnostics(result.warnings, result.errors)
    if output is not None:
        print(text_report.summary_line(result), file=sys.stderr)
    return result.exit_code(fail_on.value)


_RECOGNISED_BY = {
    "name": "recognised by its pytest- name",
    "knowledge-base": "registers a pytest11 entry point (envguard's knowledge base)",
    "policy": "listed in plugins.also_plugins",
    "config": "enabled with -p in the pytest configuration",
    "conftest": "enabled by pytest_plugins in conftest.py",
    "disabled": "blocked with -p no: in the pytest configuration",
}


@app.command()
def plugins(
    paths: PathsArgument = None,
    policy: PolicyOption = None,
    output_format: Annotated[
        CheckFormat, typer.Option("--format", "-f", help="Output format.", envvar="ENVGUARD_FORMAT")
    ] = CheckFormat.text,
    output: OutputOption = None,
    source_format: SourceFormatOption = None,
    no_cache: NoCacheOption = False,
    jobs: JobsOption = None,
    allow_outside_root: AllowOutsideRootOption = False,
) -> int:
    """Each service's pytest plugins, how each was recognised, and what the policy says of it."""
    from envguard.check import prepare, service_plugins, sorted_diagnostics
    from envguard.report import json as json_report
    from envguard.report import text as text_report
    from envguard.rules.plugins import plugin_status

    prepared = prepare(list(paths or []), policy, source_format, _load_options(no_cache, jobs, allow_outside_root, output_format.value))
    rows: dict[str, list[dict[str, object]]] = {}
    if prepared.policy is not None:
        root = prepared.workspace.root
        for item in service_plugins(prepared.inventory, prepared.policy, root, prepared.errors, prepared.warnings):
            rows[item.service.name] = [
                {
                    "name": use.name,
                    "version": use.package.version if use.package is not None else None,
                    "recognised": _RECOGNISED_BY[use.how],
                    "how": use.how,
                    "status": plugin_status(use, prepared.policy),
                    "path": use.path,
                    "line": use.line,
                }
                for use in item.uses
            ]
    files = prepared.policy.files if prepared.policy is not None else ()
    if output_format is CheckFormat.json:
        rendered = json_report.dumps(json_report.plugins_document(rows, files))
    else:
        rendered = text_report.render_plugins(rows, files)
    _emit(rendered, output)
    errors = sorted_diagnostics(prepared.errors)
    _print_diagnostics(sorted_diagnostics(prepared.warnings), errors)
    return 2 if errors else 0


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Workspace root (default: the current directory).")] = Path("."),
    output: Annotated[
        Optional[Path],  # noqa: UP007
        typer.Option("--output", "-o", help="Where to write the policy (default: policies/envguard.yaml under PATH)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> int:
    """Write a starter policy that approves what the workspace uses today."""
    from envguard.check import service_plugins, sorted_diagnostics
    from envguard.errors import UsageError
    from envguard.inventory import build_inventory
    from envguard.policy import Policy
    from envguard.rules.plugins import installed_plugins
    from envguard.starter import starter_policy
    from envguard.workspace import discover

    target = output if output is not None else path / "policies" / "envguard.yaml"
    if target.exists() and not force:
        raise UsageError(f"{target} exists; use --force to overwrite it")
    # The existing policy is not read: it is what is being replaced, and may be the broken part.
    workspace = discover([path])
    inventory = build_inventory(workspace)
    errors = sorted_diagnostics(list(inventory.errors))
    if errors:
        _print_diagnostics((), errors)
        return 2
    in_use: dict[str, list[Package]] = {}
    # An empty policy: what counts as a plugin must not depend on the policy being replaced.
    for item in service_plugins(inventory, Policy(), workspace.root, [], []):
        for package in installed_plugins(item.uses):
            in_use.setdefault(package.name, []).append(package)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(starter_policy(inventory, in_use), encoding="utf-8")
    print(f"wrote {target}: {len(in_use)} plugins approved; review it, then run `envguard check`", file=sys.stderr)
    return 0


@app.command()
def explain(
    rule: Annotated[
        Optional[str],  # noqa: UP007
        typer.Argument(help="Rule name or code, e.g. unapproved-plugin or EG101 (default: list every rule)."),
    ] = None,
) -> int:
    """Print a rule's documentation: what it checks, why it matters, how to fix or waive it."""
    from envguard.errors import UsageError
    from envguard.rules.catalog import RULES, lookup

    if rule is None:
        for item in RULES:
            print(f"{item.code}  {item.name:<28} {item.severity.value:<8} {item.summary}")
        return 0
    found = lookup(rule)
    if found is None:
        raise UsageError(f"unknown rule {rule!r}; `envguard explain` lists them")
    print(f"{found.code} {found.name} (default severity: {found.severity.value})\n")
    print(f"What it checks: {found.summary}\n")
    print(f"Why it matters: {found.why}\n")
    print(f"How to fix: {found.fix}\n")
    print(
        "How to waive: add an exception to the policy with package, reason and expires "
        f"(and optionally services, owner), limited to this rule with `rule: {found.name}`."
    )
    return 0


class DiffFormat(str, enum.Enum):
    text = "text"
    json = "json"
    markdown = "markdown"


@app.command()
def diff(
    a: Annotated[str, typer.Argument(metavar="A", help="Service name, service directory or dependency file.")],
    b: Annotated[str, typer.Argument(metavar="B", help="Service name, service directory or dependency file.")],
    root: Annotated[
        Optional[Path],  # noqa: UP007
        typer.Option("--root", help="Workspace in which A and B are looked up as service names (default: the "
                     "current directory). An existing path is always read as a path."),
    ] = None,
    packages: Annotated[
        Optional[list[str]],  # noqa: UP007
        typer.Option("--packages", help="Only packages matching this glob (repeatable; '!' negates).",
                     metavar="GLOB"),
    ] = None,
    policy_only: Annotated[
        bool, typer.Option("--policy-only", help="Hide packages whose drift rule in the policy is `none`.")
    ] = False,
    policy: PolicyOption = None,
    python: TargetPythonOption = None,
    platform: TargetPlatformOption = None,
    implementation: TargetImplementationOption = None,
    output_format: Annotated[
        DiffFormat, typer.Option("--format", "-f", help="Output format.", envvar="ENVGUARD_FORMAT")
    ] = DiffFormat.text,
    output: OutputOption = None,
    source_format: SourceFormatOption = None,
) -> int:
    """Compare the third-party packages of two services: exit 0 when they agree, 1 when they differ."""
    from envguard.diff import run_diff
    from envguard.markers import make_target
    from envguard.report import text as text_report

    result = run_diff(
        a,
        b,
        root=root,
        policy_path=policy,
        policy_only=policy_only,
        packages=packages or [],
        target=make_target(python, platform, implementation),
        source_format=source_format,
    )
    if result.errors:
        # A side that could not be read would show as a wall of only-a/only-b changes.
        _print_diagnostics(result.warnings, result.errors)
        return 2
    if output_format is DiffFormat.json:
        from envguard.report import json as json_report

        rendered = json_report.dumps(json_report.diff_document(result))
    elif output_format is DiffFormat.markdown:
        from envguard.report import markdown as markdown_report

        rendered = markdown_report.render_diff(result)
    else:
        rendered = text_report.render_diff(result)
    _emit(rendered, output)
    _print_diagnostics(result.warnings, ())
    if output is not None:
        print(text_report.diff_summary(result), file=sys.stderr)
    return result.exit_code()


InterpreterOption = Annotated[
    Optional[str],  # noqa: UP007
    typer.Option(
        "--python",
        help="Interpreter of the environment to read (a path, a virtual environment directory or a command "
        "on PATH; default: the interpreter running envguard). envguard runs it once, isolated (-I).",
        metavar="PATH",
    ),
]


@app.command()
def verify(
    lock: Annotated[
        Optional[Path],  # noqa: UP007
        typer.Option("--lock", help="The lock (or any dependency record) the environment must match.", metavar="FILE"),
    ] = None,
    service: Annotated[
        Optional[str],  # noqa: UP007
        typer.Option("--service", help="Instead of --lock: a service of the workspace at --root.", metavar="NAME"),
    ] = None,
    root: Annotated[
        Optional[Path],  # noqa: UP007
        typer.Option("--root", help="Workspace in which --service is looked up (default: the current directory)."),
    ] = None,
    python: InterpreterOption = None,
    snapshot: Annotated[
        Optional[Path],  # noqa: UP007
        typer.Option("--snapshot", help="Check this snapshot (`envguard snapshot`) instead of a live environment.",
                     metavar="FILE"),
    ] = None,
    groups: Annotated[
        Optional[list[str]],  # noqa: UP007
        typer.Option("--groups", help="Groups (or extras) installed besides main, comma-separated or repeated.",
                     metavar="NAMES"),
    ] = None,
    all_groups: Annotated[bool, typer.Option("--all-groups", help="Every group and extra of the lock.")] = False,
    ignore: Annotated[
        Optional[list[str]],  # noqa: UP007
        typer.Option("--ignore", help="Leave this package (name or glob) out of the lock comparison (repeatable).",
                     metavar="NAME"),
    ] = None,
    policy: PolicyOption = None,
    output_format: Annotated[
        ReportFormat, typer.Option("--format", "-f", help="Output format.", envvar="ENVGUARD_FORMAT")
    ] = ReportFormat.text,
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
    """Check an installed environment against its lock and the policy: versions, missing and extra
    packages, broken requirements, duplicates and pytest plugins (found by their entry points)."""
    from envguard.report import json as json_report
    from envguard.report import text as text_report
    from envguard.verify import VerifyRequest, run_verify

    request = VerifyRequest(
        lock=lock,
        service=service,
        root=root,
        python=python,
        snapshot=snapshot,
        groups=tuple(name for item in groups or [] for name in item.split(",") if name.strip()),
        all_groups=all_groups,
        ignore=tuple(ignore or []),
        policy=policy,
        source_format=source_format,
        today=_today(today),
    )
    result = run_verify(request)
    _emit_report(output_format, result, output)
    _print_diagnostics(result.warnings, result.errors)
    if output is not None:
        print(text_report.summary_line(result), file=sys.stderr)
    return result.exit_code(fail_on.value)


@app.command()
def snapshot(
    python: InterpreterOption = None,
    output: Annotated[
        Optional[Path],  # noqa: UP007
        typer.Option("--output", "-o", help="Write the snapshot to this file (default: standard output)."),
    ] = None,
) -> int:
    """Write a fingerprint of an environment (schema envguard.snapshot/1) for `verify --snapshot` and `diff`."""
    from envguard.snapshot import dumps, snapshot_document
    from envguard.sources.environment import read_environment

    environment = read_environment(python)
    document = snapshot_document(environment)
    _emit(dumps(document), output)
    _print_diagnostics(environment.warnings, ())
    if output is not None:
        count = len(document["packages"])
        print(f"wrote {output}: {count} packages, sha256 {document['sha256']}", file=sys.stderr)
    return 0


def _print_diagnostics(warnings: tuple[Diagnostic, ...], errors: tuple[Diagnostic, ...]) -> None:
    for warning in warnings:
        print(f"{warning.path}:{warning.line or 1}: warning: {warning.message}", file=sys.stderr)
    for error in errors:
        print(f"{error.path}:{error.line or 1}: {error.message}", file=sys.stderr)


def _emit_report(output_format: ReportFormat, result: CheckResult, output: Path | None) -> None:
    from envguard.report import render_report

    colour = output is None and output_format is ReportFormat.text and _colour_wanted(sys.stdout)
    _emit(render_report(output_format.value, result, colour=colour), output)
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if output_format is ReportFormat.github and summary_file:
        # The job summary page renders Markdown; appending keeps earlier steps' summaries.
        with open(summary_file, "a", encoding="utf-8") as handle:
            handle.write(render_report("markdown", result))


def _colour_wanted(stream: object) -> bool:
    """NO_COLOR wins, then FORCE_COLOR, then whether the stream is a terminal (not in dumb ones)."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"


def _emit(rendered: str, output: Path | None) -> None:
    # A file name that is not UTF-8 arrives as lone surrogates (PEP 383) and goes out as the bytes
    # it was; other lone surrogates (a "\ud800" escape in a JSON record) escaped. A strict stream
    # or file would fail on either.
    try:
        data = rendered.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        data = rendered.encode("utf-8", "backslashreplace")
    if output is None:
        buffer = getattr(sys.stdout, "buffer", None)
        if buffer is None:  # a text-only stream (tests): it takes the text as it is
            sys.stdout.write(rendered)
            sys.stdout.flush()
            return
        sys.stdout.flush()
        buffer.write(data)
        buffer.flush()
        return
    output.write_bytes(data)


def run() -> None:
    """The console script: `main` with the cyclic garbage collector off.

    envguard makes no reference cycles worth collecting; with the collector on, every collection
    of the oldest generation walks the whole inventory again (a quarter of a warm run), and so
    does the last one at exit, which `gc.freeze()` skips.
    """
    import gc

    gc.disable()
    code = main()
    gc.freeze()
    sys.exit(code)


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
