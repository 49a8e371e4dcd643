"""Prints the hostile-server table for docs/robustness.md: ``python -m tests.hostile_report``.

It runs the same cases as tests/test_hostile.py and reports what was observed."""

from __future__ import annotations

from core import Request
from core.request import Attribute
from tests.hostile import HostileServer, SilentServer
from tests.test_hostile import CASES, run_case


def main() -> None:
    server = HostileServer()
    rows = []
    for case, path, timeout, total, expected in CASES:
        attrs = {Attribute.TOTAL_TIMEOUT: total} if total else {}
        out = run_case(Request(server.url + path, attributes=attrs), transfer_timeout=timeout)
        rows.append((case, expected.name, f"{out.error.name}: {out.message}", out.leftovers))
    out = run_case(Request(server.url + "/endless"), abort_after=64 * 1024 * 1024)
    rows.append(("endless body, cancelled after 64 MiB", "OperationCanceledError",
                 f"{out.error.name}: {out.message}", out.leftovers))
    silent = SilentServer()
    out = run_case(Request(f"https://127.0.0.1:{silent.port}/"), transfer_timeout=1.0)
    rows.append(("TLS handshake that stalls, timeout 1 s", "TimeoutError",
                 f"{out.error.name}: {out.message}", out.leftovers))
    silent.close()
    server.close()
    print("| case | expected | observed | leftovers (connections, tasks, fds, threads, body files) |")
    print("|---|---|---|---|")
    for case, exp, obs, left in rows:
        print(f"| {case} | {exp} | {obs[:110]} | {', '.join(str(v) for v in left.values())} |")


if __name__ == "__main__":
    main()
