"""One benchmark client run, in its own process (so its peak RSS is its own). Prints one JSON line.

    python -m bench.clients CLIENT WORK URL COUNT [--ca FILE] [--http2 | --no-http2] [--store]

CLIENT: core | httpx | qnam | curl.  WORK: small (COUNT GETs over <= 6 connections, or one HTTP/2
connection) | download (one GET of a big body, COUNT ignored). Core and httpx run on uvloop.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import ssl
import subprocess
import sys
import tempfile
import time
from typing import Any

WORKERS = 6


def _usage(children: bool = False) -> tuple[int, float]:
    """Peak RSS (KiB) and CPU seconds (user + system) of this process, or of its waited-for children."""
    u = resource.getrusage(resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF)
    return int(u.ru_maxrss), u.ru_utime + u.ru_stime


def _cpu(a: argparse.Namespace) -> float:
    """CPU seconds of the client: this process, or curl (a waited-for child)."""
    return _usage(children=True)[1] if a.client == "curl" else time.process_time()


def _ssl(ca: str | None) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca) if ca else ssl.create_default_context()


# -- core ------------------------------------------------------------------------------------------
async def core_run(a: argparse.Namespace) -> dict[str, Any]:
    from core import NetworkError, NetworkManager, Request
    from core.request import Attribute

    m = NetworkManager()
    m.transport.set_default_ssl_context(_ssl(a.ca))
    attrs: dict[Any, Any] = {Attribute.HTTP2_ALLOWED: a.http2}
    done = asyncio.get_running_loop().create_future()
    if a.work == "small":
        n = a.count
        finished = 0
        ok = 0

        def on_finished(reply: Any) -> None:
            nonlocal finished, ok
            finished += 1
            if reply.error is NetworkError.NoError and reply.status == 200 and reply.bytes_received > 0:
                ok += 1
            reply.close()
            if finished == n and not done.done():
                done.set_result(None)

        m.add_finished_listener(on_finished)
        t0, c0 = time.perf_counter(), _cpu(a)
        for _ in range(n):
            m.get(Request(a.url, attributes=dict(attrs)))
        await done
        elapsed = time.perf_counter() - t0
        versions = None
        await m.aclose()
        return {"ok": ok, "count": n, "seconds": elapsed, "cpu": _cpu(a) - c0, "versions": versions}
    attrs[Attribute.STORE_BODY] = a.store
    received = 0

    def on_event(e: Any) -> None:
        nonlocal received
        if type(e).__name__ == "ReadyRead" and e.data is not None:
            received += len(e.data)

    t0, c0 = time.perf_counter(), _cpu(a)
    r = m.get(Request(a.url, attributes=attrs))
    if not a.store:
        r.subscribe(on_event)
    await r.wait()
    elapsed = time.perf_counter() - t0
    size = r.body.size if a.store else received
    ok = int(r.error is NetworkError.NoError and size == r.bytes_received)
    r.close()
    await m.aclose()
    return {"ok": ok, "count": 1, "seconds": elapsed, "cpu": _cpu(a) - c0, "bytes": size,
            **({} if ok else {"error": r.error_string})}


# -- httpx -----------------------------------------------------------------------------------------
async def httpx_run(a: argparse.Namespace) -> dict[str, Any]:
    import httpx

    limits = httpx.Limits(max_connections=WORKERS, max_keepalive_connections=WORKERS)
    async with httpx.AsyncClient(verify=_ssl(a.ca), http2=a.http2, limits=limits) as client:
        if a.work == "small":
            left = a.count
            ok = 0

            async def worker() -> None:
                nonlocal left, ok
                while left > 0:
                    left -= 1
                    resp = await client.get(a.url)
                    if resp.status_code == 200 and resp.content:
                        ok += 1

            t0, c0 = time.perf_counter(), _cpu(a)
            await asyncio.gather(*(worker() for _ in range(WORKERS)))
            return {"ok": ok, "count": a.count, "seconds": time.perf_counter() - t0, "cpu": _cpu(a) - c0}
        t0, c0 = time.perf_counter(), _cpu(a)
        size = 0
        async with client.stream("GET", a.url) as resp:
            async for chunk in resp.aiter_raw():
                size += len(chunk)
        return {"ok": int(resp.status_code == 200), "count": 1, "seconds": time.perf_counter() - t0, "cpu": _cpu(a) - c0, "bytes": size}


# -- QNAM ------------------------------------------------------------------------------------------
def qnam_run(a: argparse.Namespace) -> dict[str, Any]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QCoreApplication, QUrl
    from PySide6.QtNetwork import (
        QNetworkAccessManager,
        QNetworkReply,
        QNetworkRequest,
        QSslCertificate,
        QSslConfiguration,
    )

    app = QCoreApplication.instance() or QCoreApplication([])
    nam = QNetworkAccessManager()
    conf = QSslConfiguration.defaultConfiguration()
    if a.ca:
        conf.setCaCertificates(conf.caCertificates() + QSslCertificate.fromPath(a.ca))
    req = QNetworkRequest(QUrl(a.url))
    req.setSslConfiguration(conf)
    req.setAttribute(QNetworkRequest.Attribute.Http2AllowedAttribute, a.http2)
    n = a.count if a.work == "small" else 1
    state = {"finished": 0, "ok": 0, "bytes": 0}

    def reader(reply: QNetworkReply) -> Any:
        def read() -> None:
            state["bytes"] += len(reply.readAll().data())
        return read

    def on_finished(reply: QNetworkReply) -> None:
        state["bytes"] += len(reply.readAll().data())
        state["finished"] += 1
        if reply.error() == QNetworkReply.NetworkError.NoError and \
                reply.attribute(QNetworkRequest.Attribute.HttpStatusCodeAttribute) == 200:
            state["ok"] += 1
        reply.deleteLater()
        if state["finished"] == n:
            app.quit()

    nam.finished.connect(on_finished)
    t0, c0 = time.perf_counter(), _cpu(a)
    for _ in range(n):
        reply = nam.get(req)
        reply.readyRead.connect(reader(reply))
    app.exec()
    elapsed = time.perf_counter() - t0
    return {"ok": state["ok"], "count": n, "seconds": elapsed, "cpu": _cpu(a) - c0, "bytes": state["bytes"]}


# -- curl ------------------------------------------------------------------------------------------
def curl_run(a: argparse.Namespace) -> dict[str, Any]:
    proto = ["--http2"] if a.http2 and a.url.startswith("https") else ["--http1.1"]
    base = ["curl", "-s", "--cacert", a.ca] if a.ca else ["curl", "-s"]
    if a.work == "small":
        with tempfile.NamedTemporaryFile("w", suffix=".curl", delete=False) as cfg:
            for _ in range(a.count):
                cfg.write(f'url = "{a.url}"\noutput = "/dev/null"\n')
        try:
            cmd = [*base, *proto, "--parallel", "--parallel-max", str(WORKERS), "-w", "%{http_code}\\n", "-K", cfg.name]
            t0, c0 = time.perf_counter(), _cpu(a)
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=300).stdout
            elapsed = time.perf_counter() - t0
        finally:
            os.unlink(cfg.name)
        return {"ok": out.split().count("200"), "count": a.count, "seconds": elapsed, "cpu": _cpu(a) - c0}
    cmd = [*base, *proto, "-o", "/dev/null", "-w", "%{http_code} %{size_download}", a.url]
    t0, c0 = time.perf_counter(), _cpu(a)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300).stdout.split()
    elapsed = time.perf_counter() - t0
    return {"ok": int(out[0] == "200"), "count": 1, "seconds": elapsed, "cpu": _cpu(a) - c0, "bytes": int(out[1])}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("client", choices=["core", "httpx", "qnam", "curl"])
    p.add_argument("work", choices=["small", "download"])
    p.add_argument("url")
    p.add_argument("count", type=int)
    p.add_argument("--ca")
    p.add_argument("--http2", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--store", action="store_true", help="core: keep the body (spooled), the default")
    a = p.parse_args(argv)
    if a.client in ("core", "httpx"):
        import uvloop

        result = uvloop.run(core_run(a) if a.client == "core" else httpx_run(a))
    elif a.client == "qnam":
        result = qnam_run(a)
    else:
        result = curl_run(a)
    result["rss_kb"] = _usage(children=a.client == "curl")[0]
    print(json.dumps(result))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
