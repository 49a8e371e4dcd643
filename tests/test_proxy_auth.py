"""A user logs in to real proxies: tinyproxy with BasicAuth (forwarding and CONNECT) and microsocks
with a user name and password; side by side with QNAM for the rounds."""

from __future__ import annotations

import asyncio
import ssl

import pytest
from PySide6.QtNetwork import QNetworkAccessManager, QNetworkProxy

from core import NetworkError, NetworkManager
from core.proxy import Proxy, ProxyType
from tests.auth_helpers import Answers
from tests.proxies import DigestProxy, Microsocks, Tinyproxy
from tests.qnam import qnam_request
from tests.servers import HypercornServer

GOOD = ("puser", "ppass")


def run(loop: asyncio.AbstractEventLoop, coro):  # type: ignore[no-untyped-def]
    return loop.run_until_complete(asyncio.wait_for(coro, 60))


def manager(proxy: Proxy, ca: str | None = None) -> NetworkManager:
    m = NetworkManager()
    m.set_proxy(proxy)
    if ca is not None:
        m.transport.set_default_ssl_context(ssl.create_default_context(cafile=ca))
    return m


def tiny(p: Tinyproxy, user: str | None = None, password: str | None = None) -> Proxy:
    return Proxy(ProxyType.HTTP, "127.0.0.1", p.port, user, password)


def test_forwarding_proxy_login_then_pre_emptive(loop, tinyproxy_auth: Tinyproxy, http_server: HypercornServer) -> None:
    async def go() -> None:
        m = manager(tiny(tinyproxy_auth))
        answers = Answers(m, proxy=[GOOD])
        n = len(tinyproxy_auth.requests())
        r = await m.get(http_server.url + "/echo").wait()
        assert r.status == 200, r.error_string
        q = answers.proxy_asked[0]
        assert (q.proxy_type, q.proxy_host, q.proxy_port, q.scheme, q.realm, q.previous_user) == \
            ("http", "127.0.0.1", tinyproxy_auth.port, "Basic", "Tinyproxy", None)
        assert len(tinyproxy_auth.wait_requests(n + 2)) - n == 2  # PA1: first without, then with
        assert "Proxy-Authorization" in dict(r.sent_headers)
        # the origin never sees the proxy credentials
        assert "proxy-authorization" not in dict(http_server.seen.requests[-1]["headers"])
        n = len(tinyproxy_auth.requests())
        r = await m.get(http_server.url + "/echo").wait()
        assert r.status == 200 and len(answers.proxy_asked) == 1  # cached: pre-emptive, no question
        assert len(tinyproxy_auth.wait_requests(n + 1)) - n == 1
        await m.aclose()

    run(loop, go())


def test_connect_proxy_login(loop, tinyproxy_auth: Tinyproxy, https_server: HypercornServer,
                             tls_files: dict[str, str]) -> None:
    async def go() -> None:
        m = manager(tiny(tinyproxy_auth), tls_files["ca"])
        answers = Answers(m, proxy=[GOOD])
        n = len(tinyproxy_auth.requests())
        r = await m.get(https_server.url + "/echo").wait()
        assert r.status == 200, r.error_string
        assert len(answers.proxy_asked) == 1
        assert tinyproxy_auth.wait_requests(n + 2)[n:] == [f"CONNECT 127.0.0.1:{https_server.port} HTTP/1.1"] * 2
        await m.clear_connection_cache()  # a new tunnel: the cached credentials go with the CONNECT
        n = len(tinyproxy_auth.requests())
        assert (await m.get(https_server.url + "/echo").wait()).status == 200
        assert len(tinyproxy_auth.wait_requests(n + 1)) - n == 1 and len(answers.proxy_asked) == 1
        await m.aclose()

    run(loop, go())


