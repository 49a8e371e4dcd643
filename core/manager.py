"""NetworkManager: QNetworkAccessManager's operations on asyncio + httpx.

Every operation returns a ``Reply`` at once and runs the transfer as a task on the manager's loop.
All methods must be called on that loop's thread (the Qt bridge hops threads for the app).
"""

from __future__ import annotations

import asyncio
import functools
import os
import time
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from core import events as ev
from core.auth import MAX_AUTHENTICATION_ATTEMPTS, AuthCache
from core.body import Body, BodyLike, as_body
from core.cache import DiskCache
from core.cookies import CookieJar
from core.errors import CourierError, NetworkError
from core.hsts import HstsCache, HstsPolicy
from core.proxy import Proxy, ProxyFactory
from core.questions import QuestionBoard
from core.reply import Reply
from core.request import Attribute, Operation, RedirectPolicy, Request
from core.tls import TlsManager
from core.transport import Transport
from core.transport.proxied import proxied_pool_factory

FinishedListener = Callable[[Reply], None]

_STANDARD_VERBS = {"GET": Operation.GET, "HEAD": Operation.HEAD, "PUT": Operation.PUT,
                   "POST": Operation.POST, "DELETE": Operation.DELETE}


_METHODS = {op: op.value for op in Operation}  # Enum's .value is a Python property


