"""History in SQLite: real replies recorded, searched, reopened; retention; WAL; a damaged file."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from app.collections import Collection, MemorySecrets, Variable, build_resolver, prepare
from app.collections.secrets import COLLECTION_SCOPE, secret_key
from app.history import REDACTED, History, HistoryEntry
from core import NetworkManager, Request
from tests.servers import HypercornServer


def send_all(loop: asyncio.AbstractEventLoop, calls: list[tuple[str, str, dict[str, Any]]]) -> list[Any]:
    async def go() -> list[Any]:
        m = NetworkManager()
        out = []
        try:
            for method, url, kw in calls:
                reply = m.send_custom_request(Request(url, headers=kw.get("headers", [])), method, kw.get("body"))
                await asyncio.wait_for(reply.wait(), 20)
                out.append(reply)
        finally:
            await m.aclose()
        return out

    return loop.run_until_complete(go())


def test_replies_are_recorded_with_status_size_and_timings(loop, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                           http_server: HypercornServer) -> None:
    h = History(tmp_path / "history.db")
    replies = send_all(loop, [
        ("GET", http_server.url + "/bytes/5000", {}),
        ("POST", http_server.url + "/echo?q=1", {"body": b'{"a": 1}', "headers": [("Content-Type", "application/json")]}),
        ("GET", http_server.url + "/status/404", {}),
        ("GET", "http://127.0.0.1:9/closed", {}),
    ])
    bodies = [None, b'{"a": 1}', None, None]
    for reply, body in zip(replies, bodies, strict=True):
        h.record(reply, body)
    assert h.count() == 4 and h.journal_mode() == "wal"
    newest_first = h.search()
    assert [e.status for e in newest_first] == [None, 404, 200, 200]
    big = newest_first[3]
    assert big.size == 5000 and big.duration is not None and big.duration > 0
    assert big.timings["connect"] is not None and big.timings["waiting"] is not None
    assert newest_first[0].error.startswith("ConnectionRefusedError")
    assert newest_first[1].error == ""  # a 404 is an answer, not a transfer error
    assert any(k.lower() == "content-length" for k, _ in big.response_headers)


def test_search_and_reopen(loop, tmp_path: Path, http_server: HypercornServer) -> None:  # type: ignore[no-untyped-def]
    h = History(tmp_path / "h.db")
    for reply, body in zip(send_all(loop, [
        ("GET", http_server.url + "/pets/1", {}),
        ("PUT", http_server.url + "/echo?pets=2", {"body": b'{"name": "Rex"}',
                                                   "headers": [("Content-Type", "application/json")]}),
        ("GET", http_server.url + "/status/500", {}),
        ("GET", http_server.url + "/100%_sure", {}),
    ]), [None, b'{"name": "Rex"}', None, None], strict=True):
        h.record(reply, body)
    assert [e.method for e in h.search("pets")] == ["PUT", "GET"]
    assert [e.url.rsplit("/", 1)[-1] for e in h.search("status/500")] == ["500"]  # the port may hold "500"
    assert len(h.search("put")) == 1
    assert len(h.search("100%_")) == 1 and h.search("%") == h.search("100%")  # % and _ are literal
    entry = h.search("PUT")[0]
    item = entry.to_request_item()
    assert (item.method, item.body.type, item.body.text) == ("PUT", "json", '{"name": "Rex"}')
    again = send_all(loop, [(item.method, item.url, {"body": item.body.text.encode(),
                                                     "headers": [(x.name, x.value) for x in item.headers]})])[0]
    assert json.loads(again.content())["body"] == '{"name": "Rex"}'
    assert h.get(entry.id or 0) == entry
    h.delete(entry.id or 0)
    assert h.get(entry.id or 0) is None


def test_secrets_never_reach_the_history_file(loop, tmp_path: Path,  # type: ignore[no-untyped-def]
                                              http_server: HypercornServer) -> None:
    from app.collections import Body, Header, RequestItem

    col = Collection("c", id="cid", variables=[Variable("base", http_server.url), Variable("key", secret=True)])
    resolver = build_resolver(col, None, MemorySecrets({secret_key("cid", COLLECTION_SCOPE, "key"): "TOPSECRET99"}))
    item = RequestItem("x", "POST", "{{base}}/echo?api_key={{key}}",
                       headers=[Header("Authorization", "Bearer abc.def"), Header("X-Key", "{{key}}"),
                                Header("Cookie", "sid=1")],
                       body=Body("json", '{"key": "{{key}}"}'))
    p = prepare(col, item, resolver)
    req, body = p.to_core()

    async def go() -> Any:
        m = NetworkManager()
        try:
            r = m.send_custom_request(req, p.method, body)
            return await asyncio.wait_for(r.wait(), 20)
        finally:
            await m.aclose()

    reply = loop.run_until_complete(go())
    h = History(tmp_path / "h.db")
    h.record(reply, p.body_preview, redact=resolver.redact)
    h.close()
    for f in tmp_path.iterdir():
        data = f.read_bytes()
        assert b"TOPSECRET99" not in data and b"abc.def" not in data and b"sid=1" not in data, f
    e = History(tmp_path / "h.db").search()[0]
    assert e.url.endswith("api_key={{key}}")
    assert ("Authorization", REDACTED) in e.request_headers and ("X-Key", "{{key}}") in e.request_headers
    assert e.request_body == b'{"key": "{{key}}"}'


def test_retention_keeps_the_newest(tmp_path: Path) -> None:
    h = History(tmp_path / "h.db", max_entries=50)
    for i in range(120):
        h.add(HistoryEntry("GET", f"http://127.0.0.1/{i}", started=1000.0 + i))
    assert h.count() == 50
    assert [e.url for e in h.search(limit=2)] == ["http://127.0.0.1/119", "http://127.0.0.1/118"]
    assert h.search(limit=1, offset=49)[0].url == "http://127.0.0.1/70"
    h.set_retention(10)
    assert h.count() == 10
    h.set_retention(1000, max_age_days=1)
    assert h.count() == 0  # started in 1970: older than a day
    big = HistoryEntry("POST", "http://x", request_body=b"x" * (70 * 1024))
    h.add(big)
    assert h.search()[0].request_body is None and h.search()[0].request_body_size == 70 * 1024


def test_a_file_that_is_not_a_database_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    path.write_bytes(b"this is not sqlite at all" * 100)
    h = History(path)
    assert h.message is not None and "moved to" in h.message
    moved = [p for p in tmp_path.iterdir() if ".corrupt-" in p.name]
    assert len(moved) == 1 and moved[0].read_bytes().startswith(b"this is not sqlite")
    h.add(HistoryEntry("GET", "http://127.0.0.1/"))
    assert h.count() == 1


def test_damaged_pages_are_detected_and_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    h = History(path)
    for i in range(400):
        h.add(HistoryEntry("GET", f"http://127.0.0.1/{'x' * 200}/{i}"))
    h.close()
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    data = bytearray(path.read_bytes())
    page = 4096
    assert len(data) > 8 * page
    for off in range(2 * page, len(data) - page, 3 * page):
        data[off:off + 512] = b"\xa5" * 512
    path.write_bytes(bytes(data))
    h2 = History(path)
    assert h2.message is not None and "moved" in h2.message
    assert h2.count() == 0
    h2.add(HistoryEntry("GET", "http://127.0.0.1/after"))
    assert [e.url for e in h2.search()] == ["http://127.0.0.1/after"]


def test_recording_from_several_threads(tmp_path: Path) -> None:
    h = History(tmp_path / "h.db", max_entries=10_000)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(150):
                h.add(HistoryEntry("GET", f"http://127.0.0.1/{n}/{i}"))
                if i % 25 == 0:
                    h.search("127.0.0.1", limit=5)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and h.count() == 450


@pytest.mark.parametrize("bad", [b"", b"SQLite format 3\x00" + b"\x00" * 90])
def test_empty_or_truncated_files(tmp_path: Path, bad: bytes) -> None:
    path = tmp_path / "h.db"
    path.write_bytes(bad)
    h = History(path)
    h.add(HistoryEntry("GET", "http://127.0.0.1/"))
    assert h.count() == 1
