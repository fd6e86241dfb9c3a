"""envguard.declared.github: what GitHub Actions workflows and local composite actions install."""

from __future__ import annotations

from pathlib import Path

import pytest

from envguard.declared import github
from envguard.errors import SourceError
from envguard.model import Declaration, Kind, Loaded
from tests.kit import FIXTURES, write

REAL = FIXTURES / "declared" / "github"
WORKFLOW = ".github/workflows/ci.yml"


def rows(loaded: Loaded, prefix: str = "") -> list[tuple[str, str, int, str, str | None, str | None]]:
    """(environment without the file part, path, line, requirement, pinned_by, directory)."""

    def environment(declaration: Declaration) -> str:
        return declaration.environment.removeprefix(prefix)

    return [(environment(d), d.path, d.line, d.requirement, d.pinned_by, d.directory) for d in loaded.declarations]


def warnings(loaded: Loaded) -> list[str]:
    return [str(warning) for warning in loaded.warnings]


def read(root: Path, shown: str = WORKFLOW, **options: bool) -> Loaded:
    return github.load(root / shown, shown, **options)


def workflow(root: Path, text: str, shown: str = WORKFLOW) -> Loaded:
    write(root / shown, text)
    return read(root, shown)


# ----------------------------------------------------------------------------- a whole workspace


ACME = REAL / "acme-ci"
TESTS = f"{WORKFLOW} job tests, step "
SETUP = ".github/actions/setup-service/action.yml"


def test_a_workspace_with_a_composite_action_constraints_and_a_folded_run() -> None:
    loaded = read(ACME)
    assert rows(loaded) == [
        # The composite action, read through its caller with the caller's inputs.
        (f"{TESTS}3 (action ./.github/actions/setup-service, step 1)", SETUP, 15, "-e .[test]", None, "services/billing"),
        (
            f"{TESTS}3 (action ./.github/actions/setup-service, step 2)",
            SETUP, 17, "pytest-timeout", "--constraint constraints.txt", ".",
        ),
        # `-r x.in -c x.txt`: each requirement at its own line, pinned by the compiled file.
        (f"{TESTS}Test requirements", "requirements/test.in", 2, "pytest>=8", "--constraint requirements/test.txt", "."),
        (f"{TESTS}Test requirements", "requirements/test.in", 3, "pytest-mock", "--constraint requirements/test.txt", "."),
        (f"{TESTS}Coverage", WORKFLOW, 31, "pytest-cov", None, "."),
        # defaults.run.working-directory, a line continuation inside a literal block.
        (f"{WORKFLOW} job lint, step 2", WORKFLOW, 46, "pip", None, "services/billing"),
        (f"{WORKFLOW} job lint, step 2", WORKFLOW, 47, "ruff==0.8.4", None, "services/billing"),
        (f"{WORKFLOW} job lint, step 2", WORKFLOW, 48, "mypy==1.13.0", None, "services/billing"),
    ]  # fmt: skip
    assert warnings(loaded) == [
        f"{WORKFLOW}:35: this step runs its script with 'pwsh', which envguard does not read; its installs are not checked"
    ]
    assert loaded.included == (
        SETUP,
        "services/billing/pyproject.toml",
        "constraints.txt",
        "requirements/test.in",
        "requirements/test.txt",
    )
    assert all(d.install and d.origin == "github" for d in loaded.declarations)
    assert next(d for d in loaded.declarations if d.name == "ruff").kind is Kind.REGISTRY


def test_an_action_alone_declares_nothing() -> None:
    # Its inputs come from each caller: without one, nothing it installs is known.
    assert github.load(ACME / SETUP, SETUP).declarations == ()


HARBOR = REAL / "harbor-ci"
SERVICES = ".github/workflows/services.yml"
DEPS = ".github/actions/service-deps/action.yml"
RUN_TIME = "PIP_CONSTRAINT (set at run time)"


