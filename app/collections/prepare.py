"""From a saved request to what is sent: variables substituted, collection and folder headers and
auth applied, the body built. The result converts to a ``core.Request`` and a ``core.Body``."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from app.collections.model import DEFAULT_CONTENT_TYPES, Auth, Collection, Folder, Header, RequestItem
from app.collections.variables import Resolver
from core.body import Body as CoreBody
from core.body import BytesBody, FileBody, MultipartBody, Part, form_urlencoded
from core.request import Attribute, RedirectPolicy, Request


class PrepareError(ValueError):
    """The request cannot be sent as written (bad GraphQL variables, unsupported auth, ...)."""


@dataclass
class Prepared:
    item: RequestItem
    method: str
    url: str
    headers: list[tuple[str, str]]
    body: CoreBody | None
    body_preview: bytes | None  # the body's bytes when it is small text (history, HAR, curl)
    timeout: float | None
    follow_redirects: bool | None
    unresolved: set[str] = field(default_factory=set)
    resolver: Resolver | None = None
    credentials: tuple[str, str] | None = None  # digest: the answer to the server's first question

    def to_core(self) -> tuple[Request, CoreBody | None]:
        req = Request(self.url, headers=list(self.headers))
        if self.timeout:
            req.transfer_timeout = self.timeout
        if self.follow_redirects is False:
            req.attributes[Attribute.REDIRECT_POLICY] = RedirectPolicy.MANUAL
        if self.credentials is not None:
            # the request's own credentials, not ones another request left in the manager's cache
            req.attributes[Attribute.AUTHENTICATION_REUSE_AUTOMATIC] = False
        return req, self.body


def _merge_headers(layers: list[list[Header]], resolver: Resolver) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for layer in layers:
        for h in layer:
            if not h.enabled or not h.name.strip():
                continue
            name = resolver.substitute(h.name).strip()
            low = name.lower()
            out = [(k, v) for k, v in out if k.lower() != low]  # an inner layer overrides an outer one
            out.append((name, resolver.substitute(h.value)))
    return out


def effective_auth(collection: Collection, chain: list[Folder], item: RequestItem) -> Auth:
    """The request's auth, else the nearest folder's, else the collection's (``inherit`` walks up)."""
    for auth in [item.auth, *(f.auth for f in reversed(chain[1:])), collection.auth]:
        if auth.type != "inherit":
            return auth
    return Auth("none")


def _apply_auth(auth: Auth, resolver: Resolver, headers: list[tuple[str, str]], url: str,
                credentials: list[tuple[str, str]]) -> str:
    has = {k.lower() for k, _ in headers}
    p = {k: resolver.substitute(v) for k, v in auth.params.items()}
    if auth.type == "basic" and "authorization" not in has:
        raw = f"{p.get('username', '')}:{p.get('password', '')}".encode()
        headers.append(("Authorization", "Basic " + base64.b64encode(raw).decode()))
    elif auth.type == "bearer" and "authorization" not in has:
        prefix = p.get("prefix", "Bearer") or "Bearer"
        headers.append(("Authorization", f"{prefix} {p.get('token', '')}"))
    elif auth.type == "apikey" and p.get("key"):
        if p.get("in", "header") == "query":
            parts = urlsplit(url)
            pair = f"{quote(p['key'], safe='')}={quote(p.get('value', ''), safe='')}"
            url = urlunsplit(parts._replace(query=f"{parts.query}&{pair}" if parts.query else pair))
        elif p["key"].lower() not in has:
            headers.append((p["key"], p.get("value", "")))
    elif auth.type == "digest":
        credentials.append((p.get("username", ""), p.get("password", "")))  # answered when challenged
    return url


