"""HSTS through core and through PySide6's QNAM: the same STS headers from the same https server,
and the same known hosts applied to the same URLs."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import pytest
from PySide6.QtCore import QCoreApplication, QDateTime, QEvent, QUrl
from PySide6.QtNetwork import (
    QHstsPolicy,
    QNetworkAccessManager,
    QNetworkRequest,
    QSslCertificate,
    QSslConfiguration,
)

from core import NetworkManager
from core.hsts import HstsPolicy
from tests.policy_helpers import run
from tests.policy_servers import PolicyServer
from tests.qnam import qnam_request

pytestmark = pytest.mark.qnam


def wait_for(cond: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond() and time.monotonic() < deadline:
        QCoreApplication.processEvents()
        time.sleep(0.005)


def trusting(ca: str) -> Any:
    def prepare(req: QNetworkRequest) -> None:
        conf = QSslConfiguration.defaultConfiguration()
        conf.setCaCertificates(QSslCertificate.fromPath(ca))
        req.setSslConfiguration(conf)

    return prepare


def qnam_hosts(m: QNetworkAccessManager) -> list[tuple[str, bool]]:
    return sorted((p.host(), p.includesSubDomains()) for p in m.strictTransportSecurityHosts())


def core_hosts(m: NetworkManager) -> list[tuple[str, bool]]:
    return sorted((p.host, p.include_subdomains) for p in m.strict_transport_security_hosts())


@pytest.mark.parametrize("headers", [
    ["max-age=3600"], ["max-age=3600; includeSubDomains"], ['max-age="3600"; includesubdomains; preload'],
    ["max-age=0"], ["includeSubDomains"], ["max-age=10; max-age=20"], ["max-age=x", "max-age=3600"],
    ["max-age=3600 trailing"], ["max-age=3600; includeSubDomains; includeSubDomains", "max-age=60"],
    ["; ; max-age=3600 ;"], ['max-age=3600; ext="a;b"'],
])
@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_sts_headers_teach_the_same_known_hosts_as_qnam(qapp, loop, policy_tls_server: PolicyServer,
                                                        tls_files: dict[str, str], headers: list[str],
                                                        host: str) -> None:
    url = policy_tls_server.url.replace("127.0.0.1", host) + "/echo/sts?" + \
        "&".join("sts=" + quote(h, safe="") for h in headers)
    qm = QNetworkAccessManager()
    qm.setStrictTransportSecurityEnabled(True)
    q = qnam_request(url, manager=qm, prepare=trusting(tls_files["ca"]))
    assert q.error == 0, q.error_string

    async def story(m: NetworkManager) -> list[tuple[str, bool]]:
        m.strict_transport_security_enabled = True
        await m.get(url).wait()
        return core_hosts(m)

    assert run(loop, story, tls_files["ca"]) == qnam_hosts(qm)


def test_sts_over_plain_http_is_ignored_like_qnam(qapp, loop, policy_server: PolicyServer) -> None:
    url = policy_server.url.replace("127.0.0.1", "localhost") + "/echo/plain?sts=max-age%3D3600"
    qm = QNetworkAccessManager()
    qm.setStrictTransportSecurityEnabled(True)
    qnam_request(url, manager=qm)

    async def story(m: NetworkManager) -> list[tuple[str, bool]]:
        m.strict_transport_security_enabled = True
        await m.get(url).wait()
        return core_hosts(m)

    assert run(loop, story) == qnam_hosts(qm) == []


URLS = ["http://hsts.localhost/", "http://hsts.localhost:80/x?y=1", "http://hsts.localhost:8080/",
        "http://a.b.sub.localhost/", "http://sub.localhost:80/", "http://x.hsts.localhost/",
        "http://other.localhost/", "http://HSTS.localhost/", "unix+http://hsts.localhost/x"]


def test_requests_to_known_hosts_are_upgraded_like_qnam(qapp, loop) -> None:
    """The URL is upgraded when the request is created; both replies are aborted at once."""
    expiry = time.time() + 3600
    qm = QNetworkAccessManager()
    qm.setStrictTransportSecurityEnabled(True)
    sub = QHstsPolicy(QDateTime.fromSecsSinceEpoch(int(expiry)), QHstsPolicy.PolicyFlag.IncludeSubDomains,
                      "sub.localhost")
    plain = QHstsPolicy(QDateTime.fromSecsSinceEpoch(int(expiry)), QHstsPolicy.PolicyFlag(0), "hsts.localhost")
    qm.addStrictTransportSecurityHosts([sub, plain])
    q_urls, replies = [], []
    for url in URLS:
        reply = qm.get(QNetworkRequest(QUrl(url)))
        q_urls.append(reply.url().toString())
        reply.abort()
        replies.append(reply)
    wait_for(lambda: all(r.isFinished() for r in replies))
    # Deleting the manager while its HTTP thread still winds down the aborted requests (host lookups,
    # connections) crashes Qt now and then in that native thread: a segfault a few tests later, in
    # about one full suite run in three. Let it settle first, then delete it here, on purpose.
    # (Reproduced alone: 300 such managers through an HTTP proxy crash at once; without a proxy and
    # with this pause, 1,000 do not.)
    settle = time.monotonic() + 0.1
    wait_for(lambda: time.monotonic() > settle)
    for reply in replies:
        reply.deleteLater()
    qm.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)

    async def story(m: NetworkManager) -> list[str]:
        m.strict_transport_security_enabled = True
        m.add_strict_transport_security_hosts([HstsPolicy("sub.localhost", expiry, True),
                                               HstsPolicy("hsts.localhost", expiry)])
        out = []
        for url in URLS:
            reply = m.get(url)
            out.append(reply.url)
            reply.abort()
        return out

    ours = run(loop, story)
    assert [u.lower() for u in ours] == [u.lower() for u in q_urls]  # QUrl shows hosts lower-case
    assert ours[1] == "https://hsts.localhost:443/x?y=1"
