"""envguard.declared._yaml: YAML data that knows the file and line of every value."""

from __future__ import annotations

import functools
import textwrap

import pytest

from envguard.declared import _yaml
from envguard.declared.shell import commands
from envguard.errors import SourceError


@pytest.fixture(params=["libyaml", "python"])
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both of PyYAML's parsers: the C one when installed, and the pure-Python fallback."""
    import yaml

    if request.param == "libyaml":
        if not getattr(yaml, "__with_libyaml__", False):
            pytest.skip("PyYAML without libyaml")
        return "libyaml"
    monkeypatch.setattr(_yaml, "_parser", functools.cache(lambda: (yaml.SafeLoader, yaml)))
    return "python"


def load(text: str) -> _yaml.Map:
    node = _yaml.load(textwrap.dedent(text).lstrip("\n"), "ci.yml")
    assert isinstance(node, _yaml.Map)
    return node


def scalar(node: _yaml.Node | None) -> _yaml.Scalar:
    assert isinstance(node, _yaml.Scalar)
    return node


def test_values_know_their_lines_and_keys_stay_as_written(parser: str) -> None:
    top = load(
        """
        on: push
        jobs:
          test:
            steps:
              - run: echo
        3.10: x
        """
    )
    assert list(top.entries) == ["on", "jobs", "3.10"]  # `on` is no boolean, `3.10` no number
    jobs = top.get("jobs")
    assert isinstance(jobs, _yaml.Map)
    assert (top.key_line("jobs"), jobs.line) == (2, 3)
    steps = jobs.get("test")
    assert isinstance(steps, _yaml.Map)
    step_list = steps.get("steps")
    assert isinstance(step_list, _yaml.Seq) and step_list.line == 5
    assert scalar(top.get("3.10")).path == "ci.yml"


def test_scalars_keep_text_style_and_resolved_tag(parser: str) -> None:
    top = load(
        """
        a: 3.10
        b: "3.10"
        c: yes
        d:
        e: !reference [.job, script]
        """
    )
    a, b, c, d = (scalar(top.get(key)) for key in "abcd")
    assert (a.value, a.tag, a.plain) == ("3.10", "tag:yaml.org,2002:float", True)
    assert (b.value, b.tag, b.style) == ("3.10", _yaml.STR_TAG, '"')
    assert c.tag == "tag:yaml.org,2002:bool"  # YAML 1.1's reading; readers decide what it means
    assert (d.value, d.tag) == ("", _yaml.NULL_TAG)
    reference = top.get("e")
    assert isinstance(reference, _yaml.Seq) and reference.tag == "!reference"
    assert _yaml.describe(a) == "a number" and _yaml.describe(reference) == "a list"


def test_aliases_are_the_anchored_node_and_merge_keys_follow_the_spec(parser: str) -> None:
    top = load(
        """
        .a: &a {x: 1, y: 1}
        .b: &b {y: 2, z: 2}
        one: {<<: *a, x: own}
        list: {<<: [*a, *b]}
        two:
          <<: *a
          <<: *b
        same: *a
        """
    )
    assert top.get("same") is top.get(".a")
    one, merged, two = (top.get(key) for key in ("one", "list", "two"))
    assert isinstance(one, _yaml.Map) and isinstance(merged, _yaml.Map) and isinstance(two, _yaml.Map)
    assert {k: scalar(v).value for k, v in one.items()} == {"x": "own", "y": "1"}  # the mapping's own key wins
    assert {k: scalar(v).value for k, v in merged.items()} == {"x": "1", "y": "1", "z": "2"}  # earlier wins
    assert {k: scalar(v).value for k, v in two.items()} == {"x": "1", "y": "2", "z": "2"}  # later `<<` wins
    # A merged value is the one written under the anchor, with that line.
    assert scalar(one.get("y")).line == 1


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("a: [1, 2\n", 2, "invalid YAML: "),
        ("a: b: c\n", 1, "invalid YAML: mapping values are not allowed"),
        ("a: *nowhere\n", 1, "invalid YAML: alias *nowhere names no anchor before it"),
        ("a: &x [*x]\n", 1, "invalid YAML: alias *x refers to a value that contains it"),
        ("? [1]\n: 2\n", 1, "a mapping key must be a string, not a list"),
        ("a: {<<: 1}\n", 1, "a merge key (<<) takes a mapping or a list of mappings, not an integer"),
        ("a: 1\n---\nb: 2\n", 2, "a second YAML document; this file holds one"),
        ("a: \x07\n", 1, "invalid YAML: character U+0007 is not allowed in YAML"),
    ],
)
def test_malformed_yaml_is_one_line_with_its_line(parser: str, text: str, line: int, message: str) -> None:
    with pytest.raises(SourceError) as caught:
        _yaml.load(text, "ci.yml")
    assert (caught.value.path, caught.value.line) == ("ci.yml", line)
    assert caught.value.message.startswith(message)
    assert "\n" not in str(caught.value)


