"""envguard.rules.sources: source-not-allowed, hash-missing and insecure-index."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from envguard.check import run_check
from envguard.model import Declaration, Finding, Kind, Location, NormalizedName, Package, Service, Severity, Source
from envguard.policy import Policy, Sources
from envguard.rules.sources import comparable, source_findings
from tests.kit import FIXTURES, write

STRICT = """\
version: 1
sources:
  indexes: ["https://pypi.example.com/simple"]
  allow-vcs: false
  allow-url: false
  allow-path: false
"""


def _check(directory: Path, policy: str, tmp_path: Path) -> tuple[int, list[Finding]]:
    written = write(tmp_path / "policy.yaml", policy)
    result = run_check([directory], policy_path=str(written), select=frozenset({"EG601", "EG602", "EG603"}))
    assert result.errors == ()
    return result.exit_code("error"), [f for f in result.findings if f.rule.startswith("EG6")]


def _rows(findings: list[Finding]) -> list[tuple[str, str | None, tuple[tuple[str, int | None], ...]]]:
    return [(f.name, f.package, tuple((loc.path, loc.line) for loc in f.locations)) for f in findings]


def _copy(name: str, tmp_path: Path) -> Path:
    target = tmp_path / "repo"
    shutil.copytree(FIXTURES / name, target)
    return target


# --------------------------------------------------------------------------- source-not-allowed


@pytest.mark.parametrize(
    ("fixture", "lock", "expected"),
    [
        (
            "uv/sources",
            "uv.lock",
            [("acme-local", 5), ("acme-widgets", 10), ("iniconfig", 45), ("six", 53)],
        ),
        (
            "poetry/sources",
            "poetry.lock",
            # idna has no [package.source]: it comes from the real PyPI, not the policy's index.
            [("acme-local", 3), ("acme-widgets", 17), ("idna", 33), ("iniconfig", 48), ("six", 63)],
        ),
        ("pipenv/sources", "Pipfile.lock", [("acme-widgets", 24), ("six", 37)]),
        # pdm.lock says no index: the pyproject's sources do (six from the internal one, idna from PyPI).
        ("pdm/sources", "pdm.lock", [("acme-local", 13), ("acme-widgets", 20), ("idna", 29), ("six", 40)]),
        ("pip-tools/sources", "requirements.txt", [("acme-widgets", 12), ("idna", 14), ("six", 18)]),
    ],
)
def test_a_lock_from_another_index_or_with_a_direct_reference_fails_at_its_lines(
    tmp_path: Path, fixture: str, lock: str, expected: list[tuple[str, int]]
) -> None:
    code, findings = _check(_copy(fixture, tmp_path), STRICT, tmp_path)
    assert code == 1
    locked = [f for f in findings if f.name == "source-not-allowed"]
    assert [(f.package, f.locations[0]) for f in locked] == [(name, Location(lock, line)) for name, line in expected]
    assert all(f.severity is Severity.ERROR for f in locked)


def test_messages_say_where_the_package_comes_from(tmp_path: Path) -> None:
    _, findings = _check(_copy("uv/sources", tmp_path), STRICT, tmp_path)
    messages = {f.package: f.message for f in findings}
    assert messages["six"] == (
        "six is locked from https://pypi.internal.example.com/simple, not an allowed index"
        " (sources.indexes: https://pypi.example.com/simple)"
    )
    # pyproject.toml names the git source in [tool.uv.sources], which the lock records.
    assert messages["acme-widgets"] == (
        "acme-widgets is locked from a VCS checkout, git+https://git.example.com/acme/widgets,"
        " which sources.allow-vcs does not allow"
    )
    # A direct reference in [project] dependencies and its lock entry: one finding, the lock first.
    assert messages["iniconfig"].startswith("iniconfig is locked and declared from a direct URL, https://files.")


def test_globs_let_reviewed_sources_through(tmp_path: Path) -> None:
    policy = """\
    version: 1
    sources:
      indexes: ["https://pypi.example.com/simple/", "https://pypi.internal.example.com/*"]
      allow-vcs: ["git+https://git.example.com/acme/*"]
      allow-url: ["https://files.example.com/packages/*"]
      allow-path: ["libs/*"]
    """
    assert _check(_copy("uv/sources", tmp_path), policy, tmp_path) == (0, [])


def test_an_extra_index_lets_packages_in_from_it(tmp_path: Path) -> None:
    policy = 'version: 1\nsources:\n  indexes: ["https://pypi.internal.example.com/simple"]\n'
    _, findings = _check(_copy("pip-tools/sources", tmp_path), policy, tmp_path)
    assert [f.package for f in findings] == ["idna", "six"]
    assert findings[0].message == (
        "idna is locked from any of https://pypi.internal.example.com/simple, https://pypi.example.com/simple,"
        " and https://pypi.example.com/simple is not an allowed index"
        " (sources.indexes: https://pypi.internal.example.com/simple)"
    )


def test_declared_installs_are_judged_at_their_line(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    write(root / "svc" / "requirements.txt", "six==1.17.0\n")
    write(
        root / "svc" / "Dockerfile",
        """\
        FROM python:3.12
        RUN pip install --index-url https://mirror.example.org/simple six==1.17.0 \\
            "acme @ git+https://git.example.com/acme/acme@v1"
        """,
    )
    _, findings = _check(root, STRICT, tmp_path)
    assert _rows(findings) == [
        ("source-not-allowed", "acme", (("svc/Dockerfile", 3),)),
        ("source-not-allowed", "six", (("svc/Dockerfile", 2),)),
    ]
    assert findings[1].message.startswith("six is installed from https://mirror.example.org/simple, not an allowed")


def test_uv_pip_install_options_and_variables(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    write(root / "svc" / "requirements.txt", "six==1.17.0\n")
    write(
        root / "svc" / "Dockerfile",
        """\
        FROM python:3.12
        ENV UV_EXTRA_INDEX_URL=https://extra.example.org/simple
        RUN uv pip install --system --default-index https://pypi.example.com/simple six==1.17.0
        """,
    )
    _, findings = _check(root, STRICT, tmp_path)
    assert _rows(findings) == [("source-not-allowed", "six", (("svc/Dockerfile", 3),))]
    assert "https://extra.example.org/simple is not an allowed index" in findings[0].message


def test_an_index_the_record_does_not_name_is_not_judged(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(FIXTURES / "pip" / "sources-freeze", root)
    _, findings = _check(root, 'version: 1\nsources:\n  indexes: ["https://nowhere.example.com/*"]\n', tmp_path)
    assert findings == []


# --------------------------------------------------------------------------- hash-missing


def test_hash_missing_where_the_policy_requires_hashes(tmp_path: Path) -> None:
    policy = "version: 1\nsources:\n  require-hashes: true\n  severity: {hash-missing: warning}\n"
    plain = _copy("pip-tools/plain", tmp_path)
    code, findings = _check(plain, policy, tmp_path)
    assert code == 0  # a warning
    assert findings and {f.name for f in findings} == {"hash-missing"}
    assert all(f.severity is Severity.WARNING for f in findings)
    first = findings[0]
    assert first.message == (
        f"{first.package} is recorded without hashes in requirements.txt, and sources.require-hashes asks for"
        " them: a changed file on the index would be installed unnoticed"
    )
    assert first.locations[0].path == "requirements.txt"


@pytest.mark.parametrize("fixture", ["pip-tools/sources", "uv/sources", "poetry/sources", "pdm/sources", "pip/sources-freeze"])
def test_no_hash_missing_where_hashes_are_recorded_or_cannot_be(tmp_path: Path, fixture: str) -> None:
    # VCS checkouts and paths are allow-vcs's and allow-path's; a freeze cannot hold hashes.
    assert _check(_copy(fixture, tmp_path), "version: 1\nsources:\n  require-hashes: true\n", tmp_path) == (0, [])


def test_hash_missing_is_off_by_default(tmp_path: Path) -> None:
    assert _check(_copy("pip-tools/plain", tmp_path), "version: 1\n", tmp_path) == (0, [])


# --------------------------------------------------------------------------- insecure-index


def test_plain_http_fails_the_default_policy(tmp_path: Path) -> None:
    result = run_check([_copy("pipenv/sources", tmp_path)], select=frozenset({"EG603"}))
    assert [(f.name, f.package, f.locations, f.severity) for f in result.findings] == [
        ("insecure-index", "six", (Location("Pipfile.lock", 37),), Severity.ERROR)
    ]
    assert result.findings[0].message == (
        "six is locked from http://pypi.internal.example.com/simple over plain http (anyone on the network path"
        " can change what is installed)"
    )
    assert result.exit_code("error") == 1


def test_credentials_in_a_url_are_insecure_and_masked(tmp_path: Path) -> None:
    root = _copy("uv/sources", tmp_path)
    lock = root / "uv.lock"
    lock.write_text(lock.read_text().replace("https://pypi.internal", "https://ci:hunter2@pypi.internal"))
    result = run_check([root], select=frozenset({"EG603"}))
    (found,) = result.findings
    assert (found.package, found.locations) == ("six", (Location("uv.lock", 53),))
    assert found.message == (
        "six is locked from https://***@pypi.internal.example.com/simple with credentials written in the URL"
        " (the secret is in the repository)"
    )


@pytest.mark.parametrize(
    ("source", "insecure"),
    [
        ("http://pypi.example.com/simple", True),
        ("git+http://git.example.com/a/b", True),
        ("https://${USER}:${TOKEN}@pypi.example.com/simple", False),
        ("http://localhost:8080/simple", False),
        ("http://127.0.0.1/simple", False),
        ("https://pypi.example.com/simple http://extra.example.com/simple", True),
        ("./wheels", False),
    ],
)
def test_what_is_insecure(source: str, insecure: bool) -> None:
    service = _service(Package(NormalizedName("six"), "1.0", Kind.REGISTRY, (), None, "r.txt", 3, source=source))
    assert bool(list(source_findings(service, Policy()))) is insecure


def test_severities_follow_the_policy() -> None:
    service = _service(Package(NormalizedName("six"), "1.0", Kind.REGISTRY, (), None, "r.txt", 3, source="http://h.example.com/s"))
    for level, expected in (("warning", [Severity.WARNING]), ("ignore", [])):
        policy = Policy(sources=Sources(severity=(("source-not-allowed", "error"), ("hash-missing", "error"), ("insecure-index", level))))
        assert [f.severity for f in source_findings(service, policy)] == expected


def test_a_waiver_suppresses_a_source_finding(tmp_path: Path) -> None:
    policy = STRICT + (
        "exceptions:\n  - package: six\n    rule: source-not-allowed\n    reason: moving to the mirror, T-1\n"
        "    expires: 2099-01-01\n"
    )
    _, findings = _check(_copy("pipenv/sources", tmp_path), policy, tmp_path)
    suppressed = {f.package: f.suppressed for f in findings if f.name == "source-not-allowed"}
    assert suppressed == {"acme-widgets": False, "six": True}


# --------------------------------------------------------------------------- matching


@pytest.mark.parametrize(
    ("text", "form"),
    [
        ("HTTPS://PyPI.Example.com/Simple/", "https://pypi.example.com/Simple"),
        ("https://***@pypi.example.com/simple", "https://pypi.example.com/simple"),
        ("./libs/a/", "libs/a"),
        ("git+https://Git.Example.com/acme/lib", "git+https://git.example.com/acme/lib"),
    ],
)
def test_comparable(text: str, form: str) -> None:
    assert comparable(text) == form


def test_a_declaration_and_a_package_from_one_source_are_one_finding() -> None:
    package = Package(NormalizedName("lib"), None, Kind.VCS, (), None, "uv.lock", 7, source="git+https://g.example.com/a/lib")
    declaration = Declaration(
        NormalizedName("lib"), "lib @ git+https://g.example.com/a/lib", None, None, Kind.VCS, None,
        "pyproject.toml [project.dependencies]", "project", "pyproject.toml", 4, source="git+https://g.example.com/a/lib",
    )  # fmt: skip
    policy = Policy(sources=Sources(allow_vcs=False))
    (found,) = source_findings(_service(package, declarations=(declaration,)), policy)
    assert found.locations == (Location("uv.lock", 7), Location("pyproject.toml", 4))


def _service(*packages: Package, declarations: tuple[Declaration, ...] = ()) -> Service:
    return Service("svc", "svc", (Source("r.txt", "requirements"),), packages, declarations=declarations)
