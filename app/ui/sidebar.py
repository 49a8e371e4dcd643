"""The collections sidebar: a tree of folders and requests, an environment switch, and the files
behind them kept in step both ways.

Signals: ``request_opened(RequestItem)`` (double-click or Enter on a request),
``environment_changed(str)`` ("" for none), ``loaded()`` after every (re)load.
Create, rename (inline), move (drag and drop), duplicate and delete go through
``CollectionStore`` on one worker thread, in order: every change is an atomic write, and the GUI
thread never touches the disk. A ``QFileSystemWatcher`` picks up changes made outside the app (an
editor, ``git pull``) and reloads after a short quiet period; files that cannot be read are listed
under the tree with their path and line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QFileSystemWatcher,
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRunnable,
    Qt,
    QThreadPool,
    QTimer,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QMessageBox,
    QStyle,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from app.collections import Collection, CollectionStore, Folder, Problem, RequestItem
from app.collections.format import ENVIRONMENTS_DIR, SUFFIX
from app.collections.loader import NotACollection

MIME = "application/x-courier-collection-paths"
Index = QModelIndex | QPersistentModelIndex
RELOAD_DELAY_MS = 200


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


class _Relay(QObject):
    done = Signal(object, object, object, object, object)  # result, collection, problems, error, job


class _Job(QRunnable):
    """Runs ``fn(store)`` on the worker, then hands the reloaded collection to the GUI thread."""

    def __init__(self, relay: _Relay, sidebar: CollectionSidebar, fn: Callable[[Any], Any],
                 select: bool = False, edit: bool = False) -> None:
        super().__init__()
        self.relay, self.sidebar, self.fn = relay, sidebar, fn
        self.select, self.edit = select, edit

    def run(self) -> None:
        result: Any = None
        error = ""
        try:
            result = self.fn(self.sidebar.store)
        except (OSError, ValueError, NotACollection) as exc:
            error = str(exc)
            if self.sidebar.store is not None:
                try:
                    self.sidebar.store.reload()
                except OSError:
                    pass
        store = self.sidebar.store
        col, problems = (store.collection, list(store.problems)) if store is not None else (None, [])
        self.relay.done.emit(result, col, problems, error, self)


class CollectionSidebar(QWidget):
    request_opened = Signal(object)
    environment_changed = Signal(str)
    loaded = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store: CollectionStore | None = None
        self.collection: Collection | None = None
        self.problems: list[Problem] = []
        self.last_error = ""
        self.confirm: Callable[[str], bool] = self._ask
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)  # changes run one after another, in order
        self._relay = _Relay()
        self._relay.done.connect(self._done)
        self._pending_select: str | None = None
        self._edit_after: bool = False
        self._environment = ""

        self.title = QLabel("No collection open")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.env_box = QComboBox()
        self.env_box.setToolTip("Environment: whose variables {{name}} uses")
        self.env_box.currentIndexChanged.connect(self._env_chosen)
        self.model = CollectionModel(self)
        self.model.on_move = self.move
        self.model.on_rename = self.rename
        self.view = QTreeView()
        self.view.setModel(self.model)
        self.view.setHeaderHidden(True)
        self.view.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.view.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed
                                  | QAbstractItemView.EditTrigger.SelectedClicked)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._menu)
        self.view.activated.connect(self._activated)
        self.problem_label = QLabel()
        self.problem_label.setWordWrap(True)
        self.problem_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.problem_label.hide()

        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.env_box)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.problem_label)

        self.watcher = QFileSystemWatcher(self)
        self.watcher.directoryChanged.connect(self._disk_changed)
        self.watcher.fileChanged.connect(self._disk_changed)
        self._reload_timer = QTimer(self)
        self._reload_timer.setSingleShot(True)
        self._reload_timer.setInterval(RELOAD_DELAY_MS)
        self._reload_timer.timeout.connect(self.reload)

    # -- opening and loading ---------------------------------------------------------------
    def open_collection(self, path: str | os.PathLike[str]) -> None:
        root = Path(path)

        def opener(_store: CollectionStore | None) -> None:
            self.store = CollectionStore(root)

        self._pool.start(_Job(self._relay, self, opener))

    def reload(self) -> None:
        self._submit(lambda s: s.reload())

    def _submit(self, fn: Callable[[CollectionStore], Any], select: bool = False, edit: bool = False) -> None:
        if self.store is None:
            return
        self._pool.start(_Job(self._relay, self, fn, select, edit))

    def wait_idle(self, msecs: int = 10000) -> bool:
        """Wait for queued changes (tests, and before the app quits)."""
        return self._pool.waitForDone(msecs)

    def _done(self, result: Any, col: Collection | None, problems: list[Problem], error: str, job: _Job) -> None:
        self.last_error = error
        if job.select and isinstance(result, str):
            self._pending_select, self._edit_after = result, job.edit
        if col is None:
            self._show_problems()
            return
        expanded = self._expanded_paths()
        first = self.collection is None
        selected = self._pending_select or self.selected_path()
        self.collection, self.problems = col, problems
        self.model.set_collection(col)
        self.title.setText(col.name)
        self.title.setToolTip(str(self.store.root) if self.store else "")
        self._fill_envs()
        if first:
            self.view.expandToDepth(0)
        else:
            for p in expanded:
                self.view.expand(self.model.index_for_path(p))
        if selected:
            idx = self.model.index_for_path(selected)
            if idx.isValid():
                self.view.setCurrentIndex(idx)
                self.view.scrollTo(idx)
                if self._edit_after and self._pending_select:
                    self.view.edit(idx)
        self._pending_select, self._edit_after = None, False
        self._show_problems()
        self._watch()
        self.loaded.emit()

    def _expanded_paths(self) -> list[str]:
        out = []
        stack = [QModelIndex()]
        while stack:
            parent = stack.pop()
            for row in range(self.model.rowCount(parent)):
                idx = self.model.index(row, 0, parent)
                if self.view.isExpanded(idx):
                    out.append(str(idx.data(Qt.ItemDataRole.UserRole)))
                    stack.append(idx)
        return out

    def _show_problems(self) -> None:
        if not self.problems:
            self.problem_label.setText(self.last_error)
            self.problem_label.setToolTip("")
            self.problem_label.setVisible(bool(self.last_error))
            return
        n = len(self.problems)
        root = self.store.root if self.store else Path(".")
        lines = []
        for p in self.problems[:5]:
            try:
                where = p.path.relative_to(root).as_posix()
            except ValueError:
                where = str(p.path)
            lines.append(f"{where}{':' + str(p.line) if p.line else ''}: {p.message}")
        more = f"\n… and {n - 5} more" if n > 5 else ""
        error = f"{self.last_error}\n" if self.last_error else ""
        self.problem_label.setText(f"{error}{n} file{'s' if n > 1 else ''} could not be read:\n" + "\n".join(lines)
                                   + more)
        self.problem_label.setToolTip("\n".join(str(p) for p in self.problems))
        self.problem_label.show()

    # -- watching the disk -----------------------------------------------------------------
    def _watch(self) -> None:
        if self.store is None or self.collection is None:
            return
        root = self.store.root
        wanted = {str(root)}
        if (root / ENVIRONMENTS_DIR).is_dir():
            wanted.add(str(root / ENVIRONMENTS_DIR))
        for dirpath, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            wanted.add(dirpath)
            wanted.update(os.path.join(dirpath, f) for f in files if f.endswith(SUFFIX) and not f.startswith("."))
        current = set(self.watcher.files()) | set(self.watcher.directories())
        gone = sorted(current - wanted)
        new = sorted(wanted - current)
        if gone:
            self.watcher.removePaths(gone)
        if new:
            self.watcher.addPaths(new)

    def _disk_changed(self, _path: str) -> None:
        self._reload_timer.start()  # a burst of changes (git pull) gives one reload

    # -- environments ----------------------------------------------------------------------
    def _fill_envs(self) -> None:
        names = [e.name for e in self.collection.environments] if self.collection else []
        self.env_box.blockSignals(True)
        self.env_box.clear()
        self.env_box.addItem("No environment", "")
        for n in names:
            self.env_box.addItem(n, n)
        i = self.env_box.findData(self._environment)
        self.env_box.setCurrentIndex(max(i, 0))
        self.env_box.blockSignals(False)
        if self._environment and i < 0:
            self._environment = ""
            self.environment_changed.emit("")

    def _env_chosen(self, index: int) -> None:
        self._environment = str(self.env_box.itemData(index) or "")
        self.environment_changed.emit(self._environment)

    def set_environment(self, name: str) -> None:
        i = self.env_box.findData(name)
        if i >= 0:
            self.env_box.setCurrentIndex(i)

    @property
    def environment(self) -> str:
        return self._environment

    # -- selection and opening -------------------------------------------------------------
    def selected_path(self) -> str | None:
        idx = self.view.currentIndex()
        return str(idx.data(Qt.ItemDataRole.UserRole)) if idx.isValid() else None

    def _target_folder(self) -> str:
        node = self.model.node(self.view.currentIndex()) if self.view.currentIndex().isValid() else None
        if node is None:
            return ""
        if isinstance(node.value, Folder):
            return node.path
        return node.parent.path if node.parent is not None else ""

    def _activated(self, index: QModelIndex) -> None:
        node = self.model.node(index)
        if node is not None and isinstance(node.value, RequestItem):
            self.request_opened.emit(node.value.clone())

    # -- changes (each runs on the worker, then the tree reloads) --------------------------
    def new_request(self, folder: str | None = None, name: str = "New request", edit: bool = True) -> None:
        folder = self._target_folder() if folder is None else folder
        self._then_select(lambda s: s.new_request(folder, RequestItem(name)), edit)

    def new_folder(self, parent: str | None = None, name: str = "New folder", edit: bool = True) -> None:
        parent = self._target_folder() if parent is None else parent
        self._then_select(lambda s: s.new_folder(parent, name), edit)

    def save_request(self, item: RequestItem, folder: str | None = None) -> None:
        """Save ``item``: over its file when it has a path, else as a new request in ``folder``."""
        copy = item.clone()
        if copy.path:
            self._submit(lambda s: (s.save_request(copy), s.reload()))
        else:
            target = self._target_folder() if folder is None else folder
            self._then_select(lambda s: s.new_request(target, copy), False)

    def rename(self, path: str, name: str) -> None:
        self._then_select(lambda s: s.rename(path, name), False)

    def move(self, paths: list[str], folder: str, index: int) -> None:
        def go(s: CollectionStore) -> str:
            new = ""
            for k, p in enumerate(paths):
                new = s.move(p, folder, index + k)
            return new

        self._then_select(go, False)

    def duplicate(self, path: str) -> None:
        self._then_select(lambda s: s.duplicate(path), False)

    def delete(self, path: str) -> None:
        node = self.collection.find(path) if self.collection else None
        if node is None:
            return
        what = f"the folder “{node.name}” and everything in it" if isinstance(node, Folder) \
            else f"the request “{node.name}”"
        if self.confirm(f"Delete {what}? The files are removed from the collection folder."):
            self._submit(lambda s: s.delete(path))

    def _then_select(self, fn: Callable[[CollectionStore], Any], edit: bool) -> None:
        """Run ``fn`` (which returns the path of what it made or moved) and select that path."""
        self._submit(fn, select=True, edit=edit)

    def _ask(self, question: str) -> bool:
        answer = QMessageBox.question(self, "Courier", question,
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def _menu(self, pos: Any) -> None:
        if self.store is None:
            return
        idx = self.view.indexAt(pos)
        if idx.isValid():
            self.view.setCurrentIndex(idx)
        else:
            self.view.setCurrentIndex(QModelIndex())
        menu = QMenu(self)
        menu.addAction("New request", lambda: self.new_request())
        menu.addAction("New folder", lambda: self.new_folder())
        if idx.isValid():
            path = str(idx.data(Qt.ItemDataRole.UserRole))
            menu.addSeparator()
            if isinstance(self.model.node(idx).value, RequestItem):  # type: ignore[union-attr]
                menu.addAction("Open", lambda: self._activated(idx))
            menu.addAction("Rename", lambda: self.view.edit(idx))
            menu.addAction("Duplicate", lambda: self.duplicate(path))
            menu.addAction("Delete", lambda: self.delete(path))
        menu.popup(self.view.viewport().mapToGlobal(pos))