def test_a_service_matrix_through_a_composite_action_step_directories_and_cd() -> None:
    loaded = read(HARBOR, SERVICES)
    ingest, reports = "unit (service ingest)", "unit (service reports, extras test,pandas)"
    action = "step Dependencies (action ./.github/actions/service-deps, step"
    assert rows(loaded, f"{SERVICES} job ") == [
        # The matrix's service (and its include's extras) reach the action through `with:`: one
        # declaration per distinct script, labelled with the values it uses; the python axis,
        # which only setup-python reads, splits nothing. PIP_CONSTRAINT names github.workspace.
        (f"{ingest}, {action} Installer)", DEPS, 15, "pip", RUN_TIME, "."),
        # `cd "services/..." && pip3 install \` continued on the next line.
        (f"{ingest}, {action} Service)", DEPS, 20, "-e .[test]", RUN_TIME, "services/ingest"),
        (f"{reports}, {action} Installer)", DEPS, 15, "pip", RUN_TIME, "."),
        (f"{reports}, {action} Service)", DEPS, 20, "-e .[test,pandas]", RUN_TIME, "services/reports"),
        # A step working-directory built from the matrix: each service's own requirements file.
        ("unit (service ingest), step Test requirements", "services/ingest/requirements-test.txt", 1,
         "pytest-cov", RUN_TIME, "services/ingest"),
        ("unit (service ingest), step Test requirements", "services/ingest/requirements-test.txt", 2,
         "freezegun==1.5.1", None, "services/ingest"),
        ("unit (service reports), step Test requirements", "services/reports/requirements-test.txt", 1,
         "pytest-cov", RUN_TIME, "services/reports"),
        ("unit (service reports), step Test requirements", "services/reports/requirements-test.txt", 2,
         "syrupy>=4.8", RUN_TIME, "services/reports"),
        # `--python ${{ matrix.python }}`: one per python, in the matrix's order (3.11 for ingest
        # is excluded). uv does not read PIP_CONSTRAINT.
        ("unit (python 3.13), step Type checkers", "ci/typing.txt", 1, "mypy==1.14.1", None, "."),
        ("unit (python 3.13), step Type checkers", "ci/typing.txt", 2, "types-requests", None, "."),
        ("unit (python 3.11), step Type checkers", "ci/typing.txt", 1, "mypy==1.14.1", None, "."),
        ("unit (python 3.11), step Type checkers", "ci/typing.txt", 2, "types-requests", None, "."),
        # A static PIP_CONSTRAINT, read from the root; `&&` at a line's end goes on to the next.
        ("integration, step Install both services", SERVICES, 60, "-e services/ingest", None, "."),
        ("integration, step Install both services", SERVICES, 60, "-e services/reports[pandas]", None, "."),
        ("integration, step Install both services", "ci/integration.txt", 2, "pytest", "PIP_CONSTRAINT", "."),
        ("integration, step Install both services", "ci/integration.txt", 3, "requests>=2.31", "PIP_CONSTRAINT", "."),
        ("integration, step Install both services", "ci/integration.txt", 4, "testcontainers[postgres]>=4.8",
         None, "."),
        # defaults.run.working-directory, then `cd ..` back to the root.
        ("docs, step Docs toolchain", "docs/requirements.txt", 1, "mkdocs==1.6.1", None, "docs"),
        ("docs, step Docs toolchain", "docs/requirements.txt", 2, "mkdocs-material>=9.5", None, "docs"),
        ("docs, step Build", SERVICES, 83, "-e services/reports", None, "."),
    ]  # fmt: skip
    # A step's output is known only when the job runs.
    assert warnings(loaded) == [
        (
            f"{SERVICES}:81: cannot resolve 'harbor-docs-theme==${{{{ steps.theme.outputs.version }}}}' statically"
            " (it depends on the environment at run time); what it installs is not checked"
        )
    ]
    assert loaded.included == (
        DEPS,
        "services/ingest/pyproject.toml",
        "services/reports/pyproject.toml",
        "services/ingest/requirements-test.txt",
        "services/reports/requirements-test.txt",
        "ci/typing.txt",
        "ci/constraints.txt",
        "ci/integration.txt",
        "docs/requirements.txt",
    )
    kinds = {d.requirement: d.kind for d in loaded.declarations}
    assert (kinds["-e services/ingest"], kinds["freezegun==1.5.1"]) == (Kind.EDITABLE, Kind.REGISTRY)


