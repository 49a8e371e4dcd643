"""Questions the core awaits and the app answers: credentials, certificate errors, redirects, PSK.

The core creates a ``Question``, offers it to the manager's question listeners (the Qt bridge
turns it into a dialog), and awaits ``question.wait()``. The answer arrives through ``answer()``
(thread-safe via ``answer_threadsafe``). Aborting the reply cancels its open question; with no
listener the question is answered ``None`` at once, which the asker treats as "no".
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from core.reply import Reply

A = TypeVar("A")


@dataclass(eq=False)
class Question[A]:
    """Base class; subclasses add what the user must see. ``answer`` is the user's decision."""

    reply: Reply | None
    _future: asyncio.Future[A | None] | None = field(default=None, init=False, repr=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, init=False, repr=False)

    def _bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._future = loop.create_future()

    def answer(self, value: A | None) -> None:
        """Answer on the loop's thread. ``None`` means refuse/cancel."""
        if self._future is not None and not self._future.done():
            self._future.set_result(value)

    def answer_threadsafe(self, value: A | None) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.answer, value)

    def cancel(self) -> None:
        if self._future is not None and not self._future.done():
            self._future.cancel()

    def add_done_callback(self, callback: Callable[[Question[A]], None]) -> None:
        """Call ``callback(self)`` on the loop's thread once the question is answered or cancelled
        (the app closes a dialog whose request was aborted)."""
        assert self._future is not None, "ask() the question first"
        self._future.add_done_callback(lambda _f: callback(self))

    @property
    def answered(self) -> bool:
        return self._future is not None and self._future.done()

    async def wait(self) -> A | None:
        assert self._future is not None, "ask() the question first"
        return await self._future


QuestionListener = Callable[[Question[Any]], None]


class QuestionBoard:
    """Where questions go. The manager owns one; the app subscribes."""

    def __init__(self) -> None:
        self._listeners: list[QuestionListener] = []

    def subscribe(self, listener: QuestionListener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: QuestionListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def listener_count(self) -> int:
        return len(self._listeners)

    async def ask(self, question: Question[A]) -> A | None:
        """Offer ``question`` to listeners and await the answer (None without listeners)."""
        question._bind(asyncio.get_running_loop())
        if not self._listeners:
            return None
        reply = question.reply
        if reply is not None:
            reply.extra.setdefault("questions", []).append(question)
        for listener in list(self._listeners):
            listener(question)
        try:
            return await question.wait()
        finally:
            if reply is not None and question in reply.extra.get("questions", []):
                reply.extra["questions"].remove(question)
