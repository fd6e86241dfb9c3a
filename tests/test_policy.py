from __future__ import annotations

import contextlib
import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from envguard.errors import EnvguardError
from envguard.model import Waiver
from envguard.policy import (
    RULE_NAMES,
    DriftRule,
    Policy,
    PolicyError,
    builtin_policy,
    load_policy,
    merge,
    selector_matches,
)

REPO = Path(__file__).resolve().parent.parent
DEFAULT = REPO / "policies" / "default.yaml"
SCHEMA = REPO / "policies" / "policy.schema.json"
BUILTIN_COPY = REPO / "envguard" / "data" / "default-policy.yaml"

# The example from the policy documentation, with every key used.
FULL = """\
version: 1
pytest:
  allowed: ">=8.0,<9"
plugins:
  unknown: error
  approved:
    Pytest_Cov: ">=5,<6"
    hypothesis: "*"
  denied:
    pytest-randomly: "reorders tests; use pytest-random-order"
  also_plugins: [Acme.TestKit]
exceptions:
  - package: pytest-randomly
    services: [orders]
    rule: denied-package
    reason: "migrating off it, TICKET-123"
    expires: 2027-01-31
    owner: team-orders
  - package: "Django_*"
    reason: quoted dates work too
    expires: "2026-12-01"
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
      services: ["legacy/*", "!legacy/new"]
      groups: [Dev, "extra:Foo_Bar"]
      require: none
"""


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def load(tmp_path: Path, text: str | bytes, name: str = "policy.yaml") -> Policy:
    return load_policy(write(tmp_path / name, text), shown=name)


def error(tmp_path: Path, text: str | bytes) -> str:
    with pytest.raises(PolicyError) as info:
        load(tmp_path, text)
    return str(info.value)


# --------------------------------------------------------------------------- valid policies


def test_full_example_loads_into_the_model(tmp_path: Path) -> None:
    policy = load(tmp_path, FULL)
    assert policy.files == ("policy.yaml",)
    assert policy.version == 1
    assert policy.pytest_allowed == ">=8.0,<9"
    assert policy.unknown == "error"
    assert policy.approved == {"pytest-cov": ">=5,<6", "hypothesis": "*"}
    assert policy.denied == {"pytest-randomly": "reorders tests; use pytest-random-order"}
    assert policy.also_plugins == frozenset({"acme-testkit"})
    assert policy.exceptions == (
        Waiver(
            package="pytest-randomly",
            reason="migrating off it, TICKET-123",
            expires="2027-01-31",
            services=("orders",),
            rule="denied-package",
            owner="team-orders",
            path="policy.yaml",
            line=13,
        ),
        Waiver(
            package="django-*",
            reason="quoted dates work too",
            expires="2026-12-01",
            path="policy.yaml",
            line=19,
        ),
    )
    assert policy.drift_default == "same-major"
    assert policy.drift_rules == (
        DriftRule(("pytest", "pytest-*"), (), (), "exact", None, "policy.yaml", 25),
        DriftRule(("django",), (), (), "pinned", ">=4.2,<4.3", "policy.yaml", 27),
        DriftRule(("numpy",), (), (), "snap-to", "ml-core", "policy.yaml", 29),
        DriftRule(
            ("*", "!zope-interface"),
            ("legacy/*", "!legacy/new"),
            ("dev", "extra:foo-bar"),
            "none",
            None,
            "policy.yaml",
            31,
        ),
    )
    assert policy.explicit == {"pytest.allowed", "plugins.unknown", "drift.default"}


def test_minimal_policy_gets_the_defaults(tmp_path: Path) -> None:
    policy = load(tmp_path, "version: 1\n")
    assert policy == Policy(files=("policy.yaml",))
    assert policy.unknown == "warning"
    assert policy.drift_default == "same-major"
    assert policy.pytest_allowed is None


def test_null_sections_count_as_empty(tmp_path: Path) -> None:
    text = "version: 1\npytest:\nplugins:\n  approved:\n  denied:\n  also_plugins:\nexceptions:\ndrift:\n  rules:\n"
    assert load(tmp_path, text) == Policy(files=("policy.yaml",))


def test_utf8_bom_and_crlf_are_accepted(tmp_path: Path) -> None:
    policy = load(tmp_path, b"\xef\xbb\xbfversion: 1\r\nplugins:\r\n  unknown: ignore\r\n")
    assert policy.unknown == "ignore"


def test_star_for_pytest_means_any_version_and_is_explicit(tmp_path: Path) -> None:
    policy = load(tmp_path, 'version: 1\npytest:\n  allowed: "*"\n')
    assert policy.pytest_allowed is None
    assert "pytest.allowed" in policy.explicit


# --------------------------------------------------------------------------- invalid policies

ALL_RULES = ", ".join(RULE_NAMES)
TOP_KEYS = "version, extends, pytest, plugins, installs, sources, exceptions, drift, references"
REQUIRE_LEVELS = "exact, same-minor, same-major, none"


def plugins(body: str) -> str:
    return "version: 1\nplugins:\n" + body


def exception(body: str) -> str:
    return "version: 1\nexceptions:\n  - package: pytest-randomly\n" + body


def rule(body: str) -> str:
    return "version: 1\ndrift:\n  rules:\n    - packages: [django]\n" + body


