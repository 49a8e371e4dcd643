"""HTTP/1.1 client connections on an asyncio Protocol, parsed with httptools (llhttp).

One exchange at a time per connection. The response head is found and parsed here (with QNAM's
header limits, W16); bodies framed by Content-Length are counted without copying, chunked bodies
go through llhttp, bodies without framing end at EOF. The connection goes back to its pool as
soon as the response is complete and the request fully sent, even before the consumer has read
the body (the body waits in its own ``BodyStream``).

Trace events (httpcore's names) are the ones core's timings use: ``http11.send_request_headers.started``,
``http11.send_request_body.complete``, ``http11.receive_response_headers.complete`` (httpcore emits
more; each one is an awaited call per request, so we leave out those nobody reads).
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any, Protocol

import httptools
import httpx

from core.errors import CourierError, NetworkError
from core.tls.errors import describe_ssl_error
from core.transport.backend import NetStream, TraceFn, resume_reading, sync_trace
from core.transport.flow import WriteFlow
from core.transport.stream import BodyStream

MAX_FIELDS = 100  # QNAM W16
MAX_FIELD_SIZE = 100 * 1024
MAX_HEAD_SIZE = 256 * 1024

_IDLE, _HEAD, _BODY_LEN, _CHUNKED, _BODY_EOF, _CLOSED = range(6)


class Stale(Exception):
    """The connection closed before any byte of the response arrived.

    ``unprocessed``: the request certainly did not reach the server's application (nothing was
    written, or HTTP/2 REFUSED_STREAM / a GOAWAY below its stream id), so resending it can never
    duplicate it, whatever the method, if its body can be sent again. Otherwise only an idempotent
    request without a body is resent.
    """

    def __init__(self, unprocessed: bool = False, untouched: bool = False) -> None:
        super().__init__("connection closed before the response")
        self.unprocessed = unprocessed
        self.untouched = untouched  # the request's body stream was not read yet (nothing written)


class ConnectionOwner(Protocol):
    def release(self, conn: Any) -> None: ...

    def lost(self, conn: Any) -> None: ...


def _closed_error() -> CourierError:
    return CourierError(NetworkError.RemoteHostClosedError, "Connection closed")


def lost_error(exc: BaseException | None) -> CourierError:
    """Connection closed; a TLS alert says why (e.g. "certificate required" after a TLS 1.3 handshake)."""
    if isinstance(exc, ssl.SSLError):
        return CourierError(NetworkError.SslHandshakeFailedError, describe_ssl_error(exc))
    return _closed_error()


def _protocol_error(message: str) -> CourierError:
    return CourierError(NetworkError.ProtocolFailure, message)


class Exchange:
    """One request/response on a connection: the head (once parsed) and the body stream."""

    __slots__ = ("body", "head", "headers", "is_head", "reason", "request_done", "status", "version")

    def __init__(self, loop: asyncio.AbstractEventLoop, conn: H1Connection, is_head: bool) -> None:
        self.head: asyncio.Future[None] = loop.create_future()
        self.body = BodyStream(conn)
        self.is_head = is_head
        self.status = 0
        self.reason = b""
        self.version = b"HTTP/1.1"
        self.headers: list[tuple[bytes, bytes]] = []
        self.request_done = False


class H1Connection(WriteFlow, asyncio.BufferedProtocol):
    http2 = False

    def __init__(self, owner: ConnectionOwner, read_buffer: memoryview) -> None:
        self.owner = owner
        self._rbuf = read_buffer
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.keep_alive = True
        self.served = 0
        self.idle_since = 0.0
        self._gone = False
        self._state = _IDLE
        self._ex: Exchange | None = None
        self._buf = bytearray()
        self._parser: Any = None
        self._remaining = 0
        self._in_head = False
        self._chunk_done = False
        self._fields = 0
        self._reason = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._read_paused = False
        self._heard = False
        self.stream: NetStream | None = None

    # -- asyncio.BufferedProtocol ----------------------------------------------------------
    def get_buffer(self, sizehint: int) -> memoryview:
        return self._rbuf  # shared by the transport's connections: each read is handled at once

    def buffer_updated(self, nbytes: int) -> None:
        self.data_received(bytes(self._rbuf[:nbytes]))

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        tr: asyncio.Transport = transport  # type: ignore[assignment]  # uvloop's are not subclasses
        self.transport = tr
        self.stream = NetStream(transport)

    def data_received(self, data: bytes) -> None:
        """Every received chunk (from ``buffer_updated``, or replayed by the connection's opener)."""
        st = self._state
        if st == _BODY_LEN:
            ex = self._ex
            assert ex is not None
            n = len(data)
            if n < self._remaining:
                self._remaining -= n
                ex.body.feed(data)
                return
            if n > self._remaining:  # bytes past the body: the server is confused; do not reuse
                data = data[: self._remaining]
                self.keep_alive = False
            self._remaining = 0
            ex.body.feed(data)
            self._complete()
        elif st == _HEAD:
            self._heard = True
            self._buf += data
            self._head_bytes()
        elif st == _CHUNKED:
            self._chunked(data)
        elif st == _BODY_EOF:
            assert self._ex is not None
            self._ex.body.feed(data)
        elif st == _IDLE:
            self.keep_alive = False  # unsolicited bytes on an idle connection
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        st, ex = self._state, self._ex
        self._state = _CLOSED
        self._ex = None
        self.closed = True
        if ex is not None:
            if st == _HEAD:
                err: BaseException = Stale() if not self._heard and not isinstance(exc, ssl.SSLError) \
                    else lost_error(exc)
                if not ex.head.done():
                    ex.head.set_exception(err)
            elif st == _BODY_EOF and exc is None:
                ex.body.finish()
            else:
                ex.body.fail(lost_error(exc))
        self._release_drain()
        self._gone_now()

    # -- httptools callbacks ---------------------------------------------------------------
    def on_status(self, status: bytes) -> None:
        self._reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        self._fields += 1
        if self._fields > MAX_FIELDS:
            raise _protocol_error(f"Response has more than {MAX_FIELDS} header fields")
        if len(name) + len(value) > MAX_FIELD_SIZE:
            raise _protocol_error(f"Response header field {name[:40]!r} is larger than 100 KiB")
        self._headers.append((name, value))

    def on_body(self, body: bytes) -> None:
        ex = self._ex
        if ex is not None and self._state == _CHUNKED:
            ex.body.feed(body)

    def on_message_complete(self) -> None:
        if not self._in_head:
            self._chunk_done = True

    # -- body back-pressure (BodyOwner) ----------------------------------------------------
    def body_pause(self, body: BodyStream) -> None:
        if self._ex is not None and self._ex.body is body and self.transport is not None:
            self._read_paused = True
            self.transport.pause_reading()

    def body_resume(self, body: BodyStream) -> None:
        if self._read_paused and self.transport is not None and not self.closed:
            self._read_paused = False
            resume_reading(self.transport)

    def body_consumed(self, body: BodyStream, size: int) -> None:
        pass

    def body_abandoned(self, body: BodyStream) -> None:
        if self._ex is not None and self._ex.body is body:
            self.keep_alive = False
            self.close()

    # -- parsing ---------------------------------------------------------------------------
    def _head_bytes(self) -> None:
        ex = self._ex
        assert ex is not None
        buf = self._buf
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > MAX_HEAD_SIZE:
                    self._fail(_protocol_error("Response headers are larger than 256 KiB"))
                elif buf.count(b"\n") > MAX_FIELDS + 1:
                    self._fail(_protocol_error(f"Response has more than {MAX_FIELDS} header fields"))
                return
            if end + 4 > MAX_HEAD_SIZE:
                self._fail(_protocol_error("Response headers are larger than 256 KiB"))
                return
            head = bytes(buf[: end + 4])
            del buf[: end + 4]
            parser = httptools.HttpResponseParser(self)
            self._reason = b""
            self._headers = []
            self._fields = 0
            self._in_head = True
            try:
                parser.feed_data(head)
            except httptools.HttpParserCallbackError as exc:
                cause = exc.__context__
                self._fail(cause if isinstance(cause, CourierError) else _protocol_error(f"Invalid response: {exc}"))
                return
            except httptools.HttpParserError as exc:
                self._fail(_protocol_error(f"Invalid HTTP response: {exc}"))
                return
            finally:
                self._in_head = False
            status = parser.get_status_code()
            if 100 <= status < 200:
                if status == 101:
                    self._fail(_protocol_error("Unexpected 101 Switching Protocols"))
                    return
                continue  # W17: 1xx is skipped
            self._start_body(ex, parser, status)
            return

    def _start_body(self, ex: Exchange, parser: Any, status: int) -> None:
        version = parser.get_http_version()
        headers = self._headers
        te = cl = None
        conn_tokens = b""
        for name, value in headers:
            low = name.lower()
            if low == b"content-length":
                if cl is not None and cl != value.strip():
                    self._fail(_protocol_error("Conflicting Content-Length headers"))
                    return
                cl = value.strip()
            elif low == b"transfer-encoding":
                te = value if te is None else te + b"," + value
            elif low == b"connection":
                conn_tokens += b"," + value.lower()
        keep = b"close" not in conn_tokens if version == "1.1" else b"keep-alive" in conn_tokens
        ex.status = status
        ex.reason = self._reason
        ex.version = b"HTTP/1.1" if version == "1.1" else b"HTTP/1.0"
        ex.headers = headers
        self.keep_alive = self.keep_alive and keep
        ex.head.set_result(None)
        rest = bytes(self._buf)
        self._buf.clear()
        if ex.is_head or status in (204, 304):
            self._complete()
        elif te is not None:
            if te.rsplit(b",", 1)[-1].strip().lower() == b"chunked":
                self._parser = parser
                self._chunk_done = False
                self._state = _CHUNKED
            else:
                self.keep_alive = False
                self._state = _BODY_EOF
        elif cl is not None:
            if not cl.isdigit():
                self._fail(_protocol_error(f"Invalid Content-Length {cl[:40]!r}"))
                return
            self._remaining = int(cl)
            if self._remaining == 0:
                self._complete()
            else:
                self._state = _BODY_LEN
        else:
            self.keep_alive = False
            self._state = _BODY_EOF
        if rest:
            if self._state == _IDLE:
                self.keep_alive = False
                self.close()
            else:
                self.data_received(rest)

    def _chunked(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            if not self._chunk_done:
                self._fail(_protocol_error(f"Invalid chunked body: {exc}"))
                return
            self.keep_alive = False  # garbage after a complete message
        if self._chunk_done:
            self._parser = None
            self._complete()

    def _complete(self) -> None:
        ex = self._ex
        assert ex is not None
        self._ex = None
        self._state = _IDLE
        if self._read_paused and self.transport is not None:
            self._read_paused = False
            resume_reading(self.transport)
        ex.body.finish()
        if not ex.request_done:
            self.keep_alive = False  # answered before the request was sent: never reuse
        if self.keep_alive and not self.closed:
            self.idle_since = self.loop.time()
            self.owner.release(self)
        else:
            self.close()

    def _fail(self, err: BaseException) -> None:
        ex = self._ex
        if ex is not None:
            if not ex.head.done():
                ex.head.set_exception(err)
            else:
                ex.body.fail(err)
        self._ex = None
        self.keep_alive = False
        self.close()

    # -- control ---------------------------------------------------------------------------
    def is_usable(self) -> bool:
        return not self.closed and self.keep_alive and self._state == _IDLE

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self.transport is not None:
                self.transport.close()
        self._gone_now()

    def _gone_now(self) -> None:
        if not self._gone:
            self._gone = True
            self.owner.lost(self)

    async def send(self, request: httpx.Request, trace: TraceFn | None) -> Exchange:
        """Write the request and wait for the response head. Raises ``Stale`` if the connection
        closed before any response byte arrived."""
        if self.closed or self.transport is None:
            raise Stale(unprocessed=True, untouched=True)
        transport = self.transport
        ex = Exchange(self.loop, self, request.method == "HEAD")
        self._ex = ex
        self._state = _HEAD
        self._heard = False
        self.served += 1
        chunked = False
        parts = [request.method.encode("ascii"), b" ", request.url.raw_path, b" HTTP/1.1\r\n"]
        for name, value in request.headers.raw:
            parts += (name, b": ", value, b"\r\n")
            if len(name) == 17 and name.lower() == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        parts.append(b"\r\n")
        sync = sync_trace(trace)
        try:
            if sync is not None:
                sync("http11.send_request_headers.started", {"request": request})
            elif trace is not None:
                await trace("http11.send_request_headers.started", {"request": request})
            if self.closed:
                raise Stale(unprocessed=True, untouched=True)
            stream = request.stream
            if isinstance(stream, httpx.ByteStream):
                data = b"".join(stream)
                if chunked and data:
                    parts += (b"%x\r\n" % len(data), data, b"\r\n0\r\n\r\n")
                elif chunked:
                    parts.append(b"0\r\n\r\n")
                else:
                    parts.append(data)
                transport.write(b"".join(parts))
                ex.request_done = True
            else:
                transport.write(b"".join(parts))
                assert isinstance(stream, httpx.AsyncByteStream)
                async for chunk in stream:
                    if self.closed or ex.head.done():
                        break  # closed, or answered early: stop sending
                    if not chunk:
                        continue
                    if chunked:
                        transport.write(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                    else:
                        transport.write(chunk)
                    if self._write_paused:
                        await self.wait_drain()
                else:
                    if chunked and not self.closed:
                        transport.write(b"0\r\n\r\n")
                    ex.request_done = True
            if sync is not None:
                sync("http11.send_request_body.complete", {"request": request})
            elif trace is not None:
                await trace("http11.send_request_body.complete", {"request": request})
            await ex.head
        except BaseException:
            if self._ex is ex:
                self._ex = None
                self.keep_alive = False
                self.close()
            raise
        info = {"request": request, "return_value": (ex.version, ex.status, ex.reason, ex.headers)}
        if sync is not None:
            sync("http11.receive_response_headers.complete", info)
        elif trace is not None:
            await trace("http11.receive_response_headers.complete", info)
        return ex
