"""envguard.declared.dockerfile: what a Dockerfile's RUN instructions install, stage by stage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from envguard.declared import dockerfile
from envguard.errors import SourceError
from envguard.model import Declaration, Kind, Loaded
from tests.kit import FIXTURES, write

HERE = FIXTURES / "declared" / "dockerfile"
OFFICIAL = json.loads((HERE / "official.json").read_text(encoding="utf-8"))


def summary(loaded: Loaded) -> list[tuple[str, str, int, str, str | None, str | None, str | None]]:
    """(stage, path, line, name, version, specifier, pinned_by) of every declaration."""
    return [
        (d.environment.rpartition(" stage ")[2], d.path, d.line, d.name, d.version, d.specifier, d.pinned_by)
        for d in loaded.declarations
    ]


def warnings(loaded: Loaded) -> list[tuple[int | None, str]]:
    return [(w.line, w.message) for w in loaded.warnings]


def read(root: Path, text: str, shown: str = "Dockerfile", **files: str) -> Loaded:
    for name, content in files.items():
        write(root / name.replace("__", "/"), content)
    path = write(root / shown, text)
    return dockerfile.load(path, shown)


# ----------------------------------------------------------------------------- the parser


@pytest.mark.parametrize("name", sorted(OFFICIAL))
def test_instructions_agree_with_buildkits_parser(name: str) -> None:
    """Keyword, lines, flags, RUN arguments and heredocs as BuildKit's own parser reads them."""
    parsed = dockerfile._parse((HERE / name).read_text(encoding="utf-8"), name)
    expected = OFFICIAL[name]
    assert len(parsed.instructions) == len(expected)
    for instruction, official in zip(parsed.instructions, expected):
        last = instruction.heredocs[-1] if instruction.heredocs else None
        end = last.first_line + last.body.count("\n") if last else instruction.segments[-1][1]
        assert (instruction.keyword, instruction.line, end, list(instruction.flags)) == (
            official["cmd"],
            official["start_line"],
            official["end_line"],
            official["flags"],
        )
        if official["cmd"] == "run":
            words = dockerfile._json_array(instruction.args, name, instruction.line)
            assert (words is not None, words if words is not None else [instruction.args]) == (
                official["json"],
                official["value"],
            )
        if official["cmd"] != "onbuild":  # the wrapper does not report an ONBUILD's heredocs
            assert [(h.name, h.fd, h.body) for h in instruction.heredocs] == [
                (h["name"], h["fd"], h["content"]) for h in official["heredocs"]
            ]


def test_continuation_lines_keep_their_numbers(tmp_path: Path) -> None:
    text = (
        "FROM python:3.12\n"
        "RUN pip install \\\n"
        "    # a comment inside the continuation\n"
        "\n"
        '    "pytest==8.3.2" \\  \n'
        "    pytest-cov && \\\n"
        "    pip install pytest-mock\n"
    )
    assert summary(read(tmp_path, text)) == [
        ("1", "Dockerfile", 5, "pytest", "8.3.2", None, None),
        ("1", "Dockerfile", 6, "pytest-cov", None, None, None),
        ("1", "Dockerfile", 7, "pytest-mock", None, None, None),
    ]


def test_backtick_escape() -> None:
    loaded = dockerfile.load(HERE / "parser" / "backtick.Dockerfile", "parser/backtick.Dockerfile")
    assert [(line, name, version) for _, _, line, name, version, _, _ in summary(loaded)] == [
        (5, "pytest", "8.3.2"),
        (7, "pytest-cov", None),
        (8, "pytest-mock", None),  # `\[extra\]`: backslashes are the shell's, not Docker's escapes
        (10, "hypothesis", "6.100.0"),
    ]


def test_instructions_are_case_insensitive_and_flags_come_first(tmp_path: Path) -> None:
    text = "from python:3.12 as Test\nrun --network=none --mount=type=cache,target=/root/.cache pip install x==1\n"
    assert summary(read(tmp_path, text)) == [("test", "Dockerfile", 2, "x", "1", None, None)]


# ----------------------------------------------------------------------------- RUN forms


