"""Between a saved request (``RequestItem``) and the composer's ``RequestSpec``.

``item_to_spec`` shows what the request sends: the collection's and folders' headers and auth are
merged in, ``{{variables}}`` stay as written. ``resolve_spec`` fills variables in at send time, so
switching environment applies at once and the composer never holds secret values at rest.
``spec_to_item`` saves a composer's request back, leaving out what the request inherits.
"""

from __future__ import annotations

import copy
from pathlib import Path

from app.collections.model import (
    DEFAULT_CONTENT_TYPES,
    Auth,
    Body,
    Collection,
    Folder,
    FormField,
    Header,
    RequestItem,
)
from app.collections.prepare import effective_auth, folder_chain
from app.collections.variables import Resolver
from app.request_spec import AuthKind, BodyKind, KeyValue, MultipartField, RequestSpec


def _abs(base_dir: Path | None, path: str) -> str:
    if base_dir is None or not path or "{{" in path or Path(path).is_absolute():
        return path
    return str(base_dir / path)


def _rel(base_dir: Path | None, path: str) -> str:
    if base_dir is None or not path:
        return path
    try:
        return str(Path(path).relative_to(base_dir))
    except ValueError:
        return path


def inherited_headers(collection: Collection, chain: list[Folder]) -> list[Header]:
    merged: list[Header] = []
    for layer in [collection.headers, *(f.headers for f in chain[1:])]:
        for h in layer:
            merged = [x for x in merged if x.name.lower() != h.name.lower()]
            merged.append(h)
    return merged


def item_to_spec(collection: Collection, item: RequestItem, chain: list[Folder] | None = None,
                 base_dir: Path | None = None) -> RequestSpec:
    chain = chain if chain is not None else folder_chain(collection, item)
    own = {h.name.lower() for h in item.headers}
    headers = [KeyValue(h.name, h.value, h.enabled) for h in inherited_headers(collection, chain)
               if h.name.lower() not in own]
    headers += [KeyValue(h.name, h.value, h.enabled) for h in item.headers]
    spec = RequestSpec(method=item.method, url=item.url, headers=headers,
                       follow_redirects=item.follow_redirects is not False)
    auth = effective_auth(collection, chain, item)
    p = auth.params
    if auth.type in ("basic", "digest"):
        spec.auth_kind = AuthKind.BASIC if auth.type == "basic" else AuthKind.DIGEST
        spec.auth_user, spec.auth_password = p.get("username", ""), p.get("password", "")
    elif auth.type == "bearer":
        if p.get("prefix", "Bearer") in ("", "Bearer"):
            spec.auth_kind, spec.bearer_token = AuthKind.BEARER, p.get("token", "")
        else:
            spec.headers.append(KeyValue("Authorization", f"{p['prefix']} {p.get('token', '')}"))
    elif auth.type == "apikey" and p.get("key"):
        if p.get("in") == "query":
            sep = "&" if "?" in spec.url else "?"
            spec.url += f"{sep}{p['key']}={p.get('value', '')}"
        else:
            spec.headers.append(KeyValue(p["key"], p.get("value", "")))
    b = item.body
    if b.type in ("text", "xml"):
        spec.body_kind, spec.raw_text = BodyKind.RAW, b.text
        spec.raw_content_type = b.content_type or DEFAULT_CONTENT_TYPES[b.type]
    elif b.type == "json":
        spec.body_kind, spec.json_text = BodyKind.JSON, b.text
    elif b.type == "graphql":
        import json

        payload: dict[str, object] = {"query": b.text}
        if b.variables.strip():
            try:
                payload["variables"] = json.loads(b.variables)
            except ValueError:
                payload["variables"] = b.variables
        spec.body_kind, spec.json_text = BodyKind.JSON, json.dumps(payload, indent=2)
    elif b.type == "form":
        spec.body_kind = BodyKind.FORM
        spec.form = [KeyValue(f.name, f.value, f.enabled) for f in b.fields]
    elif b.type == "multipart":
        spec.body_kind = BodyKind.MULTIPART
        spec.multipart = [MultipartField(f.name, f.value, _abs(base_dir, f.file) if f.file is not None else None,
                                         f.content_type or "", f.enabled) for f in b.fields]
    elif b.type == "file":
        spec.body_kind, spec.binary_path = BodyKind.BINARY, _abs(base_dir, b.file or "")
    return spec


