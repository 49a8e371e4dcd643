"""Network errors named and numbered like ``QNetworkReply::NetworkError`` (reference §5).

The HTTP status → error mapping follows Qt's ``statusCodeFromHttp`` exactly (X1–X4), because users
compare Courier's results with Qt's.
"""

from __future__ import annotations

import enum


class NetworkError(enum.IntEnum):
    NoError = 0
    ConnectionRefusedError = 1
    RemoteHostClosedError = 2
    HostNotFoundError = 3
    TimeoutError = 4
    OperationCanceledError = 5
    SslHandshakeFailedError = 6
    TemporaryNetworkFailureError = 7
    NetworkSessionFailedError = 8
    BackgroundRequestNotAllowedError = 9
    TooManyRedirectsError = 10
    InsecureRedirectError = 11
    UnknownNetworkError = 99
    ProxyConnectionRefusedError = 101
    ProxyConnectionClosedError = 102
    ProxyNotFoundError = 103
    ProxyTimeoutError = 104
    ProxyAuthenticationRequiredError = 105
    UnknownProxyError = 199
    ContentAccessDenied = 201
    ContentOperationNotPermittedError = 202
    ContentNotFoundError = 203
    AuthenticationRequiredError = 204
    ContentReSendError = 205
    ContentConflictError = 206
    ContentGoneError = 207
    UnknownContentError = 299
    ProtocolUnknownError = 301
    ProtocolInvalidOperationError = 302
    ProtocolFailure = 399
    InternalServerError = 401
    OperationNotImplementedError = 402
    ServiceUnavailableError = 403
    UnknownServerError = 499


_STATUS_MAP: dict[int, NetworkError] = {
    400: NetworkError.ProtocolInvalidOperationError,
    401: NetworkError.AuthenticationRequiredError,
    403: NetworkError.ContentAccessDenied,
    404: NetworkError.ContentNotFoundError,
    405: NetworkError.ContentOperationNotPermittedError,
    407: NetworkError.ProxyAuthenticationRequiredError,
    409: NetworkError.ContentConflictError,
    410: NetworkError.ContentGoneError,
    418: NetworkError.ProtocolInvalidOperationError,
    500: NetworkError.InternalServerError,
    501: NetworkError.OperationNotImplementedError,
    503: NetworkError.ServiceUnavailableError,
}


def error_for_status(status: int) -> NetworkError:
    """QNAM's mapping (X1–X3): only status >= 400 is an error."""
    if status < 400:
        return NetworkError.NoError
    if status in _STATUS_MAP:
        return _STATUS_MAP[status]
    if status < 500:
        return NetworkError.UnknownContentError
    return NetworkError.UnknownServerError


def error_string_for_status(status: int, reason: str, url: str) -> str:
    """QNAM's errorString for an HTTP error status (X4)."""
    if status == 401:
        return "Host requires authentication"
    if status == 407:
        return "Proxy requires authentication"
    if reason:
        return f"Error transferring {url} - server replied: {reason}"
    return f"Error transferring {url} - server replied with status code {status}"


class CourierError(Exception):
    """A failure inside core, carrying the ``NetworkError`` a reply ends with."""

    def __init__(self, code: NetworkError, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"CourierError({self.code.name}, {self.message!r})"
