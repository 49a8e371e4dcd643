"""The tree model behind the collections sidebar: folders and requests of a loaded ``Collection``.

Renames and drops are not applied here: they are handed to ``on_rename``/``on_move`` (the sidebar
runs them through the store), and the reload that follows rebuilds the tree.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QMimeData, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QStyle

from app.collections import Collection, Folder, RequestItem

MIME = "application/x-courier-collection-paths"
Index = QModelIndex | QPersistentModelIndex


class _Node:
    __slots__ = ("children", "parent", "value")

    def __init__(self, value: Folder | RequestItem, parent: _Node | None) -> None:
        self.value = value
        self.parent = parent
        self.children: list[_Node] = []
        if isinstance(value, Folder):
            self.children = [_Node(c, self) for c in value.children]

    @property
    def path(self) -> str:
        return self.value.path

    def row(self) -> int:
        return self.parent.children.index(self) if self.parent is not None else 0


class CollectionModel(QAbstractItemModel):
    """The tree. Drops and renames are handed to ``on_move``/``on_rename``; the reload rebuilds it."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.root: _Node | None = None
        self.on_move: Callable[[list[str], str, int], None] | None = None
        self.on_rename: Callable[[str, str], None] | None = None

    def set_collection(self, col: Collection | None) -> None:
        self.beginResetModel()
        self.root = _Node(col.root, None) if col is not None else None
        self.endResetModel()

    def node(self, index: Index) -> _Node | None:
        if not index.isValid():
            return self.root
        return index.internalPointer()  # type: ignore[no-any-return]

    def index_for_path(self, path: str) -> QModelIndex:
        if self.root is None or not path:
            return QModelIndex()
        stack = [(self.root, QModelIndex())]
        while stack:
            node, idx = stack.pop()
            for row, child in enumerate(node.children):
                cidx = self.index(row, 0, idx)
                if child.path == path:
                    return cidx
                if child.children:
                    stack.append((child, cidx))
        return QModelIndex()

    # -- the model interface ---------------------------------------------------------------
    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        node = self.node(parent)
        if node is None or column != 0 or not 0 <= row < len(node.children):
            return QModelIndex()
        return self.createIndex(row, 0, node.children[row])

    def parent(self, index: Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        if not index.isValid():
            return QModelIndex()
        node: _Node = index.internalPointer()
        parent = node.parent
        if parent is None or parent is self.root:
            return QModelIndex()
        return self.createIndex(parent.row(), 0, parent)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        node = self.node(parent)
        return len(node.children) if node is not None else 0

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 1

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        node = self.node(index)
        if node is None or not index.isValid():
            return None
        v = node.value
        if role == Qt.ItemDataRole.DisplayRole:
            return v.name if isinstance(v, Folder) else f"{v.method:<6} {v.name}"
        if role == Qt.ItemDataRole.EditRole:
            return v.name
        if role == Qt.ItemDataRole.ToolTipRole:
            return v.path if isinstance(v, Folder) else f"{v.method} {v.url}\n{v.path}"
        if role == Qt.ItemDataRole.DecorationRole and isinstance(v, Folder):
            from PySide6.QtWidgets import QApplication

            return QApplication.style().standardIcon(QStyle.StandardPixmap.SP_DirIcon)
        if role == Qt.ItemDataRole.UserRole:
            return v.path
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if not index.isValid():
            return Qt.ItemFlag.ItemIsDropEnabled
        node = self.node(index)
        f = base | Qt.ItemFlag.ItemIsEditable | Qt.ItemFlag.ItemIsDragEnabled
        if node is not None and isinstance(node.value, Folder):
            f |= Qt.ItemFlag.ItemIsDropEnabled
        return f

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        node = self.node(index)
        if role != Qt.ItemDataRole.EditRole or node is None or not index.isValid():
            return False
        name = str(value).strip()
        if not name or name == node.value.name:
            return False
        if self.on_rename is not None:
            self.on_rename(node.path, name)
        return True

    # -- drag and drop ---------------------------------------------------------------------
    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def mimeTypes(self) -> list[str]:
        return [MIME]

    def mimeData(self, indexes: list[QModelIndex]) -> QMimeData:  # type: ignore[override]
        paths = []
        for idx in indexes:
            node = self.node(idx)
            if node is not None and idx.isValid() and node.path not in paths:
                paths.append(node.path)
        data = QMimeData()
        data.setData(MIME, json.dumps(paths).encode())
        return data

    def canDropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int,
                        parent: Index) -> bool:
        if not data.hasFormat(MIME):
            return False
        target = self.node(parent)
        if target is None or not isinstance(target.value, Folder):
            return False
        paths = json.loads(bytes(data.data(MIME).data()).decode())
        return not any(target.path == p or target.path.startswith(p + "/") for p in paths)

    def dropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int,
                     parent: Index) -> bool:
        if action == Qt.DropAction.IgnoreAction:
            return True
        if not self.canDropMimeData(data, action, row, column, parent):
            return False
        target = self.node(parent)
        assert target is not None
        paths: list[str] = json.loads(bytes(data.data(MIME).data()).decode())
        if row < 0:
            row = len(target.children)
        # the store counts positions without the moved nodes: shift past those above the drop row
        above = sum(1 for i, c in enumerate(target.children) if i < row and c.path in paths)
        if self.on_move is not None:
            self.on_move(paths, target.path, row - above)
        return False  # the reload after the move rebuilds the tree; Qt must not delete rows itself
