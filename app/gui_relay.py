"""Hand results from worker threads to the GUI thread without touching widgets that may be gone.

A worker must not emit a signal of a widget the GUI thread may delete meanwhile (a race that can
crash). Instead it posts a plain function to this relay — one QObject made on the GUI thread and
never deleted — and the function runs there, where it checks that its target is still alive
(``alive``) before using it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal


class _Relay(QObject):
    call = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.call.connect(self._run, Qt.ConnectionType.QueuedConnection)

    @staticmethod
    def _run(fn: Callable[[], Any]) -> None:
        fn()


_relay: _Relay | None = None
_lock = threading.Lock()


def install() -> None:
    """Create the relay; call once on the GUI thread before any worker posts."""
    global _relay
    with _lock:
        if _relay is None:
            _relay = _Relay()


def post(fn: Callable[[], Any]) -> None:
    """Run ``fn`` on the GUI thread soon (callable from any thread)."""
    if _relay is None:
        raise RuntimeError("gui_relay.install() was not called on the GUI thread")
    _relay.call.emit(fn)


def alive(obj: Any) -> bool:
    """The Qt object behind ``obj`` still exists."""
    import shiboken6

    return obj is not None and shiboken6.isValid(obj)
