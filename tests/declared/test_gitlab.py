"""envguard.declared.gitlab: what GitLab CI jobs install."""

from __future__ import annotations

from pathlib import Path

import pytest

from envguard.declared import _yaml, gitlab
from envguard.errors import SourceError
from envguard.model import Loaded
from tests.kit import FIXTURES, write

REAL = FIXTURES / "declared" / "gitlab"
CI = ".gitlab-ci.yml"


def rows(loaded: Loaded) -> list[tuple[str, str, int, str, str | None, str | None]]:
    """(job, path, line, requirement, pinned_by, directory)."""
    return [
        (d.environment.removeprefix(f"{CI} job "), d.path, d.line, d.requirement, d.pinned_by, d.directory)
        for d in loaded.declarations
    ]


def warnings(loaded: Loaded) -> list[str]:
    return [str(warning) for warning in loaded.warnings]


def read(root: Path, **options: bool) -> Loaded:
    return gitlab.load(root / CI, CI, **options)


def pipeline(root: Path, text: str, files: dict[str, str] | None = None) -> Loaded:
    for name, content in (files or {}).items():
        write(root / name, content)
    write(root / CI, text)
    return read(root)


# ----------------------------------------------------------------------------- a whole workspace


ACME = REAL / "acme-pipeline"
RUN_TIME = "PIP_CONSTRAINT (set at run time)"


def test_a_pipeline_with_anchors_merge_keys_includes_and_extends() -> None:
    loaded = read(ACME)
    assert rows(loaded) == [
        # `<<: [*python, *cache]`: the anchored before_script, `$PIP` and a quoted variable expanded.
        ("lint/ruff", CI, 12, "pip", None, "."),
        ("lint/ruff", CI, 13, "pytest==8.4.2", None, "."),
        ("lint/ruff", CI, 22, "ruff==0.8.4", None, "."),
        # `extends: .orders` -> `.test`, both in the included file, at their own lines there;
        # PIP_CONSTRAINT names $CI_PROJECT_DIR, known only when the job runs.
        ("orders tests", "ci/test.gitlab-ci.yml", 4, "pip", RUN_TIME, "."),
        ("orders tests", "requirements-ci.txt", 1, "pytest-cov==7.1.0", None, "."),
        # After `cd`, a plain multi-line item: one command over two lines.
        ("orders tests", CI, 29, "-e .[test]", RUN_TIME, "services/orders"),
        ("orders tests", CI, 30, "pytest-randomly", RUN_TIME, "services/orders"),
    ]
    assert warnings(loaded) == []
    assert loaded.included == ("ci/test.gitlab-ci.yml", "requirements-ci.txt", "services/orders/pyproject.toml")
    assert all(d.install and d.origin == "gitlab" for d in loaded.declarations)


QUARRY = REAL / "quarry-pipeline"
TEMPLATES = "ci/templates.yml"


def test_a_pipeline_with_default_references_inherit_and_service_templates() -> None:
    loaded = read(QUARRY)
    catalog, search = "services/catalog/requirements-test.txt", "services/search/requirements-test.txt"
    assert rows(loaded) == [
        # default:'s before_script, at the root: the global relative PIP_CONSTRAINT is read there.
        ("lint", CI, 15, "pip", None, "."),
        ("lint", CI, 15, "setuptools", "PIP_CONSTRAINT", "."),
        # `!reference` to a template of the included file; $LINT_TOOLS splits into two words.
        ("lint", TEMPLATES, 4, "ruff==0.8.4", None, "."),
        ("lint", TEMPLATES, 4, "mypy==1.14.1", None, "."),
        # extends .service, whose before_script replaces default:'s; `cd "$SERVICE_DIR"` from
        # variables merged with `<<: *service-defaults`; its PIP_CONSTRAINT read from there.
        ("catalog", TEMPLATES, 18, "-e .[test]", None, "services/catalog"),
        ("catalog", catalog, 1, "pytest", "PIP_CONSTRAINT", "services/catalog"),
        ("catalog", catalog, 2, "pytest-postgresql>=6.1", None, "services/catalog"),
        ("catalog", catalog, 3, "factory-boy==3.3.1", None, "services/catalog"),
        # The job's variables win over the template's; uv reads its -c, not PIP_CONSTRAINT.
        ("search", TEMPLATES, 18, "-e .[test,vector]", None, "services/search"),
        ("search", search, 1, "httpx", "--constraints ../../constraints/ci.txt", "services/search"),
        ("search", search, 2, "hypothesis>=6.115", None, "services/search"),
        # inherit: no default:, and only PIP_CACHE_DIR of the variables, so twine is unpinned;
        # after_script runs in the project directory.
        ("wheels", CI, 47, "build==1.2.2.post1", None, "."),
        ("wheels", CI, 53, "twine", None, "."),
    ]
    assert warnings(loaded) == []
    assert loaded.included == (
        TEMPLATES,
        "constraints/ci.txt",
        "services/catalog/pyproject.toml",
        catalog,
        "services/search/pyproject.toml",
        search,
    )


