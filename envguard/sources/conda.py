"""conda environments: `environment.yml` files and installed `conda-meta/<package>.json` records.

Every package of the environment is kept, Python or not (python itself, compilers, C libraries):
they are what the environment holds, and rules decide what matters to them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

from envguard.errors import SourceError
from envguard.model import MAIN, Diagnostic, Kind, Loaded, Package, normalize
from envguard.sources import _json
from envguard.sources._json import parse_json
from envguard.sources._text import read_text

_NULL_TAG = "tag:yaml.org,2002:null"

# MatchSpec: [channel[/subdir]::]name[ version[ build]] or name[=version[=build]], then an
# optional [key=value, ...] bracket; conda drops everything from the first '#'.
_CONDA_SPEC = re.compile(r"(?P<name>[A-Za-z0-9_][A-Za-z0-9_.-]*)\s*(?P<rest>(?:[=<>!~\s].*)?)")
_BRACKET = re.compile(r"(?P<head>[^\[\]]*)\[(?P<body>[^\[\]]*)\]\s*")
_BRACKET_ITEM = re.compile(
    r"""\s*(?P<key>\w+)\s*=\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^,"']*?))\s*(?:,|$)"""
)
# "==1.2", "=1.2" or a bare "1.2" without wildcard, range or alternative is the version asked for.
_EXACT = re.compile(r"={0,2}(?P<version>[A-Za-z0-9_.+!]+)")
# Joins "a >= 1.0 , < 2" into ">=1.0,<2" so that whitespace separates only version and build.
# `(?<!\s)` tries the leading `\s+` only where a run of whitespace starts: the same matches as
# `\s*([,|])`, without retrying every position of a long run (quadratic).
_SPEC_SPACE = re.compile(r"(?:(?<!\s)\s+)?([,|])\s*|([<>=!~]=?)\s+")

# pip requirement-file lines inside the `pip:` list.
# pip's `(^|\s+)#.*$`, with `\s+` tried only where a run of whitespace starts (see _SPEC_SPACE).
_PIP_COMMENT = re.compile(r"(^|(?<!\s)\s+)#.*$")
_PIP_SPECIFIER = re.compile(r"\s*[A-Za-z0-9][A-Za-z0-9._-]*\s*(?:\[[^\]]*\])?\s*(?P<spec>[^;@]*)")
# An `#egg=name` fragment, first or after an `&` (see _egg_name).
_EGG_AFTER_HASH = re.compile(r"#egg=(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)")
_EGG_AFTER_AMP = re.compile(r"&egg=(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)")
_VCS_PREFIXES = ("git+", "hg+", "svn+", "bzr+")
_REMOTE_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_OPTION = re.compile(r"(?P<option>--[A-Za-z-]+|-[A-Za-z])\s*=?\s*(?P<value>.*)")
_INCLUDE_OPTIONS = ("-r", "--requirement", "-c", "--constraint")
_EDITABLE_OPTIONS = ("-e", "--editable")


def load(path: Path, shown: str) -> Loaded:
    """An environment.yml: `dependencies` holds conda specs and at most a `pip:` list."""
    text = read_text(path, shown)
    root = _compose(text, shown)
    if root is None or root.tag == _NULL_TAG:
        return Loaded(())
    if not _is_mapping(root):
        raise SourceError(shown, _line(root), "an environment file must be a YAML mapping")
    dependencies = _mapping_value(root, "dependencies")
    if dependencies is None or dependencies.tag == _NULL_TAG:
        return Loaded(())
    if not _is_sequence(dependencies):
        raise SourceError(shown, _line(dependencies), "'dependencies' must be a list")
    packages: list[Package] = []
    warnings: list[Diagnostic] = []
    # A `pip:` list given again through an alias is the same list: reading it once keeps a small
    # file of aliases from costing time quadratic in its size.
    read_lists: set[int] = set()
    for item in dependencies.value:
        if _is_mapping(item):
            _read_installer_lists(item, shown, packages, warnings, read_lists)
        elif _is_scalar(item) and item.tag != _NULL_TAG:
            packages.append(_conda_package(str(item.value), shown, _line(item)))
        else:
            message = "an entry of 'dependencies' must be a package spec or a 'pip:' list"
            raise SourceError(shown, _line(item), message)
    return Loaded(tuple(packages), warnings=tuple(warnings))


def load_meta(path: Path, shown: str) -> Loaded:
    """A conda-meta/<name>-<version>-<build>.json record: the one package conda installed."""
    text = read_text(path, shown)
    if not text.strip():
        raise SourceError(shown, 1, "empty conda-meta record")
    data = parse_json(text, shown)
    lines = _json.LineIndex(text)
    start = _json.root(text)
    if not isinstance(data, dict):
        raise SourceError(shown, lines.line(start), "a conda-meta record must be a JSON object")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise SourceError(shown, lines.line(start), "conda-meta record has no 'name'")
    line = lines.line(_json.members(text, start)["name"][0])
    version = data.get("version")
    if not isinstance(version, str) or not version.strip():
        raise SourceError(shown, line, f"conda-meta record of '{name}' has no 'version'")
    return Loaded((Package(normalize(name), version, Kind.REGISTRY, (), None, shown, line),))


