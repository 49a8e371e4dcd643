"""History: every request sent, in SQLite (WAL), searchable, reopenable, with a retention limit.

Qt-free and thread-safe (one connection behind a lock), so the app can record from the network
thread's finished listener and search from the GUI. A database that cannot be read is moved aside
(``history.db.corrupt-<time>``) and a new one started; ``message`` then says so. Secrets stay out:
``Authorization``, ``Proxy-Authorization`` and ``Cookie`` values are stored as ``<redacted>``,
``Set-Cookie`` is not stored, a password in the URL is dropped, and a ``redact`` function (a resolver's) replaces secret variable
values in the URL, headers and body with ``{{name}}``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from app.collections.model import RequestItem
    from core.reply import Reply

DEFAULT_MAX_ENTRIES = 5000
BODY_LIMIT = 64 * 1024  # request bodies kept up to this size (bigger ones: size only)
REDACTED = "<redacted>"
SENSITIVE = {"authorization", "proxy-authorization", "cookie"}
DROPPED = {"set-cookie", "set-cookie2"}
SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started REAL NOT NULL,
    method TEXT NOT NULL,
    url TEXT NOT NULL,
    status INTEGER,
    reason TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '',
    http_version TEXT NOT NULL DEFAULT '',
    size INTEGER NOT NULL DEFAULT 0,
    duration REAL,
    timings TEXT NOT NULL DEFAULT '{}',
    request_headers TEXT NOT NULL DEFAULT '[]',
    request_body BLOB,
    request_body_size INTEGER NOT NULL DEFAULT 0,
    response_headers TEXT NOT NULL DEFAULT '[]',
    collection TEXT NOT NULL DEFAULT '',
    request_path TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS entries_started ON entries(started);
"""
_COLUMNS = ("id, started, method, url, status, reason, error, http_version, size, duration, timings, "
            "request_headers, request_body, request_body_size, response_headers, collection, request_path")


@dataclass
class HistoryEntry:
    method: str
    url: str
    started: float = field(default_factory=time.time)
    status: int | None = None
    reason: str = ""
    error: str = ""  # "" when the request got an answer without a transfer error
    http_version: str = ""
    size: int = 0  # response body bytes
    duration: float | None = None  # seconds
    timings: dict[str, float | None] = field(default_factory=dict)  # Chrome's phases, seconds
    request_headers: list[tuple[str, str]] = field(default_factory=list)
    request_body: bytes | None = None
    request_body_size: int = 0
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    collection: str = ""  # the collection folder, when sent from one
    request_path: str = ""  # the request's path in it
    id: int | None = None

    def to_request_item(self) -> RequestItem:
        """The request again, to open in the composer (redacted values stay redacted)."""
        from app.collections.model import Body, Header, RequestItem

        headers = [Header(k, v) for k, v in self.request_headers]
        body = Body()
        if self.request_body is not None:
            ctype = next((v for k, v in self.request_headers if k.lower() == "content-type"), "")
            text = self.request_body.decode("utf-8", errors="replace")
            kind = "json" if "json" in ctype else "xml" if "xml" in ctype else "text"
            body = Body(kind, text, content_type=ctype or None)
        name = f"{self.method} {self.url}"
        return RequestItem(name=name[:80], method=self.method, url=self.url, headers=headers, body=body)


def default_path() -> Path:
    from app.settings import data_dir

    return data_dir() / "history.db"


