"""Every rule envguard knows: stable code, stable name, default severity and its documentation.

`envguard explain`, the SARIF rule table and the docs all read this one table.
"""

from __future__ import annotations


from envguard._record import record
from envguard.model import Severity


@record(frozen=True)
class Rule:
    """A rule's stable code and name, its default severity, and what `envguard explain` says of it."""

    code: str
    name: str
    severity: Severity
    summary: str
    why: str
    fix: str


RULES: tuple[Rule, ...] = (
    Rule(
        "EG101",
        "unapproved-plugin",
        Severity.WARNING,
        "A pytest plugin that the policy does not list under plugins.approved, locked in a record or "
        "declared (a pyproject extra or group, tox, nox, a CI step, a Dockerfile).",
        "Every installed pytest plugin runs inside every test session: it can add fixtures, reorder or skip "
        "tests, and change results. A plugin nobody reviewed makes CI results of one service incomparable "
        "with the others. Severity follows plugins.unknown (error, warning or ignore).",
        "Remove the plugin from the service's dependencies, or add it to plugins.approved with the version "
        "range you reviewed. To accept it in one service for a while, add an exception with a reason and an "
        "expiry date.",
    ),
    Rule(
        "EG102",
        "plugin-version-not-allowed",
        Severity.ERROR,
        "An approved pytest plugin locked at a version outside its approved specifier, or declared with a "
        "specifier that admits none of the approved versions (an error) or, where no record pins it, also "
        "versions outside them (a warning).",
        "Plugin behaviour changes between major versions (pytest-asyncio's default mode, pytest-cov's "
        "options); a service outside the reviewed range tests under different rules.",
        "Move the plugin into the approved range with the service's locking tool, or widen the range in the "
        "policy after review.",
    ),
    Rule(
        "EG103",
        "denied-package",
        Severity.ERROR,
        "A package the policy lists under plugins.denied, with the policy's reason.",
        "The organisation decided against this package; the reason in the policy says why.",
        "Remove the package (the reason usually names the replacement), or add a time-limited exception.",
    ),
    Rule(
        "EG104",
        "pytest-version-not-allowed",
        Severity.ERROR,
        "pytest itself locked at a version outside pytest.allowed, or declared with a specifier that admits "
        "none of the allowed versions (an error) or, where no record pins it, also others (a warning).",
        "pytest major versions remove deprecated behaviour and change collection; services on different "
        "majors do not run the same test semantics, and plugins drop support for old majors.",
        "Upgrade (or pin) pytest into the allowed range with the service's locking tool.",
    ),
    Rule(
        "EG105",
        "required-plugin-missing",
        Severity.ERROR,
        "required_plugins in the service's pytest configuration names a plugin its lock lacks or "
        "locks at a version that does not satisfy the requirement.",
        "pytest refuses to start when a required plugin is missing; catching it before the test stage "
        "saves a CI round trip.",
        "Add the plugin to the service's test dependencies and re-lock, or remove it from required_plugins.",
    ),
    Rule(
        "EG201",
        "version-drift",
        Severity.ERROR,
        "Services use versions of one package that differ by more than the drift rule allows.",
        "Drift makes CI results incomparable between services and turns upgrades into surprises.",
        "Move the outliers to the suggested version with each service's own locking tool.",
    ),
    Rule(
        "EG202",
        "pinned-version-mismatch",
        Severity.ERROR,
        "A service uses a version outside the specifier a drift rule pins the package to.",
        "The organisation standardised this package on a range.",
        "Move the service into the pinned range with its locking tool.",
    ),
    Rule(
        "EG203",
        "snap-to-mismatch",
        Severity.ERROR,
        "A service uses a different version than the reference service a drift rule snaps to.",
        "The reference service defines the version every other service must use.",
        "Move the service to the reference service's version with its locking tool.",
    ),
    Rule(
        "EG401",
        "lock-mismatch",
        Severity.ERROR,
        "An installed distribution whose version differs from the version the lock records.",
        "CI must run exactly what was locked; a cached wheel or a stray `pip install` makes the run "
        "differ from every developer's and from yesterday's.",
        "Recreate the environment from the lock (for example `uv sync --locked`, `poetry install --sync`, "
        "`pdm sync --clean`, `pipenv sync`, `pip-sync`).",
    ),
    Rule(
        "EG402",
        "missing-from-environment",
        Severity.ERROR,
        "A package the lock records for this interpreter and these groups that is not installed.",
        "Tests then run without a dependency the lock promises, or with whatever another tool left behind.",
        "Install the environment from the lock with the selected groups.",
    ),
    Rule(
        "EG403",
        "not-in-lock",
        Severity.ERROR,
        "An installed distribution the lock does not record (pip, setuptools, wheel and the project itself "
        "are ignored by default).",
        "An unlocked package, often a pytest plugin pulled in by another tool, changes test behaviour "
        "without review.",
        "Remove it from the environment, or add it to the project's dependencies and re-lock.",
    ),
    Rule(
        "EG404",
        "broken-requirement",
        Severity.ERROR,
        "An installed distribution whose declared requirements are missing or unsatisfied, as `pip check` "
        "reports.",
        "Environments assembled with `--no-deps` or by hand import-fail or behave differently at test time.",
        "Install the missing requirement at a satisfying version, or re-create the environment from the lock.",
    ),
    Rule(
        "EG405",
        "duplicate-installation",
        Severity.ERROR,
        "One distribution installed more than once on the interpreter's path.",
        "Which copy is imported depends on path order; metadata and code may come from different copies.",
        "Uninstall the stray copy and re-create the environment.",
    ),
    Rule(
        "EG406",
        "entry-point-collision",
        Severity.ERROR,
        "A pytest11 entry-point name registered by two distributions; pytest loads only one of them.",
        "The plugin that loses is silently ignored, so tests run without fixtures or hooks someone relies on.",
        "Remove one of the distributions, or block one with `-p no:NAME` after review.",
    ),
    Rule(
        "EG501",
        "unpinned-install",
        Severity.WARNING,
        "A CI step, Dockerfile, tox environment or nox session installs a package without an exact pin (==) "
        "and without a constraints file that pins it (-c, --constraint, PIP_CONSTRAINT, UV_CONSTRAINT), hash "
        "checking (--require-hashes) or a pinned -r file. Severity follows installs.unpinned; installs.exempt "
        "lists packages that may stay unpinned (pip, setuptools and wheel by default).",
        "An unpinned install resolves afresh on every run: the same commit tests against whatever was "
        "released that morning, and two runners of one pipeline can test different versions. hadolint's "
        "DL3013 says the same of Dockerfiles; envguard also follows -r and -c files.",
        "Pin it (name==version, the version the service's lock records where it has one), install from a "
        "lock or a pinned requirements file, or pass a constraints file that pins it.",
    ),
    Rule(
        "EG502",
        "lock-out-of-date",
        Severity.ERROR,
        "A lock that no longer matches its manifest, decided offline as the locker's own check does: uv.lock "
        "against pyproject.toml (uv lock --check), poetry.lock's content-hash (poetry check --lock), pdm.lock's "
        "content_hash (pdm lock --check), Pipfile.lock's _meta.hash (pipenv verify).",
        "A stale lock installs something else than the manifest asks for, and the next person who locks gets "
        "a surprise diff; CI built from it tests an environment nobody declared.",
        "Run the locker in the service directory (uv lock, poetry lock, pdm lock, pipenv lock) and commit the "
        "lock with the manifest.",
    ),
    Rule(
        "EG503",
        "environment-mismatch",
        Severity.ERROR,
        "An install declared beside a record (a CI step, Dockerfile, tox or nox environment, a requirements "
        "file next to a lock) pins a package at a version the record does not hold, or asks for a range that "
        "none of the record's versions satisfies.",
        "CI then tests something else than what was locked: the lock says 8.4.2, the pipeline installs "
        "7.4.4, and a bug that only one of them has passes review.",
        "Install from the lock (uv sync --locked, poetry install --sync, pdm sync, pipenv sync, pip install -r "
        "the compiled file), or move the declared pin to the locked version.",
    ),
    Rule(
        "EG601",
        "source-not-allowed",
        Severity.ERROR,
        "A package locked or declared from an index that sources.indexes does not list, or from a VCS "
        "checkout, a direct URL or a local path that sources.allow-vcs, allow-url or allow-path does not "
        "allow. Read from uv.lock `source`, poetry.lock `[package.source]`, pdm.lock, Pipfile.lock "
        "`_meta.sources` and `index`, pylock `index`, requirements `--index-url`, `--extra-index-url` and "
        "URL requirements, freeze `name @ url`, and the index options of pip and uv installs in CI, "
        "Dockerfiles, tox and nox. Severity from sources.severity.",
        "A package from an index nobody approved is the dependency-confusion attack: a public index offering "
        "a higher version of an internal name wins. VCS, URL and path dependencies bypass the index's "
        "review, retention and mirroring; a branch or a URL can change under the same lock.",
        "Re-lock against an allowed index (or pin the package to one: uv's `[tool.uv.sources]`, Poetry's "
        "`source =`, Pipfile's `index =`), replace the direct reference with a released version, or allow "
        "the source in the policy's `sources:` after review. To accept it for a while, add an exception.",
    ),
    Rule(
        "EG602",
        "hash-missing",
        Severity.ERROR,
        "With sources.require-hashes, a package a record downloads from an index or a URL without a hash "
        "(a requirements file without --hash, a lock entry without file hashes). Severity from "
        "sources.severity.",
        "Without hashes, whatever the index serves under that name and version is installed: a replaced "
        "file, a compromised mirror or a re-uploaded sdist goes unnoticed.",
        "Record hashes: `pip-compile --generate-hashes`, `uv pip compile --generate-hashes`, `uv export` "
        "(hashes by default), `poetry lock`, `pdm lock`, `pipenv lock` all write them.",
    ),
    Rule(
        "EG603",
        "insecure-index",
        Severity.ERROR,
        "A package locked or declared from a plain http:// index or URL (this machine excepted, as pip does), "
        "or from a URL holding credentials (`https://user:token@host/...`), shown masked. On in the default "
        "policy; severity from sources.severity.",
        "Over http anyone on the network path can substitute packages; credentials written into a committed "
        "file are readable by everyone who can read the repository, its forks and its CI logs.",
        "Use https, and pass credentials from the environment (keyring, netrc, `${TOKEN}` placeholders, the "
        "locker's auth settings); rotate a token that was committed.",
    ),
    Rule(
        "EG301",
        "exception-expired",
        Severity.ERROR,
        "A policy exception whose expiry date has passed; the finding it suppressed is reported again.",
        "Exceptions are promises with a date; an expired one silently turning permanent defeats the policy.",
        "Fix the underlying finding, or renew the exception with a new date and reason after review.",
    ),
    Rule(
        "EG302",
        "exception-expiring",
        Severity.WARNING,
        "A policy exception that expires within 14 days.",
        "A warning before the exception expires gives its owner time to act before CI turns red.",
        "Fix the underlying finding before the date, or renew the exception.",
    ),
    Rule(
        "EG303",
        "exception-unused",
        Severity.WARNING,
        "A policy exception that suppressed nothing in this run.",
        "Stale exceptions hide future findings that nobody reviewed.",
        "Delete the exception from the policy.",
    ),
)

BY_NAME: dict[str, Rule] = {rule.name: rule for rule in RULES}
BY_CODE: dict[str, Rule] = {rule.code: rule for rule in RULES}


def lookup(name_or_code: str) -> Rule | None:
    key = name_or_code.strip()
    return BY_NAME.get(key.lower()) or BY_CODE.get(key.upper())
