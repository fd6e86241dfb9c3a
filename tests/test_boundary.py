"""The one error boundary: every outcome is an exit code, never a traceback or a SystemExit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import envguard.check
from envguard.cli import main
from envguard.errors import SourceError

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "monorepo"


def raiser(exc: BaseException):  # type: ignore[no-untyped-def]
    def run(*args: object, **kwargs: object) -> None:
        raise exc

    return run


def test_an_internal_error_is_exit_2_and_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(envguard.check, "run_check", raiser(RuntimeError("boom")))
    assert main(["check", str(EXAMPLE)]) == 2
    captured = capsys.readouterr()
    assert captured.err == "envguard: internal error: RuntimeError: boom (run with --debug for details)\n"
    assert captured.out == ""


def test_debug_shows_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(envguard.check, "run_check", raiser(RuntimeError("boom")))
    with pytest.raises(RuntimeError, match="boom"):
        main(["--debug", "check", str(EXAMPLE)])


def test_ctrl_c_is_exit_130(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(envguard.check, "run_check", raiser(KeyboardInterrupt()))
    assert main(["check", str(EXAMPLE)]) == 130
    assert "Traceback" not in capsys.readouterr().err


def test_an_envguard_error_escaping_a_command_is_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(envguard.check, "run_check", raiser(SourceError("a/uv.lock", 3, "bad")))
    assert main(["check", str(EXAMPLE)]) == 2
    assert capsys.readouterr().err == "envguard: a/uv.lock:3: bad\n"


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        ([], 2),  # no command: help, as a usage error
        (["nonsense"], 2),
        (["check", "--fail-on", "sometimes"], 2),
        (["check", "--today", "yesterday"], 2),
        (["--help"], 0),
        (["check", "--help"], 0),
    ],
)
def test_usage_errors_and_help(argv: list[str], code: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == code
    assert "Traceback" not in capsys.readouterr().err


def test_the_console_entry_point_maps_exit_codes_in_a_real_process(tmp_path: Path) -> None:
    broken = tmp_path / "svc" / "poetry.lock"
    broken.parent.mkdir()
    broken.write_text("[[package]\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "envguard", "check", str(tmp_path)], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[0].startswith("svc/poetry.lock:1: invalid TOML")
