"""Kill a process with SIGKILL in the middle of saving, many times: nothing is lost or torn."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from app.collections import CollectionStore, Header, RequestItem, load_collection

WRITER = r"""
import sys
from app.collections import CollectionStore
store = CollectionStore(sys.argv[1])
n = 0
print("ready", flush=True)
while True:
    n += 1
    item = next(r for r in store.collection.requests() if r.name == "List pets")
    # header and body carry the same counter: a torn file could not keep them equal
    item.headers[0].value = str(n)
    item.body.text = ("%d\n" % n) * 2000
    store.save_request(item)
    if n % 7 == 0:
        store.rename(item.path, "List pets")  # same slug: rewrites the name only
    store.move(item.path, "pets" if item.path.startswith("list-pets") else "", 0)
"""

ROUNDS = 25


def test_sigkill_mid_save_never_loses_or_tears_a_request(tmp_path: Path) -> None:
    store = CollectionStore.create(tmp_path / "api", "Crash test")
    store.new_folder("", "Pets")
    item = RequestItem("List pets", url="http://127.0.0.1/pets", headers=[Header("X-Counter", "0")])
    item.body.type, item.body.text = "text", "0\n" * 2000
    store.new_request("pets", item)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    rng = random.Random(1234)
    seen_counters: set[int] = set()
    deadline = time.monotonic() + 60
    for _ in range(ROUNDS):
        if time.monotonic() > deadline:
            break
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(store.root)], stdout=subprocess.PIPE,
                                env=env)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.0, 0.25))
        assert proc.poll() is None, "the writer stopped by itself"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        proc.stdout.close()
        col, problems = load_collection(store.root)
        assert problems == [], problems
        found = [r for r in col.requests() if r.name == "List pets"]
        assert len(found) == 1, [r.path for r in col.requests()]  # neither lost nor doubled
        req = found[0]
        counter = int(req.headers[0].value)
        assert req.body.text == f"{counter}\n" * 2000  # never torn
        seen_counters.add(counter)
    assert len(seen_counters) > 3  # the kills really landed at different points of the writing
