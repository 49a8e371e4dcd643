"""A reply body kept in memory up to a threshold, then in a temporary file.

A 2 GB download never sits in RAM, and the UI can page through the file (``read_at``).
"""

from __future__ import annotations

import os
import tempfile
import threading

DEFAULT_THRESHOLD = 4 * 1024 * 1024


class SpooledBody:
    def __init__(self, threshold: int = DEFAULT_THRESHOLD, directory: str | None = None) -> None:
        self._threshold = threshold
        self._dir = directory
        self._mem = bytearray()
        self._fd: int | None = None
        self._path: str | None = None
        self._size = 0
        self._pos = 0  # sequential read position (QIODevice-like)
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        return self._size

    @property
    def on_disk(self) -> bool:
        return self._fd is not None

    @property
    def path(self) -> str | None:
        return self._path

    def append(self, data: bytes) -> None:
        with self._lock:
            if self._fd is None and len(self._mem) + len(data) > self._threshold:
                fd, path = tempfile.mkstemp(prefix="courier-body-", dir=self._dir)
                self._fd, self._path = fd, path
                if self._mem:
                    os.write(fd, self._mem)
                self._mem = bytearray()
            if self._fd is not None:
                view = memoryview(data)
                while view:
                    n = os.write(self._fd, view)
                    view = view[n:]
            else:
                self._mem += data
            self._size += len(data)

    def read_at(self, offset: int, size: int) -> bytes:
        """Random access for paging views."""
        with self._lock:
            if self._fd is None:
                return bytes(self._mem[offset:offset + size])
            return os.pread(self._fd, size, offset)

    def read(self, size: int = -1) -> bytes:
        """Sequential read from the current position, like QIODevice::read."""
        avail = self._size - self._pos
        n = avail if size < 0 else min(size, avail)
        data = self.read_at(self._pos, n) if n > 0 else b""
        self._pos += len(data)
        return data

    def bytes_available(self) -> int:
        return self._size - self._pos

    def getvalue(self) -> bytes:
        """The whole body (use ``read_at`` for big bodies)."""
        return self.read_at(0, self._size)

    def truncate(self) -> None:
        with self._lock:
            self._mem = bytearray()
            self._size = self._pos = 0
            if self._fd is not None:
                os.ftruncate(self._fd, 0)

    def close(self) -> None:
        """Release memory and delete the temporary file."""
        with self._lock:
            self._mem = bytearray()
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            if self._path is not None:
                try:
                    os.unlink(self._path)
                except FileNotFoundError:
                    pass
                self._path = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
