"""HAR 1.2 export without Qt. Credentials are redacted by default: the values of Authorization,
Proxy-Authorization, Cookie and Set-Cookie headers (and the cookie lists) become ``[redacted]``.

Bodies are included as text up to ``BODY_LIMIT`` bytes (base64 for binary); larger ones are left
out with a comment, so exporting a 2 GB download does not make a 3 GB file.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from core import __version__

REDACTED = "[redacted]"
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
BODY_LIMIT = 1 << 20


def _headers(pairs: list[tuple[str, str]], redact: bool) -> list[dict[str, str]]:
    return [{"name": k, "value": REDACTED if redact and k.lower() in SECRET_HEADERS else v} for k, v in pairs]


def _ms(v: float | None) -> float:
    return -1 if v is None else round(v * 1000, 3)


def _cookies_sent(headers: list[tuple[str, str]], redact: bool) -> list[dict[str, str]]:
    out = []
    for k, v in headers:
        if k.lower() == "cookie":
            for item in v.split(";"):
                name, _, val = item.strip().partition("=")
                if name:
                    out.append({"name": name, "value": REDACTED if redact else val})
    return out


def _cookies_received(headers: list[tuple[str, str]], redact: bool) -> list[dict[str, str]]:
    out = []
    for k, v in headers:
        if k.lower() == "set-cookie":
            name, _, val = v.split(";", 1)[0].partition("=")
            out.append({"name": name.strip(), "value": REDACTED if redact else val.strip()})
    return out


def entry(reply: Any, redact: bool = True, body_limit: int = BODY_LIMIT) -> dict[str, Any]:
    """One HAR entry for a core ``Reply`` or an ``ArchivedReply``."""
    tm = reply.timings
    hop = tm.hops[-1] if tm.hops else None
    phases = hop.phases() if hop is not None else {}
    conn = hop.connection if hop is not None else None
    reused = bool(conn and conn.reused)
    connect = phases.get("connect")
    tls = phases.get("tls")
    timings = {
        "blocked": _ms(phases.get("queued")), "dns": -1 if reused else _ms(phases.get("dns")),
        # HAR's "connect" includes the TLS handshake; "ssl" repeats it on its own
        "connect": -1 if reused or connect is None else _ms(connect + (tls or 0.0)),
        "ssl": -1 if reused else _ms(tls),
        "send": max(0.0, _ms(phases.get("sent"))), "wait": max(0.0, _ms(phases.get("waiting"))),
        "receive": max(0.0, _ms(phases.get("download"))),
    }
    sent = list(getattr(reply, "sent_headers", []))
    url = reply.url
    ctype = reply.header("Content-Type") or ""
    size = reply.body.size
    content: dict[str, Any] = {"size": size, "mimeType": ctype}
    if 0 < size <= body_limit:
        data = reply.body.read_at(0, size)
        try:
            content["text"] = data.decode("utf-8")
        except UnicodeDecodeError:
            content["text"] = base64.b64encode(data).decode()
            content["encoding"] = "base64"
    elif size > body_limit:
        content["comment"] = f"body of {size} bytes not included (limit {body_limit})"
    total = tm.total if tm.end is not None else None
    version = reply.http_version or "HTTP/1.1"
    return {
        "startedDateTime": datetime.fromtimestamp(tm.wall_start, UTC).isoformat().replace("+00:00", "Z"),
        "time": _ms(total) if total is not None else 0,
        "request": {
            "method": reply.method, "url": url, "httpVersion": version,
            "cookies": _cookies_sent(sent, redact), "headers": _headers(sent, redact),
            "queryString": [{"name": k, "value": v} for k, v in parse_qsl(urlsplit(url).query, keep_blank_values=True)],
            "headersSize": -1, "bodySize": -1,
        },
        "response": {
            "status": reply.status or 0, "statusText": reply.reason or "", "httpVersion": version,
            "cookies": _cookies_received(list(reply.headers), redact), "headers": _headers(list(reply.headers), redact),
            "content": content, "redirectURL": reply.header("Location") or "", "headersSize": -1,
            "bodySize": size, **({"_error": reply.error.name} if reply.error.value != 0 else {}),
        },
        "cache": {}, "timings": timings,
        "serverIPAddress": (reply.remote_address or "").rsplit(":", 1)[0].strip("[]"),
        "connection": (conn.remote_address or "") if conn else "",
    }


def har(replies: list[Any], redact: bool = True) -> dict[str, Any]:
    return {"log": {"version": "1.2", "creator": {"name": "Courier", "version": __version__},
                    "entries": [entry(r, redact) for r in replies]}}


def write_har(path: str, replies: list[Any], redact: bool = True) -> None:
    """Write atomically (temp file + fsync + rename)."""
    data = har(replies, redact)
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".har-", dir=d)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1, ensure_ascii=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def export_rows(store: Any, rows: list[int], path: str, redact: bool = True) -> int:
    """Export the store's rows (worker thread); returns how many entries were written."""
    replies = [r for r in (store.get(row) for row in rows) if r is not None]
    write_har(path, replies, redact)
    return len(replies)
