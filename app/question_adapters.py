"""Turns the core's question classes into what the dialogs show, and the user's choice into answers.

The classes come from other parts of the core (credentials: ``core.auth``; certificates:
``core.tls``). A class that this version of the core lacks is simply not registered.
"""

from __future__ import annotations

from app.bridge import QtNetworkManager
from app.prompts import CertExceptionSource
from app.question_router import QuestionRouter


def register_core_questions(router: QuestionRouter) -> None:
    """Register every question type the core has."""


def cert_exception_source(manager: QtNetworkManager) -> CertExceptionSource | None:
    """The core's store of remembered certificate exceptions, when it has one."""
    del manager
    return None
