"""The parse floor: read every file of a workspace and parse it with the standard library only.

TOML files (`*.toml`, `*.lock` other than Pipfile.lock, `Pipfile`) go through tomllib, JSON files
through json, everything else is split into lines. No validation, no model, no output: this is
what any tool must at least spend to look at every record once, single-process.

    python benchmarks/parse_floor.py WORKSPACE
"""

from __future__ import annotations

import json
import os
import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def main(root: str) -> int:
    parsed = 0
    for directory, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".") or d == ".github"]  # CI files are read too
        for name in files:
            path = os.path.join(directory, name)
            with open(path, "rb") as handle:
                data = handle.read()
            if name.endswith(".json") or name == "Pipfile.lock":
                json.loads(data)
            elif name.endswith((".toml", ".lock")) or name == "Pipfile":
                tomllib.loads(data.decode("utf-8"))
            else:
                data.decode("utf-8").splitlines()
            parsed += 1
    print(f"{parsed} files parsed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
