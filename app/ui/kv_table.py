"""Editable name/value tables for the composer (query parameters, headers, form fields, multipart).

A row can be switched off with its checkbox and stays in the table. The last row is always an
empty one: typing into it adds a row. ``edited`` fires after every user change.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

Index = QModelIndex | QPersistentModelIndex
SHOWN = 1000  # characters of a cell's value drawn in the table; editing gets it whole


class KeyValueModel(QAbstractTableModel):
    """Rows of [name, value, enabled] (multipart rows add a file path and a content type)."""

    edited = Signal()

    def __init__(self, columns: tuple[str, ...] = ("Name", "Value"), parent: Any = None) -> None:
        super().__init__(parent)
        self.columns = columns
        self._rows: list[list[Any]] = []  # [name, value, (extra...), enabled]

    def _width(self) -> int:
        return len(self.columns)

    # -- data access (code) --------------------------------------------------------------------
    def rows(self) -> list[tuple[Any, ...]]:
        """(cells..., enabled) for the non-empty rows."""
        return [tuple(r) for r in self._rows if any(str(c) for c in r[:-1])]

    def set_rows(self, rows: list[tuple[Any, ...]]) -> None:
        self.beginResetModel()
        w = self._width()
        self._rows = [[*(list(r[:w]) + [""] * (w - len(r[:w]))), bool(r[w]) if len(r) > w else True] for r in rows]
        self.endResetModel()

    def enabled_pairs(self) -> list[tuple[str, str]]:
        return [(str(r[0]), str(r[1])) for r in self._rows if r[-1] and (r[0] or r[1])]

    # -- Qt ------------------------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows) + 1

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._width()

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.columns[section]
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        f = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEditable
        if index.column() == 0 and index.row() < len(self._rows):
            f |= Qt.ItemFlag.ItemIsUserCheckable
        return f

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        r, c = index.row(), index.column()
        if r >= len(self._rows):
            if role == Qt.ItemDataRole.DisplayRole and c == 0:
                return ""
            if role == Qt.ItemDataRole.ToolTipRole:
                return "Type here to add a row"
            return None
        row = self._rows[r]
        if role == Qt.ItemDataRole.DisplayRole:
            value = row[c]
            if isinstance(value, str) and len(value) > SHOWN:  # laying out megabytes in a cell stalls the window
                return f"{value[:SHOWN]}… ({len(value):,} characters)"
            return value
        if role == Qt.ItemDataRole.EditRole:
            return row[c]
        if role == Qt.ItemDataRole.CheckStateRole and c == 0:
            return Qt.CheckState.Checked if row[-1] else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.ForegroundRole and not row[-1]:
            from PySide6.QtGui import QBrush, QColor

            return QBrush(QColor(140, 140, 140))
        return None

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid():
            return False
        r, c = index.row(), index.column()
        if role == Qt.ItemDataRole.CheckStateRole and c == 0 and r < len(self._rows):
            on = value in (Qt.CheckState.Checked, Qt.CheckState.Checked.value, 2, True)
            self._rows[r][-1] = on
            self.dataChanged.emit(self.index(r, 0), self.index(r, self._width() - 1))
            self.edited.emit()
            return True
        if role != Qt.ItemDataRole.EditRole:
            return False
        text = "" if value is None else str(value)
        if r >= len(self._rows):
            if not text:
                return False
            self.beginInsertRows(QModelIndex(), len(self._rows) + 1, len(self._rows) + 1)
            self._rows.append([""] * self._width() + [True])
            self.endInsertRows()
        self._rows[r][c] = text
        self.dataChanged.emit(index, index)
        self.edited.emit()
        return True

    def remove_rows(self, rows: list[int]) -> None:
        for r in sorted(set(rows), reverse=True):
            if 0 <= r < len(self._rows):
                self.beginRemoveRows(QModelIndex(), r, r)
                del self._rows[r]
                self.endRemoveRows()
        self.edited.emit()

    def append_row(self, *cells: Any) -> None:
        w = self._width()
        row = [*(list(cells[:w]) + [""] * (w - len(cells[:w]))), True]
        self.beginInsertRows(QModelIndex(), len(self._rows), len(self._rows))
        self._rows.append(row)
        self.endInsertRows()
        self.edited.emit()


class KeyValueTable(QTableView):
    """The view: Delete removes the selected rows."""

    def __init__(self, model: KeyValueModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setModel(model)
        self.kv = model
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(QAbstractItemView.EditTrigger.AllEditTriggers)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        hh = self.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        hh.setStretchLastSection(True)
        hh.resizeSection(0, 200)

    def keyPressEvent(self, event: Any) -> None:
        if event.key() in (Qt.Key.Key_Delete,) and self.state() != QAbstractItemView.State.EditingState:
            self.kv.remove_rows([i.row() for i in self.selectionModel().selectedRows()]
                                or [self.currentIndex().row()])
            return
        super().keyPressEvent(event)