PREVIEW = "gitlab-ci-local-preview.yml"


@pytest.mark.parametrize("workspace", ["acme-pipeline", "quarry-pipeline"])
def test_jobs_are_built_as_gitlab_ci_local_builds_them(workspace: str) -> None:
    # `gitlab-ci-local --preview` wrote each job with its includes, anchors, extends, default:
    # and references resolved (GENERATED.md); read flat, it declares what the files declare.
    def facts(loaded: Loaded, entry: str) -> list[tuple[str, str, str | None, str | None, tuple[str, int] | None]]:
        return [
            (
                d.environment.removeprefix(f"{entry} job "),
                d.requirement,
                d.pinned_by,
                d.directory,
                None if d.path.endswith(".yml") else (d.path, d.line),  # a requirements file's line
            )
            for d in loaded.declarations
        ]

    root = REAL / workspace
    preview = gitlab.load(root / PREVIEW, PREVIEW)
    assert facts(read(root), CI) == facts(preview, PREVIEW)
    assert preview.declarations


def test_before_script_and_script_share_a_shell_after_script_does_not(tmp_path: Path) -> None:
    write(tmp_path / "api/requirements.txt", "flask==3.0\n")
    loaded = pipeline(
        tmp_path,
        """
        default:
          before_script:
            - cd api
        job:
          script:
            - pip install -r requirements.txt
          after_script:
            - pip install -r api/requirements.txt
        """,
    )
    assert rows(loaded) == [
        ("job", "api/requirements.txt", 1, "flask==3.0", None, "api"),
        ("job", "api/requirements.txt", 1, "flask==3.0", None, "."),
    ]
    assert loaded.included == ("api/requirements.txt",)


def test_job_before_script_wins_and_inherit_turns_defaults_off(tmp_path: Path) -> None:
    loaded = pipeline(
        tmp_path,
        """
        before_script: [pip install legacy]
        default:
          before_script: [pip install from-default]
        own:
          before_script: [pip install own]
          script: [echo]
        inherits:
          script: [echo]
        none:
          inherit:
            default: false
          script: [echo]
        some:
          inherit:
            default: [image]
          script: [echo]
        .hidden:
          script: [pip install hidden]
        """,
    )
    assert [(job, line, req) for job, _, line, req, _, _ in rows(loaded)] == [
        ("own", 5, "own"),
        ("inherits", 3, "from-default"),
    ]


def test_script_items_are_commands_at_their_own_lines(tmp_path: Path) -> None:
    loaded = pipeline(
        tmp_path,
        """
        job:
          script:
            - pip install a
            - - pip install b
              - [pip install c]
            - >
              pip install
              d
            - |
              echo
              pip install e
            - pip install f
              g
        """,
    )
    assert [(line, req) for _, _, line, req, _, _ in rows(loaded)] == [
        (3, "a"),
        (4, "b"),
        (5, "c"),
        (8, "d"),
        (11, "e"),
        (12, "f"),
        (13, "g"),
    ]


