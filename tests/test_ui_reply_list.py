"""The live reply list: filters and sorting, memory per row at 100,000 rows, replies streaming in
from a real server without stalling the GUI, older replies moving to the on-disk archive, HAR."""

from __future__ import annotations

import gc
import json
import time
import tracemalloc
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QModelIndex, Qt

from app.bridge import QtNetworkManager
from app.load_runner import RepeatJob
from app.reply_store import REDACTED, ArchivedReply, ReplyStore
from app.request_spec import AuthKind, RequestSpec
from app.ui.main_window import MainWindow
from app.ui.reply_list import ReplyListPanel
from app.ui.reply_model import C_METHOD, C_PATH, C_SIZE, C_STATUS, ReplyListModel, RowValues
from tests.servers import HypercornServer
from tests.ui_helpers import GapMonitor

ORIGINS = ["http://127.0.0.1:8080", "https://api.example.test", "http://[::1]:9000"]
METHODS = ["GET", "GET", "GET", "POST", "PUT", "DELETE"]
STATUSES = [200, 200, 201, 204, 301, 304, 404, 500, 0]


def synthetic(i: int) -> RowValues:
    """A finished row as the feed would make it (status 0 = failed without a response)."""
    st = STATUSES[i % len(STATUSES)]
    t = 1000.0 + i * 0.001
    return (ORIGINS[i % 3], f"/api/items/{i}?page={i % 7}", METHODS[i % len(METHODS)], st,
            None if st else "ConnectionRefusedError", "application/json" if st else "", (i * 37) % 50_000,
            0.002 + (i % 100) / 1000, "HTTP/1.1", "127.0.0.1:8080", 1.7e9 + i, t, t + 0.001, t + 0.002)


@pytest.fixture
def model() -> Iterator[ReplyListModel]:
    m = ReplyListModel(ReplyStore())
    yield m
    m.store.close()


def shown(m: ReplyListModel, col: int) -> list[str]:
    return [m.data(m.index(r, col)) for r in range(m.rowCount())]


def test_filters_by_text_status_class_and_method(qtbot, model: ReplyListModel) -> None:
    panel = ReplyListPanel(model)
    qtbot.addWidget(panel)
    model.add_rows((synthetic(i), None, None) for i in range(90))
    assert model.rowCount() == 90
    model.set_filter(classes=(4,))
    assert model.rowCount() == 10 and set(shown(model, C_STATUS)) == {"404"}
    model.set_filter(classes=(0,))
    assert set(shown(model, C_STATUS)) == {"(failed) ConnectionRefused"}
    model.set_filter(methods=("post",))
    assert set(shown(model, C_METHOD)) == {"POST"} and model.rowCount() == 15
    model.set_filter(text="ITEMS/4")  # any case, in the URL
    assert sorted(shown(model, C_PATH)) == sorted(f"/api/items/{i}?page={i % 7}" for i in [4, *range(40, 50)])
    model.set_filter(text="example", classes=(2,), methods=("GET",))
    rows = [model.row_id(r) for r in range(model.rowCount())]
    assert rows and all(i % 3 == 1 and STATUSES[i % 9] in (200, 201, 204) and METHODS[i % 6] == "GET" for i in rows)
    # live rows that match appear, others do not
    model.set_filter(classes=(5,))
    before = model.rowCount()
    model.add_rows([(synthetic(97), None, None), (synthetic(98), None, None)])  # 97 → 500, 98 → 0
    assert model.rowCount() == before + 1
    # the filter bar drives the same model
    model.set_filter()
    panel.method_filter.setCurrentText("DELETE")
    assert set(shown(model, C_METHOD)) == {"DELETE"}
    panel.method_filter.setCurrentIndex(0)
    panel.filter_edit.setText("items/1?")
    qtbot.waitUntil(lambda: model.rowCount() == 1, timeout=3000)
    assert "1 of 92" in panel.count_label.text()


def test_sorts_and_keeps_live_rows_in_place(model: ReplyListModel) -> None:
    model.add_rows((synthetic(i), None, None) for i in range(50))
    model.sort(C_SIZE, Qt.SortOrder.AscendingOrder)
    sizes = [model._size[model.row_id(r)] for r in range(model.rowCount())]
    assert sizes == sorted(sizes)
    model.sort(C_STATUS, Qt.SortOrder.DescendingOrder)
    st = [model._status[model.row_id(r)] for r in range(model.rowCount())]
    assert st == sorted(st, reverse=True)
    # a new row lands in sorted position; an update that changes the key moves the row
    v = list(synthetic(50))
    v[3] = 999
    (row,) = model.add_rows([(tuple(v), None, None)])  # type: ignore[list-item]
    assert model.view_row(row) == 0
    v[3] = 100
    model.apply({row: tuple(v)})  # type: ignore[dict-item]
    st = [model._status[model.row_id(r)] for r in range(model.rowCount())]
    assert st == sorted(st, reverse=True) and model.view_row(row) == model.rowCount() - 1 - st[::-1].index(100)
    model.sort(-1)
    assert [model.row_id(r) for r in range(model.rowCount())] == list(range(51))


