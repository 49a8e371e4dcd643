"""A user sends requests through real proxies on 127.0.0.1: tinyproxy (HTTP, CONNECT) and
microsocks (SOCKS5), chosen manually, from the environment, by a factory or a PAC file."""

from __future__ import annotations

import asyncio
import json
import ssl
import time

import pytest

from core import CourierError, NetworkError, NetworkManager, Request
from core.proxy import (
    Capability,
    EnvironmentProxyFactory,
    PacProxyFactory,
    Proxy,
    ProxyQuery,
    ProxyRule,
    ProxyType,
    RuleProxyFactory,
)
from tests.proxies import Microsocks, Tinyproxy, free_port
from tests.servers import HypercornServer


def run(loop: asyncio.AbstractEventLoop, coro):  # type: ignore[no-untyped-def]
    return loop.run_until_complete(asyncio.wait_for(coro, 60))


def manager(proxy: Proxy | None = None, ca: str | None = None) -> NetworkManager:
    m = NetworkManager()
    if proxy is not None:
        m.set_proxy(proxy)
    if ca is not None:
        m.transport.set_default_ssl_context(ssl.create_default_context(cafile=ca))
    return m


def http_proxy(p: Tinyproxy, user: str | None = None, password: str | None = None) -> Proxy:
    return Proxy(ProxyType.HTTP, "127.0.0.1", p.port, user, password)


def test_http_through_an_http_proxy_uses_absolute_form(loop, tinyproxy: Tinyproxy, http_server: HypercornServer) -> None:
    async def go() -> None:
        m = manager(http_proxy(tinyproxy))
        n = len(tinyproxy.requests())
        r = await m.get(http_server.url + "/echo?q=1").wait()
        assert r.error is NetworkError.NoError, r.error_string
        assert json.loads(r.content())["path"] == "/echo"
        r = await m.get(http_server.url + "/echo?q=2").wait()
        assert r.status == 200
        # P3: forwarded (not tunnelled), with the absolute URL as the request target
        assert tinyproxy.wait_requests(n + 2)[n:] == [f"GET {http_server.url}/echo?q=1 HTTP/1.1",
                                                      f"GET {http_server.url}/echo?q=2 HTTP/1.1"]
        await m.aclose()

    run(loop, go())


def test_https_through_an_http_proxy_uses_connect_then_tls(loop, tinyproxy: Tinyproxy, https_server: HypercornServer,
                                                           tls_files: dict[str, str]) -> None:
    async def go() -> None:
        m = manager(http_proxy(tinyproxy), ca=tls_files["ca"])
        n = len(tinyproxy.requests())
        r = await m.get(https_server.url + "/echo").wait()
        assert r.error is NetworkError.NoError, r.error_string
        assert r.tls is not None and r.tls.version is not None
        assert r.timings.hops[-1].connection.tls_end is not None  # the TLS phase is timed through the tunnel
        r = await m.get(https_server.url + "/echo").wait()
        assert r.status == 200
        # P3: one CONNECT; the second request reuses the tunnel (N1)
        assert tinyproxy.wait_requests(n + 1)[n:] == [f"CONNECT 127.0.0.1:{https_server.port} HTTP/1.1"]
        await m.aclose()

    run(loop, go())


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_socks5_proxy_for_http_and_https(loop, microsocks: Microsocks, http_server: HypercornServer,
                                         https_server: HypercornServer, tls_files: dict[str, str], scheme: str) -> None:
    async def go() -> None:
        m = manager(Proxy(ProxyType.SOCKS5, "127.0.0.1", microsocks.port), ca=tls_files["ca"])
        server = http_server if scheme == "http" else https_server
        # the host *name* goes to the proxy (remote DNS, P3): microsocks resolves "localhost"
        r = await m.get(server.url.replace("127.0.0.1", "localhost") + "/echo").wait()
        assert r.error is NetworkError.NoError, r.error_string
        assert json.loads(r.content())["path"] == "/echo"
        seen = server.seen.requests[-1]
        assert seen["path"] == "/echo" and dict(seen["headers"])["host"].startswith("localhost:")
        await m.aclose()

    run(loop, go())


