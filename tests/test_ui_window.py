"""The real main window under pytest-qt, driven as a user would, against real local servers."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from app.bridge import QtNetworkManager
from app.request_spec import AuthKind, BodyKind
from app.state import load_state
from app.ui.composer import BODY_KINDS
from app.ui.main_window import MainWindow
from app.ui.reply_model import C_METHOD, C_PROTO, C_SIZE, C_STATUS, C_TIME, C_TYPE
from tests.servers import HypercornServer


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("COURIER_DATA_DIR", str(tmp_path))
    manager = QtNetworkManager()
    w = MainWindow(manager)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.close()


def cell(w: MainWindow, row: int, col: int) -> str:
    m = w.model
    return str(m.data(m.index(m.view_row(row), col)))


def test_compose_send_and_see_the_row_with_status_and_timing(qtbot, window: MainWindow,
                                                             http_server: HypercornServer) -> None:
    c = window.composer()
    c.method.setCurrentText("POST")
    c.url.setText(http_server.url + "/echo?x=1")
    c.headers.set_rows([("X-Trace", "abc", True), ("X-Off", "no", False)])
    c.body_kind.setCurrentIndex([k for k, _ in BODY_KINDS].index(BodyKind.JSON))
    c.json_edit.setPlainText('{"hello": "world"}')
    qtbot.keyClick(c.url, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # Ctrl+Enter sends
    qtbot.waitUntil(lambda: window.model.total_rows() == 1 and cell(window, 0, C_STATUS) == "200", timeout=10000)
    assert cell(window, 0, C_METHOD) == "POST"
    assert cell(window, 0, C_TYPE) == "application/json"
    assert cell(window, 0, C_PROTO) == "HTTP/1.1"
    assert cell(window, 0, C_TIME).endswith(("ms", "s")) and cell(window, 0, C_SIZE).endswith("B")
    seen = http_server.seen.requests[-1]
    assert seen["body"] == b'{"hello": "world"}' and seen["query"] == "x=1"
    names = {k.lower(): v for k, v in seen["headers"]}
    assert names["x-trace"] == "abc" and "x-off" not in names
    assert names["content-type"] == "application/json"
    # the details follow the selected (just sent) row: status line, sent headers, pretty body
    qtbot.waitUntil(lambda: '"hello": "world"' in window.details.body.current_text()
                    or '"body": ' in window.details.body.current_text(), timeout=10000)
    assert window.details.status.text().startswith("HTTP/1.1 200")
    assert ("X-Trace", "abc") in window.details.request_headers.rows
    assert window.details.timing.timings is not None
    assert "Waiting (TTFB)" in window.details.timing.numbers.text()


def test_query_table_and_url_stay_in_step(window: MainWindow) -> None:
    c = window.composer()
    c.url.setText("http://127.0.0.1:1/search?q=a%20b&page=2#frag")
    assert c.params.rows() == [("q", "a b", True), ("page", "2", True)]
    c.params.setData(c.params.index(1, 1), "3")  # edit a value in the table
    assert c.url.text() == "http://127.0.0.1:1/search?q=a%20b&page=3#frag"
    c.params.setData(c.params.index(2, 0), "lang")  # type into the empty last row
    c.params.setData(c.params.index(2, 1), "fr & en")
    assert c.url.text() == "http://127.0.0.1:1/search?q=a%20b&page=3&lang=fr%20%26%20en#frag"
    c.params.setData(c.params.index(0, 0), Qt.CheckState.Unchecked.value, Qt.ItemDataRole.CheckStateRole)
    assert c.url.text() == "http://127.0.0.1:1/search?page=3&lang=fr%20%26%20en#frag"
    assert ("q", "a b", False) in c.params.rows()  # switched off, kept in the table


def test_json_body_is_validated_as_you_type(qtbot, window: MainWindow) -> None:
    c = window.composer()
    c.json_edit.setPlainText('{"a": 1,\n "b": }')
    assert c.json_edit.error.startswith("line 2, column 7")
    assert "✗" in c.json_status.text()
    sels = c.json_edit.extraSelections()
    assert len(sels) == 1 and sels[0].cursor.position() in (len('{"a": 1,\n "b": '), len('{"a": 1,\n "b": ') + 1)
    c.method.setCurrentText("POST")
    c.url.setText("http://127.0.0.1:9/x")
    c.body_kind.setCurrentIndex(2)
    window.send()
    assert "JSON body" in c.message.text() and window.model.total_rows() == 0  # nothing sent
    c.json_edit.setPlainText('{"a": 1, "b": 2}')
    assert c.json_edit.error == "" and c.json_status.text() == "Valid JSON"
    assert c.json_edit.extraSelections() == []


def test_curl_paste_into_the_url_field_becomes_a_request(qtbot, window: MainWindow,
                                                        http_server: HypercornServer) -> None:
    c = window.composer()
    cmd = (f"curl '{http_server.url}/echo?from=curl' \\\n  -X PUT -H 'X-Api: 7' "
           "-u alice:secret --data-raw 'a=1&b=two'")
    QGuiApplication.clipboard().setText(cmd)
    c.url.setFocus()
    qtbot.keyClick(c.url, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert c.method.currentText() == "PUT"
    assert c.url.text() == f"{http_server.url}/echo?from=curl"
    spec = c.spec()
    assert spec.body_kind is BodyKind.FORM and [(f.name, f.value) for f in spec.form] == [("a", "1"), ("b", "two")]
    assert spec.auth_kind is AuthKind.BASIC and spec.auth_user == "alice"
    assert c.params.rows() == [("from", "curl", True)]
    window.send()
    qtbot.waitUntil(lambda: len(http_server.seen.requests) and
                    http_server.seen.requests[-1]["query"] == "from=curl", timeout=10000)
    seen = http_server.seen.requests[-1]
    hdrs = {k.lower(): v for k, v in seen["headers"]}
    assert seen["method"] == "PUT" and seen["body"] == b"a=1&b=two"
    assert hdrs["authorization"] == "Basic YWxpY2U6c2VjcmV0" and hdrs["x-api"] == "7"
    # a broken command loses nothing and says why
    before = c.url.text()
    assert not c.import_curl("curl -H 'A: b'")
    assert "no URL" in c.message.text() and c.url.text() == before


def test_esc_cancels_a_running_request(qtbot, window: MainWindow, http_server: HypercornServer) -> None:
    c = window.composer()
    c.url.setText(http_server.url + "/slow-headers?5")
    window.send()
    assert c.cancel_button.isEnabled()
    qtbot.keyClick(c.url, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: cell(window, 0, C_STATUS).startswith("(failed) OperationCanceled"), timeout=5000)
    assert not c.cancel_button.isEnabled()


def test_shortcuts_focus_url_and_filter(qtbot, window: MainWindow) -> None:
    window.activateWindow()
    qtbot.waitActive(window, timeout=2000)
    window.list_panel.view.setFocus()
    qtbot.keyClick(window.list_panel.view, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.composer().url.hasFocus(), timeout=2000)
    qtbot.keyClick(window.composer().url, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.list_panel.filter_edit.hasFocus(), timeout=2000)


def test_tabs_splitters_and_last_request_come_back_after_restart(qtbot, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("COURIER_DATA_DIR", str(tmp_path))
    manager = QtNetworkManager()
    w = MainWindow(manager)
    qtbot.addWidget(w)
    w.show()
    c = w.composer()
    c.method.setCurrentText("PATCH")
    c.url.setText("http://127.0.0.1:1/items/7?v=2")
    c.auth_kind.setCurrentIndex(3)
    c.bearer_token.setText("TOPSECRET-token")
    w.new_tab().url.setText("http://127.0.0.1:1/second")
    w.request_tabs.setCurrentIndex(0)
    w.main_split.setSizes([222, 444])
    sizes = w.main_split.sizes()
    w.close()
    raw = (tmp_path / "window-state.json").read_text()
    assert "TOPSECRET" not in raw  # secrets never reach the state file
    state = load_state(tmp_path / "window-state.json")
    assert len(state["tabs"]) == 2

    w2 = MainWindow(QtNetworkManager())
    qtbot.addWidget(w2)
    w2.show()
    assert w2.request_tabs.count() == 2 and w2.request_tabs.currentIndex() == 0
    c2 = w2.composer()
    assert (c2.method.currentText(), c2.url.text()) == ("PATCH", "http://127.0.0.1:1/items/7?v=2")
    assert c2.params.rows() == [("v", "2", True)]
    assert c2.spec().auth_kind is AuthKind.BEARER and c2.bearer_token.text() == ""
    got = w2.main_split.sizes()
    assert abs(got[0] / sum(got) - sizes[0] / sum(sizes)) < 0.02  # the split comes back (window size may differ)
    assert abs(got[0] / sum(got) - 0.5) > 0.1  # and it is not the default
    w2.close()


def test_broken_state_file_is_set_aside(qtbot, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("COURIER_DATA_DIR", str(tmp_path))
    (tmp_path / "window-state.json").write_text("{not json")
    w = MainWindow(QtNetworkManager())
    qtbot.addWidget(w)
    assert w.request_tabs.count() == 1
    assert (tmp_path / "window-state.broken.json").exists()
    w.close()


def test_palette_follows_a_dark_scheme() -> None:
    from app.ui.theme import apply_scheme, is_dark

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    before = app.palette()
    try:
        apply_scheme(app, Qt.ColorScheme.Dark)
        assert is_dark(app.palette())
        apply_scheme(app, Qt.ColorScheme.Light)
        assert not is_dark(app.palette())
    finally:
        app.setPalette(before)


def test_sidebar_slot_and_save_to_collection_signal(qtbot, window: MainWindow, http_server: HypercornServer) -> None:
    from PySide6.QtWidgets import QLabel

    dock = window.set_sidebar(QLabel("collections"))
    assert dock.widget() is not None and dock.windowTitle() == "Collections"
    window.composer().url.setText(http_server.url + "/echo?k=v")
    window.composer().headers.set_rows([("X-K", "1", True)])
    window.send()
    qtbot.waitUntil(lambda: cell(window, 0, C_STATUS) == "200", timeout=10000)
    got = []
    window.saveToCollectionRequested.connect(got.append)
    window.list_panel.save_to_collection(0)
    assert got and got[0].url == http_server.url + "/echo?k=v" and got[0].headers[0].name == "X-K"


def test_resend_and_copy_as_curl(qtbot, window: MainWindow, http_server: HypercornServer) -> None:
    c = window.composer()
    c.method.setCurrentText("POST")
    c.url.setText(http_server.url + "/echo")
    c.body_kind.setCurrentIndex(1)
    c.raw_edit.setPlainText("it's raw")
    window.send()
    qtbot.waitUntil(lambda: cell(window, 0, C_STATUS) == "200", timeout=10000)
    window.resend(0)
    qtbot.waitUntil(lambda: window.model.total_rows() == 2 and cell(window, 1, C_STATUS) == "200", timeout=10000)
    assert [r["body"] for r in http_server.seen.requests[-2:]] == [b"it's raw", b"it's raw"]
    window.copy_as_curl(1)
    from app.curl_import import parse_curl

    p = parse_curl(QGuiApplication.clipboard().text())
    assert (p.method, p.url, p.body) == ("POST", http_server.url + "/echo", b"it's raw")
    assert json.loads(json.dumps(p.headers))  # plain pairs


def test_state_dir_is_the_settings_dir(monkeypatch, tmp_path) -> None:
    from app import settings, state

    monkeypatch.delenv("COURIER_DATA_DIR")
    assert state.data_dir() == settings.data_dir()
    monkeypatch.setenv("COURIER_DATA_DIR", str(tmp_path))
    assert state.data_dir() == settings.data_dir() == tmp_path


def test_send_before_the_network_is_ready_goes_out_when_it_is(qtbot, tmp_path, monkeypatch,
                                                             http_server: HypercornServer) -> None:
    monkeypatch.setenv("COURIER_DATA_DIR", str(tmp_path))
    w = MainWindow(restore=False)  # shown first; the app attaches the network after the first paint
    qtbot.addWidget(w)
    fired: list[bool] = []
    w.firstPainted.connect(lambda: fired.append(True))
    w.show()
    qtbot.waitUntil(lambda: bool(fired), timeout=5000)
    c = w.composer()
    c.url.setText(http_server.url + "/echo?early=1")
    assert w.send() is None and "Starting the network" in c.message.text()
    assert w.model.total_rows() == 0
    w.attach_manager(QtNetworkManager())
    qtbot.waitUntil(lambda: w.model.total_rows() == 1 and cell(w, 0, C_STATUS) == "200", timeout=10000)
    assert http_server.seen.requests[-1]["query"] == "early=1"
    w.close()


def test_context_menu_offers_the_row_actions(qtbot, window: MainWindow, http_server: HypercornServer) -> None:
    window.composer().url.setText(http_server.url + "/echo")
    window.send()
    qtbot.waitUntil(lambda: cell(window, 0, C_STATUS) == "200", timeout=10000)
    view = window.list_panel.view
    pos = view.visualRect(window.model.index(0, 2)).center()
    view.customContextMenuRequested.emit(pos)
    menu = window.list_panel._open_menu
    texts = [a.text() for a in menu.actions()]
    assert texts[:3] == ["Copy as curl", "Resend", "Save to collection…"] and texts[3].startswith("Export HAR (1 reply)")
    menu.actions()[1].trigger()  # Resend
    qtbot.waitUntil(lambda: window.model.total_rows() == 2 and cell(window, 1, C_STATUS) == "200", timeout=10000)
    menu.close()
