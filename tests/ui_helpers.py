"""Helpers for the window tests and the UI benchmark: an event-loop stall monitor and big bodies."""

from __future__ import annotations

import json
import time
from pathlib import Path

from PySide6.QtCore import QObject, QTimer


class GapMonitor(QObject):
    """Ticks a QTimer every ``interval_ms`` and records the time between ticks: a long gap is a
    GUI stall (nothing else could run on the GUI thread meanwhile)."""

    def __init__(self, interval_ms: int = 4) -> None:
        super().__init__()
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

    def percentile(self, p: float, busy: bool = False) -> float:
        values = self.busy if busy else self.gaps
        if not values:
            return 0.0
        g = sorted(values)
        return g[min(len(g) - 1, int(len(g) * p / 100))]


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
