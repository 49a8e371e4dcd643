"""When a reply reads, validates, stores and invalidates cache entries, as QNAM does (K1–K8).

QNAM's rules, quirks included: PreferNetwork and PreferCache both serve a fresh entry without
touching the network (K2); AlwaysCache serves even an expired entry unless it says ``no-cache`` or
``must-revalidate``, and never for HEAD (K3); validators go out whenever an entry exists (K4); a 304
merges its headers into the entry and serves the stored body (K4); freshness is computed at store
time from ``max-age`` or ``Expires``, else heuristically from ``Date`` and ``Last-Modified`` (K5),
and counts whole seconds the way ``QDateTime::secsTo`` does; only GET responses are stored, without
hop-by-hop headers, ``Set-Cookie`` or 1xx warnings, and other methods invalidate the URL (K6); a
HEAD is answered with the cached body (K7); ``from_cache`` is True only for cached replies (K8).
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from typing import TYPE_CHECKING

from core import events as ev
from core.cache import CacheEntry, CacheWriter, DiskCache
from core.cookies import parse_cookie_date
from core.errors import CourierError, NetworkError
from core.request import Attribute, CacheLoadControl

if TYPE_CHECKING:
    from core.reply import Reply
    from core.timings import HopTimings

HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
                        "trailer", "trailers", "transfer-encoding", "upgrade", "set-cookie", "set-cookie2"})
NO_TRANSFORM = frozenset({"content-encoding", "content-range", "content-type"})  # kept from the entry on merge
CHUNK = 256 * 1024


def cache_control(value: str | None) -> dict[str, str]:
    """``Cache-Control`` directives, lower-cased names (Qt's parseHttpOptionHeader)."""
    out: dict[str, str] = {}
    for part in (value or "").split(","):
        name, _, arg = part.partition("=")
        name = name.strip().lower()
        if name:
            out[name] = arg.strip().strip('"')
    return out


def parse_http_date(value: str | None) -> float | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
        if parsed.tzinfo is not None:
            return parsed.timestamp()
    except (TypeError, ValueError, IndexError):
        pass
    return parse_cookie_date(value)


def _int(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() else None


def _storable(name: str, value: str) -> bool:
    low = name.lower()
    if low in HOP_BY_HOP:
        return False
    return not (low == "warning" and len(value) == 3 and value[0] == "1" and value[1:].isdigit())


def _replace_or_append(headers: list[tuple[str, str]], name: str, value: str) -> list[tuple[str, str]]:
    """``QHttpHeaders::replaceOrAppend``: one header of that name remains, where the first was."""
    low = name.lower()
    at = next((i for i, (k, _) in enumerate(headers) if k.lower() == low), None)
    if at is None:
        return [*headers, (name, value)]
    out = [(k, v) for i, (k, v) in enumerate(headers) if i == at or k.lower() != low]
    out[at] = (name, value)
    return out


def storable_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The headers an entry keeps: no hop-by-hop, Set-Cookie or ``Warning: 1xx``, one per name (K6)."""
    return merge_headers([], headers, 200)


def merge_headers(old: list[tuple[str, str]], new: list[tuple[str, str]], status: int) -> list[tuple[str, str]]:
    """New headers replace stored ones, except the no-transform ones the entry has (K4)."""
    merged = list(old)
    for k, v in new:
        low = k.lower()
        if not _storable(k, v):
            continue
        if low in NO_TRANSFORM and any(name.lower() == low for name, _ in old):
            continue
        if status == 304 and low == "content-length":
            continue  # some servers send "Content-Length: 0" on a 304
        merged = _replace_or_append(merged, k, v)
    return merged


def fill_dates(entry: CacheEntry, now: float) -> None:
    """Expiration and Last-Modified from the entry's headers, as QNAM computes them on store."""
    cc = cache_control(entry.header("cache-control"))
    max_age = cc.get("max-age")
    if max_age:  # QByteArray::toInt: an unparsable max-age counts as 0
        entry.expires = now + (int(max_age) if max_age.lstrip("+-").isdigit() else 0)
    elif (expires := entry.header("expires")) is not None:
        stamp = parse_http_date(expires)
        if stamp is not None:
            entry.expires = stamp
    modified = parse_http_date(entry.header("last-modified"))
    if modified is not None:
        entry.last_modified = modified


def is_fresh(entry: CacheEntry, now: float) -> bool:
    """K5: before the expiration date (counting whole seconds), else Qt's heuristic."""
    if entry.expires is not None:
        return int(entry.expires - now) >= 0  # QDateTime::secsTo truncates toward zero
    date = parse_http_date(entry.header("date"))
    age = _int(entry.header("age")) or 0
    if entry.last_modified is None or date is None:
        return False
    current_age = max(max(0, int(now) - int(date)), age)
    lifetime = int((int(date) - int(entry.last_modified)) / 10)
    return lifetime > current_age


class CacheUse:
    """The cache's part in one reply: what to serve, which headers to add, what to store."""

    def __init__(self, cache: DiskCache | None, reply: Reply) -> None:
        req = reply.request
        self.cache = cache
        self.reply = reply
        self.mode: CacheLoadControl = req.attribute(Attribute.CACHE_LOAD_CONTROL, CacheLoadControl.PREFER_NETWORK)
        self.save = bool(req.attribute(Attribute.CACHE_SAVE_CONTROL, True))
        self.entry: CacheEntry | None = None  # the entry validators were sent for

    def before_send(self, method: str, url: str, headers: list[tuple[str, str]],
                    has_body: bool) -> tuple[CacheEntry | None, list[tuple[str, str]]]:
        """The entry to serve instead of the network, or the headers to add to the request."""
        self.entry = None
        present = {k.lower() for k, _ in headers}
        if method not in ("GET", "HEAD"):
            if self.cache is not None:
                self.cache.remove(url)  # K6: POST, PUT, DELETE and custom verbs invalidate
            return None, []
        if has_body:
            return None, []  # W14: a GET with a body never meets the cache
        if self.mode is CacheLoadControl.ALWAYS_CACHE:
            return self._always_cache(method, url), []
        if self.mode is CacheLoadControl.ALWAYS_NETWORK:
            if "cache-control" in present:
                return None, []
            return None, [("Cache-Control", "no-cache"), ("Pragma", "no-cache")]  # K1
        if "range" in present or self.cache is None:
            return None, []
        entry = self.cache.metadata(url)
        if entry is None or not entry.save_to_disk:
            return None, []
        length = _int(entry.header("content-length"))
        if length is not None and entry.size < length:
            return None, []
        self.entry = entry
        extra: list[tuple[str, str]] = []
        etag = entry.header("etag")
        if etag and "if-none-match" not in present:
            extra.append(("If-None-Match", etag))
        if entry.last_modified is not None and "if-modified-since" not in present:
            extra.append(("If-Modified-Since", email.utils.formatdate(entry.last_modified, usegmt=True)))
        if "no-cache" in cache_control(entry.header("cache-control")):
            return None, extra
        if is_fresh(entry, time.time()):
            return entry, []
        return None, extra

    def _always_cache(self, method: str, url: str) -> CacheEntry:
        """K3: the entry whatever its age; a miss, HEAD, no-cache or must-revalidate is an error."""
        entry = self.cache.metadata(url) if self.cache is not None and method == "GET" else None
        if entry is not None:
            for i, (k, v) in enumerate(entry.headers):
                low = v.lower()
                if k.lower() == "cache-control" and ("must-revalidate" in low or "no-cache" in low):
                    # QNAM has set the stored status and the headers before this one by now
                    self.reply.status, self.reply.reason = entry.status, entry.reason
                    self.reply.headers = entry.headers[:i]
                    entry = None
                    break
        if entry is None:
            raise CourierError(NetworkError.ContentNotFoundError, f"Error opening {url}")
        return entry

    def revalidated(self, url: str, status: int, headers: list[tuple[str, str]]) -> CacheEntry | None:
        """A 304 for an entry we have: merge its headers, keep the entry, and serve it (K4)."""
        if status != 304 or self.cache is None:
            return None
        entry = self.entry or self.cache.metadata(url)
        if entry is None:
            return None
        entry.headers = merge_headers(entry.headers, headers, status)
        fill_dates(entry, time.time())
        self.cache.update_metadata(entry)
        return entry

    def writer(self, method: str, url: str, status: int, reason: str, headers: list[tuple[str, str]],
               has_body: bool, redirection_target: str | None) -> CacheWriter | None:
        """Start storing a GET response (K6), or None if it may not be stored."""
        if self.cache is None or not self.save or method != "GET" or has_body:
            return None
        if status in (206, 303, 304) or status >= 400:
            return None
        entry = CacheEntry(url, status, reason, storable_headers(headers),
                           redirection_target=redirection_target)
        if "no-store" in cache_control(entry.header("cache-control")):
            entry.save_to_disk = False
        return self.cache.prepare(entry)

    def store(self, writer: CacheWriter, reply: Reply) -> None:
        """The body is complete: store it with the headers the reply ended up with (E2)."""
        assert self.cache is not None
        writer.entry.headers = storable_headers(reply.headers)
        fill_dates(writer.entry, time.time())
        self.cache.insert(writer)

    async def serve(self, entry: CacheEntry, hop: HopTimings) -> None:
        """Answer the reply from ``entry``: stored status and headers, the body streamed from disk.

        After a 304 the hop keeps its network status; a hop answered by the cache alone is marked.
        """
        reply = self.reply
        reply.status = entry.status if entry.status >= 100 else 200
        reply.reason = entry.reason
        reply.headers = list(entry.headers)
        reply.from_cache = True
        reply.redirection_target = entry.redirection_target  # a 3xx stored under the Manual policy
        if hop.status is None:
            hop.from_cache, hop.status = True, reply.status
        hop.response_start = hop.response_start or time.perf_counter()
        reply.emit(ev.MetaDataChanged(reply))
        body = self.cache.open_body(entry.url) if self.cache is not None else None
        store = bool(reply.request.attribute(Attribute.STORE_BODY, True))
        if body is not None:
            with body:
                while chunk := body.read(CHUNK):
                    reply.bytes_received += len(chunk)
                    if store:
                        reply.body.append(chunk)
                    reply.emit(ev.ReadyRead(reply, len(chunk), None if store else chunk))
                    await asyncio.sleep(0)  # a big entry does not hold the loop
        hop.response_end = time.perf_counter()
        reply.emit(ev.DownloadProgress(reply, reply.bytes_received, reply.bytes_received))
