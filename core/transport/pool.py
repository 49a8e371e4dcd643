"""Connection pools keyed like QNAM's (D5), with our own per-origin FIFO queue.

Our own HTTP/1.1 (httptools) and HTTP/2 (h2) connections on asyncio protocols, behind httpx's
request/response types. HTTP/1.1: at most 6 connections per origin (D4); HTTP/2 (ALPN ``h2``, or
cleartext with prior knowledge) multiplexes up to 100 streams on one connection (D9, D18). While
an https origin's first connection negotiates ALPN, its other requests wait for the answer. Every
waiting request is in one FIFO queue per origin; the time spent there is the "queued" phase.

New connections are opened inside the requesting task (so context variables such as
``current_trace`` reach DNS/TCP/TLS hooks). An idempotent request without a body that finds its
kept-alive connection closed before any response byte is retried once on a new connection.
"""

from __future__ import annotations

import asyncio
import contextvars
import ssl
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpcore
import httpx

from core.errors import CourierError, NetworkError
from core.transport.backend import TimedDNSBackend, TraceFn
from core.transport.connect import TlsProvider, open_connection
from core.transport.http2 import H2Connection
from core.transport.http11 import H1Connection, Stale
from core.transport.proxied import Gate, ProxyEndpoint, send_through_pool
from core.transport.stream import response_headers, stream_response

HTTP1_CONNECTIONS = 6
HTTP2_STREAMS = 100
KEEPALIVE_EXPIRY = 120.0  # D20
READ_SIZE = 1024 * 1024  # one read from the socket: large reads are what make downloads fast
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})

Conn = H1Connection | H2Connection
ProxyPoolFactory = Callable[["OriginKey", "ssl.SSLContext | None", TimedDNSBackend], httpcore.AsyncConnectionPool]


@dataclass(frozen=True, slots=True)
class OriginKey:
    """Pool key: scheme + host + port + HTTP/2 mode + proxy + peer verify name + socket path."""

    scheme: str
    host: str
    port: int
    http2: bool = True
    http2_direct: bool = False
    proxy: ProxyEndpoint | None = None
    peer_verify_name: str | None = None
    uds: str | None = None
    tls_profile: str = "default"
    # The key is hashed several times per request (pools, credential caches, TLS): hashed once.
    _hash: int = field(init=False, repr=False, compare=False, default=0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.scheme, self.host, self.port, self.http2, self.http2_direct,
                                                self.proxy, self.peer_verify_name, self.uds, self.tls_profile)))

    def __hash__(self) -> int:
        return self._hash


class _Permit:
    """Handed to a waiter: "open a connection yourself"."""


_PERMIT = _Permit()
_Grant = Conn | _Permit