INVALID: list[tuple[str, str, str]] = [
    # version
    (
        "missing-version",
        "plugins: {}\n",
        "policy.yaml:1: version: missing required key (the first line of a policy is 'version: 1')",
    ),
    (
        "version-2",
        "version: 2\n",
        "policy.yaml:1: version: unsupported policy version 2; this envguard reads version 1",
    ),
    ("version-string", 'version: "1"\n', "policy.yaml:1: version: expected the integer 1, got a string"),
    (
        "version-first",
        "version: 2\nnew_key: 1\n",
        "policy.yaml:1: version: unsupported policy version 2; this envguard reads version 1",
    ),
    # top level
    ("unknown-key-close", "version: 1\nplugin: {}\n", "policy.yaml:2: plugin: unknown key; did you mean 'plugins'?"),
    ("unknown-key-far", "version: 1\nfoo: 1\n", f"policy.yaml:2: foo: unknown key; expected one of: {TOP_KEYS}"),
    ("top-level-list", "- version: 1\n", "policy.yaml:1: expected a mapping at the top level, got a list"),
    ("top-level-scalar", "hello\n", "policy.yaml:1: expected a mapping at the top level, got a string"),
    ("empty-file", "", "policy.yaml:1: empty policy; it needs at least 'version: 1'"),
    ("comments-only", "# nothing yet\n", "policy.yaml:1: empty policy; it needs at least 'version: 1'"),
    ("document-marker-only", "---\n", "policy.yaml:1: empty policy; it needs at least 'version: 1'"),
    (
        "two-documents",
        "version: 1\n---\nversion: 1\n",
        "policy.yaml:2: a policy file holds one YAML document; found a second one",
    ),
    ("int-key", "version: 1\n1: x\n", "policy.yaml:2: keys must be strings, got an integer"),
    ("list-key", "version: 1\n? [a]\n: b\n", "policy.yaml:2: keys must be strings, got a list"),
    (
        "nested-bool-key",
        plugins("  approved:\n    true: '*'\n"),
        "policy.yaml:4: plugins.approved: keys must be strings, got a boolean",
    ),
    (
        "duplicate-top-key",
        "version: 1\ndrift: {}\ndrift: {}\n",
        "policy.yaml:3: drift: duplicate key (first written on line 2)",
    ),
    ("section-not-mapping", 'version: 1\npytest: ">=8"\n', "policy.yaml:2: pytest: expected a mapping, got a string"),
    (
        "custom-tag",
        plugins("  unknown: !fatal error\n"),
        "policy.yaml:3: plugins.unknown: expected a string, got a value tagged !fatal",
    ),
    (
        "extends-url",
        "version: 1\nextends: https://example.com/p.yaml\n",
        "policy.yaml:2: extends: https://example.com/p.yaml: a policy URL needs its content hash: append #sha256=<64 hex digits>",
    ),
    ("extends-not-string", "version: 1\nextends: [a.yaml]\n", "policy.yaml:2: extends: expected a string, got a list"),
    # pytest
    (
        "pytest-unknown-key",
        "version: 1\npytest:\n  allow: '>=8'\n",
        "policy.yaml:3: pytest.allow: unknown key; did you mean 'allowed'?",
    ),
    (
        "pytest-bad-specifier",
        "version: 1\npytest:\n  allowed: latest\n",
        "policy.yaml:3: pytest.allowed: invalid specifier 'latest'",
    ),
    # plugins
    (
        "approved-bad-specifier",
        'version: 1\npytest:\n  allowed: ">=8.0,<9"\nplugins:\n  unknown: error\n'
        '  approved:\n    pytest-cov: ">=5,<<6"\n',
        "policy.yaml:7: plugins.approved.pytest-cov: invalid specifier '>=5,<<6'",
    ),
    (
        "approved-bare-version",
        plugins('  approved:\n    pytest-cov: "5.0"\n'),
        "policy.yaml:4: plugins.approved.pytest-cov: invalid specifier '5.0' (did you mean '==5.0' or '>=5.0'?)",
    ),
    (
        "approved-unquoted-number",
        plugins("  approved:\n    pytest-cov: 5.0\n"),
        "policy.yaml:4: plugins.approved.pytest-cov: expected a string, got a number (5.0); put it in quotes",
    ),
    (
        "approved-null",
        plugins("  approved:\n    hypothesis:\n"),
        "policy.yaml:4: plugins.approved.hypothesis: expected a version specifier, got null"
        ' (write "*" to allow any version)',
    ),
    (
        "approved-bad-name",
        plugins("  approved:\n    foo bar: '*'\n"),
        "policy.yaml:4: plugins.approved.foo bar: invalid package name 'foo bar'",
    ),
    (
        "approved-normalised-duplicate",
        plugins("  approved:\n    pytest-cov: '*'\n    pytest_cov: '*'\n"),
        "policy.yaml:5: plugins.approved.pytest_cov: same package as 'pytest-cov' on line 4"
        " (names are PEP 503-normalised)",
    ),
    (
        "approved-duplicate-key",
        plugins("  approved:\n    pytest-cov: '*'\n    pytest-cov: '>=5'\n"),
        "policy.yaml:5: plugins.approved.pytest-cov: duplicate key (first written on line 4)",
    ),
    (
        "approved-and-denied",
        plugins("  approved:\n    pytest-cov: '*'\n  denied:\n    Pytest.Cov: no\n"),
        "policy.yaml:6: plugins.denied.Pytest.Cov: also approved as 'pytest-cov' on line 4",
    ),
    (
        "approved-not-mapping",
        plugins("  approved: [pytest-cov]\n"),
        "policy.yaml:3: plugins.approved: expected a mapping, got a list",
    ),
    (
        "denied-without-reason",
        plugins("  denied:\n    pytest-randomly:\n"),
        "policy.yaml:4: plugins.denied.pytest-randomly: expected the reason it is denied, got null",
    ),
    (
        "unknown-enum",
        plugins("  unknown: fatal\n"),
        "policy.yaml:3: plugins.unknown: unknown value 'fatal'; expected one of: error, warning, ignore",
    ),
    (
        "also-plugins-string",
        plugins("  also_plugins: acme\n"),
        "policy.yaml:3: plugins.also_plugins: expected a list, got a string",
    ),
    (
        "also-plugins-bad-name",
        plugins("  also_plugins: ['acme/kit']\n"),
        "policy.yaml:3: plugins.also_plugins[0]: invalid package name 'acme/kit'",
    ),
    # exceptions
    (
        "exceptions-not-list",
        "version: 1\nexceptions: {}\n",
        "policy.yaml:2: exceptions: expected a list, got a mapping",
    ),
    (
        "exception-not-mapping",
        "version: 1\nexceptions:\n  - pytest-randomly\n",
        "policy.yaml:3: exceptions[0]: expected a mapping, got a string",
    ),
    (
        "exception-missing-reason",
        exception("    expires: 2027-01-31\n"),
        "policy.yaml:3: exceptions[0].reason: missing required key",
    ),
    (
        "exception-missing-expires",
        exception("    reason: why\n"),
        "policy.yaml:3: exceptions[0].expires: missing required key",
    ),
    (
        "exception-empty-reason",
        exception('    reason: ""\n    expires: 2027-01-31\n'),
        "policy.yaml:4: exceptions[0].reason: must not be empty",
    ),
    (
        "exception-impossible-date",
        exception("    reason: why\n    expires: 2027-02-30\n"),
        "policy.yaml:5: exceptions[0].expires: invalid date '2027-02-30'; expected YYYY-MM-DD",
    ),
    (
        "exception-date-with-time",
        exception("    reason: why\n    expires: 2027-01-31 10:00:00\n"),
        "policy.yaml:5: exceptions[0].expires: invalid date '2027-01-31 10:00:00'; expected YYYY-MM-DD",
    ),
    (
        "exception-date-basic-format",
        exception("    reason: why\n    expires: '20270131'\n"),
        "policy.yaml:5: exceptions[0].expires: invalid date '20270131'; expected YYYY-MM-DD",
    ),
    (
        "exception-date-number",
        exception("    reason: why\n    expires: 2027\n"),
        "policy.yaml:5: exceptions[0].expires: expected a date (YYYY-MM-DD), got an integer",
    ),
    (
        "exception-rule-typo",
        exception("    reason: why\n    expires: 2027-01-31\n    rule: denied-packages\n"),
        "policy.yaml:6: exceptions[0].rule: unknown rule 'denied-packages'; did you mean 'denied-package'?",
    ),
    (
        "exception-rule-unknown",
        exception("    reason: why\n    expires: 2027-01-31\n    rule: EG101\n"),
        f"policy.yaml:6: exceptions[0].rule: unknown rule 'EG101'; expected one of: {ALL_RULES}",
    ),
    (
        "exception-unknown-key",
        exception("    reason: why\n    expiry: 2027-01-31\n"),
        "policy.yaml:5: exceptions[0].expiry: unknown key; did you mean 'expires'?",
    ),
    (
        "exception-negated-service",
        exception("    reason: why\n    expires: 2027-01-31\n    services: ['!orders']\n"),
        "policy.yaml:6: exceptions[0].services[0]: '!' negation is only supported in drift rule selectors",
    ),
    (
        "exception-bad-package-glob",
        "version: 1\nexceptions:\n  - package: 'pytest randomly'\n    reason: why\n    expires: 2027-01-31\n",
        "policy.yaml:3: exceptions[0].package: invalid package name or glob 'pytest randomly'",
    ),
    # drift
    (
        "drift-default-unknown",
        "version: 1\ndrift:\n  default: same-patch\n",
        f"policy.yaml:3: drift.default: unknown value 'same-patch'; expected one of: {REQUIRE_LEVELS}",
    ),
    (
        "rule-require-unknown",
        rule("      require: exakt\n"),
        f"policy.yaml:5: drift.rules[0].require: unknown value 'exakt'; expected one of: {REQUIRE_LEVELS}",
    ),
    (
        "rule-require-two-keys",
        rule("      require: {pinned: '>=4', snap-to: web}\n"),
        "policy.yaml:5: drift.rules[0].require: expected exactly one of 'pinned' or 'snap-to'",
    ),
    (
        "rule-require-empty-mapping",
        rule("      require: {}\n"),
        "policy.yaml:5: drift.rules[0].require: expected exactly one of 'pinned' or 'snap-to'",
    ),
    (
        "rule-pinned-invalid",
        rule("      require: {pinned: '~4.2'}\n"),
        "policy.yaml:5: drift.rules[0].require.pinned: invalid specifier '~4.2'",
    ),
    (
        "rule-pinned-star",
        rule("      require: {pinned: '*'}\n"),
        "policy.yaml:5: drift.rules[0].require.pinned: invalid specifier '*'",
    ),
    (
        "rule-require-typo-key",
        rule("      require: {pin: '>=4'}\n"),
        "policy.yaml:5: drift.rules[0].require.pin: unknown key; did you mean 'pinned'?",
    ),
    (
        "rule-require-list",
        rule("      require: [exact]\n"),
        f"policy.yaml:5: drift.rules[0].require: expected one of {REQUIRE_LEVELS}"
        " or a mapping with 'pinned' or 'snap-to', got a list",
    ),
    ("rule-missing-require", rule(""), "policy.yaml:4: drift.rules[0].require: missing required key"),
    (
        "rule-empty-packages",
        "version: 1\ndrift:\n  rules:\n    - packages: []\n      require: exact\n",
        "policy.yaml:4: drift.rules[0].packages: must list at least one package name or glob",
    ),
    (
        "rule-packages-string",
        "version: 1\ndrift:\n  rules:\n    - packages: django\n      require: exact\n",
        "policy.yaml:4: drift.rules[0].packages: expected a list, got a string",
    ),
    (
        "rule-bare-negation",
        rule("      services: ['!']\n      require: exact\n"),
        "policy.yaml:5: drift.rules[0].services[0]: '!' needs a pattern after it",
    ),
    (
        "rule-bad-group",
        rule("      groups: ['dev group']\n      require: exact\n"),
        "policy.yaml:5: drift.rules[0].groups[0]: invalid group name or glob 'dev group'",
    ),
    (
        "second-rule-index",
        "version: 1\ndrift:\n  rules:\n    - packages: [a]\n      require: exact\n"
        "    - packages: [b]\n      require: sometimes\n",
        f"policy.yaml:7: drift.rules[1].require: unknown value 'sometimes'; expected one of: {REQUIRE_LEVELS}",
    ),
    # YAML-level mistakes get a hint
    (
        "unquoted-star",
        plugins("  approved:\n    hypothesis: *\n"),
        "policy.yaml:4: invalid YAML: expected alphabetic or numeric character, but found '\\n'"
        ' (while scanning an alias); a bare * starts a YAML alias: quote it ("*")',
    ),
    (
        "unquoted-specifier",
        plugins("  approved:\n    pytest-cov: >=5,<6\n"),
        "policy.yaml:4: invalid YAML: expected chomping or indentation indicators, but found '='"
        ' (while scanning a block scalar); quote specifiers that start with > or | (">=5,<6")',
    ),
    (
        "unclosed-flow",
        "version: 1\nplugins:\n  also_plugins: [a, b\n",
        "policy.yaml:4: invalid YAML: expected ',' or ']', but got '<stream end>' (while parsing a flow sequence)",
    ),
    (
        "alias",
        "version: 1\nx: &a foo\ny: *a\n",
        "policy.yaml:3: YAML aliases (*a) are not allowed in a policy; write the value out",
    ),
    # sources
    (
        "sources-unknown-key",
        "version: 1\nsources:\n  allow-git: false\n",
        "policy.yaml:3: sources.allow-git: unknown key; did you mean 'allow-path'?",
    ),
    (
        "sources-allow-string",
        "version: 1\nsources:\n  allow-url: nope\n",
        "policy.yaml:3: sources.allow-url: expected true, false or a list of URL or path globs, got a string",
    ),
    (
        "sources-indexes-not-strings",
        "version: 1\nsources:\n  indexes: [1]\n",
        "policy.yaml:3: sources.indexes[0]: expected a string, got an integer (1); put it in quotes",
    ),
    (
        "sources-index-with-space",
        "version: 1\nsources:\n  indexes: ['https://a.example.com/simple https://b.example.com/simple']\n",
        "policy.yaml:3: sources.indexes[0]: a URL or path has no spaces: "
        "'https://a.example.com/simple https://b.example.com/simple'",
    ),
    (
        "sources-require-hashes-string",
        "version: 1\nsources:\n  require-hashes: 'yes'\n",
        "policy.yaml:3: sources.require-hashes: expected true or false, got a string",
    ),
    (
        "sources-severity-unknown-rule",
        "version: 1\nsources:\n  severity:\n    unpinned-install: error\n",
        "policy.yaml:4: sources.severity.unpinned-install: unknown key; expected one of: "
        "source-not-allowed, hash-missing, insecure-index",
    ),
    (
        "sources-severity-value",
        "version: 1\nsources:\n  severity: {insecure-index: fatal}\n",
        "policy.yaml:3: sources.severity.insecure-index: unknown value 'fatal'; expected one of: error, warning, ignore",
    ),
]