def test_variables_global_job_value_form_and_expansion(tmp_path: Path) -> None:
    write(tmp_path / "constraints.txt", "ruff==0.6.0\n")
    loaded = pipeline(
        tmp_path,
        """
        variables:
          TOOL: ruff
          CONSTRAINTS: constraints.txt
          PIP_CONSTRAINT: $CONSTRAINTS
          FROM_CI: $CI_PROJECT_DIR/x
        a:
          variables:
            EXTRA:
              value: black
              description: the formatter
            LITERAL:
              value: $TOOL
              expand: false
          script:
            - pip install $TOOL $EXTRA $FROM_CI
        b:
          inherit:
            variables: [TOOL]
          script:
            - pip install $TOOL
        """,
    )
    assert [(job, line, req, pinned) for job, _, line, req, pinned, _ in rows(loaded)] == [
        ("a", 15, "ruff", "PIP_CONSTRAINT"),
        ("a", 15, "black", None),
        ("b", 20, "ruff", None),  # PIP_CONSTRAINT is not inherited
    ]
    # $FROM_CI names a variable GitLab sets at run time.
    assert warnings(loaded) == [
        f"{CI}:15: cannot resolve '${{FROM_CI}}' statically (it depends on the environment at run time); what it installs is not checked"
    ]
    config = _yaml.load((tmp_path / CI).read_text(), CI)
    assert isinstance(config, _yaml.Map)
    job = config.get("a")
    assert isinstance(job, _yaml.Map)
    static = {
        "TOOL": "ruff",
        "CONSTRAINTS": "constraints.txt",
        "PIP_CONSTRAINT": "constraints.txt",
        "EXTRA": "black",
        "LITERAL": "$TOOL",  # expand: false
    }
    assert gitlab._Reader(tmp_path, CI, False).variables(config, job, True) == (static, frozenset({"FROM_CI"}))


def test_matrix_and_run_time_variables_are_set_but_unknown(tmp_path: Path) -> None:
    loaded = pipeline(
        tmp_path,
        """
        variables:
          PIP_CONSTRAINT: $CI_PROJECT_DIR/constraints.txt
        job:
          parallel:
            matrix:
              - PY: ["3.11", "3.12"]
          script:
            - pip install ruff "tool${PY:-3.10}"
        """,
    )
    assert rows(loaded) == [("job", CI, 8, "ruff", "PIP_CONSTRAINT (set at run time)", ".")]
    assert [w.message.split(" statically")[0] for w in loaded.warnings] == ["cannot resolve 'tool${PY:-3.10}'"]


def test_global_keywords_are_not_jobs(tmp_path: Path) -> None:
    loaded = pipeline(
        tmp_path,
        """
        stages: [test]
        image: python:3.12
        services: [postgres]
        cache: {paths: [x]}
        workflow:
          rules: [{when: always}]
        default:
          image: python
        pages:
          script: [pip install mkdocs]
        """,
    )
    assert [(job, req) for job, _, _, req, _, _ in rows(loaded)] == [("pages", "mkdocs")]


# ----------------------------------------------------------------------------- extends, anchors, references


def test_extends_deep_merges_mappings_and_replaces_lists(tmp_path: Path) -> None:
    loaded = pipeline(
        tmp_path,
        """
        .base:
          variables: {A: a, B: b}
          before_script: [pip install base-setup]
          script: [pip install base]
        .middle:
          extends: .base
          variables: {B: middle}
        .other:
          script: [pip install other]
        job:
          extends: [.middle, .other]
          variables: {C: c}
          after_script:
            - pip install $A-$B-$C
        """,
    )
    assert [(job, line, req) for job, _, line, req, _, _ in rows(loaded)] == [
        ("job", 3, "base-setup"),
        ("job", 9, "other"),  # the later base's script replaces the earlier one's
        ("job", 14, "a-middle-c"),
    ]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("job:\n  extends: .nowhere\n  script: [x]\n", 2, "job: unknown key in extends: '.nowhere'"),
        (
            ".a:\n  extends: .b\n.b:\n  extends: .a\njob:\n  extends: .a\n",
            2,
            ".a: circular dependency in extends (.a -> .b -> .a)",
        ),
        (".a: [1]\njob:\n  extends: .a\n", 3, "job: extends '.a', which is not a mapping"),
        ("job:\n  extends: {a: 1}\n", 2, "job: extends must be a job name or a list of them, not a mapping"),
        (
            "".join(f".j{n}:\n  extends: .j{n + 1}\n" for n in range(12)) + ".j12: {}\n",
            24,
            ".j11: extends nested deeper than 10 levels",
        ),
    ],
    ids=["unknown", "cycle", "not-a-mapping", "bad-type", "too-deep"],
)
def test_bad_extends_are_errors(tmp_path: Path, text: str, line: int, message: str) -> None:
    with pytest.raises(SourceError) as caught:
        pipeline(tmp_path, text)
    assert (caught.value.path, caught.value.line, caught.value.message) == (CI, line, message)


