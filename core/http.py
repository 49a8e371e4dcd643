"""The HTTP exchange of one reply: hops, headers, body streaming, timings, error mapping.

We own the redirect loop (httpx never follows redirects here) so that policies, method rewriting,
credential stripping and per-hop timings are ours.
"""

from __future__ import annotations

import functools
import os
import ssl
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import unquote, urlsplit

import httpcore
import httpx

from core import events as ev
from core import headers as hdrs
from core.auth_flow import send_with_auth, with_headers
from core.body import Body
from core.cache import CacheEntry
from core.cache_policy import CacheUse
from core.decompress import DEFAULT_THRESHOLD, Decompressor
from core.errors import CourierError, NetworkError, error_for_status, error_string_for_status
from core.redirects import REDIRECT_CODES, Redirector
from core.reply import RedirectHop, Reply, current_reply
from core.request import Attribute, RedirectPolicy
from core.timings import HopTimings
from core.tls import describe_ssl_error
from core.transport import OriginKey
from core.transport.backend import current_trace
from core.transport.stream import BodyStream

PROGRESS_INTERVAL = 0.1
REDIRECT_BODY_DRAIN = 64 * 1024  # read (and drop) a 3xx body up to this size to keep the connection

_Manager = Any  # core.manager.NetworkManager (import cycle)