def test_credentials_on_the_proxy_are_used_without_a_question(loop, tinyproxy_auth: Tinyproxy,
                                                              http_server: HypercornServer) -> None:
    async def go() -> None:
        m = manager(tiny(tinyproxy_auth, *GOOD))
        answers = Answers(m)
        n = len(tinyproxy_auth.requests())
        r = await m.get(http_server.url + "/echo").wait()
        assert r.status == 200 and answers.proxy_asked == []  # PA2
        assert len(tinyproxy_auth.wait_requests(n + 2)) - n == 2  # still first without (PA2: after the 407)
        await m.aclose()

    run(loop, go())


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_no_proxy_credentials_is_proxy_authentication_required(loop, tinyproxy_auth: Tinyproxy, scheme: str,
                                                               http_server: HypercornServer,
                                                               https_server: HypercornServer) -> None:
    async def go() -> None:
        m = manager(tiny(tinyproxy_auth))
        answers = Answers(m)  # the user cancels
        server = http_server if scheme == "http" else https_server
        r = await m.get(server.url + "/echo").wait()
        assert r.error is NetworkError.ProxyAuthenticationRequiredError  # PA3
        assert r.error_string == "Proxy requires authentication"
        assert len(answers.proxy_asked) == 1
        if scheme == "http":
            assert r.status == 407 and b"Proxy Authentication Required" in r.content()
        await m.aclose()

    run(loop, go())


def test_socks5_login(loop, microsocks_auth: Microsocks, http_server: HypercornServer) -> None:
    async def go() -> None:
        proxy = Proxy(ProxyType.SOCKS5, "127.0.0.1", microsocks_auth.port)
        m = manager(proxy)
        answers = Answers(m, proxy=[("suser", "wrong"), ("suser", "spass")])
        r = await m.get(http_server.url + "/echo").wait()
        assert r.status == 200, r.error_string
        assert [(q.scheme, q.previous_user) for q in answers.proxy_asked] == [("SOCKS5", None), ("SOCKS5", "suser")]
        await m.clear_connection_cache()
        assert (await m.get(http_server.url + "/echo").wait()).status == 200
        assert len(answers.proxy_asked) == 2  # cached
        await m.clear_access_cache()  # N4: proxy credentials forgotten too
        r = await m.get(http_server.url + "/echo").wait()
        assert r.error is NetworkError.ProxyAuthenticationRequiredError and len(answers.proxy_asked) == 3
        # user/password on the proxy itself: no question
        m2 = manager(Proxy(ProxyType.SOCKS5, "127.0.0.1", microsocks_auth.port, "suser", "spass"))
        answers2 = Answers(m2)
        assert (await m2.get(http_server.url + "/echo").wait()).status == 200 and answers2.proxy_asked == []
        await m.aclose()
        await m2.aclose()

    run(loop, go())


def test_a_proxy_that_keeps_rejecting_is_bounded(loop, microsocks_auth: Microsocks, http_server: HypercornServer) -> None:
    async def go() -> None:
        m = manager(Proxy(ProxyType.SOCKS5, "127.0.0.1", microsocks_auth.port))
        answers = Answers(m, proxy=[(f"u{i}", "x") for i in range(50)])
        r = await m.get(http_server.url + "/echo").wait()
        assert r.error is NetworkError.ProxyAuthenticationRequiredError
        assert len(answers.proxy_asked) == m.max_authentication_attempts
        await m.aclose()

    run(loop, go())


@pytest.mark.qnam
def test_proxy_login_rounds_match_qnam(qapp, loop, tinyproxy_auth: Tinyproxy, http_server: HypercornServer) -> None:
    qm = QNetworkAccessManager()
    qm.setProxy(QNetworkProxy(QNetworkProxy.ProxyType.HttpProxy, "127.0.0.1", tinyproxy_auth.port))
    asked: list[str] = []

    def slot(proxy, authenticator) -> None:  # type: ignore[no-untyped-def]
        asked.append(authenticator.realm())
        authenticator.setUser(GOOD[0])
        authenticator.setPassword(GOOD[1])

    qm.proxyAuthenticationRequired.connect(slot)
    counts_q = []
    for _ in range(2):
        n = len(tinyproxy_auth.requests())
        assert qnam_request(http_server.url + "/echo", manager=qm).status == 200
        counts_q.append(len(tinyproxy_auth.wait_requests(n + 1)) - n)

    async def go() -> tuple[list[int], int]:
        m = manager(tiny(tinyproxy_auth))
        answers = Answers(m, proxy=[GOOD])
        counts = []
        for _ in range(2):
            n = len(tinyproxy_auth.requests())
            assert (await m.get(http_server.url + "/echo").wait()).status == 200
            counts.append(len(tinyproxy_auth.wait_requests(n + 1)) - n)
        await m.aclose()
        return counts, len(answers.proxy_asked)

    counts_c, asked_c = run(loop, go())
    assert counts_c == counts_q == [2, 1]  # PA1
    assert asked_c == len(asked) == 1 and asked == ["Tinyproxy"]


