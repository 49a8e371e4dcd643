"""Bad input and broken servers end with the right NetworkError and a clear message, never a hang."""

from __future__ import annotations

import asyncio
import socket

import pytest

from core import NetworkError, NetworkManager, Request
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
