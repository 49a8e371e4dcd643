"""HTTP/2 multiplexing, TLS hooks and preconnect of our transport, against hypercorn on 127.0.0.1."""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

import pytest

from core import NetworkError, NetworkManager, Request
from core.errors import CourierError
from core.request import Attribute
from tests.servers import HypercornServer, RawServer, read_request
from tests.test_transport import run


def trusting(tls_files: dict[str, str]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=tls_files["ca"])


def test_h2_multiplexes_many_requests_on_one_connection(anyloop, https_server: HypercornServer, tls_files) -> None:
    before = {tuple(c) for c in https_server.seen.connections}

    async def go(m: NetworkManager) -> None:
        m.transport.set_default_ssl_context(trusting(tls_files))
        replies = [m.get(https_server.url + f"/echo?{i}") for i in range(150)]
        for r in replies:
            await r.wait()
            assert r.error is NetworkError.NoError, r.error_string
            assert r.http_version == "HTTP/2" and b'"GET"' in r.content()
        assert sum(1 for r in replies if not r.timings.hops[0].connection.reused) == 1
        big = await m.get(https_server.url + f"/bytes/{40 * 1024 * 1024}").wait()  # > the stream window
        assert big.error is NetworkError.NoError and big.body.size == 40 * 1024 * 1024
        up = await m.post(https_server.url + "/echo", b"u" * 300_000).wait()
        assert up.error is NetworkError.NoError and https_server.seen.requests[-1]["body"] == b"u" * 300_000
        assert m.transport.connection_count() == 1

    run(anyloop, go)
    assert len({tuple(c) for c in https_server.seen.connections} - before) == 1


def test_h2c_with_prior_knowledge(anyloop, http_server: HypercornServer) -> None:
    async def go(m: NetworkManager) -> None:
        req = Request(http_server.url + "/echo", attributes={Attribute.HTTP2_DIRECT: True})
        rs = [m.get(req) for _ in range(5)]
        for r in rs:
            await r.wait()
            assert r.error is NetworkError.NoError, r.error_string
            assert r.http_version == "HTTP/2"
        assert m.transport.connection_count() == 1

    run(anyloop, go)


def test_h2_abort_resets_only_that_stream(anyloop, https_server: HypercornServer, tls_files) -> None:
    async def go(m: NetworkManager) -> None:
        m.transport.set_default_ssl_context(trusting(tls_files))
        big = m.get(https_server.url + f"/bytes/{30 * 1024 * 1024}")
        got = asyncio.Event()
        big.subscribe(lambda e: got.set() if type(e).__name__ == "ReadyRead" else None)
        await got.wait()
        big.abort()
        r = await m.get(https_server.url + "/echo").wait()
        assert r.error is NetworkError.NoError and r.timings.hops[0].connection.reused

    run(anyloop, go)


class Provider:
    def __init__(self, ctx: ssl.SSLContext, refuse: bool = False) -> None:
        self.ctx, self.refuse = ctx, refuse
        self.handshakes: list[str | None] = []

    def context_for(self, key: Any) -> ssl.SSLContext:
        return self.ctx

    async def after_handshake(self, key: Any, ssl_object: ssl.SSLObject) -> None:
        self.handshakes.append(ssl_object.version())
        if self.refuse:
            raise CourierError(NetworkError.SslHandshakeFailedError, "Refused by the TLS provider")


def test_tls_provider_sees_each_new_handshake_before_any_request(anyloop, https_server: HypercornServer,
                                                                  tls_files) -> None:
    provider = Provider(trusting(tls_files))
    refusing = Provider(trusting(tls_files), refuse=True)

    async def go(m: NetworkManager) -> None:
        m.transport.tls_provider = provider
        for http2 in (True, False):
            for _ in range(2):
                req = Request(https_server.url + "/echo", attributes={Attribute.HTTP2_ALLOWED: http2})
                r = await m.get(req).wait()
                assert r.error is NetworkError.NoError, r.error_string
        assert len(provider.handshakes) == 2 and provider.handshakes[0] and provider.handshakes[0].startswith("TLS")
        count = len(https_server.seen.requests)
        m.transport.tls_provider = refusing
        r = await m.get(Request(https_server.url + "/echo", peer_verify_name="localhost")).wait()
        assert r.error is NetworkError.SslHandshakeFailedError and "Refused" in r.error_string
        assert len(https_server.seen.requests) == count and len(refusing.handshakes) == 1

    run(anyloop, go)


def test_preconnect_opens_one_connection_without_http_bytes(anyloop) -> None:
    got: list[bytes] = []

    def handler(conn: Any) -> None:
        while True:
            req = read_request(conn)
            if not req:
                return
            got.append(req)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    srv = RawServer(handler)
    finished: list[str] = []

    async def go(m: NetworkManager) -> None:
        m.add_finished_listener(lambda r: finished.append(r.url))
        pre = m.connect_to_host("127.0.0.1", srv.port)
        await pre.wait()
        assert pre.error is NetworkError.NoError
        await asyncio.sleep(0.1)
        assert srv.accepted == 1 and got == []
        r = await m.get(srv.url + "/").wait()
        assert r.content() == b"ok" and r.timings.hops[0].connection.reused

    try:
        run(anyloop, go)
    finally:
        srv.close()
    assert finished[0] == f"preconnect-http://127.0.0.1:{srv.port}" and srv.accepted == 1 and len(got) == 1


