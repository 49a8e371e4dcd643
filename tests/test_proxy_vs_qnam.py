"""Proxies through core and through PySide6's QNAM, side by side on the same real proxies."""

from __future__ import annotations

import asyncio
import json
import ssl
from typing import Any

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtNetwork import (
    QNetworkAccessManager,
    QNetworkProxy,
    QNetworkProxyFactory,
    QNetworkProxyQuery,
    QNetworkRequest,
    QSslCertificate,
    QSslConfiguration,
)

from core import NetworkManager
from core.proxy import EnvironmentProxyFactory, Proxy, ProxyQuery, ProxyType
from tests.proxies import Microsocks, Tinyproxy, free_port
from tests.qnam import qnam_request
from tests.servers import HypercornServer

pytestmark = pytest.mark.qnam

QTYPE = {ProxyType.HTTP: QNetworkProxy.ProxyType.HttpProxy, ProxyType.SOCKS5: QNetworkProxy.ProxyType.Socks5Proxy}


def qnam_via(proxy: Proxy) -> QNetworkAccessManager:
    m = QNetworkAccessManager()
    m.setProxy(QNetworkProxy(QTYPE[proxy.type], proxy.host, proxy.port))
    return m


def with_ca(ca: str) -> Any:
    def prepare(req: QNetworkRequest) -> None:
        conf = QSslConfiguration.defaultConfiguration()
        conf.setCaCertificates(QSslCertificate.fromPath(ca))
        req.setSslConfiguration(conf)

    return prepare


def same_echo(a: bytes, b: bytes) -> bool:
    """The origin saw the same request (the User-Agent differs on purpose)."""
    ja, jb = json.loads(a), json.loads(b)
    names = [[k for k, _ in j["headers"] if k != "user-agent"] for j in (ja, jb)]
    return (ja["method"], ja["path"], ja["query"]) == (jb["method"], jb["path"], jb["query"]) and names[0] == names[1]


def core_get(loop: asyncio.AbstractEventLoop, proxy: Proxy, url: str, ca: str | None = None):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        m = NetworkManager()
        m.set_proxy(proxy)
        if ca:
            m.transport.set_default_ssl_context(ssl.create_default_context(cafile=ca))
        try:
            return await asyncio.wait_for(m.get(url).wait(), 30)
        finally:
            await m.aclose()

    return loop.run_until_complete(go())


def test_forwarding_and_connect_lines_match_qnam(qapp, loop, tinyproxy: Tinyproxy, http_server: HypercornServer,
                                                 https_server: HypercornServer, tls_files: dict[str, str]) -> None:
    proxy = Proxy(ProxyType.HTTP, "127.0.0.1", tinyproxy.port)
    for url in (http_server.url + "/echo?a=1", https_server.url + "/echo"):
        n = len(tinyproxy.requests())
        q = qnam_request(url, manager=qnam_via(proxy), prepare=with_ca(tls_files["ca"]))
        q_lines = tinyproxy.wait_requests(n + 1)[n:]
        n = len(tinyproxy.requests())
        r = core_get(loop, proxy, url, tls_files["ca"])
        c_lines = tinyproxy.wait_requests(n + 1)[n:]
        assert r.status == q.status == 200 and same_echo(r.content(), q.body)  # P3
        assert c_lines == q_lines


def test_socks5_matches_qnam(qapp, loop, microsocks: Microsocks, http_server: HypercornServer) -> None:
    proxy = Proxy(ProxyType.SOCKS5, "127.0.0.1", microsocks.port)
    url = http_server.url.replace("127.0.0.1", "localhost") + "/echo"
    q = qnam_request(url, manager=qnam_via(proxy))
    r = core_get(loop, proxy, url)
    assert r.status == q.status == 200 and same_echo(r.content(), q.body)


def test_proxy_errors_match_qnam(qapp, loop, tinyproxy: Tinyproxy, microsocks: Microsocks,
                                 http_server: HypercornServer, https_server: HypercornServer) -> None:
    dead = Proxy(ProxyType.HTTP, "127.0.0.1", free_port())
    cases = [
        (dead, http_server.url + "/"),  # X7: refused proxy, forwarding
        (dead, https_server.url + "/"),  # refused proxy, tunnel
        (Proxy(ProxyType.HTTP, "127.0.0.1", tinyproxy.port), f"https://127.0.0.1:{free_port()}/"),  # X12
        (Proxy(ProxyType.SOCKS5, "127.0.0.1", microsocks.port), f"http://127.0.0.1:{free_port()}/"),
        (Proxy(ProxyType.SOCKS5, "127.0.0.1", free_port()), http_server.url + "/"),
        (Proxy(ProxyType.SOCKS5, "127.0.0.1", microsocks.port), "http://courier-test.invalid/"),  # X8
    ]
    for proxy, url in cases:
        q = qnam_request(url, manager=qnam_via(proxy))
        r = core_get(loop, proxy, url)
        assert int(r.error) == q.error, (proxy, url, r.error.name, q.error, q.error_string)
        assert r.status == q.status
        if r.error.name in ("HostNotFoundError", "ConnectionRefusedError"):
            assert r.error_string == q.error_string


def test_environment_port_and_case_differ_from_qnam_on_purpose(qapp, monkeypatch: pytest.MonkeyPatch) -> None:
    """Deliberate difference 7: QNAM gives a port-less proxy port 65535 (P5) and ignores HTTP_PROXY."""
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
                 "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    url = "http://example.invalid/x"
    query = ProxyQuery(url, "http", "example.invalid", 80)

    monkeypatch.setenv("http_proxy", "http://10.1.2.3")
    q = QNetworkProxyFactory.systemProxyForQuery(QNetworkProxyQuery(QUrl(url)))[0]
    ours = EnvironmentProxyFactory().proxies_for(query)[0]
    assert (q.hostName(), q.port()) == ("10.1.2.3", 65535)
    assert (ours.host, ours.port) == ("10.1.2.3", 80)

    monkeypatch.delenv("http_proxy")
    monkeypatch.setenv("HTTP_PROXY", "http://10.1.2.3:3128")
    q = QNetworkProxyFactory.systemProxyForQuery(QNetworkProxyQuery(QUrl(url)))[0]
    ours = EnvironmentProxyFactory().proxies_for(query)[0]
    assert q.type() == QNetworkProxy.ProxyType.NoProxy
    assert (ours.type, ours.port) == (ProxyType.HTTP, 3128)
