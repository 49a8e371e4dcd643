"""Proxied origins: httpcore-based pools behind our FIFO gate (QNAM P3).

``Transport.proxy_pool_factory(key, ssl_context, network_backend)`` returns an
``httpcore.AsyncConnectionPool`` for a key whose ``proxy`` is set (``proxied_pool_factory`` here).
Requests reach it through our FIFO gate, so a long queue never sits inside httpcore's pool.

* ``forward``: an HTTP proxy gets ``GET http://host/path`` (absolute-form) for http targets;
* ``connect``: an HTTP proxy opens a tunnel with ``CONNECT host:port``, then TLS to the origin;
* ``socks5``: a SOCKS5 proxy opens a tunnel, with the host *name* sent to the proxy (remote DNS).

The connections emit the same trace names as direct ones (``connection.connect_tcp.*``,
``connection.start_tls.*``) so timings work unchanged. Proxy credentials come from the request
(extension ``courier_proxy_auth``, filled by ``core.auth_flow``); a proxy that asks for them
raises ``ProxyChallenge``, which the auth rounds answer. Failures map to QNAM's proxy errors.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import ssl
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import httpcore
import httpx
import socksio
from httpcore._async.connection_pool import AsyncConnectionPool
from httpcore._async.http11 import AsyncHTTP11Connection
from httpcore._async.http_proxy import AsyncForwardHTTPConnection
from httpcore._async.interfaces import AsyncConnectionInterface
from httpcore._backends.base import AsyncNetworkBackend, AsyncNetworkStream
from httpcore._models import URL, Origin, Request, Response
from httpcore._synchronization import AsyncLock
from httpcore._trace import Trace

from core.errors import CourierError, NetworkError

if TYPE_CHECKING:
    from core.transport.pool import OriginKey

TLS_CHECK_EXTENSION = "courier_tls_check"  # async callable(ssl_object), set by core.tls for tunnels
logger = logging.getLogger("httpcore.connection")  # trace names: connection.*
AUTH_EXTENSION = "courier_proxy_auth"
_S5 = socksio.socks5


@dataclass(frozen=True, slots=True)
class ProxyEndpoint:
    """The proxy part of a pool key (D5): how, where, and the user/password it was configured with.

    The password takes part in equality (QNAM keys by its SHA-1) but never in ``repr``.
    """

    mode: str  # "forward" | "connect" | "socks5"
    host: str
    port: int
    user: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def proxy_type(self) -> str:
        return "socks5" if self.mode == "socks5" else "http"


class ProxyAuthHook(Protocol):
    """What a proxied connection asks the auth rounds while it sets up a tunnel."""

    def connect_authorization(self, target: str) -> str | None: ...

    def socks_credentials(self) -> tuple[str, str] | None: ...


class ProxyChallenge(Exception):
    """The proxy wants (other) credentials: a 407 to CONNECT, or SOCKS5 authentication."""

    def __init__(self, endpoint: ProxyEndpoint, status: int, reason: str,
                 headers: list[tuple[str, str]], body: bytes, rejected: bool = False) -> None:
        super().__init__(f"Proxy requires authentication ({status} {reason})".strip())
        self.endpoint, self.status, self.reason = endpoint, status, reason
        self.headers, self.body, self.rejected = headers, body, rejected


def _proxy_error(exc: BaseException) -> CourierError:
    """Map a failure to reach the proxy itself (X7, X8, X12)."""
    chain: list[BaseException] = []
    e: BaseException | None = exc
    while e is not None and len(chain) < 8:
        chain.append(e)
        e = e.__cause__ or e.__context__
    if any(isinstance(x, (httpcore.ConnectTimeout, TimeoutError)) for x in chain):
        return CourierError(NetworkError.ProxyTimeoutError, "Proxy server connection timed out")
    if any(isinstance(x, ConnectionRefusedError) for x in chain) or "refused" in str(exc).lower():
        return CourierError(NetworkError.ProxyConnectionRefusedError, "Proxy connection refused")
    if "not found" in str(exc):
        return CourierError(NetworkError.ProxyNotFoundError, "Proxy host not found")
    return CourierError(NetworkError.ProxyConnectionClosedError, f"Proxy connection failed: {exc}")


async def _connect_proxy(backend: AsyncNetworkBackend, endpoint: ProxyEndpoint,
                         request: Request) -> AsyncNetworkStream:
    timeout = request.extensions.get("timeout", {}).get("connect")
    kwargs = {"host": endpoint.host, "port": endpoint.port, "timeout": timeout}
    try:
        async with Trace("connect_tcp", logger, request, kwargs) as trace:
            stream = await backend.connect_tcp(**kwargs)
            trace.return_value = stream
    except (httpcore.ConnectError, httpcore.ConnectTimeout, OSError) as exc:
        raise _proxy_error(exc) from exc
    return stream


class _ForwardConnection(AsyncForwardHTTPConnection):
    """Absolute-form requests to an HTTP proxy; failures to reach it become proxy errors."""

    def __init__(self, endpoint: ProxyEndpoint, origin: Origin, backend: AsyncNetworkBackend,
                 keepalive_expiry: float | None) -> None:
        super().__init__(proxy_origin=Origin(b"http", endpoint.host.encode(), endpoint.port),
                         remote_origin=origin, keepalive_expiry=keepalive_expiry,
                         network_backend=backend)

    async def handle_async_request(self, request: Request) -> Response:
        try:
            return await super().handle_async_request(request)
        except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
            raise _proxy_error(exc) from exc


class _TunnelConnection(AsyncConnectionInterface):
    """A tunnel through an HTTP proxy (CONNECT) or a SOCKS5 proxy, then HTTP/1.1 or HTTP/2."""

    def __init__(self, endpoint: ProxyEndpoint, origin: Origin, ssl_context: ssl.SSLContext | None,
                 backend: AsyncNetworkBackend, keepalive_expiry: float | None,
                 http1: bool, http2: bool) -> None:
        self._endpoint, self._origin, self._ssl = endpoint, origin, ssl_context
        self._backend, self._expiry = backend, keepalive_expiry
        self._http1, self._http2 = http1, http2
        self._lock = AsyncLock()
        self._connection: AsyncConnectionInterface | None = None
        self._failed = False

    async def handle_async_request(self, request: Request) -> Response:
        async with self._lock:
            if self._connection is None:
                try:
                    self._connection = await self._open(request)
                except BaseException:
                    self._failed = True
                    raise
            elif not self._connection.is_available():
                raise httpcore.ConnectionNotAvailable()
        return await self._connection.handle_async_request(request)

    async def _open(self, request: Request) -> AsyncConnectionInterface:
        hook: ProxyAuthHook | None = request.extensions.get(AUTH_EXTENSION)
        stream = await _connect_proxy(self._backend, self._endpoint, request)
        host = self._origin.host.decode("ascii")
        try:
            if self._endpoint.mode == "socks5":
                creds = hook.socks_credentials() if hook is not None else None
                await _socks5_handshake(stream, self._endpoint, host, self._origin.port, creds)
            else:
                stream = await self._connect_tunnel(stream, request, hook)
        except (httpcore.ReadError, httpcore.WriteError, OSError) as exc:
            await stream.aclose()
            raise CourierError(NetworkError.ProxyConnectionClosedError,
                               "Proxy connection closed prematurely") from exc
        except BaseException:
            await stream.aclose()
            raise
        if self._origin.scheme == b"https":
            ctx = self._ssl or ssl.create_default_context()
            ctx.set_alpn_protocols(["h2", "http/1.1"] if self._http2 else ["http/1.1"])
            sni = request.extensions.get("sni_hostname") or host
            kwargs: dict[str, Any] = {"ssl_context": ctx, "server_hostname": sni,
                                      "timeout": request.extensions.get("timeout", {}).get("connect")}
            async with Trace("start_tls", logger, request, kwargs) as trace:
                stream = await stream.start_tls(**kwargs)
                check = request.extensions.get(TLS_CHECK_EXTENSION)
                if check is not None:  # the TLS provider's after_handshake, before any request byte
                    try:
                        await check(stream.get_extra_info("ssl_object"))
                    except BaseException:
                        await stream.aclose()
                        raise
                trace.return_value = stream
        sslobj = stream.get_extra_info("ssl_object")
        h2 = sslobj is not None and sslobj.selected_alpn_protocol() == "h2"
        if h2 or (self._http2 and not self._http1):
            from httpcore._async.http2 import AsyncHTTP2Connection

            return AsyncHTTP2Connection(origin=self._origin, stream=stream, keepalive_expiry=self._expiry)
        return AsyncHTTP11Connection(origin=self._origin, stream=stream, keepalive_expiry=self._expiry)

    async def _connect_tunnel(self, stream: AsyncNetworkStream, request: Request,
                              hook: ProxyAuthHook | None) -> AsyncNetworkStream:
        """CONNECT host:port (P3). A 407 raises ProxyChallenge; another error is X12's."""
        target = f"{self._origin.host.decode('ascii')}:{self._origin.port}"
        headers = [(b"Host", target.encode()), (b"Proxy-Connection", b"keep-alive")]
        ua = next((v for k, v in request.headers if k.lower() == b"user-agent"), None)
        if ua is not None:
            headers.append((b"User-Agent", ua))
        auth = hook.connect_authorization(target) if hook is not None else None
        if auth:
            headers.append((b"Proxy-Authorization", auth.encode("latin-1")))
        conn = AsyncHTTP11Connection(origin=Origin(b"http", self._endpoint.host.encode(), self._endpoint.port),
                                     stream=stream)
        url = URL(scheme=b"http", host=self._endpoint.host.encode(), port=self._endpoint.port,
                  target=target.encode())
        response = await conn.handle_async_request(
            Request(b"CONNECT", url, headers=headers, extensions=request.extensions))
        if 200 <= response.status < 300:
            tunnel: AsyncNetworkStream = response.extensions["network_stream"]
            return tunnel
        reason = response.extensions.get("reason_phrase", b"").decode("latin-1")
        body = b""
        try:
            async for chunk in response.aiter_stream():
                body += chunk
                if len(body) > 1 << 20:
                    break
        except httpcore.NetworkError:
            pass
        await conn.aclose()
        if response.status == 407:
            hdrs = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers]
            raise ProxyChallenge(self._endpoint, 407, reason, hdrs, body, rejected=auth is not None)
        raise CourierError(NetworkError.UnknownNetworkError,
                           f"Proxy CONNECT aborted: {response.status} {reason}".strip())

    def can_handle_request(self, origin: Origin) -> bool:
        return origin == self._origin

    async def aclose(self) -> None:
        if self._connection is not None:
            await self._connection.aclose()

    def info(self) -> str:
        return self._connection.info() if self._connection is not None else "CONNECTING"

    def is_available(self) -> bool:
        if self._connection is None:
            return False
        return self._connection.is_available()

    def has_expired(self) -> bool:
        return self._failed if self._connection is None else self._connection.has_expired()

    def is_idle(self) -> bool:
        return self._failed if self._connection is None else self._connection.is_idle()

    def is_closed(self) -> bool:
        return self._failed if self._connection is None else self._connection.is_closed()


