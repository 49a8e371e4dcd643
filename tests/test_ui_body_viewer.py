"""Reply bodies in the details: a 200 MB JSON opens page by page without blocking the GUI, text
comes out in its charset, binary as hex, images as a preview."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtGui import QColor, QImage

from app.bridge import QtNetworkManager
from app.ui.main_window import MainWindow
from tests.servers import HypercornServer
from tests.ui_helpers import GapMonitor, write_big_json

BIG = 200 * 1024 * 1024


@pytest.fixture(scope="session")
def big_json(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_big_json(tmp_path_factory.mktemp("big") / "big.json", BIG)


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("COURIER_DATA_DIR", str(tmp_path))
    w = MainWindow(QtNetworkManager(), restore=False)
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    yield w
    w.close()


def fetch(qtbot, window: MainWindow, url: str, timeout: int = 10_000) -> int:  # type: ignore[no-untyped-def]
    window.composer().url.setText(url)
    reply = window.send()
    assert reply is not None
    qtbot.waitUntil(lambda: reply.core.is_finished, timeout=timeout)
    return int(reply.core.extra["ui_row"])


def test_200mb_json_opens_without_blocking_the_gui(qtbot, window: MainWindow, http_server: HypercornServer,
                                                  big_json: Path) -> None:
    http_server.seen.files["big.json"] = (str(big_json), "application/json")
    t = time.perf_counter()
    row = fetch(qtbot, window, http_server.url + "/file/big.json", timeout=110_000)
    download = time.perf_counter() - t
    reply = window.model.reply(row)
    assert reply.body.size == big_json.stat().st_size and reply.body.on_disk  # spooled to disk, not RAM
    viewer = window.details.body
    window.list_panel.select_row(-1)
    window._show_row(-1)
    shown: list[int] = []
    viewer.pageShown.connect(shown.append)
    monitor = GapMonitor().start()
    t = time.perf_counter()
    window._show_row(row)
    qtbot.waitUntil(lambda: bool(shown), timeout=10_000)
    first = time.perf_counter() - t
    text = viewer.current_text()
    assert viewer.mode == "Pretty JSON"
    assert text.startswith('[\n  {\n    "id": 12345,\n    "name": "courier-item"')
    assert len(text) < 200_000  # one page, never the whole body
    viewer.show_page(1)
    qtbot.waitUntil(lambda: len(shown) == 2, timeout=10_000)
    assert '"courier-item"' in viewer.current_text() and viewer.current_text() != text
    viewer.mode_box.setCurrentText("Text")
    qtbot.waitUntil(lambda: len(shown) == 3, timeout=10_000)
    viewer.show_page(viewer.pages() // 2)  # jump to the middle of 200 MB
    qtbot.waitUntil(lambda: len(shown) == 4, timeout=10_000)
    assert '"courier-item"' in viewer.current_text()
    viewer.mode_box.setCurrentText("Hex")
    qtbot.waitUntil(lambda: len(shown) == 5, timeout=10_000)
    assert viewer.current_text().startswith("0000000000  5b 7b 22 69")
    monitor.stop()
    longest = monitor.longest
    print(f"\n200 MB JSON: downloaded in {download:.1f} s, first screen in {first * 1000:.0f} ms, "
          f"longest GUI stall {longest * 1000:.1f} ms (GUI-thread CPU in it "
          f"{monitor.busy[monitor.gaps.index(longest)] * 1000:.1f} ms)")
    assert first < 5.0
    # issue 5: no blocking over 100 ms. The GUI thread's own work in the longest gap must stay under
    # it; the wall-clock gap gets slack for a machine shared by other jobs.
    assert monitor.busy[monitor.gaps.index(longest)] < 0.1
    assert longest < 0.5


def test_text_in_its_charset_hex_for_binary_and_image_preview(qtbot, window: MainWindow) -> None:
    viewer = window.details.body
    shown: list[int] = []
    viewer.pageShown.connect(shown.append)
    row = fetch(qtbot, window, "data:text/plain;charset=iso-8859-1,%E9t%E9%20%E0%20Paris")
    window.list_panel.select_row(row)
    qtbot.waitUntil(lambda: "été à Paris" in viewer.current_text(), timeout=5000)
    assert "iso8859-1" in viewer.note.text()

    data = bytes(range(256)) * 4
    row = fetch(qtbot, window, "data:application/octet-stream;base64," + base64.b64encode(data).decode())
    window.list_panel.select_row(row)
    qtbot.waitUntil(lambda: viewer.mode == "Hex" and "0000000010  10 11 12" in viewer.current_text(), timeout=5000)

    img = QImage(40, 30, QImage.Format.Format_RGB32)
    img.fill(QColor(10, 200, 30))
    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    img.save(buf, "PNG")
    png = bytes(QByteArray(buf.data()).data())
    row = fetch(qtbot, window, "data:image/png;base64," + base64.b64encode(png).decode())
    window.list_panel.select_row(row)
    qtbot.waitUntil(lambda: viewer.mode == "Image" and viewer.image.pixmap() is not None
                    and viewer.image.pixmap().width() == 40, timeout=5000)
    assert "40 × 30 px" in viewer.note.text()

    doc = {"a": [1, {"b": None}], "s": "x"}
    row = fetch(qtbot, window, "data:application/json," + json.dumps(doc).replace(" ", "%20"))
    window.list_panel.select_row(row)
    qtbot.waitUntil(lambda: viewer.current_text() == json.dumps(doc, indent=2), timeout=5000)
