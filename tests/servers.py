"""Real servers on 127.0.0.1 for the tests: an ASGI app under hypercorn (HTTP/1.1, HTTP/2, TLS with
trustme certificates, unix sockets) and raw-socket servers that misbehave on purpose."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from hypercorn.asyncio import serve
from hypercorn.config import Config


@dataclass
class Seen:
    """What the server saw: one entry per request, plus connection counts."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    connections: set[Any] = field(default_factory=set)
    files: dict[str, tuple[str, str]] = field(default_factory=dict)  # /file/<name> → (path, content type)


async def read_request_body(scope: dict[str, Any], receive: Callable[..., Any],
                            send: Callable[..., Any]) -> bytes | None:
    """An ASGI app's opening: answers the lifespan protocol (returns None: nothing to serve), or
    reads the whole request body."""
    if scope["type"] == "lifespan":
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return None
    body = b""
    while True:
        msg = await receive()
        body += msg.get("body", b"")
        if not msg.get("more_body"):
            return body


def make_app(seen: Seen) -> Callable[..., Any]:
    async def app(scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        got = await read_request_body(scope, receive, send)
        if got is None:
            return
        body = got
        path: str = scope["path"]
        qs = scope.get("query_string", b"").decode()
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        seen.requests.append({"method": scope["method"], "path": path, "query": qs, "headers": headers,
                              "body": body, "http_version": scope.get("http_version"),
                              "client": scope.get("client")})
        seen.connections.add(tuple(scope.get("client") or ()))
        status, extra, out = 200, [], b""
        if path == "/echo" or path.startswith("/echo/"):
            out = json.dumps({"method": scope["method"], "headers": headers, "body": body.decode("latin-1"),
                              "path": path, "query": qs, "http_version": scope.get("http_version")}).encode()
            extra = [(b"content-type", b"application/json")]
        elif path.startswith("/status/"):
            status = int(path.split("/")[2])
            out = f"status {status} body".encode()
        elif path == "/gzip":
            out = gzip.compress(b"hello gzip " * 100)
            extra = [(b"content-encoding", b"gzip")]
        elif path.startswith("/bytes/"):
            n = int(path.split("/")[2])
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-length", str(n).encode())]})
            chunk = b"x" * 65536
            while n > 0:
                part = chunk[: min(n, 65536)]
                n -= len(part)
                await send({"type": "http.response.body", "body": part, "more_body": n > 0})
            return
        elif path.startswith("/file/") and path[6:] in seen.files:
            fpath, ctype = seen.files[path[6:]]
            size = os.path.getsize(fpath)
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-length", str(size).encode()), (b"content-type", ctype.encode())]})
            with open(fpath, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
            return
        elif path.startswith("/redirect/"):
            n = int(path.split("/")[2])
            status = int(qs.split("=")[1]) if qs.startswith("code=") else 302
            extra = [(b"location", (f"/redirect/{n - 1}" if n > 1 else "/echo").encode())]
        elif path == "/slow-headers":
            await asyncio.sleep(float(qs or "2"))
        else:
            out = b"hello " + path.encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-length", str(len(out)).encode()), *extra]})
        await send({"type": "http.response.body", "body": out})

    return app


class HypercornServer:
    """Runs the app on its own thread and loop; ``url`` is ready when ``start`` returns."""

    def __init__(self, certfile: str | None = None, keyfile: str | None = None,
                 uds: str | None = None, h2c: bool = False, app: Any = None, mode: str | None = None) -> None:
        self.seen = Seen()
        self.app, self.mode = app, mode  # another ASGI app (or a WSGI one with mode="wsgi")
        self.certfile, self.keyfile, self.uds = certfile, keyfile, uds
        self.port = 0
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    @property
    def url(self) -> str:
        scheme = "https" if self.certfile else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def start(self) -> HypercornServer:
        cfg = Config()
        cfg.loglevel = "WARNING"
        cfg.accesslog = None
        cfg.errorlog = None
        if self.uds:
            cfg.bind = [f"unix:{self.uds}"]
        else:
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
            sock.close()
            cfg.bind = [f"127.0.0.1:{self.port}"]
        if self.certfile:
            cfg.certfile, cfg.keyfile = self.certfile, self.keyfile
            cfg.alpn_protocols = ["h2", "http/1.1"]
        app = self.app or make_app(self.seen)

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            self._stop = asyncio.Event()

            async def main() -> None:
                assert self._stop is not None
                task = loop.create_task(serve(app, cfg, shutdown_trigger=self._stop.wait,
                                              mode=self.mode))  # type: ignore[arg-type]
                await asyncio.sleep(0.05)
                self._ready.set()
                await task

            loop.run_until_complete(main())
            loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        self._ready.wait(10)
        _wait_port(self)
        return self

    def stop(self) -> None:
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread:
            self._thread.join(5)


def _wait_port(server: HypercornServer) -> None:
    import os
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if server.uds:
                if os.path.exists(server.uds):
                    s = socket.socket(socket.AF_UNIX)
                    s.connect(server.uds)
                    s.close()
                    return
            else:
                socket.create_connection(("127.0.0.1", server.port), timeout=0.2).close()
                return
        except OSError:
            pass
        time.sleep(0.01)
    raise RuntimeError("test server did not start")


class RawServer:
    """A socket server whose handler gets each accepted connection: for hostile behaviour.

    Every server still open when a test ends is closed by ``close_leftover_servers`` (conftest)."""

    live: ClassVar[list[RawServer]] = []

    def __init__(self, handler: Callable[[socket.socket], None]) -> None:
        RawServer.live.append(self)
        self.handler = handler
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._closed = False
        self._threads: list[threading.Thread] = []
        threading.Thread(target=self._loop, daemon=True, name="test-server-accept").start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _loop(self) -> None:
        while not self._closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True, name="test-server-conn")
            t.start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            self.handler(conn)
        except OSError:
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def close(self) -> None:
        self._closed = True
        if self in RawServer.live:
            RawServer.live.remove(self)
        close_listener(self.sock)


def close_listener(sock: socket.socket) -> None:
    """Close a listening socket and wake the accept() blocked on it in a thread (close() alone does not)."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


def read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return data
