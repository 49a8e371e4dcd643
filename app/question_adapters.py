"""Turns the core's question classes into what the dialogs show, and the user's choice into answers.

The classes come from other parts of the core: redirects (``core.redirects``), server and proxy
credentials (``core.auth``), certificates (``core.tls``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from app.bridge import QtNetworkManager
from app.prompts import (
    AuthPrompt,
    CertDecision,
    CertError,
    CertException,
    CertExceptionSource,
    CertPrompt,
    PskPrompt,
    RedirectPrompt,
    certificate_view,
)
from app.question_router import QuestionRouter
from app.secrets import Credential
from core.auth import AuthenticationQuestion, ProxyAuthenticationQuestion
from core.redirects import RedirectQuestion
from core.tls import DecisionScope, PskAnswer, PskQuestion, SslDecision, SslErrorsQuestion


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


def cert_prompt(q: SslErrorsQuestion) -> CertPrompt:
    chain = list(q.chain)
    errors = []
    for e in q.errors:
        index = next((i for i, c in enumerate(chain) if e.certificate is not None and c.sha256 == e.certificate.sha256),
                     None)
        errors.append(CertError(e.error.name, e.detail or e.error.description, index))
    return CertPrompt(host=q.peer_name or q.host, port=q.port, errors=errors,
                      chain=[certificate_view(c.x509) for c in chain],
                      url=q.reply.url if q.reply is not None else "")


def cert_answer(decision: CertDecision) -> SslDecision | None:
    """Proceed once: accepted until Courier closes; always: remembered across restarts."""
    if decision is CertDecision.ONCE:
        return SslDecision(DecisionScope.SESSION)
    if decision is CertDecision.ALWAYS:
        return SslDecision(DecisionScope.REMEMBER)
    return None


def psk_prompt(q: PskQuestion) -> PskPrompt:
    return PskPrompt(host=q.host, port=q.port, identity_hint=q.identity_hint, attempt=q.attempt,
                     url=q.reply.url if q.reply is not None else "")


def psk_answer(given: tuple[str, bytes]) -> PskAnswer:
    return PskAnswer(given[0], given[1])


def register_core_questions(router: QuestionRouter) -> None:
    """Register every question type the core has."""
    router.register_redirect(RedirectQuestion, redirect_prompt)
    router.register_auth(AuthenticationQuestion, server_auth_prompt, credential_answer)
    router.register_auth(ProxyAuthenticationQuestion, proxy_auth_prompt, credential_answer)
    router.register_cert(SslErrorsQuestion, cert_prompt, cert_answer)
    router.register_psk(PskQuestion, psk_prompt, psk_answer)


class CoreCertExceptions:
    """The manager's certificate exceptions (session and remembered), for the settings page.

    Called on the app's worker thread; the store itself is touched only on the network thread."""

    def __init__(self, manager: QtNetworkManager) -> None:
        self.manager = manager

    def list_exceptions(self) -> list[CertException]:
        store = self.manager.core.tls

        def read() -> list[CertException]:
            return [CertException(e.key.host, e.key.port, _colons(e.key.sha256), tuple(e.error_names()),
                                  handle=e.key, remembered=e.remembered, subject=e.subject)
                    for e in store.exceptions.entries()]

        return self.manager.thread.run_sync(read)

    def revoke(self, item: CertException) -> None:
        store = self.manager.core.tls
        self.manager.thread.run_sync(lambda: store.exceptions.revoke(item.handle))


def _colons(sha256: str) -> str:
    return ":".join(sha256[i:i + 2] for i in range(0, len(sha256), 2)).upper()


def cert_exception_source(manager: QtNetworkManager) -> CertExceptionSource | None:
    return CoreCertExceptions(manager)
