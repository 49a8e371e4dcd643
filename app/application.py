"""Starts the Qt application with the network bridge and the main window."""

from __future__ import annotations

import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.bridge import QtNetworkManager


def run_gui(quit_after: float | None = None) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Courier")
    app.setOrganizationName("Courier")
    from app.dialogs import AppContext, install_dialogs
    from app.ui.main_window import MainWindow
    from app.ui.theme import follow_system

    follow_system(app)

    context = AppContext()
    manager = QtNetworkManager()
    window = MainWindow(manager)
    dialogs = install_dialogs(context, manager, window)
    window.show()
    app.aboutToQuit.connect(dialogs.close)
    app.aboutToQuit.connect(manager.close)
    app.aboutToQuit.connect(context.close)
    if quit_after is not None:
        QTimer.singleShot(int(quit_after * 1000), app.quit)
    return app.exec()