def test_exec_form(tmp_path: Path) -> None:
    text = (
        "FROM python:3.12\n"
        'RUN ["python", "-m", "pip", "install", \\\n'
        '     "hypothesis==6.100.0", "$NOT_EXPANDED_IS_A_NAME"]\n'
        'RUN ["/bin/bash", "-o", "pipefail", "-c", "pip install pytest-cov"]\n'
        'RUN ["echo", "pip", "install", "x"]\n'
    )
    with pytest.raises(SourceError, match=r"Dockerfile:3: invalid requirement"):
        read(tmp_path, text)
    loaded = read(tmp_path, text.replace(', "$NOT_EXPANDED_IS_A_NAME"', ""))
    assert summary(loaded) == [
        ("1", "Dockerfile", 3, "hypothesis", "6.100.0", None, None),
        ("1", "Dockerfile", 4, "pytest-cov", None, None, None),
    ]


def test_shell_form_that_only_looks_like_json(tmp_path: Path) -> None:
    text = 'FROM x\nRUN [ -f /etc/os-release ] && pip install a\nRUN ["pip", "install", "b"\n'
    loaded = read(tmp_path, text)
    assert summary(loaded) == [("1", "Dockerfile", 2, "a", None, None, None)]
    assert warnings(loaded) == [
        (3, "RUN looks like exec form but is not valid JSON: Docker runs it with the shell as written; not read")
    ]


def test_heredocs(tmp_path: Path) -> None:
    loaded = dockerfile.load(HERE / "parser" / "heredocs.Dockerfile", "parser/heredocs.Dockerfile")
    # `RUN <<EOF` runs its body; `<<-EOT bash -ex` feeds the body to bash; bodies given to `cat`
    # or `python3`, a COPY's heredoc and an ONBUILD are not installs.
    assert [(line, name) for _, _, line, name, *_ in summary(loaded)] == [(3, "a"), (6, "b"), (23, "c")]
    assert loaded.warnings == ()


def test_heredoc_with_a_shebang_runs_its_interpreter(tmp_path: Path) -> None:
    text = (
        "FROM python:3.12\n"
        "RUN <<EOF\n#!/usr/bin/env python3\nimport subprocess\nsubprocess.run(['pip', 'install', 'x'])\nEOF\n"
        "RUN <<EOF\n#!/bin/bash\npip install y==2\nEOF\n"
    )
    assert summary(read(tmp_path, text)) == [("1", "Dockerfile", 9, "y", "2", None, None)]


def test_heredoc_piped_into_a_shell_among_other_commands(tmp_path: Path) -> None:
    text = "FROM x\nRUN cat <<A > /tmp/a && bash <<B\na\nA\npip install z\nB\n"
    loaded = read(tmp_path, text)
    assert summary(loaded) == []
    assert warnings(loaded) == [(2, "cannot tell which here-document 'bash' reads as its script; not read")]


def test_heredoc_line_reads_files_the_instruction_wrote(tmp_path: Path) -> None:
    text = "FROM x\nRUN cat <<EOF > /r.txt && pip install -r /r.txt pytest==8.3.2\npytest-cov\nEOF\n"
    loaded = read(tmp_path, text)
    assert summary(loaded) == [("1", "Dockerfile", 2, "pytest", "8.3.2", None, None)]
    assert [line for line, _ in warnings(loaded)] == [2]  # /r.txt is made by the build, not the workspace's


def test_foreign_shell_is_not_read(tmp_path: Path) -> None:
    text = (
        "FROM mcr.microsoft.com/windows/servercore\n"
        'SHELL ["pwsh", "-Command"]\n'
        "RUN pip install a\n"
        'RUN ["pip", "install", "b==1"]\n'
        "RUN <<EOF\n#!/bin/sh\npip install c==1\nEOF\n"
        'SHELL ["/bin/bash", "-eo", "pipefail", "-c"]\n'
        "RUN pip install d==1\n"
    )
    loaded = read(tmp_path, text)
    assert [name for _, _, _, name, *_ in summary(loaded)] == ["b", "c", "d"]
    assert warnings(loaded) == [(3, 'RUN runs under SHELL ["pwsh", "-Command"], which is not a POSIX shell; not read')]


# ----------------------------------------------------------------------------- variables and stages


