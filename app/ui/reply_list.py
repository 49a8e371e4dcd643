"""The live reply list: a filter bar over a ``ReplyTableView`` of ``ReplyListModel``, the context menu, and ``LiveFeed``, which turns the bridge's event batches into at most
one model update per frame.

``ReplyListPanel`` signals: ``currentRowChanged(int)`` (row id or -1), ``resendRequested(int)``,
``copyCurlRequested(int)``, ``saveToCollectionRequested(object)`` (a ``RequestSpec``; the
collections sidebar connects it), ``exportHarRequested(list)`` (row ids).
"""

from __future__ import annotations

import copy
import time
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QModelIndex, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.reply_store import REDACTED
from app.request_spec import KeyValue, RequestSpec
from app.ui.reply_model import (
    C_HOST,
    C_METHOD,
    C_PATH,
    C_PROTO,
    C_REMOTE,
    C_SIZE,
    C_START,
    C_STATUS,
    C_TIME,
    C_TYPE,
    ReplyListModel,
    values_of,
)
from app.ui.reply_view import ReplyTableView

if TYPE_CHECKING:
    from PySide6.QtCore import QPoint

    from app.bridge import QtNetworkManager
    from core import events as ev

FRAME = 0.016

STATUS_FILTERS = [("All statuses", ()), ("2xx", (2,)), ("3xx", (3,)), ("4xx", (4,)), ("5xx", (5,)),
                  ("4xx + 5xx", (4, 5)), ("Failed", (0,)), ("Errors (4xx, 5xx, failed)", (0, 4, 5))]
