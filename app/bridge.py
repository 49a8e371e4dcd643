"""Qt facade over core: QNAM-like signals delivered on the GUI thread.

``QtNetworkManager`` signals: ``finished(QtReply)``.
``QtReply`` signals: ``metaDataChanged``, ``readyRead``, ``downloadProgress(int, int)``,
``uploadProgress(int, int)``, ``redirected(str)``, ``encrypted``, ``errorOccurred(int)``,
``finished``. Core events are produced on the network thread and re-emitted here through queued
signal connections, so slots always run on the GUI thread.

Events are batched: the network thread appends them to a queue and posts one queued wake-up per
burst, and the GUI thread takes them at most once per frame (``FRAME``): a wake-up that comes
sooner re-arms a timer for the rest of the frame, and meanwhile the network thread posts nothing.
So thousands of events per second cost at most ~60 GUI turns a second. Each turn is an entry
into Python that must take the GIL, which the busy network thread holds most of the time; fewer
entries mean fewer waits for it. The first event after a quiet spell is delivered at once.
Observers that want every reply connect ``QtNetworkManager.replyEvents(list)``: one call per
batch, in order, beginning with a ``Created`` notice per reply (it carries the composer's request,
if any). The live list registers with ``add_batch_listener`` instead and is called straight from
Python: a Qt signal emission lets go of the GIL and the slot takes it again, two more waits for it
per frame while the network thread is busy (the signal is emitted only when something connects).
"""

from __future__ import annotations

import time
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot

from app import gc_guard
from app.network_thread import NetworkThread
from core import NetworkManager, Reply, Request
from core import events as ev
from core.body import BodyLike, as_body
from core.request import Operation


@dataclass(frozen=True, slots=True)
class Created(ev.Event):
    """The bridge sent a request (first in every reply's batch stream); ``spec`` is what the user composed."""

    spec: Any = None


class _Relay(QObject):
    """Lives on the GUI thread; the network thread posts ``wake`` (queued) when events are waiting."""

    wake = Signal()


