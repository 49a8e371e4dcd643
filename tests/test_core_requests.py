"""A user sends requests through the core manager to real servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import os

import pytest

from core import FileBody, IteratorBody, MultipartBody, NetworkError, NetworkManager, Part, Request
from core.request import Attribute
from tests.helpers import fetch
from tests.servers import HypercornServer


def run(loop: asyncio.AbstractEventLoop, coro):  # type: ignore[no-untyped-def]
    return loop.run_until_complete(coro)


def test_every_operation_reaches_the_server_with_its_verb(loop, http_server: HypercornServer) -> None:
    async def go() -> list[str]:
        m = NetworkManager()
        seen = []
        for verb in ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "PROPFIND"]:
            r, _ = await fetch(m, verb, http_server.url + "/echo")
            assert r.error is NetworkError.NoError, (verb, r.error_string)
            seen.append(http_server.seen.requests[-1]["method"])
        await m.aclose()
        return seen

    assert run(loop, go()) == ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "PROPFIND"]


def test_named_operations_and_get_with_body(loop, http_server: HypercornServer) -> None:
    async def go() -> None:
        m = NetworkManager()
        r = await m.get(http_server.url + "/echo", b"query-body").wait()
        got = json.loads(r.content())
        assert got["method"] == "GET" and got["body"] == "query-body"
        r = await m.put(http_server.url + "/echo", b"put").wait()
        assert json.loads(r.content())["body"] == "put"
        r = await m.delete_resource(http_server.url + "/echo").wait()
        assert json.loads(r.content())["method"] == "DELETE"
        r = await m.head(http_server.url + "/echo").wait()
        assert r.status == 200 and r.content() == b""
        await m.aclose()

    run(loop, go())


def test_file_body_is_streamed_and_arrives_whole(loop, http_server: HypercornServer, tmp_path) -> None:
    path = tmp_path / "upload.bin"
    data = os.urandom(3 * 1024 * 1024 + 7)
    path.write_bytes(data)

    async def go() -> None:
        m = NetworkManager()
        progress = []
        r = m.post(http_server.url + "/upload", FileBody(path, "application/octet-stream"))
        r.subscribe(lambda e: progress.append(e) if type(e).__name__ == "UploadProgress" else None)
        await r.wait()
        assert r.error is NetworkError.NoError
        assert http_server.seen.requests[-1]["body"] == data
        assert progress[-1].sent == len(data) == progress[-1].total
        await m.aclose()

    run(loop, go())


def test_async_iterator_body_is_sent_chunked(loop, http_server: HypercornServer) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for i in range(5):
            yield f"part{i};".encode()

    async def go() -> None:
        m = NetworkManager()
        r = await m.post(http_server.url + "/echo", IteratorBody(chunks())).wait()
        got = json.loads(r.content())
        assert got["body"] == "part0;part1;part2;part3;part4;"
        assert ["transfer-encoding", "chunked"] in got["headers"]
        await m.aclose()

    run(loop, go())


def test_multipart_with_fields_and_files(loop, http_server: HypercornServer, tmp_path) -> None:
    f = tmp_path / "a.txt"
    f.write_bytes(b"file-content")

    async def go() -> None:
        m = NetworkManager()
        body = MultipartBody([Part("field", "value"), Part("upload", path=f, content_type="text/plain")])
        r = await m.post(http_server.url + "/upload", body).wait()
        assert r.error is NetworkError.NoError
        seen = http_server.seen.requests[-1]
        ctype = dict(seen["headers"])["content-type"]
        assert ctype.startswith("multipart/form-data; boundary=")
        raw = seen["body"]
        assert b'name="field"\r\n\r\nvalue\r\n' in raw
        assert b'filename="a.txt"' in raw and b"file-content" in raw
        assert int(dict(seen["headers"])["content-length"]) == len(raw)
        await m.aclose()

    run(loop, go())


def test_reply_metadata_headers_order_and_duplicates(loop, http_server: HypercornServer) -> None:
    async def go() -> None:
        m = NetworkManager()
        r = await m.get(http_server.url + "/echo").wait()
        assert r.status == 200 and r.http_version == "HTTP/1.1"
        assert r.remote_address == f"127.0.0.1:{http_server.port}"
        assert [k.lower() for k, _ in r.headers][:2] == ["content-length", "content-type"]
        assert r.url == http_server.url + "/echo"
        await m.aclose()

    run(loop, go())


def test_large_body_spools_to_disk(loop, http_server: HypercornServer) -> None:
    async def go() -> None:
        m = NetworkManager()
        r = await m.get(http_server.url + f"/bytes/{20 * 1024 * 1024}").wait()
        assert r.error is NetworkError.NoError
        assert r.body.size == 20 * 1024 * 1024 and r.body.on_disk
        path = r.body.path
        assert path and os.path.exists(path)
        assert r.body.read_at(1000, 10) == b"x" * 10
        r.close()
        assert not os.path.exists(path)
        await m.aclose()

    run(loop, go())


def test_https_http2_via_alpn_and_http11_when_disallowed(loop, https_server: HypercornServer, tls_files) -> None:
    async def go() -> None:
        import ssl

        m = NetworkManager()
        ctx = ssl.create_default_context(cafile=tls_files["ca"])
        m.transport.set_default_ssl_context(ctx)
        r = await m.get(https_server.url + "/echo").wait()
        assert r.error is NetworkError.NoError, r.error_string
        assert r.http_version == "HTTP/2"
        assert r.tls is not None and r.tls.alpn == "h2"
        req = Request(https_server.url + "/echo", attributes={Attribute.HTTP2_ALLOWED: False})
        r = await m.get(req).wait()
        assert r.http_version == "HTTP/1.1"
        await m.aclose()

    run(loop, go())


def test_unix_socket_scheme(loop, unix_server: HypercornServer) -> None:
    async def go() -> None:
        m = NetworkManager()
        req = Request("unix+http://api.example/echo",
                      attributes={Attribute.FULL_LOCAL_SERVER_NAME: unix_server.uds})
        r = await m.get(req).wait()
        assert r.error is NetworkError.NoError, r.error_string
        got = json.loads(r.content())
        assert ["host", "api.example"] in got["headers"]
        assert "unix+http" in m.supported_schemes()
        r = await m.get("unix+http://no-such-socket-here/x").wait()
        assert r.error is NetworkError.HostNotFoundError
        await m.aclose()

    run(loop, go())


def test_file_and_data_urls(loop, tmp_path) -> None:
    p = tmp_path / "hello.txt"
    p.write_text("hi there")

    async def go() -> None:
        m = NetworkManager()
        r = await m.get(p.as_uri()).wait()
        assert r.content() == b"hi there" and r.status == 200
        r = await m.get((tmp_path / "missing").as_uri()).wait()
        assert r.error is NetworkError.ContentNotFoundError
        assert "No such file or directory" in r.error_string
        r = await m.get("data:text/plain;base64,aGVsbG8=").wait()
        assert r.content() == b"hello" and r.header("content-type") == "text/plain"

    run(loop, go())


def test_transfer_timeout_covers_waiting_for_headers(loop, http_server: HypercornServer) -> None:
    async def go() -> None:
        m = NetworkManager()
        m.transfer_timeout = 0.3
        r = await m.get(http_server.url + "/slow-headers?2").wait()
        assert r.error is NetworkError.TimeoutError and r.error_string == "Operation timed out"
        assert r.timings.total is not None and r.timings.total < 1.5
        await m.aclose()

    run(loop, go())


def test_abort_finishes_at_once_with_operation_canceled(loop, http_server: HypercornServer) -> None:
    async def go() -> None:
        m = NetworkManager()
        r = m.get(http_server.url + "/slow-headers?5")
        await asyncio.sleep(0.1)
        r.abort()
        assert r.is_finished and r.error is NetworkError.OperationCanceledError
        await m.aclose()

    run(loop, go())


def test_six_connections_per_host_at_most(loop, http_server: HypercornServer) -> None:
    async def go() -> None:
        m = NetworkManager()
        before = set(http_server.seen.connections)
        replies = [m.get(http_server.url + "/slow-headers?0.2") for _ in range(12)]
        await asyncio.gather(*(r.wait() for r in replies))
        new = set(http_server.seen.connections) - before
        assert len(new) == 6
        queued = [r.timings.hops[0].phases()["queued"] for r in replies]
        assert sum(1 for q in queued if q and q > 0.15) == 6  # the second six waited in our queue
        await m.aclose()

    run(loop, go())


def test_timings_record_phases_and_reuse(loop, http_server: HypercornServer) -> None:
    async def go() -> None:
        m = NetworkManager()
        r1 = await m.get(http_server.url + "/echo").wait()
        r2 = await m.get(http_server.url + "/echo").wait()
        p1 = r1.timings.hops[0].phases()
        assert p1["dns"] is not None and p1["connect"] is not None and p1["waiting"] is not None
        assert not r1.timings.hops[0].connection.reused
        assert r2.timings.hops[0].connection.reused
        assert r2.timings.hops[0].phases()["connect"] is None
        await m.aclose()

    run(loop, go())


@pytest.mark.parametrize("kind", ["gzip"])
def test_transparent_decompression(loop, http_server: HypercornServer, kind: str) -> None:
    async def go() -> None:
        m = NetworkManager()
        r = await m.get(http_server.url + "/gzip").wait()
        assert r.content() == b"hello gzip " * 100
        assert r.header("content-encoding") == "gzip" and r.header("content-length") is None
        assert r.original_content_length is not None
        raw = await m.get(Request(http_server.url + "/gzip", headers=[("Accept-Encoding", "gzip")])).wait()
        assert raw.content()[:2] == b"\x1f\x8b" and raw.header("content-length") is not None
        await m.aclose()

    run(loop, go())


@pytest.mark.parametrize("method", ["GET", "post", "PUT", "PATCH", "DELETE", "PROPFIND"])
@pytest.mark.parametrize("headers", [
    [("Host", "example.com:8080"), ("Accept", "*/*"), ("Connection", "Keep-Alive")],
    [("accept", "a"), ("X-Dup", "1"), ("x-dup", "2")],  # no Host: httpx adds it from the URL
    [("Host", "h"), ("content-length", "0")],
    [("Host", "h"), ("Transfer-Encoding", "chunked")],
    [(b"Host", b"h"), ("X-Bytes", b"\xe9")],  # bytes pass through, the encoding is then looked up
    [],
])
def test_fast_empty_request_equals_httpx_request(method: str, headers: list) -> None:  # type: ignore[type-arg]
    import httpx

    from core.http import empty_request

    url = httpx.URL("https://example.com:8080/p?q=1")
    fast = empty_request(method, url, headers, {"trace": None})
    slow = httpx.Request(method, url, headers=headers, content=b"", extensions={"trace": None})
    assert (fast.method, fast.url, fast.extensions) == (slow.method, slow.url, slow.extensions)
    assert fast.headers.raw == slow.headers.raw and fast.headers.multi_items() == slow.headers.multi_items()
    assert fast.headers.encoding == slow.headers.encoding
    assert fast.content == slow.content == b"" and fast.read() == b""
    assert isinstance(fast.stream, httpx.ByteStream) and b"".join(fast.stream) == b"".join(slow.stream)


def test_fast_empty_request_refuses_what_httpx_refuses() -> None:
    import httpx

    from core.http import empty_request

    url = httpx.URL("http://example.com/")
    for bad in ([("X", "é")], [("é", "x")], [("X", 1)]):
        with pytest.raises((ValueError, TypeError)) as slow:
            httpx.Request("GET", url, headers=bad, content=b"")
        with pytest.raises(slow.type):
            empty_request("GET", url, bad, {})
