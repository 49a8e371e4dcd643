"""Write flow control (core/transport/flow.py) shared by the HTTP/1.1 and HTTP/2 connections."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from core import NetworkError, NetworkManager
from core.body import IteratorBody
from core.transport.flow import WriteFlow
from core.transport.http2 import H2Connection
from core.transport.http11 import H1Connection
from tests.servers import RawServer
from tests.test_transport import run


class _Owner:
    def release(self, conn: Any) -> None:
        pass

    def lost(self, conn: Any) -> None:
        pass


@pytest.mark.parametrize("cls", [H1Connection, H2Connection])
def test_drain_waits_for_resume_and_is_released_by_connection_loss(cls: type) -> None:
    assert issubclass(cls, WriteFlow)

    async def go() -> None:
        conn = cls(_Owner(), memoryview(bytearray(1024)))
        conn.pause_writing()
        assert conn._write_paused
        waiter = asyncio.ensure_future(conn.wait_drain())
        await asyncio.sleep(0)
        assert not waiter.done()
        conn.resume_writing()
        await asyncio.wait_for(waiter, 5)
        assert not conn._write_paused
        conn.pause_writing()
        waiter = asyncio.ensure_future(conn.wait_drain())
        await asyncio.sleep(0)
        conn.connection_lost(None)  # a sender waiting for a drain never hangs on a dead connection
        await asyncio.wait_for(waiter, 5)

    asyncio.run(go())


def test_streamed_upload_larger_than_the_socket_buffers_pauses_and_completes(anyloop, monkeypatch) -> None:
    total = 24 * 1024 * 1024
    got: list[int] = []
    pauses: list[int] = []
    original = WriteFlow.pause_writing

    def counting(self: WriteFlow) -> None:
        pauses.append(1)
        original(self)

    monkeypatch.setattr(WriteFlow, "pause_writing", counting)

    def handler(conn: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            data += conn.recv(65536)
        n = len(data) - data.index(b"\r\n\r\n") - 4
        time.sleep(0.3)  # let the client's write buffer fill up
        while n < total:
            chunk = conn.recv(1024 * 1024)
            if not chunk:
                break
            n += len(chunk)
        got.append(n)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    srv = RawServer(handler)

    async def body() -> AsyncIterator[bytes]:
        block = b"x" * (256 * 1024)
        for _ in range(total // len(block)):
            yield block

    async def go(m: NetworkManager) -> None:
        r = await m.post(srv.url + "/up", IteratorBody(body(), length=total)).wait()
        assert r.error is NetworkError.NoError, r.error_string
        assert r.content() == b"ok"

    try:
        run(anyloop, go)
    finally:
        srv.close()
    assert got == [total]
    assert pauses  # the transport's buffer passed its high-water mark at least once