FLUSH_BUDGET = 0.008  # seconds of event dispatch per GUI turn before yielding to painting and input
FRAME = 0.016  # at most one batch per frame


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
    replyEvents = Signal(object)  # list[core event]: every bridged reply's events, one call per batch

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._gc_guarded = gc_guard.acquire()  # cycles are collected on this (the GUI) thread only
        self.thread = NetworkThread()
        self.thread.start()
        self.core = NetworkManager(loop=self.thread.loop)
        self._relay = _Relay()
        self._relay.wake.connect(self._flush, Qt.ConnectionType.QueuedConnection)
        self._queue: deque[ev.Event] = deque()
        self._wake_posted = False  # a wake-up (or the frame timer) is pending: the network thread posts none
        self._next_flush = 0.0  # perf_counter time before which the GUI takes no new batch
        self._frame_timer = QTimer(self)
        self._frame_timer.setSingleShot(True)
        self._frame_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._frame_timer.timeout.connect(self._flush)
        self.batches = 0  # batches delivered (tests, benchmarks)
        self._listeners: list[weakref.WeakMethod[Callable[[list[ev.Event]], None]]] = []
        meta = self.metaObject()
        self._reply_events = meta.method(meta.indexOfSignal("replyEvents(PyObject)"))
        self._replies: dict[int, QtReply] = {}
        self._closed = False
        self.thread.run_sync(lambda: self.core.questions.subscribe(self._answer_from_request))

    # -- batching (network thread side) -----------------------------------------------------
    def _enqueue(self, event: ev.Event) -> None:
        self._queue.append(event)
        if not self._wake_posted:
            self._wake_posted = True
            self._relay.wake.emit()
        else:  # the GUI has a batch waiting: make sure it gets the GIL now and then
            self.thread.yield_to_gui()

    def observe(self, reply: Reply, spec: Any = None, credentials: tuple[str, str] | None = None) -> None:
        """Bridge a core reply created on the network thread (e.g. by a load test). Network thread only.

        ``credentials`` answer the server's first authentication question for this reply (the
        composer's Digest login); a rejected login goes on to the app's dialog as usual.
        """
        if credentials is not None:
            reply.extra["credentials"] = credentials
        self._enqueue(Created(reply, spec))
        reply.subscribe(self._enqueue)

    def _answer_from_request(self, question: Any) -> None:
        """Network thread: answer an authentication question with the request's own credentials."""
        from core.auth import AuthenticationQuestion

        reply = question.reply
        creds = reply.extra.get("credentials") if reply is not None else None
        if isinstance(question, AuthenticationQuestion) and creds and question.previous_user is None:
            question.answer(creds)
        elif self.core.questions.listener_count() == 1:
            question.answer(None)  # nobody else listens: refuse at once, as with no listener at all

    # QNAM-like operations --------------------------------------------------------------
    def send(self, operation: Operation | str, request: Request | str, body: BodyLike = None,
             spec: Any = None, credentials: tuple[str, str] | None = None) -> QtReply:
        req = Request(request) if isinstance(request, str) else request
        verb = operation.value if isinstance(operation, Operation) else operation
        holder: dict[str, Any] = {}
        qreply = QtReply.__new__(QtReply)

        def start() -> None:
            reply = self.core.send_custom_request(req, verb, as_body(body))
            holder["r"] = reply
            self.observe(reply, spec, credentials)

        # Create the core reply on the network thread and wait for the handle (sub-millisecond).
        self.thread.run_sync(lambda: start())
        core_reply: Reply = holder["r"]
        QtReply.__init__(qreply, core_reply, self)
        self._replies[id(core_reply)] = qreply
        return qreply

    def get(self, request: Request | str) -> QtReply:
        return self.send("GET", request)

    def add_batch_listener(self, method: Callable[[list[ev.Event]], None]) -> None:
        """Call a bound method with every batch (like ``replyEvents``) until its object is gone."""
        self._listeners.append(weakref.WeakMethod(method))  # type: ignore[arg-type]

    # -- batching (GUI thread side) -------------------------------------------------------------
    @Slot()
    def _flush(self) -> None:
        now = time.perf_counter()
        early = self._next_flush - now
        if early > 0.001:  # the last batch was less than a frame ago: take this one at the frame's end
            if not self._frame_timer.isActive():
                self._frame_timer.start(max(1, round(early * 1000)))
            return
        self._wake_posted = False  # events queued from now on post a new wake-up
        self._next_flush = now + FRAME
        deadline = now + FLUSH_BUDGET
        batch: list[ev.Event] = []
        queue = self._queue
        replies = self._replies
        while queue:
            try:
                event = queue.popleft()
            except IndexError:
                break
            batch.append(event)
            if replies:
                qreply = replies.get(id(event.reply))
                if qreply is not None:
                    if isinstance(event, ev.Finished):
                        self.finished.emit(qreply)
                        del replies[id(event.reply)]
                    qreply.dispatch(event)
            if len(batch) % 64 == 0 and time.perf_counter() > deadline:
                if queue and not self._wake_posted:
                    self._wake_posted = True
                    self._frame_timer.start(max(1, round(FRAME * 1000)))  # the rest in the next frame
                break
        if batch:
            self.batches += 1
            for ref in list(self._listeners):
                fn = ref()
                target = getattr(fn, "__self__", None)
                if fn is None or (isinstance(target, QObject) and not shiboken6.isValid(target)):
                    self._listeners.remove(ref)
                    continue
                fn(batch)
            if self.isSignalConnected(self._reply_events):
                self.replyEvents.emit(batch)

    def close(self) -> None:
        """Cancel transfers and stop the network thread cleanly."""
        if self._closed:
            return
        self._closed = True
        self.thread.stop(self.core.aclose())
        # The core keeps our bound method: drop it, or this manager lives on in a cycle.
        self.core.questions.unsubscribe(self._answer_from_request)
        if self._gc_guarded:
            self._gc_guarded = False
            gc_guard.release()
