"""The live list's table view, painted in one Python call per frame, without giving up the GIL.

A stock ``QTableView`` asks the model for every visible cell and role: about 2,600 calls from C++
into Python per repaint of a 40-row window here. Each such call must take the GIL, and while the
network thread is busy (2,000 requests streaming in) every take can wait for the interpreter's
switch interval, so a repaint stalled the GUI for hundreds of milliseconds. This view keeps
everything Qt gives (header, scrolling, selection, keyboard, sorting) but paints the visible rows
itself, straight from the model's columns, inside a single ``paintEvent``.

Inside that call it also avoids everything that hands the GIL over (measured with a uprobe on
CPython's ``take_gil``): ``QPainter.drawText`` releases the GIL around its C++ work, the
destructor of every temporary Qt value (``QColor``, ``QRect``, ``QModelIndex``, ``QFontMetrics``)
runs with the GIL released, and ``QItemSelectionModel.isRowSelected`` calls the model's
``rowCount``/``columnCount`` from C++ twice per column. Each release lets the network thread in,
and taking the GIL back can wait for the switch interval. So cells are drawn with
``drawStaticText`` (it keeps the GIL) from a bounded cache of laid-out strings with their widths,
colours and font metrics are kept between paints, and the selected rows are read once per paint
from the selection's ranges.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from PySide6.QtCore import QEvent, QModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPalette, QPen, QStaticText
from PySide6.QtWidgets import QHeaderView, QTableView, QWidget

from app.ui.reply_model import C_SIZE, C_STATUS, C_TIME, C_WATERFALL, ReplyListModel

_RIGHT = {C_STATUS, C_SIZE, C_TIME}
_PAD = 4
TEXT_CACHE = 4096  # laid-out strings kept between paints (a 40-row window shows ~400)


class ReplyHeaderView(QHeaderView):
    """The column header, with its size hint kept until the columns, font or style change.

    ``QTableView`` lays itself out again after every row insertion and asks its header for its
    size hint, which Qt recomputes by asking the model for four roles of every column's header:
    ~44 calls from C++ into Python (each a GIL take) per insertion, for a constant answer (the
    list's column titles never change).
    """

    def __init__(self, orientation: Qt.Orientation, parent: QWidget | None = None) -> None:
        super().__init__(orientation, parent)
        self._hint: tuple[int, QSize] | None = None

    def sizeHint(self) -> QSize:
        n = self.count()
        if self._hint is None or self._hint[0] != n:
            self._hint = (n, super().sizeHint())
        return self._hint[1]

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._hint = None
        super().changeEvent(event)


class ReplyTableView(QTableView):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        header = ReplyHeaderView(Qt.Orientation.Horizontal, self)
        header.setSectionsClickable(True)  # as QTableView's own header
        header.setHighlightSections(True)
        self.setHorizontalHeader(header)
        # str -> (QStaticText, width in pixels); (str, width) -> the elided str
        self._texts: OrderedDict[str, tuple[QStaticText, int]] = OrderedDict()
        self._elided: dict[tuple[str, int], str] = {}
        self._fm: QFontMetrics | None = None
        self._colors: dict[bool, tuple[QColor, ...]] = {}
        self._tones = (QColor(210, 45, 45), QColor(190, 120, 0), QColor(128, 128, 128))
        self._focus_pens: dict[bool, QPen] = {}
        self._root = QModelIndex()

    def changeEvent(self, event: QEvent) -> None:
        t = event.type()
        if t in (QEvent.Type.FontChange, QEvent.Type.PaletteChange, QEvent.Type.StyleChange):
            self._texts.clear()
            self._elided.clear()
            self._fm = None
            self._colors.clear()
            self._focus_pens.clear()
        super().changeEvent(event)

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

    def _palette_colors(self, active: bool) -> tuple[QColor, ...]:
        colors = self._colors.get(active)
        if colors is None:
            pal = self.palette()
            group = QPalette.ColorGroup.Active if active else QPalette.ColorGroup.Inactive
            hl = pal.color(group, QPalette.ColorRole.Highlight)
            wf_light = QColor(hl)
            wf_light.setAlpha(90)
            colors = self._colors[active] = (pal.color(QPalette.ColorRole.Base),
                                             pal.color(QPalette.ColorRole.AlternateBase),
                                             pal.color(QPalette.ColorRole.Text), hl,
                                             pal.color(group, QPalette.ColorRole.HighlightedText), wf_light)
        return colors

    def _text(self, s: str, inner: int, fm: QFontMetrics) -> tuple[QStaticText, int]:
        """``s`` laid out once (elided to ``inner`` pixels when wider), with its width."""
        texts = self._texts
        hit = texts.get(s)
        if hit is None:
            hit = texts[s] = self._static(s, fm)
        if hit[1] <= inner:
            return hit
        key = (s, inner)
        short = self._elided.get(key)
        if short is None:
            if len(self._elided) >= TEXT_CACHE:
                self._elided.clear()  # plain strings: nothing to release
            short = self._elided[key] = fm.elidedText(s, Qt.TextElideMode.ElideRight, inner)
        hit = texts.get(short)
        if hit is None:
            hit = texts[short] = self._static(short, fm)
        return hit

    def _static(self, s: str, fm: QFontMetrics) -> tuple[QStaticText, int]:
        if len(self._texts) >= TEXT_CACHE:
            self._texts.popitem(last=False)  # oldest first: one release per new string at most
        st = QStaticText(s)
        st.setTextFormat(Qt.TextFormat.PlainText)
        return st, fm.horizontalAdvance(s)

    def _selected_rows(self, first: int, last: int) -> set[int]:
        """View rows in [first, last] that the selection covers (rows are selected whole)."""
        sel = self.selectionModel()
        if sel is None or not sel.hasSelection():
            return set()
        rows: set[int] = set()
        for rng in sel.selection():  # type: ignore[attr-defined]
            top, bottom = max(first, rng.top()), min(last, rng.bottom())
            if top <= bottom:
                rows.update(range(top, bottom + 1))
        return rows

    def _paint(self, p: QPainter, m: ReplyListModel, clip: QRect) -> None:
        n = m.rowCount()
        focus = self.hasFocus()
        base, alt, text, hl, hl_text, wf_light = self._palette_colors(focus)
        tones = self._tones
        c_left, c_top, c_right, c_bottom = clip.left(), clip.top(), clip.right(), clip.bottom()
        p.fillRect(c_left, c_top, c_right - c_left + 1, c_bottom - c_top + 1, base)
        if n == 0:
            return
        vh, hh = self.verticalHeader(), self.horizontalHeader()
        rh = vh.defaultSectionSize()
        first = max(0, vh.logicalIndexAt(c_top))
        last = vh.logicalIndexAt(c_bottom)
        last = n - 1 if last < 0 else min(n - 1, last)
        y0 = vh.sectionViewportPosition(first)
        cols = []
        for visual in range(hh.count()):
            col = hh.logicalIndex(visual)
            if hh.isSectionHidden(col):
                continue
            x = hh.sectionViewportPosition(col)
            w = hh.sectionSize(col)
            if x + w < c_left or x > c_right:
                continue
            cols.append((col, x, w, col in _RIGHT))
        selected_rows = self._selected_rows(first, last)
        fm = self._fm
        if fm is None:
            fm = self._fm = QFontMetrics(self.font())
        ty = (rh - fm.height()) // 2  # text top within a row
        current = self.currentIndex()
        cur_row = current.row() if current.isValid() else -1
        width = self.viewport().width()
        alternate = self.alternatingRowColors()
        pen = None
        draw, fill, set_pen, get_text, display, tone_of, row_id = (
            p.drawStaticText, p.fillRect, p.setPen, self._text, m._display, m.tone, m.row_id)
        for vr in range(first, last + 1):
            y = y0 + (vr - first) * rh
            row = row_id(vr)
            selected = vr in selected_rows
            if selected:
                fill(0, y, width, rh, hl)
            elif vr % 2 and alternate:
                fill(0, y, width, rh, alt)
            for col, x, w, right in cols:
                if col == C_WATERFALL:
                    self._waterfall(p, m, row, x, y, w, rh, hl_text if selected else hl, wf_light)
                    continue
                s = display(row, col)
                if not s:
                    continue
                inner = w - 2 * _PAD
                if inner <= 0:
                    continue
                if selected:
                    color = hl_text
                else:
                    tone = tone_of(row, col)
                    color = text if tone is None else tones[tone]
                if color is not pen:
                    set_pen(color)
                    pen = color
                st, tw = get_text(s, inner, fm)
                draw(x + _PAD + (inner - tw if right else 0), y + ty, st)
            if vr == cur_row and focus:
                dot = self._focus_pens.get(selected)
                if dot is None:
                    dot = self._focus_pens[selected] = QPen(hl_text if selected else hl, 1, Qt.PenStyle.DotLine)
                set_pen(dot)
                pen = None
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