def test_anchors_and_merge_keys(tmp_path: Path) -> None:
    loaded = pipeline(
        tmp_path,
        """
        .setup: &setup
          before_script:
            - pip install from-anchor
        .vars: &vars
          variables: {TOOL: black}
        job:
          <<: [*setup, *vars]
          script:
            - pip install $TOOL
        """,
    )
    assert [(line, req) for _, _, line, req, _, _ in rows(loaded)] == [(3, "from-anchor"), (9, "black")]


def test_references_resolve_after_extends(tmp_path: Path) -> None:
    loaded = pipeline(
        tmp_path,
        """
        .tools:
          script:
            - pip install tool-a
        .setup:
          extends: .tools
          before_script:
            - pip install setup
        .chain:
          script:
            - !reference [.setup, before_script]
        job:
          before_script:
            - !reference [.setup, script]
          script:
            - !reference [.chain, script]
            - pip install own
          variables:
            TOOL: !reference [.vars, variables, TOOL]
          after_script:
            - pip install $TOOL
        .vars:
          variables: {TOOL: from-reference}
        """,
    )
    assert [(line, req) for _, _, line, req, _, _ in rows(loaded)] == [
        (3, "tool-a"),  # .setup's script comes from its extends
        (7, "setup"),  # a reference to a reference
        (16, "own"),
        (20, "from-reference"),
    ]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("job:\n  script: !reference [.nowhere, script]\n", 2, "!reference [.nowhere, script] could not be found"),
        (
            ".a:\n  script: [x]\njob:\n  script: !reference [.a, script, deeper]\n",
            4,
            "!reference [.a, script, deeper] could not be found",
        ),
        (
            ".a:\n  s: !reference [.b, s]\n.b:\n  s: !reference [.a, s]\njob:\n  script: !reference [.a, s]\n",
            2,
            "!reference [.b, s] is part of a circular chain of references",
        ),
        ("job:\n  script: !reference []\n", 2, "!reference takes a list of keys, e.g. !reference [.setup, script]"),
        ("job:\n  script: !unknown [x]\n", 2, "unknown YAML tag !unknown (GitLab knows only !reference)"),
    ],
    ids=["missing-job", "missing-key", "circular", "empty", "unknown-tag"],
)
def test_bad_references_are_errors_at_their_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    with pytest.raises(SourceError) as caught:
        pipeline(tmp_path, text)
    assert (caught.value.path, caught.value.line, caught.value.message) == (CI, line, message)


# ----------------------------------------------------------------------------- includes


def test_local_includes_merge_in_order_and_keep_their_lines(tmp_path: Path) -> None:
    write(tmp_path / "svc/requirements.txt", "requests==2.32.3\n")
    loaded = pipeline(
        tmp_path,
        """
        include:
          - ci/templates.yml
          - local: /ci/jobs/*.yml
          - remote: https://example.com/ci.yml
          - project: group/ci
            file: python.yml
        job:
          extends: .template
          script:
            - pip install -r requirements.txt
        """,
        {
            "ci/templates.yml": """
            .template:
              before_script:
                - cd svc
              variables: {X: template}
            """,
            "ci/jobs/b.yml": """
            include: ci/templates.yml
            b-job:
              script: [pip install from-b]
            """,
            "ci/jobs/a.yml": """
            a-job:
              extends: .template
              script: [pip install $X]
            """,
        },
    )
    assert rows(loaded) == [
        ("a-job", "ci/jobs/a.yml", 3, "template", None, "svc"),
        ("b-job", "ci/jobs/b.yml", 3, "from-b", None, "."),
        ("job", "svc/requirements.txt", 1, "requests==2.32.3", None, "svc"),
    ]
    assert warnings(loaded) == [
        f"{CI}:4: remote include 'https://example.com/ci.yml' is not in the workspace; envguard does not read it, and the jobs it defines are not checked",
        f"{CI}:5: project include 'group/ci' is not in the workspace; envguard does not read it, and the jobs it defines are not checked",
    ]
    assert loaded.included == ("ci/templates.yml", "ci/jobs/a.yml", "ci/jobs/b.yml", "svc/requirements.txt")