def redact_url_password(url: str) -> str:
    """``http://user:secret@host/`` → ``http://user@host/``: a password typed into a URL is never kept
    (a ``{{variable}}`` in its place is only a name and stays)."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url
    if not password or "{{" in password:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return urlunsplit((parts.scheme, f"{user}@{hostport}", parts.path, parts.query, parts.fragment))


def clean_headers(headers: Iterable[tuple[str, str]], redact: Callable[[str], str] | None,
                  keep_sensitive: bool = False) -> list[tuple[str, str]]:
    out = []
    for k, v in headers:
        low = k.lower()
        if low in DROPPED and not keep_sensitive:
            continue
        if low in SENSITIVE and not keep_sensitive:
            v = REDACTED
        elif redact is not None:
            v = redact(v)
        out.append((k, v))
    return out


class History:
    def __init__(self, path: str | os.PathLike[str] | None = None, max_entries: int = DEFAULT_MAX_ENTRIES,
                 max_age_days: float | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        self.max_entries = max_entries
        self.max_age_days = max_age_days
        self.message: str | None = None  # set when the database had to be moved aside
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = self._open()
        except sqlite3.DatabaseError as exc:
            moved = self._move_aside()
            self.message = (f"The history database could not be read ({exc}); it was moved to {moved} and "
                            "a new, empty history was started.")
            self._db = self._open()

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, check_same_thread=False, timeout=10)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            rows = db.execute("PRAGMA quick_check").fetchall()
            if rows != [("ok",)]:
                raise sqlite3.DatabaseError("; ".join(str(r[0]) for r in rows[:3]))
            db.executescript(SCHEMA)
            db.execute("SELECT " + _COLUMNS + " FROM entries LIMIT 1").fetchall()
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def _move_aside(self) -> Path:
        target = self.path.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
        n = 1
        while target.exists():
            n += 1
            target = self.path.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}-{n}")
        os.replace(self.path, target)
        for suffix in ("-wal", "-shm"):
            side = self.path.with_name(self.path.name + suffix)
            if side.exists():
                os.replace(side, target.with_name(target.name + suffix))
        return target

    # -- writing ---------------------------------------------------------------------------
    def add(self, entry: HistoryEntry) -> int:
        body = entry.request_body
        if body is not None and len(body) > BODY_LIMIT:
            body = None
        row = (entry.started, entry.method, entry.url, entry.status, entry.reason, entry.error,
               entry.http_version, entry.size, entry.duration, json.dumps(entry.timings),
               json.dumps(entry.request_headers), body, entry.request_body_size or len(entry.request_body or b""),
               json.dumps(entry.response_headers), entry.collection, entry.request_path)
        with self._lock:
            try:
                cur = self._db.execute(
                    "INSERT INTO entries (started, method, url, status, reason, error, http_version, size,"
                    " duration, timings, request_headers, request_body, request_body_size, response_headers,"
                    " collection, request_path) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
                entry.id = int(cur.lastrowid or 0)
                self._prune_locked()
                self._db.commit()
            except sqlite3.DatabaseError as exc:  # damaged while open: say so, never crash the app
                self.message = f"The history could not be saved ({exc}); restart Courier to start a new one."
                return -1
        return entry.id

    def record(self, reply: Reply, request_body: bytes | None = None,
               redact: Callable[[str], str] | None = None, collection: str = "", request_path: str = "") -> int:
        """Add a finished core reply."""
        from core.errors import NetworkError, error_for_status

        red = redact or (lambda s: s)
        hops = reply.timings.hops
        phases = hops[-1].phases() if hops else {}
        error = ""
        if reply.error is not NetworkError.NoError and (reply.status is None
                                                        or reply.error is not error_for_status(reply.status)):
            error = f"{reply.error.name}: {red(reply.error_string)}"
        body_text = None
        if request_body is not None and redact is not None:
            try:
                body_text = redact(request_body.decode("utf-8")).encode("utf-8")
            except UnicodeDecodeError:
                body_text = request_body
        entry = HistoryEntry(
            method=reply.method, url=redact_url_password(red(reply.request.url)), started=reply.timings.wall_start,
            status=reply.status, reason=reply.reason, error=error, http_version=reply.http_version or "",
            size=reply.bytes_received, duration=reply.timings.total, timings=dict(phases),
            request_headers=clean_headers(reply.request.headers, redact),
            request_body=body_text if body_text is not None else request_body,
            request_body_size=len(request_body or b""),
            response_headers=clean_headers(reply.headers, redact), collection=collection,
            request_path=request_path)
        return self.add(entry)

    def _prune_locked(self) -> None:
        if self.max_age_days is not None:
            self._db.execute("DELETE FROM entries WHERE started < ?", (time.time() - self.max_age_days * 86400,))
        if self.max_entries > 0:
            self._db.execute("DELETE FROM entries WHERE id <= (SELECT id FROM entries ORDER BY id DESC "
                             "LIMIT 1 OFFSET ?)", (self.max_entries,))

    def set_retention(self, max_entries: int, max_age_days: float | None = None) -> None:
        with self._lock:
            self.max_entries, self.max_age_days = max_entries, max_age_days
            self._prune_locked()
            self._db.commit()

    def delete(self, entry_id: int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM entries WHERE id = ?", (entry_id,))
            self._db.commit()

    def clear(self) -> None:
        with self._lock:
            self._db.execute("DELETE FROM entries")
            self._db.commit()
            self._db.execute("VACUUM")

    # -- reading ---------------------------------------------------------------------------
    def search(self, text: str = "", limit: int = 200, offset: int = 0) -> list[HistoryEntry]:
        """Newest first. ``text`` matches part of the URL, a method, a status or an error."""
        text = text.strip()
        sql = "SELECT " + _COLUMNS + " FROM entries"
        args: list[Any] = []
        if text:
            pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            sql += (" WHERE url LIKE ? ESCAPE '\\' OR method = ? OR CAST(status AS TEXT) = ?"
                    " OR error LIKE ? ESCAPE '\\'")
            args += [pattern, text.upper(), text, pattern]
        sql += " ORDER BY id DESC LIMIT ? OFFSET ?"
        args += [limit, offset]
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [_entry(r) for r in rows]

    def get(self, entry_id: int) -> HistoryEntry | None:
        with self._lock:
            row = self._db.execute("SELECT " + _COLUMNS + " FROM entries WHERE id = ?", (entry_id,)).fetchone()
        return _entry(row) if row else None

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM entries").fetchone()[0])

    def journal_mode(self) -> str:
        with self._lock:
            return str(self._db.execute("PRAGMA journal_mode").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _entry(row: tuple[Any, ...]) -> HistoryEntry:
    (id_, started, method, url, status, reason, error, http_version, size, duration, timings, req_h, req_b,
     req_size, resp_h, collection, request_path) = row
    return HistoryEntry(method=method, url=url, started=started, status=status, reason=reason, error=error,
                        http_version=http_version, size=size, duration=duration, timings=json.loads(timings),
                        request_headers=[(k, v) for k, v in json.loads(req_h)],
                        request_body=bytes(req_b) if req_b is not None else None, request_body_size=req_size,
                        response_headers=[(k, v) for k, v in json.loads(resp_h)], collection=collection,
                        request_path=request_path, id=id_)
