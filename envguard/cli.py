"""Command line: thin argparse commands around app functions, inside one error boundary.

Heavy modules (loaders, reporters) are imported inside the commands: envguard runs on every
commit through pre-commit, so start-up time is part of the product. The parser is the standard
library's argparse, not a CLI framework: importing typer cost 25 ms of a 113 ms one-service
pre-commit run (docs/performance.md).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from envguard import __version__

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable, Sequence
    from typing import Any, NoReturn

    from envguard.check import CheckResult
    from envguard.inventory import LoadOptions
    from envguard.model import Diagnostic, Package
    from envguard.policy import ReferenceSpec

DESCRIPTION = "Environment-consistency linter for Python CI pipelines."
EPILOG = (
    "Exit codes: 0 clean; 1 findings at or above --fail-on (check, verify) or A and B differ "
    "(diff); 2 an input, the policy, the configuration or the command line could not be used; "
    "130 interrupted."
)
INVENTORY_FORMATS = ("text", "json", "jsonl")
CHECK_FORMATS = ("text", "json")
VERIFY_FORMATS = ("text", "json", "sarif", "github", "gitlab", "junit", "markdown")
REPORT_FORMATS = (*VERIFY_FORMATS, "html")
DIFF_FORMATS = ("text", "json", "markdown", "html")
FAIL_ON = ("error", "warning", "never")
COMMANDS = ("inventory", "check", "plugins", "fix", "init", "explain", "diff", "verify", "snapshot")
FIX_FORMATS = ("text", "json")


# --- commands ----------------------------------------------------------------------------------
# Each takes the parsed options as keyword arguments (argparse `dest` = parameter name) and
# returns the exit code. The parser that feeds them is `build_parser` below.


def inventory(
    *,
    paths: list[Path] | None,
    output_format: str,
    output: Path | None,
    source_format: str | None,
    no_cache: bool,
    jobs: int | None,
    allow_outside_root: bool,
    name: str | None,
) -> int:
    """Load every dependency record into one normalised inventory per service."""
    from envguard.inventory import load_workspace
    from envguard.report import json as json_report
    from envguard.report import text as text_report

    load = _load_options(no_cache, jobs, allow_outside_root, output_format)
    workspace, result = load_workspace(list(paths or []), source_format, load)
    if output_format == "text":
        rendered = text_report.render_inventory(result)
    else:
        from envguard.org.repository import read_repository

        # An artifact says which repository and commit it describes: many are read together.
        repository, git_warnings = read_repository(workspace.root, name)
        result = dataclasses.replace(result, warnings=_merged(result.warnings, list(git_warnings)))
        if output_format == "jsonl":
            from envguard.report import jsonl as jsonl_report

            rendered = jsonl_report.render_inventory(result, repository)
        else:
            from envguard.org.artifacts import recorded_pytest

            configs, errors, warnings = recorded_pytest(result, workspace.root)
            result = dataclasses.replace(
                result, errors=_merged(result.errors, errors), warnings=_merged(result.warnings, warnings)
            )
            rendered = json_report.dumps(json_report.inventory_document(result, configs, repository))
    _emit(rendered, output)
    _print_diagnostics(result.warnings, result.errors)
    return 2 if result.errors else 0


def _merged(items: tuple[Diagnostic, ...], more: list[Diagnostic]) -> tuple[Diagnostic, ...]:
    return tuple(sorted({*items, *more}, key=lambda d: (d.path, d.line or 0, d.message)))


def check(
    *,
    paths: list[Path] | None,
    policy: str | None,
    output_format: str,
    output: Path | None,
    fail_on: str,
    source_format: str | None,
    today: dt.date | None,
    python: str | None,
    platform: str | None,
    implementation: str | None,
    baseline: Path | None,
    write_baseline: Path | None,
    changed: bool,
    root: Path | None,
    no_cache: bool,
    jobs: int | None,
    allow_outside_root: bool,
    select: list[str] | None,
    references: list[ReferenceSpec] | None,
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
        today=today,
        source_format=source_format,
        target=make_target(python, platform, implementation),
        baseline=baseline,
        changed=list(paths or []) if changed else None,
        select=selected,
        load=_load_options(no_cache, jobs, allow_outside_root, output_format),
        references=references or (),
        plugins=output_format == "html",
    )
    if changed and result.scope == frozenset():
        print("envguard: no changed file belongs to a service or the policy; nothing to check", file=sys.stderr)
        return 0
    if changed:
        from envguard import precommit_runs

        hook = (policy, output_format, output, fail_on, source_format, python, platform, implementation, baseline, root, select)
        run = precommit_runs.run_identity(hook)
        if run is not None:
            result, left_out = precommit_runs.leave_out_reported(result, run)
            if left_out:
                print(f"envguard: {left_out} findings left out: an earlier part of this pre-commit run reported them", file=sys.stderr)
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
    return result.exit_code(fail_on)


def plugins(
    *,
    paths: list[Path] | None,
    policy: str | None,
    output_format: str,
    output: Path | None,
    source_format: str | None,
    no_cache: bool,
    jobs: int | None,
    allow_outside_root: bool,
    references: list[ReferenceSpec] | None,
) -> int:
    """Each service's pytest plugins, how each was recognised, and what the policy says of it
    (and each reference environment's, which the policy judges too)."""
    from envguard.assessment import service_plugins
    from envguard.check import prepare, sorted_diagnostics
    from envguard.plugin_table import reference_rows, service_rows
    from envguard.report import json as json_report
    from envguard.report import text as text_report

    load = _load_options(no_cache, jobs, allow_outside_root, output_format)
    prepared = prepare(list(paths or []), policy, source_format, load, references or ())
    rows: dict[str, list[dict[str, object]]] = {}
    environments: dict[str, tuple[str, list[dict[str, object]]]] = {}
    if prepared.policy is not None:
        root = prepared.workspace.root
        for reference in prepared.references.loaded:
            environments[reference.name] = (reference.path, reference_rows(reference.as_service(), prepared.policy))
        for item in service_plugins(prepared.inventory, prepared.policy, root, prepared.errors, prepared.warnings):
            rows[item.service.name] = service_rows(item, prepared.policy)
    files = prepared.policy.files if prepared.policy is not None else ()
    if output_format == "json":
        rendered = json_report.dumps(json_report.plugins_document(rows, files, environments))
    else:
        rendered = text_report.render_plugins(rows, files, environments)
    _emit(rendered, output)
    errors = sorted_diagnostics(prepared.errors)
    _print_diagnostics(sorted_diagnostics(prepared.warnings), errors)
    return 2 if errors else 0


def fix(
    *,
    paths: list[Path] | None,
    policy: str | None,
    select: list[str] | None,
    only: list[str] | None,
    package: list[str] | None,
    apply: bool,
    jobs: int | None,
    timeout: float,
    output_format: str,
    no_cache: bool,
    allow_outside_root: bool,
) -> int:
    """Plan (and with --apply run) the moves that end version drift and out-of-range plugins, in each
    service's own tool."""
    from envguard.fix.command import FixOptions, run_fix
    from envguard.fix.report import render
    from envguard.inventory import LoadOptions
    from envguard.select import parse_select

    options = FixOptions(
        paths=tuple(paths or []),
        policy=policy,
        select=parse_select(select or []),
        only=tuple(only or ()),
        packages=tuple(package or ()),
        apply=apply,
        jobs=jobs or os.cpu_count() or 1,
        timeout=timeout,
        load=LoadOptions(not no_cache, None, allow_outside_root, _progress_printer(output_format)),
    )
    progress = None
    if apply and output_format == "text":
        from envguard.fix.runner import progress_printer

        progress = progress_printer()
    result = run_fix(options, progress=progress)
    _emit(render(result, output_format), None)
    checked = result.after or result.before
    _print_diagnostics(checked.warnings, checked.errors)
    if result.before.errors and apply:
        print("envguard: nothing applied: an input or the policy could not be read", file=sys.stderr)
    return result.exit_code


def init(*, path: Path, output: Path | None, force: bool) -> int:
    """Write a starter policy that approves what the workspace uses today."""
    from envguard.assessment import service_plugins
    from envguard.check import sorted_diagnostics
    from envguard.errors import UsageError
    from envguard.inventory import build_inventory
    from envguard.policy import Policy
    from envguard.model import Package
    from envguard.rules.declared import declared_plugins
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
    empty = Policy()
    loose: dict[str, list[Package]] = {}
    for item in service_plugins(inventory, empty, workspace.root, [], []):
        for package in installed_plugins(item.uses):
            in_use.setdefault(package.name, []).append(package)
        # What files declare counts too: a pin as its version; a range or no pin only for a plugin
        # no record holds and nothing pins (it is in use, at a version nobody wrote down: "*").
        for declaration, _ in declared_plugins(item.service, item.uses, empty):
            entry = Package(declaration.name, declaration.version, declaration.kind, (), None, declaration.path, declaration.line)
            (in_use if declaration.version is not None else loose).setdefault(declaration.name, []).append(entry)
    for name, entries in loose.items():
        in_use.setdefault(name, entries)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(starter_policy(inventory, in_use), encoding="utf-8")
    print(f"wrote {target}: {len(in_use)} plugins approved; review it, then run `envguard check`", file=sys.stderr)
    return 0


def explain(*, rule: str | None) -> int:
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


def diff(
    *,
    a: str,
    b: str,
    root: Path | None,
    packages: list[str] | None,
    policy_only: bool,
    policy: Path | None,
    python: str | None,
    platform: str | None,
    implementation: str | None,
    output_format: str,
    output: Path | None,
    source_format: str | None,
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
    if output_format == "json":
        from envguard.report import json as json_report

        rendered = json_report.dumps(json_report.diff_document(result))
    elif output_format == "markdown":
        from envguard.report import markdown as markdown_report

        rendered = markdown_report.render_diff(result)
    elif output_format == "html":
        from envguard.report import html as html_report

        rendered = html_report.render_diff(result)
    else:
        rendered = text_report.render_diff(result)
    _emit(rendered, output)
    _print_diagnostics(result.warnings, ())
    if output is not None:
        print(text_report.diff_summary(result), file=sys.stderr)
    return result.exit_code()


def verify(
    *,
    lock: Path | None,
    service: str | None,
    root: Path | None,
    python: str | None,
    snapshot: Path | None,
    groups: list[str] | None,
    all_groups: bool,
    ignore: list[str] | None,
    policy: Path | None,
    output_format: str,
    output: Path | None,
    fail_on: str,
    source_format: str | None,
    today: dt.date | None,
) -> int:
    """Check an installed environment against its lock and the policy: versions, missing and extra
    packages, broken requirements, duplicates and pytest plugins (found by their entry points)."""
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
        today=today,
    )
    result = run_verify(request)
    _emit_report(output_format, result, output)
    _print_diagnostics(result.warnings, result.errors)
    if output is not None:
        print(text_report.summary_line(result), file=sys.stderr)
    return result.exit_code(fail_on)


def snapshot(*, python: str | None, output: Path | None) -> int:
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


def _load_options(no_cache: bool, jobs: int | None, allow_outside_root: bool, output_format: str) -> LoadOptions:
    from envguard.inventory import LoadOptions

    return LoadOptions(not no_cache, jobs, allow_outside_root, _progress_printer(output_format))


def _progress_printer(output_format: str) -> Callable[[int, int, str], None] | None:
    """A one-line counter on stderr for people at a terminal; nothing in CI or for CI formats."""
    if output_format not in ("text", "json", "markdown", "html") or os.environ.get("CI") or not sys.stderr.isatty():
        return None

    def show(done: int, total: int, name: str) -> None:
        if total < 20:
            return  # a small workspace is done before a counter could be read
        end = "\n" if done == total else ""
        sys.stderr.write(f"\r\x1b[Kenvguard: loaded {done}/{total} services ({name})"[: 200] + end)
        sys.stderr.flush()

    return show


def _print_diagnostics(warnings: tuple[Diagnostic, ...], errors: tuple[Diagnostic, ...]) -> None:
    for warning in warnings:
        print(f"{warning.path}:{warning.line or 1}: warning: {warning.message}", file=sys.stderr)
    for error in errors:
        print(f"{error.path}:{error.line or 1}: {error.message}", file=sys.stderr)


def _emit_report(output_format: str, result: CheckResult, output: Path | None) -> None:
    from envguard.report import render_report

    colour = output is None and output_format == "text" and _colour_wanted(sys.stdout)
    _emit(render_report(output_format, result, colour=colour), output)
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if output_format == "github" and summary_file:
        # The job summary page renders Markdown; appending keeps earlier steps' summaries.
        with open(summary_file, "ab") as handle:
            handle.write(_encoded(render_report("markdown", result)))


def _colour_wanted(stream: object) -> bool:
    """NO_COLOR wins, then FORCE_COLOR, then whether the stream is a terminal (not in dumb ones)."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"


def _encoded(rendered: str) -> bytes:
    # A file name that is not UTF-8 arrives as lone surrogates (PEP 383) and goes out as the bytes
    # it was; other lone surrogates (a "\ud800" escape in a JSON record) escaped. A strict stream
    # or file would fail on either.
    try:
        return rendered.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return rendered.encode("utf-8", "backslashreplace")


def _emit(rendered: str, output: Path | None) -> None:
    data = _encoded(rendered)
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


# --- the parser --------------------------------------------------------------------------------


class _Exit(Exception):
    """Help, --version or a usage error: what argparse would `sys.exit` with, for `main` to return."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class _HelpFormatter(argparse.HelpFormatter):
    """argparse measures the command list one indentation short, which wraps the longest name."""

    def add_argument(self, action: argparse.Action) -> None:
        if isinstance(action, argparse._SubParsersAction):
            self._indent()
            super().add_argument(action)
            self._dedent()
        else:
            super().add_argument(action)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that never exits the process: `main` turns `_Exit` into its return value."""

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            self._print_message(message, sys.stderr)
        raise _Exit(status)

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"envguard: error: {message}\n")


class _CommandParser(_Parser):
    """A command's parser: options and arguments may come in any order (`check a --select x b`),
    as pre-commit appends the changed files after the hook's own arguments."""

    _intermixed = False

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        # parse_known_intermixed_args calls back here (in most Python versions); after `--` every
        # argument is positional, which only the ordinary parse gets right.
        if self._intermixed or (args is not None and "--" in args):
            return super().parse_known_args(args, namespace)
        self._intermixed = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._intermixed = False


class _Env:
    """The default of an option that an environment variable may set; resolved after parsing, so
    that the variable is read (and validated) only when the option is not given."""

    def __init__(self, name: str, default: object) -> None:
        self.name = name
        self.default = default

    def __repr__(self) -> str:
        return f"${self.name}"


_TRUE = ("1", "true", "t", "yes", "y", "on")
_FALSE = ("0", "false", "f", "no", "n", "off")


def _apply_environment(parser: argparse.ArgumentParser, namespace: argparse.Namespace) -> None:
    """Replace each `_Env` default left in `namespace` with its variable's value, or the default."""
    for action in parser._actions:
        env = action.default
        if not isinstance(env, _Env):
            continue
        if getattr(namespace, action.dest, None) is not action.default:  # given on the command line
            continue
        raw = os.environ.get(env.name, "")
        value = env.default
        name = "/".join(action.option_strings)
        if not raw:  # unset or empty: the default
            pass
        elif action.nargs == 0:  # a flag
            if raw.lower() not in _TRUE + _FALSE:
                parser.error(f"argument {name}: {env.name}={raw!r} is not a boolean (use 1 or 0, true or false, "
                             "yes or no, on or off)")
            value = raw.lower() in _TRUE
        elif action.choices is not None and raw not in action.choices:
            choices = ", ".join(repr(choice) for choice in action.choices)
            parser.error(f"argument {name}: invalid choice: {raw!r} (from {env.name}; choose from {choices})")
        else:
            value = Path(raw) if action.type is Path else raw
        setattr(namespace, action.dest, value)


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an integer") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{number} is not in the range x>=1")
    return number


