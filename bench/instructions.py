"""Instructions per small GET (valgrind callgrind): a measure that does not move with machine load.

    python -m bench.instructions [--clients core,qnam] [--kinds http,https,h2]

Each client runs COUNT_A and COUNT_B small GETs under ``valgrind --tool=callgrind`` against the
benchmark's nginx; (Ir(B) - Ir(A)) / (B - A) is the client's user-space instructions per request,
start-up excluded (all threads counted). Slow (~1 min per figure); needs valgrind (apt-get install
valgrind). Used to decide transport changes on a busy machine (docs/performance.md).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys

from bench.nginx import Nginx

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COUNT_A, COUNT_B = 50, 250


def collected(client: str, url: str, count: int, ca: str, no_http2: bool) -> int:
    args = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-m",
            "bench.clients", client, "small", url, str(count), "--ca", ca] + (["--no-http2"] if no_http2 else [])
    p = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, timeout=900,
                       env=dict(os.environ, PYTHONPATH=ROOT, QT_QPA_PLATFORM="offscreen"))
    m = re.search(r"Collected : (\d+)", p.stderr)
    if m is None or f'"ok": {count}' not in p.stdout:
        raise RuntimeError(f"{client} {url}: run failed: {p.stdout[-300:]} {p.stderr[-300:]}")
    return int(m.group(1))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", default="core,qnam")
    p.add_argument("--kinds", default="http,https,h2")
    a = p.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)")
        return 2
    with Nginx(big_size=1 << 20) as n:
        print("| client | " + " | ".join(a.kinds.split(",")) + " |")
        print("|---" * (len(a.kinds.split(",")) + 1) + "|")
        for client in a.clients.split(","):
            cells = []
            for kind in a.kinds.split(","):
                url = n.url(kind, "/small.txt")
                lo = collected(client, url, COUNT_A, n.ca_file, kind == "https")
                hi = collected(client, url, COUNT_B, n.ca_file, kind == "https")
                cells.append(f"{(hi - lo) / (COUNT_B - COUNT_A) / 1e6:.2f} M")
            print(f"| {client} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
