"""The main window: request tabs (composers) on top; below, the live reply list beside the
details, the timeline and the load test; a dock slot on the left for the collections sidebar.

Signals: ``saveToCollectionRequested(object)`` (a ``RequestSpec``, from the list's context menu),
``firstPainted()`` (the window is on screen: the app loads the network core then).
``set_sidebar(widget)`` hosts a sidebar; ``open_request(spec)`` opens a request in a new tab.

The window can be built and shown before the network exists (``manager=None``) — the core and
httpx take longer to import than Qt takes to show a window — and ``attach_manager`` connects it
later; a Send pressed meanwhile goes out as soon as the network is ready.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray, QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QSplitter,
    QTabWidget,
    QToolButton,
    QWidget,
)

from app.reply_store import ReplyStore
from app.request_spec import RequestSpec, spec_to_curl_parts
from app.state import load_state, save_state
from app.ui.composer import Composer
from app.ui.reply_list import LiveFeed, ReplyListPanel, spec_for_row
from app.ui.reply_model import ReplyListModel

if TYPE_CHECKING:
    from PySide6.QtGui import QCloseEvent
    from PySide6.QtWidgets import QDockWidget

    from app.bridge import QtNetworkManager, QtReply
    from app.ui.reply_details import ReplyDetails
    from app.ui.timing import TimelinePanel


class MainWindow(QMainWindow):
    saveToCollectionRequested = Signal(object)
    firstPainted = Signal()
    _painted = False  # a class default: Qt sends events while __init__ runs

    def __init__(self, manager: QtNetworkManager | None = None, restore: bool = True) -> None:
        super().__init__()
        self.manager: QtNetworkManager | None = None
        self.setWindowTitle("Courier")
        self.resize(1280, 800)
        self.store = ReplyStore()
        self.model = ReplyListModel(self.store)
        self.feed = LiveFeed(self.model)
        self.feed.flushed.connect(self._rows_updated)
        self._waiting: list[Composer] = []  # Send pressed before the network was ready

        self.request_tabs = QTabWidget()
        self.request_tabs.setTabsClosable(True)
        self.request_tabs.setMovable(True)
        self.request_tabs.setDocumentMode(True)
        plus = QToolButton()
        plus.setText("+")
        plus.setToolTip("New request tab (Ctrl+T)")
        plus.clicked.connect(lambda: self.new_tab())
        self.request_tabs.setCornerWidget(plus, Qt.Corner.TopRightCorner)
        self.request_tabs.tabCloseRequested.connect(self.close_tab)

        self.list_panel = ReplyListPanel(self.model)
        self._details: ReplyDetails | None = None  # built when a reply is first shown (start-up time)
        self._timeline: TimelinePanel | None = None
        self.side_tabs = QTabWidget()
        self.side_tabs.setDocumentMode(True)
        hint = QLabel("Select a reply in the list to see its status, headers, body, TLS and timing.")
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint.setWordWrap(True)
        self.side_tabs.addTab(hint, "Reply")
        self.side_tabs.addTab(QWidget(), "Timeline")
        self._load_panel: QWidget | None = None
        self.side_tabs.addTab(QWidget(), "Load test")
        self.side_tabs.currentChanged.connect(self._side_tab_changed)

        self.lower_split = QSplitter(Qt.Orientation.Horizontal)
        self.lower_split.addWidget(self.list_panel)
        self.lower_split.addWidget(self.side_tabs)
        self.lower_split.setSizes([700, 580])
        self.main_split = QSplitter(Qt.Orientation.Vertical)
        self.main_split.addWidget(self.request_tabs)
        self.main_split.addWidget(self.lower_split)
        self.main_split.setSizes([300, 500])
        self.main_split.setChildrenCollapsible(False)
        self.setCentralWidget(self.main_split)
        self.sidebar_dock: QDockWidget | None = None
        self.resolve_spec: Callable[[RequestSpec], RequestSpec] | None = None  # set by the collections dock
        self.statusBar().showMessage("Ready")

        self.list_panel.currentRowChanged.connect(self._show_row)
        self.list_panel.resendRequested.connect(self.resend)
        self.list_panel.copyCurlRequested.connect(self.copy_as_curl)
        self.list_panel.saveToCollectionRequested.connect(self.saveToCollectionRequested)
        self.list_panel.exportHarRequested.connect(self.export_har)

        for keys, slot in ((("Ctrl+Return", "Ctrl+Enter"), self.send),
                           (("Escape",), self.cancel),
                           (("Ctrl+L",), self.focus_url),
                           (("Ctrl+F",), self.list_panel.focus_filter),
                           (("Ctrl+T",), lambda: self.new_tab()),
                           (("Ctrl+W",), lambda: self.close_tab(self.request_tabs.currentIndex()))):
            for k in keys:
                QShortcut(QKeySequence(k), self, slot)
        self.firstPainted.connect(self._after_first_paint)

        self._replies: dict[Composer, QtReply] = {}
        self._shown_row = -1
        self._shown_complete = False
        self._state_saved = False
        self.installEventFilter(self)
        state = load_state() if restore else {}
        self._restore(state)
        if manager is not None:
            self.attach_manager(manager)
        else:
            self.statusBar().showMessage("Starting the network…")

    def _after_first_paint(self) -> None:
        """The filter's clear button (the style's icons) waits for the window to be on screen."""
        self.list_panel.filter_edit.setClearButtonEnabled(True)

    def attach_manager(self, manager: QtNetworkManager) -> None:
        """Connect the network (once); sends that waited for it go out now."""
        if self.manager is not None:
            return
        self.manager = manager
        self.feed.attach(manager)
        self.statusBar().showMessage("Ready")
        waiting, self._waiting = self._waiting, []
        for c in waiting:
            if self.request_tabs.indexOf(c) >= 0:
                self.send_from(c)

    def eventFilter(self, obj: QObject, e: QEvent) -> bool:
        """Watches this window until its first paint (then stops watching)."""
        if obj is self and not self._painted and e.type() == QEvent.Type.Paint:
            self._painted = True
            self.removeEventFilter(self)
            QTimer.singleShot(0, self.firstPainted.emit)
        return False

    # -- tabs ----------------------------------------------------------------------------------
    def composer(self) -> Composer:
        w = self.request_tabs.currentWidget()
        if not isinstance(w, Composer):
            return self.new_tab()
        return w

    def new_tab(self, spec: RequestSpec | None = None) -> Composer:
        c = Composer()
        if spec is not None:
            c.load(spec)
        c.sendRequested.connect(lambda c=c: self.send_from(c))
        c.cancelRequested.connect(lambda c=c: self.cancel_from(c))
        c.changed.connect(lambda c=c: self._retitle(c))
        i = self.request_tabs.addTab(c, c.title())
        self.request_tabs.setCurrentIndex(i)
        return c

    def open_request(self, spec: RequestSpec) -> Composer:
        """Open ``spec`` (e.g. from a collection) in a new tab."""
        return self.new_tab(spec)

    def close_tab(self, index: int) -> None:
        w = self.request_tabs.widget(index)
        if w is None:
            return
        if isinstance(w, Composer):
            self.cancel_from(w)
            self._replies.pop(w, None)
        self.request_tabs.removeTab(index)
        w.deleteLater()
        if self.request_tabs.count() == 0:
            self.new_tab()

    def _retitle(self, c: Composer) -> None:
        i = self.request_tabs.indexOf(c)
        if i >= 0:
            self.request_tabs.setTabText(i, c.title())

    def focus_url(self) -> None:
        c = self.composer()
        c.url.setFocus()
        c.url.selectAll()

    # -- the sidebar slot ----------------------------------------------------------------------
    def set_sidebar(self, widget: QWidget, title: str = "Collections") -> QDockWidget:
        """Host ``widget`` in a dock on the left (the collections sidebar)."""
        from PySide6.QtWidgets import QDockWidget

        if self.sidebar_dock is None:
            self.sidebar_dock = QDockWidget(title, self)
            self.sidebar_dock.setObjectName("sidebar")
            self.sidebar_dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                                          | QDockWidget.DockWidgetFeature.DockWidgetClosable)
            self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.sidebar_dock)
        self.sidebar_dock.setWindowTitle(title)
        self.sidebar_dock.setWidget(widget)
        if self._dock_state is not None:
            self.restoreState(self._dock_state)
        return self.sidebar_dock

    # -- sending -------------------------------------------------------------------------------
    def send(self) -> QtReply | None:
        return self.send_from(self.composer())

    def cancel(self) -> None:
        self.cancel_from(self.composer())

    def send_from(self, c: Composer) -> QtReply | None:
        if self.manager is None:
            if c not in self._waiting:
                self._waiting.append(c)
            c.show_message("Starting the network… the request goes out in a moment.")
            return None
        spec = c.spec()
        if self.resolve_spec is not None:
            spec = self.resolve_spec(spec)  # {{variables}} of the collection's environment
        try:
            verb, request, body = spec.build()
        except (ValueError, OSError) as exc:
            c.show_message(str(exc), error=True)
            return None
        old = self._replies.pop(c, None)
        if old is not None and not old.core.is_finished:
            old.abort()
        c.show_message("")
        reply = self.send_spec(verb, request, body, spec)
        self._replies[c] = reply
        c.set_running(True)
        reply.uploadProgress.connect(lambda d, t, c=c: c.set_progress(c.upload_bar, d, t))
        reply.downloadProgress.connect(lambda d, t, c=c: c.set_progress(c.download_bar, d, t))
        reply.finished.connect(lambda c=c, r=reply: self._finished(c, r))
        self.list_panel.select_row(reply.core.extra["ui_row"])
        return reply

    def send_spec(self, verb: str, request: Any, body: Any, spec: RequestSpec | None) -> QtReply:
        """Send and put the row into the list at once (later events update it)."""
        assert self.manager is not None, "no network yet"
        creds = spec.credentials() if spec is not None else None
        reply = self.manager.send(verb, request, body, spec=spec, credentials=creds)
        self.feed.add_now(reply.core, spec)
        self.statusBar().showMessage(f"{verb} {request.url}")
        return reply

    def cancel_from(self, c: Composer) -> None:
        reply = self._replies.get(c)
        if reply is not None and not reply.core.is_finished:
            reply.abort()

    def _finished(self, c: Composer, reply: QtReply) -> None:
        if self._replies.get(c) is reply:
            c.set_running(False)
        r = reply.core
        if r.error.value != 0 and not r.status:
            self.statusBar().showMessage(f"{r.error.name}: {r.error_string}")
        else:
            total = r.timings.total or 0.0
            self.statusBar().showMessage(f"{r.method} {r.url} → {r.status} in {total * 1000:.0f} ms")

    def resend(self, row: int) -> None:
        if self.manager is None:
            return
        spec = spec_for_row(self.model, row)
        try:
            verb, request, body = spec.build()
        except (ValueError, OSError) as exc:
            self.statusBar().showMessage(f"Cannot resend: {exc}")
            return
        reply = self.send_spec(verb, request, body, spec)
        self.list_panel.select_row(reply.core.extra["ui_row"])

    def copy_as_curl(self, row: int) -> None:
        from app.curl_import import format_curl

        spec = spec_for_row(self.model, row)
        try:
            text = format_curl(**spec_to_curl_parts(spec))
        except (ValueError, OSError) as exc:
            self.statusBar().showMessage(f"Cannot copy: {exc}")
            return
        from PySide6.QtGui import QGuiApplication

        QGuiApplication.clipboard().setText(text)
        self.statusBar().showMessage("Copied as curl")

    def export_har(self, rows: list[int]) -> None:
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getSaveFileName(self, "Export HAR", "courier.har", "HAR files (*.har)")
        if path:
            self.write_har(rows, path)

    def write_har(self, rows: list[int], path: str) -> Any:
        """Write the rows' replies as HAR on a worker thread; returns the future."""
        from app.har import export_rows
        from app.ui.body_viewer import pool

        fut = pool().submit(export_rows, self.store, rows, path)
        self.statusBar().showMessage(f"Exporting {len(rows)} replies to {path}…")
        fut.add_done_callback(lambda f: None)
        return fut

    # -- details ---------------------------------------------------------------------------------
    def _show_row(self, row: int) -> None:
        self._shown_row = row
        self.store.pinned = {row} if row >= 0 else set()
        if row < 0:
            if self._details is not None:
                self._details.clear()
            return
        reply = self.model.reply(row)
        if reply is None:
            self.details.clear()
            return
        self._shown_complete = reply.is_finished  # its whole body is being shown
        self.details.show_reply(reply)

    def _rows_updated(self, rows: set[int], finished: set[int]) -> None:
        if self._shown_row in rows:
            reply = self.model.reply(self._shown_row)
            if reply is not None:
                # the body again only when it was shown unfinished (a finished reply's flush can
                # arrive after it was shown: reloading then would drop the page on screen)
                refresh = self._shown_row in finished and not self._shown_complete
                self._shown_complete = self._shown_complete or reply.is_finished
                self.details.show_reply(reply, refresh_body=refresh)

    @property
    def details(self) -> ReplyDetails:
        if self._details is None:
            from app.ui.reply_details import ReplyDetails

            self._details = ReplyDetails()
            self._swap_side_tab(0, self._details, "Reply")
        return self._details

    @property
    def timeline(self) -> TimelinePanel:
        if self._timeline is None:
            from app.ui.timing import TimelinePanel

            self._timeline = TimelinePanel(self.model)
            self._swap_side_tab(1, self._timeline, "Timeline")
        return self._timeline

    def _swap_side_tab(self, index: int, widget: QWidget, title: str) -> None:
        current = self.side_tabs.currentIndex()
        self.side_tabs.blockSignals(True)
        try:
            old = self.side_tabs.widget(index)
            self.side_tabs.removeTab(index)
            self.side_tabs.insertTab(index, widget, title)
            self.side_tabs.setCurrentIndex(current)
            if old is not None:
                old.deleteLater()
        finally:
            self.side_tabs.blockSignals(False)

    def _side_tab_changed(self, index: int) -> None:
        if index == 1:
            self.timeline.show()
        if index == 2 and self._load_panel is None and self.manager is not None:
            from app.ui.load_test import LoadTestPanel

            self._load_panel = LoadTestPanel(self.manager, self)
            self._swap_side_tab(2, self._load_panel, "Load test")

    def load_panel(self) -> Any:
        self.side_tabs.setCurrentIndex(2)
        return self._load_panel

    # -- state -----------------------------------------------------------------------------------
    def _restore(self, state: dict[str, Any]) -> None:
        self._dock_state: QByteArray | None = None
        for key, fn in (("geometry", self.restoreGeometry),
                        ("list_header", self.list_panel.view.horizontalHeader().restoreState)):
            raw = state.get(key)
            if isinstance(raw, str):
                try:
                    fn(QByteArray(base64.b64decode(raw)))
                except ValueError:
                    pass
        tabs = state.get("tabs") if isinstance(state.get("tabs"), list) else None
        for d in tabs or []:
            if isinstance(d, dict):
                self.new_tab(RequestSpec.from_dict(d))
        if self.request_tabs.count() == 0:
            self.new_tab()
        cur = state.get("current_tab", 0)
        if isinstance(cur, int) and 0 <= cur < self.request_tabs.count():
            self.request_tabs.setCurrentIndex(cur)
        for key, split in (("main_split", self.main_split), ("lower_split", self.lower_split)):
            sizes = state.get(key)
            if isinstance(sizes, list) and len(sizes) == split.count() and all(isinstance(s, int) for s in sizes):
                split.setSizes(sizes)
        side = state.get("side_tab", 0)
        if isinstance(side, int) and 0 <= side < 2:
            self.side_tabs.setCurrentIndex(side)
        raw = state.get("dock_state")
        if isinstance(raw, str):
            try:
                self._dock_state = QByteArray(base64.b64decode(raw))
            except ValueError:
                self._dock_state = None

    def state(self) -> dict[str, Any]:
        tabs = [w.spec().to_dict() for i in range(self.request_tabs.count())
                if isinstance(w := self.request_tabs.widget(i), Composer)]
        return {
            "tabs": tabs, "current_tab": self.request_tabs.currentIndex(),
            "main_split": self.main_split.sizes(), "lower_split": self.lower_split.sizes(),
            "side_tab": self.side_tabs.currentIndex() if self.side_tabs.currentIndex() < 2 else 0,
            "geometry": base64.b64encode(bytes(self.saveGeometry().data())).decode(),
            "dock_state": base64.b64encode(bytes(self.saveState().data())).decode(),
            "list_header": base64.b64encode(
                bytes(self.list_panel.view.horizontalHeader().saveState().data())).decode(),
        }

    def save_window_state(self) -> None:
        try:
            save_state(self.state())
        except OSError as exc:
            self.statusBar().showMessage(f"Could not save the window state: {exc}")

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._state_saved:
            self._state_saved = True
            self.save_window_state()
        if self._load_panel is not None:
            self._load_panel.stop()  # type: ignore[attr-defined]
        if self.manager is not None:
            self.manager.close()
        self.store.close()
        super().closeEvent(event)
