"""Timing views: the per-reply phase bar (plain QPainter, always available) and the graphs — a
waterfall of all replies on a shared timeline and live throughput — drawn with pyqtgraph, which
is imported only when the Timeline tab is first shown (its import alone costs about a second).
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

PHASES = ["queued", "dns", "connect", "tls", "sent", "waiting", "download"]
PHASE_LABELS = {"queued": "Queued", "dns": "DNS lookup", "connect": "Connect", "tls": "TLS handshake",
                "sent": "Request sent", "waiting": "Waiting (TTFB)", "download": "Content download"}
PHASE_COLORS = {"queued": QColor(150, 150, 150), "dns": QColor(0, 150, 136), "connect": QColor(255, 152, 0),
                "tls": QColor(156, 39, 176), "sent": QColor(63, 81, 181), "waiting": QColor(76, 175, 80),
                "download": QColor(33, 150, 243)}


def hop_segments(hop: Any, origin: float) -> list[tuple[str, float, float]]:
    """(phase, start, end) in seconds from ``origin`` for one hop; phases that did not happen are left out."""
    c = hop.connection
    spans = [("queued", hop.start, hop.queued_end), ("dns", c.dns_start, c.dns_end),
             ("connect", c.connect_start, c.connect_end), ("tls", c.tls_start, c.tls_end),
             ("sent", hop.request_start, hop.request_end), ("waiting", hop.request_end, hop.response_start),
             ("download", hop.response_start, hop.response_end)]
    return [(name, a - origin, b - origin) for name, a, b in spans if a is not None and b is not None and b >= a]


class _Bars(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[list[tuple[str, float, float]]] = []
        self.span = 1e-3
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_rows(self, rows: list[list[tuple[str, float, float]]], span: float) -> None:
        self.rows, self.span = rows, max(span, 1e-6)
        self.setFixedHeight(max(24, 22 * len(rows) + 6))
        self.update()

    def paintEvent(self, event: Any) -> None:
        p = QPainter(self)
        w = self.width() - 8
        for i, segs in enumerate(self.rows):
            y = 4 + 22 * i
            for name, a, b in segs:
                x0 = 4 + a / self.span * w
                x1 = 4 + b / self.span * w
                p.fillRect(QRectF(x0, y, max(1.5, x1 - x0), 16), PHASE_COLORS[name])
        p.end()


class PhaseBar(QWidget):
    """Per-reply timing: one bar per hop (redirects included) and the exact numbers."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bars = _Bars()
        self.numbers = QLabel()
        self.numbers.setTextFormat(Qt.TextFormat.RichText)
        self.numbers.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.numbers.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        lay = QVBoxLayout(self)
        lay.addWidget(self.bars)
        lay.addWidget(self.numbers, 1)
        self.timings: Any = None

    def set_timings(self, timings: Any) -> None:
        self.timings = timings
        if timings is None or not timings.hops:
            self.bars.set_rows([], 1)
            self.numbers.setText("No timings yet." if timings is not None else "")
            return
        origin = timings.start
        rows = [hop_segments(h, origin) for h in timings.hops]
        end = timings.end if timings.end is not None else time.perf_counter()
        self.bars.set_rows(rows, end - origin)
        self.numbers.setText(self.table_html(timings))

    @staticmethod
    def table_html(timings: Any) -> str:
        out = ["<table cellspacing='0' cellpadding='2'>"]
        for i, hop in enumerate(timings.hops):
            phases = hop.phases()
            title = hop.url if len(timings.hops) > 1 else ""
            out.append(f"<tr><td colspan='3'><b>{'Hop ' + str(i + 1) + ': ' if title else ''}{_esc(title)}</b></td></tr>")
            for name in PHASES:
                v = phases.get(name)
                col = PHASE_COLORS[name].name()
                if name in ("dns", "connect", "tls") and hop.connection.reused:
                    shown = "reused connection"
                elif v is None:
                    shown = "—"
                else:
                    shown = f"{v * 1000:.2f} ms"
                out.append(f"<tr><td><span style='color:{col}'>■</span> {PHASE_LABELS[name]}</td>"
                           f"<td align='right'>{shown}</td></tr>")
            if hop.connection.remote_address:
                reused = " (reused)" if hop.connection.reused else ""
                out.append(f"<tr><td>Connection</td><td align='right'>{_esc(hop.connection.remote_address)}{reused}</td></tr>")
        if timings.total is not None:
            out.append(f"<tr><td><b>Total</b></td><td align='right'><b>{timings.total * 1000:.2f} ms</b></td></tr>")
        out.append("</table>")
        return "".join(out)


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class TimelinePanel(QWidget):
    """The waterfall of all replies and the live throughput; pyqtgraph loads on first show."""

    WATERFALL_ROWS = 2000  # the newest rows drawn; older ones stay in the list

    def __init__(self, model: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self._built = False
        self._lay = QVBoxLayout(self)
        self._placeholder = QLabel("The timeline appears when this tab is opened.")
        self._lay.addWidget(self._placeholder)
        self._timer = QTimer(self)
        self._timer.setInterval(500)
        self._timer.timeout.connect(self.refresh)
        self.rate_label = QLabel()

    def showEvent(self, event: Any) -> None:
        if not self._built:
            self._build()
        self._timer.start()
        self.refresh()
        super().showEvent(event)

    def hideEvent(self, event: Any) -> None:
        self._timer.stop()
        super().hideEvent(event)

    def _build(self) -> None:
        import pyqtgraph as pg

        self._built = True
        self._placeholder.hide()
        fg = self.palette().color(QPalette.ColorRole.WindowText)
        bg = self.palette().color(QPalette.ColorRole.Base)
        self.waterfall = pg.PlotWidget(background=bg)
        self.waterfall.setLabel("bottom", "seconds")
        self.waterfall.invertY(True)
        self.waterfall.getAxis("left").setLabel("reply")
        self._wait_item = pg.PlotDataItem(connect="pairs", pen=pg.mkPen(QColor(76, 175, 80), width=3))
        self._down_item = pg.PlotDataItem(connect="pairs", pen=pg.mkPen(QColor(33, 150, 243), width=3))
        self.waterfall.addItem(self._wait_item)
        self.waterfall.addItem(self._down_item)
        self.throughput = pg.PlotWidget(background=bg)
        self.throughput.setLabel("bottom", "seconds ago")
        self.throughput.setLabel("left", "requests/s")
        self._req_item = pg.PlotDataItem(stepMode="center", fillLevel=0, brush=(33, 150, 243, 90),
                                         pen=pg.mkPen(fg))
        self.throughput.addItem(self._req_item)
        self._lay.addWidget(self.waterfall, 3)
        self._lay.addWidget(self.rate_label)
        self._lay.addWidget(self.throughput, 2)

    def refresh(self) -> None:
        if not self._built:
            return
        import numpy as np

        m = self.model
        n = m.total_rows()
        lo = max(0, n - self.WATERFALL_ROWS)
        if n:
            # slices of array('d') are copies: no buffer stays exported while the model appends
            ts = np.frombuffer(m._tstart[lo:n], dtype=np.float64)
            tt = np.frombuffer(m._tttfb[lo:n], dtype=np.float64)
            te = np.frombuffer(m._tend[lo:n], dtype=np.float64).copy()
            now = time.perf_counter()
            te[te < 0] = now
            t0 = ts.min()
            ys = np.arange(lo, n, dtype=np.float64)
            has = tt >= 0
            wait_end = np.where(has, tt, te)
            self._wait_item.setData(np.column_stack([ts - t0, wait_end - t0]).ravel(), np.repeat(ys, 2))
            dx = np.column_stack([tt[has] - t0, te[has] - t0]).ravel()
            self._down_item.setData(dx, np.repeat(ys[has], 2))
        req, byts = self.rates()
        x = np.arange(-len(req), 1, dtype=np.float64)
        self._req_item.setData(x, np.asarray(req, dtype=np.float64))
        last = req[-2] if len(req) >= 2 else 0
        last_b = byts[-2] if len(byts) >= 2 else 0
        from app.ui.reply_model import human_size

        self.rate_label.setText(f"Last second: {last} requests/s · {human_size(int(last_b))}/s  "
                                f"(window: {sum(req)} requests in {len(req)} s)")

    def rates(self, window: int = 60) -> tuple[list[int], list[int]]:
        """Completed requests and bytes per second over the last ``window`` seconds (oldest first)."""
        m = self.model
        now = time.perf_counter()
        req = [0] * window
        byts = [0] * window
        n = m.total_rows()
        i = n - 1
        horizon = now - window - 120  # rows started this long ago are done or not counted
        scanned = 0
        while i >= 0 and scanned < 50_000 and m._tstart[i] >= horizon:
            end = m._tend[i]
            if end >= 0:
                age = int(now - end)
                if 0 <= age < window:
                    req[window - 1 - age] += 1
                    byts[window - 1 - age] += max(0, m._size[i])
            i -= 1
            scanned += 1
        return req, byts