def test_arg_and_env_scoping(tmp_path: Path) -> None:
    text = (
        "ARG PLUGIN=pytest-randomly\n"
        "ARG VERSION=3.16.0\n"
        "FROM python:3.12 AS base\n"
        "ARG VERSION\n"  # takes the default of the ARG before FROM
        'RUN pip install "$PLUGIN==$VERSION"\n'  # PLUGIN is not declared in the stage: unknown
        "ENV PKG=pytest-cov SPEC=${VERSION}\n"
        "ENV PKG=pytest-xdist OTHER=$PKG\n"  # one ENV sees the values from before it
        'RUN pip install "$OTHER" "$PKG" "x==$SPEC"\n'
        "ARG NO_DEFAULT\n"
        "RUN pip install $NO_DEFAULT\n"
        "FROM base AS child\n"
        'RUN pip install "$PKG==1" "y==${VERSION:-0}"\n'  # ENV is inherited, ARG is not
    )
    loaded = read(tmp_path, text)
    assert [(stage, line, name, version) for stage, _, line, name, version, _, _ in summary(loaded)] == [
        ("base", 8, "pytest-cov", None),
        ("base", 8, "pytest-xdist", None),
        ("base", 8, "x", "3.16.0"),
        ("child", 12, "pytest-xdist", "1"),
    ]
    assert [line for line, _ in warnings(loaded)] == [5, 10, 12]


def test_legacy_env_form_and_inheritance(tmp_path: Path) -> None:
    # The ENV of `FROM python:3.12-slim as runtime` reaches `FROM runtime` only.
    text = (
        "FROM python:3.12-slim as runtime\n"
        "ENV TOOL ruff\n"
        "FROM runtime\n"
        "RUN pip install $TOOL\n"
        "FROM python:3.12-slim\n"
        "RUN pip install $TOOL\n"
    )
    loaded = read(tmp_path, text)
    assert [(stage, line, name) for stage, _, line, name, *_ in summary(loaded)] == [("2", 4, "ruff")]
    assert [line for line, _ in warnings(loaded)] == [6]


def test_constraints_from_env(tmp_path: Path) -> None:
    text = "FROM python:3.12\nWORKDIR /app\nCOPY constraints.txt .\nENV PIP_CONSTRAINT=/app/constraints.txt\nRUN pip install pytest\n"
    loaded = read(tmp_path, text, **{"constraints.txt": "pytest==8.3.2\n"})
    assert summary(loaded) == [("1", "Dockerfile", 5, "pytest", None, None, "PIP_CONSTRAINT")]
    assert loaded.included == ("constraints.txt",)


# ----------------------------------------------------------------------------- files in the image


def test_copy_maps_image_paths_to_the_build_context(tmp_path: Path) -> None:
    text = (
        "FROM python:3.12 AS build\n"
        "WORKDIR /app\n"
        "COPY requirements/ /app/req/\n"
        "COPY requirements*.txt ./\n"
        "COPY ../../outside.txt /o.txt\n"  # BuildKit keeps `..` inside the context
        "RUN pip install -r /app/req/test.txt -r requirements-dev.txt -r /o.txt\n"
        "WORKDIR sub\n"
        "RUN cd .. && pip install -r req/test.txt\n"
        "FROM python:3.12\n"
        "COPY --from=build /app/req/test.txt /srv/\n"
        "COPY --from=python:3.12 /etc/hosts /srv/hosts\n"
        "RUN pip install -r /srv/test.txt -r /srv/hosts\n"
    )
    files = {
        "docker__requirements__test.txt": "pytest==8.3.2\n",
        "docker__requirements-dev.txt": "pytest-cov==6.0.0\n",
        "docker__outside.txt": "six==1.16.0\n",
    }
    loaded = read(tmp_path, text, "docker/Dockerfile", **files)
    assert summary(loaded) == [
        ("build", "docker/requirements/test.txt", 1, "pytest", "8.3.2", None, None),
        ("build", "docker/requirements-dev.txt", 1, "pytest-cov", "6.0.0", None, None),
        ("build", "docker/outside.txt", 1, "six", "1.16.0", None, None),
        ("build", "docker/requirements/test.txt", 1, "pytest", "8.3.2", None, None),
        ("2", "docker/requirements/test.txt", 1, "pytest", "8.3.2", None, None),
    ]
    assert warnings(loaded) == [
        (
            12,
            "cannot tell which file '/srv/hosts' is: no file of the workspace is there (nothing copied it into the image), "
            "or the command's directory is not known statically; not checked",
        )
    ]


