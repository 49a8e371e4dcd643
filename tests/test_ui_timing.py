"""Timing views: the per-reply phase bar (reused connections shown as such), the timeline of all
replies, the load test with its latency distribution, and pyqtgraph staying out of the start."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from app.bridge import QtNetworkManager
from app.load_runner import RepeatResult, percentile
from app.request_spec import RequestSpec
from app.ui.main_window import MainWindow
from tests.servers import HypercornServer


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("COURIER_DATA_DIR", str(tmp_path))
    w = MainWindow(QtNetworkManager(), restore=False)
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    yield w
    w.close()


def test_pyqtgraph_is_not_imported_until_a_graph_is_shown() -> None:
    code = (
        "import os, sys; os.environ['QT_QPA_PLATFORM'] = 'offscreen'\n"
        "from PySide6.QtWidgets import QApplication; app = QApplication([])\n"
        "from app.bridge import QtNetworkManager; from app.ui.main_window import MainWindow\n"
        "w = MainWindow(QtNetworkManager(), restore=False); w.show(); app.processEvents()\n"
        "print('before', 'pyqtgraph' in sys.modules)\n"
        "w.side_tabs.setCurrentIndex(1); app.processEvents()\n"
        "print('after', 'pyqtgraph' in sys.modules); w.close()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**__import__("os").environ, "COURIER_DATA_DIR": "/nonexistent/courier-test"})
    assert "before False" in out.stdout and "after True" in out.stdout, out.stderr


def test_phase_bar_shows_a_reused_connection_as_reused(qtbot, window: MainWindow,
                                                      http_server: HypercornServer) -> None:
    c = window.composer()
    c.url.setText(http_server.url + "/echo")
    for _ in range(2):
        reply = window.send()
        assert reply is not None
        qtbot.waitUntil(lambda r=reply: r.core.is_finished, timeout=10_000)
    hop = reply.core.timings.hops[-1]
    assert hop.connection.reused
    qtbot.waitUntil(lambda: window.details.reply is reply.core, timeout=5000)
    # The GUI learns of the end a moment after the network thread: wait for the view to show it.
    qtbot.waitUntil(lambda: "Total" in window.details.timing.numbers.text(), timeout=5000)
    text = window.details.timing.numbers.text()
    assert "reused connection" in text and "Waiting (TTFB)" in text and "Total" in text
    bars = window.details.timing.bars.rows
    assert bars and {name for name, _, _ in bars[0]} >= {"sent", "waiting", "download"}
    assert not {"dns", "connect", "tls"} & {name for name, _, _ in bars[0]}


def test_timeline_draws_every_reply_and_counts_throughput(qtbot, window: MainWindow,
                                                         http_server: HypercornServer) -> None:
    c = window.composer()
    c.url.setText(http_server.url + "/echo")
    for _ in range(5):
        reply = window.send()
        assert reply is not None
        qtbot.waitUntil(lambda r=reply: r.core.is_finished, timeout=10_000)
    qtbot.waitUntil(lambda: not window.model.running_rows(), timeout=5000)
    window.side_tabs.setCurrentIndex(1)
    tl = window.timeline
    qtbot.waitUntil(lambda: tl._built, timeout=5000)
    tl.refresh()
    xs, ys = tl._wait_item.getData()
    assert len(xs) == 10 and sorted(set(ys.tolist())) == [0, 1, 2, 3, 4]
    req, byts = tl.rates()
    assert sum(req) == 5 and sum(byts) > 0
    assert "requests/s" in tl.rate_label.text()


def test_load_test_repeats_the_request_and_shows_percentiles(qtbot, window: MainWindow,
                                                             http_server: HypercornServer) -> None:
    window.composer().load(RequestSpec(url=http_server.url + "/echo?load=1"))
    window.side_tabs.setCurrentIndex(2)
    panel = window.load_panel()
    assert panel is not None
    panel.count.setValue(60)
    panel.concurrency.setValue(5)
    before = len(http_server.seen.requests)
    job = panel.run()
    assert job is not None
    with qtbot.waitSignal(job.finished, timeout=60_000):
        pass
    r = panel.last
    assert r is not None and r.done == 60 and r.statuses[200] == 60 and len(r.latencies) == 60
    assert len(http_server.seen.requests) - before == 60
    assert "p50" in panel.summary.text() and "p99" in panel.summary.text() and "200×60" in panel.summary.text()
    opts = panel._bars.opts
    assert int(sum(opts["height"])) == 60  # the histogram holds every reply
    qtbot.waitUntil(lambda: window.model.total_rows() == 60, timeout=5000)  # and the list shows them


def test_load_test_bounds_and_stop(qtbot, window: MainWindow, http_server: HypercornServer) -> None:
    from app.load_runner import MAX_CONCURRENCY, MAX_REPEAT, RepeatJob

    spec = RequestSpec(url=http_server.url + "/slow-headers?0.3")
    with pytest.raises(ValueError, match="Repeat count"):
        RepeatJob(window.manager, spec, MAX_REPEAT + 1, 1)
    with pytest.raises(ValueError, match="Concurrency"):
        RepeatJob(window.manager, spec, 10, MAX_CONCURRENCY + 1)
    job = RepeatJob(window.manager, spec, 1000, 4)
    with qtbot.waitSignal(job.finished, timeout=30_000) as done:
        job.start()
        qtbot.wait(400)
        job.stop()
    res: RepeatResult = done.args[0]
    assert res.stopped and res.done < 1000


def test_percentiles_are_nearest_rank() -> None:
    values = sorted(float(v) for v in range(1, 101))
    assert (percentile(values, 50), percentile(values, 90), percentile(values, 99)) == (50.0, 90.0, 99.0)
    assert percentile([], 50) is None and percentile([3.0], 99) == 3.0


def test_tls_tab_shows_the_certificate_chain(qtbot, window: MainWindow, https_server: HypercornServer,
                                             tls_files: dict[str, str]) -> None:
    from app.reply_store import record_of

    window.composer().url.setText(https_server.url + "/echo")
    reply = window.send()
    assert reply is not None
    qtbot.waitUntil(lambda: reply.core.is_finished, timeout=15_000)
    qtbot.waitUntil(lambda: window.details.reply is reply.core, timeout=5000)
    qtbot.waitUntil(lambda: "Version:" in window.details.tls.toPlainText(), timeout=5000)
    text = window.details.tls.toPlainText()
    print("\n" + text)
    assert "Version: TLSv1." in text
    assert "Certificate chain" in text and "Subject:" in text and "SHA-256:" in text
    rec = record_of(reply.core)  # the archive keeps the readable chain, not object reprs
    assert rec["tls"]["peer_chain"] and "Subject" in rec["tls"]["peer_chain"][0]