def _body(item: RequestItem, resolver: Resolver, base_dir: Path,
          headers: list[tuple[str, str]], for_export: bool = False) -> tuple[CoreBody | None, bytes | None]:
    b = item.body
    if for_export and b.type in ("multipart", "file"):
        return None, None  # exporters describe files by path; they need not exist here
    ctype = b.content_type or DEFAULT_CONTENT_TYPES.get(b.type)
    if b.type == "none":
        return None, None
    if b.type in ("text", "json", "xml"):
        data = resolver.substitute(b.text).encode("utf-8")
        return BytesBody(data, ctype), data
    if b.type == "graphql":
        payload: dict[str, object] = {"query": resolver.substitute(b.text)}
        if b.variables.strip():
            try:
                payload["variables"] = json.loads(resolver.substitute(b.variables))
            except json.JSONDecodeError as exc:
                raise PrepareError(f"the GraphQL variables are not valid JSON: {exc}") from None
        data = json.dumps(payload).encode()
        return BytesBody(data, ctype), data
    if b.type == "form":
        body = form_urlencoded([(resolver.substitute(f.name), resolver.substitute(f.value))
                                for f in b.fields if f.enabled])
        if b.content_type:
            body.content_type = b.content_type
        return body, body.data
    if b.type == "multipart":
        parts = []
        for f in b.fields:
            if not f.enabled:
                continue
            if f.file is not None:
                path = base_dir / resolver.substitute(f.file)
                if not path.is_file():
                    raise PrepareError(f"form field {f.name!r}: file {path} does not exist")
                parts.append(Part(resolver.substitute(f.name), path=path, content_type=f.content_type))
            else:
                parts.append(Part(resolver.substitute(f.name), value=resolver.substitute(f.value),
                                  content_type=f.content_type))
        # a hand-set "Content-Type: multipart/form-data" without our boundary would break the body
        headers[:] = [(k, v) for k, v in headers if k.lower() != "content-type" or "boundary=" in v]
        return MultipartBody(parts), None
    if b.type == "file":
        if not b.file:
            raise PrepareError("the body is a file but no file is chosen")
        path = base_dir / resolver.substitute(b.file)
        if not path.is_file():
            raise PrepareError(f"body file {path} does not exist")
        return FileBody(path, ctype or "application/octet-stream"), None
    raise PrepareError(f"unknown body type {b.type!r}")


def normalize_url(url: str) -> str:
    url = url.strip()
    if url and "://" not in url and not url.startswith(("data:", "file:", "unix+http:", "local+http:")):
        url = "http://" + url
    return url


def prepare(collection: Collection, item: RequestItem, resolver: Resolver,
            chain: list[Folder] | None = None, base_dir: Path | None = None, for_export: bool = False) -> Prepared:
    """What ``item`` sends with these variables. ``chain``: its folders, root first (found if None).

    ``for_export``: for describing the request (curl, HAR) rather than sending it: files need not
    exist (no body object is built for them). Digest auth sends nothing up front: ``credentials``
    answer the server's challenge (``answer_credentials``).
    """
    if chain is None:
        chain = folder_chain(collection, item)
    base_dir = base_dir or Path(".")
    resolver.unresolved.clear()
    url = normalize_url(resolver.substitute(item.url))
    layers = [collection.headers, *(f.headers for f in chain[1:]), item.headers]
    headers = _merge_headers(layers, resolver)
    credentials: list[tuple[str, str]] = []
    url = _apply_auth(effective_auth(collection, chain, item), resolver, headers, url, credentials)
    body, preview = _body(item, resolver, base_dir, headers, for_export)
    return Prepared(item, item.method.upper(), url, headers, body, preview, item.timeout, item.follow_redirects,
                    set(resolver.unresolved), resolver, credentials[0] if credentials else None)


def folder_chain(collection: Collection, item: RequestItem) -> list[Folder]:
    for chain, candidate in collection.root.walk():
        if candidate is item or (item.path and candidate.path == item.path):
            return chain
    return [collection.root]


def answer_credentials(question: object) -> None:
    """A ``core`` question listener for headless runs: a server's authentication question is
    answered with the request's own digest credentials (``reply.extra["credentials"]``), any other
    question is refused."""
    from core.auth import AuthenticationQuestion

    reply = getattr(question, "reply", None)
    creds = reply.extra.get("credentials") if reply is not None else None
    answer = getattr(question, "answer", None)
    if answer is None:
        return
    if isinstance(question, AuthenticationQuestion) and creds is not None:
        reply.extra.pop("credentials", None)  # once: wrong credentials end with the 401
        answer(creds)
    else:
        answer(None)
