"""pre-commit configurations (`.pre-commit-config.yaml`), read for what their Python hooks install.

pre-commit builds a virtualenv for every Python hook and installs the hook's repository into it
together with the hook's `additional_dependencies` (`pip install . <deps>`): a mypy hook's
`types-requests==2.31`, a flake8 hook's plugins. Each of them is a declaration at its own line,
in the environment `<file> hook <id>`, origin "pre-commit", `install=False`: it is installed
into the hook's own environment, never into a service's, so the unpinned-install rule is not
about it. Duplicate ids (the same hook twice with other arguments) are told apart by `alias`,
else `name`, else their position (`#2`).

Which hooks are Python hooks. A hook's language is declared in the hook repository's
`.pre-commit-hooks.yaml`, which only a clone would show; a static reading decides from the
configuration alone:

* `language:` in the configuration wins (it overrides the manifest): `python` is Python,
  anything else (`node`, `system`, `golang`, ...) is not. `repo: local` hooks must say it, as
  pre-commit requires; `repo: meta` hooks install nothing;
* a remote hook from a repository known to be of another language (`pre-commit/mirrors-eslint`,
  `mirrors-prettier` and the few in `_OTHER_LANGUAGES`) is not;
* any other remote hook is taken to be a Python hook (most hooks with dependencies are) when
  every one of its dependencies reads as a Python requirement. One that does not (npm's
  `eslint@8.0.0`, which PEP 508 would take for a URL, or `@types/node`) makes the hook one of
  another language, which is said in a warning and not read further.

In a Python hook a dependency that is no requirement is a SourceError at its line (pip would
refuse it). A pip option (`--index-url=...`) or a local path (resolved by pip from the hook
repository's clone, not from the workspace) is a warning. Requirements are parsed by
`envguard.sources.requirements.requested_words`, as every other install argument is.

The YAML is read with `envguard.declared._yaml`, the line-aware loader the CI readers share:
PyYAML's parser (the C one when available, as pre-commit itself loads the file), merge keys
(`<<: *anchor`), aliases and repeated keys as PyYAML reads them, nesting and alias expansion
bounded. Malformed YAML and values of the wrong type for the keys read here (`repos`, `repo`,
`hooks`, `id`, `alias`, `name`, `language`, `additional_dependencies`; pre_commit.clientlib's
schema) are SourceErrors; other keys are pre-commit's business.
"""

from __future__ import annotations

import functools
import posixpath
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from envguard._record import record
from envguard.declared import _yaml
from envguard.errors import SourceError
from envguard.model import Declaration, Diagnostic, Loaded
from envguard.sources._text import read_text

__all__ = ["load"]

# Hook repositories whose hooks are of another language and take that language's packages as
# additional_dependencies (owner/name, lower case).
_OTHER_LANGUAGES = frozenset(
    {
        "pre-commit/mirrors-prettier",
        "rbubley/mirrors-prettier",
        "pre-commit/mirrors-eslint",
        "pre-commit/mirrors-csslint",
        "pre-commit/mirrors-jshint",
        "pre-commit/mirrors-fixmyjs",
        "pre-commit/mirrors-scss-lint",
        "pre-commit/mirrors-puppet-lint",
        "igorshubovych/markdownlint-cli",
        "alessandrojcm/commitlint-pre-commit-hook",
        "biomejs/pre-commit",
        "streetsidesoftware/cspell-cli",
    }
)
_LOCAL = "local"
_META = "meta"
_REPOSITORY = re.compile(r"([^/:]+/[^/:]+?)(?:\.git)?/*$")


def load(path: Path, shown: str, *, allow_outside_root: bool = False) -> Loaded:
    """The additional_dependencies of the configuration's Python hooks."""
    hooks = _hooks(read_text(path, shown), shown)
    reader = _Reader(path, shown, allow_outside_root)
    for hook, label in zip(hooks, _labels(hooks)):
        reader.read(hook, f"{shown} hook {label}")
    return Loaded((), (), tuple(reader.warnings), tuple(reader.declarations))


def _hooks(text: str, shown: str) -> list[_Hook]:
    """Every hook of the configuration, in file order."""
    root = _yaml.load(text, shown)
    if root is None:
        raise SourceError(shown, 1, "empty configuration: pre-commit needs a mapping with 'repos'")
    repos = _required(_mapping(root, shown, "the configuration"), "repos", shown)
    hooks: list[_Hook] = []
    for repo_node in _sequence(repos, shown, "repos"):
        repo_keys = _mapping(repo_node, shown, "a repos entry")
        repo = _string(_required(repo_keys, "repo", shown), shown, "repo")
        for hook_node in _sequence(_required(repo_keys, "hooks", shown), shown, "hooks"):
            hooks.append(_hook(repo, hook_node, shown))
    return hooks


# ----------------------------------------------------------------------------- hooks


@record(frozen=True)
class _Hook:
    repo: str
    id: str
    alias: str | None
    name: str | None
    language: str | None
    line: int
    dependencies: tuple[tuple[str, int], ...]


