"""Events from the network thread reach the GUI in batches (issue 8, UI under load): at most one
batch per frame, nothing lost, order kept; a batch becomes one model insertion and one change
notice; the view paints rows without asking the model cell by cell; the stall percentiles weigh
each gap by the time it covers. No timing is asserted: frames are made long or short on purpose."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, QItemSelectionModel, QModelIndex
from PySide6.QtGui import QColor, QPalette

import app.bridge as bridge
from app.bridge import Created, QtNetworkManager
from app.load_runner import RepeatJob
from app.reply_store import ReplyStore
from app.request_spec import RequestSpec
from app.ui.main_window import MainWindow
from app.ui.reply_list import LiveFeed, ReplyListPanel
from app.ui.reply_model import C_PATH, C_STATUS, ReplyListModel
from core import events as ev
from core.errors import NetworkError
from core.timings import HopTimings, Timings
from tests.servers import HypercornServer
from tests.ui_helpers import GapMonitor


@dataclass
class _Body:
    size: int = 0
    on_disk: bool = False


@dataclass(eq=False)
class FakeReply:
    """What the bridge, the feed and the store read from a core ``Reply``."""

    n: int
    url: str = ""
    method: str = "GET"
    status: int | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    timings: Timings = field(default_factory=Timings)
    error: NetworkError = NetworkError.NoError
    bytes_received: int = 0
    body: _Body = field(default_factory=_Body)
    http_version: str | None = None
    remote_address: str | None = None
    is_finished: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    listeners: list[Callable[[ev.Event], None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.url = f"http://127.0.0.1:9/item/{self.n}"

    def subscribe(self, listener: Callable[[ev.Event], None]) -> None:
        self.listeners.append(listener)

    def emit(self, event: ev.Event) -> None:
        for listener in self.listeners:
            listener(event)

    def finish(self, status: int = 200) -> None:
        self.status = status
        self.headers = [("Content-Type", "text/plain")]
        hop = HopTimings(url=self.url)
        hop.response_start = time.perf_counter()
        self.timings.hops.append(hop)
        self.timings.end = time.perf_counter()
        self.http_version, self.remote_address = "HTTP/1.1", "127.0.0.1:9"
        self.is_finished = True

    def close(self) -> None:
        pass


@pytest.fixture
def manager() -> Iterator[QtNetworkManager]:
    mgr = QtNetworkManager()
    yield mgr
    mgr.close()


def test_network_events_arrive_in_one_batch_per_frame_in_order(qtbot, manager: QtNetworkManager,
                                                                monkeypatch) -> None:
    monkeypatch.setattr(bridge, "FRAME", 3600.0)  # one frame lasts the whole test unless we end it
    monkeypatch.setattr(bridge, "FLUSH_BUDGET", 3600.0)
    batches: list[list[ev.Event]] = []
    manager.replyEvents.connect(batches.append)
    replies = [FakeReply(i) for i in range(400)]
    sent: list[ev.Event] = []

    def start_all() -> None:  # network thread: bridge 400 replies, each with two events
        for r in replies:
            manager.observe(r)  # type: ignore[arg-type]
            r.emit(ev.MetaDataChanged(r))  # type: ignore[arg-type]
            r.emit(ev.ReadyRead(r, 10))  # type: ignore[arg-type]

    # 1,200 events queued while the GUI thread waits: they arrive as one batch, in order
    manager.thread.run_sync(start_all)
    qtbot.waitUntil(lambda: bool(batches), timeout=10_000)
    for r in replies:
        sent += [Created(r), ev.MetaDataChanged(r), ev.ReadyRead(r, 10)]  # type: ignore[arg-type]
    assert len(batches) == 1 and batches[0] == sent

    # more events inside the same frame: held back (no new GUI turn takes them), then one batch
    def finish_all(chunk: list[FakeReply]) -> None:
        for r in chunk:
            r.finish()
            r.emit(ev.Finished(r))  # type: ignore[arg-type]

    for k in range(0, 400, 50):  # eight separate network-thread turns, each posting to the GUI
        manager.thread.run_sync(lambda k=k: finish_all(replies[k:k + 50]))
        QCoreApplication.processEvents()
    assert len(batches) == 1
    manager._next_flush = 0.0  # the frame is over
    manager._frame_timer.start(0)
    qtbot.waitUntil(lambda: len(batches) == 2, timeout=10_000)
    assert batches[1] == [ev.Finished(r) for r in replies]  # type: ignore[arg-type]
    assert manager.batches == 2
    for r in replies:  # no reference cycle through the manager (a Qt object) is left to the GC
        r.listeners.clear()


def test_a_batch_is_one_insertion_and_one_change_notice(qtbot) -> None:
    model = ReplyListModel(ReplyStore())
    feed = LiveFeed(model)
    inserted: list[tuple[int, int]] = []
    changed: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _p, first, last: inserted.append((first, last)))
    model.dataChanged.connect(lambda a, b, _roles=None: changed.append((a.row(), b.row())))
    flushes: list[tuple[set[int], set[int]]] = []
    feed.flushed.connect(lambda rows, done: flushes.append((rows, done)))
    replies = [FakeReply(i) for i in range(300)]
    feed.on_events([e for r in replies for e in (Created(r), ev.MetaDataChanged(r))])  # type: ignore[arg-type]
    qtbot.waitUntil(lambda: model.total_rows() == 300, timeout=5000)
    assert inserted == [(0, 299)]
    assert [model.url(row) for row in range(300)] == [r.url for r in replies]  # arrival order
    assert all(model.data(model.index(row, C_STATUS)) == "(pending)" for row in range(300))
    for r in replies:
        r.finish(200 if r.n % 3 else 404)
    feed.on_events([ev.Finished(r) for r in replies])  # type: ignore[arg-type]
    qtbot.waitUntil(lambda: not model.running_rows(), timeout=5000)
    assert changed == [(0, 299)]  # one notice for the whole batch
    assert flushes[-1] == (set(range(300)), set(range(300)))
    assert [model.data(model.index(row, C_STATUS)) for row in range(300)] == [
        "200" if r.n % 3 else "404" for r in replies]
    model.store.close()


def test_a_sorted_list_still_gets_one_change_notice_per_batch(qtbot) -> None:
    model = ReplyListModel(ReplyStore())
    feed = LiveFeed(model)
    replies = [FakeReply(i) for i in range(50)]
    feed.on_events([Created(r) for r in replies])  # type: ignore[arg-type]
    qtbot.waitUntil(lambda: model.total_rows() == 50, timeout=5000)
    model.sort(C_PATH)
    changed: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda a, b, _roles=None: changed.append((a.row(), b.row())))
    for r in replies:
        r.finish()
    feed.on_events([ev.Finished(r) for r in replies])  # type: ignore[arg-type]
    qtbot.waitUntil(lambda: not model.running_rows(), timeout=5000)
    assert changed == [(0, 49)]
    paths = [model.data(model.index(vr, C_PATH)) for vr in range(50)]
    assert paths == sorted(paths)
    model.store.close()


def test_replies_from_a_server_stream_in_as_frame_batches(qtbot, tmp_path, monkeypatch,
                                                          http_server: HypercornServer) -> None:
    monkeypatch.setenv("COURIER_DATA_DIR", str(tmp_path))
    window = MainWindow(QtNetworkManager())
    qtbot.addWidget(window)
    window.show()
    try:
        m, feed = window.model, window.feed
        counts = {"inserted": 0, "changed": 0}

        def bump(key: str) -> Callable[..., None]:
            def f(*_args: Any) -> None:
                counts[key] += 1
            return f

        m.rowsInserted.connect(bump("inserted"))
        m.dataChanged.connect(bump("changed"))
        flushes0 = feed.flushes
        events: list[int] = []
        assert window.manager is not None
        window.manager.replyEvents.connect(lambda batch: events.append(len(batch)))
        job = RepeatJob(window.manager, RequestSpec(url=http_server.url + "/echo"), 300, 6)
        with qtbot.waitSignal(job.finished, timeout=60_000) as done:
            job.start()
        qtbot.waitUntil(lambda: m.total_rows() == 300 and not m.running_rows(), timeout=10_000)
        assert done.args[0].statuses[200] == 300
        assert all(m.data(m.index(vr, C_STATUS)) == "200" for vr in range(300))
        starts = list(m._tstart)
        assert starts == sorted(starts)  # rows in the order the requests were sent
        assert all(m.reply(row).extra["ui_row"] == row for row in range(300))
        # every GUI update carries a whole batch: at most one insertion and one change per flush
        flushes = feed.flushes - flushes0
        assert counts["inserted"] <= flushes and counts["changed"] <= flushes
        assert flushes <= len(events) == window.manager.batches
        assert sum(events) >= 300 * 3  # Created, headers, finished at least: all delivered
    finally:
        window.close()


def test_the_view_paints_selection_and_text_from_the_model(qtbot) -> None:
    model = ReplyListModel(ReplyStore())
    feed = LiveFeed(model)
    replies = [FakeReply(i) for i in range(30)]
    for r in replies:
        r.finish()
    feed.on_events([Created(r) for r in replies])  # type: ignore[arg-type]
    qtbot.waitUntil(lambda: model.total_rows() == 30, timeout=5000)
    panel = ReplyListPanel(model)
    qtbot.addWidget(panel)
    panel.resize(900, 500)
    panel.show()
    view = panel.view
    flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
    view.selectionModel().select(model.index(2, 0), flags)  # (select_row depends on the keyboard state)
    image = view.viewport().grab().toImage()
    rh = view.verticalHeader().defaultSectionSize()
    y2 = view.verticalHeader().sectionViewportPosition(2) + rh // 2
    y1 = view.verticalHeader().sectionViewportPosition(1) + rh // 2
    hl = view.palette().color(QPalette.ColorGroup.Inactive, QPalette.ColorRole.Highlight)
    hl_active = view.palette().color(QPalette.ColorGroup.Active, QPalette.ColorRole.Highlight)
    assert QColor(image.pixel(view.viewport().width() - 3, y2)).rgb() in (hl.rgb(), hl_active.rgb())
    assert QColor(image.pixel(view.viewport().width() - 3, y1)).rgb() not in (hl.rgb(), hl_active.rgb())
    x, w = view.horizontalHeader().sectionViewportPosition(C_PATH), view.horizontalHeader().sectionSize(C_PATH)
    base = QColor(image.pixel(x + w - 2, y1)).rgb()
    inked = {QColor(image.pixel(px, y1)).rgb() for px in range(x, x + w)}
    assert len(inked - {base}) > 0  # the path's text was drawn
    assert view.selectionModel().isRowSelected(2, QModelIndex())
    model.store.close()


def test_stall_percentiles_weigh_each_gap_by_the_time_it_covers(qtbot) -> None:
    mon = GapMonitor(2)
    mon.gaps = [0.002] * 100 + [0.05]
    mon.busy = [0.001] * 101
    assert mon.slots == pytest.approx(125)
    assert mon.percentile(99, weighted=False) == 0.002  # per tick: the 50 ms stall is 1% of ticks
    assert mon.percentile(99) == 0.05  # over time: it is 20% of the run
    assert mon.percentile(50) == 0.002
    assert mon.percentile(79) == 0.002 and mon.percentile(81) == 0.05


def test_the_network_thread_naps_at_most_once_per_period(monkeypatch) -> None:
    import app.network_thread as nt

    naps: list[float] = []
    monkeypatch.setattr(nt.time, "sleep", naps.append)
    monkeypatch.setattr(nt, "EVERY", 3600.0)
    thread = nt.NetworkThread()  # not started: yield_to_gui is plain code on the calling thread
    for _ in range(100):
        thread.yield_to_gui()
    assert naps == [nt.NAP] and thread.naps == 1
    thread._last_nap -= 3600.0  # a period later
    thread.yield_to_gui()
    assert naps == [nt.NAP, nt.NAP]
    thread.loop.close()


def test_the_bridge_naps_only_while_the_gui_has_a_batch_waiting(qtbot, manager: QtNetworkManager,
                                                                monkeypatch) -> None:
    import app.network_thread as nt

    monkeypatch.setattr(nt, "EVERY", 0.0)  # nap at every chance, to count the chances
    monkeypatch.setattr(nt, "NAP", 0.0)
    batches: list[list[ev.Event]] = []
    manager.replyEvents.connect(batches.append)
    r = FakeReply(1)

    def three_events() -> None:
        manager.observe(r)  # type: ignore[arg-type]  # the first posts a wake-up: no nap
        r.emit(ev.MetaDataChanged(r))  # type: ignore[arg-type]  # a batch is waiting: nap
        r.emit(ev.ReadyRead(r, 1))  # type: ignore[arg-type]

    manager.thread.run_sync(three_events)
    assert manager.thread.naps == 2
    qtbot.waitUntil(lambda: bool(batches), timeout=10_000)
    assert len(batches[0]) == 3
    r.listeners.clear()
