"""The live list's table view, painted in one Python call per frame.

A stock ``QTableView`` asks the model for every visible cell and role: about 2,600 calls from C++
into Python per repaint of a 40-row window here. Each such call must take the GIL, and while the
network thread is busy (2,000 requests streaming in) every take can wait for the interpreter's
switch interval, so a repaint stalled the GUI for hundreds of milliseconds. This view keeps
everything Qt gives (header, scrolling, selection, keyboard, sorting) but paints the visible rows
itself, straight from the model's columns, inside a single ``paintEvent``: one GIL take per frame.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QRect, Qt
from PySide6.QtGui import QColor, QPainter, QPalette, QPen
from PySide6.QtWidgets import QTableView

from app.ui.reply_model import C_SIZE, C_STATUS, C_TIME, C_WATERFALL, ReplyListModel

_RIGHT = {C_STATUS, C_SIZE, C_TIME}
_PAD = 4


class ReplyTableView(QTableView):
    def paintEvent(self, event: Any) -> None:
        model = self.model()
        if not isinstance(model, ReplyListModel):
            super().paintEvent(event)
            return
        vp = self.viewport()
        p = QPainter(vp)
        try:
            self._paint(p, model, event.rect())
        finally:
            p.end()

    def _paint(self, p: QPainter, m: ReplyListModel, clip: QRect) -> None:
        n = m.rowCount()
        pal = self.palette()
        group = QPalette.ColorGroup.Active if self.hasFocus() else QPalette.ColorGroup.Inactive
        base = pal.color(QPalette.ColorRole.Base)
        alt = pal.color(QPalette.ColorRole.AlternateBase)
        text = pal.color(QPalette.ColorRole.Text)
        hl = pal.color(group, QPalette.ColorRole.Highlight)
        hl_text = pal.color(group, QPalette.ColorRole.HighlightedText)
        tones = (QColor(210, 45, 45), QColor(190, 120, 0), QColor(128, 128, 128))
        p.fillRect(clip, base)
        if n == 0:
            return
        vh, hh = self.verticalHeader(), self.horizontalHeader()
        rh = vh.defaultSectionSize()
        first = max(0, vh.logicalIndexAt(clip.top()))
        last = vh.logicalIndexAt(clip.bottom())
        last = n - 1 if last < 0 else min(n - 1, last)
        y0 = vh.sectionViewportPosition(first)
        cols = []
        for visual in range(hh.count()):
            col = hh.logicalIndex(visual)
            if hh.isSectionHidden(col):
                continue
            x = hh.sectionViewportPosition(col)
            w = hh.sectionSize(col)
            if x + w < clip.left() or x > clip.right():
                continue
            cols.append((col, x, w))
        sel = self.selectionModel()
        root = QModelIndex()
        fm = p.fontMetrics()
        current = self.currentIndex()
        cur_row = current.row() if current.isValid() else -1
        elide = Qt.TextElideMode.ElideRight
        left = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        right = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        wf_light = QColor(hl)
        wf_light.setAlpha(90)
        width = vp_width = self.viewport().width()
        for vr in range(first, last + 1):
            y = y0 + (vr - first) * rh
            row = m.row_id(vr)
            selected = sel is not None and sel.isRowSelected(vr, root)
            if selected:
                p.fillRect(0, y, vp_width, rh, hl)
            elif vr % 2 and self.alternatingRowColors():
                p.fillRect(0, y, vp_width, rh, alt)
            for col, x, w in cols:
                if col == C_WATERFALL:
                    self._waterfall(p, m, row, x, y, w, rh, hl_text if selected else hl, wf_light)
                    continue
                s = m._display(row, col)
                if not s:
                    continue
                if selected:
                    p.setPen(hl_text)
                else:
                    tone = m.tone(row, col)
                    p.setPen(text if tone is None else tones[tone])
                inner = w - 2 * _PAD
                if inner <= 0:
                    continue
                if len(s) * 4 > inner:  # may not fit: elide (cheap check first)
                    s = fm.elidedText(s, elide, inner)
                p.drawText(x + _PAD, y, inner, rh, right if col in _RIGHT else left, s)
            if vr == cur_row and self.hasFocus():
                p.setPen(QPen(hl_text if selected else hl, 1, Qt.PenStyle.DotLine))
                p.drawRect(0, y, width - 1, rh - 1)

    @staticmethod
    def _waterfall(p: QPainter, m: ReplyListModel, row: int, x: int, y: int, w: int, h: int,
                   dark: QColor, light: QColor) -> None:
        s, ttfb, e = m.waterfall(row)
        iw = w - 4
        if iw <= 0:
            return
        x0 = x + 2 + int(s * iw)
        x1 = max(x + 2 + int(e * iw), x0 + 2)
        top, bh = y + 4, max(2, h - 8)
        if ttfb >= 0:
            xt = x + 2 + int(ttfb * iw)
            p.fillRect(x0, top, max(1, xt - x0), bh, light)
            p.fillRect(xt, top, max(1, x1 - xt), bh, dark)
        else:
            p.fillRect(x0, top, max(1, x1 - x0), bh, light)