def test_bind_mounts_cache_mounts_and_heredoc_files(tmp_path: Path) -> None:
    text = (
        "FROM python:3.12\n"
        "WORKDIR /w\n"
        "COPY <<EOF /w/inline.txt\npytest\nEOF\n"
        "COPY reqs.txt /cache/reqs.txt\n"
        "RUN --mount=type=bind,source=reqs.txt,target=./mounted.txt \\\n"
        "    --mount=type=cache,target=/cache \\\n"
        "    pip install -r mounted.txt -r inline.txt -r /cache/reqs.txt\n"
        "RUN pip install -r mounted.txt\n"
    )
    loaded = read(tmp_path, text, **{"reqs.txt": "pytest-cov==6.0.0\n"})
    assert summary(loaded) == [("1", "reqs.txt", 1, "pytest-cov", "6.0.0", None, None)]
    assert [(line, message.split(":")[0]) for line, message in warnings(loaded)] == [
        (9, "cannot tell which file 'inline.txt' is"),
        (9, "cannot tell which file '/cache/reqs.txt' is"),
        (10, "cannot tell which file 'mounted.txt' is"),
    ]


def test_local_project_directory_inferred_from_the_files_copied_into_it(tmp_path: Path) -> None:
    text = "FROM python:3.12\nWORKDIR /app\nCOPY pyproject.toml README.md ./\nCOPY src src\nRUN pip install -e .\n"
    pyproject = '[project]\nname = "svc"\nversion = "1"\n'
    loaded = read(tmp_path, text, "svc/Dockerfile", **{"svc__pyproject.toml": pyproject, "svc__README.md": ""})
    assert [(d.name, d.kind, d.path) for d in loaded.declarations] == [("svc", Kind.EDITABLE, "svc/Dockerfile")]


# ----------------------------------------------------------------------------- parser inputs


def parser_input(name: str) -> list[tuple[int, str, str | None]]:
    loaded = dockerfile.load(HERE / "parser" / name, f"parser/{name}")
    assert loaded.warnings == ()
    return [(d.line, d.name, d.version) for d in loaded.declarations]


def test_directives_set_the_escape_character_only_on_the_first_lines() -> None:
    assert parser_input("directives-backtick.Dockerfile") == [(8, "gunicorn", "23.0.0"), (9, "meter-client", None)]
    assert parser_input("directives-syntax.Dockerfile") == [(7, "uvicorn", "0.30.6")]
    assert parser_input("directives-after-comment.Dockerfile") == []  # read with `\`, as BuildKit does
    assert parser_input("directives-nonewline.Dockerfile") == []  # apk, not pip


def test_continuations_join_as_docker_joins_them() -> None:
    # `beta\` and `gamma` around a line of only `\` are one word, as in BuildKit's reading.
    assert parser_input("continuations.Dockerfile") == [
        (17, "alpha", None),
        (19, "betagamma", None),
        (27, "delta", "1.0"),
    ]
    assert parser_input("continue-at-eof.Dockerfile") == [(5, "epsilon", None)]
    assert parser_input("system-packages.Dockerfile") == [(18, "meter-agent", "4.2.1")]  # after empty lines


def test_flags_exec_form_and_onbuild_of_the_parser_inputs() -> None:
    assert parser_input("flags.Dockerfile") == [(20, "eta", "2.0")]  # after --network and --security
    # Exec-form RUNs are read; single quotes are no JSON: a shell command `['pip',`.
    assert parser_input("json-forms.Dockerfile") == [(15, "theta", "3.1"), (16, "iota", None)]
    # ONBUILD RUNs are not read; `sh -c '...'` continued inside its quotes is.
    assert parser_input("onbuild-and-more.Dockerfile") == [(20, "nu", "0.5")]


@pytest.mark.parametrize(
    "name, line, message",
    [
        ("env-arg.Dockerfile", 14, "matching single-quote"),  # `'a\'b'`: no escapes within single quotes
        ("escapes.Dockerfile", 6, "matching double-quote"),  # `\etc\\"`: the quote is never closed
    ],
)
def test_parser_inputs_whose_words_do_not_expand(name: str, line: int, message: str) -> None:
    # BuildKit's parser splits these lines; expanding their words with the rules of its shell
    # lexer (as envguard does for ENV and ADD) leaves a quote unclosed.
    with pytest.raises(SourceError, match=message) as caught:
        dockerfile.load(HERE / "parser" / name, f"parser/{name}")
    assert caught.value.line == line


# ----------------------------------------------------------------------------- project Dockerfiles


def project(name: str) -> Loaded:
    return dockerfile.load(HERE / "projects" / name / "Dockerfile", f"projects/{name}/Dockerfile")


def test_kiosk_copy_into_the_workdir_cache_mount_and_heredoc_stage() -> None:
    # `COPY requirements.txt /srv` into the WORKDIR, a cache mount, `FROM builder as dev-envs` heredocs.
    loaded = project("kiosk")
    assert summary(loaded) == [
        ("builder", "projects/kiosk/requirements.txt", 1, "flask", None, None, None),
        ("builder", "projects/kiosk/requirements.txt", 2, "waitress", "3.0.0", None, None),
    ]
    assert loaded.warnings == ()


