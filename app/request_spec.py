"""What the composer holds, without Qt: ``RequestSpec`` and how it becomes a core request.

A ``RequestSpec`` is the user's request as edited (rows that can be switched off, a body kind,
an auth kind). ``build()`` turns it into what the core sends. ``to_dict`` never includes secrets
(passwords, bearer tokens): window state and collections store the rest, the keyring the secrets.
The query-string helpers keep the URL and the parameter table in step both ways.
"""

from __future__ import annotations

import base64
import enum
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

# json and urllib.parse are imported where they are used: this module is on the window's start-up path

if TYPE_CHECKING:  # the core loads after the window is shown (start-up time): import it when sending
    from app.curl_import import ParsedRequest
    from core import Request
    from core.body import Body


class BodyKind(enum.StrEnum):
    NONE = "none"
    RAW = "raw"
    JSON = "json"
    FORM = "form"
    MULTIPART = "multipart"
    BINARY = "binary"


class AuthKind(enum.StrEnum):
    NONE = "none"
    BASIC = "basic"
    DIGEST = "digest"
    BEARER = "bearer"


@dataclass
class KeyValue:
    name: str = ""
    value: str = ""
    enabled: bool = True


@dataclass
class MultipartField:
    name: str = ""
    value: str = ""
    path: str | None = None  # a file part when set
    content_type: str = ""
    enabled: bool = True


