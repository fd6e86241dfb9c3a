"""Synthetic monorepos for envguard's benchmarks: N services in mixed formats.

Every file is shaped like what the real tool writes (see tests/fixtures/** and
examples/monorepo/services/**): the same keys in the same order, the same indentation, sdist
and wheel entries with sha256 hashes, `# via` comments, a Pipfile.lock `_meta`. Sizes follow the
real files: a lock of 25-90 packages, a few of them binary with 10-60 wheels, so a uv.lock is
about 100-300 KB and a pip-compile file with hashes 10-40 KB.

Drift and plugins are controlled: `drift` is the share of services that move one of the shared
packages (pytest, a plugin, a library) off the common version; `unknown_plugins` the share that
add a plugin the policy does not approve (pytest-randomly, pytest-sugar). The same seed gives the
same bytes. Beside the records, services carry the files that declare test environments
(pyproject.toml, Pipfile, tox.ini, Dockerfile, noxfile.py), and the root a CI workflow and a
pre-commit configuration.

    python benchmarks/generate.py OUT --services 500 [--seed 0] [--drift 0.1] [--unknown-plugins 0.05]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path

# format id -> share of the services written in it.
FORMATS: dict[str, float] = {
    "uv": 0.24,
    "poetry": 0.12,  # poetry 2.x, lock-version 2.1 (groups, markers)
    "poetry18": 0.06,  # poetry 1.8, lock-version 2.0 (no groups)
    "pdm": 0.14,
    "pipenv": 0.10,
    "pylock": 0.10,  # uv export --format pylock.toml
    "pip-compile": 0.16,  # pip-compile --generate-hashes
    "freeze": 0.08,  # pip freeze > requirements.txt
}

INDEX = "https://pypi.example.com/simple"
FILES = "https://files.example.com/packages"

# Real names for the packages every rule looks at; the rest of the universe is synthetic.
_TEST_STACK = [
    ("pytest", ["8.4.2", "8.3.5", "7.4.4", "9.2.0"], ["iniconfig", "packaging", "pluggy", "pygments", "colorama"]),
    ("pytest-cov", ["7.1.0", "6.3.0", "5.0.0"], ["pytest", "coverage"]),
    ("pytest-xdist", ["3.8.0", "3.6.1"], ["pytest", "execnet"]),
    ("pytest-mock", ["3.17.0", "3.14.0"], ["pytest"]),
    ("pytest-asyncio", ["1.3.0", "0.23.8"], ["pytest"]),
    ("pytest-timeout", ["2.4.0", "2.3.1"], ["pytest"]),
    ("hypothesis", ["6.170.17", "6.139.3"], ["attrs", "sortedcontainers"]),
]
_UNKNOWN_PLUGINS = [
    ("pytest-randomly", ["3.16.0"], ["pytest"]),
    ("pytest-sugar", ["1.1.1"], ["pytest", "termcolor"]),
]
_BASE = [
    ("iniconfig", ["2.3.1"], []),
    ("packaging", ["26.4", "25.0"], []),
    ("pluggy", ["1.7.0"], []),
    ("Pygments", ["2.21.0"], []),
    ("colorama", ["0.4.6"], []),
    ("coverage", ["7.17.4", "7.10.7"], []),
    ("execnet", ["2.1.2"], []),
    ("attrs", ["26.1.0", "25.3.0"], []),
    ("sortedcontainers", ["2.4.0"], []),
    ("termcolor", ["3.2.0"], []),
    ("certifi", ["2026.10.19.post1"], []),
    ("idna", ["3.20"], []),
    ("urllib3", ["2.8.0", "1.26.20"], []),
    ("charset-normalizer", ["3.5.3"], []),
    ("requests", ["2.34.2", "2.32.3"], ["certifi", "idna", "urllib3", "charset-normalizer"]),
    ("typing_extensions", ["4.16.0"], []),
    ("annotated-types", ["0.8.0"], []),
    ("pydantic-core", ["2.50.5"], ["typing_extensions"]),
    ("pydantic", ["2.13.1", "2.11.7"], ["annotated-types", "pydantic-core", "typing_extensions"]),
    ("anyio", ["4.16.0"], ["idna"]),
    ("h11", ["0.16.0"], []),
    ("httpcore", ["1.0.9"], ["certifi", "h11"]),
    ("httpx", ["0.28.1", "0.27.2"], ["anyio", "certifi", "httpcore", "idna"]),
    ("MarkupSafe", ["3.0.3"], []),
    ("Jinja2", ["3.1.6"], ["MarkupSafe"]),
    ("PyYAML", ["6.0.3"], []),
    ("click", ["8.3.0"], ["colorama"]),
]
_SHARED = {name.lower().replace("_", "-") for name, _, _ in _BASE + _TEST_STACK}
_BINARY = {"charset-normalizer", "pydantic-core", "coverage", "MarkupSafe", "PyYAML"}
_WORDS = (
    "alpha beta gamma delta omega lumen vector quartz cobalt ember fjord harbor ion jade kelp "
    "lattice meadow nectar orbit prism quill raven sable tundra umbra vale willow xenon yarrow zephyr"
).split()
_PLATFORMS = (
    "cp311-cp311-macosx_10_9_x86_64",
    "cp311-cp311-macosx_11_0_arm64",
    "cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64",
    "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64",
    "cp311-cp311-musllinux_1_2_aarch64",
    "cp311-cp311-musllinux_1_2_x86_64",
    "cp311-cp311-win32",
    "cp311-cp311-win_amd64",
    "cp312-cp312-macosx_10_13_x86_64",
    "cp312-cp312-macosx_11_0_arm64",
    "cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64",
    "cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64",
    "cp312-cp312-musllinux_1_2_x86_64",
    "cp312-cp312-win_amd64",
    "cp313-cp313-macosx_11_0_arm64",
    "cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64",
    "cp313-cp313-musllinux_1_2_x86_64",
    "cp313-cp313-win_amd64",
    "cp314-cp314-manylinux_2_17_x86_64.manylinux2014_x86_64",
    "cp314-cp314-win_amd64",
)


@dataclass
class Dist:
    """One project of the universe: what every service that uses it agrees on."""

    name: str  # as the project spells it (PyYAML, typing_extensions)
    versions: list[str]
    deps: list[str]
    wheels: int  # wheels per release: 1 for pure Python
    summary: str
    marker: str | None = None  # the environment marker dependents attach to it

    @property
    def key(self) -> str:
        return self.name.lower().replace("_", "-").replace(".", "-")


@dataclass
class ServicePlan:
    name: str
    fmt: str
    main: list[str]  # direct main dependencies (keys)
    dev: list[str]  # direct dev dependencies (keys)
    versions: dict[str, str] = field(default_factory=dict)  # key -> version, whole closure
    groups: dict[str, set[str]] = field(default_factory=dict)  # key -> {"main", "dev"}


def _hex(*parts: object) -> str:
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()


def _universe(rng: random.Random, size: int) -> dict[str, Dist]:
    dists: dict[str, Dist] = {}
    for name, versions, deps in _BASE + _TEST_STACK + _UNKNOWN_PLUGINS:
        dist = Dist(name, versions, [], 1, f"The {name} project")
        dist.deps = [d.lower().replace("_", "-") for d in deps]
        if dist.key in {d.lower() for d in _BINARY}:
            dist.wheels = rng.randint(20, 45)
        if dist.key == "colorama":
            dist.marker = 'sys_platform == "win32"'
        dists[dist.key] = dist
    # Synthetic libraries: a layered DAG, each depending on a few lower layers or base packages.
    base_keys = [d.lower().replace("_", "-") for d, _, _ in _BASE]
    synthetic: list[str] = []
    for index in range(size):
        word = _WORDS[index % len(_WORDS)]
        name = f"{word}-{rng.choice(['client', 'core', 'sdk', 'utils', 'kit', 'io', 'db'])}-{index:03d}"
        major = rng.randint(0, 12)
        versions = [f"{major}.{rng.randint(0, 30)}.{rng.randint(0, 9)}" for _ in range(3)]
        versions[1] = f"{major}.{int(versions[0].split('.')[1]) + 1}.0"  # a minor drift
        versions[2] = f"{major + 1}.0.0"  # a major drift
        deps = rng.sample(synthetic[-60:], k=min(len(synthetic[-60:]), rng.choice([0, 0, 1, 1, 2, 3])))
        deps += rng.sample(base_keys, k=rng.choice([0, 1, 1, 2]))
        dist = Dist(name, versions, sorted(set(deps)), rng.choice([1] * 9 + [rng.randint(10, 40)]),
                    f"{word.title()} {name.split('-')[1]} library for acme services")
        if rng.random() < 0.05:
            dist.marker = 'python_version < "3.12"'
        dists[dist.key] = dist
        synthetic.append(dist.key)
    return dists


def _closure(dists: dict[str, Dist], roots: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    todo = list(roots)
    while todo:
        key = todo.pop()
        if key in seen:
            continue
        seen[key] = None
        todo.extend(dists[key].deps)
    return sorted(seen)


def plan(
    services: int, *, seed: int = 0, drift: float = 0.1, unknown_plugins: float = 0.05,
    formats: dict[str, float] | None = None,
) -> tuple[dict[str, Dist], list[ServicePlan]]:
    rng = random.Random(seed)
    dists = _universe(rng, 400)
    synthetic = [key for key in dists if "-" in key and key.split("-")[-1].isdigit()]
    shares = formats or FORMATS
    kinds = list(shares)
    weights = [shares[k] for k in kinds]
    plans: list[ServicePlan] = []
    for index in range(services):
        fmt = kinds[index % len(kinds)] if index < len(kinds) else rng.choices(kinds, weights)[0]
        main = rng.sample(synthetic, k=rng.randint(4, 12)) + rng.sample(
            ["requests", "pydantic", "httpx", "jinja2", "pyyaml", "click"], k=rng.randint(1, 4)
        )
        dev = ["pytest"] + rng.sample([p[0] for p in _TEST_STACK[1:]], k=rng.randint(1, 5))
        if rng.random() < unknown_plugins:
            dev.append(rng.choice(_UNKNOWN_PLUGINS)[0])
        name = f"svc-{index:04d}-{_WORDS[index % len(_WORDS)]}"
        service = ServicePlan(name, fmt, sorted(set(main)), sorted(set(dev)))
        main_closure = set(_closure(dists, service.main))
        dev_closure = set(_closure(dists, service.dev))
        # A drifting service moves one package that other services share (the test stack, a
        # common library) off the version everyone else uses.
        shared = sorted(k for k in main_closure | dev_closure if k in _SHARED and len(dists[k].versions) > 1)
        moved = rng.choice(shared) if shared and rng.random() < drift else None
        for key in sorted(main_closure | dev_closure):
            dist = dists[key]
            version = dist.versions[0]
            if key == moved and len(dist.versions) > 1:
                version = rng.choice(dist.versions[1:])
            service.versions[key] = version
            service.groups[key] = ({"main"} if key in main_closure else set()) | ({"dev"} if key in dev_closure else set())
        plans.append(service)
    return dists, plans


# --------------------------------------------------------------------------------------------
# Per-file pieces shared by the writers


def _stamp(*parts: object) -> str:
    digest = int(_hex("t", *parts)[:8], 16)
    return f"2026-{1 + digest % 12:02d}-{1 + digest % 28:02d}T{digest % 24:02d}:{digest % 60:02d}:{digest % 59:02d}Z"


def _files(dist: Dist, version: str) -> list[tuple[str, str, int]]:
    """(file name, sha256, size) of the sdist and every wheel of a release."""
    stem = dist.name.replace("-", "_")
    found = [(f"{stem.lower()}-{version}.tar.gz", _hex(dist.key, version, "sdist"), 20000 + len(dist.key) * 997)]
    if dist.wheels == 1:
        found.append((f"{stem}-{version}-py3-none-any.whl", _hex(dist.key, version, "py3"), 9000 + len(stem) * 311))
    else:
        for tag in _PLATFORMS[: dist.wheels] + tuple(f"cp31{i % 5}-cp31{i % 5}-linux_x{i}" for i in range(max(0, dist.wheels - len(_PLATFORMS)))):
            found.append((f"{stem}-{version}-{tag}.whl", _hex(dist.key, version, tag), 150000 + len(tag) * 1009))
    return found


def _url(file: str, sha: str) -> str:
    return f"{FILES}/{sha[:2]}/{sha[2:4]}/{sha[4:60]}/{file}"


def _deps_of(dists: dict[str, Dist], service: ServicePlan, key: str) -> list[Dist]:
    return [dists[d] for d in dists[key].deps if d in service.versions]


def _pyproject(service: ServicePlan, dists: dict[str, Dist], tool: str) -> str:
    main = ",\n".join(f'    "{dists[k].name}>={service.versions[k].split(".")[0]}"' for k in service.main)
    dev = ",\n".join(f'    "{dists[k].name}"' for k in service.dev)
    text = f'[project]\nname = "{service.name}"\nversion = "0.1.0"\nrequires-python = ">=3.11"\ndependencies = [\n{main},\n]\n'
    if tool == "poetry":
        text += "\n[tool.poetry.group.dev.dependencies]\n" + "".join(f'{dists[k].name} = "*"\n' for k in service.dev)
    else:
        text += f"\n[dependency-groups]\ndev = [\n{dev},\n]\n"
    plugins = [k for k in service.dev if k in ("pytest-xdist", "pytest-cov", "pytest-randomly")]
    if plugins:
        flags = " ".join(f"-p {k.replace('pytest-', '')}" for k in plugins)
        text += f'\n[tool.pytest.ini_options]\naddopts = "{flags}"\ntestpaths = ["tests"]\n'
    return text


# --------------------------------------------------------------------------------------------
# Writers: one per format, each returning {file name: content}


def _uv(service: ServicePlan, dists: dict[str, Dist]) -> dict[str, str]:
    out = ['version = 1\nrevision = 3\nrequires-python = ">=3.11"\n']
    entries = sorted(list(service.versions) + [service.name])
    for key in entries:
        if key == service.name:
            lines = [f'[[package]]\nname = "{service.name}"\nversion = "0.1.0"\nsource = {{ virtual = "." }}']
            lines.append("dependencies = [\n" + "".join(f'    {{ name = "{k}" }},\n' for k in service.main) + "]")
            lines.append("\n[package.dev-dependencies]\ndev = [\n" + "".join(f'    {{ name = "{k}" }},\n' for k in service.dev) + "]")
            lines.append("\n[package.metadata]\nrequires-dist = [\n" + "".join(
                f'    {{ name = "{k}", specifier = ">={service.versions[k].split(".")[0]}" }},\n' for k in service.main) + "]")
            lines.append("\n[package.metadata.requires-dev]\ndev = [" + ", ".join(f'{{ name = "{k}" }}' for k in service.dev) + "]")
            out.append("\n".join(lines) + "\n")
            continue
        dist, version = dists[key], service.versions[key]
        lines = [f'[[package]]\nname = "{key}"\nversion = "{version}"\nsource = {{ registry = "{INDEX}" }}']
        deps = _deps_of(dists, service, key)
        if deps:
            body = "".join(
                f'    {{ name = "{d.key}", marker = "{d.marker.replace(chr(34), chr(39))}" }},\n' if d.marker else f'    {{ name = "{d.key}" }},\n'
                for d in deps
            )
            lines.append(f"dependencies = [\n{body}]")
        files = _files(dist, version)
        sdist, wheels = files[0], files[1:]
        lines.append(f'sdist = {{ url = "{_url(sdist[0], sdist[1])}", hash = "sha256:{sdist[1]}", size = {sdist[2]}, upload-time = "{_stamp(key, version)}" }}')
        lines.append("wheels = [\n" + "".join(
            f'    {{ url = "{_url(f, h)}", hash = "sha256:{h}", size = {s}, upload-time = "{_stamp(key, version, f)}" }},\n'
            for f, h, s in wheels) + "]")
        out.append("\n".join(lines) + "\n")
    return {"uv.lock": "\n".join(out), "pyproject.toml": _pyproject(service, dists, "uv")}


def _poetry(service: ServicePlan, dists: dict[str, Dist], lock_version: str) -> dict[str, str]:
    writer = "2.5.1" if lock_version == "2.1" else "1.8.5"
    out = [f"# This file is automatically @generated by Poetry {writer} and should not be changed by hand.\n"]
    for key in sorted(service.versions):
        dist, version = dists[key], service.versions[key]
        groups = sorted(service.groups[key])
        lines = [
            f'[[package]]\nname = "{key}"\nversion = "{version}"\ndescription = "{dist.summary}"\noptional = false\npython-versions = ">=3.9"'
        ]
        if lock_version == "2.1":
            lines.append("groups = [" + ", ".join(f'"{g}"' for g in groups) + "]")
            if dist.marker:
                lines.append(f'markers = "{dist.marker.replace(chr(34), chr(92) + chr(34))}"')
        lines.append("files = [\n" + "".join(
            f'    {{file = "{f}", hash = "sha256:{h}"}},\n' for f, h, _ in sorted(_files(dist, version))) + "]")
        deps = _deps_of(dists, service, key)
        if deps:
            body = "".join(
                f'{d.name} = {{version = ">={d.versions[0].split(".")[0]}", markers = "{d.marker.replace(chr(34), chr(92) + chr(34))}"}}\n'
                if d.marker else f'{d.name} = ">={d.versions[0].split(".")[0]}"\n'
                for d in deps
            )
            lines.append(f"\n[package.dependencies]\n{body.rstrip()}")
        lines.append(f'\n[package.source]\ntype = "legacy"\nurl = "{INDEX}"\nreference = "pypi-simple"')
        out.append("\n".join(lines) + "\n")
    out.append(f'[metadata]\nlock-version = "{lock_version}"\npython-versions = ">=3.11,<4"\ncontent-hash = "{_hex(service.name, "content")}"\n')
    return {"poetry.lock": "\n".join(out), "pyproject.toml": _pyproject(service, dists, "poetry")}


def _pdm(service: ServicePlan, dists: dict[str, Dist]) -> dict[str, str]:
    out = [
        "# This file is @generated by PDM.\n# It is not intended for manual editing.\n\n[metadata]\n"
        f'groups = ["default", "dev"]\nstrategy = ["inherit_metadata"]\nlock_version = "4.5.1"\n'
        f'content_hash = "sha256:{_hex(service.name, "pdm")}"\n\n[[metadata.targets]]\nrequires_python = ">=3.11"\n'
    ]
    for key in sorted(service.versions):
        dist, version = dists[key], service.versions[key]
        groups = sorted("default" if g == "main" else g for g in service.groups[key])
        lines = [
            f'[[package]]\nname = "{key}"\nversion = "{version}"\nrequires_python = ">=3.9"\nsummary = "{dist.summary}"',
            "groups = [" + ", ".join(f'"{g}"' for g in groups) + "]",
        ]
        if dist.marker:
            lines.append(f'marker = "{dist.marker.replace(chr(34), chr(92) + chr(34))}"')
        deps = _deps_of(dists, service, key)
        if deps:
            lines.append("dependencies = [\n" + "".join(
                f'    "{d.name}>={d.versions[0].split(".")[0]}",\n' for d in deps) + "]")
        lines.append("files = [\n" + "".join(
            f'    {{file = "{f}", hash = "sha256:{h}"}},\n' for f, h, _ in sorted(_files(dist, version))) + "]")
        out.append("\n".join(lines) + "\n")
    return {"pdm.lock": "\n".join(out), "pyproject.toml": _pyproject(service, dists, "pdm")}


def _pipenv(service: ServicePlan, dists: dict[str, Dist]) -> dict[str, str]:
    def section(group: str) -> dict[str, object]:
        entries: dict[str, object] = {}
        for key in sorted(service.versions):
            if group not in service.groups[key]:
                continue
            dist, version = dists[key], service.versions[key]
            entry: dict[str, object] = {"hashes": sorted(f"sha256:{h}" for _, h, _ in _files(dist, version))}
            if key in service.main or key in service.dev:
                entry["index"] = "pypi"
            entry["markers"] = "python_version >= '3.9'"
            entry["version"] = f"=={version}"
            entries[key] = entry
        return entries

    document = {
        "_meta": {
            "hash": {"sha256": _hex(service.name, "pipfile")},
            "pipfile-spec": 6,
            "requires": {"python_version": "3.11"},
            "sources": [{"name": "pypi", "url": INDEX, "verify_ssl": True}],
        },
        "default": section("main"),
        "develop": section("dev"),
    }
    pipfile = (
        f'[[source]]\nurl = "{INDEX}"\nverify_ssl = true\nname = "pypi"\n\n[packages]\n'
        + "".join(f'{dists[k].name} = "*"\n' for k in service.main)
        + "\n[dev-packages]\n"
        + "".join(f'{dists[k].name} = "*"\n' for k in service.dev)
        + '\n[requires]\npython_version = "3.11"\n'
    )
    return {"Pipfile.lock": json.dumps(document, indent=4) + "\n", "Pipfile": pipfile}


def _pylock(service: ServicePlan, dists: dict[str, Dist]) -> dict[str, str]:
    out = [
        "# This file was autogenerated by uv via the following command:\n"
        "#    uv export --format pylock.toml --all-groups -o pylock.toml\n"
        'lock-version = "1.0"\ncreated-by = "uv"\nrequires-python = ">=3.11"\n'
    ]
    for key in sorted(service.versions):
        dist, version = dists[key], service.versions[key]
        lines = [f'[[packages]]\nname = "{key}"\nversion = "{version}"']
        markers = [dist.marker.replace('"', "'")] if dist.marker else []
        if "main" not in service.groups[key]:
            markers.append("'dev' in dependency_groups")
        if markers:
            lines.append(f'marker = "{" and ".join(markers)}"')
        lines.append(f'index = "{INDEX}"')
        files = _files(dist, version)
        (sf, sh, ss), wheels = files[0], files[1:]
        lines.append(
            f'sdist = {{ url = "{_url(sf, sh)}", upload-time = {_stamp(key, version)}, size = {ss}, hashes = {{ sha256 = "{sh}" }} }}'
        )
        lines.append("wheels = [" + ", ".join(
            f'{{ url = "{_url(f, h)}", upload-time = {_stamp(key, version, f)}, size = {s}, hashes = {{ sha256 = "{h}" }} }}'
            for f, h, s in wheels) + "]")
        out.append("\n".join(lines) + "\n")
    return {"pylock.toml": "\n".join(out), "pyproject.toml": _pyproject(service, dists, "pylock")}


def _pip_compile(service: ServicePlan, dists: dict[str, Dist]) -> dict[str, str]:
    out = [
        "#\n# This file is autogenerated by pip-compile with Python 3.11\n# by the following command:\n#\n"
        "#    pip-compile --generate-hashes requirements.in\n#\n"
    ]
    parents: dict[str, list[str]] = {}
    for key in service.versions:
        for dep in dists[key].deps:
            parents.setdefault(dep, []).append(key)
    for key in sorted(service.versions):
        dist, version = dists[key], service.versions[key]
        marker = f" ; {dist.marker}" if dist.marker else ""
        hashes = sorted(h for _, h, _ in _files(dist, version))
        lines = [f"{key}=={version}{marker} \\"]
        lines += [f"    --hash=sha256:{h} \\" for h in hashes[:-1]] + [f"    --hash=sha256:{hashes[-1]}"]
        via = sorted(parents.get(key, [])) + (["-r requirements.in"] if key in service.main or key in service.dev else [])
        if len(via) == 1:
            lines.append(f"    # via {via[0]}")
        else:
            lines.append("    # via\n" + "\n".join(f"    #   {v}" for v in via))
        out.append("\n".join(lines) + "\n")
    requirements_in = "".join(f"{dists[k].name}\n" for k in service.main + service.dev)
    ini = None
    plugins = [k for k in service.dev if k in ("pytest-xdist", "pytest-timeout", "pytest-cov")]
    files = {"requirements.txt": "".join(out), "requirements.in": requirements_in}
    if plugins:
        flags = " ".join(f"-p {k.replace('-', '_') if k != 'pytest-xdist' else 'xdist'}" for k in plugins)
        files["pytest.ini"] = f"[pytest]\ntestpaths = tests\naddopts = {flags}\n"
    del ini
    return files


def _freeze(service: ServicePlan, dists: dict[str, Dist]) -> dict[str, str]:
    lines = [f"-e git+https://git.example.com/acme/monorepo.git@{_hex(service.name)[:40]}#egg={service.name.replace('-', '_')}&subdirectory=services/{service.name}"]
    # pip freeze sorts case-insensitively by the installed name.
    for key in sorted(service.versions, key=lambda k: dists[k].name.lower()):
        lines.append(f"{dists[key].name}=={service.versions[key]}")
    return {"requirements.txt": "\n".join(lines) + "\n"}


_WRITERS = {
    "uv": _uv,
    "poetry": lambda s, d: _poetry(s, d, "2.1"),
    "poetry18": lambda s, d: _poetry(s, d, "2.0"),
    "pdm": _pdm,
    "pipenv": _pipenv,
    "pylock": _pylock,
    "pip-compile": _pip_compile,
    "freeze": _freeze,
}

# The record each format writes, for the runner's "one lockfile changed" step.
RECORD = {
    "uv": "uv.lock",
    "poetry": "poetry.lock",
    "poetry18": "poetry.lock",
    "pdm": "pdm.lock",
    "pipenv": "Pipfile.lock",
    "pylock": "pylock.toml",
    "pip-compile": "requirements.txt",
    "freeze": "requirements.txt",
}

_POLICY = """\
version: 1
pytest:
  allowed: ">=7.0"