def test_testrunner_copies_a_glob_of_requirements_files_and_adds_pytest_plugins() -> None:
    loaded = project("testrunner")
    assert [(d.path.rpartition("/")[2], d.line, d.name, d.version, d.specifier) for d in loaded.declarations] == [
        ("requirements.txt", 1, "httpx", None, None),
        ("test-requirements.txt", 1, "pytest", None, ">=8.0"),
        ("test-requirements.txt", 2, "pytest-cov", None, ">=5.0"),
        ("test-requirements.txt", 3, "pytest-asyncio", None, ">=0.23"),
        ("test-requirements.txt", 4, "respx", None, None),
        ("Dockerfile", 13, "pytest-randomly", "3.15.0", None),
        ("Dockerfile", 13, "pytest-timeout", None, ">=2.3"),
        ("Dockerfile", 13, "pytest-sugar", None, None),
    ]
    # release-requirements.txt is copied by the glob, and installed by nothing.
    assert loaded.included == ("projects/testrunner/requirements.txt", "projects/testrunner/test-requirements.txt")
    assert loaded.warnings == ()


def test_inventory_add_directory_then_constraints() -> None:
    loaded = project("inventory")
    assert {d.pinned_by for d in loaded.declarations} == {"--constraint constraints.txt"}
    assert [(d.line, d.name, d.requirement) for d in loaded.declarations] == [
        (1, "django", "Django"),
        (2, "djangorestframework", "djangorestframework"),
        (3, "django-filter", "django-filter"),
        (4, "celery", "celery"),
        (5, "psycopg", "psycopg[binary]"),
        (6, "gunicorn", "gunicorn"),
    ]
    assert loaded.included == ("projects/inventory/app/requirements.txt", "projects/inventory/app/constraints.txt")


def test_reports_pip_constraint_variable() -> None:
    loaded = project("reports")
    assert [(d.path.rpartition("/")[2], d.line, d.name, d.pinned_by) for d in loaded.declarations] == [
        ("Dockerfile", 3, "pip", None),
        ("requirements.txt", 2, "polars", None),
        ("requirements.txt", 3, "pyarrow", None),
        ("requirements.txt", 4, "duckdb", None),
        ("requirements.txt", 7, "plotly", "PIP_CONSTRAINT"),  # the one package constraints.txt pins
        ("requirements.txt", 8, "kaleido", None),
    ]


def test_formatter_builder_stage() -> None:
    loaded = project("formatter")
    assert summary(loaded) == [
        ("builder", "projects/formatter/Dockerfile", 14, "pip", None, None, None),
        ("builder", "projects/formatter/Dockerfile", 18, "tidy", None, None, None),
    ]
    # `--group build` reads pyproject.toml's groups; `dist/*.whl` is a wheel the RUN itself builds.
    assert [line for line, _ in warnings(loaded)] == [15, 17]


def test_dashboard_relative_bind_mounts() -> None:
    loaded = project("dashboard")
    # The mounts map `requirements/production.txt` (and the `-r base.txt` it names) to the
    # workspace's files; development.txt is not in the workspace.
    assert [(d.path.rpartition("/")[2], d.line, d.name, d.version) for d in loaded.declarations] == [
        ("base.txt", 1, "flask", "3.0.3"),
        ("base.txt", 2, "flask-appbuilder", "4.5.2"),
        ("base.txt", 3, "sqlalchemy", "2.0.35"),
        ("production.txt", 2, "gunicorn", "23.0.0"),
    ]
    assert {d.environment for d in loaded.declarations} == {"projects/dashboard/Dockerfile stage lean"}
    # `-e .` is the context directory, which has no pyproject.toml (the image copies a setup.py).
    assert [(line, message.partition(" (")[0].partition(":")[0]) for line, message in warnings(loaded)] == [
        (74, "cannot tell the project name of './projects/dashboard'"),
        (114, "requirements file 'requirements/development.txt' is not in the workspace"),
    ]


def test_registry_installs_through_a_wrapper_script() -> None:
    # Comment lines inside continuations, cache and bind mounts, `$(if ...)` words: `pip-install`
    # is the project's own script, so nothing is declared and nothing is wrong.
    loaded = project("registry")
    assert (loaded.declarations, loaded.warnings) == ((), ())


