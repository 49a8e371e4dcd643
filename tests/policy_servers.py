"""Real servers for the redirect, cookie, cache and HSTS stories: an ASGI app of ours and the
``httpbin`` package (Flask, served as WSGI) both under hypercorn on 127.0.0.1.

The ASGI app's behaviour is chosen by the URL, so the same URL means the same thing to Courier and
to PySide6's QNAM:

* ``?set=<Set-Cookie value>`` (repeatable) adds ``Set-Cookie`` lines; ``?sts=<value>`` adds
  ``Strict-Transport-Security``; ``?hdr=Name:value`` adds any header;
* ``/echo...`` answers JSON with the method, path, headers and body it got;
* ``/to?url=<Location>&status=302`` redirects; ``/no-location``; ``/loop``;
  ``/chain/<n>?status=`` redirects n times, then echoes;
* ``/cache/<name>?cc=&etag=&lm=&expires=&cc304=`` answers ``<name> v<N>`` (N counts full
  answers for that URL) and 304 when a validator matches; ``script[path]`` overrides the status.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl

import pytest

from tests.servers import HypercornServer, Seen, read_request_body


class PolicyApp:
    def __init__(self) -> None:
        self.seen = Seen()
        self.versions: dict[str, int] = {}
        self.script: dict[str, dict[str, Any]] = {}

    def requests_to(self, path: str) -> list[dict[str, Any]]:
        return [r for r in self.seen.requests if r["path"] == path]

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        got = await read_request_body(scope, receive, send)
        if got is None:
            return
        body = got
        path: str = scope["path"]
        raw_qs = scope.get("query_string", b"").decode("latin-1")
        q = parse_qsl(raw_qs, keep_blank_values=True)
        qd = dict(q)
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        hd = {k: v for k, v in headers}
        self.seen.requests.append({"method": scope["method"], "path": path, "query": raw_qs,
                                   "headers": headers, "body": body, "scheme": scope.get("scheme")})
        self.seen.connections.add(tuple(scope.get("client") or ()))
        out_headers: list[tuple[str, str]] = []
        for k, v in q:
            if k == "set":
                out_headers.append(("Set-Cookie", v))
            elif k == "sts":
                out_headers.append(("Strict-Transport-Security", v))
            elif k == "hdr":
                name, _, value = v.partition(":")
                out_headers.append((name, value))
        status, out = 200, b""
        out: bytes | Pattern
        if path.startswith("/echo"):
            out = json.dumps({"method": scope["method"], "path": path, "query": raw_qs, "headers": headers,
                              "cookie": hd.get("cookie"), "body": body.decode("latin-1")}).encode()
            out_headers.append(("Content-Type", "application/json"))
        elif path == "/to":
            status = int(qd.get("status", "302"))
            out_headers.append(("Location", qd.get("url", "/echo")))
            out = qd.get("body", "redirect body").encode()
        elif path == "/no-location":
            status = int(qd.get("status", "302"))
            out = b"no location"
        elif path == "/loop":
            status = 302
            out_headers.append(("Location", "/loop"))
        elif path.startswith("/chain/"):
            n = int(path.split("/")[2])
            status = int(qd.get("status", "302"))
            nxt = f"/chain/{n - 1}" if n > 1 else "/echo/end"
            out_headers.append(("Location", nxt + (f"?{raw_qs}" if raw_qs and n > 1 else "")))
        elif path.startswith("/status/"):
            status = int(path.split("/")[2])
            out = f"status {status}".encode()
        elif path.startswith("/cache/"):
            status, out = self._cache(path, raw_qs, qd, hd, out_headers)
        else:
            out = b"hello " + path.encode()
        if status not in (204, 304):
            out_headers.append(("Content-Length", str(len(out))))
        else:
            out = b""
        await send({"type": "http.response.start", "status": status,
                    "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in out_headers]})
        if isinstance(out, Pattern):  # a big body, sent in chunks without building it in memory
            for chunk in out.chunks():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            out = b""
        await send({"type": "http.response.body", "body": out})

    def _cache(self, path: str, raw_qs: str, qd: dict[str, str], hd: dict[str, str],
               out_headers: list[tuple[str, str]]) -> tuple[int, bytes | Pattern]:
        key = path + "?" + raw_qs
        script = self.script.get(path, {})
        out_headers.append(("Date", email.utils.formatdate(time.time(), usegmt=True)))
        etag, lm = qd.get("etag"), qd.get("lm")
        if "status" in script:
            return int(script["status"]), f"scripted {script['status']}".encode()
        matched = (etag is not None and hd.get("if-none-match") == etag) or \
            (lm is not None and hd.get("if-modified-since") == lm)
        if matched and not script.get("no304"):
            if "cc304" in qd:
                out_headers.append(("Cache-Control", qd["cc304"]))
            if etag:
                out_headers.append(("ETag", etag))
            return 304, b""
        n = self.versions.get(key, 0) + 1
        self.versions[key] = n
        for name, param in (("Cache-Control", "cc"), ("ETag", "etag"), ("Last-Modified", "lm"),
                            ("Expires", "expires")):
            if param in qd:
                out_headers.append((name, qd[param]))
        if "size" in qd:
            return 200, Pattern(f"{path} v{n} ".encode(), int(qd["size"]))
        return 200, f"{path.rsplit('/', 1)[1]} v{n}".encode()


class Pattern:
    """``size`` bytes of ``unit`` repeated, produced chunk by chunk."""

    def __init__(self, unit: bytes, size: int) -> None:
        self.unit, self.size = unit, size

    def __len__(self) -> int:
        return self.size

    def chunks(self, chunk: int = 64 * 1024) -> Iterator[bytes]:
        block = self.unit * (chunk // len(self.unit) + 2)
        sent = 0
        while sent < self.size:
            offset = sent % len(self.unit)
            part = block[offset: offset + min(chunk, self.size - sent)]
            sent += len(part)
            yield part


class PolicyServer(HypercornServer):
    def __init__(self, **kw: Any) -> None:
        self.policy = PolicyApp()
        super().__init__(app=self.policy, **kw)
        self.seen = self.policy.seen

    def requests_to(self, path: str) -> list[dict[str, Any]]:
        return self.policy.requests_to(path)


@pytest.fixture(scope="session")
def policy_server() -> Iterator[PolicyServer]:
    s = PolicyServer()
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def policy_tls_server(tls_files: dict[str, str]) -> Iterator[PolicyServer]:
    s = PolicyServer(certfile=tls_files["cert"], keyfile=tls_files["key"])
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def httpbin_server() -> Iterator[HypercornServer]:
    """The ``httpbin`` package (Flask) served as a WSGI app by hypercorn."""
    import logging

    logging.getLogger("httpbin.core").setLevel(logging.ERROR)  # "flasgger is not installed"
    import httpbin

    s = HypercornServer(app=_with_a_first_chunk(httpbin.app), mode="wsgi")
    s.start()
    yield s
    s.stop()


def _with_a_first_chunk(app: Callable[..., Any]) -> Callable[..., Any]:
    """hypercorn's WSGI wrapper only starts the response on the first body chunk, so a bodiless
    answer (httpbin's 304) became a 500; give every answer at least an empty chunk."""
    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
        result = app(environ, start_response)

        def chunks() -> Iterator[bytes]:
            sent = False
            try:
                for chunk in result:
                    sent = True
                    yield chunk
                if not sent:
                    yield b""
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()

        return chunks()

    return wsgi
