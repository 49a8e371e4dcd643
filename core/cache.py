"""A disk cache for HTTP replies, like ``QNetworkDiskCache`` (reference K9).

Each entry is two files named by the SHA-256 of its URL (QNAM keys on the URL only, no Vary):
``<hash>.body`` holds the body and ``<hash>.meta`` the status, headers and dates as JSON. Bodies are
streamed to a temporary file while the reply downloads and moved into place when it completes, so
a big body never sits in memory and a crash never leaves a half-written entry behind (a body
without metadata, or metadata whose body has the wrong size, is dropped when seen). When an insert
pushes the cache over its maximum size (default 50 MiB) the oldest entries by insertion time are
deleted until it is under 90% (QNAM's rule, not LRU); a reply whose Content-Length is over 3/4 of
the maximum is not cached.

Why not hishel: see docs/cache.md.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

DEFAULT_MAX_SIZE = 50 * 1024 * 1024
FORMAT_VERSION = 1
_TMP = ".courier-tmp-"


@dataclass(slots=True)
class CacheEntry:
    """``QNetworkCacheMetaData``: what is stored about a URL besides its body."""

    url: str
    status: int = 200
    reason: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    expires: float | None = None  # expiration date, computed when stored (max-age or Expires)
    last_modified: float | None = None
    save_to_disk: bool = True
    redirection_target: str | None = None
    inserted: float = 0.0  # insertion ("birth") time: eviction order
    size: int = 0  # body bytes

    def header(self, name: str) -> str | None:
        low = name.lower()
        for k, v in self.headers:
            if k.lower() == low:
                return v
        return None

    def to_json(self) -> bytes:
        data = asdict(self)
        data["version"] = FORMAT_VERSION
        return json.dumps(data, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> CacheEntry:
        data: dict[str, Any] = json.loads(raw)
        if data.pop("version", None) != FORMAT_VERSION:
            raise ValueError("unknown cache entry format")
        data["headers"] = [(str(k), str(v)) for k, v in data["headers"]]
        return cls(**data)


class CacheWriter:
    """The body of one reply on its way into the cache (``QNetworkDiskCache::prepare``)."""

    def __init__(self, cache: DiskCache, entry: CacheEntry) -> None:
        self.cache = cache
        self.entry = entry
        fd, self.path = tempfile.mkstemp(prefix=_TMP, suffix=".body", dir=cache.directory)
        self._fh: BinaryIO | None = os.fdopen(fd, "wb")
        self.size = 0

    def write(self, data: bytes) -> None:
        if self._fh is not None:
            self._fh.write(data)
            self.size += len(data)

    def abort(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        with contextlib.suppress(OSError):
            os.unlink(self.path)

    def _close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


class DiskCache:
    """The cache directory and its index (URL hash → insertion time and size)."""

    def __init__(self, directory: str | os.PathLike[str], max_size: int = DEFAULT_MAX_SIZE) -> None:
        self.directory = Path(directory)
        self.max_size = max_size
        self.directory.mkdir(parents=True, exist_ok=True)
        self._index: dict[str, tuple[float, int]] | None = None

    # -- lookup ----------------------------------------------------------------------------
    @staticmethod
    def _key(url: str) -> str:
        return hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()

    def _paths(self, key: str) -> tuple[Path, Path]:
        return self.directory / f"{key}.meta", self.directory / f"{key}.body"

    def metadata(self, url: str) -> CacheEntry | None:
        """The entry for ``url``, or None (a damaged or incomplete entry is removed)."""
        key = self._key(url)
        meta, body = self._paths(key)
        self.index  # noqa: B018 - the first lookup scans the folder (and drops crash leftovers)
        try:
            entry = CacheEntry.from_json(meta.read_bytes())
            if entry.url != url or body.stat().st_size != entry.size:
                raise ValueError("entry does not match its body")
        except FileNotFoundError:
            if key in self.index:
                self._forget(key)
            return None
        except (ValueError, TypeError, KeyError, OSError):
            self._forget(key)
            return None
        return entry

    def open_body(self, url: str) -> BinaryIO | None:
        """The stored body, opened for reading in chunks; None if it is gone."""
        try:
            return open(self._paths(self._key(url))[1], "rb")
        except OSError:
            return None

    # -- storing ---------------------------------------------------------------------------
    def prepare(self, entry: CacheEntry) -> CacheWriter | None:
        """A writer for ``entry``'s body, or None when it may not be cached (K6, K9)."""
        if not entry.save_to_disk:
            return None
        length = entry.header("content-length")
        if length is not None and length.strip().isdigit() and int(length) > self.max_size * 3 // 4:
            return None
        try:
            return CacheWriter(self, entry)
        except OSError:
            return None

    def insert(self, writer: CacheWriter) -> None:
        """Move a complete body into place with its metadata; then evict if over the limit."""
        writer._close()
        entry = writer.entry
        entry.size = writer.size
        entry.inserted = time.time()
        key = self._key(entry.url)
        meta, body = self._paths(key)
        try:
            os.replace(writer.path, body)
            _atomic_write(meta, entry.to_json())
        except OSError:
            writer.abort()
            self._forget(key)
            return
        self.index[key] = (entry.inserted, entry.size)
        if self.cache_size() > self.max_size:
            self.expire()

    def update_metadata(self, entry: CacheEntry) -> None:
        """Replace the metadata of an existing entry (a 304 merged new headers into it, K4)."""
        key = self._key(entry.url)
        if key not in self.index:
            return
        with contextlib.suppress(OSError):
            _atomic_write(self._paths(key)[0], entry.to_json())

    def remove(self, url: str) -> bool:
        key = self._key(url)
        existed = key in self.index
        self._forget(key)
        return existed

    def clear(self) -> None:
        for key in list(self.index):
            self._forget(key)

    # -- size and eviction -----------------------------------------------------------------
    @property
    def index(self) -> dict[str, tuple[float, int]]:
        if self._index is None:
            self._index = self._scan()
        return self._index

    def cache_size(self) -> int:
        return sum(size for _, size in self.index.values())

    def expire(self) -> int:
        """Delete the oldest insertions until the cache is below 90% of its maximum (K9)."""
        goal = self.max_size * 9 // 10
        total = self.cache_size()
        for key, (_, size) in sorted(self.index.items(), key=lambda kv: kv[1][0]):
            if total <= goal:
                break
            self._forget(key)
            total -= size
        return total

    def entries(self) -> Iterator[CacheEntry]:
        """Every entry (for a cache view), oldest first."""
        for key, _ in sorted(self.index.items(), key=lambda kv: kv[1][0]):
            try:
                yield CacheEntry.from_json(self._paths(key)[0].read_bytes())
            except (OSError, ValueError, TypeError, KeyError):
                continue

    def _forget(self, key: str) -> None:
        if self._index is not None:
            self._index.pop(key, None)
        for path in self._paths(key):
            with contextlib.suppress(OSError):
                path.unlink()

    def _scan(self) -> dict[str, tuple[float, int]]:
        """Build the index from the folder; drop leftovers of interrupted writes."""
        index: dict[str, tuple[float, int]] = {}
        for path in self.directory.iterdir():
            name = path.name
            if name.startswith(_TMP):
                with contextlib.suppress(OSError):
                    path.unlink()
                continue
            if not name.endswith(".meta"):
                continue
            key = name[: -len(".meta")]
            try:
                entry = CacheEntry.from_json(path.read_bytes())
                if self._paths(key)[1].stat().st_size != entry.size:
                    raise ValueError("incomplete entry")
            except (OSError, ValueError, TypeError, KeyError):
                self._forget(key)
                continue
            index[key] = (entry.inserted, entry.size)
        for path in self.directory.glob("*.body"):
            if path.name[: -len(".body")] not in index:
                with contextlib.suppress(OSError):
                    path.unlink()
        return index


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=_TMP, suffix=".meta", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