@pytest.mark.parametrize(("text", "expected"), [(t, e) for _, t, e in INVALID], ids=[i for i, _, _ in INVALID])
def test_invalid_policy_message(tmp_path: Path, text: str, expected: str) -> None:
    assert error(tmp_path, text) == expected


def test_policy_error_carries_its_parts(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as info:
        load(tmp_path, "version: 1\nplugins:\n  unknown: fatal\n")
    assert isinstance(info.value, EnvguardError)
    assert (info.value.path, info.value.line, info.value.key) == ("policy.yaml", 3, "plugins.unknown")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as info:
        load_policy(tmp_path / "nope.yaml", shown="nope.yaml")
    assert str(info.value) == "nope.yaml:1: policy file not found"


# --------------------------------------------------------------------------- extends and merging

ORG = """\
version: 1
pytest:
  allowed: ">=7"
plugins:
  unknown: error
  approved:
    pytest-cov: ">=4"
    pytest-mock: "*"
  denied:
    pytest-randomly: "reorders tests"
    pytest-sugar: "noisy logs"
  also_plugins: [org-kit]
exceptions:
  - package: pytest-sugar
    reason: org-wide grace period
    expires: 2027-01-01
drift:
  default: exact
  rules:
    - packages: ["*"]
      require: same-major
"""

TEAM = """\
version: 1
extends: ../org/policy.yaml
plugins:
  approved:
    pytest-cov: ">=5,<6"
    pytest-randomly: "*"
  denied:
    pytest-mock: "use unittest.mock"
  also_plugins: [team-kit]
exceptions:
  - package: pytest-mock
    services: [legacy]
    reason: migrating
    expires: 2027-06-30
drift:
  rules:
    - packages: [numpy]
      require: {snap-to: ml-core}
"""


def test_extends_merges_base_then_override(tmp_path: Path) -> None:
    write(tmp_path / "org/policy.yaml", ORG)
    policy = load(tmp_path, TEAM, name="team/policy.yaml")
    assert policy.files == ("org/policy.yaml", "team/policy.yaml")
    # Scalars the override does not write keep the base's value.
    assert policy.pytest_allowed == ">=7"
    assert policy.unknown == "error"
    assert policy.drift_default == "exact"
    # Per-package merge; approving a denied package (and the reverse) moves it.
    assert policy.approved == {"pytest-cov": ">=5,<6", "pytest-randomly": "*"}
    assert policy.denied == {"pytest-sugar": "noisy logs", "pytest-mock": "use unittest.mock"}
    assert policy.also_plugins == {"org-kit", "team-kit"}
    assert [(w.package, w.path, w.line) for w in policy.exceptions] == [
        ("pytest-sugar", "org/policy.yaml", 14),
        ("pytest-mock", "team/policy.yaml", 11),
    ]
    # The override's rules are tried first.
    assert [(r.packages, r.path) for r in policy.drift_rules] == [
        (("numpy",), "team/policy.yaml"),
        (("*",), "org/policy.yaml"),
    ]


def test_override_scalars_win_and_star_lifts_the_pytest_constraint(tmp_path: Path) -> None:
    write(tmp_path / "base.yaml", ORG)
    text = 'version: 1\nextends: base.yaml\npytest:\n  allowed: "*"\n'
    text += "plugins:\n  unknown: ignore\ndrift:\n  default: none\n"
    policy = load(tmp_path, text)
    assert (policy.pytest_allowed, policy.unknown, policy.drift_default) == (None, "ignore", "none")


def test_extends_is_recursive_and_relative_to_each_file(tmp_path: Path) -> None:
    write(tmp_path / "a/b/root.yaml", "version: 1\nplugins:\n  approved:\n    one: '*'\n")
    write(tmp_path / "a/mid.yaml", "version: 1\nextends: b/root.yaml\nplugins:\n  approved:\n    two: '*'\n")
    policy = load(tmp_path, "version: 1\nextends: a/mid.yaml\nplugins:\n  approved:\n    three: '*'\n")
    assert policy.files == ("a/b/root.yaml", "a/mid.yaml", "policy.yaml")
    assert list(policy.approved) == ["one", "two", "three"]


def test_extends_accepts_an_absolute_path(tmp_path: Path) -> None:
    base = write(tmp_path / "elsewhere/base.yaml", "version: 1\nplugins:\n  unknown: ignore\n")
    policy = load(tmp_path, f"version: 1\nextends: '{base.as_posix()}'\n")
    assert policy.unknown == "ignore"
    assert policy.files == (base.as_posix(), "policy.yaml")


def test_extends_cycle_names_the_chain(tmp_path: Path) -> None:
    write(tmp_path / "b.yaml", "version: 1\nextends: c.yaml\n")
    write(tmp_path / "c.yaml", "version: 1\n\nextends: b.yaml\n")
    with pytest.raises(PolicyError) as info:
        load(tmp_path, "version: 1\nextends: b.yaml\n", name="a.yaml")
    assert str(info.value) == "c.yaml:3: extends: extends cycle: a.yaml -> b.yaml -> c.yaml -> b.yaml"


def test_extends_self(tmp_path: Path) -> None:
    message = error(tmp_path, "version: 1\nextends: ./policy.yaml\n")
    assert message == "policy.yaml:2: extends: extends cycle: policy.yaml -> policy.yaml"


def test_extends_missing_target(tmp_path: Path) -> None:
    message = error(tmp_path, "version: 1\nextends: ../org/missing.yaml\n")
    assert message == "policy.yaml:2: extends: base policy not found: ../org/missing.yaml"


def test_extends_directory_target(tmp_path: Path) -> None:
    (tmp_path / "org").mkdir()
    message = error(tmp_path, "version: 1\nextends: org\n")
    assert message == "policy.yaml:2: extends: must name a policy file, not a directory: org"


def test_errors_in_a_base_name_the_base_file(tmp_path: Path) -> None:
    write(tmp_path / "org/policy.yaml", "version: 1\nplugins:\n  unknown: loud\n")
    message = error(tmp_path, "version: 1\nextends: org/policy.yaml\n")
    assert (
        message == "org/policy.yaml:3: plugins.unknown: unknown value 'loud'; expected one of: error, warning, ignore"
    )


def test_directory_merges_in_name_order(tmp_path: Path) -> None:
    root = tmp_path / "policy.d"
    write(root / "20-team.yml", "version: 1\nplugins:\n  unknown: ignore\n  approved:\n    pytest-cov: '>=6'\n")
    write(
        root / "10-org.yaml",
        "version: 1\nplugins:\n  unknown: error\n  approved:\n    pytest-cov: '>=5'\n    pytest-mock: '*'\n",
    )
    write(root / ".backup.yaml", "this is not even YAML: [")
    write(root / "README.md", "# not a policy\n")
    policy = load_policy(root, shown="policy.d")
    assert policy.files == ("policy.d/10-org.yaml", "policy.d/20-team.yml")
    assert policy.unknown == "ignore"
    assert policy.approved == {"pytest-cov": ">=6", "pytest-mock": "*"}


def test_directory_files_sharing_a_base_apply_it_once(tmp_path: Path) -> None:
    write(tmp_path / "org.yaml", ORG)
    root = tmp_path / "policy.d"
    write(root / "a.yaml", "version: 1\nextends: ../org.yaml\nplugins:\n  unknown: warning\n")
    write(
        root / "b.yaml",
        "version: 1\nextends: ../org.yaml\ndrift:\n  rules:\n    - packages: [b]\n      require: none\n",
    )
    policy = load_policy(root, shown="policy.d")
    assert policy.files == ("org.yaml", "policy.d/a.yaml", "policy.d/b.yaml")
    # b.yaml's base must not undo a.yaml's override.
    assert policy.unknown == "warning"
    assert len(policy.exceptions) == 1
    assert [r.packages for r in policy.drift_rules] == [("b",), ("*",)]


def test_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "policy.d").mkdir()
    with pytest.raises(PolicyError) as info:
        load_policy(tmp_path / "policy.d", shown="policy.d")
    assert str(info.value) == "policy.d:1: no *.yaml or *.yml files in this policy directory"