def test_scheduler_uv_pip_install_of_a_pyproject() -> None:
    loaded = project("scheduler")
    assert loaded.declarations == ()
    assert [line for line, _ in warnings(loaded)] == [6]


def test_evaluator_absolute_project_path() -> None:
    # `uv pip install --system --no-cache-dir "/app/[eval]"` after `ADD src pyproject.toml uv.lock /app/`.
    loaded = project("evaluator")
    assert [(d.name, d.requirement, d.kind.value, d.line) for d in loaded.declarations] == [
        ("evaluator", "/app/[eval]", "path", 7)
    ]
    assert warnings(loaded) == []


def test_workers_parents_glob_secret_mount_and_uv_constraints() -> None:
    loaded = project("workers")
    assert [
        (stage, path.partition("workers/")[2], line, name, pinned_by)
        for stage, path, line, name, _, _, pinned_by in summary(loaded)
    ] == [
        ("deps", "services/mailer/requirements.txt", 1, "aiosmtplib", "--constraints constraints.txt"),
        ("deps", "services/mailer/requirements.txt", 2, "jinja2", "--constraints constraints.txt"),
        ("deps", "services/thumbnails/requirements.txt", 1, "pillow", "--constraints constraints.txt"),
        # constraints.txt, followed from the stage it is copied from, pins pytest only.
        ("test", "Dockerfile", 14, "pytest", "--constraint /etc/constraints.txt"),
        ("test", "Dockerfile", 14, "pytest-mock", None),
    ]
    assert loaded.warnings == ()


# ----------------------------------------------------------------------------- hadolint DL3013

