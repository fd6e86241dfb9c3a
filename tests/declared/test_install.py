"""envguard.declared.install: what `pip install` and `uv pip install` commands declare."""

from __future__ import annotations

from pathlib import Path

import pytest

from envguard.declared.install import Context, arguments, find_install, requirement_lines, root_of, script
from envguard.declared.shell import Word, commands
from envguard.errors import SourceError
from envguard.model import Declaration, Kind
from tests.kit import write

SHOWN = ".github/workflows/ci.yml"


def context(root: Path, **changes: object) -> Context:
    values: dict[str, object] = {
        "shown": SHOWN,
        "environment": f"{SHOWN} job test, step Install",
        "origin": "github",
        "root": root,
        "attribute": True,
    }
    values.update(changes)
    return Context(**values)  # type: ignore[arg-type]


def summary(declarations: tuple[Declaration, ...]) -> list[tuple[str, int, str, str | None, str | None, str | None]]:
    return [(d.path, d.line, d.name, d.version, d.specifier, d.pinned_by) for d in declarations]


def words(text: str) -> list[Word]:
    (command,) = commands(text)
    return list(command.words)


@pytest.mark.parametrize(
    "text, tool, rest",
    [
        ("pip install a", "pip", ["a"]),
        ("pip3 install a", "pip", ["a"]),
        ("pip3.12 install a", "pip", ["a"]),
        ("/opt/venv/bin/pip install a", "pip", ["a"]),
        ("pip --disable-pip-version-check --timeout 60 install a", "pip", ["a"]),
        ("pip --python .venv/bin/python install a", "pip", ["a"]),
        ("python -m pip install a", "pip", ["a"]),
        ("python3.11 -I -W ignore -m pip install a", "pip", ["a"]),
        ("py -mpip install a", "pip", ["a"]),
        (".venv/bin/python -m pip install a", "pip", ["a"]),
        ("uv pip install a", "uv", ["a"]),
        ("uv --quiet --directory x pip install a", "uv", ["a"]),
        ("python -m uv pip install a", "uv", ["a"]),
        ("poetry run pip install a", "pip", ["a"]),
        ("pdm run python -m pip install a", "pip", ["a"]),
        ("uv run --with x python -m pip install a", "pip", ["a"]),
        ("conda run -n test pip install a", "pip", ["a"]),
    ],
)
def test_install_commands_are_recognised(text: str, tool: str, rest: list[str]) -> None:
    found = find_install(words(text))
    assert found is not None
    assert (found[0], [word.text for word in found[1]]) == (tool, rest)


@pytest.mark.parametrize(
    "text",
    ["pip list", "pip download a", "pip uninstall a", "python -c 'pip install a'", "uv sync", "uv add a", "pipx install a",
     "python script.py install", "echo pip install a"],
)
def test_other_commands_are_not_installs(text: str) -> None:
    assert find_install(words(text)) is None


def test_requirements_on_the_command_line(tmp_path: Path) -> None:
    loaded = script('pip install -U "pytest==8.3.2" pytest-cov>=5 \\\n  "pytest-mock~=3.14" hypothesis===6.1', 4, context(tmp_path))
    assert summary(loaded.declarations) == [
        (SHOWN, 4, "pytest", "8.3.2", None, None),
        (SHOWN, 4, "pytest-cov", None, None, None),  # `>=5` unquoted is a redirection
        (SHOWN, 5, "pytest-mock", None, "~=3.14", None),
        (SHOWN, 5, "hypothesis", "6.1", None, None),
    ]
    first = loaded.declarations[0]
    assert (first.environment, first.origin, first.install, first.directory, first.requirement) == (
        f"{SHOWN} job test, step Install",
        "github",
        True,
        ".",
        "pytest==8.3.2",
    )