def shown(text: str, limit: int = 200) -> str:
    """``text`` cut to a length a status line can show (a pasted URL may be megabytes long)."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


class Target:
    """A parsed URL as the exchange needs it."""

    def __init__(self, url: str) -> None:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise CourierError(NetworkError.ProtocolUnknownError,
                               f"Invalid URL {shown(url)!r}: {shown(str(exc))}") from exc
        self.url = url
        self.scheme = parts.scheme.lower()
        host = parts.hostname or ""
        if not host and self.scheme in ("http", "https"):
            raise CourierError(NetworkError.ProtocolUnknownError, f"Invalid URL {shown(url)!r}: no host")
        self.host = host
        self.explicit_port = port
        self.port = port or (443 if self.scheme == "https" else 80)
        self.path = parts.path or "/"
        self.query = parts.query
        self.userinfo = (unquote(parts.username or ""), unquote(parts.password or "")) \
            if parts.username is not None else None
        self.netloc_host = f"[{host}]" if ":" in host else host

    @property
    def host_header(self) -> str:
        if self.scheme == "unix+http":
            return unquote(self.host) if not self.host.startswith("%2f") else "localhost"
        return self.netloc_host + (f":{self.explicit_port}" if self.explicit_port else "")

    @property
    def origin(self) -> tuple[str, str, int]:
        return (self.scheme, self.host, self.port)

    def wire_url(self) -> httpx.URL:
        """The URL without userinfo and fragment (W8). Parsed once per Target (httpx.URL is immutable;
        proxy selection, authentication and the request each ask for it)."""
        wire: httpx.URL | None = self.__dict__.get("_wire")
        if wire is None:
            wire = self.__dict__["_wire"] = self._make_wire_url()
        return wire

    def _make_wire_url(self) -> httpx.URL:
        scheme = "http" if self.scheme == "unix+http" else self.scheme
        host = "localhost" if self.scheme == "unix+http" else self.netloc_host
        port = f":{self.port}" if self.scheme != "unix+http" else ""
        query = f"?{self.query}" if self.query else ""
        try:
            return _parse_wire_url(f"{scheme}://{host}{port}{self.path}{query}")
        except (httpx.InvalidURL, UnicodeError) as exc:  # e.g. a lone surrogate pasted into the query
            why = "it holds characters that are not valid Unicode" if isinstance(exc, UnicodeError) else str(exc)
            raise CourierError(NetworkError.ProtocolUnknownError, f"Invalid URL {shown(self.url)!r}: {shown(why)}") \
                from exc


def target_for(url: str) -> Target:
    """``Target(url)``, shared between requests for the same URL (a Target is never changed after
    it is made). URLs with userinfo are parsed each time: no credentials in a process-wide cache."""
    return Target(url) if "@" in url else _cached_target(url)


@functools.lru_cache(maxsize=512)
def _cached_target(url: str) -> Target:
    return Target(url)


@functools.lru_cache(maxsize=512)
def _parse_wire_url(url: str) -> httpx.URL:
    """httpx's URL parser costs ~10% of a small request's CPU; the same URLs come back (immutable result)."""
    return httpx.URL(url)


def unix_socket_path(target: Target, override: str | None) -> str:
    """U2/U3: the attribute wins; a percent-encoded absolute path in the host; else $TMPDIR/host."""
    if override:
        return override
    raw = unquote(target.host)
    if raw.startswith("/"):
        return raw
    return os.path.join(tempfile.gettempdir(), raw)


class _Tracer:
    """Turns httpcore-style trace events into timings and QNAM events for the current hop."""

    def __init__(self, reply: Reply, hop: HopTimings) -> None:
        self.reply = reply
        self.hop = hop
        self.connected = False

    async def __call__(self, name: str, info: dict[str, Any]) -> None:
        self.sync(name, info)

    def sync(self, name: str, info: dict[str, Any]) -> None:
        """The same without an await: our transport calls this directly (``backend.sync_trace``)."""
        now = time.perf_counter()
        c = self.hop.connection
        if name[:1] == "h":  # http11.* / http2.*: the three events of every request, tested first
            if name.endswith(".send_request_headers.started"):
                self.hop.request_start = now
                if not self.connected:
                    c.reused = True
            elif name.endswith(".send_request_body.complete"):
                self.hop.request_end = now
                if self.reply._listeners:
                    self.reply.emit(ev.RequestSent(self.reply))
            elif name.endswith(".receive_response_headers.complete"):
                self.hop.response_start = now
            return
        if name == "connection.dns.started":
            c.dns_start = now
        elif name == "connection.dns.complete":
            c.dns_end = now
        elif name == "connection.connect_tcp.started" or name == "connection.connect_unix_socket.started":
            self.connected = True
            c.connect_start = now
            c.reused = False  # a retry on a new connection after a stale kept-alive one
            self.reply.emit(ev.SocketStartedConnecting(self.reply))
        elif name in ("connection.connect_tcp.complete", "connection.connect_unix_socket.complete"):
            c.connect_end = now
            stream = info.get("return_value")
            if stream is not None:
                addr = stream.get_extra_info("server_addr")
                if addr:
                    c.remote_address = f"{addr[0]}:{addr[1]}" if isinstance(addr, tuple) else str(addr)
        elif name == "connection.start_tls.started":
            c.tls_start = now
        elif name == "connection.start_tls.complete":
            c.tls_end = now
            stream = info.get("return_value")
            sslobj = stream.get_extra_info("ssl_object") if stream is not None else None
            tls_info = self.reply.manager.tls.info_for(sslobj)
            if tls_info is not None:
                self.reply.tls = tls_info
            self.reply.emit(ev.Encrypted(self.reply))


def origin_key(manager: _Manager, reply: Reply, target: Target) -> OriginKey:
    req = reply.request
    allowed = req.attribute(Attribute.HTTP2_ALLOWED, True)
    direct = bool(req.attribute(Attribute.HTTP2_DIRECT, manager.http2_cleartext_prior_knowledge))
    uds = None
    if target.scheme == "unix+http":
        uds = unix_socket_path(target, req.attribute(Attribute.FULL_LOCAL_SERVER_NAME))
    tls_profile = manager.tls.profile_for(req, target.host, target.port) \
        if target.scheme == "https" else "default"
    return _origin_key("http" if uds else target.scheme, target.host, target.port, bool(allowed),
                       direct and target.scheme != "https", req.peer_verify_name, uds, tls_profile)


@functools.lru_cache(maxsize=256)
def _origin_key(scheme: str, host: str, port: int, http2: bool, http2_direct: bool, peer_verify_name: str | None,
                uds: str | None, tls_profile: str) -> OriginKey:
    """One OriginKey object per distinct key (frozen: safe to share; equal keys compare by identity first)."""
    return OriginKey(scheme=scheme, host=host, port=port, http2=http2, http2_direct=http2_direct,
                     peer_verify_name=peer_verify_name, uds=uds, tls_profile=tls_profile)


async def _body_stream(reply: Reply, body: Body, total: int | None) -> AsyncIterator[bytes]:
    sent = 0
    last = 0.0
    dog = reply.extra.get("watchdog")
    async for chunk in body:
        yield chunk
        sent += len(chunk)
        if dog is not None:
            dog.touch()
        now = time.monotonic()
        if now - last >= PROGRESS_INTERVAL:
            last = now
            reply.emit(ev.UploadProgress(reply, sent, total if total is not None else -1))
    reply.emit(ev.UploadProgress(reply, sent, total if total is not None else sent))


def map_exception(exc: BaseException, target: Target) -> CourierError:
    """Map httpx/httpcore/ssl/OS exceptions to QNAM's errors (X7–X12)."""
    chain: list[BaseException] = []
    e: BaseException | None = exc
    while e is not None and len(chain) < 8:
        chain.append(e)
        e = e.__cause__ or e.__context__
    for item in chain:
        if isinstance(item, ssl.SSLError):
            return CourierError(NetworkError.SslHandshakeFailedError, describe_ssl_error(item))
        if isinstance(item, ConnectionRefusedError):
            return CourierError(NetworkError.ConnectionRefusedError, "Connection refused")
        if isinstance(item, FileNotFoundError) and target.scheme == "unix+http":
            return CourierError(NetworkError.HostNotFoundError, f"Host {unquote(target.host)} not found")
    msg = str(exc) or type(exc).__name__
    if isinstance(exc, (httpcore.ConnectError, httpx.ConnectError)):
        if "not found" in msg:
            return CourierError(NetworkError.HostNotFoundError, f"Host {target.host} not found")
        return CourierError(NetworkError.UnknownNetworkError, f"Connection failed: {msg}")
    if isinstance(exc, (httpcore.RemoteProtocolError, httpx.RemoteProtocolError)):
        low = msg.lower()
        if "disconnected" in low or "peer closed" in low or "without sending" in low:
            return CourierError(NetworkError.RemoteHostClosedError, "Connection closed")
        return CourierError(NetworkError.ProtocolFailure, f"Protocol error: {msg}")
    if isinstance(exc, (httpcore.ReadError, httpcore.WriteError, httpx.ReadError, httpx.WriteError,
                        ConnectionResetError, BrokenPipeError)):
        return CourierError(NetworkError.RemoteHostClosedError, "Connection closed")
    if isinstance(exc, (httpcore.LocalProtocolError, httpx.LocalProtocolError)):
        return CourierError(NetworkError.ProtocolInvalidOperationError, f"Invalid request: {msg}")
    if isinstance(exc, (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol, httpx.InvalidURL)):
        return CourierError(NetworkError.ProtocolUnknownError, msg)
    return CourierError(NetworkError.UnknownNetworkError, f"{type(exc).__name__}: {msg}")