plugins:
  unknown: warning
  approved:
    pytest-cov: ">=5,<8"
    pytest-xdist: ">=3.5,<4"
    pytest-mock: ">=3.12,<4"
    pytest-asyncio: ">=1.0,<2"
    pytest-timeout: ">=2.2,<3"
    anyio: ">=4,<5"
    hypothesis: "*"
  denied: {}
  also_plugins: []
exceptions: []
drift:
  default: same-major
  rules:
    - packages: ["pytest", "pytest-*"]
      require: exact
"""


# --------------------------------------------------------------------------------------------
# Declared environments: what real monorepos carry beside their locks (issue 12). Every seventh
# service has a tox.ini, every tenth a test Dockerfile, every twentieth a noxfile; the root has a
# CI workflow with a job for every tenth service and a pre-commit configuration.


def _pin(service: ServicePlan, key: str) -> str:
    return f"{key}=={service.versions[key]}" if key in service.versions else key


def _tox(service: ServicePlan) -> str:
    plugins = [k for k in service.dev if k != "pytest"]
    deps = "".join(f"    {_pin(service, k)}\n" for k in ["pytest", *plugins[1:]])
    cov = f"    cov: {_pin(service, 'pytest-cov')}\n" if "pytest-cov" in service.versions else "    cov: pytest-cov\n"
    return (
        "[tox]\nenv_list = py{311,312}-{cov,nocov}\n\n[testenv]\npackage = skip\n"
        f"deps =\n{deps}{cov}commands = pytest {{posargs}}\n\n[flake8]\nmax-line-length = 100\n"
    )


def _dockerfile(service: ServicePlan) -> str:
    record = RECORD[service.fmt]
    requirements = f"COPY {record} /app/{record}\nRUN pip install --no-cache-dir -r /app/{record}\n" if record == "requirements.txt" else ""
    return (
        "# syntax=docker/dockerfile:1\nFROM python:3.12-slim AS base\nARG PIP_NO_CACHE_DIR=1\nWORKDIR /app\n\n"
        f"FROM base AS test\n{requirements}RUN pip install --upgrade pip \\\n"
        f" && pip install {_pin(service, 'pytest')} \\\n    {' '.join(_pin(service, k) for k in service.dev[1:3])} pytest-timeout\n"
        'CMD ["pytest", "-q"]\n'
    )


def _noxfile(service: ServicePlan) -> str:
    deps = ", ".join(f'"{_pin(service, k)}"' for k in service.dev)
    return (
        "import nox\n\nTEST_DEPS = [" + deps + "]\n\n\n"
        '@nox.session(python=["3.11", "3.12"])\ndef tests(session):\n    session.install(*TEST_DEPS)\n'
        '    session.run("pytest")\n'
    )


def _workflow(plans: list[ServicePlan]) -> str:
    jobs = []
    for index, service in enumerate(plans):
        if index % 10:
            continue
        # What CI installs a service from: its compiled requirements, its project, or its lock's tool.
        if RECORD[service.fmt] == "requirements.txt":
            install = f"pip install -r {RECORD[service.fmt]}"
        elif service.fmt == "pipenv":
            install = "pip install pipenv==2026.10.3 && pipenv sync --dev"
        else:
            install = "pip install ."
        jobs.append(
            f"  test-{service.name}:\n    runs-on: ubuntu-latest\n    defaults:\n      run:\n"
            f"        working-directory: services/{service.name}\n    steps:\n      - uses: actions/checkout@v4\n"
            "      - uses: actions/setup-python@v5\n        with: {python-version: '3.12'}\n"
            f"      - name: Install\n        run: |\n          python -m pip install --upgrade pip\n          {install}\n"
            f"          pip install pytest-cov {_pin(service, 'pytest')}\n      - run: pytest -q\n"
        )
    return "name: test\non: [push, pull_request]\njobs:\n" + "\n".join(jobs)


_PRE_COMMIT = """\
repos:
  - repo: https://github.com/pre-commit/mirrors-mypy
    rev: v1.13.0
    hooks:
      - id: mypy
        additional_dependencies: [types-requests==2.32.0.20241016, types-PyYAML==6.0.12.20240917]
