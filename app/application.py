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
    from app.ui.main_window import MainWindow

    manager = QtNetworkManager()
    window = MainWindow(manager)
    window.show()
    app.aboutToQuit.connect(manager.close)
    if quit_after is not None:
        QTimer.singleShot(int(quit_after * 1000), app.quit)
    return app.exec()