def _positive_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not number > 0:
        raise argparse.ArgumentTypeError(f"{value} is not in the range x>0")
    return number


def _iso_date(value: str) -> dt.date:
    import datetime

    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an ISO date (YYYY-MM-DD)") from None


def _directory(value: str) -> Path:
    """A directory that need not exist yet, but is not a file."""
    path = Path(value)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{value!r} is a file, not a directory")
    return path


def _format_option(parser: argparse.ArgumentParser, choices: tuple[str, ...]) -> None:
    parser.add_argument(
        "-f", "--format", dest="output_format", choices=choices, metavar="FORMAT",
        default=_Env("ENVGUARD_FORMAT", "text"),
        help=f"Output format: {', '.join(choices)}.  [env var: ENVGUARD_FORMAT; default: text]",
    )


def _paths_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                        help="Workspace directories or dependency files (default: the current directory).")


def _policy_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--policy", type=str, metavar="REF",
        help="Policy file, or a directory whose *.yaml files merge in name order; or package:NAME[/PATH] "
        "(the envguard-policy.yaml an installed distribution ships); or https://...#sha256=HEX (fetched "
        "once, then read from the cache) (default: `policy` in [tool.envguard], else policies/ at the "
        "workspace root, else the built-in policy).",
    )


def _output_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", type=Path, metavar="FILE", default=_Env("ENVGUARD_OUTPUT", None),
                        help="Write the report to this file.  [env var: ENVGUARD_OUTPUT]")


