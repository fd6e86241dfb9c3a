"""Declarations: what a file says to install, read statically, one reader module per file kind.

Records (`envguard.sources`) say what was resolved or installed. The readers here say what was
asked for, as `envguard.model.Declaration`s: a pyproject extra or dependency group, a tox
environment, a nox session, a CI step, a Dockerfile stage, a pre-commit hook. Every reader has
the loader's signature plus the outside-root switch:

    load(path: Path, shown: str, *, allow_outside_root: bool = False) -> Loaded

and returns its declarations in `Loaded.declarations` (`Loaded.packages` stays empty), the
files it read besides `path` in `Loaded.included`, and what it could not resolve statically
(an environment variable, a computed list) as warnings with `file:line`. A malformed file
raises `SourceError(shown, line, message)`. No reader imports, executes or builds anything it
reads: a noxfile is a syntax tree, a workflow is YAML data, a Dockerfile is text.
"""