METHOD_FILTERS = ["All methods", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


class LiveFeed(QObject):
    """Collects new and changed replies from ``replyEvents`` and applies them once per frame.

    ``flushed(rows, finished)``: the row ids updated by a flush, and those that finished in it.
    """

    flushed = Signal(object, object)

    def __init__(self, model: ReplyListModel, manager: QtNetworkManager | None = None) -> None:
        super().__init__(model)
        self.model = model
        self._new: dict[int, tuple[Any, Any]] = {}
        self._dirty: dict[int, Any] = {}
        self._last = 0.0
        self.flushes = 0  # model updates applied (tests, benchmarks)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.flush)
        if manager is not None:
            self.attach(manager)

    def attach(self, manager: QtNetworkManager) -> None:
        manager.add_batch_listener(self.on_events)  # a direct call: no signal, no extra GIL hand-over

    def add_now(self, reply: Any, spec: Any = None) -> int:
        """Put a just-sent reply into the list at once (the GUI thread created it)."""
        self._new.pop(id(reply), None)
        row = self.model.add_rows([(values_of(reply), reply, spec)])[0]
        reply.extra["ui_row"] = row
        return row

    def on_events(self, events: list[ev.Event]) -> None:
        from app.bridge import Created

        new, dirty = self._new, self._dirty
        for e in events:
            reply = e.reply
            row = reply.extra.get("ui_row")
            if row is not None:
                dirty[row] = reply
            elif isinstance(e, Created):
                new[id(reply)] = (reply, e.spec)
            elif id(reply) not in new:
                new[id(reply)] = (reply, None)
        if self._timer.isActive():
            return
        wait = FRAME - (time.perf_counter() - self._last)
        if wait <= 0.002:  # the bridge delivers at most one batch per frame: apply it in this turn
            self.flush()
        else:
            self._timer.start(round(wait * 1000))

    def flush(self) -> None:
        self._last = time.perf_counter()
        self.flushes += 1
        new, self._new = self._new, {}
        if new:
            items = list(new.values())
            rows = self.model.add_rows((values_of(r), r, spec) for r, spec in items)
            for (reply, _), row in zip(items, rows, strict=True):
                reply.extra["ui_row"] = row
        dirty, self._dirty = self._dirty, {}
        if dirty:
            running = self.model.running_rows()
            was = {row for row in dirty if row in running}
            self.model.apply({row: values_of(r) for row, r in dirty.items()})
            finished = {row for row in was if row not in running}
            self.flushed.emit(set(dirty), finished)


class ReplyListPanel(QWidget):
    currentRowChanged = Signal(int)
    resendRequested = Signal(int)
    copyCurlRequested = Signal(int)
    saveToCollectionRequested = Signal(object)
    exportHarRequested = Signal(list)

    def __init__(self, model: ReplyListModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter: text in method, URL or type  (Ctrl+F)")
        # (its clear button is added by the main window after the first paint: style icons)
        self.status_filter = QComboBox()
        for label, _ in STATUS_FILTERS:
            self.status_filter.addItem(label)
        self.method_filter = QComboBox()
        self.method_filter.addItems(METHOD_FILTERS)
        self.count_label = QLabel()
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.filter_edit, 1)
        bar.addWidget(self.status_filter)
        bar.addWidget(self.method_filter)
        bar.addWidget(self.count_label)

        self.view = ReplyTableView()
        self.view.setModel(model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setSortingEnabled(True)
        self.view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.view.setWordWrap(False)
        self.view.setShowGrid(False)
        self.view.setAlternatingRowColors(True)
        self.view.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        vh = self.view.verticalHeader()
        vh.setVisible(False)
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # uniform rows: no per-row size queries
        vh.setDefaultSectionSize(self.fontMetrics().height() + 6)
        hh = self.view.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        hh.setStretchLastSection(True)
        for col, width in ((C_METHOD, 64), (C_HOST, 150), (C_PATH, 260), (C_STATUS, 70), (C_TYPE, 130),
                           (C_SIZE, 70), (C_TIME, 70), (C_PROTO, 70), (C_REMOTE, 130), (C_START, 95)):
            hh.resizeSection(col, width)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._menu)
        self.view.selectionModel().currentRowChanged.connect(self._current_changed)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(bar)
        lay.addWidget(self.view, 1)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(150)
        self._debounce.timeout.connect(self.apply_filter)
        self.filter_edit.textChanged.connect(lambda _t: self._debounce.start())
        self.status_filter.currentIndexChanged.connect(lambda _i: self.apply_filter())
        self.method_filter.currentIndexChanged.connect(lambda _i: self.apply_filter())
        self._ticker = QTimer(self)
        self._ticker.setInterval(250)
        self._ticker.timeout.connect(self._tick)
        self._ticker.start()
        model.rowsInserted.connect(self._update_count)
        model.modelReset.connect(self._update_count)
        self._update_count()

    # -- filtering ---------------------------------------------------------------------------
    def apply_filter(self) -> None:
        current = self.current_row()
        classes = STATUS_FILTERS[max(0, self.status_filter.currentIndex())][1]
        method = self.method_filter.currentText()
        methods = () if self.method_filter.currentIndex() <= 0 else (method,)
        self.model.set_filter(self.filter_edit.text(), classes, methods)
        if current >= 0:
            self.select_row(current)

    def focus_filter(self) -> None:
        self.filter_edit.setFocus()
        self.filter_edit.selectAll()

    def _update_count(self, *args: Any) -> None:
        shown, total = self.model.rowCount(), self.model.total_rows()
        self.count_label.setText(f"{total:,} replies" if shown == total else f"{shown:,} of {total:,}")

    def _tick(self) -> None:
        if self.model.running_rows():
            self.model.tick()
            self.view.viewport().update()
        self._update_count()

    # -- selection ---------------------------------------------------------------------------
    def current_row(self) -> int:
        idx = self.view.currentIndex()
        return self.model.row_id(idx.row()) if idx.isValid() else -1

    def selected_rows(self) -> list[int]:
        return sorted({self.model.row_id(i.row()) for i in self.view.selectionModel().selectedRows()})

    def select_row(self, row: int) -> None:
        vr = self.model.view_row(row)
        if vr >= 0:
            idx = self.model.index(vr, 0)
            self.view.setCurrentIndex(idx)
            self.view.selectRow(vr)
            self.view.scrollTo(idx)

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.currentRowChanged.emit(self.model.row_id(current.row()) if current.isValid() else -1)

    # -- context menu ------------------------------------------------------------------------
    def _menu(self, pos: QPoint) -> None:
        idx = self.view.indexAt(pos)
        if not idx.isValid():
            return
        row = self.model.row_id(idx.row())
        rows = self.selected_rows() or [row]
        from PySide6.QtGui import QAction
        from PySide6.QtWidgets import QMenu

        menu = QMenu(self)
        for text, slot in (("Copy as curl", lambda: self.copyCurlRequested.emit(row)),
                           ("Resend", lambda: self.resendRequested.emit(row)),
                           ("Save to collection…", lambda: self.save_to_collection(row)),
                           (f"Export HAR ({len(rows)} {'reply' if len(rows) == 1 else 'replies'})…",
                            lambda: self.exportHarRequested.emit(rows))):
            act = QAction(text, menu)
            act.triggered.connect(slot)
            menu.addAction(act)
        menu.popup(self.view.viewport().mapToGlobal(pos))
        self._open_menu = menu

    def save_to_collection(self, row: int) -> None:
        self.saveToCollectionRequested.emit(spec_for_row(self.model, row))


def spec_for_row(model: ReplyListModel, row: int) -> RequestSpec:
    """The request behind a row, to resend, copy or save: what the composer sent (secrets
    included, in memory only), else rebuilt from the reply's original request."""
    spec = model.spec(row)
    if spec is not None:
        return copy.deepcopy(spec)
    reply = model.reply(row)
    if reply is None:
        return RequestSpec(method=model.method(row), url=model.url(row))
    if hasattr(reply, "request"):
        url, headers = reply.request.url, list(reply.request.headers)
    else:
        url, headers = getattr(reply, "request_url", reply.url), list(reply.request_headers)
    kept = [KeyValue(k, v) for k, v in headers if v != REDACTED]
    return RequestSpec(method=reply.method, url=url, headers=kept)
