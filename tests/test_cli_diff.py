from __future__ import annotations

import json
from pathlib import Path

import pytest

from envguard.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "monorepo"
FORK = ROOT / "tests" / "fixtures" / "uv" / "project-fork"

# Every change class, and a package on each side only; "same" and "padded" are unchanged.
A_LINES = """\
maj==1.0
min==1.1
pat==1.1.1
pre==2.0rc1
post==2.0
dev==2.0.dev1
loc==2.0+cpu
oth @ git+https://example.com/oth.git
onlya==1.0
same==1.0
padded==1.0
"""
B_LINES = """\
maj==2.0
min==1.2
pat==1.1.2
pre==2.0rc2
post==2.0.post1
dev==2.0.dev2
loc==2.0+cu124
oth==1.2
onlyb==1.0
same==1.0
padded==1.0.0
"""
EXPECTED = {
    "dev": "dev",
    "loc": "local",
    "maj": "major",
    "min": "minor",
    "onlya": "only-a",
    "onlyb": "only-b",
    "oth": "other",
    "pat": "patch",
    "post": "post",
    "pre": "pre",
}


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    (tmp_path / "a.txt").write_text(A_LINES, encoding="utf-8")
    (tmp_path / "b.txt").write_text(B_LINES, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return "a.txt", "b.txt"


def test_billing_vs_orders_in_the_example(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["diff", "billing", "orders", "--root", str(EXAMPLE), "--format", "json"], capsys)
    assert (code, err) == (1, "")
    document = json.loads(out)
    assert document["a"]["sources"] == [{"path": "services/billing/uv.lock", "format": "uv"}]
    assert document["a"]["declared_sources"] == [
        {"path": "services/billing/pyproject.toml", "format": "pyproject"},
        {"path": "services/billing/tox.ini", "format": "tox"},
    ]
    assert document["a"]["environments"][:2] == [
        "services/billing/pyproject.toml [dependency-groups] dev",
        "services/billing/pyproject.toml [project] dependencies",
    ]
    assert document["b"]["name"] == "orders"
    assert document["b"]["sources"] == [{"path": "services/orders/poetry.lock", "format": "poetry"}]
    # What each side declares, compared by meaning: tox's pytest==8.3.5 beside billing's group range.
    declared = {c["package"]: (c["a"], c["b"]) for c in document["declared_changes"]}
    assert declared["pytest"] == (["==8.3.5", ">=8,<9"], [">=8.3,<9.0"])
    assert declared["pytest-randomly"] == ([], [">=3.15,<4.0"])
    by_kind: dict[str, list[str]] = {}
    for change in document["changes"]:
        by_kind.setdefault(change["change"], []).append(change["package"])
    assert by_kind == {
        "only-a": [
            "annotated-doc", "anyio", "execnet", "fastapi", "h11", "httpcore", "httpx",
            "opentelemetry-api", "pytest-xdist", "starlette",
        ],
        "only-b": [
            "blinker", "charset-normalizer", "click", "flask", "itsdangerous", "jinja2", "markupsafe",
            "pytest-randomly", "requests", "urllib3", "werkzeug",
        ],
        "major": ["pytest-cov"],
    }
    assert [c for c in document["changes"] if c["package"] == "pytest-cov"] == [
        {"package": "pytest-cov", "a": ["7.1.0"], "b": ["6.3.0"], "change": "major"}
    ]
    # billing's own project (a local project) is never compared.
    assert "billing" not in [c["package"] for c in document["changes"]]
    assert document["unchanged"] == 17


def test_text_output_sections_and_unchanged_count_last(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(EXAMPLE)  # service names are looked up in the current directory by default
    code, out, _ = run(["diff", "billing", "orders"], capsys)
    assert code == 1
    lines = out.splitlines()
    assert lines[:2] == [
        "a: billing (services/billing/uv.lock [uv], services/billing/pyproject.toml [pyproject], services/billing/tox.ini [tox])",
        "b: orders (services/orders/poetry.lock [poetry], services/orders/pyproject.toml [pyproject])",
    ]
    assert lines[lines.index("declared differently (a -> b):") + 7] == "  pytest           ==8.3.5, >=8,<9   -> >=8.3,<9.0"
    assert "only in a (billing):" in lines and "only in b (orders):" in lines
    assert lines[lines.index("changed (a -> b):") + 1] == "  pytest-cov  7.1.0  -> 6.3.0  major"
    assert lines[-1] == "10 only in a, 11 only in b, 1 changed, 17 unchanged; 13 declared differently"
    # Deterministic: the same command prints the same bytes.
    assert run(["diff", "billing", "orders"], capsys)[1] == out


def test_every_change_kind(pair: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["diff", *pair, "--format", "json"], capsys)
    assert (code, err) == (1, "")
    document = json.loads(out)
    assert {c["package"]: c["change"] for c in document["changes"]} == EXPECTED
    assert [c["package"] for c in document["changes"]] == sorted(EXPECTED)
    oth = next(c for c in document["changes"] if c["package"] == "oth")
    assert (oth["a"], oth["b"]) == ([None], ["1.2"])
    assert document["unchanged"] == 2


def test_text_output_of_every_kind_and_entries_without_a_version(
    pair: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run(["diff", *pair], capsys)
    assert out == (
        "a: a.txt [freeze]\n"
        "b: b.txt [freeze]\n"
        "\n"
        "only in a (a.txt):\n"
        "  onlya  1.0\n"
        "\n"
        "only in b (b.txt):\n"
        "  onlyb  1.0\n"
        "\n"
        "changed (a -> b):\n"
        "  dev   2.0.dev1           -> 2.0.dev2   dev\n"
        "  loc   2.0+cpu            -> 2.0+cu124  local\n"
        "  maj   1.0                -> 2.0        major\n"
        "  min   1.1                -> 1.2        minor\n"
        "  oth   (no version, vcs)  -> 1.2        other\n"
        "  pat   1.1.1              -> 1.1.2      patch\n"
        "  post  2.0                -> 2.0.post1  post\n"
        "  pre   2.0rc1             -> 2.0rc2     pre\n"
        "\n"
        "1 only in a, 1 only in b, 8 changed, 2 unchanged\n"
    )


def test_json_contract_keys_exactly(pair: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(["diff", *pair, "-f", "json"], capsys)
    document = json.loads(out)
    assert list(document) == ["schema", "a", "b", "changes", "unchanged", "declared_changes"]
    assert document["schema"] == "envguard.diff/1"
    for key in ("a", "b"):
        assert list(document[key]) == ["name", "sources", "declared_sources", "environments"]
        assert [list(s) for s in document[key]["sources"]] == [["path", "format"]]
    for change in document["changes"]:
        assert list(change) == ["package", "a", "b", "change"]


def test_exit_codes(pair: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["diff", "a.txt", "a.txt"], capsys)[0] == 0
    assert run(["diff", *pair], capsys)[0] == 1
    (tmp_path / "uv.lock").write_text("version = [\n", encoding="utf-8")
    code, out, err = run(["diff", "uv.lock", "a.txt"], capsys)
    assert (code, out) == (2, "")
    assert err.startswith("uv.lock:1: invalid TOML")
    assert err.count("\n") == 1


def test_identical_sides_print_the_unchanged_count(pair: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["diff", "a.txt", "a.txt"], capsys)
    assert code == 0
    assert out.splitlines()[-1] == "0 only in a, 0 only in b, 0 changed, 11 unchanged"


def test_unknown_service_is_a_usage_error_with_a_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["diff", "biling", "orders", "--root", str(EXAMPLE)], capsys)
    assert (code, out) == (2, "")
    assert err.startswith("envguard: 'biling' is neither a file, a directory nor a service")
    assert err.rstrip().endswith("did you mean 'billing'?")
    assert "Traceback" not in err


def test_markers_for_a_python_version(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("numpy==2.5.5\npytest==9.2.0\ncoverage==7.17.4\n", encoding="utf-8")
    base = ["diff", str(FORK / "uv.lock"), str(requirements), "-f", "json"]
    only = ["--packages", "numpy", "--packages", "pytest", "--packages", "coverage"]

    code, out, _ = run([*base, *only, "--python", "3.12"], capsys)
    assert code == 0
    assert json.loads(out)["unchanged"] == 3

    code, out, _ = run([*base, *only, "--python", "3.9"], capsys)
    assert code == 1
    assert json.loads(out)["changes"] == [
        {"package": "coverage", "a": ["7.10.7"], "b": ["7.17.4"], "change": "minor"},
        {"package": "numpy", "a": ["2.0.2"], "b": ["2.5.5"], "change": "minor"},
        {"package": "pytest", "a": ["8.4.2"], "b": ["9.2.0"], "change": "major"},
    ]

    # Without a target every fork counts: the sets differ, the highest versions do not.
    code, out, _ = run([*base, *only], capsys)
    numpy = next(c for c in json.loads(out)["changes"] if c["package"] == "numpy")
    assert numpy == {"package": "numpy", "a": ["2.0.2", "2.2.6", "2.4.6", "2.5.5"], "b": ["2.5.5"], "change": "other"}


def test_python_target_drops_entries_from_a_requirements_export(capsys: pytest.CaptureFixture[str]) -> None:
    # export.txt carries the markers uv.lock records only as forks; the same lock agrees with it
    # for every target, except for what its markers keep off Python 3.12.
    args = ["diff", str(FORK / "uv.lock"), str(FORK / "export.txt")]
    assert run(args, capsys)[0] == 0
    code, out, _ = run([*args, "--python", "3.12", "-f", "json"], capsys)
    assert code == 1
    changes = json.loads(out)["changes"]
    assert {c["change"] for c in changes} == {"only-a"}
    assert [c["package"] for c in changes] == ["attrs", "exceptiongroup", "tomli"]


def test_bad_target_is_a_usage_error(pair: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["diff", *pair, "--python", "2.7"], capsys)
    assert code == 2
    assert "--python '2.7'" in err


def test_packages_filter(pair: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["diff", *pair, "-f", "json", "--packages", "P*", "--packages", "!PRE"], capsys)
    assert code == 1
    document = json.loads(out)
    assert [c["package"] for c in document["changes"]] == ["pat", "post"]
    assert document["unchanged"] == 1  # padded
    code, out, _ = run(["diff", *pair, "--packages", "same"], capsys)
    assert code == 0


def test_policy_only_with_a_policy_file(
    pair: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "version: 1\ndrift:\n  default: none\n  rules:\n    - packages: [maj, 'o*']\n      require: exact\n",
        encoding="utf-8",
    )
    code, out, _ = run(["diff", *pair, "-f", "json", "--policy-only", "--policy", str(policy)], capsys)
    assert code == 1
    assert [c["package"] for c in json.loads(out)["changes"]] == ["maj", "onlya", "onlyb", "oth"]
    # Without --policy-only the policy does not filter anything.
    _, out, _ = run(["diff", *pair, "-f", "json", "--policy", str(policy)], capsys)
    assert len(json.loads(out)["changes"]) == len(EXPECTED)


def test_policy_only_uses_the_workspace_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name, lines in (("a", A_LINES), ("b", B_LINES)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "requirements.txt").write_text(lines, encoding="utf-8")
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "drift.yaml").write_text(
        "version: 1\ndrift:\n  rules:\n    - packages: ['*']\n      services: [a, b]\n      require: none\n",
        encoding="utf-8",
    )
    root = ["--root", str(tmp_path)]
    # The rule selects both services: every package is left out, and the two agree.
    code, out, _ = run(["diff", "a", "b", *root, "--policy-only"], capsys)
    assert code == 0
    assert out.splitlines()[-1] == "0 only in a, 0 only in b, 0 changed, 0 unchanged"
    assert run(["diff", "a", "b", *root], capsys)[0] == 1


def test_broken_policy_is_reported_with_its_line(pair: tuple[str, str], tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\ndrift:\n  default: sometimes\n", encoding="utf-8")
    code, out, err = run(["diff", *pair, "--policy-only", "--policy", str(policy)], capsys)
    assert (code, out) == (2, "")
    assert err.startswith(f"{policy.as_posix()}:3: drift.default: unknown value 'sometimes'")


def test_markdown_output_shape(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["diff", "billing", "gateway", "--root", str(EXAMPLE), "-f", "markdown",
                        "--packages", "pytest*"], capsys)
    assert code == 1
    assert out == (
        "### envguard diff: `billing` → `gateway`\n"
        "\n"
        "- a: `billing`: `services/billing/uv.lock` (uv), `services/billing/pyproject.toml` (pyproject), "
        "`services/billing/tox.ini` (tox)\n"
        "- b: `gateway`: `services/gateway/poetry.lock` (poetry), `services/gateway/pyproject.toml` (pyproject)\n"
        "\n"
        "| Package | a: `billing` | b: `gateway` | Change |\n"
        "|---|---|---|---|\n"
        "| `pytest-asyncio` | — | 0.23.8 | only in b |\n"
        "| `pytest-cov` | 7.1.0 | 5.0.0 | major |\n"
        "| `pytest-mock` | 3.17.0 | — | only in a |\n"
        "\n"
        "3 packages differ; 2 unchanged.\n"
        "\n"
        "Declared differently:\n"
        "\n"
        "| Package | a: `billing` | b: `gateway` |\n"
        "|---|---|---|\n"
        "| `pytest` | `==8.3.5`, `>=8,<9` | `>=8.2,<9.0` |\n"
        "| `pytest-asyncio` | — | `>=0.23,<0.24` |\n"
        "| `pytest-cov` | `>=7` | `>=5.0,<6.0` |\n"
        "| `pytest-mock` | `==3.17.0`, `>=3.14` | — |\n"
        "| `pytest-timeout` | `>=2.3` | — |\n"
        "| `pytest-xdist` | `==3.8.0`, `>=3.6` | `>=3.6,<4.0` |\n"
    )


def test_markdown_when_nothing_differs(pair: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["diff", "a.txt", "a.txt", "-f", "markdown", "--python", "3.12"], capsys)
    assert code == 0
    assert out.splitlines()[-3:] == ["- target: python 3.12", "", "No differences; 11 unchanged."]


def test_output_file_and_summary_on_stderr(
    pair: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "diff.json"
    code, out, err = run(["diff", *pair, "-f", "json", "--output", str(target)], capsys)
    assert (code, out) == (1, "")
    assert json.loads(target.read_text(encoding="utf-8"))["schema"] == "envguard.diff/1"
    assert err == "1 only in a, 1 only in b, 8 changed, 2 unchanged\n"


def test_directories_are_services(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(EXAMPLE / "services")
    code, out, _ = run(["diff", "billing", "./orders/", "-f", "json"], capsys)
    assert code == 1
    document = json.loads(out)
    assert (document["a"]["name"], document["a"]["sources"]) == ("billing", [{"path": "billing/uv.lock", "format": "uv"}])
    assert document["b"] == {
        "name": "orders",
        "sources": [{"path": "orders/poetry.lock", "format": "poetry"}],
        "declared_sources": [{"path": "orders/pyproject.toml", "format": "pyproject"}],
        # Environment labels name their file as the paths were given, like every other path.
        "environments": [
            "orders/pyproject.toml [project] dependencies",
            "orders/pyproject.toml [tool.poetry.group.dev.dependencies]",
        ],
    }
    assert document["unchanged"] == 17