async def run_http(manager: _Manager, reply: Reply, body: Body | None) -> None:
    req = reply.request
    method = reply.method
    target = target_for(reply.url)
    app_headers = list(req.headers)
    if req.bearer_token and not req.has_header("Authorization"):
        app_headers.append(("Authorization", f"Bearer {req.bearer_token}"))
    hdrs.validate_method(method)
    hdrs.validate(app_headers)  # the bearer token too: a CR/LF in it must not split the request
    auto_decompress = not req.has_header("Accept-Encoding")  # E3
    policy: RedirectPolicy = req.attribute(Attribute.REDIRECT_POLICY, manager.redirect_policy)
    redirector = Redirector(manager, reply, policy, req.maximum_redirects,
                            manager.hsts.upgrade_url if manager.strict_transport_security_enabled else None)
    store = bool(req.attribute(Attribute.STORE_BODY, True))
    threshold = int(req.attribute(Attribute.DECOMPRESSED_SAFETY_THRESHOLD, DEFAULT_THRESHOLD))
    caching = CacheUse(manager.cache, reply)

    while True:
        hop = reply.timings.new_hop(target.url)
        cached, cache_headers = caching.before_send(method, target.url, app_headers, body is not None)
        if cached is not None:  # K2, K3, K7: no network at all
            if cached.status in REDIRECT_CODES and redirector.follows:  # R21: a cached redirect
                _cached_meta(reply, cached, hop)
                method, body, app_headers, target = await _follow(
                    reply, redirector, hop, target, cached.status, cached.header("location"), method, body,
                    app_headers, None)
                continue
            await caching.serve(cached, hop)
            return
        key = origin_key(manager, reply, target)
        length = body.length() if body is not None else None
        content_type = body.content_type if body is not None else None
        cookie = manager.cookie_jar.header_for_url(target.url) \
            if req.attribute(Attribute.COOKIE_LOAD_AUTOMATIC, True) else None  # C6–C8
        wire = hdrs.build(target.host_header, cache_headers + app_headers, method, length, body is not None,
                          cookie, content_type, auto_decompress)
        tracer = _Tracer(reply, hop)
        make = functools.partial(_make_request, reply, tracer, method, target, wire, body, length)
        token = current_trace.set(tracer)
        reply_token = current_reply.set(reply)
        try:
            response = await send_with_auth(manager, reply, key, target, method, body, make,
                                            functools.partial(_queued, hop))
        except CourierError:
            raise
        except (httpx.HTTPError, httpcore.NetworkError, httpcore.ProtocolError, OSError, ssl.SSLError) as exc:
            raise map_exception(exc, target) from exc
        finally:
            current_reply.reset(reply_token)
            current_trace.reset(token)
        try:
            hop.status = response.status_code
            if hop.response_start is None:
                hop.response_start = time.perf_counter()
            if hop.connection.remote_address is None and key.uds is None:
                ns = response.extensions.get("network_stream")
                addr = ns.get_extra_info("server_addr") if ns is not None else None
                if addr:
                    hop.connection.remote_address = f"{addr[0]}:{addr[1]}"
            status = response.status_code
            location = response.headers.get("location")
            if req.attribute(Attribute.COOKIE_SAVE_AUTOMATIC, True):  # C1, R7: also from 3xx and errors
                manager.cookie_jar.set_cookie_headers_from_url(
                    [v.decode("latin-1") for k, v in response.headers.raw if k.lower() == b"set-cookie"],
                    target.url)
            if manager.strict_transport_security_enabled and target.scheme == "https":  # HS1–HS5
                manager.hsts.update_from_headers(target.host, response.headers.get_list("strict-transport-security"))
            if status in REDIRECT_CODES and redirector.follows:
                _set_meta(reply, response, target, key)
                method, body, app_headers, target = await _follow(
                    reply, redirector, hop, target, status, location, method, body, app_headers, response)
                continue
            _set_meta(reply, response, target, key)
            revalidated = caching.revalidated(target.url, status, reply.headers)
            if revalidated is not None:  # K4: 304 → the stored body, from the cache
                await _discard_body(response)
                await caching.serve(revalidated, hop)
                return
            if status in REDIRECT_CODES and status != 305:
                reply.redirection_target = location  # R15
            if reply._listeners:
                reply.emit(ev.MetaDataChanged(reply))
            writer = caching.writer(method, target.url, status, reply.reason, reply.headers, body is not None,
                                    reply.redirection_target)
            try:
                await _download(reply, response, auto_decompress, store, threshold, hop, target,
                                writer.write if writer is not None else None)
            except BaseException:
                if writer is not None:
                    writer.abort()
                raise
            if writer is not None:
                caching.store(writer, reply)
            err = error_for_status(status)
            if err is not NetworkError.NoError:
                reply.error = err
                reply.error_string = error_string_for_status(status, reply.reason, reply.url)
            return
        finally:
            await close_response(response)


