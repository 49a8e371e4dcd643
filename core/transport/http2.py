"""HTTP/2 client connections with the h2 library: one connection multiplexes up to 100 streams.

Settings like QNAM's (D18): server push off, a large receive window, 100 concurrent streams.
Frames produced while handling one loop iteration are written together (one write per
iteration), so many streams opened at once cost one syscall. Received data is acknowledged
(WINDOW_UPDATE) as the consumer reads it, which gives per-stream back-pressure.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import Any

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings
import httpx
from hpack import NeverIndexedHeaderTuple
from hyperframe.frame import RstStreamFrame

from core.errors import CourierError, NetworkError
from core.transport.backend import NetStream, TraceFn, sync_trace
from core.transport.flow import WriteFlow
from core.transport.http11 import (
    MAX_FIELD_SIZE,
    MAX_FIELDS,
    MAX_HEAD_SIZE,
    ConnectionOwner,
    Stale,
    lost_error,
)
from core.transport.stream import BodyStream

# Credentials stay out of HPACK's dynamic table (h2 does this itself only with its outbound
# normalisation, which we switch off for speed).
_NEVER_INDEXED = frozenset({b"authorization", b"proxy-authorization"})
# hpack logs every header it encodes and decodes, values included (Authorization, Cookie, Set-Cookie),
# at DEBUG: keep it quiet unless someone asked for its debug output on purpose.
if logging.getLogger("hpack").level == logging.NOTSET:
    logging.getLogger("hpack").setLevel(logging.INFO)

STREAM_WINDOW = 16 * 1024 * 1024
CONNECTION_WINDOW = 2**31 - 1
CONNECTION_ACK_BATCH = 1024 * 1024
MAX_STREAMS = 100
_DROP = {b"host", b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"upgrade", b"te"}
_S = h2.settings.SettingCodes


def _install_huffman_cache() -> None:
    """Memoize hpack's pure-Python Huffman decoder: servers send the same strings (server, dates,
    content types) on every response, and decoding them was the largest cost of a small HTTP/2
    response (docs/performance.md)."""
    import hpack.hpack

    module: Any = hpack.hpack
    original = module.decode_huffman
    if getattr(original, "courier_cached", False):
        return
    cache: dict[bytes, bytes] = {}

    def decode_huffman(data: bytes) -> bytes:
        got = cache.get(data)
        if got is None:
            got = original(data)
            if len(data) <= 256:
                if len(cache) >= 4096:
                    cache.clear()
                cache[data] = got
        return got

    decode_huffman.courier_cached = True  # type: ignore[attr-defined]
    module.decode_huffman = decode_huffman


_install_huffman_cache()


class _Quiet:
    """hpack logs every header at debug level; even disabled, that is ~40 logger calls a request."""

    def debug(self, *args: object, **kwargs: object) -> None:
        pass


def _quiet_hpack() -> None:
    import hpack.hpack

    module: Any = hpack.hpack
    module.log = _Quiet()


_quiet_hpack()


class _CachedEncoder:
    """hpack's Encoder with a memo: a header list encoded again while the dynamic table did not
    change gives the same bytes (a repeated request's headers are all indexed after the first)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._cache: dict[tuple[Any, ...], bytes] = {}
        self._adds = 0
        table = inner.header_table
        original_add = table.add

        def add(name: bytes, value: bytes) -> Any:
            self._adds += 1
            self._cache.clear()
            return original_add(name, value)

        table.add = add

    @property
    def header_table_size(self) -> int:
        return int(self._inner.header_table_size)

    @header_table_size.setter
    def header_table_size(self, value: int) -> None:
        self._inner.header_table_size = value
        self._cache.clear()

    def encode(self, headers: Any, huffman: bool = True) -> bytes:
        inner = self._inner
        if inner.header_table.resized:
            self._cache.clear()
            return bytes(inner.encode(headers, huffman))
        key = tuple(headers)
        got = self._cache.get(key)
        if got is not None:
            return got
        before = self._adds
        out = bytes(inner.encode(key, huffman))
        if self._adds == before and len(self._cache) < 64:
            self._cache[key] = out
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _CachedDecoder:
    """hpack's Decoder with a memo of whole header blocks. A block that refers to no dynamic-table
    entry and changes no table size decodes to the same headers every time; its only side effect,
    the entries it adds to the dynamic table, is replayed on a hit. Servers resend nearly the same
    block on every response (only Date changes, once a second)."""

    STATIC_ENTRIES = 61  # RFC 7541 appendix A

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._cache: dict[bytes, tuple[list[Any], list[tuple[bytes, bytes]]]] = {}
        self._recording: list[tuple[bytes, bytes]] | None = None
        self._dynamic = False
        table = inner.header_table
        self._add = original_add = table.add
        original_get = table.get_by_index

        def add(name: bytes, value: bytes) -> Any:
            if self._recording is not None:
                self._recording.append((name, value))
            return original_add(name, value)

        def get_by_index(index: int) -> Any:
            if index > self.STATIC_ENTRIES:
                self._dynamic = True
            return original_get(index)

        table.add = add
        table.get_by_index = get_by_index

    def decode(self, data: bytes, raw: bool = False) -> Any:
        inner = self._inner
        if raw:
            hit = self._cache.get(data)
            if hit is not None:
                headers, adds = hit
                for name, value in adds:
                    self._add(name, value)
                return list(headers)
        size = inner.header_table.maxsize
        self._recording, self._dynamic = [], False
        try:
            out = inner.decode(data, raw)
        finally:
            adds, self._recording = self._recording, None
        if raw and not self._dynamic and inner.header_table.maxsize == size and len(data) <= 4096:
            if len(self._cache) >= 256:
                self._cache.clear()
            self._cache[bytes(data)] = (list(out), adds)
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        else:  # h2 sets max_allowed_table_size / max_header_list_size from our settings
            setattr(self._inner, name, value)


class _H2State(h2.connection.H2Connection):
    """h2's connection with our count of open streams: h2 counts them by walking every stream on
    each new request (O(streams)); we know the count. h2's purge of closed streams still runs every
    32 requests."""

    courier_open = 0
    _courier_sends = 0

    def _receive_frame(self, frame: Any) -> list[Any]:
        """h2's ``_receive_frame`` without its first line, ``logger.trace("Received frame: %s",
        repr(frame))``: the repr is built for every received frame even though nothing logs it
        (~3.5% of a small HTTP/2 request). tests/test_transport_h2.py checks this copy against
        the installed h2's source, so an h2 upgrade that changes it fails loudly."""
        events: list[Any]
        try:
            frames, events = self._frame_dispatch_table[frame.__class__](frame)
        except h2.exceptions.StreamClosedError as e:
            if self._stream_is_closed_by_reset(e.stream_id):
                f = RstStreamFrame(e.stream_id)
                f.error_code = e.error_code
                self._prepare_for_sending([f])
                events = e._events
            else:
                raise
        except h2.exceptions.StreamIDTooLowError as e:
            if self._stream_is_closed_by_reset(e.stream_id):
                f = RstStreamFrame(e.stream_id)
                f.error_code = h2.errors.ErrorCodes.STREAM_CLOSED
                self._prepare_for_sending([f])
                events = []
            elif self._stream_is_closed_by_end(e.stream_id):
                raise h2.exceptions.StreamClosedError(e.stream_id) from e
            else:
                raise
        else:
            self._prepare_for_sending(frames)

        return events

    @property
    def open_outbound_streams(self) -> int:
        self._courier_sends += 1
        if self._courier_sends % 32 == 0:
            return self._open_streams(1)
        return self.courier_open


def _protocol_error(message: str) -> CourierError:
    return CourierError(NetworkError.ProtocolFailure, message)


class H2Stream:
    __slots__ = ("body", "conn", "ended", "head", "headers", "id", "released", "request_done", "status")

    def __init__(self, conn: H2Connection, stream_id: int) -> None:
        self.conn = conn
        self.id = stream_id
        self.head: asyncio.Future[None] = conn.loop.create_future()
        self.body = BodyStream(conn, stream_id)
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.ended = False
        self.request_done = False
        self.released = False

    reason = b""
    version = b"HTTP/2"

    def fail(self, err: BaseException) -> None:
        if not self.head.done():
            self.head.set_exception(err)
        else:
            self.body.fail(err)


class H2Connection(WriteFlow, asyncio.BufferedProtocol):
    http2 = True

    def __init__(self, owner: ConnectionOwner, read_buffer: memoryview) -> None:
        self.owner = owner
        self._rbuf = read_buffer
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.stream: NetStream | None = None
        self.closed = False
        self.goaway = False
        self.active = 0  # streams reserved or running (maintained with the owner)
        self.max_streams = MAX_STREAMS
        self.idle_since = 0.0
        self.served = 0
        self.streams: dict[int, H2Stream] = {}
        self._gone = False
        self._flush_pending = False
        self._window_waiters: list[asyncio.Future[None]] = []
        self._unacked = 0
        # We build valid request headers ourselves; response headers are only read, never forwarded,
        # and their size limits are checked in _head (h2's per-header validation cost ~5%).
        cfg = h2.config.H2Configuration(client_side=True, header_encoding=None,
                                        validate_outbound_headers=False, normalize_outbound_headers=False,
                                        validate_inbound_headers=False)
        self.h2 = _H2State(config=cfg)
        self.h2.encoder = _CachedEncoder(self.h2.encoder)  # type: ignore[assignment]
        self.h2.decoder = _CachedDecoder(self.h2.decoder)  # type: ignore[assignment]
        self.h2.local_settings = h2.settings.Settings(client=True, initial_values={
            _S.ENABLE_PUSH: 0, _S.MAX_CONCURRENT_STREAMS: MAX_STREAMS,
            _S.INITIAL_WINDOW_SIZE: STREAM_WINDOW, _S.MAX_HEADER_LIST_SIZE: MAX_HEAD_SIZE})
        del self.h2.local_settings[_S.ENABLE_CONNECT_PROTOCOL]

    # -- asyncio.BufferedProtocol ----------------------------------------------------------
    def get_buffer(self, sizehint: int) -> memoryview:
        return self._rbuf

    def buffer_updated(self, nbytes: int) -> None:
        self.data_received(bytes(self._rbuf[:nbytes]))

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        tr: asyncio.Transport = transport  # type: ignore[assignment]  # uvloop's are not subclasses
        self.transport = tr
        self.stream = NetStream(transport)
        self.h2.initiate_connection()
        self.h2.increment_flow_control_window(CONNECTION_WINDOW - 65535)
        tr.write(self.h2.data_to_send())

    def data_received(self, data: bytes) -> None:
        try:
            events: list[Any] = self.h2.receive_data(data)
        except h2.exceptions.ProtocolError as exc:
            self._fail_all(_protocol_error(f"HTTP/2 protocol error: {exc}"))
            self.close()
            return
        for e in events:
            t = type(e)
            if t is h2.events.DataReceived:
                s = self.streams.get(e.stream_id)
                n = len(e.data)
                extra = (e.flow_controlled_length or 0) - n
                if s is not None and not s.body.done:
                    s.body.feed(e.data)
                    if extra > 0:
                        self.h2.acknowledge_received_data(extra, e.stream_id)
                elif e.flow_controlled_length:
                    self.h2.acknowledge_received_data(e.flow_controlled_length, e.stream_id)
            elif t is h2.events.ResponseReceived:
                s = self.streams.get(e.stream_id)
                if s is not None:
                    self._head(s, e.headers)
            elif t is h2.events.StreamEnded:
                s = self.streams.get(e.stream_id)
                if s is not None:
                    s.ended = True
                    if not s.head.done():
                        s.fail(_protocol_error("HTTP/2 stream ended without a response"))
                    s.body.finish()
                    if s.request_done:
                        self._release(s)
            elif t is h2.events.StreamReset:
                s = self.streams.get(e.stream_id)
                if s is not None:
                    s.ended = True
                    if e.error_code == h2.errors.ErrorCodes.REFUSED_STREAM and not s.head.done():
                        s.fail(Stale(unprocessed=True))
                    else:
                        s.fail(_protocol_error(f"HTTP/2 stream reset by the server ({e.error_code!s})"))
                    self._release(s)
            elif t is h2.events.ConnectionTerminated:
                self.goaway = True
                last = e.last_stream_id if e.last_stream_id is not None else 0
                for s in list(self.streams.values()):
                    if s.id > last and not s.head.done():
                        s.fail(Stale(unprocessed=True))
                    elif not s.body.done:
                        s.fail(CourierError(NetworkError.RemoteHostClosedError, "Connection closed"))
                self.close()
            elif t is h2.events.RemoteSettingsChanged:
                ch = e.changed_settings.get(_S.MAX_CONCURRENT_STREAMS)
                if ch is not None:
                    self.max_streams = max(1, min(MAX_STREAMS, ch.new_value))
                self._wake_window()
            elif t is h2.events.WindowUpdated:
                self._wake_window()
        self._flush()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        for s in list(self.streams.values()):
            if not s.head.done():
                s.fail(lost_error(exc) if isinstance(exc, ssl.SSLError) else Stale())
            elif not s.body.done:
                s.fail(lost_error(exc))
        self.streams.clear()
        self._wake_window()
        self._release_drain()
        self._gone_now()

    # -- BodyOwner -------------------------------------------------------------------------
    def body_pause(self, body: BodyStream) -> None:
        pass  # the stream's flow-control window is the limit

    def body_resume(self, body: BodyStream) -> None:
        pass

    def body_consumed(self, body: BodyStream, size: int) -> None:
        if self.closed:
            return
        s = self.streams.get(body.stream_id)
        if s is None or s.ended:
            # The stream is over: only the connection window wants the bytes back. Batched, since
            # h2's per-call bookkeeping cost ~10 µs per small response.
            self._unacked += size
            if self._unacked >= CONNECTION_ACK_BATCH:
                self.h2.increment_flow_control_window(self._unacked)
                self._unacked = 0
                self._flush_soon()
            return
        self.h2.acknowledge_received_data(size, body.stream_id)
        self._flush_soon()

    def body_abandoned(self, body: BodyStream) -> None:
        s = self.streams.get(body.stream_id)
        if s is not None:
            self._reset(s)

    # -- internals -------------------------------------------------------------------------
    def _head(self, s: H2Stream, headers: list[tuple[bytes, bytes]]) -> None:
        if len(headers) > MAX_FIELDS + 1:
            s.fail(_protocol_error(f"Response has more than {MAX_FIELDS} header fields"))
            self._reset(s)
            return
        status = 0
        out: list[tuple[bytes, bytes]] = []
        for name, value in headers:
            if len(name) + len(value) > MAX_FIELD_SIZE:
                s.fail(_protocol_error(f"Response header field {name[:40]!r} is larger than 100 KiB"))
                self._reset(s)
                return
            if name[:1] == b":":
                if name == b":status":
                    status = int(value)
            else:
                out.append((name, value))
        s.status = status
        s.headers = out
        if not s.head.done():
            s.head.set_result(None)

    def _reset(self, s: H2Stream) -> None:
        if not s.ended and not self.closed:
            s.ended = True
            try:
                self.h2.reset_stream(s.id, h2.errors.ErrorCodes.CANCEL)
            except h2.exceptions.ProtocolError:
                pass
            self._flush_soon()
        s.ended = True
        s.body.finish()
        self._release(s)

    def _release(self, s: H2Stream) -> None:
        if s.released:
            return
        s.released = True
        self.streams.pop(s.id, None)
        if self.closed:
            return
        self.active -= 1
        if self.active == 0:
            self.idle_since = self.loop.time()
        self.owner.release(self)

    def _fail_all(self, err: BaseException) -> None:
        for s in list(self.streams.values()):
            s.fail(err)

    def _flush(self) -> None:
        self._flush_pending = False
        if self.closed or self.transport is None:
            return
        data = self.h2.data_to_send()
        if data:
            self.transport.write(data)

    def _flush_soon(self) -> None:
        if not self._flush_pending:
            self._flush_pending = True
            self.loop.call_soon(self._flush)

    def _wake_window(self) -> None:
        waiters, self._window_waiters = self._window_waiters, []
        for w in waiters:
            if not w.done():
                w.set_result(None)

    def has_capacity(self) -> bool:
        return not self.closed and not self.goaway and self.active < self.max_streams

    def is_usable(self) -> bool:
        return not self.closed and not self.goaway

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

    async def _send_data(self, s: H2Stream, data: bytes) -> None:
        view = memoryview(data)
        while view:
            if self.closed or s.ended:
                return
            try:
                window = min(self.h2.local_flow_control_window(s.id), self.h2.max_outbound_frame_size)
            except h2.exceptions.StreamClosedError:
                return
            if window <= 0:
                fut = self.loop.create_future()
                self._window_waiters.append(fut)
                await fut
                continue
            self.h2.send_data(s.id, bytes(view[:window]))
            view = view[window:]
            self._flush_soon()
            if self._write_paused:
                await self.wait_drain()

    async def send(self, request: httpx.Request, trace: TraceFn | None) -> H2Stream:
        if self.closed or self.goaway:
            raise Stale(unprocessed=True, untouched=True)
        sync = sync_trace(trace)
        if trace is not None:
            try:
                if sync is not None:
                    sync("http2.send_request_headers.started", {"request": request})
                else:
                    await trace("http2.send_request_headers.started", {"request": request})
            except BaseException:
                if not self.closed:  # give back the stream slot the pool reserved for us
                    self.active -= 1
                    self.owner.release(self)
                raise
        if self.closed or self.goaway:
            raise Stale(unprocessed=True, untouched=True)
        url = request.url
        headers = [(b":method", request.method.encode("ascii")), (b":authority", b""),
                   (b":scheme", url.raw_scheme), (b":path", url.raw_path)]
        hosts: list[bytes] = []
        for name, value in request.headers.raw:
            low = name.lower()
            if low in _NEVER_INDEXED or (low == b"cookie" and len(value) < 20):
                headers.append(NeverIndexedHeaderTuple(low, value))  # RFC 7541 §7.1.3, h2's own rule
            elif low not in _DROP:
                headers.append((low, value))
            elif low == b"host":
                hosts.append(value)
        # request.headers.get("host") without a second pass: every Host value, decoded, ", "-joined
        enc = request.headers.encoding
        authority = ", ".join(v.decode(enc) for v in hosts) or url.netloc.decode("ascii")
        headers[1] = (b":authority", authority.encode("latin-1"))
        stream = request.stream
        body: bytes | None = b"".join(stream) if isinstance(stream, httpx.ByteStream) else None
        sid = self.h2.get_next_available_stream_id()
        self.h2.courier_open = len(self.streams)  # open before this one (h2 adds 1 and checks)
        s = H2Stream(self, sid)
        self.streams[sid] = s
        self.served += 1
        try:
            try:
                self.h2.send_headers(sid, headers, end_stream=body == b"")
            except h2.exceptions.ProtocolError as exc:
                raise _protocol_error(f"HTTP/2 protocol error: {exc}") from exc
            self._flush_soon()
            if body != b"":
                if body is not None:
                    await self._send_data(s, body)
                else:
                    assert isinstance(stream, httpx.AsyncByteStream)
                    async for chunk in stream:
                        if self.closed or s.ended:
                            break
                        if chunk:
                            await self._send_data(s, chunk)
                if not self.closed:  # also after an early answer: closes our half of the stream
                    try:
                        self.h2.end_stream(sid)
                    except h2.exceptions.ProtocolError:
                        pass  # already reset or closed
                    self._flush_soon()
            s.request_done = True
            if s.ended and not self.closed:
                self._release(s)
            if sync is not None:
                sync("http2.send_request_body.complete", {"request": request, "stream_id": sid})
            elif trace is not None:
                await trace("http2.send_request_body.complete", {"request": request, "stream_id": sid})
            await s.head
        except BaseException:
            if not s.head.done() or s.head.cancelled():
                self._reset(s)
            elif not s.released and self.closed:
                s.released = True
            raise
        info = {"request": request, "stream_id": sid, "return_value": (b"HTTP/2", s.status, b"", s.headers)}
        if sync is not None:
            sync("http2.receive_response_headers.complete", info)
        elif trace is not None:
            await trace("http2.receive_response_headers.complete", info)
        return s

    def __repr__(self) -> str:
        return f"<H2Connection active={self.active} closed={self.closed}>"


__all__ = ["H2Connection", "H2Stream", "Stale"]


