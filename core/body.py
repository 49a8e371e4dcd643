"""Request bodies: bytes, a file streamed from disk, an async iterator, multipart/form-data.

A body is rewindable when it can be sent again (307/308 redirects, auth rounds): bytes, files and
multipart are; an async iterator is not (QNAM R3 → ContentReSendError).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

CHUNK = 256 * 1024


class Body:
    """Base class: an async byte stream with a known length (or None) and a content type."""

    content_type: str | None = None

    def length(self) -> int | None:
        raise NotImplementedError

    def rewindable(self) -> bool:
        return True

    def __aiter__(self) -> AsyncIterator[bytes]:
        raise NotImplementedError


class BytesBody(Body):
    def __init__(self, data: bytes, content_type: str | None = None) -> None:
        self.data = data
        self.content_type = content_type

    def length(self) -> int:
        return len(self.data)

    async def _gen(self) -> AsyncIterator[bytes]:
        if self.data:
            yield self.data

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._gen()


class FileBody(Body):
    """A file streamed from disk in chunks; never read whole into memory."""

    def __init__(self, path: str | os.PathLike[str], content_type: str | None = None) -> None:
        self.path = Path(path)
        self.content_type = content_type

    def length(self) -> int:
        return self.path.stat().st_size

    async def _gen(self) -> AsyncIterator[bytes]:
        with self.path.open("rb") as fh:
            while chunk := fh.read(CHUNK):
                yield chunk

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._gen()


class IteratorBody(Body):
    """An async iterator of bytes: streamed with chunked encoding, sent once only."""

    def __init__(self, source: AsyncIterable[bytes], length: int | None = None,
                 content_type: str | None = None) -> None:
        self.source = source
        self._length = length
        self.content_type = content_type
        self._used = False

    def length(self) -> int | None:
        return self._length

    def rewindable(self) -> bool:
        return not self._used

    def __aiter__(self) -> AsyncIterator[bytes]:
        self._used = True
        return aiter(self.source)


@dataclass
class Part:
    """One part of a multipart body: a field (``value``) or a file (``path``)."""

    name: str
    value: bytes | str | None = None
    path: str | os.PathLike[str] | None = None
    filename: str | None = None
    content_type: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)

    def _head(self, boundary: bytes) -> bytes:
        disp = f'form-data; name="{_q(self.name)}"'
        fname = self.filename
        if fname is None and self.path is not None:
            fname = Path(self.path).name
        if fname is not None:
            disp += f'; filename="{_q(fname)}"'
        lines = [b"--" + boundary, f"Content-Disposition: {disp}".encode()]
        ctype = self.content_type or ("application/octet-stream" if self.path is not None else None)
        if ctype:
            lines.append(f"Content-Type: {ctype}".encode())
        for k, v in self.headers:
            lines.append(f"{k}: {v}".encode())
        return b"\r\n".join(lines) + b"\r\n\r\n"

    def _payload_len(self) -> int:
        if self.path is not None:
            return Path(self.path).stat().st_size
        v = self.value or b""
        return len(v.encode() if isinstance(v, str) else v)


def _q(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


class MultipartBody(Body):
    """multipart/form-data (QHttpMultiPart's job), streamed: files are read chunk by chunk."""

    def __init__(self, parts: Iterable[Part], boundary: str | None = None) -> None:
        self.parts = list(parts)
        self.boundary = (boundary or "courier-" + secrets.token_hex(12)).encode()
        self.content_type = f"multipart/form-data; boundary={self.boundary.decode()}"

    def length(self) -> int:
        total = 0
        for p in self.parts:
            total += len(p._head(self.boundary)) + p._payload_len() + 2
        return total + len(b"--" + self.boundary + b"--\r\n")

    async def _gen(self) -> AsyncIterator[bytes]:
        for p in self.parts:
            yield p._head(self.boundary)
            if p.path is not None:
                with open(p.path, "rb") as fh:
                    while chunk := fh.read(CHUNK):
                        yield chunk
            else:
                v = p.value or b""
                yield v.encode() if isinstance(v, str) else v
            yield b"\r\n"
        yield b"--" + self.boundary + b"--\r\n"

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._gen()


def form_urlencoded(fields: Iterable[tuple[str, str]]) -> BytesBody:
    data = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in fields)
    return BytesBody(data.encode(), "application/x-www-form-urlencoded")


BodyLike = bytes | str | Body | None


def as_body(data: BodyLike) -> Body | None:
    if data is None:
        return None
    if isinstance(data, Body):
        return data
    if isinstance(data, str):
        return BytesBody(data.encode())
    return BytesBody(bytes(data))
