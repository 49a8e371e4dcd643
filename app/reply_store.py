"""Where the live list keeps its replies, without Qt: recent ones in memory, older ones on disk.

The list shows every reply of the session, but a core ``Reply`` costs kilobytes (headers, timings,
the request) plus its body. The store keeps the newest finished replies and the running ones as
they are; older ones are written by a background thread to an append-only archive in a private
session directory (``records.jsonl`` + ``bodies.bin``) and dropped from memory. ``get(row)`` returns
either the live ``Reply`` or an ``ArchivedReply`` with the same reading surface (status, headers,
``sent_headers``, redirects, TLS, timings, ``body.read_at``), so views never care which.

Credential headers (Authorization, Proxy-Authorization, Cookie, Set-Cookie) are never written
to the archive: their values are replaced by ``REDACTED``.
"""

from __future__ import annotations

import os
import threading
from array import array
from collections import OrderedDict
from dataclasses import asdict, is_dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the core is imported when the first archived reply is read, not at start-up
    from core.reply import Reply
    from core.timings import HopTimings

REDACTED = "[not kept: credential]"
SECRET_HEADERS = {"authorization", "proxy-authorization", "cookie", "set-cookie"}
_CHUNK = 1 << 20


def redact(headers: list[tuple[str, str]], names: set[str] = SECRET_HEADERS) -> list[tuple[str, str]]:
    return [(k, REDACTED if k.lower() in names else v) for k, v in headers]


class ArchivedBody:
    """A reply body copied into the session's ``bodies.bin``: random access like ``SpooledBody``."""

    def __init__(self, store: ReplyStore, offset: int, size: int) -> None:
        self._store, self._offset, self.size = store, offset, size
        self.on_disk = True

    def read_at(self, offset: int, size: int) -> bytes:
        if offset >= self.size or size <= 0:
            return b""
        size = min(size, self.size - offset)
        return self._store._read_body(self._offset + offset, size)

    def getvalue(self) -> bytes:
        return self.read_at(0, self.size)


class ArchivedReply:
    """What details views read, rebuilt from an archive record (see ``Reply``)."""

    is_finished = True
    is_running = False

    def __init__(self, rec: dict[str, Any], body: ArchivedBody) -> None:
        from core.errors import NetworkError
        from core.reply import RedirectHop, TlsInfo
        from core.timings import Timings

        self.method: str = rec["method"]
        self.url: str = rec["url"]
        self.request_url: str = rec.get("request_url", rec["url"])
        self.status: int | None = rec["status"]
        self.reason: str = rec["reason"]
        self.headers = [tuple(h) for h in rec["headers"]]
        self.sent_headers = [tuple(h) for h in rec["sent_headers"]]
        self.request_headers = [tuple(h) for h in rec.get("request_headers", [])]
        self.http_version: str | None = rec["http_version"]
        self.remote_address: str | None = rec["remote_address"]
        self.error = NetworkError[rec["error"]] if rec["error"] in NetworkError.__members__ else NetworkError.UnknownNetworkError
        self.error_string: str = rec["error_string"]
        self.redirects = [RedirectHop(**h) for h in rec["redirects"]]
        self.from_cache: bool | None = rec["from_cache"]
        t = rec.get("tls")
        self.tls = TlsInfo(version=t["version"], cipher=t["cipher"], alpn=t["alpn"],
                           peer_chain=t["peer_chain"], session_resumed=t["session_resumed"],
                           errors=t.get("errors", []), verification=t.get("verification") or "verified") if t else None
        tm = rec["timings"]
        self.timings = Timings(wall_start=tm["wall_start"], start=tm["start"], end=tm["end"],
                               hops=[_hop(h) for h in tm["hops"]])
        self.body = body
        self.bytes_received: int = rec["bytes_received"]
        self.archived = True

    def header(self, name: str) -> str | None:
        low = name.lower()
        return next((v for k, v in self.headers if k.lower() == low), None)

    def header_values(self, name: str) -> list[str]:
        low = name.lower()
        return [v for k, v in self.headers if k.lower() == low]


def _hop(h: dict[str, Any]) -> HopTimings:
    from core.timings import ConnectionTimings, HopTimings

    c = ConnectionTimings(**h.pop("connection"))
    return HopTimings(connection=c, **h)


def cert_summary(cert: Any) -> dict[str, Any]:
    """What a user checks in a certificate (``core.tls.Certificate`` or anything shaped like it)."""
    out: dict[str, Any] = {}
    for key, attr in (("Subject", "subject"), ("Issuer", "issuer"), ("Valid from", "not_before"),
                      ("Valid until", "not_after"), ("Alternative names", "subject_alt_names"),
                      ("Key", "key_type"), ("Key size", "key_size"), ("Serial", "serial_number"),
                      ("SHA-256", "sha256_colons")):
        try:
            value = getattr(cert, attr)
        except Exception:  # a certificate cryptography cannot parse: show what can be shown
            continue
        if isinstance(value, list):
            value = ", ".join(str(x) for x in value)
        out[key] = None if value is None else str(value)
    return out