def test_each_script_style_starts_at_its_first_line(tmp_path: Path) -> None:
    loaded = workflow(
        tmp_path,
        """
        on: push
        jobs:
          test:
            steps:
              - name: literal
                run: |
                  echo hi
                  pip install a
              - name: folded
                run: >-
                  python -m
                  pip install b
              - name: plain
                run: pip install c
              - name: quoted
                run: "pip install
                  d"
              - run: 'pip install e'
        """,
    )
    assert [(env.removeprefix(f"{WORKFLOW} job test, "), line, req) for env, _, line, req, _, _ in rows(loaded)] == [
        ("step literal", 8, "a"),
        ("step folded", 12, "b"),
        ("step plain", 14, "c"),
        ("step quoted", 17, "d"),
        ("step 5", 18, "e"),
    ]


def test_other_shells_are_skipped_with_a_warning_when_they_install(tmp_path: Path) -> None:
    loaded = workflow(
        tmp_path,
        """
        on: push
        defaults:
          run:
            shell: pwsh
        jobs:
          test:
            steps:
              - run: python -m pip install a
              - run: echo nothing
              - run: pip install b
                shell: bash -el {0}
              - run: import subprocess
                shell: python
          other:
            defaults:
              run:
                shell: sh
            steps:
              - run: pip install c
              - run: pip install d
                shell: cmd
        """,
    )
    assert [(line, req) for _, _, line, req, _, _ in rows(loaded)] == [(10, "b"), (19, "c")]
    assert warnings(loaded) == [
        f"{WORKFLOW}:8: this step runs its script with 'pwsh', which envguard does not read; its installs are not checked",
        f"{WORKFLOW}:20: this step runs its script with 'cmd', which envguard does not read; its installs are not checked",
    ]


def test_working_directory_comes_from_step_job_then_workflow(tmp_path: Path) -> None:
    write(tmp_path / "api" / "requirements.txt", "flask==3.0\n")
    write(tmp_path / "web" / "requirements.txt", "django==5.0\n")
    loaded = workflow(
        tmp_path,
        """
        on: push
        defaults:
          run:
            working-directory: api
        jobs:
          a:
            steps:
              - run: pip install -r requirements.txt
              - run: pip install -r requirements.txt
                working-directory: ${{ github.workspace }}/web
              - run: cd ../web && pip install -r requirements.txt
          b:
            defaults:
              run:
                working-directory: ./web/
            steps:
              - run: pip install -r requirements.txt
              - run: pip install -r requirements.txt
                working-directory: ${{ env.WHERE }}
              - run: pip install -r requirements.txt
                working-directory: $HOME/x
        """,
    )
    assert [
        (env.removeprefix(f"{WORKFLOW} "), path, line, directory) for env, path, line, _, _, directory in rows(loaded)
    ] == [
        ("job a, step 1", "api/requirements.txt", 1, "api"),
        ("job a, step 2", "web/requirements.txt", 1, "web"),
        ("job a, step 3", "web/requirements.txt", 1, "web"),
        ("job b, step 1", "web/requirements.txt", 1, "web"),
    ]
    unknown = "cannot tell which file 'requirements.txt' is: the command runs in a directory not known statically; not checked"
    assert warnings(loaded) == [f"{WORKFLOW}:18: {unknown}", f"{WORKFLOW}:20: {unknown}"]


