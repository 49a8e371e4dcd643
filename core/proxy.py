"""Proxy selection as QNAM does it (reference §11, P1–P6).

The manager has a ``proxy`` (default ``Proxy.default()``: the system proxy, i.e. the environment)
or a ``proxy_factory`` that chooses per request. From the resulting list QNAM takes the *first*
usable proxy and never falls back (P2); none usable → ``ProxyNotFoundError``.

Deliberately safer than QNAM (difference 7): environment variables are read in lower *and* upper
case, a proxy URL without a port gets the scheme's default port (QNAM: 65535, P5), a scheme-less
``host:port`` means an HTTP proxy (QNAM: an empty host), and ``all_proxy`` is the last fallback for
http and https too (as curl does).
"""

from __future__ import annotations

import asyncio
import enum
import fnmatch
import functools
import ipaddress
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from core.errors import CourierError, NetworkError
from core.transport.proxied import ProxyEndpoint

_Manager = Any  # core.manager.NetworkManager (import cycle)
_Target = Any  # core.http.Target


class ProxyType(enum.Enum):
    DEFAULT = "default"  # the system proxy (QNetworkProxy::DefaultProxy)
    NO_PROXY = "none"
    HTTP = "http"
    HTTP_CACHING = "http-caching"  # forwarding only, never CONNECT
    SOCKS5 = "socks5"


class Capability(enum.Flag):
    TUNNELING = enum.auto()
    CACHING = enum.auto()
    HOST_NAME_LOOKUP = enum.auto()


_DEFAULT_CAPS = {
    ProxyType.DEFAULT: Capability.TUNNELING | Capability.CACHING | Capability.HOST_NAME_LOOKUP,
    ProxyType.NO_PROXY: Capability.TUNNELING,
    ProxyType.HTTP: Capability.TUNNELING | Capability.CACHING | Capability.HOST_NAME_LOOKUP,
    ProxyType.HTTP_CACHING: Capability.CACHING | Capability.HOST_NAME_LOOKUP,
    ProxyType.SOCKS5: Capability.TUNNELING | Capability.HOST_NAME_LOOKUP,
}
DEFAULT_PORTS = {"http": 80, "socks5": 1080, "socks5h": 1080}


@dataclass(frozen=True, slots=True)
class Proxy:
    """A proxy setting (QNetworkProxy). The password never appears in ``repr``."""

    type: ProxyType = ProxyType.NO_PROXY
    host: str = ""
    port: int = 0
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    capabilities: Capability | None = None  # None → the type's defaults

    @classmethod
    def default(cls) -> Proxy:
        return cls(ProxyType.DEFAULT)

    @classmethod
    def none(cls) -> Proxy:
        return cls(ProxyType.NO_PROXY)

    @classmethod
    def from_url(cls, url: str) -> Proxy:
        """``http://[user:pass@]host[:port]``, ``socks5://…``/``socks5h://…``, or ``host:port``.

        A missing port is the scheme's default (80 for http, 1080 for SOCKS5), not QNAM's 65535.
        """
        text = url.strip()
        if "://" not in text:
            text = "http://" + text
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError as exc:
            raise CourierError(NetworkError.ProxyNotFoundError, f"Invalid proxy URL {url!r}: {exc}") from exc
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS or not parts.hostname:
            raise CourierError(NetworkError.ProxyNotFoundError,
                               f"Invalid proxy URL {url!r}: use http://, socks5:// or socks5h://")
        kind = ProxyType.SOCKS5 if scheme.startswith("socks5") else ProxyType.HTTP
        user = unquote(parts.username) if parts.username is not None else None
        password = unquote(parts.password) if parts.password is not None else None
        return cls(kind, parts.hostname, port or DEFAULT_PORTS[scheme], user, password)

    @property
    def effective_capabilities(self) -> Capability:
        return self.capabilities if self.capabilities is not None else _DEFAULT_CAPS[self.type]


@dataclass(frozen=True, slots=True)
class ProxyQuery:
    """What a factory is asked (QNetworkProxyQuery of type UrlRequest, P1)."""

    url: str
    scheme: str
    host: str
    port: int


class ProxyFactory(Protocol):
    """Chooses proxies per request. Return them in order of preference; only the first usable one
    is tried (P2). An empty list means no proxy."""

    async def query_proxy(self, query: ProxyQuery) -> list[Proxy]: ...


