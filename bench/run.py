"""The benchmark: one command prints every figure of issue 8 beside its peer, measured in the same run.

    python -m bench.run            # full: 2000 small GETs x 3 protocols, 1 GiB download; medians of 3;
                                   # start, idle RSS, frozen start, UI under load, 100k rows, 200 MB JSON
    python -m bench.run --quick    # smoke run: tiny counts, one repetition
    python -m bench.run --skip start,frozen,ui   # the network figures only

Network: each client run is its own process (``bench/clients.py``), so peak RSS is that client's
own. Core (through ``NetworkManager``, timings on) and httpx run on uvloop; QNAM runs in an offscreen
QCoreApplication and reads in ``readyRead``; curl runs ``--parallel --parallel-max 6``.

Start and UI (``bench/startup.py``, ``bench/ui_bench.py``, ``bench/peers.py``, each in its own
process): Courier's first paint and idle RSS against a bare PySide6 window and against a bare
window that imports httpx and pyqtgraph first; the frozen bundle's start against the venv's; GUI
stalls while 2,000 replies stream into the live list; 100,000 rows in the list against a plain
QAbstractTableModel and a QTableWidget; a 200 MB JSON body's first screen and stalls.

The second table lists each issue-8 target with Courier's figure, its peer's, and whether it is met.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from typing import Any

from bench.nginx import Nginx

CLIENTS = ("core", "httpx", "qnam", "curl")
LABELS = {"core": "core", "core+store": "core, body kept", "httpx": "httpx (6 workers)",
          "qnam": "PySide6 QNAM", "curl": "curl --parallel"}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_client(args: list[str], timeout: float) -> dict[str, Any]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=ROOT)
    try:
        p = subprocess.run([sys.executable, "-m", "bench.clients", *args], capture_output=True, text=True,
                           timeout=timeout, env=env, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    try:
        return dict(json.loads(p.stdout.strip().splitlines()[-1]))
    except (ValueError, IndexError):
        return {"error": (p.stderr.strip().splitlines() or ["no output"])[-1][:200]}


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def measure(n: Nginx, clients: list[str], count: int, reps: int, timeout: float) -> dict[str, Any]:
    """Runs every (work, client) ``reps`` times, interleaving clients so noise spreads evenly."""
    works: list[tuple[str, str, list[str]]] = []
    for kind in ("http", "https", "h2"):
        extra = ["--ca", n.ca_file] + (["--no-http2"] if kind == "https" else [])
        works.append((kind, "small", [n.url(kind, "/small.txt"), str(count), *extra]))
    works.append(("download", "download", [n.url("http", "/big.bin"), "1"]))
    raw: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for rep in range(reps):
        for kind, work, args in works:
            names = list(clients)
            if kind == "download" and "core" in clients:
                names.insert(names.index("core") + 1, "core+store")
            if rep % 2:
                names.reverse()
            for name in names:
                client = name.split("+")[0]
                extra = ["--store"] if name == "core+store" else []
                res = run_client([client, work, *args, *extra], timeout)
                raw.setdefault(kind, {}).setdefault(name, []).append(res)
    return raw


def summarize(raw: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for kind, by_client in raw.items():
        for name, runs in by_client.items():
            good = [r for r in runs if "error" not in r and r.get("ok") == r.get("count")]
            errors = [r.get("error") or f"{r.get('ok')}/{r.get('count')} ok" for r in runs if r not in good]
            if kind == "download":
                rate = [r["bytes"] / r["seconds"] / 1e6 for r in good]
                cpu = [r["cpu"] for r in good]
            else:
                rate = [r["count"] / r["seconds"] for r in good]
                cpu = [r["cpu"] * 1e6 / r["count"] for r in good]
            out.setdefault(kind, {})[name] = {
                "rate": _median(rate), "cpu": _median(cpu), "rss_mb": _median([r["rss_kb"] / 1024 for r in good]),
                "runs": len(runs), "errors": errors, "all_rates": [round(x) for x in rate],
            }
    return out


def run_json(module: str, args: list[str], timeout: float) -> dict[str, Any]:
    """Runs ``python -m MODULE ARGS --json FILE`` in a child process and reads FILE."""
    import tempfile

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=ROOT)
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        out = fh.name
    try:
        cmd = [sys.executable, "-m", module, *args, "--json", out]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)
        if p.returncode != 0:
            return {"error": f"{module} exited {p.returncode}: {p.stderr.strip()[-300:]}"}
        with open(out) as fh:
            return dict(json.load(fh))
    except subprocess.TimeoutExpired:
        return {"error": f"{module} timed out after {timeout:.0f} s"}
    except (ValueError, IndexError, OSError) as e:
        return {"error": f"{module}: no result ({e})"}
    finally:
        os.unlink(out)


def measure_app(skip: set[str], quick: bool, timeout: float) -> dict[str, Any]:
    """Start, idle RSS, frozen start, UI under load, and their peers."""
    runs = "1" if quick else "5"
    got: dict[str, Any] = {}
    if "start" not in skip:
        got["start"] = run_json("bench.startup", ["--runs", runs], timeout)
        got["naive"] = run_json("bench.peers", ["naive", "--runs", runs], timeout)
    if "frozen" not in skip:
        from bench.peers import FROZEN

        if not os.path.exists(FROZEN) and not quick:
            subprocess.run([os.path.join(ROOT, "packaging", "build.sh")], capture_output=True, timeout=900,
                           cwd=ROOT, env=dict(os.environ, PYTHON=sys.executable))
        got["frozen"] = run_json("bench.peers", ["frozen", "--runs", runs], timeout)
    if "ui" not in skip:
        ui_args = ["--requests", "50", "--json-mb", "2"] if quick else []
        got["ui"] = run_json("bench.ui_bench", ui_args, timeout * 3)
        got["rows_peers"] = run_json("bench.peers", ["rows"], timeout)
    return got


def _fmt(v: float | None, digits: int = 0) -> str:
    if v is None:
        return "failed"
    return f"{v:,.{digits}f}"


def table(summary: dict[str, Any], count: int, size_mib: int) -> str:
    cols = [c for c in ("core", "core+store", "httpx", "qnam", "curl") if any(c in s for s in summary.values())]
    head = "| work | " + " | ".join(LABELS[c] for c in cols) + " | core / QNAM |"
    lines = [head, "|" + "---|" * (len(cols) + 2)]
    size = f"{size_mib / 1024:g} GiB" if size_mib >= 1024 else f"{size_mib} MiB"
    rows = [("http", f"{count} small GETs, HTTP/1.1, ≤6 connections (req/s)", "rate", 0),
            ("https", f"{count} small GETs, HTTPS (HTTP/1.1), ≤6 connections (req/s)", "rate", 0),
            ("h2", f"{count} small GETs, HTTP/2, one connection (req/s)", "rate", 0),
            ("download", f"{size} download (MB/s)", "rate", 0),
            ("download", f"{size} download: peak RSS (MB)", "rss_mb", 0),
            ("http", "client CPU per request, HTTP/1.1 (µs)", "cpu", 0),
            ("https", "client CPU per request, HTTPS (µs)", "cpu", 0),
            ("h2", "client CPU per request, HTTP/2 (µs)", "cpu", 0),
            ("download", f"client CPU for the {size} download (s)", "cpu", 2)]
    for kind, label, field, digits in rows:
        s = summary.get(kind, {})
        cells = []
        for c in cols:
            if c not in s:
                cells.append("—")
            else:
                cells.append(_fmt(s[c][field], digits))
        core, qnam = s.get("core", {}).get(field), s.get("qnam", {}).get(field)
        ratio = f"{core / qnam:.2f}×" if core and qnam else "—"
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {ratio} |")
    return "\n".join(lines)


def _get(d: dict[str, Any], *path: str) -> Any:
    for key in path:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return d


def targets(summary: dict[str, Any], app: dict[str, Any], count: int, size_mib: int) -> str:
    """Every issue-8 target: Courier's figure, the peer's from the same run, the ratio, met or not."""
    lines = ["| figure | Courier | peer, same run | ratio | target | met |", "|---|---|---|---|---|---|"]

    def row(label: str, ours: float | None, peer: str, ratio: float | None, target: str, met: bool | None,
            fmt: str = "{:,.0f}") -> None:
        ours_s = "not measured" if ours is None else fmt.format(ours)
        ratio_s = "—" if ratio is None else f"{ratio:.2f}×"
        met_s = "—" if met is None or ours is None else ("yes" if met else "**no**")
        lines.append(f"| {label} | {ours_s} | {peer} | {ratio_s} | {target} | {met_s} |")

    for kind, name in (("http", "HTTP/1.1"), ("https", "HTTPS"), ("h2", "HTTP/2")):
        core, qnam = _get(summary, kind, "core", "rate"), _get(summary, kind, "qnam", "rate")
        r = core / qnam if core and qnam else None
        row(f"{count} small GETs, {name} (req/s)", core, f"QNAM {_fmt(qnam)}", r, "≥ 1.0× QNAM",
            r is not None and r >= 1.0)
    size = f"{size_mib / 1024:g} GiB" if size_mib >= 1024 else f"{size_mib} MiB"
    core, qnam = _get(summary, "download", "core", "rate"), _get(summary, "download", "qnam", "rate")
    r = core / qnam if core and qnam else None
    row(f"{size} download (MB/s)", core, f"QNAM {_fmt(qnam)}", r, "≥ 1.0× QNAM", r is not None and r >= 1.0)
    core, qnam = _get(summary, "download", "core", "rss_mb"), _get(summary, "download", "qnam", "rss_mb")
    r = core / qnam if core and qnam else None
    row(f"{size} download: peak RSS (MB)", core, f"QNAM {_fmt(qnam)}", r, "≤ QNAM's", r is not None and r <= 1.0)

    start = app.get("start") or {}
    if start:
        ours, bare = _get(start, "courier", "paint_s"), _get(start, "bare", "paint_s")
        naive = _get(app, "naive", "paint_s")
        r = ours / bare if ours and bare else None
        peer = f"bare PySide6 window {_fmt(bare and bare * 1000)}; + httpx, pyqtgraph {_fmt(naive and naive * 1000)}"
        row("start: main window's first paint (ms)", ours and ours * 1000, peer, r, "≤ 1.5× bare window",
            r is not None and r <= 1.5)
        ours, bare = _get(start, "courier", "idle_rss_mb"), _get(start, "bare", "idle_rss_mb")
        naive = _get(app, "naive", "idle_rss_mb")
        row("idle RSS (MB)", ours, f"bare window {_fmt(bare)}; + httpx, pyqtgraph {_fmt(naive)}",
            ours / bare if ours and bare else None, "≤ 100 MB", ours is not None and ours <= 100)
    frozen = app.get("frozen") or {}
    if frozen:
        f, v = frozen.get("frozen"), frozen.get("venv")
        r = f / v if f and v else None
        row("frozen start, start-and-quit (s)", f, f"venv {_fmt(v, 2)}" if v else frozen.get("error") or frozen.get("skipped", "?"), r,
            "≤ 2× venv", r is not None and r <= 2.0, "{:.2f}")
    ui = app.get("ui") or {}
    if ui:
        st = ui.get("stream") or {}
        n = st.get("requests")
        rate = f"{_fmt(st.get('rate'))} req/s, {st.get('ticks', 0)} ticks of a 2 ms timer" if st else "—"
        row(f"{n or '?'} replies stream into the live list: longest GUI stall (ms)", st.get("max_ms"), rate, None,
            "< 50 ms", st.get("max_ms") is not None and st["max_ms"] < 50, "{:.1f}")
        row("… 99th percentile of GUI stalls (ms)", st.get("p99_ms"), "—", None, "< 16 ms",
            st.get("p99_ms") is not None and st["p99_ms"] < 16, "{:.1f}")
        rw, peers = ui.get("rows") or {}, app.get("rows_peers") or {}
        peer = (f"QAbstractTableModel over a list {_fmt(_get(peers, 'model', 'bytes_per_row'))}; "
                f"QTableWidget {_fmt(_get(peers, 'widget', 'bytes_per_row'))} (RSS)")
        ours = rw.get("traced_bytes_per_row")
        row("100,000 replies in the list: memory per row (bytes, traced; RSS growth "
            f"{_fmt(rw.get('rss_bytes_per_row'))})", ours, peer, None, "≤ 2,048", ours is not None and ours <= 2048)
        peer = (f"QAbstractTableModel {_fmt(_get(peers, 'model', 'rows_per_s'))}; "
                f"QTableWidget {_fmt(_get(peers, 'widget', 'rows_per_s'))}")
        row("100,000 replies into the list (rows/s)", rw.get("add_rows_per_s"), peer, None, "—", None)
        js = ui.get("json") or {}
        mb = f"{js['bytes'] / 2**20:.0f} MiB" if js.get("bytes") else "big"
        first = js.get("first_screen_s")
        row(f"open a {mb} JSON body: first screen (ms)", first and first * 1000, "—", None, "< 1,000 ms",
            first is not None and first < 1.0 and bool(js.get("ok")))
        row("… longest stall while opening, paging, text, hex (ms)", js.get("max_ms"), "—", None, "< 100 ms",
            js.get("max_ms") is not None and js["max_ms"] < 100, "{:.1f}")
    return "\n".join(lines)


def conditions() -> str:
    def version(cmd: list[str]) -> str:
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            return (p.stdout or p.stderr).strip().splitlines()[0]
        except (OSError, subprocess.SubprocessError, IndexError):
            return "?"

    try:
        import PySide6
        import uvloop

        qt = f"PySide6 {PySide6.__version__}"
        uv = f"uvloop {uvloop.__version__}"
    except ImportError:
        qt, uv = "PySide6 ?", "uvloop ?"
    load = os.getloadavg()
    return (f"Python {platform.python_version()}, {uv} (core and httpx), {qt}, {version(['nginx', '-v'])}, "
            f"{version(['curl', '--version'])[:40]}; {os.cpu_count()} CPUs, load average "
            f"{load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f}; {time.strftime('%Y-%m-%d %H:%M')}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="a smoke run: tiny counts, one repetition")
    p.add_argument("--count", type=int, help="small GETs per run (default 2000; quick 50)")
    p.add_argument("--mib", type=int, help="download size in MiB (default 1024; quick 8)")
    p.add_argument("--reps", type=int, help="repetitions, the table shows medians (default 3; quick 1)")
    p.add_argument("--clients", default=",".join(CLIENTS), help="comma-separated subset of " + ",".join(CLIENTS))
    p.add_argument("--timeout", type=float, default=180.0, help="seconds allowed per client run")
    p.add_argument("--json", help="also write the raw results to this file")
    p.add_argument("--skip", default="", help="comma-separated parts to leave out: net,start,frozen,ui")
    a = p.parse_args(argv)
    count = a.count or (50 if a.quick else 2000)
    mib = a.mib or (8 if a.quick else 1024)
    reps = a.reps or (1 if a.quick else 3)
    clients = [c for c in a.clients.split(",") if c]
    bad = [c for c in clients if c not in CLIENTS]
    if bad:
        p.error(f"unknown client(s): {', '.join(bad)}")
    skip = {x for x in a.skip.split(",") if x}
    print(f"Courier benchmark: {count} small GETs x 3 protocols and a {mib} MiB download, "
          f"medians of {reps}, each client run in its own process.", flush=True)
    start = time.monotonic()
    before = conditions()
    raw: dict[str, Any] = {}
    if "net" not in skip:
        with Nginx(big_size=mib << 20) as n:
            raw = measure(n, clients, count, reps, a.timeout)
    summary = summarize(raw)
    app = measure_app(skip, a.quick, a.timeout)
    if summary:
        print()
        print(table(summary, count, mib))
    print()
    print(targets(summary, app, count, mib))
    print()
    print(f"Conditions: {before}. Took {time.monotonic() - start:.0f} s.")
    print("Rates are medians of wall-clock runs; CPU is the client's own (robust when the machine is busy). "
          "Start figures are medians of fresh processes; GUI stalls are gaps between ticks of a 2 ms timer.")
    errors = [(k, c, e) for k, s in summary.items() for c, v in s.items() for e in v["errors"]]
    errors += [("app", part, v["error"]) for part, v in app.items() if isinstance(v, dict) and "error" in v]
    for kind, client, err in errors:
        print(f"ERROR {kind} {client}: {err}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"summary": summary, "raw": raw, "app": app, "conditions": before}, f, indent=1)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