def _source_format_option(parser: argparse.ArgumentParser, help: str = "Read every given file as this format.") -> None:
    parser.add_argument("--source-format", metavar="FORMAT", help=help)


def _fail_on_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fail-on", choices=FAIL_ON, default="error",
                        help="Lowest unsuppressed severity that makes the exit code 1.  [default: error]")


def _today_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--today", type=_iso_date, metavar="YYYY-MM-DD",
                        help="Judge exception expiry as of this ISO date (default: today).")


def _target_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--python", metavar="X.Y",
                        help="Evaluate markers for this Python version, e.g. 3.12 (default: every entry counts).")
    parser.add_argument("--platform", metavar="PLATFORM",
                        help="Evaluate markers for this platform: linux, darwin or win32.")
    parser.add_argument("--implementation", metavar="NAME",
                        help="Evaluate markers for this implementation: cpython or pypy.")


def _load_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-cache", action="store_true", default=_Env("ENVGUARD_NO_CACHE", False),
                        help="Read every file, neither using nor writing .envguard-cache/.  "
                        "[env var: ENVGUARD_NO_CACHE]")
    parser.add_argument("-j", "--jobs", type=_positive_int, metavar="N",
                        help="Processes that parse records (default: the usable CPUs, when there is enough to "
                        "parse).  [x>=1]")
    parser.add_argument("--allow-outside-root", action="store_true",
                        help="Let -r/-c includes, local projects and policy `extends` read files above the "
                        "workspace root.")


