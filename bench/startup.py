"""Start-up: Courier's main window versus a bare PySide6 window, measured in the same run
(plus, for reference, a bare window holding one line edit and one button: the price of text).

Each sample is a fresh interpreter: the time from spawning it to the first paint of its main
window, then the resident memory after one idle second. Courier starts through its real entry
point (``app.main.main``). The child notices the first paint with an event filter that
``QMainWindow.show`` installs on the window being shown: only that window's own events reach
Python. (``--probe app`` installs it on the whole application instead, as this bench did before:
then every event of every widget is converted to Python objects while the window is built, which
costs a window with many widgets ~30-40 ms that a real start does not pay, and the bare window
almost nothing.) Beside the wall time each child's CPU time at its first paint is printed: other
jobs on the machine disturb it less. Issue 8 targets: Courier within 1.5× the bare window's time, idle RSS ≤ 100 MB.

    PYTHONPATH=. .venv/bin/python -m bench.startup [--runs 5] [--platform offscreen] [--probe window|app]
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

CHILD = r"""
import os, sys, time
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow

def rss_mb():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0

class FirstPaint(QObject):
    done = False
    def eventFilter(self, obj, event):
        if not self.done and event.type() == QEvent.Type.Paint and isinstance(obj, QMainWindow):
            obj.removeEventFilter(self)
            self.done = True
            print(f"painted {rss_mb():.1f} {time.process_time():.4f}", flush=True)
            QTimer.singleShot(1000, lambda: (print(f"rss {rss_mb():.1f}", flush=True), QApplication.quit()))
        return False

app = QApplication(sys.argv[:1])
probe = FirstPaint()
if sys.argv[2] == "app":
    app.installEventFilter(probe)
else:  # watch only the main window being shown
    _show = QMainWindow.show
    def _show_watched(self):
        self.installEventFilter(probe)
        _show(self)
    QMainWindow.show = _show_watched
if sys.argv[1] == "bare":
    w = QMainWindow(); w.setWindowTitle("bare"); w.resize(1280, 800); w.show()
    app.exec()
elif sys.argv[1] == "text":  # a bare window with one line edit and one button: the price of text
    from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QPushButton, QWidget
    w = QMainWindow(); c = QWidget(); lay = QHBoxLayout(c)
    lay.addWidget(QLineEdit("https://example.org/")); lay.addWidget(QPushButton("Send"))
    w.setCentralWidget(c); w.resize(1280, 800); w.show()
    app.exec()
else:
    from app.main import main
    main([])
print("modules", " ".join(m for m in ("pyqtgraph", "numpy", "httpx", "keyring") if m in sys.modules), flush=True)
"""


def sample(kind: str, env: dict[str, str], child: str = CHILD,
           probe: str = "window") -> tuple[float, float, str, float, float]:
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", child, kind, probe], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    assert proc.stdout is not None
    painted = rss = rss_painted = cpu = 0.0
    modules = ""
    for line in proc.stdout:
        if line.startswith("painted") and not painted:
            painted = time.perf_counter() - t0
            rss_painted = float(line.split()[1])
            cpu = float(line.split()[2])
        elif line.startswith("rss "):
            rss = float(line.split()[1])
        elif line.startswith("modules"):
            modules = line.split(" ", 1)[1].strip() if " " in line else ""
    proc.wait(60)
    if not painted:
        raise RuntimeError(f"{kind}: no window painted; stderr:\n{proc.stderr.read() if proc.stderr else ''}")
    return painted, rss, modules, rss_painted, cpu


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--platform", default=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    ap.add_argument("--probe", choices=("window", "app"), default="window",
                    help="where the first-paint event filter sits (see above; default: window)")
    ap.add_argument("--json", help="also write the medians to this file (bench.run reads it)")
    args = ap.parse_args(argv)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    data = tempfile.mkdtemp(prefix="courier-startup-")
    env = {**os.environ, "QT_QPA_PLATFORM": args.platform, "PYTHONPATH": root, "COURIER_DATA_DIR": data}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed app has its bytecode: let the warm-up write it
    results: dict[str, list[tuple[float, float, str, float, float]]] = {"bare": [], "text": [], "courier": []}
    sample("bare", env, probe=args.probe)  # warm the disk cache for both
    sample("courier", env, probe=args.probe)
    for _ in range(args.runs):
        for kind in ("bare", "text", "courier"):
            results[kind].append(sample(kind, env, probe=args.probe))
    print(f"Python {sys.version.split()[0]}, QPA {args.platform}, probe {args.probe}, {args.runs} runs each, "
          f"load {os.getloadavg()[0]:.2f}")
    med = {}
    cpu: dict[str, float] = {}
    for kind, rows in results.items():
        t = statistics.median(r[0] for r in rows)
        m = statistics.median(r[1] for r in rows)
        mp = statistics.median(r[3] for r in rows)
        cpu[kind] = statistics.median(r[4] for r in rows)
        med[kind] = (t, m)
        print(f"  {kind:8s} first paint {t * 1000:6.0f} ms (min {min(r[0] for r in rows) * 1000:.0f}, "
              f"CPU {cpu[kind] * 1000:.0f}), RSS at first paint {mp:5.1f} MB, idle RSS {m:5.1f} MB   "
              f"modules: {rows[-1][2] or '-'}")
    ratio = med["courier"][0] / med["bare"][0]
    print(f"  start ratio courier/bare {ratio:.2f} (target ≤ 1.5; in CPU time to the first paint "
          f"{cpu['courier'] / cpu['bare']:.2f}, which other jobs on the machine disturb less); "
          f"idle RSS {med['courier'][1]:.1f} MB (target ≤ 100)")
    if args.json:
        out = {kind: {"paint_s": med[kind][0], "idle_rss_mb": med[kind][1]} for kind in med}
        with open(args.json, "w") as fh:
            json.dump({**out, "runs": args.runs, "platform": args.platform}, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