def test_requirements_files_are_followed_at_their_own_lines(tmp_path: Path) -> None:
    write(tmp_path / "services/billing/requirements-ci.txt", "pytest==8.3.2\npytest-cov\n-c ../../constraints.txt\n")
    write(tmp_path / "constraints.txt", "pytest-cov==7.1.0\nunused==1\n")
    loaded = script("cd services/billing\npip install -r requirements-ci.txt pytest-xdist", 1, context(tmp_path))
    assert summary(loaded.declarations) == [
        (SHOWN, 2, "pytest-xdist", None, None, None),
        ("services/billing/requirements-ci.txt", 1, "pytest", "8.3.2", None, None),
        ("services/billing/requirements-ci.txt", 2, "pytest-cov", None, None, "a constraint in constraints.txt"),
    ]
    assert {d.directory for d in loaded.declarations} == {"services/billing"}
    assert loaded.included == ("services/billing/requirements-ci.txt", "constraints.txt")


def test_constraints_pin_only_what_they_pin(tmp_path: Path) -> None:
    write(tmp_path / "c.txt", "pytest-cov==7.1.0\npytest-mock>=3\n")
    loaded = script("pip install -c c.txt pytest-cov pytest-mock pytest-xdist", 1, context(tmp_path))
    assert [(d.name, d.pinned_by) for d in loaded.declarations] == [
        ("pytest-cov", "--constraint c.txt"),
        ("pytest-mock", None),  # a range in a constraints file does not pin
        ("pytest-xdist", None),
    ]


def test_constraints_from_the_environment(tmp_path: Path) -> None:
    write(tmp_path / "c.txt", "a==1\n")
    loaded = script("export PIP_CONSTRAINT=c.txt\npip install a b\nUV_CONSTRAINT=c.txt uv pip install a b", 1, context(tmp_path))
    assert [(d.name, d.pinned_by) for d in loaded.declarations] == [
        ("a", "PIP_CONSTRAINT"),
        ("b", None),
        ("a", "UV_CONSTRAINT"),
        ("b", None),
    ]


def test_constraints_that_cannot_be_read_are_taken_to_pin(tmp_path: Path) -> None:
    loaded = script(
        "pip install -c https://example.com/constraints-3.12.txt a\npip install -c $CONSTRAINTS b\n"
        "PIP_CONSTRAINT=$(curl x) pip install c\npip install -c made-by-an-earlier-step.txt d",
        1,
        context(tmp_path),
    )
    assert [(d.name, d.pinned_by) for d in loaded.declarations] == [
        ("a", "--constraint https://example.com/constraints-3.12.txt (not read)"),
        ("b", "--constraint ${CONSTRAINTS} (not read)"),
        ("c", "PIP_CONSTRAINT (set at run time)"),
        ("d", "--constraint made-by-an-earlier-step.txt (not read)"),
    ]


def test_hash_checking_mode_pins(tmp_path: Path) -> None:
    write(tmp_path / "hashed.txt", "a==1 --hash=sha256:" + "0" * 64 + "\n")
    loaded = script("pip install --require-hashes b\npip install -r hashed.txt c\nPIP_REQUIRE_HASHES=1 pip install d", 1, context(tmp_path))
    assert [(d.name, d.pinned_by) for d in loaded.declarations] == [
        ("b", "--require-hashes"),
        ("c", "--hash in hashed.txt"),
        ("a", None),  # pinned by its own ==
        ("d", "PIP_REQUIRE_HASHES"),
    ]


def test_option_spellings(tmp_path: Path) -> None:
    write(tmp_path / "r.txt", "a==1\n")
    write(tmp_path / "c.txt", "b==2\n")
    loaded = script(
        "pip install --requirement r.txt --constr=c.txt -rr.txt -qUc c.txt b\nuv pip install --requirements=r.txt --constraints c.txt -cc.txt b",
        1,
        context(tmp_path),
    )
    assert [(d.name, d.pinned_by) for d in loaded.declarations] == [
        ("b", "--constraint c.txt"),
        ("a", None),
        ("b", "--constraints c.txt"),
        ("a", None),
    ]


def test_uv_takes_no_abbreviations(tmp_path: Path) -> None:
    loaded = script("uv pip install --req r.txt a", 1, context(tmp_path))
    assert [w.message for w in loaded.warnings] == [
        "uv install option '--req' is unknown to envguard; the rest of this command is not checked"
    ]


