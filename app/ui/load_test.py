"""The load-test tab: repeat the current tab's request N times at concurrency C and show the
latency distribution (histogram, p50/p90/p99), requests per second, statuses and errors.
pyqtgraph is imported when this tab is first opened.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.load_runner import MAX_CONCURRENCY, MAX_REPEAT, RepeatJob, RepeatResult, percentile


def summary_text(r: RepeatResult) -> str:
    lat = sorted(r.latencies)
    parts = [f"{r.done:,} of {r.total:,} done in {r.elapsed:.2f} s · {r.rate:,.0f} requests/s"]
    if lat:
        def ms(p: float) -> str:
            v = percentile(lat, p)
            return "—" if v is None else f"{v * 1000:.1f} ms"

        parts.append(f"p50 {ms(50)} · p90 {ms(90)} · p99 {ms(99)} · min {lat[0] * 1000:.1f} ms · "
                     f"max {lat[-1] * 1000:.1f} ms · mean {sum(lat) / len(lat) * 1000:.1f} ms")
    if r.statuses:
        parts.append("Statuses: " + ", ".join(f"{s}×{n:,}" for s, n in sorted(r.statuses.items())))
    if r.errors:
        parts.append("Errors: " + ", ".join(f"{e}×{n:,}" for e, n in r.errors.most_common()))
    if r.stopped:
        parts.append("Stopped.")
    return "\n".join(parts)


class LoadTestPanel(QWidget):
    def __init__(self, manager: Any, window: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        import pyqtgraph as pg

        self.manager, self.window = manager, window
        self.count = QSpinBox()
        self.count.setRange(1, MAX_REPEAT)
        self.count.setValue(100)
        self.count.setGroupSeparatorShown(True)
        self.concurrency = QSpinBox()
        self.concurrency.setRange(1, MAX_CONCURRENCY)
        self.concurrency.setValue(6)
        self.run_button = QPushButton("Run")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.progress = QProgressBar()
        self.summary = QLabel("Repeats the request of the current tab.")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form = QFormLayout()
        form.addRow("Repeat", self.count)
        form.addRow("Concurrency", self.concurrency)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        self.plot = pg.PlotWidget(background=self.palette().color(self.backgroundRole()))
        self.plot.setLabel("bottom", "latency (ms)")
        self.plot.setLabel("left", "replies")
        self._bars = pg.BarGraphItem(x=[], height=[], width=1, brush=QColor(33, 150, 243, 160))
        self.plot.addItem(self._bars)
        self._lines: list[Any] = []
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addLayout(buttons)
        lay.addWidget(self.progress)
        lay.addWidget(self.summary)
        lay.addWidget(self.plot, 1)
        self.run_button.clicked.connect(self.run)
        self.stop_button.clicked.connect(self.stop)
        self.job: RepeatJob | None = None
        self.last: RepeatResult | None = None

    def run(self) -> RepeatJob | None:
        if self.job is not None:
            return None
        spec = self.window.composer().spec()
        try:
            job = RepeatJob(self.manager, spec, self.count.value(), self.concurrency.value(), self)
        except (ValueError, OSError) as exc:
            self.summary.setText(f"Cannot run: {exc}")
            return None
        self.job = job
        job.progress.connect(self._show)
        job.finished.connect(self._done)
        self.progress.setRange(0, job.count)
        self.progress.setValue(0)
        self.run_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.summary.setText(f"Running {job.count:,} × {spec.method} {spec.url} at concurrency {job.concurrency}…")
        job.start()
        return job

    def stop(self) -> None:
        if self.job is not None:
            self.job.stop()

    def _done(self, r: RepeatResult) -> None:
        self._show(r)
        self.job = None
        self.last = r
        self.run_button.setEnabled(True)
        self.stop_button.setEnabled(False)

    def _show(self, r: RepeatResult) -> None:
        import numpy as np
        import pyqtgraph as pg

        self.progress.setValue(r.done)
        self.summary.setText(summary_text(r))
        if not r.latencies:
            return
        ms = np.asarray(r.latencies) * 1000
        bins = min(60, max(5, int(np.sqrt(len(ms)))))
        counts, edges = np.histogram(ms, bins=bins)
        width = edges[1] - edges[0] if len(edges) > 1 else 1
        self._bars.setOpts(x=(edges[:-1] + edges[1:]) / 2, height=counts, width=width * 0.9)
        for line in self._lines:
            self.plot.removeItem(line)
        self._lines = []
        lat = sorted(r.latencies)
        for p, color in ((50, (76, 175, 80)), (90, (255, 152, 0)), (99, (220, 50, 50))):
            v = percentile(lat, p)
            if v is not None:
                line = pg.InfiniteLine(v * 1000, angle=90, pen=pg.mkPen(color, width=2),
                                       label=f"p{p}", labelOpts={"position": 0.9})
                self.plot.addItem(line)
                self._lines.append(line)
