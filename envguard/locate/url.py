"""`https://...#sha256=HEX`: a policy published at a URL, pinned by the hash of its content.

The hash is required: it makes the reference immutable (a changed file at the same URL is an
error, not a silently different policy), and it names the cached copy. A file is fetched only
when a run names it and is not yet cached; afterwards it is read from
`<cache>/policies/<sha256>` with no network, so CI works offline after the first run. A cached
file is checked against its name on every read: one whose content is not what the pin says was
damaged or planted, and is reported in one warning line on stderr, removed and fetched again.

Only https is accepted, and a redirect to any other scheme is refused: a policy decides what a
pipeline may install, so it must not travel in the clear. Certificates are checked with the
default SSL context, which honours `SSL_CERT_FILE` and `SSL_CERT_DIR` (corporate CAs). The
default proxy handling of urllib applies (`https_proxy`, `no_proxy`).

Every failure (mismatch, timeout, DNS, TLS, HTTP status, size) is one LocateError line.
urllib and ssl are imported only when a file must be fetched: they cost ~15 ms at start.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from envguard.errors import one_line
from envguard.locate import Located, LocateError

if TYPE_CHECKING:
    import urllib.request

MAX_BYTES: Final = 1024 * 1024
DEFAULT_TIMEOUT: Final = 10.0
_PIN: Final = re.compile(r"^sha256=([0-9a-fA-F]{64})$")


def locate_url(written: str) -> Located:
    url, _, fragment = written.partition("#")
    scheme = url.partition("://")[0].lower()
    if scheme != "https":
        hint = "; plain http is refused, use https" if scheme == "http" else "; only https URLs are supported"
        raise LocateError(f"not an https URL{hint}")
    pin = _PIN.match(fragment)
    if pin is None:
        raise LocateError("a policy URL needs its content hash: append #sha256=<64 hex digits>")
    digest = pin.group(1).lower()
    path = cache_dir() / "policies" / digest
    if not _cached(path, digest):
        _store(path, _fetch(url, digest))
    return Located(path, url, f"sha256:{digest}", "url")


def cache_dir() -> Path:
    """The user's cache directory for envguard, as each platform's conventions place it."""
    configured = os.environ.get("ENVGUARD_CACHE_DIR")
    if configured:
        return Path(configured)
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA") or os.path.join(os.path.expanduser("~"), "AppData", "Local")
        return Path(local) / "envguard" / "Cache"
    if sys.platform == "darwin":
        return Path(os.path.expanduser("~")) / "Library" / "Caches" / "envguard"
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "envguard"


def _cached(path: Path, digest: str) -> bool:
    # Checked again on every read: a cached copy damaged on disk is fetched anew, never trusted.
    try:
        data = path.read_bytes()
    except OSError:
        return False
    if hashlib.sha256(data).hexdigest() == digest:
        return True
    # Damaged, or put there to pass for the pinned policy. Said once: the fetch replaces it, or
    # fails with its own error, and the removed file cannot be found again.
    said = f"{one_line(str(path))}: warning: cached policy does not match its pin sha256:{digest}; fetched again"
    print(said, file=sys.stderr)
    try:
        path.unlink()
    except OSError:
        pass  # the fetched file replaces it, or the run stops at that
    return False


def _timeout() -> float:
    text = os.environ.get("ENVGUARD_HTTP_TIMEOUT")
    if not text:
        return DEFAULT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        raise LocateError(f"ENVGUARD_HTTP_TIMEOUT={text!r} is not a number of seconds") from None
    if not value > 0:
        raise LocateError(f"ENVGUARD_HTTP_TIMEOUT={text!r} must be more than 0 seconds")
    return value


def _fetch(url: str, digest: str) -> bytes:
    import http.client
    import ssl
    import urllib.error

    timeout = _timeout()
    try:
        with _opener(ssl.create_default_context()).open(url, timeout=timeout) as response:
            if response.status != 200:
                raise LocateError(f"HTTP status {response.status}, expected 200")
            length = response.headers.get("Content-Length")
            if length is not None and length.isdigit() and int(length) > MAX_BYTES:
                raise LocateError(f"larger than {MAX_BYTES // 1024} KiB; not a policy file")
            body: bytes = response.read(MAX_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise LocateError(f"HTTP status {exc.code} {exc.reason}, expected 200") from None
    except urllib.error.URLError as exc:
        raise LocateError(_reason(exc.reason, timeout)) from None
    except OSError as exc:  # a timeout or reset after connecting
        raise LocateError(_reason(exc, timeout)) from None
    except http.client.HTTPException as exc:
        raise LocateError(f"not a valid HTTP response ({type(exc).__name__})") from None
    except ValueError as exc:
        raise LocateError(f"not a valid URL ({exc})") from None
    if len(body) > MAX_BYTES:
        raise LocateError(f"larger than {MAX_BYTES // 1024} KiB; not a policy file")
    actual = hashlib.sha256(body).hexdigest()
    if actual != digest:
        raise LocateError(f"sha256 mismatch: the reference pins {digest}, the server sent {actual}")
    return body


def _reason(reason: Any, timeout: float) -> str:
    import socket
    import ssl

    if isinstance(reason, TimeoutError):  # socket.timeout is TimeoutError since 3.10
        return f"timed out after {timeout:g} s (ENVGUARD_HTTP_TIMEOUT sets the limit)"
    if isinstance(reason, socket.gaierror):
        return f"cannot resolve the host name ({reason.strerror or reason})"
    if isinstance(reason, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted ({reason.verify_message}); SSL_CERT_FILE names extra CAs"
    if isinstance(reason, ssl.SSLError):
        return f"TLS error ({reason.reason or reason})"
    if isinstance(reason, OSError):
        return f"cannot connect ({reason.strerror or reason})"
    return f"cannot fetch ({reason})"


def _opener(context: Any) -> urllib.request.OpenerDirector:
    import urllib.request

    class HttpsOnlyRedirects(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> Any:
            if not newurl.lower().startswith("https://"):
                raise LocateError(f"redirected to {newurl}, which is not https; refused")
            return super().redirect_request(req, fp, code, msg, headers, newurl)

    return urllib.request.build_opener(HttpsOnlyRedirects(), urllib.request.HTTPSHandler(context=context))


def _store(path: Path, body: bytes) -> None:
    """Write the file under its hash atomically: a concurrent run sees all of it or nothing."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(body)
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError as exc:
        raise LocateError(f"cannot write the policy cache {path.parent}: {exc.strerror or exc}") from None