_SOCKS_ERRORS = {
    _S5.SOCKS5ReplyCode.CONNECTION_REFUSED: (NetworkError.ConnectionRefusedError, "Connection refused"),
    _S5.SOCKS5ReplyCode.HOST_UNREACHABLE: (NetworkError.HostNotFoundError, "Host not found"),
    _S5.SOCKS5ReplyCode.NETWORK_UNREACHABLE: (NetworkError.UnknownNetworkError, "Network unreachable"),
    _S5.SOCKS5ReplyCode.CONNECTION_NOT_ALLOWED_BY_RULESET: (NetworkError.ProxyConnectionRefusedError,
                                                            "Connection not allowed by SOCKSv5 server"),
    _S5.SOCKS5ReplyCode.TTL_EXPIRED: (NetworkError.ProxyTimeoutError, "TTL expired"),
}


async def _socks5_handshake(stream: AsyncNetworkStream, endpoint: ProxyEndpoint, host: str, port: int,
                            creds: tuple[str, str] | None) -> None:
    """SOCKS5 with the host name sent to the proxy (ATYP domain, P3) and optional user/password."""
    conn = _S5.SOCKS5Connection()
    methods = [_S5.SOCKS5AuthMethod.NO_AUTH_REQUIRED]
    if creds is not None:
        methods.append(_S5.SOCKS5AuthMethod.USERNAME_PASSWORD)
    conn.send(_S5.SOCKS5AuthMethodsRequest(methods))
    await stream.write(conn.data_to_send())
    reply = conn.receive_data(await _read(stream))
    if not isinstance(reply, _S5.SOCKS5AuthReply):
        raise CourierError(NetworkError.UnknownProxyError, "Invalid SOCKSv5 reply")
    if reply.method == _S5.SOCKS5AuthMethod.USERNAME_PASSWORD:
        if creds is None:
            raise ProxyChallenge(endpoint, 0, "SOCKS5", [], b"")
        conn.send(_S5.SOCKS5UsernamePasswordRequest(creds[0].encode(), creds[1].encode()))
        await stream.write(conn.data_to_send())
        up = conn.receive_data(await _read(stream))
        if not isinstance(up, _S5.SOCKS5UsernamePasswordReply) or not up.success:
            raise ProxyChallenge(endpoint, 0, "SOCKS5", [], b"", rejected=True)
    elif reply.method != _S5.SOCKS5AuthMethod.NO_AUTH_REQUIRED:
        # 0xFF: none of our methods is acceptable; without credentials that means "log in first".
        raise ProxyChallenge(endpoint, 0, "SOCKS5", [], b"", rejected=creds is not None)
    conn.send(_S5.SOCKS5CommandRequest.from_address(_S5.SOCKS5Command.CONNECT, (host, port)))
    await stream.write(conn.data_to_send())
    done = conn.receive_data(await _read(stream))
    if not isinstance(done, _S5.SOCKS5Reply):
        raise CourierError(NetworkError.UnknownProxyError, "Invalid SOCKSv5 reply")
    if done.reply_code != _S5.SOCKS5ReplyCode.SUCCEEDED:
        code, msg = _SOCKS_ERRORS.get(done.reply_code, (NetworkError.ProxyConnectionClosedError,
                                                         "General SOCKSv5 server failure"))
        if done.reply_code == _S5.SOCKS5ReplyCode.GENERAL_SERVER_FAILURE and not _is_ip(host):
            code = NetworkError.HostNotFoundError  # what QNAM reports when the proxy cannot resolve the name
        if code is NetworkError.HostNotFoundError:
            msg = f"Host {host} not found"
        raise CourierError(code, msg)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