def test_env_and_expressions_are_substituted(tmp_path: Path) -> None:
    write(tmp_path / "constraints.txt", "pytest==8.3.2\n")
    loaded = workflow(
        tmp_path,
        """
        on: push
        env:
          PIP_CONSTRAINT: constraints.txt
          TOOL: ruff
          VERSION: 3.10
        jobs:
          test:
            env:
              TOOL: black
            steps:
              - run: pip install pytest $TOOL "${{ env.TOOL }}==${{ env.VERSION }}" ${{ matrix.none || 'mypy' }}
                env:
                  TOOL: flake8
              - run: pip install ${{ env.NOWHERE }} ${{ github.sha }}
              - run: pip install "${{ env.TOOL }}"
                env:
                  TOOL: ${{ secrets.TOOL }}
        """,
    )
    assert [(line, req, pinned) for _, _, line, req, pinned, _ in rows(loaded)] == [
        (11, "pytest", "PIP_CONSTRAINT"),  # the workflow's PIP_CONSTRAINT file pins it
        (11, "flake8", None),  # the step's TOOL wins over the job's and the workflow's
        (11, "flake8==3.1", None),  # YAML 1.2: 3.10 is the number 3.1, as GitHub reads it
        (11, "mypy", None),  # `||` of a missing matrix value and a literal
    ]
    # A name no `env:` sets may come from $GITHUB_ENV at run time; secrets are never known.
    assert [(w.line, w.message.split(" statically")[0]) for w in loaded.warnings] == [
        (14, "cannot resolve '${{ env.NOWHERE }}'"),
        (14, "cannot resolve '${{ github.sha }}'"),
        (15, "cannot resolve '${{ env.TOOL }}'"),
    ]


def test_a_variable_from_a_secret_is_set_at_run_time(tmp_path: Path) -> None:
    loaded = workflow(
        tmp_path,
        """
        on: push
        env:
          PIP_CONSTRAINT: ${{ secrets.CONSTRAINTS }}
        jobs:
          test:
            steps:
              - run: pip install ruff
        """,
    )
    assert [(req, pinned) for _, _, _, req, pinned, _ in rows(loaded)] == [("ruff", "PIP_CONSTRAINT (set at run time)")]


# ----------------------------------------------------------------------------- matrices


MATRIX = """
on: push
jobs:
  test:
    strategy:
      matrix:
        python: ["3.11", "3.12"]
        pytest: ["8.2", "8.3"]
        os: [ubuntu, windows]
        exclude:
          - python: "3.11"
            pytest: "8.3"
        include:
          - python: "3.12"
            extra: yes
          - python: "3.13"
            pytest: "8.3"
            os: ubuntu
    steps:
      - name: Install
        run: pip install "pytest==${{ matrix.pytest }}" ${{ matrix.extra && 'extra' || 'x' }}
      - name: Tools
        run: pip install tool${{ matrix.python }}
      - name: Same
        run: pip install ruff
"""


def test_a_step_using_the_matrix_is_declared_per_combination(tmp_path: Path) -> None:
    loaded = workflow(tmp_path, MATRIX)
    assert [(env.removeprefix(f"{WORKFLOW} "), req) for env, _, _, req, _, _ in rows(loaded)] == [
        ("job test (pytest 8.2), step Install", "pytest==8.2"),
        ("job test (pytest 8.3), step Install", "pytest==8.3"),
        ("job test (python 3.11), step Tools", "tool3.11"),
        ("job test (python 3.12), step Tools", "tool3.12"),
        ("job test (python 3.13), step Tools", "tool3.13"),
        ("job test, step Same", "ruff"),
    ]
    # `&&` is beyond envguard: the rest of the Install script stays dynamic.
    assert {w.message.split(" statically")[0] for w in loaded.warnings} == {
        "cannot resolve \"${{ matrix.extra && 'extra' || 'x' }}\""
    }