class Origin:
    """The pool of one origin key: live connections, idle HTTP/1.1 connections, the FIFO queue."""

    def __init__(self, transport: Transport, key: OriginKey) -> None:
        self.transport = transport
        self.key = key
        self.loop = asyncio.get_running_loop()
        self.conns: set[Conn] = set()
        self.idle: list[H1Connection] = []
        self.h2conn: H2Connection | None = None
        self.opening = 0
        self.waiters: deque[asyncio.Future[_Grant]] = deque()
        self._sweep: asyncio.TimerHandle | None = None
        self.h2_possible = key.http2 and (key.scheme == "https" or key.http2_direct)
        self.mode = "h2" if key.http2_direct and key.scheme != "https" else ("unknown" if self.h2_possible else "h1")

    def limit(self) -> int:
        return HTTP1_CONNECTIONS if self.mode == "h1" else 1

    def _take(self) -> Conn | None:
        if self.mode == "h2":
            c = self.h2conn
            if c is not None and c.has_capacity():
                c.active += 1
                return c
            return None
        now = self.loop.time()
        while self.idle:
            h1 = self.idle.pop()
            if not h1.is_usable():
                continue
            if now - h1.idle_since > KEEPALIVE_EXPIRY:
                h1.close()
                continue
            return h1
        return None

    async def acquire(self, trace: TraceFn | None, on_queued: Callable[[], Any] | None) -> tuple[Conn, bool]:
        """A connection to send on, and whether this task opened it."""
        while True:
            if not self.waiters:
                got = self._take()
                if got is not None:
                    if on_queued is not None:
                        on_queued()
                    return got, False
                if len(self.conns) + self.opening < self.limit():
                    self.opening += 1
                    if on_queued is not None:
                        on_queued()
                    return await self._open(trace), True
            fut: asyncio.Future[_Grant] = self.loop.create_future()
            self.waiters.append(fut)
            try:
                res = await fut
            except asyncio.CancelledError:
                if fut in self.waiters:
                    self.waiters.remove(fut)
                elif fut.done() and not fut.cancelled():
                    self._give_back(fut.result())
                raise
            if on_queued is not None:
                on_queued()
            if isinstance(res, _Permit):
                return await self._open(trace), True
            return res, False

    def _give_back(self, res: _Grant) -> None:
        if isinstance(res, _Permit):
            self.opening -= 1
        elif isinstance(res, H2Connection):
            res.active -= 1
        else:
            self.idle.append(res)
        self._grant()

    async def _open(self, trace: TraceFn | None) -> Conn:
        key = self.key
        try:
            ctx = self.transport.ssl_context_for(key)
            alpn = ["h2", "http/1.1"] if self.h2_possible and ctx is not None else ["http/1.1"]
            tr, holder, chosen = await open_connection(key, ctx, self.transport.tls_provider, trace, alpn)
        except BaseException:
            self.opening -= 1
            self._grant()
            raise
        self.opening -= 1
        conn: Conn
        if chosen == "h2" or (ctx is None and self.mode == "h2"):
            h2c = H2Connection(self, self.transport.read_buffer())
            h2c.active = 1
            self.mode = "h2"
            self.h2conn = h2c
            conn = h2c
        else:
            conn = H1Connection(self, self.transport.read_buffer())
            if self.mode == "unknown":
                self.mode = "h1"
        self.conns.add(conn)
        holder.hand_over(tr, conn)
        self._grant()
        return conn

    async def preconnect(self, trace: TraceFn | None) -> None:
        """Open one warm connection (N2/N3) unless one is already there or on its way."""
        if self.conns or self.opening:
            return
        self.opening += 1
        conn = await self._open(trace)
        self.release_new(conn)

    def release_new(self, conn: Conn) -> None:
        if isinstance(conn, H2Connection):
            conn.active -= 1
            conn.idle_since = self.loop.time()
            self.release(conn)
        elif conn.is_usable():
            conn.idle_since = self.loop.time()
            self.release(conn)

    # -- called by connections -------------------------------------------------------------
    def release(self, conn: Any) -> None:
        if isinstance(conn, H1Connection) and conn.is_usable():
            self.idle.append(conn)
        self._grant()
        if self._sweep is None and (self.idle or (self.h2conn is not None and self.h2conn.active == 0)):
            # an empty context: a timer keeps the one it was made in (a request's, with its reply)
            self._sweep = self.loop.call_later(KEEPALIVE_EXPIRY, self._sweep_idle, context=contextvars.Context())

    def _sweep_idle(self) -> None:
        """Close connections idle for KEEPALIVE_EXPIRY (QNAM D20: 120 s)."""
        self._sweep = None
        now = self.loop.time()
        for c in list(self.idle):
            if now - c.idle_since >= KEEPALIVE_EXPIRY:
                c.close()
        h2c = self.h2conn
        if h2c is not None and h2c.active == 0 and now - h2c.idle_since >= KEEPALIVE_EXPIRY:
            h2c.close()
        if self.idle or self.h2conn is not None:
            self._sweep = self.loop.call_later(KEEPALIVE_EXPIRY / 4, self._sweep_idle, context=contextvars.Context())

    def lost(self, conn: Any) -> None:
        self.conns.discard(conn)
        if conn in self.idle:
            self.idle.remove(conn)
        if conn is self.h2conn:
            self.h2conn = None
        self._grant()

    def _grant(self) -> None:
        waiters = self.waiters
        while waiters:
            if waiters[0].done():
                waiters.popleft()
                continue
            got = self._take()
            if got is None:
                if len(self.conns) + self.opening < self.limit():
                    self.opening += 1
                    waiters.popleft().set_result(_PERMIT)
                    continue
                return
            waiters.popleft().set_result(got)

    async def aclose(self) -> None:
        if self._sweep is not None:
            self._sweep.cancel()
            self._sweep = None
        for c in list(self.conns):
            c.close()
        self.idle.clear()