def test_merge_is_plain_function_on_policies() -> None:
    base = Policy(files=("a",), unknown="error", explicit=frozenset({"plugins.unknown"}))
    assert merge(base, Policy(files=("b",))).unknown == "error"
    assert (
        merge(base, Policy(files=("b",), unknown="ignore", explicit=frozenset({"plugins.unknown"}))).unknown == "ignore"
    )


def test_selector_matches() -> None:
    assert selector_matches((), "anything")
    assert selector_matches(("pytest", "pytest-*"), "pytest-cov")
    assert not selector_matches(("pytest-*",), "pytest")
    assert selector_matches(("*", "!legacy/*"), "orders")
    assert not selector_matches(("*", "!legacy/*"), "legacy/billing")
    assert selector_matches(("!legacy/*",), "orders")


# --------------------------------------------------------------------------- hardening


def assert_fast_policy_error(tmp_path: Path, data: str | bytes) -> str:
    # CPU time, not wall time: a hostile file must not cost a second of work (30,000 values take
    # 0.5 s), and other work on a shared 2-core machine does not add to this process's CPU.
    start = time.process_time()
    message = error(tmp_path, data)
    assert time.process_time() - start < 1.0
    return message


def test_billion_laughs_is_refused(tmp_path: Path) -> None:
    lines = ["version: 1", 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    message = assert_fast_policy_error(tmp_path, "\n".join(lines) + "\n")
    assert message == "policy.yaml:3: YAML aliases (*a0) are not allowed in a policy; write the value out"


@pytest.mark.parametrize(
    "text",
    [
        "version: 1\nx: " + "[" * 10_000 + "]" * 10_000 + "\n",
        "version: 1\nx: " + "{a: " * 10_000 + "1" + "}" * 10_000 + "\n",
        "version: 1\n" + "".join(" " * i + f"k{i}:\n" for i in range(1_000)),
    ],
    ids=["flow-lists", "flow-mappings", "block-mappings"],
)
def test_deep_nesting_is_refused(tmp_path: Path, text: str) -> None:
    message = assert_fast_policy_error(tmp_path, text)
    assert message.endswith(": nested deeper than 50 levels")


def test_binary_content(tmp_path: Path) -> None:
    message = assert_fast_policy_error(tmp_path, b"version: 1\n\x00\x01\x02PNG\x00")
    assert message == "policy.yaml:2: binary content (control character U+0000); a policy is a UTF-8 YAML file"


def test_undecodable_bytes(tmp_path: Path) -> None:
    message = assert_fast_policy_error(tmp_path, b"version: 1\nplugins:\n  unknown: \xff\xfe\n")
    assert message == "policy.yaml:3: not UTF-8 text (byte 0xff); a policy is a UTF-8 YAML file"


def test_utf16_file(tmp_path: Path) -> None:
    message = assert_fast_policy_error(tmp_path, "version: 1\n".encode("utf-16"))
    assert message == "policy.yaml:1: not UTF-8 text (byte 0xff); a policy is a UTF-8 YAML file"


def test_too_many_values(tmp_path: Path) -> None:
    text = "version: 1\nx: [" + "1," * 30_000 + "]\n"
    message = assert_fast_policy_error(tmp_path, text)
    assert message == "policy.yaml:2: more than 20000 YAML values; not a policy file"


def test_oversized_file(tmp_path: Path) -> None:
    message = assert_fast_policy_error(tmp_path, "version: 1\n" + "# padding\n" * 200_000)
    assert message == "policy.yaml:1: larger than 1024 KiB; not a policy file"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(lambda t: "version: 1\n" + t)))
