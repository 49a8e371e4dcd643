"""Real proxies and auth servers on 127.0.0.1 for the tests: tinyproxy (HTTP proxy with CONNECT and
BasicAuth), microsocks (SOCKS5 with user/password) and the ``httpbin`` package under hypercorn
(basic-auth, digest-auth, bearer endpoints), each recording what it saw."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
from hypercorn.asyncio import serve
from hypercorn.config import Config

from tests.servers import read_request_body


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


def wait_port(port: int, proc: subprocess.Popen[bytes] | None = None, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited early with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.01)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


class _Process:
    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.dir = tempfile.mkdtemp(prefix="courier-proxy-")

    def _spawn(self, argv: list[str]) -> None:
        if shutil.which(argv[0]) is None:
            raise RuntimeError(f"{argv[0]} is not installed (scripts/setup.sh test installs it)")
        if shutil.which("setpriv"):  # util-linux: the proxy dies with pytest even if pytest is killed
            argv = ["setpriv", "--pdeathsig", "TERM", "--", *argv]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port, self.proc)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)


class Tinyproxy(_Process):
    """tinyproxy in the foreground. Quirk: no credentials → 407, wrong credentials → 401."""

    def __init__(self, auth: tuple[str, str] | None = None) -> None:
        super().__init__()
        self.auth = auth
        self.log = os.path.join(self.dir, "log")

    def start(self) -> Tinyproxy:
        conf = os.path.join(self.dir, "conf")
        lines = [f"Port {self.port}", "Listen 127.0.0.1", "Timeout 30", "MaxClients 50",
                 "LogLevel Connect", f'LogFile "{self.log}"', "Allow 127.0.0.1", "DisableViaHeader Yes"]
        if self.auth:
            lines.append(f"BasicAuth {self.auth[0]} {self.auth[1]}")
        with open(conf, "w") as fh:
            fh.write("\n".join(lines) + "\n")
        self._spawn(["tinyproxy", "-d", "-c", conf])
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def requests(self) -> list[str]:
        """Request lines the proxy received, e.g. ``GET http://127.0.0.1:1/x HTTP/1.1``."""
        try:
            with open(self.log, encoding="latin-1") as fh:
                text = fh.read()
        except FileNotFoundError:
            return []
        return [line.split("): ", 1)[1] for line in text.splitlines() if "Request (file descriptor" in line]

    def wait_requests(self, n: int, timeout: float = 5) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.requests()) < n:
            time.sleep(0.02)
        return self.requests()


class Microsocks(_Process):
    def __init__(self, auth: tuple[str, str] | None = None) -> None:
        super().__init__()
        self.auth = auth

    def start(self) -> Microsocks:
        argv = ["microsocks", "-i", "127.0.0.1", "-p", str(self.port)]
        if self.auth:
            argv += ["-u", self.auth[0], "-P", self.auth[1]]
        self._spawn(argv)
        return self


