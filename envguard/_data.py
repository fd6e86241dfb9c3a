"""The files of envguard/data, read without importlib.resources where the package is on disk.

importlib.resources imports zipfile and with it bz2, lzma, random and shutil: about 5 ms of
every start, for two small files. A regular (or editable) installation has them next to this
module; a zip import falls back to importlib.resources.
"""

from __future__ import annotations

from pathlib import Path


def read_data(name: str) -> bytes:
    try:
        return (Path(__file__).parent / "data" / name).read_bytes()
    except OSError:  # pragma: no cover - envguard imported from a zip file
        import importlib.resources

        return importlib.resources.files("envguard").joinpath("data").joinpath(name).read_bytes()
