"""A test server of ours that misbehaves on purpose, on 127.0.0.1, one behaviour per path.

Each behaviour is a function of the accepted socket; ``HostileServer`` reads the request line and
dispatches on the path. Every behaviour is bounded in time and bytes so a broken client can never
keep a test (or CI) busy for long.
"""

from __future__ import annotations

import socket
import struct
import time
import zlib
from collections.abc import Callable

from tests.servers import RawServer, read_request

DRIP_SECONDS = 6  # a drip never lasts longer than this
ENDLESS_LIMIT = 2 * 1024**3  # an "endless" body stops after 2 GiB at the latest


def _reply_head(conn: socket.socket, head: bytes) -> None:
    conn.sendall(head)


def reset_mid_body(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"a" * 1000)
    time.sleep(0.05)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST on close


def short_body(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly-this")


def broken_chunked(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nZZZ\r\nxx\r\n0\r\n\r\n")
    time.sleep(0.5)


def bad_status_line(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 two-hundred OK\r\nContent-Length: 2\r\n\r\nok")
    time.sleep(0.5)


def huge_header_line(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nX-Huge: " + b"h" * (1024 * 1024) + b"\r\nContent-Length: 2\r\n\r\nok")
    time.sleep(0.5)


def many_headers(conn: socket.socket) -> None:
    head = b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(100_000))
    try:
        conn.sendall(head + b"Content-Length: 2\r\n\r\nok")
    except OSError:
        pass  # the client hung up early, as it should
    time.sleep(0.5)


def drip(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
    end = time.monotonic() + DRIP_SECONDS
    while time.monotonic() < end:
        conn.sendall(b"d")
        time.sleep(1.0)


def make_bomb(encoding: str) -> bytes:
    """1 GiB of zeros: 64 gzip members of 16 MiB each (RFC 1952 allows several), or one brotli
    stream. Both are cheap to build, so the server answers at once."""
    zeros = b"\0" * (16 * 1024 * 1024)
    if encoding == "gzip":
        co = zlib.compressobj(9, zlib.DEFLATED, 31)
        return (co.compress(zeros) + co.flush()) * 64
    import brotli

    c = brotli.Compressor(quality=1)
    return b"".join(c.process(zeros) for _ in range(64)) + c.finish()


BOMBS: dict[str, bytes] = {}


def bomb(encoding: str) -> Callable[[socket.socket], None]:
    def handler(conn: socket.socket) -> None:
        payload = BOMBS.setdefault(encoding, make_bomb(encoding))
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\nContent-Length: %d\r\n\r\n"
                     % (encoding.encode(), len(payload)) + payload)
        time.sleep(0.5)

    return handler


def redirect_loop(conn: socket.socket) -> None:
    for _ in range(1000):  # bounded: far more hops than any client may follow
        conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: /loop\r\nContent-Length: 0\r\n\r\n")
        if not read_request(conn):
            return


def endless_body(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n")
    chunk = b"e" * (256 * 1024)
    sent = 0
    while sent < ENDLESS_LIMIT:
        conn.sendall(chunk)
        sent += len(chunk)


def never_answer(conn: socket.socket) -> None:
    conn.settimeout(DRIP_SECONDS)
    try:
        while conn.recv(65536):  # read the request (or TLS hello) and never say a word
            pass
    except OSError:
        pass


BEHAVIOURS: dict[str, Callable[[socket.socket], None]] = {
    "/reset": reset_mid_body,
    "/short": short_body,
    "/chunked": broken_chunked,
    "/status": bad_status_line,
    "/huge-header": huge_header_line,
    "/many-headers": many_headers,
    "/drip": drip,
    "/gzip-bomb": bomb("gzip"),
    "/br-bomb": bomb("br"),
    "/loop": redirect_loop,
    "/endless": endless_body,
    "/silent": never_answer,
}


class HostileServer(RawServer):
    def __init__(self) -> None:
        for encoding in ("gzip", "br"):
            BOMBS.setdefault(encoding, make_bomb(encoding))
        super().__init__(self._dispatch)

    def _dispatch(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        head = read_request(conn)
        try:
            path = head.split(b" ", 2)[1].decode()
        except IndexError:
            return
        BEHAVIOURS.get(path.split("?")[0], lambda c: c.sendall(b"HTTP/1.1 404 Not Found\r\n\r\n"))(conn)


class SilentServer(RawServer):
    """Accepts TCP connections and never sends a byte: a TLS handshake that stalls."""

    def __init__(self) -> None:
        super().__init__(never_answer)