def _compose(text: str, shown: str) -> Any:
    """The YAML node tree, which keeps the line of every entry; None for an empty document.

    Nodes are walked instead of constructed so that positions survive and nothing outside
    `dependencies` is ever expanded (aliases are shared nodes, never copied).
    """
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.compose(text, Loader=loader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark is not None else None
        reason = ", ".join(part for part in (exc.context, exc.problem) if part)
        raise SourceError(shown, line, f"invalid YAML: {reason}") from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise SourceError(shown, line, f"invalid YAML: character U+{code:04X} is not allowed") from None
    except yaml.YAMLError as exc:
        raise SourceError(shown, None, f"invalid YAML: {str(exc).splitlines()[0]}") from None
    except RecursionError:
        raise SourceError(shown, None, "invalid YAML: nested too deeply") from None


def _read_installer_lists(
    item: Any, shown: str, packages: list[Package], warnings: list[Diagnostic], read_lists: set[int]
) -> None:
    for key, value in item.value:
        if not _is_scalar(key) or key.value != "pip":
            message = f"unsupported entry '{_describe(key)}' in 'dependencies' (only 'pip:' lists are read)"
            raise SourceError(shown, _line(key), message)
        if value.tag == _NULL_TAG or id(value) in read_lists:
            continue
        if not _is_sequence(value):
            raise SourceError(shown, _line(value), "'pip' must be a list of requirements")
        read_lists.add(id(value))
        for line_node in value.value:
            if not _is_scalar(line_node) or line_node.tag == _NULL_TAG:
                raise SourceError(shown, _line(line_node), "an entry of the 'pip' list must be a requirement string")
            found = _pip_entry(str(line_node.value), shown, _line(line_node))
            if isinstance(found, Package):
                packages.append(found)
            elif found is not None:
                warnings.append(found)


def _conda_package(spec: str, shown: str, line: int) -> Package:
    text = spec.split("#", 1)[0].strip()
    head, bracket_version = _split_bracket(text, spec, shown, line)
    head = head.split("::", 1)[1] if "::" in head else head
    parsed = _CONDA_SPEC.fullmatch(head.strip())
    if parsed is None:
        raise SourceError(shown, line, f"invalid conda package spec '{spec}'")
    version, specifier = _conda_version(parsed.group("rest"))
    if version is None and specifier is None and bracket_version is not None:
        version, specifier = _classify(bracket_version)
    return Package(
        name=normalize(parsed.group("name")),
        version=version,
        kind=Kind.REGISTRY,
        groups=(MAIN,),
        marker=None,
        path=shown,
        line=line,
        specifier=specifier,
    )


def _split_bracket(text: str, spec: str, shown: str, line: int) -> tuple[str, str | None]:
    """The spec without its `[key=value, ...]` part, and the `version` given there."""
    if "[" not in text and "]" not in text:
        return text, None
    found = _BRACKET.fullmatch(text)
    if found is None:
        raise SourceError(shown, line, f"invalid conda package spec '{spec}': unbalanced '[...]'")
    body = found.group("body")
    version = None
    position = 0
    while position < len(body):
        item = _BRACKET_ITEM.match(body, position)
        if item is None or item.end() == position:
            raise SourceError(shown, line, f"invalid conda package spec '{spec}': expected key=value in '[...]'")
        if item.group("key") == "version":
            version = next(value for value in item.group("dq", "sq", "bare") if value is not None).strip()
        position = item.end()
    return found.group("head"), version or None


def _conda_version(rest: str) -> tuple[str | None, str | None]:
    compact = _SPEC_SPACE.sub(lambda m: m.group(1) or m.group(2), rest.strip())
    if not compact:
        return None, None
    words = compact.split()
    written = words[0]
    # "=1.2=build" and "==1.2=build": the build string is not part of the version.
    operator = "==" if written.startswith("==") else "=" if written.startswith("=") else ""
    if operator:
        version, has_build = written[len(operator) :].partition("=")[::2]
        written = operator + version
        if operator == "=" and not has_build and len(words) == 1:
            # conda's MatchSpec turns "=1.26" without a build into "1.26*": fuzzy, any 1.26.x.
            # Only a build string ("=1.26.4=py311h...", as `conda env export` writes) or "=="
            # makes it exact.
            return None, written
    return _classify(written)


def _classify(written: str) -> tuple[str | None, str | None]:
    exact = _EXACT.fullmatch(written)
    if exact is not None:
        return exact.group("version"), None
    return None, written


def _pip_entry(raw: str, shown: str, line: int) -> Package | Diagnostic | None:
    """One pip requirement-file line: a package, a warning for what cannot be read, or nothing."""
    text = _PIP_COMMENT.sub("", raw).strip()
    if not text:
        return None
    if text.startswith("-"):
        return _pip_option(text, shown, line)
    # pip reads options after the requirement (`--hash=...`) from the first word starting with '-'.
    words = text.split(" ")
    first_option = next((i for i, word in enumerate(words) if word.startswith("-")), len(words))
    requirement_text = " ".join(words[:first_option]).strip()
    try:
        requirement = Requirement(requirement_text)
    except InvalidRequirement as exc:
        if _looks_like_location(requirement_text):
            return _direct_reference(requirement_text, shown, line, editable=False)
        reason = str(exc).splitlines()[0] if str(exc) else "not a requirement"
        raise SourceError(shown, line, f"invalid pip requirement '{requirement_text}': {reason}") from None
    marker = str(requirement.marker) if requirement.marker is not None else None
    if requirement.url is not None:
        kind = _location_kind(requirement.url, editable=False)
        return _pip_package(requirement.name, None, None, kind, marker, shown, line)
    version = _pinned_version(requirement)
    specifier = _specifier_text(requirement_text) if version is None else None
    return _pip_package(requirement.name, version, specifier, Kind.REGISTRY, marker, shown, line)


def _pip_option(text: str, shown: str, line: int) -> Package | Diagnostic | None:
    found = _OPTION.match(text)
    option, value = (found.group("option"), found.group("value").strip()) if found else (text, "")
    if option in _EDITABLE_OPTIONS and value:
        return _direct_reference(value, shown, line, editable=True)
    if option in _INCLUDE_OPTIONS:
        return Diagnostic(shown, line, f"'{text}' in the 'pip' list is not followed: scan that file on its own")
    # Index and install options (--index-url, --find-links, --pre, ...) name no package.
    return None


def _direct_reference(location: str, shown: str, line: int, *, editable: bool) -> Package | Diagnostic:
    """A bare URL or path: only an `#egg=name` fragment says which package it is."""
    egg = _egg_name(location)
    if egg is None:
        return Diagnostic(shown, line, f"cannot tell which package '{location}' installs (add '#egg=<name>'); skipped")
    kind = _location_kind(location, editable=editable)
    return _pip_package(egg, None, None, kind, None, shown, line)


def _egg_name(location: str) -> str | None:
    """The name `#(?:.*&)?egg=(?P<name>...)` finds, without retrying `.*` from every `#` of a
    line (quadratic: minutes for a long line of `#egg=`). Per line, as `.` stops at one: from
    the first `#`, the greedy `.*&` takes the last `&egg=name`; else the first `#egg=name`."""
    for text in location.split("\n"):
        first = text.find("#")
        if first == -1:
            continue
        after_amp = None
        for after_amp in _EGG_AFTER_AMP.finditer(text, first + 1):
            pass
        found = after_amp or _EGG_AFTER_HASH.search(text, first)
        if found is not None:
            return found.group("name")
    return None


def _location_kind(location: str, *, editable: bool) -> Kind:
    if editable:
        return Kind.EDITABLE
    if location.lower().startswith(_VCS_PREFIXES):
        return Kind.VCS
    remote = _REMOTE_URL.match(location) is not None and not location.lower().startswith("file:")
    return Kind.URL if remote else Kind.PATH


def _looks_like_location(text: str) -> bool:
    return "/" in text or "\\" in text or text.endswith((".whl", ".zip", ".tar.gz", ".tar.bz2", ".tgz"))


def _specifier_text(requirement_text: str) -> str | None:
    """The specifier as written (packaging reorders it), without spaces or legacy parentheses."""
    found = _PIP_SPECIFIER.match(requirement_text)
    written = re.sub(r"\s+", "", found.group("spec")) if found else ""
    return written.removeprefix("(").removesuffix(")") or None


def _pinned_version(requirement: Requirement) -> str | None:
    specifiers = list(requirement.specifier)
    if len(specifiers) != 1:
        return None
    only = specifiers[0]
    if only.operator == "===" or (only.operator == "==" and not only.version.endswith("*")):
        return only.version
    return None


def _pip_package(
    name: str, version: str | None, specifier: str | None, kind: Kind, marker: str | None, shown: str, line: int
) -> Package:
    return Package(
        name=normalize(name),
        version=version,
        kind=kind,
        groups=(MAIN,),
        marker=marker,
        path=shown,
        line=line,
        specifier=specifier,
    )


def _mapping_value(mapping: Any, key: str) -> Any:
    """The value node of `key`; the last one wins, as when the YAML is loaded."""
    found = None
    for key_node, value_node in mapping.value:
        if _is_scalar(key_node) and key_node.value == key:
            found = value_node
    return found


# PyYAML nodes say what they are in `id`; checking it keeps yaml out of this module's imports.
def _is_mapping(node: Any) -> bool:
    return _node_id(node) == "mapping"


def _is_sequence(node: Any) -> bool:
    return _node_id(node) == "sequence"


def _is_scalar(node: Any) -> bool:
    return _node_id(node) == "scalar"


def _node_id(node: Any) -> str:
    return str(node.id)


def _describe(node: Any) -> str:
    return str(node.value) if _is_scalar(node) else "a non-string key"


def _line(node: Any) -> int:
    return int(node.start_mark.line) + 1