async def _follow(reply: Reply, redirector: Redirector, hop: HopTimings, src: Target, status: int,
                  location: str | None, method: str, body: Body | None, headers: list[tuple[str, str]],
                  response: httpx.Response | None) -> tuple[str, Body | None, list[tuple[str, str]], Target]:
    """Follow one 3xx (from the network or the cache): the next hop's method, body, headers, target."""
    dst_url = redirector.target(src.url, status, location)
    dst = target_for(dst_url)
    reply.emit(ev.MetaDataChanged(reply))
    reply.redirects.append(RedirectHop(src.url, status, location or "", method))
    if response is not None:
        await _discard_body(response)
    hop.response_end = time.perf_counter()
    reply.url = dst_url  # R18: the reply's URL is the target when Redirected fires
    reply.emit(ev.Redirected(reply, dst_url))
    if not await redirector.allowed(src.url, dst_url, status, method):
        raise CourierError(NetworkError.OperationCanceledError, "Operation canceled")  # R18
    nxt = redirector.next_hop(src.url, dst_url, status, method, body, headers)
    return nxt.method, nxt.body, nxt.headers, dst


def _cached_meta(reply: Reply, entry: CacheEntry, hop: HopTimings) -> None:
    reply.status, reply.reason, reply.headers = entry.status, entry.reason, list(entry.headers)
    reply.from_cache = True
    hop.from_cache, hop.status = True, entry.status