@pytest.mark.parametrize(
    ("matrix", "expected"),
    [
        # GitHub's documented example: include entries extend what they do not overwrite.
        (
            """
            fruit: [apple, pear]
            animal: [cat, dog]
            include:
              - color: green
              - color: pink
                animal: cat
              - fruit: apple
                shape: circle
              - fruit: banana
              - fruit: banana
                animal: cat
            """,
            [
                {"fruit": "apple", "animal": "cat", "color": "pink", "shape": "circle"},
                {"fruit": "apple", "animal": "dog", "color": "green", "shape": "circle"},
                {"fruit": "pear", "animal": "cat", "color": "pink"},
                {"fruit": "pear", "animal": "dog", "color": "green"},
                {"fruit": "banana"},
                {"fruit": "banana", "animal": "cat"},
            ],
        ),
        ("include: [{a: 1}, {a: 2, b: x}]", [{"a": 1}, {"a": 2, "b": "x"}]),
        ("os: [a, b]\nexclude: [{os: a}]", [{"os": "b"}]),
        ("cfg: [{os: a, py: 1}, {os: b, py: 2}]\nexclude: [{cfg: {os: a}}]", [{"cfg": {"os": "b", "py": 2}}]),
        ("v: [3.10, '3.10', true, null]", [{"v": 3.1}, {"v": "3.10"}, {"v": True}, {"v": None}]),
    ],
    ids=["docs-example", "only-include", "exclude", "exclude-partial-object", "yaml-1.2-values"],
)
def test_matrix_combinations_follow_githubs_rules(matrix: str, expected: list[dict[str, object]]) -> None:
    from textwrap import dedent

    from envguard.declared import _yaml

    node = _yaml.load("matrix:\n" + "".join(f"  {line}\n" for line in dedent(matrix).strip().splitlines()), "ci.yml")
    assert github._combinations(node, "ci.yml") == expected


def test_a_matrix_from_an_expression_leaves_matrix_values_dynamic(tmp_path: Path) -> None:
    loaded = workflow(
        tmp_path,
        """
        on: push
        jobs:
          test:
            strategy:
              matrix: ${{ fromJSON(needs.setup.outputs.matrix) }}
            steps:
              - run: pip install "pytest==${{ matrix.pytest }}" ruff
        """,
    )
    assert [req for _, _, _, req, _, _ in rows(loaded)] == ["ruff"]
    assert [w.line for w in loaded.warnings] == [7]


def test_a_matrix_of_more_than_256_jobs_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="at most 256 jobs; this one makes more"):
        workflow(
            tmp_path,
            "on: push\njobs:\n  t:\n    strategy:\n      matrix:\n        a: ["
            + ",".join(map(str, range(17)))
            + "]\n        b: ["
            + ",".join(map(str, range(17)))
            + "]\n    steps: []\n",
        )


# ----------------------------------------------------------------------------- local actions

ACTION = """
name: setup
inputs:
  python-version:
    default: "3.12"
  extra:
    description: no default
runs:
  using: composite
  steps:
    - name: Install
      shell: bash
      run: pip install "tool==${{ inputs.python-version }}" ${{ inputs.extra }} $FROM_CALLER
      working-directory: ${{ inputs.where }}
    - uses: ./.github/actions/inner
"""

INNER = """
runs:
  using: composite
  steps:
    - run: pip install -r requirements.txt
      shell: sh
"""


