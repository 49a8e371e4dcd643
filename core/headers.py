"""Request headers as QNAM builds them on the wire (reference W1–W7, W9, W11)."""

from __future__ import annotations

import functools
import locale
import os
import re

from core import __version__
from core.decompress import ACCEPT_ENCODING
from core.errors import CourierError, NetworkError

USER_AGENT = f"Courier/{__version__}"
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


def title_case(name: str) -> str:
    """``x-CUSTOM-header`` → ``X-Custom-Header`` (W7)."""
    return "-".join(p[:1].upper() + p[1:].lower() for p in name.split("-"))


def accept_language() -> str:
    """From the locale like QNAM's makeAcceptLanguage (W4): C → ``en,*``."""
    get = os.environ.get
    return _accept_language(get("LC_ALL", ""), get("LC_MESSAGES", ""), get("LANG", ""))


@functools.cache
def system_accept_language() -> str:
    """``accept_language()`` of the process's locale, found once: Qt reads the system locale once
    too (QLocale::system()), and three environment look-ups per request cost ~3% of a small one.
    ``system_accept_language.cache_clear()`` makes the next request look again."""
    return accept_language()


def _accept_language(lc_all: str, lc_messages: str, lang: str) -> str:
    name = lc_all or lc_messages or lang
    if not name:
        try:
            name = locale.getlocale()[0] or ""
        except ValueError:
            name = ""
    name = name.split(".")[0].split("@")[0]
    if not name or name in ("C", "POSIX"):
        return "en,*"
    tag = name.replace("_", "-")
    if tag.startswith("en"):
        return f"{tag},*"
    return f"{tag},en,*"


def validate(headers: list[tuple[str, str]]) -> None:
    """Refuse header names/values that would split the request (CR/LF, NUL, non-token names)."""
    for k, v in headers:
        if not _TOKEN.match(k):
            raise CourierError(NetworkError.ProtocolInvalidOperationError,
                               f"Invalid header name {k!r}: header names must be tokens (RFC 9110 §5.1)")
        if any(c in v for c in "\r\n\0"):
            raise CourierError(NetworkError.ProtocolInvalidOperationError,
                               f"Invalid value for header {k!r}: it contains CR, LF or NUL")
        if not v.isascii():  # httpx encodes header values as ASCII
            raise CourierError(NetworkError.ProtocolInvalidOperationError,
                               f"Invalid value for header {k!r}: only ASCII text can be sent; "
                               "percent-encode or base64 it")


_GOOD_METHODS = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"}


def validate_method(method: str) -> None:
    """Refuse a (custom) verb that is not a token: a space, CR or LF in it would forge the request line."""
    if method in _GOOD_METHODS:
        return  # known tokens: no regular expression per request
    if not _TOKEN.match(method):
        raise CourierError(NetworkError.ProtocolInvalidOperationError,
                           f"Invalid method {method[:40]!r}: a method must be a token (RFC 9110 §9.1)")


def build(
    host_header: str,
    app_headers: list[tuple[str, str]],
    method: str,
    body_length: int | None,
    has_body: bool,
    cookie: str | None,
    content_type: str | None,
    auto_decompress: bool,
) -> list[tuple[str, str]]:
    """Headers in QNAM's wire order (W6): Host; app headers; Content-Length; Cookie; defaults."""
    present = {k.lower() for k, _ in app_headers}
    out: list[tuple[str, str]] = [("Host", host_header)]
    out += [(title_case(k), v) for k, v in app_headers if k.lower() != "host"]
    if "content-type" not in present and content_type:
        out.append(("Content-Type", content_type))
        present.add("content-type")
    if "content-length" not in present and "transfer-encoding" not in present:
        if body_length is not None and (body_length > 0 or method not in ("GET", "HEAD", "DELETE")):
            out.append(("Content-Length", str(body_length)))
        elif body_length is None and has_body:
            out.append(("Transfer-Encoding", "chunked"))
    if cookie:
        out = [(k, v) for k, v in out if k.lower() != "cookie"]
        out.append(("Cookie", cookie))
    if "connection" not in present:
        out.append(("Connection", "Keep-Alive"))
    if "accept-encoding" not in present and auto_decompress:
        out.append(("Accept-Encoding", ACCEPT_ENCODING))
    if "accept-language" not in present:
        out.append(("Accept-Language", system_accept_language()))
    if "user-agent" not in present:
        out.append(("User-Agent", USER_AGENT))
    if method == "POST" and "content-type" not in present and has_body:
        out.append(("Content-Type", "application/x-www-form-urlencoded"))  # W9
    return out