@functools.lru_cache(maxsize=256)
def is_loopback(host: str) -> bool:
    """P4: ``localhost``, ``localhost.*`` and loopback addresses never use the system proxy.
    Memoized: parsing an address with ``ipaddress`` cost ~2% of a small request."""
    h = host.lower().strip("[]")
    if h == "localhost" or h.startswith("localhost."):
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


def host_matches(host: str, pattern: str) -> bool:
    """A no-proxy entry: ``*`` all; ``example.com``/``.example.com``/``*.example.com`` the domain
    and its subdomains (label boundary); other wildcards as shell patterns; IPs exactly."""
    host = host.lower().strip("[]").rstrip(".")
    p = pattern.strip().lower()
    if not p:
        return False
    if p == "*":
        return True
    if p.startswith("*."):
        p = p[2:]
    elif p.startswith("."):
        p = p[1:]
    if any(c in p for c in "*?["):
        return fnmatch.fnmatchcase(host, p)
    return host == p or host.endswith("." + p)


class EnvironmentProxyFactory:
    """The system proxy on Linux (P4): ``http_proxy``, ``https_proxy``, ``all_proxy`` and
    ``no_proxy``, lower-case first, then upper-case. Read at every query, like QNAM."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = environ

    def _get(self, name: str) -> str:
        env = self._environ if self._environ is not None else os.environ
        return (env.get(name) or env.get(name.upper()) or "").strip()

    def proxies_for(self, query: ProxyQuery) -> list[Proxy]:
        if is_loopback(query.host):
            return [Proxy.none()]
        no_proxy = self._get("no_proxy")
        if no_proxy and any(host_matches(query.host, p) for p in no_proxy.split(",")):
            return [Proxy.none()]
        value = ""
        if query.scheme == "http":
            value = self._get("http_proxy")
        elif query.scheme == "https":
            value = self._get("https_proxy") or self._get("http_proxy")
        value = value or self._get("all_proxy")
        if not value:
            return [Proxy.none()]
        return [Proxy.from_url(value), Proxy.none()]

    async def query_proxy(self, query: ProxyQuery) -> list[Proxy]:
        return self.proxies_for(query)


@dataclass(frozen=True, slots=True)
class ProxyRule:
    """Use ``proxies`` for the given URL schemes (None: any) and host patterns (None: any)."""

    proxies: Sequence[Proxy]
    schemes: frozenset[str] | None = None
    hosts: Sequence[str] | None = None

    def matches(self, query: ProxyQuery) -> bool:
        if self.schemes is not None and query.scheme not in self.schemes:
            return False
        return self.hosts is None or any(host_matches(query.host, p) for p in self.hosts)


class RuleProxyFactory:
    """A manual configuration: hosts in ``no_proxy`` go direct, else the first matching rule's
    proxies, else ``default``."""

    def __init__(self, rules: Sequence[ProxyRule] = (), no_proxy: Sequence[str] = (),
                 default: Sequence[Proxy] = (Proxy(ProxyType.NO_PROXY),)) -> None:
        self.rules, self.no_proxy, self.default = list(rules), list(no_proxy), list(default)

    async def query_proxy(self, query: ProxyQuery) -> list[Proxy]:
        if any(host_matches(query.host, p) for p in self.no_proxy):
            return [Proxy.none()]
        for rule in self.rules:
            if rule.matches(query):
                return list(rule.proxies)
        return list(self.default)


class PacEvaluator(Protocol):
    """Runs a PAC script's ``FindProxyForURL(url, host)`` and returns its string result."""

    def find_proxy_for_url(self, url: str, host: str) -> str: ...


class PypacEvaluator:
    """The default evaluator: the ``pypac`` package (JavaScript via dukpy)."""

    def __init__(self, script: str) -> None:
        from pypac.parser import PACFile

        try:
            self._pac = PACFile(script)
        except Exception as exc:  # pypac raises its own MalformedPacError and JS errors
            raise CourierError(NetworkError.ProxyNotFoundError, f"Invalid PAC script: {exc}") from exc

    def find_proxy_for_url(self, url: str, host: str) -> str:
        return str(self._pac.find_proxy_for_url(url, host))


