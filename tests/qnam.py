"""PySide6's own QNetworkAccessManager as a reference: the same request, side by side."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QByteArray, QCoreApplication, QEventLoop, QTimer, QUrl
from PySide6.QtNetwork import QNetworkAccessManager, QNetworkReply, QNetworkRequest


@dataclass
class QnamResult:
    error: int
    error_string: str
    status: int | None
    headers: list[tuple[str, str]]
    body: bytes
    events: list[str] = field(default_factory=list)
    url: str = ""
    redirection_target: str | None = None
    from_cache: bool | None = None


def qnam_request(url: str, method: str = "GET", body: bytes | None = None,
                 headers: list[tuple[str, str]] | None = None, timeout_ms: int = 10000,
                 manager: QNetworkAccessManager | None = None,
                 prepare: Callable[[QNetworkRequest], None] | None = None,
                 on_reply: Callable[[QNetworkReply], None] | None = None) -> QnamResult:
    assert QCoreApplication.instance() is not None, "needs the qapp fixture"
    mgr = manager or QNetworkAccessManager()
    req = QNetworkRequest(QUrl(url))
    for k, v in headers or []:
        req.setRawHeader(QByteArray(k.encode()), QByteArray(v.encode()))
    if prepare is not None:
        prepare(req)  # attributes, maximum redirects, ...
    data = QByteArray(body) if body is not None else None
    if method == "GET":
        reply = mgr.get(req) if data is None else mgr.get(req, data)
    elif method == "HEAD":
        reply = mgr.head(req)
    elif method == "POST":
        reply = mgr.post(req, data or QByteArray())
    elif method == "PUT":
        reply = mgr.put(req, data or QByteArray())
    elif method == "DELETE":
        reply = mgr.deleteResource(req)
    else:
        reply = mgr.sendCustomRequest(req, QByteArray(method.encode()), data or QByteArray())
    events: list[str] = []
    chunks: list[bytes] = []
    reply.metaDataChanged.connect(lambda: events.append("MetaDataChanged"))
    reply.readyRead.connect(lambda: (events.append("ReadyRead"), chunks.append(bytes(reply.readAll().data()))))
    reply.errorOccurred.connect(lambda e: events.append("ErrorOccurred"))
    reply.redirected.connect(lambda u: events.append("Redirected"))
    if on_reply is not None:
        on_reply(reply)
    loop = QEventLoop()
    reply.finished.connect(lambda: (events.append("Finished"), loop.quit()))
    QTimer.singleShot(timeout_ms, loop.quit)
    if not reply.isFinished():
        loop.exec()
    chunks.append(bytes(reply.readAll().data()))
    status = reply.attribute(QNetworkRequest.Attribute.HttpStatusCodeAttribute)
    hdrs = [(bytes(k.data()).decode("latin-1"), bytes(v.data()).decode("latin-1"))
            for k, v in reply.rawHeaderPairs()]
    err = reply.error()
    res = QnamResult(err.value if hasattr(err, "value") else int(err), reply.errorString(),
                     int(status) if status is not None else None, hdrs, b"".join(chunks), events)
    res.url = reply.url().toString()
    target = reply.attribute(QNetworkRequest.Attribute.RedirectionTargetAttribute)
    res.redirection_target = target.toString() if target is not None else None
    res.from_cache = reply.attribute(QNetworkRequest.Attribute.SourceIsFromCacheAttribute)
    reply.deleteLater()
    return res


def error_value(e: QNetworkReply.NetworkError) -> int:
    return e.value if hasattr(e, "value") else int(e)


@dataclass
class QnamTlsResult:
    error: str  # the NetworkError name
    error_string: str
    ssl_errors: list[list[tuple[str, str]]]  # per sslErrors emission: (QSslError name, certificate SHA-256)
    psk_hints: list[bytes]
    body: bytes


def qnam_tls_request(url: str, ca_pem: bytes | None = None, peer_verify_name: str | None = None,
                     ignore: bool = False, psk: tuple[bytes, bytes] | None = None,
                     timeout_ms: int = 10000, manager: QNetworkAccessManager | None = None,
                     hsts_host: str | None = None) -> QnamTlsResult:
    """One GET through a fresh QNAM (it caches connections and TLS decisions per manager), trusting
    the system store plus ``ca_pem``; ``ignore`` calls ignoreSslErrors() from the sslErrors slot."""
    from PySide6.QtCore import QCryptographicHash
    from PySide6.QtNetwork import QSslCertificate, QSslConfiguration

    assert QCoreApplication.instance() is not None, "needs the qapp fixture"
    mgr = manager or QNetworkAccessManager()
    if hsts_host is not None:
        from PySide6.QtCore import QDateTime
        from PySide6.QtNetwork import QHstsPolicy

        mgr.setStrictTransportSecurityEnabled(True)
        mgr.addStrictTransportSecurityHosts([QHstsPolicy(QDateTime.currentDateTimeUtc().addDays(1),
                                                         QHstsPolicy.PolicyFlag(0), hsts_host)])
    req = QNetworkRequest(QUrl(url))
    conf = QSslConfiguration.defaultConfiguration()
    if ca_pem is not None:
        conf.addCaCertificate(QSslCertificate(QByteArray(ca_pem)))
    if peer_verify_name:
        req.setPeerVerifyName(peer_verify_name)
    req.setSslConfiguration(conf)
    reply = mgr.get(req)
    seen: list[list[tuple[str, str]]] = []
    hints: list[bytes] = []

    def on_errors(errors: list[Any]) -> None:
        seen.append([(e.error().name, bytes(e.certificate().digest(QCryptographicHash.Algorithm.Sha256)
                                            .toHex().data()).decode()) for e in errors])
        if ignore:
            reply.ignoreSslErrors()

    def on_psk(auth: Any) -> None:
        hints.append(bytes(auth.identityHint().data()))
        if psk is not None:
            auth.setIdentity(QByteArray(psk[0]))
            auth.setPreSharedKey(QByteArray(psk[1]))

    reply.sslErrors.connect(on_errors)
    reply.preSharedKeyAuthenticationRequired.connect(on_psk)
    loop = QEventLoop()
    reply.finished.connect(loop.quit)
    QTimer.singleShot(timeout_ms, loop.quit)
    if not reply.isFinished():
        loop.exec()
    result = QnamTlsResult(reply.error().name, reply.errorString(), seen, hints, bytes(reply.readAll().data()))
    reply.deleteLater()
    if manager is None:
        mgr.deleteLater()
    return result