def test_deep_nesting_is_refused_without_recursion(parser: str) -> None:
    # PyYAML's C composer crashes the interpreter on this; the parser's events do not recurse.
    # (The libyaml that PyYAML 6.0.4 bundles has a depth limit of its own.)
    with pytest.raises(
        SourceError, match=f"nested deeper than {_yaml.MAX_DEPTH} levels|maximum nesting depth"
    ) as caught:
        _yaml.load("[" * 100_000 + "]" * 100_000, "ci.yml")
    assert caught.value.line == 1


def test_alias_expansion_is_capped(parser: str) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 10)]
    with pytest.raises(SourceError) as caught:
        _yaml.load("\n".join(lines), "lol.yml")
    assert caught.value.line == 6  # 10**6 values: the first level past the limit
    assert "aliases expand this file by more than 1000000 values" in caught.value.message


def test_merge_keys_count_towards_the_cap(parser: str) -> None:
    big = "{" + ", ".join(f"k{n}: v" for n in range(1000)) + "}"
    lines = [f"base: &base {big}"] + [f"j{n}: {{<<: *base}}" for n in range(1001)]
    with pytest.raises(SourceError, match="aliases expand this file"):
        _yaml.load("\n".join(lines), "ci.yml")


def test_documents_and_empty_files(parser: str) -> None:
    assert _yaml.load("", "ci.yml") is None
    assert _yaml.load("# only a comment\n", "ci.yml") is None
    header, body = _yaml.load_documents("spec:\n  inputs: {}\n---\njob: {script: x}\n", "ci.yml", 2)
    assert isinstance(header, _yaml.Map) and "spec" in header
    assert isinstance(body, _yaml.Map) and body.line == 4


# ----------------------------------------------------------------------------- lines_kept


def lines_of(text: str, first_line: int) -> list[tuple[str, int]]:
    """(word, line) of every word the shell reader finds in a script."""
    return [(word.text, word.line) for command in commands(text, first_line) for word in command.words]


def test_a_literal_block_starts_on_the_line_after_its_indicator(parser: str) -> None:
    run = scalar(load("run: |  # comment\n  pip install a\n\n  pip install b\n").get("run"))
    assert run.lines_kept() == ("pip install a\n\npip install b\n", 2)


def test_a_folded_block_keeps_each_word_on_its_line(parser: str) -> None:
    text = (
        "run: >-  # python -m pip\n"
        "  python -m\n"
        "  pip install -U build\n"
        "  -r r.in\n"
        "\n"
        "  echo done\n"
        "    indented more\n"
        "  last\n"
    )
    run = scalar(load(text).get("run"))
    assert run.value == "python -m pip install -U build -r r.in\necho done\n  indented more\nlast"
    kept, first = run.lines_kept()
    assert first == 2
    assert lines_of(kept, first) == [
        ("python", 2),
        ("-m", 2),
        ("pip", 3),
        ("install", 3),
        ("-U", 3),
        ("build", 3),
        ("-r", 4),
        ("r.in", 4),
        ("echo", 6),
        ("done", 6),
        ("indented", 7),
        ("more", 7),
        ("last", 8),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("run: pip install a\n  b\n", [("pip", 1), ("install", 1), ("a", 1), ("b", 2)]),
        ('run: "pip install \\\n  a"\n', [("pip", 1), ("install", 1), ("a", 2)]),
        ('run: "pip install \\"a\\"\n  b"\n', [("pip", 1), ("install", 1), ("a", 1), ("b", 2)]),
        ("run: 'pip install a\n\n  b'\n", [("pip", 1), ("install", 1), ("a", 1), ("b", 3)]),
        ("run: pip install a\n", [("pip", 1), ("install", 1), ("a", 1)]),
    ],
    ids=["plain", "double-quoted-escaped-break", "double-quoted-escapes", "single-quoted-blank-line", "one-line"],
)
def test_multi_line_flow_scalars_keep_their_lines(parser: str, text: str, expected: list[tuple[str, int]]) -> None:
    kept, first = scalar(load(text).get("run")).lines_kept()
    assert first == 1
    assert lines_of(kept, first) == expected


def test_columns_count_characters_not_bytes(parser: str) -> None:
    kept, first = scalar(load('name: "📦"\nrun: "📦 pip install a\n  b"\n').get("run")).lines_kept()
    assert lines_of(kept, first) == [("📦", 2), ("pip", 2), ("install", 2), ("a", 2), ("b", 3)]
