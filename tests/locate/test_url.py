"""`https://...#sha256=HEX` against an HTTPS server on 127.0.0.1 with a test certificate authority.

trustme makes the CA and the server certificate; SSL_CERT_FILE points the default SSL context at
the CA, as a corporate runner would. Every test has its own empty cache directory. Nothing here
reaches beyond the loopback interface.
"""

from __future__ import annotations

import hashlib
import http.server
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from envguard.cli import main
from envguard.locate import LocateError, locate
from envguard.policy import PolicyError, load_policy_reference

POLICY = b"version: 1\npytest:\n  allowed: '>=7.0'\n"
RELATIVE = b"version: 1\nextends: base.yaml\n"
EXAMPLES = Path(__file__).parent.parent.parent / "examples"


def pin(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, dict[str, str], bytes]] = {}

    def do_GET(self) -> None:
        status, headers, body = self.routes.get(self.path, (404, {}, b"not found"))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class QuietServer(http.server.ThreadingHTTPServer):
    # Clients that give up early (a refused redirect, an oversized body) reset the connection.
    def handle_error(self, request: object, client_address: object) -> None:
        pass


class Server:
    def __init__(self, ca: trustme.CA) -> None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(context)
        self.httpd = QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.base = f"https://127.0.0.1:{self.httpd.server_address[1]}"
        Handler.routes = {
            "/policy.yaml": (200, {}, POLICY),
            "/relative.yaml": (200, {}, RELATIVE),
            "/to-http": (302, {"Location": f"http://127.0.0.1:{self.httpd.server_address[1]}/policy.yaml"}, b""),
            "/to-https": (302, {"Location": "/policy.yaml"}, b""),
            "/big.yaml": (200, {}, b"#" * (1024 * 1024 + 1)),
        }
        # A short poll interval: shutdown() waits for it, in every test's teardown.
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(autouse=True)
def environment(ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    monkeypatch.setenv("ENVGUARD_CACHE_DIR", str(tmp_path / "cache"))
    for name in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")


@pytest.fixture()
def server(ca: trustme.CA) -> Iterator[Server]:
    running = Server(ca)
    yield running
    running.stop()


def fails(written: str, tmp_path: Path) -> str:
    with pytest.raises(LocateError) as caught:
        locate(written, tmp_path)
    return str(caught.value)


def test_fetched_once_then_read_offline(server: Server, tmp_path: Path) -> None:
    written = f"{server.base}/policy.yaml#sha256={pin(POLICY).upper()}"
    located = locate(written, tmp_path)
    assert located.shown == f"{server.base}/policy.yaml"
    assert located.path == tmp_path / "cache" / "policies" / pin(POLICY)
    assert located.path.read_bytes() == POLICY
    server.stop()
    policy = load_policy_reference(written, tmp_path)
    assert policy.files == (f"{server.base}/policy.yaml",)
    assert policy.pytest_allowed == ">=7.0"


def test_a_poisoned_cached_policy_is_reported_once_and_fetched_again(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    written = f"{server.base}/policy.yaml#sha256={pin(POLICY)}"
    path = locate(written, tmp_path).path
    path.write_bytes(b"version: 1\npytest:\n  allowed: '>=0'\n")  # what a shared cache could be given
    capsys.readouterr()
    assert load_policy_reference(written, tmp_path).pytest_allowed == ">=7.0"
    said = f"{path}: warning: cached policy does not match its pin sha256:{pin(POLICY)}; fetched again\n"
    assert capsys.readouterr().err == said
    assert path.read_bytes() == POLICY
    server.stop()
    assert load_policy_reference(written, tmp_path).pytest_allowed == ">=7.0"
    assert capsys.readouterr().err == ""


def test_a_poisoned_cached_policy_that_cannot_be_fetched_is_the_fetch_error(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    written = f"{server.base}/policy.yaml#sha256={pin(POLICY)}"
    path = locate(written, tmp_path).path
    path.write_bytes(b"poisoned")
    server.stop()
    capsys.readouterr()
    assert fails(written, tmp_path).startswith("cannot connect")
    assert capsys.readouterr().err.count("warning: cached policy does not match its pin") == 1
    assert not path.exists()  # said once: the next run fails the same way, with nothing to add
    assert fails(written, tmp_path).startswith("cannot connect")
    assert capsys.readouterr().err == ""


def test_https_redirect_followed(server: Server, tmp_path: Path) -> None:
    assert locate(f"{server.base}/to-https#sha256={pin(POLICY)}", tmp_path).path.read_bytes() == POLICY


def test_hash_mismatch(server: Server, tmp_path: Path) -> None:
    wrong = "0" * 64
    message = fails(f"{server.base}/policy.yaml#sha256={wrong}", tmp_path)
    assert message == f"sha256 mismatch: the reference pins {wrong}, the server sent {pin(POLICY)}"
    assert not (tmp_path / "cache" / "policies" / wrong).exists()


def test_plain_http_refused_without_connecting(tmp_path: Path) -> None:
    # Port 9 (discard) on a TEST-NET address: a connection attempt would hang or fail differently.
    message = fails(f"http://192.0.2.1:9/policy.yaml#sha256={pin(POLICY)}", tmp_path)
    assert message == "not an https URL; plain http is refused, use https"


def test_hash_required(tmp_path: Path) -> None:
    assert fails("https://127.0.0.1/policy.yaml", tmp_path).startswith("a policy URL needs its content hash")


def test_redirect_to_http_refused(server: Server, tmp_path: Path) -> None:
    message = fails(f"{server.base}/to-http#sha256={pin(POLICY)}", tmp_path)
    assert message.startswith("redirected to http://127.0.0.1:") and message.endswith("which is not https; refused")


def test_not_found(server: Server, tmp_path: Path) -> None:
    assert fails(f"{server.base}/nope.yaml#sha256={pin(POLICY)}", tmp_path) == "HTTP status 404 Not Found, expected 200"


def test_too_large(server: Server, tmp_path: Path) -> None:
    assert fails(f"{server.base}/big.yaml#sha256={pin(POLICY)}", tmp_path) == "larger than 1024 KiB; not a policy file"


def test_untrusted_certificate(server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    monkeypatch.setenv("SSL_CERT_FILE", str(other))
    message = fails(f"{server.base}/policy.yaml#sha256={pin(POLICY)}", tmp_path)
    assert message.startswith("TLS certificate not trusted (")


def test_timeout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVGUARD_HTTP_TIMEOUT", "0.5")
    with socket.socket() as silent:  # accepts connections in its backlog, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        message = fails(f"https://127.0.0.1:{port}/policy.yaml#sha256={pin(POLICY)}", tmp_path)
    assert message == "timed out after 0.5 s (ENVGUARD_HTTP_TIMEOUT sets the limit)"


def test_extends_mapping_form(server: Server, tmp_path: Path) -> None:
    (tmp_path / "policy.yaml").write_text(
        f"version: 1\nextends:\n  url: {server.base}/policy.yaml\n  sha256: {pin(POLICY)}\n", encoding="utf-8"
    )
    policy = load_policy_reference("policy.yaml", tmp_path)
    assert policy.files == (f"{server.base}/policy.yaml", "policy.yaml")
    assert policy.pytest_allowed == ">=7.0"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("  url: https://example.com/p.yaml\n", "policy.yaml:3: extends.sha256: missing required key"),
        ("  url: https://example.com/p.yaml\n  sha256: abc\n", "policy.yaml:4: extends.sha256: must be 64 hexadecimal digits"),
        ("  url: https://example.com/p.yaml#x\n  sha256: " + "a" * 64 + "\n",
         "policy.yaml:3: extends.url: must not have a #fragment; the hash goes in sha256"),
        ("  uri: x\n", "policy.yaml:3: extends.uri: unknown key; did you mean 'url'?"),
    ],
)
def test_extends_mapping_errors(tmp_path: Path, body: str, expected: str) -> None:
    (tmp_path / "policy.yaml").write_text("version: 1\nextends:\n" + body, encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy_reference("policy.yaml", tmp_path)
    assert str(caught.value) == expected


def test_extends_url_errors_name_the_line(server: Server, tmp_path: Path) -> None:
    (tmp_path / "policy.yaml").write_text(f"version: 1\nextends: {server.base}/nope.yaml#sha256={'a' * 64}\n",
                                          encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy_reference("policy.yaml", tmp_path)
    assert str(caught.value) == f"policy.yaml:2: extends: {server.base}/nope.yaml: HTTP status 404 Not Found, expected 200"


def test_relative_extends_in_a_fetched_policy_refused(server: Server, tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy_reference(f"{server.base}/relative.yaml#sha256={pin(RELATIVE)}", tmp_path)
    assert str(caught.value) == (
        f"{server.base}/relative.yaml:2: extends: a policy fetched from a URL cannot extend a local path "
        "(base.yaml); use package: or a pinned URL"
    )


def test_self_extending_url_is_a_cycle(server: Server, tmp_path: Path) -> None:
    body = f"version: 1\nextends: {server.base}/policy.yaml#sha256={pin(POLICY)}\n".encode()
    Handler.routes["/loop.yaml"] = (200, {}, body)
    (tmp_path / "policy.yaml").write_text(
        f"version: 1\nextends: {server.base}/loop.yaml#sha256={pin(body)}\n", encoding="utf-8"
    )
    # A chain that mixes kinds is followed to its end: local -> URL -> URL.
    assert load_policy_reference("policy.yaml", tmp_path).files == (
        f"{server.base}/policy.yaml", f"{server.base}/loop.yaml", "policy.yaml"
    )


@pytest.mark.parametrize(
    ("route", "digest", "expected"),
    [
        ("/policy.yaml", "0" * 64, "sha256 mismatch"),
        ("/nope.yaml", pin(POLICY), "HTTP status 404"),
        ("/to-http", pin(POLICY), "which is not https; refused"),
    ],
)
def test_cli_failure_is_one_line(server: Server, route: str, digest: str, expected: str,
                                 capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(EXAMPLES.parent)
    code = main(["check", "--policy", f"{server.base}{route}#sha256={digest}", "examples", "--no-cache"])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith(f"{server.base}{route}:1: ") and expected in err
    assert "Traceback" not in err


def test_cli_plain_http_is_one_line(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(EXAMPLES.parent)
    code = main(["check", "--policy", f"http://192.0.2.1/p.yaml#sha256={pin(POLICY)}", "examples", "--no-cache"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == "http://192.0.2.1/p.yaml:1: not an https URL; plain http is refused, use https"