def test_proxied_and_direct_requests_use_separate_pools(loop, tinyproxy: Tinyproxy, http_server: HypercornServer) -> None:
    async def go() -> None:
        m = manager()
        await m.get(http_server.url + "/echo").wait()
        n = len(tinyproxy.requests())
        m.set_proxy(http_proxy(tinyproxy))
        r = await m.get(http_server.url + "/echo").wait()
        assert r.status == 200
        assert len(tinyproxy.wait_requests(n + 1)) == n + 1  # D5: the proxy is part of the pool key
        await m.aclose()

    run(loop, go())


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_refused_proxy_is_a_proxy_error(loop, http_server: HypercornServer, https_server: HypercornServer,
                                          scheme: str) -> None:
    async def go() -> None:
        m = manager(Proxy(ProxyType.HTTP, "127.0.0.1", free_port()))
        server = http_server if scheme == "http" else https_server
        r = await m.get(server.url + "/echo").wait()
        assert r.error is NetworkError.ProxyConnectionRefusedError, r.error_string  # X7
        assert r.status is None
        await m.aclose()

    run(loop, go())


def test_a_failed_connect_is_an_unknown_network_error(loop, tinyproxy: Tinyproxy) -> None:
    async def go() -> None:
        m = manager(http_proxy(tinyproxy))
        r = await m.get(f"https://127.0.0.1:{free_port()}/").wait()  # the proxy cannot reach it
        assert r.error is NetworkError.UnknownNetworkError, r.error_string  # X12
        await m.aclose()

    run(loop, go())


def test_socks5_target_refused_and_unknown_host(loop, microsocks: Microsocks) -> None:
    async def go() -> None:
        m = manager(Proxy(ProxyType.SOCKS5, "127.0.0.1", microsocks.port))
        r = await m.get(f"http://127.0.0.1:{free_port()}/").wait()
        assert r.error is NetworkError.ConnectionRefusedError, r.error_string
        r = await m.get("http://courier-test.invalid/").wait()
        assert r.error is NetworkError.HostNotFoundError and r.error_string == "Host courier-test.invalid not found"
        await m.aclose()

    run(loop, go())


def test_an_unknown_proxy_host_is_proxy_not_found(loop, http_server: HypercornServer) -> None:
    async def go() -> None:
        m = manager(Proxy(ProxyType.HTTP, "courier-proxy.invalid", 3128))
        r = await m.get(http_server.url + "/echo").wait()
        assert r.error is NetworkError.ProxyNotFoundError, r.error_string
        await m.aclose()

    run(loop, go())


# -- the environment (system proxy) -------------------------------------------------------------------

def test_environment_proxy_is_used_for_remote_hosts_but_never_for_loopback(
        loop, monkeypatch: pytest.MonkeyPatch, tinyproxy: Tinyproxy, http_server: HypercornServer) -> None:
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
                 "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", tinyproxy.url)

    async def go() -> None:
        m = manager()  # the default: the system proxy (D22)
        n = len(tinyproxy.requests())
        r = await m.get("http://courier-test.invalid/page").wait()
        # tinyproxy got it (and could not resolve the name: its error page comes back)
        assert tinyproxy.wait_requests(n + 1)[n:] == ["GET http://courier-test.invalid/page HTTP/1.1"]
        assert r.status is not None and r.status >= 400 and b"Generated by tinyproxy" in r.content()
        # P4: loopback is always direct
        r = await m.get(http_server.url + "/echo").wait()
        assert r.status == 200 and len(tinyproxy.requests()) == n + 1
        await m.aclose()

    run(loop, go())