def test_local_actions_are_read_through_each_caller(tmp_path: Path) -> None:
    write(tmp_path / ".github/actions/setup/action.yml", ACTION)
    write(tmp_path / ".github/actions/inner/action.yaml", INNER)
    write(tmp_path / "requirements.txt", "six==1.16\n")
    loaded = workflow(
        tmp_path,
        """
        on: push
        jobs:
          test:
            defaults:
              run:
                working-directory: somewhere-else
            strategy:
              matrix:
                python: ["3.11", "3.12"]
            steps:
              - name: Setup
                uses: ./.github/actions/setup
                env:
                  FROM_CALLER: caller-tool
                with:
                  python-version: ${{ matrix.python }}
                  extra: extra-tool
          lint:
            steps:
              - uses: ./.github/actions/setup/
        """,
    )
    setup = ".github/actions/setup/action.yml"
    inner = "(action ./.github/actions/inner, step 1)"
    assert rows(loaded, f"{WORKFLOW} ") == [
        (
            "job test (python 3.11), step Setup (action ./.github/actions/setup, step Install)",
            setup,
            12,
            "tool==3.11",
            None,
            ".",
        ),
        (
            "job test (python 3.11), step Setup (action ./.github/actions/setup, step Install)",
            setup,
            12,
            "extra-tool",
            None,
            ".",
        ),
        (
            "job test (python 3.11), step Setup (action ./.github/actions/setup, step Install)",
            setup,
            12,
            "caller-tool",
            None,
            ".",
        ),
        (
            f"job test (python 3.11), step Setup (action ./.github/actions/setup, step 2 {inner})",
            "requirements.txt",
            1,
            "six==1.16",
            None,
            ".",
        ),
        (
            "job test (python 3.12), step Setup (action ./.github/actions/setup, step Install)",
            setup,
            12,
            "tool==3.12",
            None,
            ".",
        ),
        (
            "job test (python 3.12), step Setup (action ./.github/actions/setup, step Install)",
            setup,
            12,
            "extra-tool",
            None,
            ".",
        ),
        (
            "job test (python 3.12), step Setup (action ./.github/actions/setup, step Install)",
            setup,
            12,
            "caller-tool",
            None,
            ".",
        ),
        (
            f"job test (python 3.12), step Setup (action ./.github/actions/setup, step 2 {inner})",
            "requirements.txt",
            1,
            "six==1.16",
            None,
            ".",
        ),
        ("job lint, step 1 (action ./.github/actions/setup, step Install)", setup, 12, "tool==3.12", None, "."),
        (
            f"job lint, step 1 (action ./.github/actions/setup, step 2 {inner})",
            "requirements.txt",
            1,
            "six==1.16",
            None,
            ".",
        ),
    ]
    # The lint job sets no FROM_CALLER; its `extra` input is empty (no default).
    assert warnings(loaded) == [
        f"{setup}:12: cannot resolve '${{FROM_CALLER}}' statically (it depends on the environment at run time); what it installs is not checked"
    ]
    assert loaded.included == (setup, ".github/actions/inner/action.yaml", "requirements.txt")
    # On its own, an action declares nothing: its callers declare what it installs.
    assert read(tmp_path, setup) == Loaded(())


def test_a_missing_action_is_a_warning_and_a_cycle_an_error(tmp_path: Path) -> None:
    loaded = workflow(tmp_path, "on: push\njobs:\n  t:\n    steps:\n      - uses: ./.github/actions/gone\n")
    assert warnings(loaded) == [
        f"{WORKFLOW}:5: local action './.github/actions/gone' has no action.yml in the workspace (made at run time?); its steps are not checked"
    ]
    write(tmp_path / "a/action.yml", "runs:\n  using: composite\n  steps:\n    - uses: ./b\n")
    write(tmp_path / "b/action.yml", "runs:\n  using: composite\n  steps:\n    - uses: ./a\n")
    with pytest.raises(SourceError) as caught:
        workflow(tmp_path, "on: push\njobs:\n  t:\n    steps:\n      - uses: ./a\n")
    assert (
        str(caught.value)
        == "b/action.yml:4: local actions call each other in a cycle: a/action.yml -> b/action.yml -> a/action.yml"
    )


def test_an_action_outside_the_root_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    write(
        tmp_path / "shared/action.yml",
        "runs:\n  using: composite\n  steps:\n    - run: pip install x\n      shell: bash\n",
    )
    text = "on: push\njobs:\n  t:\n    steps:\n      - uses: ./../shared\n"
    with pytest.raises(SourceError, match="outside the workspace root; pass --allow-outside-root"):
        workflow(root, text)
    loaded = read(root, allow_outside_root=True)
    assert [(d.path, d.requirement) for d in loaded.declarations] == [("../shared/action.yml", "x")]


