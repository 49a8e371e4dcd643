"""The TLS layer the transport calls: SSL contexts per origin, a check after every new handshake,
certificate-error questions, exceptions, pre-shared keys, and the TLS details of every reply.

How a certificate is judged:
- ``default`` origins: OpenSSL verifies during the handshake (the common, fast case).
- When that fails, the request is retried once on an ``inspect`` origin: the handshake accepts
  any certificate, and ``after_handshake`` names every problem (``classify``), emits ``SslErrors``
  and decides — the reply's ``ignore_ssl_errors``, a stored exception for (host, port,
  certificate), or the user's answer to an ``SslErrorsQuestion``. Refused: the connection closes
  before a request byte is written. Hosts with an exception go to ``inspect`` directly.
- ``insecure`` origins (``Attribute.TLS_NO_VERIFY``) record the problems and carry on.
- ``psk`` origins speak TLS 1.2 PSK cipher suites and ask a ``PskQuestion`` for the key.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import ssl
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core import events as ev
from core.errors import CourierError, NetworkError
from core.questions import QuestionBoard
from core.reply import IGNORE_ALL_SSL_ERRORS, Reply, TlsInfo, current_reply
from core.request import Attribute, Request
from core.tls.certificate import Certificate
from core.tls.classify import classify, confirm
from core.tls.errors import CertificateError, SslError, from_openssl
from core.tls.questions import DecisionScope, PskAnswer, PskQuestion, SslErrorsQuestion
from core.tls.store import ExceptionKey, ExceptionStore
from core.tls.trust import ClientCertificate, ContextFactory, TlsSettings, psk_supported
from core.transport.proxied import TLS_CHECK_EXTENSION

if TYPE_CHECKING:
    from core.transport import OriginKey

DEFAULT, INSPECT, INSECURE, PSK = "default", "inspect", "insecure", "psk"
MAX_PSK_QUESTIONS = 3
MAX_TLS_ATTEMPTS = 5  # default → inspect, or default → PSK → up to 3 keys asked for


@dataclass
class _PskSlot:
    """PSK state of one origin. OpenSSL calls the callback synchronously inside the handshake, so
    the first handshake only learns the hint; the question is asked after it fails, then retried."""

    hint: str | None = None
    requested: bool = False
    answer: PskAnswer | None = None

    def callback(self, hint: str | None) -> tuple[str | None, bytes]:
        self.hint, self.requested = hint, True
        if self.answer is None:
            return None, b""  # no key yet: abort this handshake, ask, retry
        return self.answer.identity, self.answer.key


class TlsManager:
    """One per network manager. ``settings`` can be replaced at any time (``configure``); new
    connections use the new settings, established ones keep theirs."""

    def __init__(self, questions: QuestionBoard | None = None, settings: TlsSettings | None = None,
                 exceptions_dir: str | os.PathLike[str] | None = None) -> None:
        self.questions = questions if questions is not None else QuestionBoard()
        self._settings = settings or TlsSettings()
        self._factory = ContextFactory(self._settings)
        self.generation = 0
        self.exceptions = ExceptionStore(exceptions_dir)
        self._contexts: dict[tuple[Any, ...], ssl.SSLContext] = {}
        self._infos: weakref.WeakKeyDictionary[Any, TlsInfo] = weakref.WeakKeyDictionary()
        self._psk: dict[tuple[str, int], _PskSlot] = {}
        self._psk_candidates: set[tuple[str, int]] = set()
        # host → True when no certificate error may be accepted there (a known HSTS host: QNAM S4,
        # RFC 6797 §12.1 "no user recourse"); the manager wires it to its HSTS cache.
        self.exceptions_forbidden: Callable[[str], bool] | None = None

    # -- settings ---------------------------------------------------------------------------
    @property
    def settings(self) -> TlsSettings:
        return self._settings

    def configure(self, settings: TlsSettings) -> None:
        """Use ``settings`` for connections opened from now on (they get new pool keys)."""
        self._settings = settings
        self._factory = ContextFactory(settings)
        self._contexts.clear()
        self.generation += 1

    def use_default_context(self, context: ssl.SSLContext) -> None:
        """Verify with ``context`` (an app or test supplied one) instead of one built from settings."""
        self._factory = ContextFactory(self._settings, override=context)
        self._contexts.clear()
        self.generation += 1

    def use_exception_store(self, directory: str | os.PathLike[str] | None) -> ExceptionStore:
        """Keep remembered exceptions in ``directory`` (loads what is there)."""
        self.exceptions = ExceptionStore(directory)
        return self.exceptions

    def set_psk(self, host: str, port: int, identity: str, key: bytes) -> None:
        """Give the key for ``host:port`` ahead of time (e.g. from the keyring): no question then."""
        self._psk_slot(host, port).answer = PskAnswer(identity, key)

    @property
    def trust_note(self) -> str:
        return self._factory.note

    # -- pool keys ----------------------------------------------------------------------------
    def profile_for(self, request: Request, host: str, port: int) -> str:
        """The ``OriginKey.tls_profile`` for a request to ``host:port`` over https."""
        if request.attribute(Attribute.TLS_NO_VERIFY, False):
            mode = INSECURE
        elif self._settings.wants_psk(host, port) or \
                (self._psk_candidates and (host.lower(), port) in self._psk_candidates):
            mode = PSK
        elif self.exceptions.has_host(host, port):
            mode = INSPECT
        else:
            mode = DEFAULT
        return self.profile(mode)

    def profile(self, mode: str) -> str:
        return mode if self.generation == 0 else f"{mode}@{self.generation}"

    @staticmethod
    def mode_of(key: OriginKey) -> str:
        return key.tls_profile.partition("@")[0]

    # -- the transport's hook ------------------------------------------------------------------
    def context_for(self, key: OriginKey) -> ssl.SSLContext:
        mode = self.mode_of(key)
        client = self._settings.client_certificate_for(key.host, key.port)
        if mode == DEFAULT and self._factory.override is not None:
            return self._factory.override
        if mode == PSK:
            slot = self._psk_slot(key.host, key.port)
            return self._context((PSK, key.host.lower(), key.port, id(client)), False, client, slot)
        return self._context((mode == DEFAULT, id(client)), mode == DEFAULT, client, None)

    def _context(self, cache_key: tuple[Any, ...], verify: bool, client: ClientCertificate | None,
                 slot: _PskSlot | None) -> ssl.SSLContext:
        ctx = self._contexts.get(cache_key)
        if ctx is None:
            ctx = self._factory.build(verify, client, slot.callback if slot is not None else None)
            self._contexts[cache_key] = ctx
        return ctx

    async def after_handshake(self, key: OriginKey, ssl_object: Any) -> None:
        """Runs after every new handshake, before a request byte is written; raising closes it."""
        mode = self.mode_of(key)
        chain = [Certificate(d) for d in (ssl_object.get_unverified_chain() or [])]
        info = TlsInfo(version=ssl_object.version(), cipher=(ssl_object.cipher() or (None,))[0],
                       alpn=ssl_object.selected_alpn_protocol(), peer_chain=chain,
                       session_resumed=bool(ssl_object.session_reused))
        reply = current_reply.get()
        if mode == PSK:
            info.verification = PSK
        elif mode in (INSPECT, INSECURE):
            info.errors = self.check(chain, key.peer_verify_name or key.host, reply)
            info.verification = "checked" if not info.errors else ("disabled" if mode == INSECURE else "exception")
            if reply is not None:
                reply.tls = info
            if info.errors:
                if reply is not None:
                    reply.emit(ev.SslErrors(reply, tuple(info.errors)))
                if mode == INSPECT and not await self._decide(reply, key, chain, info.errors):
                    info.verification = "failed"
                    raise CourierError(NetworkError.SslHandshakeFailedError,
                                       f"SSL handshake failed: {info.errors[0].error.description}")
        self._infos[ssl_object] = info
        if reply is not None:
            reply.tls = info

    def check(self, chain: list[Certificate], peer_name: str, reply: Reply | None = None) -> list[CertificateError]:
        """Every problem of ``chain`` for ``peer_name``. When OpenSSL refused this reply's first
        handshake, its reason is always among them; when we see nothing wrong, ``cryptography``'s
        path validation must agree."""
        anchors = self._factory.anchors()
        errors = classify(chain, peer_name, anchors)
        hint: CertificateError | None = reply.extra.get("tls_openssl_error") if reply is not None else None
        if hint is not None and hint.error not in {e.error for e in errors}:
            errors.append(CertificateError(hint.error, chain[0] if chain else None, hint.detail))
        if not errors:
            objection = confirm(chain, peer_name, anchors)
            if objection is not None:
                errors.append(CertificateError(SslError.UnspecifiedError, chain[0] if chain else None, objection))
        return errors

    async def _decide(self, reply: Reply | None, key: OriginKey, chain: list[Certificate],
                      errors: list[CertificateError]) -> bool:
        if self.exceptions_forbidden is not None and self.exceptions_forbidden(key.host):
            return False
        ekey = ExceptionKey.of(key.host, key.port, chain[0].sha256 if chain else "")
        subject = chain[0].subject if chain else ""
        if reply is not None and "ignore_ssl_errors" in reply.extra:
            expected = reply.extra["ignore_ssl_errors"]
            if expected != IGNORE_ALL_SSL_ERRORS and not all(_expected(e, expected) for e in errors):
                return False  # S2: an error that was not expected still fails
            self.exceptions.add(ekey, errors, subject=subject)
            return True
        if self.exceptions.allows(ekey, errors):
            return True
        if not chain:
            return False
        question = SslErrorsQuestion(reply, host=ekey.host, port=ekey.port,
                                     peer_name=key.peer_verify_name or key.host,
                                     errors=tuple(errors), chain=tuple(chain))
        decision = await self.questions.ask(question)
        if decision is None:
            return False
        self.exceptions.add(ekey, errors, remember=decision.scope is DecisionScope.REMEMBER, subject=subject)
        return True

    # -- after a failed attempt ----------------------------------------------------------------
    async def send(self, transport: Any, reply: Reply, key: OriginKey, request: Any,
                   on_queued: Callable[[], None] | None = None) -> Any:
        """``transport.send``; when the TLS handshake failed (nothing was sent yet: the transport
        writes only after ``after_handshake``), retry on the profile ``retry_profile`` names:
        inspect a refused certificate and ask, or use a pre-shared key."""
        for attempt in range(MAX_TLS_ATTEMPTS + 1):
            if key.scheme == "https" and key.proxy is not None:
                # a CONNECT/SOCKS tunnel opens its TLS inside httpcore: hand it the check and the name
                request.extensions[TLS_CHECK_EXTENSION] = functools.partial(self.after_handshake, key)
                if key.peer_verify_name:
                    request.extensions["sni_hostname"] = key.peer_verify_name
            try:
                response = await transport.send(key, request, on_queued=on_queued)
            except CourierError:
                raise  # TLS alerts after the handshake arrive mapped: the request may have been sent
            except Exception as exc:  # the handshake's ssl.SSLError, raw or wrapped (httpcore.ConnectError)
                if find_ssl_error(exc) is None:
                    raise
                profile = await self.retry_profile(reply, key, exc) \
                    if key.scheme == "https" and attempt < MAX_TLS_ATTEMPTS else None
                if profile is None:
                    raise
                key = dataclasses.replace(key, tls_profile=profile)
                continue
            if key.scheme == "https" and self.mode_of(key) in (INSPECT, INSECURE):
                await self._ensure_checked(response)
            return response
        raise AssertionError("unreachable")

    async def _ensure_checked(self, response: Any) -> None:
        """A connection whose handshake accepted any certificate must have passed after_handshake;
        if some path skipped it, nothing of the response is used."""
        ns = response.extensions.get("network_stream")
        sslobj = ns.get_extra_info("ssl_object") if ns is not None else None
        if sslobj is None or sslobj not in self._infos:
            await response.aclose()
            raise CourierError(NetworkError.SslHandshakeFailedError,
                               "SSL handshake failed: the certificate check did not run on this connection")

    async def retry_profile(self, reply: Reply, key: OriginKey, exc: BaseException) -> str | None:
        """Called when sending over ``key`` failed with ``exc``. Returns the tls_profile to retry
        the request with (nothing was sent), or None to let the error stand."""
        mode = self.mode_of(key)
        err = find_ssl_error(exc)
        origin = (key.host.lower(), key.port)
        if mode == DEFAULT and isinstance(err, ssl.SSLCertVerificationError):
            reply.extra["tls_openssl_error"] = CertificateError(
                from_openssl(err.verify_code), None, err.verify_message or "")
            return self.profile(INSPECT)
        if mode == DEFAULT and err is not None and err.reason == "SSLV3_ALERT_HANDSHAKE_FAILURE" \
                and psk_supported() and "tls_psk_probe" not in reply.extra:
            # QNAM offers PSK suites in every ClientHello; we try them only when a server refused
            # the ordinary handshake, and ask for a key only if it then really wants one.
            reply.extra["tls_psk_probe"] = True
            self._psk_candidates.add(origin)
            self._psk_slot(*origin).requested = False
            return self.profile(PSK)
        if mode == PSK and err is not None:
            slot = self._psk_slot(*origin)
            if not slot.requested:  # the server never asked for a key: not a PSK server
                self._psk_candidates.discard(origin)
                return None
            asked = int(reply.extra.get("tls_psk_questions", 0))
            if asked >= MAX_PSK_QUESTIONS:
                return None
            reply.extra["tls_psk_questions"] = asked + 1
            slot.requested = False
            answer = await self.questions.ask(PskQuestion(reply, host=origin[0], port=origin[1],
                                                          identity_hint=slot.hint, attempt=asked + 1))
            if answer is None:
                return None
            slot.answer = answer
            return self.profile(PSK)
        return None

    def _psk_slot(self, host: str, port: int) -> _PskSlot:
        return self._psk.setdefault((host.lower(), port), _PskSlot())

    # -- details for every reply ---------------------------------------------------------------
    def info_for(self, ssl_object: Any) -> TlsInfo | None:
        """The TLS details of the connection behind ``ssl_object`` (cached per connection)."""
        if ssl_object is None:
            return None
        info = self._infos.get(ssl_object)
        if info is None:
            try:
                chain = [Certificate(d) for d in (ssl_object.get_unverified_chain() or [])]
                info = TlsInfo(version=ssl_object.version(), cipher=(ssl_object.cipher() or (None,))[0],
                               alpn=ssl_object.selected_alpn_protocol(), peer_chain=chain,
                               session_resumed=bool(ssl_object.session_reused))
                self._infos[ssl_object] = info
            except (AttributeError, ValueError, TypeError):
                return None
        return info


def _expected(error: CertificateError, expected: list[Any]) -> bool:
    for item in expected:
        if isinstance(item, CertificateError):
            if item == error:
                return True
        elif isinstance(item, SslError) and item == error.error:
            return True
    return False


def find_ssl_error(exc: BaseException | None) -> ssl.SSLError | None:
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, ssl.SSLError):
            return exc
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None
