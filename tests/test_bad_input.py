"""Bad input and broken servers end with the right NetworkError and a clear message, never a hang."""

from __future__ import annotations

import asyncio
import socket

import pytest

from core import NetworkError, NetworkManager, Request
from tests.robust_results import record
from tests.servers import RawServer, read_request


def go(loop: asyncio.AbstractEventLoop, request: Request | str, method: str = "GET"):  # type: ignore[no-untyped-def]
    async def inner():  # type: ignore[no-untyped-def]
        m = NetworkManager()
        try:
            return await asyncio.wait_for(m.send_custom_request(request, method).wait(), 20)
        finally:
            await m.aclose()

    return loop.run_until_complete(inner())


@pytest.mark.parametrize("url", ["http://", "http://[::1", "http://exa mple.com:99999/", "::::", "",
                                 "http://:80/x", "https://127.0.0.1:abc/"])
def test_malformed_urls_give_protocol_errors(loop, url: str) -> None:
    r = go(loop, url)
    assert r.is_finished
    assert r.error in (NetworkError.ProtocolUnknownError, NetworkError.HostNotFoundError), (url, r.error)
    assert r.error_string


@pytest.mark.parametrize("url", ["ftp://example.invalid/", "gopher://x/", "javascript:alert(1)"])
def test_unknown_schemes(loop, url: str) -> None:
    r = go(loop, url)
    assert r.error is NetworkError.ProtocolUnknownError
    assert "is unknown" in r.error_string


def test_refused_connection(loop) -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    r = go(loop, f"http://127.0.0.1:{port}/")
    assert r.error is NetworkError.ConnectionRefusedError and r.error_string == "Connection refused"
    assert r.status is None


def test_server_closing_mid_body_keeps_what_arrived(loop) -> None:
    def handler(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")

    srv = RawServer(handler)
    try:
        r = go(loop, srv.url + "/truncated")
        assert r.error is NetworkError.RemoteHostClosedError
        assert r.status == 200 and r.content() == b"partial"  # X9
    finally:
        srv.close()


@pytest.mark.parametrize("header", [("X-Evil", "a\r\nInjected: 1"), ("X-Evil", "a\nb"),
                                    ("Bad Name", "v"), ("X-Uni", "caf\u00e9\u2603")])
def test_header_injection_is_refused_before_sending(loop, header: tuple[str, str]) -> None:
    accepted = []

    def handler(conn: socket.socket) -> None:
        accepted.append(read_request(conn))

    srv = RawServer(handler)
    try:
        r = go(loop, Request(srv.url + "/", headers=[header]))
        assert r.error is NetworkError.ProtocolInvalidOperationError
        assert "header" in r.error_string.lower()
        assert accepted == []
    finally:
        srv.close()


def test_garbage_status_line_fails_once_clearly(loop) -> None:
    def handler(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(b"NOT HTTP AT ALL\r\n\r\n")

    srv = RawServer(handler)
    try:
        r = go(loop, srv.url + "/")
        assert r.error in (NetworkError.ProtocolFailure, NetworkError.RemoteHostClosedError)
        assert srv.accepted == 1
    finally:
        srv.close()


# -- more malformed URLs, verbs and header values (issue 9, "Bad input") ----------------------------
@pytest.mark.parametrize("url", [
    "http://127.0.0.1:65536/", "http://127.0.0.1:99999999999999999999/", "http://127.0.0.1:-1/",
    "http://[::1]:80:80/", "http://[zz::1]/", "http://exa\x00mple.invalid/", "http://\u2603.invalid/",
    "http:///x", "http:x", "http://user@:80/", "http://127.0.0.1:1/?\udcff",
    "http://" + "a" * 300 + ".invalid/", "http://a..b/", "http://127.0.0.1:1/" + "x" * 1_000_000,
])
def test_more_malformed_urls_fail_clearly_and_briefly(loop, url: str) -> None:
    r = go(loop, url)
    record("Bad input", f"malformed URL {url[:40]!r}{'…' if len(url) > 40 else ''}",
           "ProtocolUnknownError or HostNotFoundError, a short message, nothing sent",
           f"{r.error.name}: {r.error_string[:70]}")
    assert r.error in (NetworkError.ProtocolUnknownError, NetworkError.HostNotFoundError), (url[:80], r.error)
    assert r.error_string and "codec" not in r.error_string and "Protocol \"\"" not in r.error_string
    assert len(r.error_string) < 500  # a pasted megabyte never ends up in a status line


@pytest.mark.parametrize("url,path", [
    ("/a\r\nX-Injected: 1", b"/aX-Injected:%201"),  # CR/LF/tab are stripped from URLs as browsers do
    ("/a b", b"/a%20b"), ("/caf\u00e9?q=\u2603", b"/caf%C3%A9?q=%E2%98%83"),
])
def test_urls_never_split_the_request_line(loop, url: str, path: bytes) -> None:
    got: list[bytes] = []

    def handler(conn: socket.socket) -> None:
        got.append(read_request(conn))
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    srv = RawServer(handler)
    try:
        r = go(loop, srv.url + url)
    finally:
        srv.close()
    assert r.error is NetworkError.NoError
    assert got[0].split(b"\r\n")[0] == b"GET " + path + b" HTTP/1.1"
    assert not any(line.lower().startswith(b"x-injected") for line in got[0].split(b"\r\n"))


@pytest.mark.parametrize("verb", ["FOO\r\nX-Injected: 1", "GET /evil HTTP/1.1\r\n", "BAD VERB", "caf\u00e9"])
def test_a_custom_verb_that_is_not_a_token_is_refused(loop, verb: str) -> None:
    accepted: list[bytes] = []

    def handler(conn: socket.socket) -> None:
        accepted.append(read_request(conn))

    srv = RawServer(handler)
    try:
        r = go(loop, srv.url + "/", verb)
    finally:
        srv.close()
    record("Bad input", f"custom verb {verb!r}", "ProtocolInvalidOperationError before sending",
           f"{r.error.name}: {r.error_string[:60]}; {len(accepted)} requests reached the server")
    assert r.error is NetworkError.ProtocolInvalidOperationError and "method" in r.error_string
    assert accepted == []


@pytest.mark.parametrize("headers,token", [
    ([], "abc\r\nX-Injected: 1"), ([], "t\u2603"), ([("", "v")], None), ([("X:Y", "v")], None),
    ([("X-A", "v\x00")], None), ([("\u00dcber", "v")], None), ([("X-Latin", "caf\u00e9")], None),
    ([("Host", "evil\r\nX: 1")], None),
])
def test_headers_and_bearer_tokens_are_checked_before_sending(loop, headers: list[tuple[str, str]],
                                                             token: str | None) -> None:
    accepted: list[bytes] = []

    def handler(conn: socket.socket) -> None:
        accepted.append(read_request(conn))

    srv = RawServer(handler)
    try:
        r = go(loop, Request(srv.url + "/", headers=headers, bearer_token=token))
    finally:
        srv.close()
    what = f"bearer token {token!r}" if token is not None else f"header {headers[0]!r}"
    record("Bad input", what, "ProtocolInvalidOperationError naming the header, nothing sent",
           f"{r.error.name}: {r.error_string[:70]}; {len(accepted)} requests reached the server")
    assert r.error is NetworkError.ProtocolInvalidOperationError
    assert "header" in r.error_string.lower() and "codec" not in r.error_string
    assert token is None or token not in r.error_string  # a secret never ends up in a message
    assert accepted == []
