"""Property-based tests for the policy loader: a Policy or one clean PolicyError, in bounded time and memory.

YAML is where a small file can cost a lot: alias expansion ("billion laughs"), deep nesting,
keys that are not strings, several documents, tags. Every generated variant of those must be
refused with a one-line `path:line: message` error, quickly and without building anything large;
arbitrary bytes, generated documents and mutations of the shipped policy must also end in a
Policy or a PolicyError and nothing else.
"""

from __future__ import annotations

import json
import os
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from envguard.policy import MAX_BYTES, MAX_DEPTH, MAX_EXTENDS, Policy, PolicyError, load_policy
from tests.hardening import ROOT, assert_one_line, fuzz_settings, time_limit
from tests.hardening.test_loaders_properties import mutations, mutate

SHIPPED = (ROOT / "policies" / "default.yaml").read_bytes()
# Every key of the schema, with values of the right shape.
FULL = b"""\
version: 1
pytest:
  allowed: ">=8.0,<9"
plugins:
  unknown: error
  approved:
    Pytest_Cov: ">=5,<6"
    hypothesis: "*"
  denied:
    pytest-randomly: "reorders tests"
  also_plugins: [Acme.TestKit]
exceptions:
  - package: pytest-randomly
    services: [orders]
    rule: denied-package
    reason: "migrating off it"
    expires: 2027-01-31
    owner: team-orders
drift:
  default: same-major
  rules:
    - packages: ["pytest", "pytest_*"]
      require: exact
    - packages: ["django"]
      require: { pinned: ">=4.2,<4.3" }
    - packages: ["numpy"]
      require: { snap-to: ml-core }
    - packages: ["*", "!Zope.Interface"]
      services: ["legacy/*"]
      groups: [Dev, "extra:Foo_Bar"]
      require: none
"""

# Refusals must be fast: a few milliseconds each here; the bound leaves room for slow CI.
FAST = 1.0
# Any input up to the 1 MiB size limit is read in about a second by the pure-Python parser.
BOUNDED = 8.0


def check(path: Path, shown: str = "policy.yaml", limit: float = BOUNDED) -> Policy | PolicyError:
    with time_limit(limit):
        try:
            policy = load_policy(path, shown=shown)
        except PolicyError as exc:
            assert_one_line(exc)
            return exc
    assert isinstance(policy, Policy)
    return policy


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("policy") / "policy.yaml"


def write(place: Path, data: bytes | str) -> Path:
    place.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return place


def refused(place: Path, data: bytes | str, *, memory_mb: float | None = None) -> str:
    """The PolicyError for `data`, which must come within FAST seconds (and under `memory_mb`)."""
    path = write(place, data)
    if memory_mb is not None:
        tracemalloc.start()
    start = time.perf_counter()
    try:
        outcome = check(path, limit=FAST * (4 if memory_mb is not None else 1))
    finally:
        if memory_mb is not None:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    if memory_mb is None:
        assert time.perf_counter() - start < FAST
    else:
        assert peak < memory_mb * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
    assert isinstance(outcome, PolicyError), f"accepted: {data[:200]!r}"
    return str(outcome)


# --------------------------------------------------------------------------- arbitrary input


@fuzz_settings(max_examples=150)
@given(data=st.binary(max_size=1000) | st.text(max_size=300).map(lambda t: "version: 1\n" + t))
def test_arbitrary_input(place: Path, data: bytes | str) -> None:
    check(write(place, data))


yaml_keys = st.sampled_from(
    ("version", "extends", "pytest", "allowed", "plugins", "unknown", "approved", "denied", "also_plugins",
     "exceptions", "package", "services", "rule", "reason", "expires", "owner", "drift", "default", "rules",
     "packages", "groups", "require", "pinned", "snap-to", "pytest-cov", "Pytest_Cov", "*", "!x", "")
)
yaml_scalars = st.one_of(
    st.sampled_from(
        ("*", ">=5,<6", "5", "error", "warning", "ignore", "exact", "same-minor", "none", "denied-package",
         "2027-01-31", "2027-02-30", "pytest-cov", "!legacy/*", "extra:Foo", ".", "../x.yaml", "/etc/hostname",
         "https://x/p.yaml", "", " ", "\n", "a\nb")
    ),
    st.text(max_size=8),
    st.integers(),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=True),
    st.dates(),
)
yaml_values = st.recursive(
    yaml_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(yaml_keys, inner, max_size=5),
    max_leaves=20,
)
documents = st.fixed_dictionaries(
    {"version": st.just(1) | yaml_scalars},
    optional={
        "pytest": st.fixed_dictionaries({}, optional={"allowed": yaml_scalars}) | yaml_values,
        "plugins": st.fixed_dictionaries(
            {},
            optional={
                "unknown": yaml_scalars,
                "approved": st.dictionaries(yaml_keys | st.text(max_size=6), yaml_scalars, max_size=4) | yaml_values,
                "denied": st.dictionaries(yaml_keys | st.text(max_size=6), yaml_scalars, max_size=4) | yaml_values,
                "also_plugins": st.lists(yaml_scalars, max_size=3) | yaml_values,
            },
        )
        | yaml_values,
        "exceptions": st.lists(st.dictionaries(yaml_keys, yaml_values, max_size=6), max_size=3) | yaml_values,
        "drift": st.fixed_dictionaries(
            {},
            optional={
                "default": yaml_scalars,
                "rules": st.lists(st.dictionaries(yaml_keys, yaml_values, max_size=5), max_size=3) | yaml_values,
            },
        )
        | yaml_values,
        "extends": yaml_scalars,
        "other": yaml_values,
    },
)