@pytest.mark.parametrize("option", ["--no-d", "--req"])
def test_ambiguous_pip_abbreviations_are_unknown(tmp_path: Path, option: str) -> None:
    # --no-d is a prefix of --no-deps and of --no-dependencies, --req of --requirement and of
    # --requirements-from-script: optparse refuses both, and so does pip.
    loaded = script(f"pip install a {option} r.txt b", 1, context(tmp_path))
    assert [d.name for d in loaded.declarations] == ["a"]
    assert [w.message.split(";")[0] for w in loaded.warnings] == [f"pip install option {option!r} is unknown to envguard"]


def test_values_of_options_are_not_requirements(tmp_path: Path) -> None:
    loaded = script(
        "pip install --index-url https://pypi.example.com/simple --target /opt/x -t y --prefix p --platform linux_x86_64 a",
        1,
        context(tmp_path),
    )
    assert [d.name for d in loaded.declarations] == ["a"]


def test_dry_run_installs_nothing(tmp_path: Path) -> None:
    assert script("pip install --dry-run --report r.json a", 1, context(tmp_path)).declarations == ()


def test_editables_and_local_projects(tmp_path: Path) -> None:
    write(tmp_path / "lib/pyproject.toml", '[project]\nname = "acme-lib"\n')
    loaded = script("pip install -e ./lib[test] ./lib git+https://example.com/x.git#egg=xpkg", 1, context(tmp_path))
    assert [(d.name, d.kind) for d in loaded.declarations] == [
        ("acme-lib", Kind.EDITABLE),
        ("acme-lib", Kind.PATH),
        ("xpkg", Kind.VCS),
    ]
    assert loaded.included == ("lib/pyproject.toml",)


def test_a_project_envguard_cannot_name_is_a_warning(tmp_path: Path) -> None:
    (tmp_path / "legacy").mkdir()
    loaded = script("pip install -e ./legacy pytest", 3, context(tmp_path))
    assert [d.name for d in loaded.declarations] == ["pytest"]
    assert [str(w) for w in loaded.warnings] == [
        f"{SHOWN}:3: cannot tell the project name of './legacy': no pyproject.toml there (envguard does not run setup.py)"
    ]


def test_an_invalid_requirement_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as raised:
        script("pip install 'pytest==='", 9, context(tmp_path))
    assert str(raised.value).startswith(f"{SHOWN}:9: invalid requirement")


def test_an_option_without_its_value_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as raised:
        script("pip install -r", 2, context(tmp_path))
    assert str(raised.value) == f"{SHOWN}:2: option -r needs a value"


def test_files_outside_the_root_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    write(tmp_path / "outside.txt", "a==1\n")
    root.mkdir()
    with pytest.raises(SourceError) as raised:
        script("pip install -r ../outside.txt", 1, context(root))
    assert "is outside the workspace root; pass --allow-outside-root" in str(raised.value)
    allowed = script("pip install -r ../outside.txt", 1, context(root, allow_outside_root=True))
    assert [d.name for d in allowed.declarations] == ["a"]


def test_what_cannot_be_resolved_is_a_warning_never_a_guess(tmp_path: Path) -> None:
    loaded = script("pip install $EXTRA\ncd $DIR\npip install -r reqs.txt\npip install -r missing.txt", 1, context(tmp_path))
    assert loaded.declarations == ()
    assert [(w.line, w.message.split(";")[0]) for w in loaded.warnings] == [
        (1, "cannot resolve '${EXTRA}' statically (it depends on the environment at run time)"),
        (3, "cannot tell which file 'reqs.txt' is: the command runs in a directory not known statically"),
        (4, "cannot tell which file 'missing.txt' is: the command runs in a directory not known statically"),
    ]
    later = script("pip install -r missing.txt", 1, context(tmp_path))
    assert [w.message for w in later.warnings] == ["requirements file 'missing.txt' is not in the workspace (made at run time?); not checked"]


def test_group_and_extra_options_say_they_are_not_read(tmp_path: Path) -> None:
    loaded = script("pip install --group test\nuv pip install -r pyproject.toml --extra test", 1, context(tmp_path))
    assert [(w.line, w.message.split(" installs")[0]) for w in loaded.warnings] == [
        (1, "--group"),
        (2, "--requirements pyproject.toml"),
        (2, "--extra"),
    ]


