"""PySide6's own QNetworkAccessManager as a reference: the same request, side by side."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

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
