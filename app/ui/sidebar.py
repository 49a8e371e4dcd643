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

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QFileSystemWatcher,
    QModelIndex,
    QObject,
    QRunnable,
    Qt,
    QThreadPool,
    QTimer,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QMessageBox,
    QToolButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from app.collections import (
    Collection,
    CollectionStore,
    Folder,
    KeyringSecrets,
    Problem,
    RequestItem,
    Resolver,
    SecretStore,
    build_resolver,
)
from app.collections.format import ENVIRONMENTS_DIR, SUFFIX
from app.collections.loader import NotACollection
from app.collections.spec import item_to_spec, redact_spec, spec_to_item
from app.request_spec import RequestSpec
from app.ui.collection_model import CollectionModel

RELOAD_DELAY_MS = 200


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
    collection_opened = Signal(str)
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
        self._opened: Path | None = None

        self.secrets: SecretStore = KeyringSecrets()
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

        self.open_button = QToolButton()
        self.open_button.setText("Open…")
        self.open_button.setToolTip("Open a collection folder")
        self.open_button.clicked.connect(self._choose_folder)
        self.new_button = QToolButton()
        self.new_button.setText("New…")
        self.new_button.setToolTip("Create a collection in an empty folder")
        self.new_button.clicked.connect(self._choose_new_folder)
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.env_box)
        top.addWidget(self.open_button)
        top.addWidget(self.new_button)
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

    def create_collection(self, path: str | os.PathLike[str], name: str) -> None:
        root = Path(path)

        def creator(_store: CollectionStore | None) -> None:
            self.store = CollectionStore.create(root, name)

        self._pool.start(_Job(self._relay, self, creator))

    def _choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a collection folder")
        if path:
            self.open_collection(path)

    def _choose_new_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Choose an empty folder for the new collection")
        if path:
            self.create_collection(path, Path(path).name)

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
        first = self.collection is None or (self.store is not None and self._opened != self.store.root)
        if self.store is not None and self._opened != self.store.root:
            self._opened = self.store.root
            self.collection_opened.emit(str(self.store.root))
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

    # -- for the composer ------------------------------------------------------------------
    def resolver(self) -> Resolver:
        """Variables of the collection and the chosen environment (secrets from ``self.secrets``)."""
        col = self.collection or Collection(name="")
        env = col.environment(self._environment) if self._environment else None
        return build_resolver(col, env, self.secrets)

    def spec_for(self, item: RequestItem) -> RequestSpec:
        """What the composer shows for ``item``: inherited headers and auth included, variables kept."""
        col = self.collection or Collection(name="")
        return item_to_spec(col, item, base_dir=self.store.root if self.store else None)

    def save_spec(self, spec: RequestSpec, name: str | None = None, folder: str | None = None) -> None:
        """Save a composer's request as a new request of the selected folder."""
        col = self.collection or Collection(name="")
        target = self._target_folder() if folder is None else folder
        chain = [col.root]
        node = col.find(target)
        if isinstance(node, Folder) and target:
            for candidate_chain, _item in col.root.walk():
                if candidate_chain and candidate_chain[-1] is node:
                    chain = candidate_chain
                    break
            else:
                chain = [col.root, node]
        spec = redact_spec(spec, self.resolver())  # a sent request holds secret values: never save them
        title = name or f"{spec.method} {spec.url}".strip()[:80] or "New request"
        item = spec_to_item(spec, title, col, chain, self.store.root if self.store else None)
        self.save_request(item, target)

    def secrets_dialog(self) -> QDialog | None:
        """The dialog for the secret values of the collection and the chosen environment."""
        if self.collection is None:
            return None
        from app.ui.secrets_dialog import SecretsDialog

        env = self.collection.environment(self._environment) if self._environment else None
        return SecretsDialog(self.collection, env, self.secrets, self)

    def edit_secrets(self) -> None:
        dialog = self.secrets_dialog()
        if dialog is not None:
            dialog.exec()

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
        menu.addAction("Secret values…", self.edit_secrets)
        menu.addSeparator()
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