async def _read(stream: AsyncNetworkStream) -> bytes:
    data = await stream.read(max_bytes=4096)
    if not data:
        raise CourierError(NetworkError.ProxyConnectionClosedError, "Proxy connection closed prematurely")
    return data


class ProxiedPool(AsyncConnectionPool):
    """httpcore's pool whose connections go through ``endpoint``."""

    def __init__(self, endpoint: ProxyEndpoint, network_backend: AsyncNetworkBackend, **kwargs: Any) -> None:
        super().__init__(network_backend=network_backend, **kwargs)
        self.endpoint = endpoint
        self._backend = network_backend

    def create_connection(self, origin: Origin) -> AsyncConnectionInterface:
        if self.endpoint.mode == "forward":
            return _ForwardConnection(self.endpoint, origin, self._backend, self._keepalive_expiry)
        return _TunnelConnection(self.endpoint, origin, self._ssl_context, self._backend,
                                 self._keepalive_expiry, self._http1, self._http2)


def proxied_pool_factory(key: OriginKey, ssl_context: ssl.SSLContext | None,
                         network_backend: AsyncNetworkBackend) -> ProxiedPool:
    """``Transport.proxy_pool_factory``: the pool for a key whose ``proxy`` is a ``ProxyEndpoint``."""
    assert isinstance(key.proxy, ProxyEndpoint)
    http2 = key.http2 and key.scheme == "https"
    return ProxiedPool(key.proxy, network_backend, ssl_context=ssl_context, max_connections=6,
                       max_keepalive_connections=6, keepalive_expiry=120.0, http1=True, http2=http2)