def test_arguments_and_requirement_lines(tmp_path: Path) -> None:
    write(tmp_path / "c.txt", "pytest==8.3.2\n")
    nox = arguments([Word("pytest", 7), Word("-c", 8), Word("c.txt", 8)], context(tmp_path, attribute=False))
    assert [(d.name, d.pinned_by, d.directory) for d in nox.declarations] == [("pytest", "--constraint c.txt", None)]
    tox = requirement_lines([("pytest-cov==6.0.0", 3), ("-c c.txt", 4), ("pytest", 5), ("", 6)], context(tmp_path))
    assert [(d.name, d.line, d.pinned_by) for d in tox.declarations] == [("pytest-cov", 3, None), ("pytest", 5, "--constraint c.txt")]


def test_locate_maps_paths_for_containers(tmp_path: Path) -> None:
    write(tmp_path / "docker/requirements/test.txt", "pytest==8.3.2\n")

    def locate(arg: str, cwd: str | None) -> str | None:
        image = arg if arg.startswith("/") else f"/app/{arg}"
        return "docker/requirements/test.txt" if image == "/app/req/test.txt" else ("docker" if arg == "." else None)

    loaded = script("pip install -r req/test.txt -r /elsewhere.txt", 1, context(tmp_path, workdir=None, locate=locate))
    assert [(d.path, d.name) for d in loaded.declarations] == [("docker/requirements/test.txt", "pytest")]
    assert [w.line for w in loaded.warnings] == [1]


def test_root_of() -> None:
    assert root_of(Path("/ws/.github/workflows/ci.yml"), ".github/workflows/ci.yml") == Path("/ws")
    assert root_of(Path("/ws/tox.ini"), "tox.ini") == Path("/ws")
    assert root_of(Path("/elsewhere/tox.ini"), "../elsewhere/tox.ini") == Path("/elsewhere")


@pytest.mark.parametrize(
    ("command", "sources"),
    [
        ("pip install six==1.0", [None]),
        ("pip install -i https://a.example.com/simple/ six==1.0", ["https://a.example.com/simple"]),
        ("pip install --index-url=https://a.example.com/simple six==1.0", ["https://a.example.com/simple"]),
        ("pip install --index https://a.example.com/simple six==1.0", ["https://a.example.com/simple"]),  # a prefix
        (
            "pip install --index-url https://a.example.com/simple --extra-index-url https://b.example.com/simple six==1.0",
            ["https://a.example.com/simple https://b.example.com/simple"],
        ),
        ("pip install --no-index -f ./wheels six==1.0", ["./wheels"]),
        ("PIP_INDEX_URL=https://a.example.com/simple pip install six==1.0", ["https://a.example.com/simple"]),
        ("pip install -i $INDEX six==1.0", [None]),  # known only at run time
        ("uv pip install --default-index https://a.example.com/simple six==1.0", ["https://a.example.com/simple"]),
        ("uv pip install --index https://b.example.com/simple six==1.0", ["https://b.example.com/simple"]),
        # A direct reference keeps its own source whatever the index.
        ("pip install -i https://a.example.com/simple 'w @ git+https://g.example.com/w@v1'", ["git+https://g.example.com/w"]),
        ("pip install -i https://tok@a.example.com/simple six==1.0", ["https://***@a.example.com/simple"]),
    ],
)
def test_where_an_install_takes_its_packages_from(tmp_path: Path, command: str, sources: list[str | None]) -> None:
    loaded = script(command, 1, context(tmp_path))
    assert [d.source for d in loaded.declarations] == sources


def test_a_requirements_file_naming_its_index_keeps_it(tmp_path: Path) -> None:
    write(tmp_path / "req.txt", "--index-url https://file.example.com/simple\nsix==1.0\n")
    write(tmp_path / "plain.txt", "idna==3.10\n")
    loaded = script("pip install -i https://cli.example.com/simple -r req.txt -r plain.txt", 1, context(tmp_path))
    assert {d.name: d.source for d in loaded.declarations} == {
        "six": "https://file.example.com/simple",
        "idna": "https://cli.example.com/simple",
    }
