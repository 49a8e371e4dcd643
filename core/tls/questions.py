"""The questions TLS asks the app: accept a certificate with errors; give a pre-shared key."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from core.questions import Question
from core.tls.certificate import Certificate
from core.tls.errors import CertificateError


class DecisionScope(enum.Enum):
    SESSION = "session"  # until the manager is closed or the exception is revoked
    REMEMBER = "remember"  # persisted: survives a restart


@dataclass(frozen=True, slots=True)
class SslDecision:
    """Accept the reported errors for this certificate on this host and port."""

    scope: DecisionScope = DecisionScope.SESSION


@dataclass(eq=False)
class SslErrorsQuestion(Question[SslDecision]):
    """The peer's certificate has problems (QNAM's ``sslErrors``). Answer ``None`` to refuse.

    Accepting covers exactly ``errors`` for this certificate on ``host:port``; a different
    certificate, or a new kind of error, asks again.
    """

    host: str = ""
    port: int = 0
    peer_name: str = ""  # the name the certificate was checked against
    errors: tuple[CertificateError, ...] = ()
    chain: tuple[Certificate, ...] = ()

    def accept(self, remember: bool = False) -> None:
        self.answer(SslDecision(DecisionScope.REMEMBER if remember else DecisionScope.SESSION))

    def refuse(self) -> None:
        self.answer(None)


@dataclass(frozen=True, slots=True)
class PskAnswer:
    identity: str
    key: bytes = field(repr=False)  # a secret: never shown in logs


@dataclass(eq=False)
class PskQuestion(Question[PskAnswer]):
    """The server wants a pre-shared key (QNAM's ``preSharedKeyAuthenticationRequired``).

    ``identity_hint`` is what the server offered (may be ``None``); ``attempt`` counts from 1 and
    is above 1 when the previous key was not accepted.
    """

    host: str = ""
    port: int = 0
    identity_hint: str | None = None
    attempt: int = 1
