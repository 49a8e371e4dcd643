"""The benchmark: one command, one table. Core vs raw httpx vs PySide6 QNAM vs curl, against a
private nginx on 127.0.0.1.

    python -m bench.run            # full: 2000 small GETs x 3 protocols, 1 GiB download; medians of 3
    python -m bench.run --quick    # smoke run: tiny counts, one repetition

Each client run is its own process (``bench/clients.py``), so peak RSS is that client's own. Core
(through ``NetworkManager``, timings on) and httpx run on uvloop; QNAM runs in an offscreen
QCoreApplication and reads in ``readyRead``; curl runs ``--parallel --parallel-max 6``.
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
    a = p.parse_args(argv)
    count = a.count or (50 if a.quick else 2000)
    mib = a.mib or (8 if a.quick else 1024)
    reps = a.reps or (1 if a.quick else 3)
    clients = [c for c in a.clients.split(",") if c]
    bad = [c for c in clients if c not in CLIENTS]
    if bad:
        p.error(f"unknown client(s): {', '.join(bad)}")
    print(f"Courier benchmark: {count} small GETs x 3 protocols and a {mib} MiB download, "
          f"medians of {reps}, each client run in its own process.", flush=True)
    start = time.monotonic()
    before = conditions()
    with Nginx(big_size=mib << 20) as n:
        raw = measure(n, clients, count, reps, a.timeout)
    summary = summarize(raw)
    print()
    print(table(summary, count, mib))
    print()
    print(f"Conditions: {before}. Took {time.monotonic() - start:.0f} s.")
    print("Rates are medians of wall-clock runs; CPU is the client's own (robust when the machine is busy).")
    errors = [(k, c, e) for k, s in summary.items() for c, v in s.items() for e in v["errors"]]
    for kind, client, err in errors:
        print(f"ERROR {kind} {client}: {err}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"summary": summary, "raw": raw, "conditions": before}, f, indent=1)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
