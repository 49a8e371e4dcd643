"""Turns the core's question classes into what the dialogs show, and the user's choice into answers.

The classes come from other parts of the core: redirects (``core.redirects``), server and proxy
credentials (``core.auth``), certificates (``core.tls``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from app.bridge import QtNetworkManager
from app.prompts import AuthPrompt, CertExceptionSource, RedirectPrompt
from app.question_router import QuestionRouter
from app.secrets import Credential
from core.auth import AuthenticationQuestion, ProxyAuthenticationQuestion
from core.redirects import RedirectQuestion


def redirect_prompt(q: RedirectQuestion) -> RedirectPrompt:
    return RedirectPrompt(source=q.url, target=q.target, status=q.status, method=q.method,
                          cross_origin=q.cross_origin)


def server_auth_prompt(q: AuthenticationQuestion) -> AuthPrompt:
    """``previous_user`` is set exactly when the credentials given before were rejected."""
    return AuthPrompt(proxy=False, scheme=q.scheme, realm=q.realm, host=q.host, port=q.port,
                      url_scheme=urlsplit(q.url).scheme.lower() or "http",
                      previous_user=q.previous_user or "", previous_failed=q.previous_user is not None,
                      url=q.url)


def proxy_auth_prompt(q: ProxyAuthenticationQuestion) -> AuthPrompt:
    return AuthPrompt(proxy=True, scheme=q.scheme, realm=q.realm, host=q.proxy_host, port=q.proxy_port,
                      url_scheme=q.proxy_type, previous_user=q.previous_user or "",
                      previous_failed=q.previous_user is not None,
                      url=q.reply.url if q.reply is not None else "")


def credential_answer(cred: Credential | None) -> tuple[str, str] | None:
    return None if cred is None else (cred.user, cred.password)


def register_core_questions(router: QuestionRouter) -> None:
    """Register every question type the core has."""
    router.register_redirect(RedirectQuestion, redirect_prompt)
    router.register_auth(AuthenticationQuestion, server_auth_prompt, credential_answer)
    router.register_auth(ProxyAuthenticationQuestion, proxy_auth_prompt, credential_answer)


def cert_exception_source(manager: QtNetworkManager) -> CertExceptionSource | None:
    """The core's store of remembered certificate exceptions, when it has one."""
    del manager
    return None
