"""Tiny wheels and virtual environments for tests, with the standard library only.

Wheels are zip files whose METADATA, WHEEL, entry_points.txt and RECORD are written by hand;
they are "installed" by unzipping them into a venv's site-packages (what an installer does for a
pure-Python wheel, minus scripts). Venvs are made with `python -m venv --without-pip` (~50 ms).
No network, no build backend, no pip.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Venv:
    root: Path
    python: Path
    site_packages: Path


def make_venv(root: Path) -> Venv:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, capture_output=True)
    if os.name == "nt":
        return Venv(root, root / "Scripts" / "python.exe", root / "Lib" / "site-packages")
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return Venv(root, root / "bin" / "python", root / "lib" / version / "site-packages")


def _stem(name: str) -> str:
    return name.replace("-", "_").replace(".", "_")


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def build_wheel(
    directory: Path,
    name: str,
    version: str,
    *,
    requires: tuple[str, ...] = (),
    extras: tuple[str, ...] = (),
    pytest11: dict[str, str] | None = None,
    modules: dict[str, str] | None = None,
) -> Path:
    """A py3-none-any wheel of `name` `version`; `modules` maps archive paths to source text."""
    stem = _stem(name)
    dist_info = f"{stem}-{version}.dist-info"
    metadata = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    metadata += [f"Provides-Extra: {extra}" for extra in extras]
    metadata += [f"Requires-Dist: {requirement}" for requirement in requires]
    files: dict[str, str] = dict(modules if modules is not None else {f"{stem}/__init__.py": ""})
    files[f"{dist_info}/METADATA"] = "\n".join(metadata) + "\n"
    wheel_file = ("Wheel-Version: 1.0", "Generator: tests.wheels", "Root-Is-Purelib: true", "Tag: py3-none-any")
    files[f"{dist_info}/WHEEL"] = "\n".join(wheel_file) + "\n"
    if pytest11:
        lines = [f"{entry} = {target}" for entry, target in pytest11.items()]
        files[f"{dist_info}/entry_points.txt"] = "[pytest11]\n" + "\n".join(lines) + "\n"
    record = [_record_line(path, text.encode()) for path, text in files.items()]
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = "\n".join(record) + "\n"
    directory.mkdir(parents=True, exist_ok=True)
    wheel = directory / f"{stem}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


def install_wheel(wheel: Path, target: Path, *, direct_url: dict[str, object] | None = None) -> Path:
    """Unpack `wheel` into `target` (a site-packages or any sys.path directory); the .dist-info."""
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
        dist_info = next(name.split("/")[0] for name in archive.namelist() if ".dist-info/" in name)
    (target / dist_info / "INSTALLER").write_text("tests.wheels\n", encoding="utf-8")
    if direct_url is not None:
        (target / dist_info / "direct_url.json").write_text(json.dumps(direct_url), encoding="utf-8")
    return target / dist_info


def install(venv: Venv, name: str, version: str, **options: object) -> Path:
    """Build and install one distribution into the venv's site-packages."""
    wheel = build_wheel(venv.root / "wheels", name, version, **options)  # type: ignore[arg-type]
    return install_wheel(wheel, venv.site_packages)


def add_path_dir(venv: Venv, directory: Path, pth: str = "zz-extra.pth") -> None:
    """Put `directory` on the venv's sys.path (after site-packages) with a .pth file."""
    directory.mkdir(parents=True, exist_ok=True)
    with (venv.site_packages / pth).open("a", encoding="utf-8") as handle:
        handle.write(f"{directory}\n")


def install_editable(venv: Venv, name: str, version: str, project: Path, **options: object) -> Path:
    """An editable install the way modern installers do it: a .pth to the source tree + PEP 610."""
    stem = _stem(name)
    source = project / "src"
    (source / stem).mkdir(parents=True, exist_ok=True)
    (source / stem / "__init__.py").write_text("", encoding="utf-8")
    (venv.site_packages / f"__editable__.{stem}-{version}.pth").write_text(f"{source}\n", encoding="utf-8")
    wheel = build_wheel(venv.root / "wheels", name, version, modules={}, **options)  # type: ignore[arg-type]
    url: dict[str, object] = {"url": project.resolve().as_uri(), "dir_info": {"editable": True}}
    return install_wheel(wheel, venv.site_packages, direct_url=url)


# --------------------------------------------------------------------------- two standard environments

PYTEST_REQUIRES = ("pluggy>=1.5,<2", "iniconfig>=1", "colorama>=0.4; sys_platform == 'win32'")


def clean_environment(base: Path) -> tuple[Venv, Path]:
    """A venv that matches `clean` locks exactly, and the project directory it installs editable.

    pytest 8.4.2, pluggy 1.6.0, iniconfig 2.1.0, speedups 2.0, acme-testkit 1.0 (a pytest plugin
    through the entry point "acme", with an extra "fast" that needs speedups) and the project
    myproject 0.1.0 installed editable from `project`, which asks for acme-testkit[fast].
    """
    venv = make_venv(base / "clean-venv")
    project = base / "project"
    project.mkdir(parents=True, exist_ok=True)
    install(venv, "pytest", "8.4.2", requires=PYTEST_REQUIRES)
    install(venv, "pluggy", "1.6.0")
    install(venv, "iniconfig", "2.1.0")
    install(venv, "speedups", "2.0")
    install(
        venv,
        "acme-testkit",
        "1.0",
        requires=("pytest>=7", "speedups>=2; extra == 'fast'"),
        extras=("fast",),
        pytest11={"acme": "acme_testkit.plugin"},
    )
    install_editable(venv, "myproject", "0.1.0", project, requires=("acme-testkit[fast]>=1",))
    return venv, project


def messy_environment(base: Path) -> Venv:
    """A venv with one of every problem.

    pytest 7.0.0; acme-testkit 1.0 and other-kit 2.0 both register pytest11 "acme"; other-kit
    needs missing-dep (absent) and fancy[turbo], whose extra needs turbo-dep (absent); dupe-lib
    1.0 in site-packages and 2.0 in a second sys.path directory; pip 24.0; stray 1.0;
    pytest-cov 5.0 (entry point "pytest_cov").
    """
    venv = make_venv(base / "messy-venv")
    install(venv, "pytest", "7.0.0", requires=PYTEST_REQUIRES)
    install(venv, "pluggy", "1.6.0")
    install(venv, "iniconfig", "2.1.0")
    install(venv, "acme-testkit", "1.0", requires=("pytest>=7",), pytest11={"acme": "acme_testkit.plugin"})
    install(
        venv,
        "other-kit",
        "2.0",
        requires=("missing-dep>=1", "fancy[turbo]"),
        pytest11={"acme": "other_kit.plugin"},
    )
    install(venv, "fancy", "1.0", extras=("turbo",), requires=("turbo-dep; extra == 'turbo'",))
    install(venv, "dupe-lib", "1.0")
    extra = venv.root / "extra-path"
    add_path_dir(venv, extra)
    install_wheel(build_wheel(venv.root / "wheels", "dupe-lib", "2.0"), extra)
    install(venv, "pip", "24.0")
    install(venv, "stray", "1.0")
    install(venv, "pytest-cov", "5.0", pytest11={"pytest_cov": "pytest_cov.plugin"})
    return venv
