"""A reply: what came back, delivered as events while it arrives (QNetworkReply's role)."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from core import events as ev
from core.errors import NetworkError
from core.request import Operation, Request
from core.spool import SpooledBody
from core.timings import Timings

if TYPE_CHECKING:
    from core.manager import NetworkManager

Listener = Callable[[ev.Event], None]


@dataclass(slots=True)
class RedirectHop:
    """One followed redirect: the 3xx that was answered and where it pointed."""

    url: str
    status: int
    location: str
    method: str


@dataclass(slots=True)
class TlsInfo:
    """The TLS connection a reply came over (filled by core.tls for every https reply)."""

    version: str | None = None
    cipher: str | None = None
    alpn: str | None = None
    peer_chain: list[Any] = field(default_factory=list)  # core.tls.Certificate, leaf first, as sent
    session_resumed: bool | None = None
    errors: list[Any] = field(default_factory=list)  # core.tls.CertificateError: found, and accepted or fatal
    # "verified" (by OpenSSL), "checked" (by Courier, no errors), "exception" (errors accepted by a
    # decision), "disabled" (the request said: do not verify), "psk" (a pre-shared key), "failed"
    verification: str = "verified"


# The reply the current task is working for: lets the TLS layer ask its questions for the right reply.
current_reply: contextvars.ContextVar[Reply | None] = contextvars.ContextVar("courier_reply", default=None)

IGNORE_ALL_SSL_ERRORS: tuple[()] = ()


class Reply:
    """Status, headers, body and events of one request.

    The body is kept (spooled to disk past a threshold); ``read`` consumes sequentially like
    QIODevice, ``body`` gives random access. Events go to ``subscribe``d listeners on the network
    thread, in QNAM's order.
    """

    def __init__(self, manager: NetworkManager, operation: Operation, request: Request, verb: str) -> None:
        self.manager = manager
        self.operation = operation
        self.request = request
        self.method = verb
        self.url = request.url
        self.status: int | None = None
        self.reason: str = ""
        self.headers: list[tuple[str, str]] = []
        self.sent_headers: list[tuple[str, str]] = []
        self.http_version: str | None = None
        self.remote_address: str | None = None
        self.error = NetworkError.NoError
        self.error_string = "Unknown error"
        self.redirects: list[RedirectHop] = []
        self.redirection_target: str | None = None
        self.from_cache: bool | None = None
        self.tls: TlsInfo | None = None
        self.original_content_length: int | None = None
        self.timings = Timings()
        self.body = SpooledBody()
        self.bytes_received = 0
        self.is_finished = False
        self._finishing = False  # set while the final events go out, so they cannot re-enter
        self.is_running = True
        self._listeners: list[Listener] = []
        self._task: asyncio.Task[None] | None = None
        self._done: asyncio.Future[None] | None = None
        self.extra: dict[str, Any] = {}

    # -- observing -------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def emit(self, event: ev.Event) -> None:
        for listener in list(self._listeners):
            listener(event)

    # -- reading ---------------------------------------------------------------------------
    def header(self, name: str) -> str | None:
        low = name.lower()
        for k, v in self.headers:
            if k.lower() == low:
                return v
        return None

    def header_values(self, name: str) -> list[str]:
        low = name.lower()
        return [v for k, v in self.headers if k.lower() == low]

    def read(self, size: int = -1) -> bytes:
        return self.body.read(size)

    def read_all(self) -> bytes:
        return self.body.read(-1)

    def bytes_available(self) -> int:
        return self.body.bytes_available()

    def content(self) -> bytes:
        """The whole body received so far (non-consuming)."""
        return self.body.getvalue()

    # -- control ---------------------------------------------------------------------------
    def abort(self) -> None:
        """Cancel: finishes at once with OperationCanceledError (QNAM X14)."""
        if self.is_finished or self._finishing:
            return
        self.manager._abort(self, NetworkError.OperationCanceledError, "Operation canceled")

    def ignore_ssl_errors(self, expected: Iterable[Any] | None = None) -> None:
        """QNAM S2: accept the certificate errors of this reply's TLS handshake.

        Without arguments every reported error is ignored; with ``expected`` (``CertificateError``s,
        or bare ``SslError``s for any certificate) only those are, and any other error still fails.
        Call it before the handshake or from an ``SslErrors`` event listener. The decision then
        holds for this host, port and certificate for the session (not for the whole pool).
        """
        self.extra["ignore_ssl_errors"] = IGNORE_ALL_SSL_ERRORS if expected is None else list(expected)

    async def wait(self) -> Reply:
        """Await the end of the transfer."""
        if self._done is None:
            self._done = asyncio.get_running_loop().create_future()
            if self.is_finished:
                self._done.set_result(None)
        await asyncio.shield(self._done)
        return self

    def close(self) -> None:
        """Free the body (and its temporary file)."""
        self.body.close()

    def _mark_finished(self) -> None:
        self.is_finished = True
        self.is_running = False
        if self._done is not None and not self._done.done():
            self._done.set_result(None)

    def __repr__(self) -> str:
        return f"<Reply {self.method} {self.url} status={self.status} error={self.error.name}>"
