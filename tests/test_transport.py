"""Our HTTP/1.1 transport against real and hostile servers on 127.0.0.1 (asyncio and uvloop)."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from core import NetworkError, NetworkManager, Request
from core.request import Attribute
from tests.servers import HypercornServer, RawServer, read_request


def run(loop: asyncio.AbstractEventLoop, fn: Callable[[NetworkManager], Any]) -> Any:
    async def inner() -> Any:
        m = NetworkManager()
        try:
            return await asyncio.wait_for(fn(m), 30)
        finally:
            await m.aclose()

    return loop.run_until_complete(inner())


class Raw:
    """A RawServer whose handler serves a script of responses, one per request, per connection."""

    def __init__(self, script: Callable[[socket.socket, int, int], bool]) -> None:
        self.requests: list[bytes] = []
        self.conn_no = 0

        def handler(conn: socket.socket) -> None:
            self.conn_no += 1
            n = self.conn_no
            i = 0
            while True:
                req = read_request(conn)
                if not req:
                    return
                self.requests.append(req)
                if not script(conn, n, i):
                    return
                i += 1

        self.server = RawServer(handler)
        self.url = self.server.url

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def raw() -> Iterator[Callable[..., Raw]]:
    made: list[Raw] = []

    def make(script: Callable[[socket.socket, int, int], bool]) -> Raw:
        r = Raw(script)
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def test_keep_alive_reuses_one_connection(anyloop, raw) -> None:
    srv = raw(lambda c, n, i: c.sendall(OK) or True)

    async def go(m: NetworkManager) -> list[bool]:
        out = []
        for _ in range(3):
            r = await m.get(srv.url + "/").wait()
            assert r.error is NetworkError.NoError and r.content() == b"ok"
            out.append(r.timings.hops[0].connection.reused)
        return out

    assert run(anyloop, go) == [False, True, True]
    assert srv.server.accepted == 1 and len(srv.requests) == 3


def test_connection_close_is_honoured(anyloop, raw) -> None:
    def script(c: socket.socket, n: int, i: int) -> bool:
        c.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok")
        time.sleep(0.5)  # keep the socket open: the client must not wait for, or reuse, it
        return False

    srv = raw(script)

    async def go(m: NetworkManager) -> None:
        for _ in range(2):
            r = await m.get(srv.url + "/").wait()
            assert r.error is NetworkError.NoError and r.content() == b"ok"
            assert not r.timings.hops[0].connection.reused

    run(anyloop, go)
    assert srv.server.accepted == 2


def test_informational_responses_are_skipped(anyloop, raw) -> None:
    srv = raw(lambda c, n, i: c.sendall(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n"
                                        b"Link: </a>; rel=preload\r\n\r\n" + OK) or True)

    async def go(m: NetworkManager) -> None:
        r = await m.get(srv.url + "/").wait()
        assert r.status == 200 and r.content() == b"ok" and r.header("link") is None

    run(anyloop, go)


def test_head_204_304_have_no_body_and_keep_the_connection(anyloop, raw) -> None:
    answers = [b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n",
               b"HTTP/1.1 204 No Content\r\n\r\n",
               b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", OK]
    srv = raw(lambda c, n, i: c.sendall(answers[i]) or True)

    async def go(m: NetworkManager) -> None:
        r = await m.head(srv.url + "/").wait()
        assert (r.status, r.content(), r.error) == (200, b"", NetworkError.NoError)
        for status in (204, 304):
            r = await m.get(srv.url + "/").wait()
            assert (r.status, r.content(), r.error) == (status, b"", NetworkError.NoError)
        r = await m.get(srv.url + "/").wait()
        assert r.content() == b"ok"

    run(anyloop, go)
    assert srv.server.accepted == 1


def test_chunked_body_with_trailers(anyloop, raw) -> None:
    srv = raw(lambda c, n, i: c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                        b"5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\nX-T: 1\r\n\r\n") or True)

    async def go(m: NetworkManager) -> None:
        for _ in range(2):
            r = await m.get(srv.url + "/").wait()
            assert r.error is NetworkError.NoError and r.content() == b"hello world"

    run(anyloop, go)
    assert srv.server.accepted == 1


def test_broken_chunked_encoding_is_a_protocol_failure(anyloop, raw) -> None:
    srv = raw(lambda c, n, i: c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                        b"5\r\nhello\r\nZZZ\r\nbad\r\n0\r\n\r\n") and False)

    async def go(m: NetworkManager) -> None:
        r = await m.get(srv.url + "/").wait()
        assert r.error is NetworkError.ProtocolFailure, r.error_string
        assert "chunked" in r.error_string and r.content() == b"hello"

    run(anyloop, go)


def test_truncated_chunked_body_keeps_received_bytes(anyloop, raw) -> None:
    srv = raw(lambda c, n, i: c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                        b"5\r\nhello\r\n10\r\nabc") and False)

    async def go(m: NetworkManager) -> None:
        r = await m.get(srv.url + "/").wait()
        assert r.error is NetworkError.RemoteHostClosedError and r.content() == b"helloabc"

    run(anyloop, go)


def test_body_until_close_without_framing(anyloop, raw) -> None:
    srv = raw(lambda c, n, i: c.sendall(b"HTTP/1.0 200 OK\r\n\r\n" + b"z" * 300_000) and False)

    async def go(m: NetworkManager) -> None:
        r = await m.get(srv.url + "/").wait()
        assert r.error is NetworkError.NoError and r.content() == b"z" * 300_000
        assert r.http_version == "HTTP/1.0"

    run(anyloop, go)


@pytest.mark.parametrize("head", [
    b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(101)) + b"Content-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * (150 * 1024) + b"\r\nContent-Length: 0\r\n\r\n",
], ids=["101-fields", "150KiB-field"])
def test_response_header_limits_fail_clearly(anyloop, raw, head: bytes) -> None:
    srv = raw(lambda c, n, i: c.sendall(head) or True)

    async def go(m: NetworkManager) -> None:
        r = await m.get(srv.url + "/").wait()
        assert r.error is NetworkError.ProtocolFailure
        assert "header" in r.error_string and r.status is None

    run(anyloop, go)


@pytest.mark.parametrize("line", [b"X-Endless: " + b"a" * 1000, b"X: y\r\n"], ids=["huge-line", "many-fields"])
def test_endless_headers_fail_fast_while_the_server_holds_on(anyloop, raw, line: bytes) -> None:
    def script(c: socket.socket, n: int, i: int) -> bool:
        c.sendall(b"HTTP/1.1 200 OK\r\n")
        deadline = time.monotonic() + 10
        try:
            while time.monotonic() < deadline:
                c.sendall(line * 64)
        except OSError:
            pass
        return False

    srv = raw(script)

    async def go(m: NetworkManager) -> float:
        t0 = time.monotonic()
        r = await m.get(srv.url + "/").wait()
        assert r.error is NetworkError.ProtocolFailure and "header" in r.error_string
        return time.monotonic() - t0

    assert run(anyloop, go) < 5


def test_invalid_status_line_fails_once_without_resend(anyloop, raw) -> None:
    srv = raw(lambda c, n, i: c.sendall(b"HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n") or True)

    async def go(m: NetworkManager) -> None:
        r = await m.get(srv.url + "/").wait()
        assert r.error is NetworkError.ProtocolFailure and "Invalid HTTP response" in r.error_string

    run(anyloop, go)
    assert srv.server.accepted == 1 and len(srv.requests) == 1


def test_content_length_longer_than_body_keeps_bytes(anyloop, raw) -> None:
    srv = raw(lambda c, n, i: c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"p" * 600) and False)

    async def go(m: NetworkManager) -> None:
        r = await m.get(srv.url + "/").wait()
        assert r.error is NetworkError.RemoteHostClosedError and r.content() == b"p" * 600

    run(anyloop, go)


def _stale_script(c: socket.socket, n: int, i: int) -> bool:
    """Connection 1 answers once, then closes when the second request arrives (a stale keep-alive)."""
    if n == 1 and i == 1:
        return False
    c.sendall(OK)
    return True


def test_idempotent_request_is_retried_once_on_a_stale_connection(anyloop, raw) -> None:
    srv = raw(_stale_script)

    async def go(m: NetworkManager) -> None:
        assert (await m.get(srv.url + "/").wait()).content() == b"ok"
        r = await m.get(srv.url + "/").wait()
        assert r.error is NetworkError.NoError and r.content() == b"ok"
        assert not r.timings.hops[0].connection.reused  # answered on the new connection

    run(anyloop, go)
    assert srv.server.accepted == 2 and len(srv.requests) == 3


def test_post_is_never_resent_on_a_stale_connection(anyloop, raw) -> None:
    srv = raw(_stale_script)

    async def go(m: NetworkManager) -> None:
        assert (await m.get(srv.url + "/").wait()).content() == b"ok"
        r = await m.post(srv.url + "/", b"data").wait()
        assert r.error is NetworkError.RemoteHostClosedError

    run(anyloop, go)
    assert srv.server.accepted == 1 and len(srv.requests) == 2


def test_at_most_six_connections_and_fifo_queue(anyloop, http_server: HypercornServer) -> None:
    async def go(m: NetworkManager) -> list[Any]:
        replies = [m.get(http_server.url + "/slow-headers?0.2") for _ in range(14)]
        for r in replies:
            await r.wait()
        return replies

    replies = run(anyloop, go)
    assert all(r.error is NetworkError.NoError for r in replies)
    # Counted from our side: the server's set of client addresses can lose a new connection whose
    # ephemeral port an earlier test's (closed) connection had used.
    assert sum(1 for r in replies if not r.timings.hops[0].connection.reused) == 6
    got_slot = [r.timings.hops[0].queued_end for r in replies]
    assert max(got_slot[:6]) < min(got_slot[6:])  # six at once, the rest waited
    assert got_slot[6:] == sorted(got_slot[6:])  # in FIFO order


def test_aborting_mid_body_frees_the_slot(anyloop, http_server: HypercornServer) -> None:
    async def go(m: NetworkManager) -> None:
        big = m.get(http_server.url + f"/bytes/{50 * 1024 * 1024}")
        got = asyncio.Event()
        big.subscribe(lambda e: got.set() if type(e).__name__ == "ReadyRead" else None)
        await got.wait()
        big.abort()
        await big.wait()
        assert big.error is NetworkError.OperationCanceledError
        rs = [m.get(http_server.url + "/echo") for _ in range(12)]
        for r in rs:
            await r.wait()
            assert r.error is NetworkError.NoError
        assert m.transport.connection_count() <= 6

    run(anyloop, go)


def test_slow_consumer_back_pressure_keeps_memory_bounded(anyloop, http_server: HypercornServer) -> None:
    async def go(m: NetworkManager) -> None:
        req = Request(http_server.url + f"/bytes/{64 * 1024 * 1024}", attributes={Attribute.STORE_BODY: False})
        r = m.get(req)
        sizes: list[int] = []
        r.subscribe(lambda e: sizes.append(e.size) if type(e).__name__ == "ReadyRead" else None)
        await r.wait()
        assert r.error is NetworkError.NoError and sum(sizes) == 64 * 1024 * 1024

    run(anyloop, go)


def test_transport_emits_httpcore_trace_names(anyloop, http_server: HypercornServer) -> None:
    import httpx

    from core.transport import OriginKey, Transport
    from tests.test_trace_names import RELIED_ON

    names: list[str] = []

    async def trace(name: str, info: dict[str, Any]) -> None:
        names.append(name)
        if name == "connection.connect_tcp.complete":
            assert info["return_value"].get_extra_info("server_addr")[1] == http_server.port

    async def go() -> None:
        t = Transport()
        key = OriginKey("http", "127.0.0.1", http_server.port)
        for _ in range(2):
            req = httpx.Request("GET", http_server.url + "/echo", extensions={"trace": trace})
            resp = await t.send(key, req)
            assert resp.extensions["http_version"] == b"HTTP/1.1" and resp.status_code == 200
            assert isinstance(resp.extensions["reason_phrase"], bytes)
            body = b"".join([c async for c in resp.aiter_raw()])
            assert b'"GET"' in body
        assert t.connection_count() == 1
        await t.clear()

    anyloop.run_until_complete(go())
    assert set(names) >= RELIED_ON | {"connection.dns.started", "connection.dns.complete"}
    assert names.count("connection.connect_tcp.started") == 1  # the reused connection: no connect events


def test_fast_stream_response_equals_httpx_response() -> None:
    import httpx

    from core.transport.stream import response_headers, stream_response

    req = httpx.Request("GET", "http://example.com/")
    stream = httpx.ByteStream(b"")  # any stream: kept as is
    ext = {"http_version": b"HTTP/1.1", "reason_phrase": b"OK"}
    raw = [(b"Content-Type", b"text/plain"), (b"Location", b"/x")]
    fast = stream_response(200, response_headers(raw), stream, req, dict(ext))
    slow = httpx.Response(status_code=200, headers=raw, stream=stream, request=req, extensions=dict(ext))
    mine = {k: v for k, v in vars(fast).items() if k != "headers"}
    theirs = {k: v for k, v in vars(slow).items() if k != "headers"}
    assert mine == theirs  # every attribute httpx sets, with the same values
    assert fast.headers.multi_items() == slow.headers.multi_items() and fast.headers.encoding == slow.headers.encoding
    assert (fast.status_code, fast.reason_phrase, fast.http_version, fast.request) == \
        (slow.status_code, slow.reason_phrase, slow.http_version, slow.request)


def test_fast_response_headers_equal_httpx_headers() -> None:
    import httpx

    from core.transport.stream import response_headers

    raw = [(b"Content-Type", b"text/plain"), (b"X-Dup", b"1"), (b"x-dup", b"2"), (b"Set-Cookie", b"a=\xe9")]
    fast, slow = response_headers(raw), httpx.Headers(raw)
    assert fast.raw == slow.raw and fast.multi_items() == slow.multi_items()
    assert fast.encoding == slow.encoding == "iso-8859-1"
    for other in ([(b"Location", b"/a"), (b"Server", b"nginx")], [(b"X", "é".encode())], []):
        f, h = response_headers(other), httpx.Headers(other)
        assert f.encoding == h.encoding and f.multi_items() == h.multi_items()
    assert fast.get_list("X-DUP") == ["1", "2"] and fast["content-type"] == "text/plain"
    assert httpx.Response(200, headers=fast).headers.raw == raw


def test_idle_connections_expire(anyloop, http_server: HypercornServer, monkeypatch) -> None:
    import core.transport.pool as pool

    monkeypatch.setattr(pool, "KEEPALIVE_EXPIRY", 0.3)  # QNAM D20: 120 s

    async def go(m: NetworkManager) -> None:
        for attrs in ({}, {Attribute.HTTP2_DIRECT: True}):
            r = await m.get(Request(http_server.url + "/echo", attributes=dict(attrs))).wait()
            assert r.error is NetworkError.NoError
        assert m.transport.connection_count() == 2
        deadline = time.monotonic() + 5
        while m.transport.connection_count() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert m.transport.connection_count() == 0
        r = await m.get(http_server.url + "/echo").wait()
        assert r.error is NetworkError.NoError and not r.timings.hops[0].connection.reused

    run(anyloop, go)
