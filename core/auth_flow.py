"""Authentication rounds around one wire exchange: 401 (server) and 407/SOCKS (proxy).

``send_with_auth`` sends the request, answers challenges with credentials from the URL, the
manager's cache or a question (A5, PA1–PA3), and re-sends — on the same pool, so usually on the
same connection (A4) — until the server accepts, nobody answers, or the bounded number of
attempts is used up (deliberate difference 3). The last 401/407 response is returned unread, so
its body stays readable (A7, PA3).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import httpcore
import httpx

from core.auth import (
    AuthCache,
    AuthenticationQuestion,
    Authenticator,
    AuthMethod,
    Challenge,
    Credentials,
    ProtectionSpace,
    ProxyAuthenticationQuestion,
    ProxySpace,
    ask_once,
    choose_challenge,
)
from core.auth_ntlm import ntlm_available
from core.body import Body
from core.errors import CourierError, NetworkError
from core.proxy import select_endpoint
from core.request import Attribute
from core.transport import OriginKey
from core.transport.proxied import AUTH_EXTENSION, ProxyChallenge, ProxyEndpoint

_Manager = Any  # core.manager.NetworkManager (import cycle)
_Reply = Any
_Target = Any  # core.http.Target
MakeRequest = Callable[[list[tuple[str, str]], dict[str, Any]], httpx.Request]
DRAIN_LIMIT = 1 << 20


def _answer(value: object) -> Credentials | None:
    """The app's answer: ``(user, password)``; ``None`` or both empty means "no" (A7)."""
    if value is None:
        return None
    if isinstance(value, Credentials):
        creds = value
    elif isinstance(value, tuple) and len(value) == 2:
        creds = Credentials(str(value[0] or ""), str(value[1] or ""))
    else:
        raise CourierError(NetworkError.AuthenticationRequiredError,
                           "An authentication question must be answered with (user, password) or None")
    return creds if (creds.user or creds.password) else None


class _ServerRounds:
    def __init__(self, manager: _Manager, reply: _Reply, key: OriginKey, target: _Target) -> None:
        self.manager, self.reply, self.key, self.target = manager, reply, key, target
        self.cache: AuthCache = manager.auth_cache
        req = reply.request
        self.reuse = bool(req.attribute(Attribute.AUTHENTICATION_REUSE_AUTOMATIC, True))
        app_set = req.has_header("Authorization") or bool(req.bearer_token)
        self.current: Authenticator | None = None
        self.space: ProtectionSpace | None = None
        if self.reuse and not app_set:
            self.current = self.cache.pools.get(key)  # A10: this pool authenticated before
        self.attempts = 0
        self.tried_userinfo = False
        self.tried_cache = False

    def headers(self, method: str, uri: str) -> list[tuple[str, str]]:
        value = self.current.header(method, uri) if self.current is not None else None
        return [("Authorization", value)] if value is not None else []

    async def challenged(self, response: httpx.Response) -> bool:
        """A 401: True when we have (new) credentials to try."""
        chosen = choose_challenge(response.headers.get_list("www-authenticate"), ntlm=ntlm_available())
        if chosen is None or self.attempts >= self.manager.max_authentication_attempts:
            return False  # A3, and the bound
        method, ch = chosen
        if self.current is not None and self.current.continue_with(ch):
            return True  # NTLM's challenge message: answer it on the same connection
        rejected = self.current.creds if self.current is not None else None
        if self.current is not None and method is self.current.method is AuthMethod.DIGEST and \
                ch.params.get("stale", "").lower() == "true":
            creds: Credentials | None = rejected  # RFC 7616 §3.3: a new nonce, same credentials
        else:
            creds = await self._credentials(method, ch, rejected)
            if creds is None or creds == rejected:
                return False  # A7, A8: nothing new to try
        assert creds is not None
        self.attempts += 1
        self.current = Authenticator(method, ch, creds, self.target.host)
        self.space = ProtectionSpace(self.target.scheme, self.target.host, self.target.port, ch.realm)
        return True

    async def _credentials(self, method: AuthMethod, ch: Challenge,
                           rejected: Credentials | None) -> Credentials | None:
        t = self.target
        if self.reuse and not self.tried_userinfo and t.userinfo is not None:
            self.tried_userinfo = True  # A5 (1), A6: the URL's user and password, no question
            creds = _answer(t.userinfo)
            if creds is not None and creds != rejected:
                return creds
        space = ProtectionSpace(t.scheme, t.host, t.port, ch.realm)
        if self.reuse and not self.tried_cache:
            self.tried_cache = True  # A5 (2): the manager's cache, skipped once it failed
            cached = self.cache.spaces.get(space)
            if cached is not None and cached != rejected:
                return cached
        previous = rejected.user if rejected is not None else None
        question = AuthenticationQuestion(self.reply, url=self.reply.url, scheme=method.label,
                                          realm=ch.realm, host=t.host, port=t.port,
                                          previous_user=previous)

        async def ask() -> Credentials | None:
            return _answer(await self.manager.questions.ask(question))

        return await ask_once(self.cache, space, rejected, ask)

    def succeeded(self) -> None:
        if self.current is None or not self.reuse:
            return
        if self.current.reusable:
            self.cache.pools[self.key] = self.current
        if self.space is not None:
            self.cache.spaces[self.space] = self.current.creds


