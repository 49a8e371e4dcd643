"""Python's cyclic garbage collector runs on the GUI thread only, while a network thread is alive.

CPython collects cycles in whichever thread happens to allocate when a threshold is crossed; with
the network thread busy, that is usually the network thread. A cycle that holds a Qt object (a
manager whose core keeps one of its bound methods, a dialog and its slots) then has that object's
C++ destructor run on the network thread, which Qt does not allow: the process crashes later,
somewhere else (seen as rare segfaults late in the full test suite, in the GUI thread inside the
event loop and in native threads). pyqtgraph's ``GarbageCollector`` does the same for the same
reason (Erik Janssens, "Should Python garbage collector be called in a separate thread?", 2014).

``acquire()`` (a ``QtNetworkManager`` starting its thread, on the GUI thread) switches automatic
collection off and collects on a GUI-thread timer instead, by the same generation thresholds;
``release()`` (its ``close()``) switches automatic collection back on when no manager is left.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QCoreApplication, QObject, QTimer

INTERVAL_MS = 250


class _Collector(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.threshold = gc.get_threshold()
        self.users = 0
        self.collections = 0
        self.timer = QTimer(self)
        self.timer.setInterval(INTERVAL_MS)
        self.timer.timeout.connect(self.check)

    def check(self) -> None:
        count0, count1, count2 = gc.get_count()
        if count0 <= self.threshold[0]:
            return
        generation = 0
        if count1 > self.threshold[1]:
            generation = 2 if count2 > self.threshold[2] else 1
        gc.collect(generation)
        self.collections += 1


_collector: _Collector | None = None


def acquire() -> bool:
    """GUI thread: collect cycles here only from now on. False (nothing changed) without a Qt application."""
    global _collector
    if QCoreApplication.instance() is None:
        return False
    if _collector is None:
        _collector = _Collector()
    if _collector.users == 0:
        gc.disable()
        _collector.timer.start()
    _collector.users += 1
    return True


def release() -> None:
    """GUI thread: the caller's network thread has stopped; the last one gives collection back."""
    if _collector is None or _collector.users == 0:
        return
    _collector.users -= 1
    if _collector.users == 0:
        _collector.timer.stop()
        gc.collect()  # on this thread, before automatic collection may pick any thread again
        gc.enable()


def active() -> bool:
    return _collector is not None and _collector.users > 0 and not gc.isenabled()
