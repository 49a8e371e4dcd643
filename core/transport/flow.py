"""Write flow control shared by the HTTP/1.1 and HTTP/2 connections.

asyncio calls ``pause_writing`` when the transport's write buffer passes its high-water mark and
``resume_writing`` when it drained; a sender that finds writing paused awaits ``wait_drain``.
Closing the connection releases a waiting sender too (``_release_drain`` from ``connection_lost``).
"""

from __future__ import annotations

import asyncio


class WriteFlow:
    """Mixin for an ``asyncio.Protocol``: the paused flag and one drain future."""

    loop: asyncio.AbstractEventLoop
    _write_paused: bool = False
    _drain: asyncio.Future[None] | None = None

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self._release_drain()

    def _release_drain(self) -> None:
        d = self._drain
        if d is not None and not d.done():
            d.set_result(None)

    async def wait_drain(self) -> None:
        """Wait until the transport resumes writing (or the connection is lost)."""
        fut = self.loop.create_future()
        self._drain = fut
        await fut