class _Recorder:
    """WSGI middleware: remembers method, path and headers of every request."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self.requests: list[dict[str, Any]] = []
        self.connections: set[tuple[Any, ...]] = set()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        client = (environ.get("REMOTE_ADDR"), environ.get("REMOTE_PORT"))
        self.requests.append({"method": environ["REQUEST_METHOD"], "path": environ.get("PATH_INFO", ""),
                              "headers": headers, "client": client})
        self.connections.add(client)
        result: Iterable[bytes] = self.app(environ, start_response)
        try:
            chunks = list(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        # hypercorn's WSGI wrapper never starts a response whose body yields nothing (httpbin's 401)
        return chunks or [b""]


class AppServer:
    """A WSGI or ASGI app under hypercorn on its own thread and loop."""

    def __init__(self, app: Any, mode: str = "asgi") -> None:
        self.port = free_port()
        self.app, self.mode = app, mode
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> AppServer:
        cfg = Config()
        cfg.bind = [f"127.0.0.1:{self.port}"]
        cfg.accesslog = None
        cfg.errorlog = None
        cfg.loglevel = "WARNING"

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            self._stop = asyncio.Event()
            loop.run_until_complete(serve(self.app, cfg, shutdown_trigger=self._stop.wait,  # type: ignore[arg-type]
                                          mode=self.mode))  # type: ignore[arg-type]
            loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        wait_port(self.port)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(5)


class HttpbinServer(AppServer):
    """The ``httpbin`` package (Flask) under hypercorn, recording every request."""

    def __init__(self) -> None:
        import httpbin

        self.recorder = _Recorder(httpbin.app)
        super().__init__(self.recorder, mode="wsgi")

    @property
    def requests(self) -> list[dict[str, Any]]:
        return self.recorder.requests


def make_auth_app(seen: list[dict[str, Any]]) -> Callable[..., Any]:
    """A small ASGI app for the auth cases httpbin lacks.

    * ``/basic/<realm>/...``: Basic user ``user`` / password ``passwd``, a 401 with a body otherwise;
      any method, the request body is echoed back;
    * ``/always``: answers 401 with a Basic challenge whatever the credentials;
    * ``/ntlm-loop``: 401 ``WWW-Authenticate: NTLM`` with ``Connection: close`` (QNAM's A13 hazard).
    """
    import base64
    import json

    good = "Basic " + base64.b64encode(b"user:passwd").decode()
    ntlm_contexts: dict[tuple[Any, ...], Any] = {}

    async def app(scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        got = await read_request_body(scope, receive, send)
        if got is None:
            return
        body = got
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        auth = next((v for k, v in headers if k == "authorization"), None)
        path: str = scope["path"]
        seen.append({"method": scope["method"], "path": path, "headers": headers, "body": body,
                     "authorization": auth, "client": tuple(scope.get("client") or ())})
        status, extra, out = 200, [], b""
        if path.startswith("/basic/"):
            realm = path.split("/")[2]
            if auth == good:
                out = json.dumps({"path": path, "method": scope["method"], "body": body.decode("latin-1")}).encode()
            else:
                status, out = 401, b"please log in"
                extra = [(b"www-authenticate", f'Basic realm="{realm}"'.encode())]
        elif path == "/always":
            status, out = 401, b"never"
            extra = [(b"www-authenticate", b'Basic realm="loop"')]
        elif path.startswith("/ntlm/"):
            status, out, extra = _ntlm_round(ntlm_contexts, tuple(scope.get("client") or ()), auth,
                                             also_basic=path == "/ntlm/and-basic")
        elif path == "/ntlm-loop":
            status, out = 401, b"ntlm"
            extra = [(b"www-authenticate", b"NTLM"), (b"connection", b"close")]
        else:
            status, out = 404, b"no such page"
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-length", str(len(out)).encode()), *extra]})
        await send({"type": "http.response.body", "body": out})

    return app


NTLM_USER = ("CORP\\alice", "secret")


def _ntlm_round(contexts: dict[tuple[Any, ...], Any], client: tuple[Any, ...], auth: str | None,
                also_basic: bool) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    """NTLM on the server side with pyspnego: one handshake per connection (client address)."""
    import base64

    import spnego

    bare = [(b"www-authenticate", b"NTLM")] + ([(b"www-authenticate", b'Basic realm="r1"')] if also_basic else [])
    if not auth or not auth.startswith("NTLM "):
        return 401, b"ntlm please", bare
    token = base64.b64decode(auth[5:])
    try:
        if token[8:9] == b"\x01":  # negotiate message: a new handshake on this connection
            ctx = spnego.server(protocol="ntlm")
            contexts[client] = ctx
            challenge = ctx.step(token)
            return 401, b"", [(b"www-authenticate", b"NTLM " + base64.b64encode(challenge))]
        ctx = contexts.pop(client)
        ctx.step(token)
        return 200, f"hello {ctx.client_principal}".encode(), []
    except Exception:  # wrong password, or a message on another connection
        contexts.pop(client, None)
        return 401, b"ntlm rejected", bare


class AuthServer(AppServer):
    """The auth app; its NTLM user is ``NTLM_USER`` (pyspnego reads users from NTLM_USER_FILE)."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.users = os.path.join(tempfile.mkdtemp(prefix="courier-ntlm-"), "users")
        with open(self.users, "w") as fh:
            fh.write("CORP:alice:secret\n")
        os.environ["NTLM_USER_FILE"] = self.users
        super().__init__(make_auth_app(self.seen))


# -- pytest fixtures (import them into a test module to use them) ---------------------------------


@pytest.fixture(scope="session")
def auth_httpbin() -> Iterator[HttpbinServer]:
    s = HttpbinServer().start()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def auth_server() -> Iterator[AuthServer]:
    s = AuthServer().start()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def tinyproxy() -> Iterator[Tinyproxy]:
    p = Tinyproxy().start()
    yield p
    p.stop()


@pytest.fixture(scope="session")
def tinyproxy_auth() -> Iterator[Tinyproxy]:
    p = Tinyproxy(auth=("puser", "ppass")).start()
    yield p
    p.stop()


@pytest.fixture(scope="session")
def microsocks() -> Iterator[Microsocks]:
    p = Microsocks().start()
    yield p
    p.stop()


@pytest.fixture(scope="session")
def microsocks_auth() -> Iterator[Microsocks]:
    p = Microsocks(auth=("suser", "spass")).start()
    yield p
    p.stop()


class DigestProxy:
    """A small HTTP proxy on a socket that demands Digest (MD5, qop=auth) proxy authentication,
    for what tinyproxy cannot do; it checks the answer with its own RFC 7616 arithmetic, then
    forwards (absolute-form) or tunnels (CONNECT). ``seen`` holds (request line, Proxy-Authorization)."""

    REALM = "digest-proxy"

    def __init__(self, user: str = "duser", password: str = "dpass") -> None:
        self.user, self.password = user, password
        self.nonce = os.urandom(8).hex()
        self.seen: list[tuple[str, str | None]] = []
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(32)
        self.port = int(self.sock.getsockname()[1])
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._closed = True
        self.sock.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _valid(self, method: str, header: str | None) -> bool:
        import hashlib
        import re

        if not header or not header.startswith("Digest "):
            return False
        p = dict(re.findall(r'(\w+)="?([^",]*)"?', header[7:]))

        def h(s: str) -> str:
            return hashlib.md5(s.encode()).hexdigest()

        ha1 = h(f"{self.user}:{self.REALM}:{self.password}")
        ha2 = h(f"{method}:{p.get('uri', '')}")
        expected = h(f"{ha1}:{self.nonce}:{p.get('nc')}:{p.get('cnonce')}:auth:{ha2}")
        return p.get("username") == self.user and p.get("nonce") == self.nonce and p.get("response") == expected

    def _serve(self, conn: socket.socket) -> None:
        try:
            buf = b""
            while True:
                while b"\r\n\r\n" not in buf:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                head, _, buf = buf.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = [line.split(":", 1) for line in lines[1:] if ":" in line]
                auth = next((v.strip() for k, v in headers if k.lower() == "proxy-authorization"), None)
                self.seen.append((lines[0], auth))
                if not self._valid(method, auth):
                    body = b"digest please"
                    conn.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                                 + f'Proxy-Authenticate: Digest realm="{self.REALM}", nonce="{self.nonce}", '
                                   f'qop="auth", algorithm=MD5\r\n'.encode()
                                 + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
                    continue
                if method == "CONNECT":
                    host, port = target.rsplit(":", 1)
                    up = socket.create_connection((host, int(port)))
                    conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    self._pipe(conn, up, buf)
                    return
                from urllib.parse import urlsplit

                u = urlsplit(target)
                up = socket.create_connection((u.hostname or "", u.port or 80))
                kept = [f"{k}:{v}" for k, v in headers
                        if k.lower() not in ("proxy-authorization", "connection", "proxy-connection")]
                path = (u.path or "/") + (f"?{u.query}" if u.query else "")
                up.sendall("\r\n".join([f"{method} {path} HTTP/1.1", *kept, "Connection: close", "", ""])
                           .encode("latin-1"))
                while data := up.recv(65536):
                    conn.sendall(data)
                up.close()
                return
        except OSError:
            pass
        finally:
            conn.close()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket, first: bytes) -> None:
        if first:
            b.sendall(first)

        def copy(src: socket.socket, dst: socket.socket) -> None:
            try:
                while data := src.recv(65536):
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                for s in (src, dst):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

        t = threading.Thread(target=copy, args=(b, a), daemon=True)
        t.start()
        copy(a, b)
        t.join(5)
        b.close()


@pytest.fixture
def digest_proxy() -> Iterator[DigestProxy]:
    p = DigestProxy()
    yield p
    p.close()
