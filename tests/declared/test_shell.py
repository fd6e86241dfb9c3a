"""envguard.declared.shell: commands, words and lines as a POSIX shell would split them."""

from __future__ import annotations

import shlex

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envguard.declared.shell import Command, commands


def texts(found: list[Command]) -> list[list[str]]:
    return [[word.text for word in command.words] for command in found]


def test_operators_split_commands_and_keep_lines() -> None:
    found = commands("echo a; echo b && pip install x || true\nls | wc -l &\n", first_line=7)
    assert texts(found) == [["echo", "a"], ["echo", "b"], ["pip", "install", "x"], ["true"], ["ls"], ["wc", "-l"]]
    assert [command.words[0].line for command in found] == [7, 7, 7, 7, 8, 8]


def test_continuations_keep_each_words_own_line() -> None:
    (command,) = commands('pip install \\\n  "pytest==8.3.2" \\\n  pytest-cov\n', first_line=3)
    assert [(w.text, w.line) for w in command.words] == [("pip", 3), ("install", 3), ("pytest==8.3.2", 4), ("pytest-cov", 5)]


def test_quotes_and_escapes() -> None:
    (command,) = commands("""pip install 'a>=1; python_version < "3.12"' "b[x]==2" c\\ d e'f'"g" """)
    assert texts([command]) == [["pip", "install", 'a>=1; python_version < "3.12"', "b[x]==2", "c d", "efg"]]


def test_comments_end_at_the_line_but_not_inside_words() -> None:
    found = commands("pip install a # b c\npip install d#e\n")
    assert texts(found) == [["pip", "install", "a"], ["pip", "install", "d#e"]]


def test_heredoc_bodies_are_not_commands() -> None:
    script = "cat <<EOF > req.txt\npip install inside\nEOF\ncat <<-'END'\n\tpip install tabbed\n\tEND\npip install after\n"
    found = commands(script, first_line=1)
    assert texts(found) == [["cat"], ["cat"], ["pip", "install", "after"]]
    assert found[-1].words[0].line == 7


def test_redirections_are_dropped_with_their_targets() -> None:
    # Unquoted `>=` is a redirection in a shell: pip then installs pytest-cov unpinned.
    (command,) = commands("pip install pytest-cov>=5 2>&1 >log <in")
    assert texts([command]) == [["pip", "install", "pytest-cov"]]


def test_cd_moves_later_commands_until_the_subshell_ends() -> None:
    found = commands("cd services/billing && pip install a\n(cd ../orders; pip install b)\npip install c\ncd ..\npip install d")
    assert [(c.words[-1].text, c.cwd) for c in found] == [
        ("a", "services/billing"),
        ("b", "services/orders"),
        ("c", "services/billing"),
        ("d", "services"),
    ]


def test_cd_to_something_unknown_makes_the_directory_unknown() -> None:
    found = commands("cd $HOME_DIR\npip install a\ncd /app\npip install b\npushd sub\npip install c\npopd\npip install d")
    assert [c.cwd for c in found] == [None, "/app", "/app/sub", "/app"]


def test_variables_expand_when_set_statically() -> None:
    found = commands("export V=8.3.2 C=c.txt\nPIP_CONSTRAINT=$C pip install pytest==$V\npip install x==${V}", env={"A": "1"})
    assert texts(found) == [["pip", "install", "pytest==8.3.2"], ["pip", "install", "x==8.3.2"]]
    assert found[0].env["PIP_CONSTRAINT"] == "c.txt"
    assert "PIP_CONSTRAINT" not in found[1].env  # a command's own assignment lasts for that command only
    assert found[1].env["A"] == "1"


def test_unknown_expansions_are_dynamic() -> None:
    found = commands('V=$(cat version)\npip install "foo==$V" `cat reqs` ${{ matrix.x }} ${UNSET:-1.0} plain')
    (command,) = found
    dynamic = {word.text: word.dynamic for word in command.words}
    assert dynamic == {
        "pip": False,
        "install": False,
        "foo==${V}": True,
        "`cat reqs`": True,
        "${{ matrix.x }}": True,
        "${UNSET:-1.0}": True,
        "plain": False,
    }
    assert "V" in command.unknown


def test_for_loop_variables_are_unknown() -> None:
    (command,) = commands("for p in a b; do pip install $p; done")
    assert texts([command]) == [["pip", "install", "${p}"]] and command.words[2].dynamic


def test_prefix_commands_are_skipped() -> None:
    found = commands("sudo -E -u ci env A=1 B=2 nice -n 5 timeout 60 python3 -m pip install x")
    assert texts(found) == [["python3", "-m", "pip", "install", "x"]]
    assert found[0].env["B"] == "2"


def test_sh_c_scripts_are_read() -> None:
    found = commands("bash -c 'cd sub && pip install a'\nsh -c \"$SCRIPT\"")
    assert texts(found) == [["pip", "install", "a"]]
    assert found[0].cwd == "sub"


def test_keywords_of_compound_commands_are_not_commands() -> None:
    found = commands("if [ -f x ]; then pip install a; else pip install b; fi\nwhile true; do pip install c; done")
    assert texts(found) == [["[", "-f", "x", "]"], ["pip", "install", "a"], ["pip", "install", "b"], ["true"], ["pip", "install", "c"]]


# Words of printable text without shell syntax: shlex.quote makes a word of each, which must come back.
_WORD = st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=12)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(_WORD, min_size=1, max_size=6))
def test_quoted_words_come_back_as_written(words: list[str]) -> None:
    script = "pip install " + " ".join(shlex.quote(word) for word in words)
    (command,) = commands(script)
    assert [word.text for word in command.words[2:]] == words
    assert not any(word.dynamic for word in command.words)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(max_size=200))
def test_any_text_splits_without_an_exception(text: str) -> None:
    for command in commands(text):
        assert command.words


@pytest.mark.parametrize("script", ["(" * 5000 + "pip install x", "$(" * 3000, "'" * 10001, "\\" * 9999])
def test_hostile_scripts_end_quickly(script: str) -> None:
    commands(script)


def test_a_word_of_many_equals_signs_is_read_in_linear_time() -> None:
    # Found by tests/hardening/test_declared_properties.py: each "=" joined the word so far.
    import time

    start = time.perf_counter()
    (command,) = commands("pip install " + "a=" * 100_000)
    assert time.perf_counter() - start < 1.0
    assert [word.text for word in command.words[:2]] == ["pip", "install"]
