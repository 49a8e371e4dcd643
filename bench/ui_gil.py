"""How many times the GUI thread takes the GIL per live-list update (issue 8, UI under load).

Every entry from C++ into Python, every PySide call that lets go of the GIL and every temporary
Qt value's destructor is a GIL take, and each take can wait while the network thread is busy.
This script puts ``--flushes`` batches of 50 rows through the real window's ``LiveFeed`` (half
new rows, half finishing them), painting after each, and does nothing else; count the takes
with a uprobe on CPython's ``take_gil`` and subtract a run with ``--flushes 0``:

    perf probe -x $(python -c 'import sysconfig as s; print(s.get_config_var("LIBDIR"))')/libpython3.13.so.1.0 take_gil
    QT_QPA_PLATFORM=offscreen PYTHONPATH=. perf stat -e probe_libpython3:take_gil .venv/bin/python -m bench.ui_gil --flushes 80
    QT_QPA_PLATFORM=offscreen PYTHONPATH=. perf stat -e probe_libpython3:take_gil .venv/bin/python -m bench.ui_gil --flushes 0

(takes per flush = (difference - 3 × flushes for the ``processEvents`` calls) / flushes)
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--flushes", type=int, default=80)
    args = ap.parse_args(argv)
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    from app.bridge import Created
    from app.ui.main_window import MainWindow
    from core import events as ev
    from tests.test_ui_batching import FakeReply

    win = MainWindow(None, restore=False)
    win.resize(1280, 800)
    win.show()
    for _ in range(20):
        app.processEvents()
    n = 0
    for k in range(args.flushes):
        if k % 2 == 0:
            replies = [FakeReply(n + i) for i in range(50)]
            n += 50
            win.feed.on_events([Created(r) for r in replies])  # type: ignore[arg-type]
        else:
            for r in replies:
                r.finish()
            win.feed.on_events([ev.Finished(r) for r in replies])  # type: ignore[arg-type]
        win.feed.flush()
        for _ in range(3):
            app.processEvents()
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