def test_javascript_actions_and_reusable_workflows_are_not_read(tmp_path: Path) -> None:
    write(tmp_path / "js/action.yml", "runs:\n  using: node20\n  main: index.js\n")
    loaded = workflow(
        tmp_path,
        """
        on: push
        jobs:
          call:
            uses: ./.github/workflows/other.yml
            with: {x: 1}
          js:
            steps:
              - uses: ./js
              - uses: actions/checkout@v4
        """,
    )
    assert loaded == Loaded((), ("js/action.yml",), (), ())
    assert read(tmp_path, "js/action.yml") == Loaded(())


# ----------------------------------------------------------------------------- malformed files


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("- a\n- b\n", 1, "a workflow must be a mapping, not a list"),
        ("", 1, "a workflow must be a mapping, not nothing"),
        ("on: push\n", 1, "a workflow needs a 'jobs' mapping, not nothing"),
        ("on: push\njobs: [a]\n", 2, "a workflow needs a 'jobs' mapping, not a list"),
        ("jobs:\n  t: 1\n", 2, "job 't' must be a mapping, not an integer"),
        ("jobs:\n  t:\n    steps: {a: 1}\n", 3, "job 't': steps must be a list, not a mapping"),
        ("jobs:\n  t:\n    steps:\n      - run\n", 4, "job 't' step 1 must be a mapping, not a string"),
        ("jobs:\n  t:\n    steps:\n      - run: [a]\n", 4, "step 1: run must be a string, not a list"),
        ("jobs:\n  t:\n    steps:\n      - run: a\n        env: [X]\n", 5, "env must be a mapping, not a list"),
        (
            "jobs:\n  t:\n    strategy:\n      matrix:\n        a: 1\n    steps: []\n",
            5,
            "matrix value 'a' must be a list, not an integer",
        ),
        ("jobs:\n  t:\n    steps:\n      - run: 'a\n", 5, "invalid YAML: "),
        ("jobs:\n  t:\n    steps:\n      - run: pip install -r\n", 4, "option -r needs a value"),
    ],
)
def test_malformed_workflows_are_one_line_errors(tmp_path: Path, text: str, line: int, message: str) -> None:
    with pytest.raises(SourceError) as caught:
        workflow(tmp_path, text)
    assert (caught.value.path, caught.value.line) == (WORKFLOW, line)
    assert caught.value.message.startswith(message), caught.value.message


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("runs: 1\n", 1, "an action needs a 'runs' mapping, not an integer"),
        ("runs:\n  using: composite\n", 2, "a composite action needs a list of steps, not nothing"),
        ("runs:\n  using: composite\n  steps: [1]\n", 3, "action step 1 must be a mapping, not an integer"),
    ],
)
def test_malformed_actions_are_errors_on_their_own(tmp_path: Path, text: str, line: int, message: str) -> None:
    write(tmp_path / "x/action.yml", text)
    with pytest.raises(SourceError) as caught:
        read(tmp_path, "x/action.yml")
    assert (caught.value.path, caught.value.line, caught.value.message) == ("x/action.yml", line, message)


def test_a_workflow_without_installs_is_empty(tmp_path: Path) -> None:
    loaded = workflow(
        tmp_path, "on: push\njobs:\n  t:\n    steps:\n      - run: make test\n      - uses: actions/checkout@v4\n"
    )
    assert loaded == Loaded((), (), (), ())


def test_a_step_broken_only_where_its_if_skips_it_is_a_warning(tmp_path: Path) -> None:
    loaded = workflow(
        tmp_path,
        """
        on: push
        jobs:
          test:
            strategy:
              matrix:
                service: [a]
                include:
                  - {service: b, pandas: "2.2.3"}
            steps:
              - if: matrix.service == 'b'
                run: pip install "pandas==${{ matrix.pandas }}"
        """,
    )
    assert [(d.requirement, d.environment) for d in loaded.declarations] == [
        ("pandas==2.2.3", f"{WORKFLOW} job test (pandas 2.2.3), step 1")
    ]
    (warning,) = loaded.warnings
    assert (warning.line, warning.message.endswith("which the step's if: may skip); not checked")) == (11, True)
