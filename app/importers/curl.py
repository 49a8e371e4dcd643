"""A curl command line as a request, through the composer's parser (``app.curl_import``)."""

from __future__ import annotations

from urllib.parse import urlsplit

from app.collections.model import Auth, Body, Collection, Folder, FormField, Header, RequestItem
from app.curl_import import CurlParseError, looks_like_curl, parse_curl, to_bytes
from app.importers.common import ImportFailed, ImportResult, SecretMover

__all__ = ["import_curl", "looks_like_curl"]


def _utf8(s: str, what: str) -> str:
    """Tokens may carry raw bytes (``$'\\xc3\\xa9'``); they must form UTF-8 text to be saved."""
    if not any(0xDC80 <= ord(c) <= 0xDCFF for c in s):
        return s
    try:
        return to_bytes(s).decode("utf-8")
    except UnicodeDecodeError:
        raise ImportFailed(f"curl command: the {what} holds bytes that are not UTF-8 text") from None


def request_from_curl(command: str, result: ImportResult) -> RequestItem:
    try:
        p = parse_curl(command)
    except CurlParseError as exc:
        raise ImportFailed(f"curl command: {exc}") from None
    url = _utf8(p.url, "URL")
    headers = [Header(_utf8(k, "header name"), _utf8(v, f"{k} header")) for k, v in p.headers]
    ctype = next((h.value.lower() for h in headers if h.name.lower() == "content-type"), "")
    body = Body()
    if p.form:
        fields = []
        for f in p.form:
            if f.path is not None and not f.file_as_value:
                fields.append(FormField(_utf8(f.name, "form field"), file=_utf8(f.path, "file name"),
                                        content_type=f.content_type))
            else:
                if f.file_as_value:
                    result.warn(f"form field {f.name!r}: '<file' (file contents as text) is imported as its name")
                fields.append(FormField(_utf8(f.name, "form field"), _utf8(f.value or (f.path or ""), "form value"),
                                        content_type=f.content_type))
        body = Body("multipart", fields=fields)
        headers = [h for h in headers if h.name.lower() != "content-type" or "boundary=" in h.value]
    elif p.body_file is not None:
        body = Body("file", file=_utf8(p.body_file, "file name"))
    elif p.body is not None:
        try:
            data = p.body.decode("utf-8")
        except UnicodeDecodeError:
            raise ImportFailed("curl command: the body is binary; save it to a file and use --data-binary @file") \
                from None
        kind = "json" if "json" in ctype else "xml" if "xml" in ctype else "text"
        body = Body(kind, data)
    auth = Auth("inherit")
    if p.auth in ("basic", "digest") and p.user is not None:
        auth = Auth(p.auth, {"username": _utf8(p.user, "user"), "password": _utf8(p.password or "", "password")})
    elif p.auth == "bearer" and p.bearer_token:
        auth = Auth("bearer", {"token": _utf8(p.bearer_token, "token")})
    try:
        path = urlsplit(url).path or "/"
    except ValueError:
        path = url
    item = RequestItem(f"{p.method} {path}"[:120], p.method.upper(), url, headers=headers, body=body, auth=auth,
                       follow_redirects=p.follow_redirects, timeout=None)
    if p.insecure:
        result.warn("-k/--insecure is not kept: Courier verifies certificates (add the CA instead)")
    for w in p.warnings:
        result.warn(w)
    movers = SecretMover(result)
    movers.auth(item.auth, "auth")
    movers.headers(item.headers)
    return item


def import_curl(command: str | bytes, source: str = "curl command") -> ImportResult:
    if isinstance(command, bytes):
        try:
            command = command.decode("utf-8")
        except UnicodeDecodeError:
            raise ImportFailed(f"{source}: not UTF-8 text") from None
    result = ImportResult(Collection(name="curl import"), source_format="curl")
    result.collection.root = Folder(name=result.collection.name)
    result.collection.root.children.append(request_from_curl(command, result))
    return result