# hadolint's rule DL3013 ("Pin versions in pip") against envguard's reading. These RUN lines
# were written for envguard, one for each kind of line the rule decides: each with whether
# hadolint reports it, and what envguard reads. envguard agrees where "hadolint reports it" is
# "some registry requirement has no version, no specifier and nothing pinning it"; the rows with
# a note are where envguard deliberately reads more or less than hadolint.
_Reading = list[tuple[str, str | None, str | None, str, str | None]]
_PINNED_HTTPIE: _Reading = [("httpie", "3.2.3", None, "registry", None)]
_PINNED_LOGIN: _Reading = [("flask-login", "0.6.3", None, "registry", None)]
_DL3013: list[tuple[str, bool, _Reading | str, str]] = [
    # a name alone, then each operator pip knows
    ("RUN pip2 install Flask_Login", True, [("flask-login", None, None, "registry", None)], ""),
    ("RUN pip3 install Flask_Login==0.6.3", False, _PINNED_LOGIN, ""),
    ("RUN pip install Flask_Login~=0.6.3", False, [("flask-login", None, "~=0.6.3", "registry", None)], ""),
    ("RUN pip install Flask_Login===0.6.3", False, _PINNED_LOGIN, ""),
    ("RUN pip install 'requests>=2.31'", False, [("requests", None, ">=2.31", "registry", None)], ""),
    ("RUN pip install 'requests<3'", False, [("requests", None, "<3", "registry", None)], ""),
    ("RUN pip install 'requests!=2.32.0'", False, [("requests", None, "!=2.32.0", "registry", None)], ""),
    # hadolint never looks into a requirements file; envguard reads it, so the verdict is the file's.
    ("RUN pip install -r requirements.txt", False, [("attrs", "24.2.0", None, "registry", None)], ""),
    ("RUN pip install --requirement requirements.txt", False, [("attrs", "24.2.0", None, "registry", None)], ""),
    ("RUN pip install -r unpinned.txt", False, [("attrs", None, None, "registry", None)], "envguard reads the file"),
    ("RUN pip install .", False, [("mytool", None, None, "path", None)], ""),
    # options that take a value, before the requirement
    ("RUN pip install --ignore-installed Flask_Login==0.6.3", False, _PINNED_LOGIN, ""),
    ("RUN pip3 install --build /tmp/build httpie==3.2.3", False, _PINNED_HTTPIE, ""),
    ("RUN pip3 install --prefix /opt/tools httpie==3.2.3", False, _PINNED_HTTPIE, ""),
    ("RUN pip3 install --root /opt/tools httpie==3.2.3", False, _PINNED_HTTPIE, ""),
    ("RUN pip3 install --target /opt/tools httpie==3.2.3", False, _PINNED_HTTPIE, ""),
    ("RUN pip3 install --trusted-host mirror.example.com httpie==3.2.3", False, _PINNED_HTTPIE, ""),
    ("RUN pip install --index-url https://pypi.example.com/simple httpie==3.2.3", False, _PINNED_HTTPIE, ""),
    (
        (
            "RUN pip install --index-url https://pypi.example.com/simple"
            " --extra-index-url https://mirror.example.com/simple httpie==3.2.3"
        ),
        False,
        _PINNED_HTTPIE,
        "",
    ),
    # `python -m pip`
    ("RUN python3 -m pip install black==24.8.0", False, [("black", "24.8.0", None, "registry", None)], ""),
    ("RUN python3 -m pip install black", True, [("black", None, None, "registry", None)], ""),
    (
        "RUN python3 -m pip install --index-url https://pypi.example.com/simple black",
        True,
        [("black", None, None, "registry", None)],
        "",
    ),
    # VCS requirements, local paths and archive URLs
    (
        "RUN pip install git+https://git.example.com/tools/linkcheck.git@v1.2#egg=linkcheck",
        False,
        [("linkcheck", None, None, "vcs", None)],
        "",
    ),
    (
        "RUN pip install git+ssh://git.example.com/tools/linkcheck.git@v1.2#egg=linkcheck",
        False,
        [("linkcheck", None, None, "vcs", None)],
        "",
    ),
    (
        "RUN pip install git+https://git.example.com/tools/linkcheck.git#egg=linkcheck",
        True,
        [("linkcheck", None, None, "vcs", None)],
        "a VCS requirement is no registry pin either way; the requirement text keeps the ref",
    ),
    ("RUN pip install tools/linkcheck", False, [], ""),  # no such directory: a warning
    # an archive URL without a name: a warning
    ("RUN pip install https://files.example.com/linkcheck.zip", False, [], ""),
    # options after the requirement
    ("RUN pip install Flask_Login==0.6.3 --user", False, _PINNED_LOGIN, ""),
    ("RUN pip install Flask_Login==0.6.3 --disable-pip-version-check", False, _PINNED_LOGIN, ""),
    ("RUN pip install Flask_Login==0.6.3 --no-cache-dir", False, _PINNED_LOGIN, ""),
    # constraints files that are URLs
    (
        "RUN pip install sentry-sdk --constraint https://files.example.com/constraints.txt",
        False,
        [("sentry-sdk", None, None, "registry", "--constraint https://files.example.com/constraints.txt (not read)")],
        "",
    ),
    (
        "RUN pip install sentry-sdk -c https://files.example.com/constraints.txt",
        False,
        [("sentry-sdk", None, None, "registry", "--constraint https://files.example.com/constraints.txt (not read)")],
        "",
    ),
    # other installers
    ("RUN pipenv install flask", False, [], ""),
    ("RUN pipx install ruff", True, [], "pipx installs an application in a virtualenv of its own, not in the image's"),
    ('RUN pipx install --python "$(which python3)" "ruff==0.6.9"', False, [], ""),
    (
        "RUN pip install --no-cache-dir --root-user-action ignore poetry==1.8.3",
        False,
        [("poetry", "1.8.3", None, "registry", None)],
        "",
    ),
    ("RUN pip install --root-user-action=ignore mytool", True, [("mytool", None, None, "registry", None)], ""),
    ("ONBUILD RUN pip2 install Flask_Login", True, [], "an ONBUILD RUN installs in the images built FROM this one"),
    # file names that name no project
    (
        "RUN pip3 install mytool.whl",
        False,
        "invalid wheel file name 'mytool.whl'",
        "pip refuses the name too; envguard names the line instead of guessing",
    ),
    (
        "RUN pip3 install mytool.tar.gz",
        False,
        "cannot tell the project name of 'mytool.tar.gz'",
        "envguard needs `mytool @ ./mytool.tar.gz` to name the project",
    ),
]


@pytest.mark.parametrize("line, reported, reading, difference", _DL3013, ids=[row[0] for row in _DL3013])
def test_hadolint_dl3013_verdicts(
    tmp_path: Path,
    line: str,
    reported: bool,
    reading: _Reading | str,
    difference: str,
) -> None:
    files = {
        "requirements.txt": "attrs==24.2.0\n",
        "unpinned.txt": "attrs\n",
        "pyproject.toml": '[project]\nname = "mytool"\nversion = "1"\n',
    }
    text = f"FROM python:3.12\nCOPY . .\n{line}\n"
    if isinstance(reading, str):
        with pytest.raises(SourceError, match=reading):
            read(tmp_path, text, **files)
        return
    loaded = read(tmp_path, text, **files)
    assert [(d.name, d.version, d.specifier, d.kind.value, d.pinned_by) for d in loaded.declarations] == reading
    assert (unpinned(loaded.declarations) == reported) is not bool(difference)


