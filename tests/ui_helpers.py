"""Helpers for the window tests and the UI benchmark: an event-loop stall monitor and big bodies."""

from __future__ import annotations

import json
import time
from pathlib import Path

from PySide6.QtCore import QObject, QTimer


class GapMonitor(QObject):
    """Ticks a QTimer every ``interval_ms`` and records the time between ticks: a long gap is a
    GUI stall (nothing else could run on the GUI thread meanwhile).

    Percentiles are taken over the run's time, not over the ticks: a starved timer ticks rarely,
    so a plain percentile of the recorded gaps would rest on a handful of samples and under-weight
    the long ones. Each gap counts for the ``interval_ms`` slots it covers (a 50 ms gap of a 2 ms
    timer is 25 slots, a 2 ms gap one), so ``percentile(99)`` is the stall a user meets at 99% of
    the moments of the run. ``percentile(p, weighted=False)`` is the plain per-tick figure.
    """

    def __init__(self, interval_ms: int = 4) -> None:
        super().__init__()
        self.interval = interval_ms / 1000
        self.gaps: list[float] = []
        self.busy: list[float] = []  # GUI-thread CPU time within each gap: our own work, not waiting
        self._last = 0.0
        self._last_cpu = 0.0
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.setTimerType(self._timer.timerType().PreciseTimer)
        self._timer.timeout.connect(self._tick)

    def start(self) -> GapMonitor:
        self.gaps.clear()
        self.busy.clear()
        self._last = time.perf_counter()
        self._last_cpu = time.thread_time()
        self._timer.start()
        return self

    def stop(self) -> None:
        self._timer.stop()
        self._tick()

    def _tick(self) -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        self.gaps.append(now - self._last)
        self.busy.append(cpu - self._last_cpu)
        self._last, self._last_cpu = now, cpu

    @property
    def longest(self) -> float:
        return max(self.gaps, default=0.0)

    @property
    def longest_busy(self) -> float:
        return max(self.busy, default=0.0)

    @property
    def slots(self) -> float:
        """How many timer intervals the recorded gaps cover (the weight of the percentiles)."""
        return sum(max(1.0, g / self.interval) for g in self.gaps)

    def percentile(self, p: float, busy: bool = False, weighted: bool = True) -> float:
        """The p-th percentile gap (or GUI CPU within a gap, ``busy``), each gap weighted by the
        timer slots it covers unless ``weighted`` is false (nearest rank either way)."""
        values = self.busy if busy else self.gaps
        if not values:
            return 0.0
        if not weighted:
            g = sorted(values)
            return g[min(len(g) - 1, int(len(g) * p / 100))]
        pairs = sorted(zip(values, (max(1.0, g / self.interval) for g in self.gaps), strict=True))
        total = sum(w for _, w in pairs)
        rank = total * p / 100
        seen = 0.0
        for value, w in pairs:
            seen += w
            if seen >= rank:
                return value
        return pairs[-1][0]


def write_big_json(path: Path, size: int) -> Path:
    """A JSON array of objects of about ``size`` bytes, written in 1 MiB blocks (fast)."""
    item = json.dumps({"id": 12345, "name": "courier-item", "tags": ["a", "b", "ç"], "ok": True,
                       "nested": {"x": 1.5, "y": None}}, ensure_ascii=False)
    block = (",".join([item] * max(1, (1 << 20) // (len(item) + 1)))).encode()
    with open(path, "wb") as fh:
        fh.write(b"[")
        written = 1
        first = True
        while written < size - len(block) - 2:
            if not first:
                fh.write(b",")
                written += 1
            fh.write(block)
            written += len(block)
            first = False
        fh.write(b"]")
    return path
