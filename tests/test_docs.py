"""The README documents exactly the flags and exit codes the CLI has."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from envguard import cli
from envguard.cli import build_parser, main

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
COMMANDS: dict[str, argparse.ArgumentParser] = next(
    action.choices for action in build_parser()._actions if isinstance(action, argparse._SubParsersAction)
)


def synopses() -> dict[str, set[str]]:
    """Flags of every `envguard <command> ...` synopsis in the README's code blocks."""
    found: dict[str, set[str]] = {}
    for block in re.findall(r"```\n(envguard .*?)```", README, re.S):
        command: str | None = None
        for line in block.splitlines():
            start = re.match(r"envguard (\w+)", line)
            if start:
                command = start.group(1)
                found.setdefault(command, set())
            if command is not None:
                found[command] |= set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", line))
    return found


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_a_synopsis_listing_exactly_its_flags(command: str) -> None:
    documented = synopses()
    assert command in documented, f"README has no synopsis for `envguard {command}`"
    actual = {
        option
        for action in COMMANDS[command]._actions
        if not isinstance(action, argparse._HelpAction)  # --help: every command has it
        for option in action.option_strings
        if option.startswith("--")
    }
    assert documented[command] == actual


def test_the_command_list_is_the_parser_s() -> None:
    assert tuple(COMMANDS) == cli.COMMANDS
    # Built for one command, the parser holds that command's options only, the same ones.
    for name, parser in COMMANDS.items():
        alone = next(a.choices for a in cli.build_parser(name)._actions if isinstance(a, argparse._SubParsersAction))
        assert list(alone) == [name]
        assert [a.option_strings for a in alone[name]._actions] == [a.option_strings for a in parser._actions]


def test_every_command_is_in_the_commands_table() -> None:
    table = README[README.index("## Commands") : README.index("### `envguard check`")]
    for command in COMMANDS:
        assert f"`envguard {command}" in table


def test_exit_codes_match_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    help_text = capsys.readouterr().out
    assert help_text.rstrip().endswith("130 interrupted.")  # the epilog closes the help
    paragraph = README[README.index("Exit codes:") :].split("\n\n", 1)[0]
    documented = set(re.findall(r"`(\d+)`", paragraph))
    in_help = set(re.findall(r"\b(0|1|2|130)\b", help_text[help_text.index("Exit codes") :]))
    assert documented == in_help == {"0", "1", "2", "130"}


def test_the_reference_environments_example_reports_what_the_readme_says(capsys: pytest.CaptureFixture[str]) -> None:
    import json
    import os
    import shlex

    section = README[README.index("### Reference environments") : README.index("## Drift")]
    command = re.search(r"```sh\n(envguard check .*?)\n```", section, re.S).group(1)  # type: ignore[union-attr]
    listed = re.search(r"reports, exit (\d+),.*?```\n(.*?)```", section, re.S)
    assert listed is not None
    root = Path(__file__).resolve().parents[1]
    previous = Path.cwd()
    os.chdir(root)  # the example's paths are the checkout's
    try:
        code = main([*shlex.split(command)[1:], "--format", "json", "--no-cache"])
    finally:
        os.chdir(previous)
    document = json.loads(capsys.readouterr().out)
    assert code == int(listed.group(1))
    shown = {f"{f['service']}: {f['package']} {f['version']}" for f in document["findings"]}
    assert shown == set(listed.group(2).strip().splitlines())
