"""Turns the core's question classes into what the dialogs show, and the user's choice into answers.

The classes come from other parts of the core (redirects: ``core.redirects``; credentials:
``core.auth``; certificates: ``core.tls``).
"""

from __future__ import annotations

from app.bridge import QtNetworkManager
from app.prompts import CertExceptionSource, RedirectPrompt
from app.question_router import QuestionRouter
from core.redirects import RedirectQuestion


def redirect_prompt(q: RedirectQuestion) -> RedirectPrompt:
    return RedirectPrompt(source=q.url, target=q.target, status=q.status, method=q.method,
                          cross_origin=q.cross_origin)


def register_core_questions(router: QuestionRouter) -> None:
    """Register every question type the core has."""
    router.register_redirect(RedirectQuestion, redirect_prompt)


def cert_exception_source(manager: QtNetworkManager) -> CertExceptionSource | None:
    """The core's store of remembered certificate exceptions, when it has one."""
    del manager
    return None
