"""One background thread for the app's small blocking jobs (keyring calls, settings files).

``run(fn, *args, on_done=cb)`` runs ``fn`` on the worker thread; ``cb(future)`` then runs on the GUI
thread. Jobs run one at a time, in order, so a "remember" and a later "forget" cannot overtake
each other. Signals: ``failed(str)`` — a job without ``on_done`` raised (the message says why).
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot

Done = Callable[[concurrent.futures.Future[Any]], None]


class Worker(QObject):
    failed = Signal(str)
    _deliver = Signal(object, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="courier-io")
        self._deliver.connect(self._on_deliver, Qt.ConnectionType.QueuedConnection)
        self._closed = False

    def run(self, fn: Callable[..., Any], *args: Any, on_done: Done | None = None) -> concurrent.futures.Future[Any]:
        future = self._pool.submit(fn, *args)
        future.add_done_callback(lambda f: self._deliver.emit(on_done, f))
        return future

    @Slot(object, object)
    def _on_deliver(self, on_done: Done | None, future: concurrent.futures.Future[Any]) -> None:
        if self._closed:
            return
        if on_done is not None:
            on_done(future)
        elif future.exception() is not None:
            self.failed.emit(str(future.exception()))

    def shutdown(self) -> None:
        """Finish queued jobs (a pending "remember" still reaches the keyring), then stop."""
        self._pool.shutdown(wait=True)
        self._closed = True
