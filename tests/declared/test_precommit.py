"""envguard.declared.precommit: the additional_dependencies of a pre-commit configuration's Python hooks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from envguard.declared import precommit
from envguard.errors import SourceError
from envguard.model import Kind, Loaded
from tests.kit import FIXTURES, write

HERE = FIXTURES / "declared" / "precommit"
# pre-commit's own reading of each configuration (pre_commit.clientlib.load_config), and what
# `pre-commit validate-config` said of each file: see GENERATED.md.
CLIENTLIB = json.loads((HERE / "clientlib.json").read_text(encoding="utf-8"))
VERDICTS = dict(line.split(": exit ", 1) for line in (HERE / "validate-config.txt").read_text().splitlines())


def summary(loaded: Loaded) -> list[tuple[str, int, str, str | None, str | None, str | None]]:
    """(hook label, line, name, version, specifier, marker) of every declaration."""
    return [
        (d.environment.partition(" hook ")[2], d.line, d.name, d.version, d.specifier, d.marker)
        for d in loaded.declarations
    ]


def load(name: str) -> Loaded:
    return precommit.load(HERE / name, name)


def read(root: Path, text: str, shown: str = ".pre-commit-config.yaml") -> Loaded:
    return precommit.load(write(root / shown, text), shown)


# ----------------------------------------------------------------------------- pre-commit agrees


@pytest.mark.parametrize("name", sorted(CLIENTLIB))
def test_hooks_as_pre_commit_reads_them(name: str) -> None:
    assert VERDICTS[name].startswith("0")  # pre-commit accepts the file
    hooks = precommit._hooks((HERE / name).read_text(encoding="utf-8"), name)
    # clientlib renames `system` and `script` (pre-commit 4's language migration) and fills a meta
    # hook's name and language from its own definition.
    renamed = {"system": "unsupported", "script": "unsupported_script"}
    mine = [
        (h.repo, h.id, h.alias, h.name, renamed.get(h.language or "", h.language), [text for text, _ in h.dependencies])
        for h in hooks
        if h.repo != "meta"
    ]
    assert mine == [
        (
            hook["repo"],
            hook["id"],
            hook["alias"] or None,  # clientlib gives local hooks an empty alias
            hook["name"],
            hook["language"],
            hook["additional_dependencies"],
        )
        for hook in CLIENTLIB[name]
        if hook["repo"] != "meta"
    ]


@pytest.mark.parametrize(
    "name, line, message",
    [
        ("cases/invalid-types.yaml", 6, "additional_dependencies must be a string, not a number"),
        (
            "cases/invalid-yaml.yaml",
            7,
            "invalid YAML: did not find expected ',' or ']' (while parsing a flow sequence)",
        ),
        ("cases/local-without-language.yaml", 4, "local hook 'check' needs a language (pre-commit requires it)"),
    ],
)
def test_what_pre_commit_refuses_is_a_source_error(name: str, line: int, message: str) -> None:
    assert VERDICTS[name].startswith("1")
    with pytest.raises(SourceError) as caught:
        load(name)
    assert (caught.value.line, caught.value.message) == (line, message)


def test_a_requirement_pip_would_refuse_in_a_python_hook() -> None:
    # pre-commit accepts any string; pip refuses it when the hook's environment is built.
    assert VERDICTS["cases/invalid-requirement.yaml"].startswith("0")
    with pytest.raises(SourceError, match=r":10: 'eslint@8.57.0' is not a Python requirement"):
        load("cases/invalid-requirement.yaml")


# ----------------------------------------------------------------------------- configurations


def test_ledger_flow_sequence_over_several_lines() -> None:
    # Quoted items of a `[` list spread over lines, after an `args` list with comment lines.
    loaded = load("ledger/.pre-commit-config.yaml")
    assert summary(loaded) == [
        ("mypy", 35, "sqlalchemy", "2.0.35", None, None),
        ("mypy", 36, "pydantic", "2.9.2", None, None),
        ("mypy", 37, "pytest", None, None, None),
        ("mypy", 38, "types-python-dateutil", "2.9.0.20241003", None, None),
        ("mypy", 39, "types-pyyaml", "6.0.12.20240917", None, None),
        ("mypy", 40, "typing-extensions", None, None, None),
    ]
    assert loaded.warnings == ()  # a local `language: fail` hook installs nothing
    (first, *_) = loaded.declarations
    assert (first.environment, first.origin, first.install, first.requirement, first.kind) == (
        "ledger/.pre-commit-config.yaml hook mypy",
        "pre-commit",
        False,
        "sqlalchemy[mypy]==2.0.35",
        Kind.REGISTRY,
    )


def test_parcel_local_python_hooks_markers_comments_and_an_alias() -> None:
    loaded = load("parcel/.pre-commit-config.yaml")
    rows = summary(loaded)
    assert sorted({label for label, *_ in rows}) == [
        "check-changelog-links",
        "check-example-versions",
        "flake8 #1",  # the same id twice: the one without an alias or name by position,
        "flake8 (alias flake8-docs)",  # the other by its alias
        "mypy",
    ]
    assert rows[3:9] == [
        ("check-example-versions", 22, "packaging", None, ">=23.2", None),
        ("check-example-versions", 23, "tomli", None, ">=2.0.1", 'python_version < "3.11"'),
        ("flake8 #1", 35, "flake8-bugbear", None, None, None),
        ("flake8 #1", 36, "flake8-builtins", None, None, None),
        ("flake8 #1", 37, "pep8-naming", None, None, None),
        ("flake8 (alias flake8-docs)", 44, "flake8-docstrings", "1.7.0", None, None),
    ]
    # Blank and comment lines between the items of a block list keep the lines of the rest.
    assert [row for row in rows if row[0] == "mypy"] == [
        ("mypy", 52, "attrs", None, ">=23.1", None),
        ("mypy", 53, "click", None, ">=8.1.7", None),
        ("mypy", 54, "reportlab", None, "~=4.2.0", None),
        ("mypy", 55, "uvloop", None, ">=0.19", 'sys_platform != "win32"'),
        ("mypy", 56, "winloop", None, ">=0.1.6", 'sys_platform == "win32"'),
        ("mypy", 59, "httpx", None, ">=0.27", None),
        ("mypy", 62, "pytest", None, ">=8", None),
        ("mypy", 65, "hypothesis", None, None, None),
        ("mypy", 66, "types-reportlab", None, None, None),
        ("mypy", 69, "markdown-it-py", None, ">=3.0.0", None),
    ]
    assert len(rows) == 19  # rbubley/mirrors-prettier is node, and has none anyway
    assert loaded.warnings == ()


def test_atlas_hooks() -> None:
    loaded = load("atlas/.pre-commit-config.yaml")
    rows = summary(loaded)
    assert rows[:2] == [
        ("blacken-docs", 18, "black", "24.8.0", None, None),
        ("codespell", 25, "tomli", None, None, None),
    ]
    # Comment lines indented deeper than the items, inside the list.
    assert rows[6] == ("mypy #1", 38, "backports-zoneinfo", None, ">=0.2.1", 'python_version < "3.9"')
    assert [row[:3] for row in rows if row[0] == "mypy (alias mypy-scripts)"] == [
        ("mypy (alias mypy-scripts)", 44, "numpy"),
        ("mypy (alias mypy-scripts)", 45, "rich"),
    ]
    # A local `language: python` hook with a one-line flow list: both at its line; the
    # `unsupported`, `fail` (with folded `>-` entries) and `pygrep` hooks install nothing.
    assert rows[-3:] == [
        ("pyproject-fmt", 63, "tox", None, ">=4.20", None),
        ("readme", 78, "pygments", None, None, None),
        ("readme", 78, "restructuredtext-lint", None, ">=1.4.0", None),
    ]
    assert [row[0] for row in rows].count("pyright") == 4
    assert loaded.warnings == ()


def test_beacon_pinned_flake8_plugins_and_script_hooks() -> None:
    loaded = load("beacon/.pre-commit-config.yaml")
    assert [(label, line, name, version) for label, line, name, version, _, _ in summary(loaded)] == [
        ("flake8", 20, "pycodestyle", "2.7.0"),
        ("flake8", 21, "pyflakes", "2.3.1"),
        ("flake8", 22, "flake8-docstrings", "1.6.0"),
        ("flake8", 23, "pydocstyle", "6.1.1"),
        ("flake8", 24, "flake8-bugbear", "21.11.29"),
        ("flake8", 25, "mccabe", "0.6.1"),
    ]
    assert loaded.warnings == ()


def test_quill_codespell_dependency_meta_and_system_hooks() -> None:
    loaded = load("quill/.pre-commit-config.yaml")
    assert summary(loaded) == [("codespell", 15, "tomli", None, None, None)]
    assert loaded.warnings == ()


def test_canvas_eslint_and_prettier_packages_are_not_python() -> None:
    # `globals` would read as a Python requirement; mirrors-eslint says it is an npm package.
    loaded = load("canvas/.pre-commit-config.yaml")
    assert (loaded.declarations, loaded.warnings) == ((), ())


def test_relay_system_hooks() -> None:
    loaded = load("relay/.pre-commit-config.yaml")
    assert (loaded.declarations, loaded.warnings) == ((), ())


# ----------------------------------------------------------------------------- languages and labels


def test_anchors_merge_keys_and_duplicate_ids() -> None:
    loaded = load("cases/anchors.yaml")
    assert summary(loaded) == [
        ("mypy (alias mypy-strict)", 5, "types-requests", "2.31.0.20240406", None, None),
        ("mypy (alias mypy-strict)", 6, "attrs", None, ">=23", 'python_version >= "3.8"'),
        ("mypy (alias mypy-lenient)", 5, "types-requests", "2.31.0.20240406", None, None),
        ("mypy (alias mypy-lenient)", 6, "attrs", None, ">=23", 'python_version >= "3.8"'),
        ("mypy (mypy on tests)", 5, "types-requests", "2.31.0.20240406", None, None),
        ("mypy (mypy on tests)", 6, "attrs", None, ">=23", 'python_version >= "3.8"'),
        ("flake8 #1", 23, "flake8-bugbear", "24.2.6", None, None),
        ("flake8 #1", 23, "flake8-pytest-style", None, None, None),
        ("flake8 #2", 25, "flake8-docstrings", None, None, None),
    ]


def test_other_languages() -> None:
    loaded = load("cases/other-languages.yaml")
    assert summary(loaded) == [("tool-python", 17, "requests", "2.32.3", None, None)]
    assert [(w.line, w.message) for w in loaded.warnings] == [
        (
            6,
            (
                "hook 'lint-js': additional_dependencies such as 'eslint@8.57.0' are no Python requirements; "
                "taken for a hook of another language, not read"
            ),
        ),
        (18, "pip option '--index-url=https://pypi.example.com/simple' in additional_dependencies is not read"),
        (19, "'./vendor/helper' is a path in the hook repository's clone, not in the workspace; not read"),
    ]


def test_urls_and_vcs_requirements(tmp_path: Path) -> None:
    text = (
        "repos:\n- repo: https://github.com/example/hook\n  rev: v1\n  hooks:\n  - id: h\n"
        "    additional_dependencies:\n    - 'pkg @ git+https://github.com/example/pkg@v1.0'\n"
        "    - 'other @ https://files.example.com/other-1.0-py3-none-any.whl'\n"
    )
    loaded = read(tmp_path, text, "sub/.pre-commit-config.yaml")
    assert [(d.name, d.kind, d.line, d.environment) for d in loaded.declarations] == [
        ("pkg", Kind.VCS, 7, "sub/.pre-commit-config.yaml hook h"),
        ("other", Kind.URL, 8, "sub/.pre-commit-config.yaml hook h"),
    ]


# ----------------------------------------------------------------------------- malformed files


@pytest.mark.parametrize(
    "text, line, message",
    [
        ("", 1, "empty configuration: pre-commit needs a mapping with 'repos'"),
        ("- a\n", 1, "the configuration must be a mapping, not a list"),
        ("fail_fast: true\n", 1, "missing required key 'repos'"),
        ("repos: {}\n", 1, "repos must be a list, not a mapping"),
        ("repos:\n- rev: x\n  hooks: []\n", 2, "missing required key 'repo'"),
        ("repos:\n- repo: 7\n  hooks: []\n", 2, "repo must be a string, not an integer"),
        ("repos:\n- repo: x\n", 2, "missing required key 'hooks'"),
        ("repos:\n- repo: x\n  hooks:\n  - name: a\n", 4, "missing required key 'id'"),
        (
            "repos:\n- repo: x\n  hooks:\n  - id: a\n    language: [python]\n",
            5,
            "language must be a string, not a list",
        ),
        (
            "repos:\n- repo: x\n  hooks:\n  - id: a\n    additional_dependencies: b\n",
            5,
            "additional_dependencies must be a list, not a string",
        ),
        ("repos: []\n---\nrepos: []\n", 2, "a second YAML document; this file holds one"),
        ("repos: [\n", 2, "invalid YAML: did not find expected node content (while parsing a flow node)"),
    ],
)
def test_malformed_configurations(tmp_path: Path, text: str, line: int, message: str) -> None:
    with pytest.raises(SourceError) as caught:
        read(tmp_path, text)
    assert (caught.value.line, caught.value.message) == (line, message)


def test_deep_nesting_is_one_line_of_error(tmp_path: Path) -> None:
    # PyYAML 6.0.4 stops at its own depth limit before envguard's does; either way, one line.
    with pytest.raises(SourceError, match="nested deeper than 100 levels|exceeded maximum nesting depth") as caught:
        read(tmp_path, "repos: " + "[" * 20_000 + "\n")
    assert caught.value.line == 1


def test_duplicate_keys_the_last_wins_as_for_pyyaml(tmp_path: Path) -> None:
    text = "repos:\n- repo: x\n  hooks:\n  - id: a\n    additional_dependencies: [one]\n    additional_dependencies: [two]\n"
    assert [(d.name, d.line) for d in read(tmp_path, text).declarations] == [("two", 6)]


def test_aliases_that_expand_without_bound_are_refused(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 9)]
    with pytest.raises(SourceError, match="billion laughs") as caught:
        read(tmp_path, "\n".join(lines) + "\nrepos: []\n")
    assert caught.value.line is not None