@pytest.mark.qnam
def test_no_proxy_credentials_matches_qnam(qapp, loop, tinyproxy_auth: Tinyproxy, http_server: HypercornServer) -> None:
    qm = QNetworkAccessManager()
    qm.setProxy(QNetworkProxy(QNetworkProxy.ProxyType.HttpProxy, "127.0.0.1", tinyproxy_auth.port))
    q = qnam_request(http_server.url + "/echo", manager=qm)

    async def go():  # type: ignore[no-untyped-def]
        m = manager(tiny(tinyproxy_auth))
        r = await m.get(http_server.url + "/echo").wait()
        await m.aclose()
        return r

    r = run(loop, go())
    assert int(r.error) == q.error == NetworkError.ProxyAuthenticationRequiredError  # PA3
    assert r.status == q.status == 407 and r.content() == q.body


@pytest.mark.qnam
def test_tinyproxy_401_for_wrong_proxy_credentials_matches_qnam(qapp, loop, tinyproxy_auth: Tinyproxy,
                                                                http_server: HypercornServer) -> None:
    """tinyproxy answers wrong credentials with 401 + WWW-Authenticate: to both clients that is a server login."""
    qm = QNetworkAccessManager()
    qm.setProxy(QNetworkProxy(QNetworkProxy.ProxyType.HttpProxy, "127.0.0.1", tinyproxy_auth.port))
    q_proxy, q_server = [], []

    def proxy_slot(proxy, authenticator) -> None:  # type: ignore[no-untyped-def]
        q_proxy.append(authenticator.realm())
        authenticator.setUser("puser")
        authenticator.setPassword("wrong")

    qm.proxyAuthenticationRequired.connect(proxy_slot)
    qm.authenticationRequired.connect(lambda reply, a: q_server.append(a.realm()))
    q = qnam_request(http_server.url + "/echo", manager=qm)

    async def go():  # type: ignore[no-untyped-def]
        m = manager(tiny(tinyproxy_auth))
        answers = Answers(m, proxy=[("puser", "wrong")])
        r = await m.get(http_server.url + "/echo").wait()
        await m.aclose()
        return r, answers

    r, answers = run(loop, go())
    assert int(r.error) == q.error == NetworkError.AuthenticationRequiredError
    assert r.status == q.status == 401
    assert len(answers.proxy_asked) == len(q_proxy) == 1
    assert [a.realm for a in answers.asked] == q_server == ["Tinyproxy"]


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_digest_proxy_authentication(loop, digest_proxy: DigestProxy, scheme: str, http_server: HypercornServer,
                                     https_server: HypercornServer, tls_files: dict[str, str]) -> None:
    async def go() -> None:
        m = manager(Proxy(ProxyType.HTTP, "127.0.0.1", digest_proxy.port), tls_files["ca"])
        answers = Answers(m, proxy=[("duser", "dpass")])
        server = http_server if scheme == "http" else https_server
        r = await m.get(server.url + "/echo").wait()
        assert r.status == 200, r.error_string
        assert [(q.scheme, q.realm) for q in answers.proxy_asked] == [("Digest", "digest-proxy")]
        sent = [auth for _, auth in digest_proxy.seen]
        assert sent[0] is None and sent[1] is not None and sent[1].startswith("Digest ")
        expected_uri = f"127.0.0.1:{server.port}" if scheme == "https" else server.url + "/echo"
        assert f'uri="{expected_uri}"' in sent[1]
        await m.aclose()

    run(loop, go())
