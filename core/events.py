"""Typed events a ``Reply`` emits, in QNAM's order (reference L1).

Observers receive them on the network thread; the Qt bridge re-emits them as signals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.errors import NetworkError

if TYPE_CHECKING:
    from core.reply import Reply
    from core.tls.errors import CertificateError


@dataclass(frozen=True, slots=True)
class Event:
    reply: Reply


@dataclass(frozen=True, slots=True)
class SocketStartedConnecting(Event):
    pass


@dataclass(frozen=True, slots=True)
class RequestSent(Event):
    pass


@dataclass(frozen=True, slots=True)
class Encrypted(Event):
    pass


@dataclass(frozen=True, slots=True)
class SslErrors(Event):
    """A new TLS handshake found certificate errors (QNAM's sslErrors, S1); emitted before the
    decision, so a listener may call ``reply.ignore_ssl_errors()``."""

    errors: tuple[CertificateError, ...]


@dataclass(frozen=True, slots=True)
class MetaDataChanged(Event):
    pass


@dataclass(frozen=True, slots=True)
class Redirected(Event):
    url: str


@dataclass(frozen=True, slots=True)
class ReadyRead(Event):
    size: int
    data: bytes | None = None  # the bytes, only when the request does not keep its body


@dataclass(frozen=True, slots=True)
class DownloadProgress(Event):
    received: int
    total: int


@dataclass(frozen=True, slots=True)
class UploadProgress(Event):
    sent: int
    total: int


@dataclass(frozen=True, slots=True)
class ErrorOccurred(Event):
    code: NetworkError
    message: str


@dataclass(frozen=True, slots=True)
class Finished(Event):
    pass
