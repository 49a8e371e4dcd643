"""The network thread: one asyncio loop (uvloop where available) running core.

Sharing the GIL with the GUI thread. A busy loop lets go of the GIL many thousand times a second
(uvloop around every poll, Python around every socket call) and takes it back within
microseconds. CPython's GIL wakes a waiting thread each time it is let go, but the waiter needs
tens of microseconds to run again and the loop has it back by then; and since it was woken, the
waiter starts its switch-interval wait (5 ms) afresh instead of asking for a forced switch. So
while 2,000 requests stream in, the GUI thread could wait for the GIL for 100 ms and more, many
times over, although it needed it for a few milliseconds (measured with uprobes on ``take_gil``:
the GUI thread ran 7-20 ms of its own work in 50-240 ms gaps). A smaller switch interval helps
only by chance (0.5 ms: 18 ms in one run, 123 ms in the next). ``yield_to_gui`` is the remedy:
while the GUI has work waiting (the bridge calls it), the loop sleeps ``NAP`` once per ``EVERY``,
a moment in which the GUI thread, asleep on the GIL, is sure to get it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

EVERY = 0.002  # seconds of network-thread work between two naps while the GUI has work waiting
NAP = 0.0002  # seconds: long enough for a sleeping GUI thread to wake and take the GIL


def new_event_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop

        return uvloop.new_event_loop()
    except ImportError:
        return asyncio.new_event_loop()


class NetworkThread:
    """Owns the loop. ``call`` runs a function on it; ``submit`` a coroutine."""

    def __init__(self) -> None:
        self.loop = new_event_loop()
        self._thread = threading.Thread(target=self._run, name="courier-network", daemon=True)
        self._started = threading.Event()
        self._last_nap = float("-inf")
        self.naps = 0  # (tests, benchmarks)

    def start(self) -> None:
        self._thread.start()
        self._started.wait()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._started.set)
        self.loop.run_forever()
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()

    def yield_to_gui(self) -> None:
        """Network thread, while the GUI thread has work waiting: let go of the GIL for ``NAP``
        when ``EVERY`` has passed since the last time (costs the loop ~10% while it is busy)."""
        now = time.perf_counter()
        if now - self._last_nap >= EVERY:
            time.sleep(NAP)
            self._last_nap = time.perf_counter()
            self.naps += 1

    def call(self, fn: Callable[..., Any], *args: Any) -> None:
        self.loop.call_soon_threadsafe(fn, *args)

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run_sync(self, fn: Callable[[], T], timeout: float = 10.0) -> T:
        """Run ``fn`` on the loop and wait for its result (never from the loop thread)."""
        async def wrapper() -> T:
            return fn()

        return self.submit(wrapper()).result(timeout)

    def stop(self, cleanup: Coroutine[Any, Any, Any] | None = None, timeout: float = 5.0) -> None:
        if not self._thread.is_alive():
            return
        if cleanup is not None:
            try:
                self.submit(cleanup).result(timeout)
            except Exception:
                pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)