def _jsonable(v: Any) -> Any:
    if hasattr(v, "subject") and hasattr(v, "sha256"):
        return cert_summary(v)
    if is_dataclass(v) and not isinstance(v, type):
        return {k: _jsonable(x) for k, x in asdict(v).items()}
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if v is None or isinstance(v, str | int | float | bool):
        return v
    return str(v)


def record_of(reply: Reply) -> dict[str, Any]:
    """The archive record of a finished reply (credential headers redacted)."""
    tm = reply.timings
    tls = reply.tls
    return {
        "method": reply.method, "url": reply.url, "request_url": reply.request.url, "status": reply.status, "reason": reply.reason,
        "headers": redact(list(reply.headers)), "sent_headers": redact(list(reply.sent_headers)),
        "request_headers": redact(list(reply.request.headers)),
        "http_version": reply.http_version, "remote_address": reply.remote_address,
        "error": reply.error.name, "error_string": reply.error_string,
        "redirects": [asdict(h) for h in reply.redirects], "from_cache": reply.from_cache,
        "tls": None if tls is None else {"version": tls.version, "cipher": tls.cipher, "alpn": tls.alpn,
                                         "peer_chain": _jsonable(tls.peer_chain),
                                         "session_resumed": tls.session_resumed,
                                         "errors": [str(e) for e in getattr(tls, "errors", [])],
                                         "verification": getattr(tls, "verification", None)},
        "timings": {"wall_start": tm.wall_start, "start": tm.start, "end": tm.end,
                    "hops": [asdict(h) for h in tm.hops]},
        "bytes_received": reply.bytes_received,
    }