def _hook(repo: str, node: _yaml.Node, shown: str) -> _Hook:
    keys = _mapping(node, shown, "a hooks entry")
    hook_id = _string(_required(keys, "id", shown), shown, "id")

    def optional(key: str) -> str | None:
        value = keys.get(key)
        return _string(value, shown, key) if value is not None else None

    dependencies: list[tuple[str, int]] = []
    listed = keys.get("additional_dependencies")
    if listed is not None:
        for item in _sequence(listed, shown, "additional_dependencies"):
            dependencies.append((_string(item, shown, "additional_dependencies"), item.line))
    language = optional("language")
    if repo == _LOCAL and language is None:
        raise SourceError(shown, keys.line, f"local hook {hook_id!r} needs a language (pre-commit requires it)")
    return _Hook(repo, hook_id, optional("alias"), optional("name"), language, keys.line, tuple(dependencies))


def _labels(hooks: list[_Hook]) -> list[str]:
    """The hook id, and for an id used twice, what tells the hooks apart."""
    counts = Counter(hook.id for hook in hooks)
    seen: Counter[str] = Counter()
    labels = []
    for hook in hooks:
        seen[hook.id] += 1
        if counts[hook.id] == 1:
            labels.append(hook.id)
            continue
        twins = [other for other in hooks if other.id == hook.id]
        if hook.alias and sum(other.alias == hook.alias for other in twins) == 1:
            labels.append(f"{hook.id} (alias {hook.alias})")
        elif hook.name and sum(other.name == hook.name for other in twins) == 1:
            labels.append(f"{hook.id} ({hook.name})")
        else:
            labels.append(f"{hook.id} #{seen[hook.id]}")
    return labels


def _repository(url: str) -> str:
    """`owner/name` of a hook repository URL (lower case), for the list of other languages."""
    found = _REPOSITORY.search(url.strip())
    return found.group(1).lower() if found else url.lower()


@dataclass
class _Reader:
    path: Path
    shown: str
    allow_outside_root: bool

    def __post_init__(self) -> None:
        self.declarations: list[Declaration] = []
        self.warnings: list[Diagnostic] = []

    def read(self, hook: _Hook, environment: str) -> None:
        if not hook.dependencies or hook.repo == _META:
            return
        if hook.language is not None:
            if hook.language != "python":
                return
            explicit = True
        else:
            if _repository(hook.repo) in _OTHER_LANGUAGES:
                return
            explicit = False
            foreign = next((text for text, _ in hook.dependencies if not _looks_python(text)), None)
            if foreign is not None:
                self.warnings.append(
                    Diagnostic(
                        self.shown,
                        hook.line,
                        f"hook {hook.id!r}: additional_dependencies such as {foreign!r} are no Python requirements; "
                        "taken for a hook of another language, not read",
                    )
                )
                return
        for text, line in hook.dependencies:
            self.dependency(text.strip(), line, environment, explicit)

    def dependency(self, text: str, line: int, environment: str, explicit: bool) -> None:
        from envguard.sources.requirements import requested_words

        if text.startswith("-"):
            self.warn(line, f"pip option {text!r} in additional_dependencies is not read")
            return
        if _looks_local(text):
            self.warn(line, f"{text!r} is a path in the hook repository's clone, not in the workspace; not read")
            return
        if explicit and not _looks_python(text):
            raise SourceError(self.shown, line, f"{text!r} is not a Python requirement (PEP 508)")
        directory = posixpath.dirname(self.shown) or "."
        requested = requested_words(
            [(text, line, False)], self.path.parent, directory, self.shown, allow_outside_root=self.allow_outside_root
        )
        self.warnings.extend(requested.warnings)
        for package, written in requested.entries:
            declaration = Declaration.of_package(package, written, environment, "pre-commit", path=self.shown, line=line)
            self.declarations.append(declaration)

    def warn(self, line: int, message: str) -> None:
        self.warnings.append(Diagnostic(self.shown, line, message))


def _looks_local(text: str) -> bool:
    if text.startswith((".", "/", "~", "file:")):
        return True
    return "://" not in text and "/" in text.partition("@")[0].partition(";")[0]


@functools.lru_cache(maxsize=1024)
def _looks_python(text: str) -> bool:
    """PEP 508, and a URL (if any) with a scheme: npm's `eslint@8.0.0` is no `name @ url`."""
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        requirement = Requirement(text)
    except InvalidRequirement:
        return False
    url = requirement.url
    return url is None or "://" in url or url.startswith("file:")


# ----------------------------------------------------------------------------- YAML nodes


def _mapping(node: _yaml.Node, shown: str, what: str) -> _yaml.Map:
    if not isinstance(node, _yaml.Map):
        raise SourceError(shown, node.line, f"{what} must be a mapping, not {_yaml.describe(node)}")
    return node


def _required(keys: _yaml.Map, key: str, shown: str) -> _yaml.Node:
    value = keys.get(key)
    if value is None:
        raise SourceError(shown, keys.line, f"missing required key {key!r}")
    return value


def _sequence(node: _yaml.Node, shown: str, key: str) -> tuple[_yaml.Node, ...]:
    if not isinstance(node, _yaml.Seq):
        raise SourceError(shown, node.line, f"{key} must be a list, not {_yaml.describe(node)}")
    return node.items


def _string(node: _yaml.Node, shown: str, key: str) -> str:
    if not isinstance(node, _yaml.Scalar) or node.tag != _yaml.STR_TAG:
        raise SourceError(shown, node.line, f"{key} must be a string, not {_yaml.describe(node)}")
    return node.value
