"""The load scenario of tests/test_load.py, run in child processes so that their numbers are their own.

``python -m tests.load_harness serve N``: N loopback HTTP/1.1 listeners (keep-alive, one asyncio
loop) on 127.0.0.1; prints ``{"ports": [...]}`` and serves until its stdin closes. ``GET /size/<n>``
answers n bytes, ``GET /stats`` the open and most simultaneous connections, anything else a short
body naming the path.

``python -m tests.load_harness client PORTS-JSON``: one ``core.NetworkManager`` on uvloop (as in the
app's network thread) sends 1,000 requests at once across the listeners, several times, then 10,000
one after the other, after a warm-up of both. It prints one JSON object: failures, memory (RSS and
Python's allocated blocks) after the warm-up and after the run, and what is left afterwards
(asyncio tasks, pooled connections after ``clear_connection_cache()``, threads, file descriptors,
``courier-body-*`` temp files, live ``Reply`` objects).
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
import tempfile
import threading
import time
from typing import Any

BIG = 5 * 1024 * 1024  # above the 4 MiB spool threshold: these bodies go to a temp file
BIG_EVERY = 100  # one request in a hundred of a parallel round fetches a big body


# -- the server ------------------------------------------------------------------------------
class _Stats:
    open = 0
    peak = 0
    accepted = 0
    requests = 0


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    _Stats.open += 1
    _Stats.accepted += 1
    _Stats.peak = max(_Stats.peak, _Stats.open)
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                return
            _Stats.requests += 1
            path = head.split(b" ", 2)[1].decode("latin-1")
            if path.startswith("/size/"):
                n = int(path[6:])
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % n)
                block = b"x" * 65536
                while n > 0:
                    writer.write(block[: min(n, 65536)])
                    n -= 65536
                    await writer.drain()
                continue
            if path == "/stats":
                body = json.dumps({"open": _Stats.open - 1, "peak": _Stats.peak, "accepted": _Stats.accepted,
                                   "requests": _Stats.requests}).encode()
            else:
                body = b"ok " + path.encode()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s"
                         % (len(body), body))
            await writer.drain()
    finally:
        _Stats.open -= 1
        writer.close()


async def _serve(count: int) -> None:
    servers = [await asyncio.start_server(_handle, "127.0.0.1", 0, backlog=512) for _ in range(count)]
    ports = [s.sockets[0].getsockname()[1] for s in servers]
    print(json.dumps({"ports": ports}), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # the parent closes our stdin (or dies): stop
    for s in servers:
        s.close()


# -- the client ------------------------------------------------------------------------------
def _rss_kib() -> int:
    """Resident memory after glibc gives back the free memory it caches (``malloc_trim``): without it
    the figure says more about the allocator's moment than about what the client holds (seen: the same
    run +13% or -17% against the warm-up, with Python's allocated blocks +0.1% both times)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: the plain figure
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _body_files() -> int:
    return sum(1 for n in os.listdir(tempfile.gettempdir()) if n.startswith("courier-body-"))


def _live_replies() -> int:
    from core.reply import Reply

    return sum(1 for o in gc.get_objects() if isinstance(o, Reply))


def _expected(path: str) -> int:
    return int(path[6:]) if path.startswith("/size/") else len(b"ok ") + len(path)


class _Run:
    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.failures: list[str] = []
        self.sent = 0
        self.max_in_flight = 0
        self.max_body_files = 0

    def _check(self, reply: Any, path: str) -> None:
        from core import NetworkError

        self.sent += 1
        if reply.error is not NetworkError.NoError or reply.status != 200 or reply.body.size != _expected(path):
            if len(self.failures) < 10:
                self.failures.append(f"{reply.url}: {reply.error.name} {reply.error_string!r} "
                                     f"status={reply.status} size={reply.body.size}")
            else:
                self.failures.append("...")

    async def parallel(self, m: Any, n: int = 1000) -> None:
        """``n`` requests started at once across every listener; all awaited together."""
        paths = [f"/size/{BIG}" if i % BIG_EVERY == BIG_EVERY - 1 else f"/p/{i}" for i in range(n)]
        replies = [m.get(f"http://127.0.0.1:{self.ports[i % len(self.ports)]}{p}") for i, p in enumerate(paths)]
        self.max_in_flight = max(self.max_in_flight, len(m.active_replies()))
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in replies)), 120)
        self.max_body_files = max(self.max_body_files, _body_files())
        for r, p in zip(replies, paths, strict=True):
            self._check(r, p)
        del replies  # dropped, not closed: nothing may keep them (or their temp files) alive

    async def sequential(self, m: Any, n: int) -> None:
        for i in range(n):
            path = f"/s/{i}"
            r = m.get(f"http://127.0.0.1:{self.ports[i % len(self.ports)]}{path}")
            await asyncio.wait_for(r.wait(), 30)
            self._check(r, path)


async def _client(ports: list[int], rounds: int, sequential: int) -> dict[str, Any]:
    from core import NetworkManager

    loop = asyncio.get_running_loop()
    m = NetworkManager()
    run = _Run(ports)
    await run.sequential(m, 1)  # the loop's one-time descriptors (libuv keeps /dev/null open) and
    await m.clear_connection_cache()  # lazy imports belong to the baseline, not to the leftovers
    await asyncio.sleep(0.1)
    start = {"threads": threading.active_count(), "fds": _fds(), "tasks": len(asyncio.all_tasks(loop))}
    t0 = time.perf_counter()
    await run.parallel(m)  # warm-up: pools, buffers, caches, interned strings reach their size
    await run.sequential(m, 1000)
    gc.collect()
    warm = {"rss_kib": _rss_kib(), "blocks": sys.getallocatedblocks()}
    t1 = time.perf_counter()
    for _ in range(rounds):
        await run.parallel(m)
    t2 = time.perf_counter()
    await run.sequential(m, sequential)
    t3 = time.perf_counter()
    gc.collect()
    after = {"rss_kib": _rss_kib(), "blocks": sys.getallocatedblocks()}
    pooled_before_clear = m.transport.connection_count()
    await m.clear_connection_cache()
    await asyncio.sleep(0.2)  # transports close on the next loop iterations
    gc.collect()
    left = {"tasks": len(asyncio.all_tasks(loop)) - start["tasks"],
            "pooled_connections": m.transport.connection_count(),
            "threads": threading.active_count() - start["threads"],
            "fds": _fds() - start["fds"],
            "body_files": _body_files(),
            "replies": _live_replies()}
    return {"sent": run.sent, "failures": run.failures, "max_in_flight": run.max_in_flight,
            "max_body_files": run.max_body_files, "pooled_before_clear": pooled_before_clear,
            "warm": warm, "after": after, "left": left,
            "seconds": {"warm_up": round(t1 - t0, 2), "parallel": round(t2 - t1, 2),
                        "sequential": round(t3 - t2, 2)},
            "rounds": rounds, "sequential": sequential}


def main(argv: list[str]) -> None:
    if argv[0] == "serve":
        asyncio.run(_serve(int(argv[1])))
        return
    import uvloop

    ports = json.loads(argv[1])
    rounds = int(argv[2]) if len(argv) > 2 else 3
    sequential = int(argv[3]) if len(argv) > 3 else 10_000
    result = uvloop.run(_client(ports, rounds, sequential))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