@fuzz_settings(max_examples=100)
@given(document=documents, flow=st.booleans())
def test_generated_documents(place: Path, document: dict[str, Any], flow: bool) -> None:
    check(write(place, yaml.safe_dump(document, default_flow_style=flow, allow_unicode=True)))


@fuzz_settings(max_examples=80)
@given(seed=st.sampled_from((SHIPPED, FULL)), changes=st.lists(mutations, min_size=1, max_size=3))
def test_mutated_real_policies(place: Path, seed: bytes, changes: list[tuple[Any, ...]]) -> None:
    data = seed
    for change in changes:
        data = mutate(data, change)
    check(write(place, data[: MAX_BYTES + 10]))


def test_the_real_policies_load(place: Path) -> None:
    assert isinstance(check(write(place, SHIPPED)), Policy)
    assert isinstance(check(write(place, FULL)), Policy)


# --------------------------------------------------------------------------- alias bombs


@st.composite
def alias_bombs(draw: st.DrawFn) -> str:
    """Billion-laughs variants: levels of anchors, each aliasing the one before `width` times."""
    depth = draw(st.integers(2, 12))
    width = draw(st.integers(2, 12))
    style = draw(st.sampled_from(("flow-seq", "flow-map", "block-seq", "merge", "key", "scalar")))
    where = draw(st.sampled_from(("top", "approved", "exceptions", "rules")))
    lines = ["version: 1"]
    lines.append('a0: &a0 ["lol", "lol"]' if style != "scalar" else "a0: &a0 lol")
    for level in range(1, depth):
        refs = [f"*a{level - 1}"] * width
        if style in ("flow-seq", "scalar"):
            body = "[" + ", ".join(refs) + "]"
        elif style == "flow-map":
            body = "{" + ", ".join(f"k{i}: {ref}" for i, ref in enumerate(refs)) + "}"
        elif style == "merge":
            body = "{<<: [" + ", ".join(refs) + "]}"
        elif style == "key":
            body = "{" + ", ".join(f"? {ref} : {i}" for i, ref in enumerate(refs)) + "}"
        else:
            body = "\n" + "\n".join(f"  - {ref}" for ref in refs)
        lines.append(f"a{level}: &a{level} {body}")
    last = f"*a{depth - 1}"
    if where == "approved":
        lines.append(f"plugins:\n  approved:\n    pytest-cov: {last}")
    elif where == "exceptions":
        lines.append(f"exceptions:\n  - package: x\n    reason: {last}\n    expires: 2030-01-01")
    elif where == "rules":
        lines.append(f"drift:\n  rules:\n    - packages: {last}\n      require: exact")
    return "\n".join(lines) + "\n"


@fuzz_settings(max_examples=60)
@given(text=alias_bombs())
def test_alias_bombs_are_refused_fast(place: Path, text: str) -> None:
    message = refused(place, text)
    assert "YAML aliases (*a0) are not allowed in a policy" in message


def test_alias_bomb_memory_stays_small(place: Path) -> None:
    lines = ["version: 1", 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 30)]
    message = refused(place, "\n".join(lines) + "\n", memory_mb=5)
    assert message == "policy.yaml:3: YAML aliases (*a0) are not allowed in a policy; write the value out"


@pytest.mark.parametrize(
    "text",
    [
        "version: 1\n*a : x\n",  # an alias as the first key, before any anchor
        "version: 1\nx: &a [1]\n? *a\n: y\n",
        "version: 1\nplugins: &p\n  unknown: error\ndrift: *p\n",
        "version: 1\nx: &a\n  <<: *a\n",  # a merge key on its own anchor
        "version: 1\nx: !!python/object/apply:os.system [*a]\n",
    ],
)
def test_every_alias_form_is_refused(place: Path, text: str) -> None:
    refused(place, text)


# --------------------------------------------------------------------------- deep nesting