def spec_to_item(spec: RequestSpec, name: str, collection: Collection | None = None,
                 chain: list[Folder] | None = None, base_dir: Path | None = None,
                 previous: RequestItem | None = None) -> RequestItem:
    """A request to save; headers equal to inherited ones and inherited auth are not repeated."""
    item = copy.deepcopy(previous) if previous is not None else RequestItem(name)
    item.name, item.method, item.url = name, spec.method.strip().upper() or "GET", spec.url
    inherited = {(h.name.lower(), h.value) for h in inherited_headers(collection, chain or [])} \
        if collection is not None else set()
    item.headers = [Header(h.name, h.value, h.enabled) for h in spec.headers
                    if h.name.strip() and (h.name.lower(), h.value) not in inherited]
    k = spec.body_kind
    if k is BodyKind.RAW:
        default = "application/xml" if "xml" in spec.raw_content_type else "text/plain; charset=utf-8"
        kind = "xml" if "xml" in spec.raw_content_type else "text"
        item.body = Body(kind, spec.raw_text, None if spec.raw_content_type in ("", default, "text/plain")
                         else spec.raw_content_type)
    elif k is BodyKind.JSON:
        item.body = Body("json", spec.json_text)
    elif k is BodyKind.FORM:
        item.body = Body("form", fields=[FormField(f.name, f.value, enabled=f.enabled) for f in spec.form])
    elif k is BodyKind.MULTIPART:
        item.body = Body("multipart", fields=[
            FormField(m.name, m.value, _rel(base_dir, m.path) if m.path else None, m.content_type or None, m.enabled)
            for m in spec.multipart])
    elif k is BodyKind.BINARY:
        item.body = Body("file", file=_rel(base_dir, spec.binary_path) or None)
    else:
        item.body = Body()
    wanted = Auth("none")
    if spec.auth_kind in (AuthKind.BASIC, AuthKind.DIGEST):
        wanted = Auth(spec.auth_kind.value, {"username": spec.auth_user, "password": spec.auth_password})
    elif spec.auth_kind is AuthKind.BEARER:
        wanted = Auth("bearer", {"token": spec.bearer_token})
    inherited_auth = effective_auth(collection, chain or [collection.root], RequestItem("")) \
        if collection is not None else Auth("none")
    item.auth = Auth("inherit") if wanted == inherited_auth or (
        wanted.type == "none" and inherited_auth.type == "none") else wanted
    item.follow_redirects = None if spec.follow_redirects else False
    return item


def resolve_spec(spec: RequestSpec, resolver: Resolver) -> RequestSpec:
    """A copy with ``{{variables}}`` filled in (for sending; never stored)."""
    s = copy.deepcopy(spec)
    sub = resolver.substitute
    s.url = sub(s.url)
    s.headers = [KeyValue(sub(h.name), sub(h.value), h.enabled) for h in s.headers]
    s.raw_text, s.json_text = sub(s.raw_text), sub(s.json_text)
    s.form = [KeyValue(sub(f.name), sub(f.value), f.enabled) for f in s.form]
    s.multipart = [MultipartField(sub(m.name), sub(m.value), sub(m.path) if m.path else m.path, m.content_type,
                                  m.enabled) for m in s.multipart]
    s.binary_path = sub(s.binary_path)
    s.auth_user, s.auth_password, s.bearer_token = sub(s.auth_user), sub(s.auth_password), sub(s.bearer_token)
    return s


def redact_spec(spec: RequestSpec, resolver: Resolver) -> RequestSpec:
    """A copy with every secret value the resolver knows put back as ``{{name}}`` (before saving)."""
    s = copy.deepcopy(spec)
    red = resolver.redact
    s.url = red(s.url)
    s.headers = [KeyValue(h.name, red(h.value), h.enabled) for h in s.headers]
    s.raw_text, s.json_text = red(s.raw_text), red(s.json_text)
    s.form = [KeyValue(f.name, red(f.value), f.enabled) for f in s.form]
    s.multipart = [MultipartField(m.name, red(m.value), m.path, m.content_type, m.enabled) for m in s.multipart]
    s.auth_user, s.auth_password, s.bearer_token = red(s.auth_user), red(s.auth_password), red(s.bearer_token)
    return s