async def _discard_body(response: httpx.Response) -> None:
    """Read a small 3xx body so the connection can be reused; a big one closes the connection."""
    size = 0
    try:
        async for raw in response.aiter_raw():
            size += len(raw)
            if size > REDIRECT_BODY_DRAIN:
                break
    except (httpx.HTTPError, httpcore.NetworkError, httpcore.ProtocolError, OSError):
        pass
    await response.aclose()


def _make_request(reply: Reply, tracer: _Tracer, method: str, target: Target, wire: list[tuple[str, str]],
                  body: Body | None, length: int | None, auth_headers: list[tuple[str, str]],
                  extensions: dict[str, Any]) -> httpx.Request:
    """One wire request; called again for each authentication round (with a fresh body stream)."""
    wire = with_headers(wire, auth_headers)
    reply.sent_headers = wire
    stream: Any = _body_stream(reply, body, length) if body is not None and (length or length is None) else b""
    try:
        if stream == b"":
            return empty_request(method, target.wire_url(), wire, {"trace": tracer, **extensions})
        return httpx.Request(method, target.wire_url(), headers=wire, content=stream,
                             extensions={"trace": tracer, **extensions})
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        raise CourierError(NetworkError.ProtocolInvalidOperationError, f"Invalid request: {exc}") from exc


_NO_BODY = httpx.ByteStream(b"")


def empty_request(method: str, url: httpx.URL, headers: list[tuple[str, str]],
                  extensions: dict[str, Any]) -> httpx.Request:
    """``httpx.Request(method, url, headers=headers, content=b"", extensions=extensions)``, built
    directly: the same attributes, headers (ASCII-encoded, Host and ``Content-Length: 0`` added
    as httpx's ``_prepare`` adds them) and errors, without normalizing the headers twice and
    looking each default up case-insensitively (~8% of a small request's CPU). httpx is pinned;
    tests/test_core_requests.py compares the two."""
    out: list[tuple[bytes, bytes, bytes]] = []
    has_host = has_length = False
    ascii_only = True
    for k, v in headers:
        if type(k) is str and type(v) is str:
            key, value = k.encode("ascii"), v.encode("ascii")
        else:  # bytes given: httpx's own coercion, and no claim about the encoding
            key = httpx._models._normalize_header_key(k)
            value = httpx._models._normalize_header_value(v)
            ascii_only = False
        low = key.lower()
        out.append((key, low, value))
        if low == b"host":
            has_host = True
        elif low == b"content-length" or low == b"transfer-encoding":
            has_length = True
    method = method.upper()
    auto: list[tuple[bytes, bytes, bytes]] = []
    if not has_host and url.host:
        auto.append((b"Host", b"host", url.netloc))
    if not has_length and method in ("POST", "PUT", "PATCH"):
        auto.append((b"Content-Length", b"content-length", b"0"))
    hdrs_ = httpx.Headers()
    hdrs_._list = auto + out if auto else out
    if ascii_only:
        hdrs_._encoding = "ascii"  # what its ``encoding`` property finds: every name and value is ASCII
    req = httpx.Request.__new__(httpx.Request)
    req.method = method
    req.url = url
    req.headers = hdrs_
    req.extensions = extensions
    req.stream = _NO_BODY
    req._content = b""
    return req