def test_the_including_file_wins_over_what_it_includes(tmp_path: Path) -> None:
    loaded = pipeline(
        tmp_path,
        """
        include: base.yml
        job:
          variables: {TOOL: mine}
        """,
        {"base.yml": "job:\n  variables: {TOOL: theirs, OTHER: kept}\n  script: [pip install $TOOL $OTHER]\n"},
    )
    assert [(path, line, req) for _, path, line, req, _, _ in rows(loaded)] == [
        ("base.yml", 3, "mine"),
        ("base.yml", 3, "kept"),
    ]


def test_a_session_joining_files_maps_errors_back(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as caught:
        pipeline(
            tmp_path,
            "include: t.yml\njob:\n  extends: .t\n  script:\n    - echo\n    - pip install -r\n",
            {"t.yml": ".t:\n  before_script:\n    - cd x\n"},
        )
    assert (caught.value.path, caught.value.line, caught.value.message) == (CI, 6, "option -r needs a value")


@pytest.mark.parametrize(
    ("text", "files", "line", "message"),
    [
        ("include: missing.yml\n", {}, 1, "included file 'missing.yml' does not exist"),
        (
            "include: ../outside.yml\n",
            {},
            1,
            "included file '../outside.yml' is outside the workspace root; pass --allow-outside-root to read it",
        ),
        (
            "include: notes.txt\n",
            {"notes.txt": "x"},
            1,
            "included file 'notes.txt' does not have a YAML extension (.yml or .yaml)",
        ),
        ("include:\n  - local: [a]\n", {}, 2, "include local: must be a path, not a list"),
        ("include: [1]\n", {}, 1, "include must be a path or a mapping, not an integer"),
        ("include: list.yml\n", {"list.yml": "- a\n"}, 1, "included file 'list.yml' must hold a mapping, not a list"),
    ],
    ids=["missing", "outside", "extension", "local-type", "item-type", "not-a-mapping"],
)
def test_bad_includes_are_errors(tmp_path: Path, text: str, files: dict[str, str], line: int, message: str) -> None:
    with pytest.raises(SourceError) as caught:
        pipeline(tmp_path, text, files)
    assert (caught.value.path, caught.value.line, caught.value.message) == (CI, line, message)


def test_an_include_outside_the_root_can_be_allowed(tmp_path: Path) -> None:
    root = tmp_path / "project"
    write(tmp_path / "shared.yml", "job:\n  script: [pip install shared]\n")
    write(root / CI, "include: ../shared.yml\n")
    loaded = read(root, allow_outside_root=True)
    assert [(path, req) for _, path, _, req, _, _ in rows(loaded)] == [("../shared.yml", "shared")]


def test_a_spec_header_document_is_skipped(tmp_path: Path) -> None:
    loaded = pipeline(tmp_path, "spec:\n  inputs:\n    stage: {default: test}\n---\njob:\n  script: [pip install x]\n")
    assert [(line, req) for _, _, line, req, _, _ in rows(loaded)] == [(6, "x")]


# ----------------------------------------------------------------------------- malformed files


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("", 1, "a GitLab CI configuration '.gitlab-ci.yml' must hold a mapping, not nothing"),
        ("- job\n", 1, "a GitLab CI configuration '.gitlab-ci.yml' must hold a mapping, not a list"),
        ("job: [echo]\n", 1, "job 'job' must be a mapping, not a list"),
        ("job:\n  script:\n    - {a: 1}\n", 3, "job 'job': a script holds commands (strings), not a mapping"),
        ("variables: [A]\njob: {script: [x]}\n", 1, "variables must be a mapping, not a list"),
        ("job:\n  script: 'x\n", 3, "invalid YAML: "),
        ("a: 1\n---\nb: 2\n", 3, "a second YAML document, after one that is no spec: header"),
    ],
)
def test_malformed_pipelines_are_one_line_errors(tmp_path: Path, text: str, line: int, message: str) -> None:
    with pytest.raises(SourceError) as caught:
        pipeline(tmp_path, text)
    assert (caught.value.path, caught.value.line) == (CI, line)
    assert caught.value.message.startswith(message), caught.value.message
