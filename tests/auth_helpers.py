"""Answering the core's credential questions in tests, the way the app's dialog would."""

from __future__ import annotations

from typing import Any

from core import NetworkManager
from core.auth import AuthenticationQuestion, ProxyAuthenticationQuestion
from core.questions import Question


class Answers:
    """Subscribes to a manager's questions; answers each with the next scripted answer (None when
    the script runs out) and remembers the questions."""

    def __init__(self, manager: NetworkManager, *answers: tuple[str, str] | None,
                 proxy: list[tuple[str, str] | None] | None = None) -> None:
        self.server = list(answers)
        self.proxy = list(proxy or [])
        self.asked: list[AuthenticationQuestion] = []
        self.proxy_asked: list[ProxyAuthenticationQuestion] = []
        manager.questions.subscribe(self)

    def __call__(self, question: Question[Any]) -> None:
        if isinstance(question, AuthenticationQuestion):
            self.asked.append(question)
            question.answer(self.server.pop(0) if self.server else None)
        elif isinstance(question, ProxyAuthenticationQuestion):
            self.proxy_asked.append(question)
            question.answer(self.proxy.pop(0) if self.proxy else None)