def test_arbitrary_input_raises_only_policy_error(tmp_path: Path, data: str | bytes) -> None:
    with contextlib.suppress(PolicyError):
        load(tmp_path, data)


def test_importing_the_module_does_not_import_yaml() -> None:
    code = "import sys, envguard.policy; sys.exit('yaml' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# --------------------------------------------------------------------------- shipped policy and schema


def test_builtin_copy_is_byte_identical_to_the_example() -> None:
    assert BUILTIN_COPY.read_bytes() == DEFAULT.read_bytes()


def test_default_policy_loads() -> None:
    shipped = load_policy(DEFAULT, shown="policies/default.yaml")
    builtin = builtin_policy()
    assert builtin.files == ("<builtin>/default-policy.yaml",)
    assert shipped.files == ("policies/default.yaml",)
    assert shipped.approved == builtin.approved
    assert shipped.pytest_allowed == ">=7.0"
    assert shipped.unknown == "warning"
    assert shipped.drift_default == "same-major"
    assert {"pytest-cov", "pytest-xdist", "pytest-mock", "hypothesis"} <= set(shipped.approved)
    assert "pytest-randomly" not in shipped.approved and "pytest-randomly" not in shipped.denied
    [runner, tooling] = shipped.drift_rules
    assert (runner.packages, runner.require_kind) == (("pytest", "pytest-*"), "exact")
    assert (tooling.packages, tooling.require_kind) == (("pip", "setuptools", "wheel"), "none")