class _ProxyRounds:
    """Proxy credentials for one request; also the hook tunnels ask (``ProxyAuthHook``)."""

    def __init__(self, manager: _Manager, reply: _Reply, endpoint: ProxyEndpoint) -> None:
        self.manager, self.reply, self.endpoint = manager, reply, endpoint
        self.cache: AuthCache = manager.auth_cache
        self.space = ProxySpace(endpoint.proxy_type, endpoint.host, endpoint.port)
        self.current = self.cache.proxy_authenticators.get(self.space)  # PA1: pre-emptive
        cached = self.cache.proxies.get(self.space)
        if self.current is None and cached is not None:
            self.current = Authenticator(AuthMethod.BASIC, Challenge("basic"), cached)
        self.socks: Credentials | None = cached
        if endpoint.mode == "socks5" and self.socks is None and endpoint.user is not None:
            self.socks = Credentials(endpoint.user, endpoint.password or "")
        self.attempts = 0
        self.tried_endpoint = False
        self.tried_cache = cached is not None

    # ProxyAuthHook
    def connect_authorization(self, target: str) -> str | None:
        return self.current.header("CONNECT", target) if self.current is not None else None

    def socks_credentials(self) -> tuple[str, str] | None:
        return (self.socks.user, self.socks.password) if self.socks is not None else None

    def headers(self, method: str, url: str) -> list[tuple[str, str]]:
        if self.endpoint.mode != "forward" or self.current is None:
            return []
        value = self.current.header(method, url)
        return [("Proxy-Authorization", value)] if value is not None else []

    async def challenged(self, lines: list[str], socks: bool) -> bool:
        if self.attempts >= self.manager.max_authentication_attempts:
            return False
        if socks:
            method, ch = AuthMethod.BASIC, Challenge("socks5")
            rejected = self.socks
        else:
            chosen = choose_challenge(lines)
            if chosen is None:
                return False
            method, ch = chosen
            rejected = self.current.creds if self.current is not None else None
        creds = await self._credentials(method, ch, rejected, socks)
        if creds is None or creds == rejected:
            return False
        self.attempts += 1
        if socks:
            self.socks = creds
        else:
            self.current = Authenticator(method, ch, creds)
        return True

    async def _credentials(self, method: AuthMethod, ch: Challenge, rejected: Credentials | None,
                           socks: bool) -> Credentials | None:
        ep = self.endpoint
        if not self.tried_endpoint and ep.user is not None:
            self.tried_endpoint = True  # PA2: the proxy's own user/password, no question
            creds = Credentials(ep.user, ep.password or "")
            if creds != rejected:
                return creds
        if not self.tried_cache:
            self.tried_cache = True
            cached = self.cache.proxies.get(self.space)
            if cached is not None and cached != rejected:
                return cached
        question = ProxyAuthenticationQuestion(
            self.reply, proxy_type=ep.proxy_type, proxy_host=ep.host, proxy_port=ep.port,
            scheme="SOCKS5" if socks else method.label, realm=ch.realm,
            previous_user=rejected.user if rejected is not None else None)

        async def ask() -> Credentials | None:
            return _answer(await self.manager.questions.ask(question))

        return await ask_once(self.cache, self.space, rejected, ask)

    def succeeded(self) -> None:
        creds = self.socks if self.endpoint.mode == "socks5" else \
            (self.current.creds if self.current is not None else None)
        if creds is not None:
            self.cache.proxies[self.space] = creds
        if self.current is not None and self.endpoint.mode != "socks5":
            self.cache.proxy_authenticators[self.space] = self.current


