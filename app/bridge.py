"""Qt facade over core: QNAM-like signals delivered on the GUI thread.

``QtNetworkManager`` signals: ``finished(QtReply)``.
``QtReply`` signals: ``metaDataChanged``, ``readyRead``, ``downloadProgress(int, int)``,
``uploadProgress(int, int)``, ``redirected(str)``, ``encrypted``, ``errorOccurred(int)``,
``finished``. Core events are produced on the network thread and re-emitted here through queued
signal connections, so slots always run on the GUI thread.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot

from app.network_thread import NetworkThread
from core import NetworkManager, Reply, Request
from core import events as ev
from core.body import BodyLike, as_body
from core.request import Operation


class _Relay(QObject):
    """Lives on the GUI thread; receives core events from the network thread as queued calls."""

    event = Signal(object)


class QtReply(QObject):
    metaDataChanged = Signal()
    readyRead = Signal()
    downloadProgress = Signal(int, int)
    uploadProgress = Signal(int, int)
    redirected = Signal(str)
    encrypted = Signal()
    errorOccurred = Signal(int)
    finished = Signal()

    def __init__(self, core_reply: Reply, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.core = core_reply

    def abort(self) -> None:
        mgr = self.parent()
        assert isinstance(mgr, QtNetworkManager)
        mgr.thread.call(self.core.abort)

    def dispatch(self, event: ev.Event) -> None:
        if isinstance(event, ev.MetaDataChanged):
            self.metaDataChanged.emit()
        elif isinstance(event, ev.ReadyRead):
            self.readyRead.emit()
        elif isinstance(event, ev.DownloadProgress):
            self.downloadProgress.emit(event.received, event.total)
        elif isinstance(event, ev.UploadProgress):
            self.uploadProgress.emit(event.sent, event.total)
        elif isinstance(event, ev.Redirected):
            self.redirected.emit(event.url)
        elif isinstance(event, ev.Encrypted):
            self.encrypted.emit()
        elif isinstance(event, ev.ErrorOccurred):
            self.errorOccurred.emit(int(event.code))
        elif isinstance(event, ev.Finished):
            self.finished.emit()


class QtNetworkManager(QObject):
    finished = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thread = NetworkThread()
        self.thread.start()
        self.core = NetworkManager(loop=self.thread.loop)
        self._relay = _Relay()
        self._relay.event.connect(self._on_event, Qt.ConnectionType.QueuedConnection)
        self._replies: dict[int, QtReply] = {}
        self._closed = False

    # QNAM-like operations --------------------------------------------------------------
    def send(self, operation: Operation | str, request: Request | str, body: BodyLike = None) -> QtReply:
        req = Request(request) if isinstance(request, str) else request
        verb = operation.value if isinstance(operation, Operation) else operation
        holder: dict[str, Any] = {}
        qreply = QtReply.__new__(QtReply)

        def start() -> None:
            reply = self.core.send_custom_request(req, verb, as_body(body))
            holder["r"] = reply
            reply.subscribe(self._relay.event.emit)

        # Create the core reply on the network thread and wait for the handle (sub-millisecond).
        self.thread.run_sync(lambda: start())
        core_reply: Reply = holder["r"]
        QtReply.__init__(qreply, core_reply, self)
        self._replies[id(core_reply)] = qreply
        return qreply

    def get(self, request: Request | str) -> QtReply:
        return self.send("GET", request)

    @Slot(object)
    def _on_event(self, event: ev.Event) -> None:
        qreply = self._replies.get(id(event.reply))
        if qreply is None:
            return
        if isinstance(event, ev.Finished):
            self.finished.emit(qreply)
            del self._replies[id(event.reply)]
        qreply.dispatch(event)

    def close(self) -> None:
        """Cancel transfers and stop the network thread cleanly."""
        if self._closed:
            return
        self._closed = True
        self.thread.stop(self.core.aclose())