def _interpreter_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--python", metavar="PATH",
        help="Interpreter of the environment to read (a path, a virtual environment directory or a command "
        "on PATH; default: the interpreter running envguard). envguard runs it once, isolated (-I).",
    )


def _inventory_arguments(sub: argparse.ArgumentParser) -> None:
    _paths_argument(sub)
    _format_option(sub, INVENTORY_FORMATS)
    sub.add_argument("-o", "--output", type=Path, metavar="FILE", help="Write the report to this file.")
    sub.add_argument("--name", type=_repository_name, metavar="NAME",
                     help="The repository's name in json and jsonl output (default: from the origin URL in "
                     ".git, else the work tree's directory name).")
    _source_format_option(sub, "Read every given file as this format (uv, poetry, pdm, pipfile, pylock, "
                          "requirements, freeze, pip-report, pip-inspect, pip-list, conda, conda-meta).")
    _load_arguments(sub)


def _repository_name(value: str) -> str:
    from envguard.org.repository import valid_name

    if not valid_name(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a repository name (no '/', no surrounding spaces)")
    return value


def _check_arguments(sub: argparse.ArgumentParser) -> None:
    _paths_argument(sub)
    _policy_option(sub)
    _format_option(sub, REPORT_FORMATS)
    _output_option(sub)
    _fail_on_option(sub)
    _source_format_option(sub)
    _today_option(sub)
    _target_options(sub)
    sub.add_argument("--baseline", type=Path, metavar="FILE",
                     help="Fail only on findings that are not in this baseline file.")
    sub.add_argument("--write-baseline", type=Path, metavar="FILE",
                     help="Record today's findings in this file (then exit 0 unless an input could not be read).")
    sub.add_argument("--changed", action="store_true",
                     help="Read the arguments as changed files (as pre-commit passes them): every service of "
                     "--root is still compared, but only the findings of the services those files belong to are "
                     "reported (all of them when a policy file changed).")
    sub.add_argument("--root", type=_directory, metavar="DIR",
                     help="Workspace root (default: the current directory); with --changed, the workspace the "
                     "changed files belong to.")
    _load_arguments(sub)
    _reference_option(sub)
    sub.add_argument("--select", action="append", metavar="RULES",
                     help="Report only these rules: names, codes or code prefixes, or the families plugins "
                     "(EG1xx), drift (EG2xx), exceptions (EG3xx); repeatable or comma-separated.")


def _plugins_arguments(sub: argparse.ArgumentParser) -> None:
    _paths_argument(sub)
    _policy_option(sub)
    _format_option(sub, CHECK_FORMATS)
    _output_option(sub)
    _source_format_option(sub)
    _load_arguments(sub)
    _reference_option(sub)


def _reference(value: str) -> ReferenceSpec:
    from envguard.errors import UsageError
    from envguard.references import parse_option

    try:
        return parse_option(value)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix(f"--reference {value!r}: ")) from None


