"""Starts the Qt application: the main window first, then the network.

Importing the core (httpx, httpcore, h2, asyncio) takes longer than Qt needs to show a window, so
the window is shown first and the core is imported on a helper thread while it paints; the bridge
and the dialogs are attached on the GUI thread when the import is done (a Send pressed meanwhile
waits for it).
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication


class _CoreLoader(QObject):
    """Imports the network core off the GUI thread; ``loaded`` fires on the GUI thread."""

    loaded = Signal()

    def start(self) -> None:
        threading.Thread(target=self._run, name="courier-import", daemon=True).start()

    def _run(self) -> None:
        try:
            import app.bridge  # (core, httpx, asyncio: the slow part)
            import app.dialogs  # noqa: F401
        finally:
            self.loaded.emit()


def run_gui(quit_after: float | None = None) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Courier")
    app.setOrganizationName("Courier")
    from app.resources import set_app_icon

    set_app_icon(app)
    from app.ui.main_window import MainWindow
    from app.ui.theme import follow_system

    follow_system(app)
    window = MainWindow()
    loader = _CoreLoader()
    parts: dict[str, Any] = {}

    def attach() -> None:
        from app.bridge import QtNetworkManager
        from app.dialogs import AppContext, install_dialogs

        context = AppContext()
        manager = QtNetworkManager()
        window.attach_manager(manager)
        dialogs = install_dialogs(context, manager, window)
        from app.ui import collections_dock

        collections = collections_dock.install(window, manager)
        parts.update(context=context, manager=manager, dialogs=dialogs, collections=collections)

    def shutdown() -> None:
        for name in ("collections", "dialogs", "manager", "context"):
            if name in parts:
                parts[name].close()

    loader.loaded.connect(attach)
    window.firstPainted.connect(loader.start)
    window.show()
    app.aboutToQuit.connect(shutdown)
    if quit_after is not None:
        QTimer.singleShot(int(quit_after * 1000), app.quit)
    return app.exec()
