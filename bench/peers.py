"""The peers of the start and UI figures, measured in the same run as Courier's (issue 8's table):

- ``naive``: a bare PySide6 window that also imports httpx and pyqtgraph before showing, the way an
  app that does not defer its imports starts (``python -m bench.peers naive``);
- ``rows``: 100,000 rows put into a plain ``QAbstractTableModel`` over a Python list and into a
  ``QTableWidget`` (one ``QTableWidgetItem`` per cell), each shown in its view, in a fresh process:
  rows per second and resident memory per row (``python -m bench.peers rows``);
- ``frozen``: the frozen bundle's start against the venv's, the same command for both
  (``courier --offscreen --quit-after 0``: spawn, window built and shown, event loop, exit).

Each prints one JSON line (and writes it to ``--json FILE``); ``bench.run`` runs them as child processes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROWS = 100_000
COLUMNS = 10
FROZEN = os.path.join(ROOT, "dist", "courier", "courier")


def naive(runs: int, env: dict[str, str]) -> dict[str, float]:
    """First paint and idle RSS of a bare window whose program imports httpx and pyqtgraph first."""
    from bench.startup import CHILD, sample

    child = "import httpx, pyqtgraph  # noqa\n" + CHILD
    sample("bare", env, child)  # warms the disk cache and writes bytecode
    got = [sample("bare", env, child) for _ in range(runs)]
    return {"paint_s": statistics.median(g[0] for g in got), "idle_rss_mb": statistics.median(g[1] for g in got)}


def rows() -> dict[str, Any]:
    """100,000 rows × 10 columns into a plain QAbstractTableModel and into a QTableWidget."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import gc

    from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
    from PySide6.QtWidgets import QApplication, QTableView, QTableWidget, QTableWidgetItem

    from bench.ui_bench import rss_mb

    app = QApplication.instance() or QApplication([])
    out: dict[str, Any] = {}

    def values(i: int) -> list[Any]:
        return [f"http://127.0.0.1:8080/api/items/{i}", "GET", 200, "application/json", (i * 37) % 50_000,
                0.002 + (i % 100) / 1000, "HTTP/1.1", "127.0.0.1:8080", 1.7e9 + i, i]

    class ListModel(QAbstractTableModel):
        def __init__(self) -> None:
            super().__init__()
            self.data_rows: list[list[Any]] = []

        def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
            return 0 if parent.isValid() else len(self.data_rows)

        def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
            return COLUMNS

        def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
            if role == Qt.ItemDataRole.DisplayRole:
                return str(self.data_rows[index.row()][index.column()])
            return None

        def add(self, batch: list[list[Any]]) -> None:
            n = len(self.data_rows)
            self.beginInsertRows(QModelIndex(), n, n + len(batch) - 1)
            self.data_rows.extend(batch)
            self.endInsertRows()

    gc.collect()
    rss0 = rss_mb()
    model = ListModel()
    view = QTableView()
    view.setModel(model)
    view.resize(1000, 700)
    view.show()
    t0 = time.perf_counter()
    for k in range(0, ROWS, 1000):
        model.add([values(i) for i in range(k, k + 1000)])
        app.processEvents()
    out["model"] = {"rows_per_s": ROWS / (time.perf_counter() - t0),
                    "bytes_per_row": (rss_mb() - rss0) * 2**20 / ROWS}
    view.close()
    view.setModel(None)  # type: ignore[arg-type]
    del model
    gc.collect()
    rss0 = rss_mb()
    table = QTableWidget(0, COLUMNS)
    table.resize(1000, 700)
    table.show()
    t0 = time.perf_counter()
    for k in range(0, ROWS, 1000):
        table.setRowCount(k + 1000)
        for i in range(k, k + 1000):
            for c, v in enumerate(values(i)):
                table.setItem(i, c, QTableWidgetItem(str(v)))
        app.processEvents()
    out["widget"] = {"rows_per_s": ROWS / (time.perf_counter() - t0),
                     "bytes_per_row": (rss_mb() - rss0) * 2**20 / ROWS}
    table.close()
    return out


def frozen(runs: int, binary: str = FROZEN) -> dict[str, Any]:
    """The same start-and-quit command from the venv and from the frozen bundle, interleaved."""
    if not os.path.exists(binary):
        return {"skipped": f"no frozen bundle at {os.path.relpath(binary, ROOT)} (packaging/build.sh builds it)"}
    data = tempfile.mkdtemp(prefix="courier-frozen-bench-")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "COURIER_DATA_DIR": data}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    cmds = {"venv": [sys.executable, "-m", "app", "--offscreen", "--quit-after", "0"],
            "frozen": [binary, "--offscreen", "--quit-after", "0"]}
    times: dict[str, list[float]] = {"venv": [], "frozen": []}
    for rep in range(runs + 1):
        for name, cmd in cmds.items():
            t0 = time.perf_counter()
            p = subprocess.run(cmd, capture_output=True, text=True, env={**env, "PYTHONPATH": ROOT}, timeout=120,
                               cwd=ROOT)
            if p.returncode != 0:
                return {"error": f"{name} start failed ({p.returncode}): {p.stderr.strip()[-300:]}"}
            if rep:  # the first round warms the disk cache
                times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) for name, t in times.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["naive", "rows", "frozen"])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", help="also write the figures to this file (bench.run reads it)")
    a = ap.parse_args(argv)
    if a.what == "naive":
        data = tempfile.mkdtemp(prefix="courier-naive-")
        env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
               "PYTHONPATH": ROOT, "COURIER_DATA_DIR": data}
        result: dict[str, Any] = naive(a.runs, env)
    elif a.what == "rows":
        result = rows()
    else:
        result = frozen(a.runs)
    print(json.dumps(result), flush=True)
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(result, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