def _queued(hop: HopTimings) -> None:
    hop.queued_end = time.perf_counter()


def _set_meta(reply: Reply, response: httpx.Response, target: Target, key: OriginKey) -> None:
    reply.status = response.status_code
    phrase = response.extensions.get("reason_phrase", b"")
    reply.reason = phrase.decode("latin-1") if isinstance(phrase, bytes) else str(phrase or "")
    reply.headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers.raw]
    ver = response.extensions.get("http_version", b"HTTP/1.1")
    reply.http_version = ver.decode() if isinstance(ver, bytes) else str(ver)
    hop = reply.timings.hops[-1]
    hop.connection.http_version = reply.http_version
    reply.remote_address = key.uds or hop.connection.remote_address
    if key.scheme == "https":
        ns = response.extensions.get("network_stream")
        info = reply.manager.tls.info_for(ns.get_extra_info("ssl_object") if ns is not None else None)
        if info is not None:
            reply.tls = info  # reused connections too


def raw_chunks(response: httpx.Response) -> AsyncIterator[bytes]:
    """``response.aiter_raw()``; for our transport's body stream, the stream itself (httpx's wrapper
    adds a generator, a context manager and a chunker per response that do nothing for it: its
    errors are ours, not httpx's, and chunks go through unsplit). The response is marked consumed
    the same way; ``run_http`` closes it."""
    stream = response.stream
    if type(stream) is BodyStream and not response.is_stream_consumed and not response.is_closed:
        response.is_stream_consumed = True
        return stream.__aiter__()
    return response.aiter_raw()


async def close_response(response: httpx.Response) -> None:
    """``response.aclose()``, without httpx's context manager for our transport's body stream."""
    stream = response.stream
    if type(stream) is BodyStream:
        if not response.is_closed:
            response.is_closed = True
            await stream.aclose()
    else:
        await response.aclose()


async def _download(reply: Reply, response: httpx.Response, auto_decompress: bool, store: bool,
                    threshold: int, hop: HopTimings, target: Target,
                    sink: Callable[[bytes], None] | None = None) -> None:
    decoder = Decompressor.for_header(response.headers.get("content-encoding"), threshold) \
        if auto_decompress else None
    total = -1
    cl = response.headers.get("content-length")
    if cl is not None and cl.isdigit():
        total = int(cl)
    if decoder is not None:
        reply.original_content_length = total if total >= 0 else None
        reply.headers = [(k, v) for k, v in reply.headers if k.lower() != "content-length"]  # E2
        total = -1
    dog = reply.extra.get("watchdog")
    received = 0
    last = 0.0
    try:
        async for raw in raw_chunks(response):
            received += len(raw)
            if dog is not None:
                dog.touch()
            data = decoder.decode(raw) if decoder is not None else raw
            if data:
                reply.bytes_received += len(data)
                if store:
                    reply.body.append(data)
                if sink is not None:
                    sink(data)  # the HTTP cache's copy
                if reply._listeners:
                    reply.emit(ev.ReadyRead(reply, len(data), None if store else data))
            now = time.monotonic()
            if now - last >= PROGRESS_INTERVAL:
                last = now
                if reply._listeners:
                    reply.emit(ev.DownloadProgress(reply, reply.bytes_received, total))
        if decoder is not None:
            tail = decoder.flush()
            if tail:
                reply.bytes_received += len(tail)
                if store:
                    reply.body.append(tail)
                if sink is not None:
                    sink(tail)
                reply.emit(ev.ReadyRead(reply, len(tail)))
    except CourierError:
        raise
    except (httpx.HTTPError, httpcore.NetworkError, httpcore.ProtocolError, OSError) as exc:
        raise map_exception(exc, target) from exc
    hop.response_end = time.perf_counter()
    if reply._listeners:
        reply.emit(ev.DownloadProgress(reply, reply.bytes_received, reply.bytes_received))