@dataclass
class RequestSpec:
    method: str = "GET"
    url: str = ""
    headers: list[KeyValue] = field(default_factory=list)
    body_kind: BodyKind = BodyKind.NONE
    raw_text: str = ""
    raw_content_type: str = "text/plain"
    json_text: str = ""
    form: list[KeyValue] = field(default_factory=list)
    multipart: list[MultipartField] = field(default_factory=list)
    binary_path: str = ""
    auth_kind: AuthKind = AuthKind.NONE
    auth_user: str = ""
    auth_password: str = ""  # secret: never in to_dict()
    bearer_token: str = ""  # secret: never in to_dict()
    follow_redirects: bool = True
    insecure: bool = False

    # -- persistence (no secrets) --------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "version": 1, "method": self.method, "url": self.url,
            "headers": [[h.name, h.value, h.enabled] for h in self.headers],
            "body_kind": self.body_kind.value, "raw_text": self.raw_text,
            "raw_content_type": self.raw_content_type, "json_text": self.json_text,
            "form": [[f.name, f.value, f.enabled] for f in self.form],
            "multipart": [[m.name, m.value, m.path, m.content_type, m.enabled] for m in self.multipart],
            "binary_path": self.binary_path, "auth_kind": self.auth_kind.value, "auth_user": self.auth_user,
            "follow_redirects": self.follow_redirects, "insecure": self.insecure,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RequestSpec:
        """Lenient: unknown or malformed fields fall back to defaults (a hand-edited file loses nothing else)."""
        s = cls()
        s.method = str(d.get("method") or "GET")
        s.url = str(d.get("url") or "")
        s.headers = [KeyValue(str(r[0]), str(r[1]), bool(r[2])) for r in _rows(d.get("headers"), 3)]
        try:
            s.body_kind = BodyKind(d.get("body_kind", "none"))
        except ValueError:
            s.body_kind = BodyKind.NONE
        s.raw_text = str(d.get("raw_text") or "")
        s.raw_content_type = str(d.get("raw_content_type") or "text/plain")
        s.json_text = str(d.get("json_text") or "")
        s.form = [KeyValue(str(r[0]), str(r[1]), bool(r[2])) for r in _rows(d.get("form"), 3)]
        s.multipart = [MultipartField(str(r[0]), str(r[1]), None if r[2] is None else str(r[2]), str(r[3] or ""),
                                      bool(r[4])) for r in _rows(d.get("multipart"), 5)]
        s.binary_path = str(d.get("binary_path") or "")
        try:
            s.auth_kind = AuthKind(d.get("auth_kind", "none"))
        except ValueError:
            s.auth_kind = AuthKind.NONE
        s.auth_user = str(d.get("auth_user") or "")
        s.follow_redirects = bool(d.get("follow_redirects", True))
        s.insecure = bool(d.get("insecure", False))
        return s

    # -- sending -------------------------------------------------------------------------
    def effective_url(self) -> str:
        url = self.url.strip()
        if url and "://" not in url and not url.startswith(("data:", "file:")):
            url = "http://" + url
        return url

    def build(self) -> tuple[str, Request, Body | None]:
        """(verb, core request, body). Raises ``ValueError`` with a user-facing reason."""
        from core import Attribute, Request
        from core.request import RedirectPolicy

        url = self.effective_url()
        if not url:
            raise ValueError("Enter a URL")
        method = self.method.strip().upper() or "GET"
        if any(c.isspace() for c in method):
            raise ValueError(f"Method {method!r} contains spaces")
        req = Request(url)
        for h in self.headers:
            if h.enabled and h.name.strip():
                req.headers.append((h.name.strip(), h.value))
        body = self._body()
        if body is not None and body.content_type and not req.has_header("Content-Type"):
            req.headers.append(("Content-Type", body.content_type))
        if self.auth_kind is AuthKind.BASIC and not req.has_header("Authorization"):
            token = base64.b64encode(f"{self.auth_user}:{self.auth_password}".encode()).decode()
            req.headers.append(("Authorization", f"Basic {token}"))
        elif self.auth_kind is AuthKind.BEARER and self.bearer_token:
            req.bearer_token = self.bearer_token
        elif self.auth_kind is AuthKind.DIGEST:
            # these credentials, not the manager's remembered ones (they answer the first question)
            req.attributes[Attribute.AUTHENTICATION_REUSE_AUTOMATIC] = False
        if not self.follow_redirects:
            req.attributes[Attribute.REDIRECT_POLICY] = RedirectPolicy.MANUAL
        return method, req, body

    def credentials(self) -> tuple[str, str] | None:
        """(user, password) the core gives when the server asks (Digest), else None."""
        if self.auth_kind is AuthKind.DIGEST and self.auth_user:
            return self.auth_user, self.auth_password
        return None

    def _body(self) -> Body | None:
        from core.body import BytesBody, FileBody, MultipartBody, Part, form_urlencoded

        k = self.body_kind
        if k is BodyKind.NONE:
            return None
        if k is BodyKind.RAW:
            return BytesBody(self.raw_text.encode(), self.raw_content_type or None)
        if k is BodyKind.JSON:
            err = json_error(self.json_text)
            if err is not None:
                raise ValueError(f"JSON body: {err}")
            return BytesBody(self.json_text.encode(), "application/json")
        if k is BodyKind.FORM:
            return form_urlencoded([(f.name, f.value) for f in self.form if f.enabled and f.name])
        if k is BodyKind.MULTIPART:
            parts = []
            for m in self.multipart:
                if not m.enabled or not m.name:
                    continue
                if m.path:
                    _check_file(m.path)
                    parts.append(Part(m.name, path=m.path, content_type=m.content_type or None))
                else:
                    parts.append(Part(m.name, value=m.value, content_type=m.content_type or None))
            return MultipartBody(parts)
        if k is BodyKind.BINARY:
            if not self.binary_path:
                raise ValueError("Choose a file for the binary body")
            _check_file(self.binary_path)
            return FileBody(self.binary_path, "application/octet-stream")
        return None


def _check_file(path: str) -> None:
    """A file to send must be there and readable now (it is streamed from disk when sent)."""
    if not os.path.isfile(path):
        raise ValueError(f"File not found: {path}")
    if not os.access(path, os.R_OK):
        raise ValueError(f"File not readable: {path}")


def _rows(v: Any, width: int) -> list[list[Any]]:
    if not isinstance(v, list):
        return []
    return [list(r) + [None] * (width - len(r)) for r in v if isinstance(r, list | tuple) and r]


def json_error(text: str) -> str | None:
    """None when ``text`` is valid JSON (or blank); else "line L, column C: reason"."""
    if not text.strip():
        return None
    import json

    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return f"line {exc.lineno}, column {exc.colno}: {exc.msg}"
    return None


def json_error_position(text: str) -> int | None:
    """The character offset of the first JSON error, for the editor's marker."""
    if not text.strip():
        return None
    import json

    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return exc.pos
    return None


