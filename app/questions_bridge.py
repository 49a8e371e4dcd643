"""Questions from the core, delivered on the GUI thread; answers sent back without blocking.

The core awaits a future on the network thread; our listener (called there) only relays the
question through a queued Qt signal. A dialog answers with ``question.answer_threadsafe`` which
resolves the future with ``loop.call_soon_threadsafe``. No nested event loops, and the network
thread never waits for the GUI.

Signals (GUI thread):
- ``asked(question)`` — a new question to show;
- ``closed(question)`` — the question was answered or cancelled (an aborted request cancels its
  question: the dialog showing it must close).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot

from app.bridge import QtNetworkManager
from core.questions import Question


class QuestionsBridge(QObject):
    asked = Signal(object)
    closed = Signal(object)
    _relay = Signal(str, object)

    def __init__(self, manager: QtNetworkManager, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.manager = manager
        self.open_questions: list[Question[Any]] = []
        # One relay for both kinds keeps "asked" before "closed" for the same question.
        self._relay.connect(self._on_relay, Qt.ConnectionType.QueuedConnection)
        self._subscribed = True
        manager.thread.run_sync(lambda: manager.core.questions.subscribe(self._on_question))

    def _on_question(self, question: Question[Any]) -> None:
        """Network thread: forward, and tell the GUI when the question is settled."""
        question.add_done_callback(lambda q: self._relay.emit("closed", q))
        self._relay.emit("asked", question)

    @Slot(str, object)
    def _on_relay(self, kind: str, question: Question[Any]) -> None:
        if kind == "asked":
            if question.answered:  # cancelled before the GUI saw it: nothing to show
                return
            self.open_questions.append(question)
            self.asked.emit(question)
        elif question in self.open_questions:
            self.open_questions.remove(question)
            self.closed.emit(question)

    def answer(self, question: Question[Any], value: Any) -> None:
        """Answer from the GUI thread (``None`` refuses)."""
        question.answer_threadsafe(value)

    def close(self) -> None:
        """Stop listening and refuse whatever is still open (the requests fail cleanly)."""
        if not self._subscribed:
            return
        self._subscribed = False
        core = self.manager.core
        if not self.manager._closed:
            self.manager.thread.run_sync(lambda: core.questions.unsubscribe(self._on_question))
        for question in list(self.open_questions):
            question.answer_threadsafe(None)