def _reference_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--reference", dest="references", action="append", type=_reference, metavar="NAME=REF",
        help="A reference environment (a freeze, requirements, constraints or lock file, a snapshot or a "
        "one-service inventory artifact; or package:DIST[/PATH], or https://...#sha256=HEX) that snap-to "
        "NAME compares services with; replaces the policy's reference of that name. Repeatable.",
    )


def _fix_arguments(sub: argparse.ArgumentParser) -> None:
    _paths_argument(sub)
    _policy_option(sub)
    sub.add_argument("--select", action="append", metavar="RULES",
                     help="Act only on these rules' findings (names, codes or families, as for check; default: "
                     "version-drift, pinned-version-mismatch, snap-to-mismatch, plugin-version-not-allowed, and "
                     "unapproved-plugin and denied-package, which are only listed as skipped).")
    sub.add_argument("--only", action="append", metavar="SERVICE",
                     help="Only this service's actions (a name or glob; repeatable). Every service is still compared.")
    sub.add_argument("--package", action="append", metavar="NAME",
                     help="Only this package's actions (a name or glob; repeatable).")
    sub.add_argument("--apply", action="store_true",
                     help="Apply the plan: edit pins, run each service's locker, then check again.")
    sub.add_argument("-j", "--jobs", type=_positive_int, metavar="N",
                     help="Actions run at once with --apply (default: the usable CPUs); actions sharing a file or "
                     "directory run one after the other.  [x>=1]")
    sub.add_argument("--timeout", type=_positive_float, default=600.0, metavar="SECONDS",
                     help="Stop a locker that runs longer, and restore its files.  [default: 600]")
    _format_option(sub, FIX_FORMATS)
    sub.add_argument("--no-cache", action="store_true", default=_Env("ENVGUARD_NO_CACHE", False),
                     help="Read every file, neither using nor writing the check cache.  [env var: ENVGUARD_NO_CACHE]")
    sub.add_argument("--allow-outside-root", action="store_true",
                     help="Let -r/-c includes, local projects and policy `extends` read files above the workspace root.")


