"""The benchmark runs end to end in quick mode (tiny counts): nginx, core, httpx, QNAM and curl, then
the start, UI and row figures with their peers. No speed is asserted, only that every client
completed every workload and both tables are printed with a figure in every row."""

from __future__ import annotations

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_bench_quick_mode_prints_the_table(tmp_path) -> None:
    out = tmp_path / "bench.json"
    p = subprocess.run([sys.executable, "-m", "bench.run", "--quick", "--count", "12", "--mib", "2",
                        "--timeout", "60", "--json", str(out)],
                       capture_output=True, text=True, timeout=300, cwd=ROOT,
                       env=dict(os.environ, PYTHONPATH=ROOT, QT_QPA_PLATFORM="offscreen"))
    assert p.returncode == 0, p.stdout + p.stderr
    for row in ("12 small GETs, HTTP/1.1", "HTTPS (HTTP/1.1)", "HTTP/2, one connection", "2 MiB download (MB/s)",
                "peak RSS", "core / QNAM"):
        assert row in p.stdout, row
    summary = json.loads(out.read_text())["summary"]
    for kind in ("http", "https", "h2", "download"):
        for client in ("core", "httpx", "qnam", "curl"):
            got = summary[kind][client]
            assert got["errors"] == [] and got["rate"] and got["rate"] > 0, (kind, client, got)
    assert summary["download"]["core+store"]["rate"] > 0
    app = json.loads(out.read_text())["app"]
    assert app["start"]["courier"]["paint_s"] > 0 and app["start"]["bare"]["paint_s"] > 0
    assert app["naive"]["idle_rss_mb"] > 0
    assert app["ui"]["stream"]["ok"] == app["ui"]["stream"]["requests"] > 0
    assert app["ui"]["json"]["ok"] == 1.0 and app["ui"]["rows"]["traced_bytes_per_row"] > 0
    assert app["rows_peers"]["widget"]["bytes_per_row"] > 0
    targets = p.stdout[p.stdout.index("| figure | Courier |"):]
    for row in ("start: main window's first paint", "idle RSS", "frozen start", "longest GUI stall",
                "99th percentile", "memory per row", "rows/s", "first screen", "longest stall while opening"):
        line = next(ln for ln in targets.splitlines() if row in ln)
        assert "not measured" not in line or row == "frozen start", line