class Gate:
    """A FIFO limit on concurrent requests."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.active = 0
        self.waiters: deque[asyncio.Future[None]] = deque()

    async def acquire(self) -> None:
        if self.active < self.limit and not self.waiters:
            self.active += 1
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters.append(fut)
        try:
            await fut
        except asyncio.CancelledError:
            if fut in self.waiters:
                self.waiters.remove(fut)
            elif fut.done() and not fut.cancelled():
                self.release()
            raise

    def release(self) -> None:
        while self.waiters:
            fut = self.waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                return
        self.active -= 1


class GatedStream(httpx.AsyncByteStream):
    def __init__(self, stream: httpcore.Response, gate: Gate) -> None:
        self._stream = stream
        self._gate: Gate | None = gate

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for part in self._stream.aiter_stream():
            yield part

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            if self._gate is not None:
                self._gate.release()
                self._gate = None


async def send_through_pool(pool: httpcore.AsyncConnectionPool, gate: Gate, request: httpx.Request,
                            on_queued: object, uds_host: str | None = None) -> httpx.Response:
    await gate.acquire()
    try:
        if callable(on_queued):
            on_queued()
        assert isinstance(request.stream, httpx.AsyncByteStream)
        req = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=request.url.raw_scheme, host=request.url.raw_host,
                             port=request.url.port, target=request.url.raw_path),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        resp = await pool.handle_async_request(req)
    except BaseException:
        gate.release()
        raise
    return httpx.Response(status_code=resp.status, headers=resp.headers, stream=GatedStream(resp, gate),
                          extensions=resp.extensions, request=request)
