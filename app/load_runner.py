"""Repeat one request N times at concurrency C on the network thread (a quick load check).

``RepeatJob`` runs C worker coroutines on the core's loop that take the next repetition until N
are done or the job is stopped; every reply is bridged (it streams into the live list like any
other). Progress arrives on the GUI thread at most ten times a second. Both N and C are bounded.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, Signal

from app import gui_relay
from app.request_spec import RequestSpec

MAX_REPEAT = 100_000
MAX_CONCURRENCY = 256


@dataclass
class RepeatResult:
    total: int
    done: int = 0
    latencies: list[float] = field(default_factory=list)  # seconds, successful replies
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    elapsed: float = 0.0
    stopped: bool = False

    @property
    def rate(self) -> float:
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    def percentile(self, p: float) -> float | None:
        return percentile(sorted(self.latencies), p)


def percentile(ordered: list[float], p: float) -> float | None:
    """Nearest-rank percentile of already sorted values (p in 0..100)."""
    if not ordered:
        return None
    k = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(k, len(ordered)) - 1]


class RepeatJob(QObject):
    progress = Signal(object)  # RepeatResult (a snapshot in progress)
    finished = Signal(object)  # RepeatResult

    def __init__(self, manager: Any, spec: RequestSpec, count: int, concurrency: int,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        if not 1 <= count <= MAX_REPEAT:
            raise ValueError(f"Repeat count must be between 1 and {MAX_REPEAT:,}")
        if not 1 <= concurrency <= MAX_CONCURRENCY:
            raise ValueError(f"Concurrency must be between 1 and {MAX_CONCURRENCY}")
        spec.build()  # refuse a broken request before starting
        gui_relay.install()
        self.manager, self.spec = manager, spec
        self.count, self.concurrency = count, min(concurrency, count)
        self.result = RepeatResult(total=count)
        self._stopped = False
        self._running: set[Any] = set()
        self._future: Any = None

    def start(self) -> None:
        self._future = self.manager.thread.submit(self._run())

    def stop(self) -> None:
        """Stop: no new repetitions, running ones are aborted."""
        self._stopped = True
        self.manager.thread.call(self._abort_running)

    def _abort_running(self) -> None:
        for reply in list(self._running):
            reply.abort()

    async def _run(self) -> None:
        res = self.result
        started = 0
        last_report = 0.0
        t0 = time.perf_counter()
        core = self.manager.core

        async def worker() -> None:
            nonlocal started, last_report
            while not self._stopped and started < self.count:
                started += 1
                verb, request, body = self.spec.build()
                reply = core.send_custom_request(request, verb, body)
                self.manager.observe(reply, self.spec, self.spec.credentials())
                self._running.add(reply)
                try:
                    await reply.wait()
                finally:
                    self._running.discard(reply)
                res.done += 1
                if reply.error.value != 0 and not reply.status:
                    res.errors[reply.error.name] += 1
                else:
                    res.statuses[reply.status or 0] += 1
                    if reply.timings.total is not None:
                        res.latencies.append(reply.timings.total)
                now = time.perf_counter()
                if now - last_report > 0.1:
                    last_report = now
                    res.elapsed = now - t0
                    self._emit(self.progress)

        try:
            await asyncio.gather(*(worker() for _ in range(self.concurrency)))
        finally:
            res.elapsed = time.perf_counter() - t0
            res.stopped = self._stopped
            self._emit(self.finished)

    def _emit(self, signal: Any) -> None:
        """Network thread: a snapshot for the GUI thread, where the job may already be deleted."""
        r = self.result
        snap = RepeatResult(r.total, r.done, list(r.latencies), Counter(r.statuses), Counter(r.errors),
                            r.elapsed, r.stopped)

        def deliver() -> None:
            if gui_relay.alive(self):
                signal.emit(snap)

        gui_relay.post(deliver)