def yaml_as_json(text: str) -> Any:
    # What an editor's YAML language server hands the schema: unquoted dates as strings.
    import yaml  # type: ignore[import-untyped, unused-ignore]

    def convert(value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): convert(v) for k, v in value.items()}
        if isinstance(value, list):
            return [convert(v) for v in value]
        if isinstance(value, dt.date):
            return value.isoformat()
        return value

    return convert(yaml.safe_load(text))


@pytest.fixture(scope="module")
def validator() -> Any:
    import jsonschema  # type: ignore[import-untyped, unused-ignore]

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def test_schema_validates_the_default_policy(validator: Any) -> None:
    validator.validate(yaml_as_json(DEFAULT.read_text(encoding="utf-8")))


def test_schema_accepts_the_full_example(validator: Any) -> None:
    validator.validate(yaml_as_json(FULL))


@pytest.mark.parametrize(
    "text",
    [
        "plugins: {}\n",
        "version: 2\n",
        "version: 1\nplugin: {}\n",
        "version: 1\nplugins:\n  unknown: fatal\n",
        "version: 1\nplugins:\n  approved:\n    pytest-cov: latest\n",
        "version: 1\nexceptions:\n  - package: x\n    reason: r\n    expires: 2027-01-31\n    rule: nope\n",
        "version: 1\ndrift:\n  rules:\n    - packages: [a]\n      require: {pinned: '>=1', snap-to: b}\n",
        "version: 1\nextends: https://example.com/policy.yaml\n",
        "version: 1\nextends: http://example.com/policy.yaml#sha256=" + "a" * 64 + "\n",
        "version: 1\nextends: {url: 'http://example.com/policy.yaml', sha256: '" + "a" * 64 + "'}\n",
        "version: 1\nextends: {url: 'https://example.com/policy.yaml'}\n",
    ],
)
def test_schema_rejects_what_the_loader_rejects(validator: Any, tmp_path: Path, text: str) -> None:
    assert not validator.is_valid(yaml_as_json(text))
    with pytest.raises(PolicyError):
        load(tmp_path, text)