def parse_pac_result(value: str) -> list[Proxy]:
    """``"PROXY a:1; SOCKS5 b:2; DIRECT"`` → proxies in order; unknown kinds are skipped."""
    out: list[Proxy] = []
    for item in value.split(";"):
        words = item.split()
        if not words:
            continue
        kind = words[0].upper()
        if kind == "DIRECT":
            out.append(Proxy.none())
        elif kind in ("PROXY", "HTTP", "SOCKS", "SOCKS5") and len(words) > 1:
            scheme = "http" if kind in ("PROXY", "HTTP") else "socks5"
            try:
                out.append(Proxy.from_url(f"{scheme}://{words[1]}"))
            except CourierError:
                continue
    return out


PAC_TIMEOUT = 5.0


class PacProxyFactory:
    """Chooses proxies with a PAC file. The script runs in a worker thread (it may resolve names),
    one evaluation at a time; one that takes longer than ``timeout`` seconds fails the request
    with ``ProxyNotFoundError`` instead of holding it forever. (dukpy keeps the GIL while pure
    JavaScript runs, so a runaway loop in a script still stalls the process; name lookups do not.)"""

    def __init__(self, script: str, evaluator: PacEvaluator | None = None, timeout: float = PAC_TIMEOUT) -> None:
        self.evaluator: PacEvaluator = evaluator if evaluator is not None else PypacEvaluator(script)
        self.timeout = timeout
        self._lock = threading.Lock()

    def _evaluate(self, url: str, host: str) -> str:
        if not self._lock.acquire(timeout=self.timeout):
            raise CourierError(NetworkError.ProxyNotFoundError, "PAC script busy: an earlier call never returned")
        try:
            return self.evaluator.find_proxy_for_url(url, host)
        finally:
            self._lock.release()

    async def query_proxy(self, query: ProxyQuery) -> list[Proxy]:
        try:
            result = await asyncio.wait_for(asyncio.to_thread(self._evaluate, query.url, query.host), self.timeout)
        except TimeoutError as exc:
            raise CourierError(NetworkError.ProxyNotFoundError,
                               f"PAC script took longer than {self.timeout:g} s") from exc
        except CourierError:
            raise
        except Exception as exc:
            raise CourierError(NetworkError.ProxyNotFoundError, f"PAC script failed: {exc}") from exc
        proxies = parse_pac_result(result)
        if not proxies:
            raise CourierError(NetworkError.ProxyNotFoundError, f"PAC script returned no usable proxy: {result!r}")
        return proxies


SYSTEM_PROXY = EnvironmentProxyFactory()


def usable_endpoint(proxies: Sequence[Proxy], secure: bool) -> ProxyEndpoint | None:
    """P2: the first usable proxy, no fallback. None means a direct connection."""
    for p in proxies:
        caps = p.effective_capabilities
        if not secure and Capability.CACHING in caps and p.type in (ProxyType.HTTP, ProxyType.HTTP_CACHING):
            return ProxyEndpoint("forward", p.host, p.port, p.user, p.password)
        if Capability.TUNNELING in caps:
            if p.type is ProxyType.HTTP:
                return ProxyEndpoint("connect", p.host, p.port, p.user, p.password)
            if p.type is ProxyType.SOCKS5:
                return ProxyEndpoint("socks5", p.host, p.port, p.user, p.password)
            return None  # NoProxy (or DefaultProxy) tunnels: direct
    raise CourierError(NetworkError.ProxyNotFoundError, "No suitable proxy found")


async def select_endpoint(manager: _Manager, target: _Target) -> ProxyEndpoint | None:
    """The proxy for one request (P1): the factory, else the manager's proxy, else the system's."""
    if target.scheme not in ("http", "https"):
        return None  # unix+http never uses a proxy (U4)
    factory: ProxyFactory | None = manager.proxy_factory
    proxy: Proxy = manager.proxy
    if factory is None and proxy.type is ProxyType.DEFAULT and is_loopback(target.host):
        return None  # P4: what the system proxy answers for loopback ([Proxy.none()]), without the query
    query = ProxyQuery(str(target.wire_url()), target.scheme, target.host, target.port)
    if factory is not None:
        proxies = await factory.query_proxy(query) or [Proxy.none()]
    elif proxy.type is ProxyType.DEFAULT:
        proxies = await SYSTEM_PROXY.query_proxy(query)
    else:
        proxies = [proxy]  # P6: an explicit proxy applies even to localhost
    return usable_endpoint(proxies, secure=target.scheme == "https")