class Transport:
    """Routes each request to its origin's pool."""

    def __init__(self, ssl_context_factory: object | None = None) -> None:
        self._origins: dict[OriginKey, Origin] = {}
        self._default_ssl: ssl.SSLContext | None = None
        self._dns_backend = TimedDNSBackend()
        self.tls_provider: TlsProvider | None = None
        self.proxy_pool_factory: ProxyPoolFactory | None = None
        self._proxy_pools: dict[OriginKey, tuple[httpcore.AsyncConnectionPool, Gate]] = {}
        self._read_buffer: memoryview | None = None

    def read_buffer(self) -> memoryview:
        """The receive buffer all our connections read into (one loop: reads never interleave)."""
        if self._read_buffer is None:
            self._read_buffer = memoryview(bytearray(READ_SIZE))
        return self._read_buffer

    def set_default_ssl_context(self, context: ssl.SSLContext) -> None:
        """Use ``context`` for https origins created from now on."""
        self._default_ssl = context
        use = getattr(self.tls_provider, "use_default_context", None)
        if use is not None:
            use(context)  # the TLS layer verifies with it, and names problems with its CAs

    def ssl_context_for(self, key: OriginKey) -> ssl.SSLContext | None:
        if key.scheme != "https":
            return None
        if self.tls_provider is not None:
            return self.tls_provider.context_for(key)
        if self._default_ssl is None:
            self._default_ssl = httpx.create_ssl_context()
        return self._default_ssl

    def _origin(self, key: OriginKey) -> Origin:
        origin = self._origins.get(key)
        if origin is None:
            origin = Origin(self, key)
            self._origins[key] = origin
        return origin

    def _proxied_pool(self, key: OriginKey) -> tuple[httpcore.AsyncConnectionPool, Gate]:
        """The httpcore pool for a proxied key, made by ``proxy_pool_factory`` (the proxy layer)."""
        entry = self._proxy_pools.get(key)
        if entry is None:
            if self.proxy_pool_factory is None:
                raise CourierError(NetworkError.UnknownProxyError, "Proxies are not supported here")
            pool = self.proxy_pool_factory(key, self.ssl_context_for(key), self._dns_backend)
            entry = (pool, Gate(HTTP1_CONNECTIONS))
            self._proxy_pools[key] = entry
        return entry

    async def send(self, key: OriginKey, request: httpx.Request, on_queued: object = None) -> httpx.Response:
        queued = on_queued if callable(on_queued) else None
        if key.proxy is not None:
            pool, gate = self._proxied_pool(key)
            return await send_through_pool(pool, gate, request, queued)
        origin = self._origin(key)
        trace = request.extensions.get("trace")
        stream = request.stream
        replayable = isinstance(stream, httpx.ByteStream)
        retry = request.method in IDEMPOTENT and isinstance(stream, httpx.ByteStream) and not b"".join(stream)
        for attempt in (0, 1):
            conn, new = await origin.acquire(trace, queued if attempt == 0 else None)
            try:
                ex = await conn.send(request, trace)
            except Stale as exc:
                if attempt == 0 and ((exc.unprocessed and (exc.untouched or replayable)) or (retry and not new)):
                    continue
                raise CourierError(NetworkError.RemoteHostClosedError, "Connection closed") from None
            return stream_response(
                ex.status, response_headers(ex.headers), ex.body, request,
                {"http_version": ex.version, "reason_phrase": ex.reason, "network_stream": conn.stream})
        raise AssertionError("unreachable")

    async def preconnect(self, key: OriginKey) -> None:
        """Open one connection (TCP, or TCP+TLS with ALPN) to ``key`` with no HTTP bytes (QNAM N2/N3)."""
        from core.transport.backend import current_trace

        await self._origin(key).preconnect(current_trace.get())

    async def clear(self) -> None:
        origins, self._origins = self._origins, {}
        for o in origins.values():
            await o.aclose()
        pools, self._proxy_pools = self._proxy_pools, {}
        for pool, _ in pools.values():
            await pool.aclose()

    def connection_count(self) -> int:
        n = sum(len(o.conns) for o in self._origins.values())
        return n + sum(len(p.connections) for p, _ in self._proxy_pools.values())
