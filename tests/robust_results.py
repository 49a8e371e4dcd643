"""What the robustness tests measured, for docs/robustness.md (``python -m tests.robust_report``).

A test calls ``record`` with what it observed *before* it asserts, so a failing case shows up in
the table too. Nothing is written unless ``COURIER_ROBUST_RESULTS`` names a file (the report sets it).
"""

from __future__ import annotations

import json
import os
import threading

RESULTS_ENV = "COURIER_ROBUST_RESULTS"
_lock = threading.Lock()


def record(section: str, case: str, expected: str, observed: str, leftovers: str = "none", test: str = "") -> None:
    path = os.environ.get(RESULTS_ENV)
    if not path:
        return
    if not test:
        test = os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0]
    line = json.dumps({"section": section, "case": case, "expected": expected, "observed": observed,
                       "leftovers": leftovers, "test": test})
    with _lock, open(path, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")
