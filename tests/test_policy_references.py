"""`references:` in a policy: its forms, where relative paths start, merging across `extends`, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from envguard.policy import PolicyError, load_policy

DIGEST = "ab" * 32


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_forms(tmp_path: Path) -> None:
    path = write(
        tmp_path / "policies" / "p.yaml",
        "version: 1\nreferences:\n"
        "  runner: ../ci/runner-freeze.txt\n"
        "  org: package:acme-runner/freeze.txt\n"
        f"  airflow:\n    url: https://example.com/constraints-3.12.txt\n    sha256: {DIGEST}\n"
        "  pins:\n    path: ../ci/pins.txt\n    format: constraints\n",
    )
    refs = load_policy(path, shown="policies/p.yaml").references
    assert list(refs) == ["airflow", "org", "pins", "runner"]
    runner = refs["runner"]
    assert (runner.shown, runner.location, runner.line, runner.path) == (
        "ci/runner-freeze.txt", str(tmp_path / "ci" / "runner-freeze.txt"), 3, "policies/p.yaml"
    )
    assert refs["org"].location == "package:acme-runner/freeze.txt"
    assert refs["airflow"].location == f"https://example.com/constraints-3.12.txt#sha256={DIGEST}"
    assert (refs["pins"].format, refs["pins"].shown) == ("constraints", "ci/pins.txt")


def test_extends_merges_by_name_and_each_file_s_paths_start_at_that_file(tmp_path: Path) -> None:
    write(tmp_path / "org" / "base.yaml", "version: 1\nreferences:\n  runner: runner.txt\n  shared: shared.txt\n")
    path = write(tmp_path / "repo" / "p.yaml", "version: 1\nextends: ../org/base.yaml\nreferences:\n  runner: mine.txt\n")
    refs = load_policy(path, shown="p.yaml").references
    assert refs["runner"].location == str(tmp_path / "repo" / "mine.txt")  # the extending policy wins
    assert refs["shared"].location == str(tmp_path / "org" / "shared.txt")  # relative to base.yaml
    assert refs["shared"].shown == "../org/shared.txt"


def test_a_repository_policy_may_not_name_a_reference_outside_the_workspace(tmp_path: Path) -> None:
    path = write(tmp_path / "ws" / "policies" / "p.yaml", "version: 1\nreferences:\n  runner: /etc/freeze.txt\n")
    with pytest.raises(PolicyError) as info:
        load_policy(path, shown="policies/p.yaml", within=tmp_path / "ws")
    assert str(info.value) == (
        "policies/p.yaml:3: references.runner: /etc/freeze.txt is outside the workspace root; "
        "pass --allow-outside-root to read it"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("references:\n  a/b: x.txt\n", "p.yaml:3: references.a/b: a reference name is letters, digits, '.', '_' and '-' (no '/')"),
        ("references:\n  r: 3\n", "p.yaml:3: references.r: expected a string, got an integer (3); put it in quotes"),
        ("references:\n  r:\n    path: x.txt\n    format: wheel\n", "p.yaml:5: references.r.format: unknown value 'wheel'; "
         "expected one of: constraints, freeze, requirements, uv, poetry, pdm, pipfile, pylock, pip-report, "
         "pip-inspect, pip-list, conda, snapshot, inventory"),
        ("references:\n  r:\n    format: freeze\n", "p.yaml:4: references.r: expected exactly one of 'path' or 'url' (with 'sha256')"),
        ("references:\n  r:\n    url: https://example.com/x.txt\n", "p.yaml:4: references.r.sha256: missing required key"),
        ("references:\n  r:\n    path: x.txt\n    sha256: " + DIGEST + "\n", "p.yaml:5: references.r.sha256: goes with 'url', not 'path'"),
    ],
)
def test_errors(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(PolicyError) as info:
        load_policy(write(tmp_path / "p.yaml", "version: 1\n" + text), shown="p.yaml")
    assert str(info.value) == expected


def test_the_schema_knows_references() -> None:
    import json

    import jsonschema  # type: ignore[import-untyped, unused-ignore]

    schema = json.loads((Path(__file__).resolve().parents[1] / "policies" / "policy.schema.json").read_text("utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    good = {"version": 1, "references": {
        "runner": "../ci/runner-freeze.txt",
        "pins": {"path": "pins.txt", "format": "constraints"},
        "airflow": {"url": "https://example.com/constraints-3.12.txt", "sha256": DIGEST},
    }}
    assert validator.is_valid(good)
    for bad in ({"a/b": "x.txt"}, {"r": {"path": "x", "format": "wheel"}}, {"r": {"url": "https://x"}}):
        assert not validator.is_valid({"version": 1, "references": bad})