class NetworkManager:
    """The manager. Settings here are the defaults that requests inherit (QNAM D2, T4)."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop
        self.transport = Transport()
        self.transport.proxy_pool_factory = proxied_pool_factory  # P3: HTTP and SOCKS5 proxies
        self.transfer_timeout = 0.0  # T5: none by default; the app sets 30 s
        self.redirect_policy = RedirectPolicy.NO_LESS_SAFE
        self.auto_delete_replies = False
        self.http2_cleartext_prior_knowledge = False
        self._finished_listeners: list[FinishedListener] = []
        self._active: set[Reply] = set()
        self.questions = QuestionBoard()  # credentials, certificate errors, redirects: the app answers
        self.auth_cache = AuthCache()  # server and proxy credentials, per-pool authenticators (A9, A10, PA1)
        self.max_authentication_attempts = MAX_AUTHENTICATION_ATTEMPTS  # bounded, unlike QNAM (A8, A13)
        self.proxy = Proxy.default()  # the system proxy (D22, P4)
        self.proxy_factory: ProxyFactory | None = None
        self.cookie_jar = CookieJar()  # D15/C9: in memory; CookieJar(SqliteCookieStore(path)) persists
        self.hsts = HstsCache()  # known HSTS hosts (HS6); learnt and applied only when enabled
        self.strict_transport_security_enabled = False  # D12
        self.tls = TlsManager(self.questions)  # trust, client certificates, certificate exceptions, PSK
        self.transport.tls_provider = self.tls
        self.tls.exceptions_forbidden = lambda host: \
            self.strict_transport_security_enabled and self.hsts.is_known_host(host)  # S4
        self.cache: DiskCache | None = None  # D14: no cache; DiskCache(folder) like QNetworkDiskCache

    # -- QNAM's operations -----------------------------------------------------------------
    def get(self, request: Request | str, body: BodyLike = None) -> Reply:
        """GET, optionally with a body (QNAM 6.7+ ``get(request, data)``)."""
        return self.create_request(Operation.GET, _req(request), as_body(body))

    def head(self, request: Request | str) -> Reply:
        return self.create_request(Operation.HEAD, _req(request), None)

    def post(self, request: Request | str, body: BodyLike = b"") -> Reply:
        return self.create_request(Operation.POST, _req(request), as_body(body))

    def put(self, request: Request | str, body: BodyLike = b"") -> Reply:
        return self.create_request(Operation.PUT, _req(request), as_body(body))

    def delete_resource(self, request: Request | str) -> Reply:
        return self.create_request(Operation.DELETE, _req(request), None)

    def send_custom_request(self, request: Request | str, verb: str, body: BodyLike = None) -> Reply:
        req = _req(request)
        op = _STANDARD_VERBS.get(verb.upper())  # W13: get/head/... in any case are remapped
        if op is not None:
            return self.create_request(op, req, as_body(body))
        req.attributes[Attribute.CUSTOM_VERB] = verb
        return self.create_request(Operation.CUSTOM, req, as_body(body))

    def supported_schemes(self) -> list[str]:
        return ["http", "https", "unix+http", "file", "data"]

    def create_request(self, operation: Operation, request: Request, body: Body | None) -> Reply:
        """The one hook every operation goes through (QNAM's ``createRequest``).

        Subclasses may rewrite ``request`` or return their own ``Reply`` for a scheme they serve.
        """
        verb = request.attribute(Attribute.CUSTOM_VERB) if operation is Operation.CUSTOM else None
        method = str(verb) if verb else _METHODS[operation]
        if request.url.startswith("local+http:"):
            request.url = "unix+" + request.url[len("local+"):]  # U1
        if self.strict_transport_security_enabled:
            request.url = self.hsts.upgrade_url(request.url)  # HS7
        reply = Reply(self, operation, request, method)
        self._start(reply, body)
        return reply

    # -- HSTS (QNAM's strictTransportSecurity* API, HS8/HS9) ----------------------------------
    def add_strict_transport_security_hosts(self, policies: Iterable[HstsPolicy]) -> None:
        self.hsts.add_hosts(policies)

    def strict_transport_security_hosts(self) -> list[HstsPolicy]:
        return self.hsts.hosts()

    def enable_strict_transport_security_store(self, enabled: bool, path: str | None = None) -> None:
        """Keep known hosts in ``path`` (default: hsts.json in the user cache folder). Loading the
        store does not switch HSTS on, as in QNAM (HS9)."""
        if not enabled:
            self.hsts.disable_store()
            return
        if path is None:
            from platformdirs import user_cache_dir

            path = os.path.join(user_cache_dir("courier"), "hsts.json")
        self.hsts.enable_store(path)

    def connect_to_host(self, host: str, port: int = 80) -> Reply:
        """Open one TCP connection to ``host:port`` in the pool, with no HTTP bytes (QNAM N2)."""
        from core.preconnect import start_preconnect

        return start_preconnect(self, "http", host, port, None)

    def connect_to_host_encrypted(self, host: str, port: int = 443, peer_name: str | None = None) -> Reply:
        """Open one TCP+TLS connection (ALPN offers h2) in the pool, with no HTTP bytes (QNAM N3)."""
        from core.preconnect import start_preconnect

        return start_preconnect(self, "https", host, port, peer_name)

    def add_finished_listener(self, listener: FinishedListener) -> None:
        """Manager-level ``finished(reply)``, called before the reply's own Finished event (L1)."""
        self._finished_listeners.append(listener)

    def remove_finished_listener(self, listener: FinishedListener) -> None:
        if listener in self._finished_listeners:
            self._finished_listeners.remove(listener)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    def active_replies(self) -> list[Reply]:
        return list(self._active)

    def set_proxy(self, proxy: Proxy) -> None:
        """Use ``proxy`` for every request; replaces a proxy factory (P1)."""
        self.proxy, self.proxy_factory = proxy, None

    def set_proxy_factory(self, factory: ProxyFactory | None) -> None:
        """Ask ``factory`` per request; replaces the manager's proxy (P1)."""
        self.proxy_factory, self.proxy = factory, Proxy.default()

    async def clear_connection_cache(self) -> None:
        """Close every pooled connection and forget per-connection state; credentials stay (N4)."""
        self.auth_cache.clear_connections()
        await self.transport.clear()

    async def clear_access_cache(self) -> None:
        """``clear_connection_cache`` plus forgetting every cached credential, server and proxy (N4)."""
        self.auth_cache.clear()
        await self.clear_connection_cache()

    async def aclose(self) -> None:
        """Abort running replies and close every connection."""
        for reply in list(self._active):
            reply.abort()
        await self.transport.clear()

    # -- running ---------------------------------------------------------------------------
    def _start(self, reply: Reply, body: Body | None) -> None:
        self._active.add(reply)
        reply._task = self.loop.create_task(self._run(reply, body))
        timeout = reply.request.transfer_timeout or self.transfer_timeout
        total = reply.request.attribute(Attribute.TOTAL_TIMEOUT)
        if timeout > 0 or total:
            _Watchdog(self, reply, timeout, float(total or 0)).arm()

    async def _run(self, reply: Reply, body: Body | None) -> None:
        scheme = _scheme_of(reply.url)
        try:
            if scheme not in self.supported_schemes():
                raise CourierError(NetworkError.ProtocolUnknownError, f'Protocol "{scheme}" is unknown')
            if scheme in ("file", "data"):
                from core.local import serve_data, serve_file

                (serve_file if scheme == "file" else serve_data)(reply)
                reply.emit(ev.MetaDataChanged(reply))
                if reply.body.size:
                    reply.emit(ev.ReadyRead(reply, reply.body.size))
                reply.emit(ev.DownloadProgress(reply, reply.body.size, reply.body.size))
                await asyncio.sleep(0)  # finished is delivered after the caller connected (L4)
            else:
                from core.http import run_http

                await run_http(self, reply, body)
        except asyncio.CancelledError:
            if not reply.is_finished:
                self._finish(reply, NetworkError.OperationCanceledError, "Operation canceled")
            return
        except CourierError as exc:
            self._finish(reply, exc.code, exc.message)
            return
        except Exception as exc:  # a bug or an unmapped library error: never a reply that hangs
            self._finish(reply, NetworkError.UnknownNetworkError, f"{type(exc).__name__}: {exc}")
            return
        if not reply.is_finished:
            if reply.error is NetworkError.NoError:
                self._finish(reply, NetworkError.NoError, "")
            else:
                self._finish(reply, reply.error, reply.error_string)

    def _abort(self, reply: Reply, code: NetworkError, message: str) -> None:
        task = reply._task
        for question in list(reply.extra.get("questions", [])):
            question.cancel()  # an aborted request cancels its open question
        self._finish(reply, code, message)
        if task is not None and not task.done():
            task.cancel()

    def _finish(self, reply: Reply, code: NetworkError, message: str) -> None:
        if reply.is_finished or reply._finishing:
            return  # e.g. abort() called again from an ErrorOccurred listener
        reply._finishing = True
        if code is not NetworkError.NoError:
            reply.error, reply.error_string = code, message
            if code is NetworkError.TimeoutError:
                reply.body.truncate()  # T2: nothing is readable after a timeout
            reply.emit(ev.ErrorOccurred(reply, code, message))
        reply.timings.end = time.perf_counter()
        reply._mark_finished()
        self._active.discard(reply)
        for listener in list(self._finished_listeners):
            listener(reply)
        if reply._listeners:
            reply.emit(ev.Finished(reply))
        if self.auto_delete_replies:
            reply.close()


class _Watchdog:
    """Inactivity timeout (reset by body bytes and upload progress, T1/T3) plus a total limit.

    Unlike QNAM it also runs while connecting, during the TLS handshake and while waiting for
    headers (deliberate difference 5): the timer starts with the operation.
    """

    def __init__(self, manager: NetworkManager, reply: Reply, idle: float, total: float) -> None:
        self.manager, self.reply, self.idle, self.total = manager, reply, idle, total
        self.start = time.monotonic()
        reply.extra["watchdog"] = self

    def arm(self) -> None:
        self.last = time.monotonic()
        self._schedule()

    def touch(self) -> None:
        self.last = time.monotonic()

    def _schedule(self) -> None:
        now = time.monotonic()
        deadlines = []
        if self.idle > 0:
            deadlines.append(self.last + self.idle)
        if self.total > 0:
            deadlines.append(self.start + self.total)
        self.manager.loop.call_later(max(0.0, min(deadlines) - now) + 0.001, self._check)

    def _check(self) -> None:
        if self.reply.is_finished:
            return
        now = time.monotonic()
        if (self.total > 0 and now >= self.start + self.total) or (self.idle > 0 and now >= self.last + self.idle):
            self.manager._abort(self.reply, NetworkError.TimeoutError, "Operation timed out")
        else:
            self._schedule()


def _scheme_of(url: str) -> str:
    """The URL's scheme, lower case (memoized, except for URLs with credentials)."""
    return _scheme(url) if "@" in url else _cached_scheme(url)


def _scheme(url: str) -> str:
    try:
        return urlsplit(url).scheme.lower() if ":" in url else ""
    except ValueError:  # e.g. "http://[zz::1]/": the exchange says what is wrong with it
        return url.split(":", 1)[0].lower()


_cached_scheme = functools.lru_cache(maxsize=512)(_scheme)


def _req(request: Request | str) -> Request:
    return Request(request) if isinstance(request, str) else request.copy()
