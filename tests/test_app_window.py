"""The real window under pytest-qt: a user types a URL, presses Send and sees the reply."""

from __future__ import annotations

import subprocess
import sys

from app.bridge import QtNetworkManager
from app.ui.main_window import MainWindow
from tests.servers import HypercornServer


def test_send_shows_status_headers_and_body(qtbot, http_server: HypercornServer) -> None:
    manager = QtNetworkManager()
    window = MainWindow(manager, restore=False)
    qtbot.addWidget(window)
    window.show()
    composer = window.composer()
    composer.url.setText(http_server.url + "/echo")
    with qtbot.waitSignal(manager.finished, timeout=10000):
        composer.send_button.click()
    qtbot.waitUntil(lambda: "200" in window.details.status.text(), timeout=5000)
    assert ("content-type", "application/json") in window.details.response_headers.rows
    qtbot.waitUntil(lambda: '"method": "GET"' in window.details.body.current_text(), timeout=5000)
    window.close()


def test_signals_arrive_on_the_gui_thread_in_qnam_order(qtbot, http_server: HypercornServer) -> None:
    from PySide6.QtCore import QThread

    manager = QtNetworkManager()
    order: list[str] = []
    threads: set[bool] = set()
    reply = manager.get(http_server.url + "/echo")

    def note(name: str) -> None:
        order.append(name)
        threads.add(QThread.currentThread() is qtbot_app_thread())

    def qtbot_app_thread():  # type: ignore[no-untyped-def]
        from PySide6.QtWidgets import QApplication

        inst = QApplication.instance()
        assert inst is not None
        return inst.thread()

    reply.metaDataChanged.connect(lambda: note("metaDataChanged"))
    reply.readyRead.connect(lambda: note("readyRead"))
    manager.finished.connect(lambda r: note("manager.finished"))
    reply.finished.connect(lambda: note("finished"))
    qtbot.waitUntil(lambda: "finished" in order, timeout=10000)
    assert threads == {True}
    assert order.index("metaDataChanged") < order.index("readyRead") < order.index("manager.finished") < order.index("finished")
    manager.close()
    assert not manager.thread._thread.is_alive()


def test_version_and_no_display_message_headless() -> None:
    out = subprocess.run([sys.executable, "-m", "app", "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.startswith("courier ")
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp"}
    out = subprocess.run([sys.executable, "-m", "app"], capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 2
    assert "no display found" in out.stderr and "--offscreen" in out.stderr
    assert "Aborted" not in out.stderr
