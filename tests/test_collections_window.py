"""Collections and history inside the real main window: open a saved request, switch environment,
send, see it in history, save a sent request back without its secrets, reopen after a restart."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.bridge import QtNetworkManager
from app.collections import Auth, CollectionStore, Environment, Header, MemorySecrets, RequestItem, Variable
from app.collections.secrets import COLLECTION_SCOPE, secret_key
from app.ui import collections_dock
from app.ui.main_window import MainWindow
from tests.servers import HypercornServer

SECRET = "tok-5e5e5e-secret"


@pytest.fixture
def api(tmp_path: Path, http_server: HypercornServer) -> CollectionStore:
    store = CollectionStore.create(tmp_path / "api", "Pet API")
    store.collection.variables = [Variable("token", secret=True)]
    store.collection.auth = Auth("bearer", {"token": "{{token}}"})
    store.collection.headers = [Header("X-Client", "courier")]
    store.save_collection()
    store.save_environment(Environment("local", [Variable("base", http_server.url), Variable("who", "local")]))
    store.save_environment(Environment("other", [Variable("base", http_server.url), Variable("who", "other")]))
    store.new_request("", RequestItem("Echo", "POST", "{{base}}/echo?who={{who}}",
                                      headers=[Header("X-Who", "{{who}}")]))
    return store


@pytest.fixture
def window(qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MainWindow]:
    monkeypatch.setenv("COURIER_DATA_DIR", str(tmp_path / "data"))
    w = MainWindow(QtNetworkManager(), restore=False)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.close()


def open_dock(qtbot: Any, window: MainWindow, api: CollectionStore, data: Path) -> collections_dock.CollectionsDock:
    dock = collections_dock.install(window, window.manager, data)
    dock.sidebar.secrets = MemorySecrets({secret_key(api.collection.id, COLLECTION_SCOPE, "token"): SECRET})
    if dock.sidebar.collection is None:
        with qtbot.waitSignal(dock.sidebar.loaded, timeout=10000):
            dock.sidebar.open_collection(api.root)
    return dock


def test_open_switch_environment_send_and_find_it_in_history(qtbot: Any, window: MainWindow, api: CollectionStore,
                                                             http_server: HypercornServer, tmp_path: Path) -> None:
    dock = open_dock(qtbot, window, api, tmp_path / "data")
    sidebar = dock.sidebar
    assert window.sidebar_dock is not None and window.sidebar_dock.widget() is dock.tabs
    tabs_before = window.request_tabs.count()
    sidebar.view.activated.emit(sidebar.model.index_for_path("echo.toml"))
    assert window.request_tabs.count() == tabs_before + 1
    c = window.composer()
    assert c.url.text() == "{{base}}/echo?who={{who}}"  # variables stay as written in the composer
    spec = c.spec()
    assert ("X-Client", "courier") in [(h.name, h.value) for h in spec.headers]
    assert spec.bearer_token == "{{token}}"

    for env, who in (("local", "local"), ("other", "other")):
        sidebar.set_environment(env)
        before = len(http_server.seen.requests)
        window.send_from(c)
        qtbot.waitUntil(lambda b=before: len(http_server.seen.requests) > b, timeout=10000)
        seen = http_server.seen.requests[-1]
        h = {k.lower(): v for k, v in seen["headers"]}
        assert seen["query"] == f"who={who}" and h["x-who"] == who
        assert h["authorization"] == f"Bearer {SECRET}" and h["x-client"] == "courier"

    qtbot.waitUntil(lambda: dock.history.count() == 2, timeout=10000)
    qtbot.waitUntil(lambda: dock.history_panel.model.rowCount() == 2, timeout=10000)
    entry = dock.history.search()[0]
    assert entry.status == 200 and entry.url.endswith("/echo?who=other")
    dock.history_panel.search.setText("who=local")
    qtbot.waitUntil(lambda: dock.history_panel.model.rowCount() == 1, timeout=5000)
    with qtbot.waitSignal(dock.history_panel.request_opened, timeout=2000):
        dock.history_panel.view.activated.emit(dock.history_panel.model.index(0, 0))
    assert window.composer().url.text().endswith("/echo?who=local")
    dock.close()
    raw = b"".join(p.read_bytes() for p in (tmp_path / "data").iterdir() if p.name.startswith("history.db"))
    assert SECRET.encode() not in raw


def test_saving_a_sent_request_writes_variables_not_secrets(qtbot: Any, window: MainWindow, api: CollectionStore,
                                                            tmp_path: Path) -> None:
    dock = open_dock(qtbot, window, api, tmp_path / "data")
    sidebar = dock.sidebar
    sidebar.set_environment("local")
    sent = dock.resolve(sidebar.spec_for(api.node("echo.toml")))  # type: ignore[arg-type]
    assert sent.bearer_token == SECRET and "{{" not in sent.url
    with qtbot.waitSignal(sidebar.loaded, timeout=10000):
        window.saveToCollectionRequested.emit(sent)
    saved = [p for p in api.root.glob("*.toml") if p.name not in ("collection.toml", "echo.toml")]
    assert len(saved) == 1
    text = saved[0].read_text()
    assert SECRET not in text
    assert "X-Client" not in text  # inherited from the collection: not repeated
    assert "[auth]" not in text  # the same bearer auth as the collection: inherited
    dock.close()


def test_the_last_collection_and_environment_come_back(qtbot: Any, window: MainWindow, api: CollectionStore,
                                                       tmp_path: Path) -> None:
    data = tmp_path / "data"
    dock = open_dock(qtbot, window, api, data)
    dock.sidebar.set_environment("other")
    dock.close()
    second = MainWindow(window.manager, restore=False)
    qtbot.addWidget(second)
    again = collections_dock.install(second, second.manager, data)
    qtbot.waitUntil(lambda: again.sidebar.collection is not None, timeout=10000)
    qtbot.waitUntil(lambda: again.sidebar.environment == "other", timeout=5000)
    assert again.sidebar.title.text() == "Pet API"
    again.close()


def test_a_damaged_history_is_set_aside_with_a_message(qtbot: Any, window: MainWindow, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "history.db").write_bytes(b"garbage" * 1000)
    dock = collections_dock.install(window, window.manager, data)
    assert not dock.history_panel.note.isHidden() and "moved to" in dock.history_panel.note.text()
    assert sqlite3.connect(data / "history.db").execute("SELECT COUNT(*) FROM entries").fetchone() == (0,)
    dock.close()