def unpinned(declarations: tuple[Declaration, ...]) -> bool:
    return any(
        d.kind is Kind.REGISTRY and d.version is None and d.specifier is None and d.pinned_by is None
        for d in declarations
    )


# ----------------------------------------------------------------------------- what Docker refuses


@pytest.mark.parametrize(
    "text, line, message",
    [
        ("", None, "no instructions"),
        ("# only a comment\n\n", None, "no instructions"),
        ("# escape=x\nFROM a\n", 1, "invalid escape token 'x'"),
        ("# escape=`\n# escape=\\\nFROM a\n", 2, "only one escape parser directive can be used"),
        ("FROM a\nRUN <<EOF\npip install x\n", 2, "unterminated heredoc: no line 'EOF' ends it"),
        ("FROM a\nRUN <<-EOF\n  EOF\n", 2, "unterminated heredoc"),
        ('FROM a\nRUN ["pip", 1]\n', 2, "arrays must be comprised of strings only"),
        ("FROM a\nRUN\n", 2, "RUN has no command"),
        ("FROM a\nRUN --mount=type=cache,target=/c\n", 2, "RUN has no command"),
        ("FROM a\nRUN []\n", 2, "RUN has no command"),
        ("FROM a b\n", 1, "FROM requires either one or three arguments"),
        ("FROM a AS 1x\n", 1, "invalid name for build stage"),
        ("RUN pip install x\nFROM a\n", 1, "RUN before the first FROM"),
        ("FROM a\nENV\n", 2, "ENV requires at least one argument"),
        ("FROM a\nENV x\n", 2, "ENV must have two arguments"),
        ("FROM a\nENV a=1 b\n", 2, "can't find = in 'b'"),
        ("FROM a\nENV =1\n", 2, "ENV names can not be blank"),
        ("FROM a\nARG\n", 2, "ARG requires at least one argument"),
        ("FROM a\nENV A='open\n", 2, "matching single-quote"),
        ("FROM a\nWORKDIR ${X\n", 2, "missing '}'"),
        ("FROM a\nCOPY x\n", 2, "COPY requires at least two arguments"),
        ("FROM a\nSHELL /bin/bash -c\n", 2, "SHELL needs a JSON array"),
    ],
)
def test_what_docker_refuses_is_a_source_error(tmp_path: Path, text: str, line: int | None, message: str) -> None:
    with pytest.raises(SourceError, match=message) as caught:
        read(tmp_path, text)
    assert caught.value.line == line


def test_what_docker_accepts_or_envguard_cannot_follow_is_a_warning(tmp_path: Path) -> None:
    text = "# syntax=example.com/custom-frontend:1\nFROM a\nFORM b\nONBUILD RUN pip install x\nRUN pip install y==1\n"
    loaded = read(tmp_path, text)
    assert summary(loaded) == [("1", "Dockerfile", 5, "y", "1", None, None)]
    assert warnings(loaded) == [
        (
            1,
            "# syntax=example.com/custom-frontend:1 names a frontend other than docker/dockerfile; read as a standard Dockerfile",
        ),
        (3, "unknown instruction 'FORM': Docker refuses it; not read"),
    ]


def test_standard_frontends_are_not_reported(tmp_path: Path) -> None:
    for syntax in (
        "docker/dockerfile:1",
        "docker.io/docker/dockerfile:1.7",
        "docker/dockerfile-upstream:master",
        "dockerfile",
    ):
        assert read(tmp_path, f"# syntax={syntax}\nFROM a\n").warnings == ()


def test_copy_from_a_stage_index_and_with_parents(tmp_path: Path) -> None:
    text = (
        "FROM python:3.12\n"
        "COPY --parents requirements/test.txt /src/\n"
        "RUN pip install -r /src/requirements/test.txt\n"
        "FROM python:3.12\n"
        "COPY --from=0 /src/requirements/test.txt /again.txt\n"
        "RUN pip install -r /again.txt\n"
    )
    loaded = read(tmp_path, text, **{"requirements__test.txt": "pytest==8.3.2\n"})
    assert [(stage, path) for stage, path, *_ in summary(loaded)] == [
        ("1", "requirements/test.txt"),
        ("2", "requirements/test.txt"),
    ]
