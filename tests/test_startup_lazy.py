"""What the idle app does not load: the start-up and memory work (docs/ui-performance.md, Start)
relies on these staying lazy. Each check runs the real entry point in a fresh interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Starts the app through app.main, waits until the network core, the dialogs and the collections
# dock are attached, lets it idle for a second, then reports what is loaded and quits.
CHILD = r"""
import json, linecache, sys
from PySide6.QtCore import QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication

app = QApplication(sys.argv[:1])
state = {"ready": False}

def report():
    httpx_file = sys.modules["httpx"].__file__
    win = next(w for w in app.topLevelWidgets() if type(w).__name__ == "MainWindow")
    print("REPORT " + json.dumps({
        "icon_set": not app.windowIcon().isNull(),
        "clear_button": win.list_panel.filter_edit.isClearButtonEnabled(),
        "modules": sorted(sys.modules),
        "httpx_main": repr(sys.modules.get("httpx._main", "absent")),
        "httpx_source_cached": httpx_file in linecache.cache,
        "cached_sources": len(linecache.cache),
    }), flush=True)
    app.quit()

def poll():
    win = next((w for w in app.topLevelWidgets() if type(w).__name__ == "MainWindow"), None)
    ready = (win is not None and win.manager is not None and win.sidebar_dock is not None
             and win.findChild(QAction, "openSettings") is not None)
    if ready:
        QTimer.singleShot(1000, report)
    else:
        QTimer.singleShot(50, poll)

QTimer.singleShot(0, poll)
from app.main import main
sys.exit(main(["--offscreen", "--quit-after", "120"]))
"""


def _idle_report(tmp_path: Path) -> dict[str, object]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "COURIER_DATA_DIR": str(tmp_path / "data"),
           "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120,
                         env=env, cwd=ROOT)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("REPORT ")]
    assert out.returncode == 0 and lines, out.stdout + out.stderr
    report: dict[str, object] = json.loads(lines[0][len("REPORT "):])
    return report


def test_idle_window_leaves_heavy_modules_unloaded(tmp_path: Path) -> None:
    report = _idle_report(tmp_path)
    modules = set(report["modules"])  # type: ignore[arg-type]
    assert {"core", "httpx", "app.bridge", "app.dialogs"} <= modules  # the core did load
    # cryptography (~10 MB) only when a certificate is inspected, keyring only when a secret is
    # read or written, the timing graphs and the settings page only when shown
    for heavy in ("cryptography", "keyring", "pyqtgraph", "numpy", "app.ui.settings_dialog"):
        assert heavy not in modules, f"{heavy} is imported by the idle window"
    # httpx's command line (click, pygments) is never imported
    assert report["httpx_main"] == "None"
    # PySide6's import hook no longer keeps every module's source in linecache (~10 MB)
    assert report["httpx_source_cached"] is False
    # what waits for the first paint does arrive after it
    assert report["icon_set"] is True and report["clear_button"] is True


def test_core_imports_without_cryptography() -> None:
    code = ("import sys, core, core.tls; from core.tls import Certificate; "
            "print('cryptography' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
