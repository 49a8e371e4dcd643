"""Data safety: every store survives ``kill -9`` in the middle of a save, and a damaged file is
reported and set aside while everything else loads.

The kill test runs tests/data_safety_writer.py: one thread per store (environment, history,
cookies, HSTS, certificate exceptions, settings, window state, the keyring's index of names) saving
over and over, killed with SIGKILL at a random moment, many times. Afterwards each store must load
without a complaint, hold either the last acknowledged save or the one after it (never a mix), and
keep every save that was acknowledged. Requests in a collection: tests/test_collections_crash.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

from app.collections import CollectionStore, load_collection
from app.history import History, HistoryEntry
from app.secrets import SecretStore
from app.settings import SettingsFile, remove_stale_temp_files
from app.state import load_state
from core.cookie_store import CookieStoreError, SqliteCookieStore
from core.cookies import Cookie
from core.hsts import HstsCache
from core.tls.store import ExceptionStore
from tests.data_safety_writer import PAD, MemoryKeyring
from tests.robust_results import record

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = 10
STORES = ["environment", "history", "cookies", "hsts", "tls-exceptions", "settings", "window-state",
          "credentials-index"]


TEMP_OF = {"environment": ".courier-tmp-dev.toml.", "hsts": ".courier-tmp-hsts.json.",
           "tls-exceptions": ".tls-exceptions.json.", "settings": ".courier-tmp-settings.json.",
           "window-state": ".courier-tmp-window-state.json.", "credentials-index": ".courier-tmp-credentials.json."}


def _temp_files(*dirs: Path) -> dict[str, int]:
    """Temp files of interrupted atomic writes, per store (SQLite keeps its own journal instead)."""
    out: dict[str, int] = defaultdict(int)
    for d in dirs:
        for p in d.rglob(".*"):
            for store, prefix in TEMP_OF.items():
                if p.is_file() and p.name.startswith(prefix):
                    out[store] += 1
    return out


def _check(name: str, ack: int, data: Path, collection: Path) -> str:
    """Load one store after the kill; raise AssertionError when it is torn or lost a save. Returns
    a word for the table: which version survived."""
    if name == "environment":
        col, problems = load_collection(collection)
        assert problems == [], problems
        [env] = col.environments
        a, b, pad = (v.value for v in env.variables)
        assert a == b and pad == PAD, "torn environment"
        n = int(a)
    elif name == "history":
        h = History(data / "history.db")
        assert h.message is None, h.message
        entries = h.search(limit=100_000)
        h.close()
        assert all(e.url.endswith(f"/{e.reason}") and e.request_body == PAD.encode() for e in entries), "torn row"
        present = {int(e.reason) for e in entries}
        assert set(range(ack + 1)) <= present, "an acknowledged entry is missing"
        n = max(present)
    elif name == "cookies":
        con = sqlite3.connect(data / "cookies.sqlite")
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        con.close()
        store = SqliteCookieStore(data / "cookies.sqlite")
        cookies = store.load()
        store.close()
        assert all(c.value == c.name[1:] + PAD[:2000] for c in cookies), "torn cookie"
        present = {int(c.name[1:]) for c in cookies}
        assert set(range(ack + 1)) <= present, "an acknowledged cookie is missing"
        n = max(present)
    elif name == "hsts":
        cache = HstsCache()
        cache.enable_store(data / "hsts.json")  # raises HstsStoreError when damaged
        present = {int(p.host[1:].split(".")[0]) for p in cache.hosts()}
        assert set(range(ack + 1)) <= present, "an acknowledged host is missing"
        n = max(present)
    elif name == "tls-exceptions":
        store = ExceptionStore(data)
        assert store.load_error is None, store.load_error
        present = set()
        for e in store.entries():
            n_ = int(e.key.host[1:].split(".")[0])
            assert e.key.sha256 == f"{n_:064x}" and e.subject == f"CN={e.key.host}", "torn exception"
            present.add(n_)
        assert set(range(ack + 1)) <= present, "an acknowledged exception is missing"
        n = max(present)
    elif name == "settings":
        f = SettingsFile.in_data_dir(data)
        s = f.load()
        assert f.notes == [], f.notes
        n = int(s.proxy_host.split("-")[1])
        assert s.pac_url == f"http://pac.example/{n}", "torn settings"
    elif name == "window-state":
        state = load_state(data / "window-state.json")
        assert state.get("a") == state.get("b") and state.get("pad") == PAD, "torn window state"
        n = int(state["a"])
    else:
        index = data / "credentials.json"
        json.loads(index.read_bytes())  # parses: never torn
        entries = SecretStore(index, MemoryKeyring()).remembered()
        users = {e.key.host: e.user for e in entries}
        assert users.get(f"h{ack % 30}.example") in (f"user-{ack}", f"user-{ack + 30}"), "lost a save"
        return "new" if users.get(f"h{(ack + 1) % 30}.example") == f"user-{ack + 1}" else "old"
    assert n in (ack, ack + 1), (name, n, ack)
    return "new" if n == ack + 1 else "old"


def test_every_store_survives_sigkill_in_the_middle_of_saving(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    rng = random.Random(20240917)
    stats: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    failures: list[str] = []
    rounds = 0
    deadline = time.monotonic() + 60
    while rounds < ROUNDS and time.monotonic() < deadline:
        data, coll = tmp_path / f"data{rounds}", tmp_path / f"col{rounds}"
        data.mkdir()
        CollectionStore.create(coll, "Kill test")
        proc = subprocess.Popen([sys.executable, "-m", "tests.data_safety_writer", str(data), str(coll)],
                                stdout=subprocess.PIPE, env=env, cwd=ROOT)
        assert proc.stdout is not None
        try:
            assert proc.stdout.readline().strip() == b"ready"
            time.sleep(rng.uniform(0.05, 0.8))
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        acks: dict[str, int] = {name: 0 for name in STORES}
        for line in proc.stdout.read().decode().splitlines():
            name, _, n = line.partition(" ")
            if n.isdigit():
                acks[name] = int(n)
        proc.stdout.close()
        rounds += 1
        left = _temp_files(data, coll)
        for name in STORES:
            stats[name]["saves"] += acks[name]
            try:
                stats[name][_check(name, acks[name], data, coll)] += 1
            except Exception as exc:  # collected, so the table shows every store's result
                stats[name]["failed"] += 1
                failures.append(f"round {rounds} {name}: {type(exc).__name__}: {exc}")
        for name, count in left.items():
            stats[name]["temp files"] += count
    for name in STORES:
        s = stats[name]
        record("Data safety", f"{name}: SIGKILL while saving ({rounds} kills, all stores saving at once)",
               "loads without a complaint; the last acknowledged save or the next one; never torn",
               f"{s['saves']:,} saves acknowledged; after the kill: {s['old']} × last acknowledged, "
               f"{s['new']} × the one in progress, {s['failed']} failed",
               "SQLite journal only (rolled back on open)" if name in ("history", "cookies") else
               f"{s['temp files']} temp files of interrupted writes in {rounds} rounds (hidden; "
               + ("ignored by the loader)" if name == "environment" else "removed at the next start)"))
    assert failures == [], failures
    assert rounds >= 5
    for n in range(rounds):  # the next start removes what interrupted writes left in the data dir
        removed = remove_stale_temp_files(tmp_path / f"data{n}", older_than=0)
        assert not any(name.startswith(".courier-tmp-") or name.startswith(".tls-exceptions.json.")
                       for name in os.listdir(tmp_path / f"data{n}")), removed
        assert SettingsFile.in_data_dir(tmp_path / f"data{n}").load().proxy_host.startswith("host-")
    assert all(stats[name]["saves"] > rounds for name in STORES), {k: dict(v) for k, v in stats.items()}


# -- damaged files ------------------------------------------------------------------------------
def _aside(folder: Path, name: str) -> list[str]:
    """Where a damaged ``name`` was set aside (``name.corrupt-*``, ``name.unreadable-*``, ``stem.broken.json``)."""
    stem = name.rsplit(".", 1)[0]
    return sorted(p.name for p in folder.iterdir()
                  if p.name.startswith((name + ".corrupt", name + ".unreadable", stem + ".broken")))


def test_damaged_state_files_are_reported_set_aside_and_the_rest_loads(tmp_path: Path) -> None:
    """The app starting with every state file damaged: each is reported and set aside; the defaults
    or an empty store take its place; nothing else is affected."""
    from app.apply_settings import apply_settings
    from app.settings import Settings
    from app.state import save_state
    from core import NetworkManager

    data = tmp_path / "data"
    data.mkdir()
    (data / "settings.json").write_text('{"proxy_mode": "manual", "proxy_host": ')  # cut off
    (data / "hsts.json").write_text('{"version": 1, "policies": [{"host": "a.example"')
    (data / "tls-exceptions.json").write_bytes(b"\x00" * 300)
    (data / "credentials.json").write_text("[not an index]")
    (data / "window-state.json").write_text("{")
    half = History(data / "history.db")
    for i in range(300):
        half.add(HistoryEntry("GET", f"http://127.0.0.1/{'x' * 300}/{i}"))
    half.close()
    db = (data / "history.db").read_bytes()
    (data / "history.db").write_bytes(db[: len(db) // 2])  # a disk or a copy that stopped half-way
    for side in ("history.db-wal", "history.db-shm"):
        (data / side).unlink(missing_ok=True)

    notes: dict[str, str] = {}
    settings_file = SettingsFile.in_data_dir(data)
    settings = settings_file.load()
    notes["settings.json"] = " ".join(settings_file.notes)
    settings.hsts_enabled = True

    async def start() -> list[str]:
        m = NetworkManager()
        result = apply_settings(settings, m, data)
        await m.aclose()
        return result.notes

    loop = asyncio.new_event_loop()
    try:
        applied = loop.run_until_complete(start())
    finally:
        loop.close()
    notes["hsts.json"] = " ".join(n for n in applied if "HSTS" in n)
    notes["tls-exceptions.json"] = " ".join(n for n in applied if "certificate" in n)
    history = History(data / "history.db")
    notes["history.db"] = history.message or ""
    history.add(HistoryEntry("GET", "http://127.0.0.1/after"))
    secrets = SecretStore(data / "credentials.json", MemoryKeyring())
    assert secrets.remembered() == []
    notes["credentials.json"] = secrets.index_problem or ""
    assert load_state(data / "window-state.json") == {}
    notes["window-state.json"] = "set aside silently" if _aside(data, "window-state.json") else ""
    save_state({"after": 1}, data / "window-state.json")

    for name, note in notes.items():
        aside = _aside(data, name)
        shown = note.replace(str(data) + "/", "").replace(str(data), "<data dir>")
        if name == "window-state.json":
            record("Data safety", f"damaged {name}", "set aside, started fresh (window geometry only: no message); "
                   "the rest loads", f"set aside as {aside}")
        else:
            record("Data safety", f"damaged {name}", "reported, set aside, started fresh; the rest loads",
                   f"{'reported' if note else 'NOT reported'}: {shown[:150]!r}; set aside as {aside}")
    for name, note in notes.items():
        assert note, f"{name}: the damage was not reported"
        assert _aside(data, name), f"{name} not set aside"
    assert history.count() == 1 and history.search()[0].url == "http://127.0.0.1/after"
    history.close()
    assert settings_file.load() == Settings() and settings_file.notes == []


def test_a_damaged_cookie_database_is_moved_aside_and_recreated(tmp_path: Path) -> None:
    path = tmp_path / "cookies.sqlite"
    store = SqliteCookieStore(path)
    for i in range(400):
        store.put(Cookie(f"c{i}", "v" * 300, "example.com", "/", expires=time.time() + 3600))
    store.close()
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    raw = bytearray(path.read_bytes())
    for off in range(2 * 4096, len(raw) - 4096, 3 * 4096):
        raw[off:off + 512] = b"\xa5" * 512  # damaged pages inside an otherwise valid file
    path.write_bytes(bytes(raw))
    with pytest.raises(CookieStoreError):  # the plain constructor still refuses and leaves the file alone
        SqliteCookieStore(path).load()
    store, message = SqliteCookieStore.open_or_recreate(path)
    aside = _aside(tmp_path, "cookies.sqlite")
    record("Data safety", "damaged cookies.sqlite (damaged pages)", "moved aside, recreated, with a message",
           f"message: {(message or '').replace(str(tmp_path) + '/', '')!r}; moved aside as {aside}")
    assert message is not None and "moved" in message and aside
    assert store.load() == []
    store.put(Cookie("after", "1", "example.com", "/", expires=time.time() + 3600))
    assert [c.name for c in store.load()] == ["after"]
    store.close()
    again, message = SqliteCookieStore.open_or_recreate(path)  # a healthy store opens without a word
    assert message is None and [c.name for c in again.load()] == ["after"]
    again.close()


def test_a_damaged_environment_file_is_reported_and_the_rest_loads(tmp_path: Path) -> None:
    from app.collections import Environment, Variable

    store = CollectionStore.create(tmp_path / "api", "Envs")
    for name in ("dev", "prod"):
        store.save_environment(Environment(name, variables=[Variable("base", f"http://{name}.example")]))
    broken = store.root / "environments" / "prod.toml"
    broken.write_bytes(broken.read_bytes()[:40] + b"\xff\xfe [[[")
    col, problems = load_collection(store.root)
    record("Data safety", "damaged environment file (environments/prod.toml)",
           "reported with path and line; the other environments and requests load; the user's file is "
           "left in place (collections are the user's files, e.g. in git)",
           f"{len(problems)} problem: {str(problems[0]).split('/')[-1] if problems else ''}; "
           f"loaded: {[e.name for e in col.environments]}")
    assert [e.name for e in col.environments] == ["dev"]
    assert len(problems) == 1 and "prod.toml" in str(problems[0].path) and problems[0].line is not None
    assert broken.exists()
