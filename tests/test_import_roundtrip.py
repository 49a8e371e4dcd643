"""Round trips on the realistic samples: import → save to a folder → load → export → compare."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from app.collections import Collection, MemorySecrets, RequestItem, load_collection
from app.curl_import import parse_curl
from app.exporters import curl as curl_export
from app.exporters import har as har_export
from app.exporters import postman as postman_export
from app.history import History
from app.importers import parse, read_import, save_import
from core import NetworkManager, Request
from tests.servers import HypercornServer
from tests.test_import import HAR, INSOMNIA, OPENAPI, POSTMAN, POSTMAN_ENV


def saved(paths: list[Path], tmp_path: Path, secrets: MemorySecrets) -> Collection:
    store = save_import(read_import(list(paths)), tmp_path / "collection", secrets)
    col, problems = load_collection(store.root)
    assert problems == []
    return col


def summary(col: Collection) -> list[tuple[Any, ...]]:
    """What must survive a round trip, request by request."""
    out = []
    for chain, item in col.root.walk():
        out.append(("/".join(f.name for f in chain[1:]), item.name, item.method, item.url,
                    [(h.name, h.value, h.enabled) for h in item.headers], item.body.type, item.body.text,
                    [(f.name, f.value, f.file, f.enabled) for f in item.body.fields], item.body.variables,
                    item.auth.type, item.follow_redirects))
    return out


def _postman_requests(items: list[dict[str, Any]], prefix: str = "") -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for it in items:
        if "item" in it:
            out.update(_postman_requests(it["item"], prefix + it["name"] + "/"))
        else:
            out[prefix + it["name"]] = it["request"]
    return out


def test_postman_round_trip_keeps_requests_and_restores_secrets_only_when_asked(tmp_path: Path) -> None:
    secrets = MemorySecrets()
    col = saved([POSTMAN, POSTMAN_ENV], tmp_path, secrets)
    original = json.loads(POSTMAN.read_text())
    exported, warnings = postman_export.export_collection(col, include_secrets=True, secrets=secrets)
    assert exported["info"]["schema"].endswith("/v2.1.0/collection.json") and warnings == []
    a, b = _postman_requests(original["item"]), _postman_requests(exported["item"])
    assert list(a) == list(b)
    for name, req in a.items():
        got = b[name]
        assert got["method"] == req["method"], name
        raw = req["url"]["raw"] if isinstance(req["url"], dict) else req["url"]
        if ":petId" not in raw:
            assert got["url"]["raw"] == raw, name
        assert [(h["key"], h["value"], h.get("disabled", False)) for h in got["header"]] == \
            [(h["key"], h["value"], h.get("disabled", False)) for h in req["header"]], name
        if "body" in req:
            mode = req["body"]["mode"]
            assert got["body"]["mode"] == mode, name
            if mode == "raw":
                assert got["body"]["raw"] == req["body"]["raw"]
            elif mode in ("urlencoded", "formdata"):
                assert [(f["key"], f.get("value"), f.get("src")) for f in got["body"][mode]] == \
                    [(f["key"], f.get("value"), f.get("src")) for f in req["body"][mode]]
    store_auth = next(f for f in exported["item"] if f["name"] == "store")["auth"]
    assert {p["key"]: p["value"] for p in store_auth["basic"]}["password"] == "{{store_auth_password}}"
    values = {v["key"]: v["value"] for v in exported["variable"]}
    assert values["store_auth_password"] == "correct-horse-battery" and values["apiKey"] == "pk_live_51HxQ2eJ9"
    plain, _ = postman_export.export_collection(col)
    assert "correct-horse-battery" not in json.dumps(plain) and "pk_live" not in json.dumps(plain)
    env = col.environment("Petstore dev")
    assert env is not None
    env_doc = postman_export.export_environment(col, env)
    assert {v["key"]: (v["value"], v["type"]) for v in env_doc["values"]}["accessToken"] == ("", "secret")
    # and Courier reads its own export back to the same collection
    again = tmp_path / "again.json"
    again.write_text(postman_export.dumps(plain))
    env_file = tmp_path / "env.json"
    env_file.write_text(postman_export.dumps(env_doc))
    back = saved([again, env_file], tmp_path / "2", MemorySecrets())
    assert summary(back) == summary(col)


def test_insomnia_to_courier_to_postman_and_back(tmp_path: Path) -> None:
    col = saved([INSOMNIA], tmp_path, MemorySecrets())
    doc, _ = postman_export.export_collection(col)
    path = tmp_path / "exported.json"
    path.write_text(postman_export.dumps(doc))
    back = saved([path], tmp_path / "2", MemorySecrets())
    assert summary(back) == summary(col)


def test_openapi_to_courier_to_postman_and_back(tmp_path: Path) -> None:
    col = saved([OPENAPI], tmp_path, MemorySecrets())
    doc, _ = postman_export.export_collection(col)
    path = tmp_path / "exported.json"
    path.write_text(postman_export.dumps(doc))
    back = saved([path], tmp_path / "2", MemorySecrets())
    assert summary(back) == summary(col)


def test_har_round_trip_and_what_it_leaves_out(tmp_path: Path) -> None:
    secrets = MemorySecrets()
    col = saved([HAR], tmp_path, secrets)
    original = json.loads(HAR.read_text())["log"]["entries"]
    full = har_export.export_collection(col, secrets=secrets, include_sensitive=True, include_secrets=True)
    entries = full["log"]["entries"]
    assert full["log"]["version"] == "1.2" and len(entries) == len(original)
    for o, e in zip(original, entries, strict=True):
        keep = [(h["name"], h["value"]) for h in o["request"]["headers"]
                if not h["name"].startswith(":") and h["name"].lower() not in ("host", "content-length")]
        assert e["request"]["method"] == o["request"]["method"]
        assert e["request"]["url"] == o["request"]["url"]
        assert [(h["name"], h["value"]) for h in e["request"]["headers"]] == keep
        if "postData" in o["request"]:
            assert e["request"]["postData"]["text"] == o["request"]["postData"]["text"]
    assert entries[0]["request"]["queryString"] == [{"name": "currency", "value": "EUR"}, {"name": "lang", "value": "de"}]
    safe = har_export.dumps(har_export.export_collection(col, secrets=secrets))
    for leaked in ("9f8e7d6c5b4a", "eyJhbGciOiJIUzI1NiJ9", '"cookie"', '"authorization"'):
        assert leaked not in safe
    back_file = tmp_path / "back.har"
    back_file.write_text(har_export.dumps(full))
    back = saved([back_file], tmp_path / "2", MemorySecrets())
    assert [(r.method, r.url, r.body.text) for r in back.requests()] == \
        [(r.method, r.url, r.body.text) for r in col.requests()]


def test_curl_round_trip(tmp_path: Path) -> None:
    commands = [
        "curl -X PUT 'https://api.example.com/items/7?x=1' -H 'Accept: application/json' "
        "-H 'Content-Type: application/json' --data-raw '{\"name\": \"café\", \"n\": 1}'",
        "curl https://api.example.com/search -G -d q=rust -d page=2",
        "curl -F 'caption=hi there' -F 'file=@/tmp/a.png;type=image/png' https://up.example.com/u",
        "curl -I -L https://example.com/",
    ]
    for i, command in enumerate(commands):
        secrets = MemorySecrets()
        store = save_import(parse(command), tmp_path / f"c{i}", secrets)
        item = store.collection.requests()[0]
        out = curl_export.export_curl(store.collection, item, base_dir=store.root)
        a, b = parse_curl(command), parse_curl(out)
        assert (b.method, b.url, b.headers, b.body) == (a.method, a.url, a.headers, a.body), (command, out)
        assert [(f.name, f.value, f.path, f.content_type) for f in b.form] == \
            [(f.name, f.value, str(store.root / f.path) if f.path else None, f.content_type) for f in a.form]
        assert b.follow_redirects == a.follow_redirects


def test_curl_export_leaves_out_credentials_unless_asked(tmp_path: Path) -> None:
    secrets = MemorySecrets()
    store = save_import(parse("curl -u ann:pa55 -H 'Cookie: sid=1' -H 'X-Trace: 9' https://h.example/x"),
                        tmp_path / "c", secrets)
    item = store.collection.requests()[0]
    safe = curl_export.export_curl(store.collection, item)
    assert "pa55" not in safe and "sid=1" not in safe and "Authorization" not in safe and "Cookie" not in safe
    assert "X-Trace: 9" in safe
    full = curl_export.export_curl(store.collection, item, secrets=secrets, include_sensitive=True,
                                   include_secrets=True)
    p = parse_curl(full)
    import base64

    assert p.header("Authorization") == "Basic " + base64.b64encode(b"ann:pa55").decode()
    assert p.header("Cookie") == "sid=1"
    names_only = curl_export.export_curl(store.collection, item, include_sensitive=True)
    assert "{{cookie}}" in names_only and "pa55" not in names_only


def test_history_to_har(loop, tmp_path: Path, http_server: HypercornServer) -> None:  # type: ignore[no-untyped-def]
    h = History(tmp_path / "h.db")

    async def go() -> list[Any]:
        m = NetworkManager()
        try:
            replies = []
            for req, method, body in [
                (Request(http_server.url + "/echo?a=1", headers=[("Authorization", "Bearer t"),
                                                                   ("Content-Type", "application/json")]),
                 "POST", b'{"x": 1}'),
                (Request(http_server.url + "/redirect/1"), "GET", None),
            ]:
                r = m.send_custom_request(req, method, body)
                replies.append((await asyncio.wait_for(r.wait(), 20), body))
            return replies
        finally:
            await m.aclose()

    for reply, body in loop.run_until_complete(go()):
        h.record(reply, body)
    doc = har_export.export_history(list(reversed(h.search())))
    entries = doc["log"]["entries"]
    assert [e["request"]["method"] for e in entries] == ["POST", "GET"]
    first = entries[0]
    for key in ("startedDateTime", "time", "request", "response", "cache", "timings"):
        assert key in first
    assert first["request"]["postData"] == {"mimeType": "application/json", "text": '{"x": 1}'}
    assert first["response"]["status"] == 200 and first["response"]["content"]["size"] > 0
    assert all(first["timings"][k] >= 0 for k in ("send", "wait", "receive"))
    assert "authorization" not in json.dumps(first).lower()
    assert entries[1]["response"]["status"] == 200  # the redirect was followed


def test_exported_request_item_names_survive(tmp_path: Path) -> None:
    col = saved([POSTMAN], tmp_path, MemorySecrets())
    assert isinstance(col.requests()[0], RequestItem)
    assert [r.name for r in col.requests()][:2] == ["List pets", "Create pet"]