def test_encrypted_preconnect_then_reuse(anyloop, https_server: HypercornServer, tls_files) -> None:
    async def go(m: NetworkManager) -> None:
        m.transport.set_default_ssl_context(trusting(tls_files))
        count = len(https_server.seen.requests)
        pre = await m.connect_to_host_encrypted("127.0.0.1", https_server.port).wait()
        assert pre.error is NetworkError.NoError and pre.url.startswith("preconnect-https://")
        assert pre.timings.hops[0].phases()["tls"] is not None
        assert len(https_server.seen.requests) == count and m.transport.connection_count() == 1
        r = await m.get(https_server.url + "/echo").wait()
        assert r.http_version == "HTTP/2" and r.timings.hops[0].connection.reused
        assert m.transport.connection_count() == 1

    run(anyloop, go)


@pytest.mark.parametrize("port_open", [False])
def test_preconnect_failure_finishes_with_the_error(anyloop, port_open: bool) -> None:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()

    async def go(m: NetworkManager) -> None:
        pre = await m.connect_to_host("127.0.0.1", port).wait()
        assert pre.is_finished and pre.error is NetworkError.ConnectionRefusedError

    run(anyloop, go)


def _h2c_server(behaviour: str) -> tuple[RawServer, list[tuple[int, int]]]:
    """An h2c (prior knowledge) server built on the h2 library. ``goaway``: connection 1 answers its
    first request with GOAWAY(last_stream_id=0); ``refuse``: the first stream is reset with
    REFUSED_STREAM. Every other request gets 200 "ok". Records (connection no, stream id) answered."""
    import h2.config
    import h2.connection
    import h2.errors
    import h2.events

    answered: list[tuple[int, int]] = []
    state = {"conns": 0, "first": True}

    def handler(sock: Any) -> None:
        state["conns"] += 1
        n = state["conns"]
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        conn.initiate_connection()
        sock.sendall(conn.data_to_send())
        while True:
            data = sock.recv(65536)
            if not data:
                return
            for e in conn.receive_data(data):
                if isinstance(e, h2.events.StreamEnded):
                    if state["first"] and behaviour == "goaway":
                        state["first"] = False
                        conn.close_connection(last_stream_id=0)
                        sock.sendall(conn.data_to_send())
                        return
                    if state["first"] and behaviour == "refuse":
                        state["first"] = False
                        conn.reset_stream(e.stream_id, h2.errors.ErrorCodes.REFUSED_STREAM)
                        continue
                    answered.append((n, e.stream_id))
                    conn.send_headers(e.stream_id, [(":status", "200"), ("content-length", "2")])
                    conn.send_data(e.stream_id, b"ok", end_stream=True)
            sock.sendall(conn.data_to_send())

    return RawServer(handler), answered


@pytest.mark.parametrize("behaviour,connections", [("goaway", 2), ("refuse", 1)])
@pytest.mark.parametrize("body", [b"", b"payload"])
def test_unprocessed_h2_request_is_resent_even_a_post(anyloop, behaviour: str, connections: int,
                                                      body: bytes) -> None:
    """REFUSED_STREAM or a GOAWAY below the stream id: the server did not process the request, so
    even a POST is sent again, when its body can be (a streamed body cannot: the error is reported)."""
    srv, answered = _h2c_server(behaviour)

    async def go(m: NetworkManager) -> None:
        req = Request(srv.url + "/submit", attributes={Attribute.HTTP2_DIRECT: True})
        r = await m.post(req, body).wait()
        if body:
            assert r.error in (NetworkError.RemoteHostClosedError, NetworkError.ProtocolFailure)
        else:
            assert r.error is NetworkError.NoError, r.error_string
            assert r.http_version == "HTTP/2" and r.content() == b"ok"

    try:
        run(anyloop, go)
    finally:
        srv.close()
    assert len(answered) == (0 if body else 1)
    if not body:
        assert srv.accepted == connections


def _normalized_body(fn: Any) -> str:
    """A function's code without its docstring, comments, annotations, the h2 trace log line, and
    with ``h2.exceptions.X`` / ``h2.errors.X`` written as plain ``X``."""
    import ast
    import inspect
    import textwrap

    tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    func = tree.body[0]
    assert isinstance(func, ast.FunctionDef)

    class Strip(ast.NodeTransformer):
        def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
            base = node.value
            if isinstance(base, ast.Attribute) and isinstance(base.value, ast.Name) and base.value.id == "h2":
                return ast.Name(id=node.attr, ctx=node.ctx)
            return self.generic_visit(node)

    body = [s for s in func.body
            if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))  # docstring
            and not isinstance(s, ast.AnnAssign)  # "events: list[Event]"
            and "logger.trace" not in ast.unparse(s)]
    return "\n".join(ast.unparse(Strip().visit(s)) for s in body)


def test_our_receive_frame_is_h2s_without_the_trace_line() -> None:
    import h2.connection

    from core.transport.http2 import _H2State

    theirs = h2.connection.H2Connection._receive_frame
    assert "logger.trace" in __import__("inspect").getsource(theirs)
    assert _normalized_body(_H2State._receive_frame) == _normalized_body(theirs)
