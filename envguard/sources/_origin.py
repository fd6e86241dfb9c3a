"""`Package.source` as every loader spells it, so that one policy glob matches every format.

* an index: its URL without a trailing `/` (`https://pypi.org/simple`);
* a VCS checkout: `<vcs>+<url>` without the revision, query or fragment each tool adds in its
  own way (uv's `?rev=v1#<commit>`, pip's `@v1#egg=name`): `git+https://github.com/acme/lib`;
* an archive URL: the URL without its fragment (`#sha256=...`, `#egg=...`);
* a local path: as the record writes it (`../libs/acme`, `file:///srv/wheels/x.whl`), pdm's
  `file:///${PROJECT_ROOT}/libs/acme` as the relative path it means (`./libs/acme`).

An index entry that the installer may take from any of several indexes (a requirements file or an
install command with `--extra-index-url` or `--find-links`) has them all, separated by spaces, the
first one first (`any_of`): no URL holds a space.

Credentials are masked first (envguard.redact), and each distinct value is interned: the entries
of one index share one string, in the loaders, the caches and an organisation's 600,000 entries.
"""

from __future__ import annotations

import functools
import sys

from envguard.redact import redact

PYPI = sys.intern("https://pypi.org/simple")

_VCS = ("git", "hg", "svn", "bzr")


@functools.lru_cache(maxsize=1024)
def index(url: str) -> str:
    return sys.intern(redact(url.strip()).rstrip("/") or url.strip())


@functools.lru_cache(maxsize=4096)
def vcs(url: str, tool: str = "git") -> str:
    """`url` of a `tool` checkout (git, hg, svn, bzr), with or without the `git+` prefix."""
    text = redact(url.strip()).split("#", 1)[0].split("?", 1)[0]
    if not text.lower().startswith(tuple(f"{name}+" for name in _VCS)):
        text = f"{tool}+{text}"
    head, separator, rest = text.partition("://")
    if separator:
        host, slash, path = rest.partition("/")
        # pip's `@revision` ends the path; an `@` in the host part is the ssh user.
        if slash and "@" in path:
            path = path.rsplit("@", 1)[0]
        text = f"{head}://{host}{slash}{path}"
    return sys.intern(text)


@functools.lru_cache(maxsize=4096)
def archive(url: str) -> str:
    return sys.intern(redact(url.strip()).split("#", 1)[0])


# pdm's spelling of a path relative to the project (`file:///${PROJECT_ROOT}/libs/a`).
_PROJECT_ROOT = ("file:///${PROJECT_ROOT}/", "file://${PROJECT_ROOT}/")


@functools.lru_cache(maxsize=4096)
def path(written: str) -> str:
    text = written.strip()
    for prefix in _PROJECT_ROOT:
        if text.startswith(prefix):
            text = "./" + text[len(prefix) :]
    return sys.intern(redact(text))


def any_of(indexes: list[str]) -> str | None:
    """The source of an entry that may come from any of `indexes` (see the module docstring)."""
    return sys.intern(" ".join(dict.fromkeys(index(url) for url in indexes))) if indexes else None
