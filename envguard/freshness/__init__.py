"""Whether a lock still matches its manifest, decided offline as the locking tool's own check does.

The facts behind the `lock-out-of-date` rule. Each lock loader calls its tool's module at the end
of `load`, with the document it has already parsed, and puts the answer into
`Loaded.stale_locks`: a `StaleLock`, or nothing when the lock is fresh, when there is no manifest
beside it, or when the lock or the manifest carries nothing envguard can compare the way the
tool does. No tool is imported and nothing is resolved or fetched; the manifest is read through
`envguard.sources._text.read_text`, so the cache knows the verdict depends on it.

What is compared, per tool (the module docstrings give the details):
  - uv (`uv lock --check`): no hash; the lock records what it was resolved from, and the
    workspace's pyproject.toml files (members below the lock and path dependencies too) are
    lowered and compared with it as sets: `requires-python` by range, each local project's
    version, `requires-dist`, `provides-extras` and dependency groups, the `[manifest]` members,
    constraints, overrides, excludes, build constraints and root dependency groups, the resolver
    options, and the indexes packages come from. The differing requirement is named, on both sides.
  - Poetry (`poetry check --lock`): `[metadata] content-hash`, the sha256 of the relevant
    pyproject.toml tables as the Poetry named in the lock's first line computes it.
  - pdm (`pdm lock --check`): `[metadata] content_hash` as the pdm versions writing the lock's
    `lock_version` compute it.
  - pipenv (`pipenv verify`): `_meta.hash.sha256` of the Pipfile, as pipenv and plette compute it.

A hash tells only that something changed. For the hash-based tools the manifest line is named
when the lock itself proves it changed (see `_direct`): a requirement that applies everywhere and
that no locked package satisfies, a Python requirement or a Pipfile `[requires]` the lock records
differently. Otherwise the line is None and the reason says the hash differs.

Decisions:
  - The writer's algorithm. When a tool changed its hashing (pdm several times, Poetry 2.3,
    pipenv's name normalisation), the check follows the version that wrote the lock, which the lock
    says or its format version implies: upgrading the tool does not make every lock stale.
  - Undecided is not stale. Anything uv would need to build, fetch or read from configuration
    outside the manifests (`uv.toml`, environment variables), a pdm `lock_inputs` lock, a pdm 1.x
    or pre-1.0 Poetry lock, gives no verdict rather than a guess.
  - Nothing is refused. A manifest envguard cannot parse gives no verdict here (its own reader
    reports it); local projects outside the scanned root are not read unless `allow_outside_root`.
"""