@pytest.mark.parametrize(
    "extends",
    [
        "../org/envguard-policy.yaml",
        "package:acme-envguard-policy",
        "package:acme-envguard-policy/policies/ci.yaml",
        "https://example.com/policy.yaml#sha256=" + "0" * 64,
        {"url": "https://example.com/policy.yaml", "sha256": "0" * 64},
    ],
)
def test_schema_accepts_every_form_of_extends(validator: Any, extends: object) -> None:
    validator.validate({"version": 1, "extends": extends})


def test_schema_rule_names_match_the_module(validator: Any) -> None:
    assert tuple(validator.schema["$defs"]["ruleName"]["enum"]) == RULE_NAMES


def test_extends_outside_the_workspace_root_is_refused(tmp_path: Path) -> None:
    (tmp_path / "org.yaml").write_text("version: 1\n", encoding="utf-8")
    root = tmp_path / "repo"
    (root / "policies").mkdir(parents=True)
    (root / "policies" / "p.yaml").write_text("version: 1\nextends: ../../org.yaml\n", encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(root / "policies", shown="policies", within=root)
    assert str(caught.value) == (
        "policies/p.yaml:2: extends: ../../org.yaml is outside the workspace root; "
        "pass --allow-outside-root to read it"
    )
    assert load_policy(root / "policies", shown="policies").files == ("../org.yaml", "policies/p.yaml")


def test_the_compiled_builtin_policy_matches_its_yaml() -> None:
    """envguard/data/default-policy.json is what builtin_policy reads; regenerate it with
    ENVGUARD_UPDATE_GOLDEN=1 after editing policies/default.yaml (and its copy in envguard/data)."""
    import json
    import os

    from envguard._data import read_data
    from envguard.policy import _parse_builtin, builtin_policy, compile_builtin

    data_dir = Path(__file__).resolve().parents[1] / "envguard" / "data"
    expected = compile_builtin((data_dir / "default-policy.yaml").read_bytes())
    if os.environ.get("ENVGUARD_UPDATE_GOLDEN"):
        (data_dir / "default-policy.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n", "utf-8")
    assert json.loads((data_dir / "default-policy.json").read_text(encoding="utf-8")) == json.loads(json.dumps(expected))
    assert builtin_policy() == _parse_builtin(read_data("default-policy.yaml"))


def test_a_stale_compilation_is_never_used(monkeypatch: pytest.MonkeyPatch) -> None:
    import envguard._data
    from envguard.policy import _parse_builtin, builtin_policy

    real = envguard._data.read_data
    edited = real("default-policy.yaml").replace(b"unknown: warning", b"unknown: error")
    monkeypatch.setattr(envguard._data, "read_data", lambda name: edited if name.endswith(".yaml") else real(name))
    assert builtin_policy().unknown == "error"
    assert builtin_policy() == _parse_builtin(edited)


def test_content_digest_is_what_the_policy_says_not_where(tmp_path: Path) -> None:
    from envguard.policy import content_digest

    text = (
        "version: 1\nplugins:\n  approved:\n    pytest-cov: '>=5'\n    hypothesis: '*'\n"
        "exceptions:\n  - package: pytest-sugar\n    reason: terminal only\n    expires: 2027-01-31\n"
    )
    here = load(tmp_path / "a", text)
    # Elsewhere, with a comment that moves every line and the approvals in another order.
    moved = "# the same policy\n" + text.replace(
        "    pytest-cov: '>=5'\n    hypothesis: '*'\n", "    hypothesis: '*'\n    pytest-cov: '>=5'\n"
    )
    there = load(tmp_path / "b", moved, "team/envguard.yaml")
    assert here.files != there.files
    assert content_digest(here) == content_digest(there)
    assert len(content_digest(here)) == 64
    assert content_digest(load(tmp_path / "d", text.replace(">=5", ">=6"))) != content_digest(here)
    assert content_digest(load(tmp_path / "e", text.replace("terminal only", "other"))) != content_digest(here)


def test_sources_section(tmp_path: Path) -> None:
    from envguard.policy import Sources

    policy = load(
        tmp_path,
        """\
version: 1
sources:
  indexes: ["https://pypi.internal.example.com/*", https://pypi.org/simple]
  allow-vcs: ["git+https://github.com/acme/*"]
  allow-url: false
  require-hashes: true
  severity: {hash-missing: warning}
""",
    )
    assert policy.sources == Sources(
        indexes=("https://pypi.internal.example.com/*", "https://pypi.org/simple"),
        allow_vcs=("git+https://github.com/acme/*",),
        allow_url=False,
        allow_path=True,
        require_hashes=True,
        severity=(("source-not-allowed", "error"), ("hash-missing", "warning"), ("insecure-index", "error")),
    )
    assert load(tmp_path, "version: 1\n").sources == Sources()
    assert load(tmp_path, "version: 1\nsources:\n  allow-path: []\n").sources.allow_path == ()


def test_sources_merge_key_by_key(tmp_path: Path) -> None:
    """Each key the override writes wins, lists as a whole (an allowed index can be taken back);
    `indexes: null` lifts the base's list."""
    (tmp_path / "base.yaml").write_text(
        "version: 1\nsources:\n  indexes: [https://a.example.com/simple]\n  allow-vcs: false\n"
        "  severity: {insecure-index: warning, hash-missing: warning}\n",
        encoding="utf-8",
    )
    policy = load(
        tmp_path,
        "version: 1\nextends: base.yaml\nsources:\n  allow-url: [https://files.example.com/*]\n"
        "  severity: {hash-missing: error}\n",
    )
    sources = policy.sources
    assert (sources.indexes, sources.allow_vcs, sources.allow_url) == (
        ("https://a.example.com/simple",), False, ("https://files.example.com/*",)
    )
    assert dict(sources.severity) == {"source-not-allowed": "error", "hash-missing": "error", "insecure-index": "warning"}
    lifted = load(tmp_path, "version: 1\nextends: base.yaml\nsources:\n  indexes: null\n", name="lifted.yaml")
    assert lifted.sources.indexes is None and lifted.sources.allow_vcs is False


def test_the_default_policy_reports_insecure_indexes_only() -> None:
    from envguard.policy import Sources, builtin_policy

    assert builtin_policy().sources == Sources()
    assert dict(Sources().severity)["insecure-index"] == "error"