class ReplyStore:
    """Row id → reply. ``keep`` finished replies (and at most ``memory_budget`` bytes of in-memory
    bodies) stay live; older ones move to the archive in the background."""

    def __init__(self, keep: int = 500, memory_budget: int = 64 << 20, directory: str | None = None) -> None:
        self.keep, self.memory_budget = keep, memory_budget
        self._live: dict[int, Reply] = {}
        self._finished: OrderedDict[int, int] = OrderedDict()  # finished live rows → in-memory body bytes
        self._finished_bytes = 0
        self._pending: dict[int, Reply] = {}  # being written to the archive
        self._offsets = array("q")  # row → offset of its record in records.jsonl, -1 when not archived
        self._lengths = array("l")
        self.pinned: set[int] = set()  # rows a view shows: never evicted while pinned
        self._dir = directory
        self._records_fd: int | None = None
        self._bodies_fd: int | None = None
        self._records_end = 0
        self._bodies_end = 0
        self._lock = threading.Lock()
        self._pool: Any = None  # a one-thread ThreadPoolExecutor, made when the first reply is archived
        self._to_write: list[tuple[int, Reply]] = []  # evicted, waiting for the writer (guarded by _qlock)
        self._writing = False  # a writer task is queued or running (guarded by _qlock)
        self._qlock = threading.Lock()
        self._closed = False

    def __len__(self) -> int:
        return len(self._offsets)

    # -- adding ----------------------------------------------------------------------------
    def add(self, reply: Reply) -> int:
        row = len(self._offsets)
        self._offsets.append(-1)
        self._lengths.append(0)
        self._live[row] = reply
        return row

    def add_placeholder(self) -> int:
        """A row without a reply (synthetic rows, e.g. benchmarks)."""
        row = len(self._offsets)
        self._offsets.append(-1)
        self._lengths.append(0)
        return row

    def finished(self, row: int) -> None:
        """The reply of ``row`` finished: it may now be archived when it gets old."""
        reply = self._live.get(row)
        if reply is None or row in self._finished:
            return
        mem = 0 if reply.body.on_disk else reply.body.size
        self._finished[row] = mem
        self._finished_bytes += mem
        self._evict()

    def _evict(self) -> None:
        if self._closed:
            return
        skipped: list[tuple[int, int]] = []
        while self._finished and (len(self._finished) > self.keep or self._finished_bytes > self.memory_budget):
            row, mem = self._finished.popitem(last=False)
            if row in self.pinned:
                skipped.append((row, mem))
                continue
            self._finished_bytes -= mem
            reply = self._live.pop(row, None)
            if reply is None:
                continue
            self._pending[row] = reply
            with self._qlock:
                self._to_write.append((row, reply))
                start, self._writing = not self._writing, True
            if start:
                if self._pool is None:
                    from concurrent.futures import ThreadPoolExecutor

                    self._pool = ThreadPoolExecutor(1, thread_name_prefix="courier-archive")
                self._pool.submit(self._write_loop)
        for row, mem in reversed(skipped):
            self._finished[row] = mem
            self._finished.move_to_end(row, last=False)

    # -- reading ---------------------------------------------------------------------------
    def get(self, row: int) -> Reply | ArchivedReply | None:
        reply = self._live.get(row)
        if reply is not None:
            return reply
        reply = self._pending.get(row)
        if reply is not None:
            return reply
        if row < 0 or row >= len(self._offsets) or self._offsets[row] < 0:
            return None
        return self._load(row)

    def is_live(self, row: int) -> bool:
        return row in self._live or row in self._pending

    def live_count(self) -> int:
        return len(self._live) + len(self._pending)

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Block until queued archive writes are done (tests, shutdown)."""
        if self._pool is not None:
            self._pool.submit(lambda: None).result(timeout)

    # -- the archive (worker thread for writes) --------------------------------------------
    def _open(self) -> None:
        if self._records_fd is not None:
            return
        import tempfile

        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix="courier-session-")  # mode 0700
            self._own_dir = True
        else:
            os.makedirs(self._dir, mode=0o700, exist_ok=True)
            self._own_dir = False
        flags = os.O_RDWR | os.O_CREAT | os.O_TRUNC
        self._records_fd = os.open(os.path.join(self._dir, "records.jsonl"), flags, 0o600)
        self._bodies_fd = os.open(os.path.join(self._dir, "bodies.bin"), flags, 0o600)

    def _write_loop(self) -> None:
        """Writer thread: archive evicted replies a batch at a time until none are waiting.

        One task and two writes per batch, not per reply: every write releases the GIL and taking
        it back competes with the GUI and network threads (thousands of times a second under load).
        """
        while True:
            with self._qlock:
                batch, self._to_write = self._to_write, []
                if not batch:
                    self._writing = False
                    return
            self._archive(batch)

    def _archive(self, batch: list[tuple[int, Reply]]) -> None:
        import json  # here, not at start-up: the window imports this module before its first paint

        written: list[tuple[int, Reply]] = []
        try:
            with self._lock:
                self._open()
                assert self._records_fd is not None and self._bodies_fd is not None
                lines: list[bytes] = []
                bodies = bytearray()
                bodies_at = self._bodies_end  # where ``bodies`` goes in the file
                for _row, reply in batch:
                    rec = record_of(reply)
                    size = reply.body.size
                    start = bodies_at + len(bodies)
                    if size <= _CHUNK:
                        chunk = reply.body.read_at(0, size) if size else b""
                        bodies += chunk
                        kept = len(chunk)
                        if len(bodies) >= 4 * _CHUNK:  # bounded buffer
                            os.pwrite(self._bodies_fd, bodies, bodies_at)
                            bodies_at += len(bodies)
                            bodies.clear()
                    else:  # a big body goes straight to the file, a chunk at a time
                        os.pwrite(self._bodies_fd, bodies, bodies_at)
                        bodies_at += len(bodies)
                        bodies.clear()
                        start, kept = bodies_at, 0
                        while kept < size:
                            chunk = reply.body.read_at(kept, min(_CHUNK, size - kept))
                            if not chunk:
                                break
                            os.pwrite(self._bodies_fd, chunk, start + kept)
                            kept += len(chunk)
                        bodies_at += kept
                    rec["body_offset"], rec["body_size"] = start, kept
                    lines.append((json.dumps(rec, separators=(",", ":")) + "\n").encode())
                if bodies:
                    os.pwrite(self._bodies_fd, bodies, bodies_at)
                    bodies_at += len(bodies)
                self._bodies_end = bodies_at
                os.pwrite(self._records_fd, b"".join(lines), self._records_end)
                at = self._records_end
                for (row, reply), line in zip(batch, lines, strict=True):
                    self._lengths[row] = len(line)
                    self._offsets[row] = at
                    at += len(line)
                    written.append((row, reply))
                self._records_end = at
        except Exception:  # a full disk must not lose the replies: keep them live instead
            for row, reply in batch:
                self._live[row] = reply
            written = []
        finally:
            for row, _ in batch:
                self._pending.pop(row, None)
        for _, reply in written:
            reply.close()

    def _load(self, row: int) -> ArchivedReply | None:
        with self._lock:
            if self._records_fd is None:
                return None
            line = os.pread(self._records_fd, self._lengths[row], self._offsets[row])
        import json

        rec = json.loads(line)
        return ArchivedReply(rec, ArchivedBody(self, rec["body_offset"], rec["body_size"]))

    def _read_body(self, offset: int, size: int) -> bytes:
        with self._lock:
            if self._bodies_fd is None:
                return b""
            return os.pread(self._bodies_fd, size, offset)

    def close(self) -> None:
        """Stop archiving and delete the session archive."""
        self._closed = True
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            for fd in (self._records_fd, self._bodies_fd):
                if fd is not None:
                    os.close(fd)
            self._records_fd = self._bodies_fd = None
            if self._dir is not None and getattr(self, "_own_dir", False):
                import shutil

                shutil.rmtree(self._dir, ignore_errors=True)
        for reply in list(self._live.values()):
            if reply.is_finished:
                reply.close()
        self._live.clear()
        self._finished.clear()
