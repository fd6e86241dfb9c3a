from __future__ import annotations

import time

import pytest

from envguard.model import Declaration, Diagnostic, Finding, Kind, Severity
from envguard.redact import has_credentials, redact


@pytest.mark.parametrize(
    ("text", "redacted", "credentials"),
    [
        ("https://user:tok3n@host.example.com/simple", "https://***@host.example.com/simple", True),
        ("https://ghp_abc@github.com/acme/lib", "https://***@github.com/acme/lib", True),  # a token as user name
        ("git+https://u:p@github.com/a/b", "git+https://***@github.com/a/b", True),
        ("https://u:p@ss@host.example.com/simple", "https://***@host.example.com/simple", True),  # "@" in the password
        ("see https://a:b@h.example.com/s and http://c@d.example.com/e", "see https://***@h.example.com/s and http://***@d.example.com/e", True),
        ("https://***@host.example.com/simple", "https://***@host.example.com/simple", True),  # already masked
        # Not secrets: variables the file names, an ssh user, a plain URL, a name @ URL requirement.
        ("https://${USER}:${TOKEN}@host.example.com/simple", "https://${USER}:${TOKEN}@host.example.com/simple", False),
        ("https://$TOKEN@host.example.com/simple", "https://$TOKEN@host.example.com/simple", False),
        ("git+ssh://git@github.com/acme/lib", "git+ssh://git@github.com/acme/lib", False),
        ("https://pypi.org/simple", "https://pypi.org/simple", False),
        ("lib @ https://h.example.com/lib-1.0.whl", "lib @ https://h.example.com/lib-1.0.whl", False),
        ("https://h.example.com/path/with@at", "https://h.example.com/path/with@at", False),
    ],
)
def test_redact(text: str, redacted: str, credentials: bool) -> None:
    assert redact(text) == redacted
    assert has_credentials(text) is credentials
    assert has_credentials(redact(text)) is credentials


def test_a_string_without_credentials_is_returned_as_is() -> None:
    text = "https://pypi.org/simple"
    assert redact(text) is text


def test_hostile_lines_are_linear() -> None:
    for text in ("a." * 500_000 + "://x@y", "https://" + "a" * 1_000_000 + "@", "x://" * 300_000 + "@"):
        start = time.perf_counter()
        redact(text)
        assert time.perf_counter() - start < 1.0


def test_the_model_masks_what_it_keeps() -> None:
    secret = "https://user:s3cret@host.example.com/simple"
    assert "s3cret" not in Diagnostic("x", 1, f"cannot read {secret}").message
    declaration = Declaration(
        "six", f"six @ {secret}/six.whl", None, None, Kind.URL, None, "ci", "github", "x", 1, pinned_by=f"-c {secret}"
    )
    assert "s3cret" not in declaration.requirement and "s3cret" not in (declaration.pinned_by or "")
    finding = Finding("EG603", "insecure-index", Severity.ERROR, "svc", "six", None, f"from {secret}", secret, ())
    assert "s3cret" not in finding.message + finding.hint
