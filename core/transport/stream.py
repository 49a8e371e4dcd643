"""A response body as httpx sees it: chunks in arrival order, with back-pressure on the connection."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Coroutine
from typing import Any, Protocol

import httpx

HIGH_WATER = 8 * 1024 * 1024  # stop reading the socket when this much waits for the consumer
LOW_WATER = 2 * 1024 * 1024


def response_headers(raw: list[tuple[bytes, bytes]]) -> httpx.Headers:
    """``httpx.Headers(raw)`` without normalizing each name and value again: they are bytes from
    our parsers already (httpx is pinned; tests/test_transport.py checks the result is identical)."""
    headers = httpx.Headers()
    headers._list = [(name, name.lower(), value) for name, value in raw]
    for name, value in raw:
        if not (name.isascii() and value.isascii()):
            break
    else:  # what httpx's ``encoding`` property would find, without decoding every header to find it
        headers._encoding = "ascii"
    return headers


def stream_response(status: int, headers: httpx.Headers, stream: httpx.AsyncByteStream, request: httpx.Request,
                    extensions: dict[str, object]) -> httpx.Response:
    """``httpx.Response(status_code=status, stream=stream, request=request, extensions=extensions)``
    with ``headers`` kept as given, built directly: httpx's constructor copies the headers (losing
    their known encoding) and the extensions (httpx is pinned; tests/test_transport.py compares)."""
    r = httpx.Response.__new__(httpx.Response)
    r.status_code = status
    r.headers = headers
    r._request = request
    r.next_request = None
    r.extensions = extensions
    r.history = []
    r.is_closed = False
    r.is_stream_consumed = False
    r.default_encoding = "utf-8"
    r.stream = stream
    r._num_bytes_downloaded = 0
    return r


class _Chunks:
    """``async for`` over a BodyStream: each step is the stream's ``_next``."""

    __slots__ = ("_stream",)

    def __init__(self, stream: BodyStream) -> None:
        self._stream = stream

    def __aiter__(self) -> _Chunks:
        return self

    def __anext__(self) -> Coroutine[Any, Any, bytes]:
        return self._stream._next()


class BodyOwner(Protocol):
    def body_pause(self, body: BodyStream) -> None: ...

    def body_resume(self, body: BodyStream) -> None: ...

    def body_consumed(self, body: BodyStream, size: int) -> None: ...

    def body_abandoned(self, body: BodyStream) -> None: ...


class BodyStream(httpx.AsyncByteStream):
    """Filled by a connection's protocol (``feed``/``finish``/``fail``), read with ``aiter_raw``.

    Bytes that arrived before an error are delivered before the error is raised (QNAM X9).
    ``aclose`` before the end gives the connection back as unusable (it is closed).
    """

    __slots__ = ("_buffered", "_chunks", "_closed", "_done", "_error", "_owner", "_paused", "_waiter",
                 "stream_id")

    def __init__(self, owner: BodyOwner, stream_id: int = 0) -> None:
        self._owner = owner
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._waiter: asyncio.Future[None] | None = None
        self._done = False
        self._error: BaseException | None = None
        self._paused = False
        self._closed = False
        self.stream_id = stream_id

    @property
    def done(self) -> bool:
        return self._done

    def feed(self, data: bytes) -> None:
        self._chunks.append(data)
        self._buffered += len(data)
        if self._buffered > HIGH_WATER and not self._paused:
            self._paused = True
            self._owner.body_pause(self)
        w = self._waiter
        if w is not None:
            self._waiter = None
            if not w.done():
                w.set_result(None)

    def finish(self) -> None:
        self._done = True
        self._wake()

    def fail(self, exc: BaseException) -> None:
        if not self._done and self._error is None:
            self._error = exc
        self._wake()

    def _wake(self) -> None:
        w = self._waiter
        if w is not None:
            self._waiter = None
            if not w.done():
                w.set_result(None)

    def __aiter__(self) -> AsyncIterator[bytes]:
        # An iterator object, not an async generator: the loop registers every async generator in a
        # WeakSet (its shutdown hook), which cost a WeakSet add and a weakref callback per response.
        return _Chunks(self)

    async def _next(self) -> bytes:
        chunks = self._chunks
        while True:
            if chunks:
                data = chunks.popleft()
                self._buffered -= len(data)
                self._owner.body_consumed(self, len(data))
                if self._paused and self._buffered < LOW_WATER:
                    self._paused = False
                    self._owner.body_resume(self)
                return data
            if self._error is not None:
                raise self._error
            if self._done:
                raise StopAsyncIteration
            waiter = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            await waiter

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if not self._done:
            self._done = True
            self._owner.body_abandoned(self)
        self._chunks.clear()
