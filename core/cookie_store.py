"""A cookie jar's persistent store: SQLite in WAL mode, one transaction per change.

A crash (even ``kill -9``) in the middle of a write loses at most that write: SQLite's journal
rolls an unfinished transaction back when the file is opened again. Session cookies are kept only
in memory unless ``keep_session_cookies`` is set (browsers forget them on restart too); expired
cookies are dropped when the store is loaded. QNAM's jar has no persistence at all (C9).
A damaged file makes the constructor raise and is left untouched; ``open_or_recreate`` (what an app
opening its own store wants) moves it aside and starts a new one, with a message.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from core.cookies import Cookie, CookieKey, SameSite

SCHEMA_VERSION = 1


class CookieStoreError(Exception):
    """The store cannot be opened or written; the message says which file and why."""


class CookieStoreTooNew(CookieStoreError):
    """The store was written by a newer Courier: it is left alone, never moved or recreated."""


class SqliteCookieStore:
    def __init__(self, path: str | os.PathLike[str], keep_session_cookies: bool = False,
                 timeout: float = 5.0) -> None:
        self.path = Path(path)
        self.keep_session_cookies = keep_session_cookies
        self._seq = 0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None,
                                       check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: consistent after a crash
            with self._tx():
                self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
                self._db.execute(
                    "CREATE TABLE IF NOT EXISTS cookies (name TEXT NOT NULL, domain TEXT NOT NULL, "
                    "path TEXT NOT NULL, value TEXT NOT NULL, expires REAL, secure INTEGER NOT NULL, "
                    "http_only INTEGER NOT NULL, same_site TEXT NOT NULL, seq INTEGER NOT NULL, "
                    "PRIMARY KEY (name, domain, path))")
                row = self._db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
                if row is None:
                    self._db.execute("INSERT INTO meta VALUES ('version', ?)", (str(SCHEMA_VERSION),))
                elif int(row[0]) > SCHEMA_VERSION:
                    raise CookieStoreTooNew(f"Cookie store {self.path} was written by a newer Courier "
                                           f"(format {row[0]}); it was left untouched")
            row = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM cookies").fetchone()
            self._seq = int(row[0])
        except sqlite3.DatabaseError as exc:
            raise CookieStoreError(f"Cannot open the cookie store {self.path}: {exc}. "
                                   "The file was left untouched.") from exc

    @classmethod
    def open_or_recreate(cls, path: str | os.PathLike[str], keep_session_cookies: bool = False,
                         timeout: float = 5.0) -> tuple[SqliteCookieStore, str | None]:
        """Open the store; a damaged one is moved aside (``cookies.sqlite.corrupt-<time>``, with its
        -wal and -shm) and a new, empty one started. Returns the store and a message for the user
        (None when all was well). A store from a newer Courier is never moved: that still raises."""
        path = Path(path)
        try:
            store = cls(path, keep_session_cookies, timeout)
            try:
                rows = store._db.execute("PRAGMA quick_check").fetchall()
                if rows != [("ok",)]:
                    raise sqlite3.DatabaseError("; ".join(str(r[0]) for r in rows[:3]))
                store.load()
            except (sqlite3.DatabaseError, CookieStoreError):
                store.close()
                raise
            return store, None
        except CookieStoreTooNew:
            raise
        except (sqlite3.DatabaseError, CookieStoreError) as exc:
            reason = exc.__cause__ or exc
        stamp = time.strftime("%Y%m%d-%H%M%S")
        aside = path.with_name(f"{path.name}.corrupt-{stamp}")
        os.replace(path, aside)
        for suffix in ("-wal", "-shm"):
            side = path.with_name(path.name + suffix)
            if side.exists():
                os.replace(side, aside.with_name(aside.name + suffix))
        return cls(path, keep_session_cookies, timeout), (
            f"The cookie store {path} could not be read ({reason}); it was moved to {aside.name} and a new, "
            "empty one was started.")

    def _tx(self) -> _Transaction:
        return _Transaction(self._db)

    def load(self, now: float | None = None) -> list[Cookie]:
        """The stored cookies in insertion order, without expired ones (which are purged)."""
        now = time.time() if now is None else now
        try:
            with self._tx():
                self._db.execute("DELETE FROM cookies WHERE expires IS NOT NULL AND expires < ?", (now,))
            rows = self._db.execute("SELECT name, value, domain, path, expires, secure, http_only, same_site "
                                    "FROM cookies ORDER BY seq").fetchall()
        except sqlite3.DatabaseError as exc:
            raise CookieStoreError(f"Cannot read the cookie store {self.path}: {exc}") from exc
        out = []
        for name, value, domain, path, expires, secure, http_only, same_site in rows:
            try:
                site = SameSite(same_site)
            except ValueError:
                site = SameSite.DEFAULT
            out.append(Cookie(name, value, domain, path, expires, bool(secure), bool(http_only), site))
        return out

    def put(self, cookie: Cookie) -> None:
        if cookie.is_session and not self.keep_session_cookies:
            self.delete(cookie.key)  # a persistent cookie replaced by a session one
            return
        self._seq += 1
        self._write("INSERT OR REPLACE INTO cookies VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (cookie.name, cookie.domain, cookie.path, cookie.value, cookie.expires,
                     int(cookie.secure), int(cookie.http_only), cookie.same_site.value, self._seq))

    def delete(self, key: CookieKey) -> None:
        self._write("DELETE FROM cookies WHERE name = ? AND domain = ? AND path = ?", key)

    def replace_all(self, cookies: list[Cookie]) -> None:
        try:
            with self._tx():
                self._db.execute("DELETE FROM cookies")
                for c in cookies:
                    if c.is_session and not self.keep_session_cookies:
                        continue
                    self._seq += 1
                    self._db.execute("INSERT OR REPLACE INTO cookies VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                     (c.name, c.domain, c.path, c.value, c.expires, int(c.secure),
                                      int(c.http_only), c.same_site.value, self._seq))
        except sqlite3.DatabaseError as exc:
            raise CookieStoreError(f"Cannot write the cookie store {self.path}: {exc}") from exc

    def _write(self, sql: str, params: tuple[object, ...]) -> None:
        try:
            with self._tx():
                self._db.execute(sql, params)
        except sqlite3.DatabaseError as exc:
            raise CookieStoreError(f"Cannot write the cookie store {self.path}: {exc}") from exc

    def close(self) -> None:
        self._db.close()


class _Transaction:
    """``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back on any error."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.db.execute("COMMIT")
        else:
            self.db.execute("ROLLBACK")