def _init_arguments(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("path", nargs="?", type=Path, default=Path("."), metavar="PATH",
                     help="Workspace root (default: the current directory).")
    sub.add_argument("-o", "--output", type=Path, metavar="FILE",
                     help="Where to write the policy (default: policies/envguard.yaml under PATH).")
    sub.add_argument("--force", action="store_true", help="Overwrite an existing file.")


def _explain_arguments(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("rule", nargs="?", metavar="RULE",
                     help="Rule name or code, e.g. unapproved-plugin or EG101 (default: list every rule).")


def _diff_arguments(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("a", metavar="A", help="Service name, service directory or dependency file.")
    sub.add_argument("b", metavar="B", help="Service name, service directory or dependency file.")
    sub.add_argument("--root", type=Path, metavar="DIR",
                     help="Workspace in which A and B are looked up as service names (default: the current "
                     "directory). An existing path is always read as a path.")
    sub.add_argument("--packages", action="append", metavar="GLOB",
                     help="Only packages matching this glob (repeatable; '!' negates).")
    sub.add_argument("--policy-only", action="store_true",
                     help="Hide packages whose drift rule in the policy is `none`.")
    _policy_option(sub)
    _target_options(sub)
    _format_option(sub, DIFF_FORMATS)
    _output_option(sub)
    _source_format_option(sub)


def _verify_arguments(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--lock", type=Path, metavar="FILE",
                     help="The lock (or any dependency record) the environment must match.")
    sub.add_argument("--service", metavar="NAME", help="Instead of --lock: a service of the workspace at --root.")
    sub.add_argument("--root", type=Path, metavar="DIR",
                     help="Workspace in which --service is looked up (default: the current directory).")
    _interpreter_option(sub)
    sub.add_argument("--snapshot", type=Path, metavar="FILE",
                     help="Check this snapshot (`envguard snapshot`) instead of a live environment.")
    sub.add_argument("--groups", action="append", metavar="NAMES",
                     help="Groups (or extras) installed besides main, comma-separated or repeated.")
    sub.add_argument("--all-groups", action="store_true", help="Every group and extra of the lock.")
    sub.add_argument("--ignore", action="append", metavar="NAME",
                     help="Leave this package (name or glob) out of the lock comparison (repeatable).")
    _policy_option(sub)
    _format_option(sub, VERIFY_FORMATS)
    _output_option(sub)
    _fail_on_option(sub)
    _source_format_option(sub)
    _today_option(sub)


def _snapshot_arguments(sub: argparse.ArgumentParser) -> None:
    _interpreter_option(sub)
    sub.add_argument("-o", "--output", type=Path, metavar="FILE",
                     help="Write the snapshot to this file (default: standard output).")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole command line: `envguard [--version] [--debug] COMMAND ...`.

    With `command`, only that command gets its arguments (and the others stay out of the parser):
    building every command's options costs more than parsing one command line.
    """
    parser = _Parser(prog="envguard", description=DESCRIPTION, epilog=EPILOG, allow_abbrev=False,
                     formatter_class=_HelpFormatter)
    parser.add_argument("--version", action="version", version=f"envguard {__version__}",
                        help="Show the version and exit.")
    parser.add_argument("--debug", action="store_true", help="Show tracebacks for internal errors.")
    subparsers = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND", required=True,
                                       parser_class=_CommandParser)
    table: tuple[tuple[str, Callable[..., int], Callable[[argparse.ArgumentParser], None]], ...] = (
        ("inventory", inventory, _inventory_arguments),
        ("check", check, _check_arguments),
        ("plugins", plugins, _plugins_arguments),
        ("fix", fix, _fix_arguments),
        ("init", init, _init_arguments),
        ("explain", explain, _explain_arguments),
        ("diff", diff, _diff_arguments),
        ("verify", verify, _verify_arguments),
        ("snapshot", snapshot, _snapshot_arguments),
    )
    for name, function, add_arguments in table:
        if command is not None and name != command:
            continue
        doc = function.__doc__
        sub = subparsers.add_parser(name, help=doc, description=doc, allow_abbrev=False)
        sub.set_defaults(handler=function)
        add_arguments(sub)
    return parser


def _command_of(args: list[str]) -> str | None:
    """The command `args` run, if the options before it (global flags only) leave no doubt."""
    for arg in args:
        if arg in ("-h", "--help"):  # the help lists every command
            return None
        if not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def _parse(parser: argparse.ArgumentParser, args: list[str]) -> argparse.Namespace:
    """The parsed command line; every usage error (unknown option, bad value) raises `_Exit(2)`."""
    namespace, extras = parser.parse_known_args(args)
    sub = _subparsers(parser)[namespace.command]
    if extras:  # reported by the command's parser, so that its usage is the one shown
        sub.error(f"unrecognized arguments: {' '.join(extras)}")
    _apply_environment(sub, namespace)
    return namespace


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Each command's parser, by name."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


# --- entry points ------------------------------------------------------------------------------


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

    args = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in args  # until the command line is parsed
    try:
        parser = build_parser(_command_of(args))
        if not args:
            parser.print_help(sys.stderr)
            return 2
        namespace = _parse(parser, args)
        options: dict[str, Any] = vars(namespace)
        debug = options.pop("debug")
        handler: Callable[..., int] = options.pop("handler")
        del options["command"]
        result = handler(**options)
    except _Exit as exc:  # help, --version, usage errors
        return exc.code
    except KeyboardInterrupt:
        print("envguard: interrupted", file=sys.stderr)
        return 130
    except EnvguardError as exc:
        print(f"envguard: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 2
    except Exception as exc:  # the boundary: no traceback reaches the user without --debug
        if debug:
            raise
        print(f"envguard: internal error: {type(exc).__name__}: {exc} (run with --debug for details)", file=sys.stderr)
        return 2
    return result if isinstance(result, int) else 0
