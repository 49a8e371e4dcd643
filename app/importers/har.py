"""HAR 1.2 (an HTTP Archive, as browsers and Courier export it): one request per entry, in order.

HTTP/2 pseudo-headers and headers the client computes (Host, Content-Length, Connection) are left
out; cookies and credentials move into secret variables.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from app.collections.model import Body, Collection, Folder, FormField, Header, RequestItem
from app.importers.common import ImportFailed, ImportResult, SecretMover, arr, load_json, obj, text

COMPUTED = {"host", "content-length", "connection", "transfer-encoding", "keep-alive", "te", "upgrade"}


def is_har(doc: Any) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("log"), dict) and "entries" in doc["log"]


def _name(method: str, url: str) -> str:
    try:
        parts = urlsplit(url)
        path = parts.path or "/"
    except ValueError:
        path = url
    return f"{method} {path}"[:120]


def _body(post: Any, where: str, result: ImportResult, headers: list[Header]) -> Body:
    if post is None:
        return Body()
    p = obj(post, where)
    mime = text(p.get("mimeType"), where + ".mimeType")
    base = mime.split(";")[0].strip().lower()
    params = arr(p.get("params"), where + ".params", [])
    body_text = text(p.get("text"), where + ".text")
    if params and (base == "multipart/form-data" or (base == "application/x-www-form-urlencoded"
                                                      and not body_text)):
        fields = []
        for i, raw in enumerate(params):
            f = obj(raw, f"{where}.params[{i}]")
            name = text(f.get("name"), f"{where}.params[{i}].name")
            if f.get("fileName") is not None:
                result.warn("uploaded files are not in a HAR; their fields are imported with empty text")
                fields.append(FormField(name, text(f.get("value"), where), content_type=text(
                    f.get("contentType"), where) or None))
            else:
                fields.append(FormField(name, text(f.get("value"), f"{where}.params[{i}].value")))
        if base == "multipart/form-data":
            headers[:] = [h for h in headers if h.name.lower() != "content-type"]
        return Body("form" if base.endswith("urlencoded") else "multipart", fields=fields)
    if p.get("encoding") == "base64":
        result.warn("binary request bodies (base64 in the HAR) are not imported")
        return Body()
    if not body_text:
        return Body()
    kind = "json" if "json" in base else "xml" if "xml" in base else "text"
    has_ct = any(h.name.lower() == "content-type" for h in headers)
    return Body(kind, body_text, None if has_ct or not mime else mime)


def import_har(data: str | bytes, source: str = "HAR file") -> ImportResult:
    doc = obj(load_json(data, source), source)
    if not is_har(doc):
        raise ImportFailed(f"{source}: not a HAR file (no log.entries)")
    log = obj(doc["log"], "log")
    version = text(log.get("version"), "log.version", "1.2")
    if version.split(".")[0] not in ("1",):
        raise ImportFailed(f"{source}: HAR version {version!r} is not 1.x")
    creator = log.get("creator") if isinstance(log.get("creator"), dict) else {}
    result = ImportResult(Collection(name=f"HAR from {text(creator.get('name'), 'log.creator.name') or 'import'}"),
                          source_format="har")
    col = result.collection
    col.root = Folder(name=col.name)
    movers = SecretMover(result)
    for i, raw in enumerate(arr(log["entries"], "log.entries")):
        where = f"log.entries[{i}]"
        entry = obj(raw, where)
        r = obj(entry.get("request"), where + ".request")
        method = text(r.get("method"), where + ".request.method").strip().upper()
        url = text(r.get("url"), where + ".request.url").strip()
        if not method or any(c.isspace() for c in method):
            raise ImportFailed(f"{where}.request.method: {method!r} is not an HTTP method")
        if not url:
            raise ImportFailed(f"{where}.request.url: empty")
        headers = []
        for j, h in enumerate(arr(r.get("headers"), where + ".request.headers", [])):
            h = obj(h, f"{where}.request.headers[{j}]")
            name = text(h.get("name"), f"{where}.request.headers[{j}].name").strip()
            if not name or name.startswith(":") or name.lower() in COMPUTED:
                continue
            headers.append(Header(name, text(h.get("value"), f"{where}.request.headers[{j}].value")))
        body = _body(r.get("postData"), where + ".request.postData", result, headers)
        item = RequestItem(_name(method, url), method, url, headers=headers, body=body)
        movers.headers(item.headers)
        col.root.children.append(item)
    return result