def test_upper_case_environment_variables_are_read_too(loop, monkeypatch: pytest.MonkeyPatch, tinyproxy: Tinyproxy) -> None:
    """Deliberate difference 7: QNAM reads lower-case variables only (P4)."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "NO_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", tinyproxy.url)

    async def go() -> None:
        m = manager()
        n = len(tinyproxy.requests())
        await m.get("http://courier-upper.invalid/").wait()
        assert tinyproxy.wait_requests(n + 1)[n:] == ["GET http://courier-upper.invalid/ HTTP/1.1"]
        await m.aclose()

    run(loop, go())


def test_no_proxy_sends_matching_hosts_direct(loop, monkeypatch: pytest.MonkeyPatch, tinyproxy: Tinyproxy) -> None:
    monkeypatch.setenv("http_proxy", tinyproxy.url)
    monkeypatch.setenv("no_proxy", "example.org,.invalid")

    async def go() -> None:
        m = manager()
        n = len(tinyproxy.requests())
        r = await m.get("http://direct.courier.invalid/").wait()
        assert r.error is NetworkError.HostNotFoundError  # tried directly, the name does not exist
        assert len(tinyproxy.requests()) == n
        await m.aclose()

    run(loop, go())


def test_environment_rules() -> None:
    def pick(env: dict[str, str], url: str) -> list[Proxy]:
        scheme, rest = url.split("://")
        host = rest.split("/")[0]
        return EnvironmentProxyFactory(env).proxies_for(ProxyQuery(url, scheme, host, 0))

    env = {"http_proxy": "http://u:p@10.0.0.1", "https_proxy": "socks5h://10.0.0.2",
           "no_proxy": "*.corp.example, .internal"}
    first = pick(env, "http://a.example/")[0]
    # deliberate difference 7: no port → the scheme's default (QNAM: 65535, P5)
    assert (first.type, first.host, first.port, first.user, first.password) == (ProxyType.HTTP, "10.0.0.1", 80, "u", "p")
    assert "p" not in repr(first) or "password" not in repr(first)
    assert pick(env, "https://a.example/")[0] == Proxy(ProxyType.SOCKS5, "10.0.0.2", 1080)
    assert pick(env, "http://x.corp.example/")[0].type is ProxyType.NO_PROXY
    assert pick(env, "http://corp.example/")[0].type is ProxyType.NO_PROXY  # label boundary, domain itself
    assert pick(env, "http://notcorp.example/")[0].type is ProxyType.HTTP
    assert pick(env, "http://db.internal/")[0].type is ProxyType.NO_PROXY
    for loopback in ("localhost", "localhost.localdomain", "127.0.0.5", "[::1]"):
        assert pick(env, f"http://{loopback}/")[0].type is ProxyType.NO_PROXY
    # https falls back to http_proxy (P4); all_proxy is the last resort; scheme-less means http
    assert pick({"http_proxy": "10.0.0.1:3128"}, "https://a.example/")[0] == Proxy(ProxyType.HTTP, "10.0.0.1", 3128)
    assert pick({"ALL_PROXY": "socks5://10.0.0.3:9050"}, "http://a.example/")[0].port == 9050
    assert pick({}, "http://a.example/") == [Proxy.none()]
    assert pick({"no_proxy": "*", "http_proxy": "10.0.0.1:1"}, "http://a.example/") == [Proxy.none()]


# -- factories: QNAM's first usable proxy, no fallback (P1, P2) ------------------------------------------------

def test_rule_factory_chooses_per_scheme_and_host(loop, tinyproxy: Tinyproxy, microsocks: Microsocks,
                                                  http_server: HypercornServer) -> None:
    async def go() -> None:
        socks = Proxy(ProxyType.SOCKS5, "127.0.0.1", microsocks.port)
        factory = RuleProxyFactory(
            rules=[ProxyRule([http_proxy(tinyproxy)], schemes=frozenset({"http"}), hosts=["127.0.0.1"]),
                   ProxyRule([socks], hosts=["localhost"])],
            no_proxy=["*.direct.test"])
        m = manager()
        m.set_proxy_factory(factory)
        n = len(tinyproxy.requests())
        assert (await m.get(http_server.url + "/echo").wait()).status == 200
        assert len(tinyproxy.wait_requests(n + 1)) == n + 1
        assert (await m.get(http_server.url.replace("127.0.0.1", "localhost") + "/echo").wait()).status == 200
        assert len(tinyproxy.requests()) == n + 1  # that one went through SOCKS
        q = ProxyQuery("http://a.direct.test/", "http", "a.direct.test", 80)
        assert await factory.query_proxy(q) == [Proxy.none()]
        await m.aclose()

    run(loop, go())


def test_first_usable_proxy_without_fallback(loop, http_server: HypercornServer, https_server: HypercornServer) -> None:
    class Fixed:
        def __init__(self, proxies: list[Proxy]) -> None:
            self.proxies = proxies
            self.queries: list[ProxyQuery] = []

        async def query_proxy(self, query: ProxyQuery) -> list[Proxy]:
            self.queries.append(query)
            return self.proxies

    async def go() -> None:
        m = manager()
        dead = Proxy(ProxyType.HTTP, "127.0.0.1", free_port())
        f = Fixed([dead, Proxy.none()])
        m.set_proxy_factory(f)
        r = await m.get(http_server.url + "/echo?x=1").wait()
        assert r.error is NetworkError.ProxyConnectionRefusedError  # P2: never falls back to NoProxy
        q = f.queries[0]
        assert (q.url, q.scheme, q.host, q.port) == (http_server.url + "/echo?x=1", "http", "127.0.0.1", http_server.port)
        # HttpCaching proxies cannot tunnel: nothing usable for https (P2)
        m.set_proxy_factory(Fixed([Proxy(ProxyType.HTTP_CACHING, "127.0.0.1", 1)]))
        r = await m.get(https_server.url + "/").wait()
        assert r.error is NetworkError.ProxyNotFoundError and r.error_string == "No suitable proxy found"
        # a proxy without the caching capability is skipped for plain http only if it cannot tunnel
        m.set_proxy_factory(Fixed([Proxy(ProxyType.HTTP, "127.0.0.1", 1, capabilities=Capability.CACHING),
                                   Proxy.none()]))
        r = await m.get(https_server.url + "/").wait()
        assert r.error is NetworkError.SslHandshakeFailedError  # direct (NoProxy), our CA is not trusted here
        # an empty list means a direct connection (P1)
        m.set_proxy_factory(Fixed([]))
        assert (await m.get(http_server.url + "/echo").wait()).status == 200
        await m.aclose()

    run(loop, go())


def test_set_proxy_and_set_proxy_factory_replace_each_other() -> None:
    m = NetworkManager()
    m.set_proxy_factory(RuleProxyFactory())
    m.set_proxy(Proxy.none())
    assert m.proxy_factory is None and m.proxy == Proxy.none()
    m.set_proxy_factory(RuleProxyFactory())
    assert m.proxy.type is ProxyType.DEFAULT


def test_unix_sockets_never_use_a_proxy(loop, unix_server: HypercornServer, tinyproxy: Tinyproxy) -> None:
    async def go() -> None:
        m = manager(http_proxy(tinyproxy))
        assert unix_server.uds is not None
        req = Request("unix+http://api/echo")
        from core.request import Attribute

        req.attributes[Attribute.FULL_LOCAL_SERVER_NAME] = unix_server.uds
        r = await m.get(req).wait()
        assert r.status == 200  # U4
        await m.aclose()

    run(loop, go())


# -- PAC files -------------------------------------------------------------------------------------------------

PAC = """
function FindProxyForURL(url, host) {
    if (shExpMatch(host, "*.socks.test") || host == "localhost") return "SOCKS5 127.0.0.1:%(socks)d";
    if (url.substring(0, 5) == "http:" && isPlainHostName(host) == false && host == "127.0.0.1")
        return "PROXY 127.0.0.1:%(http)d; DIRECT";
    return "DIRECT";
}
"""


def test_pac_file_chooses_the_proxy(loop, tinyproxy: Tinyproxy, microsocks: Microsocks,
                                    http_server: HypercornServer) -> None:
    async def go() -> None:
        factory = PacProxyFactory(PAC % {"socks": microsocks.port, "http": tinyproxy.port})
        assert await factory.query_proxy(ProxyQuery("http://a.socks.test/", "http", "a.socks.test", 80)) == \
            [Proxy(ProxyType.SOCKS5, "127.0.0.1", microsocks.port)]
        assert await factory.query_proxy(ProxyQuery("https://x.test/", "https", "x.test", 443)) == [Proxy.none()]
        m = manager()
        m.set_proxy_factory(factory)
        n = len(tinyproxy.requests())
        assert (await m.get(http_server.url + "/echo").wait()).status == 200
        assert tinyproxy.wait_requests(n + 1)[n:] == [f"GET {http_server.url}/echo HTTP/1.1"]
        assert (await m.get(http_server.url.replace("127.0.0.1", "localhost") + "/echo").wait()).status == 200
        assert len(tinyproxy.requests()) == n + 1
        await m.aclose()

    run(loop, go())


def test_a_broken_pac_file_is_a_clear_proxy_error(loop, http_server: HypercornServer) -> None:
    with pytest.raises(CourierError) as info:
        PacProxyFactory("function FindProxyForURL(url, host) { return nosuch(); }")
    assert info.value.code is NetworkError.ProxyNotFoundError and "PAC" in info.value.message
    with pytest.raises(CourierError):
        PacProxyFactory("this is not javascript")

    async def go() -> None:
        m = manager()
        m.set_proxy_factory(PacProxyFactory(
            'function FindProxyForURL(url, host) { if (host == "127.0.0.1") return nosuch(); return "DIRECT"; }'))
        r = await m.get(http_server.url + "/echo").wait()
        assert r.error is NetworkError.ProxyNotFoundError and "PAC" in r.error_string
        m.set_proxy_factory(PacProxyFactory('function FindProxyForURL(url, host) { return "BOGUS x"; }'))
        r = await m.get(http_server.url + "/echo").wait()
        assert r.error is NetworkError.ProxyNotFoundError and "BOGUS" in r.error_string
        await m.aclose()

    run(loop, go())


def test_pac_evaluator_can_be_supplied_by_the_app(loop, http_server: HypercornServer) -> None:
    class AlwaysDirect:
        def __init__(self) -> None:
            self.calls: list[tuple[str, str]] = []

        def find_proxy_for_url(self, url: str, host: str) -> str:
            self.calls.append((url, host))
            return "DIRECT"

    async def go() -> None:
        ev = AlwaysDirect()
        m = manager()
        m.set_proxy_factory(PacProxyFactory("", evaluator=ev))
        assert (await m.get(http_server.url + "/echo").wait()).status == 200
        assert ev.calls == [(http_server.url + "/echo", "127.0.0.1")]
        await m.aclose()

    run(loop, go())


def test_a_slow_pac_evaluation_fails_the_request_instead_of_holding_it(loop, http_server: HypercornServer) -> None:
    class SlowDns:
        """Like a PAC script stuck in dnsResolve() on a dead DNS server."""

        def find_proxy_for_url(self, url: str, host: str) -> str:
            time.sleep(1.0)
            return "DIRECT"

    async def go() -> None:
        m = manager()
        m.set_proxy_factory(PacProxyFactory("", evaluator=SlowDns(), timeout=0.1))
        started = time.monotonic()
        r = await m.get(http_server.url + "/echo").wait()
        assert r.error is NetworkError.ProxyNotFoundError and "longer than" in r.error_string
        assert time.monotonic() - started < 0.9
        await m.aclose()

    run(loop, go())
