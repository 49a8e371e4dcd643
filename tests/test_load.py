"""Load: 1,000 requests in flight across 50 loopback hosts and 10,000 in a row through one manager.

The client runs in its own process (tests/load_harness.py) so that its memory is its own; the 50
listeners run in another. Every reply must finish without error; memory after the run must be
within 10% of memory after a warm-up; nothing may be left behind (tasks, pooled connections after
``clear_connection_cache()``, threads, file descriptors, ``courier-body-*`` temp files, replies).
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import subprocess
import sys
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core import Attribute, NetworkError, NetworkManager, Request
from tests.robust_results import record
from tests.servers import HypercornServer

ROOT = Path(__file__).resolve().parents[1]
HOSTS = 50
ROUNDS = 2  # measured rounds of 1,000 parallel requests (after one warm-up round)
SEQUENTIAL = 10_000


@pytest.fixture(scope="module")
def listeners() -> Iterator[list[int]]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "tests.load_harness", "serve", str(HOSTS)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=ROOT)
    try:
        assert proc.stdout is not None
        ports = json.loads(proc.stdout.readline())["ports"]
        assert len(ports) == HOSTS
        yield ports
    finally:
        assert proc.stdin is not None
        proc.stdin.close()  # the server stops when its stdin closes
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        if proc.stdout is not None:
            proc.stdout.close()


def _stats(port: int) -> dict[str, Any]:
    import http.client

    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", "/stats")
        return dict(json.loads(c.getresponse().read()))
    finally:
        c.close()


def test_a_thousand_in_flight_and_ten_thousand_in_a_row(listeners: list[int], tmp_path: Path) -> None:
    tmpdir = tmp_path / "tmp"  # the client's own temp dir: its courier-body-* files are counted exactly
    tmpdir.mkdir()
    env = dict(os.environ, PYTHONPATH=str(ROOT), TMPDIR=str(tmpdir))
    done = subprocess.run([sys.executable, "-m", "tests.load_harness", "client", json.dumps(listeners),
                           str(ROUNDS), str(SEQUENTIAL)], capture_output=True, env=env, cwd=ROOT, timeout=240)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-3000:]
    out = json.loads(done.stdout.decode().strip().splitlines()[-1])
    server = _stats(listeners[0])
    warm, after, left = out["warm"], out["after"], out["left"]
    rss_change = after["rss_kib"] / warm["rss_kib"] - 1
    blocks_change = after["blocks"] / warm["blocks"] - 1
    measured = ROUNDS * 1000 + SEQUENTIAL
    leftovers = (f"tasks {left['tasks']}, pooled connections {left['pooled_connections']} (were "
                 f"{out['pooled_before_clear']}), threads {left['threads']}, fds {left['fds']}, "
                 f"courier-body-* files {left['body_files']}, live replies {left['replies']}")
    failures = len(out["failures"])
    record("Load", f"1,000 requests in flight across {HOSTS} loopback hosts ({ROUNDS} rounds after a warm-up; "
           "1 in 100 is a 5 MiB body spooled to disk)",
           "every reply NoError; 6 connections per host; memory after within 10% of after the warm-up",
           f"{ROUNDS * 1000} replies, {failures} failed; {out['max_in_flight']} in flight at once; "
           f"{out['pooled_before_clear']} pooled connections; {out['max_body_files']} body files at the peak; "
           f"{out['seconds']['parallel']} s", leftovers)
    record("Load", f"{SEQUENTIAL:,} sequential requests through one manager (after 1,000 warm-up requests)",
           "every reply NoError; memory returns to within 10%",
           f"{SEQUENTIAL} replies, {failures} failed, {out['seconds']['sequential']} s; RSS "
           f"{warm['rss_kib'] // 1024} MiB → {after['rss_kib'] // 1024} MiB ({rss_change:+.1%}); Python blocks "
           f"{warm['blocks']:,} → {after['blocks']:,} ({blocks_change:+.1%}) over all {measured:,} measured "
           "requests", leftovers)
    assert out["failures"] == [], out["failures"]
    assert out["sent"] == 1 + 1000 + 1000 + measured  # primer, warm-up (1,000 parallel + 1,000 in a row), measured
    assert out["max_in_flight"] == 1000
    assert out["pooled_before_clear"] == HOSTS * 6  # QNAM's 6 connections per HTTP/1.1 origin
    assert out["max_body_files"] >= 10  # the big bodies really went to disk
    assert rss_change <= 0.10, out
    assert blocks_change <= 0.10, out
    assert left == {"tasks": 0, "pooled_connections": 0, "threads": 0, "fds": 0, "body_files": 0, "replies": 0}, left
    assert list(tmpdir.iterdir()) == []
    assert server["open"] == 0, server  # the client really closed every socket
    assert server["peak"] >= HOSTS * 6


@pytest.mark.parametrize("scheme,h2", [("http", False), ("https", False), ("https", True)])
def test_a_pooled_connection_does_not_keep_the_reply_that_opened_it(anyloop: asyncio.AbstractEventLoop,
                                                                   tls_files: dict[str, str],
                                                                   scheme: str, h2: bool) -> None:
    """Found by the load test: the connection kept the context of the task that opened it, and with
    it that task's reply (body and temp file included) for as long as the connection lived."""
    server = HypercornServer(certfile=tls_files["cert"] if scheme == "https" else None,
                             keyfile=tls_files["key"] if scheme == "https" else None).start()

    async def go() -> tuple[bool, int, int]:
        import ssl

        m = NetworkManager()
        m.transport.set_default_ssl_context(ssl.create_default_context(cafile=tls_files["ca"]))
        req = Request(server.url + "/bytes/5000000")  # past the spool threshold: a temp file
        req.attributes[Attribute.HTTP2_ALLOWED] = h2
        reply = m.get(req)
        await reply.wait()
        assert reply.error is NetworkError.NoError and reply.body.on_disk
        path = reply.body.path
        ref = weakref.ref(reply)
        del reply
        gc.collect()
        alive = ref() is not None
        pooled = m.transport.connection_count()
        exists = int(path is not None and os.path.exists(path))
        await m.aclose()
        return alive, pooled, exists

    try:
        alive, pooled, exists = anyloop.run_until_complete(go())
    finally:
        server.stop()
    assert pooled == 1  # the connection is still pooled...
    assert not alive and not exists  # ...but the reply and its temp file are gone