"""


def generate(
    root: Path, services: int, *, seed: int = 0, drift: float = 0.1, unknown_plugins: float = 0.05,
    formats: dict[str, float] | None = None,
) -> list[ServicePlan]:
    """Write the workspace under `root` (emptied first) and return what each service holds."""
    if root.exists():
        shutil.rmtree(root)
    dists, plans = plan(services, seed=seed, drift=drift, unknown_plugins=unknown_plugins, formats=formats)
    (root / "policies").mkdir(parents=True)
    (root / "policies" / "envguard.yaml").write_text(_POLICY, encoding="utf-8")
    (root / "README.md").write_text(f"Synthetic monorepo: {services} services, seed {seed}.\n", encoding="utf-8")
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / ".github" / "workflows" / "test.yml").write_text(_workflow(plans), encoding="utf-8")
    (root / ".pre-commit-config.yaml").write_text(_PRE_COMMIT, encoding="utf-8")
    for index, service in enumerate(plans):
        directory = root / "services" / service.name
        directory.mkdir(parents=True)
        files = _WRITERS[service.fmt](service, dists)
        if index % 7 == 3:
            files["tox.ini"] = _tox(service)
        if index % 10 == 5:
            files["Dockerfile"] = _dockerfile(service)
        if index % 20 == 11:
            files["noxfile.py"] = _noxfile(service)
        for name, content in _fresh(service, files, directory).items():
            (directory / name).write_text(content, encoding="utf-8")
    return plans


def _fresh(service: ServicePlan, files: dict[str, str], directory: Path) -> dict[str, str]:
    """`files` with the lock's content hash computed from its manifest, as the locker computes it.

    Real locks are fresh; a lock whose hash no tool could have written would send every run down
    lock-out-of-date's slower path. The hashes come from envguard.freshness, which the tests pin
    to each tool's own verdicts.
    """
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

    from packaging.version import Version

    from envguard.freshness import pdm, pipenv, poetry

    if "poetry.lock" in files:
        writer = Version("2.5.1" if service.fmt == "poetry" else "1.8.5")
        digest = min(poetry.content_hashes(tomllib.loads(files["pyproject.toml"]), writer))
        files["poetry.lock"] = files["poetry.lock"].replace(_hex(service.name, "content"), digest)
    elif "pdm.lock" in files:
        digest = min(pdm.content_hashes(tomllib.loads(files["pyproject.toml"]), Version("4.5.1"), "sha256", directory))
        files["pdm.lock"] = files["pdm.lock"].replace(_hex(service.name, "pdm"), digest)
    elif "Pipfile.lock" in files:
        digest = min(pipenv.pipfile_hashes(tomllib.loads(files["Pipfile"])))
        files["Pipfile.lock"] = files["Pipfile.lock"].replace(_hex(service.name, "pipfile"), digest)
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--services", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--drift", type=float, default=0.1)
    parser.add_argument("--unknown-plugins", type=float, default=0.05)
    args = parser.parse_args()
    plans = generate(args.out, args.services, seed=args.seed, drift=args.drift, unknown_plugins=args.unknown_plugins)
    size = sum(f.stat().st_size for f in args.out.rglob("*") if f.is_file())
    counts: dict[str, int] = {}
    for service in plans:
        counts[service.fmt] = counts.get(service.fmt, 0) + 1
    print(f"{args.out}: {len(plans)} services, {size / 1e6:.1f} MB; " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))


if __name__ == "__main__":
    main()
