"""``file:`` and ``data:`` replies, answered locally (reference L4)."""

from __future__ import annotations

import base64
import mimetypes
import os
from urllib.parse import unquote, unquote_to_bytes, urlsplit

from core.errors import CourierError, NetworkError
from core.reply import Reply

FILE_CHUNK = 1024 * 1024


def serve_file(reply: Reply) -> None:
    parts = urlsplit(reply.url)
    path = unquote(parts.path)
    if reply.method not in ("GET", "HEAD"):
        raise CourierError(NetworkError.ContentOperationNotPermittedError,
                           f"Cannot {reply.method} {path}: file: supports GET and HEAD")
    try:
        if os.path.isdir(path):
            raise CourierError(NetworkError.ContentOperationNotPermittedError,
                               f"Cannot open {path}: Path is a directory")
        fh = open(path, "rb")  # noqa: SIM115
    except FileNotFoundError:
        raise CourierError(NetworkError.ContentNotFoundError,
                           f"Error opening {path}: No such file or directory") from None
    except PermissionError:
        raise CourierError(NetworkError.ContentAccessDenied,
                           f"Error opening {path}: Permission denied") from None
    with fh:
        size = os.fstat(fh.fileno()).st_size
        ctype = mimetypes.guess_type(path)[0] or "application/octet-stream"
        reply.headers = [("Content-Type", ctype), ("Content-Length", str(size))]
        reply.status, reply.reason = 200, "OK"
        if reply.method == "GET":
            while chunk := fh.read(FILE_CHUNK):
                reply.body.append(chunk)
                reply.bytes_received += len(chunk)


def serve_data(reply: Reply) -> None:
    raw = reply.url[len("data:"):]
    meta, sep, payload = raw.partition(",")
    if not sep:
        raise CourierError(NetworkError.ProtocolInvalidOperationError,
                           "Invalid data: URL: missing ',' between media type and data")
    is_b64 = meta.endswith(";base64")
    if is_b64:
        meta = meta[: -len(";base64")]
    ctype = meta or "text/plain;charset=US-ASCII"
    try:
        data = base64.b64decode(unquote(payload), validate=False) if is_b64 else unquote_to_bytes(payload)
    except ValueError as exc:
        raise CourierError(NetworkError.ProtocolInvalidOperationError, f"Invalid data: URL: {exc}") from exc
    reply.headers = [("Content-Type", ctype), ("Content-Length", str(len(data)))]
    reply.status, reply.reason = 200, "OK"
    if reply.method == "GET":
        reply.body.append(data)
        reply.bytes_received = len(data)