def with_headers(wire: list[tuple[str, str]], extra: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Put each ``extra`` header in place of one of the same name (A12), else at the end."""
    if not extra:
        return wire  # nothing to put in: the same list (never changed after it is built)
    out = list(wire)
    for name, value in extra:
        low = name.lower()
        idx = next((i for i, (k, _) in enumerate(out) if k.lower() == low), None)
        if idx is None:
            out.append((name, value))
        else:
            out[idx] = (name, value)
            out = [h for i, h in enumerate(out) if i == idx or h[0].lower() != low]
    return out


async def _drain(response: httpx.Response) -> None:
    """Read a challenge's body so the connection can carry the next round (A4), within a limit."""
    size = 0
    try:
        async for chunk in response.aiter_raw():
            size += len(chunk)
            if size > DRAIN_LIMIT:
                break
    except (httpx.HTTPError, httpcore.NetworkError, httpcore.ProtocolError, OSError):
        pass  # the next round opens a new connection
    finally:
        await response.aclose()


def _resendable(body: Body | None) -> bool:
    """Asked after the first send: an async-iterator body is used up by then."""
    return body is None or body.rewindable()


async def send_with_auth(manager: _Manager, reply: _Reply, key: OriginKey, target: _Target, method: str,
                         body: Body | None, make: MakeRequest, on_queued: Callable[[], None]) -> httpx.Response:
    """Send, answering 401/407 challenges; returns the final response (unread)."""
    if key.proxy is None and key.uds is None:
        endpoint = await select_endpoint(manager, target)
        if endpoint is not None:
            key = dataclasses.replace(key, proxy=endpoint)
    server = _ServerRounds(manager, reply, key, target)
    proxy = _ProxyRounds(manager, reply, key.proxy) if key.proxy is not None else None
    while True:
        # the request-URI forms are built only when a header needs them (str(URL) is not cheap)
        extra = server.headers(method, target.wire_url().raw_path.decode("ascii")) \
            if server.current is not None else []
        ext: dict[str, Any] = {}
        if proxy is not None:
            extra += proxy.headers(method, str(target.wire_url()))
            ext[AUTH_EXTENSION] = proxy
        request = make(extra, ext)
        try:
            response: httpx.Response = await manager.tls.send(manager.transport, reply, key, request, on_queued)
        except ProxyChallenge as challenge:
            assert proxy is not None
            lines = [v for k, v in challenge.headers if k.lower() == "proxy-authenticate"]
            if _resendable(body) and await proxy.challenged(lines, socks=challenge.status == 0):
                continue
            raise CourierError(NetworkError.ProxyAuthenticationRequiredError,
                               "Proxy requires authentication") from challenge
        status = response.status_code
        if status == 407 and proxy is not None and proxy.endpoint.mode == "forward":
            lines = response.headers.get_list("proxy-authenticate")
            if _resendable(body) and await proxy.challenged(lines, socks=False):
                await _drain(response)
                continue
            return response
        if proxy is not None:
            proxy.succeeded()
        if status == 401:
            if _resendable(body) and await server.challenged(response):
                await _drain(response)
                continue
            return response
        server.succeeded()
        return response
