"""Credentials in URLs (`https://user:token@host/simple`), taken out before anything keeps them.

A lock or a CI file sometimes holds an index URL with a token in it. envguard reports where
packages come from, and it keeps what it read in caches and inventory artifacts: the secret must
reach none of them. Every URL envguard keeps, and free text that may quote one (diagnostics,
requirement lines, finding messages), goes through `redact` where it is made: the user part
becomes `***` (`https://***@host/simple`). The redacted form keeps the `@`, so the
`insecure-index` rule can still tell that the file holds credentials.

Not credentials, and kept as written: a user part made only of environment variables
(`https://${USER}:${TOKEN}@host`, what pipenv and pip's docs recommend: the file names the
variable, not the secret), and the user name of an ssh URL (`git+ssh://git@github.com/...`,
where the key authenticates). A leaf module: the model and every loader import it.
"""

from __future__ import annotations

import re
from typing import Final

MASK: Final = "***"

# scheme://userinfo@host: the user part runs to the last "@" before the path, as urllib and pip
# read it, so that a password holding an unescaped "@" is masked whole. A scheme is short: bounding
# it keeps a hostile line of `a.a.a...` from costing time quadratic in its length.
_USERINFO: Final = re.compile(r"(?P<scheme>(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{0,31}://)(?P<userinfo>[^/?#\s\"'<>]*)@")
# `${NAME}`, `$NAME` or `%NAME%` (Windows), separated by ":" at most.
_PLACEHOLDERS: Final = re.compile(r"(?:\$\{[A-Za-z_][A-Za-z0-9_]*\}|\$[A-Za-z_][A-Za-z0-9_]*|%[A-Za-z_][A-Za-z0-9_]*%|:)+")


def _keep(scheme: str, userinfo: str) -> bool:
    """Whether a user part says nothing secret."""
    if userinfo == MASK or not userinfo:
        return True
    if _PLACEHOLDERS.fullmatch(userinfo):
        return True
    # ssh authenticates with a key; its user name (`git@`) is no secret, a password would be.
    return "ssh" in scheme.lower() and ":" not in userinfo


def _replace(found: re.Match[str]) -> str:
    scheme, userinfo = found.group("scheme"), found.group("userinfo")
    return found.group(0) if _keep(scheme, userinfo) else f"{scheme}{MASK}@"


def redact(text: str) -> str:
    """`text` with the credentials of every URL in it masked; the same object when there are none."""
    if "@" not in text or "://" not in text:  # nearly every string: no regex
        return text
    redacted = _USERINFO.sub(_replace, text)
    return text if redacted == text else redacted


def has_credentials(url: str) -> bool:
    """Whether `url` held credentials (masked by `redact`, or still in it)."""
    found = _USERINFO.search(url)
    return found is not None and (found.group("userinfo") == MASK or not _keep(found.group("scheme"), found.group("userinfo")))
