"""Core's transport against a real nginx (HTTP/1.1, HTTPS, HTTP/2 over TLS) on 127.0.0.1."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator

import pytest

from bench.nginx import SMALL_BODY, Nginx
from core import NetworkError, NetworkManager, Request
from core.request import Attribute
from tests.test_transport import run


@pytest.fixture(scope="module")
def nginx() -> Iterator[Nginx]:
    with Nginx(big_size=48 << 20) as n:
        yield n


@pytest.mark.parametrize("kind,version", [("http", "HTTP/1.1"), ("https", "HTTP/1.1"), ("h2", "HTTP/2")])
def test_many_small_gets_through_the_queue(anyloop, nginx: Nginx, kind: str, version: str) -> None:
    async def go(m: NetworkManager) -> None:
        m.transport.set_default_ssl_context(ssl.create_default_context(cafile=nginx.ca_file))
        attrs = {Attribute.HTTP2_ALLOWED: kind != "https"}
        replies = [m.get(Request(nginx.url(kind, "/small.txt"), attributes=dict(attrs))) for _ in range(300)]
        await asyncio.gather(*(r.wait() for r in replies))
        for r in replies:
            assert r.error is NetworkError.NoError, r.error_string
            assert r.content() == SMALL_BODY and r.http_version == version
        fresh = sum(1 for r in replies if not r.timings.hops[0].connection.reused)
        assert fresh == (1 if kind == "h2" else 6)
        assert m.transport.connection_count() == fresh

    run(anyloop, go)


@pytest.mark.parametrize("store", [True, False])
def test_download_delivers_every_byte(anyloop, nginx: Nginx, store: bool) -> None:
    async def go(m: NetworkManager) -> None:
        got = 0

        def on(e: object) -> None:
            nonlocal got
            data = getattr(e, "data", None)
            if data is not None:
                got += len(data)

        r = m.get(Request(nginx.url("http", "/big.bin"), attributes={Attribute.STORE_BODY: store}))
        r.subscribe(on)
        await r.wait()
        assert r.error is NetworkError.NoError and r.bytes_received == 48 << 20
        if store:
            assert r.body.size == 48 << 20 and r.body.on_disk and r.body.read_at(1 << 20, 4) == b"\0" * 4
        else:
            assert got == 48 << 20 and r.body.size == 0
        r.close()

    run(anyloop, go)
