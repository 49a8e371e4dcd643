"""Puts collections and history into the main window: the sidebar and the history panel in the
window's left dock, requests opened into composer tabs, ``{{variables}}`` filled in when a request
is sent (so switching environment applies at once), every finished reply recorded in history
(secret values redacted), and the last collection and environment reopened at start.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QTabWidget

from app.collections import Collection, Resolver
from app.collections.spec import item_to_spec, resolve_spec
from app.history import History
from app.request_spec import RequestSpec
from app.settings import data_dir, write_state_file
from app.ui.history_panel import HistoryPanel
from app.ui.sidebar import CollectionSidebar

RECENT_FILE = "collections.json"


@dataclass
class CollectionsDock:
    tabs: QTabWidget
    sidebar: CollectionSidebar
    history_panel: HistoryPanel
    history: History
    last_resolver: Resolver | None = None

    def redact(self, text: str) -> str:
        r = self.last_resolver
        return r.redact(text) if r is not None else text

    def resolve(self, spec: RequestSpec) -> RequestSpec:
        if self.sidebar.collection is None:
            return spec
        self.last_resolver = self.sidebar.resolver()
        return resolve_spec(spec, self.last_resolver)

    def close(self) -> None:
        self.sidebar.wait_idle(5000)
        self.history.close()


def _load_recent(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)} \
        if isinstance(data, dict) else {}


def install(window: Any, manager: Any, directory: Path | None = None) -> CollectionsDock:
    """Wire collections and history into ``window`` (a ``MainWindow``) and ``manager``."""
    base = directory or data_dir()
    sidebar = CollectionSidebar()
    history = History(base / "history.db")
    panel = HistoryPanel(history)
    tabs = QTabWidget()
    tabs.setDocumentMode(True)
    tabs.addTab(sidebar, "Collections")
    tabs.addTab(panel, "History")
    window.set_sidebar(tabs, "Collections")
    dock = CollectionsDock(tabs, sidebar, panel, history)

    sidebar.request_opened.connect(lambda item: window.open_request(sidebar.spec_for(item)))
    panel.request_opened.connect(lambda item: window.open_request(item_to_spec(Collection(name=""), item)))
    window.saveToCollectionRequested.connect(lambda spec: sidebar.save_spec(spec))
    window.resolve_spec = dock.resolve

    def record(reply: Any) -> None:  # on the network thread; History is thread-safe
        history.record(reply, redact=dock.redact)

    manager.thread.call(manager.core.add_finished_listener, record)
    manager.finished.connect(panel.schedule_refresh)

    recent_path = base / RECENT_FILE
    recent = _load_recent(recent_path)

    def remember(*_args: Any) -> None:
        state = {"last": str(sidebar.store.root) if sidebar.store else "", "environment": sidebar.environment}
        try:
            write_state_file(recent_path, json.dumps(state, indent=2).encode())
        except OSError:
            pass

    def first_load() -> None:
        sidebar.loaded.disconnect(first_load)
        if recent.get("environment"):
            sidebar.set_environment(recent["environment"])
        sidebar.environment_changed.connect(remember)

    sidebar.collection_opened.connect(remember)
    if recent.get("last") and Path(recent["last"]).is_dir():
        sidebar.loaded.connect(first_load)
        sidebar.open_collection(recent["last"])
    else:
        sidebar.environment_changed.connect(remember)
    return dock
