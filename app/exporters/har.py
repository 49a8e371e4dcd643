"""HAR 1.2 (w3c-webperf HAR spec): from history (requests with their responses and timings) or from
saved requests (requests only; the response has status 0 as for a request never sent)."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from app.collections.model import Collection, Environment, Folder, RequestItem
from app.collections.prepare import prepare
from app.collections.secrets import SecretStore
from app.exporters import drop_sensitive, export_resolver, export_url
from app.history import HistoryEntry

CREATOR = {"name": "Courier", "version": ""}


def _creator() -> dict[str, str]:
    from core import __version__

    return {**CREATOR, "version": __version__}


def _iso(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts, datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _query(url: str) -> list[dict[str, str]]:
    try:
        return [{"name": k, "value": v} for k, v in parse_qsl(urlsplit(url).query, keep_blank_values=True)]
    except ValueError:
        return []


def _post_data(headers: list[tuple[str, str]], body: bytes | None, fields: list[tuple[str, str]] | None,
               mime: str) -> dict[str, Any] | None:
    if fields is not None:
        return {"mimeType": mime, "params": [{"name": k, "value": v} for k, v in fields], "text": ""}
    if body is None:
        return None
    try:
        text = body.decode("utf-8")
        return {"mimeType": mime, "text": text}
    except UnicodeDecodeError:
        import base64

        return {"mimeType": mime, "text": base64.b64encode(body).decode(), "encoding": "base64"}


def _ctype(headers: list[tuple[str, str]], default: str = "") -> str:
    return next((v for k, v in headers if k.lower() == "content-type"), default)


def _http_version(v: str) -> str:
    if not v:
        return "HTTP/1.1"
    return v if v.upper().startswith("HTTP") else f"HTTP/{v}"


def _ms(v: float | None) -> float:
    return -1 if v is None else round(v * 1000, 3)


def entry_from_history(e: HistoryEntry, include_sensitive: bool = False) -> dict[str, Any]:
    req_headers = drop_sensitive(e.request_headers, include_sensitive)
    resp_headers = drop_sensitive(e.response_headers, include_sensitive)
    t = e.timings
    timings = {"blocked": _ms(t.get("queued")), "dns": _ms(t.get("dns")), "connect": _ms(t.get("connect")),
               "ssl": _ms(t.get("tls")), "send": max(0.0, _ms(t.get("sent"))),
               "wait": max(0.0, _ms(t.get("waiting"))), "receive": max(0.0, _ms(t.get("download")))}
    if timings["connect"] >= 0 and timings["ssl"] >= 0:
        timings["connect"] += timings["ssl"]  # HAR: connect includes ssl
    total = _ms(e.duration) if e.duration is not None else sum(v for k, v in timings.items()
                                                              if v > 0 and k != "ssl")
    location = next((v for k, v in e.response_headers if k.lower() == "location"), "")
    entry: dict[str, Any] = {
        "startedDateTime": _iso(e.started),
        "time": total,
        "request": {
            "method": e.method, "url": export_url(e.url, include_sensitive), "httpVersion": _http_version(e.http_version),
            "cookies": [], "headers": [{"name": k, "value": v} for k, v in req_headers], "queryString": _query(e.url),
            "headersSize": -1, "bodySize": e.request_body_size,
        },
        "response": {
            "status": e.status or 0, "statusText": e.reason, "httpVersion": _http_version(e.http_version),
            "cookies": [], "headers": [{"name": k, "value": v} for k, v in resp_headers],
            "content": {"size": e.size, "mimeType": _ctype(e.response_headers, "x-unknown")},
            "redirectURL": location, "headersSize": -1, "bodySize": e.size if e.status else -1,
        },
        "cache": {},
        "timings": timings,
    }
    post = _post_data(e.request_headers, e.request_body, None, _ctype(e.request_headers))
    if post is not None:
        entry["request"]["postData"] = post
    if e.error:
        entry["response"]["_error"] = e.error
    return entry


def entry_from_request(collection: Collection, item: RequestItem, chain: list[Folder] | None,
                       environment: Environment | None, secrets: SecretStore | None, base_dir: Path | None,
                       include_sensitive: bool, include_secrets: bool) -> dict[str, Any]:
    resolver = export_resolver(collection, environment, secrets, include_secrets)
    p = prepare(collection, item, resolver, chain, base_dir, for_export=True)
    headers = drop_sensitive(p.headers, include_sensitive)
    mime = _ctype(headers) or (p.body.content_type if p.body is not None and p.body.content_type else "")
    fields = None
    if item.body.type in ("form", "multipart"):
        fields = [(resolver.substitute(f.name), resolver.substitute(f.file or f.value))
                  for f in item.body.fields if f.enabled]
        mime = mime or ("multipart/form-data" if item.body.type == "multipart"
                        else "application/x-www-form-urlencoded")
    post = _post_data(headers, p.body_preview, fields, mime)
    request: dict[str, Any] = {
        "method": p.method, "url": export_url(p.url, include_sensitive), "httpVersion": "HTTP/1.1", "cookies": [],
        "headers": [{"name": k, "value": v} for k, v in headers], "queryString": _query(p.url),
        "headersSize": -1, "bodySize": len(p.body_preview) if p.body_preview is not None else (0 if post is None
                                                                                               else -1),
    }
    if post is not None:
        request["postData"] = post
    return {
        "startedDateTime": _iso(datetime.datetime.now(datetime.UTC).timestamp()), "time": 0,
        "request": request, "comment": item.name,
        "response": {"status": 0, "statusText": "", "httpVersion": "", "cookies": [], "headers": [],
                     "content": {"size": 0, "mimeType": "x-unknown"}, "redirectURL": "", "headersSize": -1,
                     "bodySize": -1},
        "cache": {}, "timings": {"send": 0, "wait": 0, "receive": 0},
    }


def har_document(entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {"log": {"version": "1.2", "creator": _creator(), "pages": [], "entries": entries}}


def export_history(entries: list[HistoryEntry], include_sensitive: bool = False) -> dict[str, Any]:
    return har_document([entry_from_history(e, include_sensitive) for e in entries])


def export_collection(collection: Collection, environment: Environment | None = None,
                      secrets: SecretStore | None = None, base_dir: str | Path | None = None,
                      include_sensitive: bool = False, include_secrets: bool = False) -> dict[str, Any]:
    base = Path(base_dir) if base_dir is not None else None
    return har_document([entry_from_request(collection, item, chain, environment, secrets, base,
                                            include_sensitive, include_secrets)
                         for chain, item in collection.root.walk()])


def dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