# -- URL ⇄ query table ------------------------------------------------------------------------
def split_url(url: str) -> tuple[str, list[tuple[str, str]], str]:
    """(URL before '?', decoded (name, value) pairs, '#fragment' or '')."""
    frag = ""
    if "#" in url:
        url, f = url.split("#", 1)
        frag = "#" + f
    if "?" not in url:
        return url, [], frag
    from urllib.parse import unquote_plus

    base, query = url.split("?", 1)
    pairs: list[tuple[str, str]] = []
    for item in query.split("&"):
        if not item:
            continue
        name, _, value = item.partition("=")
        pairs.append((unquote_plus(name), unquote_plus(value)))
    return base, pairs, frag


_SAFE = "!$'()*,/:;@~[]"


def join_url(base: str, params: list[tuple[str, str]], fragment: str = "") -> str:
    if not params:
        return base + fragment
    from urllib.parse import quote

    items = [quote(k, safe=_SAFE) + ("=" + quote(v, safe=_SAFE) if v else "") for k, v in params if k or v]
    return f"{base}?{'&'.join(items)}{fragment}" if items else base + fragment


# -- from curl --------------------------------------------------------------------------------
def spec_from_curl(p: ParsedRequest) -> RequestSpec:
    """A composer request from a parsed curl command (files stay as paths, read when sent)."""
    s = RequestSpec(method=p.method.upper(), url=p.url, follow_redirects=p.follow_redirects,
                    insecure=p.insecure)
    ctype = p.header("Content-Type")
    drop_ctype = False
    if p.form:
        s.body_kind = BodyKind.MULTIPART
        s.multipart = [MultipartField(f.name, f.value, f.path, f.content_type or "") for f in p.form]
        drop_ctype = True  # the multipart body brings its own boundary
    elif p.body_file:
        s.body_kind = BodyKind.BINARY
        s.binary_path = p.body_file
    elif p.body is not None:
        text = p.body.decode("utf-8", errors="replace")
        low = (ctype or "").lower()
        if "json" in low and json_error(text) is None:
            s.body_kind, s.json_text = BodyKind.JSON, text
            drop_ctype = low.split(";")[0].strip() == "application/json"
        elif low.startswith("application/x-www-form-urlencoded"):
            _, pairs, _ = split_url("?" + text)
            s.body_kind = BodyKind.FORM
            s.form = [KeyValue(k, v) for k, v in pairs]
            drop_ctype = True
        else:
            s.body_kind, s.raw_text = BodyKind.RAW, text
            s.raw_content_type = ctype or "text/plain"
            drop_ctype = ctype is not None
    for k, v in p.headers:
        if drop_ctype and k.lower() == "content-type":
            continue
        if k.lower() == "authorization" and v.lower().startswith("bearer ") and s.auth_kind is AuthKind.NONE:
            s.auth_kind, s.bearer_token = AuthKind.BEARER, v[7:].strip()
            continue
        s.headers.append(KeyValue(k, v))
    if p.auth == "bearer" and p.bearer_token:
        s.auth_kind, s.bearer_token = AuthKind.BEARER, p.bearer_token
    elif p.auth in ("basic", "digest") and p.user is not None:
        s.auth_kind = AuthKind.DIGEST if p.auth == "digest" else AuthKind.BASIC
        s.auth_user, s.auth_password = p.user, p.password or ""
    return s


def spec_to_curl_parts(spec: RequestSpec) -> dict[str, Any]:
    """Keyword arguments for ``format_curl`` describing ``spec`` (secrets included: it is for the clipboard)."""
    from app.curl_import import FormField
    from core.body import BytesBody

    method, req, _ = spec.build()
    out: dict[str, Any] = {"method": method, "url": req.url, "headers": list(req.headers),
                           "insecure": spec.insecure, "follow_redirects": spec.follow_redirects}
    if req.bearer_token:
        out["headers"].append(("Authorization", f"Bearer {req.bearer_token}"))
    k = spec.body_kind
    if k is BodyKind.MULTIPART:
        out["headers"] = [(a, b) for a, b in out["headers"] if a.lower() != "content-type"]
        out["form"] = [FormField(m.name, m.value, m.path, None, m.content_type or None)
                       for m in spec.multipart if m.enabled and m.name]
    elif k is BodyKind.BINARY:
        out["body_file"] = spec.binary_path
    elif k is not BodyKind.NONE:
        body = spec._body()
        assert isinstance(body, BytesBody)
        out["body"] = body.data
    return out