def test_100k_rows_cost_under_2kb_each_and_stay_sortable(qtbot) -> None:
    store = ReplyStore()
    m = ReplyListModel(store)
    panel = ReplyListPanel(m)
    qtbot.addWidget(panel)
    panel.show()
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for k in range(0, 100_000, 1000):  # batches, as the live feed delivers them; the rows' strings count
        m.add_rows((synthetic(i), None, None) for i in range(k, k + 1000))
    gc.collect()
    used = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    per_row = used / 100_000
    print(f"\n100,000 rows: {used / 1e6:.1f} MB traced, {per_row:.0f} bytes per row")
    assert m.rowCount() == 100_000
    assert per_row <= 2048, f"{per_row:.0f} bytes per row"
    t = time.perf_counter()
    m.sort(C_PATH, Qt.SortOrder.DescendingOrder)
    m.set_filter(classes=(5,))
    elapsed = time.perf_counter() - t
    print(f"sort + filter over 100,000 rows: {elapsed * 1000:.0f} ms")
    assert m.rowCount() == len([i for i in range(100_000) if STATUSES[i % len(STATUSES)] == 500])
    panel.view.scrollToBottom()
    store.close()


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("COURIER_DATA_DIR", str(tmp_path))
    w = MainWindow(QtNetworkManager())
    qtbot.addWidget(w)
    w.show()
    yield w
    w.close()


def test_2000_replies_stream_into_the_list_without_long_stalls(qtbot, window: MainWindow,
                                                               http_server: HypercornServer) -> None:
    spec = RequestSpec(url=http_server.url + "/echo")
    job = RepeatJob(window.manager, spec, 2000, 12)
    monitor = GapMonitor().start()
    with qtbot.waitSignal(job.finished, timeout=110_000) as done:
        job.start()
    qtbot.waitUntil(lambda: window.model.total_rows() == 2000 and not window.model.running_rows(), timeout=10000)
    monitor.stop()
    res = done.args[0]
    assert res.done == 2000 and res.statuses[200] == 2000, res
    m = window.model
    assert all(m._status[i] == 200 for i in range(2000))
    print(f"\n2000 replies in {res.elapsed:.1f} s: longest GUI stall {monitor.longest * 1000:.1f} ms "
          f"(GUI-thread CPU in it {monitor.busy[monitor.gaps.index(monitor.longest)] * 1000:.1f} ms), "
          f"p99 {monitor.percentile(99) * 1000:.1f} ms over {len(monitor.gaps)} ticks")
    # generous: the machine is shared; bench/ui_bench.py measures the 50 ms / 16 ms targets
    assert monitor.longest < 1.0


def test_older_replies_move_to_the_archive_and_keep_their_details(qtbot, window: MainWindow,
                                                                  http_server: HypercornServer, tmp_path) -> None:
    window.store.keep = 20
    spec = RequestSpec(url=http_server.url + "/echo?n=1", auth_kind=AuthKind.BEARER, bearer_token="tok-123")
    job = RepeatJob(window.manager, spec, 60, 4)
    with qtbot.waitSignal(job.finished, timeout=60_000):
        job.start()
    qtbot.waitUntil(lambda: window.model.total_rows() == 60 and not window.model.running_rows(), timeout=10000)
    window.store.wait_idle()
    assert window.store.live_count() <= 21
    old = window.store.get(0)
    assert isinstance(old, ArchivedReply)
    assert old.status == 200 and old.method == "GET" and old.url.endswith("/echo?n=1")
    body = json.loads(old.body.read_at(0, old.body.size))
    assert body["query"] == "n=1"
    assert ("Authorization", REDACTED) in old.sent_headers  # the token never reaches the archive
    from pathlib import Path

    raw = Path(f"{window.store._dir}/records.jsonl").read_bytes()
    assert b"tok-123" not in raw
    assert old.timings.hops and old.timings.total is not None
    # the details view shows an archived row like any other
    window.list_panel.select_row(0)
    assert window.details.status.text().startswith("HTTP/1.1 200")
    assert "credential headers were not kept" in window.details.summary.text()
    qtbot.waitUntil(lambda: '"query": "n=1"' in window.details.body.current_text(), timeout=5000)
    # HAR export of live and archived rows: credentials redacted, timings present
    path = tmp_path / "out.har"
    assert window.write_har([0, 59], str(path)).result(30) == 2
    har = json.loads(path.read_text())
    entries = har["log"]["entries"]
    assert len(entries) == 2 and har["log"]["version"] == "1.2"
    for e in entries:
        assert e["response"]["status"] == 200
        auth = [h["value"] for h in e["request"]["headers"] if h["name"].lower() == "authorization"]
        assert auth == ["[redacted]"]
        assert set(e["timings"]) >= {"blocked", "dns", "connect", "ssl", "send", "wait", "receive"}
        assert json.loads(e["response"]["content"]["text"])["query"] == "n=1"
    for e in entries:  # the echo server repeats the token in its body; nothing else may hold it
        e["response"]["content"].pop("text")
    assert "tok-123" not in json.dumps(har)


def test_running_rows_show_pending_then_update(qtbot, window: MainWindow, http_server: HypercornServer) -> None:
    c = window.composer()
    c.url.setText(http_server.url + "/slow-headers?0.5")
    window.send()
    m = window.model
    assert m.data(m.index(0, C_STATUS)) == "(pending)"
    assert m.data(m.index(0, 0), Qt.ItemDataRole.ForegroundRole) is not None
    qtbot.waitUntil(lambda: m.data(m.index(0, C_STATUS)) == "200", timeout=10000)
    assert m.index(0, 0).parent() == QModelIndex()
