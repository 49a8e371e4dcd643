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
        # httpx imports its command line's modules (click, pygments, rich) when they happen to be
        # installed; Courier never runs it: ~3 MB and ~15 ms saved where they are.
        sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
        try:
            import app.bridge  # (core, httpx, asyncio: the slow part)
            import app.dialogs  # noqa: F401
        finally:
            self.loaded.emit()


def lighten_pyside_import_hook() -> None:
    """PySide6 looks for the text "PySide6" in the source of every module imported after it (for
    its ``__feature__`` switches) with ``inspect.getsource``, and ``linecache`` keeps every one of
    those sources for the life of the process: ~10 MB once the core is loaded, and slower imports.
    The same check, reading the file without keeping it. Nothing changes if PySide6 moves it."""
    feature = sys.modules.get("shibokensupport.feature")
    original = getattr(feature, "_mod_uses_pyside", None)
    if original is None or getattr(original, "courier", False):
        return

    def uses_pyside(module: Any) -> bool:
        path = getattr(module, "__file__", None)
        if isinstance(path, str) and path.endswith(".py"):
            try:
                with open(path, "rb") as fh:
                    return b"PySide6" in fh.read()
            except OSError:
                return False
        return bool(original(module))

    uses_pyside.courier = True  # type: ignore[attr-defined]
    feature._mod_uses_pyside = uses_pyside  # type: ignore[union-attr]


def run_gui(quit_after: float | None = None) -> int:
    lighten_pyside_import_hook()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Courier")
    app.setOrganizationName("Courier")
    app.setDesktopFileName("courier")  # the icon itself is set just after the first paint (below)
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

    def painted() -> None:
        # the window icon is for the task bar and the title bar, which the window manager redraws
        # when it arrives: it need not hold up the window (QIcon and the SVG engine ~4 ms)
        from app.resources import set_app_icon

        set_app_icon(app)
        loader.start()

    loader.loaded.connect(attach)
    window.firstPainted.connect(painted)
    window.show()
    app.aboutToQuit.connect(shutdown)
    if quit_after is not None:
        QTimer.singleShot(int(quit_after * 1000), app.quit)
    return app.exec()
