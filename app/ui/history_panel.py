"""The history panel: every request sent (newest first), searchable; double-click reopens one.

Signals: ``request_opened(RequestItem)``. Reads ``app.history.History``; ``schedule_refresh`` is
called when a reply finishes and refreshes once after a short quiet period.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.history import History, HistoryEntry

COLUMNS = ("Time", "Method", "Status", "URL", "Size", "Duration")
LIMIT = 500
Index = QModelIndex | QPersistentModelIndex


class HistoryModel(QAbstractTableModel):
    def __init__(self) -> None:
        super().__init__()
        self.entries: list[HistoryEntry] = []

    def set_entries(self, entries: list[HistoryEntry]) -> None:
        self.beginResetModel()
        self.entries = entries
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.entries)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        e = self.entries[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e.started))
            if col == 1:
                return e.method
            if col == 2:
                return str(e.status) if e.status is not None else (e.error.split(":")[0] or "—")
            if col == 3:
                return e.url
            if col == 4:
                return f"{e.size:,} B"
            if col == 5:
                return f"{e.duration * 1000:.0f} ms" if e.duration is not None else ""
        if role == Qt.ItemDataRole.ToolTipRole and col in (2, 3):
            return e.error or e.url
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (2, 4, 5):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class HistoryPanel(QWidget):
    request_opened = Signal(object)

    def __init__(self, history: History, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.history = history
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search history: URL text, method, status")
        self.search.setClearButtonEnabled(True)
        self.model = HistoryModel()
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.verticalHeader().hide()
        self.view.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.view.activated.connect(self._open)
        self.note = QLabel(history.message or "")
        self.note.setWordWrap(True)
        self.note.setVisible(bool(history.message))
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.search)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.note)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(250)
        self._timer.timeout.connect(self.refresh)
        self.search.textChanged.connect(lambda _t: self._timer.start())
        self.refresh()

    def schedule_refresh(self, *_args: Any) -> None:
        self._timer.start()

    def refresh(self) -> None:
        self.model.set_entries(self.history.search(self.search.text(), limit=LIMIT))
        if self.history.message:
            self.note.setText(self.history.message)
            self.note.show()

    def _open(self, index: QModelIndex) -> None:
        if index.isValid():
            self.request_opened.emit(self.model.entries[index.row()].to_request_item())