@st.composite
def deep_documents(draw: st.DrawFn) -> str:
    depth = draw(st.integers(MAX_DEPTH + 1, 30_000))
    form = draw(st.sampled_from(("flow-seq", "flow-map", "block-map", "block-seq", "mixed", "unclosed")))
    prefix = draw(st.sampled_from(("version: 1\nx: ", "version: 1\nplugins:\n  approved: ", "")))
    if form == "flow-seq":
        return prefix + "[" * depth + "]" * depth + "\n"
    if form == "flow-map":
        return prefix + "{a: " * depth + "1" + "}" * depth + "\n"
    if form == "unclosed":
        return prefix + "[{a: " * (depth // 2) + "\n"
    if form == "mixed":
        return prefix + "[{a: " * (depth // 2) + "1" + "}]" * (depth // 2) + "\n"
    depth = min(depth, 1400)  # block nesting costs a line each, indented: stay under the 1 MiB limit
    if form == "block-map":
        return "version: 1\n" + "".join(" " * i + f"k{i}:\n" for i in range(depth))
    return "version: 1\nx:\n" + "".join(" " * (i + 1) + "-\n" for i in range(depth))


@fuzz_settings(max_examples=25)
@given(text=deep_documents())
def test_deep_nesting_is_refused_fast(place: Path, text: str) -> None:
    message = refused(place, text)
    assert message.endswith(f"nested deeper than {MAX_DEPTH} levels") or "invalid YAML" in message


def test_deep_nesting_memory_stays_small(place: Path) -> None:
    message = refused(place, "version: 1\nx: " + "[" * 50_000 + "]" * 50_000 + "\n", memory_mb=20)
    assert message == f"policy.yaml:2: nested deeper than {MAX_DEPTH} levels"


# --------------------------------------------------------------------------- keys that are not strings

NON_STRING_KEYS = (
    ("1", "an integer"),
    ("1.5", "a number"),
    ("true", "a boolean"),
    ("null", "null"),
    ("~", "null"),
    ("2024-01-01", "a date"),
    ("[a, b]", "a list"),
    ("{a: b}", "a mapping"),
    ("!!binary aGk=", "a value tagged tag:yaml.org,2002:binary"),
    ("!!python/name:os.system ''", "a value tagged tag:yaml.org,2002:python/name:os.system"),
    ("!custom x", "a value tagged !custom"),
)
# Where a key can go in a policy that is otherwise valid.
KEY_PLACES = (
    "version: 1\n{key}: x\n",
    "version: 1\npytest:\n  {key}: x\n",
    "version: 1\nplugins:\n  approved:\n    {key}: '*'\n",
    "version: 1\nplugins:\n  denied:\n    {key}: why\n",
    "version: 1\nexceptions:\n  - package: a\n    reason: r\n    expires: 2030-01-01\n    {key}: x\n",
    "version: 1\ndrift:\n  rules:\n    - packages: [a]\n      require:\n        {key}: x\n",
)


@fuzz_settings(max_examples=60)
@given(key=st.sampled_from(NON_STRING_KEYS), place_text=st.sampled_from(KEY_PLACES), explicit=st.booleans())
def test_non_string_keys_are_refused(place: Path, key: tuple[str, str], place_text: str, explicit: bool) -> None:
    written, described = key
    if explicit:  # `? key` on its own line, then `: value` at the same indentation
        indent = place_text.split("{key}")[0].rsplit("\n", 1)[1]
        text = place_text.replace("{key}: ", f"? {written}\n{indent}: ")
    else:
        text = place_text.format(key=written)
    message = refused(place, text)
    assert message.endswith(f"keys must be strings, got {described}"), message


# --------------------------------------------------------------------------- not YAML, or not one document

NOT_POLICIES = {
    "toml": b'[tool.envguard]\nversion = 1\n[plugins.approved]\n"pytest-cov" = ">=5"\n',
    "ini": b"[pytest]\naddopts = -ra\nversion=1\n",
    "html": b"<!doctype html>\n<html><body><p>version: 1</p></body></html>\n",
    "python": b"import os\nos.system('echo hi')\nversion = 1\n",
    "shell": b"#!/bin/sh\nset -e\necho version: 1 | tee x\n",
    "png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
    "gzip": b"\x1f\x8b\x08\x00" + bytes(200),
    "utf16": "version: 1\n".encode("utf-16"),
    "utf32": "version: 1\n".encode("utf-32"),
    "latin1": "version: 1\nplugins:\n  denied:\n    a: caf\xe9\n".encode("latin-1"),
    "json-array": b'["version", 1]',
    "scalar": b"version 1\n",
    "two-documents": b"version: 1\n---\nversion: 1\n",
    "stream-of-nothing": b"---\n...\n---\n",
    "only-comments": b"# version: 1\n",
    "empty": b"",
    "bom-only": b"\xef\xbb\xbf",
    "directive-only": b"%YAML 1.1\n---\n",
    "control-chars": b"version: 1\nx: \x07\x1b[31mred\n",
    "nul": b"version: 1\x00\n",
    "lone-surrogate": b"version: 1\nx: \xed\xa0\x80\n",
    "tab-indent": b"version: 1\nplugins:\n\tunknown: error\n",
    "huge-int-version": b"version: " + b"1" * 5000 + b"\n",
    "float-version": b"version: 1.0\n",
    "bool-version": b"version: true\n",
    "tagged-version": b"version: !!str 1\n",
    "python-tag": b"version: 1\nplugins: !!python/object/apply:os.system ['echo hi']\n",
    "set": b"version: 1\nplugins: !!set {a, b}\n",
    "omap": b"version: 1\nplugins: !!omap [a: 1]\n",
    "long-key": b"version: 1\n" + b"k" * 100_000 + b": 1\n",
}


@pytest.mark.parametrize("name", sorted(NOT_POLICIES))
def test_not_a_policy_is_refused_clearly(place: Path, name: str) -> None:
    refused(place, NOT_POLICIES[name])


def test_json_is_yaml_and_a_policy(place: Path) -> None:
    """JSON is valid YAML: a JSON policy is read like any other."""
    policy = check(write(place, json.dumps({"version": 1, "plugins": {"unknown": "error"}})))
    assert isinstance(policy, Policy) and policy.unknown == "error"


@pytest.mark.parametrize(
    "text",
    [
        "version: 1\n" + "# padding\n" * 100_000,  # comments right up to the size limit
        "version: 1\n" + "\n" * (MAX_BYTES - 12),
        "version: 1\nx: " + "a" * (MAX_BYTES - 20),
        "version: 1\n" + "".join(f"k{i}: v\n" for i in range(90_000)),  # stopped by the value count
        "version: 1\nplugins:\n  approved:\n" + "".join(f"    p{i}: '*'\n" for i in range(9_000)),
    ],
    ids=["comments", "blank-lines", "long-scalar", "many-keys", "many-plugins"],
)
def test_a_file_at_the_size_limit_is_read_in_bounded_time(place: Path, text: str) -> None:
    start = time.perf_counter()
    check(write(place, text[:MAX_BYTES]))
    assert time.perf_counter() - start < BOUNDED


# --------------------------------------------------------------------------- extends


@pytest.fixture
def chain_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path


def test_a_chain_longer_than_the_limit_is_refused(chain_dir: Path) -> None:
    for index in range(MAX_EXTENDS + 5):
        (chain_dir / f"p{index}.yaml").write_text(f"version: 1\nextends: p{index + 1}.yaml\n", encoding="utf-8")
    (chain_dir / f"p{MAX_EXTENDS + 5}.yaml").write_text("version: 1\n", encoding="utf-8")
    outcome = check(chain_dir / "p0.yaml", shown="p0.yaml", limit=FAST * 5)
    assert isinstance(outcome, PolicyError)
    assert str(outcome).endswith(f"extends: extends chain longer than {MAX_EXTENDS} files")


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ('"a\\0b"', "extends: not a valid path: 'a\\x00b'"),
        ('"' + "a" * 5000 + '"', "extends: base policy not found: " + "a" * 5000),
        ("policy.yaml", "extends: extends cycle: policy.yaml -> policy.yaml"),
        ("./sub/../policy.yaml", "extends: extends cycle: policy.yaml -> policy.yaml"),
        (".", "extends: must name a policy file, not a directory: ."),
        ("/dev/null", "extends: must name a regular file, not a pipe or device: /dev/null"),
        ("/dev/zero", "extends: must name a regular file, not a pipe or device: /dev/zero"),
        ("fifo.yaml", "extends: must name a regular file, not a pipe or device: fifo.yaml"),
    ],
)
def test_extends_to_a_path_that_cannot_be_a_policy(chain_dir: Path, target: str, message: str) -> None:
    if target == "fifo.yaml":
        if not hasattr(os, "mkfifo"):
            pytest.skip("no named pipes here")
        os.mkfifo(chain_dir / "fifo.yaml")  # opening it to read would block forever
    elif target.startswith("/dev/") and not Path(target).exists():
        pytest.skip(f"no {target} here")
    (chain_dir / "sub").mkdir()
    (chain_dir / "policy.yaml").write_text(f"version: 1\nextends: {target}\n", encoding="utf-8")
    outcome = check(chain_dir / "policy.yaml", limit=FAST * 5)
    assert isinstance(outcome, PolicyError)
    assert str(outcome) == f"policy.yaml:2: {message}"
